"""Charts as SVG strings: monthly trend against the target, township comparison, status by section.

SVG keeps charts sharp in print. The charts are inlined into the report HTML with their labels as
text, drawn with the report's embedded CJK font subset: glyph outlines (one path per character) made
the HTML three times larger and WeasyPrint twice as slow on chart-heavy reports. The output carries no
date or random id, so the same data always gives the same bytes.

Each chart also carries the same figure as a PNG (``Svg.png``), drawn once more by Agg: an untrusted
notebook in JupyterLab, as every executed one is, shows no SVG, but shows images (htmlkit.Block.outputs).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from edureport.core.figures import decimals_of, fmt_target, printed_value, shown_vs
from edureport.core.fonts import setup_matplotlib
from edureport.core.status import STATUS_COLOURS, STATUS_ORDER, Status

INK, GRID, TARGET, HIGHLIGHT, BAR = "#333333", "#dddddd", "#c62828", "#1565c0", "#9fb7d6"
MAX_BARS = 30
CROWDED_BARS = 12  # above this, names are set smaller and only the highlighted bar carries its value
GAP = 4.0  # pixels (at the charts' 100 dpi) kept free between two labels and around the figure's edge
UPRIGHT_MAX = 100.0  # pixels: a name longer than this does not stand upright under a bar (bars lie down)
ROW = 0.22  # inches per bar when the bars lie horizontally
BREAKS = "·・•‧-—_/、 "  # a name may wrap after one of these (and before an opening bracket), nowhere else
LEGEND_NAME = 10  # em: a name wider than ten CJK characters wraps in a legend
CSS_DPI = 96  # CSS pixels per inch: the SVG's width in pt (1/72 in) is 4/3 as many pixels on a page
PNG_DPI = 2 * CSS_DPI  # the PNG has twice the pixels it is shown at: sharp on high-density screens too
NEAR_WHITE = 250  # a PNG palette colour this light in every channel is the figure's white ground


class Svg(str):
    """A chart's SVG text, with the same figure as a PNG (``png``) for notebooks, to be shown ``width``
    CSS pixels wide (as wide as the SVG on a page)."""

    png: bytes
    width: int

    def __new__(cls, svg: str, png: bytes = b"", width: int = 0) -> Svg:
        chart = super().__new__(cls, svg)
        chart.png, chart.width = png, width
        return chart


def _figure(width: float = 6.4, height: float = 2.5):
    setup_matplotlib()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _fit(fig, *axes) -> None:
    """Widen the left and bottom margins just enough that every tick label and axis label lies inside the
    figure (a long name on the left of horizontal bars or of the status chart). Margins that already hold
    the labels are left alone."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    for ax in axes:
        boxes = [b for b in (ax.xaxis.get_tightbbox(renderer), ax.yaxis.get_tightbbox(renderer))
                 if b is not None and b.width > 0]
        if not boxes:
            continue
        pos = ax.get_position()
        left, bottom = pos.x0, pos.y0
        x0, y0 = min(b.x0 for b in boxes), min(b.y0 for b in boxes)
        if x0 < GAP:
            left += (GAP - x0) / width
        if y0 < GAP:
            bottom += (GAP - y0) / height
        if (left, bottom) != (pos.x0, pos.y0):
            ax.set_position([left, bottom, pos.x1 - left, pos.y1 - bottom])


