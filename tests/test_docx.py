"""Word output (``--formats docx``): an editable .docx per report, built from the report's HTML.

python-docx reads it back: the headings are the HTML's, the tables hold the HTML's figures, every chart is
a picture, the page is A4 with a PAGE field in the footer; the same report gives the same bytes; LibreOffice
converts it to PDF; the manifest and the index list it. Acceptance (all demo reports open in LibreOffice
and their tables equal the HTML's) runs on the shared full build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from edureport.render.docx_format import html_to_docx
from edureport.render.outputs import FORMATS, get_format, output_formats

from .conftest import run

docx = pytest.importorskip("docx")

AS_OF = "2023-12-31"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def squash(text: str) -> str:
    return " ".join(text.split())


class HtmlFacts(HTMLParser):
    """The HTML's headings h1–h4 (outside the table of contents), tables (cell texts) and charts."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.charts = 0
        self.stack: list[str] = []
        self.text: list[str] | None = None
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag in ("svg", "style", "head") or (tag == "nav" and "toc" in cls):
            self.skip += 1
        if self.skip:
            return
        if tag == "figure" and "chart" in cls:
            self.charts += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in ("h1", "h2", "h3", "h4", "td", "th"):
            self.text = []
        if tag == "br" and self.text is not None:
            self.text.append(" ")

    def handle_endtag(self, tag):
        if tag in ("svg", "style", "head", "nav") and self.skip:
            self.skip -= 1
            return
        if self.skip or self.text is None:
            return
        if tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(squash("".join(self.text)))
            self.text = None
        elif tag in ("td", "th"):
            self.tables[-1][-1].append(squash("".join(self.text)))
            self.text = None

    def handle_data(self, data):
        if not self.skip and self.text is not None:
            self.text.append(data)


def html_facts(html: str) -> HtmlFacts:
    facts = HtmlFacts()
    facts.feed(html)
    return facts


def docx_facts(path: Path):
    doc = docx.Document(str(path))
    headings = [squash(p.text) for p in doc.paragraphs
                if p.style.name == "Title" or p.style.name.startswith("Heading ")]
    tables = [[[squash(c.text) for c in row.cells] for row in t.rows] for t in doc.tables]
    return doc, headings, tables


def check_report(html_path: Path, docx_path: Path) -> None:
    html = html_facts(html_path.read_text(encoding="utf-8"))
    doc, headings, tables = docx_facts(docx_path)
    assert headings == html.headings
    assert tables == html.tables  # the same figures, cell by cell
    assert len(doc.inline_shapes) == html.charts
    assert html.tables and html.headings
    # the link back to the index page is for the screen: not in the Word copy
    assert 'class="back screen-only"' in html_path.read_text(encoding="utf-8")
    assert "全部报告" not in "".join(p.text for p in doc.paragraphs)


@pytest.fixture(scope="module")
def docx_build(full_build: Path) -> Path:
    """The session's one demo build (HTML, PDF and Word)."""
    return full_build / "2023" / AS_OF


def test_registry_lists_the_formats() -> None:
    assert [f.name for f in output_formats()][:3] == ["html", "pdf", "docx"]
    assert {"html", "pdf", "docx"} <= set(FORMATS.keys())
    assert get_format("docx").label == "Word" and get_format("docx").extension == ".docx"


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    result = run("build", "--out", tmp_path, "--formats", "html,odt")
    assert result.exit_code == 2
    assert "html、pdf、docx" in result.output + result.stderr


def test_docx_reads_back_as_the_html(docx_build: Path) -> None:
    stems = sorted(p.stem for p in (docx_build / "docx").glob("*.docx"))
    assert stems == sorted(p.stem for p in (docx_build / "html").glob("*.html")) and len(stems) >= 13
    for stem in stems:
        check_report(docx_build / "html" / f"{stem}.html", docx_build / "docx" / f"{stem}.docx")


def test_docx_layout(docx_build: Path) -> None:
    doc = docx.Document(str(docx_build / "docx" / "township-图克镇.docx"))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    footer = section.footer._element.xml
    assert "PAGE" in footer and "第 " in section.footer.paragraphs[0].text
    body = doc.styles["Normal"]
    assert body.font.size.pt == 16
    assert body.element.rPr.rFonts.get(f"{W}eastAsia") == "仿宋"
    assert doc.styles["Title"].element.rPr.rFonts.get(f"{W}eastAsia") == "方正小标宋简体"
    # the header row of every table repeats on each page; the headings are Word's (outline levels)
    for table in doc.tables:
        assert table.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None
    assert [p.style.name for p in doc.paragraphs].count("Title") == 1
    assert any(p.style.name == "Heading 1" for p in doc.paragraphs)
    section_2 = docx.Document(str(docx_build / "docx" / "section-2.docx"))
    assert any(p.style.name == "Heading 2" for p in section_2.paragraphs)


def test_docx_is_deterministic(docx_build: Path) -> None:
    html = (docx_build / "html" / "township-图克镇.html").read_text(encoding="utf-8")
    nb = nbformat.read(str(docx_build / "notebooks" / "township-图克镇.ipynb"), as_version=4)
    again = html_to_docx(html, nb, title="图克镇2023年工作进展报告")
    assert again == html_to_docx(html, nb, title="图克镇2023年工作进展报告")
    assert (docx_build / "docx" / "township-图克镇.docx").read_bytes() == get_format("docx").render(
        html, nb, title=html.split("<title>")[1].split("</title>")[0])


def test_manifest_and_index_list_the_docx(docx_build: Path) -> None:
    manifest = json.loads((docx_build / "manifest.json").read_text(encoding="utf-8"))
    for report in manifest["reports"]:
        assert report["files"]["docx"]["path"] == f"docx/{report['stem']}.docx"
    index = (docx_build / "index.html").read_text(encoding="utf-8")
    n = len(manifest["reports"])
    assert index.count('href="docx/') == n and index.count(">Word</a>") == n


def soffice_to_pdf(files: list[Path], out: Path) -> list[Path]:
    """LibreOffice headless, with a private profile and the CJK faces edureport ships."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        pytest.skip("LibreOffice (soffice) not installed")
    from .browser import fontconfig

    env = {**os.environ, "HOME": str(out), **fontconfig(out)}
    done = subprocess.run([binary, f"-env:UserInstallation=file://{out / 'profile'}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(out / "pdf"), *map(str, files)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    pdfs = [out / "pdf" / f"{f.stem}.pdf" for f in files]
    if not all(p.is_file() for p in pdfs) and "source file could not be loaded" in done.stderr:
        pytest.skip("LibreOffice without Writer (install libreoffice-writer)")
    return pdfs


def test_acceptance_all_reports(docx_build: Path, tmp_path: Path) -> None:
    """All demo reports: the build's .docx is the Word format's rendering of its HTML and notebook, and
    every one opens in LibreOffice (one LibreOffice run, about 10 s)."""
    from pypdf import PdfReader

    files = sorted((docx_build / "docx").glob("*.docx"))
    assert len(files) == len(list((docx_build / "html").glob("*.html"))) >= 13
    for path in files[:1]:  # rendering again gives the same bytes (the others: test_docx_is_deterministic's rule)
        html = (docx_build / "html" / f"{path.stem}.html").read_text(encoding="utf-8")
        nb = nbformat.read(str(docx_build / "notebooks" / f"{path.stem}.ipynb"), as_version=4)
        assert path.read_bytes() == get_format("docx").render(html, nb, title=html.split("<title>")[1].split("</title>")[0])
    for pdf in soffice_to_pdf(files, tmp_path):
        assert len(PdfReader(str(pdf)).pages) >= 1
