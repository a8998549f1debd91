"""Hostile and malformed input files for reading (`edureport validate` and `edureport import`).

Every case gives exit 2 with a Chinese message that names what is wrong and where, never a traceback,
never unbounded memory or time, and changes no file. The small cases are committed in
tests/data/hostile/ (data/<table>/<case>.* for validate, import/<case>.* for import); big ones (a 1 GiB
CSV, a 1.2 MB zip bomb) are made here in tmp_path. The committed corpus was written by the recipes
below (``python -m tests.test_hostile_read`` writes it again), except two real files LibreOffice made.
"""

from __future__ import annotations

import io
import shutil
import struct
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.data.normalize import parse_date

from .conftest import DEMO, MINI, PLAN_2023, ROOT, run, tree_digest

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
MINI_PLAN = MINI / "plan.yaml"
TABLE_FILES = ("townships", "schools", "observations", "baselines", "projects", "activities")

# --- building workbooks part by part (so each can be damaged exactly as a case needs) -----------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLTX = "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class F(str):
    """A formula saved without its value (what a program writes; Excel would save the result too)."""


class E(str):
    """An Excel error value (t="e")."""


def col_letter(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def cell_xml(ref: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, F):
        return f'<c r="{ref}"><f>{escape(value)}</f><v/></c>'
    if isinstance(value, E):
        return f'<c r="{ref}" t="e"><v>{escape(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[list], *, far: dict[str, object] | None = None, tail: str = "", pad: int = 0,
              doctype: str = "") -> bytes:
    """A worksheet: ``rows`` from A1, ``far`` cells (ref → value) in rows of their own after them,
    ``tail`` after the cell data (mergeCells, hyperlinks), ``pad`` spaces inside (a zip bomb)."""
    body = [f'<row r="{i}">' + "".join(cell_xml(f"{col_letter(j)}{i}", v) for j, v in enumerate(row, 1)) + "</row>"
            for i, row in enumerate(rows, 1)]
    for ref, value in (far or {}).items():
        row = int("".join(ch for ch in ref if ch.isdigit()))
        body.append(f'<row r="{row}">{cell_xml(ref, value)}</row>')
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}<worksheet xmlns="{MAIN_NS}" '
           f'xmlns:r="{REL_NS}"><sheetData>{"".join(body)}{" " * pad}</sheetData>{tail}</worksheet>')
    return xml.encode()


def xlsx(sheets: list[tuple[str, bytes | list[list], str]], *, main_type: str = XLSX,
         deflate: bool = False) -> bytes:
    """A minimal workbook: (name, worksheet XML or rows, state) per sheet. Stored (not deflated) unless
    ``deflate``: the bytes are then the same with any zlib."""
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
                    for i in range(1, len(sheets) + 1))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main_type}"/>{types}</Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        "<sheets>" + "".join(
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}"{f" state={chr(34)}{state}{chr(34)}" if state else ""} r:id="rId{i}"/>'
            for i, (name, _, state) in enumerate(sheets, 1)) + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships">' + "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            f'worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1)) + "</Relationships>",
    }
    for i, (_, content, _) in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = content if isinstance(content, bytes) else sheet_xml(content)
    return zip_bytes(parts, deflate=deflate)


