"""Charts as SVG strings: monthly trend against the target, township comparison, status by section.

SVG keeps charts sharp in print. The charts are inlined into the report HTML with their labels as
text, drawn with the report's embedded CJK font subset: glyph outlines (one path per character) made
the HTML three times larger and WeasyPrint twice as slow on chart-heavy reports. The output carries no
date or random id, so the same data always gives the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from edureport.core.figures import decimals_of, fmt_target, printed_value, shown_vs
from edureport.core.fonts import setup_matplotlib
from edureport.core.status import STATUS_COLOURS, STATUS_ORDER, Status

INK, GRID, TARGET, HIGHLIGHT, BAR = "#333333", "#dddddd", "#c62828", "#1565c0", "#9fb7d6"
MAX_BARS = 30
CROWDED_BARS = 12  # above this, names stand upright and only the highlighted bar carries its value


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


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    # Only the <svg> element, for inlining into HTML5: no XML prolog, no RDF metadata, no namespace URLs.
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)


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
    return _svg(fig)


def township_chart(names: Sequence[str], values: Sequence[float | None], *, banner: float | None,
                   target: float | None, unit: str, highlight: str = "", banner_label: str = "全旗",
                   target_label: str = "目标") -> str:
    """One bar per township; the banner figure and the target as lines; one township highlighted."""
    pairs = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
    if len(pairs) > MAX_BARS:  # a big county: the lowest ones and the highlighted one
        keep = sorted(pairs, key=lambda p: p[1])[: MAX_BARS - 1]
        pairs = keep + [p for p in pairs if p[0] == highlight and p not in keep]
    fig, ax = _figure(height=2.6)
    xs = list(range(len(pairs)))
    colours = [HIGHLIGHT if n == highlight else BAR for n, _ in pairs]
    ax.bar(xs, [v for _, v in pairs], color=colours, width=0.6)
    crowded = len(pairs) > CROWDED_BARS  # value labels would overlap: label only the highlighted bar
    for x, (name, v) in zip(xs, pairs, strict=True):
        if not crowded or name == highlight:
            ax.text(x, v, _fmt(v, unit, target), ha="center", va="bottom", fontsize=7.5, color=INK)
    if banner is not None:
        ax.axhline(banner, color=INK, linestyle=":", linewidth=1, label=f"{banner_label} {_fmt(banner, unit, target)}")
    if target is not None:
        ax.axhline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    if pairs and min(v for _, v in pairs) >= 0 and (banner or 0) >= 0 and (target or 0) >= 0:
        # no negative axis under counts and ratios; all zeros (no incident anywhere) still shows a 0–1 scale
        if max([v for _, v in pairs] + [banner or 0, target or 0]) > 0:
            ax.set_ylim(bottom=0)
        else:
            ax.set_ylim(0, 1)
            ax.set_yticks([0, 1])
    rotation = 0 if len(pairs) <= 8 else (90 if crowded else 45)
    ax.set_xticks(xs, [n for n, _ in pairs], fontsize=6.5 if crowded else 8, rotation=rotation)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


def distribution_chart(values: Sequence[float | None], *, mine: float, name: str, banner: float | None,
                       target: float | None, unit: str, count_label: str, banner_label: str = "全旗",
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
    ax.axvline(mine, color=HIGHLIGHT, linewidth=1.4, label=f"{name} {_fmt(mine, unit, target)}")
    if banner is not None:
        ax.axvline(banner, color=INK, linestyle=":", linewidth=1, label=f"{banner_label} {_fmt(banner, unit, target)}")
    if target is not None:
        ax.axvline(target, color=TARGET, linestyle="--", linewidth=1.1, label=f"{target_label} {_target(target, unit)}")
    ax.set_xticks(edges, [_edge(e, unit) for e in edges], fontsize=7.5)
    ax.set_xlim(edges[0], edges[-1])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_ylabel(count_label, fontsize=8, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


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
