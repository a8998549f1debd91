"""The department report (分部门进展报告, ``report/department.py``): one per department named in the plan's
``lead``s, each listing exactly the tasks it leads; true sentences for every status; a build key that
covers exactly what it shows; built by ``edureport build`` and listed on the index in its own group."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from edureport.batch.build import build
from edureport.batch.jobs import select_jobs
from edureport.core.errors import ReportParameterError
from edureport.core.status import STATUS_ORDER, Status
from edureport.data.store import load_data
from edureport.plan.load import load_plan
from edureport.plan.model import Plan
from edureport.report import department as report
from edureport.report.catalog import get_report_kind
from edureport.report.context import ReportContext
from edureport.report.kinds import name_stem

from .conftest import DEMO, PLAN_2023

AS_OF = "2023-12-31"
KIND = get_report_kind("department")


def leads(plan: Plan) -> dict[str, set[int]]:
    """Department → the ids of the tasks whose ``lead`` names it, read from the plan independently of the
    module (the separators the plan format allows between departments: 、，,；; / and spaces)."""
    out: dict[str, set[int]] = {}
    for task in plan.tasks:
        for name in re.split(r"[、，,；;/／\s]+", task.lead):
            if name:
                out.setdefault(name, set()).add(task.id)
    return out


def common(plan_file: Path = PLAN_2023, data_dir: Path = DEMO) -> dict[str, str]:
    return {"plan_file": str(plan_file), "data_dir": str(data_dir), "as_of": AS_OF}


def listed_tasks(html: str) -> set[int]:
    """The task numbers a report's 重点任务进展 lists (each task's line under its heading)."""
    return {int(n) for n in re.findall(r'<p class="meta">第[^<]*部分　任务(\d+)　', html)}


# --- One report per department, each with exactly its tasks --------------------------------------------


def test_a_report_for_every_lead_of_the_demo_plan(plan: Plan) -> None:
    expected = leads(plan)
    jobs = KIND.jobs(plan, [])
    assert {j.parameters["department"] for j in jobs} == set(expected)
    assert len(jobs) == len(expected) == 21  # the demo plan's 30 tasks name 21 departments
    for job in jobs:
        name = job.parameters["department"]
        assert job.key == f"department:{name}" and job.stem == name_stem("department", name)
        assert job.title == f"{name}2023年工作进展报告"
    (only,) = select_jobs(plan, ["图克镇"], ["department:基础教育股"])
    assert only.parameters == {"department": "基础教育股"}


def test_each_report_lists_exactly_the_tasks_its_department_leads(plan: Plan) -> None:
    ctx = ReportContext.load("department", department="基础教育股", **common())
    for name, tasks in leads(plan).items():
        ctx.parameters["department"] = name  # one context (the data are the same), each department's content
        html = str(report.department_tasks(ctx).html)
        assert listed_tasks(html) == tasks, name
        for task in tasks:
            assert plan.task(task).title in html


@pytest.fixture
def shared_plan(tmp_path: Path) -> Path:
    """The demo plan with tasks led by several departments, written with each separator."""
    data = yaml.safe_load(PLAN_2023.read_text(encoding="utf-8"))
    leads_by_task = {4: "人事师资股、基础教育股", 5: "基础教育股，德育体卫艺股", 6: "德育体卫艺股; 教研室",
                     7: "教研室／民族教育股", 8: "民族教育股 语言文字工作办公室", 9: "新设股(试点)；基础教育股"}
    for task in data["tasks"]:
        task["lead"] = leads_by_task.get(task["id"], task["lead"])
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_task_of_several_departments_is_in_each(shared_plan: Path) -> None:
    plan = load_plan(shared_plan)
    expected = leads(plan)
    assert expected["基础教育股"] >= {4, 5, 9} and expected["教研室"] >= {6, 7} and "新设股(试点)" in expected
    jobs = {j.parameters["department"]: j for j in KIND.jobs(plan, [])}
    assert set(jobs) == set(expected)
    assert jobs["新设股(试点)"].stem == "department-新设股(试点)"  # through name_stem: a readable name stays
    ctx = ReportContext.load("department", department="基础教育股", **common(shared_plan))
    for name in ("基础教育股", "德育体卫艺股", "教研室", "人事师资股", "新设股(试点)"):
        ctx.parameters["department"] = name
        assert listed_tasks(str(report.department_tasks(ctx).html)) == expected[name], name


def test_the_department_parameter() -> None:
    plan = load_plan(PLAN_2023)
    assert KIND.resolve(plan, list, department="") == {"department": "机关党委"}  # the first lead
    assert KIND.resolve(plan, list, department=" 基础教育股 ") == {"department": "基础教育股"}
    with pytest.raises(ReportParameterError) as caught:
        KIND.resolve(plan, list, department="火星股")
    assert "火星股" in str(caught.value) and "基础教育股" in str(caught.value)


# --- Sentences true for every status --------------------------------------------------------------------


def _counts(**n: int) -> dict[Status, int]:
    return {s: n.get(s.name, 0) for s in STATUS_ORDER}


@pytest.mark.parametrize("status", STATUS_ORDER)
@pytest.mark.parametrize(("overdue", "projects", "behind"), [(0, 0, 0), (2, 0, 1), (0, 3, 0), (1, 1, 4)])
def test_summary_sentence_is_true(status: Status, overdue: int, projects: int, behind: int) -> None:
    text = report.summary_text("基础教育股", ["二", "三"], 3, "2023年12月31日", "全旗", _counts(**{status.name: 4}),
                               overdue, projects, behind, "苏木镇")
    assert text.startswith("基础教育股牵头3项重点任务（分属第二部分、第三部分）。截至2023年12月31日，全旗共4个量化指标，")
    assert f"其中{status.value}4个。" in text
    assert text.split("其中")[1].split("。")[0].split("，") == [f"{status.value}4个"]  # no other status named
    late = text.split("。")[2]
    if overdue or projects:
        assert (f"指标{overdue}项" in late) == bool(overdue) and (f"建设项目{projects}个" in late) == bool(projects)
        assert late.startswith("已过完成时限仍未完成的有")
    else:
        assert late == "没有已过完成时限仍未完成的指标或建设项目"
    assert text.endswith(f"{behind}项指标有苏木镇滞后或未达标。" if behind else "没有苏木镇在这些指标上滞后或未达标。")


@pytest.mark.parametrize(("count", "text"), [
    (0, "—"),
    (3, "3个：镇1、镇2、镇3"),
    (20, "20个：" + "、".join(f"镇{i}" for i in range(1, 21))),
    (412, "412个：" + "、".join(f"镇{i}" for i in range(1, 21)) + "等"),  # a city: the first 20, and 等
])
def test_units_behind_are_counted_and_at_most_twenty_named(count: int, text: str) -> None:
    assert report.units_text([f"镇{i}" for i in range(1, count + 1)]) == text


def test_summary_names_each_status_with_its_count() -> None:
    counts = _counts(DONE=3, LAGGING=1, MISSED=2, NO_DATA=1)
    text = report.summary_text("教研室", ["三"], 1, "2023年9月30日", "全旗", counts, 0, 0, 1, "苏木镇")
    assert "全旗共7个量化指标，其中达标3个，滞后1个，未达标2个，无数据1个。" in text and "进展正常" not in text


def test_summary_without_indicators_claims_nothing_about_them() -> None:
    text = report.summary_text("办公室", ["五"], 1, "2023年12月31日", "全旗", _counts(), 0, 0, 0, "苏木镇")
    assert text == ("办公室牵头1项重点任务（属第五部分）。截至2023年12月31日，全旗没有适用的量化指标。"
                    "没有已过完成时限仍未完成的指标或建设项目。")


def test_overdue_and_lagging_units_match_the_results(plan: Plan) -> None:
    """Every overdue item listed is past its due date and not done; every unit named is behind on that
    indicator (and every unit behind is named), at a date when some are."""
    ctx = ReportContext.load("department", department="群众体育股", **{**common(), "as_of": "2023-08-31"})
    every = ctx.by_township
    seen_behind = False
    for name in leads(plan):
        ctx.parameters["department"] = name
        mine = {i.id for i in report.indicators_of(plan, name)}
        for r in report.overdue(report._banner(ctx)):
            assert r.indicator_id in mine and r.overdue and r.status in (Status.LAGGING, Status.MISSED)
        for r, late, missed in report.behind_units(ctx):
            assert r.indicator_id in mine
            assert late == [t for t, res in every.items() if r.indicator_id in res
                            and res[r.indicator_id].status is Status.LAGGING]
            assert missed == [t for t, res in every.items() if r.indicator_id in res
                              and res[r.indicator_id].status is Status.MISSED]
            seen_behind = seen_behind or bool(late or missed)
    assert seen_behind  # not vacuous: some units are behind on some department's indicator
    ctx.parameters["department"] = "计划基建股"
    text = str(report.department_overdue(ctx).html)
    assert "以下3个建设项目已过计划时间仍未到达目标阶段" in text and "指标已过完成时限" not in text
    assert "表1　建设项目进展" in text and text.count('<span class="flag">逾期</span>') == 3


def test_an_overdue_milestone_is_listed(plan: Plan, tmp_path: Path) -> None:
    """T21-1 (群众体育股, region level, due 2023-06-30) never done: overdue and 滞后 at the end of September."""
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    path = data / "observations.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(line.replace(",T21-1,1,", ",T21-1,0,") for line in lines) + "\n", encoding="utf-8-sig")
    ctx = ReportContext.load("department", department="群众体育股", **{**common(data_dir=data), "as_of": "2023-09-30"})
    (late,) = report.overdue(report._banner(ctx))
    assert late.indicator_id == "T21-1" and late.status is Status.LAGGING
    text = str(report.department_overdue(ctx).html)
    assert "以下1项指标已过完成时限仍未完成" in text and "已超过6月30日的完成时限，进度滞后" in text
    summary = str(report.department_summary(ctx).html)
    assert "已过完成时限仍未完成的有指标1项。" in summary


# --- The build key covers exactly what the report reads -----------------------------------------------


def _edit(folder: Path, name: str, match, change) -> None:
    """Change the first row for which ``match(fields)`` holds, in place."""
    path = folder / name
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    i = next(n for n, line in enumerate(lines[1:], start=1) if match(line.split(",")))
    fields = lines[i].split(",")
    change(fields)
    lines[i] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def test_data_digests_cover_its_indicators_and_projects_only(plan: Plan, tmp_path: Path) -> None:
    jobs = {j.parameters["department"]: j for j in KIND.jobs(plan, [])}
    before = {d: KIND.data_digests(j, load_data(DEMO, plan)) for d, j in jobs.items()}

    def after(edit) -> set[str]:
        folder = tmp_path / f"data-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(DEMO, folder)
        edit(folder)
        ds = load_data(folder, plan)
        return {d for d, j in jobs.items() if KIND.data_digests(j, ds) != before[d]}

    def bump(fields: list[str], at: int) -> None:
        fields[at] = str(int(float(fields[at])) + 1)

    # an observation of task 21 (群众体育股), a township row
    assert after(lambda f: _edit(f, "observations.csv", lambda x: x[3] == "T21-4" and x[2], lambda x: bump(x, 4))) \
        == {"群众体育股"}
    # an activity of task 4 (基础教育股): the department report lists no activities
    assert after(lambda f: _edit(f, "activities.csv", lambda x: x[1] == "4", lambda x: bump(x, 5))) == set()
    # a project of task 10 (计划基建股)
    assert after(lambda f: _edit(f, "projects.csv", lambda x: x[1] == "P03", lambda x: bump(x, 3))) == {"计划基建股"}


def test_incremental_build_and_the_index(tmp_path: Path) -> None:
    """A real build of two department reports: listed in their own index group; new data for another
    department's indicator leaves one unchanged and rebuilds the other."""
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    only = ["department:基础教育股", "department:群众体育股", "section:1"]
    args = {"plan_file": PLAN_2023, "as_of": AS_OF, "out": tmp_path / "out", "only": only, "formats": ("html",),
            "jobs": 3}
    first = build(data_dir=data, **args)
    assert not first.failed, [r.error for r in first.failed]
    assert {r.status for r in first.results} == {"built"}
    folder = tmp_path / "out" / "2023" / AS_OF
    html = (folder / "html" / "department-基础教育股.html").read_text(encoding="utf-8")
    assert "<title>基础教育股2023年工作进展报告</title>" in html and "一、总体情况" in html
    assert listed_tasks(html) == leads(load_plan(PLAN_2023))["基础教育股"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<h2>([^<]*)</h2>", index)[:2] == ["各部分", "各股室"]
    group = index.split("<h2>各股室</h2>")[1].split("</section>")[0]
    assert "基础教育股2023年工作进展报告" in group and "群众体育股2023年工作进展报告" in group
    assert "第一部分进展报告" not in group

    _edit(data, "observations.csv", lambda x: x[3] == "T21-4" and x[2], lambda x: x.__setitem__(4, str(int(x[4]) + 1)))
    second = build(data_dir=data, **args)
    assert {r.job.key: r.status for r in second.results} == {
        "department:基础教育股": "unchanged", "department:群众体育股": "built", "section:1": "unchanged"}
