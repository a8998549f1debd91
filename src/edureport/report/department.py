"""The department report (分部门进展报告): the tasks one department (股室/科室: a task's ``lead``) leads,
across all sections — their indicators, what is past its due date and not done, and the units behind.

A task led by several departments ("人事股、基础教育股") is in each one's report (``departments_of``).
The report reads its tasks' indicators (the region's figures and each unit's) and the projects of its
tasks, nothing else: its build key (``DepartmentReport.data_digests``) covers exactly those rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from edureport.core.errors import ReportParameterError, for_display
from edureport.core.status import Status
from edureport.data.projects import project_table
from edureport.data.store import DataSet
from edureport.kinds import get_kind
from edureport.metrics.compute import IndicatorResult, status_summary
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown
from edureport.plan.model import Indicator, Plan, Task
from edureport.report.blocks import change_part, indicator_table, lagging
from edureport.report.context import ReportContext, closing_note, cover, projects_block
from edureport.report.htmlkit import Block, cn_number, esc, heading, join, paragraph, table
from edureport.report.kinds import Job, ReportKind, register, section_rows, unique_stems
from edureport.report.narrative import indicator_sentence, summary_sentence, task_paragraph

# What separates departments in one ``lead``: 、，,；; / ／ and any space (also the ideographic one).
SEPARATORS = re.compile(r"[、，,；;/／\s]+")


# --- Departments of the plan ---------------------------------------------------------------------------

def departments_of(task: Task) -> list[str]:
    """The departments a task's ``lead`` names, in its order, each once."""
    names = (unicodedata.normalize("NFC", n).strip() for n in SEPARATORS.split(task.lead))
    return list(dict.fromkeys(n for n in names if n))


def departments(plan: Plan) -> list[str]:
    """Every department the plan's tasks name, in order of first appearance."""
    return list(dict.fromkeys(d for t in plan.tasks for d in departments_of(t)))


def tasks_of(plan: Plan, department: str) -> list[Task]:
    """The tasks whose ``lead`` names the department, in plan order."""
    return [t for t in plan.tasks if department in departments_of(t)]


def indicators_of(plan: Plan, department: str) -> list[Indicator]:
    return [i for t in tasks_of(plan, department) for i in plan.indicators_in(task=t.id)]


def projects_of(plan: Plan, department: str) -> list[str]:
    """The projects of its tasks and those its indicators follow, in plan order."""
    tasks = {t.id for t in tasks_of(plan, department)}
    named = {p for i in indicators_of(plan, department) for p in i.projects}
    return [p.id for p in plan.projects if p.task in tasks or p.id in named]


# --- Sentences (pure: tested against every status in tests/test_department.py) --------------------------

def summary_text(department: str, sections: list[str], tasks: int, when: str, region: str,
                 counts: dict[Status, int], overdue: int, projects: int, behind: int, township_label: str) -> str:
    """一、总体情况 in words: the tasks, the indicators by status, what is overdue (indicators, projects),
    on how many indicators some units are behind."""
    where = "、".join(f"第{s}部分" for s in sections)
    text = f"{department}牵头{tasks}项重点任务" + (f"（{'分属' if len(sections) > 1 else '属'}{where}）" if where else "") + "。"
    text += f"截至{when}，{region}{summary_sentence(counts, '量化指标')}"
    late = [f"指标{overdue}项"] * bool(overdue) + [f"建设项目{projects}个"] * bool(projects)
    text += f"已过完成时限仍未完成的有{'、'.join(late)}。" if late else "没有已过完成时限仍未完成的指标或建设项目。"
    if sum(counts.values()):
        text += (f"{behind}项指标有{township_label}滞后或未达标。" if behind
                 else f"没有{township_label}在这些指标上滞后或未达标。")
    return text


# Names listed per cell of 四、滞后的单位. A city's 600 townships put 400 names in one cell: unreadable, and
# WeasyPrint's table layout measured every possible line break of them (31 s of a 32 s department report).
UNITS_SHOWN = 20


