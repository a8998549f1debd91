"""Checks on the cells of a table once it is read: what would otherwise pass as ordinary text or blanks.

A cell longer than Excel allows (a pasted document), an Excel error value (#DIV/0!), a formula saved
without its result (read as an empty cell), a hidden sheet full of rows (skipped without a word): each
is reported with its sheet, row and column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.data.schema import Table, normalise_header
from edureport.data.xlsx_scan import SheetScan, cell_position

if TYPE_CHECKING:
    from edureport.data.readers import RawTable

MAX_LISTED = 20  # cells listed one by one per sheet and check; the rest are counted
# Excel's error values (what a cell holds when its formula failed; openpyxl also gives #VALUE! for a
# date outside Excel's range). As text they would pass as a name or a note.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})


def long_cells(raw: RawTable, table: Table) -> list[Problem]:
    """Cells longer than Excel allows: named by row and column, never echoed whole (``Problem.format``)."""
    out = []
    for col in table.columns:
        if col.key not in raw.frame:
            continue
        values = raw.frame[col.key]
        lengths = (values.map(lambda v: len(v) if isinstance(v, str) else 0) if raw.encoding == "xlsx"
                   else values.str.len()).fillna(0).astype(int)
        for i in np.flatnonzero((lengths > limits.MAX_CELL_CHARS).to_numpy())[:MAX_LISTED]:
            out.append(Problem(raw.file, raw.sheet, int(raw.frame["_row"].iloc[i]), col.label,
                               raw.frame[col.key].iloc[i],
                               f"单元格有 {lengths.iloc[i]:,} 个字符，超过上限 {limits.MAX_CELL_CHARS:,}（Excel 单元格的上限）："
                               "请检查是否误粘贴了大段内容"))
    return out


def formulas(label: str, title: str, scan: SheetScan, grid: pd.DataFrame) -> list[Problem]:
    """Formulas saved without their result (a file written by a program, never opened in Excel):
    reading them gives empty cells, which would pass as "not filled in"."""
    out = []
    for ref in scan.formulas:
        row, col = cell_position(ref)
        header = grid.iat[0, col - 1] if col - 1 < grid.shape[1] and grid.iat[0, col - 1] is not None else ""
        out.append(Problem(label, title, row, str(header or ref), "",
                           f"单元格 {ref} 是公式，但文件中没有保存计算结果：请在 Excel 或 WPS 中打开、保存后再提交"))
    if scan.formula_count > len(scan.formulas):
        out.append(Problem(label, title, message=f"另有 {scan.formula_count - len(scan.formulas)} 个公式单元格没有保存计算结果"))
    return out


def error_values(raw: RawTable, table: Table) -> list[Problem]:
    out = []
    for col in table.columns:
        if col.key not in raw.frame:
            continue
        bad = raw.frame[col.key].map(lambda v: isinstance(v, str) and v.strip() in EXCEL_ERRORS)
        for i in np.flatnonzero(bad.to_numpy(dtype=bool))[:MAX_LISTED]:
            out.append(Problem(raw.file, raw.sheet, int(raw.frame["_row"].iloc[i]), col.label, raw.frame[col.key].iloc[i],
                               "单元格是 Excel 错误值（公式出错，或日期超出范围）：请更正后保存"))
    return out


def header_hits(sheet, table: Table) -> int:
    """How many of a sheet's first-row headers belong to a table (to find renamed sheets by content)."""
    mapping = table.header_map()
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    return sum(normalise_header(v) in mapping for v in first if v is not None)


def looks_like(sheet, table: Table) -> bool:
    """Whether a sheet's first row holds this table's headers (all required ones, or at least two)."""
    needed = min(2, sum(c.required for c in table.columns))
    return header_hits(sheet, table) >= needed


def hidden_with_rows(label: str, sheet, scan: SheetScan, table: Table) -> Problem | None:
    """An error for a hidden sheet holding data rows under its first row (None when it has none):
    skipping it would silently lose the rows someone filled in."""
    for values in sheet.iter_rows(min_row=2, max_row=max(scan.rows, 2), values_only=True):
        if any(v is not None and str(v).strip() != "" for v in values):
            return Problem(label, sheet.title, message=f"工作表“{sheet.title}”被隐藏但含有数据（像是“{table.label}”表）："
                                                       "请取消隐藏或删除该工作表")
    return None
