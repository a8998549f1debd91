"""What every indicator kind shares: the scope it computes in, and small numeric helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from edureport.core.figures import decimals_of, fmt_target, fmt_vs, percent, printed_value
from edureport.core.status import Outcome, Status, elapsed_fraction
from edureport.core.vocabulary import COMPARISONS
from edureport.kinds.wording import compared, margin_text

if TYPE_CHECKING:
    from edureport.kinds.wording import Result
    from edureport.plan.model import Indicator, Plan

TOLERANCE = 1e-9
# The largest target any kind accepts. The 2023 plan's largest is 3,000 (教师集中培训人次); a county's yearly
# count never reaches a billion, so a bigger target is a typing error (1e308 would print as 309 digits).
MAX_TARGET = 1_000_000_000


@dataclass(frozen=True)
class CellRule:
    """The Excel form's data validation for a kind's value cells (openpyxl ``DataValidation`` arguments)."""

    type: str  # "decimal", "list", "whole"
    formula1: str
    error: str
    operator: str | None = None
    prompt: str | None = None


COUNT_RULE = CellRule("decimal", "0", "请填写不小于0的数字", "greaterThanOrEqual", "填写本月数值（次数、人次等），不能为负数")


@dataclass
class Scope:
    """One indicator, one as-of date, one place (全旗, a township or a school).

    ``obs`` holds only this indicator's rows inside the place, with periods up to the as-of date;
    ``applicable`` lists the entity keys (school ids, township names or "" for the banner) the
    indicator applies to inside the place, and ``n_total`` how many it applies to banner-wide — the
    ratio is used to share a banner-wide total target (e.g. 24 inspections → 4 per township).
    """

    plan: Plan
    indicator: Indicator
    as_of: dt.date
    level: str
    entity: str
    obs: pd.DataFrame
    applicable: list[str]
    n_total: int
    baselines: pd.DataFrame = field(default_factory=pd.DataFrame)
    project_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    project_ids: list[str] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return self.indicator.period_from or self.plan.start

    @property
    def elapsed(self) -> float:
        return elapsed_fraction(self.start, self.indicator.due, self.as_of)

    @property
    def share(self) -> float:
        """This place's share of a banner-wide total, by number of applicable entities."""
        if self.level == "banner" or self.n_total == 0:
            return 1.0
        return len(self.applicable) / self.n_total


