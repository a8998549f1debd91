"""Every township's results are computed once per data set and date, stored, and read back unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from edureport.data.store import load_data, load_subset
from edureport.metrics.compute import compute
from edureport.metrics.results_cache import BANNER, all_results, results_file
from edureport.metrics.scopes import scope_index
from edureport.plan.model import Plan

from .conftest import DEMO, PLAN_2023

AS_OF = dt.date(2023, 9, 30)


def test_stored_table_reads_back_equal(plan: Plan) -> None:
    data = load_data(DEMO, plan)
    first = all_results(data, AS_OF)
    path = results_file(data, AS_OF)
    assert path is not None and path.is_file()
    assert list(first) == [BANNER, *data.townships["township"]]
    assert first[BANNER] == compute(data, AS_OF)
    assert first["图克镇"] == compute(data, AS_OF, "township", "图克镇")
    again = all_results(load_data(DEMO, plan), AS_OF)  # a new data set object: read from the file
    assert again == first


def test_subset_reads_the_shared_table_without_loading_everything(plan: Plan,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    whole = all_results(load_data(DEMO, plan), AS_OF)
    subset = load_subset(DEMO, plan, township="无定河镇")
    assert subset.is_subset

    def never():
        raise AssertionError("the whole data was loaded although the table was stored")

    assert all_results(subset, AS_OF, whole=never) == whole


def test_subset_computes_from_the_whole_data_when_nothing_is_stored(plan: Plan) -> None:
    subset = load_subset(DEMO, plan, section="二")
    with pytest.raises(ValueError):
        all_results(subset, AS_OF)
    got = all_results(subset, AS_OF, whole=lambda: load_data(DEMO, plan))
    assert got[BANNER] == compute(load_data(DEMO, plan), AS_OF)


@pytest.mark.parametrize("as_of", [dt.date(2023, 3, 31), dt.date(2023, 12, 31)])
def test_each_date_has_its_own_table(plan: Plan, as_of: dt.date) -> None:
    data = load_data(DEMO, plan)
    all_results(data, AS_OF)
    got = all_results(data, as_of)
    assert results_file(data, as_of) != results_file(data, AS_OF)
    assert got["乌审召镇"] == compute(data, as_of, "township", "乌审召镇")


def test_a_damaged_table_is_computed_again(plan: Plan) -> None:
    data = load_data(DEMO, plan)
    first = all_results(data, AS_OF)
    path = results_file(data, AS_OF)
    assert path is not None
    path.write_bytes(b"PAR1 truncated")
    assert all_results(load_data(DEMO, plan), AS_OF) == first
    assert path.stat().st_size > 100


def test_scope_index_is_built_once_per_data_set(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_data(DEMO, plan)
    index = scope_index(data)
    assert scope_index(data) is index
    calls: list[int] = []
    monkeypatch.setattr("edureport.metrics.scopes.ScopeIndex.__init__",
                        lambda self, d: calls.append(1))  # would break compute if called again
    compute(data, AS_OF, "township", "图克镇")
    compute(data, AS_OF, "school", str(data.schools["school_id"].iloc[0]))
    assert calls == []


def test_data_without_fingerprint_is_not_stored(plan: Plan, private_cache: Path) -> None:
    data = load_data(DEMO, plan)
    data.fingerprint = ""
    assert results_file(data, AS_OF) is None
    assert all_results(data, AS_OF)[BANNER] == compute(data, AS_OF)
    assert not list(private_cache.rglob("results-*.parquet"))


def test_report_reads_comparisons_column_wise_with_the_same_figures(plan: Plan) -> None:
    """``township_values`` and ``done_rates`` (read from the table's columns) agree with the objects."""
    from edureport.core.status import Status
    from edureport.report.context import ReportContext

    ctx = ReportContext.load("township", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of=AS_OF.isoformat(),
                             township="图克镇")
    objects = all_results(load_data(DEMO, plan), AS_OF)
    towns = list(ctx.data.townships["township"])
    for ind in plan.indicators:
        have = [t for t in towns if any(r.indicator_id == ind.id for r in objects[t])]
        want = [next(r.actual for r in objects[t] if r.indicator_id == ind.id) for t in have]
        assert ctx.township_values(ind.id) == (have, want), ind.id
    rates = {t: sum(r.status is Status.DONE for r in rs) / len(rs) if rs else 0.0
             for t, rs in objects.items() if t != BANNER}
    assert ctx.done_rates() == pytest.approx(rates)
    assert ctx.results("township", "图克镇") == objects["图克镇"]
    assert ctx.banner_results == objects[BANNER]


def test_applicable_units_are_shared_by_indicators_with_the_same_rule(plan: Plan) -> None:
    from edureport.data.entities import applicable

    data = load_data(DEMO, plan)
    index = scope_index(data)
    for ind in plan.indicators:
        want = applicable(ind, data.schools, data.townships)
        keys, total = index.applicable(ind, "banner", "")
        assert (keys, total) == (list(want["entity"]), len(want)), ind.id
        mine = want[want["township"] == "图克镇"]["entity"].tolist()
        assert index.applicable(ind, "township", "图克镇")[0] == mine, ind.id
    rules = {(i.level, i.stages, i.entities) for i in plan.indicators}
    assert len(index._applicable) == len(rules) < len(plan.indicators)
