"""Milestones done by a date (清单印发, 推普周, 双普验收). A row with value 1 says "done in this month"."""

from __future__ import annotations

from typing import Any

from ..plan import Indicator
from ..status import Outcome
from . import register
from .base import IndicatorKind, Scope


class MilestoneKind(IndicatorKind):
    name = "milestone"
    label = "节点"
    defaults = {"unit": "", "comparison": "==", "aggregate": "all", "over_time": "latest"}
    comparisons = ("==",)
    aggregates = ("all", "any")
    needs_target = False

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
        met = len(done) >= total if scope.indicator.aggregate == "all" else len(done) > 0
        if met:
            last = done.max() if scope.indicator.aggregate == "all" else done.min()
            late = "（逾期）" if last > scope.indicator.due.strftime("%Y-%m") else ""
            detail = f"{int(last[:4])}年{int(last[5:])}月完成{late}"
        else:
            detail = f"{len(done)}/{total}个单位已完成" if total > 1 else "尚未完成"
        return Outcome(actual=float(len(done)), target=float(total), met=met, on_track=True,
                       progress=len(done) / total, detail=detail)


register(MilestoneKind())
