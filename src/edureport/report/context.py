"""What every report shares: loading its inputs, the cover/header, the closing note, common tables.

A notebook creates one ``ReportContext`` from its parameters and passes it to the section, township
or review functions; the context carries the figure/table numbering so references in the text match.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version

import pandas as pd

from edureport.core.asof import as_of_date
from edureport.core.errors import AsOfError, ReportParameterError, for_display
from edureport.core.paths import data_path, default_commentary_file, plan_path, resolve
from edureport.core.status import Status
from edureport.data.projects import project_table
from edureport.data.store import DataSet, load_register, load_snapshot, load_subset
from edureport.metrics.change import compare_date, counted_by, default_compare_to
from edureport.metrics.compute import IndicatorResult, compute
from edureport.metrics.results_cache import (
    BANNER,
    month_ends,
    month_table,
    place_rows,
    results_of,
    school_table,
    shared_table,
)
from edureport.plan.commentary import Commentary, load_commentary
from edureport.plan.load import load_plan
from edureport.plan.model import Plan
from edureport.report.htmlkit import Block, Numbering, esc, table
from edureport.report.kinds import get_report_kind
from edureport.report.narrative import counted_cn, counted_day, data_line, date_cn, region_word


class Register:
    """The data folder's register as ``ReportKind.resolve`` gets it: calling it gives the units' names in
    register order, ``schools`` its schools; read on first use only (most parameters need no default)."""

    def __init__(self, load: Callable[[], DataSet]) -> None:
        self._load = load

    @functools.cached_property
    def data(self) -> DataSet:
        return self._load()

    def __call__(self) -> list[str]:
        return list(self.data.townships["township"].astype(str))

    @property
    def schools(self) -> pd.DataFrame:
        return self.data.schools


@dataclass
class ReportContext:
    kind: str  # section / township / review
    plan: Plan
    data: DataSet
    as_of: dt.date
    title: str
    commentary: Commentary = field(default_factory=Commentary)
    numbering: Numbering = field(default_factory=Numbering)
    township: str = ""
    section: str = ""
    allow_outside_year: bool = False
    parameters: dict[str, str] = field(default_factory=dict)  # the kind's own (section, township, …)
    compare_to: dt.date | None = None  # the previous report's date (较上期变化); None: the default before as_of
    _places: dict[str, list[IndicatorResult]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def load(cls, kind: str, *, plan_file: str, data_dir: str, as_of: str, commentary: str = "",
             data_fingerprint: str = "", allow_outside_year: bool = False, compare_to: str = "",
             **parameters: str) -> ReportContext:
        """``data_fingerprint`` (set by ``edureport build``) pins the data snapshot the build started from;
        ``allow_outside_year`` accepts an as-of date outside the plan year (``--allow-outside-year``).
        The title is the registered kind's (``report/kinds.py``), the same as the build's job title; an
        unregistered ``kind`` raises ``UnknownReportKindError`` naming the known ones. ``parameters`` are
        the kind's own (``section``, ``township``); the kind says which part of the data they select."""
        report = get_report_kind(kind)
        unknown = sorted(set(parameters) - set(report.parameters))
        if unknown:
            raise ReportParameterError(f"报告类型“{kind}”没有参数：{'、'.join(unknown)}"
                                       f"（可用：{'、'.join(report.parameters) or '无'}）")
        # Relative paths are the bureau folder's; "" is its default (``core/paths.py``): a notebook opened
        # from a bureau folder's notebooks/ runs with its parameters cell as it is.
        plan_file_path = plan_path(plan_file)
        plan = load_plan(plan_file_path)
        try:
            when = as_of_date(plan, as_of, allow_outside_year=allow_outside_year)
        except AsOfError as exc:
            raise AsOfError(f"参数 as_of：{exc}") from None
        try:  # "" is the last month end before as_of (metrics/change.py)
            before = compare_date(compare_to, when, year=plan.year)
        except AsOfError as exc:
            raise AsOfError(f"参数 compare_to：{exc}") from None
        data_folder = data_path(data_dir)
        parameters = report.resolve(
            plan, Register(lambda: load_register(data_folder, plan, fingerprint=data_fingerprint)),
            **{p: parameters.get(p, "") for p in report.parameters})
        part = report.subset(**parameters)
        if part:
            data = load_subset(data_folder, plan, fingerprint=data_fingerprint, **part)
        else:
            data = load_snapshot(data_folder, plan, data_fingerprint)
        if part.get("township") and part["township"] not in set(data.townships["township"].astype(str)):
            names = list(data.townships["township"].astype(str))
            raise ReportParameterError(
                f"参数 township（{plan.township_label}）的值“{for_display(part['township'])}”不在名录中；可用："
                + "、".join(names[:10]) + (f"等 {len(names)} 个" if len(names) > 10 else ""))
        notes = load_commentary(resolve(commentary) if commentary
                                else default_commentary_file(plan_file_path, plan.year), plan)
        title = report.title(plan, **parameters)
        return cls(kind, plan, data, when, title, notes, Numbering(), parameters.get("township", ""),
                   parameters.get("section", ""), allow_outside_year, parameters, before)

    @property
    def counted(self) -> dt.date:
        """The day the figures count to: the end of the last month whose data count (see status.py)."""
        return counted_day(self.plan, self.as_of)

    @property
    def when(self) -> str:
        """How the report's sentences date the figures: "2023年2月28日" (see narrative.counted_cn)."""
        return counted_cn(self.plan, self.as_of)

    @property
    def region(self) -> str:
        return region_word(self.plan)

    def results(self, level: str = "banner", entity: str = "", indicators=None) -> list[IndicatorResult]:
        """Banner and township figures come from the shared table (computed once per build)."""
        if level == "banner" or (level == "township" and entity in self._towns):
            found = self._place(BANNER if level == "banner" else entity)
            if indicators is None:
                return list(found)
            by_id = {r.indicator_id: r for r in found}
            return [by_id[i.id] for i in indicators if i.id in by_id]
        return compute(self.data, self.as_of, level, entity, indicators,
                       allow_outside_year=self.allow_outside_year)

    @property
    def previous_date(self) -> dt.date:
        """The date the change part compares with (``compare_to``, default the last month end before as_of)."""
        return self.compare_to or default_compare_to(self.as_of, self.plan.year)

    @functools.cached_property
    def has_previous(self) -> bool:
        """Whether a month had counted by the previous date (a first report has nothing to compare)."""
        return counted_by(self.plan, self.previous_date)

    def previous_results(self, level: str = "banner", entity: str = "", indicators=None) -> list[IndicatorResult] | None:
        """The results at ``previous_date`` from the same data (shared table, like ``results``); None when
        nothing had counted by then."""
        if not self.has_previous:
            return None
        if level not in ("banner", "township"):
            return compute(self.data, self.previous_date, level, entity, indicators,
                           allow_outside_year=self.allow_outside_year)
        place = BANNER if level == "banner" else entity
        if place not in self._previous_places:
            self._previous_places[place] = results_of(place_rows(self._previous_table, place)).get(place, [])
        found = self._previous_places[place]
        if indicators is None:
            return list(found)
        wanted = {i.id for i in indicators}
        return [r for r in found if r.indicator_id in wanted]

    @functools.cached_property
    def _previous_places(self) -> dict[str, list[IndicatorResult]]:
        return {}

    @functools.cached_property
    def _previous_table(self) -> pd.DataFrame:
        return shared_table(self.data, self.previous_date, whole=lambda: self.full,
                            allow_outside_year=self.allow_outside_year)

    @functools.cached_property
    def full(self) -> DataSet:
        """Every row of the data (only read when the shared results are not cached yet)."""
        if not self.data.is_subset:
            return self.data
        return load_snapshot(self.data.data_dir, self.plan, self.data.fingerprint)

    @functools.cached_property
    def _table(self) -> pd.DataFrame:
        return shared_table(self.data, self.as_of, whole=lambda: self.full,
                            allow_outside_year=self.allow_outside_year)

    @functools.cached_property
    def school_table(self) -> pd.DataFrame:
        """Every school's results (``results_cache.school_table``: computed once per build, what school
        reports rank against)."""
        return school_table(self.data, self.as_of, whole=lambda: self.full, allow_outside_year=self.allow_outside_year)

    @functools.cached_property
    def _towns(self) -> list[str]:
        return list(self.data.townships["township"].astype(str))

    def _place(self, place: str) -> list[IndicatorResult]:
        """One place's result objects, made from its rows of the shared table when first asked for."""
        if place not in self._places:
            self._places[place] = results_of(place_rows(self._table, place)).get(place, [])
        return self._places[place]

    @property
    def banner_results(self) -> list[IndicatorResult]:
        return self._place(BANNER)

    @functools.cached_property
    def by_township(self) -> dict[str, dict[str, IndicatorResult]]:
        """Every township's result objects (the review's appendix prints them all), made in one pass
        over the table: one filter per township took 0.8 s at 600 townships."""
        every = results_of(self._township_rows)
        self._places.update({t: every.get(t, []) for t in self._towns})
        return {t: {r.indicator_id: r for r in self._places[t]} for t in self._towns}

    def township_values(self, indicator_id: str) -> tuple[list[str], list[float | None]]:
        """The townships that have a result for the indicator (registry order) and their values: what
        ranks and comparison charts need, read column-wise so their cost barely grows with townships."""
        return self._values.get(indicator_id, ([], []))

    def township_statuses(self, indicator_id: str) -> list[tuple[str, Status]]:
        """The townships that have a result for the indicator (registry order) and their status, read
        column-wise like ``township_values``: a department report made every township's result objects
        (``by_township``) for this alone, 0.18 of its 0.55 s at 600 townships."""
        return self._statuses.get(indicator_id, [])

    @functools.cached_property
    def _values(self) -> dict[str, tuple[list[str], list[float | None]]]:
        rows = self._township_rows
        out = {}
        for ind, group in rows.groupby("indicator_id", sort=False):
            values = [None if pd.isna(v) else float(v) for v in group["actual"].tolist()]
            out[str(ind)] = (group["entity"].astype(str).tolist(), values)
        return out

    @functools.cached_property
    def _statuses(self) -> dict[str, list[tuple[str, Status]]]:
        rows = self._township_rows
        return {str(ind): list(zip(group["entity"].astype(str).tolist(), map(Status, group["status"].tolist()),
                                   strict=True))
                for ind, group in rows.groupby("indicator_id", sort=False)}

    @functools.cached_property
    def _township_rows(self) -> pd.DataFrame:
        rows = self._table[(self._table["level"] == "township") & self._table["entity"].isin(self._towns)]
        order = rows["entity"].map({t: i for i, t in enumerate(self._towns)})
        return rows.iloc[order.to_numpy().argsort(kind="stable")]

    def done_rates(self) -> dict[str, float]:
        """Each township's share of its indicators that are 达标 (0 for a township without any)."""
        rows = self._township_rows
        done = (rows["status"] == Status.DONE.value).groupby(rows["entity"].astype(str)).mean()
        return {t: float(done.get(t, 0.0)) for t in self._towns}

    def monthly(self, indicator_id: str, level: str = "banner", entity: str = "") -> tuple[list[str], list]:
        """The indicator's value at each month end of the plan year up to the as-of date (the region's from
        the shared month table, made once per build; a township's or a school's from its own rows)."""
        ends = month_ends(self.plan.start, self.plan.end, self.as_of)
        months = [end.strftime("%Y-%m") for end in ends]
        if level == "banner":
            found = self._monthly_banner.get(indicator_id, {})
            return months, [found.get(m) for m in months]
        ind = self.plan.indicator(indicator_id)
        values = []
        for end in ends:
            res = compute(self.data, end, level, entity, [ind], allow_outside_year=self.allow_outside_year)
            values.append(res[0].actual if res and res[0].actual is not None else None)
        return months, values

    @functools.cached_property
    def _monthly_banner(self) -> dict[str, dict[str, float]]:
        """Indicator id → {month: the region's value} (months without a value left out)."""
        table = month_table(self.data, self.as_of, whole=lambda: self.full, allow_outside_year=self.allow_outside_year)
        out: dict[str, dict[str, float]] = {}
        for ind, month, value in zip(table["indicator_id"].tolist(), table["month"].tolist(),
                                     table["actual"].tolist(), strict=True):
            if value is not None and value == value:
                out.setdefault(str(ind), {})[str(month)] = float(value)
        return out


