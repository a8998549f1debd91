"""Each report's headline for the manifest: how many of the indicators it covers stand at each status.

Delivery puts it in the messages leaders receive (“指标 40 项：达标 12 项，进展正常 20 项……”) without
opening the report or computing anything again. The figures come from the shared results table the build
has already computed (``metrics.results_cache``); which place and section a report covers, its kind says
(``ReportKind.place`` and ``subset``: the same scope the report reads), so nothing here knows a kind by name.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from edureport.core.status import STATUS_ORDER
from edureport.data.store import DataSet
from edureport.metrics.results_cache import BANNER, place_rows, school_table, shared_table
from edureport.report.catalog import Job, get_report_kind


def status_counts(data: DataSet, as_of: dt.date, jobs: list[Job],
                  allow_outside_year: bool = False) -> dict[str, dict[str, int]]:
    """{job key: {status word: number of indicators}} in ``STATUS_ORDER`` (every status present, 0 included)."""
    if not jobs:
        return {}
    frame = shared_table(data, as_of, allow_outside_year=allow_outside_year)
    places: dict[tuple[str, str], pd.DataFrame] = {}  # one mask per place, not per report (600 township reports)
    schools: dict[str, pd.DataFrame] | None = None  # read when the first school report asks
    out = {}
    for job in jobs:
        kind = get_report_kind(job.kind)
        scope = kind.subset(**job.parameters)
        level, entity = kind.place(**job.parameters)
        if (level, entity) not in places:
            if level == "school":  # every school's rows grouped once, not one mask per school report
                if schools is None:
                    table = school_table(data, as_of, allow_outside_year=allow_outside_year)
                    schools = {str(k): g for k, g in table.groupby("entity", sort=False)}
                places[level, entity] = schools.get(entity, frame.iloc[0:0])
            else:
                places[level, entity] = place_rows(frame, BANNER if level == "banner" else entity)
        rows = places[level, entity]
        if scope.get("section") is not None:
            rows = rows[rows["section"].astype(str) == str(scope["section"])]
        counts = rows["status"].value_counts()
        out[job.key] = {s.value: int(counts.get(s.value, 0)) for s in STATUS_ORDER}
    return out
