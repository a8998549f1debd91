"""Excel fill-in forms and `edureport import`: round trip, idempotence, scoped replacement, refusals."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from edureport.intake.importer import LOG
from edureport.intake.template import META_SHEET

from .conftest import DEMO, PLAN_2023, run, tree_digest

TOWN, MONTH = "图克镇", "2023-06"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DEMO, dest)
    return dest


def make_form(data: Path, tmp_path: Path, town: str = TOWN, month: str = MONTH) -> Path:
    out = tmp_path / f"{town}-{month}.xlsx"
    result = run("template", out, "--township", town, "--period", month, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output
    return out


def demo_frame(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def fill_with_demo(form: Path, town: str = TOWN, month: str = MONTH) -> Path:
    """Type the demo values for one township and month into the form, as a township would."""
    book = openpyxl.load_workbook(form)
    obs = demo_frame("observations")
    obs = obs[obs["期间"] == month].set_index(["学校代码", "苏木镇", "指标代码"])
    ws = book["指标数据"]
    for row in ws.iter_rows(min_row=2):
        school, ind = row[1].value or "", row[4].value
        key = (school, town, ind)
        if ind and key in obs.index:
            hit = obs.loc[key]
            for cell, col in zip(row[7:10], ("数值", "分子", "分母"), strict=True):
                cell.value = int(hit[col]) if hit[col] else None
    projects = demo_frame("projects")
    projects = projects[projects["期间"] == month].set_index("项目代码")
    ws = book["项目进度"]
    for row in ws.iter_rows(min_row=2):
        if row[1].value in projects.index:
            hit = projects.loc[row[1].value]
            row[3].value, row[4].value = hit["阶段"], int(hit["完成比例"])
            for cell, col in zip(row[5:9], ("计划开工日期", "实际开工日期", "计划竣工日期", "实际竣工日期"), strict=True):
                cell.value = pd.Timestamp(hit[col]).to_pydatetime() if hit[col] else None
            row[9].value = float(hit["预算（万元）"])
    acts = demo_frame("activities")
    acts = acts[(acts["苏木镇"] == town) & acts["日期"].str.startswith(month)]
    ws = book["活动记录"]
    for r, hit in enumerate(acts.itertuples(index=False), start=2):
        ws.cell(r, 1).value = pd.Timestamp(hit[0]).to_pydatetime()
        ws.cell(r, 2).value = int(hit[1])
        ws.cell(r, 4).value = hit[3] or None
        ws.cell(r, 5).value, ws.cell(r, 6).value = hit[4], int(hit[5])
    book.save(form)
    return form


def rows_of(folder: Path, name: str) -> set[tuple]:
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {tuple(r) for r in frame.itertuples(index=False)}


def test_template_structure(data: Path, tmp_path: Path) -> None:
    form = make_form(data, tmp_path)
    book = openpyxl.load_workbook(form)
    assert book.sheetnames[0] == "说明" and book[META_SHEET].sheet_state == "hidden"
    meta = dict(book[META_SHEET].iter_rows(values_only=True))
    assert meta["苏木镇"] == TOWN and meta["期间"] == MONTH and meta["模板版本"] == "1"
    ws = book["指标数据"]
    assert ws.protection.sheet and ws["A2"].protection.locked and not ws["H2"].protection.locked
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert {"list", "decimal"} <= kinds
    schools = pd.read_csv(data / "schools.csv", dtype=str, encoding="utf-8-sig")
    filled = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[4]]
    assert {r[1] for r in filled if r[1]} <= set(schools[schools["苏木镇"] == TOWN]["学校代码"])
    assert len(filled) > 50
    assert any(dv.type == "decimal" and dv.formula2 == "100" for dv in book["项目进度"].data_validations.dataValidation)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_template_opens_in_libreoffice(data: Path, tmp_path: Path) -> None:
    form = make_form(data, tmp_path)
    done = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), str(form)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "csv" / f"{form.stem}.csv").is_file()


def test_round_trip_of_unchanged_values_changes_nothing(data: Path, tmp_path: Path) -> None:
    form = fill_with_demo(make_form(data, tmp_path))
    before = tree_digest(data)
    result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output
    assert "数据没有变化" in result.output and tree_digest(data) == before


def _drop_scope(data: Path) -> None:
    """Delete 图克镇's June rows from the copy (its projects P03 and P09 are at 查汗淖尔学校 and 呼吉尔特小学)."""
    for name, month_col in (("observations", "期间"), ("projects", "期间"), ("activities", "日期")):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        mask = frame["项目代码"].isin(["P03", "P09"]) if name == "projects" else frame["苏木镇"] == TOWN
        frame = frame[~(mask & frame[month_col].str.startswith(MONTH))]
        frame.to_csv(data / f"{name}.csv", index=False, encoding="utf-8-sig", lineterminator="\n")


