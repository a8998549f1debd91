"""Sending one build's reports: who gets what, the dry run, the sending, and the administrators' alert.

From the build's manifest and the distribution file, ``plan`` makes one *delivery* per target — one email
address or one group robot, whichever recipients name it — carrying every report those recipients chose
that the target has not yet received in this very version (``sendlog``). A target whose reports are all
unchanged gets nothing. A failed report is never sent (not even its last good files); instead the
administrators get one alert per build.

``send`` then delivers one target at a time and records each in the send log right after its message
went through: one failing target is reported and skipped — the others go on and it stays unmarked, so the
next run tries it again. One send per build folder at a time (``SendLockedError``, exit code 3): two
sends at once would both find a target unmarked and send it twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edureport.batch.lock import LOCK_FILE as BUILD_LOCK_FILE
from edureport.core import locks
from edureport.core.errors import (
    DeliveryError,
    DistributionError,
    EdureportError,
    LockedError,
    OutputError,
    Problem,
    ProblemsError,
    SendLockedError,
)
from edureport.core.paths import output_error
from edureport.deliver.credentials import redact
from edureport.deliver.distribution import Distribution, Recipient
from edureport.deliver.mail import Mailer, compose
from edureport.deliver.messages import Text, alert_message, failed_lines, fit, report_message
from edureport.deliver.reports import Build, Report, picks, read_build, unmatched
from edureport.deliver.robots import post
from edureport.deliver.sendlog import LOG_FILE, SendLog

LOCK_FILE = ".edureport-send.lock"
ALERT_KEY = "alert"  # the send log's key for a build's alert (report keys are kind names: no clash)
Say = Callable[[str], None]


@dataclass
class Delivery:
    target: str  # "email:<address>" or "robot:<name>": the send log's key
    label: str  # how lines name it: 邮件 a@example.org（局领导）
    names: list[str]  # the recipients (or 管理员) it is for
    reports: list[Report] = field(default_factory=list)  # to send now
    unchanged: list[Report] = field(default_factory=list)  # already received, the same file
    alert: Text | None = None  # an alert instead of reports

    @property
    def address(self) -> str:
        return self.target.split(":", 1)[1]

    @property
    def busy(self) -> bool:
        return bool(self.reports) or self.alert is not None


@dataclass
class SendSummary:
    folder: Path
    log: Path
    planned: list[Delivery] = field(default_factory=list)  # with something to send
    idle: list[Delivery] = field(default_factory=list)  # nothing new for them
    sent: list[Delivery] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings: selectors naming no report, a missing alert list
    withheld: list[str] = field(default_factory=list)  # failed reports a recipient wanted (not sent)
    missing: list[str] = field(default_factory=list)  # built reports whose files are gone (exit code 1)
    build_failed: bool = False  # the build has failed (or missing) reports: the administrators are alerted
    unrecorded: bool = False  # a message went out but the send log could not be written: sending stopped


def send_build(folder: Path, dist: Distribution, *, dry_run: bool = False, say: Say | None = None,
               build_locked: bool = False) -> SendSummary:
    """Send the reports of the build in ``folder`` (``dry_run``: only say what would go).

    While sending, the output folder's build lock is held shared: a build cannot rewrite the reports
    being sent (it waits, or refuses with exit code 3), and several sends can still run side by side.
    ``build_locked``: the caller (``build --send``) holds the build lock itself, exclusively."""
    tell = _teller(dist, say)
    if dry_run:
        build = read_build(folder)
        check_units(build, dist)
        summary = plan(build, dist, SendLog.read(folder))
        for line in dry_run_lines(summary, dist):
            tell(line)
        return summary
    if not folder.is_dir():
        read_build(folder)  # NoBuildError: says there is no build, rather than that no lock could be made
    with contextlib.ExitStack() as held:
        held.callback(_acquire(folder).close)
        if not build_locked:
            held.callback(_build_lock(folder).close)
        for stale in folder.glob(f"{LOG_FILE}.*.writing"):  # a killed send's unfinished log write
            stale.unlink(missing_ok=True)
        build = read_build(folder)  # under the locks: the files are the ones the manifest describes
        check_units(build, dist)
        log = SendLog.read(folder)  # under the lock: what another send recorded is seen
        summary = plan(build, dist, log)
        for note in summary.notes:
            tell(f"注意：{note}")
        mailer = held.enter_context(Mailer(dist.email)) if dist.email is not None else None
        for d in summary.planned:
            try:
                deliver(d, build, dist, mailer)
            except Exception as exc:  # one target's failure never stops the others
                said = redact(str(exc) if isinstance(exc, DeliveryError) else f"内部错误 {type(exc).__name__}：{exc}",
                              dist.secrets)
                summary.failed.append((d, said))
                tell(f"发送失败  {d.label}：{said}")
                continue
            items = ([(ALERT_KEY, build.sha256, d.alert.subject)] if d.alert is not None
                     else [(r.key, r.sha256, r.title) for r in d.reports])
            try:
                log.record(d.target, "、".join(d.names), items)
            except OutputError as exc:  # sent, not recorded: stop before more go out unrecorded
                said = redact(f"已发送给 {d.label}，但未能记入发送记录（下次会重发）：{exc}", dist.secrets)
                summary.failed.append((d, said))
                summary.unrecorded = True
                tell(f"发送失败  {said}；其余收件方这次不再发送")
                break
            summary.sent.append(d)
            tell(f"已发送  {d.label}：{_what(d)}")
        for line in withheld_lines(summary, dist, dry_run=False):
            tell(line)
        return summary
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class AfterBuild:
    """What sending right after a build did (``send_after_build``)."""

    summary: SendSummary | None = None  # None: sending did not start, or broke off
    unsent: bool = False  # some recipients were not reached (the build's exit code is 1)
    locked: bool = False  # another send of this folder held its lock (exit code 3)
    stopped: str = ""  # why sending did not start or broke off: one line for the log and the terminal
    internal: bool = False  # ``stopped`` is an internal error (a bug), not bad input


def send_after_build(folder: Path, dist: Distribution, *, say: Say | None = None) -> AfterBuild:
    """``send_build`` for a build that still holds its lock (``build --send``): the reports are built
    whatever happens here, so no error escapes — a distribution problem, a locked send, even a bug become
    an ``AfterBuild`` that says so; whatever went out before a failure is in the send log, and the rest
    goes with the next ``edureport send``."""
    try:
        sending = send_build(folder, dist, build_locked=True, say=say)
    except EdureportError as exc:
        text = exc.render(50) if isinstance(exc, ProblemsError) else str(exc)
        return AfterBuild(unsent=True, locked=isinstance(exc, LockedError), stopped=f"发送未能开始：{text}")
    except Exception as exc:  # never a failed build: its reports are built
        return AfterBuild(unsent=True, internal=True, stopped=f"发送出错（内部错误 {type(exc).__name__}）：{exc}")
    return AfterBuild(sending, unsent=bool(sending.failed))


def check_units(build: Build, dist: Distribution) -> None:
    """``DistributionError`` when a ``townships:`` entry or a ``township:<名称>`` selector names a unit the
    build has no report for — a misspelt name would otherwise quietly receive nothing. A build made with
    ``--only`` lists only some units: then it is a note (``plan``), not an error."""
    if build.manifest.get("only"):
        return
    problems = []
    for rcpt in dist.recipients:
        for sel in unmatched(build, rcpt.reports):
            if sel.split(":", 1)[0] != "township":
                continue
            problems.append(Problem(dist.source, column=f"townships.{rcpt.name}" if rcpt.reports == (sel,)
                                    and sel == f"township:{rcpt.name}" else "recipients.reports", value=sel,
                                    message=f"这次构建（{build.folder}）没有这个{dist.unit_label}的报告：名称是否写错？"
                                            f"（{dist.unit_label}名称须与数据中的一致）"))
    if problems:
        raise DistributionError(problems)


def send_alert(dist: Distribution, heading: str, details: list[str], *, say: Say | None = None) -> SendSummary:
    """Alert the administrators that a build stopped before making any report (bad input, say). Not
    logged: each failed build alerts once, when it fails."""
    tell = _teller(dist, say)
    summary = SendSummary(Path(), Path())
    if dist.administrators is None:
        tell("注意：构建失败，但分发名单没有 administrators，未发送告警")
        return summary
    text = alert_message(heading, [redact(line, dist.secrets) for line in details])
    for d in _deliveries(dist, dist.administrators):
        d.alert = text
        try:
            deliver(d, None, dist)
        except Exception as exc:
            said = redact(str(exc), dist.secrets)
            summary.failed.append((d, said))
            tell(f"告警发送失败  {d.label}：{said}")
            continue
        summary.sent.append(d)
        tell(f"已发送告警  {d.label}")
    return summary


def plan(build: Build, dist: Distribution, log: SendLog) -> SendSummary:
    """What each target would receive now, given what the log says it has."""
    summary = SendSummary(build.folder, log.path)
    by_target: dict[str, Delivery] = {}
    chosen: dict[str, dict[str, Report]] = {}
    for rcpt in dist.recipients:
        picked = [r for r in build.reports if picks(r, rcpt.reports)]
        for sel in unmatched(build, rcpt.reports):
            summary.notes.append(f"收件人“{rcpt.name}”的报告“{sel}”不在这次构建中（{build.folder}），没有可发送的")
        for d in _deliveries(dist, rcpt):
            d = by_target.setdefault(d.target, d)
            if rcpt.name not in d.names:
                d.names.append(rcpt.name)
            chosen.setdefault(d.target, {}).update({r.key: r for r in picked})
    for target, d in by_target.items():
        mine = [r for r in build.reports if r.key in chosen.get(target, {})]  # in the build's order
        d.reports = [r for r in mine if not log.already(target, r.key, r.sha256)]
        d.unchanged = [r for r in mine if log.already(target, r.key, r.sha256)]
        d.label = f"{d.label}（{'、'.join(d.names)}）"
        (summary.planned if d.reports else summary.idle).append(d)
    if build.failed:
        wanted = [e for e in build.failed if any(picks(_stub(e), r.reports) for r in dist.recipients)]
        summary.withheld = [str(e.get("title") or e.get("key")) for e in wanted]
        summary.build_failed = True
        summary.missing = [str(e.get("title") or e.get("key")) for e in build.missing]
        if dist.administrators is not None:
            text = alert_message("报告生成失败" if not build.missing else "报告生成失败或文件缺失",
                                 failed_lines(build), build, dist)
            for d in _deliveries(dist, dist.administrators):
                d.alert, d.label = text, f"{d.label}（管理员）"
                (summary.idle if log.already(d.target, ALERT_KEY, build.sha256) else summary.planned).append(d)
    return summary


def withheld_lines(summary: SendSummary, dist: Distribution, *, dry_run: bool) -> list[str]:
    """One line per failed report a recipient wanted, saying what became of the administrators' alert
    (said to have gone only when it went)."""
    if not summary.build_failed:
        return []
    alerts = [d for d in [*summary.planned, *summary.idle] if d.alert is not None]
    if dist.administrators is None:
        said = "未告警（分发名单没有设置管理员 administrators）"
    elif dry_run:
        said = "将告警给管理员"
    else:
        sent = {d.target for d in summary.sent}
        done = [d for d in alerts if d.target in sent or any(d is i for i in summary.idle)]
        said = ("已告警给管理员" if len(done) == len(alerts) else
                "部分告警未能发出（见上面的发送失败）" if done else "告警未能发出")
    if not summary.withheld:  # failed reports nobody asked for: only the alert
        return [f"注意：有报告生成失败，{said}"]
    return [f"注意：{title}{'的文件缺失' if title in summary.missing else '生成失败'}，没有发送（{said}）"
            for title in summary.withheld]


def _stub(entry: dict) -> Report:
    kind = str(entry.get("kind", ""))
    names = [entry["key"], *(f"{kind}:{v}" for v in (entry.get("parameters") or {}).values() if isinstance(v, str | int))]
    return Report(entry["key"], "", "", tuple(names))


def _deliveries(dist: Distribution, rcpt: Recipient) -> list[Delivery]:
    out = [Delivery(f"email:{a}", f"邮件 {a}", [rcpt.name]) for a in rcpt.email]
    out += [Delivery(f"robot:{n}", dist.robots[n].label if n in dist.robots else n, [rcpt.name]) for n in rcpt.robots]
    return out


def deliver(d: Delivery, build: Build | None, dist: Distribution, mailer: Mailer | None = None) -> None:
    """Send one delivery now; ``DeliveryError`` when it did not go. The reports' files are read and
    hashed here, once: what is attached is what was checked against the manifest."""
    robot = d.target.startswith("robot:")
    if d.alert is not None:
        text, files = d.alert, []
    elif build is not None:
        files = [] if robot else attachments(d.reports, dist)
        verify(d.reports, files)  # the files the message describes (and its links open) are the built ones
        attached = {key for key, *_ in files}
        text = report_message(dist, build, "、".join(d.names), d.reports, attached=attached)
    else:
        raise ValueError("deliver: reports need their build")
    if robot:
        post(dist.robots[d.address], text.subject, fit(text.markdown, dist.robots[d.address].type))
        return
    if dist.email is None:  # the distribution check refuses this; a guard for hand-made Distributions
        raise DeliveryError("分发名单没有 email（发信服务器）一节")
    issuer = build.issuer if build is not None else ""
    msg = compose(dist.email, issuer or "edureport", d.address, text.subject, text.body,
                  [(name, kind, data) for _, name, kind, data in files])
    if mailer is None:
        with Mailer(dist.email) as own:
            own.send(msg, d.address)
    else:
        mailer.send(msg, d.address)


REWRITTEN = "报告文件在发送时已被改写（与构建清单中的 SHA-256 不符），没有发送；请在构建完成后重发"


def verify(reports: list[Report], files: list[tuple[str, str, str, bytes]]) -> None:
    """``DeliveryError`` when a file to attach, or the file a report is identified by, no longer has the
    bytes the manifest records (a build rewriting it, a hand edit)."""
    for key, _name, kind, data in files:
        report = next(r for r in reports if r.key == key)
        expected = report.digests.get(kind, "")
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise DeliveryError(f"{report.title}：{REWRITTEN}")
    for r in reports:
        if any(key == r.key and kind == r.primary for key, _, kind, _ in files):
            continue  # checked above
        try:
            digest = hashlib.sha256(r.files[r.primary].read_bytes()).hexdigest()
        except OSError as exc:
            raise DeliveryError(f"{r.title}：报告文件无法读取（{exc.strerror or exc}）") from None
        if digest != r.sha256:
            raise DeliveryError(f"{r.title}：{REWRITTEN}")


def attachments(reports: list[Report], dist: Distribution) -> list[tuple[str, str, str, bytes]]:
    """(report key, name shown, format, the file's bytes) to attach; none, with links instead, when they
    exceed the size limit. ``DeliveryError`` when a message would carry no report at all (nothing to
    attach and no link), or a file cannot be read."""
    chosen, names = [], set()
    for r in reports:
        for kind in dist.attach:
            if kind in r.files:
                name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", r.title)[:80] or r.key
                shown = f"{name}.{kind}" if f"{name}.{kind}" not in names else r.files[kind].name
                names.add(shown)
                chosen.append((r, shown, kind))
    try:
        size = sum(r.files[kind].stat().st_size for r, _, kind in chosen)
    except OSError as exc:
        raise DeliveryError(f"报告文件无法读取（{exc.strerror or exc}）") from None
    if size > dist.max_attachment_mb * 1024 * 1024:
        if not dist.link_base:
            raise DeliveryError(f"附件共 {size / 1048576:.1f} MB，超过上限 {dist.max_attachment_mb:g} MB"
                                "（max_attachment_mb），又没有 link_base 可以改发链接")
        return []
    if not chosen and not dist.link_base:
        raise DeliveryError(f"报告没有可附带的文件（attach: {'、'.join(dist.attach) or '无'}），又没有 link_base 可以发链接")
    out = []
    for r, shown, kind in chosen:
        try:
            out.append((r.key, shown, kind, r.files[kind].read_bytes()))
        except OSError as exc:
            raise DeliveryError(f"{r.title}：报告文件无法读取（{exc.strerror or exc}）") from None
    return out


def _sizes(reports: list[Report], dist: Distribution) -> tuple[int, int]:
    """(files, bytes) a dry run would attach, without reading them."""
    files = [r.files[k] for r in reports for k in dist.attach if k in r.files]
    return len(files), sum(p.stat().st_size for p in files if p.is_file())


def dry_run_lines(summary: SendSummary, dist: Distribution) -> list[str]:
    """What a send would do now, one line per target (nothing is sent, the log is not written)."""
    lines = [f"注意：{note}" for note in summary.notes]
    for d in summary.planned:
        how = ""
        if d.target.startswith("email:") and d.alert is None:
            count, size = _sizes(d.reports, dist)
            if count and size <= dist.max_attachment_mb * 1024 * 1024:
                how = f"（附件 {count} 个，{size / 1048576:.1f} MB）"
            elif dist.link_base:
                how = "（只发链接）" if not count else f"（附件共 {size / 1048576:.1f} MB 超过上限，改发链接）"
            else:
                how = "（将失败：没有可附带的文件，又没有 link_base）"
        lines.append(f"将发送  {d.label}：{_what(d)}{how}")
    for d in summary.idle:
        lines.append(f"不发送  {d.label}：" + (f"已收到这些报告的当前版本（{len(d.unchanged)} 份）" if d.unchanged
                                               else "告警已发送过" if d.alert else "这次构建中没有它要的报告"))
    lines += withheld_lines(summary, dist, dry_run=True)
    lines.append(f"试运行：将发送 {len(summary.planned)} 条消息，{len(summary.idle)} 个收件方无新内容；没有发送任何消息")
    return lines


def _what(d: Delivery) -> str:
    if d.alert is not None:
        return f"告警：{d.alert.subject}"
    return "、".join(r.title for r in d.reports)


def _teller(dist: Distribution, say: Say | None) -> Say:
    def tell(line: str) -> None:
        if say is not None:
            say(redact(line, dist.secrets))
    return tell


def _build_lock(folder: Path) -> locks.Lock:
    """The output folder's build lock, shared: no build rewrites the reports while they are sent."""
    path = folder.parent.parent / BUILD_LOCK_FILE  # folder: <out>/<year>/<as-of>
    lock, pid = _take(path, shared=True)
    if lock is None:
        who = f"（进程 {pid}）" if pid else ""
        raise SendLockedError(f"edureport build 正在使用输出文件夹 {path.parent}{who}，报告可能正被改写；"
                              "请等构建结束后再发送")
    return lock


def _take(path: Path, *, shared: bool = False) -> tuple[locks.Lock | None, int | None]:
    try:
        return locks.take(path, shared=shared)
    except OSError as exc:
        raise output_error(path, exc) from None


def _acquire(folder: Path) -> locks.Lock:
    lock, pid = _take(folder / LOCK_FILE)
    if lock is None:
        who = f"（进程 {pid}）" if pid else ""
        raise SendLockedError(f"另一个 edureport send 正在发送 {folder} 的报告{who}；请等它结束后再运行")
    return lock
