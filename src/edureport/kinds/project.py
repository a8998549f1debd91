"""Building projects: how many of the listed projects reached the target stage (在建 / 竣工 / 投用).

Data come from the project status table, not from indicator observations. A project is late when
the planned date for its target stage (planned start for 在建, planned finish otherwise) has passed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from edureport.core.projects import RANK, is_late, latest_status
from edureport.core.status import Outcome, Status
from edureport.core.vocabulary import PROJECT_STAGES
from edureport.kinds.base import IndicatorKind, Scope, compare
from edureport.kinds.registry import register
from edureport.kinds.wording import Result, fields, no_data

if TYPE_CHECKING:
    from edureport.plan.model import Indicator

D, ON, L, M = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
# The sentence per status; {detail} says how many projects reached the stage, how many are overdue and
# how far construction is.
SENTENCES = {D: "{where}{name}：{detail}，目标为{target_text}，已达标。",
             ON: "{where}{name}：{detail}，目标为{target_text}，进展正常。",
             L: "{where}{name}：{detail}，目标为{target_text}，进度滞后。",
             M: "{where}{name}：{detail}，目标为{target_text}，未完成年度目标。"}


def project_progress(row: pd.Series | None, target_stage: str) -> float:
    if row is None:
        return 0.0
    if RANK[row["stage"]] >= RANK[target_stage]:
        return 1.0
    if target_stage == "在建":
        return 0.0
    # Below the stage it is at most 99% done, whatever the form says: "100%" would read as reached.
    return min(0.99, float(row["percent"]) / 100.0) if pd.notna(row["percent"]) else 0.0


class ProjectKind(IndicatorKind):
    name = "project"
    label = "建设项目"
    headline = True
    table = "projects"  # its rows are the 项目进度 table's, one per project and month
    columns = ()

    def shares_target(self, ind: Indicator) -> bool:
        return True  # a township's share of the projects (see compute)
    defaults = {"unit": "个", "comparison": ">=", "aggregate": "sum", "over_time": "latest"}
    comparisons = (">=",)

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        if not fields.get("projects"):
            out.append(("projects", "建设项目类指标须列出项目编号（projects）"))
        if not fields.get("target_stage"):
            out.append(("target_stage", f"须写明目标阶段：{'、'.join(PROJECT_STAGES[1:])}"))
        if fields.get("level") != "banner":
            out.append(("level", "建设项目类指标在{whole}层级设定，按项目所在{unit}自动分解"))
        return out

    def target_problem(self, target: float, fields: dict[str, Any]) -> str | None:
        """The target counts listed projects: a whole number from 1 to how many are listed."""
        listed = len(fields.get("projects") or ())
        if target != int(target) or not 1 <= target <= max(listed, 1):
            return f"建设项目类指标的目标是项目个数，应为 1 至所列项目数（{listed}）之间的整数"
        return None

    def target_text(self, ind: Indicator) -> str:
        verb = {"在建": "开工", "竣工": "竣工", "投用": "竣工投用"}[ind.target_stage]
        return f"{ind.target:g}个项目{verb}"

    def compute(self, scope: Scope) -> Outcome | None:
        ind = scope.indicator
        if not scope.project_ids:
            return None
        latest = latest_status(scope.project_status).set_index("project_id")
        reached, late, progress = 0, 0, []
        for pid in scope.project_ids:
            row = latest.loc[pid] if pid in latest.index else None
            progress.append(project_progress(row, ind.target_stage))
            if row is not None and RANK[row["stage"]] >= RANK[ind.target_stage]:
                reached += 1
                continue
            planned = None
            if row is not None:
                planned = row["planned_start"] if ind.target_stage == "在建" else row["planned_finish"]
            if not (planned is not None and pd.notna(planned)):
                planned = pd.Timestamp(ind.due)  # no planned date: the indicator's due date
            late += is_late(planned, scope.as_of)
        # A township's share of the target, in whole projects: 2 of 3 listed projects, one of them here → 1
        # (⌈2 × 1/3⌉), never more than its own projects.
        share = len(scope.project_ids) / len(ind.projects)
        target = float(ind.target) if scope.level == "banner" else float(  # type: ignore[arg-type]
            min(len(scope.project_ids), math.ceil(float(ind.target) * share - 1e-9)))
        met = compare(float(reached), ">=", target)
        verb = {"在建": "开工", "竣工": "竣工", "投用": "投用"}[ind.target_stage]
        detail = f"{len(scope.project_ids)}个项目中{reached}个已{verb}" + (f"，{late}个逾期" if late else "")
        if reached < len(scope.project_ids) and ind.target_stage != "在建":  # one unfinished: at most 99%
            detail += f"，平均建设进度{min(99, round(sum(progress) / len(progress) * 100))}%"
        if scope.project_status.empty and not late:  # nothing reported and nothing overdue yet
            return Outcome(actual=None, target=target, has_data=False, detail="暂无项目进度数据")
        # The headline answers the target's question: how many projects reached the stage, of the target.
        # A project past its planned date is overdue whether or not anyone reported on it.
        return Outcome(actual=float(reached), target=target, met=met, on_track=late == 0,
                       progress=reached / target if target > 0 else float(met), detail=detail)

    def sentence(self, r: Result, place: str) -> str:
        if r.status is Status.NO_DATA:
            return no_data(r, place)
        return SENTENCES[r.status].format(**fields(r, place, self))


register(ProjectKind())