def test_round_trip_restores_the_rows(data: Path, tmp_path: Path) -> None:
    form = fill_with_demo(make_form(data, tmp_path))
    _drop_scope(data)
    assert rows_of(data, "observations") != rows_of(DEMO, "observations")
    result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output
    for name in ("observations", "projects", "activities"):
        assert rows_of(data, name) == rows_of(DEMO, name), name
    log = list(csv.reader((data / LOG).read_text(encoding="utf-8-sig").splitlines()))
    assert log[0][:3] == ["时间", "文件", "SHA256"] and len(log) == 4 and log[1][1] == form.name
    # importing the same file again changes nothing at all (not even the log)
    before = tree_digest(data)
    again = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert again.exit_code == 0 and "数据没有变化" in again.output and tree_digest(data) == before


def test_corrected_resubmission_replaces_only_that_township_month(data: Path, tmp_path: Path) -> None:
    form = fill_with_demo(make_form(data, tmp_path))
    book = openpyxl.load_workbook(form)
    ws = book["指标数据"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[4].value == "T02-2")
    row[8].value = (row[8].value or 0) + 1  # one more party-member teacher
    book.save(form)
    others = {r for r in rows_of(data, "observations") if not (r[0] == MONTH and r[2] == TOWN)}
    result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0 and "替换 1 行" in result.output, result.output
    after = rows_of(data, "observations")
    assert {r for r in after if not (r[0] == MONTH and r[2] == TOWN)} == others
    assert len(after) == len(rows_of(DEMO, "observations"))


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (lambda b: b["指标数据"].__setitem__("I2", 999999), ["指标数据", "分子大于分母"]),
        (lambda b: b["指标数据"].__setitem__("H30", "很多"), ["不是有效的数字"]),
        (lambda b: b["指标数据"].__setitem__("A2", "2023-07"), ["不属于本工作簿的期间"]),
        (lambda b: b["项目进度"].__setitem__("D2", "停工"), ["项目进度", "阶段应为"]),
        (lambda b: b["活动记录"].__setitem__("A2", "2023-06-31"), ["无法识别的日期"]),
    ],
    ids=["numerator", "text-value", "other-month-row", "bad-stage", "bad-date"],
)
def test_malformed_forms_are_refused(data: Path, tmp_path: Path, edit, needles: list[str]) -> None:
    form = fill_with_demo(make_form(data, tmp_path))
    book = openpyxl.load_workbook(form)
    edit(book)
    book["活动记录"]["E2"] = book["活动记录"]["E2"].value or "活动"
    book["活动记录"]["B2"] = book["活动记录"]["B2"].value or 1
    book.save(form)
    before = tree_digest(data)
    result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "第" in result.stderr and "行" in result.stderr
    assert tree_digest(data) == before


def test_form_of_another_township_is_refused(data: Path, tmp_path: Path) -> None:
    form = fill_with_demo(make_form(data, tmp_path, "乌审召镇"), "乌审召镇")
    before = tree_digest(data)
    result = run("import", form, "--data", data, "--plan", PLAN_2023, "--township", TOWN)
    assert result.exit_code == 2 and "不是要导入的“图克镇”" in result.stderr
    result = run("import", form, "--data", data, "--plan", PLAN_2023, "--period", "2023-05")
    assert result.exit_code == 2 and "不是要导入的“2023-05”" in result.stderr
    assert tree_digest(data) == before


def test_what_real_submissions_contain(data: Path, tmp_path: Path) -> None:
    """Renamed sheet, numbers as text, full-width digits, ％, thousands separators, an extra column."""
    form = fill_with_demo(make_form(data, tmp_path))
    book = openpyxl.load_workbook(form)
    ws = book["指标数据"]
    ws.title = "六月数据"
    for row in ws.iter_rows(min_row=2):
        for cell in row[7:10]:
            if isinstance(cell.value, int):
                cell.value = f"{cell.value:,}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    ws.protection.sheet = False
    ws["L1"] = "填表人"
    pj = book["项目进度"]
    for row in pj.iter_rows(min_row=2):
        if row[4].value is not None:
            row[4].value = f"{row[4].value}％"
            row[5].value = (pd.Timestamp(row[5].value) - pd.Timestamp("1899-12-30")).days if row[5].value else None
    book.save(form)
    _drop_scope(data)
    result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output + result.stderr
    assert "未知列，已忽略" in result.output
    for name in ("observations", "projects"):
        assert rows_of(data, name) == rows_of(DEMO, name), name


def test_plain_gbk_csv_with_blank_rows(data: Path, tmp_path: Path) -> None:
    demo = demo_frame("observations")
    mine = demo[(demo["期间"] == MONTH) & (demo["苏木镇"] == TOWN)]
    text = mine.to_csv(index=False, lineterminator="\n")
    lines = text.splitlines()
    lines.insert(3, ",,,,,,")
    path = tmp_path / "指标数据.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    _drop_scope(data)
    result = run("import", path, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output + result.stderr
    assert rows_of(data, "observations") == rows_of(DEMO, "observations")


def test_dry_run_writes_nothing(data: Path, tmp_path: Path) -> None:
    form = fill_with_demo(make_form(data, tmp_path))
    _drop_scope(data)
    before = tree_digest(data)
    result = run("import", form, "--data", data, "--plan", PLAN_2023, "--dry-run")
    assert result.exit_code == 0 and "新增" in result.output and "试运行" in result.output
    assert tree_digest(data) == before
