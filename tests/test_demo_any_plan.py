"""Demo data for any valid plan and reference: the second bureau's (tests/data/district/), and a plan with
every indicator kind at every level it allows.

The district: nine 镇街 in the bureau's own order (凤凰山街道 without schools, written as a mapping entry
``{name: 凤凰山街道, generated_schools: 0}``), a township-level ratio (C1), projects at a school (P1) and a
township (P2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from edureport.core.errors import DemoDataError, PlanError
from edureport.core.status import Status
from edureport.data import demo
from edureport.data.store import load_data
from edureport.metrics.compute import compute
from edureport.plan.load import load_plan

from .conftest import run

DISTRICT = Path(__file__).resolve().parent / "data" / "district"
PLAN = DISTRICT / "plan.yaml"
REFERENCE = DISTRICT / "reference.yaml"
ORDER = ["白马街道", "白马街道·三山片区", "东湖街道", "西岭镇", "南岗镇", "北塘镇", "青石镇",
         "白马区经济技术开发区管理委员会东部示范区", "凤凰山街道"]
NO_SCHOOLS = "凤凰山街道"

# What the district's plan does not have, so that every kind meets every level and comparison it allows.
EXTRA = [
    {"id": "X1", "task": 6, "name": "学校心理健康教师数", "kind": "count", "unit": "人", "comparison": ">=",
     "target": 30, "level": "school", "over_time": "latest"},
    {"id": "X2", "task": 6, "name": "镇街家长学校数", "kind": "count", "unit": "所", "comparison": ">=",
     "target": 20, "level": "township", "over_time": "latest"},
    {"id": "X3", "task": 6, "name": "每校最多兼职教师数", "kind": "count", "unit": "人", "comparison": ">=",
     "target": 3, "level": "school", "aggregate": "max", "over_time": "latest"},
    {"id": "X4", "task": 6, "name": "每校校本培训次数", "kind": "count", "unit": "次", "comparison": ">",
     "target": 2, "level": "school", "aggregate": "min"},
    {"id": "X5", "task": 6, "name": "全区教研活动次数", "kind": "count", "unit": "次", "comparison": "==",
     "target": 10, "level": "banner"},
    {"id": "X6", "task": 6, "name": "全区巡回讲座次数", "kind": "count", "unit": "次", "comparison": ">",
     "target": 7, "level": "banner"},
    {"id": "X7", "task": 4, "name": "镇街大班额比例", "kind": "ratio", "unit": "%", "comparison": "<=", "target": 4,
     "numerator": "大班额班级数", "denominator": "班级总数", "level": "township"},
    {"id": "X8", "task": 4, "name": "寄宿制学校占比", "kind": "ratio", "unit": "%", "comparison": "==", "target": 50,
     "numerator": "寄宿学校数", "denominator": "学校数", "level": "school"},
    {"id": "X9", "task": 7, "name": "镇街学生近视率", "kind": "trend", "unit": "%", "comparison": "<baseline",
     "baseline_year": 2023, "numerator": "近视学生数", "denominator": "筛查学生数", "level": "township"},
    {"id": "X10", "task": 8, "name": "镇街安全预案修订", "kind": "milestone", "level": "township",
     "aggregate": "all", "due": dt.date(2024, 9, 30)},
    {"id": "X11", "task": 8, "name": "各校安全自查完成", "kind": "milestone", "level": "school", "aggregate": "any",
     "due": dt.date(2024, 6, 30)},
    {"id": "X12", "task": 2, "name": "思政课教师占比（点名学校）", "kind": "ratio", "unit": "%", "comparison": ">=",
     "target": 30, "numerator": "思政课教师数", "denominator": "教师总数", "level": "school",
     "entities": ["白马第一中学", "西岭小学"]},
]


def plan_file(tmp_path: Path, extra: list[dict[str, Any]] | None = None) -> Path:
    """The district's plan (with ``extra`` indicators), loadable by this checkout: without the two
    label fields if the plan model does not know them yet."""
    text = PLAN.read_text(encoding="utf-8")
    if not extra:
        try:
            load_plan(PLAN)
            return PLAN
        except PlanError:
            pass
    data = yaml.safe_load(text)
    data["indicators"] += extra or []
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        load_plan(path)
    except PlanError:
        for key in ("region_label", "department_label"):
            data.pop(key, None)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The district's demo data made by the command with its defaults: (plan file, data folder)."""
    root = tmp_path_factory.mktemp("district-demo")
    plan = plan_file(root)
    made = run("demo-data", root / "data", "--plan", plan, "--reference", REFERENCE)
    assert made.exit_code == 0, made.output + made.stderr
    return plan, root / "data"


