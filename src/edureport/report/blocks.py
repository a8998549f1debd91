"""Blocks shared by the section, township and review reports: indicator tables and charts."""

from __future__ import annotations

from dataclasses import dataclass, field

from edureport.core.status import Status
from edureport.kinds import get_kind
from edureport.kinds.base import lower_is_better
from edureport.metrics.compute import IndicatorResult
from edureport.report.change import change_cell, change_records
from edureport.report.change import change_part as change_part  # 较上期变化: every kind's notebook calls it
from edureport.report.charts import (
    DotRow,
    comparison_dots,
    township_chart,
    trend_chart,
)
from edureport.report.context import ReportContext
from edureport.report.htmlkit import Block, badge, figure, join, progress_bar, table


def indicator_table(ctx: ReportContext, results: list[IndicatorResult], caption: str,
                    compare: bool = False) -> tuple[Block, int]:
    """指标 | 目标 | 实际 | 较上期 | 完成进度 | 状态 (and, for a township, 全旗 and 排名). 较上期: the change
    since the previous report (report/change.py: ↑/↓ and the difference, green 向好 / red 变差, "—")."""
    n = ctx.numbering.next_table()
    headers = ["指标", "目标", "实际", "较上期", "完成进度", "状态"]
    moves = change_records(ctx, results)
    rows = []
    for r in results:
        row = [r.name, r.target_text, r.actual_text, change_cell(moves.get(r.indicator_id)),
               progress_bar(r.progress, r.status, r.progress_text), badge(r.status)]
        if compare:
            banner, rank = township_context(ctx, r)
            row[4:4] = [banner, rank]
        rows.append(row)
    if compare:
        headers[4:4] = [f"{ctx.region}", "排名"]
    raw = [3, 6, 7] if compare else [3, 4, 5]
    return table(headers, rows, number=n, caption=caption, raw_columns=raw, cls="indicators"), n


def township_context(ctx: ReportContext, r: IndicatorResult) -> tuple[str, str]:
    """The banner figure and this township's rank among townships for one indicator."""
    banner = next((b for b in ctx.banner_results if b.indicator_id == r.indicator_id), None)
    return (banner.actual_text if banner else "—"), rank_text(r, ctx.township_values(r.indicator_id)[1])


def rank_text(r: IndicatorResult, values: list[float | None]) -> str:
    """“2/6”: the result's place among ``values`` (its own included; the "≤", "＜" and "低于" kinds: smaller
    first; ties share a place), "—" when it has no value, fewer than two have one, or its kind is not ranked."""
    shown = [v for v in values if v is not None]
    if r.actual is None or len(shown) < 2 or not get_kind(r.kind).charted:
        return "—"
    lower = lower_is_better(r.comparison)
    better = sum(1 for v in shown if (v < r.actual if lower else v > r.actual))
    return f"{better + 1}/{len(shown)}"


def trend_figure(ctx: ReportContext, r: IndicatorResult, level: str = "banner", entity: str = "") -> Block:
    months, values = ctx.monthly(r.indicator_id, level, entity)
    if sum(v is not None for v in values) < 2:
        return Block("")
    by_baseline = get_kind(r.kind).baseline_is_reference
    target = r.baseline if by_baseline else r.target
    label = _base_label(ctx, r) if by_baseline else "年度目标"
    svg = trend_chart(months, values, target=target, unit=r.unit, label=r.name, target_label=label)
    return figure(svg, ctx.numbering.next_figure(), f"{r.entity_name}{r.name}逐月情况")


def township_figure(ctx: ReportContext, r: IndicatorResult, highlight: str = "") -> Block:
    """Compare townships for an indicator collected below the banner level."""
    found = _compared(ctx, r)
    if found is None:
        return Block("")
    names, values, banner, target = found
    kind = get_kind(r.kind)
    label = ctx.plan.township_label
    target_label = ctx.region + _base_label(ctx, r) if kind.baseline_is_reference else "目标"  # the banner's baseline
    svg = township_chart(names, values, banner=banner, target=target, unit=r.unit, highlight=highlight,
                         banner_label=ctx.region, target_label=target_label)
    return figure(svg, ctx.numbering.next_figure(), f"各{label}{r.name}")


def _compared(ctx: ReportContext, r: IndicatorResult) -> tuple[list[str], list[float | None], float | None,
                                                              float | None] | None:
    """Every township's value of an indicator collected below the banner level, with the banner's figure
    and the line they are all measured against (None: nothing to compare)."""
    ind = ctx.plan.indicator(r.indicator_id)
    kind = get_kind(r.kind)
    if ind.level == "banner" or not kind.charted:
        return None
    names, values = ctx.township_values(r.indicator_id)
    if sum(v is not None for v in values) < 2:
        return None
    banner = target = None
    if not kind.shares_target(ind):  # one target line across townships only where it is not shared
        whole = next((b for b in ctx.banner_results if b.indicator_id == r.indicator_id), None)
        banner = whole.actual if whole else None
        # every township against one line: the banner's baseline, not this township's own
        target = (whole.baseline if whole else None) if kind.baseline_is_reference else ind.target
    return list(names), list(values), banner, target


