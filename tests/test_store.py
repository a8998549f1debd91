"""Validated tables are cached once by content hash; reports read only their subset."""

from __future__ import annotations

from pathlib import Path

import pytest

from edureport import store
from edureport.plan import Plan
from edureport.store import fingerprint, load_data, load_subset

from .conftest import DEMO, tree_digest


def test_second_load_comes_from_the_cache(mini_data: Path, mini_plan: Plan, monkeypatch: pytest.MonkeyPatch,
                                          private_cache: Path) -> None:
    first = load_data(mini_data, mini_plan)
    assert (private_cache / first.fingerprint / "meta.json").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("validated again although nothing changed")

    monkeypatch.setattr("edureport.validate.validate_dir", boom)
    second = load_data(mini_data, mini_plan)
    assert second.fingerprint == first.fingerprint
    assert second.observations["numerator"].sum() == first.observations["numerator"].sum()


def test_fingerprint_follows_content(mini_data: Path, mini_plan: Plan) -> None:
    before = fingerprint(mini_data, mini_plan)
    (mini_data / "notes.txt").write_text("not an input", encoding="utf-8")
    assert fingerprint(mini_data, mini_plan) == before
    path = mini_data / "observations.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2024-02,,东镇,A2,3", "2024-02,,东镇,A2,4"),
                    encoding="utf-8")
    assert fingerprint(mini_data, mini_plan) != before


def test_loading_never_touches_the_data_folder(plan: Plan) -> None:
    before = tree_digest(DEMO)
    load_data(DEMO, plan)
    assert tree_digest(DEMO) == before


def test_subset_by_township(plan: Plan) -> None:
    full = load_data(DEMO, plan)
    sub = load_subset(DEMO, plan, township="图克镇")
    assert set(sub.observations["township"].astype(str)) <= {"图克镇", ""}
    assert len(sub.observations) < len(full.observations) / 3
    assert len(sub.schools) == len(full.schools)  # the registry stays whole (shared targets need totals)
    assert sub.fingerprint == full.fingerprint


def test_subset_by_section(plan: Plan) -> None:
    sub = load_subset(DEMO, plan, section="五")
    ids = {i.id for i in plan.indicators_in("五")}
    assert set(sub.observations["indicator_id"].astype(str)) == ids - {
        i.id for i in plan.indicators_in("五") if i.kind == "project"}
    assert set(sub.activities["task"]) <= {t.id for t in plan.tasks_in("五")}


def test_subset_figures_equal_full_figures(plan: Plan) -> None:
    import datetime as dt

    from edureport.metrics import compute

    for as_of in (dt.date(2023, 9, 30), dt.date(2023, 12, 31)):
        full = compute(load_data(DEMO, plan), as_of, "township", "乌审召镇")
        sub = compute(load_subset(DEMO, plan, township="乌审召镇"), as_of, "township", "乌审召镇")
        assert [(r.indicator_id, r.target, r.actual, r.status) for r in sub] == \
            [(r.indicator_id, r.target, r.actual, r.status) for r in full]


def test_half_written_cache_is_never_used(mini_data: Path, mini_plan: Plan, private_cache: Path) -> None:
    key = fingerprint(mini_data, mini_plan)
    (private_cache / key).mkdir(parents=True)  # e.g. a killed writer left an empty folder
    ds = load_data(mini_data, mini_plan)
    assert len(ds.observations) == 13


def test_frames_are_listed_once() -> None:
    assert set(store.FRAMES) == {"townships", "schools", "observations", "baselines", "projects", "activities"}
