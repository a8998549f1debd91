"""Input keys: a township report's key follows its own rows and the banner-wide rows, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from edureport.batch.execute import notebooks_dir
from edureport.batch.jobs import select_jobs
from edureport.batch.keys import job_key
from edureport.data.store import load_data
from edureport.metrics.results_cache import Shown
from edureport.plan.model import Plan

COMMON = {"as_of": "2024-12-31", "data_dir": "", "plan_file": "plan.yaml", "commentary_file": ""}


def _keys(data_dir: Path, plan: Plan) -> dict[str, str]:
    ds = load_data(data_dir, plan)
    jobs = select_jobs(plan, list(ds.townships["township"]), None, ds.schools)
    return {j.key: job_key(j, ds, common=COMMON, notebook=notebooks_dir() / j.notebook, shown_results=Shown("same"))
            for j in jobs}


@pytest.mark.parametrize(("old", "new", "changed"), [
    ("2024-05,,西镇,A2,1,,", "2024-05,,西镇,A2,2,,", {"township:西镇"}),  # one township's row
    ("2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,4,,", {"township:东镇"}),
    ("2024-05,,,A3,1,,", "2024-06,,,A3,1,,", {"township:东镇", "township:西镇"}),  # a banner-wide row
])
def test_township_keys_follow_their_rows(mini_data: Path, mini_plan: Plan, old: str, new: str,
                                         changed: set[str]) -> None:
    before = _keys(mini_data, mini_plan)
    path = mini_data / "observations.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    after = _keys(mini_data, mini_plan)
    moved = {k for k in before if before[k] != after[k] and k.startswith("township:")}
    assert moved == changed
    assert before["review"] != after["review"]


@pytest.mark.parametrize(("name", "old", "new", "changed"), [
    ("observations.csv", "2024-06,S1,,A1,,2,4", "2024-06,S1,,A1,,3,4", {"school:S1"}),  # its own figure
    ("observations.csv", "2024-07,S3,,A4,1,,", "2024-07,S3,,A4,2,,", {"school:S3"}),
    ("activities.csv", "党员教师培训,40", "党员教师培训,41", {"school:S1"}),  # its activity
    ("observations.csv", "2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,4,,", set()),  # a township's row
])
def test_school_keys_follow_their_own_rows(mini_data: Path, mini_plan: Plan, name: str, old: str, new: str,
                                           changed: set[str]) -> None:
    """A school report's own rows are in its key (its peers' figures are, through ``Shown.schools``:
    tests/test_school.py rebuilds them)."""
    before = _keys(mini_data, mini_plan)
    path = mini_data / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    after = _keys(mini_data, mini_plan)
    assert {k for k in before if before[k] != after[k] and k.startswith("school:")} == changed
