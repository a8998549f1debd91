"""Change since the previous report (较上期变化): the results at two dates → one change record per indicator.

Both sides are computed from the same data folder (never read from older output files), so a first build
compares too: where no month had counted on the earlier date, ``counted_by`` says so and reports print one
sentence instead of a comparison.

Whether a move is better or worse depends on the target's comparison, not on the arrow: a rise is better
under "≥"/"＞"/"高于基期", worse under "≤"/"＜"/"低于基期"; under "＝" better is closer to the target.
Status moves are ranked 达标 > 进展正常 > 滞后 > 未达标; a move from or to 无数据 is neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from edureport.core.asof import EXAMPLES, parse_day
from edureport.core.errors import AsOfError
from edureport.core.figures import (
    MAX_DECIMALS,
    TOLERANCE,
    decimals_of,
    fmt_fixed,
    fmt_num,
    fmt_vs,
    printed_value,
    side,
)
from edureport.core.status import Status, counted_through, cutoff_period
from edureport.data.projects import project_table
from edureport.data.store import DataSet
from edureport.kinds import get_kind
from edureport.kinds.base import latest_per_entity, lower_is_better, ratio_of, same_places
from edureport.metrics.compute import IndicatorResult
from edureport.metrics.scopes import scope_index

# Better statuses rank higher; 无数据 has no rank (a move from or to it is neither better nor worse).
STATUS_RANK = {Status.DONE: 3, Status.ON_TRACK: 2, Status.LAGGING: 1, Status.MISSED: 0}


def default_compare_to(as_of: dt.date, year: int | None = None) -> dt.date:
    """The previous report's date: the month end before the last month ``as_of`` counts (06-30 → 05-31;
    06-15, which counts May, → 04-30: the previous month end, 05-31, would count May too and show no
    change). Past the plan ``year``, whose data end in December, the month end before December."""
    counted = counted_through(as_of)
    if year is not None:
        counted = min(counted, dt.date(year, 12, 31))
    return counted.replace(day=1) - dt.timedelta(days=1)


def compare_date(value: str | dt.date | None, as_of: dt.date, *, year: int | None = None) -> dt.date:
    """The date to compare with: ``value`` written as an as-of date is (2023-05-31, 2023/5/31, 2023年5月31日),
    or "" for ``default_compare_to``. It must be before ``as_of``; a date before the plan year is allowed
    (nothing had counted then: reports say so). Raises ``AsOfError`` without the option's name (the caller
    adds it: ``--compare-to`` or the notebook parameter ``compare_to``)."""
    if value in (None, ""):
        return default_compare_to(as_of, year)
    try:
        day = parse_day(value, year)
    except AsOfError:
        shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "…"
        raise AsOfError(f"比较日期“{shown}”无法识别，应写作 {EXAMPLES.format(y=year or as_of.year)}") from None
    if day >= as_of:
        raise AsOfError(f"比较日期 {day.isoformat()} 应早于截至日期 {as_of.isoformat()}")
    return day


def counted_by(plan, day: dt.date) -> bool:
    """Whether a month of the plan year had ended by ``day`` (before that, nothing can have counted: a
    first report). From the dates only, never from the data: whether a report compares must not depend
    on rows its build key does not cover (another department's, another section's indicators)."""
    return counted_through(day) >= plan.start


@dataclass(frozen=True)
class Change:
    """One indicator in one place at two dates (``old_*``: the earlier date, or the baseline year)."""

    indicator_id: str
    name: str
    kind: str
    unit: str
    comparison: str
    section: str
    task: int
    target: float | None
    old_value: float | None
    new_value: float | None
    old_text: str  # the figures as the tables print them (``IndicatorResult.actual_text``)
    new_text: str
    old_status: Status | None  # None: no status on the earlier side (not applicable then, or a baseline)
    new_status: Status

    @property
    def difference(self) -> float | None:
        """new − old (None when either side has no value)."""
        if self.old_value is None or self.new_value is None:
            return None
        return self.new_value - self.old_value

    @property
    def direction(self) -> int | None:
        """+1 the value rose, −1 it fell, 0 unchanged (within 1e-9), None not comparable."""
        d = self.difference
        if d is None:
            return None
        return 0 if abs(d) <= TOLERANCE else (1 if d > 0 else -1)

    @property
    def better(self) -> bool | None:
        """True: the value moved the way the target wants; False: the other way; None: unchanged, not
        comparable, or (an exact target) as far from it as before."""
        step = self.direction
        if not step:
            return None
        if self.comparison == "==":
            if self.target is None:
                return None
            before, after = abs(self.old_value - self.target), abs(self.new_value - self.target)  # type: ignore[operator]
            return None if abs(before - after) <= TOLERANCE else after < before
        return step < 0 if lower_is_better(self.comparison) else step > 0

    @property
    def status_changed(self) -> bool:
        return self.old_status is not None and self.old_status != self.new_status

    @property
    def status_better(self) -> bool | None:
        """True/False when the status moved up/down the ranking; None when unchanged or 无数据 on a side."""
        if not self.status_changed or self.old_status not in STATUS_RANK or self.new_status not in STATUS_RANK:
            return None
        return STATUS_RANK[self.new_status] > STATUS_RANK[self.old_status]  # type: ignore[index]

    @property
    def numeric(self) -> bool:
        """Whether the printed figures are plain numbers (not 已完成, 3/6个单位完成)."""
        return all(t and "/" not in t and printed_value(t) is not None for t in (self.old_text, self.new_text))

    def printed(self) -> tuple[str, str, float, int]:
        """The two figures as a sentence about the move prints them, the difference of those printed
        figures and its decimals. The tables' figures (``old_text``, ``new_text``) when they show the move
        (they differ, the right way round); otherwise both with as many decimals as it takes to show it
        (38.91% → 38.94% prints "由38.91%升至38.94%", not "由38.9%升至38.9%，上升0.03个百分点"), never
        onto or across the target. The printed difference is then exactly what a reader computes from the
        printed figures. Only for a numeric move (``numeric`` and ``direction``)."""
        old, new = self.old_value, self.new_value
        assert old is not None and new is not None and self.direction
        first = self.decimals
        if not self.numeric:  # "3/6个单位完成": the texts as they are, the values' difference
            return self.old_text, self.new_text, new - old, first
        po, pn = printed_value(self.old_text), printed_value(self.new_text)
        if po is not None and pn is not None and (pn - po) * self.direction > TOLERANCE:
            return self.old_text, self.new_text, round(pn - po, first), first
        marks = [r for r in (self.target,) if r is not None] + ([0.0, 100.0] if self.unit == "%" else [])
        k = MAX_DECIMALS
        for d in range(first, MAX_DECIMALS + 1):
            po, pn = round(old, d), round(new, d)
            if (pn - po) * self.direction > TOLERANCE and all(
                    side(po, r) == side(old, r) and side(pn, r) == side(new, r) for r in marks):
                k = d
                break
        po, pn = round(old, k), round(new, k)
        return fmt_fixed(po, k, self.unit), fmt_fixed(pn, k, self.unit), round(pn - po, k), k

    @property
    def decimals(self) -> int:
        """The difference's decimals: as many as the printed figures have (core/figures.py)."""
        return max(decimals_of(self.old_text), decimals_of(self.new_text)) if self.numeric else 0

    @property
    def scale(self) -> float:
        """What a move is measured against when ranking moves: the target, else the larger figure."""
        if self.target:
            return abs(self.target)
        return max(abs(self.old_value or 0.0), abs(self.new_value or 0.0), 1.0)


