"""Year-on-year trends (近视率逐年下降): this year's ratio against the baseline year's, same places."""

from __future__ import annotations

from typing import Any

from ..figures import fmt_gap, fmt_num
from ..plan import Indicator
from ..status import Outcome, Status
from . import register
from .base import IndicatorKind, Scope, compare, latest_per_entity, ratio_of
from .wording import Result, fields, no_data, side

D, L, M = Status.DONE, Status.LAGGING, Status.MISSED
# The sentence per (comparison, status); {move} is the true change against the baseline year (下降0.4个
# 百分点 / 上升… / 持平). A trend is met or not: there is no progress line, so no 进展正常.
_ANY = "{place}{name}{actual}，比上年（{base}）{move}，目标为{target_text}，{verdict}。"
SENTENCES = {(op, s): _ANY for op in ("<baseline", ">baseline") for s in (D, L, M)}


class TrendKind(IndicatorKind):
    name = "trend"
    label = "同比趋势"
    defaults = {"unit": "%", "comparison": "<baseline", "aggregate": "sum_ratio", "over_time": "latest"}
    comparisons = ("<baseline", ">baseline")
    aggregates = ("sum_ratio",)
    needs_target = False
    uses_baseline = True

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
        return Outcome(actual=current, target=baseline, baseline=baseline, met=met, on_track=met,
                       progress=None, detail=f"{scope.indicator.baseline_year}年{fmt_num(baseline, '%')}")

    def progress_text(self, r: Result) -> str:
        """The change against the baseline year instead of a 0%-or-100% bar."""
        return _move(r) if r.actual is not None and r.baseline is not None else "—"

    def sentence(self, r: Result, place: str) -> str:
        if r.status is Status.NO_DATA or r.actual is None or r.baseline is None:
            return no_data(r, place)
        f = fields(r, place)
        return SENTENCES[(r.comparison, r.status)].format(base=fmt_num(r.baseline, r.unit), move=_move(r), **f)


def _move(r: Result) -> str:
    where = side(r.actual, r.baseline)  # type: ignore[arg-type]
    if where == "equal":
        return "持平"
    # the true change, never printed as 0 (fmt_gap): 0.04 is "上升0.04个百分点", not "上升0.0个百分点"
    return f"{'上升' if where == 'above' else '下降'}{fmt_gap(r.actual - r.baseline, r.unit)}"  # type: ignore[operator]


register(TrendKind())
