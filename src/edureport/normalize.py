"""Tolerant parsing of what Chinese Excel users type: ４０, 40％, 1,234, 2023年6月, Excel serial dates.

Every parser takes a column and returns (parsed values, mask of cells that could not be parsed).
Parsing works on the *distinct* values of a column and maps back, so a ten-million-row table with a
few hundred distinct periods costs a few hundred parses, not ten million.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

EXCEL_EPOCH = dt.date(1899, 12, 30)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?)?(?:[ T].*)?$")
_PERIOD_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
TRUE_WORDS = {"1", "是", "已完成", "完成", "√", "y", "yes", "true"}
FALSE_WORDS = {"0", "否", "未完成", "×", "n", "no", "false"}


def is_blank(series: pd.Series) -> pd.Series:
    """Empty cells, whitespace-only cells and NaN/None all count as blank."""
    return _map_unique(series, lambda v: str(v).strip() == "", missing=True).astype(bool)


def text(value: Any) -> str:
    """A cell as clean text: full-width digits/letters folded (NFKC), surrounding spaces removed."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def clean_text(series: pd.Series) -> pd.Series:
    """Identifier-like text (codes, names): NFKC-folded and stripped, blanks (and NaN/None) as ""."""
    return _map_unique(series, text, missing="")


def plain_text(series: pd.Series) -> pd.Series:
    """Names and free text: surrounding spaces removed, characters kept (（东校区） stays full-width)."""
    def strip(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        return str(value).strip().strip("\u3000")

    return _map_unique(series, strip, missing="")


def lookup(series: pd.Series, mapping: Mapping[Any, Any]) -> pd.Series:
    """``series.map(mapping)`` (NaN where a key is unknown) as one object column sharing the mapped
    values, computed once per distinct key."""
    return _map_unique(series, lambda k: mapping.get(k, np.nan))


def _map_unique(series: pd.Series, func: Callable[[Any], Any], missing: Any = np.nan) -> pd.Series:
    """``func`` of each distinct value, spread back over the rows (``missing`` where a cell is NaN/None).

    ``factorize`` keeps the column's own (Arrow) storage: no Python string is made per row, which at
    ten million rows was most of validation's memory.
    """
    codes, uniques = pd.factorize(series)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [func(u) for u in uniques]
    mapped[-1] = missing  # code -1
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    s = text(value).replace(" ", "")
    if s.endswith("%"):
        s = s[:-1]
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    try:
        return float(s)
    except ValueError:
        return None


def parse_number(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from numbers-as-text, full-width digits, "40%"/"40％" (→ 40) and thousands separators."""
    blank = is_blank(series)
    fast = pd.to_numeric(series, errors="coerce")
    todo = fast.isna() & ~blank
    if todo.any():
        fast = fast.astype(float)
        fast[todo] = _map_unique(series[todo], _number).astype(float)
    bad = (fast.isna() & ~blank).astype(bool)
    return fast.astype(float), bad


def _serial_to_date(n: float) -> dt.date | None:
    if 20000 <= n <= 80000 and float(n).is_integer():
        return EXCEL_EPOCH + dt.timedelta(days=int(n))
    return None


def _period(value: Any) -> str | None:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        d = _serial_to_date(float(value))
        return f"{d.year:04d}-{d.month:02d}" if d else None
    s = text(value)
    m = _PERIOD.match(s) or _PERIOD_COMPACT.match(s)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    if s.isdigit():
        return _period(int(s))
    return None


def parse_period(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Months as "YYYY-MM" from 2023-06, 2023/6, 2023年6月, 202306, a date, or an Excel serial date."""
    parsed = _map_unique(series, _period)
    bad = (parsed.isna() & ~is_blank(series)).astype(bool)
    return parsed.astype(object), bad


def _date(value: Any) -> pd.Timestamp | None:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Timestamp(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        d = _serial_to_date(float(value))
        return pd.Timestamp(d) if d else None
    s = text(value)
    m = _DATE.match(s) or _DATE_COMPACT.match(s)
    if m:
        try:
            return pd.Timestamp(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return None
    if s.isdigit():
        return _date(int(s))
    return None


def parse_date(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates from ISO text, 2023/6/5, 2023年6月5日, 20230605, Excel serial numbers or date cells."""
    parsed = pd.to_datetime(_map_unique(series, _date), errors="coerce")
    bad = (parsed.isna() & ~is_blank(series)).astype(bool)
    return parsed, bad


def _int(value: Any) -> int | None:
    n = _number(re.sub(r"^(第|任务)|(项|号)$", "", text(value)))
    return int(n) if n is not None and float(n).is_integer() else None


def parse_int(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers; "10", "10.0", "任务10", "第10项" all give 10."""
    parsed = _map_unique(series, _int)
    bad = (parsed.isna() & ~is_blank(series)).astype(bool)
    return parsed.astype("Int64"), bad


def parse_flag(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Done/not-done cells: 1/0, 是/否, 已完成/未完成, √/×."""
    def flag(v: Any) -> float | None:
        s = text(v).lower()
        return 1.0 if s in TRUE_WORDS else 0.0 if s in FALSE_WORDS else None

    parsed = _map_unique(series, flag).astype(float)
    bad = (parsed.isna() & ~is_blank(series)).astype(bool)
    return parsed, bad