def _widths(fig, texts: Sequence[str], size: float) -> list[float]:
    """Each text's width in pixels at ``size`` points (the widest line of a wrapped one)."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    prop = FontProperties(size=size)
    return [max((renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
                 for line in text.split("\n")), default=0.0) for text in texts]


def _wrap(fig, name: str, size: float, room: float, most: int = 3) -> str | None:
    """The name on up to ``most`` lines, each at most ``room`` pixels wide, broken only after a separator
    (“白马街道·” / “三山片区”); None when it cannot be."""
    parts, start = [], 0
    for i, ch in enumerate(name):
        if (ch in BREAKS and i + 1 < len(name)) or (ch in "（(" and i > start):
            end = i + 1 if ch in BREAKS else i
            parts.append(name[start:end])
            start = end
    parts.append(name[start:])
    lines: list[str] = []
    for part in parts:
        joined = (lines[-1] + part) if lines else part
        if lines and _widths(fig, [joined], size)[0] <= room:
            lines[-1] = joined
        else:
            lines.append(part)
    if len(lines) > most or max(_widths(fig, lines, size)) > room:
        return None
    return "\n".join(lines)


def _legend_name(name: str) -> str:
    """A long unit name in a legend entry on two lines, so the legend does not widen the chart (widths in
    em: a CJK character 1, others about half)."""
    total, cut = 0.0, len(name)
    for i, ch in enumerate(name):
        total += 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55
        if total > LEGEND_NAME:
            cut = i
            break
    return name if cut == len(name) else f"{name[:cut]}\n{name[cut:]}"


def _svg(fig) -> Svg:
    """The finished figure as SVG text, carrying its PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    png, width = _png(fig)
    plt.close(fig)
    # Only the <svg> element, for inlining into HTML5: no XML prolog, no RDF metadata, no namespace URLs.
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return Svg(re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text), png, width)


def _png(fig) -> tuple[bytes, int]:
    """The figure as a PNG at PNG_DPI and the CSS width to show it at, cropped like the SVG.

    Cheap and deterministic: the crop is measured on the Agg canvas the chart was laid out on (savefig's
    "tight" would draw the whole figure once more to measure it); the picture, flat colours and their
    anti-aliased edges, is reduced to 256 colours without dithering (a third of the bytes, no visible
    change: a channel moves by a few levels at most); the file has no text chunks (software, time) and no
    resolution: the same figure, the same bytes.
    """
    from matplotlib import rcParams
    from PIL import Image

    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(rcParams["savefig.pad_inches"])
    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=PNG_DPI, bbox_inches=box)  # the pixels, without encoding them
    size = int(box.width * PNG_DPI), int(box.height * PNG_DPI)  # as Agg sizes its canvas for the box
    if size[0] * size[1] * 4 != raw.tell():
        raise RuntimeError(f"chart PNG: {raw.tell()} bytes drawn for {size[0]}×{size[1]} pixels")
    image = Image.frombuffer("RGBA", size, raw.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB")
    image = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    # The octree gives each colour the mean of its neighbours: the white ground would come out 254, a
    # faintly grey box on a white notebook. Near-white entries are white again.
    palette = image.getpalette() or []
    entries = [palette[i:i + 3] for i in range(0, len(palette), 3)]
    image.putpalette([v for e in entries for v in ((255, 255, 255) if min(e) >= NEAR_WHITE else e)])
    out = io.BytesIO()
    image.save(out, format="png")
    return out.getvalue(), round(size[0] * CSS_DPI / PNG_DPI)


def trend_chart(months: Sequence[str], values: Sequence[float | None], *, target: float | None, unit: str,
                label: str, target_label: str = "年度目标") -> str:
    """Month-by-month values with the target as a dashed line."""
    fig, ax = _figure()
    xs = list(range(len(months)))
    points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], color=HIGHLIGHT, marker="o", markersize=3.5,
                linewidth=1.6, label=label)
        last_x, last_v = points[-1]
        ax.annotate(_fmt(last_v, unit, target), (last_x, last_v), textcoords="offset points", xytext=(4, 4), fontsize=8,
                    color=HIGHLIGHT)
    if target is not None:
        ax.axhline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    ax.set_xticks(xs, [f"{int(m[5:])}月" for m in months])
    ax.set_xlim(-0.5, len(months) - 0.5)
    if unit == "%":
        ax.set_ylabel("%", fontsize=8, color=INK)
    lo = min([v for _, v in points] + ([target] if target is not None else []) + [0])
    ax.set_ylim(bottom=lo)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _fit(fig, ax)
    return _svg(fig)


