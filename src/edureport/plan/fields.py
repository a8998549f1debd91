"""What each field of a plan file may hold: one converter per field, refusing with a Chinese reason.

A converter takes the value as YAML read it and returns the typed value, or raises ``ValueError`` whose
text ends up in the problem list ("类型或取值错误：应为日期（YYYY-MM-DD）"). Rules that relate two fields
(a due date inside the plan year) are in ``plan.load``; rules of one indicator kind are in ``kinds/``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from edureport.kinds import KINDS
from edureport.plan.model import COMPARISONS, LEVELS, OVER_TIME, PROJECT_GOALS, PROJECT_STAGES
from edureport.plan.yamlfile import BIDI_CONTROLS

# Text limits, from params/plan-2023.yaml: the longest task text is 513 characters, the longest section
# title 33, the longest name of anything else 23. A 300-character title breaks the report's headings
# and tables, so titles stop at 200; codes stay short enough for a spreadsheet column.
LONG_TEXT = 5000   # task text, source, note: the bureau's own paragraphs, line breaks allowed
TITLE = 200        # titles and names of the plan, sections, tasks, indicators, projects
NAME = 100         # everything else: issuer, region, lead, unit, school and township names, numerator …
CODE = 32          # indicator and project codes
LABEL = 10         # the plan's words: township_label, region_label, department_label
YEARS = (1900, 2100)
MAX_TASK_ID = 9999
_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def check_text(v: Any, limit: int = NAME, *, multiline: bool = False) -> str:
    """A text field: NFC-normalised and stripped; refuses structures, yes/no, control characters, length."""
    if isinstance(v, (dict, list, set, tuple, bytes)) or v is None:
        raise ValueError("应为文字")
    if isinstance(v, bool):
        raise ValueError("应为文字（yes/no/true/false/on/off 等须加引号）")
    s = unicodedata.normalize("NFC", str(v).strip())
    for ch in s:
        if (ch == "\n" and multiline) or not (unicodedata.category(ch) in ("Cc", "Cs") or ord(ch) in BIDI_CONTROLS):
            continue
        raise ValueError(f"含有控制字符或无效字符（U+{ord(ch):04X}）" if ch != "\n" else "不能换行")
    if len(s) > limit:
        raise ValueError(f"过长（{len(s):,} 字，最多 {limit:,} 字）")
    return s


def _text(limit: int, *, multiline: bool = False) -> Callable[[Any], str]:
    return lambda v: check_text(v, limit, multiline=multiline)


_str = _text(NAME)


def _code(v: Any) -> str:
    s = check_text(v, CODE) if isinstance(v, str) else ""
    if not _CODE_RE.fullmatch(s):
        raise ValueError(f"编号应以英文字母开头，只含字母、数字和 - _ .，不超过 {CODE} 个字符（如 T02-1）")
    return s


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("应为整数")
    return v


def _int_in(lo: int, hi: int) -> Callable[[Any], int]:
    def conv(v: Any) -> int:
        n = _int(v)
        if not lo <= n <= hi:
            raise ValueError(f"应在 {lo}～{hi} 之间")
        return n

    return conv


_task_id = _int_in(1, MAX_TASK_ID)
_year = _int_in(*YEARS)


def _num(v: Any) -> float:
    if isinstance(v, str) and _looks_numeric(v):
        raise ValueError("应为数字（不加引号；YAML 不把 1e5 这样的写法当作数字，请写 100000）")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("应为数字")
    try:
        x = float(v)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError("数值过大") from None
    if not math.isfinite(x):
        raise ValueError("应为有限的数字（不能是 .inf、.nan）")
    return x


def _looks_numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    # Only YYYY-MM-DD: date.fromisoformat would also take 20230626 and 2023-W26-1.
    if isinstance(v, str) and _DATE_RE.fullmatch(v.strip()):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ValueError("应为日期（YYYY-MM-DD）")


def _strs(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise ValueError("应为列表")
    return tuple(_str(x) for x in v)


def _codes(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise ValueError("应为列表")
    return tuple(_code(x) for x in v)


class _Aggregates:
    """Every registered kind's aggregates ("sum", "all", …), read when a plan is checked, so a kind
    registered later (another county's, a test's) brings its own."""

    def __contains__(self, v: object) -> bool:
        return any(v in k.aggregates for k in KINDS)

    def __iter__(self):
        return iter({a for k in KINDS for a in k.aggregates})


def _one_of(allowed: Any) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        s = _str(v)
        if s not in allowed:
            raise ValueError(f"应为以下之一：{'、'.join(sorted(allowed))}")
        return s

    return conv


def _label(v: Any) -> str:
    """One of the plan's words (township_label, region_label, department_label): short, not empty,
    because it stands inside sentences, headers and file texts ("各镇街", "全区", "相关科室")."""
    s = check_text(v, LABEL)
    if not s:
        raise ValueError("不能为空")
    if any(ch in s for ch in "/\\,，、；;:：\"“”'‘’()（）[]【】<>《》=+-@") or any(ch.isspace() for ch in s):
        raise ValueError("应为一个词（如 镇街、全区、科室），不含空格和标点")
    return s


# field: (converter, required)
SPECS: dict[str, dict[str, tuple[Callable[[Any], Any], bool]]] = {
    "plan": {"title": (_text(TITLE), True), "year": (_year, True), "issuer": (_str, True),
             "region": (_str, True), "start": (_date, False), "end": (_date, False),
             "source": (_text(LONG_TEXT, multiline=True), False), "township_label": (_label, False),
             "region_label": (_label, False), "department_label": (_label, False), "schema_version": (_int, False),
             "submission_deadline_day": (_int_in(1, 28), False)},
    "section": {"number": (_str, True), "title": (_text(TITLE), True)},
    "task": {"id": (_task_id, True), "section": (_str, True), "title": (_text(TITLE), True), "lead": (_str, True),
             "text": (_text(LONG_TEXT, multiline=True), True)},
    "project": {"id": (_code, True), "task": (_task_id, True), "name": (_text(TITLE), True),
                "goal": (_one_of(PROJECT_GOALS), True), "school": (_str, False), "township": (_str, False)},
    "indicator": {
        "id": (_code, True), "task": (_task_id, True), "name": (_text(TITLE), True), "kind": (_str, True),
        "level": (_one_of(LEVELS), True), "due": (_date, False), "unit": (_str, False),
        "comparison": (_one_of(COMPARISONS), False), "target": (_num, False),
        "aggregate": (_one_of(_Aggregates()), False), "over_time": (_one_of(OVER_TIME), False),
        "numerator": (_str, False), "denominator": (_str, False), "stages": (_strs, False),
        "entities": (_strs, False), "period_from": (_date, False), "projects": (_codes, False),
        "target_stage": (_one_of(PROJECT_STAGES), False), "baseline_year": (_year, False),
        "source": (_text(LONG_TEXT, multiline=True), False), "note": (_text(LONG_TEXT, multiline=True), False),
    },
}
LABELS = {"plan": "工作要点", "section": "部分", "task": "任务", "project": "项目", "indicator": "指标"}