def change_of(old: IndicatorResult | None, new: IndicatorResult) -> Change:
    """The change record of one indicator (``old``: its result at the earlier date, if any)."""
    has_old = old is not None and old.status is not Status.NO_DATA
    return Change(
        indicator_id=new.indicator_id, name=new.name, kind=new.kind, unit=new.unit, comparison=new.comparison,
        section=new.section, task=new.task, target=new.target,
        old_value=old.actual if has_old else None, new_value=new.actual,  # type: ignore[union-attr]
        old_text=old.actual_text if has_old else "—", new_text=new.actual_text,  # type: ignore[union-attr]
        old_status=old.status if old is not None else None, new_status=new.status)


def changes(old: list[IndicatorResult] | None, new: list[IndicatorResult]) -> list[Change]:
    """One record per new result, in its order; ``old`` None: nothing to compare with (first report)."""
    before = {r.indicator_id: r for r in old or []}
    return [change_of(before.get(r.indicator_id) if old is not None else None, r) for r in new]


def status_moves(records: list[Change]) -> list[Change]:
    """The records whose status changed: better moves first (to the best status first), then the others."""
    moved = [c for c in records if c.status_changed]
    order = {s: i for i, s in enumerate(STATUS_RANK)} | {Status.NO_DATA: len(STATUS_RANK)}

    def key(c: Change) -> tuple[int, int, int]:
        group = 0 if c.status_better else (2 if c.status_better is False else 1)
        return group, order[c.new_status], order[c.old_status]  # type: ignore[index]

    return sorted(moved, key=key)


