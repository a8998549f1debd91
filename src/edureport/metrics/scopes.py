"""Each indicator's rows split once by place, so many places and dates reuse one split.

``metrics.compute`` used to filter the whole observation table for every call; a county with 600
townships asks for 600 × 76 (place, indicator) pairs per date, and a report's monthly charts ask for
twelve dates. Splitting once per data set turns each lookup into a dictionary access on a small frame.
The index lives on the ``DataSet`` object it was built from and is discarded with it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from edureport.data.entities import applicable
from edureport.data.store import DataSet
from edureport.plan.model import Indicator


def _groups(frame: pd.DataFrame, key: str) -> dict[str, pd.DataFrame]:
    """Frames by key, rows in period order (a stable sort keeps the input order within a period)."""
    if "period" in frame and not frame["period"].is_monotonic_increasing:
        frame = frame.sort_values("period", kind="stable")
    return {str(k): g for k, g in frame.groupby(key, observed=True, sort=False)}


class ScopeIndex:
    """Observation, baseline and registry rows of one data set, by indicator and place."""

    def __init__(self, data: DataSet) -> None:
        self.data = data
        self._tables = {"obs": _groups(data.observations, "indicator_id"),
                        "base": _groups(data.baselines, "indicator_id")}
        self._empty = {"obs": data.observations.iloc[0:0], "base": data.baselines.iloc[0:0]}
        self._split: dict[tuple[str, str, str], dict[str, pd.DataFrame]] = {}
        self._applicable: dict[tuple, tuple[Any, dict[str, Any], set[str]]] = {}
        self.places = _project_places(data)
        self.township_names = set(data.townships["township"].astype(str))

    def rows(self, table: str, indicator_id: str, level: str, entity: str) -> pd.DataFrame:
        """``table`` ("obs" or "base") rows of one indicator inside one place, all periods."""
        whole = self._tables[table].get(indicator_id)
        if whole is None:
            return self._empty[table]
        if level == "banner":
            return whole
        column = "township" if level == "township" else "entity"
        key = (table, indicator_id, column)
        if key not in self._split:
            self._split[key] = _groups(whole, column)
        return self._split[key].get(entity, self._empty[table])

    def applicable(self, ind: Indicator, level: str, entity: str) -> tuple[list[str], int]:
        """Entity keys the indicator applies to inside the place, and how many banner-wide."""
        # Keyed by the rule, not the indicator: 76 indicators share 13 rules, and each rule scans the
        # whole registry (4,800 schools at 600 townships: 0.18 s per report when keyed by indicator).
        rule = (ind.level, tuple(ind.stages), tuple(ind.entities))
        if rule not in self._applicable:
            ents = applicable(ind, self.data.schools, self.data.townships)
            keys = ents["entity"].to_numpy()
            # Positions per township from pandas' grouping (a Python loop over 4,800 schools × 76
            # indicators cost 0.5 s per report at 600 townships); lists are made only when asked for.
            positions = ents.groupby("township", sort=False).indices
            self._applicable[rule] = (keys, positions, set(keys.tolist()))
        keys, positions, key_set = self._applicable[rule]
        if level == "banner":
            return keys.tolist(), len(keys)
        if level == "township":
            where = positions.get(entity)
            return ([] if where is None else keys[where].tolist()), len(keys)
        return ([entity] if entity in key_set else []), len(keys)

    def project_ids(self, ind: Indicator, level: str, entity: str) -> list[str]:
        return [p for p in ind.projects if level == "banner"
                or (level == "township" and self.places[p][0] == entity)
                or (level == "school" and self.places[p][1] == entity)]


def scope_index(data: DataSet) -> ScopeIndex:
    """The data set's index, built on first use."""
    return data.memo("scope_index", lambda: ScopeIndex(data))


def _project_places(data: DataSet) -> dict[str, tuple[str, str]]:
    """Project id → (township, school id), from the plan's school names and the registry."""
    by_name = data.schools.drop_duplicates("name").set_index("name")
    out = {}
    for p in data.plan.projects:
        if p.school and p.school in by_name.index:
            out[p.id] = (str(by_name.loc[p.school, "township"]), str(by_name.loc[p.school, "school_id"]))
        else:
            out[p.id] = (p.township, "")
    return out
