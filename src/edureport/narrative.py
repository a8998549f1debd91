"""Chinese sentences generated from computed results — never from anything else.

Each sentence states the figure, the target and the status, in the register of a bureau's report:
"截至2023年12月31日，全旗党员教师占比45.3%，超过40%的年度目标，已达标。"
"""

from __future__ import annotations

import datetime as dt

from .kinds.base import fmt_num
from .metrics import IndicatorResult
from .plan import Plan, Task
from .status import Status

VERDICT = {Status.DONE: "已达标", Status.ON_TRACK: "进展正常", Status.LAGGING: "进度滞后",
           Status.MISSED: "未完成年度目标", Status.NO_DATA: "暂无数据"}


def date_cn(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def region_word(plan: Plan) -> str:
    """全旗 / 全县 / 全区 / 全市: the banner level named after the region's last character."""
    return f"全{plan.region[-1]}" if plan.region else "全域"


def place_name(plan: Plan, r: IndicatorResult) -> str:
    return region_word(plan) if r.level == "banner" else r.entity_name


def indicator_sentence(plan: Plan, r: IndicatorResult) -> str:
    """One sentence per indicator result, by kind."""
    place = place_name(plan, r)
    if r.status is Status.NO_DATA:
        return f"{place}{r.name}暂无可用数据（{r.detail}）。" if r.detail else f"{place}{r.name}暂无可用数据。"
    if r.kind == "milestone":
        if r.status is Status.DONE:
            return f"{r.name}：{r.detail}。"
        due = f"{r.due.month}月{r.due.day}日"
        if r.status in (Status.LAGGING, Status.MISSED):
            return f"{r.name}：{r.detail}，已超过{due}的完成时限，{VERDICT[r.status]}。"
        return f"{r.name}：{r.detail}，完成时限为{due}，{VERDICT[r.status]}。"
    if r.kind == "project":
        return f"{r.name}：{r.detail}，目标为{r.target_text}，{VERDICT[r.status]}。"
    if r.kind == "trend":
        base = fmt_num(r.baseline, r.unit)
        diff = (r.actual or 0) - (r.baseline or 0)
        move = "下降" if diff < 0 else "上升" if diff > 0 else "持平"
        gap = f"{abs(diff):.1f}个百分点" if r.unit == "%" else fmt_num(abs(diff), r.unit)
        return (f"{place}{r.name}{r.actual_text}，比上年（{base}）{move}"
                f"{gap if move != '持平' else ''}，目标为{r.target_text.split('（')[0]}，{VERDICT[r.status]}。")
    target = fmt_num(r.target, r.unit)
    actual = r.actual_text
    if r.target_text.startswith("≤"):
        if r.status is Status.MISSED:
            return f"{place}{r.name}{actual}，未实现不超过{target}的目标。"
        return f"{place}{r.name}{actual}，控制在{target}以内，{VERDICT[r.status]}。"
    compare = "超过" if (r.actual or 0) > (r.target or 0) else "达到" if r.status is Status.DONE else "低于"
    extra = ""
    if r.status in (Status.LAGGING, Status.ON_TRACK) and r.expected is not None:
        extra = f"，按时间进度应达到{fmt_num(r.expected, r.unit)}"
    elif r.status is Status.MISSED and r.actual is not None and r.target is not None and r.unit == "%":
        extra = f"，差{r.target - r.actual:.1f}个百分点"
    detail = f"（{r.detail}）" if r.kind == "ratio" and r.detail else ""
    return f"{place}{r.name}{actual}{detail}，{compare}{target}的年度目标{extra}，{VERDICT[r.status]}。"


def task_paragraph(plan: Plan, task: Task, results: list[IndicatorResult], as_of: dt.date) -> str:
    """The generated paragraph for one task: a dated lead and one sentence per indicator."""
    if not results:
        return f"截至{date_cn(as_of)}，本任务在本级没有适用的量化指标。"
    body = "".join(indicator_sentence(plan, r) for r in results)
    return f"截至{date_cn(as_of)}，{body}"


def summary_sentence(counts: dict[Status, int], what: str = "指标") -> str:
    total = sum(counts.values())
    parts = "，".join(f"{s.value}{n}个" for s, n in counts.items() if n)
    return f"共{total}个{what}，其中{parts}。" if total else f"没有适用的{what}。"
