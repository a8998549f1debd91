"""The 2023 plan file holds every section, task and stated figure; bad plan files are refused in full."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from edureport.core.errors import PlanError
from edureport.plan.load import load_plan
from edureport.plan.model import Plan

from .conftest import MINI, PLAN_2023, ROOT


def test_plan_shape(plan: Plan) -> None:
    assert [s.number for s in plan.sections] == list("一二三四五六")
    assert [t.id for t in plan.tasks] == list(range(1, 31))
    assert len(plan.indicators) >= 45
    assert all(plan.indicators_in(task=t.id) for t in plan.tasks), "every task has an indicator"
    assert plan.issuer == "乌审旗教育体育局" and plan.year == 2023


def test_task_text_is_transcribed_from_the_source(plan: Plan) -> None:
    # The bureau's text, kept in the repository so this check runs on every clone (CI has no shared/).
    text = (ROOT / "params" / "source" / "2023-work-plan.zh.txt").read_text(encoding="utf-8")
    for task in plan.tasks:
        assert f"{task.id}.{task.text}" in text


def _find(plan: Plan, pattern: str):
    found = [i for i in plan.indicators if re.search(pattern, i.name)]
    assert found, pattern
    return found[0]


@pytest.mark.parametrize(
    ("pattern", "kind", "comparison", "target"),
    [
        ("最强党支部", "ratio", ">=", 50),
        ("^党员教师占比", "ratio", ">=", 40),
        ("党员班主任", "ratio", ">=", 50),
        ("职业启蒙", "ratio", ">=", 40),
        ("关工委", "ratio", ">=", 100),
        ("启动实施项目", "project", ">=", 6),
        ("竣工并投用", "project", ">=", 3),
        ("五课联评", "count", ">=", 1),
        ("智慧校园试点", "count", ">=", 2),
        ("因贫失学辍学", "count", "<=", 0),
        ("重大违纪", "count", "<=", 0),
        ("平安考试", "count", "<=", 0),
        ("体育安全生产大检查", "count", ">=", 3),
    ],
)
def test_stated_figures_are_targets(plan: Plan, pattern: str, kind: str, comparison: str, target: float) -> None:
    ind = _find(plan, pattern)
    assert (ind.kind, ind.comparison, ind.target) == (kind, comparison, target)


@pytest.mark.parametrize(
    ("pattern", "entities"),
    [
        ("示范幼儿园", {"第一幼儿园", "第四幼儿园", "图克幼儿园"}),
        ("优质高中", {"高级中学"}),
        ("落地实施", {"苏力德苏木", "乌审召镇"}),
        ("活动中心项目申报", {"图克镇", "无定河镇", "嘎鲁图镇", "乌兰陶勒盖镇"}),
        ("双普", set()),
        ("推广普通话宣传周", set()),
    ],
)
def test_milestones_name_their_units(plan: Plan, pattern: str, entities: set[str]) -> None:
    ind = _find(plan, pattern)
    assert ind.kind == "milestone"
    assert set(ind.entities) == entities


def test_projects_by_name(plan: Plan) -> None:
    start = {p.name for p in plan.projects if p.goal == "开工"}
    finish = {p.name for p in plan.projects if p.goal == "投用" and p.task == 10}
    assert len(start) == 6 and len(finish) == 3
    assert "迁建高级中学项目" in start and "新建第五幼儿园项目" in finish
    assert any("网际交互教室" in p.name for p in plan.projects)
    assert _find(plan, "网际交互教室").kind == "project"


def test_myopia_must_fall_below_2022(plan: Plan) -> None:
    ind = _find(plan, "近视率")
    assert (ind.kind, ind.comparison, ind.baseline_year) == ("trend", "<baseline", 2022)


def test_guanggongwei_covers_private_kindergartens(plan: Plan) -> None:
    assert not _find(plan, "关工委").stages  # every school and kindergarten, 民办园 included


def test_semester_targets(plan: Plan) -> None:
    spring, autumn = [i for i in plan.indicators if "五课联评" in i.name]
    assert spring.aggregate == autumn.aggregate == "min"  # every school at least once
    assert spring.due < autumn.period_from


def test_second_plan_loads(mini_plan: Plan) -> None:
    assert mini_plan.region == "示例县" and len(mini_plan.tasks) == 3
    assert mini_plan.start.year == 2024


def _code_strings(path: Path) -> list[str]:
    """String constants and names in a module, docstrings excluded (examples there are prose)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docs:
            out.append(str(node.value))
        elif isinstance(node, ast.Name):
            out.append(node.id)
    return out


def test_nothing_of_2023_or_wushen_in_the_code() -> None:
    words = ["乌审", "2023", "嘎鲁图", "图克", "苏力德", "无定河", "乌兰陶勒盖", "高级中学"]
    for path in (ROOT / "src" / "edureport").rglob("*.py"):
        found = [w for s in _code_strings(path) for w in words if w in s]
        assert not found, (path, found)


def _broken(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((MINI / "plan.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "column", "message"),
    [
        (lambda d: d["indicators"].append(dict(d["indicators"][0])), "indicators", "编号重复"),
        (lambda d: d["indicators"][0].update(task=99), "指标 A1.task", "所属任务不存在"),
        (lambda d: d["indicators"][0].update(target="四十"), "指标 A1.target", "应为数字"),
        (lambda d: d["indicators"][0].pop("name"), "指标 A1.name", "缺少必填字段"),
        (lambda d: d["indicators"][0].update(kind="percent"), "指标 A1.kind", "未知指标类型"),
        (lambda d: d["indicators"][0].update(targte=40), "指标 A1.targte", "未知字段"),
        (lambda d: d["indicators"][0].update(level="county"), "指标 A1.level", "应为以下之一"),
        (lambda d: d["indicators"][5].update(projects=["Q9"]), "指标 B2.projects", "引用的项目不存在"),
        (lambda d: d["tasks"][0].update(section="九"), "任务 1.section", "所属部分不存在"),
        (lambda d: d.pop("issuer"), "文件顶层.issuer", "缺少必填字段"),
        (lambda d: d["indicators"][1].pop("target"), "指标 A2.target", "须有数值目标"),
    ],
)
def test_bad_plan_is_refused(tmp_path: Path, edit, column: str, message: str) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(_broken(tmp_path, edit))
    assert any(p.column == column and message in p.message for p in info.value.problems), info.value.render()


def test_all_plan_problems_at_once(tmp_path: Path) -> None:
    def edit(d):
        d["indicators"][0]["task"] = 99
        d["indicators"][1]["target"] = "八"
        d["indicators"].append(dict(d["indicators"][2]))

    with pytest.raises(PlanError) as info:
        load_plan(_broken(tmp_path, edit))
    assert len(info.value.errors) >= 3
    assert all(p.row for p in info.value.problems), "each problem names its line in the YAML"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("title: x\nsections: [\n  - a: b\n", encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert "YAML" in info.value.render() and info.value.problems[0].row


def test_plan_2023_file_is_the_one_in_params() -> None:
    assert PLAN_2023.is_file()
