"""The record of a build: ``manifest.json`` (machine-readable) and ``index.html`` (for leaders).

The manifest lists, per report, its parameters, status, duration, input key and output files with
SHA-256; for the run, the inputs' hashes, plan hash, package versions and git commit. The next build
reads it to decide what is unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from edureport.batch.execute import JobResult
from edureport.core.errors import EdureportError
from edureport.core.fonts import font_face_css
from edureport.core.paths import file_sha256, project_root, write_atomic
from edureport.core.status import Status
from edureport.intake.submissions import submissions_html
from edureport.plan.load import load_plan
from edureport.plan.model import Plan
from edureport.render.document import stylesheet
from edureport.render.outputs import output_formats
from edureport.report.catalog import get_report_kind, report_kinds
from edureport.report.htmlkit import badge, esc

PACKAGES = ("edureport", "pandas", "matplotlib", "papermill", "nbconvert", "weasyprint", "pyarrow")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def report_entry(result: JobResult, folder: Path, previous: dict[str, Any] | None,
                 fingerprint: str = "") -> dict[str, Any]:
    """One report's record. ``fingerprint``: the data snapshot it was built from (a failed report keeps
    its last good files, and with them the fingerprint they show)."""
    job = result.job
    files = {}
    for kind, path in result.files.items():
        p = Path(path)
        if p.is_file():
            files[kind] = {"path": str(p.relative_to(folder)), "sha256": file_sha256(p)}
    if result.status == "failed" and previous:  # the last good files are still published
        for kind, entry in previous.get("files", {}).items():
            if kind not in files and (folder / entry["path"]).is_file():
                files[kind] = entry
    return {"key": job.key, "kind": job.kind, "title": job.title, "stem": job.stem, "parameters": job.parameters,
            **({"subgroup": job.subgroup} if job.subgroup else {}),
            "status": result.status, "seconds": round(result.seconds, 2), "attempts": result.attempts,
            "input_key": result.input_key if result.status != "failed" else (previous or {}).get("input_key", ""),
            "data_fingerprint": fingerprint if result.status != "failed" else (previous or {}).get("data_fingerprint", ""),
            "error": result.error, "files": files}


def write_manifest(folder: Path, run: dict[str, Any], entries: list[dict[str, Any]]) -> Path:
    doc = {**run, "versions": versions(), "git_commit": git_commit(), "reports": entries}
    path = folder / "manifest.json"
    write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    return path


STATUS_WORDS = {"built": ("已生成", Status.DONE), "unchanged": ("未变化", Status.ON_TRACK),
                "failed": ("失败", Status.MISSED)}


def _plan_of(run: dict[str, Any]) -> Plan | None:
    """The build's plan, read again for the index's second lines (None when its file is gone or changed)."""
    try:
        plan = load_plan(Path(run["plan"]["file"]))
    except (KeyError, TypeError, OSError, EdureportError):
        return None
    return plan if plan.sha256 == run["plan"].get("sha256") else None


def _detail(plan: Plan | None, parameters: dict[str, Any]) -> str:
    """What the report's title leaves out, from its parameters: the title of the plan section it covers
    (“第七部分进展报告” / “教育督导与安全”); "" for the others."""
    section = parameters.get("section")
    if plan is None or section is None or not plan.has("section", section):
        return ""
    return plan.section(section).title


UNKNOWN_GROUP = 10  # where a report of a kind no longer registered goes: with the section reports ("各部分")


def index_groups() -> dict[int, str]:
    """Place → heading of the index page's groups, from the registered kinds (``ReportKind.group``): 0 总结,
    10 各部分, 15 各{department}, 20 各{unit} for the built-in kinds; a place keeps its first kind's heading."""
    out = {UNKNOWN_GROUP: "各部分"}
    for kind in sorted(report_kinds(), key=lambda k: k.order, reverse=True):
        out[kind.group[0]] = kind.group[1]
    return dict(sorted(out.items()))


