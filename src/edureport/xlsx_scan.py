"""Stream a workbook's XML parts through expat before openpyxl sees them: count and locate what it would build.

openpyxl makes a Python object for every cell of a worksheet's used range when rows are read, and for
every position of a merged or hyperlinked range while it loads; one cell at XFD1048576 is a grid of
1.7·10¹⁰. The handlers here follow the cells as they stream past (bounded memory: nothing is kept but
counters) and stop at the first one past a limit of ``limits.py``, naming the sheet and the cell.
DTDs are refused, so no entity can expand.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from . import limits
from .filetypes import RESAVE

MAX_LISTED = 20  # formula cells listed one by one per sheet; the rest are counted
CORRUPT = f"Excel 文件已损坏，无法读取（{{what}}）：{RESAVE}"


@dataclass
class SheetScan:
    """What the pre-scan found in one worksheet's XML."""

    title: str
    state: str = "visible"  # visible | hidden | veryHidden
    part: str = ""
    rows: int = 0  # the farthest row and column holding a cell (0: no cells)
    columns: int = 0
    cells: int = 0
    formulas: list[str] = field(default_factory=list)  # cells with a formula but no saved value (first few)
    formula_count: int = 0


class Refused(Exception):
    """A limit or a structural check failed during the pre-scan (carries the message)."""


def parse(zf: zipfile.ZipFile, part: str, handler: Handler) -> None:
    """Stream one XML part through expat. DTDs are refused (no entity expansion: 'billion laughs')."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True

    def no_dtd(*_args) -> None:
        raise Refused(CORRUPT.format(what=f"{part} 含有 DTD 声明"))

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    with zf.open(part) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            parser.Parse(block, False)
        parser.Parse(b"", True)


def local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


class Budget:
    """Elements across all XML parts of a workbook: openpyxl makes about one object per element."""

    def __init__(self) -> None:
        self.elements = 0
        self.cells = 0

    def element(self) -> None:
        self.elements += 1
        if self.elements > limits.MAX_XML_ELEMENTS:
            raise Refused(f"工作簿的内容超过 {limits.MAX_XML_ELEMENTS:,} 个 XML 元素：文件过大，请删除多余内容或改用 CSV")


class Handler:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.budget.element()

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class SharedStrings(Handler):
    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.count = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.budget.element()
        if local(name) == "si":
            self.count += 1
            if self.count > limits.MAX_SHARED_STRINGS:
                raise Refused(f"工作簿中的文字超过 {limits.MAX_SHARED_STRINGS:,} 条：文件过大，请删除多余内容或改用 CSV")


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,9})$")


def cell_position(text: str) -> tuple[int, int]:
    """(row, column) of a reference like "XFD1048576"; ValueError when it is not one."""
    m = _REF.match(text.strip())
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"无效的单元格引用“{text[:20]}”")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def cell_name(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def far_cell(rows: int, cols: int) -> str:
    """The message template when a used range of rows × cols is over the limits ("" when it is not)."""
    if rows > limits.MAX_SHEET_ROWS or cols > limits.MAX_COLUMNS:
        return (f"工作表“{{sheet}}”的单元格 {{cell}} 超出允许范围（最多 {limits.MAX_SHEET_ROWS:,} 行、"
                f"{limits.MAX_COLUMNS} 列）：请删除多余的行列（包括只有格式的空单元格）后保存")
    if rows * cols > limits.MAX_SHEET_CELLS:
        return (f"工作表“{{sheet}}”的使用范围 A1:{{cell}} 共 {rows * cols:,} 个单元格，超过上限 "
                f"{limits.MAX_SHEET_CELLS:,}：请删除多余的行列（包括只有格式的空单元格）后保存")
    return ""


class SheetHandler(Handler):
    """Cells of one worksheet: extent, count and formulas without a saved value, checked as they come."""

    def __init__(self, scan: SheetScan, budget: Budget) -> None:
        super().__init__(budget)
        self.scan = scan
        self.row = 0
        self.col = 0
        self.row_elements = 0
        self.ref = ""
        self.formula = self.value = self.in_value = False

    def _reach(self, row: int, col: int, ref: str) -> None:
        rows, cols = max(self.scan.rows, row), max(self.scan.columns, col)
        far = far_cell(rows, cols)
        if far:
            raise Refused(far.format(sheet=self.scan.title, cell=ref if "单元格" in far else cell_name(rows, cols)))
        self.scan.rows, self.scan.columns = rows, cols

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.budget.element()
        tag = local(name)
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                self.row, self.col = cell_position(ref)
            else:
                self.col += 1
            self.ref = cell_name(self.row, self.col)
            self._reach(self.row, self.col, self.ref)
            self.scan.cells += 1
            self.budget.cells += 1
            if self.budget.cells > limits.MAX_WORKBOOK_CELLS:
                raise Refused(f"工作簿中的单元格超过 {limits.MAX_WORKBOOK_CELLS:,} 个（到工作表“{self.scan.title}”的 "
                               f"{self.ref} 为止）：文件过大，请删除多余内容或改用 CSV")
            # A formula whose result is "" is saved as t="str" with an empty value: that is a value.
            self.formula, self.value = False, attrs.get("t") == "str"
        elif tag == "row":
            self.row = int(attrs["r"]) if attrs.get("r") else self.row + 1
            self.col = 0
            self.row_elements += 1
            # A row without cells costs openpyxl one object, wherever it is: only their number counts.
            if self.row_elements > limits.MAX_SHEET_ROWS:
                raise Refused(f"工作表“{self.scan.title}”有超过 {limits.MAX_SHEET_ROWS:,} 行（到第 {self.row:,} 行为止，"
                               "包括只有格式的空行）：请删除多余的行后保存")
        elif tag == "f":
            self.formula = True
        elif tag == "v":
            self.in_value = True
        elif tag == "is":
            self.value = True
        elif tag in ("mergeCell", "hyperlink"):  # openpyxl makes a cell for every position of these ranges
            first, _, last = attrs.get("ref", "").partition(":")
            if first:
                r1, c1 = cell_position(first)
                r2, c2 = cell_position(last) if last else (r1, c1)
                self._reach(max(r1, r2), max(c1, c2), cell_name(max(r1, r2), max(c1, c2)))
                self.budget.cells += (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)
                if self.budget.cells > limits.MAX_WORKBOOK_CELLS:
                    raise Refused(f"工作表“{self.scan.title}”的合并单元格或超链接区域 {attrs['ref'][:30]} 过大："
                                   "请取消合并或删除超链接后保存")

    def end(self, name: str) -> None:
        tag = local(name)
        if tag == "v":
            self.in_value = False
        elif tag == "c" and self.formula and not self.value:
            self.scan.formula_count += 1
            if len(self.scan.formulas) < MAX_LISTED:
                self.scan.formulas.append(self.ref)

    def text(self, data: str) -> None:
        if self.in_value and data.strip():
            self.value = True
