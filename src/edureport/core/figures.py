"""How figures are written: one rule for every number a reader compares with a target.

A figure printed next to its target must never round across it: 94.96% against "≥95%" printed as
"95.0%" reads as met, and 1,997 of 2,000 people printed as "100%" reads as done. The rule (written out
for readers in docs/indicator-rules.md, "数字的写法"):

- a figure is rounded as usual (whole numbers without decimals, others to one decimal) unless that would
  put it on the target or on the other side of it; then it gets one more decimal, and another, until it
  does not (94.96 against ≥95 → 94.96%, not 95.0%; 40.02 against >40 → 40.02%);
- a figure equal to its target (within 1e-9) is printed as usual;
- a progress line ("按时间进度应达到…") is printed the same way against the target and the printed figure;
- a completion percentage is a whole percent and shows 100% or more only when the target is met: an
  unmet one is at most 99% (1,997 of 2,000 is 99%, not 100%); a met one shows the real ratio (2
  meetings against 1: 200%);
- a difference (差2.3个百分点, 下降0.04个百分点) is never printed as 0 when it is not 0.

HTML, PDF, charts and the command line's ``status`` all format through these functions.
"""

from __future__ import annotations

import math

TOLERANCE = 1e-9
MAX_DECIMALS = 12  # past the 1e-9 tolerance: a figure that differs from its target always can be shown to


def _plain(x: float, decimals: int, unit: str) -> str:
    text = f"{x:,.{decimals}f}"
    return f"{text}{unit}"


def fmt_fixed(x: float, decimals: int, unit: str = "") -> str:
    """``x`` with exactly ``decimals`` decimals (a figure whose decimals another rule chose)."""
    return _plain(x, decimals, unit)


def _usual_decimals(x: float, unit: str) -> int:
    if abs(x - round(x)) < TOLERANCE:
        return 0
    return 1


def fmt_target(x: float | None, unit: str = "") -> str:
    """A target as the plan wrote it (99.95%, 0.05%, 33.333%: up to four decimals); a derived one (a
    banner target shared by 6 townships: 16.666…) to one decimal, or two significant digits below 1
    (1 inspection shared by 44 schools: 0.023)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    for d in range(5):
        if abs(round(x, d) - x) < TOLERANCE:
            return _plain(x, d, unit)
    if abs(x) >= 1:
        return _plain(x, 1, unit)
    return f"{float(f'{x:.2g}'):g}{unit}"


def printed_value(text: str) -> float | None:
    """The number in a printed figure ("1,999.6人次" → 1999.6; "—" → None)."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch in ".-")
    try:
        return float(digits)
    except ValueError:
        return None


def fmt_num(x: float | None, unit: str = "") -> str:
    """A figure as written in Chinese reports: 41.2%, 6个, 1,234人次 (not next to a target)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return _plain(x, _usual_decimals(x, unit), unit)


def shown_vs(x: float, *refs: float | None, unit: str = "", decimals: int = 0) -> tuple[float, int]:
    """The value ``x`` is printed as next to ``refs`` (its target; for a progress line also the printed
    figure), and its number of decimals: the usual rounding, with more decimals until the printed value
    lies on the same side of every reference as ``x`` itself (equal only when ``x`` is equal). A figure
    that is not whole gets at least ``decimals`` (those of its printed target: 92.24% against 92.25%)."""
    # a reference the figure equals (within 1e-9) needs nothing: it prints as usual, like the reference
    marks = [r for r in refs if r is not None and not math.isnan(r) and abs(x - r) > TOLERANCE]
    if unit == "%":  # 99.99% is not "100.0%" (everyone), 0.004% is not "0.0%" (no one)
        marks += [0.0, 100.0]
    usual = _usual_decimals(x, unit)
    for d in range(max(usual, decimals) if usual else 0, MAX_DECIMALS + 1):
        shown = round(x, d)
        if all(side(shown, r) == side(x, r) for r in marks):
            return shown, d
    return x, MAX_DECIMALS


def side(x: float, ref: float) -> int:
    """−1, 0 or +1: ``x`` below, on (within 1e-9) or above ``ref``."""
    return 0 if abs(x - ref) <= TOLERANCE else (1 if x > ref else -1)




def fmt_vs(x: float | None, *refs: float | None, unit: str = "", decimals: int = 0) -> str:
    """``x`` as printed next to its target (and other ``refs``): never rounded onto or across them."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return _plain(*shown_vs(x, *refs, unit=unit, decimals=decimals), unit)


def decimals_of(text: str) -> int:
    """How many decimals a printed figure has ("92.25%" → 2)."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    return len(digits.split(".")[1]) if "." in digits else 0


def fmt_gap(x: float, unit: str = "", decimals: int = 0) -> str:
    """The size of a difference (差2.3个百分点, 下降0.04个百分点): rounded as usual, with more decimals
    only where it would otherwise print as 0 — never 0 when it is not."""
    size = abs(x)
    if unit == "%":
        unit = "个百分点"
    if size <= TOLERANCE:
        return f"0{unit}"
    usual = _usual_decimals(size, unit)
    for d in range(max(usual, decimals) if usual else 0, MAX_DECIMALS + 1):
        if round(size, d) > 0:
            return _plain(round(size, d), d, unit)
    return _plain(size, MAX_DECIMALS, unit)


def percent(progress: float | None, met: bool) -> int | None:
    """A completion share as a whole percent: ≥ 100 only when the target is met (then the real ratio,
    e.g. 200), otherwise at most 99."""
    if progress is None or math.isnan(progress):
        return None
    whole = math.floor(progress * 100 + 0.5)  # 四舍五入: 12.5 → 13 (Python's round gives 12)
    return max(whole, 100) if met and progress >= 1 - 1e-9 else min(99, whole)