INDEX_CSS = """
.error{color:#c62828;font-size:8.5pt;margin-top:2pt}
.detail{color:#555;font-size:8.5pt;margin:1pt 0 0;text-indent:0}
.headline{font-family:'Noto Sans CJK SC',sans-serif;font-size:11pt;background:#f3f6fa;border:.6pt solid var(--rule);
  padding:3mm 4mm;margin:0 0 4mm;text-indent:0;text-align:left}
.headline strong{font-weight:normal;color:var(--accent);font-size:13pt}
.headline .lag{color:#e08600}.headline .miss{color:#c62828}.headline .none{color:#666}
.find{margin:0 0 2mm;text-indent:0}
.find input{font:inherit;font-family:'Noto Sans CJK SC',sans-serif;font-size:11pt;width:100%;max-width:24em;
  box-sizing:border-box;padding:4pt 6pt;border:.8pt solid #9aa8ba;border-radius:3pt}
.find .count{color:var(--muted);font-size:9pt;margin-left:.5em}
table.index td.n{text-align:right;white-space:nowrap}
table.index th,table.index td:last-child{white-space:nowrap}
table.index tr.this td{font-weight:bold}
table.index tr.sub th{background:#f3f6fa;color:var(--accent);text-align:left;font-weight:bold}
.submissions table{width:auto}.submissions td{text-align:center;white-space:nowrap}
.submissions tbody th{background:#fff;white-space:nowrap}
.submissions .s-late{color:#e08600}.submissions .s-missing,.submissions .s-overdue{color:#c62828;background:#fdecea}
.submissions .s-unrecorded{color:#666}
ul.chase{margin:.3em 0 1em;padding-left:1.5em}
.submissions p{text-indent:0}
table.index td.n.lag{color:#e08600}table.index td.n.miss{color:#c62828}
@media print{.find{display:none}}
"""
# The search box filters the rows by the report's name (a unit, a section): offline, no library.
INDEX_SCRIPT = """
(function(){
  var box=document.getElementById('find'), count=document.getElementById('found');
  if(!box){return}
  box.parentNode.hidden=false;
  box.addEventListener('input',function(){
    var words=box.value.trim(), shown=0;
    document.querySelectorAll('section.group').forEach(function(group){
      var any=false;
      var sub=null, subAny=false;
      group.querySelectorAll('tbody tr').forEach(function(row){
        if(row.classList.contains('sub')){if(sub){sub.hidden=!subAny}sub=row;subAny=false;return}
        var hit=!words||row.cells[0].textContent.indexOf(words)>=0||(sub&&sub.textContent.indexOf(words)>=0);
        row.hidden=!hit; if(hit){any=true;subAny=true;shown++}
      });
      if(sub){sub.hidden=!subAny}
      group.hidden=!any;
    });
    count.textContent=words?('找到 '+shown+' 份报告'):'';
  });
})();
"""


def _group(entry: dict[str, Any]) -> int:
    """The place of the report's group on the index page (0: the whole region) — the one its kind declares
    (``ReportKind.group``), so nothing here knows a kind by name."""
    try:
        return get_report_kind(entry["kind"]).group[0]
    except (KeyError, TypeError, EdureportError):
        return UNKNOWN_GROUP


def _heading(place: int, plan: Plan | None) -> str:
    """A group's heading in the plan's words (“各苏木镇”, “各股室”)."""
    unit, department = (plan.township_label, plan.department_label) if plan is not None else ("单位", "股室")
    return index_groups().get(place, "各部分").format(unit=unit, department=department)


