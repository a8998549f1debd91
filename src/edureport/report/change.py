"""较上期变化: the part every report kind shows about the change since the previous report, and the change
column of the indicator tables. The figures come from ``metrics/change.py``; this module only words them.

Words follow the record, never the arrow alone: the arrow (↑/↓) is the direction of the value, and
"向好"/"变差" (green/red) whether that direction is the one the target wants (a rise of an upper-limited
figure is 变差). tests/test_change.py checks the sentences over kind × comparison × status change.
"""

from __future__ import annotations

from edureport.core.figures import fmt_gap
from edureport.core.status import STATUS_COLOURS, Status
from edureport.metrics.change import (
    Change,
    changes,
    largest_moves,
    stage_changes,
    status_moves,
    year_on_year,
)
from edureport.metrics.compute import IndicatorResult
from edureport.report.context import ReportContext
from edureport.report.htmlkit import Block, esc, heading, join, paragraph
from edureport.report.narrative import counted_cn, counted_day

BETTER, WORSE, SAME = "向好", "变差", "持平"
COLOURS = {True: STATUS_COLOURS[Status.DONE], False: STATUS_COLOURS[Status.MISSED], None: "#555555"}
LEGEND = "指标表中“较上期”一列：↑、↓为数值的升降及差值，绿色为向好、红色为变差（“≤”“＜”“低于基期”类指标数值下降为向好）；“—”为上期或本期无数据。"
MOVES_SHOWN = 5  # the largest moves in value listed
# The group a status change is listed under, by new status (and whether it is a move up).
NEW_STATUS_WORDS = {Status.DONE: "新达标", Status.ON_TRACK: "转为进展正常", Status.LAGGING: "新滞后",
                    Status.MISSED: "新未达标", Status.NO_DATA: "转为无数据"}


def gap_text(c: Change) -> str:
    """The size of the move: the difference of the figures as printed (``Change.printed``), in 个百分点
    for a percentage."""
    return fmt_gap(c.printed()[2], c.unit, c.printed()[3])


def verb(c: Change, to: bool = False) -> str:
    """The move's verb: 上升/下降 (``to``: 升至/降至) for rates, 增加/减少 (增至/减至) for counts; "" when
    unchanged or not comparable."""
    if not c.direction:
        return ""
    up = c.direction > 0
    if c.unit == "%":
        return ("升至" if up else "降至") if to else ("上升" if up else "下降")
    return ("增至" if up else "减至") if to else ("增加" if up else "减少")


def judgement(c: Change) -> str:
    """向好 / 变差 from the target's comparison (``Change.better``); "" when neither."""
    return {True: BETTER, False: WORSE, None: ""}[c.better]


def change_cell_text(c: Change | None) -> str:
    """The change column's words: ↑/↓ and the difference; 持平; "—" when either side has no value."""
    if c is None or c.direction is None:
        return "—"
    if c.direction == 0:
        return SAME
    if not c.numeric and not any(ch.isdigit() for ch in c.old_text + c.new_text):
        return f"{c.old_text}→{c.new_text}"  # 未完成→已完成
    arrow = "↑" if c.direction > 0 else "↓"
    _, _, gap, decimals = c.printed()
    return arrow + fmt_gap(gap, c.unit if c.numeric else "", decimals)


def change_cell(c: Change | None) -> str:
    """The change column's HTML: green when the move is 向好, red when 变差 (words in the title too)."""
    text = change_cell_text(c)
    if c is None or not c.direction:
        return esc(text)
    word = judgement(c)
    title = f' title="{word}"' if word else ""
    return f'<span class="change" style="color:{COLOURS[c.better]};white-space:nowrap"{title}>{esc(text)}</span>'


