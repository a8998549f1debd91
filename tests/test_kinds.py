"""The indicator-kind registry: every kind is checked the same way; a new kind is one registration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from edureport.core.errors import UnknownKindError
from edureport.core.status import Outcome, Status, elapsed_fraction, judge
from edureport.kinds import KINDS, IndicatorKind, get_kind, register
from edureport.plan.load import load_plan
from edureport.plan.model import Indicator

from .conftest import MINI

SAMPLE = {"id": "X1", "task": 1, "name": "样例", "level": "school", "due": dt.date(2024, 12, 31),
          "target": 1.0, "numerator": "甲", "denominator": "乙", "projects": ("Q1",), "target_stage": "在建",
          "baseline_year": 2023}


@pytest.mark.parametrize("name", sorted(KINDS.keys()))
def test_every_kind_is_complete(name: str) -> None:
    kind = get_kind(name)
    assert kind.name == name and kind.label
    fields = {**SAMPLE, "kind": name, **kind.defaults}
    if not kind.needs_target:
        fields.pop("target")
    if name == "project":
        fields["level"] = "banner"
    if name != "trend":
        fields.pop("baseline_year")
    assert kind.check(fields) == [], kind.check(fields)
    assert kind.target_text(Indicator(**fields))
    bad = {**fields, "comparison": "~"}
    assert any(f == "comparison" for f, _ in kind.check(bad))


def test_unknown_kind() -> None:
    with pytest.raises(UnknownKindError) as info:
        get_kind("percent")
    assert "percent" in str(info.value) and "ratio" in str(info.value)


def test_a_new_kind_is_one_registration(tmp_path: Path) -> None:
    class Checkbox(IndicatorKind):
        name = "checkbox"
        label = "勾选"
        defaults = {"comparison": "==", "aggregate": "sum", "over_time": "latest"}
        comparisons = ("==",)
        needs_target = False

        def compute(self, scope):
            return Outcome(actual=1.0, target=1.0, met=True)

    register(Checkbox())
    try:
        data = yaml.safe_load((MINI / "plan.yaml").read_text(encoding="utf-8"))
        data["indicators"].append({"id": "C1", "task": 1, "name": "新类型", "kind": "checkbox", "level": "banner"})
        path = tmp_path / "plan.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert load_plan(path).indicator("C1").kind == "checkbox"
    finally:
        KINDS.unregister("checkbox")


@pytest.mark.parametrize(
    ("outcome", "as_of", "expected"),
    [
        (Outcome(1, 1, met=True), dt.date(2024, 3, 1), Status.DONE),
        (Outcome(0, 1, on_track=True), dt.date(2024, 3, 1), Status.ON_TRACK),
        (Outcome(0, 1, on_track=False), dt.date(2024, 3, 1), Status.LAGGING),
        (Outcome(0, 1, on_track=True), dt.date(2024, 7, 1), Status.LAGGING),  # overdue
        (Outcome(0, 1, on_track=True), dt.date(2024, 12, 31), Status.MISSED),  # year over
        (Outcome(2, 0, irrecoverable=True), dt.date(2024, 3, 1), Status.MISSED),
        (Outcome(None, 1, has_data=False), dt.date(2024, 3, 1), Status.NO_DATA),
    ],
)
def test_calendar_rule(outcome: Outcome, as_of: dt.date, expected: Status) -> None:
    assert judge(outcome, as_of=as_of, due=dt.date(2024, 6, 30), year_end=dt.date(2024, 12, 31)) is expected


@pytest.mark.parametrize(
    ("as_of", "fraction"),
    [(dt.date(2024, 1, 1), 0.0), (dt.date(2024, 7, 1), 0.5), (dt.date(2025, 3, 1), 1.0), (dt.date(2023, 5, 1), 0.0)],
)
def test_elapsed_fraction(as_of: dt.date, fraction: float) -> None:
    assert elapsed_fraction(dt.date(2024, 1, 1), dt.date(2024, 12, 31), as_of) == pytest.approx(fraction, abs=0.01)