class IndicatorKind:
    """Base class: subclasses set the class attributes and implement ``compute``."""

    name: ClassVar[str]
    label: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    comparisons: ClassVar[tuple[str, ...]] = (">=", ">", "<=", "<", "==")
    aggregates: ClassVar[tuple[str, ...]] = ("sum",)
    needs_target: ClassVar[bool] = True
    sentences: ClassVar[dict[tuple, str]] = {}
    uses_baseline: ClassVar[bool] = False  # may name a baseline year (baselines.csv holds its figures)
    # How reports show the kind (read by report/, which never compares kind names):
    charted: ClassVar[bool] = False  # month-by-month and township charts, and a rank among townships
    proportion: ClassVar[bool] = False  # a rate of units: places compare directly ("比例类", township matrix)
    headline: ClassVar[bool] = False  # one of the review's 主要量化指标
    baseline_is_reference: ClassVar[bool] = False  # charts draw the baseline (上年水平), not the target

    # How the monthly figures arrive (read by data/validate and intake/template):
    table: ClassVar[str] = "observations"  # the input table holding this kind's rows
    columns: ClassVar[tuple[str, ...]] = ("value",)  # the value columns each row must fill
    flag_value: ClassVar[bool] = False  # "value" is 1 (done) or 0 (not yet), not a number
    cell_rule: ClassVar[CellRule] = COUNT_RULE  # the Excel form's rule on those cells
    form_help: ClassVar[str] = "在“数值”中填写本月数值"  # the form's instructions for the value column
    # The demo data (data/demo): how many indicators of this kind are drawn behind target.
    demo_shortfalls: ClassVar[int] = 0

    def form_unit(self, ind: Indicator) -> str:
        """What the Excel form's 单位/说明 cell tells whoever fills in the row."""
        return ind.unit or "个"

    def scope_target_text(self, ind: Indicator, outcome: Outcome, level: str) -> str:
        """The 目标 cell for one place: the plan's target, and a place's own share where it differs
        ("≥24次（本级分解4）")."""
        text = ind.target_text
        if level != "banner" and outcome.target is not None and ind.target is not None \
                and abs(outcome.target - ind.target) > 1e-9:
            text = f"{text}（本级分解{fmt_target(outcome.target, ind.unit)}）"
        return text

    def demo_rows(self, ind: Indicator, demo: Any, behind: bool) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
        """Demo rows for one indicator: (observations, baselines or None), or None when the kind has no
        rows of its own (projects). ``demo`` is data/demo's ``DemoContext`` (seeded generators, the
        applicable units, the months, ``denominator`` for a ratio's schools or townships, ``shares`` to split
        a total among units, ``frame`` to lay values out); ``behind`` asks for a shortfall. The demo calls it
        only where the indicator applies to some unit."""
        return None

    def demo_can_fall_behind(self, ind: Indicator) -> bool:
        """Whether the demo may pick this indicator as one drawn behind target."""
        return True

    def demo_events(self, ind: Indicator) -> bool:
        """Whether the demo writes activity records (活动记录) for this indicator's reported figures."""
        return False

    def demo_numbered_events(self, ind: Indicator) -> bool:
        """Whether those activity titles are numbered (第1次, 第2次 …) rather than named by unit."""
        return False

    def shares_target(self, ind: Indicator) -> bool:
        """Whether a banner-wide target is shared among places (24 inspections → 4 per township) rather
        than the same at every level; a shared one is not drawn as one line across townships."""
        return False

    def check(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems with an indicator's plan fields, as (field, Chinese message) pairs. A message names
        the levels with ``{unit}`` and ``{whole}``: the plan's own words (镇街, 全区) replace them."""
        out: list[tuple[str, str]] = []
        if fields.get("comparison") not in self.comparisons:
            out.append(("comparison", f"{self.label}类指标的比较方式应为：{'、'.join(self.comparisons)}"))
        if fields.get("aggregate") not in self.aggregates:
            out.append(("aggregate", f"{self.label}类指标的汇总方式应为：{'、'.join(self.aggregates)}"))
        if self.needs_target and "target" not in fields:
            out.append(("target", f"{self.label}类指标须有数值目标 target"))
        target = fields.get("target")
        problem = self.target_problem(target, fields) if self.needs_target and isinstance(target, float) else None
        if problem:
            out.append(("target", problem))
        if fields.get("entities") and fields.get("level") == "banner":
            out.append(("entities", "{whole}层级的指标不能限定单位（entities）"))
        if fields.get("baseline_year") is not None and not self.uses_baseline:
            out.append(("baseline_year", f"{self.label}类指标不使用基期年份（baseline_year）"))
        if fields.get("stages") and fields.get("level") != "school":
            out.append(("stages", "只有学校层级的指标可以限定学段（stages）"))
        return out + self.extra_checks(fields)

    def extra_checks(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    def target_problem(self, target: float, fields: dict[str, Any]) -> str | None:
        """What is wrong with a (finite) numeric target, if anything. Counts of things by default:
        0 to ``MAX_TARGET``, and a "fewer than" target must leave room above 0."""
        if target < 0:
            return f"{self.label}类指标的目标不能为负数"
        if target > MAX_TARGET:
            return f"{self.label}类指标的目标过大（上限 {MAX_TARGET:,}）"
        if fields.get("comparison") == "<" and target <= 0:
            return "目标不可能达到：数量不会小于 0（应写 <= 0）"
        return None

    def target_text(self, ind: Indicator) -> str:
        return f"{COMPARISONS[ind.comparison]}{fmt_target(ind.target, ind.unit)}"

    def compute(self, scope: Scope) -> Outcome | None:
        """The outcome in this scope, or None where the indicator does not apply there."""
        raise NotImplementedError

    def printed_target(self, r: Result) -> str:
        """The target as sentences print it (99.95% as written; a derived one to one decimal)."""
        return fmt_target(r.target, r.unit)

    def actual_text(self, r: Result) -> str:
        """The figure in the 实际 column: never rounded onto or across the target, true or printed."""
        target = self.printed_target(r)
        if r.actual is not None and r.target is not None and abs(r.actual - r.target) <= 1e-9:
            return target  # equal to its target: printed exactly as the target is
        return fmt_vs(r.actual, r.target, printed_value(target), unit=r.unit, decimals=decimals_of(target))

    def progress_text(self, r: Result) -> str:
        """The 完成进度 column's words: a whole percent, 100% or more only when met; where the kind has no
        share to draw (an upper limit, an exact target passed) how far inside or over the limit it is."""
        if r.progress is None:
            return margin_text(r)
        pct = percent(r.progress, r.status is Status.DONE)
        if pct == 0 and r.progress:
            return "<1%"  # something is done: not "0%"
        return "—" if pct is None else f"{pct}%"

    def sentence(self, r: Result, place: str) -> str:
        """One sentence stating the figure, the target and the status, from the kind's ``sentences`` table
        (comparison, status[, side]) — see kinds/wording.py. Kinds with other words override this."""
        return compared(r, place, self.sentences, self)


def latest_per_entity(obs: pd.DataFrame) -> pd.DataFrame:
    """Each entity's most recent row (stock figures such as ratios are not summed over months)."""
    if obs.empty:
        return obs
    if not obs["period"].is_monotonic_increasing:  # the scope index keeps rows in period order already
        obs = obs.sort_values("period", kind="stable")
    return obs.drop_duplicates("entity", keep="last")


def compare(actual: float | None, op: str, target: float | None) -> bool:
    if actual is None or target is None:
        return False
    return {
        ">=": actual >= target - TOLERANCE,
        ">": actual > target + TOLERANCE,
        "<=": actual <= target + TOLERANCE,
        "<": actual < target - TOLERANCE,
        "==": abs(actual - target) <= TOLERANCE,
        "<baseline": actual < target - TOLERANCE,
        ">baseline": actual > target + TOLERANCE,
    }[op]


def lower_is_better(op: str) -> bool:
    return op in ("<=", "<", "<baseline")


def ratio_of(frame: pd.DataFrame) -> tuple[float | None, float, float]:
    """Sum of numerators over sum of denominators, in percent — never a mean of school ratios."""
    num = float(frame["numerator"].sum())
    den = float(frame["denominator"].sum())
    return (num / den * 100.0 if den > 0 else None), num, den


def same_places(now: pd.DataFrame, base: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """This year's and the baseline year's rows of the units that have both ("基期年同一范围"): a school
    that has not reported yet must not leave its baseline in the comparison. Also how many units were
    left out."""
    if now.empty or base.empty:
        return now, base, 0
    both = set(now["entity"]) & set(base["entity"])
    left_out = len((set(now["entity"]) | set(base["entity"])) - both)
    return now[now["entity"].isin(both)], base[base["entity"].isin(both)], left_out
