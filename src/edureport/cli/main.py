"""Command line: a thin layer that merges options, calls the library and maps errors to exit codes.

Exit codes: 0 ok; 1 some reports failed (or an internal error); 2 bad input or usage; 3 another build or
import holds the output or data folder. Paths given on the command line are relative to the working
directory, as everywhere else on the command line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import traceback
from pathlib import Path

import click

from edureport.batch.bureau import init_bureau, register_kernel
from edureport.cli import zh as cli_zh
from edureport.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    allow_outside_year_option,
    as_of_option,
    data_option,
    fail,
    load_plan_option,
    plan_option,
)
from edureport.cli.summary import data_summary, plan_summary, results_table
from edureport.core.asof import as_of_date
from edureport.core.errors import EdureportError
from edureport.core.paths import (
    OutputError,
    data_path,
    demo_data_dir,
    demo_reference_file,
    output_error,
    write_atomic,
)
from edureport.core.version import __version__
from edureport.data import demo
from edureport.data.store import load_data
from edureport.metrics.compute import compute

cli_zh.install()  # Click's own usage and error messages in Chinese

_plan, _fail = load_plan_option, fail


class _Warnings(logging.Handler):
    """The library's warnings (a damaged cache file rebuilt, …) as one Chinese line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"警告：{record.getMessage()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edureport")
def cli() -> None:
    """edureport：教育体育工作要点进度报告工具。"""
    logger = logging.getLogger("edureport")
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _Warnings)] + [_Warnings(logging.WARNING)]
    logger.propagate = False


@cli.command("validate")
@click.argument("data_dir", type=click.Path(path_type=Path, readable=False), required=False)
@plan_option
@click.option("--summary", "summary_file", type=click.Path(path_type=Path, readable=False),
              help="校验通过时把摘要另存到此文件")
@click.option("--max-problems", type=int, default=200, show_default=True, help="最多显示的问题条数（0 为全部）")
def validate_cmd(data_dir: Path, plan_file: Path | None, summary_file: Path | None, max_problems: int) -> None:
    """校验数据文件夹 DATA_DIR（默认工作文件夹的 data/demo）：列出全部问题（文件、工作表、行、列、值）。

    不修改数据；唯一的例外是先完成（或撤销）一次被中断的导入。"""

    try:
        ds = load_data(data_dir or data_path(), _plan(plan_file), use_cache=False)
    except EdureportError as exc:
        _fail(exc, max_problems or None)
    text = data_summary(ds)
    click.echo(text)
    if summary_file:

        if summary_file.is_symlink() or (summary_file.exists() and not summary_file.is_file()):
            _fail(OutputError(f"无法写入 {summary_file}：它不是普通文件（链接、设备或文件夹），摘要不会替换它"), None)
        if not summary_file.parent.is_dir():
            _fail(OutputError(f"无法写入 {summary_file}：文件夹 {summary_file.parent} 不存在"), None)
        try:
            write_atomic(summary_file, text + "\n")
        except OSError as exc:
            _fail(output_error(summary_file, exc), None)


@cli.command("demo-data")
@click.argument("out_dir", type=click.Path(path_type=Path, readable=False), default=None, required=False)
@plan_option
@click.option("--reference", type=click.Path(path_type=Path, readable=False), default=None,
              help="示例名录（下级单位与学校），默认 params/demo-reference.yaml")
@click.option("--townships", type=click.IntRange(1), default=None,
              help="下级单位数量（默认为名录中的全部，按名录顺序；多于名录时另生成示例名称）")
@click.option("--schools-per-township", type=click.IntRange(1), default=8, show_default=True,
              help="每个下级单位的学校（园）数量（名录可为单个单位另行规定）")
@click.option("--seed", type=int, default=1, show_default=True, help="随机种子（相同种子生成相同数据）")
@click.option("--until", default=None, metavar="YYYY-MM",
              help="只生成到这个月为止的数据（须在工作要点年度内），默认全年")
def demo_data_cmd(out_dir: Path | None, plan_file: Path | None, reference: Path | None, townships: int | None,
                  schools_per_township: int, seed: int, until: str | None) -> None:
    """生成一整年（或到 --until 为止）的演示数据到 OUT_DIR（默认 data/demo）。"""

    try:
        tables = demo.generate(_plan(plan_file), reference or demo_reference_file(), townships=townships,
                               schools_per_township=schools_per_township, seed=seed, until=until)
    except EdureportError as exc:
        _fail(exc, None)

    try:
        target = out_dir or demo_data_dir()
    except EdureportError as exc:  # no bureau folder to take data/demo from
        _fail(exc, None)
    try:
        paths = demo.write(tables, target)
    except OSError as exc:
        _fail(output_error(Path(exc.filename or target), exc), None)
    for path, frame in zip(paths, tables.values(), strict=True):
        click.echo(f"{path}：{len(frame):,} 行")


