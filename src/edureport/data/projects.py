"""The projects table as reports and forms show it: one row per plan project, its latest stage."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from edureport.core.projects import RANK, is_late, latest_status
from edureport.core.status import counted_through, cutoff_period
from edureport.data.store import DataSet
from edureport.kinds import get_kind


def project_table(data: DataSet, as_of: dt.date, project_ids: list[str], township: str = "") -> pd.DataFrame:
    """One row per plan project: latest stage, % complete, planned/actual dates, budget, overdue flag."""
    plan = data.plan
    names = data.schools.drop_duplicates("name").set_index("name")
    status = data.projects[data.projects["period"] <= cutoff_period(as_of)]
    latest = latest_status(status).set_index("project_id")
    rows = []
    for pid in project_ids:
        p = plan.project(pid)
        town = str(names.loc[p.school, "township"]) if p.school in names.index else p.township
        if township and town != township:
            continue
        row = latest.loc[pid] if pid in latest.index else None
        stage = row["stage"] if row is not None else "未开工"
        planned = None if row is None else (row["planned_start"] if p.goal_stage == "在建" else row["planned_finish"])
        if planned is None or pd.isna(planned):  # as the indicators judge it: no planned date, their due date
            dues = [i.due for i in plan.indicators if get_kind(i.kind).table == "projects" and pid in i.projects]
            planned = pd.Timestamp(min(dues)) if dues else None
        below = RANK[stage] < RANK[p.goal_stage]
        late = below and is_late(planned, min(counted_through(as_of), plan.end))
        fields = ("percent", "planned_start", "actual_start", "planned_finish", "actual_finish", "budget")
        values = {k: None if row is None else row[k] for k in fields}
        if below and values["percent"] is not None and pd.notna(values["percent"]):
            values["percent"] = min(float(values["percent"]), 99.0)  # not at its stage: at most 99% (the forms say 100)
        rows.append({"project_id": pid, "name": p.name, "place": p.school or town or plan.region, "goal": p.goal,
                     "stage": stage, **values, "overdue": bool(late)})
    return pd.DataFrame(rows)
