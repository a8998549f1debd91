"""Executed report notebooks read in JupyterLab, where they open untrusted (issue 16).

Untrusted, JupyterLab shows no ``image/svg+xml`` output and sanitizes ``text/html``: ``<svg>``,
``<style>`` and ``<script>`` go, classes have no stylesheet, and only some inline styles stay. So a
chart must be an image output of its own (PNG, with the SVG the report uses), and what carries meaning
by its looks (status badges, progress bars) must be styled inline with what the sanitizer keeps. The
notebooks run here as JupyterLab runs them: nbclient, the notebook's folder as working folder, the
default parameters, no papermill. The report rendered from the same outputs keeps its inline SVG charts.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from html.parser import HTMLParser
from typing import Any

import nbformat
import pytest
from PIL import Image

from edureport.core.status import Status
from edureport.render.document import notebook_to_html
from edureport.report.charts import status_chart, trend_chart
from edureport.report.htmlkit import Block, figure, figure_html, inline_svg

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
KINDS = {"section": "section_report.ipynb", "township": "township_report.ipynb", "review": "year_end_review.ipynb"}

# What JupyterLab 4's HTML sanitizer keeps, copied from the build installed with it:
# .venv/share/jupyter/lab/static/jlab_core.*.js, class with ``allowedTags`` / ``allowedAttributes`` /
# ``allowedStyles`` (source: @jupyterlab/apputils src/sanitizer.ts; the value grammar is its ``CssProp``).
# A style declaration stays when its property is listed and its value matches the property's pattern;
# JupyterLab anchors the patterns as ``^…$`` around the whole alternation, which is looser than the
# ``fullmatch`` used here: a value accepted here is kept there. Only the properties reports may use are
# copied; any other property fails the test (look it up there before adding it).
_NUM = r"[+-]?([0-9]*[.])?[0-9]+(e-?[0-9]*)?"
_NUM_POS = r"[+]?([0-9]*[.])?[0-9]+(e-?[0-9]*)?"
_UNITS = "px|em|rem|ex|in|cm|mm|pt|pc"
_LENGTH = rf"({_NUM}({_UNITS})|0)"
_LENGTH_POS = rf"({_NUM_POS}({_UNITS})|0)"
_LEN_OR_PERC = rf"(0|{_NUM}({_UNITS}|%))"
_PERC, _PERC_POS = rf"{_NUM}%", rf"{_NUM_POS}%"
_COLOUR = r"\#(0x)?[0-9a-f]+|rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)|black|white|gray|transparent"
_MARGIN = rf"{_LEN_OR_PERC}|auto"
SANITIZER_STYLES = {
    "background": rf"(({_COLOUR})\s*)+",  # the colour alternative of its (long) pattern
    "background-color": _COLOUR,
    "border-radius": rf"(({_LEN_OR_PERC})\s*){{1,4}}(\/\s*(({_LEN_OR_PERC})\s*){{1,4}})?",
    "color": _COLOUR,
    "display": "inline|block|list-item|run-in|inline-list-item|inline-block|table|inline-table|table-cell|"
               "table-caption|flex|inline-flex|grid|inline-grid|inherit|inline-box|inline-stack",
    "font-size": rf"xx-small|x-small|small|medium|large|x-large|xx-large|smaller|larger|{_LENGTH_POS}|{_PERC_POS}",
    "font-weight": "normal|bold|bolder|lighter|100|200|300|400|500|600|700|800|900",
    "height": rf"{_LENGTH}|{_PERC}|auto",
    "margin": rf"(({_MARGIN})\s*){{1,4}}",
    "margin-bottom": _MARGIN, "margin-left": _MARGIN, "margin-right": _MARGIN, "margin-top": _MARGIN,
    "padding": rf"(({_LENGTH_POS}|{_PERC_POS})\s*){{1,4}}",
    "text-align": "left|right|center|justify",
    "vertical-align": rf"baseline|sub|super|top|text-top|middle|bottom|text-bottom|{_LEN_OR_PERC}",
    "white-space": "normal|pre|nowrap|pre-wrap|pre-line",
    "width": rf"{_LENGTH_POS}|{_PERC_POS}|auto",
}
SANITIZER_TAGS = {  # ``allowedTags``, same place
    "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "bdi", "bdo", "big", "blockquote",
    "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup", "colspan", "command", "data",
    "datalist", "dd", "del", "details", "dfn", "dir", "div", "dl", "dt", "em", "fieldset", "figcaption", "figure",
    "font", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "i", "img", "input",
    "ins", "kbd", "label", "legend", "li", "map", "mark", "menu", "meter", "nav", "nobr", "ol", "optgroup",
    "option", "output", "p", "pre", "progress", "q", "rowspan", "s", "samp", "section", "select", "small",
    "source", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "textarea", "tfoot",
    "th", "thead", "time", "tr", "track", "tt", "u", "ul", "var", "video", "wbr"}
# Elements whose looks carry meaning, and the declarations without which they show nothing.
MEANING = {"badge": {"background", "color"}, "bar": {"display", "width", "height", "background"}}
FILL = {"display", "width", "height", "background"}  # the coloured part inside a bar


def _own_python_kernel() -> Any:
    """A kernel manager for this Python's own kernel ("python3" as ipykernel defines it: this
    interpreter), whatever kernel the notebooks ask for and whichever "python3" a kernel folder holds."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    return KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


