"""A build as delivery sees it: its reports, read from ``manifest.json``, and which ones a selector picks.

A report can be sent when the build made it or found it unchanged; a failed report is withheld (its
published files are the last good ones, already sent or out of date) and the administrators are alerted.
A report's identity for the send log is the SHA-256 of the file a reader opens — the PDF when the build
makes PDFs, else the HTML, the same kind for every report — as the manifest records it. A report whose
files are missing is withheld like a failed one.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edureport.batch.manifest import read_manifest
from edureport.core.errors import NoBuildError
from edureport.core.paths import file_sha256

FILE_FORMATS = ("pdf", "html", "docx")  # the order in which a report's identity is taken
WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    sha256: str
    names: tuple[str, ...]  # what selectors match: the key, and kind:parameter (section:二)
    files: dict[str, Path] = field(default_factory=dict)  # format → file
    paths: dict[str, str] = field(default_factory=dict)  # format → path relative to the build folder (links)
    headline: dict[str, int] | None = None  # status → number of indicators (batch.headline)
    digests: dict[str, str] = field(default_factory=dict)  # format → SHA-256 the manifest records for the file
    primary: str = "pdf"  # the format whose SHA-256 is the report's identity (``sha256``)


@dataclass(frozen=True)
class Build:
    folder: Path
    manifest: dict[str, Any]
    sha256: str  # of manifest.json: one build (its alert is sent once)
    reports: list[Report]
    failed: list[dict[str, Any]]  # the manifest entries of failed reports (and of reports whose files are missing)

    @property
    def title(self) -> str:
        return str((self.manifest.get("plan") or {}).get("title", ""))

    @property
    def issuer(self) -> str:
        return str((self.manifest.get("plan") or {}).get("issuer", ""))

    @property
    def as_of(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(self.manifest.get("as_of", "")))
        except ValueError:
            return None

    @property
    def relative(self) -> str:
        """The build folder below the output folder (``2023/2023-06-30``), for links."""
        return f"{self.folder.parent.name}/{self.folder.name}"

    @property
    def missing(self) -> list[dict[str, Any]]:
        """Reports the build made whose files are gone now: withheld like failed ones."""
        return [e for e in self.failed if e.get("missing")]

    def counts(self) -> dict[str, int]:
        """How many reports the build made, found unchanged, and failed."""
        out = {"built": 0, "unchanged": 0, "failed": 0}
        for entry in self.manifest.get("reports", []):
            out[entry.get("status", "")] = out.get(entry.get("status", ""), 0) + 1
        return out


def read_build(folder: Path) -> Build:
    """The build in ``folder``; ``NoBuildError`` when there is none (or its manifest is unreadable).

    A report whose files are missing (deleted by hand, a disk problem) is treated as a failed report:
    withheld, and named in the administrators' alert — never silently skipped, and never sent under
    another file's identity."""
    path = folder / "manifest.json"
    manifest = read_manifest(folder)
    if not isinstance(manifest.get("reports"), list):
        said = "无法读取（已损坏）" if path.exists() else "不存在"
        raise NoBuildError(f"没有可发送的构建：{path} {said}。请先运行 edureport build（输出文件夹和截至日期与发送时相同）")
    formats = manifest.get("formats")
    primary = identity_format(formats if isinstance(formats, list) else None)
    reports, failed = [], []
    for entry in manifest["reports"]:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        if entry.get("status") == "failed":
            failed.append(entry)
            continue
        report, missing = _report(folder, entry, primary)
        if report is None:
            title = str(entry.get("title") or entry["key"])
            failed.append(dict(entry, status="failed", missing=True,
                               error=f"{title}：报告文件缺失或不在构建文件夹中（{missing}），请重新构建"))
        else:
            reports.append(report)
    return Build(folder, manifest, file_sha256(path), reports, failed)


def identity_format(formats: list | None) -> str:
    """The file whose SHA-256 identifies a report in the send log: the PDF when the build makes PDFs,
    else the HTML — the same kind for every report of the build, whatever file happens to be missing."""
    if formats is None or "pdf" in formats:
        return "pdf"
    return "html" if "html" in formats else next((k for k in FILE_FORMATS if k in formats), "pdf")


def _report(folder: Path, entry: dict[str, Any], primary: str) -> tuple[Report | None, str]:
    """The report of a manifest entry, or None and the files that are missing (every file the manifest
    lists must be there: a report is sent whole or not at all)."""
    files, paths, digests, missing = {}, {}, {}, []
    root = os.path.abspath(folder)
    listed = entry.get("files") or {}
    for kind, item in listed.items():
        if kind not in FILE_FORMATS or not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        path = folder / item["path"]
        # a manifest edited by hand must not make us mail a file from elsewhere
        if os.path.commonpath([root, os.path.abspath(path)]) != root or not path.is_file():
            missing.append(str(item["path"]))
            continue
        files[kind], paths[kind] = path, item["path"]
        digests[kind] = str(item.get("sha256") or "")
    if primary not in files and primary not in listed:
        missing.append(f"{primary.upper()} 文件")
    if missing or primary not in files:
        return None, "、".join(missing)
    sha = digests[primary] or file_sha256(files[primary])
    kind = str(entry.get("kind", ""))
    params = entry.get("parameters") or {}
    names = [entry["key"], *(f"{kind}:{v}" for v in params.values() if isinstance(v, str | int) and kind)]
    headline = entry.get("headline") if isinstance(entry.get("headline"), dict) else None
    return Report(entry["key"], str(entry.get("title") or entry["key"]), sha,
                  tuple(dict.fromkeys(_nfc(n) for n in names)), files, paths, headline, digests, primary), ""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", str(text).strip())


def picks(report: Report, selectors: tuple[str, ...]) -> bool:
    """Does any selector name the report (its key, kind:parameter, or a ``*`` pattern of them)?"""
    return any(fnmatch.fnmatchcase(name, _nfc(sel)) for sel in selectors for name in report.names)


def unmatched(build: Build, selectors: tuple[str, ...]) -> list[str]:
    """The selectors without wildcards that name no report of this build (a misspelt unit, or a report the
    build did not make: ``build --only``)."""
    everything = [*build.reports, *(Report(e["key"], "", "", (_nfc(e["key"]),)) for e in build.failed)]
    return [sel for sel in selectors
            if not WILDCARDS & set(sel) and not any(picks(r, (sel,)) for r in everything)]
