"""The year-end review (年度工作总结), laid out as such a document is: 一、总体情况 二、主要工作完成情况
三、存在的问题 四、下一步工作打算, and an appendix of township tables."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pandas as pd

from edureport.core.status import Status
from edureport.intake.submissions import missing_note, missing_units
from edureport.kinds import get_kind
from edureport.metrics.compute import status_columns, status_summary
from edureport.plan.model import Plan
from edureport.report import change
from edureport.report.blocks import indicator_table, lagging, no_data_note
from edureport.report.charts import status_chart
from edureport.report.context import ReportContext, cover
from edureport.report.htmlkit import Block, cn_number, esc, figure, heading, join, paragraph, table
from edureport.report.kinds import Job, ReportKind, register
from edureport.report.narrative import indicator_sentence, kind_words, summary_sentence, task_paragraph

MATRIX_MAX_TOWNSHIPS = 60  # above this the appendix leaves the per-unit figures to each unit's own report
MATRIX_COLUMNS = 8  # units per table of the appendix's matrix: what an A4 portrait page holds beside the names


def matrix_groups(towns: list[str], most: int = MATRIX_COLUMNS) -> list[list[str]]:
    """The units in registry order, split into as few tables of at most ``most`` as possible, of nearly
    equal width (9 → 5 + 4, 30 → 8 + 8 + 7 + 7)."""
    count = -(-len(towns) // most) or 1
    size, extra = divmod(len(towns), count)
    bounds = [0]
    for k in range(count):
        bounds.append(bounds[-1] + size + (k < extra))
    return [towns[a:b] for a, b in pairwise(bounds)]


def review_cover(ctx: ReportContext) -> Block:
    return cover(ctx, f"——《{ctx.plan.title}》落实情况")


def review_toc(ctx: ReportContext) -> Block:
    """Table of contents from the headings already generated (call after ``review_parts``)."""
    items = "".join(f'<li class="l{level}"><a href="#{esc(anchor)}">{esc(text)}</a></li>'
                    for level, anchor, text in ctx.numbering.anchors if level <= 3)
    return Block(f'<nav class="toc"><h2>目　录</h2><ol>{items}</ol></nav>')


def review_parts(ctx: ReportContext) -> dict[str, Block]:
    """All parts in document order, so figure/table numbers and the TOC agree."""
    return {"overall": _overall(ctx), "work": _work(ctx), "problems": _problems(ctx),
            "next_steps": _next_steps(ctx), "appendix": _appendix(ctx)}


def change_part(ctx: ReportContext) -> Block:
    """较上期变化, and for indicators with a baseline year (baselines.csv) the change against that year."""
    return change.change_part(ctx, baseline_year=True)


def _rate(counts: dict[Status, int]) -> str:
    total = sum(counts.values())
    return f"{counts[Status.DONE] / total * 100:.1f}%" if total else "—"


def _overall(ctx: ReportContext) -> Block:
    plan, results = ctx.plan, ctx.banner_results
    counts = status_summary(results)
    labels, summaries = [], []
    for s in plan.sections:
        summaries.append(status_summary([r for r in results if r.section == s.number]))
        labels.append(f"{s.number}、{s.title.split('，')[0]}")
    shown = status_columns(summaries)
    rows = [[short, str(len(plan.tasks_in(s.number))), str(sum(c.values()))] + [str(c[k]) for k in shown] + [_rate(c)]
            for short, s, c in zip(labels, plan.sections, summaries, strict=True)]
    t1 = ctx.numbering.next_table()
    f1 = ctx.numbering.next_figure()
    text = (f"{plan.year}年，对照《{plan.title}》确定的{len(plan.sections)}个方面{len(plan.tasks)}项重点任务，"
            f"截至{ctx.when}，{ctx.region}{summary_sentence(counts, '量化指标')}"
            f"总体达标率{_rate(counts)}。各部分完成情况见表{t1}和图{f1}。")
    head = ["部分", "任务", "指标", *(k.value for k in shown), "达标率"]
    gaps = missing_note(plan, missing_units(plan, ctx.data, ctx.as_of))  # the whole data: covered by its key
    blocks = [heading(2, "一、总体情况", ctx.numbering, "part-1"), paragraph(text),
              *([paragraph(gaps, "note")] if gaps else []),
              table(head, rows, number=t1, caption="各部分指标完成情况", cls="overview"),
              figure(status_chart(labels, summaries), f1, "各部分指标状态分布")]
    key = [r for r in results if get_kind(r.kind).headline]
    if key:
        tab, t2 = indicator_table(ctx, key, "主要量化指标完成情况")
        blocks += [paragraph(f"{kind_words([r.kind for r in key])}等主要量化指标见表{t2}。"), tab]
    return join(blocks)


def _work(ctx: ReportContext) -> Block:
    plan = ctx.plan
    blocks = [heading(2, "二、主要工作完成情况", ctx.numbering, "part-2")]
    for i, s in enumerate(plan.sections, start=1):
        blocks.append(heading(3, f"（{cn_number(i)}）{s.title}", ctx.numbering, f"part-2-{i}"))
        results = [r for r in ctx.banner_results if r.section == s.number]
        tab, n = indicator_table(ctx, results, f"{s.title}主要指标") if results else (Block(""), 0)
        counts = status_summary(results)
        blocks.append(paragraph(f"本部分{summary_sentence(counts, '量化指标')}" + (f"主要指标见表{n}。" if n else "")))
        for j, task in enumerate(plan.tasks_in(s.number), start=1):
            mine = [r for r in results if r.task == task.id]
            blocks.append(heading(4, f"{j}. {task.title}"))
            note = ctx.commentary.for_task(task.id)
            text = task_paragraph(plan, task, mine, ctx.as_of)
            blocks.append(paragraph(text + (note if note else "（本任务暂无补充说明。）")))
        blocks.append(tab)
    return join(blocks)


def _problems(ctx: ReportContext) -> Block:
    items = lagging(ctx.banner_results)
    missing = no_data_note(ctx.banner_results)
    blocks = [heading(2, "三、存在的问题", ctx.numbering, "part-3")]
    if not items:
        text = "其余量化指标均已达标或进展正常。" if missing else "各项量化指标均已达标或进展正常。"
        return join([*blocks, paragraph(f"截至{ctx.when}，{missing.removeprefix('另有')}{text}")])
    blocks.append(paragraph(f"对照年度目标，{ctx.region}共有{len(items)}项指标滞后或未达标，主要是："))
    lis = "".join(f"<li>{esc(ctx.plan.task(r.task).title)}。{esc(indicator_sentence(ctx.plan, r))}</li>"
                  for r in items)
    return join([*blocks, Block(f'<ol class="plain">{lis}</ol>'), *([paragraph(missing)] if missing else [])])


def _next_steps(ctx: ReportContext) -> Block:
    blocks = [heading(2, "四、下一步工作打算", ctx.numbering, "part-4")]
    steps = ctx.commentary.next_steps
    if not steps:
        return join([*blocks, paragraph(f"下一步工作打算尚未填写（由相关{ctx.plan.department_label}"
                                             "在补充说明文件中提供，本报告不代为拟写）。")])
    return join([*blocks, *(paragraph(f"{i}. {s}")
                            for i, s in enumerate(steps, start=1))])


def _appendix(ctx: ReportContext) -> Block:
    label = ctx.plan.township_label
    blocks = [heading(2, f"附件：各{label}指标完成情况", ctx.numbering, "appendix")]
    rates = ctx.done_rates()
    counts = {t: status_summary(list(res.values())) for t, res in ctx.by_township.items()}
    shown = status_columns(list(counts.values()))
    rows = [[t, str(sum(c.values()))] + [str(c[k]) for k in shown] + [f"{rates[t] * 100:.1f}%"]
            for t, c in counts.items()]
    n = ctx.numbering.next_table()
    blocks.append(table([label, "适用指标", *(k.value for k in shown), "达标率"], rows, number=n,
                        caption=f"各{label}指标状态汇总"))
    towns = list(ctx.by_township)
    if len(towns) <= MATRIX_MAX_TOWNSHIPS:
        ids = [r.indicator_id for r in ctx.banner_results if get_kind(r.kind).proportion
               and ctx.plan.indicator(r.indicator_id).level != "banner"]
        whole = {r.indicator_id: r.actual_text for r in ctx.banner_results}
        caption = f"主要{kind_words([ctx.plan.indicator(i).kind for i in ids])}指标分{label}情况"
        groups = matrix_groups(towns)
        for k, group in enumerate(groups, start=1):  # a table per group, each as wide as an A4 page holds
            matrix = [[ctx.plan.indicator(i).name, whole[i]]
                      + [ctx.by_township[t][i].actual_text if i in ctx.by_township[t] else "—" for t in group]
                      for i in ids]
            m = ctx.numbering.next_table()
            part = f"（{cn_number(k)}）" if len(groups) > 1 else ""
            blocks.append(table(["指标", ctx.region, *group], matrix, number=m, caption=caption + part, cls="matrix"))
    else:
        blocks.append(paragraph(f"{label}较多，分{label}指标明细见各{label}进展报告。", "note"))
    return join(blocks)


class ReviewReport(ReportKind):
    """The one year-end review of a build: ``--only review``. Its build key covers all the data (the
    default): it shows the whole county."""

    name = "review"
    label = "年度工作总结"
    notebook = "year_end_review.ipynb"
    order = 30

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"{plan.issuer}{plan.year}年工作总结"

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        return [self.job(self.name, "year-end-review", plan)]


register(ReviewReport())