def township_chart(names: Sequence[str], values: Sequence[float | None], *, banner: float | None,
                   target: float | None, unit: str, highlight: str = "", banner_label: str = "全域",
                   target_label: str = "目标") -> str:
    """One bar per township; the banner figure and the target as lines; one township highlighted.

    The names never run into each other, whatever their length and number: they stand level under the
    bars when they fit, else wrap after a separator (“白马街道·” / “三山片区”), else stand upright
    (many short names), else the bars lie horizontally with one name per row."""
    pairs = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
    if len(pairs) > MAX_BARS:  # a big county: the lowest ones and the highlighted one
        keep = sorted(pairs, key=lambda p: p[1])[: MAX_BARS - 1]
        pairs = keep + [p for p in pairs if p[0] == highlight and p not in keep]
    fig, ax = _figure(height=2.6)
    crowded = len(pairs) > CROWDED_BARS  # value labels would overlap: label only the highlighted bar
    size = 6.5 if crowded else 8
    labels, rotation = [n for n, _ in pairs], 0
    span = max((len(pairs) - 0.4) * (1 + 2 * ax.margins()[0]), 1.0)  # the x range autoscaling gives 0.6-wide bars
    room = ax.get_position().width * fig.bbox.width / span - GAP  # pixels a label may take under its bar
    widths = _widths(fig, labels, size)
    if max(widths, default=0.0) > room:
        wrapped = [] if crowded else [_wrap(fig, n, size, room) for n in labels]
        if wrapped and all(w is not None for w in wrapped):
            labels = [w or "" for w in wrapped]
        elif _line_height(fig, size) <= room and max(widths) <= UPRIGHT_MAX:
            rotation = 90
        else:
            import matplotlib.pyplot as plt

            plt.close(fig)
            return _lying_bars(pairs, banner=banner, target=target, unit=unit, highlight=highlight,
                               banner_label=banner_label, target_label=target_label)
    xs = list(range(len(pairs)))
    colours = [HIGHLIGHT if n == highlight else BAR for n, _ in pairs]
    ax.bar(xs, [v for _, v in pairs], color=colours, width=0.6)
    texts = [_fmt(v, unit, target) for _, v in pairs]
    crowded = crowded or max(_widths(fig, texts, 7.5), default=0.0) > room  # long figures overlap too
    for x, (name, v), text in zip(xs, pairs, texts, strict=True):
        if not crowded or name == highlight:
            ax.text(x, v, text, ha="center", va="bottom", fontsize=7.5, color=INK)
    if banner is not None:
        ax.axhline(banner, color=INK, linestyle=":", linewidth=1, label=f"{banner_label} {_fmt(banner, unit, target)}")
    if target is not None:
        ax.axhline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    _zero_based(ax, [v for _, v in pairs], banner, target, "y")
    ax.set_xticks(xs, labels, fontsize=size, rotation=rotation)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _fit(fig, ax)
    return _svg(fig)


