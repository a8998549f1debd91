"""``edureport submissions``: which units' monthly figures are in, when they arrived, and whom to chase."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import click

from edureport.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, data_option, plan_option
from edureport.cli.common import fail as _fail
from edureport.cli.common import load_plan_option as _plan
from edureport.core.asof import parse_day
from edureport.core.errors import EdureportError
from edureport.core.paths import demo_data_dir, demo_reference_file
from edureport.intake.submissions import chase_text, plan_months, read_contacts, table_text, track


def _usage(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@click.command("submissions")
@click.option("--period", default="", metavar="YYYY-MM", help="只看这个月（默认：工作要点年度中截至日期前已结束的各月）")
@data_option()
@plan_option
@click.option("--as-of", default="", help="截至日期（默认今天，晚于工作要点年度时为年度末）：列出此前已结束的月份")
@click.option("--reference", type=click.Path(path_type=Path, readable=False), default=None,
              help="名录文件（取各单位的联系人 contact），默认 params/demo-reference.yaml（没有则不列联系人）")
@click.option("--strict", is_flag=True, help="有任何单位未报送时以退出码 1 结束（供定时任务使用）")
def submissions_cmd(period: str, data_dir: Path | None, plan_file: Path | None, as_of: str, reference: Path | None,
                    strict: bool) -> None:
    """数据报送情况：各下级单位（按工作要点的称呼）各月的数据是否已报送、何时导入、是否逾期，以及催报名单。

    “已报送”指指标数据表中有该单位该月的行（本单位或其学校的）。到达时间取 import-log.csv 中最早一次导入该单位
    该月指标数据的时间；不是经 edureport import 进入数据文件夹的数据显示“无导入记录”。截止日为次月的
    submission_deadline_day 日（工作要点文件中设置，默认 5 日）。"""

    try:
        plan = _plan(plan_file)
        period = period.strip()
        if period:
            if not re.fullmatch(r"\d{4}-\d{2}", period):
                _usage(f"--period 应写作 YYYY-MM（如 {plan.year}-06），实际为“{period[:40]}”")
            if period not in plan_months(plan):
                _usage(f"--period {period} 不在工作要点年度内（{plan.start.isoformat()}～{plan.end.isoformat()}）")
        today = dt.date.today()
        when = parse_day(as_of, plan.year) if as_of.strip() else min(today, plan.end)
        if reference is not None and not reference.is_file():
            _usage(f"名录文件 {reference} 不存在")
        contacts = read_contacts(reference if reference is not None else _default_reference())
        report = track(plan, data_dir or demo_data_dir(), when, period=period, today=today, contacts=contacts)
    except EdureportError as exc:
        _fail(exc, 200)
    for warning in report.warnings:
        click.echo(f"警告：{warning}", err=True)
    click.echo(table_text(report))
    click.echo()
    click.echo(chase_text(report))
    if strict and report.missing():
        sys.exit(EXIT_FAILED)


def _default_reference() -> Path | None:
    try:
        return demo_reference_file()
    except EdureportError:  # not in a bureau folder: no contacts
        return None
