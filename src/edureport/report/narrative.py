"""Chinese sentences generated from computed results — never from anything else.

Each sentence states the figure, the target and the status, in the register of a bureau's report:
"截至2023年12月31日，全旗党员教师占比45.3%，超过40%的年度目标，已达标。" The words come from each
indicator kind's sentence table (``kinds/<kind>.py``), checked against a truth table in
tests/test_wording.py.
"""

from __future__ import annotations

import datetime as dt

from edureport.core.status import Status, counted_through
from edureport.kinds import get_kind
from edureport.kinds.wording import VERDICT
from edureport.metrics.compute import IndicatorResult
from edureport.plan.model import Plan, Task

__all__ = ["VERDICT", "counted_cn", "data_line", "data_month_cn", "date_cn", "indicator_sentence", "summary_sentence", "task_paragraph"]


def date_cn(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def counted_day(plan: Plan, as_of: dt.date) -> dt.date:
    """The day the figures count to: the end of the last month counted, and never past the plan year
    (its data end there)."""
    return min(counted_through(as_of), plan.end)


def counted_cn(plan: Plan, as_of: dt.date) -> str:
    """The date a report's sentences start with ("截至2023年2月28日，…"), or, before the plan's first
    month has ended, the report's date and that no month counts yet."""
    day = counted_day(plan, as_of)
    return date_cn(day) if day >= plan.start else f"{date_cn(as_of)}（尚无已截止月份的指标数据）"


def data_month_cn(plan: Plan, as_of: dt.date) -> str:
    """The last month the figures cover on ``as_of``: "2023年2月" ("" before the plan's first month ends)."""
    end = counted_day(plan, as_of)
    return f"{end.year}年{end.month}月" if end >= plan.start else ""


def data_line(plan: Plan, as_of: dt.date) -> str:
    """What the cover says about the date: the months the figures cover ("指标数据截至2023年2月"), and the
    report's own date where it is not that month's end (data are monthly and count at month end)."""
    month = data_month_cn(plan, as_of)
    text = f"指标数据截至{month}" if month else "尚无已截止月份的指标数据"
    if as_of > plan.end:
        text += f"（报告日期{date_cn(as_of)}，工作要点年度已结束；截至日期不在工作要点年度内）"
    elif as_of < plan.start:
        text += f"（报告日期{date_cn(as_of)}，工作要点年度尚未开始；截至日期不在工作要点年度内）"
    elif counted_day(plan, as_of) != as_of:
        text += f"（报告日期{date_cn(as_of)}，月度数据按月末计入）"
    return text


def region_word(plan: Plan) -> str:
    """全旗 / 全县 / 全区 / 全市: the banner level, the plan's ``region_label`` (by default named after the
    region's last character)."""
    return plan.region_label


def place_name(plan: Plan, r: IndicatorResult) -> str:
    return region_word(plan) if r.level == "banner" else r.entity_name


def indicator_sentence(plan: Plan, r: IndicatorResult) -> str:
    """One sentence per indicator result, from its kind's sentence table."""
    return get_kind(r.kind).sentence(r, place_name(plan, r))


def task_paragraph(plan: Plan, task: Task, results: list[IndicatorResult], as_of: dt.date) -> str:
    """The generated paragraph for one task: a dated lead (the day the figures count to) and one
    sentence per indicator."""
    when = counted_cn(plan, as_of)
    if not results:
        return f"截至{when}，本任务在本级没有适用的量化指标。"
    body = "".join(indicator_sentence(plan, r) for r in results)
    return f"截至{when}，{body}"


def kind_words(kind_names: list[str]) -> str:
    """The kinds' Chinese labels in order of first appearance: "比例", "比例和同比趋势", "比例、同比趋势和建设项目"."""
    labels = list(dict.fromkeys(get_kind(k).label for k in kind_names))
    return "和".join(labels) if len(labels) < 3 else "、".join(labels[:-1]) + "和" + labels[-1]


def summary_sentence(counts: dict[Status, int], what: str = "指标") -> str:
    total = sum(counts.values())
    parts = "，".join(f"{s.value}{n}个" for s, n in counts.items() if n)
    return f"共{total}个{what}，其中{parts}。" if total else f"没有适用的{what}。"