def zip_bytes(parts: dict[str, str | bytes], *, deflate: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2023, 6, 30, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            zf.writestr(info, data.encode() if isinstance(data, str) else data, compresslevel=9 if deflate else None)
    return buf.getvalue()


def ole2(*streams: str) -> bytes:
    """The start of an OLE2 compound file (what .xls and encrypted workbooks are) naming its streams."""
    directory = b"".join(s.encode("utf-16-le").ljust(64, b"\0") + b"\0" * 64 for s in streams)
    return OLE2 + b"\0" * 504 + directory.ljust(1024, b"\0")


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


# The mini data folder's observations (English headers) and demo data's (Chinese headers).
MINI_OBS = [["period", "school_id", "township", "indicator_id", "value", "numerator", "denominator", "note"],
            ["2024-01", "S1", None, "A1", None, 1, 2, None], ["2024-01", "S2", None, "A1", None, 3, 18, None]]
DEMO_OBS_HEADER = ["期间", "学校代码", "苏木镇", "指标代码", "数值", "分子", "分母"]
DEMO_ACT = [["日期", "任务编号", "苏木镇", "学校代码", "活动名称", "参与人数"],
            ["2023-06-20", 4, "图克镇", None, "校外培训联合检查", 30]]
MINI_CSV = "period,school_id,township,indicator_id,value,numerator,denominator\n2024-01,S1,,A1,,1,2\n"


def _bit_flipped() -> bytes:
    good = xlsx([("指标数据", MINI_OBS * 20, "")], deflate=True)
    part = good.index(b"xl/worksheets/sheet1.xml") + 200  # inside the sheet's deflated bytes
    return flip(good, part)


def _far(rows: list[list], ref: str) -> bytes:
    return xlsx([("指标数据", sheet_xml(rows, far={ref: 1}), "")])


# name → (recipe, the words the message must contain). data/<table>/… go through validate (mini data),
# import/… through import (demo data).
CORPUS: dict[str, tuple[Callable[[], bytes], list[str]]] = {
    # 1. resource exhaustion
    "data/observations/far-cell-XFD1048576.xlsx": (lambda: _far(MINI_OBS, "XFD1048576"),
                                                    ["工作表“指标数据”的单元格 XFD1048576 超出允许范围", "请删除多余的行列"]),
    "data/schools/row-100001.xlsx": (lambda: xlsx([("schools", sheet_xml(
        [["school_id", "name", "township", "stage", "ownership"], ["S1", "东镇小学", "东镇", "小学", "公办"]],
        far={"A100001": "S9"}), "")]), ["A100001 超出允许范围", "100,000 行"]),
    "data/observations/used-range-2M-cells.xlsx": (lambda: _far(MINI_OBS, "CV30000"), ["使用范围 A1:CV30000", "3,000,000"]),
    "data/observations/zip-bomb-40k.xlsx": (lambda: xlsx([("指标数据", sheet_xml(MINI_OBS, pad=40 * limits.MiB), "")],
                                                          deflate=True), ["压缩比", "压缩炸弹"]),
    "data/observations/merge-A1-XFD1048576.xlsx": (lambda: xlsx([("指标数据", sheet_xml(
        MINI_OBS, tail='<mergeCells count="1"><mergeCell ref="A4:XFD1048576"/></mergeCells>'), "")]),
        ["XFD1048576 超出允许范围"]),
    "data/activities/hyperlink-range.xlsx": (lambda: xlsx([("活动记录", sheet_xml(
        [["date", "task", "title"], ["2024-03-15", 1, "培训"]],
        tail='<hyperlinks><hyperlink ref="A1:CV99999" display="x"/></hyperlinks>'), "")]), ["使用范围 A1:CV99999"]),
    "data/observations/billion-laughs.xlsx": (lambda: xlsx([("指标数据", sheet_xml(
        [["period", "&lol9;"]], doctype='<!DOCTYPE worksheet [<!ENTITY lol "lol">' + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>"),
        "")]), ["已损坏", "DTD"]),
    "data/observations/wide-20000-columns.csv": (
        lambda: (",".join(MINI_CSV.splitlines()[0].split(",") + ["x"] * 19_993) + "\n2024-01,S1,,A1,,1,2\n").encode(),
        ["第1行", "20,000 列", "上限 100 列"]),
    # 3. a message instead of a traceback, and what the file really is
    "data/observations/old-xls-renamed.xlsx": (lambda: ole2("Root Entry", "Workbook", "SummaryInformation"),
                                               ["旧版 Excel 97-2003 工作簿（.xls）", "另存为"]),
    "data/observations/encrypted.xlsx": (lambda: ole2("Root Entry", "EncryptionInfo", "EncryptedPackage"),
                                         ["打开密码", "已加密"]),
    "data/projects/html-renamed.xlsx": (lambda: "<html><body><table><tr><td>期间</td></tr></table></body></html>".encode(),
                                        ["网页（HTML）文件"]),
    "data/townships/csv-renamed.xlsx": (lambda: "township,code\n东镇,E\n".encode(), ["文本文件", ".csv"]),
    "data/observations/macro-enabled.xlsx": (lambda: xlsx([("指标数据", MINI_OBS, "")], main_type=XLSM),
                                             ["启用宏的工作簿（.xlsm）"]),
    "data/observations/empty-zip.xlsx": (lambda: zip_bytes({}), ["空的压缩包"]),
    "data/observations/bit-flipped.xlsx": (_bit_flipped, ["Excel 文件已损坏"]),
    "data/observations/truncated.xlsx": (lambda: xlsx([("指标数据", MINI_OBS * 20, "")], deflate=True)[:900],
                                         ["Excel 文件已损坏"]),
    "data/baselines/docx-renamed.xlsx": (lambda: zip_bytes({
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override '
        'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
        'document.main+xml"/></Types>', "word/document.xml": "<document/>"}), ["Word 文档"]),
    "data/schools/xlsx-renamed.csv": (lambda: xlsx([("schools", [["school_id"], ["S1"]], "")]),
                                      ["这是 Excel 工作簿（.xlsx）", ".csv"]),
    # 4. silently wrong: a hidden sheet with the table's rows; two sheets named alike
    "data/observations/hidden-filled-sheet.xlsx": (lambda: xlsx([
        ("指标数据", MINI_OBS[:2], ""), ("补报", [MINI_OBS[0], ["2024-06", "S1", None, "A1", None, 2, 4, None]], "hidden")]),
        ["工作表“补报”被隐藏但含有数据", "请取消隐藏或删除该工作表"]),
    "data/observations/duplicate-sheet-names.xlsx": (lambda: xlsx([
        ("指标数据", MINI_OBS, ""), ("指标数据 ", MINI_OBS[:2], "")]), ["只差大小写或空格"]),
    # 5. more of the same family
    "data/observations/nul-bytes.csv": (lambda: (MINI_CSV + "2024-01,S2\x00\x00,,A1,,3,18\n").encode(),
                                        ["第3行", "空字符"]),
    "data/observations/utf16.csv": (lambda: MINI_CSV.encode("utf-16"), ["UTF-16", "另存为"]),
    "data/observations/utf16-no-bom.csv": (lambda: MINI_CSV.encode("utf-16-le"), ["UTF-16"]),
    "data/observations/binary-png.csv": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
                                         ["空字符"]),
    "data/townships/not-utf8-nor-gbk.csv": (lambda: "township,code\n东镇,E\n".encode() + b"\xff\xfe\xfa,W\n",
                                           ["无法识别文件编码", "按 UTF-8 读到第3行出错", "按 GBK 读到第3行出错"]),
    "data/activities/unbalanced-quote.csv": (
        lambda: 'date,task,township,school_id,title,participants\n2024-03-15,1,东镇,S1,"党员培训,40\n'
                '2024-03-16,1,东镇,S1,培训,40\n'.encode(), ["第2行", "引号没有配对"]),
    "data/observations/extra-fields.csv": (lambda: (MINI_CSV + "2024-01,S2,,A1,,3,18,,,\n").encode(),
                                           ["第3行", "有 10 个单元格", "只有 7 个"]),
    "data/observations/header-only.csv": (lambda: MINI_CSV.splitlines()[0].encode() + b"\n", ["没有数据行"]),
    "data/observations/formula-without-value.xlsx": (lambda: xlsx([("指标数据", [
        MINI_OBS[0], ["2024-01", "S1", None, "A1", None, F("1+0"), 2, None]], "")]),
        ["F2 是公式，但文件中没有保存计算结果"]),
    "data/observations/excel-error-value.xlsx": (lambda: xlsx([("指标数据", [
        MINI_OBS[0], ["2024-01", "S1", None, "A1", None, 1, 2, E("#DIV/0!")]], "")]), ["Excel 错误值", "#DIV/0!"]),
    "data/projects/sheet-named-like-table-empty.xlsx": (lambda: xlsx([("项目进度", [], ""), ("Sheet2", [], "")]),
                                                        ["工作表为空"]),
    "data/activities/date-year-0.csv": (
        lambda: "date,task,township,school_id,title,participants\n0000-03-15,1,东镇,S1,培训,40\n".encode(),
        ["第2行", "无法识别的日期"]),
    "data/activities/only-hidden-sheets.xlsx": (lambda: xlsx([("活动记录", DEMO_ACT[:1], "hidden")]),
                                                ["没有可见的工作表"]),
    # import: the same family through `edureport import` (demo data, plan-2023)
    "import/hidden-filled-sheet.xlsx": (lambda: xlsx([
        ("项目进度", [["期间", "项目代码", "阶段"]], ""), ("活动记录", DEMO_ACT, "hidden")]),
        ["工作表“活动记录”被隐藏但含有数据"]),
    "import/old-xls-renamed.xlsx": (lambda: ole2("Root Entry", "Workbook"), ["旧版 Excel 97-2003 工作簿（.xls）"]),
    "import/encrypted.xlsx": (lambda: ole2("Root Entry", "EncryptionInfo", "EncryptedPackage"), ["打开密码"]),
    "import/zip-bomb-40k.xlsx": (lambda: xlsx([("活动记录", sheet_xml(DEMO_ACT, pad=40 * limits.MiB), "")], deflate=True),
                                 ["压缩炸弹"]),
    "import/far-cell-XFD1048576.xlsx": (lambda: xlsx([("活动记录", sheet_xml(DEMO_ACT, far={"XFD1048576": 1}), "")]),
                                        ["单元格 XFD1048576 超出允许范围"]),
    "import/bit-flipped.xlsx": (_bit_flipped, ["Excel 文件已损坏"]),
    "import/template-xltx.xlsx": (lambda: xlsx([("活动记录", DEMO_ACT, "")], main_type=XLTX), ["Excel 模板（.xltx）"]),
    "import/html-renamed.xlsx": (lambda: b"<!DOCTYPE html><html><table><tr><td>1</td></tr></table></html>",
                                 ["网页（HTML）文件"]),
    "import/empty-zip.xlsx": (lambda: zip_bytes({}), ["空的压缩包"]),
    "import/formula-without-value.xlsx": (lambda: xlsx([("活动记录", [
        DEMO_ACT[0], ["2023-06-20", 4, "图克镇", None, "检查", F("10*3")]], "")]), ["F2 是公式"]),
    "import/table-sheet-with-title-row.xlsx": (lambda: xlsx([("活动记录", [["六月活动"], *DEMO_ACT], "")]),
                                               ["表头应在第1行，实际在第2行"]),
    "import/activities--nul-bytes.csv": (lambda: (",".join(DEMO_ACT[0]) + "\n2023-06-20,4,图克镇,,检\x00查,30\n").encode(),
                                         ["第2行", "空字符"]),
    "import/observations--utf16.csv": (lambda: (",".join(DEMO_OBS_HEADER) + "\n2023-06,,图克镇,T01-1,1,,\n").encode("utf-16"),
                                       ["UTF-16"]),
    "import/activities--unbalanced-quote.csv": (
        lambda: (",".join(DEMO_ACT[0]) + '\n2023-06-20,4,图克镇,,"检查,30\n').encode(), ["引号没有配对"]),
}


# Real files of the wrong format, made from a filled form by LibreOffice 7 (`soffice --headless
# --convert-to xls|ods`), not by a recipe: name → the words the message must contain.
MADE_BY_LIBREOFFICE: dict[str, list[str]] = {
    "import/template-saved-as-xls.xlsx": ["旧版 Excel 97-2003 工作簿（.xls）"],
    "data/activities/ods-renamed.xlsx": ["OpenDocument 表格（.ods"],
}
EXPECTED = {**{name: needles for name, (_, needles) in CORPUS.items()}, **MADE_BY_LIBREOFFICE}


def write_corpus() -> None:
    for name, (recipe, _) in CORPUS.items():
        path = HOSTILE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(recipe())


def validate_with(tmp_path: Path, table: str, source: Path) -> tuple[object, Path]:
    """The mini data folder with ``table``'s file replaced by ``source`` (as the lead's corpus test does)."""
    folder = tmp_path / "data"
    shutil.copytree(MINI / "data", folder)
    for old in folder.glob(f"{table}.*"):
        old.unlink()
    shutil.copy(source, folder / f"{table}{source.suffix}")
    before = tree_digest(folder)
    result = run("validate", folder, "--plan", MINI_PLAN)
    assert tree_digest(folder) == before
    return result, folder


def import_it(tmp_path: Path, source: Path) -> object:
    data = tmp_path / "demo"
    shutil.copytree(DEMO, data)
    name = source.name.split("--", 1)[0] + source.suffix if "--" in source.name else source.name
    target = tmp_path / "in" / name
    target.parent.mkdir()
    shutil.copy(source, target)
    before = tree_digest(data)
    result = run("import", target, "--data", data, "--plan", PLAN_2023)
    assert tree_digest(data) == before, "import must leave the data folder unchanged"
    return result


def expect_message(result, needles: list[str]) -> None:
    text = result.stderr
    assert result.exit_code == 2, result.output + text
    assert "Traceback" not in text and "Error:" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert max(len(line) for line in text.splitlines()) < 700, "a message line is too long to read"


def test_committed_corpus_is_small_and_complete() -> None:
    for name in EXPECTED:
        path = HOSTILE / name
        assert path.is_file(), f"{name} missing: run python -m tests.test_hostile_read"
        assert path.stat().st_size < 50_000, name
    assert len(CORPUS) >= 15


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("data/")))
def test_validate_refuses_hostile_table(tmp_path: Path, name: str) -> None:
    table = name.split("/")[1]
    started = time.monotonic()
    result, _ = validate_with(tmp_path, table, HOSTILE / name)
    expect_message(result, EXPECTED[name])
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("import/")))
def test_import_refuses_hostile_submission(tmp_path: Path, name: str) -> None:
    started = time.monotonic()
    expect_message(import_it(tmp_path, HOSTILE / name), EXPECTED[name])
    assert time.monotonic() - started < 20


