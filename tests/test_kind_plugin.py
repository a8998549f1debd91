"""An indicator kind is one file: a kind defined and registered in this test file only works end to end.

"学校平均值" (the mean over schools of each school's latest figure, e.g. 体质健康测试平均分) is not a
built-in kind. Registered here and nowhere else, it goes through plan loading, the demo data, validation
of its value column, the Excel form and ``edureport import``, ``edureport status``, a township report
and a section report, with no change to any other module. Each step asserts something only the kind's
own class can have provided, so the test fails when a step stops asking the kind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from edureport.core.status import Outcome, Status
from edureport.data import demo
from edureport.data.store import load_data
from edureport.kinds import KINDS, register
from edureport.kinds.base import CellRule, IndicatorKind, Scope, compare, latest_per_entity
from edureport.metrics.compute import compute
from edureport.plan.load import load_plan
from edureport.report import review as review_report
from edureport.report import section as section_report
from edureport.report import township as township_report
from edureport.report.context import ReportContext

from .conftest import PLAN_2023, ROOT, run

D, ON, L, M = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED
TOWN = "图克镇"
MONTH = "2023-06"


class SchoolMean(IndicatorKind):
    """学校平均值: the mean of the schools' latest figures; every applicable school counts once."""

    name = "school_mean"
    label = "学校平均值"
    defaults = {"unit": "分", "comparison": ">=", "aggregate": "mean", "over_time": "latest"}
    comparisons = (">=",)
    aggregates = ("mean",)
    charted = proportion = True
    cell_rule = CellRule("decimal", "0", "平均分不能为负数（学校平均值）", "greaterThanOrEqual", "填写本校最新平均分")
    sentences = {
        (">=", D): "{place}{name}为{actual}（学校平均值），{relation}，已达标。",
        (">=", ON): "{place}{name}为{actual}（学校平均值），{relation}，进展正常。",
        (">=", L): "{place}{name}为{actual}（学校平均值），{relation}，进度滞后。",
        (">=", M): "{place}{name}为{actual}（学校平均值），{relation}，未完成年度目标。",
    }

    def form_unit(self, ind) -> str:
        return "平均分（0—100）"

    def compute(self, scope: Scope) -> Outcome | None:
        if not scope.applicable:
            return None
        target = float(scope.indicator.target)  # type: ignore[arg-type]
        latest = latest_per_entity(scope.obs)
        if latest.empty:
            return Outcome(actual=None, target=target, has_data=False, detail="暂无上报数据")
        actual = float(latest["value"].mean())
        met = compare(actual, ">=", target)
        return Outcome(actual=actual, target=target, met=met, on_track=met, progress=min(actual / target, 1.0)
                       if target else None)

    def demo_rows(self, ind, ctx, behind: bool):
        ents = ctx.entities(ind)
        rng = ctx.rng(ind.id)
        window = ctx.window(ind)
        level = float(ind.target) + (-6 if behind else 4)
        value = np.clip(np.round(level + rng.normal(0, 3, (len(ents), len(window)))), 0, 100).astype(int)
        return ctx.frame(ind, ents, window, value=value), None


@pytest.fixture
def kind() -> Iterator[SchoolMean]:
    registered = register(SchoolMean())
    try:
        yield registered
    finally:
        KINDS.unregister("school_mean")


@pytest.fixture
def plan_file(tmp_path: Path, kind: SchoolMean) -> Path:
    data = yaml.safe_load(PLAN_2023.read_text(encoding="utf-8"))
    task = data["tasks"][0]["id"]
    data["indicators"].append({"id": "SM1", "task": task, "name": "学生体质健康测试平均分", "kind": "school_mean",
                               "level": "school", "target": 80, "due": "2023-12-31"})
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, plan_file: Path) -> Path:
    plan = load_plan(plan_file)
    out = tmp_path / "data"
    demo.write(demo.generate(plan, ROOT / "params" / "demo-reference.yaml"), out)
    return out


def test_plan_load_takes_the_kinds_own_fields(plan_file: Path, tmp_path: Path) -> None:
    ind = load_plan(plan_file).indicator("SM1")
    assert (ind.kind, ind.aggregate, ind.unit) == ("school_mean", "mean", "分")  # the kind's defaults
    assert ind.target_text == "≥80分"
    bad = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    bad["indicators"][-1]["comparison"] = "<="
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    result = run("validate", "--plan", path, tmp_path)
    assert result.exit_code == 2 and "学校平均值类指标的比较方式应为：>=" in result.output


