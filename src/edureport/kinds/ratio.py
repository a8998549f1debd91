"""Ratio of two counts (党员教师占比 = 党员教师数 / 教师总数), aggregated as Σ分子 / Σ分母."""

from __future__ import annotations

from typing import Any

from ..status import Outcome
from . import register
from .base import IndicatorKind, Scope, compare, latest_per_entity, lower_is_better, ratio_of


class RatioKind(IndicatorKind):
    name = "ratio"
    label = "比例"
    defaults = {"unit": "%", "comparison": ">=", "aggregate": "sum_ratio", "over_time": "latest"}
    aggregates = ("sum_ratio",)

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        for key, label in (("numerator", "分子"), ("denominator", "分母")):
            if not fields.get(key):
                out.append((key, f"比例类指标须写明{label}名称（{key}）"))
        if fields.get("level") == "banner":
            out.append(("level", "比例类指标应在学校或苏木镇层级采集，以便按分子分母汇总"))
        return out

    def target_problem(self, target: float, fields: dict[str, Any]) -> str | None:
        """A ratio is computed in percent (Σ分子 / Σ分母 × 100), so its target is a percentage: 40 is 40%."""
        if not 0 <= target <= 100:
            return "比例类指标的目标是百分数，应在 0～100 之间（如 40 表示 40%）"
        if (fields.get("comparison"), target) in ((">", 100), ("<", 0)):
            return "目标不可能达到：比例在 0～100% 之间"
        return None

    def compute(self, scope: Scope) -> Outcome | None:
        ind = scope.indicator
        if not scope.applicable:
            return None
        if scope.obs.empty:
            return Outcome(actual=None, target=ind.target, has_data=False, detail="暂无上报数据")
        actual, num, den = ratio_of(latest_per_entity(scope.obs))
        if actual is None:
            return Outcome(actual=None, target=ind.target, has_data=False, detail="分母合计为0")
        first = scope.obs[scope.obs["period"] == scope.obs["period"].min()]
        start, _, _ = ratio_of(latest_per_entity(first))
        start = actual if start is None else start
        target = float(ind.target)  # type: ignore[arg-type]
        expected = start + (target - start) * scope.elapsed
        met = compare(actual, ind.comparison, target)
        low = lower_is_better(ind.comparison)
        on_track = actual <= expected + 1e-9 if low else actual >= expected - 1e-9
        if low:
            progress = 1.0 if met else (target / actual if actual > 0 else 0.0)
        else:
            progress = min(1.0, actual / target) if target > 0 else (1.0 if met else 0.0)
        return Outcome(actual=actual, target=target, met=met, on_track=on_track, expected=expected,
                       progress=progress, detail=f"{num:,.0f}/{den:,.0f}")


register(RatioKind())
