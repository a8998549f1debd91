"""The section report (分部分进展报告): every task of one plan section, its figures, projects, activities."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from edureport.core.errors import ReportParameterError, for_display
from edureport.data.store import DataSet
from edureport.metrics.compute import status_summary
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown
from edureport.plan.model import Plan
from edureport.report.blocks import change_part, figure_span, figures_for, indicator_table
from edureport.report.context import ReportContext, activities_block, closing_note, cover, projects_block
from edureport.report.htmlkit import Block, cn_number, esc, heading, join, paragraph, table
from edureport.report.kinds import Job, ReportKind, register, section_rows
from edureport.report.narrative import summary_sentence, task_paragraph


def section_cover(ctx: ReportContext) -> Block:
    s = ctx.plan.section(ctx.section)
    return cover(ctx, f"{s.number}、{s.title}")


def section_summary(ctx: ReportContext) -> Block:
    """一、总体情况: how many indicators are 达标 / 进展正常 / 滞后 / 未达标."""
    results = ctx.results(indicators=ctx.plan.indicators_in(ctx.section))
    counts = status_summary(results)
    tasks = ctx.plan.tasks_in(ctx.section)
    n = ctx.numbering.next_table()
    rows = [[s.value, str(c)] for s, c in counts.items()]
    text = (f"本部分共{len(tasks)}项重点任务。截至{ctx.when}，{ctx.region}"
            f"{summary_sentence(counts, '量化指标')}各状态指标数见表{n}。")
    return join([heading(2, "一、总体情况"), paragraph(text),
                 table(["状态", "指标数"], rows, number=n, caption="本部分指标状态汇总", cls="summary")])


def section_tasks(ctx: ReportContext) -> Block:
    """二、重点任务进展: per task a paragraph, the commentary, the indicator table and charts."""
    blocks = [heading(2, "二、重点任务进展")]
    for i, task in enumerate(ctx.plan.tasks_in(ctx.section), start=1):
        results = ctx.results(indicators=ctx.plan.indicators_in(task=task.id))
        blocks.append(heading(3, f"（{cn_number(i)}）{task.title}"))
        blocks.append(Block(f'<p class="meta">任务{task.id}　牵头单位：{esc(task.lead)}</p>'))
        text = task_paragraph(ctx.plan, task, results, ctx.as_of)
        if not results:
            blocks.append(paragraph(text))
            continue
        figs = figures_for(ctx, results)
        tab, n = indicator_table(ctx, results, f"{task.title}主要指标")
        refs = f"主要指标见表{n}"
        if figs.trends or figs.towns:  # name only the kinds of chart there are
            towns_word = f"分{ctx.plan.township_label}"
            what = f"逐月及{towns_word}" if figs.trends and figs.towns else ("逐月" if figs.trends else towns_word)
            refs += f"，{what}情况见{figure_span(figs.trends + figs.towns)}"
        blocks.append(paragraph(f"{text}{refs}。"))
        note = ctx.commentary.for_task(task.id)
        blocks.append(paragraph(f"补充说明：{note}" if note else f"补充说明：暂无（相关{ctx.plan.department_label}尚未填写）。", "commentary"))
        blocks += [tab, figs.block]
    return join(blocks)


def section_projects(ctx: ReportContext) -> Block:
    tasks = {t.id for t in ctx.plan.tasks_in(ctx.section)}
    ids = [p.id for p in ctx.plan.projects if p.task in tasks]
    if not ids:
        return Block("")
    return join([heading(2, "三、建设项目"), projects_block(ctx, ids)])


def section_activities(ctx: ReportContext) -> Block:
    number = "四" if any(p.task in {t.id for t in ctx.plan.tasks_in(ctx.section)} for p in ctx.plan.projects) else "三"
    tasks = [t.id for t in ctx.plan.tasks_in(ctx.section)]
    return join([heading(2, f"{number}、活动开展情况"), activities_block(ctx, tasks)])


def section_report(ctx: ReportContext) -> Block:
    """The whole report in one block (the notebook shows the parts cell by cell)."""
    return join([section_cover(ctx), section_summary(ctx), change_part(ctx), section_tasks(ctx), section_projects(ctx),
                 section_activities(ctx), closing_note(ctx)])


class SectionReport(ReportKind):
    """One report per plan section: ``--only section:2`` (its position) or ``section:二`` (its number).
    Its build key covers its indicators', tasks' and projects' rows in every township (it compares them)."""

    name = "section"
    label = "分部分进展报告"
    notebook = "section_report.ipynb"
    parameters = ("section",)
    order = 10
    group = (10, "各部分")

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"第{plan.section(parameters['section']).number}部分进展报告"

    def resolve(self, plan: Plan, units: Callable[[], Sequence[str]], **parameters: Any) -> dict[str, Any]:
        """``section``: its position (2, "2", "２") or its number as the plan writes it (二, 第二部分); ""
        is the first section."""
        given = parameters.get("section", "")
        numbers = [s.number for s in plan.sections]
        if isinstance(given, float) and given.is_integer():
            given = int(given)
        text = unicodedata.normalize("NFKC", str(given)).strip().removeprefix("第").removesuffix("部分").strip()
        if not text:
            return {**parameters, "section": numbers[0]}
        if text in numbers:
            return {**parameters, "section": text}
        if not isinstance(given, bool) and text.isdecimal() and 1 <= int(text) <= len(numbers):
            return {**parameters, "section": numbers[int(text) - 1]}
        raise ReportParameterError(f"参数 section（部分）的值“{for_display(given)}”不是工作要点中的部分；"
                                   f"可用：1～{len(numbers)} 或 {'、'.join(numbers)}")

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        return [self.job(f"{self.name}:{i}", f"{self.name}-{i}", plan, section=s.number)
                for i, s in enumerate(plan.sections, start=1)]

    def subset(self, **parameters: Any) -> dict[str, str]:
        return {"section": parameters["section"]}

    def aliases(self, job: Job) -> list[str]:
        return [f"{self.name}:{job.parameters['section']}"]

    def data_digests(self, job: Job, data: DataSet, *, shown_results: Shown = NOTHING_SHOWN) -> dict[str, str]:
        plan = data.plan
        section = job.parameters["section"]
        tasks = [t.id for t in plan.tasks_in(section)]
        return section_rows(data, [i.id for i in plan.indicators_in(section)], tasks,
                            [p.id for p in plan.projects if p.task in tasks])


register(SectionReport())
