"""`edureport validate`: every bad-input case exits 2 naming file, row, column and value; writes nothing."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from edureport.core.errors import DataValidationError
from edureport.data.store import load_data

from .conftest import DEMO, MINI, PLAN_2023, run, tree_digest

MINI_PLAN = MINI / "plan.yaml"


def edit_csv(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def csv_to_xlsx(folder: Path, name: str, *, title_row: bool = False, merge: str | None = None,
                as_text: bool = False) -> Path:
    """Replace folder/name.csv by an .xlsx holding the same table (optionally damaged)."""
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
    (folder / f"{name}.csv").unlink()
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "数据"
    if title_row:
        ws.append(["2024年指标数据报送表"])
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([v if as_text or v == "" or not v.lstrip("-").isdigit() else int(v) for v in row])
    if merge:
        ws.merge_cells(merge)
    path = folder / f"{name}.xlsx"
    book.save(path)
    return path


def expect_refused(folder: Path, cache: Path, *needles: str) -> str:
    before = tree_digest(folder)
    result = run("validate", folder, "--plan", MINI_PLAN)
    assert result.exit_code == 2, result.output
    text = result.stderr
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert "Traceback" not in text
    assert tree_digest(folder) == before, "validate must not touch the data folder"
    assert tree_digest(cache) == {}, "nothing cached from bad data"
    return text


def test_demo_data_is_valid() -> None:
    result = run("validate", DEMO, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output
    assert "校验通过" in result.output


def test_mini_data_is_valid(mini_data: Path) -> None:
    result = run("validate", mini_data, "--plan", MINI_PLAN)
    assert result.exit_code == 0, result.output


BAD_CASES = [
    ("observations.csv", "indicator_id", "indicator", ["observations.csv，第1行，列“指标代码”", "缺少必填列"]),
    ("observations.csv", "2024-02,,东镇,A2", "2024-02,,北镇,A2", ["第5行，列“乡镇”，值“北镇”", "未知乡镇"]),
    ("observations.csv", "2024-01,S1,,A1", "2024-01,S9,,A1", ["第2行，列“学校代码”，值“S9”", "未知学校代码"]),
    ("observations.csv", "2024-05,,,A3", "2024-05,,,Z9", ["第8行，列“指标代码”，值“Z9”", "未知指标代码"]),
    ("observations.csv", "2024-10,S3,,B4,2,,\n", "2024-10,S3,,B4,2,,\n2024-01,S1,,A1,,1,2\n",
     ["第15行，列“指标代码”", "已在第2行填写"]),
    ("observations.csv", "2024-01,S1,,A1,,1,2", "2024-01,S1,,A1,,3,2", ["第2行，列“分子”，值“3”", "分子大于分母"]),
    ("observations.csv", "2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,-3,,", ["第5行，列“数值”，值“-3”", "不能为负数"]),
    ("observations.csv", "2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,三场,,", ["第5行，列“数值”，值“三场”", "不是有效的数字"]),
    ("observations.csv", "2024-01,S1,,A1", "2023-12,S1,,A1", ["第2行，列“期间”，值“2023-12”", "不在工作要点年度内"]),
    ("activities.csv", "2024-03-15", "2025-01-02", ["activities.csv，第2行，列“日期”", "不在工作要点年度内"]),
    ("observations.csv", "2024-06,S1,,A1", "2024-13,S1,,A1", ["第4行，列“期间”，值“2024-13”", "无法识别的月份"]),
    ("schools.csv", "S4,西镇幼儿园,西镇,幼儿园", "S4,西镇幼儿园,西镇,托儿所", ["schools.csv，第5行，列“学段”", "未知学段"]),
    ("projects.csv", "2024-02,Q2,未开工", "2024-02,Q2,停工", ["projects.csv，第2行，列“阶段”，值“停工”", "阶段应为"]),
    ("observations.csv", "2024-04,S1,,B4", "2024-04,S4,,B4", ["第13行，列“学校代码”，值“S4”", "只适用于学段"]),
]
BAD_IDS = ["missing-column", "unknown-township", "unknown-school", "unknown-indicator", "duplicate-row",
           "numerator-gt-denominator", "negative-count", "non-numeric", "period-outside-year",
           "date-outside-year", "bad-period", "unknown-stage", "unknown-project-stage", "wrong-stage"]


@pytest.mark.parametrize(("file", "old", "new", "needles"), BAD_CASES, ids=BAD_IDS)
def test_bad_input_is_refused(mini_data: Path, private_cache: Path, file: str, old: str, new: str,
                              needles: list[str]) -> None:
    edit_csv(mini_data, file, old, new)
    expect_refused(mini_data, private_cache, *needles)


def problems_of(folder: Path, plan_file: Path) -> list:
    from edureport.data.validate import validate_dir
    from edureport.plan.load import load_plan

    try:
        validate_dir(folder, load_plan(plan_file))
    except DataValidationError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(("file", "old", "new", "needles"), BAD_CASES, ids=BAD_IDS)
def test_big_files_checked_in_pieces_give_the_same_problems(mini_data: Path, monkeypatch: pytest.MonkeyPatch,
                                                             file: str, old: str, new: str, needles: list[str]) -> None:
    """Observations are read and checked a few lines at a time (here 3 lines: 5 pieces); the problems,
    their rows and the duplicate found across pieces are those of the file read whole."""
    edit_csv(mini_data, file, old, new)
    whole = problems_of(mini_data, MINI_PLAN)
    monkeypatch.setattr("edureport.data.validate.CHUNK_ROWS", 3)
    assert problems_of(mini_data, MINI_PLAN) == whole != []


@pytest.mark.parametrize("rows", [7, 100, 10**6])
def test_many_problems_in_pieces_are_capped_per_rule_once(mini_data: Path, monkeypatch: pytest.MonkeyPatch,
                                                          rows: int) -> None:
    from edureport.data.validate import MAX_PER_RULE

    path = mini_data / "observations.csv"
    body = "".join(f"2024-{m:02d},S{9 + i},,A1,,1,2\n" for i in range(37) for m in range(1, 13))  # 444 rows
    path.write_text(path.read_text(encoding="utf-8") + body, encoding="utf-8")
    monkeypatch.setattr("edureport.data.validate.CHUNK_ROWS", rows)
    problems = [p for p in problems_of(mini_data, MINI_PLAN) if p.message.startswith("未知学校代码")]
    listed = [p for p in problems if p.row is not None]
    assert len(listed) == MAX_PER_RULE and listed[0].row == 15 and listed[-1].row == 14 + MAX_PER_RULE
    (summary,) = [p for p in problems if p.row is None]
    assert summary.message == f"未知学校代码（不在学校名录中）（同类问题另有{444 - MAX_PER_RULE}处未逐条列出）"


def test_demo_data_read_in_pieces_gives_the_same_tables(plan, monkeypatch: pytest.MonkeyPatch) -> None:
    from edureport.data.validate import validate_dir

    whole = validate_dir(DEMO, plan)
    monkeypatch.setattr("edureport.data.validate.CHUNK_ROWS", 997)
    pieces = validate_dir(DEMO, plan)
    assert len(whole["observations"]) > 5 * 997
    for name in ("observations", "baselines"):
        pd.testing.assert_frame_equal(pieces[name], whole[name])


def test_empty_file(mini_data: Path, private_cache: Path) -> None:
    (mini_data / "observations.csv").write_bytes(b"")
    expect_refused(mini_data, private_cache, "observations.csv", "文件为空")


def test_undecodable_encoding(mini_data: Path, private_cache: Path) -> None:
    path = mini_data / "observations.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    expect_refused(mini_data, private_cache, "observations.csv", "无法识别文件编码")


def test_missing_required_file(mini_data: Path, private_cache: Path) -> None:
    (mini_data / "schools.csv").unlink()
    expect_refused(mini_data, private_cache, "缺少“学校名录”数据文件")


def test_xlsx_header_not_on_first_row(mini_data: Path, private_cache: Path) -> None:
    csv_to_xlsx(mini_data, "observations", title_row=True)
    expect_refused(mini_data, private_cache, "observations.xlsx，工作表“数据”，第2行", "表头应在第1行")


def test_xlsx_merged_cells(mini_data: Path, private_cache: Path) -> None:
    csv_to_xlsx(mini_data, "observations", merge="A2:A3")
    expect_refused(mini_data, private_cache, "observations.xlsx，工作表“数据”，第2行", "A2:A3", "合并单元格")


def test_all_problems_listed_at_once(mini_data: Path, private_cache: Path) -> None:
    edit_csv(mini_data, "observations.csv", "2024-01,S1,,A1", "2024-01,S9,,A1")
    edit_csv(mini_data, "observations.csv", "2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,-3,,")
    edit_csv(mini_data, "schools.csv", "S4,西镇幼儿园,西镇,幼儿园,民办", "S4,西镇幼儿园,西镇,幼儿园,私立")
    edit_csv(mini_data, "projects.csv", "2024-02,Q2", "2024-02,Q7")
    text = expect_refused(mini_data, private_cache, "共 4 个错误", "S9", "-3", "私立", "Q7")
    assert text.count("[错误]") == 4


def test_unknown_column_is_a_warning_only(mini_data: Path) -> None:
    edit_csv(mini_data, "observations.csv", "denominator\n", "denominator,填报人\n")
    result = run("validate", mini_data, "--plan", MINI_PLAN)
    assert result.exit_code == 0, result.output
    assert "未知列，已忽略" in result.output


def test_python_api_raises_typed_error(mini_data: Path, mini_plan) -> None:
    edit_csv(mini_data, "observations.csv", "2024-01,S1,,A1", "2024-01,S9,,A1")
    with pytest.raises(DataValidationError) as info:
        load_data(mini_data, mini_plan)
    (problem,) = info.value.errors
    assert (problem.file, problem.row, problem.column, problem.value) == ("observations.csv", 2, "学校代码", "S9")


def test_missing_data_dir_is_bad_input(tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nope", "--plan", MINI_PLAN)
    assert result.exit_code == 2 and "数据文件夹不存在" in result.stderr


@pytest.mark.parametrize("table", ["townships", "schools"])
def test_an_unreadable_registry_is_one_problem_without_follow_on_noise(mini_data: Path, table: str) -> None:
    """Structural problems first: a registry file that cannot be read is reported once; the rows that name
    its townships or schools are not each flagged as naming an unknown one."""
    (mini_data / f"{table}.csv").write_bytes(b"\x00\x01binary")
    result = run("validate", mini_data, "--plan", MINI / "plan.yaml")
    errors = [line for line in result.stderr.splitlines() if line.startswith("[错误]")]
    assert result.exit_code == 2 and len(errors) == 1 and f"{table}.csv" in errors[0], result.stderr
