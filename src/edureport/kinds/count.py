"""Counts: events held, people trained, incidents (≤ 0). Monthly flows summed, or the latest stock."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..status import Outcome
from . import register
from .base import IndicatorKind, Scope, compare, latest_per_entity, lower_is_better


class CountKind(IndicatorKind):
    name = "count"
    label = "计数"
    defaults = {"unit": "", "comparison": ">=", "aggregate": "sum", "over_time": "cumulative"}
    aggregates = ("sum", "min", "max")

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        if fields.get("aggregate") in ("min", "max") and fields.get("level") == "banner":
            return [("aggregate", "全旗层级的指标只有一个单位，不能取最小/最大值")]
        return []

    def per_entity(self, scope: Scope) -> pd.Series:
        """Each applicable entity's figure; entities that reported nothing count as 0."""
        obs = scope.obs
        if scope.indicator.period_from is not None:
            obs = obs[obs["period"] >= scope.indicator.period_from.strftime("%Y-%m")]
        if scope.indicator.over_time == "latest":
            values = latest_per_entity(obs).set_index("entity")["value"]
        else:
            values = obs.groupby("entity", sort=False, observed=True)["value"].sum()
        return values.reindex(scope.applicable, fill_value=0.0).astype(float)

    def compute(self, scope: Scope) -> Outcome | None:
        ind = scope.indicator
        if not scope.applicable:
            return None
        values = self.per_entity(scope)
        actual = float(getattr(values, ind.aggregate)()) if len(values) else 0.0
        per_entity_target = ind.aggregate in ("min", "max")
        target = float(ind.target) * (1.0 if per_entity_target else scope.share)  # type: ignore[arg-type]
        low = lower_is_better(ind.comparison)
        detail = "" if not scope.obs.empty else "暂无上报数据（按0计）"
        cumulative = ind.over_time == "cumulative"
        if low and cumulative:
            # An incident cannot be undone: over the ceiling is final; under it is only final at the due date.
            ok = compare(actual, ind.comparison, target)
            return Outcome(actual=actual, target=target, met=ok and scope.as_of >= ind.due,
                           irrecoverable=not ok, on_track=ok, progress=1.0 if ok else 0.0, detail=detail)
        expected = target * scope.elapsed
        if target == int(target):
            expected = math.floor(expected + 1e-9)
        met = compare(actual, ind.comparison, target)
        on_track = actual <= expected + 1e-9 if low else actual >= expected - 1e-9
        progress = (min(1.0, actual / target) if target > 0 else float(met)) if not low else float(met)
        return Outcome(actual=actual, target=target, met=met, on_track=on_track, expected=expected,
                       progress=progress, detail=detail)


register(CountKind())
