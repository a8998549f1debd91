"""The school report (学校进展报告, ``report/school.py``): one per school of the register, its figures and
ranks checked against values worked out by hand from tests/data/mini; all 48 demo schools built, grouped by
township on the index; a build key that covers its township's rows and its stage's schools."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from edureport.batch.build import build
from edureport.batch.jobs import select_jobs
from edureport.core.errors import ReportParameterError, UnknownReportError
from edureport.core.status import Status
from edureport.data.store import load_data
from edureport.plan.model import Plan
from edureport.report import school as report
from edureport.report.catalog import get_report_kind
from edureport.report.context import ReportContext

from .conftest import DEMO, MINI, PLAN_2023, run
from .test_department import _edit

KIND = get_report_kind("school")
MINI_PLAN = MINI / "plan.yaml"


def _schools(data: Path, plan: Plan) -> pd.DataFrame:
    return load_data(data, plan).schools


# --- Jobs and parameters ---------------------------------------------------------------------------------

def test_one_job_per_school_grouped_by_township(plan: Plan) -> None:
    schools = _schools(DEMO, plan)
    jobs = KIND.jobs(plan, [], schools)
    assert len(jobs) == 48 == len(schools)
    assert [j.key for j in jobs] == [f"school:{s}" for s in schools["school_id"]]
    assert [j.subgroup for j in jobs] == list(schools["township"])
    assert len({j.stem for j in jobs}) == 48 and jobs[0].stem == "school-S00101"
    assert jobs[0].title == "高级中学2023年工作进展报告" and jobs[0].parameters == {"school": "S00101"}
    assert KIND.jobs(plan, []) == [], "no register of schools, no school reports"
    (only,) = select_jobs(plan, ["图克镇"], [" school:S00303 "], schools)
    assert only.key == "school:S00303" and only.title == "图克幼儿园2023年工作进展报告"
    with pytest.raises(UnknownReportError, match="没有这些报告：school:S99999"):
        select_jobs(plan, ["图克镇"], ["school:S99999"], schools)


def test_two_schools_of_one_name_are_told_apart_by_township_and_code() -> None:
    schools = pd.DataFrame({"school_id": ["A", "B", "C", "D", "E"],
                            "name": ["中心小学", "中心小学", "实验小学", "第一中学", "第一中学"],
                            "township": ["东镇", "西镇", "东镇", "东镇", "东镇"]})
    assert report.display_names(schools) == {"A": "中心小学（东镇）", "B": "中心小学（西镇）", "C": "实验小学",
                                             "D": "第一中学（东镇，D）", "E": "第一中学（东镇，E）"}


@pytest.mark.parametrize(("given", "school"), [("", "S1"), ("S3", "S3"), (" S2\u3000", "S2")])
def test_the_parameter_is_a_school_code(given: str, school: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    ctx = ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                             school=given)
    registered = {"S1": ("东镇", "东镇小学", "小学"), "S2": ("东镇", "东镇中学", "初中"), "S3": ("西镇", "西镇小学", "小学")}
    assert ctx.parameters["school"] == school and ctx.township == registered[school][0]
    assert (ctx.parameters["name"], ctx.parameters["stage"]) == registered[school][1:]
    assert ctx.title == f"{registered[school][1]}2024年工作进展报告"
    assert ctx.data.is_subset, "it reads its township's rows only"


def test_an_unknown_school_code_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    with pytest.raises(ReportParameterError, match="参数 school（学校代码）的值“S9”不在学校名录中；可用：S1、S2、S3、S4"):
        ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                           school="S9")


# --- Figures, worked out by hand from tests/data/mini ----------------------------------------------------

def test_figures_and_ranks_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """东镇小学 (S1, 小学) on 2024-12-31, from tests/data/mini/data:
    - A1 党员教师占比 (ratio, ≥40%, the school's latest month): 2024-06 2/4 = 50% → 达标, progress 50/40 = 125%.
      西镇小学 (S3, the other 小学) has no A1 row: no rank (one value).
    - A4 违纪事件数 (count, ≤0): S1 reports 0 in 2024-03 → 达标; S3 reports 1 → 未达标. Smaller first: S1 1/2.
    - B1 近视率 (trend, below the 2023 baseline): 2024-06 25/100 = 25% against its 2023 baseline 30/100 =
      30% → 达标, 下降5个百分点. S3 has none: no rank.
    - B4 每校教研活动 (count, ≥1): S1 1 (2024-04) → 达标; S3 2 (2024-10). Larger first: S1 2/2.
    - 达标率: S1 4/4 = 100%; S3: A4 未达标, A1 and B1 无数据, B3 (its project, 操场开工) 未达标, B4 达标
      → 1/5 = 20%. Among the region's two 小学, S1 is first; it is 东镇's only 小学 (东镇中学 is 初中).
    """
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    ctx = ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                             school="S1")
    results = {r.indicator_id: r for r in report.own_results(ctx)}
    got = {i: (r.target_text, r.actual_text, r.status, r.progress_text) for i, r in results.items()}
    assert got == {"A1": ("≥40%", "50%", Status.DONE, "125%"),
                   "A4": ("≤0起", "0起", Status.DONE, "在上限以内"),
                   "B1": ("低于2023年（30%）", "25%", Status.DONE, "下降5个百分点"),
                   "B4": ("≥1次", "1次", Status.DONE, "100%")}
    assert results["A1"].detail == "2/4"
    assert report.indicator_ranks(ctx, list(results.values())) == {
        "A1": ("—", "—"), "A4": ("—", "1/2"), "B1": ("—", "—"), "B4": ("—", "2/2")}
    assert report.done_rates(report.peers(ctx, township=False)) == {"S1": 1.0, "S3": 0.2}
    overview = report.school_overview(ctx).html
    assert ("截至2024年12月31日，东镇小学（东镇，小学，公办）适用的共4个量化指标，其中达标4个。"
            "达标率100.0%，是东镇唯一的小学，在全县2所小学中排第1位（按达标率）。") in overview
    table = report.school_indicators(ctx).html
    assert "<th>全县排名</th>" in table and "东镇排名" not in table, "no column of ranks that are all “—”"
    assert "党员教师培训" in report.school_activities(ctx).html  # the activity S1 registered
    assert "没有列入工作要点的建设项目" in report.school_projects(ctx).html


def test_a_school_of_its_own_stage_is_not_ranked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """东镇中学 (S2) is the region's only 初中: no rank anywhere; its project 东镇中学食堂改造 is listed."""
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    ctx = ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                             school="S2")
    assert "是全县唯一的初中。" in report.school_overview(ctx).html
    table = report.school_indicators(ctx).html
    assert "排名</th>" not in table and "全县没有其他初中，不作排名。" in table
    assert "东镇中学食堂改造" in report.school_projects(ctx).html


