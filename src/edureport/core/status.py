"""Status of an indicator (达标 / 进展正常 / 滞后 / 未达标 / 无数据) — one rule for every kind.

Kinds only say whether the target is met, whether it can no longer be met, and whether progress is on
the expected path; the calendar logic below is shared, so every report judges the same way.
The rules are written out for readers in docs/indicator-rules.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DONE = "达标"
    ON_TRACK = "进展正常"
    LAGGING = "滞后"
    MISSED = "未达标"
    NO_DATA = "无数据"

    def __str__(self) -> str:
        return self.value


STATUS_ORDER = (Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED, Status.NO_DATA)
# One palette for tables, badges and charts (green, blue, amber, red, grey).
STATUS_COLOURS = {Status.DONE: "#2e7d32", Status.ON_TRACK: "#1565c0", Status.LAGGING: "#e08600",
                  Status.MISSED: "#c62828", Status.NO_DATA: "#8a8a8a"}


@dataclass(frozen=True)
class Outcome:
    """What a kind computed for one indicator in one scope, before the calendar is applied."""

    actual: float | None
    target: float | None
    has_data: bool = True
    met: bool = False
    on_track: bool = True
    irrecoverable: bool = False
    expected: float | None = None
    progress: float | None = None
    baseline: float | None = None
    detail: str = ""


def judge(outcome: Outcome, *, as_of: dt.date, due: dt.date, year_end: dt.date) -> Status:
    """Apply the shared calendar rule.

    - met → 达标;
    - cannot be met any more, or the plan year is over → 未达标;
    - due date passed (the day after it; year still running) → 滞后 (overdue, can still be caught up);
    - otherwise 进展正常 when on the expected path, else 滞后.
    """
    if not outcome.has_data:
        return Status.NO_DATA
    if outcome.met:
        return Status.DONE
    if outcome.irrecoverable or as_of >= year_end:
        return Status.MISSED
    if as_of > due:  # the due date itself is still in time: "超过其计划日期" (docs/indicator-rules.md)
        return Status.LAGGING
    return Status.ON_TRACK if outcome.on_track else Status.LAGGING


def elapsed_fraction(start: dt.date, due: dt.date, as_of: dt.date) -> float:
    """Share of the time from start to due that has passed by as_of, clipped to [0, 1]."""
    total = (due - start).days
    if total <= 0:
        return 1.0 if as_of >= due else 0.0
    return min(1.0, max(0.0, (as_of - start).days / total))


def month_end(period: str) -> dt.date:
    """The last day of a YYYY-MM period (the day its figures start to count)."""
    first = dt.date(int(period[:4]), int(period[5:7]), 28) + dt.timedelta(days=4)
    return first.replace(day=1) - dt.timedelta(days=1)


def straight_line(start: float, target: float, origin: dt.date, due: dt.date, as_of: dt.date) -> float:
    """The expected level on ``as_of`` on the straight line from ``start`` (at ``origin``) to ``target`` (at
    ``due``): the progress line of ratios and of stocks to bring down."""
    return start + (target - start) * elapsed_fraction(origin, due, as_of)


def counted_through(as_of: dt.date) -> dt.date:
    """The end of the last month whose figures count on ``as_of`` (monthly figures count from the month's
    end): ``as_of`` itself on a month end, else the previous month's last day. Every indicator is judged
    on this day — time progress, due dates, the activities listed — so a report dated 03-15 says what a
    report dated 02-28 says (docs/indicator-rules.md, "截至日期与月度数据")."""
    if (as_of + dt.timedelta(days=1)).month != as_of.month:
        return as_of
    return as_of.replace(day=1) - dt.timedelta(days=1)


def cutoff_period(as_of: dt.date) -> str:
    """The last month whose figures count on ``as_of``, as YYYY-MM."""
    return counted_through(as_of).strftime("%Y-%m")
