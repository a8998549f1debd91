"""The jobs a build runs, from the registered report kinds (``report/kinds.py``, ``report/catalog.py``).

``select_jobs`` turns ``--only section:2 --only township:图克镇 --only review`` into jobs, refusing unknown
selections with a named error. What a kind's jobs are, and which other names ``--only`` accepts for them
(section:二), the kind says; nothing here knows a kind by name.

A report's file name comes from a unit name only through ``name_stem`` (defined with the kinds, which
name their jobs' files): names are data, never paths.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from edureport.core.errors import EdureportError, ReportNameError, UnknownKindError, UnknownReportError  # noqa: F401  (defined with every other error)
from edureport.plan.model import Plan
from edureport.report.catalog import Job, get_report_kind, report_kinds
from edureport.report.kinds import name_stem, unique_stems  # noqa: F401  (where batch code has always found them)


def all_jobs(plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
    return [job for kind in report_kinds() for job in kind.jobs(plan, townships, schools)]


def select_jobs(plan: Plan, townships: list[str], only: list[str] | None = None,
                schools: pd.DataFrame | None = None) -> list[Job]:
    """All jobs, or those named by ``only`` (a job's key, or another name its kind accepts: section:二).
    ``schools``: the register's schools (no school reports without it)."""
    jobs = all_jobs(plan, townships, schools)
    if not only:
        return jobs
    by_key = {j.key: j for j in jobs}
    for j in jobs:
        for alias in get_report_kind(j.kind).aliases(j):
            by_key[alias] = j
    chosen, unknown = [], []
    for key in only:
        key = unicodedata.normalize("NFC", key.strip())  # names in the data are NFC (validate)
        if key not in by_key:
            get_report_kind(key.split(":")[0])  # an unknown kind raises UnknownReportKindError naming the known
            unknown.append(key)
        elif by_key[key] not in chosen:
            chosen.append(by_key[key])
    if unknown:
        shown = 40  # a city's 5,000 school reports are not listed in one message
        known = "、".join(j.key for j in jobs[:shown]) + (f"等，共{len(jobs)}份" if len(jobs) > shown else "")
        raise UnknownReportError(f"没有这些报告：{'、'.join(unknown)}。可选：{known}")
    return chosen
