"""``edureport template`` and ``edureport import``: the Excel path from townships into the data folder."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from edureport.cli.common import data_option, plan_option
from edureport.cli.common import fail as _fail
from edureport.cli.common import load_plan_option as _plan
from edureport.core.errors import EdureportError, RemovalError
from edureport.core.paths import demo_data_dir, output_error
from edureport.data import datafolder
from edureport.data.datafolder import WAIT_SECONDS
from edureport.data.schema import TABLES
from edureport.data.store import load_data, missing_folder
from edureport.intake.importer import ImportSummary, current_rows, import_files
from edureport.intake.template import build_template


@click.command("template")
@click.argument("out", type=click.Path(path_type=Path, readable=False))
@click.option("--township", required=True, help="乡镇名称（按工作要点的称呼）")
@click.option("--period", required=True, help="报送月份 YYYY-MM")
@plan_option
@data_option("数据文件夹（取学校名录；--prefill 时也取现有数据），默认 data/demo")
@click.option("--prefill", is_flag=True,
              help="把数据文件夹中该乡镇该月已有的数据填入表中：更正时只改要改的单元格，原样导入则数据不变")
def template_cmd(out: Path, township: str, period: str, plan_file: Path | None, data_dir: Path | None,
                 prefill: bool) -> None:
    """生成一个乡镇（按工作要点的称呼）一个月的 Excel 填报表 OUT（.xlsx）。"""

    if not re.fullmatch(r"\d{4}-\d{2}", period):
        raise click.UsageError(f"--period 应为 YYYY-MM，实际为“{period}”")
    folder = data_dir or demo_data_dir()
    try:
        plan = _plan(plan_file)
        if not prefill:
            path = build_template(plan, load_data(folder, plan), township, period, out)
        else:
            if not Path(folder).is_dir():
                raise missing_folder(Path(folder))
            with datafolder.consistent(Path(folder).resolve()):  # the rows of one state of the folder
                data = load_data(folder, plan)
                rows = current_rows(Path(folder).resolve(), plan, data, township.strip(), period)
            path = build_template(plan, data, township, period, out, prefill=rows)
    except EdureportError as exc:
        _fail(exc, 200)
    except OSError as exc:  # the form could not be saved there (a folder of that name, no permission, full)

        _fail(output_error(out, exc), None)
    click.echo(f"已生成填报表：{path}")
    if prefill:
        counts = "，".join(f"{TABLES[name].label} {len(r)} 行" for name, r in rows.items())
        click.echo(f"已填入数据文件夹中的现有数据：{counts}")


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@data_option("要合并到的数据文件夹，默认 data/demo")
@plan_option
@click.option("--township", default="", help="只接受这个乡镇（按工作要点的称呼）的填报表")
@click.option("--period", default="", help="只接受这个月份（YYYY-MM）的填报表")
@click.option("--dry-run", is_flag=True, help="只显示将新增、替换、删除哪些行，不写入（不修改任何文件）")
@click.option("--allow-removals", is_flag=True,
              help="允许删除数据文件夹中原有、而报送的表中没有的行（该乡镇该月的）；不加时这样的导入被拒绝（退出码 2）")
@click.option("--replace", is_flag=True,
              help="允许普通表删除其覆盖的乡镇—月份中原有而新表中没有的行（填报表用 --allow-removals）")
@click.option("--no-wait", is_flag=True, help="另一个导入正在进行时立即退出（退出码 3），而不是排队等待")
def import_cmd(files: tuple[Path, ...], data_dir: Path | None, plan_file: Path | None, township: str, period: str,
               dry_run: bool, allow_removals: bool, replace: bool, no_wait: bool) -> None:
    """把填好的填报表（或按数据格式整理的 CSV/XLSX 表）校验后合并到数据文件夹：有任何错误则什么都不写。

    同一数据文件夹同时只进行一个导入，其他导入排队；导入被中途打断（包括断电、kill -9）时，数据保持导入前或导入后的完整状态。"""

    def waiting() -> None:
        click.echo("另一个导入或构建正在读写该数据文件夹，排队等待……", err=True)

    try:
        summary = import_files(list(files), data_dir or demo_data_dir(), _plan(plan_file), dry_run=dry_run,
                               township=township, period=period, replace=replace, allow_removals=allow_removals,
                               wait=0 if no_wait else WAIT_SECONDS,
                               on_wait=waiting)
    except RemovalError as exc:
        if dry_run and exc.summary is not None:  # a dry run still shows every change it found
            _show(exc.summary)
        _fail(exc, 200)
    except EdureportError as exc:
        _fail(exc, 200)
    _show(summary)
    if not summary.changed:
        click.echo("数据没有变化，未写入。")
    elif dry_run:
        click.echo("（试运行：未写入任何文件）")
    else:
        click.echo("已写入数据文件夹并记录到 import-log.csv。")
    sys.exit(0)


def _show(summary: ImportSummary) -> None:
    """The warnings, then per table the counts and each added, changed (old → new) and removed row."""
    for p in summary.warnings:
        click.echo(p.format())
    for c in summary.changes:
        click.echo(f"{TABLES[c.table].label}：新增 {c.added} 行，替换 {c.replaced} 行，删除 {c.removed} 行，未变 {c.unchanged} 行")
        for row in c.rows:
            click.echo(f"  {row.format()}")
