"""``edureport build`` on the command line: progress on a terminal, plain lines for cron, a log file.

Exit codes: 0 every report built or unchanged; 1 some reports failed; 2 bad input or usage (including
an output folder that cannot be written); 3 another build is using the output folder.

``--send``: the distribution file is checked before anything is built (a bad one: exit code 2); after the
build, its reports go out as with ``edureport send``; a build that stops on bad input alerts the
administrators instead. Exit code 1 also when some recipients could not be reached.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click

from edureport.batch.build import build
from edureport.batch.execute import JobResult
from edureport.cli.common import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    allow_outside_year_option,
    as_of_option,
    data_option,
    plan_option,
)
from edureport.cli.common import fail as _fail
from edureport.cli.common import load_plan_option as _plan
from edureport.cli.delivery import closing_line, distribution_option, read_distribution
from edureport.core import locks
from edureport.core.errors import EdureportError, LockedError, ProblemsError
from edureport.core.paths import check_output, output_error, outputs_dir
from edureport.deliver.send import send_after_build, send_alert
from edureport.render.outputs import DEFAULT_FORMATS, FORMATS, output_formats
from edureport.report.kinds import Job

STATUS = {"built": "已生成", "unchanged": "未变化", "failed": "失败"}


class Progress:
    """tqdm bar on a terminal; otherwise one plain line per finished report (for cron logs)."""

    def __init__(self, quiet: bool, log):
        self.quiet, self.log = quiet, log
        self.bar = None
        self.running: set[str] = set()
        self.started = time.perf_counter()
        self.done = 0
        self.total = 0

    def plan(self, selected: list[Job], todo: list[Job]) -> None:
        self.total = len(selected)
        self.log(f"共 {len(selected)} 份报告，需要生成 {len(todo)} 份，{len(selected) - len(todo)} 份未变化",
                 echo=not self.quiet)
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=len(selected), unit="份", file=sys.stderr, dynamic_ncols=True)

    def event(self, kind: str, job: Job, result: JobResult | None) -> None:
        if kind == "queued":
            self.running.add(job.title)
            return
        if kind != "done" or result is None:
            return
        self.running.discard(job.title)
        self.done += 1
        line = f"[{self.done}/{self.total}] {STATUS.get(result.status, result.status)}  {job.title}"
        if result.status == "built":
            line += f"（{result.seconds:.1f} 秒" + (f"，重试 {result.attempts - 1} 次" if result.attempts > 1 else "") + "）"
        if result.error:
            line += f"：{result.error}"
        if self.bar is not None:
            self.bar.set_postfix_str("、".join(sorted(self.running))[:40])
            self.bar.update(1)
            self.log(line, echo=False)
        else:
            self.log(line, echo=not self.quiet)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _logger(log_dir: Path, keep: int):

    check_output(log_dir)
    logs = sorted(p for p in log_dir.glob("*.log") if p.is_file())
    for old in logs[: max(0, len(logs) - keep + 1)]:
        if not _in_use(old):  # the log of a build that is still running stays
            old.unlink(missing_ok=True)
    path = log_dir / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.log"
    try:
        fh = path.open("a", encoding="utf-8")
        locks.mark_in_use(fh, path)  # "in use" for as long as this build runs (released when it ends)
    except OSError as exc:
        raise output_error(path, exc) from None

    def log(text: str, echo: bool = True) -> None:
        fh.write(f"{dt.datetime.now().isoformat(timespec='seconds')} {text}\n")
        fh.flush()
        if echo:
            click.echo(text)

    return log, fh, path


def _in_use(log: Path) -> bool:
    return locks.in_use(log)


@click.command("build")
@plan_option
@data_option()
@click.option("--commentary", type=click.Path(path_type=Path, readable=False), default=None,
              help="补充说明文件（YAML），默认为工作要点文件旁的 commentary-<年度>.yaml，没有则为工作文件夹 params/ 中的同名文件")
@as_of_option
@allow_outside_year_option
@click.option("--compare-to", default="",
              help="较上期变化的比较日期（写法同 --as-of），须早于截至日期；默认为上期：计入的最后一个月的上一个月末（6月30日→5月31日，6月15日→4月30日）")
@click.option("--only", multiple=True, help="只生成部分报告，可重复：section:2、township:<名称>、review")
@click.option("--formats", default=",".join(DEFAULT_FORMATS), show_default=True,
              help="输出格式，逗号分隔：" + "、".join(f"{f.name}（{f.label}）" for f in output_formats()))
@click.option("--jobs", "-j", type=click.IntRange(1), default=None, help="并行进程数，默认为 CPU 核数")
@click.option("--force", is_flag=True, help="全部重新生成（默认只生成输入有变化的报告）")
@click.option("--timeout", type=int, default=600, show_default=True, help="每个单元格的执行时限（秒）")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local：本机进程池；dask：发送到 Dask 集群")
@click.option("--scheduler", default=None, help="Dask 调度器地址，如 tcp://HOST:8786（--executor dask 时必填）")
@click.option("--wait", "wait_for_lock", is_flag=True, help="已有构建在运行时排队等待，而不是立即退出")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度，只在出错时输出（适合定时任务）")
@click.option("--keep-logs", type=click.IntRange(1), default=30, show_default=True, help="保留最近多少个日志文件")
@click.option("--out", type=click.Path(path_type=Path, readable=False), default=None, help="输出文件夹，默认 outputs/")
@click.option("--send", is_flag=True,
              help="构建后按分发名单发送新的或有变化的报告（同 edureport send）；构建失败时改为向管理员发告警")
@distribution_option
def build_cmd(plan_file, data_dir, commentary, as_of, allow_outside_year, compare_to, only, formats, jobs, force, timeout, executor, scheduler,
              wait_for_lock, quiet, keep_logs, out, send, distribution) -> None:
    """生成报告（默认全部：各部分、各乡镇（按工作要点的称呼）、年度工作总结）：并行、增量、可中断恢复。"""

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    known = [f.name for f in output_formats()]
    if not wanted or set(wanted) - set(known):
        raise click.UsageError(f"--formats 只能是 {'、'.join(known)} 中的一种或几种，用逗号分隔（如 html,pdf,docx）")
    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask 需要 --scheduler tcp://HOST:8786")
    dist = None
    if send:  # a bad distribution file stops here, before any report is built (exit code 2)
        try:
            plan = _plan(plan_file)
        except EdureportError:  # the build will stop on it, and alert the administrators
            plan = None
        try:
            dist = read_distribution(distribution, plan)
        except EdureportError as exc:
            _fail(exc, 200)
    try:
        log, fh, log_path = _logger((out or outputs_dir()) / "logs", keep_logs)
    except EdureportError as exc:
        if dist is not None:  # no log to write in: the administrators still hear of it
            send_alert(dist, "构建失败，没有生成任何报告", str(exc).splitlines(), say=lambda line: click.echo(line, err=True))
        _fail(exc, 200)
    progress = Progress(quiet, log)
    outcome: dict = {}  # what sending did, from inside the build (its lock still held)

    def report(summary) -> None:
        """The build's results, then (``--send``) its sending, while the build still holds its lock: no
        other build can rewrite the reports between their building and their sending."""
        progress.close()
        counts = {s: sum(r.status == s for r in summary.results) for s in STATUS}
        log("；".join(f"{STATUS[s]} {n}" for s, n in counts.items()) + f"。索引页：{summary.index}", echo=not quiet)
        if not quiet:
            for r in summary.results:
                files = "  ".join(sorted(Path(p).name for k, p in r.files.items() if k in FORMATS))
                click.echo(f"  {STATUS.get(r.status, r.status):<4} {r.seconds:6.1f}s  {r.job.title}  {files}")
        for r in summary.failed:
            said = r.error if r.error.startswith(r.job.title) else f"{r.job.title}：{r.error}"  # the title once
            click.echo(f"失败：{said}", err=True)
        outcome["reported"] = True
        if dist is None:
            return
        after = send_after_build(summary.folder, dist, say=lambda line: log(
            line, echo=not quiet or line.startswith(("发送失败", "注意"))))
        outcome.update(unsent=after.unsent, locked=after.locked)
        if after.summary is not None:
            log(closing_line(after.summary, False), echo=not quiet)
            return
        log(after.stopped, echo=False)
        click.echo(f"错误：{after.stopped}" + (f"；已发送的都记在发送记录中，其余下次运行 edureport send 时发送。"
                                              f"日志：{log_path}" if after.internal else ""), err=True)

    def alert(heading: str, text: str) -> None:
        if dist is not None:
            send_alert(dist, heading, [*text.splitlines(), f"日志：{log_path}"],
                       say=lambda line: log(line, echo=not quiet))

    try:
        summary = build(plan_file=plan_file, data_dir=data_dir, as_of=as_of, out=out, only=list(only),
                        formats=wanted, jobs=jobs, force=force, timeout=timeout, executor=executor,
                        scheduler=scheduler, wait_for_lock=wait_for_lock, commentary=commentary,
                        on_event=progress.event, on_plan=progress.plan, allow_outside_year=allow_outside_year,
                        then=report, compare_to=compare_to)
    except EdureportError as exc:
        progress.close()
        log(str(exc), echo=False)
        if not isinstance(exc, LockedError):  # another build running is no failure
            alert("构建失败，没有生成任何报告", exc.render(50) if isinstance(exc, ProblemsError) else str(exc))
        fh.close()
        _fail(exc, 200)
    except Exception as exc:  # a crash: the administrators hear of it, and the traceback still shows
        progress.close()
        log(f"构建出错（内部错误 {type(exc).__name__}）：{exc}", echo=False)
        if not outcome.get("reported"):
            alert("构建出错，没有生成任何报告", f"内部错误 {type(exc).__name__}：{exc}")
        fh.close()
        raise
    log(f"日志：{log_path}", echo=False)
    fh.close()
    if outcome.get("locked"):
        sys.exit(EXIT_LOCKED)
    sys.exit(EXIT_FAILED if summary.failed or outcome.get("unsent") else EXIT_OK)
