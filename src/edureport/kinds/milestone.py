"""Milestones done by a date (清单印发, 推普周, 双普验收). A row with value 1 says "done in this month"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edureport.core.status import Outcome, Status
from edureport.kinds.base import CellRule, IndicatorKind, Scope
from edureport.kinds.registry import register
from edureport.kinds.wording import Result, fields, no_data

if TYPE_CHECKING:
    from edureport.plan.model import Indicator

D, ON, L, M = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
# The sentence per (status, overdue): overdue is "the due date has passed" on the day the figures count to.
SENTENCES = {
    (D, False): "{where}{name}：{detail}。", (D, True): "{where}{name}：{detail}。",
    (ON, False): "{where}{name}：{detail}，完成时限为{due}，进展正常。",
    (L, True): "{where}{name}：{detail}，已超过{due}的完成时限，进度滞后。",
    (M, True): "{where}{name}：{detail}，已超过{due}的完成时限，未完成年度目标。",
    (M, False): "{where}{name}：{detail}，完成时限为{due}，年度结束时仍未完成，未完成年度目标。",
}


class MilestoneKind(IndicatorKind):
    name = "milestone"
    label = "节点"
    defaults = {"unit": "", "comparison": "==", "aggregate": "all", "over_time": "latest"}
    comparisons = ("==",)
    aggregates = ("all", "any")
    needs_target = False
    flag_value = True
    cell_rule = CellRule("list", '"1,0"', "节点类指标只能填 1（已完成）或 0（未完成）")
    demo_shortfalls = 2
    form_help = "完成的月份填 1，未完成填 0"

    def form_unit(self, ind: Indicator) -> str:
        return "1=已完成，0=未完成"

    def demo_events(self, ind: Indicator) -> bool:
        return True

    def demo_rows(self, ind: Indicator, demo: Any, behind: bool) -> tuple[pd.DataFrame, None]:
        """Monthly 0 (not yet) until the month it is done (1); a missed one stays 0 all year."""
        months = demo.months
        ents = demo.entities(ind)
        rng = demo.rng(ind.id)
        window = demo.window(ind)
        lo = months.index(window[0])
        done_at = lo + rng.integers(max(0, len(window) - 6), len(window), len(ents))
        if behind:
            done_at[rng.integers(0, len(ents))] = len(months)
        value = (np.arange(len(months))[None, :] >= done_at[:, None]).astype(int)
        frame = demo.frame(ind, ents, months, value=value)
        keep = (np.arange(len(months))[None, :] <= np.minimum(done_at, len(months) - 1)[:, None]).reshape(-1)
        return frame[keep & (np.tile(np.arange(len(months)), len(ents)) >= lo)].reset_index(drop=True), None

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        if "target" in fields and fields["target"] != 1:
            return [("target", "节点类指标以“完成”为目标，无需数值目标")]
        return []

    def target_text(self, ind: Indicator) -> str:
        return f"{ind.due.month}月{ind.due.day}日前完成"

    def compute(self, scope: Scope) -> Outcome | None:
        if not scope.applicable:
            return None
        done_rows = scope.obs[scope.obs["value"] >= 1]
        done = done_rows.groupby("entity", observed=True)["period"].min()
        done = done[done.index.isin(scope.applicable)]
        total = len(scope.applicable)
        every = scope.indicator.aggregate == "all"
        met = len(done) >= total if every else len(done) > 0
        if met:
            last = done.max() if every else done.min()
            late = "（逾期）" if last > scope.indicator.due.strftime("%Y-%m") else ""
            detail = f"{int(last[:4])}年{int(last[5:])}月完成{late}"
            if not every and total > 1:
                detail += f"（{total}个单位中{len(done)}个已完成，任一完成即达标）"
        elif every:
            detail = f"{len(done)}/{total}个单位已完成" if total > 1 else "尚未完成"
        else:
            detail = f"{total}个单位均未完成" if total > 1 else "尚未完成"
        # "any": one unit done is the whole target, so the share is all or nothing
        progress = len(done) / total if every else float(met)
        return Outcome(actual=float(len(done)), target=float(total if every else 1), met=met, on_track=True,
                       progress=progress, detail=detail)

    def actual_text(self, r: Result) -> str:
        if r.aggregate == "any" or r.target == 1:
            return "已完成" if r.status is Status.DONE else "未完成"
        return f"{r.actual or 0:g}/{r.target:g}个单位完成"

    def sentence(self, r: Result, place: str) -> str:
        if r.status is Status.NO_DATA:
            return no_data(r, place)
        return SENTENCES[(r.status, r.overdue)].format(**fields(r, place, self))


register(MilestoneKind())