def _csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_district_demo_covers_every_indicator_and_validates(district: tuple[Path, Path]) -> None:
    plan_path, data = district
    result = run("validate", data, "--plan", plan_path)
    assert result.exit_code == 0, result.output + result.stderr
    plan = load_plan(plan_path)
    ds = load_data(data, plan)
    seen = set(ds.observations["indicator_id"].astype(str))
    assert seen == {i.id for i in plan.indicators if i.kind != "project"}
    # C1 is a township-level ratio: one row per 镇街 and month, figures from its kindergartens
    c1 = ds.observations[ds.observations["indicator_id"].astype(str) == "C1"]
    assert sorted(set(c1["township"].astype(str))) == sorted(ORDER) and (c1["school_id"].astype(str) == "").all()
    assert len(c1) == len(ORDER) * 12
    assert (c1["numerator"] <= c1["denominator"]).all() and c1["denominator"].sum() > 0
    kindergartens = ds.schools[ds.schools["stage"] == "幼儿园"]["township"].nunique()
    assert (c1.groupby("township", observed=True)["denominator"].max() > 0).sum() == kindergartens
    # projects: one names a school, one a 镇街, one neither
    projects = ds.projects.drop_duplicates("project_id").set_index("project_id")
    assert set(projects.index) == {"P1", "P2", "P3"}
    school = ds.schools.set_index("name").loc["白马第二小学"]
    assert projects.loc["P1", "school_id"] == school["school_id"] and projects.loc["P1", "township"] == "白马街道"
    assert projects.loc["P2", "school_id"] == "" and projects.loc["P2", "township"] == "白马街道·三山片区"
    assert projects.loc["P3", "township"] == ""
    year_end = compute(ds, dt.date(2024, 12, 31))
    assert not [r for r in year_end if r.status is Status.NO_DATA]


def test_units_in_reference_order_one_without_schools(district: tuple[Path, Path]) -> None:
    _, data = district
    towns = _csv(data, "townships")
    assert towns.iloc[:, 0].tolist() == ORDER  # all of them, in the reference's order (not the plan's first)
    schools = _csv(data, "schools")
    by_town = schools.groupby(schools.columns[2], sort=False).size()
    assert NO_SCHOOLS not in by_town.index
    assert list(by_town.index) == ORDER[:-1] and (by_town == 8).all()


def test_per_school_latest_counts_add_up_to_the_target(tmp_path: Path) -> None:
    plan = load_plan(plan_file(tmp_path, EXTRA))
    for seed in (1, 2, 3):
        behind = demo.shortfall_ids(plan, seed)
        obs = demo.generate(plan, REFERENCE, seed=seed)["observations"]
        obs.columns = ["period", "school_id", "township", "indicator_id", *obs.columns[4:]]
        last = obs[obs["period"] == "2024-12"]
        for ind_id, target in (("X1", 30), ("X2", 20)):
            values = last[last["indicator_id"] == ind_id].iloc[:, 4].astype(int)
            low = 0.6 * target if ind_id in behind else target
            assert low <= values.sum() <= target, (seed, ind_id, values.sum())
            assert values.max() < target  # no unit holds the county's whole target
        e2 = last[last["indicator_id"] == "E2"].iloc[:, 4].astype(int)  # min over schools: each has its own
        assert e2.nunique() > 1 and len(e2) == 64
        assert (e2 >= 2).mean() > 0.7 if "E2" in behind else (e2 >= 2).all()


def test_every_kind_at_every_level_is_plausible(tmp_path: Path) -> None:
    path = plan_file(tmp_path, EXTRA)
    plan = load_plan(path)
    levels = {(i.kind, i.level) for i in plan.indicators}
    assert {("ratio", "township"), ("trend", "township"), ("count", "school"), ("milestone", "school"),
            ("count", "township"), ("milestone", "township")} <= levels
    for seed in (1, 4):
        data = tmp_path / f"d{seed}"
        result = run("demo-data", data, "--plan", path, "--reference", REFERENCE, "--seed", seed)
        assert result.exit_code == 0, result.output + result.stderr
        ds = load_data(data, plan)
        assert set(ds.observations["indicator_id"].astype(str)) == {i.id for i in plan.indicators
                                                                     if i.kind != "project"}
        behind = demo.shortfall_ids(plan, seed)
        for r in compute(ds, dt.date(2024, 12, 31)):
            if r.indicator_id == "X8":  # an exact rate: as near as whole numbers allow
                assert r.actual is not None and abs(r.actual - 50) < 1
            elif r.indicator_id not in behind:
                assert r.status is Status.DONE, (seed, r.indicator_id, r.status, r.actual, r.target, r.detail)
        # a 镇街 with schools has its own township-level figures
        town = compute(ds, dt.date(2024, 12, 31), level="township", entity="西岭镇")
        assert not [r.indicator_id for r in town if r.status is Status.NO_DATA]


