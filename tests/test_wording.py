"""Every generated sentence and progress cell against a truth table: kind × comparison × status.

The table below is written by hand from what the sentence must say: the words that must appear (the true
relation of the figure to its target, the verdict) and the words that must not (the opposite relation,
another verdict, a figure rounded across its target). A case per kind × comparison × status that can
occur; IMPOSSIBLE names the ones that cannot, with the reason, and a test checks the table is complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from edureport.core.figures import fmt_gap, fmt_vs, percent
from edureport.core.status import Status
from edureport.kinds import KINDS, get_kind
from edureport.metrics.compute import IndicatorResult
from edureport.plan.load import load_plan
from edureport.report.htmlkit import progress_bar
from edureport.report.narrative import indicator_sentence

from .conftest import MINI

D, ON, L, M, N = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED, Status.NO_DATA
VERDICTS = {D: "已达标", ON: "进展正常", L: "进度滞后", M: "未完成年度目标", N: "暂无可用数据"}
UNIT = {"count": "场", "ratio": "%", "milestone": "", "project": "个", "trend": "%"}
DUE = dt.date(2024, 3, 31)


def result(kind: str, op: str, status: Status, actual, target, *, expected=None, progress=None, agg: str = "sum",
           baseline=None, overdue: bool = False, detail: str = "", due: dt.date = DUE, level: str = "banner",
           entity_name: str = "示例县") -> IndicatorResult:
    r = IndicatorResult(
        indicator_id="X1", section="一", task=1, name="样例指标", kind=kind, unit=UNIT[kind], comparison=op,
        aggregate=agg, level=level, entity="", entity_name=entity_name, target=target,
        target_text=get_kind(kind).target_text(_indicator(kind, op, target, agg, due)), actual=actual,
        actual_text="", progress=progress, progress_text="", status=status, expected=expected, baseline=baseline,
        detail=detail, due=due, overdue=overdue)
    kind_ = get_kind(kind)
    return dataclasses.replace(r, actual_text=kind_.actual_text(r), progress_text=kind_.progress_text(r))


def _indicator(kind, op, target, agg, due):
    from edureport.plan.model import Indicator

    return Indicator(id="X1", task=1, name="样例指标", kind=kind, level="banner", due=due, comparison=op,
                     target=target if kind not in ("milestone", "trend") else None, unit=UNIT[kind], aggregate=agg,
                     projects=("Q1", "Q2", "Q3"), target_stage="投用", baseline_year=2023)


# (kind, comparison, status, result arguments, words that must appear, words that must not appear)
CASES = [
    # ---- count: ≥ ------------------------------------------------------------------------------------
    ("count", ">=", D, dict(actual=8, target=8, progress=1.0), ["8场", "达到8场的年度目标"], ["超过", "低于", "完成目标的"]),
    ("count", ">=", D, dict(actual=16, target=8, progress=2.0), ["16场", "超过8场的年度目标"], ["低于"]),
    ("count", ">=", ON, dict(actual=5, target=8, expected=4, progress=5 / 8),
     ["低于8场的年度目标", "按时间进度应达到4场"], ["达到8场的年度目标", "超过"]),
    ("count", ">=", L, dict(actual=3, target=8, expected=4, progress=3 / 8), ["低于8场", "应达到4场"], ["达到8场的"]),
    ("count", ">=", M, dict(actual=6, target=8, progress=6 / 8), ["低于8场"], ["达到8场的", "超过"]),
    ("count", ">=", M, dict(actual=1999.6, target=2000, progress=0.9998), ["1,999.6场", "低于2,000场"], ["2,000.0"]),
    # ---- count: > --------------------------------------------------------------------------------------
    ("count", ">", D, dict(actual=9, target=8, progress=9 / 8), ["超过8场的年度目标"], ["未超过", "低于"]),
    ("count", ">", ON, dict(actual=8, target=8, expected=6, progress=1.0), ["与8场持平，未超过年度目标"], ["超过8场的"]),
    ("count", ">", L, dict(actual=3, target=8, expected=4, progress=3 / 8), ["低于8场，未超过年度目标"], ["超过8场的"]),
    ("count", ">", M, dict(actual=8, target=8, progress=1.0), ["未超过年度目标"], ["差0", "超过8场的"]),
    ("count", ">", M, dict(actual=7, target=8, progress=7 / 8), ["低于8场，未超过"], ["超过8场的"]),
    # ---- count: ≤ (a running total under a ceiling, or a stock brought down) -------------------------------
    ("count", "<=", D, dict(actual=0, target=0), ["控制在0场以内"], ["超过"]),
    ("count", "<=", ON, dict(actual=0, target=0), ["控制在0场以内", "完成时限为3月31日"], ["超过"]),
    ("count", "<=", ON, dict(actual=5, target=3, expected=6), ["超过3场的上限", "按时间进度应不高于6场"], ["控制在", "以内"]),
    ("count", "<=", L, dict(actual=5, target=3, expected=4), ["超过3场的上限", "按时间进度应不高于4场"], ["控制在", "以内"]),
    ("count", "<=", M, dict(actual=2, target=0), ["超过0场的上限"], ["控制在", "以内"]),
    # ---- count: < ----------------------------------------------------------------------------------------
    ("count", "<", D, dict(actual=0, target=1), ["低于1场的上限"], ["达到", "超过"]),
    ("count", "<", ON, dict(actual=0, target=1), ["低于1场的上限"], ["达到", "超过"]),
    ("count", "<", L, dict(actual=3, target=1, expected=2), ["超过1场的上限", "应不高于2场"], ["达到", "低于1场"]),
    ("count", "<", M, dict(actual=1, target=1), ["等于1场，未低于上限"], ["达到", "低于1场的上限"]),
    # ---- count: = ----------------------------------------------------------------------------------------
    ("count", "==", D, dict(actual=4, target=4, progress=1.0), ["等于4场的目标"], ["超过", "低于"]),
    ("count", "==", ON, dict(actual=3, target=4, expected=2, progress=0.75), ["低于4场的目标", "应达到2场"], ["达到4场", "超过"]),
    ("count", "==", L, dict(actual=1, target=4, expected=2, progress=0.25), ["低于4场的目标", "应达到2场"], ["达到4场", "超过"]),
    ("count", "==", L, dict(actual=5, target=4), ["超过4场的目标"], ["达到", "低于", "应达到"]),
    ("count", "==", M, dict(actual=5, target=4), ["超过4场的目标"], ["达到", "低于"]),
    ("count", "==", M, dict(actual=3, target=4, progress=0.75), ["低于4场的目标"], ["达到", "超过"]),
    # a stock (over_time: latest) nobody reported is unknown, not 0
    *[("count", op, N, dict(actual=None, target=5, detail="暂无上报数据"), ["暂无可用数据（暂无上报数据）"], ["0场", "以内"])
      for op in (">=", ">", "<=", "<", "==")],
    # ---- ratio: ≥ (figures never rounded across the target) ------------------------------------------------
    ("ratio", ">=", D, dict(actual=45.26, target=40, progress=45.26 / 40, detail="453/1,000"),
     ["45.3%（453/1,000）", "超过40%的年度目标"], ["低于"]),
    ("ratio", ">=", D, dict(actual=40, target=40, progress=1.0, detail="4/10"), ["40%", "达到40%的年度目标"], ["低于", "超过"]),
    ("ratio", ">=", ON, dict(actual=35, target=40, expected=33.24, progress=35 / 40, detail="35/100"),
     ["低于40%的年度目标", "按时间进度应达到33.2%"], ["达到40%的", "超过"]),
    ("ratio", ">=", ON, dict(actual=34.517, target=40, expected=34.517, progress=0.86, detail="739/2,141"),
     ["34.5%", "按时间进度应达到34.5%"], ["34.52"]),  # the first month: on its own line
    ("ratio", ">=", L, dict(actual=35.17, target=40, expected=35.24, progress=0.88, detail="3,517/10,000"),
     ["35.2%", "按时间进度应达到35.24%"], []),  # the line is not printed as the figure itself
    ("ratio", ">=", L, dict(actual=39.96, target=40, expected=39.98, progress=0.999, detail="3,996/10,000"),
     ["39.96%", "低于40%的年度目标", "应达到39.98%"], ["40.0%", "达到40%的", "超过"]),
    ("ratio", ">=", M, dict(actual=94.96, target=95, progress=94.96 / 95, detail="9,496/10,000"),
     ["94.96%", "低于95%的年度目标", "差0.04个百分点"], ["95.0%", "达到95%的"]),
    # ---- ratio: > ----------------------------------------------------------------------------------------
    ("ratio", ">", D, dict(actual=40.02, target=40, progress=1.0005, detail="4,002/10,000"), ["40.02%", "超过40%的"], ["40.0%"]),
    ("ratio", ">", ON, dict(actual=38, target=40, expected=35, progress=0.95, detail="38/100"), ["低于40%，未超过"], ["超过40%的"]),
    ("ratio", ">", L, dict(actual=30, target=40, expected=35, progress=0.75, detail="30/100"), ["低于40%，未超过"], ["超过40%的"]),
    ("ratio", ">", M, dict(actual=40, target=40, progress=1.0, detail="40/100"), ["与40%持平，未超过"], ["差0", "超过40%的"]),
    # ---- ratio: ≤ / < (the 7.3% against ≤5%) ----------------------------------------------------------
    ("ratio", "<=", D, dict(actual=3, target=5, detail="3/100"), ["控制在5%以内"], ["超过"]),
    ("ratio", "<=", ON, dict(actual=7.3, target=5, expected=7.75, detail="73/1,000"),
     ["7.3%", "超过5%的上限", "按时间进度应不高于7.8%"], ["控制在", "以内"]),
    ("ratio", "<=", L, dict(actual=7.3, target=5, expected=6.8, detail="73/1,000"), ["超过5%的上限", "应不高于6.8%"], ["控制在", "以内"]),
    ("ratio", "<=", M, dict(actual=5.04, target=5, detail="504/10,000"), ["5.04%", "超过5%的上限", "超出0.04个百分点"],
     ["5.0%", "控制在", "以内"]),
    ("ratio", "<", D, dict(actual=4, target=5, detail="4/100"), ["低于5%的上限"], ["超过", "达到"]),
    ("ratio", "<", ON, dict(actual=6, target=5, expected=7, detail="6/100"), ["超过5%的上限", "应不高于7%"], ["达到", "低于5%"]),
    ("ratio", "<", L, dict(actual=6, target=5, expected=5.5, detail="6/100"), ["超过5%的上限", "应不高于5.5%"], ["低于5%"]),
    ("ratio", "<", M, dict(actual=5, target=5, detail="5/100"), ["等于5%，未低于上限"], ["超出0", "低于5%的"]),
    # ---- ratio: = ----------------------------------------------------------------------------------------
    ("ratio", "==", D, dict(actual=100, target=100, progress=1.0, detail="10/10"), ["等于100%的目标"], ["低于", "超过"]),
    ("ratio", "==", ON, dict(actual=98, target=100, expected=97, progress=0.98, detail="98/100"), ["低于100%的目标"],
     ["等于", "超过", "应达到"]),
    ("ratio", "==", L, dict(actual=12, target=10, expected=11, detail="12/100"), ["超过10%的目标"], ["低于", "应达到", "应不高于"]),
    ("ratio", "==", M, dict(actual=96, target=100, progress=0.96, detail="96/100"), ["低于100%的目标"], ["超过", "应达到"]),
    ("ratio", ">=", N, dict(actual=None, target=40, detail="暂无上报数据"), ["暂无上报数据"], ["%，"]),
    ("ratio", ">", N, dict(actual=None, target=40, detail="分母合计为0"), ["分母合计为0"], []),
    ("ratio", "<=", N, dict(actual=None, target=5, detail="暂无上报数据"), ["暂无"], ["控制在"]),
    ("ratio", "<", N, dict(actual=None, target=5, detail="暂无上报数据"), ["暂无"], ["低于"]),
    ("ratio", "==", N, dict(actual=None, target=5, detail="暂无上报数据"), ["暂无"], ["等于"]),
    # ---- milestone: all / any ----------------------------------------------------------------------------
    ("milestone", "==", D, dict(actual=2, target=2, progress=1.0, agg="all", detail="2024年3月完成"), ["2024年3月完成"],
     ["滞后", "未完成"]),
    ("milestone", "==", ON, dict(actual=1, target=2, progress=0.5, agg="all", detail="1/2个单位已完成"),
     ["完成时限为3月31日"], ["已超过"]),
    ("milestone", "==", L, dict(actual=1, target=2, progress=0.5, agg="all", detail="1/2个单位已完成", overdue=True),
     ["已超过3月31日的完成时限"], []),
    ("milestone", "==", M, dict(actual=0, target=1, progress=0.0, agg="all", detail="尚未完成", overdue=True),
     ["已超过3月31日的完成时限"], []),
    ("milestone", "==", M, dict(actual=0, target=1, progress=0.0, agg="any", detail="尚未完成", due=dt.date(2024, 12, 31)),
     ["完成时限为12月31日，年度结束时仍未完成"], ["已超过"]),
    ("milestone", "==", D, dict(actual=1, target=1, progress=1.0, agg="any",
                                detail="2024年2月完成（2个单位中1个已完成，任一完成即达标）"), ["任一完成即达标"], ["未完成"]),
    # ---- project -----------------------------------------------------------------------------------------
    ("project", ">=", D, dict(actual=3, target=3, progress=1.0, detail="3个项目中3个已投用"), ["3个项目中3个已投用", "3个项目竣工投用"], []),
    ("project", ">=", ON, dict(actual=0, target=3, progress=0.0, detail="3个项目中0个已投用，平均建设进度83%"),
     ["平均建设进度83%"], ["逾期"]),
    ("project", ">=", L, dict(actual=1, target=3, progress=1 / 3, detail="3个项目中1个已投用，2个逾期，平均建设进度99%"),
     ["2个逾期"], []),
    ("project", ">=", M, dict(actual=1, target=3, progress=1 / 3, detail="3个项目中1个已投用，2个逾期"), ["2个逾期"], []),
    ("project", ">=", N, dict(actual=0, target=3, detail=""), [], ["目标为"]),
    # ---- targets as the plan wrote them, figures never printed as the printed target -----------------------------
    ("ratio", ">=", D, dict(actual=99.96, target=99.95, progress=1.0001, detail="9,996/10,000"),
     ["99.96%", "超过99.95%的年度目标"], ["100.0%"]),
    ("ratio", ">=", M, dict(actual=92.24, target=92.25, progress=0.9999, detail="9,224/10,000"),
     ["92.24%", "低于92.25%的年度目标", "差0.01个百分点"], ["92.2%，"]),
    ("ratio", "<=", M, dict(actual=0.08, target=0.05, detail="8/10,000"), ["0.08%", "超过0.05%的上限"], ["0.1%"]),
    # ---- trend: the true change, never "0.0" ----------------------------------------------------------------
    ("trend", "<baseline", D, dict(actual=12.1, target=12.5, baseline=12.5), ["12.1%", "比上年（12.5%）下降0.4个百分点"], ["上升", "持平"]),
    ("trend", "<baseline", L, dict(actual=12.54, target=12.5, baseline=12.5), ["上升0.04个百分点"], ["下降", "0.0个"]),
    ("trend", "<baseline", M, dict(actual=12.5, target=12.5, baseline=12.5), ["持平"], ["下降", "上升"]),
    ("trend", "<baseline", L, dict(actual=43.2098765432, target=43.2098765432 + 1e-12, baseline=43.2098765432 + 1e-12),
     ["43.2%，比上年（43.2%）持平"], ["43.21"]),  # equal figures print alike
    ("trend", ">baseline", D, dict(actual=60, target=55, baseline=55), ["上升5个百分点"], ["下降"]),
    ("trend", ">baseline", L, dict(actual=54.96, target=55, baseline=55), ["54.96%", "下降0.04个百分点"], ["55.0%", "上升"]),
    ("trend", ">baseline", M, dict(actual=50, target=55, baseline=55), ["下降5个百分点"], ["上升"]),
    ("trend", "<baseline", L, dict(actual=12.34, target=12.26, baseline=12.26), ["12.34%，比上年（12.26%）上升0.08个百分点"],
     ["12.3%"]),  # two different figures never print alike, and their printed change adds up
    ("milestone", "==", L, dict(actual=0, target=1, progress=0.0, agg="all", detail="尚未完成", overdue=True,
                                level="township", entity_name="西镇"), ["西镇样例指标：尚未完成"], []),
    ("project", ">=", D, dict(actual=1, target=1, progress=1.0, detail="1个项目中1个已投用", level="township",
                              entity_name="西镇"), ["西镇样例指标：1个项目中1个已投用"], []),
    ("trend", "<baseline", N, dict(actual=None, target=None, detail="缺少2023年基期数据"), ["缺少2023年基期数据"], []),
    ("trend", ">baseline", N, dict(actual=12.0, target=None, detail="缺少2023年基期数据"), ["缺少"], ["上升", "下降"]),
]

# kind × comparison × status combinations no computation can produce, and why.
IMPOSSIBLE = {
    ("milestone", "==", N): "节点没有上报即未完成，总有数据",
    ("trend", "<baseline", ON): "同比趋势没有进度线：未达标即滞后",
    ("trend", ">baseline", ON): "同比趋势没有进度线：未达标即滞后",
}


def _id(case) -> str:
    kind, op, status, args, *_ = case
    return f"{kind}{op}{status.value}-{args.get('actual')}"


@pytest.mark.parametrize(("kind", "op", "status", "args", "must", "must_not"), CASES, ids=[_id(c) for c in CASES])
def test_sentence_against_the_truth_table(kind, op, status, args, must, must_not) -> None:
    plan = load_plan(MINI / "plan.yaml")
    r = result(kind, op, status, **args)
    text = indicator_sentence(plan, r)
    verdicts = {**VERDICTS, D: "" if kind == "milestone" else VERDICTS[D]}
    for word in [*must, verdicts[status]]:
        assert word in text, (word, text)
    for word in [*must_not, *(v for s, v in verdicts.items() if s is not status and v)]:
        assert word not in text, (word, text)
    if status is D:
        assert "滞后" not in text and "未完成年度目标" not in text


def test_the_truth_table_covers_every_kind_comparison_and_status() -> None:
    covered = {(k, op, s) for k, op, s, *_ in CASES}
    wanted = {(k, op, s) for kind in KINDS for k in [kind.name] for op in kind.comparisons for s in Status}
    assert not covered & set(IMPOSSIBLE)
    assert wanted - set(IMPOSSIBLE) - covered == set()


@pytest.mark.parametrize(
    ("kind", "op", "status", "args", "cell", "bar_width"),
    [
        # T14-2: 1,997 of 2,000 is not 100%; nor is 39.9% of 40%
        ("count", ">=", L, dict(actual=1997, target=2000, expected=1833, progress=1997 / 2000), "99%", 99),
        ("ratio", ">=", M, dict(actual=39.9, target=40, progress=39.9 / 40, detail="399/1,000"), "99%", 99),
        # over-achievement in words, the bar full
        ("count", ">=", D, dict(actual=2, target=1, progress=2.0), "200%", 100),
        ("ratio", ">=", D, dict(actual=45.3, target=40, progress=45.3 / 40, detail="453/1,000"), "113%", 100),
        # upper limits and trends: words, no bar
        ("count", "<=", ON, dict(actual=0, target=0), "在上限以内", None),
        ("count", "<=", M, dict(actual=2, target=0), "超出上限2场", None),
        ("ratio", "<=", L, dict(actual=7.3, target=5, expected=6.8, detail="73/1,000"), "超出上限2.3个百分点", None),
        ("count", "==", M, dict(actual=5, target=4), "超出目标1场", None),
        ("trend", "<baseline", D, dict(actual=12.1, target=12.5, baseline=12.5), "下降0.4个百分点", None),
        ("trend", "<baseline", L, dict(actual=12.54, target=12.5, baseline=12.5), "上升0.04个百分点", None),
        # an "any" milestone: one unit is the whole target
        ("milestone", "==", D, dict(actual=1, target=1, progress=1.0, agg="any", detail="2024年2月完成"), "100%", 100),
        # a project: how many reached the stage, not how far construction is
        ("project", ">=", L, dict(actual=1, target=3, progress=1 / 3, detail="3个项目中1个已投用"), "33%", 33),
    ],
)
def test_progress_cell_and_bar(kind, op, status, args, cell, bar_width) -> None:
    r = result(kind, op, status, **args)
    assert r.progress_text == cell
    html = progress_bar(r.progress, r.status, r.progress_text)
    assert cell in html
    if bar_width is None:
        assert "width" not in html
    else:
        assert f"width:{bar_width}%" in html
    if status is not D:
        assert "100%" not in html


@pytest.mark.parametrize(
    ("value", "target", "unit", "shown"),
    [
        (94.96, 95, "%", "94.96%"),  # 乌审召镇 T06-4 at 09-30: not "95.0%"
        (39.96, 40, "%", "39.96%"),
        (99.96, 100, "%", "99.96%"),
        (99.996, 100, "%", "99.996%"),
        (99.99, 95, "%", "99.99%"),  # not the target, but 100.0% would read as "everyone"
        (0.004, 5, "%", "0.004%"),
        (40.02, 40, "%", "40.02%"),  # above a ">" target never prints as equal to it
        (45.26, 40, "%", "45.3%"),  # far from the target: rounded as usual
        (45.24, 40, "%", "45.2%"),
        (94.999, 94.99, "%", "95.0%"),  # 95.0 is still above 94.99
        (94.991, 94.99, "%", "95.0%"),
        (94.985, 94.99, "%", "94.98%"),  # 95.0 and 94.9... one more decimal keeps it below
        (1997, 2000, "人", "1,997人"),
        (1999.6, 2000, "人", "1,999.6人"),
        (1999.96, 2000, "人", "1,999.96人"),
        (40, 40, "%", "40%"),
        (43.2098765432, 43.2098765432 + 1e-12, "%", "43.2%"),  # equal within 1e-9: as usual, not 43.209876543%
        (None, 40, "%", "—"),
    ],
)
def test_a_figure_is_never_rounded_across_its_target(value, target, unit, shown) -> None:
    assert fmt_vs(value, target, unit=unit) == shown


@pytest.mark.parametrize(("gap", "unit", "shown"), [(0.4, "%", "0.4个百分点"), (-0.04, "%", "0.04个百分点"),
                                                     (0.004, "人", "0.004人"), (0, "%", "0个百分点"), (2, "场", "2场")])
def test_a_difference_is_never_printed_as_zero(gap, unit, shown) -> None:
    assert fmt_gap(gap, unit) == shown


@pytest.mark.parametrize(("progress", "met", "pct"), [(0.9985, False, 99), (1.0, False, 99), (2.0, True, 200),
                                                      (1.0, True, 100), (0.5, False, 50), (None, False, None)])
def test_a_percentage_reaches_100_only_when_met(progress, met, pct) -> None:
    assert percent(progress, met) == pct


@pytest.mark.parametrize("kind", ["count", "ratio"])
def test_every_comparison_status_and_side_has_a_sentence(kind: str) -> None:
    """No combination can crash a report: a figure on any side of its target, in any status, has words."""
    plan = load_plan(MINI / "plan.yaml")
    for op in get_kind(kind).comparisons:
        for status in (D, ON, L, M):
            for actual in (4.0, 5.0, 6.0):  # below, on and above a target of 5
                r = result(kind, op, status, actual, 5.0, expected=5.5, progress=actual / 5, detail="1/2")
                assert indicator_sentence(plan, r).endswith("。")
