"""Hostile and malformed plan (工作要点) and commentary (补充说明) files: each is refused with located Chinese
problems, all at once, exit code 2 — never a traceback, a hang or unbounded memory.

The corpus is ``tests/data/hostile/plan/`` and ``tests/data/hostile/commentary/`` (one file per case, each
derived from ``tests/data/mini/plan.yaml`` with one defect); files too big to commit are made in tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from edureport.core.errors import PlanError
from edureport.plan.commentary import CommentaryError, load_commentary
from edureport.plan.load import load_plan
from edureport.plan.model import Plan

from .conftest import MINI, PLAN_2023, run

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
PLANS = sorted((HOSTILE / "plan").glob("*.yaml"))
COMMENTARIES = sorted((HOSTILE / "commentary").glob("*.yaml"))
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _refused(path: Path) -> PlanError:
    with pytest.raises(PlanError) as info:
        load_plan(path)
    return info.value


def test_corpus_is_there() -> None:
    assert len(PLANS) >= 12 and len(COMMENTARIES) >= 3
    assert all(p.stat().st_size < 50_000 for p in PLANS + COMMENTARIES)


@pytest.mark.parametrize("command", [
    ("plan",),
    ("validate", MINI / "data"),
    ("status", "--data", MINI / "data"),
])
@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_hostile_plan_exits_2_in_chinese(path: Path, command: tuple, private_cache: Path) -> None:
    result = run(*command, "--plan", path)
    text = result.stderr + result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text and CHINESE.search(result.stderr), text
    assert "工作要点文件有误" in result.stderr
    assert not any(private_cache.iterdir()), "nothing is cached or written for a refused plan"


# (file, column the problem names (None: the file as a whole), fragment of the message)
CASES = [
    ("plan-billion-laughs.yaml", None, "别名（&/*）展开后元素过多"),
    ("plan-merge-key-bomb.yaml", None, "展开后元素过多"),
    ("plan-alias-chain-depth.yaml", None, "展开后嵌套层数过多"),
    ("plan-recursive-alias.yaml", None, "循环引用"),
    ("plan-deep-nesting.yaml", None, "嵌套层数过多"),
    ("plan-due-feb-30.yaml", "指标 A3.due", "应为日期（YYYY-MM-DD）"),
    ("plan-start-basic-date.yaml", "文件顶层.start", "应为日期（YYYY-MM-DD）"),
    ("plan-target-inf.yaml", "指标 A2.target", "应为有限的数字"),
    ("plan-target-nan.yaml", "指标 A2.target", "应为有限的数字"),
    ("plan-target-negative.yaml", "指标 A2.target", "不能为负数"),
    ("plan-target-octal.yaml", "指标 A2.target", "应为数字"),  # YAML 1.1 would read 8
    ("plan-target-hex.yaml", "指标 A2.target", "应为数字"),  # 16
    ("plan-target-binary.yaml", "指标 A2.target", "应为数字"),  # 5
    ("plan-target-sexagesimal.yaml", "指标 A2.target", "应为数字"),  # 90
    ("plan-target-1e308.yaml", "指标 A2.target", "目标过大（上限 1,000,000,000）"),
    ("plan-target-1e308-plain.yaml", "指标 A2.target", "应为数字（不加引号"),
    ("plan-huge-integer.yaml", "指标 A2.target", "应为数字"),
    ("plan-int-tag-text.yaml", "指标 A2.target", "应为数字"),
    ("plan-ratio-target-150.yaml", "指标 A1.target", "百分数，应在 0～100 之间"),
    ("plan-project-target-over-list.yaml", "指标 B2.target", "应为 1 至所列项目数（1）之间的整数"),
    ("plan-due-outside-year.yaml", "指标 A3.due", "完成时限应在工作要点年度内（2024-01-01～2024-12-31）"),
    ("plan-period-from-outside-year.yaml", "指标 A2.period_from", "起算日期应在工作要点年度内"),
    ("plan-period-from-after-due.yaml", "指标 A2.period_from", "起算日期晚于完成时限"),
    ("plan-start-end-ten-years.yaml", "start/end", "不超过一年"),
    ("plan-baseline-after-year.yaml", "指标 B1.baseline_year", "基期年份应早于工作要点年度"),
    ("plan-year-zero.yaml", "文件顶层.year", "应在 1900～2100 之间"),
    ("plan-section-without-tasks.yaml", "部分 三", "该部分没有任务"),
    ("plan-section-without-indicators.yaml", "部分 三", "该部分的任务都没有指标"),
    ("plan-top-level-list.yaml", "", "不是键值对结构"),
    ("plan-empty.yaml", "", "文件为空"),
    ("plan-sections-mapping.yaml", "sections", "应为列表"),
    ("plan-task-id-float.yaml", "任务 2.5.id", "应为整数"),
    ("plan-indicator-id-bool.yaml", "指标 True.id", "编号应以英文字母开头"),
    ("plan-indicator-id-path.yaml", "指标 ../../A2.id", "编号应以英文字母开头"),
    ("plan-title-300-chars.yaml", "部分 一.title", "过长（300 字，最多 200 字）"),
    ("plan-title-control-chars.yaml", "部分 一.title", "控制字符或无效字符（U+001B）"),
    ("plan-title-bidi-override.yaml", "部分 一.title", "（U+202E）"),
    ("plan-title-newline.yaml", "部分 一.title", "不能换行"),
    ("plan-duplicate-key.yaml", "year", "键重复"),
    ("plan-tab-indent.yaml", None, "YAML 格式错误"),
    ("plan-nul-byte.yaml", None, "控制字符（U+0000）"),
    ("plan-binary.yaml", None, "须为 UTF-8 编码"),
    ("plan-gbk.yaml", None, "须为 UTF-8 编码"),
    ("plan-bad-binary-tag.yaml", None, "YAML 内容无法读取"),
    ("plan-python-tag.yaml", None, "YAML 内容无法读取"),
]


@pytest.mark.parametrize(("name", "column", "message"), CASES, ids=[c[0] for c in CASES])
def test_hostile_plan_names_the_problem(name: str, column: str | None, message: str) -> None:
    error = _refused(HOSTILE / "plan" / name)
    found = [p for p in error.problems if message in p.message and (column is None or p.column == column)]
    assert found, error.render()
    if column is None or column:  # located: the line of the YAML (a whole-file problem has no line)
        assert found[0].row, error.render()


def test_every_corpus_file_has_a_case() -> None:
    assert {p.name for p in PLANS} == {name for name, _, _ in CASES}


def test_aliases_are_refused_before_python_objects_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """9⁹ nodes are counted, not built: constructing any object from this file would be a failure."""
    def no_construction(self, node):
        raise AssertionError("objects were constructed before the alias bound was checked")

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_document", no_construction)
    error = _refused(HOSTILE / "plan" / "plan-billion-laughs.yaml")
    assert "别名" in error.render()


def _mini_text() -> str:
    return (MINI / "plan.yaml").read_text(encoding="utf-8")


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = (_mini_text().replace("title: 党建引领}", "title: &t 党建引领}")
            .replace("title: 加强党员队伍建设", "title: *t")
            .replace("- {id: A2, task: 1,", "- &a2 {id: A2, task: 1,"))
    text += "- {<<: *a2, id: A5, name: 党员冬训场次}\n"  # a copy of A2 under another code
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    assert plan.task(1).title == "党建引领"
    assert (plan.indicator("A5").target, plan.indicator("A5").unit, plan.indicator("A5").name) == (8, "场", "党员冬训场次")


def test_a_bom_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + _mini_text().encode("utf-8"))
    assert load_plan(path).region == "示例县"


def test_valid_plans_load_unchanged(plan: Plan, mini_plan: Plan) -> None:
    assert len(plan.indicators) == 76 and len(mini_plan.indicators) == 8
    assert max(i.target for i in plan.indicators if i.target is not None) == 3000


def test_a_school_year_plan_is_one_year(tmp_path: Path) -> None:
    """start/end may straddle two calendar years (a school year), as long as it is at most one year."""
    text = _mini_text().replace("year: 2024", "year: 2024\nstart: 2023-09-01\nend: 2024-08-31").replace(
        "due: 2024-03-31", "due: 2023-12-31")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    assert (plan.start.isoformat(), plan.indicator("A3").due.isoformat()) == ("2023-09-01", "2023-12-31")


def test_all_problems_at_once_with_lines(tmp_path: Path) -> None:
    text = (_mini_text().replace("due: 2024-03-31", "due: 2024-02-30").replace("target: 8,", "target: .inf,")
            .replace("target: 40,", "target: -1,").replace("year: 2024", "year: 2024\nregion: 又一县")
            .replace("- {number: 二, title: 教学质量}", "- {number: 二, title: 教学质量}\n- {number: 三, title: 空}"))
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    error = _refused(path)
    messages = {p.column: p.message for p in error.problems}
    assert "应为日期" in messages["指标 A3.due"] and "有限" in messages["指标 A2.target"]
    assert "0～100" in messages["指标 A1.target"] and "键重复" in messages["region"]
    assert "没有任务" in messages["部分 三"]
    assert all(p.row for p in error.problems)
    lines = text.splitlines()
    assert all(p.column.split(".")[-1].split(" ")[0] in lines[p.row - 1] or p.column.startswith("部分")
               for p in error.problems), "each problem names the line of its own field"


def test_a_field_refused_by_its_type_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(_mini_text().replace("target: 8,", "target: '8',"), encoding="utf-8")
    assert len(_refused(path).problems) == 1  # not also "须有数值目标"


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp, "这是一个文件夹"),
    (lambda tmp: tmp / "missing.yaml", "不存在"),
    (lambda tmp: Path("/dev/null"), "不是普通文件"),
])
def test_not_a_plan_file(tmp_path: Path, make, message: str) -> None:
    result = run("plan", "--plan", make(tmp_path))
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_file_size_is_capped(tmp_path: Path) -> None:
    from edureport.plan.yamlfile import MAX_FILE_BYTES

    path = tmp_path / "plan.yaml"
    filler = ("# " + "注" * 40 + "\n") * (MAX_FILE_BYTES // 120 + 1)
    path.write_text(_mini_text() + filler, encoding="utf-8")
    assert path.stat().st_size > MAX_FILE_BYTES
    assert "过大" in _refused(path).render()
    path.write_text(_mini_text() + filler[: len(filler) // 4], encoding="utf-8")  # 1.6 MB of comments: fine
    assert load_plan(path).region == "示例县"


def test_node_count_is_capped(tmp_path: Path) -> None:
    from edureport.plan.yamlfile import MAX_NODES

    path = tmp_path / "plan.yaml"
    path.write_text(_mini_text() + "stages: [" + ", ".join(["小学"] * MAX_NODES) + "]\n", encoding="utf-8")
    assert "元素过多" in _refused(path).render()


@pytest.mark.parametrize(("depth", "refused_by_reader"), [(40, False), (60, True)])
def test_depth_bound(tmp_path: Path, depth: int, refused_by_reader: bool) -> None:
    """Nesting within the bound reaches the field checks (a list is no text); past it, the reader stops."""
    path = tmp_path / "plan.yaml"
    path.write_text(_mini_text().replace("year: 2024", "year: 2024\nsource: " + "[" * depth + "]" * depth),
                    encoding="utf-8")
    problems = _refused(path).problems
    assert any("嵌套层数过多" in p.message for p in problems) == refused_by_reader
    assert any(p.column == "文件顶层.source" for p in problems) != refused_by_reader


# ---- commentary (补充说明) ----

COMMENTARY_CASES = [
    ("commentary-tasks-as-list.yaml", "tasks", "应为键值对"),
    ("commentary-next-steps-mapping.yaml", "next_steps", "应为列表"),
    ("commentary-non-text.yaml", "tasks.1", "应为文字"),
    ("commentary-gbk.yaml", None, "须为 UTF-8 编码"),
    ("commentary-billion-laughs.yaml", None, "展开后元素过多"),
    ("commentary-deep-nesting.yaml", None, "嵌套层数过多"),
    ("commentary-unknown-task.yaml", "tasks.99", "工作要点中没有该任务"),
    ("commentary-control-chars.yaml", "next_steps第1条", "控制字符"),
    ("commentary-top-level-list.yaml", "", "应为键值对结构"),
    ("commentary-duplicate-key.yaml", "1", "键重复"),
    ("commentary-nul-byte.yaml", None, "控制字符（U+0000）"),
    ("commentary-recursive-alias.yaml", None, "循环引用"),
]


@pytest.mark.parametrize("path", COMMENTARIES, ids=lambda p: p.name)
def test_hostile_commentary_is_refused(path: Path, mini_plan: Plan) -> None:
    with pytest.raises(CommentaryError) as info:
        load_commentary(path, mini_plan)
    text = info.value.render()
    assert text.startswith("补充说明文件有误") and all(CHINESE.search(p.message) for p in info.value.problems)
    assert all(p.row for p in info.value.problems), text


@pytest.mark.parametrize(("name", "column", "message"), COMMENTARY_CASES, ids=[c[0] for c in COMMENTARY_CASES])
def test_hostile_commentary_names_the_problem(name: str, column: str | None, message: str, mini_plan: Plan) -> None:
    with pytest.raises(CommentaryError) as info:
        load_commentary(HOSTILE / "commentary" / name, mini_plan)
    assert any(message in p.message and (column is None or p.column == column)
               for p in info.value.problems), info.value.render()


def test_every_commentary_file_has_a_case() -> None:
    assert {p.name for p in COMMENTARIES} == {name for name, _, _ in COMMENTARY_CASES}


def test_commentary_problems_all_at_once(tmp_path: Path, mini_plan: Plan) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("tasks:\n  1: [x]\n  99: y\nnext_steps:\n  - {a: 1}\n  - 好\nnotes: z\n", encoding="utf-8")
    with pytest.raises(CommentaryError) as info:
        load_commentary(path, mini_plan)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, "tasks.1"), (3, "tasks.99"), (5, "next_steps第1条"), (7, "notes")]


def test_huge_commentary_is_refused(tmp_path: Path, mini_plan: Plan) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("next_steps:\n" + ("  - " + "加快进度" * 30 + "\n") * 50_000, encoding="utf-8")
    with pytest.raises(CommentaryError) as info:
        load_commentary(path, mini_plan)
    assert "过大" in info.value.render()


def test_commentary_folder_is_refused_missing_file_is_none(tmp_path: Path, mini_plan: Plan) -> None:
    with pytest.raises(CommentaryError):
        load_commentary(tmp_path, mini_plan)
    assert load_commentary(tmp_path / "none.yaml", mini_plan).tasks == {}


def test_good_commentary_still_loads(tmp_path: Path, plan: Plan) -> None:
    notes = load_commentary(PLAN_2023.parent / "commentary-2023.yaml", plan)
    assert set(notes.tasks) == {2, 10} and len(notes.next_steps) == 2
    path = tmp_path / "c.yaml"
    path.write_text("tasks:\n  1: |\n    第一段。\n    第二段。\n  2:\nnext_steps:\n  - yes\n", encoding="utf-8")
    notes = load_commentary(path, plan)
    assert notes.tasks == {1: "第一段。\n第二段。"} and notes.next_steps == ("yes",)