def move_sentence(c: Change) -> str:
    """"党员教师占比由38.9%升至40.2%，上升1.3个百分点，向好。" — the value's move and what it means."""
    if c.direction is None:
        return f"{c.name}{c.new_text}（上期无数据）。"
    if c.direction == 0:
        return f"{c.name}{c.new_text}，与上期持平。"
    if not c.numeric and not any(ch.isdigit() for ch in c.old_text + c.new_text):
        text = f"{c.name}由{c.old_text}变为{c.new_text}"
    else:
        old, new, _, _ = c.printed()
        text = f"{c.name}由{old}{verb(c, to=True)}{new}，{verb(c)}{gap_text(c)}"
    word = judgement(c)
    return text + (f"，{word}。" if word else "。")


def status_phrase(c: Change) -> str:
    """"由进展正常转为达标" ("" when the status did not change)."""
    return f"由{c.old_status.value}转为{c.new_status.value}" if c.status_changed else ""  # type: ignore[union-attr]


def change_sentence(c: Change) -> str:
    """One indicator's whole change: the value's move and, where it changed, the status."""
    moved = move_sentence(c).removesuffix("。")
    phrase = status_phrase(c)
    return f"{moved}，{phrase}。" if phrase else f"{moved}。"


def status_groups(records: list[Change]) -> list[tuple[str, list[Change]]]:
    """Status changes grouped by (old, new) status, better moves first: ("新达标（由进展正常转为达标）", […])."""
    groups: dict[tuple[Status, Status], list[Change]] = {}
    for c in status_moves(records):
        groups.setdefault((c.old_status, c.new_status), []).append(c)  # type: ignore[arg-type]
    return [(f"{NEW_STATUS_WORDS[new]}（由{old.value}转为{new.value}）", items) for (old, new), items in groups.items()]


def status_summary_sentence(records: list[Change], before: str) -> str:
    """"与上期（2023年6月30日）相比，5项指标的状态发生变化（好转4项、变差1项）：" """
    moved = [c for c in records if c.status_changed]
    if not moved:
        return f"与{before}相比，各项指标的状态没有变化。"
    up = sum(c.status_better is True for c in moved)
    down = sum(c.status_better is False for c in moved)
    parts = [p for p in (f"好转{up}项" if up else "", f"变差{down}项" if down else "",
                         f"另有{len(moved) - up - down}项涉及无数据" if len(moved) - up - down else "") if p]
    return f"与{before}相比，{len(moved)}项指标的状态发生变化（{'、'.join(parts)}）："


