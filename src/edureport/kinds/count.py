"""Counts: events held, people trained, incidents (≤ 0). Monthly flows summed, or the latest stock."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from edureport.core.status import Outcome, Status, month_end, straight_line
from edureport.kinds.base import IndicatorKind, Scope, compare, latest_per_entity, lower_is_better
from edureport.kinds.registry import register

if TYPE_CHECKING:
    from edureport.plan.model import Indicator

D, ON, L, M = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
_UP = {D: "{place}{name}{actual}{note}，{relation}，已达标。",
       ON: "{place}{name}{actual}{note}，{relation}，按时间进度应达到{expected}，进展正常。",
       L: "{place}{name}{actual}{note}，{relation}，按时间进度应达到{expected}，进度滞后。",
       M: "{place}{name}{actual}{note}，{relation}，未完成年度目标。"}
_DOWN = {D: "{place}{name}{actual}{note}，{relation}，已达标。",
         ON: "{place}{name}{actual}{note}，{relation}，完成时限为{due}，进展正常。",  # a running total under its ceiling
         (ON, "above"): "{place}{name}{actual}{note}，{relation}，按时间进度应不高于{expected}，进展正常。",  # a stock
         L: "{place}{name}{actual}{note}，{relation}，按时间进度应不高于{expected}，进度滞后。",  # a stock
         M: "{place}{name}{actual}{note}，{relation}，未完成年度目标。"}
_OVER_EXACT = {L: "{place}{name}{actual}{note}，{relation}，进度滞后。", M: "{place}{name}{actual}{note}，{relation}，未完成年度目标。"}

# The sentence per (comparison, status[, side]): see kinds/wording.py for {relation}.
SENTENCES: dict[tuple, str] = {
    **{(op, s): t for op in (">=", ">", "==") for s, t in _UP.items()},
    **{("==", s, "above"): t for s, t in _OVER_EXACT.items()},
    **{(op, *(k if isinstance(k, tuple) else (k,))): t for op in ("<=", "<") for k, t in _DOWN.items()},
    **{(op, M, "equal"): "{place}{name}{actual}{note}，{relation}，未完成年度目标。" for op in (">", "<")},
}


class CountKind(IndicatorKind):
    name = "count"
    label = "计数"
    sentences = SENTENCES
    defaults = {"unit": "", "comparison": ">=", "aggregate": "sum", "over_time": "cumulative"}
    aggregates = ("sum", "min", "max")
    charted = True
    demo_shortfalls = 3
    form_help = "在“数值”中填写本月发生数（如开展活动的次数、培训人次）"
    EVENT_UNITS: ClassVar[frozenset[str]] = frozenset({"次", "场"})  # counts of events: they leave activity records

    def demo_can_fall_behind(self, ind: Indicator) -> bool:
        return ind.comparison != "<="

    def demo_events(self, ind: Indicator) -> bool:
        return ind.unit in self.EVENT_UNITS and ind.level != "school" and ind.comparison == ">="

    def demo_numbered_events(self, ind: Indicator) -> bool:
        return ind.level == "banner"

    def demo_rows(self, ind: Indicator, demo: Any, behind: bool) -> tuple[pd.DataFrame, None]:
        ents = demo.entities(ind)
        rng = demo.rng(ind.id)
        window = demo.window(ind)
        n_e, n_m = len(ents), len(window)
        target = float(ind.target or 0)
        # the least whole figure that meets the target: ≥2.5 needs 3, ＞5 needs 6, ＝3 is 3
        need = {">=": math.ceil(target - 1e-9), ">": math.floor(target + 1e-9) + 1}.get(ind.comparison, int(target))
        if ind.comparison in ("<=", "<") and behind:  # incidents over the ceiling
            return demo.frame(ind, ents, window, value=self._demo_over(ind, demo, ents, n_m, target)), None
        if ind.comparison in ("<=", "<"):
            return demo.frame(ind, ents, window, value=np.zeros((n_e, n_m), dtype=int)), None
        if ind.over_time == "latest" and ind.level != "banner":  # a stock at every township or school
            return demo.frame(ind, ents, window, value=self._demo_stocks(ind, demo, ents, n_m, need, behind)), None
        if ind.over_time == "latest":  # a stock that grows to its level in steps
            final = need - (rng.integers(1, 3) if behind else 0)
            steps = np.sort(rng.integers(0, n_m, max(final, 0)))
            stock = np.searchsorted(steps, np.arange(n_m), side="right")
            return demo.frame(ind, ents, window, value=np.tile(stock, (n_e, 1))), None
        if ind.aggregate in ("min", "max"):  # every entity needs its own target
            per = np.full(n_e, math.ceil(target)) + rng.poisson(0.4, n_e)
            per = np.full(n_e, need) if ind.comparison == "==" else np.maximum(per, need)
            if behind:
                per[rng.random(n_e) < 0.12] = 0
                if ind.aggregate == "max":  # the largest falls short, not just a few
                    per = np.minimum(per, max(need - 1, 0))
            value = np.zeros((n_e, n_m), dtype=int)
            for e in range(n_e):
                np.add.at(value[e], rng.integers(0, n_m, per[e]), 1)
            return demo.frame(ind, ents, window, value=value), None
        total = math.floor(target * rng.uniform(0.6, 0.85)) if behind else math.ceil(target * rng.uniform(1.05, 1.25))
        if not behind:  # a "＞" target is passed, an exact one hit
            total = need if ind.comparison == "==" else max(total, need)
        weights = np.array([demo.month_weight(m) for m in window])
        cell = np.outer(np.ones(n_e), weights).reshape(-1)
        value = rng.multinomial(total, cell / cell.sum()).reshape(n_e, n_m)
        return demo.frame(ind, ents, window, value=value), None

    def _demo_over(self, ind: Indicator, demo: Any, ents: pd.DataFrame, n_m: int, target: float) -> np.ndarray:
        """Counts (units × months) that break a ceiling: the county's total (sum), one unit's (max) or every
        unit's (min); a stock (latest) keeps what it has counted."""
        rng = demo.rng(ind.id, "over")
        n_e = len(ents)
        over = (math.floor(target + 1e-9) + 1 if ind.comparison == "<=" else math.ceil(target - 1e-9)) \
            + int(rng.integers(0, 2))
        who = {"min": np.arange(n_e), "max": rng.integers(0, n_e, 1)}.get(ind.aggregate)
        value = np.zeros((n_e, n_m), dtype=int)
        if who is None:  # sum: anywhere
            np.add.at(value, (rng.integers(0, n_e, over), rng.integers(0, n_m, over)), 1)
        else:
            for e in who:
                np.add.at(value[e], rng.integers(0, n_m, over), 1)
        return np.cumsum(value, axis=1) if ind.over_time == "latest" else value

    def _demo_stocks(self, ind: Indicator, demo: Any, ents: pd.DataFrame, n_m: int, need: int,
                     behind: bool) -> np.ndarray:
        """Every unit's stock by month (units × months), growing to its own final level: for a sum the
        levels add up to the target (646 schools and a target of 30: most hold none); for min/max each
        unit's own level meets it. About half of each is there from the first month."""
        n_e = len(ents)
        rng = demo.rng(ind.id, "stock")
        if ind.aggregate == "sum":
            total = math.floor(need * rng.uniform(0.6, 0.85)) if behind else need
            per = demo.shares(ind, ents, total, rng)
        else:
            per = np.full(n_e, need) + (rng.poisson(0.4, n_e) if ind.comparison != "==" else 0)
            if behind:
                short = rng.random(n_e) < 0.12 if ind.aggregate == "min" else np.ones(n_e, dtype=bool)
                per[short] = rng.integers(0, max(need, 1), int(short.sum()))
        owner = np.repeat(np.arange(n_e), per)
        arrives = np.maximum(0, rng.integers(-n_m, n_m, len(owner)))
        value = np.zeros((n_e, n_m), dtype=int)
        np.add.at(value, (owner, arrives), 1)
        return np.cumsum(value, axis=1)

    def shares_target(self, ind: Indicator) -> bool:
        # Only a total to reach is shared among places; a ceiling, an exact target and a per-unit target
        # (min/max) are the same at every level.
        return ind.aggregate == "sum" and ind.comparison in (">=", ">")

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        if fields.get("aggregate") in ("min", "max") and fields.get("level") == "banner":
            return [("aggregate", "{whole}层级的指标只有一个单位，不能取最小/最大值")]
        return []

    def per_entity(self, obs: pd.DataFrame, scope: Scope) -> pd.Series:
        """Each applicable entity's figure; entities that reported nothing count as 0."""
        if scope.indicator.over_time == "latest":
            values = latest_per_entity(obs).set_index("entity")["value"]
        else:
            values = obs.groupby("entity", sort=False, observed=True)["value"].sum()
        return values.reindex(scope.applicable, fill_value=0.0).astype(float)

    def total(self, obs: pd.DataFrame, scope: Scope) -> float:
        values = self.per_entity(obs, scope)
        return float(getattr(values, scope.indicator.aggregate)()) if len(values) else 0.0

    def compute(self, scope: Scope) -> Outcome | None:
        ind = scope.indicator
        if not scope.applicable:
            return None
        obs = scope.obs
        if ind.period_from is not None:
            obs = obs[obs["period"] >= ind.period_from.strftime("%Y-%m")]
        cumulative = ind.over_time == "cumulative"
        if ind.comparison == "==" and ind.aggregate == "sum" and scope.level != "banner":
            return None  # an exact county total says nothing about one township's or school's share
        target = float(ind.target) * (scope.share if self.shares_target(ind) else 1.0)  # type: ignore[arg-type]
        if not cumulative and obs.empty:
            # A stock nobody reported is unknown, not 0: "0个，控制在5个以内，已达标" would be invented.
            return Outcome(actual=None, target=target, has_data=False, detail="暂无上报数据")
        actual = self.total(obs, scope)
        met = compare(actual, ind.comparison, target)
        detail = "" if not obs.empty else "暂无上报数据（按0计）"
        silent = len(set(scope.applicable) - set(obs["entity"])) if not cumulative else 0
        if silent:
            detail = f"{len(scope.applicable)}个单位中{silent}个未报送"
            # under a ceiling is only known when every unit has reported its stock
            met = met and not lower_is_better(ind.comparison)
        first = obs["period"].min() if not obs.empty else None
        if lower_is_better(ind.comparison):
            if cumulative:
                # An incident cannot be undone: over the ceiling is final; under it is only final at the due date.
                return Outcome(actual=actual, target=target, met=met and scope.as_of >= ind.due,
                               irrecoverable=not met, on_track=met, progress=None, detail=detail)
            # A stock to bring down: a straight line from its first counted level to the ceiling.
            start = self.total(obs[obs["period"] == first], scope)
            expected = straight_line(start, target, month_end(first), ind.due, scope.as_of)
            on_track = met if scope.elapsed >= 1 else actual <= expected + 1e-9  # on the due date: met or not
            return Outcome(actual=actual, target=target, met=met, on_track=on_track,
                           expected=expected, progress=None, detail=detail)
        if ind.comparison == "==" and actual > target + 1e-9:
            # Above an exact target: a running total cannot come down again, a stock can.
            return Outcome(actual=actual, target=target, met=False, irrecoverable=cumulative, on_track=False,
                           progress=None, detail=detail)
        # Things counted are whole: the line runs to the least whole number that meets the target (⌈1.8⌉ = 2
        # for a share of 24 inspections among 13 schools; 6 for "＞5") and is floored: ⌊need × time progress⌋.
        need = {">=": math.ceil(target - 1e-9), ">": math.floor(target + 1e-9) + 1}.get(ind.comparison, target)
        if cumulative:
            expected = float(math.floor(need * scope.elapsed + 1e-9))
        else:  # a stock to build up: from its first counted level, like a ratio
            start = self.total(obs[obs["period"] == first], scope)
            expected = float(math.floor(straight_line(start, need, month_end(first), ind.due, scope.as_of) + 1e-9))
        progress = actual / target if target > 0 else float(met)
        return Outcome(actual=actual, target=target, met=met, on_track=actual >= expected - 1e-9,
                       expected=expected, progress=progress, detail=detail)



register(CountKind())
