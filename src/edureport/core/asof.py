"""The as-of date (截至日期): the ways users write it, and the dates a plan can report on.

One parser for the command line, the library and the notebooks, so ``--as-of 2023/6/30`` means the same
everywhere and nothing else is guessed at: Python's ``date.fromisoformat`` also takes ISO week dates
(``2023-W26`` → 26 June), which nobody here means.
"""

from __future__ import annotations

import datetime as dt
import re

from edureport.core.errors import AsOfError

_DAY = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?\s*$")
EXAMPLES = "YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日（如 {y}-06-30、{y}/6/30 或 {y}年6月30日）"


def parse_day(text: str | dt.date, year: int | None = None) -> dt.date:
    """A date written as 2024-06-30, 2024/6/30, 2024.6.30 or 2024年6月30日 (``year``: for the examples
    in the message)."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    match = _DAY.match(str(text))
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    shown = str(text) if len(str(text)) <= 40 else str(text)[:40] + "…"
    raise AsOfError(f"截至日期“{shown}”无法识别，应写作 {EXAMPLES.format(y=year or dt.date.today().year)}")


def as_of_date(plan, value: str | dt.date | None, *, allow_outside_year: bool = False) -> dt.date:
    """The as-of date of a report on ``plan``: the given date (default: the plan's last day), which must
    lie within the plan year — figures are computed against the year's targets and time line — unless
    ``allow_outside_year`` (``--allow-outside-year``): after the year, every verdict is final; before
    it, no month has counted yet."""
    day = parse_day(value, plan.year) if value not in (None, "") else plan.end
    if not allow_outside_year and not plan.start <= day <= plan.end:
        raise AsOfError(f"截至日期 {day.isoformat()} 不在工作要点年度内（{plan.start.isoformat()}～{plan.end.isoformat()}）；"
                        "确需在年度之外出具报告，请加 --allow-outside-year")
    return day