@pytest.fixture(scope="module", params=sorted(KINDS))
def executed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    """Each notebook run once, as "Run All" in JupyterLab does (working folder notebooks/, defaults)."""
    from nbclient import NotebookClient

    kind = request.param
    nb = nbformat.read(NOTEBOOKS / KINDS[kind], as_version=4)
    client = NotebookClient(nb, resources={"metadata": {"path": str(NOTEBOOKS)}}, kernel_name="python3",
                            km=_own_python_kernel(), timeout=600)
    client.execute(env={**os.environ, "EDUREPORT_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))})
    return kind, nb


def _outputs(nb: Any) -> list[Any]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def _role(output: Any) -> str:
    return output.get("metadata", {}).get("edureport", {}).get("role", "")


def test_every_chart_is_an_image_output(executed) -> None:
    kind, nb = executed
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [(i, o) for i, o in enumerate(outputs) if _role(o) == "chart"]
    assert charts, f"{kind}: no chart"
    assert [o.metadata.edureport.number for _, o in charts] == list(range(1, len(charts) + 1))
    for i, chart in charts:
        data, meta = chart.data, chart.metadata
        assert chart.output_type == "display_data" and set(data) == {"image/png", "image/svg+xml", "text/plain"}
        png = base64.b64decode(data["image/png"])
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            assert abs(image.width - 2 * meta["image/png"]["width"]) <= 1, "twice the pixels it is shown at"
        svg = data["image/svg+xml"]
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"'), "a standalone SVG document"
        width_pt = float(re.match(r'<svg [^>]*?width="([\d.]+)pt"', svg).group(1))
        # as wide as the SVG on a page (pt → CSS px), give or take the crop: the SVG's is measured by the SVG
        # renderer, the PNG's on the Agg canvas (charts._png)
        assert abs(width_pt * 4 / 3 / meta["image/png"]["width"] - 1) < 0.01, "as wide as the SVG on a page"
        title = f"图{meta.edureport.number}　{meta.edureport.caption}"
        assert data["text/plain"] == title
        caption = outputs[i + 1]
        assert _role(caption) == "caption" and html.escape(title) in caption.data["text/html"]


def test_html_outputs_have_no_svg_script_or_style(executed) -> None:
    kind, nb = executed
    htmls = [o.data["text/html"] for o in _outputs(nb) if "text/html" in o.get("data", {})]
    assert htmls
    for text in htmls:
        for banned in ("<svg", "<script", "<style"):
            assert banned not in text.lower(), f"{kind}: {banned} in a text/html output"


class _Elements(HTMLParser):
    """Every start tag: (tag, attributes, the enclosing elements' classes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str], list[str]]] = []
        self.stack: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.found.append((tag, attributes, [c for _, c in self.stack]))
        if tag not in ("br", "wbr", "img", "hr", "col"):
            self.stack.append((tag, attributes.get("class", "")))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _declarations(style: str) -> dict[str, str]:
    pairs = [d.split(":", 1) for d in style.split(";") if d.strip()]
    return {k.strip().lower(): v.strip() for k, v in pairs}


def test_styles_are_those_the_sanitizer_keeps(executed) -> None:
    """Badges and bars are drawn by inline styles JupyterLab keeps; every inline style in every HTML
    output is one it keeps, and every element is one it keeps."""
    kind, nb = executed
    seen = {"badge": 0, "bar": 0}
    for output in _outputs(nb):
        if "text/html" not in output.get("data", {}):
            continue
        parser = _Elements()
        parser.feed(output.data["text/html"])
        for tag, attributes, outer in parser.found:
            assert tag in SANITIZER_TAGS, f"{kind}: <{tag}> is removed by the sanitizer"
            style = _declarations(attributes.get("style", ""))
            for prop, value in style.items():
                assert prop in SANITIZER_STYLES, f"{kind}: {prop} is dropped by the sanitizer"
                assert re.fullmatch(SANITIZER_STYLES[prop], value, re.I), f"{kind}: {prop}:{value} is dropped"
            classes = attributes.get("class", "").split()
            for name, needed in MEANING.items():
                if name in classes:
                    seen[name] += 1
                    assert needed <= set(style), f"{kind}: .{name} without {needed - set(style)}"
            if outer and "bar" in outer[-1].split():
                assert set(style) >= FILL, f"{kind}: a bar's fill without {FILL - set(style)}"
    assert seen["badge"] and seen["bar"], f"{kind}: no status badge or progress bar ({seen})"


def test_report_html_keeps_svg_figures(executed) -> None:
    """The report from the same outputs: each chart an inline SVG in <figure class="chart"> with its
    caption, no PNG, no notebook-only caption; the same bytes every time, and after the notebook has been
    saved and read back (as the build writes it)."""
    kind, nb = executed
    charts = [o for o in _outputs(nb) if _role(o) == "chart"]
    page = notebook_to_html(nb, title="报告", kind=kind)
    assert page == notebook_to_html(nb, title="报告", kind=kind)
    assert page == notebook_to_html(nbformat.reads(nbformat.writes(nb), as_version=4), title="报告", kind=kind)
    figures = re.findall(r'<figure class="chart">.*?</figure>', page, flags=re.S)
    assert figures == [figure_html(inline_svg(o.data["image/svg+xml"]), o.metadata.edureport.number,
                                   o.metadata.edureport.caption) for o in charts]
    for f, o in zip(figures, charts, strict=True):
        caption = html.escape(o.metadata.edureport.caption)
        assert f.startswith(f'<figure class="chart"><svg role="img" aria-label="{caption}" ')
        assert re.search(f"</svg>\\s*<figcaption>图{o.metadata.edureport.number}　{re.escape(caption)}</figcaption></figure>$", f)
    assert "data:image/png" not in page and "image/png" not in page
    assert 'style="font-size:9pt;color:#444' not in page, "the notebook's caption stays out of the report"


# --- without a kernel -------------------------------------------------------------------------------

def test_outputs_put_the_block_back_together() -> None:
    """The HTML outputs and the charts' figures, in order, are the Block's HTML: the report is the same
    whether it comes from the Block or from its outputs."""
    svg = trend_chart(["2023-01", "2023-02"], [30.0, 35.5], target=40, unit="%", label="党员教师占比")
    other = status_chart(["一、党建"], [{Status.DONE: 3, Status.MISSED: 1}])
    block = Block("<h2>一</h2>") + figure(svg, 1, "甲<逐月>") + figure(other, 2, "乙") + Block("<p>完</p>")
    pieces = []
    for data, meta in block.outputs():
        role = meta.get("edureport", {}).get("role")
        if role == "chart":
            pieces.append(figure_html(inline_svg(data["image/svg+xml"]), meta["edureport"]["number"],
                                      meta["edureport"]["caption"]))
        elif role != "caption":
            pieces.append(data["text/html"])
    assert "".join(pieces) == block.html
    assert [m.get("edureport", {}).get("role") for _, m in block.outputs()] == \
        [None, "chart", "caption", "chart", "caption", None]
    assert Block("").outputs() == [], "nothing to show, no output"


def test_chart_png_is_deterministic_and_plain() -> None:
    """The same chart gives the same PNG bytes: no time, software name or other text chunk."""
    args = (["2023-01", "2023-02", "2023-03"], [30.0, 35.5, None])
    a = trend_chart(*args, target=40, unit="%", label="党员教师占比")
    b = trend_chart(*args, target=40, unit="%", label="党员教师占比")
    assert a.png == b.png and a.png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, at = [], 8
    while at < len(a.png):
        length = int.from_bytes(a.png[at:at + 4], "big")
        chunks.append(a.png[at + 4:at + 8].decode("ascii"))
        at += 12 + length
    assert set(chunks) <= {"IHDR", "PLTE", "IDAT", "IEND"}, chunks
    with Image.open(io.BytesIO(a.png)) as image:
        assert image.width == 2 * a.width and image.height > 100


def test_block_html_is_unchanged_by_its_charts() -> None:
    """A Block's HTML does not depend on whether the chart carries a PNG (what reports and tests read)."""
    svg = trend_chart(["2023-01", "2023-02"], [30.0, 35.5], target=40, unit="%", label="党员教师占比")
    assert figure(svg, 3, "标题").html == figure(str(svg), 3, "标题").html
    assert figure(str(svg), 3, "标题").outputs() == [({"text/html": figure(svg, 3, "标题").html}, {})], \
        "an SVG without its PNG stays in the HTML"
