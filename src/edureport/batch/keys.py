"""What each report depends on, as one SHA-256 per job — the basis of incremental builds.

A report is rebuilt only when something it shows could change:
- every report: its parameters, its notebook, the plan file, the package code (and its version);
- a section report: the rows of its indicators and tasks (all townships — it compares them);
- a township report: its own rows, plus the banner figures and every township's figures it prints
  in comparison columns, ranks and charts (so a change elsewhere that moves those rebuilds it too);
- the year-end review: all data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from edureport.batch.jobs import Job
from edureport.core.cachefile import code_fingerprint
from edureport.core.paths import file_sha256
from edureport.data.store import DataSet
from edureport.metrics.results_cache import all_results


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a frame's rows (order-sensitive, index ignored)."""
    if frame.empty:
        return hashlib.sha256(",".join(map(str, frame.columns)).encode()).hexdigest()
    values = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(values.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()


TABLES = ("observations", "baselines", "activities", "projects")


def _section_rows(ds: DataSet, indicators: list[str], tasks: list[int], projects: list[str]) -> dict[str, str]:
    """Digests of a section's rows: its indicators, tasks and projects, in every township."""
    keep = {"observations": ("indicator_id", indicators), "baselines": ("indicator_id", indicators),
            "activities": ("task", tasks), "projects": ("project_id", projects)}
    out = {}
    for name in TABLES:
        frame = ds.frames[name]
        column, values = keep[name]
        out[name] = frame_digest(frame[frame[column].astype(str).isin([str(v) for v in values])])
    return out | _registry(ds)


def _township_rows(ds: DataSet, township: str) -> dict[str, str]:
    """Digests of one township's rows plus the rows that belong to no township (banner-wide)."""
    out = {}
    for name in TABLES:
        by_town = ds.memo(f"inputs:towns:{name}", lambda name=name: _digest_by_township(ds.frames[name]))
        out[name] = hashlib.sha256((by_town.get(township, "") + by_town.get("", "")).encode()).hexdigest()
    return out | _registry(ds)


def _digest_by_township(frame: pd.DataFrame) -> dict[str, str]:
    """One digest per township value, from one grouping (not one full scan per township)."""
    return {str(k): frame_digest(g) for k, g in frame.groupby(frame["township"].astype(str), sort=False)}


def _registry(ds: DataSet) -> dict[str, str]:
    return {"registry": ds.memo("inputs:registry", lambda: frame_digest(ds.schools) + frame_digest(ds.townships))}


def job_key(job: Job, ds: DataSet, *, common: dict[str, Any], notebook: Path,
            shown_results: str = "") -> str:
    """The input key of one job; equal keys mean the report would come out the same."""
    plan = ds.plan
    if job.kind == "section":
        section = job.parameters["section"]
        tasks = [t.id for t in plan.tasks_in(section)]
        data = _section_rows(ds, [i.id for i in plan.indicators_in(section)], tasks,
                             [p.id for p in plan.projects if p.task in tasks])
    elif job.kind == "township":
        data = _township_rows(ds, job.parameters["township"])
        data["shown"] = shown_results
    else:
        data = {"all": ds.fingerprint}
    # Where the data live and the whole data set's fingerprint are not what a report shows: its own rows are.
    params = {**{k: v for k, v in common.items() if k not in ("data_dir", "data_fingerprint")}, **job.parameters}
    payload = {"job": job.key, "params": params, "notebook": file_sha256(notebook), "plan": plan.sha256,
               "code": code_fingerprint(), "data": data, "commentary": _commentary_digest(common, plan.year)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _commentary_digest(common: dict[str, Any], year: int) -> str:
    from edureport.core.paths import commentary_file

    path = Path(common["commentary_file"]) if common.get("commentary_file") else commentary_file(year)
    return file_sha256(path) if Path(path).is_file() else ""


def shown_by_township_reports(ds: DataSet, as_of, allow_outside_year: bool = False) -> str:
    """Digest of the figures every township report prints about the others (banner and all townships).

    Computing them here also stores them for the reports (``results_cache``), so no report repeats it.
    """
    rows = [(r.indicator_id, place, r.actual, str(r.status))
            for place, results in all_results(ds, as_of, allow_outside_year=allow_outside_year).items()
            for r in results]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()