def _rate(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{counts.get(Status.DONE.value, 0) / total * 100:.1f}%" if total else "—"


def _headline_cells(counts: dict[str, int] | None) -> str:
    """达标率 and the numbers of indicators behind (滞后), missed (未达标) and without data (无数据)."""
    if not counts:
        return '<td class="n">—</td>' * 4
    cells = [f'<td class="n">{_rate(counts)}</td>']
    for status, cls in ((Status.LAGGING, "lag"), (Status.MISSED, "miss"), (Status.NO_DATA, "none")):
        n = counts.get(status.value, 0)
        cells.append(f'<td class="n{f" {cls}" if n else ""}">{n}</td>')
    return "".join(cells)


def _county_headline(plan: Plan | None, entries: list[dict[str, Any]]) -> str:
    """The region's headline at the top of the page: from the report that covers the whole region."""
    whole = next((e for e in entries if _group(e) == 0 and e.get("headline")), None)
    if whole is None:
        return ""
    counts = whole["headline"]
    total = sum(counts.values())
    region = plan.region_label if plan is not None else "全域"
    parts = [f'<span class="{cls}">{status.value} {counts.get(status.value, 0)} 项</span>'
             for status, cls in ((Status.LAGGING, "lag"), (Status.MISSED, "miss"), (Status.NO_DATA, "none"))]
    return (f'<p class="headline">{esc(region)}量化指标 {total} 项，达标 {counts.get(Status.DONE.value, 0)} 项，'
            f'达标率 <strong>{_rate(counts)}</strong>；{"，".join(parts)}</p>')


def _submissions(plan: Plan | None, run: dict[str, Any], data: Any = None) -> str:
    """Which units' monthly figures are in (数据报送情况) and the 催报 list, from the build's data (the
    snapshot it already read, when given: a no-change rebuild read the whole folder a second time here)
    and its import log; "" when the plan or the data can no longer be read (the page still lists the reports)."""
    if plan is None:
        return ""
    try:
        return submissions_html(plan, data if data is not None else Path(run["data"]["dir"]),
                                dt.date.fromisoformat(run["as_of"]))
    except (KeyError, TypeError, ValueError, OSError, EdureportError):
        return ""


def _builds(folder: Path, plan: Plan | None) -> str:
    """Every as-of build in the same outputs folder (``<out>/<年度>/<截至日期>/``), newest first, this one
    marked: its date, the region's 达标率 then and a link to its index page. A folder without a readable
    manifest is no build and is left out. "" when this is the only build."""
    root = folder.parent.parent
    rows = []
    for manifest in sorted(root.glob("*/*/manifest.json"), key=lambda p: (p.parent.parent.name, p.parent.name),
                           reverse=True):
        other = manifest.parent
        this = other.resolve() == folder.resolve()
        if not this and not (other / "index.html").is_file():
            continue
        doc = read_manifest(other)
        if not isinstance(doc.get("reports"), list):
            continue
        whole = next((e for e in doc["reports"] if isinstance(e, dict) and _group(e) == 0 and e.get("headline")), None)
        rate = _rate(whole["headline"]) if whole else "—"
        when = esc(str(doc.get("as_of") or other.name))
        title = esc(str((doc.get("plan") or {}).get("title", "")))
        if this:
            rows.append(f'<tr class="this"><td>{when}（本期）</td><td>{title}</td><td class="n">{rate}</td><td>—</td></tr>')
        else:
            href = esc(Path(os.path.relpath(other / "index.html", folder)).as_posix())
            rows.append(f'<tr><td>{when}</td><td>{title}</td><td class="n">{rate}</td>'
                        f'<td><a href="{href}">查看</a></td></tr>')
    if len(rows) < 2:
        return ""
    region = plan.region_label if plan is not None else "全域"
    return (f'<section class="builds"><h2>各期报告</h2><table class="index builds"><thead><tr><th>截至日期</th>'
            f'<th>工作要点</th><th>{esc(region)}达标率</th><th>索引</th></tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></section>")


def write_index(folder: Path, title: str, data_text: str, run: dict[str, Any], entries: list[dict[str, Any]],
                *, plan: Plan | None = None, data: Any = None) -> Path:
    """A self-contained portal page for leaders: the region's headline, then every report — grouped (总结,
    各部分, 各单位) — with its headline (达标率, 滞后, 未达标, 无数据), build status and links; failures with
    the error; a search box that filters the reports by name. Laid out for phones too (viewport, tables that
    scroll in their own area)."""

    plan = plan if plan is not None else _plan_of(run)
    groups: dict[int, dict[str, list[str]]] = {place: {} for place in index_groups()}
    for e in entries:
        word, status = STATUS_WORDS.get(e["status"], (e["status"], Status.NO_DATA))
        detail = _detail(plan, e.get("parameters") or {})
        detail = f'<p class="detail">{esc(detail)}</p>' if detail else ""
        links = " ".join(f'<a href="{esc(f["path"])}">{fmt.label}</a>' for fmt in output_formats()
                         if (f := e["files"].get(fmt.name)))
        note = ""
        shown = e.get("data_fingerprint", "")
        if shown and shown != run["data"]["fingerprint"] and e["status"] != "failed":
            note = f'<p class="note">该报告依据的数据没有变化，沿用数据指纹 {esc(shown[:12])} 时生成的版本</p>'
        if e["status"] == "failed":
            nb = e["files"].get("failed_ipynb")
            note = f'<div class="error">{esc(e["error"])}'
            note += f'　<a href="{esc(nb["path"])}">查看出错的笔记本</a>' if nb else ""
            note += "（下方链接为上次成功生成的版本）" if links else ""
            note += "</div>"
        groups.setdefault(_group(e), {}).setdefault(str(e.get("subgroup") or ""), []).append(
            f"<tr><td>{esc(e['title'])}{detail}{note}</td>{_headline_cells(e.get('headline'))}"
            f"<td>{badge(status).replace(status.value, word)}</td><td>{links or '—'}</td></tr>")
    unit = plan.township_label if plan is not None else "单位"
    head = ("<thead><tr><th>报告</th><th>达标率</th><th>滞后</th><th>未达标</th><th>无数据</th><th>状态</th>"
            "<th>文件</th></tr></thead>")
    # Inside a group, the reports of one subgroup (a township's schools) under its name, in first-seen order.
    sections = "".join(
        f'<section class="group"><h2>{esc(_heading(place, plan))}</h2><table class="index">{head}<tbody>'
        + "".join((f'<tr class="sub"><th colspan="7">{esc(sub)}</th></tr>' if sub else "") + "".join(rows)
                  for sub, rows in subs.items())
        + "</tbody></table></section>"
        for place, subs in sorted(groups.items()) if subs)
    find = ('<p class="find" hidden><input type="search" id="find" placeholder="查找报告或'
            f'{esc(unit)}名称" aria-label="查找报告"><span class="count" id="found" aria-live="polite"></span></p>')
    body = (f'<header class="cover"><p class="issuer">{esc(run["plan"]["issuer"])}</p><h1 class="title">{esc(title)}</h1>'
            f'<p class="asof">{esc(data_text)}</p><p class="fingerprint">数据指纹 '
            f'{esc(run["data"]["fingerprint"][:12])}</p></header>{_county_headline(plan, entries)}{find}{sections}{_submissions(plan, run, data)}{_builds(folder, plan)}')
    css = stylesheet() + INDEX_CSS
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title><style>'
            f"{font_face_css(body + css + INDEX_SCRIPT)}\n{css}</style></head><body><main class=\"report kind-index\">"
            f"{body}</main><script>{INDEX_SCRIPT}</script></body></html>")
    path = folder / "index.html"
    write_atomic(path, html)
    return path
