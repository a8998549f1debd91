"""The banner's and every township's results for one data set and date, computed once and shared.

Township reports print ranks among all townships, section reports chart every township, the review
tabulates them, and the build's incremental keys digest them. Computing them inside each report made
the time per report grow with the number of townships (600 townships × 76 indicators per report).
Instead the first user (normally the build, before any notebook starts) computes them and stores one
Parquet table beside the data cache, keyed by data fingerprint, as-of date and code fingerprint; every
report then reads that table, whose size does not depend on how many rows the data has.

Every school's results are a second table (``school_table``), made only when a school report needs them
(its ranks among the schools of its stage): 34 ms per school here, 1.6 s for the demo's 48 schools, so a
build without school reports does not pay it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from edureport.core import cachefile
from edureport.core.paths import cache_dir
from edureport.core.status import Status
from edureport.data.store import DataSet
from edureport.metrics.compute import IndicatorResult, compute

BANNER = ""  # key of the banner-level results
FIELDS = [f.name for f in dataclasses.fields(IndicatorResult)]


def results_file(data: DataSet, as_of: dt.date, name: str = "results") -> Path | None:
    """Where a shared table lives; None when the data set has no fingerprint (not cacheable)."""
    if not data.fingerprint:
        return None
    return cache_dir() / data.fingerprint / f"{name}-{as_of.isoformat()}-{cachefile.code_fingerprint()[:16]}.parquet"


def _stored(data: DataSet, as_of: dt.date, name: str, whole: Callable[[], DataSet] | None,
            make: Callable[[DataSet], pd.DataFrame], columns: set[str]) -> pd.DataFrame:
    """The table ``name`` from the verified cache, else made from every row (``whole`` loads them when
    ``data`` is a report's subset) and stored."""
    path = results_file(data, as_of, name)
    if path is not None:
        payload = cachefile.read(path)  # verified: a damaged table is computed again (one warning line)
        if payload is not None:
            try:
                frame = pd.read_parquet(io.BytesIO(payload))
                if columns <= set(frame.columns):
                    return frame
            except (OSError, ValueError):
                pass
    if data.is_subset:
        if whole is None:
            raise ValueError(f"{name}: a subset needs ``whole`` to compute the shared results")
        data = whole()
    frame = make(data)
    if path is not None:
        with contextlib.suppress(OSError):  # an unwritable cache costs time, not the result
            cachefile.write(path, frame.to_parquet(index=False))
    return frame


def shared_table(data: DataSet, as_of: dt.date, whole: Callable[[], DataSet] | None = None,
                 allow_outside_year: bool = False) -> pd.DataFrame:
    """One row per place and indicator (banner first, then townships in registry order).

    ``data`` may be a report's subset (same fingerprint as the whole); ``whole`` then loads every row,
    which only happens when the table is not cached yet. Reports compare townships column-wise on this
    frame: making 46,000 result objects for 600 townships cost 0.12 s per report.
    """
    def make(data: DataSet) -> pd.DataFrame:
        out = [*compute(data, as_of, allow_outside_year=allow_outside_year)]
        for town in data.townships["township"].astype(str):
            out += compute(data, as_of, "township", town, allow_outside_year=allow_outside_year)
        return _frame(out)

    return _stored(data, as_of, "results", whole, make, set(FIELDS))


def month_ends(plan_start: dt.date, plan_end: dt.date, as_of: dt.date) -> list[dt.date]:
    """The month ends of the plan year up to ``as_of`` (the points of a month-by-month chart)."""
    out, d = [], plan_start
    while d <= min(as_of, plan_end):
        end = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if end > as_of:
            break
        out.append(end)
        d = end + dt.timedelta(days=1)
    return out


def month_table(data: DataSet, as_of: dt.date, whole: Callable[[], DataSet] | None = None,
                allow_outside_year: bool = False) -> pd.DataFrame:
    """The region's results at each month end up to ``as_of`` (column ``month``: "2023-01"): the series the
    section, department and review reports chart month by month. Each of those reports computed them from
    its own rows, which at 600 townships hold every township's rows of its indicators (0.56 s of a section
    report, 0.18 s at 6 townships); made once per build, the charts read a table of 12 × 76 rows."""
    def make(data: DataSet) -> pd.DataFrame:
        frames = []
        for end in month_ends(data.plan.start, data.plan.end, as_of):
            frame = _frame(compute(data, end, allow_outside_year=allow_outside_year))
            frame.insert(0, "month", end.strftime("%Y-%m"))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else _frame([]).assign(month=[])

    return _stored(data, as_of, "months", whole, make, set(FIELDS) | {"month"})


SCHOOL_COLUMNS = ["township", "stage"]  # besides FIELDS: what a school's ranks group by


def school_table(data: DataSet, as_of: dt.date, whole: Callable[[], DataSet] | None = None,
                 allow_outside_year: bool = False) -> pd.DataFrame:
    """One row per school and applicable indicator (registry order), with the school's township and
    stage: what school reports rank against (the schools of the same stage in the township and the region)."""
    def make(data: DataSet) -> pd.DataFrame:
        out: list[IndicatorResult] = []
        for school in data.schools["school_id"].astype(str):
            out += compute(data, as_of, "school", school, allow_outside_year=allow_outside_year)
        frame = _frame(out)
        register = data.schools.drop_duplicates("school_id")
        ids = register["school_id"].astype(str).tolist()
        for column in SCHOOL_COLUMNS:
            frame[column] = frame["entity"].map(dict(zip(ids, register[column].astype(str), strict=True))).fillna("")
        return frame

    return _stored(data, as_of, "schools", whole, make, set(FIELDS) | set(SCHOOL_COLUMNS))


def all_results(data: DataSet, as_of: dt.date, whole: Callable[[], DataSet] | None = None,
                allow_outside_year: bool = False) -> dict[str, list[IndicatorResult]]:
    """{"": banner results, township: its results} for every township, in registry order."""
    stored = results_of(shared_table(data, as_of, whole, allow_outside_year))
    towns = list(data.townships["township"].astype(str))
    return {BANNER: stored.get(BANNER, []), **{t: stored.get(t, []) for t in towns}}


def place_rows(frame: pd.DataFrame, place: str) -> pd.DataFrame:
    """The rows of the banner (``BANNER``) or of one township."""
    level = "banner" if place == BANNER else "township"
    return frame[(frame["level"] == level) & (frame["entity"] == place)]


def _frame(results: list[IndicatorResult]) -> pd.DataFrame:
    frame = pd.DataFrame([dataclasses.asdict(r) for r in results], columns=FIELDS)
    frame["status"] = frame["status"].map(lambda s: Status(s).value)
    frame["due"] = frame["due"].map(lambda d: d.isoformat())
    return frame


def results_of(frame: pd.DataFrame) -> dict[str, list[IndicatorResult]]:
    """Result objects by place; column-wise (row-wise dicts took 0.6 s for 46,000 rows)."""
    columns = {n: [None if isinstance(v, float) and v != v else v for v in frame[n].tolist()] for n in FIELDS}
    statuses = {s.value: s for s in Status}
    columns["status"] = [statuses[v] for v in columns["status"]]
    dues = {d: dt.date.fromisoformat(d) for d in set(columns["due"])}
    columns["due"] = [dues[d] for d in columns["due"]]
    columns["task"] = [int(t) for t in columns["task"]]
    columns["overdue"] = [bool(v) for v in columns["overdue"]]
    out: dict[str, list[IndicatorResult]] = {}
    for values in zip(*(columns[n] for n in FIELDS), strict=True):
        result = IndicatorResult(*values)
        out.setdefault(BANNER if result.level == "banner" else str(result.entity), []).append(result)
    return out


class Shown:
    """Digests of the figures reports print about places other than their own, for the build keys
    (``batch/keys.py``): ``places``, the banner's and every township's results (township reports' ranks and
    charts); ``schools(stage)``, every school of a stage (school reports' ranks), made on first use from
    ``schools``, so a build without school reports never computes every school's results."""

    def __init__(self, places: str = "", schools: Callable[[], pd.DataFrame] | None = None) -> None:
        self.places = places
        self._schools = schools
        self._by_stage: dict[str, str] | None = None

    def schools(self, stage: str) -> str:
        if self._schools is None:
            return ""
        if self._by_stage is None:
            frame = self._schools()
            self._by_stage = {str(stage): _digest(group[["entity", "indicator_id", "actual", "status"]])
                              for stage, group in frame.groupby("stage", sort=False)}
        return self._by_stage.get(stage, "")


def _digest(frame: pd.DataFrame) -> str:
    rows = frame.astype(str).to_numpy().tolist()
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


NOTHING_SHOWN = Shown()  # a key without other places' figures (tests, a kind that shows none)
