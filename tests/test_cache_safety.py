"""The cache is verified, never trusted: a flipped byte, a truncation or a missing file in any kind of
cache file gives the correct figures (rebuilt from the source, one warning line), never wrong figures or
a traceback. Builds read one snapshot of the data, whatever is imported meanwhile."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from edureport.batch.build import build
from edureport.data.store import fingerprint, load_data
from edureport.plan.model import Plan

from .conftest import MINI, run

MINI_PLAN = MINI / "plan.yaml"
FILES = ["townships.parquet", "schools.parquet", "observations.parquet", "baselines.parquet", "projects.parquet",
         "activities.parquet", "meta.json"]


def damage(path: Path, how: str) -> None:
    blob = path.read_bytes()
    if how == "flip":  # one bit in the middle of the file
        i = len(blob) // 2
        path.write_bytes(blob[:i] + bytes([blob[i] ^ 0x10]) + blob[i + 1:])
    elif how == "truncate":
        path.write_bytes(blob[: len(blob) * 2 // 3])
    elif how == "delete":
        path.unlink()
    elif how == "folder":  # something else in its place
        path.unlink()
        path.mkdir()
    elif how == "zero-link":  # read naively, a link to /dev/zero never ends
        path.unlink()
        path.symlink_to("/dev/zero")
    elif how == "fifo":  # read naively, a FIFO blocks forever
        path.unlink()
        os.mkfifo(path)


@pytest.mark.parametrize("how", ["flip", "truncate", "delete", "folder", "zero-link", "fifo"])
@pytest.mark.parametrize("name", FILES)
def test_damaged_data_cache_gives_the_same_figures(mini_data: Path, mini_plan: Plan, private_cache: Path,
                                                   name: str, how: str) -> None:
    args = ("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30")
    first = run(*args)
    assert first.exit_code == 0 and "警告" not in first.stderr
    damage(private_cache / fingerprint(mini_data, mini_plan) / name, how)
    second = run(*args)
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout, "the same figures"
    assert second.stderr.count("警告：") == 1 and "缓存" in second.stderr, second.stderr
    third = run(*args)
    assert third.stdout == first.stdout and third.stderr == "", "the cache is whole again"


@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
def test_damaged_shared_results_are_computed_again(mini_data: Path, mini_plan: Plan, how: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from edureport.metrics.results_cache import results_file, shared_table

    data = load_data(mini_data, mini_plan)
    when = dt.date(2024, 6, 30)
    fresh = shared_table(data, when)
    damage(results_file(data, when), how)
    with caplog.at_level(logging.WARNING, logger="edureport"):
        again = shared_table(load_data(mini_data, mini_plan), when)
    assert again.equals(fresh)
    assert len([r for r in caplog.records if "缓存" in r.getMessage()]) == (0 if how == "delete" else 1)


@pytest.mark.parametrize("how", ["flip", "truncate", "zero-link", "folder"])
def test_damaged_font_subset_is_made_again(private_cache: Path, how: str) -> None:
    from edureport.core.fonts import SANS, subset_font

    good = subset_font(SANS, "图克镇工作进展")
    (path,) = (private_cache / "fonts").iterdir()
    damage(path, how)
    assert subset_font(SANS, "图克镇工作进展") == good
    from edureport.core import cachefile

    assert cachefile.read(path) == good, "stored again, whole"


@pytest.mark.parametrize("how", ["flip", "truncate", "folder", "zero-link", "fifo"])
def test_damaged_remembered_digest_is_hashed_again(tmp_path: Path, private_cache: Path, how: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from edureport.data import store

    monkeypatch.setattr(store, "FRESH_NS", -10**12)
    f = tmp_path / "observations.csv"
    f.write_bytes(b"a,b\n1,2\n")
    truth = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert store.file_digest(f) == truth
    (memo,) = (private_cache / "digests").iterdir()
    damage(memo, how)
    assert store.file_digest(f) == truth


def test_envelope_refuses_every_single_bit_flip() -> None:
    from edureport.core import cachefile

    payload = b"PAR1" + bytes(range(200)) + b"PAR1"
    blob = cachefile.pack(payload)
    assert cachefile.unpack(blob) == payload
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            bad = blob[:i] + bytes([blob[i] ^ bit]) + blob[i + 1:]
            assert cachefile.unpack(bad) is None, (i, bit)
    for n in range(len(blob)):
        assert cachefile.unpack(blob[:n]) is None


def test_damaged_results_cache_in_a_build_gives_the_same_report(mini_data: Path, tmp_path: Path,
                                                               private_cache: Path) -> None:
    kwargs = {"plan_file": MINI_PLAN, "data_dir": mini_data, "as_of": "2024-06-30", "only": ["township:东镇"],
              "formats": ("html",)}
    first = build(out=tmp_path / "a", **kwargs)
    html = Path(first.results[0].files["html"]).read_bytes()
    for path in private_cache.rglob("results-*.parquet"):
        damage(path, "flip")
    again = build(out=tmp_path / "b", **kwargs)
    assert Path(again.results[0].files["html"]).read_bytes() == html


def test_an_import_during_a_build_changes_the_next_build_only(mini_data: Path, tmp_path: Path) -> None:
    """Finding 7: every report of one build shows the data the build started from."""
    obs = tmp_path / "observations.csv"
    obs.write_text("period,school_id,township,indicator_id,value,numerator,denominator\n"
                   "2024-02,,西镇,A2,9,,\n", encoding="utf-8")
    imported = []

    def on_event(kind, job, result) -> None:
        if kind == "done" and not imported:  # after the first report, a township imports new figures
            res = run("import", obs, "--data", mini_data, "--plan", MINI_PLAN)
            assert res.exit_code == 0, res.stderr
            imported.append(job.key)

    summary = build(plan_file=MINI_PLAN, data_dir=mini_data, as_of="2024-06-30", out=tmp_path / "o",
                    formats=("html",), jobs=1, on_event=on_event)
    assert imported and not summary.failed
    import json

    manifest = json.loads(summary.manifest.read_text(encoding="utf-8"))
    fp = manifest["data"]["fingerprint"]
    for result in summary.results:
        text = Path(result.files["html"]).read_text(encoding="utf-8")
        assert fp in text, result.job.key
    from edureport.plan.load import load_plan

    assert fingerprint(mini_data, load_plan(MINI_PLAN)) != fp, "the import did land, for the next build"
    files = manifest["data"]["files"]
    assert set(files) >= {"observations.csv"} and all(len(v) == 64 for v in files.values())


def test_the_cache_folder_may_be_unwritable(mini_data: Path, mini_plan: Plan, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("x", encoding="utf-8")
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(blocked))
    result = run("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30")
    assert result.exit_code == 0 and "缓存" in result.stderr


def test_a_same_size_edit_with_its_mtime_put_back_is_seen(mini_data: Path, mini_plan: Plan,
                                                          tmp_path: Path) -> None:
    """Finding 6: the remembered file digest must not hide an edit whose mtime was restored."""
    import os
    import time

    old = time.time_ns() - 3600 * 10**9
    for path in mini_data.iterdir():
        os.utime(path, ns=(old, old))
    time.sleep(2.1)  # older than the racy window: the digests are remembered from now on
    args = ("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30")
    before = run(*args).stdout
    obs = mini_data / "observations.csv"
    text = obs.read_text(encoding="utf-8")
    assert "2024-02,,东镇,A2,3" in text
    obs.write_text(text.replace("2024-02,,东镇,A2,3", "2024-02,,东镇,A2,7"), encoding="utf-8")  # same size
    os.utime(obs, ns=(old, old))
    after = run(*args).stdout
    fresh = tmp_path / "fresh"
    import shutil

    shutil.copytree(mini_data, fresh)
    assert after != before and after == run("status", "--data", fresh, "--plan", MINI_PLAN, "--as-of",
                                            "2024-06-30").stdout


def test_every_report_names_the_data_it_was_built_from_also_when_unchanged(mini_data: Path, tmp_path: Path) -> None:
    """An incremental build after an import: the reports it did not rebuild still show the old
    fingerprint, so the manifest records each report's own, and the index says so."""
    import json

    out = tmp_path / "o"
    kwargs = {"plan_file": MINI_PLAN, "data_dir": mini_data, "as_of": "2024-06-30", "out": out, "formats": ("html",)}
    first = build(**kwargs)
    obs = tmp_path / "observations.csv"
    obs.write_text("period,school_id,township,indicator_id,value,numerator,denominator\n"
                   "2024-01,S1,,A4,0,,\n", encoding="utf-8")  # a school figure that changes no result
    assert run("import", obs, "--data", mini_data, "--plan", MINI_PLAN, "--replace").exit_code == 0
    second = build(**kwargs)
    manifest = json.loads(second.manifest.read_text(encoding="utf-8"))
    statuses = {e["key"]: e["status"] for e in manifest["reports"]}
    assert "unchanged" in statuses.values() and "built" in statuses.values(), statuses
    for entry in manifest["reports"]:
        html = (second.folder / entry["files"]["html"]["path"]).read_text(encoding="utf-8")
        assert entry["data_fingerprint"] in html, entry["key"]
        if entry["status"] == "unchanged":
            assert entry["data_fingerprint"] != manifest["data"]["fingerprint"]
    index = (second.folder / "index.html").read_text(encoding="utf-8")
    assert "该报告依据的数据没有变化" in index
    assert first.manifest == second.manifest


def test_a_cache_entry_that_cannot_be_read_is_bypassed(mini_data: Path, mini_plan: Plan, private_cache: Path) -> None:
    """A file where the entry's folder should be (or a folder another account made unreadable)."""
    import shutil

    args = ("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30")
    first = run(*args)
    entry = private_cache / fingerprint(mini_data, mini_plan)
    shutil.rmtree(entry)
    entry.write_text("not a folder", encoding="utf-8")
    second = run(*args)
    assert second.exit_code == 0 and second.stdout == first.stdout and "缓存" in second.stderr
