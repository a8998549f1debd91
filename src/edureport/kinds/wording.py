"""The words every kind's sentences share: the verdict per status and where a figure stands against its
target, per comparison. Each kind's own sentence table (in its file) is built from these phrases, so a
sentence can only say "控制在5%以内" when the figure is within 5%, and "超过" only when it is above.

tests/test_wording.py checks every kind × comparison × status sentence against a truth table.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from edureport.core.figures import TOLERANCE, fmt_gap, fmt_vs, percent, printed_value
from edureport.core.status import Status

if TYPE_CHECKING:
    from edureport.kinds.base import IndicatorKind


class Result(Protocol):
    """What a sentence is made from (``metrics.IndicatorResult`` has these fields)."""

    name: str
    kind: str
    level: str
    unit: str
    comparison: str
    aggregate: str
    target: float | None
    target_text: str
    actual: float | None
    progress: float | None
    status: Status
    expected: float | None
    baseline: float | None
    detail: str
    due: dt.date
    overdue: bool


VERDICT = {Status.DONE: "已达标", Status.ON_TRACK: "进展正常", Status.LAGGING: "进度滞后",
           Status.MISSED: "未完成年度目标", Status.NO_DATA: "暂无数据"}

# Where the figure stands against the target ("above", "equal" or "below" it, by value), by comparison.
RELATION = {
    (">=", "above"): "超过{target}的年度目标", (">=", "equal"): "达到{target}的年度目标",
    (">=", "below"): "低于{target}的年度目标",
    (">", "above"): "超过{target}的年度目标", (">", "equal"): "与{target}持平，未超过年度目标",
    (">", "below"): "低于{target}，未超过年度目标",
    ("<=", "below"): "控制在{target}以内", ("<=", "equal"): "控制在{target}以内",
    ("<=", "above"): "超过{target}的上限",
    ("<", "below"): "低于{target}的上限", ("<", "equal"): "等于{target}，未低于上限",
    ("<", "above"): "超过{target}的上限",
    ("==", "equal"): "等于{target}的目标", ("==", "below"): "低于{target}的目标",
    ("==", "above"): "超过{target}的目标",
}


def side(actual: float, target: float) -> str:
    """Where ``actual`` lies against ``target``: "above", "equal" (within 1e-9) or "below"."""
    if actual > target + TOLERANCE:
        return "above"
    return "below" if actual < target - TOLERANCE else "equal"


def fields(r: Result, place: str, kind: IndicatorKind) -> dict[str, str]:
    """The figures a sentence template may use, each formatted by the one rule in figures.py.
    ``where`` is the place below the banner only (a banner report's milestone needs no "全旗")."""
    out = {"place": place, "where": "" if r.level == "banner" else place, "name": r.name,
           "verdict": VERDICT[r.status], "detail": r.detail, "due": f"{r.due.month}月{r.due.day}日",
           "target_text": r.target_text, "target": kind.printed_target(r), "actual": kind.actual_text(r),
           "expected": "", "gap": "", "pct": "",
           "note": f"（{r.detail}）" if r.detail.endswith("未报送") else ""}  # units missing from a stock
    if r.actual is not None and r.target is not None:
        out["gap"] = fmt_gap(r.target - r.actual, r.unit)
        shown = printed_value(out["actual"])
        if r.expected is not None and abs(r.expected - r.actual) <= TOLERANCE:
            out["expected"] = out["actual"]  # on the line (a ratio's first month starts there)
        elif r.expected is not None:  # on its side of the figure (true and printed) and of the target
            out["expected"] = fmt_vs(r.expected, r.actual, shown, r.target, printed_value(out["target"]),
                                     unit=r.unit)
    pct = percent(r.progress, r.status is Status.DONE)
    out["pct"] = "" if pct is None else f"{pct}%"
    return out


def margin_text(r: Result) -> str:
    """The 完成进度 column where a bar would mislead (upper limits, a figure above an exact target): how
    far the figure is inside or over the limit."""
    if r.actual is None or r.target is None:
        return "—"
    where = side(r.actual, r.target)
    if r.comparison == "==":
        return "等于目标" if where == "equal" else f"{'超出' if where == 'above' else '低于'}目标{fmt_gap(r.actual - r.target, r.unit)}"
    if where == "above":
        return f"超出上限{fmt_gap(r.actual - r.target, r.unit)}"
    if where == "equal":
        return "等于上限" if r.comparison == "<" else "在上限以内"
    return "在上限以内"


def no_data(r: Result, place: str) -> str:
    return f"{place}{r.name}暂无可用数据（{r.detail}）。" if r.detail else f"{place}{r.name}暂无可用数据。"


def compared(r: Result, place: str, table: dict[tuple, str], kind: IndicatorKind) -> str:
    """A sentence for a figure compared with a numeric target: the kind's ``table`` maps (comparison,
    status) — or (comparison, status, side) where the side changes the words — to a template whose
    ``{relation}`` is the true RELATION of the figure to the target."""
    if r.status is Status.NO_DATA or r.actual is None or r.target is None:
        return no_data(r, place)
    f = fields(r, place, kind)
    where = side(r.actual, r.target)
    relation = RELATION[(r.comparison, where)].format(**f)
    template = table.get((r.comparison, r.status, where)) or table[(r.comparison, r.status)]
    return template.format(relation=relation, **f)