# --- big files, made here -------------------------------------------------------------------------------------


def sparse(path: Path, size: int, head: bytes) -> Path:
    """A file of ``size`` bytes that takes no disk space: ``head`` then a hole (NUL bytes when read)."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


def test_csv_over_the_table_limit_is_refused(tmp_path: Path) -> None:
    """A 10 MiB + 1 byte schools.csv through the command (the file is a hole: no disk space)."""
    source = sparse(tmp_path / "big.csv", limits.CSV_MAX_BYTES["schools"] + 1, b"a,b\n")
    result, _ = validate_with(tmp_path, "schools", source)
    expect_message(result, ["schools.csv", "文件有 10.0 MB，超过“学校名录”表的上限 10 MB"])


@pytest.mark.parametrize(("table", "size"), [("observations", 2 << 30), ("activities", 2 << 30),
                                             ("baselines", limits.CSV_MAX_BYTES["baselines"] + 1)])
def test_2gb_csv_is_refused_before_reading(tmp_path: Path, mini_plan, table: str, size: int) -> None:
    """A 2 GB observations.csv used to end in ArrowMemoryError. The reader checks the size first.
    (Called below the command: the data fingerprint hashes every file before validation, 45 s for 2 GB
    here, which is the store's business.)"""
    from edureport.core.errors import DataValidationError
    from edureport.data.validate import validate_dir

    folder = tmp_path / "data"
    shutil.copytree(MINI / "data", folder)
    sparse(folder / f"{table}.csv", size, b"a,b\n")
    started = time.monotonic()
    with pytest.raises(DataValidationError) as err:
        validate_dir(folder, mini_plan)
    assert time.monotonic() - started < 10
    assert "超过“" in err.value.render() and "表的上限" in err.value.render()


@pytest.mark.parametrize("name", ["图克镇-2023-06.xlsx", "observations.csv"])
def test_oversized_submission_is_refused_before_hashing(tmp_path: Path, name: str) -> None:
    source = sparse(tmp_path / name, limits.SUBMISSION_MAX_BYTES + 1, b"PK\x03\x04" if name.endswith("xlsx") else b"a\n")
    started = time.monotonic()
    expect_message(import_it(tmp_path, source), ["超过报送文件的上限 10 MB"])
    assert time.monotonic() - started < 20


def test_csv_with_too_many_rows_is_refused_before_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short rows cost memory per row, not per byte: the pre-pass counts rows against CSV_MAX_ROWS
    (lowered here; at the real limit the file would be 30 MB of two-byte rows)."""
    monkeypatch.setattr(limits, "CSV_MAX_ROWS", 1000)
    source = tmp_path / "obs.csv"
    source.write_bytes(MINI_CSV.encode() + b"a\n" * 1000)
    result, _ = validate_with(tmp_path, "observations", source)
    expect_message(result, ["文件超过 1,000 行（上限）"])


def test_line_without_breaks_stops_after_the_row_limit(tmp_path: Path) -> None:
    """A 300 MB 'row' (no line breaks) is refused after its first MiB, not read into memory."""
    source = tmp_path / "obs.csv"
    with source.open("wb") as fh:
        fh.write(MINI_CSV.encode())
        block = b"x" * (1 << 20)
        for _ in range(300):
            fh.write(block)
    started = time.monotonic()
    result, _ = validate_with(tmp_path, "observations", source)
    expect_message(result, ["第3行", "这一行超过 1 MB"])
    assert time.monotonic() - started < 15


def test_long_cell_is_named_not_echoed(tmp_path: Path) -> None:
    """A 50,000-character note (under the row limit, over Excel's cell limit): row and column named, the
    value shown cut to 60 characters with its length."""
    source = tmp_path / "activities.csv"
    source.write_text("date,task,township,school_id,title,participants,note\n"
                      f"2024-03-15,1,东镇,S1,培训,40,{'长' * 50_000}\n", encoding="utf-8")
    result, _ = validate_with(tmp_path, "activities", source)
    expect_message(result, ["第2行", "列“备注”", "…（共 50,000 个字符）", "超过上限 32,767"])
    assert len(result.stderr) < 1000


def bomb_xlsx(path: Path, inflated_mib: int) -> Path:
    """A real zip bomb: the worksheet of ``xlsx`` with ``inflated_mib`` MiB of spaces inside its cell data,
    deflated at about 1,030:1. Written without compressing a gigabyte: one 64 MiB run of spaces is
    deflated once with a full flush (so it refers to nothing before it) and its bytes are repeated."""
    good = zipfile.ZipFile(io.BytesIO(xlsx([("指标数据", MINI_OBS, "")])))
    sheet = good.read("xl/worksheets/sheet1.xml")
    head, tail = sheet.split(b"</sheetData>")
    run_bytes = b" " * (64 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    run_deflated = comp.compress(run_bytes) + comp.flush(zlib.Z_FULL_FLUSH)
    copies = inflated_mib // 64

    def deflated(data: bytes) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)

    first, last = deflated(head), deflated(b"</sheetData>" + tail) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(run_bytes, crc)
    crc = zlib.crc32(b"</sheetData>" + tail, crc)
    entries = [(i.filename, good.read(i.filename)) for i in good.infolist() if i.filename != "xl/worksheets/sheet1.xml"]
    out, central = io.BytesIO(), []

    def local(name: str, method: int, crc: int, packed: int, size: int) -> bytes:
        raw = name.encode()
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, packed, size, len(raw), 0) + raw

    for name, data in entries:
        central.append((name, 0, zlib.crc32(data), len(data), len(data), out.tell()))
        out.write(local(name, 0, zlib.crc32(data), len(data), len(data)) + data)
    packed = len(first) + len(run_deflated) * copies + len(last)
    size = len(head) + len(run_bytes) * copies + len(b"</sheetData>" + tail)
    central.append(("xl/worksheets/sheet1.xml", 8, crc, packed, size, out.tell()))
    out.write(local("xl/worksheets/sheet1.xml", 8, crc, packed, size) + first)
    for _ in range(copies):
        out.write(run_deflated)
    out.write(last)
    start = out.tell()
    for name, method, c, pk, sz, offset in central:
        raw = name.encode()
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, c, pk, sz, len(raw),
                              0, 0, 0, 0, 0, offset) + raw)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    path.write_bytes(out.getvalue())
    return path


def test_bomb_builder_makes_a_real_bomb(tmp_path: Path) -> None:
    """The generated bomb is a valid zip that really inflates to what its directory says."""
    path = bomb_xlsx(tmp_path / "small.xlsx", 128)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size > 128 << 20 and info.file_size / info.compress_size > 1000
        assert zf.testzip() is None


def test_zip_bomb_of_1_2_mb_is_refused_from_the_directory(tmp_path: Path) -> None:
    """1.2 MB inflating to 1.2 GB used to exhaust memory; now the zip directory is checked first."""
    source = bomb_xlsx(tmp_path / "bomb.xlsx", 1216)
    assert source.stat().st_size < 1.3 * limits.MiB
    started = time.monotonic()
    result, _ = validate_with(tmp_path, "observations", source)
    expect_message(result, ["sheet1.xml 解压后有 1,216.0 MB", "超过上限 200.0 MB"])
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("limit", "value", "needles"),
    [("MAX_ZIP_TOTAL_BYTES", 1000, ["工作簿解压后共", "超过上限"]),
     ("MAX_ZIP_MEMBERS", 3, ["个部件，超过上限 3"]),
     ("MAX_XML_ELEMENTS", 10, ["XML 元素"]),
     ("MAX_WORKBOOK_CELLS", 5, ["单元格超过 5 个"])],
)
def test_each_workbook_limit_is_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, value: int,
                                         needles: list[str]) -> None:
    monkeypatch.setattr(limits, limit, value)
    source = tmp_path / "obs.xlsx"
    source.write_bytes(xlsx([("指标数据", MINI_OBS, "")]))
    result, _ = validate_with(tmp_path, "observations", source)
    expect_message(result, needles)


# --- what stays accepted, and displays -----------------------------------------------------------------------


def test_hidden_template_sheets_and_mixed_line_endings_are_fine(tmp_path: Path) -> None:
    """The template's own hidden sheets (no table header) are ignored; CRLF, LF and lone CR in one file
    are read as pandas reads them, so row numbers stay right."""
    source = tmp_path / "obs.xlsx"
    source.write_bytes(xlsx([("说明", [["填写说明"]], ""), ("指标数据", MINI_OBS, ""),
                             ("元数据", [["模板版本", "1"], ["苏木镇", "东镇"]], "hidden"),
                             ("代码表", [["S1"], ["S2"]], "veryHidden")]))
    result, _ = validate_with(tmp_path, "observations", source)
    assert result.exit_code == 0, result.output + result.stderr
    csv = tmp_path / "csv" / "observations.csv"
    csv.parent.mkdir()
    csv.write_bytes(b"period,school_id,township,indicator_id,value,numerator,denominator\r\n"
                    b"2024-01,S1,,A1,,1,2\n2024-01,S2,,A1,,3,18\r2024-06,S1,,A1,,x,4\r\n")
    result, _ = validate_with(tmp_path / "b", "observations", csv)
    expect_message(result, ["第4行", "列“分子”", "不是有效的数字"])


def test_formulas_saved_by_excel_are_read(tmp_path: Path) -> None:
    """A formula with its saved result, or with an empty-text result (t="str", empty value, as Excel
    writes =IF(…,"",…)), is fine: only a formula without any saved value is refused."""
    rows = [MINI_OBS[0], ["2024-01", "S1", None, "A1", None, 1, 2, None]]
    xml = sheet_xml(rows).replace(b'<c r="F2"><v>1</v></c>', b'<c r="F2"><f>3-2</f><v>1</v></c>')
    xml = xml.replace(b"</row></sheetData>", b'<c r="H2" t="str"><f>IF(1=1,"","x")</f><v></v></c></row></sheetData>')
    assert b"<f>3-2</f>" in xml and b't="str"' in xml
    source = tmp_path / "obs.xlsx"
    source.write_bytes(xlsx([("指标数据", xml, "")]))
    result, _ = validate_with(tmp_path, "observations", source)
    assert result.exit_code == 0, result.output + result.stderr


def test_quoted_cells_with_line_breaks_and_commas_are_fine(tmp_path: Path) -> None:
    source = tmp_path / "activities.csv"
    source.write_text('date,task,township,school_id,title,participants\n'
                      '2024-03-15,1,东镇,S1,"党员培训,""第一期""\n（上午）",40\n', encoding="utf-8")
    result, _ = validate_with(tmp_path, "activities", source)
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.parametrize(
    ("problem", "shown", "not_shown"),
    [(Problem("a.csv", row=3, column="备注", value="x" * 50_000_000, message="太长"),
      "“" + "x" * 60 + "…（共 50,000,000 个字符）”", "x" * 61),
     (Problem("a.csv", value="ab\x00c\x1b[31m\u202e", message="坏\n了"), "ab\\x00c\\x1b[31m\\u202e", "\x00"),
     (Problem("a.csv", message="很长的消息" * 100), "…（共 500 个字符）", "很长的消息" * 61),
     (Problem("a.csv", sheet="表\r1", column="列\t1", message="m"), "工作表“表\\r1”，列“列\\t1”", "\r")],
    ids=["50MB-value", "control-characters", "long-message", "sheet-and-column"],
)
def test_problem_format_cuts_and_escapes(problem: Problem, shown: str, not_shown: str) -> None:
    text = problem.format()
    assert shown in text and not_shown not in text
    assert len(text) < 700 and "\n" not in text


@pytest.mark.parametrize("value", ["0000-01-01", "9999-12-31", "0001-01-01", "99999-01-01", 2958466, 1e308,
                                   float("inf"), -1])
def test_parse_date_never_overflows(value) -> None:
    """Far dates are either read (year 1–9999) or marked bad; none raises (pandas' nanosecond range ends
    in 2262)."""
    import pandas as pd

    parsed, bad = parse_date(pd.Series([value], dtype=object))
    assert bool(bad.iloc[0]) or parsed.iloc[0].year in (1, 9999)


def test_limits_are_documented() -> None:
    """docs/data-format.md states the figures limits.py applies."""
    text = (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8")
    for figure in (f"{limits.CSV_MAX_BYTES['observations'] // limits.MiB:,} MB",
                   f"{limits.CSV_MAX_BYTES['schools'] // limits.MiB} MB", f"{limits.MAX_CELL_CHARS:,}",
                   f"{limits.MAX_COLUMNS} 列", f"{limits.MAX_SHEET_ROWS:,} 行", f"{limits.MAX_SHEET_CELLS:,}",
                   f"{limits.CSV_MAX_ROWS:,} 行", f"{limits.CSV_MAX_ROW_BYTES // limits.MiB} MB",
                   f"{limits.MAX_ZIP_MEMBER_BYTES // limits.MiB} MB", f"{limits.MAX_ZIP_TOTAL_BYTES // limits.MiB} MB",
                   f"{limits.MAX_ZIP_RATIO}:1", f"{limits.MAX_ZIP_MEMBERS:,}", f"{limits.MAX_XML_ELEMENTS:,}"):
        assert figure in text, figure
    intake = (ROOT / "docs" / "data-intake.md").read_text(encoding="utf-8")
    assert f"{limits.SUBMISSION_MAX_BYTES // limits.MiB} MB" in intake


if __name__ == "__main__":  # python -m tests.test_hostile_read: write the committed corpus again
    write_corpus()
    sys.exit(0)
