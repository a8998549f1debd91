"""What leaders and administrators read: the Chinese subject, body and robot markdown of each message.

Everything comes from the build's manifest (titles, as-of date, each report's status counts) and the
distribution file (links), so composing a message never opens a report or computes a figure. A robot
message is short — one line per report with its link — and kept under the robot's size limit (WeCom takes
4,096 bytes of markdown, DingTalk 20,000): the lines that do not fit are counted instead.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import quote

from edureport.deliver.distribution import Distribution
from edureport.deliver.reports import Build, Report
from edureport.report.narrative import date_cn

ROBOT_BYTES = {"dingtalk": 18_000, "wecom": 4_000}  # below the documented limits, for the last line
FORMAT_WORDS = {"html": "网页版", "pdf": "PDF", "docx": "Word"}
FOOTER = "（本消息由 edureport 自动发送；同一份报告只发送一次，报告有变化时才会再次发送。）"


@dataclass(frozen=True)
class Text:
    subject: str  # the email's subject and the robot message's title
    body: str  # plain text, for email
    markdown: str  # for robots


def when(build: Build | None) -> str:
    """The as-of date as the reports write it (2023年6月30日)."""
    if build is None:
        return ""
    day = build.as_of
    return date_cn(day) if day else str(build.manifest.get("as_of", ""))


def headline(counts: dict[str, int] | None) -> str:
    """指标 76 项：达标 20 项，进展正常 40 项，…（statuses with none left out）; "" when unknown."""
    if not counts:
        return ""
    total = sum(int(n) for n in counts.values())
    parts = [f"{status} {n} 项" for status, n in counts.items() if n]
    return f"指标 {total} 项：{'，'.join(parts)}" if total else "指标 0 项"


def link(dist: Distribution, build: Build, relative: str) -> str:
    """The intranet URL of a file of the build ("" without ``link_base``)."""
    return dist.link_base + quote(f"{build.relative}/{relative}") if dist.link_base else ""


def _md(text: str) -> str:
    """Text safe inside a markdown link label (a title with brackets must not end the link)."""
    return text.replace("[", "［").replace("]", "］").replace("\n", " ")


def report_message(dist: Distribution, build: Build, name: str, reports: list[Report], *,
                   attached: set[str] | frozenset[str] = frozenset()) -> Text:
    """One message carrying ``reports`` to ``name``; ``attached``: the keys of the reports whose files the
    email carries (said per report: the others are reached by their links)."""
    date = when(build)
    what = reports[0].title if len(reports) == 1 else f"{build.title}进展报告 {len(reports)} 份"
    # the issuer in brackets, unless the title already begins with it (乌审旗教育体育局2023年工作总结)
    tag = f"【{build.issuer}】" if build.issuer and not what.startswith(build.issuer) else ""
    subject = f"{tag}{what}（截至{date}）"
    lines = [f"{name}：", "", f"《{build.title}》进展报告已更新（截至{date}），本次发送 {len(reports)} 份：", ""]
    md = [f"### {build.title}进展报告（截至{date}）", ""]
    for i, r in enumerate(reports, start=1):
        lines.append(f"{i}. {r.title}" + ("（文件见附件）" if r.key in attached else ""))
        if headline(r.headline):
            lines.append(f"   {headline(r.headline)}")
        links = [(FORMAT_WORDS[k], link(dist, build, p)) for k, p in r.paths.items() if k in FORMAT_WORDS]
        lines += [f"   {word}：{url}" for word, url in links if url]
        first = next((url for _, url in links if url), "")
        label = f"[{_md(r.title)}]({first})" if first else _md(r.title)
        md.append(f"- {label}" + (f"　{headline(r.headline)}" if headline(r.headline) else ""))
    index = link(dist, build, "index.html")
    with_files = sum(r.key in attached for r in reports)
    lines.append("")
    if with_files == len(reports):
        lines.append("报告文件见附件。")
    elif with_files:
        lines.append("标有“文件见附件”的报告，文件在附件中；其余报告请从上面的链接打开。")
    else:
        lines.append("报告请从上面的链接打开。")
    if index:
        lines.append(f"全部报告的目录：{index}")
    lines += ["", FOOTER]
    if index:
        md += ["", f"[全部报告的目录]({index})"]
    return Text(subject, "\n".join(lines) + "\n", "\n".join(md))


def failed_lines(build: Build) -> list[str]:
    """One line per failed report: its title and why."""
    out = []
    for entry in build.failed:
        title, error = str(entry.get("title") or entry.get("key")), str(entry.get("error") or "原因不明")
        out.append(f"{title}：{error.removeprefix(title + '：')}")
    return out


def alert_message(heading: str, details: list[str], build: Build | None = None,
                  dist: Distribution | None = None) -> Text:
    """The administrators' alert: what failed (``details``), where, and that nothing wrong was sent."""
    date = when(build)
    title = build.title if build is not None else ""
    subject = f"【edureport 告警】{title}{heading}" + (f"（截至{date}）" if date else "")
    lines = ["管理员：", "", f"{heading}（主机 {socket.gethostname()}" + (f"，截至{date}" if date else "") + "）。", ""]
    lines += [f"- {d}" for d in details]
    lines += ["", ("生成失败的报告没有发送给收件人" if build is not None else "这次没有发送任何报告")
              + "；请查看输出文件夹 logs/ 中的日志，改正后重新构建。"]
    index = link(dist, build, "index.html") if dist is not None and build is not None else ""
    if index:
        lines.append(f"目录页（含失败原因）：{index}")
    lines += ["", "（本告警由 edureport 自动发送。）"]
    md = [f"### {subject}", "", *(f"- {_md(d)}" for d in details)]
    if index:
        md.append(f"\n[目录页（含失败原因）]({index})")
    return Text(subject, "\n".join(lines) + "\n", "\n".join(md))


def fit(markdown: str, robot_type: str) -> str:
    """``markdown`` cut to whole lines within the robot's limit, saying how many lines were left out. The
    heading and the closing lines (after the last report line: the 目录 link) are always kept; report
    lines (``- …``) are what is cut."""
    limit = ROBOT_BYTES.get(robot_type, 4_000)
    if len(markdown.encode()) <= limit:
        return markdown
    lines = markdown.split("\n")
    items = [i for i, line in enumerate(lines) if line.startswith("- ")]
    first, last = (items[0], items[-1]) if items else (1, len(lines) - 1)
    head, body, tail = lines[:first], lines[first:last + 1], lines[last + 1:]
    size = lambda part: sum(len(line.encode()) + 1 for line in part)  # noqa: E731
    room = limit - 100 - size(head) - size(tail)
    kept: list[str] = []
    for line in body:
        if size(kept) + len(line.encode()) + 1 > room:
            break
        kept.append(line)
    more = f"……另有 {len(body) - len(kept)} 行未显示，请打开目录页或查收邮件"
    return "\n".join([*head, *kept, more, *tail])
