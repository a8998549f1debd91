"""Open an untrusted .xlsx safely: recognise what the file really is, check its size before reading it.

A workbook is a zip of XML parts, and openpyxl trusts both: one cell at XFD1048576 makes it build a grid
of 1.7·10¹⁰ cells, a zip bomb inflates to gigabytes, a bit flip raises whatever the failing layer raises.
``open_workbook`` therefore

1. looks at the first bytes: an old .xls (OLE2), an encrypted workbook, a web page, a text file or a PDF
   with an .xlsx name each get their own message;
2. checks the zip's directory (number of parts, each part's and the total uncompressed size, the
   compression ratio) and the workbook's content type (.xlsm, .xltx, Word, …);
3. streams every XML part through expat (``xlsx_scan``: no DTDs, so no entity expansion), counting
   elements and, in worksheets, the farthest cell, the used range, the merged and hyperlinked ranges
   (openpyxl builds a cell for each of their positions) and formulas saved without a value;

and only then lets openpyxl read it. The limits are in ``limits.py``. Every problem is a located
``Problem``; nothing here raises on bad bytes.
"""

from __future__ import annotations

import posixpath
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.data.filetypes import RESAVE, not_a_workbook, sniff
from edureport.data.xlsx_scan import (
    CORRUPT,
    Budget,
    Handler,
    Refused,
    SharedStrings,
    SheetHandler,
    SheetScan,
    cell_name,
    far_cell,
    local,
    parse,
)

WORKBOOK_TYPES = {  # content type of the workbook part → what to tell the user (None: a plain .xlsx)
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": None,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml":
        "这是启用宏的工作簿（.xlsm）：请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再提交",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":
        "这是 Excel 模板（.xltx）：请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再提交",
    "application/vnd.ms-excel.template.macroEnabled.main+xml":
        "这是启用宏的 Excel 模板（.xltm）：请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再提交",
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main":
        "这是 Excel 二进制工作簿（.xlsb）：请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再提交",
}
OTHER_OFFICE = {"wordprocessingml": "Word 文档", "presentationml": "PowerPoint 演示文稿"}


@dataclass
class Book:
    """An opened workbook: openpyxl's worksheets, each with its pre-scan, in workbook order."""

    sheets: list[tuple[object, SheetScan]]


