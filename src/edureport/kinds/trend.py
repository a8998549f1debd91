"""Year-on-year trends (近视率逐年下降): this year's ratio against the baseline year's, same places."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edureport.core.figures import fmt_gap, fmt_num, fmt_vs, shown_vs
from edureport.core.status import Outcome, Status
from edureport.kinds.base import IndicatorKind, Scope, compare, latest_per_entity, ratio_of, same_places
from edureport.kinds.ratio import RATIO_RULE
from edureport.kinds.registry import register
from edureport.kinds.wording import Result, fields, no_data, side

if TYPE_CHECKING:
    from edureport.plan.model import Indicator

D, L, M = Status.DONE, Status.LAGGING, Status.MISSED
# The sentence per (comparison, status); {move} is the true change against the baseline year (下降0.4个
# 百分点 / 上升… / 持平). A trend is met or not: there is no progress line, so no 进展正常.
_ANY = "{place}{name}{actual}，比{base_year}（{base}）{move}，目标为{target_short}，{verdict}。"
SENTENCES = {(op, s): _ANY for op in ("<baseline", ">baseline") for s in (D, L, M)}


class TrendKind(IndicatorKind):
    name = "trend"
    label = "同比趋势"
    defaults = {"unit": "%", "comparison": "<baseline", "aggregate": "sum_ratio", "over_time": "latest"}
    comparisons = ("<baseline", ">baseline")
    aggregates = ("sum_ratio",)
    needs_target = False
    uses_baseline = True
    charted = proportion = headline = baseline_is_reference = True
    columns = ("numerator", "denominator")
    cell_rule = RATIO_RULE
    demo_shortfalls = 1

    def form_unit(self, ind: Indicator) -> str:
        return f"分子：{ind.numerator}；分母：{ind.denominator}"

    def scope_target_text(self, ind: Indicator, outcome: Outcome, level: str) -> str:
        if outcome.baseline is None:
            return super().scope_target_text(ind, outcome, level)
        return f"{ind.target_text}（{baseline_text(outcome.baseline, outcome.actual, ind.unit)}）"

    def demo_rows(self, ind: Indicator, demo: Any, behind: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Quarterly figures drifting from the baseline year's level, and that level (baselines.csv)."""
        ents = demo.entities(ind)
        rng = demo.rng(ind.id)
        den = demo.denominator(ind, ents, rng).astype(int)
        n_e = len(ents)
        sign = -1 if ind.comparison == "<baseline" else 1
        base = rng.uniform(0.25, 0.6, n_e)
        change = rng.uniform(0.004, 0.03, n_e) * (-sign if behind else sign)
        quarters = [m for m in demo.months if int(m[5:]) % 3 == 0]
        steps = np.linspace(0.4, 1.0, len(quarters))[None, :]
        path = np.clip(base[:, None] + change[:, None] * steps, 0, 1)
        num = np.round(den[:, None] * path).astype(int)
        obs = demo.frame(ind, ents, quarters, numerator=num, denominator=np.repeat(den[:, None], len(quarters), 1))
        b = demo.frame(ind, ents, [str(ind.baseline_year)], numerator=np.round(den * base).astype(int),
                       denominator=den)
        return obs, b.rename(columns={"period": "year"})

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
        now, base, left_out = same_places(latest_per_entity(scope.obs), scope.baselines)
        baseline = ratio_of(base)[0] if not base.empty else None
        current = ratio_of(now)[0] if not now.empty else None
        if current is None or baseline is None:
            year = scope.indicator.baseline_year
            if not scope.obs.empty and not scope.baselines.empty:
                why = f"本年与{year}年没有共同报送的单位，无法比较"
            else:
                why = "缺少本年数据" if scope.obs.empty else f"缺少{year}年基期数据"
            whole = ratio_of(scope.baselines)[0] if not scope.baselines.empty else None  # shown beside the target
            return Outcome(actual=None, target=whole, baseline=whole, has_data=False, detail=why)
        met = compare(current, scope.indicator.comparison, baseline)
        note = f"；只比较两年都有数据的单位，另有{left_out}个单位未计入" if left_out else ""
        shown = baseline_text(baseline, current, scope.indicator.unit)
        return Outcome(actual=current, target=baseline, baseline=baseline, met=met, on_track=met,
                       progress=None, detail=f"{scope.indicator.baseline_year}年{shown}{note}")

    def progress_text(self, r: Result) -> str:
        """The change against the baseline year instead of a 0%-or-100% bar."""
        return _move(r) if r.actual is not None and r.baseline is not None else "—"

    def sentence(self, r: Result, place: str) -> str:
        if r.status is Status.NO_DATA or r.actual is None or r.baseline is None:
            return no_data(r, place)
        f = fields(r, place, self)
        year = re.search(r"(\d{4})年", r.target_text)
        base_year = "上年" if year is None or int(year[1]) == r.due.year - 1 else f"{year[1]}年"
        return SENTENCES[(r.comparison, r.status)].format(base=f["target"], move=_move(r), base_year=base_year,
                                                          target_short=r.target_text.split("（")[0], **f)

    def printed_target(self, r: Result) -> str:
        return baseline_text(r.baseline, r.actual, r.unit)


def baseline_text(baseline: float | None, actual: float | None, unit: str) -> str:
    """The baseline year's level, printed with as many decimals as it and this year's figure need to
    differ (12.26% and 12.34%, never 12.3% twice): the change between the printed figures then adds up."""
    if baseline is None or actual is None:
        return fmt_num(baseline, unit)
    return fmt_vs(baseline, actual, unit=unit, decimals=_decimals(baseline, actual, unit))


def _decimals(baseline: float, actual: float, unit: str) -> int:
    """The fewest decimals (at least the usual) at which the two printed figures stand as the true ones do."""
    start = max(shown_vs(baseline, actual, unit=unit)[1], shown_vs(actual, baseline, unit=unit)[1])
    for d in range(start, 13):
        if side(round(actual, d), round(baseline, d)) == side(actual, baseline):
            return d
    return 12


def _move(r: Result) -> str:
    where = side(r.actual, r.baseline)  # type: ignore[arg-type]
    if where == "equal":
        return "持平"
    # the true change, never printed as 0 (fmt_gap): 0.04 is "上升0.04个百分点", not "上升0.0个百分点"
    d = _decimals(r.baseline, r.actual, r.unit)  # type: ignore[arg-type]
    return f"{'上升' if where == 'above' else '下降'}{fmt_gap(r.actual - r.baseline, r.unit, d)}"  # type: ignore[operator]


register(TrendKind())
