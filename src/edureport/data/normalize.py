"""Tolerant parsing of what Chinese Excel users type: ４０, 40％, 1,234, 2023年6月, Excel serial dates;
and the rules for names and free text (``name_problem``, ``free_text_problem``).

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

from edureport.core.csvsafe import TRIGGERS
from edureport.core.errors import INVISIBLE

EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_NUMBER = 1e15
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?)?(?:[ T].*)?$")
_PERIOD_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Names of townships and schools, and codes, reach file names, chart labels, CSV files and Excel forms:
# no invisible characters (controls, zero-width and direction marks, line/paragraph separators), no "/"
# (a name with path parts), no leading formula character (OWASP CSV injection: = + - @), at most NAME_MAX
# characters. A backslash is allowed: "$\\sqrt{2}$" is data like any other, and no file name ever holds
# a name's backslash or slash (``report.kinds.name_stem`` replaces both).
# The longest name in the demo registry has 12 characters (乌兰陶勒盖镇蒙古族幼儿园); 50 leaves room, and
# 50 Chinese characters (150 UTF-8 bytes) still make a readable report file name (``report.kinds.name_stem``).
# Free text allows 500: the demo's longest 活动名称 has 24 characters.
NAME_MAX = 50
NAME_INVISIBLE = INVISIBLE  # Unicode general categories: what messages show escaped, names may not hold
FORMULA_START = TRIGGERS[:4]  # = + - @ (tab and CR are invisible characters, refused anyway)
# Free text (活动名称, 备注): tab and line breaks are allowed; other C0 controls, DEL and C1 controls are
# not (a NUL or an escape sequence is never typed on purpose, and a terminal would act on it).
FREE_TEXT_MAX = 500
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
    """Names and free text: surrounding spaces removed, characters kept (（东校区） stays full-width) but
    composed (NFC), so the same name typed as "Ö" or as "O" + combining diaeresis is one name."""
    def strip(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        return unicodedata.normalize("NFC", str(value)).strip().strip("\u3000")

    return _map_unique(series, strip, missing="")


def explain(series: pd.Series, rule: Callable[[str], str | None]) -> pd.Series:
    """``rule`` of each distinct non-blank cell (as text): why it is refused, or None."""
    return _map_unique(series, lambda v: rule(str(v)), missing=None)


def _codes(chars: set[str]) -> str:
    return "、".join(f"U+{ord(c):04X}" for c in sorted(chars)[:3]) + ("等" if len(chars) > 3 else "")


def name_problem(value: str) -> str | None:
    """Why a township/school name or a code cannot be used, or None (see the constants above)."""
    why = []
    invisible = {c for c in value if unicodedata.category(c) in NAME_INVISIBLE}
    if invisible:
        why.append(f"含有控制字符或不可见字符（{_codes(invisible)}），名称中不能有制表符、换行或零宽字符")
    if "/" in value:
        why.append("不能含有“/”（名称不能带路径）")
    if value.startswith(FORMULA_START):
        why.append(f"不能以 {' '.join(FORMULA_START)} 开头（Excel 会把它当作公式）")
    if len(value) > NAME_MAX:
        why.append(f"过长（{len(value)}个字符），最多{NAME_MAX}个字符")
    return "；".join(why) or None


def free_text_problem(value: str) -> str | None:
    """Why a free-text cell (活动名称, 备注) cannot be used, or None."""
    why = []
    controls = set(_TEXT_CONTROL.findall(value))
    if controls:
        why.append(f"含有控制字符（{_codes(controls)}），文字中只允许制表符和换行")
    if len(value) > FREE_TEXT_MAX:
        why.append(f"过长（{len(value)}个字符），最多{FREE_TEXT_MAX}个字符")
    return "；".join(why) or None


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
    """Numbers from numbers-as-text, full-width digits, "40%"/"40％" (→ 40) and thousands separators.
    Not numbers: "inf", "Infinity", "1e309" and anything past ±10¹⁵ (no count, ratio part or budget
    here comes near it; an infinite value used to pass and then break every report)."""
    blank = is_blank(series)
    fast = pd.to_numeric(series, errors="coerce")
    todo = fast.isna() & ~blank
    if todo.any():
        fast = fast.astype(float)
        fast[todo] = _map_unique(series[todo], _number).astype(float)
    fast = fast.astype(float)
    fast = fast.where(~(fast.abs() > MAX_NUMBER))  # inf too
    bad = (fast.isna() & ~blank).astype(bool)
    return fast, bad


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
