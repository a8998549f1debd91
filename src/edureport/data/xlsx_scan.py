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

from edureport.core import limits
from edureport.data.filetypes import RESAVE

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
    """Stream one XML part through expat. DTDs are refused (no entity expansion: 'billion laughs').
    Names keep their prefixes (no namespace processing, which costs a fifth more): ``local`` drops them."""
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_dtd(*_args) -> None:
        raise Refused(CORRUPT.format(what=f"{part} 含有 DTD 声明"))

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    handler.attach(parser)
    with zf.open(part) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    handler.done()


def local(name: str) -> str:
    return name.rpartition(":")[2]


class Budget:
    """Elements and cells across all XML parts of a workbook: openpyxl makes about one object per element."""

    def __init__(self) -> None:
        self.elements = 0
        self.cells = 0


def _too_many_elements() -> Refused:
    return Refused(f"工作簿的内容超过 {limits.MAX_XML_ELEMENTS:,} 个 XML 元素：文件过大，请删除多余内容或改用 CSV")


class Handler:
    """Counts the elements of one part against the workbook's budget (subclasses look at some of them).
    Counting stays in the handler while its part streams: a call per element is the pre-scan's cost."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.elements = 0
        self.room = limits.MAX_XML_ELEMENTS - budget.elements

    def attach(self, parser) -> None:
        parser.StartElementHandler = self.start

    def done(self) -> None:
        self.budget.elements += self.elements

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.room:
            raise _too_many_elements()


class SharedStrings(Handler):
    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.count = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.room:
            raise _too_many_elements()
        if local(name) == "si":
            self.count += 1
            if self.count > limits.MAX_SHARED_STRINGS:
                raise Refused(f"工作簿中的文字超过 {limits.MAX_SHARED_STRINGS:,} 条：文件过大，请删除多余内容或改用 CSV")


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,9})$")
_COLUMNS: dict[str, int] = {}  # column letters seen → number (at most 2·26³ keys: A–ZZZ, either case)


def cell_position(text: str) -> tuple[int, int]:
    """(row, column) of a reference like "XFD1048576"; ValueError when it is not one. Called once per
    cell of every sheet: the usual "B12" takes a split and a dict lookup (the regex took a third of the
    pre-scan)."""
    letters = text.rstrip("0123456789")
    col = _COLUMNS.get(letters)
    digits = text[len(letters):]
    if col is None or not 0 < len(digits) < 10 or digits[0] == "0":
        m = _REF.match(text.strip())
        if not m or int(m.group(2)) < 1:
            raise ValueError(f"无效的单元格引用“{text[:20]}”")
        letters, digits = m.group(1), m.group(2)
        col = 0
        for ch in letters.upper():
            col = col * 26 + ord(ch) - 64
        _COLUMNS[letters] = col
    return int(digits), col


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
    """Cells of one worksheet: extent, count and formulas without a saved value, checked as they come.

    Only start tags are followed (measured on a 1.1-million-cell sheet: 4.4 s for expat with an empty
    start handler, 6.6 s with end and text handlers too; this handler 6.3 s, openpyxl then 20 s). A cell's
    formula state is settled when the next cell, row or the end comes; the text handler is switched on
    only inside the <v> of a formula cell."""

    def __init__(self, scan: SheetScan, budget: Budget) -> None:
        super().__init__(budget)
        self.scan = scan
        self.row = self.col = self.row_elements = self.cells = 0
        self.cell_room = limits.MAX_WORKBOOK_CELLS - budget.cells
        self.formula = self.value = False
        self.parser = None
        self.tags: dict[str, str] = {}

    def attach(self, parser) -> None:
        super().attach(parser)
        self.parser = parser

    def done(self) -> None:
        self._settle()
        super().done()
        self.budget.cells += self.cells
        self.scan.cells = self.cells

    def _settle(self) -> None:
        """The previous cell: a formula without a saved value is listed."""
        if self.formula and not self.value:
            self.scan.formula_count += 1
            if len(self.scan.formulas) < MAX_LISTED:
                self.scan.formulas.append(cell_name(self.row, self.col))
        self.formula = False
        if self.parser.CharacterDataHandler is not None:
            self.parser.CharacterDataHandler = None

    def _reach(self, row: int, col: int) -> None:
        rows, cols = max(self.scan.rows, row), max(self.scan.columns, col)
        if rows > limits.MAX_SHEET_ROWS or cols > limits.MAX_COLUMNS or rows * cols > limits.MAX_SHEET_CELLS:
            far = far_cell(rows, cols)
            raise Refused(far.format(sheet=self.scan.title,
                                     cell=cell_name(row, col) if "单元格" in far else cell_name(rows, cols)))
        self.scan.rows, self.scan.columns = rows, cols

    def _text(self, data: str) -> None:
        if data.strip():
            self.value = True

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.room:
            raise _too_many_elements()
        tag = self.tags.get(name)
        if tag is None:
            tag = self.tags[name] = local(name)
        if tag == "c":
            if self.formula:
                self._settle()
            ref = attrs.get("r")
            if ref:
                self.row, self.col = cell_position(ref)
            else:
                self.col += 1
            if self.row > self.scan.rows or self.col > self.scan.columns:
                self._reach(self.row, self.col)
            self.cells += 1
            if self.cells > self.cell_room:
                raise Refused(f"工作簿中的单元格超过 {limits.MAX_WORKBOOK_CELLS:,} 个（到工作表“{self.scan.title}”的 "
                              f"{cell_name(self.row, self.col)} 为止）：文件过大，请删除多余内容或改用 CSV")
            # A formula whose result is "" is saved as t="str" with an empty value: that is a value.
            self.value = attrs.get("t") == "str"
        elif tag == "v":
            if self.formula:
                self.parser.CharacterDataHandler = self._text
        elif tag == "f":
            self.formula = True
        elif tag == "is":
            self.value = True
        elif tag == "row":
            if self.formula:
                self._settle()
            self.row = int(attrs["r"]) if attrs.get("r") else self.row + 1
            self.col = 0
            self.row_elements += 1
            # A row without cells costs openpyxl one object, wherever it is: only their number counts.
            if self.row_elements > limits.MAX_SHEET_ROWS:
                raise Refused(f"工作表“{self.scan.title}”有超过 {limits.MAX_SHEET_ROWS:,} 行（到第 {self.row:,} 行为止，"
                              "包括只有格式的空行）：请删除多余的行后保存")
        elif tag in ("mergeCell", "hyperlink"):  # openpyxl makes a cell for every position of these ranges
            if self.formula:
                self._settle()
            first, _, last = attrs.get("ref", "").partition(":")
            if first:
                r1, c1 = cell_position(first)
                r2, c2 = cell_position(last) if last else (r1, c1)
                self._reach(max(r1, r2), max(c1, c2))
                self.cells += (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)
                if self.cells > self.cell_room:
                    raise Refused(f"工作表“{self.scan.title}”的合并单元格或超链接区域 {attrs['ref'][:30]} 过大："
                                  "请取消合并或删除超链接后保存")
