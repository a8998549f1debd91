"""What a file really is, from its first bytes, and what to tell someone who sent the wrong kind.

Townships send what their systems export: an old .xls, an encrypted workbook, a web page or a text file
named .xlsx, an .xlsx or UTF-16 text named .csv. Each gets a message saying what the file is and how to
save it as what is expected, instead of a parser's error.
"""

from __future__ import annotations

from pathlib import Path

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # the OLE2 stream of a password-protected workbook
RESAVE = "请在 Excel 或 WPS 中打开，“另存为”Excel 工作簿（*.xlsx）后再提交"
RESAVE_CSV = "请在 Excel 中“另存为”CSV UTF-8（逗号分隔）（*.csv）"


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is: zip, ole2, pdf, utf16, html, xml, text or binary."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(OLE2):
        return "ole2"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head):
        return "utf16"
    if b"\x00" in head:
        return "binary"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")):
        return "html"
    if start.startswith(b"<?xml") or start.startswith(b"<"):
        return "html" if b"<html" in start or b"<table" in start else "xml"
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a character cut at the end of the sample is fine
                continue
        return "text"
    return "binary"


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII-heavy UTF-16 text: every other byte is NUL (an even or odd position throughout)."""
    sample = head[:4096]
    if len(sample) < 16:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) > 0.4 * len(sample) / 2 and min(even, odd) < 0.05 * len(sample) / 2


def not_a_workbook(path: Path, kind: str) -> str:
    """The message for an .xlsx file whose bytes are something else."""
    if kind == "ole2":
        if _contains(path, ENCRYPTED_STREAM):
            return ("工作簿设置了打开密码（已加密），无法读取：请在 Excel 中取消密码（文件→信息→保护工作簿→"
                    "用密码进行加密，清空密码）后保存，再提交")
        return f"这是旧版 Excel 97-2003 工作簿（.xls），只是扩展名为 .xlsx：{RESAVE}"
    return {
        "pdf": "这是 PDF 文件，不是 Excel 工作簿：请提交 Excel 工作簿（*.xlsx）",
        "html": f"这是网页（HTML）文件，只是扩展名为 .xlsx（有些系统导出的“Excel”其实是网页）：{RESAVE}",
        "xml": f"这是 XML 文件（如 Excel 2003 XML 表格），只是扩展名为 .xlsx：{RESAVE}",
        "utf16": "这是文本文件（UTF-16 编码），只是扩展名为 .xlsx：若是 CSV，请另存为“CSV UTF-8（逗号分隔）”并用扩展名 .csv",
        "text": "这是文本文件（如 CSV），只是扩展名为 .xlsx：若是 CSV，请把扩展名改为 .csv；否则" + RESAVE,
    }.get(kind, f"不是 Excel 工作簿（.xlsx），文件已损坏或是其他格式：{RESAVE}")


def _contains(path: Path, needle: bytes, block: int = 1 << 20) -> bool:
    tail = b""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle):]
    return False


def not_a_csv(head: bytes, kind: str) -> str:
    """The message for a .csv file whose bytes are something else ("" when they may be text)."""
    if kind == "zip":
        if b"[Content_Types].xml" in head or b"xl/" in head:
            return "这是 Excel 工作簿（.xlsx），只是扩展名为 .csv：请把扩展名改为 .xlsx，或" + RESAVE_CSV
        return "这是压缩包（zip），不是 CSV 文本文件：请解压后提交其中的表格"
    return {
        "ole2": f"这是旧版 Excel 工作簿（.xls）或其他 Office 文件，不是 CSV 文本文件：{RESAVE_CSV}",
        "pdf": "这是 PDF 文件，不是 CSV 文本文件：请提交 CSV 或 Excel 工作簿（*.xlsx）",
        "utf16": f"无法识别文件编码：文件是 UTF-16 编码（Excel 的“Unicode 文本”），只支持 UTF-8 或 GBK：{RESAVE_CSV}",
    }.get(kind, "")
