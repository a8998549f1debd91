"""Validated tables are cached once by content hash; reports read only their subset."""

from __future__ import annotations

from pathlib import Path

import pytest

from edureport.data import store
from edureport.data.store import fingerprint, load_data, load_subset
from edureport.plan.model import Plan

from .conftest import DEMO, tree_digest


def test_second_load_comes_from_the_cache(mini_data: Path, mini_plan: Plan, monkeypatch: pytest.MonkeyPatch,
                                          private_cache: Path) -> None:
    first = load_data(mini_data, mini_plan)
    assert (private_cache / first.fingerprint / "meta.json").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("validated again although nothing changed")

    monkeypatch.setattr("edureport.data.validate.validate_dir", boom)
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

    from edureport.metrics.compute import compute

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


def test_file_digests_are_remembered_by_stat_and_follow_every_change(tmp_path: Path, private_cache: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered digest is used only while size, mtime, ctime and inode are unchanged; a file
    changed just now is hashed every time (its times could repeat within one clock tick)."""
    import hashlib
    import os

    from edureport.data.store import file_digest

    f = tmp_path / "observations.csv"
    f.write_bytes(b"a,b\n1,2\n")
    assert file_digest(f) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert not (private_cache / "digests").exists(), "fresh file: not remembered"
    monkeypatch.setattr(store, "FRESH_NS", -10**12)  # as if the file were older than the racy window
    assert file_digest(f) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert len(list((private_cache / "digests").iterdir())) == 1
    st = f.stat()
    f.write_bytes(b"a,b\n1,3\n")  # same size, new content, and the old mtime put back (finding 6)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (f.stat().st_size, f.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert file_digest(f) == hashlib.sha256(b"a,b\n1,3\n").hexdigest()


def test_cache_keeps_rows_by_township_so_a_subset_skips_row_groups(plan: Plan, private_cache: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(store, "ROW_GROUP", 500)
    fresh = load_data(DEMO, plan)
    cached = load_data(DEMO, plan)
    pd.testing.assert_frame_equal(fresh.observations, cached.observations, check_dtype=False)
    assert cached.observations["township"].astype(str).is_monotonic_increasing
    path = next(private_cache.rglob("observations.parquet"))
    assert not pa.types.is_dictionary(pq.read_schema(path).field("township").type), "pyarrow prunes only plain text"
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.names.index("township")
    ranges = [(g.column(col).statistics.min, g.column(col).statistics.max)
              for g in (meta.row_group(i) for i in range(meta.num_row_groups))]
    needed = [r for r in ranges if r[0] <= "图克镇" <= r[1] or r[0] == ""]
    assert meta.num_row_groups >= 10 and len(needed) <= meta.num_row_groups // 2, ranges
