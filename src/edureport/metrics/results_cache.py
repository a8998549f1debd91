"""The banner's and every township's results for one data set and date, computed once and shared.

Township reports print ranks among all townships, section reports chart every township, the review
tabulates them, and the build's incremental keys digest them. Computing them inside each report made
the time per report grow with the number of townships (600 townships × 76 indicators per report).
Instead the first user (normally the build, before any notebook starts) computes them and stores one
Parquet table beside the data cache, keyed by data fingerprint, as-of date and code fingerprint; every
report then reads that table, whose size does not depend on how many rows the data has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
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


def results_file(data: DataSet, as_of: dt.date) -> Path | None:
    """Where the shared table lives; None when the data set has no fingerprint (not cacheable)."""
    if not data.fingerprint:
        return None
    return cache_dir() / data.fingerprint / f"results-{as_of.isoformat()}-{cachefile.code_fingerprint()[:16]}.parquet"


def shared_table(data: DataSet, as_of: dt.date, whole: Callable[[], DataSet] | None = None,
                 allow_outside_year: bool = False) -> pd.DataFrame:
    """One row per place and indicator (banner first, then townships in registry order).

    ``data`` may be a report's subset (same fingerprint as the whole); ``whole`` then loads every row,
    which only happens when the table is not cached yet. Reports compare townships column-wise on this
    frame: making 46,000 result objects for 600 townships cost 0.12 s per report.
    """
    path = results_file(data, as_of)
    if path is not None:
        payload = cachefile.read(path)  # verified: a damaged table is computed again (one warning line)
        if payload is not None:
            try:
                frame = pd.read_parquet(io.BytesIO(payload))
                if set(FIELDS) <= set(frame.columns):
                    return frame
            except (OSError, ValueError):
                pass
    if data.is_subset:
        if whole is None:
            raise ValueError("shared_table: a subset needs ``whole`` to compute the shared results")
        data = whole()
    out = [*compute(data, as_of, allow_outside_year=allow_outside_year)]
    for town in data.townships["township"].astype(str):
        out += compute(data, as_of, "township", town, allow_outside_year=allow_outside_year)
    frame = _frame(out)
    if path is not None:
        with contextlib.suppress(OSError):  # an unwritable cache costs time, not the result
            cachefile.write(path, frame.to_parquet(index=False))
    return frame


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
