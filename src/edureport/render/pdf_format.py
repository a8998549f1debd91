"""The A4 PDF: the same HTML printed by WeasyPrint (``render.document.html_to_pdf``)."""

from __future__ import annotations

from typing import Any

from edureport.render.document import html_to_pdf
from edureport.render.formats import OutputFormat, register


@register
class PdfFormat(OutputFormat):
    name = "pdf"
    label = "PDF"
    extension = ".pdf"
    folder = "pdf"
    order = 20

    def render(self, html: str, notebook: Any, *, title: str) -> bytes:
        return html_to_pdf(html)
