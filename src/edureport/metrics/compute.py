"""Indicator values, progress and status for any as-of date and place (全旗, 苏木镇, 学校).

This is the one place reports get figures from, so a number in a chart, a table and a sentence is
always the same number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from edureport.core.asof import as_of_date
from edureport.core.errors import UnknownEntityError
from edureport.core.status import STATUS_ORDER, Status, counted_through, cutoff_period, judge
from edureport.data.store import DataSet
from edureport.kinds import Scope, get_kind
from edureport.metrics.scopes import scope_index
from edureport.plan.model import Indicator


@dataclass(frozen=True)
class IndicatorResult:
    indicator_id: str
    section: str
    task: int
    name: str
    kind: str
    unit: str
    comparison: str
    aggregate: str
    level: str  # where it was computed: banner / township / school
    entity: str  # "" for the banner, the township name, or the school id
    entity_name: str
    target: float | None
    target_text: str
    actual: float | None
    actual_text: str
    progress: float | None
    progress_text: str  # the 完成进度 column's words (figures.percent; a change or margin where no bar fits)
    status: Status
    expected: float | None
    baseline: float | None
    detail: str
    due: dt.date
    overdue: bool  # the due date has passed (the day after it) on the day the figures count to


def _entity_name(data: DataSet, level: str, entity: str, towns: set[str]) -> str:
    if level == "banner":
        return data.plan.region
    if level == "township":
        if entity not in towns:
            raise UnknownEntityError(f"未知{data.plan.township_label}“{entity}”")
        return entity
    match = data.schools[data.schools["school_id"] == entity]
    if match.empty:
        raise UnknownEntityError(f"未知学校代码“{entity}”")
    return str(match["name"].iloc[0])


def _until(frame: pd.DataFrame, cut: str) -> pd.DataFrame:
    return frame if frame.empty or frame["period"].max() <= cut else frame[frame["period"] <= cut]


def compute(data: DataSet, as_of: dt.date, level: str = "banner", entity: str = "",
            indicators: list[Indicator] | None = None, *, allow_outside_year: bool = False) -> list[IndicatorResult]:
    """Every applicable indicator's result in one place on one date (plan order), judged at the end of
    the last month whose figures count on ``as_of``."""
    plan = data.plan
    # a date outside the plan year is refused, not computed into nonsense (unless asked for)
    # (after the plan year — only with allow_outside_year — no later month exists: the year's end)
    as_of = min(counted_through(as_of_date(plan, as_of, allow_outside_year=allow_outside_year)), plan.end)
    index = scope_index(data)
    name = _entity_name(data, level, entity, index.township_names)
    cut = cutoff_period(as_of)
    status_rows = _until(data.projects, cut)
    out = []
    for ind in indicators or plan.indicators:
        kind = get_kind(ind.kind)
        mine, n_total = index.applicable(ind, level, entity)
        pids = index.project_ids(ind, level, entity)
        scope = Scope(
            plan=plan, indicator=ind, as_of=as_of, level=level, entity=entity,
            obs=_until(index.rows("obs", ind.id, level, entity), cut),
            applicable=mine, n_total=n_total,
            baselines=index.rows("base", ind.id, level, entity),
            project_status=status_rows[status_rows["project_id"].isin(pids)] if pids else status_rows.iloc[0:0],
            project_ids=pids,
        )
        outcome = kind.compute(scope)
        if outcome is None:
            continue
        status = judge(outcome, as_of=as_of, due=ind.due, year_end=plan.end)
        target_text = kind.scope_target_text(ind, outcome, level)
        result = IndicatorResult(
            indicator_id=ind.id, section=plan.section_of(ind), task=ind.task, name=ind.name, kind=ind.kind,
            unit=ind.unit, comparison=ind.comparison, aggregate=ind.aggregate, level=level, entity=entity,
            entity_name=name, target=outcome.target, target_text=target_text, actual=outcome.actual,
            actual_text="", progress=outcome.progress, progress_text="", status=status,
            expected=outcome.expected, baseline=outcome.baseline, detail=outcome.detail, due=ind.due,
            overdue=as_of > ind.due,
        )
        out.append(dataclasses.replace(result, actual_text=kind.actual_text(result),
                                       progress_text=kind.progress_text(result)))
    return out


def status_summary(results: list[IndicatorResult]) -> dict[Status, int]:
    """How many indicators are 达标 / 进展正常 / 滞后 / 未达标 / 无数据 (every status present, in order)."""
    counts = Counter(r.status for r in results)
    return {s: counts.get(s, 0) for s in STATUS_ORDER}


def status_columns(summaries: list[dict[Status, int]]) -> list[Status]:
    """The statuses a count table needs: every status that occurs in any of its rows (in order), so each
    row's counts add up to its number of indicators (无数据 included when it occurs)."""
    return [s for s in STATUS_ORDER if any(c.get(s, 0) for c in summaries)] or [Status.DONE]