def largest_moves(records: list[Change], most: int = 5) -> list[Change]:
    """The ``most`` largest moves in value of the charted (numeric) kinds, measured against each target."""
    moved = [c for c in records if get_kind(c.kind).charted and c.numeric and c.direction]
    return sorted(moved, key=lambda c: -abs(c.difference) / c.scale)[:most]  # type: ignore[arg-type]


@dataclass(frozen=True)
class StageChange:
    project_id: str
    name: str
    place: str
    old_stage: str
    new_stage: str


def stage_changes(data: DataSet, project_ids: list[str], old: dt.date, new: dt.date,
                  township: str = "") -> list[StageChange]:
    """The projects whose latest reported stage differs between the two dates (plan order)."""
    before = project_table(data, old, project_ids, township)
    after = project_table(data, new, project_ids, township)
    if after.empty:
        return []
    was = dict(zip(before["project_id"], before["stage"], strict=True)) if not before.empty else {}
    return [StageChange(r.project_id, r.name, r.place, was.get(r.project_id, "未开工"), r.stage)
            for r in after.itertuples() if was.get(r.project_id, "未开工") != r.stage]


def year_on_year(data: DataSet, results: list[IndicatorResult], as_of: dt.date) -> list[Change]:
    """Against the baseline year (baselines.csv) for the results whose indicator names one: the kind's own
    baseline where it keeps one (trends: the same places both years), else the units that reported in
    both years (Σ分子/Σ分母 of each). ``old_status`` is None: a baseline has no status."""
    out = []
    index = scope_index(data)
    cut = cutoff_period(counted_through(as_of))
    for r in results:
        ind = data.plan.indicator(r.indicator_id)
        if ind.baseline_year is None or r.actual is None:
            continue
        kind = get_kind(r.kind)
        if r.baseline is not None:
            base, now, now_text = r.baseline, r.actual, r.actual_text
            base_text = kind.printed_target(r) if r.target == r.baseline else fmt_num(base, r.unit)
        elif kind.columns == ("numerator", "denominator"):
            obs = index.rows("obs", ind.id, r.level, r.entity)
            obs = obs[obs["period"] <= cut]
            mine, old_rows, _ = same_places(latest_per_entity(obs), index.rows("base", ind.id, r.level, r.entity))
            if old_rows.empty or mine.empty:
                continue
            base, now = ratio_of(old_rows)[0], ratio_of(mine)[0]
            if base is None or now is None:
                continue
            # the same places' figures, each never rounded onto or across the target
            base_text, now_text = fmt_vs(base, r.target, unit=r.unit), fmt_vs(now, r.target, unit=r.unit)
        else:
            continue
        out.append(Change(indicator_id=r.indicator_id, name=r.name, kind=r.kind, unit=r.unit,
                          comparison=r.comparison, section=r.section, task=r.task, target=r.target,
                          old_value=base, new_value=now, old_text=base_text, new_text=now_text,
                          old_status=None, new_status=r.status))
    return out
