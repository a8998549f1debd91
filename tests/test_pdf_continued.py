"""PDF: a table continued on the next page is headed "续表N" there (its header row repeats below it); a
page that starts with anything else has no such line (issue 17)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edureport.core.fonts import font_face_css
from edureport.render.document import html_to_pdf, stylesheet
from edureport.report import htmlkit

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")


def pages(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def document(body: str) -> str:
    css = stylesheet()
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{font_face_css(body + css)}'
            f'\n{css}</style></head><body><main class="report">{body}</main></body></html>')


def table(n: int, rows: int, *, top: bool = False) -> str:
    """A report table (``htmlkit.table``) numbered ``n``; ``top``: it starts at the top of a page."""
    html = htmlkit.table(["指标", "数值"], [[f"第{n}表第{i}行", str(i)] for i in range(1, rows + 1)],
                         number=n, caption="测试表").html
    return html.replace("<table", '<table style="break-before: page"', 1) if top else html


def test_continued_tables_are_headed_xubiao(tmp_path: Path) -> None:
    # 表1 runs over three pages; paragraphs; 表2 fits; 表3 is long again; 表4 starts at the top of a page
    # and runs over two; 表5 starts at the top of a page and fits
    body = ("<h2>一、测试</h2>" + table(1, 90) + "<p>表1之后的段落。</p>" + "<p>占位。</p>" * 30
            + table(2, 5) + "<h2>二、后续</h2>" + table(3, 60) + table(4, 50, top=True) + table(5, 5, top=True))
    text = pages(html_to_pdf(document(body)), tmp_path)
    heads = [re.findall(r"续表(\d)", page) for page in text]
    for number, page in enumerate(text):
        started = re.findall(r"(?<!续)表(\d)\s*测试表", page)
        rows = set(re.findall(r"第(\d)表第\d+行", page))
        continued = rows - set(started)  # tables with rows on this page that did not start on it
        assert set(heads[number]) == continued, (number + 1, heads[number], continued)
        assert len(heads[number]) <= 1
    assert ["1"] in heads and ["3"] in heads and ["4"] in heads and ["2"] not in heads and ["5"] not in heads
    assert any(page.lstrip().startswith("表4") for page in text)  # 表4 did start at a page's top


def test_demo_township_report(full_build: Path, tmp_path: Path) -> None:
    pdf = full_build / "2023" / "2023-12-31" / "pdf" / "township-图克镇.pdf"
    text = pages(pdf.read_bytes(), tmp_path)
    seen = []
    for page in text:
        for n in re.findall(r"续表(\d+)", page):
            assert any(re.search(rf"(?<!续)表{n}\s", p) for p in text[: text.index(page)]), n  # began earlier
            seen.append(n)
    assert seen  # the indicators table runs over a page
