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
from dataclasses import dataclass

from edureport.core.figures import decimals_of, fmt_target, printed_value, shown_vs
from edureport.core.fonts import setup_matplotlib
from edureport.core.status import STATUS_COLOURS, STATUS_ORDER, Status

INK, GRID, TARGET, HIGHLIGHT, BAR = "#333333", "#dddddd", "#c62828", "#1565c0", "#9fb7d6"
MAX_BARS = 30
CROWDED_BARS = 12  # above this, names are set smaller and only the highlighted bar carries its value
ROW_DOTS = 0.34  # inches per indicator in a comparison dot plot (a name on two lines fits)
LABEL_ROOM = 1.9  # inches an indicator's name may take left of a dot plot (about 12 characters at 8 pt)
NO_LINE_START = "，。、；：？！）》」』”’%％"
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


# A value label stands on a white ground above the reference lines (target, region): where a line passes
# through a figure, the figure stays readable and the line shows on both sides of it.
LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
LABEL_Z = 5


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
    from matplotlib import rcParams

    # The crop is measured once, on the Agg canvas the chart was laid out on, for the SVG and the PNG alike:
    # savefig's "tight" drew the whole figure once more to measure it. Section 1's ten charts took 1.30 s
    # at 6 苏木镇 and 1.72 s at 600 before, 0.97 s and 1.27 s since. The Agg and SVG text metrics differ by
    # about 1 pt in the crop, well inside its 0.1 in padding.
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(rcParams["savefig.pad_inches"])
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches=box, metadata={"Date": None, "Creator": None})
    png, width = _png(fig, box)
    plt.close(fig)
    # Only the <svg> element, for inlining into HTML5: no XML prolog, no RDF metadata, no namespace URLs.
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return Svg(re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text), png, width)


def _png(fig, box) -> tuple[bytes, int]:
    """The figure as a PNG at PNG_DPI and the CSS width to show it at, cropped to ``box`` like the SVG.

    Cheap and deterministic: the picture, flat colours and their
    anti-aliased edges, is reduced to 256 colours without dithering (a third of the bytes, no visible
    change: a channel moves by a few levels at most); the file has no text chunks (software, time) and no
    resolution: the same figure, the same bytes.
    """
    from PIL import Image

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
                    color=HIGHLIGHT, bbox=LABEL_BOX, zorder=LABEL_Z)
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
            ax.text(x, v, text, ha="center", va="bottom", fontsize=7.5, color=INK, bbox=LABEL_BOX, zorder=LABEL_Z)
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


@dataclass(frozen=True)
class DotRow:
    """One indicator of a comparison dot plot: every unit's value, the highlighted unit's, and the two
    reference marks (the banner's figure; the target, or for a trend the banner's baseline)."""

    name: str
    values: Sequence[float]
    mine: float | None
    banner: float | None = None
    target: float | None = None


def comparison_dots(rows: Sequence[DotRow], *, highlight: str, unit: str, others_label: str,
                    banner_label: str, target_label: str) -> Svg:
    """Several indicators of one unit against every other unit, one row each: the other units as grey
    dots, this unit as a blue dot with its figure at the right, the target as a red bar and the banner's
    figure as a black one, all on one axis (0–100 for percentages).

    It replaces one bar chart per indicator in a township's report (19 charts on six pages for the demo
    county): one chart per plan section says where the unit stands on each indicator, and it stays one
    row per indicator at 600 units (the dots overlap; the blue one is drawn last, on top). Names wrap
    between characters to at most three lines, never into the plot."""
    fig, ax = _figure(height=max(1.4, ROW_DOTS * len(rows) + 0.9))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ys = list(range(len(rows)))[::-1]  # the plan's order, top down
    label_room = LABEL_ROOM * fig.dpi
    names = [_wrap_any(fig, r.name, 8, label_room) for r in rows]
    everything = [v for r in rows for v in (*r.values, r.banner, r.target, r.mine) if v is not None]
    for y, r in zip(ys, rows, strict=True):
        values = _one_dot_per_spot(list(r.values), everything)
        ax.scatter(values, [y] * len(values), s=16, color=BAR, alpha=0.8, linewidths=0, zorder=2)
        if r.target is not None:
            ax.plot([r.target], [y], marker="|", markersize=13, markeredgewidth=1.6, color=TARGET, zorder=3)
        if r.banner is not None:
            ax.plot([r.banner], [y], marker="|", markersize=9, markeredgewidth=1.4, color=INK, zorder=3)
        if r.mine is not None:
            ax.scatter([r.mine], [y], s=38, color=HIGHLIGHT, zorder=4, linewidths=0)
            ax.text(1.01, y, _fmt(r.mine, unit, r.target), transform=ax.get_yaxis_transform(), ha="left",
                    va="center", fontsize=7.5, color=HIGHLIGHT)
    if unit == "%" and everything and min(everything) >= 0 and max(everything) <= 100:
        ax.set_xlim(-2, 102)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0f}%")
    else:
        _zero_based(ax, everything, None, None, "x")
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(ys, names, fontsize=8)
    ax.tick_params(axis="y", length=0)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=HIGHLIGHT, markersize=6, label=_legend_name(highlight)),
               Line2D([], [], marker="o", linestyle="", color=BAR, markersize=5, label=others_label),
               Line2D([], [], marker="|", linestyle="", color=TARGET, markersize=9, markeredgewidth=1.6,
                      label=target_label),
               Line2D([], [], marker="|", linestyle="", color=INK, markersize=7, markeredgewidth=1.4,
                      label=banner_label)]
    ax.legend(handles=handles, fontsize=7.5, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncol=4, handletextpad=0.3, columnspacing=1.2)
    _fit(fig, ax)
    return _svg(fig)


DOTS_KEPT = 60  # up to this many units every dot is drawn (the demo's charts are as they were)
SPOTS = 400  # above it, one dot per 1/400 of the axis: about a pixel of the printed chart


def _one_dot_per_spot(values: list[float], everything: list[float]) -> list[float]:
    """The other units' values, one per spot of the axis where there are many: 600 townships drew 600
    overlapping dots per row, 15,000 SVG nodes per report that WeasyPrint drew one by one (7.4 s of a
    township report's 17 s). A dot hides the dots under it anyway; only the slight darkening of dots
    drawn on top of each other is lost."""
    if len(values) <= DOTS_KEPT or not everything:
        return values
    span = (max(everything) - min(min(everything), 0)) or 1.0
    step = span / SPOTS
    return sorted({round(v / step) * step for v in values})


def _wrap_any(fig, text: str, size: float, room: float, most: int = 3) -> str:
    """Chinese text on lines of at most ``room`` pixels, broken between any two characters (as Chinese
    is), never before closing punctuation, the lines about equally long (not one character left alone
    on the last); past ``most`` lines the rest is cut with "…" (the full name is in the table beside
    the chart)."""
    def lines_of(width: float) -> list[str]:
        lines = [""]
        for ch in text:
            if lines[-1] and _widths(fig, [lines[-1] + ch], size)[0] > width and ch not in NO_LINE_START:
                lines.append(ch)
            else:
                lines[-1] += ch
        return lines

    lines = lines_of(room)
    if 1 < len(lines) <= most:  # the narrowest width that still needs no more lines: balanced lines
        total = _widths(fig, [text], size)[0]
        for share in (total / len(lines) * f for f in (1.02, 1.08, 1.15, 1.25)):
            even = lines_of(min(share, room))
            if len(even) == len(lines):
                lines = even
                break
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][:-1] + "…"
    return "\n".join(lines)


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
                bbox=LABEL_BOX, zorder=LABEL_Z)
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


