"""What each report depends on, as one SHA-256 per job — the basis of incremental builds.

A report is rebuilt only when something it shows could change:
- every report: its parameters, its notebook, the plan file, the package code (and its version), the
  commentary file;
- its data: what its report kind's ``data_digests`` covers (``report/kinds.py``; all data unless the kind
  narrows it). The built-in kinds: a section report, the rows of its indicators and tasks (all townships —
  it compares them); a township report, its own rows, plus the banner figures and every township's figures
  it prints in comparison columns, ranks and charts (``shown_by_reports``: so a change elsewhere
  that moves those rebuilds it too); a school report, its own rows and every school of its stage's
  figures (its ranks); the year-end review, all data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from edureport.core.cachefile import code_fingerprint
from edureport.core.paths import default_commentary_file, file_sha256
from edureport.data.store import DataSet
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown, all_results, school_table
from edureport.report.catalog import Job, get_report_kind


def job_key(job: Job, ds: DataSet, *, common: dict[str, Any], notebook: Path,
            shown_results: Shown | None = None) -> str:
    """The input key of one job; equal keys mean the report would come out the same."""
    plan = ds.plan
    data = get_report_kind(job.kind).data_digests(job, ds, shown_results=shown_results or NOTHING_SHOWN)
    # Where the data live and the whole data set's fingerprint are not what a report shows: its own rows are.
    params = {**{k: v for k, v in common.items() if k not in ("data_dir", "data_fingerprint")}, **job.parameters}
    payload = {"job": job.key, "params": params, "notebook": file_sha256(notebook), "plan": plan.sha256,
               "code": code_fingerprint(), "data": data, "commentary": _commentary_digest(common, plan.year)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _commentary_digest(common: dict[str, Any], year: int) -> str:
    # "" (not set by the build) means what the notebook then reads: the plan's default commentary
    path = Path(common["commentary_file"]) if common.get("commentary_file") \
        else default_commentary_file(common.get("plan_file", ""), year)
    return file_sha256(path) if Path(path).is_file() else ""


def shown_by_reports(ds: DataSet, as_of, allow_outside_year: bool = False) -> Shown:
    """Digests of the figures reports print about other places: the banner and all townships (what every
    township report prints about the others) now, every school's when a school report's key asks.

    Computing them here also stores them for the reports (``metrics.results_cache``), so no report repeats it.
    """
    rows = [(r.indicator_id, place, r.actual, str(r.status))
            for place, results in all_results(ds, as_of, allow_outside_year=allow_outside_year).items()
            for r in results]
    places = hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()
    return Shown(places, lambda: school_table(ds, as_of, allow_outside_year=allow_outside_year))