def open_workbook(path: Path, label: str) -> tuple[Book | None, list[Problem]]:
    """Check and open an .xlsx file; (None, problems) when it cannot or must not be read."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    kind = sniff(head)
    if kind != "zip":
        return None, [Problem(label, message=not_a_workbook(path, kind))]
    try:
        scans = _prescan(path)
    except Refused as exc:
        return None, [Problem(label, message=str(exc))]
    except Exception as exc:  # zipfile, zlib and expat raise many types on hostile bytes: all mean damaged
        return None, [Problem(label, message=CORRUPT.format(what=_exc_text(exc)))]
    import openpyxl

    try:
        with warnings.catch_warnings():  # openpyxl warns in English about features it drops; not for users
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises almost anything (KeyError, TypeError, …) on malformed parts
        return None, [Problem(label, message=CORRUPT.format(what=_exc_text(exc)))]
    if len(book.worksheets) != len(scans):
        return None, [Problem(label, message=CORRUPT.format(what="工作表清单与内容不一致"))]
    problems = []
    for ws in book.worksheets:
        # Comments and hyperlinks add cells while openpyxl reads: the used range is checked once more.
        far = far_cell(ws.max_row, ws.max_column)
        if far:
            problems.append(Problem(label, ws.title, message=far.format(sheet=ws.title, cell=cell_name(ws.max_row, ws.max_column))))
    if problems:
        return None, problems
    return Book(list(zip(book.worksheets, scans, strict=True))), []


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:80]}" if text else type(exc).__name__


# --- the zip and its package structure -------------------------------------------------------------------


def _prescan(path: Path) -> list[SheetScan]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        _check_zip(infos)
        names = {i.filename for i in infos}
        if "mimetype" in names and b"opendocument.spreadsheet" in zf.read("mimetype"):
            raise Refused(f"这是 OpenDocument 表格（.ods，WPS/LibreOffice 的格式），只是扩展名为 .xlsx：{RESAVE}")
        if not infos:
            raise Refused(f"文件是一个空的压缩包，没有任何工作表：{RESAVE}")
        if "[Content_Types].xml" not in names:
            raise Refused(f"不是 Excel 工作簿（压缩包中没有 Office 文档的内容清单）：{RESAVE}")
        budget = Budget()
        workbook_part = _workbook_part(zf, budget)
        sheets = _sheets(zf, workbook_part, names, budget)
        scanned = {s.part for s in sheets}
        for info in infos:  # every other XML part openpyxl may read counts against the element budget
            if info.filename not in scanned and info.filename.endswith((".xml", ".rels", ".vml")):
                if info.filename.endswith("sharedStrings.xml"):
                    parse(zf, info.filename, SharedStrings(budget))
                else:
                    parse(zf, info.filename, Handler(budget))
        for scan in sheets:
            parse(zf, scan.part, SheetHandler(scan, budget))
        return sheets


def _check_zip(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > limits.MAX_ZIP_MEMBERS:
        raise Refused(f"压缩包中有 {len(infos):,} 个部件，超过上限 {limits.MAX_ZIP_MEMBERS:,}：不是正常的 Excel 工作簿")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("压缩包的部件设置了密码，无法读取：" + RESAVE)
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > limits.MAX_ZIP_MEMBER_BYTES:
            raise Refused(f"部件 {info.filename} 解压后有 {_mb(size)}，超过上限 {_mb(limits.MAX_ZIP_MEMBER_BYTES)}："
                           "文件过大或已损坏，请删除多余内容或改用 CSV")
        if size > limits.ZIP_RATIO_MIN_BYTES and size / packed > limits.MAX_ZIP_RATIO:
            raise Refused(f"部件 {info.filename} 的压缩比为 {size / packed:,.0f}:1（{_mb(packed)} 解压为 {_mb(size)}），"
                           f"超过上限 {limits.MAX_ZIP_RATIO}:1：这不是正常的 Excel 文件（“压缩炸弹”）")
        total += size
    if total > limits.MAX_ZIP_TOTAL_BYTES:
        raise Refused(f"工作簿解压后共 {_mb(total)}，超过上限 {_mb(limits.MAX_ZIP_TOTAL_BYTES)}：请删除多余内容或改用 CSV")


def _mb(n: int) -> str:
    return f"{n / limits.MiB:,.1f} MB" if n >= limits.MiB else f"{n / 1024:,.1f} KB"


def _workbook_part(zf: zipfile.ZipFile, budget: Budget) -> str:
    types = _ContentTypes(budget)
    parse(zf, "[Content_Types].xml", types)
    for name, ctype in types.overrides.items():
        if ctype in WORKBOOK_TYPES:
            if WORKBOOK_TYPES[ctype]:
                raise Refused(WORKBOOK_TYPES[ctype])
            return name
    kinds = " ".join(types.overrides.values())
    what = next((v for k, v in OTHER_OFFICE.items() if k in kinds), "")
    if what:
        raise Refused(f"这是{what}，不是 Excel 工作簿：请提交 Excel 工作簿（*.xlsx）")
    raise Refused(f"不是 Excel 工作簿（压缩包中没有工作簿内容）：{RESAVE}")


def _sheets(zf: zipfile.ZipFile, workbook_part: str, names: set[str], budget: Budget) -> list[SheetScan]:
    """The worksheets in workbook order, with their XML parts (what openpyxl reads as ``worksheets``)."""
    if workbook_part not in names:
        raise Refused(CORRUPT.format(what=f"缺少 {workbook_part}"))
    book = _WorkbookSheets(budget)
    parse(zf, workbook_part, book)
    folder, base = posixpath.split(workbook_part)
    rels_part = posixpath.join(folder, "_rels", base + ".rels")
    rels = _Rels(budget)
    if rels_part in names:
        parse(zf, rels_part, rels)
    out = []
    for title, state, rid in book.sheets:
        target, kind = rels.targets.get(rid, ("", ""))
        if kind.endswith("/chartsheet"):
            continue
        part = (target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target)))
        if not target or part not in names:
            raise Refused(CORRUPT.format(what=f"工作表“{title}”的内容缺失"))
        out.append(SheetScan(title, state or "visible", part))
    if not out:
        raise Refused(f"工作簿中没有工作表：{RESAVE}")
    return out


class _ContentTypes(Handler):
    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.overrides: dict[str, str] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        super().start(name, attrs)
        if local(name) == "Override":
            self.overrides[attrs.get("PartName", "").lstrip("/")] = attrs.get("ContentType", "")


class _WorkbookSheets(Handler):
    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.sheets: list[tuple[str, str, str]] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        super().start(name, attrs)
        if local(name) == "sheet":
            named = {local(k): v for k, v in attrs.items()}
            self.sheets.append((named.get("name", ""), named.get("state", ""), named.get("id", "")))


class _Rels(Handler):
    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.targets: dict[str, tuple[str, str]] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        super().start(name, attrs)
        if local(name) == "Relationship":
            self.targets[attrs.get("Id", "")] = (attrs.get("Target", ""), attrs.get("Type", ""))
