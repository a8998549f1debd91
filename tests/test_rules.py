"""One case per rule in docs/indicator-rules.md, with figures computed by hand, boundaries included.

Each case runs the real computation on a variant of the small plan (tests/data/mini) with the indicator
and rows the rule needs, and checks status, figures, the 实际 and 完成进度 cells and the sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from edureport.cli.main import cli
from edureport.core.asof import AsOfError
from edureport.core.status import Status
from edureport.data.store import load_data
from edureport.metrics.compute import compute
from edureport.plan.load import load_plan
from edureport.plan.model import Plan
from edureport.report.narrative import indicator_sentence

from .conftest import MINI

D = dt.date
DONE, ON, LAG, MISS = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
HEAD = "period,school_id,township,indicator_id,value,numerator,denominator\n"


def variant(tmp: Path, indicators: list[dict], obs: str = "", baselines: str = "", projects: str = "",
            plan_projects: list[dict] | None = None) -> tuple[Path, Path]:
    """The mini plan with ``indicators`` added, and its data with ``obs`` (CSV rows) added."""
    plan = yaml.safe_load((MINI / "plan.yaml").read_text(encoding="utf-8"))
    plan["indicators"] += indicators
    plan["projects"] += plan_projects or []
    plan_file = tmp / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    data = tmp / "data"
    shutil.copytree(MINI / "data", data)
    for name, rows in (("observations", obs), ("baselines", baselines), ("projects", projects)):
        if rows:
            with (data / f"{name}.csv").open("a", encoding="utf-8") as fh:
                fh.write(rows.strip() + "\n")
    return plan_file, data


def one(plan_file: Path, data: Path, ind: str, as_of: dt.date, level: str = "banner", entity: str = ""):
    plan = load_plan(plan_file)
    found = [r for r in compute(load_data(data, plan), as_of, level, entity) if r.indicator_id == ind]
    return found[0], indicator_sentence(plan, found[0])


# ---- 句子：比较方式 (the four false sentences, computed for real) ------------------------------------

def test_a_ratio_over_its_ceiling_is_never_said_to_be_within_it(tmp_path: Path) -> None:
    # ≤5%: January 10% (100/1000), June 7.3% (73/1000). Line from 10% on 31 Jan to 5% on 31 Dec:
    # 10 − 5 × 151/335 = 7.746% on 30 Jun → 7.3% is on it (进展正常), and still over the ceiling.
    p, d = variant(tmp_path, [{"id": "R5", "task": 1, "name": "辍学率", "kind": "ratio", "comparison": "<=", "target": 5,
                               "numerator": "辍学", "denominator": "在校", "level": "school"}],
                   obs="2024-01,S1,,R5,,100,1000\n2024-06,S1,,R5,,73,1000")
    r, text = one(p, d, "R5", D(2024, 6, 30))
    assert r.status is ON and r.expected == pytest.approx(10 - 5 * 151 / 335)
    assert "超过5%的上限" in text and "按时间进度应不高于7.7%" in text and "控制在" not in text
    assert r.progress is None and r.progress_text == "超出上限2.3个百分点"
    r, text = one(p, d, "R5", D(2024, 12, 31))
    assert r.status is MISS and "超过5%的上限" in text and "控制在" not in text


def test_fewer_than_one_at_zero_is_below_the_limit_not_reached(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "C1", "task": 2, "name": "安全事故", "kind": "count", "unit": "件",
                               "comparison": "<", "target": 1, "level": "banner"}])
    r, text = one(p, d, "C1", D(2024, 6, 30))
    assert r.status is ON and "低于1件的上限" in text and "达到" not in text
    r, text = one(p, d, "C1", D(2024, 12, 31))
    assert r.status is DONE and "低于1件的上限" in text


def test_an_exact_target_passed_is_over_it_and_final(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "E4", "task": 2, "name": "示范校创建", "kind": "count", "unit": "个",
                               "comparison": "==", "target": 4, "level": "banner"}],
                   obs="2024-02,,,E4,3,,\n2024-04,,,E4,2,,")
    r, text = one(p, d, "E4", D(2024, 5, 31))
    assert r.actual == 5 and r.status is MISS  # a running total cannot come down to 4
    assert "超过4个的目标" in text and "达到" not in text and "进展正常" not in text
    assert r.progress_text == "超出目标1个"


def test_an_any_milestone_done_by_one_unit_is_done_and_full(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "M1", "task": 2, "name": "推普周活动", "kind": "milestone", "aggregate": "any",
                               "level": "township", "due": "2024-09-30"}], obs="2024-02,,东镇,M1,1,,")
    r, text = one(p, d, "M1", D(2024, 3, 31))
    assert r.status is DONE and r.actual_text == "已完成" and r.progress_text == "100%"
    assert "2个单位中1个已完成" in text
    r, _ = one(p, d, "M1", D(2024, 1, 31))
    assert r.status is ON and r.actual_text == "未完成" and r.progress_text == "0%"


# ---- 完成进度与数字的写法 -----------------------------------------------------------------------------

def test_an_unmet_target_never_shows_100_percent(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [
        {"id": "P1", "task": 1, "name": "培训人次", "kind": "count", "unit": "人次", "target": 2000, "level": "banner"},
        {"id": "R4", "task": 1, "name": "达标率", "kind": "ratio", "target": 40, "numerator": "甲", "denominator": "乙",
         "level": "school"},
        {"id": "R9", "task": 1, "name": "体测合格率", "kind": "ratio", "target": 95, "numerator": "合格",
         "denominator": "参测", "level": "school"}],
        obs="2024-11,,,P1,1997,,\n2024-07,S1,,R4,,399,1000\n2024-09,S1,,R9,,9496,10000")
    r, _ = one(p, d, "P1", D(2024, 11, 30))  # T14-2 at 11-30: on the line (⌊2000 × 334/365⌋ = 1830), not done
    assert r.status is ON and r.expected == 1830 and r.progress_text == "99%"
    r, _ = one(p, d, "R4", D(2024, 7, 31))  # T02-2 at 07-31
    assert r.actual_text == "39.9%" and r.progress_text == "99%" and r.status is not DONE
    r, text = one(p, d, "R9", D(2024, 9, 30))  # 乌审召镇 T06-4 at 09-30
    assert r.actual_text == "94.96%" and "95.0%" not in text


def test_over_achievement_shows_the_real_ratio(mini_data: Path, mini_plan: Plan) -> None:
    # A2 ≥8 场 shared by 2 townships: 4 each; 东镇 3 (Feb) + 2 (Aug) = 5 → 125%
    r = next(x for x in compute(load_data(mini_data, mini_plan), D(2024, 12, 31), "township", "东镇")
             if x.indicator_id == "A2")
    assert r.status is DONE and r.progress_text == "125%"
    assert "5场，超过4场的年度目标" in indicator_sentence(mini_plan, r)


def test_a_project_headline_counts_projects_at_the_stage(mini_data: Path, mini_plan: Plan) -> None:
    # B2: Q1 to be in use; on 30 Jun it is 在建 at 90%: 0 of 1 in use, not "90%"
    r = next(x for x in compute(load_data(mini_data, mini_plan), D(2024, 6, 30)) if x.indicator_id == "B2")
    assert r.actual == 0 and r.progress_text == "0%" and "平均建设进度90%" in r.detail


def test_upper_limits_and_trends_show_words_not_a_bar(mini_data: Path, mini_plan: Plan) -> None:
    res = {x.indicator_id: x for x in compute(load_data(mini_data, mini_plan), D(2024, 6, 30))}
    assert res["A4"].progress is None and res["A4"].progress_text == "在上限以内"  # ≤0 起, none yet
    # B1: 2023 (30+50)/200 = 40%; June 2024 (25+50)/200 = 37.5%
    assert res["B1"].progress is None and res["B1"].progress_text == "下降2.5个百分点"


# ---- 计数：分解目标的进度线 ⌊目标 × 时间进度⌋ --------------------------------------------------------------

def test_the_progress_line_of_a_split_count_is_a_whole_number(tmp_path: Path) -> None:
    # 7 场 shared by 2 townships: 3.5 each. On 30 Jun, 181/365 of the year: ⌊3.5 × 0.4959⌋ = ⌊1.74⌋ = 1.
    p, d = variant(tmp_path, [{"id": "S7", "task": 1, "name": "宣讲", "kind": "count", "unit": "场", "target": 7,
                               "level": "township"}], obs="2024-05,,西镇,S7,1,,")
    r, text = one(p, d, "S7", D(2024, 6, 30), "township", "西镇")
    assert r.target == 3.5 and r.expected == 1 and r.status is ON
    assert "按时间进度应达到1场" in text and "1.7场" not in text


# ---- 完成时限当天不算逾期 ----------------------------------------------------------------------------

def test_a_milestone_is_not_overdue_on_its_due_date(mini_data: Path, mini_plan: Plan) -> None:
    # A3 due 31 Mar, done in May
    data = load_data(mini_data, mini_plan)
    on_due = next(x for x in compute(data, D(2024, 3, 31)) if x.indicator_id == "A3")
    after = next(x for x in compute(data, D(2024, 4, 30)) if x.indicator_id == "A3")
    assert on_due.status is ON and not on_due.overdue and "完成时限为3月31日" in indicator_sentence(mini_plan, on_due)
    assert after.status is LAG and after.overdue and "已超过3月31日" in indicator_sentence(mini_plan, after)


def test_a_project_is_not_overdue_on_its_planned_date(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "B5", "task": 3, "name": "围墙开工", "kind": "project", "target": 1,
                               "target_stage": "在建", "projects": ["Q3"], "level": "banner"}],
                   projects="2024-02,Q3,未开工,0,2024-04-30,,2024-10-31,,50",
                   plan_projects=[{"id": "Q3", "task": 3, "name": "东镇小学围墙", "school": "东镇小学", "goal": "开工"}])
    r, _ = one(p, d, "B5", D(2024, 4, 30))
    assert r.status is ON and "逾期" not in r.detail
    r, _ = one(p, d, "B5", D(2024, 5, 31))
    assert r.status is LAG and "1个逾期" in r.detail


# ---- 比例的第一个月与基期起点 ------------------------------------------------------------------------

def test_the_first_month_of_a_ratio_is_on_its_own_line(mini_data: Path, mini_plan: Plan) -> None:
    # A1 in January: (1+3)/(2+18) = 20% against ≥40%. No baseline: the line starts at 20% on 31 Jan.
    r = next(x for x in compute(load_data(mini_data, mini_plan), D(2024, 1, 31)) if x.indicator_id == "A1")
    assert r.actual == pytest.approx(20) and r.expected == pytest.approx(20) and r.status is ON


def test_a_ratio_with_a_baseline_year_starts_from_it(tmp_path: Path) -> None:
    # Baseline 2023: 30/100 = 30%. January 2024: 31/100. Line from 30% on 1 Jan to 40% on 31 Dec:
    # 30 + 10 × 30/365 = 30.82% on 31 Jan → 31% is on track; 30.5% would lag.
    ind = {"id": "R2", "task": 1, "name": "骨干教师占比", "kind": "ratio", "target": 40, "numerator": "骨干",
           "denominator": "教师", "level": "school", "baseline_year": 2023}
    p, d = variant(tmp_path, [ind], obs="2024-01,S1,,R2,,31,100", baselines="2023,S1,,R2,,30,100")
    r, _ = one(p, d, "R2", D(2024, 1, 31))
    assert r.expected == pytest.approx(30 + 10 * 30 / 365) and r.status is ON
    (tmp_path / "b").mkdir()
    p, d = variant(tmp_path / "b", [ind], obs="2024-01,S1,,R2,,305,1000", baselines="2023,S1,,R2,,30,100")
    r, _ = one(p, d, "R2", D(2024, 1, 31))
    assert r.status is LAG


# ---- 截至日期在月中 ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("mid", "month_end"), [(D(2024, 3, 15), D(2024, 2, 29)), (D(2024, 9, 29), D(2024, 8, 31))])
def test_a_mid_month_date_says_what_the_last_month_end_says(mini_data: Path, mini_plan: Plan, mid, month_end) -> None:
    from edureport.report.narrative import data_line

    data = load_data(mini_data, mini_plan)
    for level, entity in (("banner", ""), ("township", "东镇"), ("school", "S1")):
        assert compute(data, mid, level, entity) == compute(data, month_end, level, entity)
    assert data_line(mini_plan, mid) == (f"指标数据截至2024年{month_end.month}月（报告日期2024年{mid.month}月{mid.day}日，"
                                         "月度数据按月末计入）")
    assert data_line(mini_plan, month_end) == f"指标数据截至2024年{month_end.month}月"
    assert data_line(mini_plan, D(2024, 1, 15)).startswith("尚无已截止月份的指标数据")


# ---- 截至日期不在年度内 -----------------------------------------------------------------------------

def test_an_as_of_date_outside_the_plan_year_is_refused_unless_allowed(mini_data: Path, mini_plan: Plan) -> None:
    data = load_data(mini_data, mini_plan)
    with pytest.raises(AsOfError, match=r"不在工作要点年度内.*--allow-outside-year"):
        compute(data, D(2025, 3, 31))
    late = compute(data, D(2025, 3, 31), allow_outside_year=True)
    final = compute(data, D(2024, 12, 31))
    assert [dataclasses.replace(r, overdue=False) for r in late] == [dataclasses.replace(r, overdue=False) for r in final]
    runner = CliRunner()
    args = ["status", "--data", str(mini_data), "--plan", str(MINI / "plan.yaml"), "--as-of", "2025-03-31"]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 2 and "不在工作要点年度内" in refused.output and "Traceback" not in refused.output
    allowed = runner.invoke(cli, [*args, "--allow-outside-year"])
    assert allowed.exit_code == 0, allowed.output
    assert "党员教师占比" in allowed.output




# ---- found by a hostile review of this first version ------------------------------------------------

def test_a_trend_compares_the_same_units_in_both_years(tmp_path: Path) -> None:
    # 2023: S1 20/100, S2 50/100. 2024: only S1 reported, 25/100 — it went up, whatever S2 did last year.
    ind = {"id": "T9", "task": 3, "name": "肥胖率", "kind": "trend", "comparison": "<baseline", "baseline_year": 2023,
           "numerator": "肥胖", "denominator": "体检", "level": "school", "stages": ["小学", "初中"]}
    p, d = variant(tmp_path, [ind], obs="2024-06,S1,,T9,,25,100", baselines="2023,S1,,T9,,20,100\n2023,S2,,T9,,50,100")
    r, text = one(p, d, "T9", D(2024, 12, 31))
    assert r.baseline == pytest.approx(20) and r.status is MISS
    assert "上升5个百分点" in text and "下降" not in text and "另有1个单位未计入" in r.detail


def test_a_stock_nobody_reported_is_no_data_not_zero(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "K1", "task": 1, "name": "危房数", "kind": "count", "unit": "处", "comparison": "<=",
                               "target": 5, "over_time": "latest", "level": "banner"}], obs="2024-12,,,K1,9,,")
    r, text = one(p, d, "K1", D(2024, 1, 31))
    assert r.status is Status.NO_DATA and "0处" not in text and "已达标" not in text


def test_the_line_of_a_greater_than_target_ends_above_it(tmp_path: Path) -> None:
    # "＞5" by 30 Jun: 5 is not enough on the due date itself; the line ends at 6.
    p, d = variant(tmp_path, [{"id": "G5", "task": 1, "name": "家长会", "kind": "count", "unit": "次", "comparison": ">",
                               "target": 5, "due": "2024-06-30", "level": "banner"}], obs="2024-03,,,G5,5,,")
    r, text = one(p, d, "G5", D(2024, 6, 30))
    assert r.expected == 6 and r.status is LAG and "未超过" in text and "进展正常" not in text


def test_ceilings_are_not_shared_among_townships(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "W2", "task": 2, "name": "欠薪事件", "kind": "count", "unit": "起", "comparison": "<=",
                               "target": 2, "level": "township"}], obs="2024-03,,东镇,W2,2,,\n2024-04,,西镇,W2,1,,")
    r, text = one(p, d, "W2", D(2024, 6, 30), "township", "东镇")
    assert r.target == 2 and "本级分解" not in r.target_text and r.status is ON and "控制在2起以内" in text


def test_after_the_year_the_cover_names_the_years_last_month(mini_plan: Plan) -> None:
    from edureport.report.narrative import data_line

    assert data_line(mini_plan, D(2025, 3, 15)).startswith("指标数据截至2024年12月（报告日期2025年3月15日")


def test_indicators_without_data_are_named_among_the_problems(mini_data: Path) -> None:
    from edureport.report.context import ReportContext
    from edureport.report.review import _problems

    ctx = ReportContext.load("review", plan_file=str(MINI / "plan.yaml"), data_dir=str(mini_data), as_of="2024-01-31")
    html = _problems(ctx).html
    assert "近视率" in html and "暂无数据" in html


def test_the_project_table_agrees_with_the_headline(tmp_path: Path) -> None:
    from edureport.data.projects import project_table

    # Q3 listed but never reported (no planned date: the indicator's due date, 31 Aug); Q1 at 在建 "100%".
    p, d = variant(tmp_path, [{"id": "B6", "task": 3, "name": "校舍竣工", "kind": "project", "target": 1,
                               "target_stage": "竣工", "projects": ["Q3"], "level": "banner", "due": "2024-08-31"}],
                   plan_projects=[{"id": "Q3", "task": 3, "name": "西镇小学校舍", "school": "西镇小学", "goal": "竣工"}],
                   projects="2024-07,Q1,在建,100,2023-09-01,2023-09-10,2024-06-30,,300")
    r, _ = one(p, d, "B6", D(2024, 9, 30))
    assert "1个逾期" in r.detail
    plan = load_plan(p)
    data = load_data(d, plan)
    assert bool(project_table(data, D(2024, 9, 30), ["Q3"]).set_index("project_id").loc["Q3", "overdue"])
    assert not bool(project_table(data, D(2024, 8, 31), ["Q3"]).set_index("project_id").loc["Q3", "overdue"])
    assert project_table(data, D(2024, 8, 31), ["Q1"]).set_index("project_id").loc["Q1", "percent"] == 99


def test_something_done_is_never_0_percent(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "H3", "task": 1, "name": "培训人次", "kind": "count", "unit": "人次", "target": 300,
                               "level": "banner"}], obs="2024-01,,,H3,1,,")
    r, _ = one(p, d, "H3", D(2024, 1, 31))
    assert r.progress_text == "<1%"


# ---- found by the second hostile review --------------------------------------------------------------------

def test_on_the_due_date_a_strict_target_not_met_is_behind(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "R7", "task": 1, "name": "优秀率", "kind": "ratio", "comparison": ">", "target": 40,
                               "numerator": "优秀", "denominator": "参评", "level": "school", "due": "2024-06-30"}],
                   obs="2024-01,S1,,R7,,30,100\n2024-06,S1,,R7,,40,100")
    r, text = one(p, d, "R7", D(2024, 6, 30))
    assert r.status is LAG and "与40%持平，未超过年度目标" in text


def test_an_exact_county_total_is_judged_at_the_banner_only(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "X4", "task": 1, "name": "示范校", "kind": "count", "unit": "所", "comparison": "==",
                               "target": 4, "level": "school"}], obs="2024-03,S1,,X4,2,,\n2024-04,S3,,X4,2,,")
    r, _ = one(p, d, "X4", D(2024, 12, 31))
    assert r.status is DONE
    plan = load_plan(p)
    assert not [x for x in compute(load_data(d, plan), D(2024, 12, 31), "township", "东镇") if x.indicator_id == "X4"]


def test_a_stock_ceiling_with_units_unreported_is_not_done(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "K2", "task": 1, "name": "危房", "kind": "count", "unit": "间", "comparison": "<=",
                               "target": 5, "over_time": "latest", "level": "school"}], obs="2024-03,S1,,K2,2,,")
    r, text = one(p, d, "K2", D(2024, 12, 31))
    assert r.status is MISS and "4个单位中3个未报送" in text and "已达标" not in text


def test_a_project_nobody_reported_on_is_overdue_once_its_date_passed(tmp_path: Path) -> None:
    p, d = variant(tmp_path, [{"id": "B7", "task": 3, "name": "食堂竣工", "kind": "project", "target": 1,
                               "target_stage": "竣工", "projects": ["Q3"], "level": "banner", "due": "2024-05-31"}],
                   plan_projects=[{"id": "Q3", "task": 3, "name": "西镇小学食堂", "school": "西镇小学", "goal": "竣工"}])
    plan = load_plan(p)
    data = load_data(d, plan)
    data.projects = data.projects[data.projects["project_id"] != "Q3"]
    before = next(x for x in compute(data, D(2024, 5, 31)) if x.indicator_id == "B7")
    after = next(x for x in compute(data, D(2024, 6, 30)) if x.indicator_id == "B7")
    assert before.status is Status.NO_DATA and "0个已竣工" not in indicator_sentence(plan, before)
    assert after.status is LAG and "1个逾期" in after.detail


def test_before_the_first_month_ends_no_date_outside_the_year_is_written(mini_plan: Plan) -> None:
    from edureport.report.narrative import task_paragraph

    text = task_paragraph(mini_plan, mini_plan.tasks[0], [], D(2024, 1, 15))
    assert text.startswith("截至2024年1月15日（尚无已截止月份的指标数据）") and "2023年" not in text


@pytest.mark.parametrize(("value", "shown"), [(99.995, "99.995"), (33.333, "33.333"), (100 / 6, "16.7"),
                                              (1 / 44, "0.023"), (0.05, "0.05"), (24, "24")])
def test_a_target_is_printed_as_written(value, shown) -> None:
    from edureport.core.figures import fmt_target, percent

    assert fmt_target(value) == shown
    assert percent(0.125, False) == 13  # 四舍五入
