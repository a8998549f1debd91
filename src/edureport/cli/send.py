"""``edureport send``: deliver a finished build's reports to the people in the distribution file.

Exit codes: 0 everything due was sent (or nothing was due); 1 some targets failed (they stay unmarked and
are tried again next time), or some reports' files are missing (withheld, the administrators alerted); 2 bad distribution file, no build to send from, or usage; 3 another send of
the same build is running.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edureport.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    allow_outside_year_option,
    as_of_option,
    plan_option,
)
from edureport.cli.common import fail as _fail
from edureport.cli.common import load_plan_option as _plan
from edureport.cli.delivery import closing_line, distribution_option, read_distribution
from edureport.core.asof import as_of_date
from edureport.core.errors import EdureportError
from edureport.core.paths import outputs_dir, report_dir
from edureport.deliver.send import send_build


@click.command("send")
@plan_option
@as_of_option
@allow_outside_year_option
@click.option("--out", type=click.Path(path_type=Path, readable=False), default=None,
              help="输出文件夹（与构建时相同），默认 outputs/")
@distribution_option
@click.option("--dry-run", is_flag=True, help="只列出将发送哪些报告、发给谁，不发送，也不写发送记录")
@click.option("--quiet", "-q", is_flag=True, help="只输出发送失败和注意事项（适合定时任务）")
def send_cmd(plan_file: Path | None, as_of: str, allow_outside_year: bool, out: Path | None,
             distribution: Path | None, dry_run: bool, quiet: bool) -> None:
    """把已生成的报告发给分发名单中的收件人：邮件（附 PDF 或内网链接）、钉钉或企业微信群机器人。

    每份报告对每个收件方只发送一次；报告有变化（SHA-256 不同）时才再发。生成失败的报告不发送，改为向管理员发告警。
    发送记录在输出文件夹 <年度>/<截至日期>/send-log.json。"""

    def say(line: str) -> None:
        important = line.startswith(("发送失败", "注意", "告警发送失败"))
        if important or not quiet or dry_run:
            click.echo(line, err=line.startswith("发送失败"))

    try:
        plan = _plan(plan_file)
        when = as_of_date(plan, as_of, allow_outside_year=allow_outside_year)
        dist = read_distribution(distribution, plan)
        folder = report_dir(out or outputs_dir(), plan.year, when.isoformat())
        summary = send_build(folder, dist, dry_run=dry_run, say=say)
    except EdureportError as exc:
        _fail(exc, 200)
    if not quiet and (line := closing_line(summary, dry_run)):
        click.echo(line)
    sys.exit(EXIT_FAILED if summary.failed or summary.missing else EXIT_OK)
