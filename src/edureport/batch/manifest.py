"""The record of a build: ``manifest.json`` (machine-readable) and ``index.html`` (for leaders).

The manifest lists, per report, its parameters, status, duration, input key and output files with
SHA-256; for the run, the inputs' hashes, plan hash, package versions and git commit. The next build
reads it to decide what is unchanged.
"""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from edureport.batch.execute import JobResult
from edureport.core.errors import EdureportError
from edureport.core.fonts import font_face_css
from edureport.core.paths import file_sha256, project_root, write_atomic
from edureport.core.status import Status
from edureport.plan.load import load_plan
from edureport.plan.model import Plan
from edureport.render.document import stylesheet
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


def write_index(folder: Path, title: str, data_text: str, run: dict[str, Any], entries: list[dict[str, Any]]) -> Path:
    """A self-contained portal page: every report with its status and links; failures with the error."""

    rows = []
    plan = _plan_of(run)
    for e in entries:
        word, status = STATUS_WORDS.get(e["status"], (e["status"], Status.NO_DATA))
        detail = _detail(plan, e.get("parameters") or {})
        detail = f'<p class="detail">{esc(detail)}</p>' if detail else ""
        links = " ".join(f'<a href="{esc(f["path"])}">{label}</a>' for kind, label in
                         (("html", "网页版"), ("pdf", "PDF")) if (f := e["files"].get(kind)))
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
        rows.append(f"<tr><td>{esc(e['title'])}{detail}{note}</td><td>{badge(status).replace(status.value, word)}</td>"
                    f"<td>{links or '—'}</td></tr>")
    body = (f'<header class="cover"><p class="issuer">{esc(run["plan"]["issuer"])}</p><h1 class="title">{esc(title)}</h1>'
            f'<p class="asof">{esc(data_text)}</p><p class="fingerprint">数据指纹 '
            f'{esc(run["data"]["fingerprint"][:12])}</p></header><table class="index"><thead><tr><th>报告</th>'
            f"<th>状态</th><th>文件</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    css = (stylesheet() + ".error{color:#c62828;font-size:8.5pt;margin-top:2pt}"
           ".detail{color:#555;font-size:8.5pt;margin:1pt 0 0;text-indent:0}")
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(title)}</title><style>'
            f"{font_face_css(body + css)}\n{css}</style></head><body><main class=\"report kind-index\">{body}"
            "</main></body></html>")
    path = folder / "index.html"
    write_atomic(path, html)
    return path