def _list(items: list[str]) -> Block:
    return Block('<ul class="plain change">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>")


def _coloured(text: str, better: bool | None) -> str:
    return f'<span style="color:{COLOURS[better]}">{esc(text)}</span>' if better is not None else esc(text)


def scope_results(ctx: ReportContext) -> tuple[list[IndicatorResult], list[IndicatorResult] | None]:
    """The report's own results (its township, else the banner; its section's indicators where it has one)
    and the same at the previous date (None: nothing had counted then)."""
    level, entity = ("township", ctx.township) if ctx.township else ("banner", "")
    indicators = ctx.plan.indicators_in(ctx.section) if ctx.section else None
    return (ctx.results(level, entity, indicators),
            ctx.previous_results(level, entity, indicators))


def change_records(ctx: ReportContext, results: list[IndicatorResult]) -> dict[str, Change]:
    """Change records by indicator id for ``results`` (their place), for the tables' change column."""
    if not results:
        return {}
    first = results[0]
    previous = ctx.previous_results(first.level, first.entity) if first.level in ("banner", "township") \
        else ctx.previous_results(first.level, first.entity, [ctx.plan.indicator(r.indicator_id) for r in results])
    return {c.indicator_id: c for c in changes(previous, results)}


def change_part(ctx: ReportContext, results: list[IndicatorResult] | None = None, *,
                baseline_year: bool = False, projects: list[str] | None = None) -> Block:
    """较上期变化: status changes (grouped, named), the largest moves in value, projects that changed stage;
    with ``baseline_year`` (the year-end review) also the change against the baseline year. ``results``:
    the report's own results where they are not its township's or its section's (e.g. a department's
    indicators); its projects are then those of the results' tasks, or ``projects`` (a school's own)."""
    now, before_results = scope_results(ctx)
    if results is not None:
        now = results
        if before_results is not None:  # the same indicators at the previous date (none: none)
            before_results = ctx.previous_results(results[0].level, results[0].entity,
                                                  [ctx.plan.indicator(r.indicator_id) for r in results]) if results else []
    tasks = ({r.task for r in now} if results is not None
             else {t.id for t in (ctx.plan.tasks_in(ctx.section) if ctx.section else ctx.plan.tasks)})
    yoy = _year_on_year(ctx, now) if baseline_year else []
    blocks = [heading(3, "较上期变化")]
    if before_results is None:
        blocks.append(paragraph(f"{_day_cn(ctx)}及以前尚无指标数据，本期是第一期，不作较上期比较。"))
        return join(blocks + yoy)
    if before_results and all(r.status == Status.NO_DATA for r in before_results) \
            and any(r.status != Status.NO_DATA for r in now):  # this report's own figures start now
        blocks.append(paragraph(f"{_day_cn(ctx)}及以前这些指标尚无数据，本期是第一期，不作较上期比较。"))
        return join(blocks + yoy)
    if counted_day(ctx.plan, ctx.previous_date) >= ctx.counted:
        blocks.append(paragraph(f"比较日期（{_day_cn(ctx)}）与截至日期计入的是同一月份的数据，各项指标与上期相同。"))
        return join(blocks + yoy)
    records = changes(before_results, now)
    before = f"上期（{counted_cn(ctx.plan, ctx.previous_date)}）"
    blocks.append(paragraph(f"截至{ctx.when}，" + status_summary_sentence(records, before)))
    groups = status_groups(records)
    if groups:
        blocks.append(_list([f"{_coloured(label, items[0].status_better)}：{esc('、'.join(c.name for c in items))}。"
                             for label, items in groups]))
    moves = largest_moves(records, MOVES_SHOWN)
    if moves:
        blocks.append(paragraph(f"数值变化较大的{len(moves)}项指标（按变化幅度占目标的比例排列）："))
        blocks.append(_list([_coloured(move_sentence(c), c.better) for c in moves]))
    elif not any(c.direction for c in records):
        blocks.append(paragraph("各项指标的数值与上期相同。"))
    blocks += _stages(ctx, projects if projects is not None else [p.id for p in ctx.plan.projects if p.task in tasks])
    return join(blocks + yoy + [paragraph(LEGEND, "note")])


def _day_cn(ctx: ReportContext) -> str:
    d = ctx.previous_date
    return f"{d.year}年{d.month}月{d.day}日"


def _stages(ctx: ReportContext, ids: list[str]) -> list[Block]:
    if not ids:
        return []
    moved = stage_changes(ctx.data, ids, ctx.previous_date, ctx.as_of, ctx.township)
    if not moved:
        return [paragraph("建设项目的阶段与上期相同。")]
    items = [f"{s.name}（{s.place}）由{s.old_stage}进入{s.new_stage}。" for s in moved]
    return [paragraph(f"{len(moved)}个建设项目的阶段发生变化："), _list([esc(i) for i in items])]


def _year_on_year(ctx: ReportContext, results: list[IndicatorResult]) -> list[Block]:
    """The change against the baseline year (baselines.csv) for the indicators that name one."""
    records = year_on_year(ctx.data, results, ctx.as_of)
    if not records:
        return []
    items = []
    for c in records:
        year = ctx.plan.indicator(c.indicator_id).baseline_year
        items.append(_coloured(yoy_sentence(c, "上年" if year == ctx.plan.year - 1 else f"{year}年"), c.better))
    return [paragraph("与基期年相比（同一范围的单位）："), _list(items)]


def yoy_sentence(c: Change, year: str = "上年") -> str:
    """"学生近视率32.1%，比上年（32.5%）下降0.4个百分点，向好。" """
    if not c.direction:
        return f"{c.name}{c.new_text}，与{year}（{c.old_text}）持平。"
    word = judgement(c)
    old, new, _, _ = c.printed()
    return f"{c.name}{new}，比{year}（{old}）{verb(c)}{gap_text(c)}" + (f"，{word}。" if word else "。")
