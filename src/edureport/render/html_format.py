"""The self-contained HTML document (rendered by ``render.document.notebook_to_html``): the format itself."""

from __future__ import annotations

from typing import Any

from edureport.render.formats import OutputFormat, register


@register
class HtmlFormat(OutputFormat):
    name = "html"
    label = "网页版"
    extension = ".html"
    folder = "html"
    order = 10

    def render(self, html: str, notebook: Any, *, title: str) -> str:
        return html