@cli.command("plan")
@plan_option
def plan_cmd(plan_file: Path | None) -> None:
    """检查工作要点文件并显示其结构（部分、任务、指标）。"""

    try:
        click.echo(plan_summary(_plan(plan_file)))
    except EdureportError as exc:
        _fail(exc, None)


@cli.command("status")
@data_option()
@plan_option
@as_of_option
@allow_outside_year_option
@click.option("--township", default=None, help="只看一个乡镇（按工作要点的称呼）")
@click.option("--school", default=None, help="只看一所学校（学校代码）")
def status_cmd(data_dir: Path | None, plan_file: Path | None, as_of: str, allow_outside_year: bool,
               township: str | None, school: str | None) -> None:
    """显示各指标的目标、实际、完成进度与状态。"""

    if township and school:
        raise click.UsageError("--township 与 --school 只能选一个")
    try:
        plan = _plan(plan_file)
        ds = load_data(data_dir or demo_data_dir(), plan)
        level, entity = ("township", township) if township else ("school", school) if school else ("banner", "")
        when = as_of_date(plan, as_of, allow_outside_year=allow_outside_year)
        results = compute(ds, when, level, entity, allow_outside_year=allow_outside_year)
    except EdureportError as exc:
        _fail(exc, 200)
    click.echo(results_table(results))


@cli.command("init")
@click.argument("folder", type=click.Path(path_type=Path, readable=False))
@click.option("--plan", "plan_file", type=click.Path(path_type=Path, readable=False), default=None,
              help="工作要点文件（YAML），检查后复制为 params/plan-<年度>.yaml；默认为软件自带的示例工作要点")
@click.option("--reference", type=click.Path(path_type=Path, readable=False), default=None,
              help="演示数据的名录（下级单位与学校），复制为 params/demo-reference.yaml")
def init_cmd(folder: Path, plan_file: Path | None, reference: Path | None) -> None:
    """创建工作文件夹 FOLDER：params/（工作要点、补充说明模板）、data/、outputs/、notebooks/ 和说明 README.md。

    在工作文件夹中运行的命令都以它为默认位置。FOLDER 须为新的或空的文件夹；对已有的工作文件夹只补上缺少的文件，
    从不覆盖已有文件。"""

    try:
        placed = init_bureau(folder, plan_file=plan_file, reference=reference)
    except EdureportError as exc:
        _fail(exc, 200)
    note = register_kernel()  # the notebooks' kernel; init goes on without it (the note says how)
    if note:
        click.echo(note, err=True)
    for item in placed:
        slash = "/" if item.path.is_dir() else ""
        click.echo(f"{'已创建' if item.new else '已存在（保留）'}  {item.path.relative_to(folder)}{slash}")
    click.echo(f"工作文件夹：{folder.absolute()}。下一步：cd {folder}，阅读 README.md；"
               "把数据放在 data/ 下（或 edureport demo-data 生成演示数据），然后 edureport validate、edureport build。")


def main() -> None:
    """The ``edureport`` command. Ctrl-C ends with code 130 and "已中断"; an error edureport did not
    foresee is a bug, not the user's fault: one Chinese line says so and where the details were saved,
    instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 must not crash the printing
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = cli.main(prog_name="edureport", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("已中断。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        with tempfile.NamedTemporaryFile("w", prefix="edureport-error-", suffix=".txt", delete=False,
                                         encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"edureport {__version__} {' '.join(sys.argv)}\n")
            traceback.print_exc(file=fh)
        click.echo(f"内部错误：{type(exc).__name__}: {str(exc)[:200]}。这是 edureport 的缺陷而不是数据问题；"
                   f"详细信息已保存到 {fh.name}，请发给维护人员。", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


from edureport.cli.build import build_cmd  # noqa: E402  (registers the command on the group)
from edureport.cli.intake import import_cmd, template_cmd  # noqa: E402
from edureport.cli.send import send_cmd  # noqa: E402
from edureport.cli.submissions import submissions_cmd  # noqa: E402

cli.add_command(build_cmd)
cli.add_command(template_cmd)
cli.add_command(import_cmd)
cli.add_command(send_cmd)
cli.add_command(submissions_cmd)

# The usage line's placeholders in Chinese too ("用法： edureport build [选项]").
cli.options_metavar, cli.subcommand_metavar = "[选项]", "命令 [参数]..."
for _command in cli.commands.values():
    _command.options_metavar = "[选项]"
