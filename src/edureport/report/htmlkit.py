"""Small HTML building blocks for reports. Every value from the data passes through ``esc``.

A Block is the report's HTML (``Block.html``: what tests read and what the report gets). Shown in a
notebook it becomes several outputs (``Block.outputs``) that JupyterLab displays even when the notebook
is untrusted, as every executed one is: the HTML between charts as ``text/html``, each chart as an
image (PNG, and the SVG the report keeps). nbconvert's template (render/templates) puts the same HTML
back together, byte for byte. Untrusted HTML loses ``<svg>``, ``<style>`` and the report's classes
(report.css does not travel with the outputs), so what carries meaning by its looks — status badges,
progress bars — is styled inline, with only the declarations JupyterLab's sanitizer keeps.
"""

from __future__ import annotations

import base64
import builtins
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edureport.core.figures import percent
from edureport.core.status import STATUS_COLOURS, Status

CN_NUMERALS = "一二三四五六七八九十"
SHORT_TABLE_ROWS = 12


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二 (for headings 一、 and （一）)."""
    if n <= 10:
        return CN_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_NUMERALS[tens - 1]) + "十" + (CN_NUMERALS[ones - 1] if ones else "")


Output = tuple[dict[str, Any], dict[str, Any]]  # one notebook output: its MIME bundle and its metadata


@dataclass(frozen=True)
class Chart:
    """One chart of a Block: its figure HTML in the report, and the same figure as a PNG for notebooks."""

    svg: str  # as inlined in the report: no namespace declarations
    number: int
    caption: str
    png: bytes
    width: int  # CSS pixels (the SVG's width on the page; the PNG has more, to be sharp)

    def outputs(self) -> list[Output]:
        """The chart as an image output (PNG for untrusted JupyterLab, which shows no SVG; the SVG, as a
        standalone document, for trusted notebooks and for the report), then its caption as HTML, which
        nbconvert's template skips: it writes the caption into the figure from the chart's metadata."""
        title = f"图{self.number}　{self.caption}"
        image = {"image/png": base64.b64encode(self.png).decode("ascii"), "image/svg+xml": svg_document(self.svg),
                 "text/plain": title}
        meta = {"image/png": {"width": self.width},
                "edureport": {"role": "chart", "number": self.number, "caption": self.caption}}
        caption = {"text/html": f'<p style="{CAPTION_STYLE}">{esc(title)}</p>'}
        return [(image, meta), (caption, {"edureport": {"role": "caption"}})]


@dataclass
class Block:
    """A piece of report HTML that Jupyter and nbconvert both display."""

    html: str
    charts: dict[str, Chart] = field(default_factory=dict, repr=False, compare=False)  # figure HTML → chart

    def _repr_html_(self) -> str:
        return self.html

    def _ipython_display_(self) -> None:
        """How IPython shows a Block, displayed or a cell's value: as ``outputs()``, several outputs
        (``_repr_mimebundle_`` gives one, which cannot put a chart between two pieces of HTML). IPython
        calls this only inside its shell, where ``get_ipython`` is a builtin; ``display_pub.publish`` is
        what ``IPython.display.publish_display_data`` calls."""
        publish = builtins.get_ipython().display_pub.publish  # type: ignore[attr-defined]
        for data, metadata in self.outputs():
            publish(data=data, metadata=metadata)

    def outputs(self) -> list[Output]:
        """The HTML before, between and after the charts as ``text/html`` outputs, and each chart (made by
        ``figure``) as ``Chart.outputs``; no output for empty HTML."""
        out: list[Output] = []
        start = 0
        for match in _FIGURE.finditer(self.html):
            chart = self.charts.get(match.group(0))
            if chart is None:  # a figure built by hand, without its PNG: it stays in the HTML
                continue
            out += _html_output(self.html[start:match.start()]) + chart.outputs()
            start = match.end()
        return out + _html_output(self.html[start:])

    def __add__(self, other: Block) -> Block:
        return Block(self.html + other.html, {**self.charts, **other.charts})


def join(blocks: Iterable[Block]) -> Block:
    blocks = list(blocks)
    return Block("".join(b.html for b in blocks), {k: c for b in blocks for k, c in b.charts.items()})


def _html_output(html_text: str) -> list[Output]:
    return [({"text/html": html_text}, {})] if html_text.strip() else []


@dataclass
class Numbering:
    """Figure and table numbers (图1, 表1), in document order."""

    figures: int = 0
    tables: int = 0
    anchors: list[tuple[int, str, str]] = field(default_factory=list)  # (level, id, title) for the TOC

    def next_figure(self) -> int:
        self.figures += 1
        return self.figures

    def next_table(self) -> int:
        self.tables += 1
        return self.tables


def heading(level: int, text: str, numbering: Numbering | None = None, anchor: str = "") -> Block:
    if numbering is not None and anchor:
        numbering.anchors.append((level, anchor, text))
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return Block(f"<h{level}{ident}>{esc(text)}</h{level}>")


def paragraph(text: str, cls: str = "") -> Block:
    klass = f' class="{cls}"' if cls else ""
    return Block(f"<p{klass}>{esc(text)}</p>")


# Inline styles (not in report.css) so that they reach an untrusted notebook too: only properties and
# values that JupyterLab's HTML sanitizer keeps (@jupyterlab/apputils sanitizer.ts, ``allowedStyles``:
# e.g. colours as #hex, lengths in pt or %, no var() or calc(); tests/test_notebook_outputs.py checks).
BADGE_STYLE = "display:inline-block;color:#fff;border-radius:2pt;padding:0 5pt;font-size:8pt;white-space:nowrap"
BAR_HEIGHT = "6pt"
BAR_STYLE = f"display:inline-block;width:36pt;height:{BAR_HEIGHT};background:#e6e6e6;vertical-align:middle;margin-right:3pt"
FILL_STYLE = f"display:block;height:{BAR_HEIGHT}"  # the bar's height (not 100%: the only percentage is its share)
CAPTION_STYLE = "font-size:9pt;color:#444;margin:0 0 1em"  # a chart's caption under its image in a notebook


def badge(status: Status) -> str:
    return (f'<span class="badge" style="{BADGE_STYLE};background:{STATUS_COLOURS[status]}">'
            f'{esc(status.value)}</span>')


def progress_bar(progress: float | None, status: Status, text: str = "") -> str:
    """The 完成进度 cell: a bar (full only when the target is met; over-achievement shows in the words,
    not as a longer bar) and its words (``IndicatorResult.progress_text``); words alone where the kind
    has no share to draw (upper limits, trends). The words are text, so the figure reads the same where
    the bar is not drawn."""
    pct = percent(progress, status is Status.DONE)
    if pct is None:
        return esc(text) if text else "—"
    words = text or f"{pct}%"
    fill = f"{FILL_STYLE};width:{min(pct, 100)}%;background:{STATUS_COLOURS[status]}"
    return (f'<span class="bar" style="{BAR_STYLE}"><span style="{fill}"></span></span>'
            f'<span class="pct">{esc(words)}</span>')


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, number: int | None = None, caption: str = "",
          raw_columns: Iterable[int] = (), cls: str = "") -> Block:
    """A table; cells are escaped except the columns listed in ``raw_columns`` (already-built HTML)."""
    raw = set(raw_columns)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i in raw else esc(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    cap = f"<caption>表{number}　{esc(caption)}</caption>" if number is not None else ""
    short = body.count("<tr>") <= SHORT_TABLE_ROWS  # short tables move whole to the next page
    klass = f' class="{cls}{" short" if short else ""}"' if cls or short else ""
    more = f' data-continued="续表{number}"' if number is not None else ""  # the PDF's 续表N (report.css)
    return Block(f"<table{klass}>{cap}<thead{more}><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


CHART_OPEN = '<svg role="img" aria-label="'  # how a chart starts; render.charts_as_images looks for it
SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
_FIGURE = re.compile(r'<figure class="chart">.*?</figure>', re.S)


def figure(svg: str, number: int, caption: str) -> Block:
    """An inline chart (its labels use the page's embedded fonts) with a numbered caption. A chart from
    report.charts carries its PNG (``png``, ``width``), which a notebook shows instead of the SVG."""
    html_text = figure_html(svg, number, caption)
    png = getattr(svg, "png", b"")
    chart = Chart(str(svg), number, caption, png, getattr(svg, "width", 0))
    return Block(html_text, {html_text: chart} if png else {})


def figure_html(svg: str, number: int, caption: str) -> str:
    """The report's HTML of a chart: the inline SVG, named by its caption, and the numbered caption."""
    if not svg.startswith("<svg"):
        raise ValueError("figure() expects an <svg> element")
    chart = f'{CHART_OPEN}{esc(caption)}"{svg[4:]}'
    return f'<figure class="chart">{chart}<figcaption>图{number}　{esc(caption)}</figcaption></figure>'


def svg_document(svg: str) -> str:
    """An inline chart SVG as a standalone SVG document (an image outside HTML needs its namespaces)."""
    return f"<svg {SVG_NS}{svg[4:]}"


def inline_svg(document: str) -> str:
    """The inverse of ``svg_document``."""
    head = f"<svg {SVG_NS}"
    if not document.startswith(head):
        raise ValueError("not a chart's SVG document")
    return "<svg" + document[len(head):]