def units_text(names: list[str]) -> str:
    """“3个：甲镇、乙镇、丙镇” or “—”; beyond ``UNITS_SHOWN`` names the first of them (register order) and
    “等” (“412个：示例镇1、……、示例镇20等”)."""
    if not names:
        return "—"
    shown = "、".join(names[:UNITS_SHOWN])
    return f"{len(names)}个：{shown}" + ("等" if len(names) > UNITS_SHOWN else "")


# --- The report's parts --------------------------------------------------------------------------------

def _department(ctx: ReportContext) -> str:
    return ctx.parameters["department"]


def _banner(ctx: ReportContext) -> list[IndicatorResult]:
    return ctx.results(indicators=indicators_of(ctx.plan, _department(ctx)))


def overdue(results: list[IndicatorResult]) -> list[IndicatorResult]:
    """Past the due date and not done (滞后 or 未达标): milestones, projects, any kind."""
    return [r for r in lagging(results) if r.overdue]


def late_projects(ctx: ReportContext) -> list[str]:
    """The department's projects past their planned date and not at their goal stage (``project_table``)."""
    ids = projects_of(ctx.plan, _department(ctx))
    frame = project_table(ctx.data, ctx.as_of, ids) if ids else None
    return [] if frame is None or frame.empty else [str(p) for p in frame.loc[frame["overdue"], "project_id"]]


def behind_units(ctx: ReportContext) -> list[tuple[IndicatorResult, list[str], list[str]]]:
    """Per indicator of the department's (region-wide result, plan order): the units 滞后 and 未达标 on
    it; only indicators with at least one such unit."""
    out = []
    for r in _banner(ctx):
        units = ctx.township_statuses(r.indicator_id)
        late = [t for t, s in units if s is Status.LAGGING]
        missed = [t for t, s in units if s is Status.MISSED]
        if late or missed:
            out.append((r, late, missed))
    return out


def department_cover(ctx: ReportContext) -> Block:
    return cover(ctx, f"《{ctx.plan.title}》分{ctx.plan.department_label}进展报告")


def department_summary(ctx: ReportContext) -> Block:
    """一、总体情况: one paragraph."""
    tasks = tasks_of(ctx.plan, _department(ctx))
    results = _banner(ctx)
    sections = list(dict.fromkeys(t.section for t in tasks))
    text = summary_text(_department(ctx), sections, len(tasks), ctx.when, ctx.region, status_summary(results),
                        len(overdue(results)), len(late_projects(ctx)), len(behind_units(ctx)),
                        ctx.plan.township_label)
    return join([heading(2, "一、总体情况"), paragraph(text)])


def department_change(ctx: ReportContext) -> Block:
    """较上期变化 of the department's indicators (region-wide) and of its tasks' projects."""
    return change_part(ctx, _banner(ctx))


def department_tasks(ctx: ReportContext) -> Block:
    """二、重点任务进展: per task its sentences, the commentary and the indicator table."""
    blocks = [heading(2, "二、重点任务进展")]
    for i, task in enumerate(tasks_of(ctx.plan, _department(ctx)), start=1):
        results = ctx.results(indicators=ctx.plan.indicators_in(task=task.id))
        blocks.append(heading(3, f"（{cn_number(i)}）{task.title}"))
        blocks.append(Block(f'<p class="meta">第{esc(task.section)}部分　任务{task.id}　牵头单位：{esc(task.lead)}</p>'))
        text = task_paragraph(ctx.plan, task, results, ctx.as_of)
        if not results:
            blocks.append(paragraph(text))
            continue
        tab, n = indicator_table(ctx, results, f"{task.title}主要指标")
        blocks.append(paragraph(f"{text}主要指标见表{n}。"))
        note = ctx.commentary.for_task(task.id)
        blocks.append(paragraph(f"补充说明：{note}" if note else "补充说明：暂无（尚未填写）。", "commentary"))
        blocks.append(tab)
    return join(blocks)


