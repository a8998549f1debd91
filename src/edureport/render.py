"""Executed notebook → one self-contained HTML file (nbconvert, own template) → A4 PDF (WeasyPrint).

Both outputs come from the same HTML and stylesheet. The HTML inlines its CSS, its charts and a subset
of the CJK fonts, and references nothing outside itself, so it opens offline on any PC.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import nbformat

from .errors import EdureportError
from .fonts import font_face_css
from .paths import PACKAGE_DIR

TEMPLATES = PACKAGE_DIR / "templates"
FONT_MARK, CSS_MARK = "/*EDUREPORT-FONTS*/", "/*EDUREPORT-CSS*/"
_TAG = re.compile(r"<[^>]+>")


class RenderError(EdureportError):
    """HTML or PDF could not be produced from an executed notebook."""


def stylesheet() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def notebook_to_html(notebook: nbformat.NotebookNode | str | Path, *, title: str, kind: str) -> str:
    """Outputs only, with inline CSS and embedded font subsets; deterministic for the same notebook."""
    from nbconvert import HTMLExporter

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="edureport", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb, resources={"edureport": {"title": title, "kind": kind}})
    if FONT_MARK not in body:
        raise RenderError("报告模板缺少字体占位符（模板被修改？）")
    css = stylesheet()
    # Subset from everything that can be drawn: the text, the title and CSS-generated text (page numbers).
    glyph_source = _TAG.sub("", body) + title + css
    return body.replace(CSS_MARK, css).replace(FONT_MARK, font_face_css(glyph_source))


def html_to_pdf(html: str) -> bytes:
    """Print the same HTML to A4 with WeasyPrint (page numbers, cover and TOC come from the CSS)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        media_type="print", uncompressed_pdf=False, custom_metadata=False)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside the target and rename it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; published reports are world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
