"""``edureport template``: a fill-in workbook for one township and one month.

Only features Excel and WPS both handle: plain sheets, locked/unlocked cells with sheet protection
(no password), list, number and formula data validation (分子 ≤ 分母 is checked in the cell), number
formats, A4 landscape print setup (header row repeated on every page, columns fitted to the page width),
a hidden metadata sheet. The metadata names the plan, township, period and template version so
``edureport import`` knows what it reads.

With ``prefill`` (``template --prefill``) the form carries the rows the data folder already has for the
township and month (``importer.current_rows``), written so that importing the untouched form changes
nothing: a correction is an edit of one cell, not a retype of the month.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

from edureport.core.errors import TemplateError, for_display
from edureport.data.entities import applicable
from edureport.data.normalize import NAME_INVISIBLE
from edureport.data.projects import project_table
from edureport.data.schema import SCHEMA_WORD, TABLES, plan_tables
from edureport.data.store import DataSet
from edureport.kinds import KINDS, get_kind
from edureport.kinds.base import CellRule
from edureport.plan.model import PROJECT_STAGES, Indicator, Plan

TEMPLATE_VERSION = "1"
META_SHEET, LISTS_SHEET, HELP_SHEET = "元数据", "代码表", "说明"
META_KEYS = ("模板版本", "工作要点", "工作要点SHA256", "年度", SCHEMA_WORD, "期间")  # 苏木镇: the plan's word
EXTRA_ROWS = 20
ACTIVITY_ROWS = 50  # blank rows of the activities sheet (more when the prefilled month has more)
# openpyxl is imported where a form is made: at the top it cost every command's start (edureport --help
# included) about 0.3 s, for the few that make a form.
HEAD, GREY = "DDE6F0", "EEEEEE"  # header and closed-cell fills


def _fill(colour: str):
    from openpyxl.styles import PatternFill

    return PatternFill("solid", fgColor=colour)


def _open(cell) -> None:
    """A cell staff fill in: unlocked on the protected sheet."""
    from openpyxl.styles import Protection

    cell.protection = Protection(locked=False)


def _header(ws, labels: list[str], widths: list[int]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append(labels)
    for i, (cell, width) in enumerate(zip(ws[1], widths, strict=True), start=1):
        cell.font, cell.fill = Font(bold=True), _fill(HEAD)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"


def _validate(ws, kind: str, cells: str, *, formula1: str | None = None, formula2: str | None = None,
              operator: str | None = None, error: str, prompt: str = "") -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    if not cells:
        return
    dv = DataValidation(type=kind, formula1=formula1, formula2=formula2, operator=operator, allow_blank=True,
                        showErrorMessage=True, errorTitle="输入有误", error=error,
                        showInputMessage=bool(prompt), promptTitle="填写说明" if prompt else None,
                        prompt=prompt or None)
    for ref in cells.split():
        dv.add(ref)
    ws.add_data_validation(dv)


def _protect(ws) -> None:
    """Sheet protection without a password: the cells not to be filled are locked (the input cells are
    unlocked one by one), and staff who must change the structure can still unprotect the sheet."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # analysts may widen columns
    ws.protection.autoFilter = False


def _print_setup(ws, title_rows: str | None = "1:1") -> None:
    """A4 landscape, all columns on one page width (as many pages down as needed), the header row
    printed at the top of every page."""
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    if title_rows:
        ws.print_title_rows = title_rows


def _put(cell, text: str) -> None:
    """A text value as text, even one Excel would take for a formula (``=…``)."""
    cell.value = text if text != "" else None
    if text != "":
        cell.data_type = "s"


def _number(text: str) -> int | float | None:
    """A number as ``importer.canonical`` wrote it ("12", "12.5", "") back as an Excel number."""
    if text == "":
        return None
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _date(text: str) -> dt.datetime | None:
    return dt.datetime.strptime(text, "%Y-%m-%d") if text else None


def _col(ws, label: str) -> str:
    from openpyxl.utils import get_column_letter

    return next(get_column_letter(c.column) for c in ws[1] if c.value == label)


