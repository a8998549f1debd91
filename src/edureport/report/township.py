"""The township report: its figures against the banner and the target, its rank, schools, projects,
activities, and what lags."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from edureport.core.errors import ReportParameterError
from edureport.data.store import DataSet
from edureport.intake.submissions import missing_note, missing_units
from edureport.kinds import get_kind
from edureport.metrics.compute import status_columns, status_summary
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown
from edureport.plan.model import Plan
from edureport.report.blocks import (
    change_part,
    figure_span,
    figures_for,
    indicator_table,
    lagging,
    no_data_note,
    township_comparisons,
)
from edureport.report.context import ReportContext, activities_block, closing_note, cover, projects_block
from edureport.report.htmlkit import Block, esc, heading, join, paragraph, table
from edureport.report.kinds import Job, ReportKind, register, township_rows, unique_stems
from edureport.report.narrative import indicator_sentence, kind_words, summary_sentence


def township_cover(ctx: ReportContext) -> Block:
    return cover(ctx, f"《{ctx.plan.title}》分{ctx.plan.township_label}进展报告")


def township_overview(ctx: ReportContext) -> Block:
    """一、总体情况, with the township's rank by share of indicators met."""
    mine = ctx.results("township", ctx.township)
    counts = status_summary(mine)
    rates = ctx.done_rates()
    rank = 1 + sum(rate > rates[ctx.township] for rate in rates.values())
    n = ctx.numbering.next_table()
    text = (f"截至{ctx.when}，{ctx.township}适用的{summary_sentence(counts, '量化指标')}"
            f"达标率{rates[ctx.township] * 100:.1f}%（{ctx.region}各{ctx.plan.township_label}平均"
            f"{sum(rates.values()) / len(rates) * 100:.1f}%），在{len(rates)}个{ctx.plan.township_label}中"
            f"排第{rank}位。各状态指标数见表{n}。")
    rows = [[s.value, str(c)] for s, c in counts.items()]
    # Months without this unit's figures (its own rows only: covered by its build key, township_rows).
    gaps = missing_note(ctx.plan, missing_units(ctx.plan, ctx.data, ctx.as_of, townships=[ctx.township]))
    return join([heading(2, "一、总体情况"), paragraph(text), *([paragraph(gaps, "note")] if gaps else []),
                 table(["状态", "指标数"], rows, number=n, caption=f"{ctx.township}指标状态汇总", cls="summary")])


def township_indicators(ctx: ReportContext) -> Block:
    """二、主要指标: target, township, banner, rank and status; township comparison charts."""
    mine = ctx.results("township", ctx.township)
    tab, n = indicator_table(ctx, mine, f"{ctx.township}各项指标与{ctx.region}对比", compare=True)
    ratios = [r for r in mine if get_kind(r.kind).proportion]
    figs = figures_for(ctx, ratios, level="township", entity=ctx.township, trends="lagging", compare=False)
    comps = township_comparisons(ctx, ratios)
    label = ctx.plan.township_label
    refs = f"各项指标的目标、本{label}与{ctx.region}数值及排名见表{n}"
    if comps.numbers:
        refs += f"；{kind_words(comps.kinds)}类指标与其他{label}的比较见{figure_span(comps.numbers)}"
    if figs.trends:
        refs += f"；滞后指标的逐月变化见{figure_span(figs.trends)}"
    note = f"排名按实际值计算（“低于”“≤”“＜”类指标数值越小越靠前）；分解目标按本级适用单位数占{ctx.region}的比例计算。"
    return join([heading(2, "二、主要指标完成情况"), paragraph(refs + "。"), paragraph(note, "note"), tab, figs.block,
                 comps.block, *([paragraph(comps.same, "note")] if comps.same else [])])


