"""Read one input table from CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX into raw text columns.

Reading only finds the table and its columns; it does not judge cell values (``validate`` does).
Problems found here — empty file, undecodable bytes, header not on the first row, merged cells,
missing required columns — are returned, all of them, with the file, sheet, row and column.
"""

from __future__ import annotations

import codecs
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import Problem
from .normalize import is_blank
from .tables import Table, normalise_header

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK and GB2312
HEADER_SCAN_ROWS = 10
CHUNK_ROWS = 500_000  # CSV lines validated at a time (see ``read_table_chunks``)


@dataclass
class RawTable:
    table: Table
    file: str
    sheet: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)  # columns = keys, plus "_row"
    encoding: str = ""


def find_file(data_dir: Path, table: Table) -> tuple[Path | None, list[Problem]]:
    """The one file that holds a table: <name> or <中文名> with .csv or .xlsx."""
    found = [data_dir / f"{stem}{ext}" for stem in (table.name, table.label) for ext in (".csv", ".xlsx")]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = "、".join(p.name for p in found)
        return None, [Problem(names, message=f"“{table.label}”表有多个文件，只能保留一个")]
    if not found:
        if table.required:
            return None, [Problem(f"{table.name}.csv", message=f"缺少“{table.label}”数据文件（{table.name}.csv 或 {table.name}.xlsx）")]
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
    at most about a million rows, comes whole). Validating ten million observation rows at once held
    them all as text and peaked at 4.8 GB; piece by piece the memory follows ``rows``.

    Yields (piece, problems); the piece is None when only problems are left to report. Reading stops
    at the first unreadable line, after the pieces before it.
    """
    label = label or path.name
    if path.stat().st_size == 0:
        yield None, [Problem(label, message="文件为空")]
    elif path.suffix.lower() == ".xlsx":
        yield _read_xlsx(path, table, label)
    else:
        yield from _read_csv(path, table, label, rows)


def _encoding(path: Path) -> str | None:
    """The first of ENCODINGS that decodes the whole file (streamed: a later piece must not fail)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(path: Path, table: Table, label: str,
              rows: int | None) -> Iterator[tuple[RawTable | None, list[Problem]]]:
    encoding = _encoding(path)
    if encoding is None:
        yield None, [Problem(label, message="无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")]
        return
    options = {"dtype": str, "keep_default_na": False, "skip_blank_lines": False, "encoding": encoding,
               "header": None, "on_bad_lines": "error"}
    keys: dict[int, str] | None = None
    line, found = 1, 0  # sheet row number of the piece's first line; data rows so far
    try:
        if rows is None:  # the whole table in one piece, as the .xlsx route gives it
            yield _from_grid(pd.read_csv(path, **options), table, label, sheet="", first_row=1, encoding=encoding)
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
                    yield RawTable(table, label, "", body, encoding), []
    except pd.errors.EmptyDataError:
        yield None, [Problem(label, message="文件为空")]
        return
    except pd.errors.ParserError as exc:
        yield None, [Problem(label, message=f"CSV 格式错误：{exc}")]
        return
    if not found:
        yield None, _no_rows(pd.DataFrame(), table, label, "")


def _read_xlsx(path: Path, table: Table, label: str) -> tuple[RawTable | None, list[Problem]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return None, [Problem(label, message=f"无法打开 Excel 文件（文件损坏或不是 .xlsx）：{type(exc).__name__}")]
    wanted = {normalise_header(table.name), normalise_header(table.label)}
    sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"] or book.worksheets
    sheet = next((ws for ws in sheets if normalise_header(ws.title) in wanted), sheets[0])
    return read_sheet(sheet, table, label)


def read_sheet(sheet, table: Table, label: str) -> tuple[RawTable | None, list[Problem]]:
    """One worksheet as a table: merged cells and a header below row 1 are reported, not guessed."""
    problems = [
        Problem(label, sheet.title, rng.min_row, "", str(rng.coord), "含有合并单元格，请取消合并后逐行填写")
        for rng in sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    ]
    rows = list(sheet.iter_rows(values_only=True))
    if not rows or all(all(v is None or str(v).strip() == "" for v in r) for r in rows):
        return None, [*problems, Problem(label, sheet.title, message="工作表为空")]
    grid = pd.DataFrame(rows, dtype=object)
    raw, more = _from_grid(grid, table, label, sheet=sheet.title, first_row=1, encoding="xlsx")
    problems += more
    return (raw if not any(p.is_error for p in problems) else None), problems


def header_hits(sheet, table: Table) -> int:
    """How many of a sheet's first-row headers belong to a table (to find renamed sheets by content)."""
    mapping = table.header_map()
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    return sum(normalise_header(v) in mapping for v in first if v is not None)


def _from_grid(grid: pd.DataFrame, table: Table, label: str, *, sheet: str, first_row: int,
               encoding: str) -> tuple[RawTable | None, list[Problem]]:
    """Find the header (must be the first row), map headers to column keys, keep sheet row numbers."""
    keys, problems = _header(grid, table, label, sheet=sheet, first_row=first_row)
    if keys is None:
        return None, problems
    body = _body(grid.iloc[1:], keys, table, first_row=first_row + 1)
    return RawTable(table, label, sheet, body, encoding), [*problems, *_no_rows(body, table, label, sheet)]


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
