"""Registry of report kinds (section, township, review) and the jobs a build runs.

Each kind names its notebook and how to turn the plan and data into jobs; adding a report kind is one
``register()`` call. ``select_jobs`` turns ``--only section:2 --only township:图克镇 --only review``
into jobs, refusing unknown selections with a named error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import EdureportError, UnknownKindError
from .plan import Plan


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


class UnknownReportError(EdureportError):
    """``--only`` named a report that the plan and data do not have."""


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
    return [Job("township", f"township:{t}", f"township-{t}", f"{t}工作进展报告", "township_report.ipynb",
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
        key = key.strip()
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