def test_demo_rows_validation_and_status(plan_file: Path, data_dir: Path) -> None:
    plan = load_plan(plan_file)
    obs = pd.read_csv(data_dir / "observations.csv", encoding="utf-8-sig", dtype=str)
    mine = obs[obs["指标代码"] == "SM1"]
    schools = pd.read_csv(data_dir / "schools.csv", encoding="utf-8-sig", dtype=str)
    assert set(mine["学校代码"]) == set(schools["学校代码"]) and mine["数值"].notna().all()  # the kind's demo rows
    data = load_data(data_dir, plan)
    banner = next(r for r in compute(data, dt.date(2023, 12, 31)) if r.indicator_id == "SM1")
    assert banner.status is Status.DONE and banner.actual is not None and 80 <= banner.actual <= 90
    result = run("status", "--plan", plan_file, "--data", data_dir, "--as-of", "2023-12-31")
    assert result.exit_code == 0 and "学生体质健康测试平均分" in result.output

    # the value column is checked as the kind says: blank values are refused, naming the kind
    rows = (data_dir / "observations.csv").read_text(encoding="utf-8-sig").splitlines()
    cut = next(i for i, line in enumerate(rows) if ",SM1," in line)
    fields = rows[cut].split(",")
    value_at = rows[0].split(",").index("数值")
    fields[value_at] = ""
    rows[cut] = ",".join(fields)
    (data_dir / "observations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    result = run("validate", "--plan", plan_file, data_dir)
    assert result.exit_code == 2 and "学校平均值类指标须填写“数值”" in result.output


def test_the_excel_form_and_import(plan_file: Path, data_dir: Path, tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    result = run("template", form, "--township", TOWN, "--period", MONTH, "--data", data_dir, "--plan", plan_file)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(form)
    ws = book["指标数据"]
    mine = [row for row in ws.iter_rows(min_row=2) if row[4].value == "SM1"]
    schools = pd.read_csv(data_dir / "schools.csv", encoding="utf-8-sig", dtype=str)
    assert len(mine) == (schools["苏木镇"] == TOWN).sum()  # one row per school of the township
    assert {row[6].value for row in mine} == {"平均分（0—100）"}  # the kind's form text
    rule = next(dv for dv in ws.data_validations.dataValidation if dv.error == "平均分不能为负数（学校平均值）")
    assert {str(r) for r in rule.sqref.ranges} == {f"H{row[0].row}" for row in mine}  # its cell rule, on the value cells
    grey = {c.fill.fgColor.rgb for row in mine for c in row[8:10]}  # numerator / denominator greyed out
    assert len(grey) == 1 and grey != {c.fill.fgColor.rgb for row in mine for c in row[7:8]}  # the value cell is not
    help_text = "\n".join(str(c.value) for c in book["说明"]["A"] if c.value)
    assert "学校平均值类指标在“数值”中填写本月数值" in help_text  # the kind's own instructions
    for n, row in enumerate(mine):
        row[7].value = 70 + n
    book.save(form)
    # only SM1 is filled in this blank form: the township-month's other rows go, which must be confirmed
    result = run("import", form, "--data", data_dir, "--plan", plan_file, "--allow-removals")
    assert result.exit_code == 0, result.output
    obs = pd.read_csv(data_dir / "observations.csv", encoding="utf-8-sig", dtype=str)
    got = obs[(obs["指标代码"] == "SM1") & (obs["期间"] == MONTH) & (obs["苏木镇"] == TOWN)]
    assert sorted(got["数值"].astype(float)) == [70.0 + n for n in range(len(mine))]


def in_a_chart(name: str, html: str) -> bool:
    """The name drawn in a chart (a row of a township's comparison chart, a caption), not only in a table."""
    return any(name in re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", f))
               for f in re.findall(r'<figure class="chart">.*?</figure>', html, flags=re.S))


def test_township_and_section_reports(plan_file: Path, data_dir: Path) -> None:
    plan = load_plan(plan_file)
    section = plan.section_of(plan.indicator("SM1"))
    common = {"plan_file": str(plan_file), "data_dir": str(data_dir), "as_of": "2023-12-31"}
    ctx = ReportContext.load("township", township=TOWN, **common)
    html = "".join(str(getattr(township_report, f)(ctx)) for f in (
        "township_cover", "township_overview", "township_indicators", "township_schools"))
    assert "学生体质健康测试平均分" in html
    assert in_a_chart("学生体质健康测试平均分", html)  # charted and compared as a proportion
    ctx = ReportContext.load("section", section=section, **common)
    html = "".join(str(getattr(section_report, f)(ctx)) for f in ("section_cover", "section_summary", "section_tasks"))
    assert "（学校平均值），" in html  # the kind's own sentence
    assert "学生体质健康测试平均分逐月情况" in html or "各苏木镇学生体质健康测试平均分" in html  # its chart


def test_without_the_kind_the_plan_is_refused(plan_file: Path, kind: SchoolMean, tmp_path: Path) -> None:
    KINDS.unregister("school_mean")
    result = run("validate", "--plan", plan_file, tmp_path)
    assert result.exit_code == 2 and "未知指标类型" in result.output and "school_mean" in result.output
    register(kind)



class QuietMean(SchoolMean):
    """The same kind with the opposite report settings: no charts, not a proportion, a headline figure."""

    name = "quiet_mean"
    label = "不作图平均值"
    charted = proportion = False
    headline = True


def test_the_reports_follow_the_kinds_settings(tmp_path: Path) -> None:
    """Each report setting comes from the kind: the same indicator charted and compared as a proportion
    (SchoolMean) or not charted and in the review's headline table (QuietMean)."""
    seen = {}
    for cls in (SchoolMean, QuietMean):
        register(cls())
        try:
            data = yaml.safe_load(PLAN_2023.read_text(encoding="utf-8"))
            data["indicators"].append({"id": "SM1", "task": data["tasks"][0]["id"], "name": "学生体质健康测试平均分",
                                       "kind": cls.name, "level": "school", "target": 80, "due": "2023-12-31"})
            folder = tmp_path / cls.name
            folder.mkdir()
            plan_file = folder / "plan.yaml"
            plan_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
            demo.write(demo.generate(load_plan(plan_file), ROOT / "params" / "demo-reference.yaml"), folder / "data")
            common = {"plan_file": str(plan_file), "data_dir": str(folder / "data"), "as_of": "2023-12-31"}
            ctx = ReportContext.load("township", township=TOWN, **common)
            town = str(township_report.township_indicators(ctx))
            ctx = ReportContext.load("review", **common)
            overall = str(review_report.review_parts(ctx)["overall"])
            seen[cls.name] = (in_a_chart("学生体质健康测试平均分", town), "学生体质健康测试平均分" in overall,
                              cls.label in overall)
        finally:
            KINDS.unregister(cls.name)
    assert seen == {"school_mean": (True, False, False), "quiet_mean": (False, True, True)}
