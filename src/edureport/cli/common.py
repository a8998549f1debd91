"""What every command shares: exit codes, the options declared once (--plan, --data, --as-of,
--allow-outside-year), loading the plan, and turning a library error into a Chinese message and exit code.

The command modules (cli, cli_build, cli_intake) import from here, never from each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edureport.core.errors import EdureportError, LockedError, ProblemsError
from edureport.core.paths import default_plan_file
from edureport.plan.load import load_plan

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_LOCKED = 0, 1, 2, 3
AS_OF_HELP = "截至日期，写作 YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日；默认工作要点年度末"

# No dir_okay/exists checks on paths: the library's messages name the file and say what is wrong with it.
plan_option = click.option("--plan", "plan_file", type=click.Path(path_type=Path, readable=False),
                           default=None, help="工作要点文件（YAML），默认 params/ 中最新的 plan-*.yaml")


def data_option(help: str = "数据文件夹，默认 data/demo"):
    """``--data``, with the command's own words for what the folder is used for."""
    return click.option("--data", "data_dir", type=click.Path(path_type=Path, readable=False), default=None,
                        help=help)



as_of_option = click.option("--as-of", default="", help=AS_OF_HELP)
allow_outside_year_option = click.option(
    "--allow-outside-year", is_flag=True,
    help="允许截至日期不在工作要点年度内（年度之后：全部为最终结论；默认拒绝，退出码 2）")


def load_plan_option(plan_file: Path | None):

    return load_plan(plan_file or default_plan_file())


def fail(exc: EdureportError, limit: int | None) -> None:
    """Print a library error in Chinese and exit: 3 when another build or import holds the folder, else 2."""
    text = exc.render(limit) if isinstance(exc, ProblemsError) else f"错误：{exc}"
    click.echo(text, err=True)
    sys.exit(EXIT_LOCKED if isinstance(exc, LockedError) else EXIT_BAD_INPUT)