def test_a_school_without_indicators_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A school none of the plan's indicators applies to (a 中职 under a plan without 中职 indicators): one
    plain sentence in each part, no “适用的没有适用的”, no claims about changes."""
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    ctx = ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                             school="S2")
    monkeypatch.setattr(report, "own_results", lambda ctx: [])
    overview = report.school_overview(ctx).html
    assert "东镇中学（东镇，初中，公办）没有适用的量化指标。" in overview and "适用的没有" not in overview
    change = report.school_change(ctx).html
    assert "本学校（园）没有适用的量化指标，不作较上期比较。" in change and "相同" not in change
    assert "本学校（园）没有适用的量化指标。" in report.school_indicators(ctx).html


def test_no_rank_without_comparable_figures_is_not_called_alone(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """西镇小学 (S3) has a rival 小学 (S1): when no indicator can be ranked, the note says there are no
    comparable figures, not that there is no other 小学."""
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path))
    ctx = ReportContext.load("school", plan_file=str(MINI_PLAN), data_dir=str(MINI / "data"), as_of="2024-12-31",
                             school="S3")
    monkeypatch.setattr(report, "indicator_ranks",
                        lambda ctx, results: {r.indicator_id: ("—", "—") for r in results})
    html = report.school_indicators(ctx).html
    assert "全县同学段的学校（园）暂无可比数据，不作排名。" in html and "没有其他" not in html


@pytest.mark.parametrize(
    ("stage", "here", "whole", "registered", "sentence"),
    [("小学", (2, 3), (5, 15), (3, 15), "在乙镇3所小学中排第2位，在全旗15所小学中排第5位（按达标率）"),
     ("小学", (1, 1), (5, 15), (1, 15), "是乙镇唯一的小学，在全旗15所小学中排第5位（按达标率）"),
     ("高中", (1, 1), (1, 1), (1, 1), "是全旗唯一的高中"),
     ("九年一贯制", (1, 2), (3, 9), (2, 9), "在乙镇2所九年一贯制学校中排第1位，在全旗9所九年一贯制学校中排第3位（按达标率）"),
     ("幼儿园", (3, 3), (1, 18), (3, 18), "在乙镇3所幼儿园中排第3位，在全旗18所幼儿园中排第1位（按达标率）"),
     # schools of the stage without indicators: no rivals, but no reason to call this one 唯一
     ("高中", (1, 1), (1, 1), (1, 2), "全旗其他高中暂无量化指标，不作排名"),
     ("小学", (1, 1), (4, 12), (2, 15), "乙镇其他小学暂无量化指标，不作排名，在全旗有量化指标的12所小学中排第4位（按达标率）")],
)
def test_rank_sentences(stage: str, here: tuple[int, int], whole: tuple[int, int], registered: tuple[int, int],
                        sentence: str) -> None:
    assert report.rank_sentence(stage, "乙镇", "全旗", here, whole, registered) == sentence


def test_place_by_done_rate_shares_ties() -> None:
    rates = {"A": 0.5, "B": 0.8, "C": 0.5, "D": 0.2}
    assert [report.place_of(s, rates) for s in "ABCD"] == [(2, 4), (1, 4), (2, 4), (4, 4)]


def test_one_school_report_from_the_command_line(tmp_path: Path) -> None:
    result = run("build", "--plan", MINI_PLAN, "--data", MINI / "data", "--as-of", "2024-12-31", "--out", tmp_path,
                 "--only", "school:S1", "--formats", "html")
    assert result.exit_code == 0, result.output + result.stderr
    html = (tmp_path / "2024" / "2024-12-31" / "html" / "school-S1.html").read_text(encoding="utf-8")
    assert "<title>东镇小学2024年工作进展报告</title>" in html and "在全县2所小学中排第1位" in html
    manifest = json.loads((tmp_path / "2024" / "2024-12-31" / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["reports"]
    assert entry["subgroup"] == "东镇" and entry["headline"]["达标"] == 4 and sum(entry["headline"].values()) == 4


# --- All 48 demo schools ---------------------------------------------------------------------------------

def test_every_demo_school_builds_and_rebuilds_what_it_shows(plan: Plan, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Acceptance: a report for each of the 48 demo schools, under its township on the index, each headline
    its own figures. Then new figures for one 小学 rebuild every 小学 (their ranks) and nothing else; a
    change to one school's activity rebuilds that school's report only."""
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    schools = _schools(DEMO, plan)
    keys = [f"school:{s}" for s in schools["school_id"]]
    args = {"plan_file": PLAN_2023, "as_of": "2023-12-31", "out": tmp_path / "out", "only": keys, "formats": ("html",),
            "jobs": 2}
    first = build(data_dir=data, **args)
    assert not first.failed, [r.error for r in first.failed]
    assert len(first.results) == 48 and {r.status for r in first.results} == {"built"}
    folder = tmp_path / "out" / "2023" / "2023-12-31"
    index = (folder / "index.html").read_text(encoding="utf-8")
    group = index.split("<h2>各学校（园）</h2>")[1].split("</section>")[0]
    assert re.findall(r'<tr class="sub"><th colspan="7">([^<]*)</th>', group) == list(dict.fromkeys(schools["township"]))
    assert group.count('href="html/school-') == 48
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for entry, school in zip(manifest["reports"], schools.itertuples(), strict=True):
        ctx_counts = _own_counts(folder / "html" / f"school-{school.school_id}.html")
        assert entry["headline"] == ctx_counts, school.school_id

    _edit(data, "observations.csv", lambda x: x[:4] == ["2023-12", "S00203", "乌审召镇", "T06-2"],
          lambda x: x.__setitem__(5, str(int(x[5]) + 30)))
    second = build(data_dir=data, **args)
    rebuilt = {r.job.parameters["school"] for r in second.results if r.status == "built"}
    expected = set(schools.loc[schools["stage"] == "小学", "school_id"])
    assert "S00203" in expected and len(expected) == 15
    assert rebuilt == expected and {r.status for r in second.results} == {"built", "unchanged"}
    # one more participant in the one activity 第一幼儿园 (S00105) registered: its report only
    _edit(data, "activities.csv", lambda x: x[3] == "S00105", lambda x: x.__setitem__(5, str(int(x[5]) + 1)))
    third = build(data_dir=data, **args)
    assert [r.job.key for r in third.results if r.status == "built"] == ["school:S00105"]


def _own_counts(html: Path) -> dict[str, int]:
    """The status counts the report's own summary table (表1) prints."""
    text = html.read_text(encoding="utf-8")
    table = text.split("指标状态汇总</caption>")[1].split("</table>")[0]
    return {k: int(v) for k, v in re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", table)}