def test_until_stops_at_the_month(district: tuple[Path, Path], tmp_path: Path) -> None:
    plan_path, whole = district
    result = run("demo-data", tmp_path / "june", "--plan", plan_path, "--reference", REFERENCE, "--until", "2024-06")
    assert result.exit_code == 0, result.output + result.stderr
    assert run("validate", tmp_path / "june", "--plan", plan_path).exit_code == 0
    june = _csv(tmp_path / "june", "observations")
    assert june.iloc[:, 0].max() == "2024-06" and june.iloc[:, 0].min() == "2024-01"
    assert _csv(tmp_path / "june", "projects").iloc[:, 0].max() == "2024-06"
    assert _csv(tmp_path / "june", "activities").iloc[:, 0].max() <= "2024-06-30"
    year = _csv(whole, "observations")
    pd.testing.assert_frame_equal(june, year[year.iloc[:, 0] <= "2024-06"].reset_index(drop=True))


@pytest.mark.parametrize("month", ["2023-12", "2025-01", "2024-13", "六月"])
def test_until_outside_the_year_is_refused(month: str, tmp_path: Path) -> None:
    plan_path = plan_file(tmp_path)
    result = run("demo-data", tmp_path / "x", "--plan", plan_path, "--reference", REFERENCE, "--until", month)
    assert result.exit_code == 2
    assert "--until" in result.stderr and ("工作要点年度" in result.stderr or "年月" in result.stderr)
    assert not (tmp_path / "x").exists()


def test_townships_beyond_and_below_the_reference(tmp_path: Path) -> None:
    plan_path = plan_file(tmp_path)
    big = run("demo-data", tmp_path / "big", "--plan", plan_path, "--reference", REFERENCE, "--townships", 12)
    assert big.exit_code == 0, big.output + big.stderr
    assert _csv(tmp_path / "big", "townships").iloc[:, 0].tolist() == [*ORDER, "示例镇001", "示例镇002", "示例镇003"]
    assert run("validate", tmp_path / "big", "--plan", plan_path).exit_code == 0
    # fewer: the units the plan needs (P2's 镇街, P1's school's) stay, the rest follow in the reference's order
    few = run("demo-data", tmp_path / "few", "--plan", plan_path, "--reference", REFERENCE, "--townships", 4)
    assert few.exit_code == 0, few.output + few.stderr
    assert _csv(tmp_path / "few", "townships").iloc[:, 0].tolist() == ORDER[:4]
    too_few = run("demo-data", tmp_path / "x", "--plan", plan_path, "--reference", REFERENCE, "--townships", 1)
    assert too_few.exit_code == 2 and "至少为2" in too_few.stderr and "镇街" in too_few.stderr


def test_reference_entries_are_checked(tmp_path: Path) -> None:
    plan = load_plan(plan_file(tmp_path))
    ref = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    for bad, words in (({"name": NO_SCHOOLS, "generated_schools": -1}, "不小于0的整数"),
                       ({"name": NO_SCHOOLS, "schools": 0}, "每项应为名称"), ("白马街道", "出现了两次")):
        ref["townships"][-1] = bad
        path = tmp_path / "ref.yaml"
        path.write_text(yaml.safe_dump(ref, allow_unicode=True), encoding="utf-8")
        with pytest.raises(DemoDataError, match=words):
            demo.generate(plan, path)
    # a unit given its own number of generated schools
    ref["townships"][-1] = {"name": NO_SCHOOLS, "generated_schools": 2}
    path.write_text(yaml.safe_dump(ref, allow_unicode=True), encoding="utf-8")
    schools = demo.generate(plan, path)["schools"]
    assert (schools.iloc[:, 2] == NO_SCHOOLS).sum() == 2