def build_template(plan: Plan, data: DataSet, township: str, period: str, out: str | Path,
                   prefill: dict[str, list[dict[str, str]]] | None = None) -> Path:
    """The form for ``township`` and ``period``; ``prefill`` (table → canonical rows, see
    ``importer.current_rows``) fills it with what the data folder already has."""
    from openpyxl import Workbook

    given = prefill or {}
    township = unicodedata.normalize("NFC", township.strip())  # as the registry's names (validate)
    if any(unicodedata.category(c) in NAME_INVISIBLE for c in township):
        raise TemplateError(f"{plan.township_label}名称“{for_display(township)}”含有控制字符或不可见字符")
    if township not in set(data.townships["township"]):
        raise TemplateError(f"未知{plan.township_label}“{for_display(township)}”（不在{plan.township_label}名录中）")
    if not (plan.start.strftime("%Y-%m") <= period <= plan.end.strftime("%Y-%m")) or len(period) != 7:
        raise TemplateError(f"期间“{period}”不在工作要点年度内（应为 YYYY-MM）")
    schools = data.schools[data.schools["township"] == township].sort_values("school_id")
    wb = Workbook()
    _help_sheet(wb.active, plan, township, period)
    lists = wb.create_sheet(LISTS_SHEET)
    for i, sid in enumerate(schools["school_id"], start=1):
        lists.cell(i, 1, sid)
    for i, task in enumerate(plan.tasks, start=1):
        lists.cell(i, 2, task.id)
    for i, stage in enumerate(PROJECT_STAGES, start=1):
        lists.cell(i, 3, stage)
    school_list = f"{LISTS_SHEET}!$A$1:$A${max(1, len(schools))}"
    _observations(wb.create_sheet(TABLES["observations"].label), plan, data, township, period, school_list,
                  given.get("observations", []))
    _projects(wb.create_sheet(TABLES["projects"].label), plan, data, township, period, given.get("projects", []))
    _activities(wb.create_sheet(TABLES["activities"].label), plan, township, school_list,
                given.get("activities", []))
    meta = wb.create_sheet(META_SHEET)
    keys = [plan.township_label if k == SCHEMA_WORD else k for k in META_KEYS]
    for key, value in zip(keys, (TEMPLATE_VERSION, plan.title, plan.sha256, plan.year, township, period),
                          strict=True):
        meta.append([key, str(value)])
    for ws in (meta, lists):
        ws.sheet_state = "hidden"
        _protect(ws)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def kind_help(plan: Plan) -> list[str]:
    """The instructions' items on the values: what each kind of the plan's indicators asks for (from the kinds)."""
    used = [k for k in KINDS if k.table == "observations" and any(i.kind == k.name for i in plan.indicators)]
    fraction = [k.label for k in used if "numerator" in k.columns]
    value = [k for k in used if "value" in k.columns]
    lines = []
    if fraction:
        lines.append(f"{'、'.join(fraction)}类指标填写“分子”和“分母”（如党员教师数、教师总数），分子不能大于分母，"
                     "不要只填百分比。")
    if value:
        lines.append("；".join(f"{k.label}类指标{k.form_help}" for k in value) + "。")
    return lines


def _help_sheet(ws, plan: Plan, township: str, period: str) -> None:
    from openpyxl.styles import Font

    ws.title = HELP_SHEET
    lines = [
        f"{plan.title}　数据报送表", f"{plan.township_label}：{township}　　期间：{period}", "",
        "填写说明：",
        *(f"{n}. {item}" for n, item in enumerate([
            "在“指标数据”表中逐行填写白色单元格；灰色单元格不需填写，蓝色表头和已填好的代码不能修改。",
            *kind_help(plan),
            f"“项目进度”表填写本月末的建设阶段（未开工/在建/竣工/投用）、完成比例（0—100）和日期（如 {plan.year}-06-15）。",
            "“活动记录”表每行一项本月开展的活动；任务编号见《工作要点》。",
            f"请勿修改工作表名称以外的结构，不要合并单元格；填好后原样交回，由{plan.issuer}用 edureport import 导入。",
        ], start=1)),
        "", "报送截止日期：", "填报人：", "联系电话：", "审核人：",
    ]
    for line in lines:
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 100
    for row in range(len(lines) - 3, len(lines) + 1):
        _open(ws.cell(row, 2))
        ws.cell(row, 2).fill = _fill("FFFFFF")
    ws.column_dimensions["B"].width = 30
    _protect(ws)
    _print_setup(ws, None)


# The value columns of the observations sheet, in order (each kind fills some of them, the rest are grey).
VALUE_COLUMNS = ("value", "numerator", "denominator")


def open_in(plan: Plan, ind: Indicator, period: str) -> bool:
    """Whether the month ``period`` (YYYY-MM) lies in the indicator's window: from its ``period_from``
    (the plan's start) to its due month, both included."""
    since = (ind.period_from or plan.start).strftime("%Y-%m")
    return since <= period <= ind.due.strftime("%Y-%m")


