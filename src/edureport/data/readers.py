"""Read one input table from CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX into raw text columns.

Reading only finds the table and its columns; it does not judge cell values (``validate`` does).
Problems found here — empty file, undecodable bytes, header not on the first row, merged cells,
missing required columns — are returned, all of them, with the file, sheet, row and column.

Input files are not trusted: a CSV's size is checked against its table's limit, then one streamed pass
(``csv_scan``) checks what its bytes are, its encoding, its longest row and its number of columns; a
workbook is checked by ``workbooks.open_workbook`` before openpyxl reads it, and the cells read are
checked by ``cell_checks``. The limits are in ``limits.py``. Bad bytes give a located problem, never
an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.core.paths import why
from edureport.data.cell_checks import error_values, formulas, hidden_with_rows, long_cells, looks_like
from edureport.data.csv_scan import parser_problem, scan_csv
from edureport.data.normalize import is_blank
from edureport.data.schema import Table, normalise_header
from edureport.data.workbooks import open_workbook
from edureport.data.xlsx_scan import SheetScan

HEADER_SCAN_ROWS = 10
CHUNK_ROWS = 500_000  # CSV lines validated at a time (see ``read_table_chunks``)
MAX_LISTED = 20  # merged ranges listed one by one per sheet; the rest are counted


@dataclass
class RawTable:
    table: Table
    file: str
    sheet: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)  # columns = keys, plus "_row"
    encoding: str = ""
    columns: tuple[str, ...] = ()  # the keys the file's header has (``frame`` also has the others, blank)


def find_file(data_dir: Path, table: Table) -> tuple[Path | None, list[Problem]]:
    """The one file that holds a table: <name> or <中文名> (``Table.stems``) with .csv or .xlsx."""
    found = [data_dir / f"{stem}{ext}" for stem in table.stems for ext in (".csv", ".xlsx")]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = "、".join(p.name for p in found)
        return None, [Problem(names, message=f"“{table.label}”表有多个文件，只能保留一个")]
    if not found:
        if table.required:
            names = "、".join(f"{stem}.csv" for stem in dict.fromkeys((table.name, table.label)) if stem in table.stems)
            return None, [Problem(f"{table.name}.csv", message=f"缺少“{table.label}”数据文件（{names}，或同名的 .xlsx）")]
        return None, []
    return found[0], []


def read_table(path: Path, table: Table, label: str | None = None) -> tuple[RawTable | None, list[Problem]]:
    """The whole table at once (registry, projects, activities and every .xlsx sheet)."""
    chunks = list(read_table_chunks(path, table, label, rows=None))
    raw = next((r for r, _ in chunks if r is not None), None)
    return raw, [p for _, problems in chunks for p in problems]


def read_table_chunks(path: Path, table: Table, label: str | None = None,
                      rows: int | None = CHUNK_ROWS) -> Iterator[tuple[RawTable | None, list[Problem]]]:
    """A CSV table in pieces of about ``rows`` lines, each with its sheet row numbers (an .xlsx sheet,
    at most ``limits.MAX_SHEET_ROWS`` rows, comes whole). Validating ten million observation rows at
    once held them all as text and peaked at 4.8 GB; piece by piece the memory follows ``rows``.

    Yields (piece, problems); the piece is None when only problems are left to report. Reading stops
    at the first unreadable line, after the pieces before it.
    """
    label = label or path.name
    try:
        with path.open("rb"):
            size = path.stat().st_size
    except OSError as exc:  # no permission to read it, or it vanished
        yield None, [Problem(label, message=f"无法读取文件：{why(exc)}")]
        return
    if size == 0:
        yield None, [Problem(label, message="文件为空")]
    elif path.suffix.lower() == ".xlsx":
        yield _read_xlsx(path, table, label)
    elif size > limits.CSV_MAX_BYTES[table.name]:
        yield None, [Problem(label, message=f"文件有 {size / limits.MiB:,.1f} MB，超过“{table.label}”表的上限 "
                                            f"{limits.CSV_MAX_BYTES[table.name] // limits.MiB:,} MB：请检查是否选错了文件，"
                                            "或把数据按年度分开")]
    else:
        yield from _read_csv(path, table, label, rows)


def _read_csv(path: Path, table: Table, label: str,
              rows: int | None) -> Iterator[tuple[RawTable | None, list[Problem]]]:
    scan = scan_csv(path, label)
    if scan.encoding is None:
        yield None, scan.problems
        return
    encoding = scan.encoding
    may_be_long = scan.longest > limits.MAX_CELL_CHARS  # no cell can be longer than its row
    options = {"dtype": str, "keep_default_na": False, "skip_blank_lines": False, "encoding": encoding,
               "header": None, "on_bad_lines": "error"}
    keys: dict[int, str] | None = None
    line, found = 1, 0  # sheet row number of the piece's first line; data rows so far
    try:
        if rows is None:  # the whole table in one piece, as the .xlsx route gives it
            raw, problems = _from_grid(pd.read_csv(path, **options), table, label, sheet="", first_row=1,
                                       encoding=encoding)
            more = long_cells(raw, table) if raw is not None and may_be_long else []
            yield (None if more else raw), [*problems, *more]
            return
        with pd.read_csv(path, chunksize=rows, **options) as reader:
            for grid in reader:
                if keys is None:
                    keys, problems = _header(grid, table, label, sheet="", first_row=1)
                    if keys is None:
                        yield None, problems
                        return
                    yield None, problems
                    grid, line = grid.iloc[1:], 2
                body = _body(grid, keys, table, first_row=line)
                line, found = line + len(grid), found + len(body)
                if len(body):
                    raw = RawTable(table, label, "", body, encoding, tuple(keys.values()))
                    more = long_cells(raw, table) if may_be_long else []
                    if more:
                        yield None, more
                        return
                    yield raw, []
    except pd.errors.EmptyDataError:
        yield None, [Problem(label, message="文件为空")]
        return
    except pd.errors.ParserError as exc:
        yield None, [parser_problem(label, exc)]
        return
    if not found:
        yield None, _no_rows(pd.DataFrame(), table, label, "")


def _read_xlsx(path: Path, table: Table, label: str) -> tuple[RawTable | None, list[Problem]]:
    """The table's sheet of a data-folder workbook: the visible sheet named like the table, else the
    first visible sheet. A hidden sheet that holds this table's rows, or two sheets whose names differ
    only in case or spaces, are errors: reading another sheet than the one meant would be silently wrong."""
    book, problems = open_workbook(path, label)
    if book is None:
        return None, problems
    wanted = {normalise_header(s) for s in (*table.stems, table.label)}
    named = [(ws, scan) for ws, scan in book.sheets if normalise_header(ws.title) in wanted]
    if len(named) > 1:
        names = "、".join(f"“{ws.title}”" for ws, _ in named)
        return None, [Problem(label, message=f"有 {len(named)} 张工作表的名称都是“{table.label}”（只差大小写或空格）："
                                             f"{names}，请只保留一张")]
    visible = [(ws, scan) for ws, scan in book.sheets if ws.sheet_state == "visible"]
    chosen = next((s for s in named if s[0].sheet_state == "visible"), visible[0] if visible else None)
    hidden = [hidden_with_rows(label, ws, scan, table) for ws, scan in book.sheets
              if ws.sheet_state != "visible" and (ws.title in {w.title for w, _ in named} or looks_like(ws, table))]
    problems = [p for p in hidden if p is not None]
    if chosen is None:
        return None, [*problems, Problem(label, message="工作簿中没有可见的工作表：请取消隐藏要读取的工作表")]
    raw, more = read_sheet(chosen[0], table, label, chosen[1])
    problems += more
    return (raw if not any(p.is_error for p in problems) else None), problems


def read_sheet(sheet, table: Table, label: str, scan: SheetScan | None = None) -> tuple[RawTable | None, list[Problem]]:
    """One worksheet as a table: merged cells, a header below row 1, formulas without a saved value,
    Excel error values and over-long cells are reported, not guessed."""
    merged = sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    problems = [Problem(label, sheet.title, rng.min_row, "", str(rng.coord), "含有合并单元格，请取消合并后逐行填写")
                for rng in merged[:MAX_LISTED]]
    if len(merged) > MAX_LISTED:
        problems.append(Problem(label, sheet.title, message=f"另有 {len(merged) - MAX_LISTED} 处合并单元格未逐条列出"))
    rows = list(sheet.iter_rows(values_only=True))
    if not rows or all(all(v is None or str(v).strip() == "" for v in r) for r in rows):
        return None, [*problems, Problem(label, sheet.title, message="工作表为空")]
    grid = pd.DataFrame(rows, dtype=object)
    if scan is not None:
        problems += formulas(label, sheet.title, scan, grid)
    raw, more = _from_grid(grid, table, label, sheet=sheet.title, first_row=1, encoding="xlsx")
    problems += more
    if raw is not None:
        problems += error_values(raw, table) + long_cells(raw, table)
    return (raw if not any(p.is_error for p in problems) else None), problems


def _from_grid(grid: pd.DataFrame, table: Table, label: str, *, sheet: str, first_row: int,
               encoding: str) -> tuple[RawTable | None, list[Problem]]:
    """Find the header (must be the first row), map headers to column keys, keep sheet row numbers."""
    keys, problems = _header(grid, table, label, sheet=sheet, first_row=first_row)
    if keys is None:
        return None, problems
    body = _body(grid.iloc[1:], keys, table, first_row=first_row + 1)
    return (RawTable(table, label, sheet, body, encoding, tuple(keys.values())),
            [*problems, *_no_rows(body, table, label, sheet)])


def _header(grid: pd.DataFrame, table: Table, label: str, *, sheet: str,
            first_row: int) -> tuple[dict[int, str] | None, list[Problem]]:
    """Column position → key from the first row; None (with the problems) when it is not the header."""
    mapping = table.header_map()
    required = [c for c in table.columns if c.required]

    def hits(i: int) -> int:
        return sum(normalise_header(v) in mapping for v in grid.iloc[i] if v is not None)

    if grid.empty:
        return None, [Problem(label, sheet, message="文件为空")]
    if hits(0) == 0:
        best = max(range(min(HEADER_SCAN_ROWS, len(grid))), key=hits)
        if hits(best) > 0:
            return None, [Problem(label, sheet, first_row + best, "", "",
                                  f"表头应在第1行，实际在第{first_row + best}行；请删除表头上方的标题或空行")]
        return None, [Problem(label, sheet, first_row, "", "", "第1行不是可识别的表头（编码错误或不是“"
                              f"{table.label}”表？）应包含：{'、'.join(c.label for c in required)}")]
    problems: list[Problem] = []
    keys: dict[int, str] = {}
    for pos, header in enumerate(grid.iloc[0]):
        if header is None or str(header).strip() == "":
            continue
        key = mapping.get(normalise_header(header))
        if key is None:
            problems.append(Problem(label, sheet, first_row, str(header), "", "未知列，已忽略", severity="警告"))
        elif key in keys.values():
            problems.append(Problem(label, sheet, first_row, str(header), "", "列重复"))
        else:
            keys[pos] = key
    for col in required:
        if col.key not in keys.values():
            problems.append(Problem(label, sheet, first_row, col.label, "", "缺少必填列"))
    if any(p.is_error for p in problems):
        return None, problems
    return keys, problems


def _body(grid: pd.DataFrame, keys: dict[int, str], table: Table, *, first_row: int) -> pd.DataFrame:
    """The data rows under the header: known columns by key, sheet row numbers in "_row", blank rows
    dropped, absent optional columns as ""."""
    body = grid.iloc[:, list(keys)].copy()
    body.columns = [keys[p] for p in keys]
    body["_row"] = range(first_row, first_row + len(body))
    data_cols = [c for c in body.columns if c != "_row"]
    blank_row = pd.concat([is_blank(body[c]) for c in data_cols], axis=1).all(axis=1)
    body = body[~blank_row]
    for col in table.columns:
        if col.key not in body.columns:
            body[col.key] = ""
    return body.reset_index(drop=True)


def _no_rows(body: pd.DataFrame, table: Table, label: str, sheet: str) -> list[Problem]:
    if not body.empty:
        return []
    return [Problem(label, sheet, message="没有数据行", severity="错误" if table.required else "警告")]
