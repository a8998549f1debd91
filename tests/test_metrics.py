"""Indicator values and statuses against figures computed by hand from tests/data/mini (see plan.yaml)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from edureport.core.status import Status, cutoff_period
from edureport.data.store import load_data
from edureport.metrics.compute import IndicatorResult, compute, status_summary
from edureport.plan.model import Plan

D = dt.date


def results(mini_data: Path, plan: Plan, as_of: dt.date, level: str = "banner",
            entity: str = "") -> dict[str, IndicatorResult]:
    return {r.indicator_id: r for r in compute(load_data(mini_data, plan), as_of, level, entity)}


def test_ratio_is_sum_over_sum_not_mean_of_ratios(mini_data: Path, mini_plan: Plan) -> None:
    r = results(mini_data, mini_plan, D(2024, 6, 30))["A1"]
    # S1 latest 2/4, S2 latest (January) 3/18: (2+3)/(4+18) = 22.73%; the mean of ratios would be 33.3%.
    assert r.actual == pytest.approx(5 / 22 * 100)
    assert r.detail == "5/22"
    # Start 4/20 = 20% in January (no baseline year): the straight path from 20% on 31 Jan (the day
    # January's figures count) to 40% on 31 Dec expects 20 + 20 × 151/335 by 30 Jun.
    assert r.expected == pytest.approx(20 + 20 * 151 / 335)
    assert r.status is Status.LAGGING
    assert r.progress == pytest.approx(22.727 / 40, rel=1e-3)


@pytest.mark.parametrize(
    ("as_of", "ind", "status", "actual"),
    [
        (D(2024, 2, 29), "A3", Status.ON_TRACK, 0),  # milestone not due yet
        (D(2024, 4, 30), "A3", Status.LAGGING, 0),  # due 31 Mar passed, not done: 滞后
        (D(2024, 6, 30), "A3", Status.DONE, 1),  # done in May (late)
        (D(2024, 6, 30), "A4", Status.ON_TRACK, 0),  # no incident yet: only final at the due date
        (D(2024, 7, 31), "A4", Status.MISSED, 1),  # an incident in July: cannot be undone
        (D(2024, 2, 29), "A2", Status.ON_TRACK, 3),  # 3 ≥ floor(8 × 59/365) = 1
        (D(2024, 6, 30), "A2", Status.ON_TRACK, 4),  # 4 ≥ floor(8 × 181/365) = 3
        (D(2024, 12, 31), "A2", Status.MISSED, 6),  # 6 < 8 at year end
        (D(2024, 6, 30), "B1", Status.DONE, 37.5),  # 75/200 against 80/200 = 40% in 2023
        (D(2024, 2, 29), "B1", Status.NO_DATA, None),  # no 2024 screening yet
        (D(2024, 6, 30), "B2", Status.ON_TRACK, 0),  # planned finish 30 Jun: the date itself is in time
        (D(2024, 7, 31), "B2", Status.LAGGING, 0),  # planned finish passed, still 在建
        (D(2024, 9, 30), "B2", Status.DONE, 1),
        (D(2024, 3, 31), "B3", Status.ON_TRACK, 0),  # planned start 1 Apr not reached
        (D(2024, 5, 31), "B3", Status.LAGGING, 0),  # planned start passed, not started
        (D(2024, 12, 31), "B3", Status.MISSED, 0),
        (D(2024, 12, 31), "B4", Status.MISSED, 0),  # S2 held none: the minimum over schools is 0
    ],
)
def test_banner_statuses(mini_data: Path, mini_plan: Plan, as_of: dt.date, ind: str, status: Status,
                         actual: float | None) -> None:
    r = results(mini_data, mini_plan, as_of)[ind]
    assert r.status is status, r
    assert r.actual == (pytest.approx(actual) if actual is not None else None)


@pytest.mark.parametrize(
    ("township", "ind", "target", "actual", "status"),
    [
        ("东镇", "A2", 4, 5, Status.DONE),  # banner 8 shared by 2 townships
        ("西镇", "A2", 4, 1, Status.MISSED),
        ("西镇", "B4", 1, 2, Status.DONE),  # only S3 applies (S4 is a kindergarten)
        ("东镇", "B2", 1, 1, Status.DONE),  # Q1 is at 东镇中学
        ("东镇", "A1", 40, 5 / 22 * 100, Status.MISSED),
    ],
)
def test_township_figures(mini_data: Path, mini_plan: Plan, township: str, ind: str, target: float,
                          actual: float, status: Status) -> None:
    r = results(mini_data, mini_plan, D(2024, 12, 31), "township", township)[ind]
    assert (r.target, r.actual, r.status) == (pytest.approx(target), pytest.approx(actual), status)


def test_not_applicable_indicators_are_left_out(mini_data: Path, mini_plan: Plan) -> None:
    west = results(mini_data, mini_plan, D(2024, 12, 31), "township", "西镇")
    assert "A3" not in west  # banner-level milestone
    assert "B2" not in west  # the canteen project is in 东镇
    assert results(mini_data, mini_plan, D(2024, 12, 31), "township", "西镇")["A1"].status is Status.NO_DATA


def test_school_level(mini_data: Path, mini_plan: Plan) -> None:
    s1 = results(mini_data, mini_plan, D(2024, 12, 31), "school", "S1")
    assert s1["A1"].actual == pytest.approx(50.0)
    assert s1["B1"].actual == pytest.approx(25.0) and s1["B1"].baseline == pytest.approx(30.0)
    assert "A2" not in s1


def test_summary_counts_every_status(mini_data: Path, mini_plan: Plan) -> None:
    summary = status_summary(list(results(mini_data, mini_plan, D(2024, 12, 31)).values()))
    assert list(summary) == [Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED, Status.NO_DATA]
    assert summary == {Status.DONE: 3, Status.ON_TRACK: 0, Status.LAGGING: 0, Status.MISSED: 5, Status.NO_DATA: 0}


@pytest.mark.parametrize(
    ("as_of", "cutoff"),
    [(D(2024, 6, 30), "2024-06"), (D(2024, 6, 29), "2024-05"), (D(2024, 2, 29), "2024-02"), (D(2024, 1, 1), "2023-12")],
)
def test_monthly_figures_count_from_month_end(as_of: dt.date, cutoff: str) -> None:
    assert cutoff_period(as_of) == cutoff


def test_unknown_place_is_a_typed_error(mini_data: Path, mini_plan: Plan) -> None:
    from edureport.core.errors import UnknownEntityError

    with pytest.raises(UnknownEntityError):
        compute(load_data(mini_data, mini_plan), D(2024, 12, 31), "township", "南镇")


def test_status_command(mini_data: Path) -> None:
    from .conftest import MINI, run

    result = run("status", "--data", mini_data, "--plan", MINI / "plan.yaml", "--as-of", "2024-06-30",
                 "--township", "东镇")
    assert result.exit_code == 0, result.output
    assert "东镇：" in result.output and "A1" in result.output