def department_overdue(ctx: ReportContext) -> Block:
    """三、逾期未完成事项: indicators past their due date and not done, and the overdue projects."""
    late, projects = overdue(_banner(ctx)), late_projects(ctx)
    blocks = [heading(2, "三、逾期未完成事项")]
    if not late and not projects:
        return join([*blocks, paragraph("没有已过完成时限仍未完成的指标或建设项目。")])
    if late:
        lis = "".join(f"<li>{esc(indicator_sentence(ctx.plan, r))}</li>" for r in late)
        blocks += [paragraph(f"以下{len(late)}项指标已过完成时限仍未完成："), Block(f'<ol class="plain">{lis}</ol>')]
    if projects:
        blocks += [paragraph(f"以下{len(projects)}个建设项目已过计划时间仍未到达目标阶段："), projects_block(ctx, projects)]
    return join(blocks)


def department_units(ctx: ReportContext) -> Block:
    """四、需要督促的单位: per indicator the units 滞后 and 未达标 on it."""
    label = ctx.plan.township_label
    rows = behind_units(ctx)
    blocks = [heading(2, f"四、滞后的{label}")]
    if not rows:
        return join([*blocks, paragraph(f"没有{label}在本{ctx.plan.department_label}牵头的指标上滞后或未达标。")])
    n = ctx.numbering.next_table()
    shared = any(get_kind(r.kind).shares_target(ctx.plan.indicator(r.indicator_id)) for r, _, _ in rows)
    many = any(len(late) > UNITS_SHOWN or len(missed) > UNITS_SHOWN for _, late, missed in rows)
    text = f"以下{len(rows)}项指标有{label}滞后或未达标，见表{n}。" + (
        f"超过{UNITS_SHOWN}个的只列出名录中的前{UNITS_SHOWN}个；各{label}的情况见各自的进展报告。" if many else "") + (
        f"各{label}按本级目标判断，{ctx.region}目标按适用单位数分解的指标，分解目标按本级适用单位数占{ctx.region}的比例计算。"
        if shared else "")
    body = [[r.name, r.target_text, r.actual_text, units_text(late), units_text(missed)] for r, late, missed in rows]
    return join([*blocks, paragraph(text),
                 table(["指标", f"{ctx.region}目标", f"{ctx.region}实际", Status.LAGGING.value, Status.MISSED.value], body,
                       number=n, caption=f"滞后或未达标的{label}", cls="units")])


def department_report(ctx: ReportContext) -> Block:
    return join([department_cover(ctx), department_summary(ctx), department_tasks(ctx), department_overdue(ctx),
                 department_units(ctx), closing_note(ctx)])


class DepartmentReport(ReportKind):
    """One report per department named in the plan's ``lead``s: ``--only department:基础教育股``. Its build
    key covers its indicators' rows in every unit and its projects' rows (it prints the region's and each
    unit's figures of those indicators, and those projects), not activities (it lists none)."""

    name = "department"
    label = "分部门进展报告"
    notebook = "department_report.ipynb"
    parameters = ("department",)
    order = 15
    group = (15, "各{department}")

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"{parameters['department']}{plan.year}年工作进展报告"

    def resolve(self, plan: Plan, units: Callable[[], Sequence[str]], **parameters: Any) -> dict[str, Any]:
        """``department``: one the plan's ``lead``s name; "" is the first."""
        given = parameters.get("department", "")
        name = unicodedata.normalize("NFC", str(given)).strip()
        names = departments(plan)
        if not name and names:
            return {**parameters, "department": names[0]}
        if name in names:
            return {**parameters, "department": name}
        raise ReportParameterError(f"参数 department（{plan.department_label}）的值“{for_display(given)}”不是工作要点"
                                   f"中任务的牵头单位；可用：{'、'.join(names) or '无'}")

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        names = departments(plan)
        stems = unique_stems(self.name, names)
        return [self.job(f"{self.name}:{d}", stems[d], plan, department=d) for d in names]

    def data_digests(self, job: Job, data: DataSet, *, shown_results: Shown = NOTHING_SHOWN) -> dict[str, str]:
        plan, name = data.plan, job.parameters["department"]
        # no tasks: the activities' digest is that of no rows (the report lists no activities)
        return section_rows(data, [i.id for i in indicators_of(plan, name)], [], projects_of(plan, name))


register(DepartmentReport())
