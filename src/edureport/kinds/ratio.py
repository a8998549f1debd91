"""Ratio of two counts (党员教师占比 = 党员教师数 / 教师总数), aggregated as Σ分子 / Σ分母."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edureport.core.figures import fmt_num
from edureport.core.status import Outcome, Status, month_end, straight_line
from edureport.kinds.base import (
    CellRule,
    IndicatorKind,
    Scope,
    compare,
    latest_per_entity,
    lower_is_better,
    ratio_of,
    same_places,
)
from edureport.kinds.registry import register

if TYPE_CHECKING:
    from edureport.plan.model import Indicator

# Numerator and denominator cells of the Excel form (shared with trend).
RATIO_RULE = CellRule("decimal", "0", "请填写不小于0的数字；分子不能大于分母", "greaterThanOrEqual",
                      "分子、分母都填人数或个数；分子不能大于分母")

D, ON, L, M = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
_UP = {D: "{place}{name}{actual}（{detail}），{relation}，已达标。",
       ON: "{place}{name}{actual}（{detail}），{relation}，按时间进度应达到{expected}，进展正常。",
       L: "{place}{name}{actual}（{detail}），{relation}，按时间进度应达到{expected}，进度滞后。",
       M: "{place}{name}{actual}（{detail}），{relation}，差{gap}，未完成年度目标。"}
_DOWN = {D: "{place}{name}{actual}（{detail}），{relation}，已达标。",
         ON: "{place}{name}{actual}（{detail}），{relation}，按时间进度应不高于{expected}，进展正常。",
         L: "{place}{name}{actual}（{detail}），{relation}，按时间进度应不高于{expected}，进度滞后。",
         M: "{place}{name}{actual}（{detail}），{relation}，超出{gap}，未完成年度目标。"}

# The sentence per (comparison, status[, side]): see kinds/wording.py for {relation}. An exact target
# ("==") above the figure reads like "≥", below it like "≤".
SENTENCES: dict[tuple, str] = {
    **{(op, s): t for op in (">=", ">", "==") for s, t in _UP.items()},
    **{(op, s): t for op in ("<=", "<") for s, t in _DOWN.items()},
    # an exact target: where the figure stands and the verdict (a line towards it can come from either side)
    **{("==", s): "{place}{name}{actual}（{detail}），{relation}，{verdict}。" for s in (ON, L, M)},
    **{(op, M, "equal"): "{place}{name}{actual}（{detail}），{relation}，未完成年度目标。"  # no "差0"
       for op in (">", "<")},
}


class RatioKind(IndicatorKind):
    name = "ratio"
    label = "比例"
    sentences = SENTENCES
    defaults = {"unit": "%", "comparison": ">=", "aggregate": "sum_ratio", "over_time": "latest"}
    aggregates = ("sum_ratio",)
    charted = proportion = headline = True
    uses_baseline = True  # optional: the progress line then starts at the baseline year's level
    columns = ("numerator", "denominator")
    cell_rule = RATIO_RULE
    demo_shortfalls = 2

    def form_unit(self, ind: Indicator) -> str:
        return f"分子：{ind.numerator}；分母：{ind.denominator}"

    def demo_rows(self, ind: Indicator, demo: Any, behind: bool) -> tuple[pd.DataFrame, None]:
        ents = demo.entities(ind)
        rng = demo.rng(ind.id)
        months = demo.months
        den = demo.denominator(ind, ents, rng).astype(int)
        t = float(ind.target or 0) / 100
        n_e, n_m = len(ents), len(months)
        if ind.comparison in ("<=", "<") or (ind.comparison == "==" and t < 1):
            num = self._demo_down(ind, demo, den, n_m, t, behind)
            return demo.frame(ind, ents, months, numerator=num, denominator=np.repeat(den[:, None], n_m, 1)), None
        if den.max() == 1:  # yes/no per school: each school switches on in some month
            on = rng.integers(0, n_m, n_e)
            if behind:
                on[rng.random(n_e) < 0.25] = n_m + 1
            num = (np.arange(n_m)[None, :] >= on[:, None]).astype(int)
            return demo.frame(ind, ents, months, numerator=num, denominator=np.repeat(den[:, None], n_m, 1)), None
        p0 = t * rng.uniform(0.78, 0.95, n_e)
        p1 = np.full(n_e, 1.0) if t >= 1 else np.minimum(1.0, t * rng.uniform(1.03, 1.18, n_e))
        if behind:
            p1 = t * rng.uniform(0.84, 0.95, n_e)
        path = p0[:, None] + (p1 - p0)[:, None] * np.linspace(0, 1, n_m)[None, :]
        path = np.maximum.accumulate(np.clip(path + rng.normal(0, 0.006, path.shape), 0, 1), axis=1)
        path[:, -1] = np.maximum(path[:, -1], p1) if not behind else path[:, -1]
        num = np.minimum(den[:, None], np.ceil(den[:, None] * path - 1e-9)).astype(int)
        return demo.frame(ind, ents, months, numerator=num, denominator=np.repeat(den[:, None], n_m, 1)), None

    def _demo_down(self, ind: Indicator, demo: Any, den: np.ndarray, n_m: int, t: float,
                   behind: bool) -> np.ndarray:
        """Numerators (units × months) of a rate brought down to a ceiling (大班额比例 ≤ 5%) — from above
        it to below (``behind``: still above at the end) — or to an exact rate, met as closely as whole
        numbers allow."""
        rng = demo.rng(ind.id, "down")
        n_e = len(den)
        exact = ind.comparison == "=="
        if exact:
            p0, p1 = t * rng.uniform(0.8, 0.95, n_e), np.full(n_e, t)
        else:
            top = max(t, 0.02)  # a ceiling of 0 starts from a few
            p0 = np.minimum(1.0, top * rng.uniform(1.15, 1.6, n_e))
            p1 = t * rng.uniform(0.5, 0.9, n_e)
        if behind:
            p1 = np.minimum(1.0, np.maximum(t, 0.01) * rng.uniform(1.1, 1.3, n_e)) if not exact \
                else t * rng.uniform(0.85, 0.95, n_e)
        path = p0[:, None] + (p1 - p0)[:, None] * np.linspace(0, 1, n_m)[None, :]
        path = np.clip(path + rng.normal(0, 0.003, path.shape), 0, 1)
        path[:, -1] = p1
        # Whole numbers per unit, the total per month rounded the safe way (under a ceiling, over it when
        # behind, to the nearest for an exact rate): a class or two each would otherwise round to 0 or to 1.
        whole = np.rint if exact else np.ceil if behind else np.floor
        num = np.zeros((n_e, n_m), dtype=int)
        for m in range(n_m):
            weight = den * path[:, m]
            num[:, m] = self._demo_spread(int(min(den.sum(), whole(weight.sum()))), den, weight)
        return num

    @staticmethod
    def _demo_spread(total: int, den: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``total`` numerators over units of these denominators, in proportion to ``weight``, none above its
        own denominator."""
        share = weight * (total / weight.sum()) if weight.sum() > 0 else np.zeros(len(den))
        out = np.minimum(den, np.floor(share)).astype(int)
        room = np.flatnonzero(out < den)
        order = room[np.argsort(-(share - out)[room], kind="stable")]
        out[order[:max(0, total - int(out.sum()))]] += 1
        return out

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        for key, label in (("numerator", "分子"), ("denominator", "分母")):
            if not fields.get(key):
                out.append((key, f"比例类指标须写明{label}名称（{key}）"))
        if fields.get("level") == "banner":
            out.append(("level", "比例类指标应在学校或{unit}层级采集，以便按分子分母汇总"))
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
        target = float(ind.target)  # type: ignore[arg-type]
        # The progress line: from the baseline year's level at the start of the period where the data have
        # one (baselines.csv, the indicator's baseline_year), else from the first counted month's level at
        # that month's end — so the first month is never behind its own starting point.
        _, base, _ = same_places(latest_per_entity(scope.obs), scope.baselines)
        start = ratio_of(base)[0] if not base.empty else None
        origin = scope.start
        if start is None:
            first = scope.obs["period"].min()
            start = ratio_of(latest_per_entity(scope.obs[scope.obs["period"] == first]))[0]
            start = actual if start is None else start
            origin = month_end(first)
        expected = straight_line(start, target, origin, ind.due, scope.as_of)
        met = compare(actual, ind.comparison, target)
        low = lower_is_better(ind.comparison)
        on_track = actual <= expected + 1e-9 if low else actual >= expected - 1e-9
        if scope.elapsed >= 1:  # on the due date the line is the target: "＞40%" at 40% is not on it
            on_track = met
        progress = None if low else (actual / target if target > 0 else float(met))
        if ind.comparison == "==" and actual > target + 1e-9:
            # Over an exact target: on track only while coming down to it from above
            on_track = start > target and actual <= expected + 1e-9
            progress = None
        return Outcome(actual=actual, target=target, met=met, on_track=on_track, expected=expected,
                       progress=progress, detail=f"{fmt_num(num)}/{fmt_num(den)}")



register(RatioKind())