def _fraction_rule(ws, rows: list[int], letters: dict[str, str], error: str, prompt: str) -> None:
    """分子 ≤ 分母 in the cell: a formula validation on the numerator and denominator cells of ``rows``,
    one per run of consecutive rows (the formula is relative to the first cell of its range)."""
    num, den = letters["numerator"], letters["denominator"]
    runs: list[list[int]] = []
    for r in rows:
        if runs and runs[-1][-1] == r - 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    for run in runs:
        first, last = run[0], run[-1]
        formula = (f"AND(ISNUMBER({num}{first}),{num}{first}>=0,"
                   f"OR(ISBLANK(${num}{first}),ISBLANK(${den}{first}),${num}{first}<=${den}{first}))")
        _validate(ws, "custom", f"{num}{first}:{den}{last}", formula1=formula, error=error, prompt=prompt)


def _observations(ws, plan: Plan, data: DataSet, township: str, period: str, school_list: str,
                  given: list[dict[str, str]]) -> None:
    t = plan_tables(plan)["observations"]  # headers in the plan's words (镇街, 苏木镇 …)
    labels = [t.column(k).label for k in ("period", "school_id", "school_name", "township", "indicator_id",
                                          "indicator_name", "unit", "value", "numerator", "denominator", "note")]
    _header(ws, labels, [10, 10, 22, 12, 10, 40, 26, 10, 10, 10, 20])
    names = dict(zip(data.schools["school_id"], data.schools["name"], strict=True))
    letters = {key: chr(ord("A") + labels.index(t.column(key).label)) for key in VALUE_COLUMNS}  # H, I, J
    ranges: dict[CellRule, list[str]] = {}  # each kind's cell rule → the cells it covers
    fractions: dict[CellRule, list[int]] = {}  # rows with a numerator and a denominator, by rule
    left: dict[tuple[str, str], list[dict[str, str]]] = {}  # prefilled rows not yet placed
    for row in given:
        left.setdefault((row["school_id"], row["indicator_id"]), []).append(row)

    def fill(r: int, row: dict[str, str]) -> None:
        for key in VALUE_COLUMNS:
            ws[f"{letters[key]}{r}"].value = _number(row[key])
        _put(ws[f"K{r}"], row.get("note", ""))
    for ind in plan.indicators:
        kind = get_kind(ind.kind)
        if kind.table != "observations" or ind.level == "banner":
            continue  # banner figures come from the bureau itself; projects have a sheet of their own
        if not open_in(plan, ind, period):
            continue  # not counted yet, or already past its due month: the month's form does not ask for it
        ents = applicable(ind, data.schools, data.townships)
        for ent in ents[ents["township"] == township]["entity"]:
            school = ent if ind.level == "school" else ""
            ws.append([period, school, names.get(school, ""), township, ind.id, ind.name, kind.form_unit(ind)])
            r = ws.max_row
            if left.get((school, ind.id)):
                fill(r, left[(school, ind.id)].pop(0))
            for col in "HIJK":
                _open(ws[f"{col}{r}"])
            for key in VALUE_COLUMNS:
                if key not in kind.columns:
                    ws[f"{letters[key]}{r}"].fill = _fill(GREY)
            used = [letters[key] for key in VALUE_COLUMNS if key in kind.columns]
            if "numerator" in kind.columns and "denominator" in kind.columns:
                fractions.setdefault(kind.cell_rule, []).append(r)
            elif used:
                cells = f"{used[0]}{r}" if len(used) == 1 else f"{used[0]}{r}:{used[-1]}{r}"
                ranges.setdefault(kind.cell_rule, []).append(cells)
    last = ws.max_row
    extra = [row for rows in left.values() for row in rows]  # the folder's rows the listed ones do not hold
    inds = {i.id: i for i in plan.indicators}
    for r in range(last + 1, last + len(extra) + EXTRA_ROWS + 1):  # spare rows for what the listed rows miss
        ws.append([period, None, None, township])
        if r - last <= len(extra):
            row = extra[r - last - 1]
            ind = inds.get(row["indicator_id"])
            _put(ws[f"B{r}"], row["school_id"])
            _put(ws[f"C{r}"], names.get(row["school_id"], ""))
            _put(ws[f"E{r}"], row["indicator_id"])
            if ind is not None:
                ws[f"F{r}"], ws[f"G{r}"] = ind.name, get_kind(ind.kind).form_unit(ind)
            fill(r, row)
        for col in "BEHIJK":
            _open(ws[f"{col}{r}"])
    spare = f"{last + 1}:{ws.max_row}"
    _validate(ws, "list", f"B{spare.replace(':', ':B')}", formula1=school_list, error="请从下拉列表中选择本地学校的代码")
    for rule, cells in ranges.items():
        _validate(ws, rule.type, " ".join(cells), formula1=rule.formula1, operator=rule.operator,
                  error=rule.error, prompt=rule.prompt or "")
    for rule, rows in fractions.items():
        _fraction_rule(ws, rows, letters, "分子、分母应为不小于0的数字，且分子不能大于分母", rule.prompt or "")
    for row in ws.iter_rows(min_row=2, min_col=8, max_col=10):
        for cell in row:
            cell.number_format = "#,##0.##"
    _protect(ws)
    _print_setup(ws)