def township_schools(ctx: ReportContext) -> Block:
    """三、学校（园）情况: each school's indicator statuses."""
    schools = ctx.data.schools[ctx.data.schools["township"] == ctx.township]
    if schools.empty:
        return join([heading(2, "三、学校（园）情况"), paragraph("名录中本地区没有学校（园）。", "note")])
    listed = list(schools.sort_values("school_id").itertuples())
    counts = [status_summary(ctx.results("school", s.school_id)) for s in listed]
    shown = status_columns(counts)
    rows = [[s.name, s.stage, s.ownership, str(sum(c.values()))] + [str(c[k]) for k in shown]
            for s, c in zip(listed, counts, strict=True)]
    n = ctx.numbering.next_table()
    text = f"{ctx.township}共有学校（园）{len(rows)}所，各校学校层级指标的完成情况见表{n}。"
    return join([heading(2, "三、学校（园）情况"), paragraph(text),
                 table(["学校（园）", "学段", "性质", "适用指标", *(k.value for k in shown)], rows,
                       number=n, caption=f"{ctx.township}各学校（园）指标情况", cls="schools")])


def township_projects(ctx: ReportContext) -> Block:
    return join([heading(2, "四、建设项目"), projects_block(ctx, [p.id for p in ctx.plan.projects], ctx.township)])


def township_activities(ctx: ReportContext) -> Block:
    return join([heading(2, "五、活动开展情况"),
                 activities_block(ctx, [t.id for t in ctx.plan.tasks], ctx.township)])


def township_lagging(ctx: ReportContext) -> Block:
    """六、需要关注的问题: every lagging or missed indicator, in words."""
    results = ctx.results("township", ctx.township)
    items, missing = lagging(results), no_data_note(results)
    if not items:
        return join([heading(2, "六、需要关注的问题"), paragraph("没有滞后或未达标的指标。" + missing)])
    lis = "".join(f"<li>{esc(indicator_sentence(ctx.plan, r))}</li>" for r in items)
    text = f"以下{len(items)}项指标滞后或未达标，需要重点关注："
    return join([heading(2, "六、需要关注的问题"), paragraph(text), Block(f'<ol class="plain">{lis}</ol>'),
                 *([paragraph(missing)] if missing else [])])


def township_report(ctx: ReportContext) -> Block:
    return join([township_cover(ctx), township_overview(ctx), change_part(ctx), township_indicators(ctx), township_schools(ctx),
                 township_projects(ctx), township_activities(ctx), township_lagging(ctx), closing_note(ctx)])


class TownshipReport(ReportKind):
    """One report per township of the registry: ``--only township:图克镇``. Its build key covers the
    township's own rows and the banner-wide ones, plus every township's figures it prints in comparison
    columns, ranks and charts (so a change elsewhere that moves those rebuilds it too)."""

    name = "township"
    label = "分乡镇进展报告"
    notebook = "township_report.ipynb"
    parameters = ("township",)
    order = 20
    group = (20, "各{unit}")

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"{parameters['township']}{plan.year}年工作进展报告"

    def resolve(self, plan: Plan, units: Callable[[], Sequence[str]], **parameters: Any) -> dict[str, Any]:
        """``township``: a unit of the register; "" is the first one (whether a named unit is in the
        register is checked when its data are read, see ``ReportContext.load``)."""
        name = unicodedata.normalize("NFC", str(parameters.get("township", ""))).strip()
        if not name:
            names = units()
            if not names:
                raise ReportParameterError(f"名录中没有{plan.township_label}，参数 township 无法取默认值")
            name = names[0]
        return {**parameters, "township": name}

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        stems = unique_stems(self.name, townships)
        return [self.job(f"{self.name}:{t}", stems[t], plan, township=t) for t in townships]

    def subset(self, **parameters: Any) -> dict[str, str]:
        return {"township": parameters["township"]}

    def data_digests(self, job: Job, data: DataSet, *, shown_results: Shown = NOTHING_SHOWN) -> dict[str, str]:
        return township_rows(data, job.parameters["township"]) | {"shown": shown_results.places}


register(TownshipReport())