TITLE_PARTS = re.compile(r"(\d{4}年)")  # a title breaks after the unit's name and after the year, nowhere else
TITLE_SIZES = ((18.0, ""), (22.0, "long"), (27.0, "longer"))  # widest part (em) → size step (report.css)


def _em(text: str) -> float:
    """A text's width in em at the title's font: CJK and full-width characters 1, others about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)


def title_html(title: str) -> tuple[str, str]:
    """The title as unbreakable parts with a break opportunity between them (“白马区经济技术开发区” /
    “2024年” / “工作进展报告”: never “…2024年工” / “作进展报告”), and the class of its font-size step:
    the widest part fits one line of the cover. A part too long even at the smallest step may break."""
    parts = [p for p in TITLE_PARTS.split(title) if p]
    widest = max((_em(p) for p in parts), default=0.0)
    size = next((cls for limit, cls in TITLE_SIZES if widest <= limit), TITLE_SIZES[-1][1])
    spans = (f'<span class="nobr">{esc(p)}</span>' if _em(p) <= TITLE_SIZES[-1][0] else esc(p) for p in parts)
    return "<wbr>".join(spans), size


def cover(ctx: ReportContext, subtitle: str) -> Block:
    """Title block: a full cover page in print, a header on screen."""
    fp = ctx.data.fingerprint
    title, size = title_html(ctx.title)
    return Block(
        f'<header class="cover"><p class="issuer">{esc(ctx.plan.issuer)}</p>'
        f'<h1 class="{" ".join(["title", size]).strip()}">{title}</h1><p class="subtitle">{esc(subtitle)}</p>'
        f'<p class="asof">{esc(data_line(ctx.plan, ctx.as_of))}</p>'
        f'<p class="fingerprint">依据：《{esc(ctx.plan.title)}》　数据指纹 {esc(fp[:12])}</p></header>'
    )


def closing_note(ctx: ReportContext) -> Block:
    """Where the figures come from: data fingerprint, plan hash and versions (no wall-clock time)."""
    versions = "，".join(f"{p} {version(p)}" for p in ("edureport", "pandas", "matplotlib"))
    return Block(
        '<section class="colophon"><h2>说明</h2>'
        f"<p>本报告由 edureport 依据《{esc(ctx.plan.title)}》和报送数据自动生成，{esc(data_line(ctx.plan, ctx.as_of))}。"
        "状态说明：达标＝已完成年度目标；进展正常＝按时间进度推进；滞后＝落后于时间进度或已过完成时限；"
        "未达标＝年度结束仍未完成或已无法完成；无数据＝尚未报送。</p>"
        f'<p class="mono">数据指纹（SHA-256）：{esc(ctx.data.fingerprint)}<br>'
        f"工作要点文件（SHA-256）：{esc(ctx.plan.sha256)}<br>软件版本：{esc(versions)}</p></section>"
    )


def projects_block(ctx: ReportContext, project_ids: list[str], township: str = "") -> Block:
    frame = project_table(ctx.data, ctx.as_of, project_ids, township)
    if frame.empty:
        return Block('<p class="note">本部分没有建设项目。</p>')
    n = ctx.numbering.next_table()
    rows = []
    for r in frame.itertuples():
        flag = '<span class="flag">逾期</span>' if r.overdue else "否"
        rows.append([r.name, r.place, r.stage, _pct(r.percent), _d(r.planned_start), _d(r.actual_start),
                     _d(r.planned_finish), _d(r.actual_finish), _money(r.budget), flag])
    return table(["项目", "所在单位", "阶段", "完成比例", "计划开工", "实际开工", "计划竣工", "实际竣工", "预算（万元）", "逾期"],
                 rows, number=n, caption="建设项目进展", raw_columns=[9], cls="projects")


def activities_block(ctx: ReportContext, tasks: list[int], township: str = "", school_id: str = "") -> Block:
    """The activities of the tasks (of one township's, of one school's) up to the day the figures count to."""
    acts = ctx.data.activities
    # listed up to the day the figures count to, so a meeting listed here is also counted in the figures
    acts = acts[acts["task"].isin(tasks) & (acts["date"] <= pd.Timestamp(ctx.counted))]
    if township:
        acts = acts[acts["township"] == township]
    if school_id:
        acts = acts[acts["school_id"].astype(str) == school_id]
    if acts.empty:
        return Block('<p class="note">截至目前没有登记的活动。</p>')
    n = ctx.numbering.next_table()
    names = ctx.data.schools.set_index("school_id")["name"].to_dict() if len(ctx.data.schools) else {}
    rows = [[_d(r.date), f"任务{r.task}", r.title, names.get(r.school_id, "") or r.township or ctx.region,
             "" if pd.isna(r.participants) else f"{int(r.participants):,}"]
            for r in acts.sort_values(["date", "task"]).itertuples()]
    return table(["日期", "任务", "活动", "单位", "参与人数"], rows, number=n,
                 caption=f"已开展的活动（{_through(ctx)}共{len(rows)}项）", cls="activities")


def _through(ctx: ReportContext) -> str:
    return "" if ctx.counted == ctx.as_of else f"截至{date_cn(ctx.counted)}，"


def _d(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _pct(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.0f}%"


def _money(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.1f}"
