"""Small HTML building blocks for reports. Every value from the data passes through ``esc``.

Blocks have ``_repr_html_`` so a notebook cell that returns one shows it in Jupyter, and nbconvert
copies the same HTML into the report.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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


@dataclass
class Block:
    """A piece of report HTML that Jupyter and nbconvert both display."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __add__(self, other: Block) -> Block:
        return Block(self.html + other.html)


def join(blocks: Iterable[Block]) -> Block:
    return Block("".join(b.html for b in blocks))


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


def badge(status: Status) -> str:
    return f'<span class="badge" style="background:{STATUS_COLOURS[status]}">{esc(status.value)}</span>'


def progress_bar(progress: float | None, status: Status, text: str = "") -> str:
    """The 完成进度 cell: a bar (full only when the target is met; over-achievement shows in the words,
    not as a longer bar) and its words (``IndicatorResult.progress_text``); words alone where the kind
    has no share to draw (upper limits, trends)."""
    pct = percent(progress, status is Status.DONE)
    if pct is None:
        return esc(text) if text else "—"
    words = text or f"{pct}%"
    return (f'<span class="bar"><span style="width:{min(pct, 100)}%;background:{STATUS_COLOURS[status]}"></span></span>'
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
    return Block(f"<table{klass}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


CHART_OPEN = '<svg role="img" aria-label="'  # how a chart starts; render.charts_as_images looks for it


def figure(svg: str, number: int, caption: str) -> Block:
    """An inline chart (its labels use the page's embedded fonts) with a numbered caption."""
    if not svg.startswith("<svg"):
        raise ValueError("figure() expects an <svg> element")
    chart = f'{CHART_OPEN}{esc(caption)}"{svg[4:]}'
    return Block(f'<figure class="chart">{chart}<figcaption>图{number}　{esc(caption)}</figcaption></figure>')