@dataclass
class Comparisons:
    """A township's indicators against the other townships, one dot plot per plan section."""

    block: Block
    numbers: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the kinds of the indicators compared
    same: str = ""  # the sentence naming indicators on which every township has the same figure


def township_comparisons(ctx: ReportContext, results: list[IndicatorResult]) -> Comparisons:
    """One comparison chart per plan section (``comparison_dots``) instead of one bar chart per
    indicator: a township report had 19 bar charts on six of its eleven PDF pages, several with every
    township at 100 %. An indicator on which every township has the same figure gets no row; one
    sentence names them with that figure."""
    out = Comparisons(Block(""))
    label = ctx.plan.township_label
    same: list[str] = []
    blocks = []
    for section in ctx.plan.sections:
        ids = {i.id for i in ctx.plan.indicators_in(section.number)}
        rows_by_unit: dict[str, list[tuple[DotRow, bool]]] = {}
        for r in results:
            found = _compared(ctx, r) if r.indicator_id in ids else None
            if found is None:
                continue
            _names, values, banner, target = found
            shown = [v for v in values if v is not None]
            # "均为…" only where every township has that figure: one without data is no "same" (it is drawn)
            if len(shown) == len(values) and max(shown) - min(shown) < 1e-9:
                same.append(f"{r.name}（均为{r.actual_text if r.actual is not None else f'{shown[0]:g}{r.unit}'}）")
                continue
            by_baseline = get_kind(r.kind).baseline_is_reference
            rows_by_unit.setdefault(r.unit, []).append((DotRow(r.name, shown, r.actual, banner, target), by_baseline))
            if r.kind not in out.kinds:
                out.kinds.append(r.kind)
        for unit, marked in rows_by_unit.items():
            rows = [row for row, _ in marked]
            reference = "目标" + ("（同比指标为基期水平）" if any(b for _, b in marked) else "")
            svg = comparison_dots(rows, highlight=ctx.township, unit=unit, others_label=f"其他{label}",
                                  banner_label=ctx.region, target_label=reference)
            n = ctx.numbering.next_figure()
            out.numbers.append(n)
            blocks.append(figure(svg, n, f"第{section.number}部分各项指标{ctx.township}与其他{label}比较"))
    out.block = join(blocks)
    if same:
        out.same = f"各{label}数值相同、不再作图的指标：{'；'.join(same)}。"
    return out


def _base_label(ctx: ReportContext, r: IndicatorResult) -> str:
    year = ctx.plan.indicator(r.indicator_id).baseline_year
    return "上年水平" if year in (None, ctx.plan.year - 1) else f"{year}年水平"


def lagging(results: list[IndicatorResult]) -> list[IndicatorResult]:
    return [r for r in results if r.status in (Status.LAGGING, Status.MISSED)]


def no_data_note(results: list[IndicatorResult]) -> str:
    """A sentence naming the indicators without data, which "all on track" must not hide ("" if none)."""
    missing = [r.name for r in results if r.status is Status.NO_DATA]
    return f"另有{len(missing)}项指标暂无数据，无法判断进展：{'、'.join(missing)}。" if missing else ""


@dataclass
class Figures:
    """The charts made for some results, and the numbers they got, so the text names only charts that exist."""

    block: Block
    trends: list[int] = field(default_factory=list)  # month-by-month charts
    towns: list[int] = field(default_factory=list)  # charts across townships
    compared: list[str] = field(default_factory=list)  # the kinds of the results with a township chart


def figures_for(ctx: ReportContext, results: list[IndicatorResult], *, level: str = "banner", entity: str = "",
                highlight: str = "", trends: str = "all", compare: bool = True) -> Figures:
    """Charts for the charted results, each month by month (``trends``: "all" or "lagging") and then, with
    ``compare``, across townships."""
    out = Figures(Block(""))
    blocks = []
    for r in results:
        if not get_kind(r.kind).charted:
            continue
        if trends == "all" or r.status in (Status.LAGGING, Status.MISSED):
            before = ctx.numbering.figures
            blocks.append(trend_figure(ctx, r, level, entity))
            out.trends += range(before + 1, ctx.numbering.figures + 1)
        if not compare:
            continue
        before = ctx.numbering.figures
        blocks.append(township_figure(ctx, r, highlight))
        if ctx.numbering.figures > before:
            out.towns += range(before + 1, ctx.numbering.figures + 1)
            out.compared.append(r.kind)
    out.block = join(blocks)
    return out


def figure_span(numbers: list[int]) -> str:
    """“图3” or “图3至图5” (the figures of one paragraph follow each other)."""
    first, last = min(numbers), max(numbers)
    return f"图{first}" + (f"至图{last}" if last > first else "")
