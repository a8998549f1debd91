"""Demo project status reports and activity records (used by ``demo.generate``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from edureport.data.demo_values import Registry, _day, _rng
from edureport.plan.model import Plan

EVENT_UNITS = {"次", "场"}


def _month_end(month: str) -> dt.date:
    y, m = int(month[:4]), int(month[5:])
    return dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)


def _date(base: dt.date, rng: np.random.Generator, lo: int, hi: int) -> dt.date:
    return base + dt.timedelta(days=int(rng.integers(lo, hi)))


def project_rows(plan: Plan, reg: Registry, months: list[str], seed: int) -> pd.DataFrame:
    """Monthly status of every plan project; one 投用 project overruns, one 开工 project starts late."""
    by_name = reg.schools.set_index("name")
    projects = list(plan.projects)
    order = sorted(projects, key=lambda p: _rng(seed, "late", p.id).random())
    late_finish = next((p.id for p in order if p.goal != "开工"), None)
    late_start = next((p.id for p in order if p.goal == "开工"), None)
    y0 = plan.start
    rows = []
    for p in projects:
        rng = _rng(seed, p.id)
        budget = round(float(rng.uniform(150, 6000)), 1)
        if p.goal == "开工":
            planned_start = _date(y0, rng, 60, 170)
            actual_start = planned_start + dt.timedelta(days=int(rng.integers(-10, 20)))
            if p.id == late_start:
                actual_start = planned_start + dt.timedelta(days=int(rng.integers(110, 150)))
            planned_finish = _date(y0.replace(year=y0.year + 1), rng, 150, 300)
        else:
            planned_start = _date(y0.replace(year=y0.year - 1), rng, 90, 200)
            actual_start = planned_start + dt.timedelta(days=int(rng.integers(0, 20)))
            planned_finish = _date(y0, rng, 200, 280)
        overrun = 200 if p.id == late_finish else int(rng.integers(-15, 10))
        actual_finish = planned_finish + dt.timedelta(days=overrun)
        span = max(1, (actual_finish - actual_start).days)
        for month in months:
            end = _month_end(month)
            started = actual_start <= end
            finished = actual_finish <= end
            percent = 0 if not started else 100 if finished else min(99, int(100 * (end - actual_start).days / span))
            stage = "未开工" if not started else "在建" if not finished else (
                "投用" if (end - actual_finish).days >= 20 else "竣工")
            school = by_name.loc[p.school] if p.school in by_name.index else None
            rows.append({
                "period": month, "project_id": p.id, "stage": stage, "percent": percent,
                "planned_start": planned_start.isoformat(),
                "actual_start": actual_start.isoformat() if started else "",
                "planned_finish": planned_finish.isoformat(),
                "actual_finish": actual_finish.isoformat() if finished else "",
                "budget": budget, "school_id": school["school_id"] if school is not None else "",
            })
    return pd.DataFrame(rows)


def activity_rows(plan: Plan, reg: Registry, obs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Activities behind the banner- and township-level event counts and the milestones reached."""
    kinds = {i.id: i for i in plan.indicators}
    names = reg.schools.set_index("school_id")["name"]
    rows = []
    for ind_id, group in obs.groupby("indicator_id", sort=False):
        ind = kinds[ind_id]
        events = ind.kind == "milestone" or (ind.kind == "count" and ind.unit in EVENT_UNITS
                                             and ind.level != "school" and ind.comparison == ">=")
        if not events:
            continue
        rng = _rng(seed, "activity", ind_id)
        title = ind.name
        for word in ("次数", "场次", "举办", "召开", "完成", "组织"):
            title = title.removesuffix(word)
        mine = []
        for _, r in group[group["value"].fillna(0) > 0].iterrows():
            for _ in range(min(int(r["value"]), 3)):
                who = names.get(r["school_id"], r["township"] or "全旗")
                mine.append({"date": _day(rng, r["period"]), "task": ind.task, "township": r["township"],
                             "school_id": r["school_id"], "participants": int(rng.integers(20, 600)),
                             "title": f"{title}（{who}）" if ind.level != "banner" else title})
        mine.sort(key=lambda row: row["date"])
        if ind.kind == "count" and ind.level == "banner":
            for n, row in enumerate(mine, start=1):
                row["title"] = f"{title}（第{n}次）"
        rows += mine
    out = pd.DataFrame(rows, columns=["date", "task", "township", "school_id", "title", "participants"])
    return out.sort_values(["date", "task", "title"], kind="stable").reset_index(drop=True)
