"""One streamed pass over a CSV before pandas reads it: what its bytes are, its encoding, its rows.

pandas trusts a CSV: a 2 GB file without line breaks becomes one cell, a NUL byte or UTF-16 text a
confusing header error, an unclosed quote the rest of the file in one cell. ``scan_csv`` reads the file
in 4 MiB blocks (numpy finds line breaks and quotes; 0.6 s more than decoding alone for 700 MB) and
refuses, with the row, what pandas would choke on. The limits are in ``limits.py``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.data.filetypes import RESAVE_CSV, not_a_csv, sniff

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK and GB2312


def decode(blob: bytes) -> str | None:
    """``blob`` in the first of ``ENCODINGS`` that reads it; None when none does."""
    for encoding in ENCODINGS:
        try:
            return blob.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
SCAN_BLOCK = 4 * limits.MiB  # bytes read at a time; at least CSV_MAX_ROW_BYTES, so row 1 is in the first block


@dataclass
class CsvScan:
    """What one streamed pass over a CSV found: its encoding (None: refused), problems, longest row."""

    encoding: str | None
    problems: list[Problem]
    longest: int = 0


def scan_csv(path: Path, label: str) -> CsvScan:
    """Check a CSV's bytes before pandas reads it, in one streamed pass (a second one for GBK).

    Refused, each with the row where it happens: a workbook, PDF or UTF-16 file named .csv, NUL bytes,
    a row longer than ``limits.CSV_MAX_ROW_BYTES`` (checked while reading, so a 2 GB file without line
    breaks stops after the first MiB), an unclosed quote, a header wider than ``limits.MAX_COLUMNS``,
    bytes that are neither UTF-8 nor GBK/GB18030 (the whole file is decoded: a later piece must not fail).
    """
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    kind = sniff(head)
    wrong = not_a_csv(head, kind)
    if wrong:
        return CsvScan(None, [Problem(label, message=wrong)])
    rows = _Rows(label)
    decoder = codecs.getincrementaldecoder(ENCODINGS[0])()
    bad_at: dict[str, int] = {}  # encoding → row of its first undecodable byte
    with path.open("rb") as fh:
        block = fh.read(SCAN_BLOCK)
        while block:
            after = fh.read(SCAN_BLOCK)
            if ENCODINGS[0] not in bad_at:
                try:
                    decoder.decode(block, final=not after)
                except UnicodeDecodeError as exc:
                    bad_at[ENCODINGS[0]] = rows.row_at(block, exc.start)
            problem = rows.feed(block, after[:1])
            if problem:
                return CsvScan(None, [problem])
            block = after
    problem = rows.finish()
    if problem:
        return CsvScan(None, [problem])
    if ENCODINGS[0] not in bad_at:
        return CsvScan(ENCODINGS[0], [], rows.longest)
    for encoding in ENCODINGS[1:]:
        where = _decode_error_row(path, encoding)
        if where is None:
            return CsvScan(encoding, [], rows.longest)
        bad_at[encoding] = where
    rows_text = "，".join(f"按 {'UTF-8' if e == 'utf-8-sig' else 'GBK'} 读到第{r}行出错" for e, r in bad_at.items())
    return CsvScan(None, [Problem(label, message=f"无法识别文件编码（{rows_text}）：请另存为 UTF-8 或 GBK 编码的 CSV")])


def _decode_error_row(path: Path, encoding: str) -> int | None:
    """The row of the first byte ``encoding`` cannot decode; None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    rows = _Rows("")
    with path.open("rb") as fh:
        block = fh.read(SCAN_BLOCK)
        while block:
            after = fh.read(SCAN_BLOCK)
            try:
                decoder.decode(block, final=not after)
            except UnicodeDecodeError as exc:
                return rows.row_at(block, exc.start)
            rows.feed(block, after[:1])
            block = after
    return None


