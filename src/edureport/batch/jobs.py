"""Registry of report kinds (section, township, review) and the jobs a build runs.

Each kind names its notebook and how to turn the plan and data into jobs; adding a report kind is one
``register()`` call. ``select_jobs`` turns ``--only section:2 --only township:图克镇 --only review``
into jobs, refusing unknown selections with a named error.

A report's file name comes from a unit name only through ``name_stem``: names are data, never paths.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from edureport.core.errors import EdureportError, ReportNameError, UnknownKindError, UnknownReportError  # noqa: F401  (defined with every other error)
from edureport.plan.model import Plan


@dataclass(frozen=True)
class Job:
    kind: str
    key: str  # what --only accepts: section:1, township:图克镇, review
    stem: str  # output file name without extension
    title: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportKind:
    name: str
    label: str
    notebook: str
    jobs: Callable[[Plan, list[str]], list[Job]]


REPORT_KINDS: dict[str, ReportKind] = {}


# The part of a file name taken from a unit name, in UTF-8 bytes. File systems allow 255 bytes per name;
# the longest file made from a stem is the atomic writer's ".<stem>.ipynb.<8 random>.tmp" (stem + 20),
# and the prefix and hash add at most 22: 150 keeps every file name under 200 bytes, and a 50-character
# Chinese name (the validation limit, 150 bytes) stays whole and readable.
STEM_NAME_BYTES = 150
HASH_CHARS = 12  # 48 bits of SHA-256: two names of one county never share it by chance
# Besides letters, marks and digits: characters that are safe in file names on Linux, Windows and macOS
# and in the index page's relative links (no % # ? & space, nothing Windows forbids).
STEM_PUNCTUATION = frozenset("-_.()（）·")


def _readable(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN" or char in STEM_PUNCTUATION


def name_stem(prefix: str, name: str, *, hashed: bool = False) -> str:
    """``<prefix>-<name>`` when the name is safe as it is (township-图克镇); otherwise (or with ``hashed``)
    ``<prefix>-<slug>-<hash>``: every other character replaced by "_", cut to STEM_NAME_BYTES, and the
    first HASH_CHARS hex digits of the name's SHA-256, so that names that slug alike still differ. File
    names are NFC; a name that is not (validation makes every name NFC) is hashed too."""
    slug = re.sub("_+", "_", "".join(c if _readable(c) else "_" for c in unicodedata.normalize("NFC", name)))
    slug = slug.encode("utf-8")[:STEM_NAME_BYTES].decode("utf-8", "ignore")  # whole characters only
    if slug == name and not hashed:
        return f"{prefix}-{name}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{prefix}-{slug}-{digest}"


def unique_stems(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Name → file stem, no two alike even ignoring case (Windows and macOS folders do): a readable stem
    that clashes with another (a name "a_b" and a name "a b" slugged to "a_b-…", or "Ab" and "ab") is
    replaced by its hashed form until none clash."""
    def fold(stem: str) -> str:
        return unicodedata.normalize("NFC", stem).casefold()

    stems = {n: name_stem(prefix, n) for n in names}
    while True:
        count = Counter(fold(s) for s in stems.values())
        clash = [n for n, s in stems.items() if count[fold(s)] > 1]
        todo = [n for n in clash if stems[n] != name_stem(prefix, n, hashed=True)]
        if not clash:
            return stems
        if not todo:  # equal hashes of different names
            raise ReportNameError(f"报告文件名重复：{'、'.join(sorted(stems[n] for n in clash))}")
        for n in todo:
            stems[n] = name_stem(prefix, n, hashed=True)


def register(kind: ReportKind) -> ReportKind:
    REPORT_KINDS[kind.name] = kind
    return kind


def get_report_kind(name: str) -> ReportKind:
    try:
        return REPORT_KINDS[name]
    except KeyError:
        raise UnknownKindError("报告类型", name, REPORT_KINDS) from None


def _sections(plan: Plan, townships: list[str]) -> list[Job]:
    return [Job("section", f"section:{i}", f"section-{i}", f"第{s.number}部分进展报告", "section_report.ipynb",
                {"section": s.number}) for i, s in enumerate(plan.sections, start=1)]


def _townships(plan: Plan, townships: list[str]) -> list[Job]:
    stems = unique_stems("township", townships)
    return [Job("township", f"township:{t}", stems[t], f"{t}工作进展报告", "township_report.ipynb",
                {"township": t}) for t in townships]


def _review(plan: Plan, townships: list[str]) -> list[Job]:
    return [Job("review", "review", "year-end-review", f"{plan.issuer}{plan.year}年工作总结", "year_end_review.ipynb")]


register(ReportKind("section", "分部分进展报告", "section_report.ipynb", _sections))
register(ReportKind("township", "分乡镇进展报告", "township_report.ipynb", _townships))
register(ReportKind("review", "年度工作总结", "year_end_review.ipynb", _review))


def all_jobs(plan: Plan, townships: list[str]) -> list[Job]:
    return [job for kind in REPORT_KINDS.values() for job in kind.jobs(plan, townships)]


def select_jobs(plan: Plan, townships: list[str], only: list[str] | None = None) -> list[Job]:
    """All jobs, or those named by ``only`` (a section may also be named by its numeral: section:二)."""
    jobs = all_jobs(plan, townships)
    if not only:
        return jobs
    by_key = {j.key: j for j in jobs}
    for j in jobs:
        if j.kind == "section":
            by_key[f"section:{j.parameters['section']}"] = j
    chosen, unknown = [], []
    for key in only:
        key = unicodedata.normalize("NFC", key.strip())  # names in the data are NFC (validate)
        if key not in by_key:
            if key.split(":")[0] not in REPORT_KINDS:
                raise UnknownKindError("报告类型", key.split(":")[0], REPORT_KINDS)
            unknown.append(key)
        elif by_key[key] not in chosen:
            chosen.append(by_key[key])
    if unknown:
        known = "、".join(j.key for j in jobs)
        raise UnknownReportError(f"没有这些报告：{'、'.join(unknown)}。可选：{known}")
    return chosen
