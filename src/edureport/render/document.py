"""Executed notebook → one self-contained HTML file (nbconvert, own template) → A4 PDF (WeasyPrint).

Both outputs come from the same HTML and stylesheet. The HTML inlines its CSS, its charts and a subset
of the CJK fonts, and references nothing outside itself, so it opens offline on any PC.
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from edureport.core.errors import RenderError
from edureport.core.fonts import font_face_css
from edureport.core.paths import PACKAGE_DIR
from edureport.report.htmlkit import CHART_OPEN, SVG_NS, figure_html, inline_svg

if TYPE_CHECKING:
    import nbformat

TEMPLATES = PACKAGE_DIR / "render" / "templates"
FONT_MARK, CSS_MARK = "/*EDUREPORT-FONTS*/", "/*EDUREPORT-CSS*/"
_TAG = re.compile(r"<[^>]+>")
_CHART = re.compile(re.escape(CHART_OPEN) + r'([^"]*)"(.*?</svg>)', re.S)


def stylesheet() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def notebook_to_html(notebook: nbformat.NotebookNode | str | Path, *, title: str, kind: str,
                     index: str = "") -> str:
    """Outputs only, with inline CSS and embedded font subsets; deterministic for the same notebook.
    ``index``: the relative link to the build's index page (a build's reports link back to it, on screen
    only: print, the PDF and the Word copy leave it out); "" for none."""
    # The plain template exporter: nbconvert's HTMLExporter re-parses its output with BeautifulSoup, which
    # costs time and lower-cases the inline charts' SVG names (viewBox, clipPath).
    import nbformat
    from nbconvert.exporters import TemplateExporter

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    exporter = TemplateExporter(template_name="edureport", extra_template_basedirs=[str(TEMPLATES)],
                                filters={"edureport_figure": chart_figure})
    exporter.file_extension = ".html"
    body, _ = exporter.from_notebook_node(nb, resources={"edureport": {"title": title, "kind": kind, "index": index}})
    if FONT_MARK not in body:
        raise RenderError("报告模板缺少字体占位符（模板被修改？）")
    css = stylesheet()
    # Subset from everything that can be drawn: the text, the title and CSS-generated text (page numbers).
    glyph_source = _TAG.sub("", body) + title + css
    return body.replace(CSS_MARK, css).replace(FONT_MARK, font_face_css(glyph_source))


def chart_figure(output: dict) -> str:
    """A chart's image output (htmlkit.Chart.outputs) → its figure in the report: the inline SVG and the
    numbered caption, the same HTML as the Block the notebook displayed (``htmlkit.figure``)."""
    meta = output["metadata"]["edureport"]
    return figure_html(inline_svg(output["data"]["image/svg+xml"]), meta["number"], meta["caption"])


def html_to_pdf(html: str) -> bytes:
    """Print the same HTML to A4 with WeasyPrint (page numbers, cover and TOC come from the CSS)."""

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=charts_as_images(html), base_url=str(TEMPLATES), media_type="print").write_pdf(
        uncompressed_pdf=False, custom_metadata=False)


def charts_as_images(html: str) -> str:
    """Inline chart SVGs → ``<img>`` data URLs, for WeasyPrint only.

    WeasyPrint runs the whole HTML style cascade over every node of an inline SVG (a chart has hundreds),
    which made PDFs of chart-heavy reports slow; as an image the same SVG is drawn directly, and its text
    still uses the document's embedded fonts. Browsers get the inline SVG, which can use those fonts.
    """
    def swap(match: re.Match[str]) -> str:
        svg = f"<svg {SVG_NS}{match.group(2)}"
        return f'<img alt="{match.group(1)}" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'

    return _CHART.sub(swap, html)
