"""Demo data: deterministic, complete, realistic enough to show red and amber, scalable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import yaml

from edureport.core.paths import demo_reference_file
from edureport.core.status import Status
from edureport.data import demo
from edureport.data.store import load_data
from edureport.metrics.compute import compute, status_summary
from edureport.plan.model import Plan

from .conftest import DEMO, PLAN_2023, run, tree_digest


def test_committed_demo_is_what_the_generator_makes(tmp_path: Path) -> None:
    result = run("demo-data", tmp_path / "demo", "--plan", PLAN_2023)
    assert result.exit_code == 0, result.output
    assert tree_digest(tmp_path / "demo") == tree_digest(DEMO), "regenerate data/demo with `edureport demo-data`"


def test_same_seed_same_bytes_other_seed_other_data(plan: Plan) -> None:
    a = demo.generate(plan, demo_reference_file(), seed=5)
    b = demo.generate(plan, demo_reference_file(), seed=5)
    c = demo.generate(plan, demo_reference_file(), seed=6)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["observations"].equals(c["observations"])


def test_demo_covers_the_plan(plan: Plan) -> None:
    ds = load_data(DEMO, plan)
    assert len(ds.townships) == 6 and len(ds.schools) >= 40
    named = {"高级中学", "第一中学", "第四小学", "查汗淖尔学校", "无定河小学", "沙尔利格小学", "呼吉尔特小学",
             "第一幼儿园", "第四幼儿园", "第五幼儿园", "图克幼儿园", "沙尔利格幼儿园"}
    assert named <= set(ds.schools["name"])
    assert set(ds.schools["ownership"]) == {"公办", "民办"}
    covered = set(ds.observations["indicator_id"].astype(str))
    assert {i.id for i in plan.indicators if i.kind != "project"} <= covered
    assert set(ds.projects["project_id"]) == {p.id for p in plan.projects}
    assert sorted(set(ds.observations["period"])) == [f"2023-{m:02d}" for m in range(1, 13)]
    assert len(ds.activities) > 50


def test_demo_shows_shortfalls(plan: Plan) -> None:
    ds = load_data(DEMO, plan)
    year_end = status_summary(compute(ds, dt.date(2023, 12, 31)))
    mid_year = status_summary(compute(ds, dt.date(2023, 6, 30)))
    assert year_end[Status.MISSED] >= 5 and year_end[Status.DONE] > 50
    assert mid_year[Status.LAGGING] >= 5 and mid_year[Status.ON_TRACK] > 20
    assert year_end[Status.NO_DATA] == 0
    late = [r for r in compute(ds, dt.date(2023, 12, 31)) if r.kind == "project" and "逾期" in r.detail]
    assert late, "one project runs late"


def test_scales_up(plan: Plan, tmp_path: Path) -> None:
    result = run("demo-data", tmp_path / "big", "--townships", 60, "--schools-per-township", 5, "--seed", 3)
    assert result.exit_code == 0, result.output
    ds = load_data(tmp_path / "big", plan)
    assert len(ds.townships) == 60 and 300 <= len(ds.schools) <= 305  # 嘎鲁图镇 keeps its 7 named schools
    assert len(ds.observations) > 40_000


def test_too_few_townships_is_a_usage_error(tmp_path: Path) -> None:
    result = run("demo-data", tmp_path / "x", "--townships", 3)
    assert result.exit_code == 2 and "至少为6" in result.stderr
    assert not (tmp_path / "x").exists()


def test_demo_for_the_second_plan(mini_plan: Plan, tmp_path: Path) -> None:
    ref = tmp_path / "ref.yaml"
    ref.write_text(
        "townships: [东镇, 西镇]\nschools:\n- {name: 东镇中学, township: 东镇, stage: 初中, ownership: 公办}\n"
        "- {name: 西镇小学, township: 西镇, stage: 小学, ownership: 公办}\n"
        "generated_schools:\n- {suffix: 小学, stage: 小学, ownership: 公办}\n", encoding="utf-8")
    demo.write(demo.generate(mini_plan, ref, schools_per_township=3), tmp_path / "d")
    ds = load_data(tmp_path / "d", mini_plan)
    assert len(compute(ds, dt.date(2024, 12, 31))) == len(mini_plan.indicators)


def test_reference_units_as_mappings_change_nothing(plan: Plan, tmp_path: Path) -> None:
    """A unit written ``{name: 图克镇}`` is the plain name; ``generated_schools`` sets that unit's own number."""
    ref = yaml.safe_load(demo_reference_file().read_text(encoding="utf-8"))
    plain = demo.generate(plan, demo_reference_file())
    ref["townships"] = [{"name": t} for t in ref["townships"]]
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(ref, allow_unicode=True), encoding="utf-8")
    for name, frame in demo.generate(plan, tmp_path / "ref.yaml").items():
        pd.testing.assert_frame_equal(frame, plain[name])
    ref["townships"][2] = {"name": "图克镇", "generated_schools": 0}  # keeps only its three named schools
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(ref, allow_unicode=True), encoding="utf-8")
    schools = demo.generate(plan, tmp_path / "ref.yaml")["schools"]
    assert (schools.iloc[:, 2] == "图克镇").sum() == 3 and len(schools) == len(plain["schools"]) - 5