class _Rows:
    """Row boundaries of a CSV streamed in blocks, as pandas' parser finds them: a line break (LF, CRLF
    or a lone CR) ends a row unless it is inside quotes. Quotes are counted by parity; the bytes of
    line breaks, quotes, commas and NUL never occur inside a UTF-8 or GB18030 character."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.pos = 0  # file offset of the block being fed
        self.row = 1  # number of the row that starts at ``start``
        self.start = 0  # file offset where the current row starts
        self.quoted = 0  # 1 while inside quotes at the end of the last block
        self.longest = 0

    def row_at(self, block: bytes, index: int) -> int:
        """The row number of byte ``index`` of ``block``, the block about to be fed."""
        ends = self._block_ends(block, b"")[0]
        return self.row + int(np.searchsorted(ends, self.pos + index, side="right"))

    def _block_ends(self, block: bytes, nxt: bytes) -> tuple[np.ndarray, np.ndarray, int]:
        """File offsets just after each row end in ``block``, offsets of quoted line breaks, quote state after."""
        a = np.frombuffer(block, dtype=np.uint8)
        breaks = a == 10
        if b"\r" in block:  # a lone CR ends a row too; CRLF is one end (at the LF)
            following = np.empty_like(a)
            following[:-1] = a[1:]
            following[-1] = nxt[0] if nxt else 0
            breaks |= (a == 13) & (following != 10)
        if b'"' in block:
            inside = (np.cumsum(a == 34) + self.quoted) & 1
            ends_mask, quoted_after = breaks & (inside == 0), int(inside[-1])
            quoted_breaks = np.flatnonzero(breaks & (inside == 1)) + self.pos
        elif self.quoted:
            ends_mask, quoted_after = np.zeros_like(breaks), 1
            quoted_breaks = np.flatnonzero(breaks) + self.pos
        else:
            ends_mask, quoted_after, quoted_breaks = breaks, 0, np.empty(0, dtype=np.int64)
        return np.flatnonzero(ends_mask).astype(np.int64) + self.pos + 1, quoted_breaks, quoted_after

    def feed(self, block: bytes, nxt: bytes) -> Problem | None:
        if b"\x00" in block:
            return Problem(self.label, row=self.row_at(block, block.index(b"\x00")),
                           message="含有空字符（\\x00）：文件已损坏，或不是文本 CSV（如 Excel、图片等二进制文件）；"
                                   + RESAVE_CSV)
        ends, quoted_breaks, quoted_after = self._block_ends(block, nxt)
        if self.pos == 0:  # the first row (the header) lies in the first block: longer rows are refused
            problem = self._header_width(block, int(ends[0]) if len(ends) else len(block))
            if problem:
                return problem
        starts = np.concatenate(([self.start], ends[:-1]))
        lengths = ends - starts
        if len(lengths) and lengths.max() > limits.CSV_MAX_ROW_BYTES:
            i = int(lengths.argmax())
            return self._too_long(self.row + i, int(starts[i]), int(ends[i]), quoted_breaks)
        self.longest = max(self.longest, int(lengths.max()) if len(lengths) else 0)
        if len(ends):
            self.row, self.start = self.row + len(ends), int(ends[-1])
        self.pos += len(block)
        self.quoted = quoted_after
        if self.pos - self.start > limits.CSV_MAX_ROW_BYTES:  # stop now: the rest may be gigabytes
            return self._too_long(self.row, self.start, self.pos, quoted_breaks)
        if self.row - 1 > limits.CSV_MAX_ROWS:
            return Problem(self.label, message=(
                f"文件超过 {limits.CSV_MAX_ROWS:,} 行（上限）：请检查是否选错了文件，或把数据按年度分开"))
        return None

    def finish(self) -> Problem | None:
        """At the end of the file: the last row's length, an open quote."""
        self.longest = max(self.longest, self.pos - self.start)
        if self.quoted:
            return Problem(self.label, row=self.row, message=UNCLOSED_QUOTE)
        return None

    def _header_width(self, block: bytes, end: int) -> Problem | None:
        first = np.frombuffer(block, dtype=np.uint8)[:end]
        outside = ((np.cumsum(first == 34) & 1) == 0) if b'"' in block[:end] else True
        columns = int(np.count_nonzero((first == 44) & outside)) + 1
        if columns > limits.MAX_COLUMNS:
            return Problem(self.label, row=1, message=f"第1行（表头）有 {columns:,} 列，超过上限 {limits.MAX_COLUMNS} 列："
                                                      "请删除多余的列，或检查是否选错了文件")
        return None

    def _too_long(self, row: int, start: int, end: int, quoted_breaks: np.ndarray) -> Problem:
        spans = bool(np.any((quoted_breaks >= start) & (quoted_breaks < end)))
        if spans:
            return Problem(self.label, row=row, message=UNCLOSED_QUOTE)
        return Problem(self.label, row=row, message=(
            f"这一行超过 {limits.CSV_MAX_ROW_BYTES // limits.MiB} MB（每行上限）：文件可能不是按行分隔的表格，"
            "或某个单元格误粘贴了大段内容"))


UNCLOSED_QUOTE = ("这一行的引号没有配对（从这里起的内容会被读成一个单元格）：请删除多余的引号，或把含引号的内容整体用引号括起、"
                  "其中的引号写两遍（\"\"）")


def parser_problem(label: str, exc: Exception) -> Problem:
    """pandas' tokenizer errors in Chinese, with the row."""
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return Problem(label, row=int(m.group(2)), message=(
            f"这一行有 {int(m.group(3)):,} 个单元格，而第1行（表头）只有 {m.group(1)} 个：请删除多余的逗号，"
            "或把含逗号的内容用引号括起"))
    m = re.search(r"EOF inside string starting at row (\d+)", text)
    if m:
        return Problem(label, row=int(m.group(1)) + 1, message=UNCLOSED_QUOTE)
    return Problem(label, message=f"CSV 格式错误，无法读取（{text.strip()[:120]}）：{RESAVE_CSV}")
