"""Year-on-year trends (近视率逐年下降): this year's ratio against the baseline year's, same places."""

from __future__ import annotations

from typing import Any

from ..plan import Indicator
from ..status import Outcome
from . import register
from .base import IndicatorKind, Scope, compare, latest_per_entity, ratio_of


class TrendKind(IndicatorKind):
    name = "trend"
    label = "同比趋势"
    defaults = {"unit": "%", "comparison": "<baseline", "aggregate": "sum_ratio", "over_time": "latest"}
    comparisons = ("<baseline", ">baseline")
    aggregates = ("sum_ratio",)
    needs_target = False

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        if not isinstance(fields.get("baseline_year"), int):
            out.append(("baseline_year", "同比趋势类指标须写明基期年份（baseline_year）"))
        for key in ("numerator", "denominator"):
            if not fields.get(key):
                out.append((key, f"同比趋势类指标须写明{'分子' if key == 'numerator' else '分母'}名称"))
        if "target" in fields:
            out.append(("target", "同比趋势类指标以基期数值为目标，不应另设 target"))
        return out

    def target_text(self, ind: Indicator) -> str:
        word = "低于" if ind.comparison == "<baseline" else "高于"
        return f"{word}{ind.baseline_year}年"

    def compute(self, scope: Scope) -> Outcome | None:
        if not scope.applicable:
            return None
        base = scope.baselines
        baseline = ratio_of(base)[0] if not base.empty else None
        current = ratio_of(latest_per_entity(scope.obs))[0] if not scope.obs.empty else None
        if current is None or baseline is None:
            missing = "本年数据" if current is None else f"{scope.indicator.baseline_year}年基期数据"
            return Outcome(actual=current, target=baseline, baseline=baseline, has_data=False,
                           detail=f"缺少{missing}")
        met = compare(current, scope.indicator.comparison, baseline)
        change = current - baseline
        return Outcome(actual=current, target=baseline, baseline=baseline, met=met, on_track=met,
                       progress=1.0 if met else 0.0,
                       detail=f"{scope.indicator.baseline_year}年{baseline:.1f}%，变化{change:+.1f}个百分点")


register(TrendKind())