def _projects(ws, plan: Plan, data: DataSet, township: str, period: str, given: list[dict[str, str]]) -> None:
    t = plan_tables(plan)["projects"]
    keys = ("period", "project_id", "project_name", "stage", "percent", "planned_start", "actual_start",
            "planned_finish", "actual_finish", "budget", "note")
    _header(ws, [t.column(k).label for k in keys], [10, 10, 36, 10, 10, 13, 13, 13, 13, 12, 20])
    mine = project_table(data, plan.end, [p.id for p in plan.projects], township)
    names = {p.id: p.name for p in plan.projects}
    left = {row["project_id"]: row for row in given}
    listed = [(p.project_id, p.name) for p in mine.itertuples()]
    listed += [(pid, names.get(pid, "")) for pid in left if pid not in {p for p, _ in listed}]
    for pid, name in listed:
        ws.append([period, pid, name])
        row = left.get(pid)
        if row is not None:
            r = ws.max_row
            _put(ws[f"D{r}"], row["stage"])
            ws[f"E{r}"], ws[f"J{r}"] = _number(row["percent"]), _number(row["budget"])
            for col, key in zip("FGHI", ("planned_start", "actual_start", "planned_finish", "actual_finish"), strict=True):
                ws[f"{col}{r}"] = _date(row[key])
            _put(ws[f"K{r}"], row.get("note", ""))
    rows = ws.max_row
    for r in range(2, rows + 1):
        for col in "DEFGHIJK":
            _open(ws[f"{col}{r}"])
        for col in "FGHI":
            ws[f"{col}{r}"].number_format = "yyyy-mm-dd"
    if rows >= 2:
        _validate(ws, "list", f"D2:D{rows}", formula1='"' + ",".join(PROJECT_STAGES) + '"', error="阶段只能是：未开工、在建、竣工、投用")
        _validate(ws, "decimal", f"E2:E{rows}", formula1="0", formula2="100", operator="between",
                  error="完成比例应在 0—100 之间", prompt="填 0—100 的数字（如 45 表示 45%）")
        _validate(ws, "date", f"F2:I{rows}", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                  operator="between", error=f"请填写日期，如 {plan.year}-06-15")
        _validate(ws, "decimal", f"J2:J{rows}", formula1="0", operator="greaterThanOrEqual", error="预算不能为负数")
    _protect(ws)
    _print_setup(ws)


def _activities(ws, plan: Plan, township: str, school_list: str, given: list[dict[str, str]]) -> None:
    t = plan_tables(plan)["activities"]
    keys = ("date", "task", "township", "school_id", "title", "participants", "note")
    _header(ws, [t.column(k).label for k in keys], [13, 10, 12, 12, 40, 10, 20])
    last = 1 + max(ACTIVITY_ROWS, len(given) + EXTRA_ROWS)
    for r in range(2, last + 1):
        ws.append([None, None, township])
        ws[f"A{r}"].number_format = "yyyy-mm-dd"
        for col in "ABDEFG":
            _open(ws[f"{col}{r}"])
    for r, row in enumerate(given, start=2):
        ws[f"A{r}"], ws[f"B{r}"], ws[f"F{r}"] = _date(row["date"]), _number(row["task"]), _number(row["participants"])
        for col, key in zip("DEG", ("school_id", "title", "note"), strict=True):
            _put(ws[f"{col}{r}"], row.get(key, ""))
    _validate(ws, "date", f"A2:A{last}", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)", operator="between",
              error=f"请填写日期，如 {plan.year}-06-15")
    _validate(ws, "list", f"B2:B{last}", formula1=f"{LISTS_SHEET}!$B$1:$B${len(plan.tasks)}",
              error="请选择工作要点中的任务编号")
    _validate(ws, "list", f"D2:D{last}", formula1=school_list, error="请从下拉列表中选择本地学校的代码（可留空）")
    _validate(ws, "whole", f"F2:F{last}", formula1="0", operator="greaterThanOrEqual", error="参与人数应为不小于0的整数")
    _protect(ws)
    _print_setup(ws)