def _lying_bars(pairs: list[tuple[str, float]], *, banner: float | None, target: float | None, unit: str,
                highlight: str, banner_label: str, target_label: str) -> str:
    """The township chart with horizontal bars, one row per name (names too long to stand under bars)."""
    fig, ax = _figure(height=max(2.6, ROW * len(pairs) + 0.9))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ys = list(range(len(pairs)))[::-1]  # the first name on top, as it comes first under upright bars
    values = [v for _, v in pairs]
    ax.barh(ys, values, color=[HIGHLIGHT if n == highlight else BAR for n, _ in pairs], height=0.6)
    texts = [_fmt(v, unit, target) for v in values]
    for y, v, text in zip(ys, values, texts, strict=True):  # one row each: every bar keeps its figure
        ax.text(v, y, f" {text} ", ha="left" if v >= 0 else "right", va="center", fontsize=7.5, color=INK,
                bbox={"boxstyle": "square,pad=0", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
    if banner is not None:
        ax.axvline(banner, color=INK, linestyle=":", linewidth=1, label=f"{banner_label} {_fmt(banner, unit, target)}")
    if target is not None:
        ax.axvline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    _zero_based(ax, values, banner, target, "x")
    ax.set_ylim(-0.6, len(pairs) - 0.4)
    ax.set_yticks(ys, [n for n, _ in pairs], fontsize=8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _fit(fig, ax)
    lo, hi = ax.get_xlim()
    room = ax.get_position().width * fig.bbox.width
    need = max(_widths(fig, [f" {t} " for t in texts], 7.5), default=0.0) + GAP
    if lo >= 0 and hi > 0 and need < room / 2:  # room right of the longest bar for its figure
        ax.set_xlim(lo, max(hi, lo + (max(values) - lo) * room / (room - need)))
    return _svg(fig)


def _zero_based(ax, values: list[float], banner: float | None, target: float | None, axis: str) -> None:
    """No negative axis under counts and ratios; all zeros (no incident anywhere) still shows a 0–1 scale."""
    if values and min(values) >= 0 and (banner or 0) >= 0 and (target or 0) >= 0:
        limit, ticks = (ax.set_ylim, ax.set_yticks) if axis == "y" else (ax.set_xlim, ax.set_xticks)
        if max([*values, banner or 0, target or 0]) > 0:
            limit(**{"bottom" if axis == "y" else "left": 0})
        else:
            limit(0, 1)
            ticks([0, 1])


def _line_height(fig, size: float) -> float:
    """The height in pixels of one line of CJK text at ``size`` points (an upright label's width)."""
    from matplotlib.font_manager import FontProperties

    _, height, _ = fig.canvas.get_renderer().get_text_width_height_descent("国", FontProperties(size=size),
                                                                          ismath=False)
    return float(height)


def distribution_chart(values: Sequence[float | None], *, mine: float, name: str, banner: float | None,
                       target: float | None, unit: str, count_label: str, banner_label: str = "全域",
                       target_label: str = "目标") -> str:
    """How many townships fall in each range of values, with one township marked.

    Used in a township's own report when there are too many townships to name (> CROWDED_BARS): 30
    unreadable names of the lowest townships hid where this township stands, while a distribution
    answers that, and draws the same few bars at 13 townships as at 600 (per-report time stays flat).
    """
    from matplotlib.ticker import MaxNLocator

    lines = [x for x in (banner, target) if x is not None]
    edges, counts, mark = histogram([v for v in values if v is not None], mine, lines,
                                    cap=100.0 if unit == "%" else None)
    fig, ax = _figure(height=2.6)
    colours = [HIGHLIGHT if i == mark else BAR for i in range(len(counts))]
    ax.bar(edges[:-1], counts, width=[b - a for a, b in pairwise(edges)], align="edge", color=colours,
           edgecolor="white", linewidth=0.8)
    ax.axvline(mine, color=HIGHLIGHT, linewidth=1.4, label=f"{_legend_name(name)} {_fmt(mine, unit, target)}")
    if banner is not None:
        ax.axvline(banner, color=INK, linestyle=":", linewidth=1, label=f"{banner_label} {_fmt(banner, unit, target)}")
    if target is not None:
        ax.axvline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    ax.set_xticks(edges, _thinned(fig, ax, edges, [_edge(e, unit) for e in edges], 7.5), fontsize=7.5)
    ax.set_xlim(edges[0], edges[-1])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_ylabel(count_label, fontsize=8, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _fit(fig, ax)
    return _svg(fig)


def _thinned(fig, ax, edges: Sequence[float], labels: list[str], size: float) -> list[str]:
    """Every edge's label, or every second (third …) one where wide figures would touch (the first
    edge always keeps its label)."""
    scale = ax.get_position().width * fig.bbox.width / ((edges[-1] - edges[0]) or 1.0)
    widths = _widths(fig, labels, size)
    for step in range(1, len(labels) + 1):
        kept = list(range(0, len(labels), step))
        if all((edges[b] - edges[a]) * scale >= (widths[a] + widths[b]) / 2 + GAP for a, b in pairwise(kept)):
            return [t if i % step == 0 else "" for i, t in enumerate(labels)]
    return labels[:1] + [""] * (len(labels) - 1)


def histogram(values: Sequence[float], mine: float, lines: Sequence[float] = (),
              cap: float | None = None) -> tuple[list[float], list[int], int]:
    """Round bin edges covering the values and the reference lines, the count in each bin, and the bin
    holding ``mine``. The last bin includes its upper edge, as in ``numpy.histogram``. When every
    value is the same, the range is widened around it, but not past ``cap`` (100 for a percentage)."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = min(*values, mine, *lines), max(*values, mine, *lines)
    if hi - lo < 1e-9:
        pad = max(abs(lo) * 0.05, 1.0)
        lo, hi = lo - pad, (hi if cap is not None and cap - 1e-9 <= hi <= cap + 1e-9 else hi + pad)
    ticks = MaxNLocator(nbins=10, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    eps = (hi - lo) * 1e-9  # tick arithmetic is not exact
    first = max(int(np.searchsorted(ticks, lo + eps, side="right")) - 1, 0)
    last = min(int(np.searchsorted(ticks, hi - eps, side="left")), len(ticks) - 1)
    edges = ticks[first:last + 1].round(10)
    edges[0], edges[-1] = min(edges[0], lo), max(edges[-1], hi)
    counts, _ = np.histogram(values, bins=edges)
    mark = min(max(int(np.searchsorted(edges, mine, side="right")) - 1, 0), len(counts) - 1)
    return [float(e) for e in edges], [int(c) for c in counts], mark


def status_chart(labels: Sequence[str], summaries: Sequence[dict[Status, int]]) -> str:
    """Stacked horizontal bars: how many indicators of each section are in each status."""
    fig, ax = _figure(height=0.45 * len(labels) + 0.9)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.grid(axis="y", visible=False)
    ys = list(range(len(labels)))[::-1]
    left = [0] * len(labels)
    for status in STATUS_ORDER:
        counts = [s.get(status, 0) for s in summaries]
        if not any(counts):
            continue
        ax.barh(ys, counts, left=left, color=STATUS_COLOURS[status], height=0.55, label=status.value)
        for y, lft, c in zip(ys, left, counts, strict=True):
            if c:
                ax.text(lft + c / 2, y, str(c), ha="center", va="center", fontsize=7.5, color="white")
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_yticks(ys, labels, fontsize=8.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("指标数", fontsize=8, color=INK)
    ax.legend(fontsize=8, frameon=False, ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    _fit(fig, ax)
    return _svg(fig)


def _fmt(v: float, unit: str, target: float | None = None) -> str:
    """A chart label, by the rule of figures.py: never rounded onto or across the target line drawn with
    it, as that line's label prints it (_target)."""
    printed = None if target is None else printed_value(_target(target, unit))
    need = 0 if target is None else decimals_of(_target(target, unit))
    shown, decimals = shown_vs(v, target, printed, unit=unit, decimals=need)
    if unit == "%":
        return f"{shown:.{max(decimals, 1)}f}%"
    return f"{shown:,.{decimals}f}"


def _target(target: float, unit: str) -> str:
    """A target line's label: as the plan wrote it (figures.fmt_target); percentages with a decimal."""
    text = fmt_target(target, "")
    if unit == "%":
        return f"{text}.0%" if "." not in text else f"{text}%"
    return text


def _edge(v: float, unit: str) -> str:
    text = f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.10g}"
    return text + ("%" if unit == "%" else "")
