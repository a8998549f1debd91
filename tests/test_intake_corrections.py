"""Intake that helps corrections (issue 18, item 4): ``template --prefill`` fills the form with what the
data folder has, ``import --dry-run`` lists every added, changed (old → new) and removed row, removals
need ``--allow-removals``, and the form checks 分子 ≤ 分母 in the cell, is protected and prints on A4
landscape."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter

from edureport.kinds import get_kind

from .conftest import DEMO, PLAN_2023, run, tree_digest

TOWN, MONTH = "图克镇", "2023-06"
FORM_SHEETS = ("指标数据", "项目进度", "活动记录")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DEMO, dest)
    return dest


def prefilled(data: Path, tmp_path: Path, town: str = TOWN, month: str = MONTH) -> Path:
    out = tmp_path / f"{town}-{month}-更正.xlsx"
    result = run("template", out, "--township", town, "--period", month, "--data", data, "--plan", PLAN_2023,
                 "--prefill")
    assert result.exit_code == 0, result.output + result.stderr
    assert "已填入数据文件夹中的现有数据" in result.output
    return out


def do_import(form: Path, data: Path, *extra: str):
    return run("import", form, "--data", data, "--plan", PLAN_2023, *extra)


def frame(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def town_activities(folder: Path) -> pd.DataFrame:
    acts = frame(folder, "activities")
    return acts[(acts["苏木镇"] == TOWN) & acts["日期"].str.startswith(MONTH)]


# ---- prefill and round trip ------------------------------------------------------------------------


def test_prefilled_form_holds_the_data_and_round_trips_unchanged(data: Path, tmp_path: Path) -> None:
    form = prefilled(data, tmp_path)
    book = openpyxl.load_workbook(form)
    obs = frame(data, "observations")
    mine = obs[(obs["期间"] == MONTH) & (obs["苏木镇"] == TOWN)].set_index(["学校代码", "指标代码"])
    filled = 0
    for row in book["指标数据"].iter_rows(min_row=2, values_only=True):
        if row[4] and (row[1] or "", row[4]) in mine.index:
            want = mine.loc[(row[1] or "", row[4])]
            got = ["" if v is None else str(v) for v in row[7:10]]
            assert got == [want["数值"], want["分子"], want["分母"]], (row, want)
            filled += 1
    assert filled == len(mine) > 50, "every row of the township-month is in the form"
    acts = town_activities(data)
    titles = [r[4] for r in book["活动记录"].iter_rows(min_row=2, values_only=True) if r[4]]
    assert titles == list(acts["活动名称"]) and len(titles) == 6
    assert [r[3] for r in book["项目进度"].iter_rows(min_row=2, values_only=True)] == ["在建", "在建"]

    before = tree_digest(data)
    dry = do_import(form, data, "--dry-run")
    assert dry.exit_code == 0 and "数据没有变化，未写入。" in dry.output, dry.output + dry.stderr
    result = do_import(form, data)
    assert result.exit_code == 0 and "数据没有变化，未写入。" in result.output, result.output + result.stderr
    assert "未变 6 行" in result.output and not re.search(r"^\s+(新增|修改|删除) ", result.output, re.M)
    assert tree_digest(data) == before, "not a byte changed, not even import-log.csv"


def test_prefill_round_trips_notes_and_formula_like_text(data: Path, tmp_path: Path) -> None:
    """Notes (a column the demo data lacks), quotes and commas, and text Excel would take for a formula
    (stored with the apostrophe of csvsafe)."""
    obs = frame(data, "observations")
    obs["备注"] = ""
    mine = (obs["期间"] == MONTH) & (obs["苏木镇"] == TOWN)
    first = obs.index[mine][0]
    obs.loc[first, "备注"] = "'=SUM(A1:A3)"
    obs.loc[obs.index[mine][1], "备注"] = "已核实，含逗号, 和\"引号\""
    obs.to_csv(data / "observations.csv", index=False, encoding="utf-8-sig", lineterminator="\n")
    acts = frame(data, "activities")
    acts.loc[town_activities(data).index[0], "活动名称"] = "-“双减”回头看（图克镇）"
    acts.to_csv(data / "activities.csv", index=False, encoding="utf-8-sig", lineterminator="\n")
    assert run("validate", data, "--plan", PLAN_2023).exit_code == 0

    form = prefilled(data, tmp_path)
    book = openpyxl.load_workbook(form)
    notes = [r[10] for r in book["指标数据"].iter_rows(min_row=2, values_only=True) if r[10]]
    assert "=SUM(A1:A3)" in notes, "the unit's text, as text (not a formula, not the apostrophe)"
    assert all(c.data_type == "s" for r in book["指标数据"].iter_rows(min_row=2) for c in r[10:11] if c.value)
    before = tree_digest(data)
    result = do_import(form, data)
    assert result.exit_code == 0 and "数据没有变化，未写入。" in result.output, result.output + result.stderr
    assert tree_digest(data) == before


def test_prefilled_spare_rows_hold_what_the_form_does_not_list(data: Path, tmp_path: Path) -> None:
    """A figure of another month whose indicator June's form does not list (its window is closed),
    recorded for June anyway: the prefilled form carries it in a spare row."""
    obs = frame(data, "observations")
    form = prefilled(data, tmp_path)
    listed = {(r[1] or "", r[4]) for r in openpyxl.load_workbook(form)["指标数据"].iter_rows(min_row=2, values_only=True)
              if r[4]}
    town_rows = obs[obs["苏木镇"] == TOWN]
    unlisted = town_rows[[(s, i) not in listed for s, i in zip(town_rows["学校代码"], town_rows["指标代码"], strict=True)]]
    assert not unlisted.empty, "the demo data have figures outside June's window"
    extra = unlisted.iloc[[0]].copy()
    extra["期间"] = MONTH
    pd.concat([obs, extra]).drop_duplicates().to_csv(data / "observations.csv", index=False, encoding="utf-8-sig",
                                                      lineterminator="\n")
    assert run("validate", data, "--plan", PLAN_2023).exit_code == 0
    form = prefilled(data, tmp_path)
    rows = [r for r in openpyxl.load_workbook(form)["指标数据"].iter_rows(min_row=2, values_only=True) if r[4]]
    hit = next(r for r in rows if ((r[1] or ""), r[4]) == (extra.iloc[0]["学校代码"], extra.iloc[0]["指标代码"]))
    assert hit[2] and hit[5], "school and indicator names shown in the spare row"
    assert ["" if v is None else str(v) for v in hit[7:10]] == list(extra.iloc[0][["数值", "分子", "分母"]])
    before = tree_digest(data)
    result = do_import(form, data)
    assert result.exit_code == 0 and "数据没有变化，未写入。" in result.output, result.output + result.stderr
    assert tree_digest(data) == before


# ---- dry run: each row, old → new --------------------------------------------------------------------


def test_dry_run_lists_a_changed_value_old_to_new(data: Path, tmp_path: Path) -> None:
    form = prefilled(data, tmp_path)
    book = openpyxl.load_workbook(form)
    ws = book["指标数据"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[4].value == "T02-2" and r[1].value)
    school, old = row[1].value, row[8].value
    row[8].value = old + 1  # one more party-member teacher
    book.save(form)
    before = tree_digest(data)
    result = do_import(form, data, "--dry-run")
    assert result.exit_code == 0, result.output + result.stderr
    line = next(x for x in result.output.splitlines() if x.strip().startswith("修改"))
    assert f"工作表“指标数据”第{row[8].row}行" in line and form.name in line
    assert "T02-2" in line and school in line and f"分子 {old} → {old + 1}" in line, line
    assert "替换 1 行" in result.output and "试运行" in result.output
    assert tree_digest(data) == before
    # and the import itself changes exactly that cell
    assert do_import(form, data).exit_code == 0
    obs = frame(data, "observations")
    hit = obs[(obs["期间"] == MONTH) & (obs["学校代码"] == school) & (obs["指标代码"] == "T02-2")]
    assert list(hit["分子"]) == [str(old + 1)]


def test_dry_run_lists_added_rows(data: Path, tmp_path: Path) -> None:
    form = prefilled(data, tmp_path)
    book = openpyxl.load_workbook(form)
    ws = book["活动记录"]
    r = 2 + len(town_activities(data))
    ws[f"A{r}"].value, ws[f"B{r}"].value = pd.Timestamp(f"{MONTH}-28").to_pydatetime(), 3
    ws[f"E{r}"].value, ws[f"F{r}"].value = "党风廉政建设警示教育", 60
    book.save(form)
    result = do_import(form, data, "--dry-run")
    assert result.exit_code == 0, result.output + result.stderr
    assert f"新增 {form.name} 工作表“活动记录”第{r}行：日期 {MONTH}-28，任务编号 3，活动名称 党风廉政建设警示教育" in result.output


# ---- removals ------------------------------------------------------------------------------------------


def test_fewer_activity_rows_are_refused_without_allow_removals(data: Path, tmp_path: Path) -> None:
    form = prefilled(data, tmp_path)
    book = openpyxl.load_workbook(form)
    ws = book["活动记录"]
    kept = ws["E2"].value
    for r in range(3, ws.max_row + 1):  # the township keeps one of its six activities of the month
        for col in "ABDEFG":
            ws[f"{col}{r}"].value = None
    book.save(form)
    first, *gone = town_activities(data)["活动名称"]
    assert len(gone) == 5 and first == kept
    before = tree_digest(data)

    refused = do_import(form, data)
    assert refused.exit_code == 2, refused.output + refused.stderr
    said = refused.stderr
    assert "导入将删除数据文件夹中原有的 5 行" in said and "--allow-removals" in said and "未写入任何文件" in said
    assert form.name in said and "工作表“活动记录”" in said and "activities.csv 第" in said
    for title in gone:
        assert title in said, title
    assert "Traceback" not in said + refused.output
    assert tree_digest(data) == before

    dry = do_import(form, data, "--dry-run")  # the dry run lists every change, then says it would be refused
    assert dry.exit_code == 2 and "--allow-removals" in dry.stderr
    assert sum(line.strip().startswith("删除 activities.csv 第") for line in dry.output.splitlines()) == 5
    dry = do_import(form, data, "--dry-run", "--allow-removals")
    assert dry.exit_code == 0 and "删除 5 行" in dry.output and "试运行" in dry.output
    assert tree_digest(data) == before

    others = frame(data, "activities").drop(town_activities(data).index)
    done = do_import(form, data, "--allow-removals")
    assert done.exit_code == 0 and "已写入" in done.output, done.output + done.stderr
    assert list(town_activities(data)["活动名称"]) == [kept]
    after = frame(data, "activities")
    kept_rows = after.drop(town_activities(data).index).reset_index(drop=True)
    assert kept_rows.equals(others.reset_index(drop=True)), "rows of other townships and months kept"


def test_a_plain_table_with_fewer_rows_still_needs_replace_or_allow_removals(data: Path, tmp_path: Path) -> None:
    obs = frame(data, "observations")
    mine = obs[(obs["期间"] == MONTH) & (obs["苏木镇"] == TOWN)]
    path = tmp_path / "指标数据.csv"
    mine.iloc[:3].to_csv(path, index=False, encoding="utf-8")
    before = tree_digest(data)
    refused = do_import(path, data)
    assert refused.exit_code == 2 and "--replace" in refused.stderr and "将被删除" in refused.stderr
    assert f"导入将删除数据文件夹中原有的 {len(mine) - 3} 行" in refused.stderr
    assert tree_digest(data) == before
    assert do_import(path, data, "--allow-removals", "--dry-run").exit_code == 0
    assert do_import(path, data, "--replace").exit_code == 0


# ---- the form itself: 分子 ≤ 分母 in the cell, protection, print -------------------------------------


class _Blank:
    """An empty cell in a formula (its comparisons are never decisive in these formulas)."""

    def __le__(self, other):
        return True

    __ge__ = __lt__ = __gt__ = __le__


class _Text(_Blank):
    """Text in a numeric comparison: Excel orders text after numbers; ISNUMBER decides anyway."""


def _excel_ok(formula: str, first: str, cell: str, values: dict[str, object]) -> bool:
    """Evaluate a custom validation formula (AND, OR, ISNUMBER, ISBLANK, comparisons) for ``cell`` of
    a range whose first cell is ``first``: relative references move with the cell, as in Excel."""
    fc, fr = re.fullmatch(r"([A-Z]+)(\d+)", first).groups()
    cc, cr = re.fullmatch(r"([A-Z]+)(\d+)", cell).groups()

    def ref(m: re.Match) -> str:
        dollar_c, col, dollar_r, row = m.groups()
        if not dollar_c:
            col = get_column_letter(column_index_from_string(col) + column_index_from_string(cc)
                                    - column_index_from_string(fc))
        row = int(row) if dollar_r else int(row) + int(cr) - int(fr)
        return f"_v('{col}{row}')"

    expr = re.sub(r"(\$?)([A-Z]{1,3})(\$?)(\d+)", ref, formula).replace("<>", "!=")
    env = {"_v": lambda name: (lambda v: _Text() if isinstance(v, str) else v)(values.get(name, _Blank())),
           "AND": lambda *a: all(a), "OR": lambda *a: any(a),
           "ISNUMBER": lambda v: isinstance(v, int | float), "ISBLANK": lambda v: isinstance(v, _Blank)}
    return bool(eval(expr, env))  # a formula this package wrote, in a test


def test_form_checks_numerator_not_above_denominator_in_the_cell(data: Path, tmp_path: Path, plan) -> None:
    form = prefilled(data, tmp_path)
    ws = openpyxl.load_workbook(form)["指标数据"]
    custom = [dv for dv in ws.data_validations.dataValidation if dv.type == "custom"]
    assert custom and all(dv.showErrorMessage and "分子不能大于分母" in dv.error for dv in custom)
    kinds = {i.id: get_kind(i.kind) for i in plan.indicators}
    fraction_rows = [c.row for c in ws["E"][1:] if c.value in kinds and "numerator" in kinds[c.value].columns]
    assert len(fraction_rows) > 10
    for r in fraction_rows:
        for col in "IJ":
            hits = [dv for dv in custom if f"{col}{r}" in dv.sqref]
            assert len(hits) == 1, f"{col}{r}"
            # no other validation on the same cell (Excel keeps only one)
            assert [dv for dv in ws.data_validations.dataValidation if f"{col}{r}" in dv.sqref] == hits
    dv = next(dv for dv in custom if f"I{fraction_rows[0]}" in dv.sqref)
    first = str(dv.sqref).split(":")[0]
    r = fraction_rows[0]
    num, den = f"I{r}", f"J{r}"
    # (the cells' values after the entry, the cell entered — Excel checks only that one, and not when blank — , accepted)
    cases = [({num: 5, den: 10}, num, True), ({num: 5, den: 10}, den, True), ({num: 10, den: 10}, den, True),
             ({num: 11, den: 10}, num, False), ({num: 11, den: 10}, den, False), ({num: 5}, num, True),
             ({den: 3}, den, True), ({num: -1}, num, False), ({den: -3}, den, False), ({num: "很多"}, num, False),
             ({num: 2.5, den: 4}, num, True)]
    for values, cell, ok in cases:
        assert _excel_ok(dv.formula1, first, cell, values) is ok, (cell, values, dv.formula1)


def test_form_is_protected_without_password_and_only_input_cells_open(data: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(prefilled(data, tmp_path))
    for ws in book.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, f"{ws.title}: staff must be able to unprotect"
    ws = book["指标数据"]
    for col in "ABCDEFG":
        assert ws[f"{col}2"].protection.locked, f"{col}2 (codes and names) is locked"
    for col in "HIJK":
        assert not ws[f"{col}2"].protection.locked, f"{col}2 is an input cell"
    assert ws["A1"].protection.locked and ws["H1"].protection.locked
    acts = book["活动记录"]
    assert acts["C2"].protection.locked and not acts["E2"].protection.locked
    assert book["项目进度"]["B2"].protection.locked and not book["项目进度"]["D2"].protection.locked


def test_form_prints_on_a4_landscape_fitted_to_width_with_headers_repeated(data: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(prefilled(data, tmp_path))
    for name in FORM_SHEETS:
        ws = book[name]
        setup = ws.page_setup
        assert setup.orientation == "landscape" and int(setup.paperSize) == int(ws.PAPERSIZE_A4), name
        assert int(setup.fitToWidth) == 1 and int(setup.fitToHeight) == 0, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert ws.print_title_rows in ("1:1", "$1:$1"), (name, ws.print_title_rows)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed: no PDF to check")
def test_prefilled_form_prints_landscape_pages_in_libreoffice(data: Path, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed: cannot read the PDF's pages")
    form = prefilled(data, tmp_path)
    done = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(form)],
                          capture_output=True, text=True, timeout=180, check=False)
    pdf = tmp_path / "pdf" / f"{form.stem}.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stderr
    pages = pypdf.PdfReader(pdf).pages
    assert len(pages) >= 4  # instructions, observations (several pages), projects, activities
    for page in pages:
        box = page.mediabox
        width, height = float(box.width), float(box.height)
        if int(page.get("/Rotate", 0) or 0) % 180:
            width, height = height, width
        assert width > height, "landscape"
        assert abs(width - 842) < 3 and abs(height - 595) < 3, "A4"


# ---- bad input: Chinese, no traceback ------------------------------------------------------------------


def test_prefill_bad_input_is_a_chinese_message(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    result = run("template", out, "--township", "不存在镇", "--period", MONTH, "--data", data, "--plan", PLAN_2023,
                 "--prefill")
    assert result.exit_code == 2 and "未知苏木镇“不存在镇”" in result.stderr and not out.exists()
    result = run("template", out, "--township", TOWN, "--period", MONTH, "--data", tmp_path / "没有", "--plan",
                 PLAN_2023, "--prefill")
    assert result.exit_code == 2 and "没有" in result.stderr and not out.exists(), result.stderr
    (data / "activities.csv").write_text("日期,任务编号,苏木镇,学校代码,活动名称,参与人数\n2023-06-31,1,图克镇,,x,1\n",
                                         encoding="utf-8")
    result = run("template", out, "--township", TOWN, "--period", MONTH, "--data", data, "--plan", PLAN_2023,
                 "--prefill")
    assert result.exit_code == 2 and "activities.csv" in result.stderr and "第2行" in result.stderr, result.stderr
    assert "2023-06-31" in result.stderr and not out.exists()


def test_two_activities_with_one_key_are_two_rows(data: Path, tmp_path: Path) -> None:
    """Review finding: two activities with the same date, task, title, 苏木镇 and school (120 and 80
    participants) were one key in a dict; deleting one in a prefilled form showed "修改 80 → 120" and
    removed a row without --allow-removals. Now they are matched one to one."""
    path = data / "activities.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    i = next(n for n, line in enumerate(lines) if f",{TOWN}," in line and line.startswith(MONTH))
    twin = lines[i].rsplit(",", 1)[0]
    lines[i] = f"{twin},120"
    lines.insert(i + 1, f"{twin},80")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    form = prefilled(data, tmp_path)
    assert "数据没有变化" in do_import(form, data).output  # both rows in the form: nothing changes
    book = openpyxl.load_workbook(form)
    ws = book["活动记录"]
    row = next(r for r in range(2, ws.max_row + 1) if str(ws[f"F{r}"].value) == "80")
    for col in "ABCDEFG":
        ws[f"{col}{row}"].value = None
    book.save(form)
    before = tree_digest(data)
    refused = do_import(form, data)
    assert refused.exit_code == 2 and "导入将删除数据文件夹中原有的 1 行" in refused.stderr, refused.output + refused.stderr
    assert "修改 " not in refused.output and "80 → 120" not in refused.output + refused.stderr and tree_digest(data) == before
    assert do_import(form, data, "--allow-removals").exit_code == 0
    assert list(town_activities(data)["参与人数"]).count("120") == 1 and "80" not in list(town_activities(data)["参与人数"])
