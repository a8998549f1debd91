"""`edureport build`: full, incremental, failure-tolerant, kill-safe, locked, reproducible, Dask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from edureport.batch.build import build
from edureport.batch.keys import file_sha256
from edureport.batch.lock import BuildLock

from .conftest import DEMO, PLAN_2023, ROOT, full_build_keys, run, tree_digest

AS_OF = "2023-12-31"


def report_folder(out: Path) -> Path:
    return out / "2023" / AS_OF


def published(out: Path) -> dict[str, str]:
    """Every published file (not temporary ones, not logs) with its SHA-256."""
    folder = report_folder(out)
    return {k: v for k, v in tree_digest(folder).items() if not Path(k).name.startswith(".")}


def copy_build(full: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(full, out, symlinks=True)
    return out


REPORTS = 36  # 6 sections, 6 townships, 21 departments (the plan's leads), 2 of the 48 schools (conftest), the review


def test_full_build_outputs(full_build: Path) -> None:
    folder = report_folder(full_build)
    assert len(list((folder / "html").glob("*.html"))) == REPORTS
    assert len(list((folder / "pdf").glob("*.pdf"))) == REPORTS
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["reports"]) == REPORTS and {r["status"] for r in manifest["reports"]} == {"built"}
    for report in manifest["reports"]:
        for entry in report["files"].values():
            assert file_sha256(folder / entry["path"]) == entry["sha256"]
    assert manifest["data"]["fingerprint"] and manifest["plan"]["sha256"] and manifest["versions"]["edureport"]
    assert set(manifest["data"]["files"]) >= {"observations.csv", "schools.csv"}
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert index.count('href="html/') == REPORTS and index.count('href="pdf/') == REPORTS
    assert "http://" not in index and "https://" not in index


def test_rebuild_without_change_rebuilds_nothing(full_build: Path, tmp_path: Path) -> None:
    out = copy_build(full_build, tmp_path)
    before = published(out)
    summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=out, only=full_build_keys())
    assert {r.status for r in summary.results} == {"unchanged"}
    after = published(out)
    assert {k: v for k, v in after.items() if not k.endswith(("manifest.json", "index.html"))} == \
        {k: v for k, v in before.items() if not k.endswith(("manifest.json", "index.html"))}


def test_touching_one_township_rebuilds_only_what_shows_it(full_build: Path, tmp_path: Path) -> None:
    out = copy_build(full_build, tmp_path)
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    # First build from the copied data folder (same bytes, other path: nothing to rebuild).
    assert {r.status for r in build(plan_file=PLAN_2023, data_dir=data, as_of=AS_OF, out=out, only=full_build_keys()).results} == {"unchanged"}
    path = data / "activities.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    i = next(n for n, line in enumerate(lines) if ",图克镇," in line and ",21," in line)
    fields = lines[i].split(",")
    fields[-1] = str(int(fields[-1]) + 1)  # one more participant in one of 图克镇's activities (task 21)
    lines[i] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    summary = build(plan_file=PLAN_2023, data_dir=data, as_of=AS_OF, out=out, only=full_build_keys())
    rebuilt = sorted(r.job.key for r in summary.results if r.status == "built")
    assert rebuilt == ["review", "section:5", "township:图克镇"]


def _failing_notebooks(tmp_path: Path, township: str) -> Path:
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    path = folder / "township_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(f'if township == "{township}":\n    raise RuntimeError("注入的错误")'))
    nb.cells[3]["id"] = "injected-fault"
    nbformat.write(nb, path)
    return folder


def test_a_failing_report_does_not_stop_the_others(full_build: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = copy_build(full_build, tmp_path)
    folder = report_folder(out)
    good = {p: file_sha256(folder / p) for p in ("html/township-乌审召镇.html", "pdf/township-乌审召镇.pdf")}
    monkeypatch.setenv("EDUREPORT_NOTEBOOKS_DIR", str(_failing_notebooks(tmp_path, "乌审召镇")))
    # three reports: the failing one and two others in the same pool (all of them took 47 s)
    result = run("build", "--out", out, "--jobs", 2, "--only", "township:乌审召镇", "--only", "township:图克镇",
                 "--only", "section:1")
    assert result.exit_code == 1, result.output
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    status = {r["key"]: r["status"] for r in manifest["reports"]}
    assert status.pop("township:乌审召镇") == "failed"
    assert status == {"township:图克镇": "built", "section:1": "unchanged"}  # only the township notebook changed
    assert {p: file_sha256(folder / p) for p in good} == good, "the last good files stay published"
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "注入的错误" in index and 'href="notebooks/township-乌审召镇.failed.ipynb"' in index
    failed_nb = nbformat.read(folder / "notebooks" / "township-乌审召镇.failed.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed_nb.cells for o in c.get("outputs", []))


def test_sigkill_leaves_published_files_intact(full_build: Path, tmp_path: Path) -> None:
    out = copy_build(full_build, tmp_path)
    before = published(out)
    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "edureport", "build", "--force", "--out", str(out),
                             "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    folder = report_folder(out)
    while time.time() < deadline and not list(folder.rglob(".*.running.ipynb")):
        time.sleep(0.2)
    assert list(folder.rglob(".*.running.ipynb")), "the build got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert published(out) == before
    summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=out, only=full_build_keys())
    assert not summary.failed and {r.status for r in summary.results} == {"unchanged"}
    assert not list(folder.rglob(".*.running.ipynb")) and not list(folder.rglob(".*.tmp"))


def test_second_build_is_refused_while_one_runs(tmp_path: Path) -> None:
    lock = BuildLock(tmp_path).acquire()
    try:
        result = run("build", "--out", tmp_path, "--only", "section:4", "--formats", "html")
        assert result.exit_code == 3 and "另一个 edureport build 正在使用" in result.stderr
    finally:
        lock.release()


def test_lock_of_a_killed_build_does_not_block(tmp_path: Path) -> None:
    code = f"from edureport.batch.lock import BuildLock; import os, signal; BuildLock({str(tmp_path)!r}).acquire(); " \
           "os.kill(os.getpid(), signal.SIGKILL)"
    subprocess.run([sys.executable, "-c", code], check=False)
    assert (tmp_path / ".edureport-build.lock").exists()
    BuildLock(tmp_path).acquire().release()


def test_same_inputs_same_html_and_notebook_in_two_folders(full_build: Path, tmp_path: Path) -> None:
    only = ["section:4", "township:无定河镇"]
    build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=tmp_path / "b", only=only, formats=("html",))
    for stem in ("section-4", "township-无定河镇"):
        for kind, suffix in (("html", "html"), ("notebooks", "ipynb")):
            a = (report_folder(full_build) / kind / f"{stem}.{suffix}").read_bytes()
            b = (report_folder(tmp_path / "b") / kind / f"{stem}.{suffix}").read_bytes()
            assert a == b, (stem, kind)
    executed = (report_folder(full_build) / "notebooks" / "section-4.ipynb").read_text(encoding="utf-8")
    assert "start_time" not in executed and "iopub" not in executed and ".running" not in executed


def test_dask_executor_builds_the_same_reports(full_build: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    only = ["section:4", "township:图克镇"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=tmp_path / "d", only=only,
                        formats=("html",), executor="dask", scheduler=cluster.scheduler_address)
    assert [r.status for r in summary.results] == ["built", "built"]
    for stem in ("section-4", "township-图克镇"):
        assert (report_folder(tmp_path / "d") / "html" / f"{stem}.html").read_bytes() == \
            (report_folder(full_build) / "html" / f"{stem}.html").read_bytes()


def test_logs_rotate(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(5):
        (logs / f"2020010{i}-000000.log").write_text("x", encoding="utf-8")
    run("build", "--out", tmp_path, "--only", "nope:1", "--keep-logs", 3)
    assert len(list(logs.glob("*.log"))) == 3


def _inject(tmp_path: Path, notebook: str, code: str) -> Path:
    folder = tmp_path / "notebooks"
    if not folder.exists():
        shutil.copytree(ROOT / "notebooks", folder)
    path = folder / notebook
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(code)
    cell["id"] = f"injected-{len(nb.cells)}"
    nb.cells.insert(3, cell)
    nbformat.write(nb, path)
    return folder


def test_dead_kernel_is_retried_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "killed-once"
    code = (f"import os, pathlib, signal\nm = pathlib.Path({str(marker)!r})\n"
            "if not m.exists():\n    m.write_text('x')\n    os.kill(os.getpid(), signal.SIGKILL)")
    monkeypatch.setenv("EDUREPORT_NOTEBOOKS_DIR", str(_inject(tmp_path, "section_report.ipynb", code)))
    summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=tmp_path / "o", only=["section:4"],
                    formats=("html",))
    (result,) = summary.results
    assert marker.exists() and result.status == "built" and result.attempts == 2


def test_hung_report_times_out_without_stopping_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = 'import time\nif township == "无定河镇":\n    time.sleep(120)'
    monkeypatch.setenv("EDUREPORT_NOTEBOOKS_DIR", str(_inject(tmp_path, "township_report.ipynb", code)))
    result = run("build", "--out", tmp_path / "o", "--only", "township:无定河镇", "--only", "section:4",
                 "--formats", "html", "--timeout", 20)
    assert result.exit_code == 1
    manifest = json.loads((report_folder(tmp_path / "o") / "manifest.json").read_text(encoding="utf-8"))
    status = {r["key"]: (r["status"], r["error"]) for r in manifest["reports"]}
    assert status["section:4"][0] == "built"
    assert status["township:无定河镇"][0] == "failed" and "超过时限" in status["township:无定河镇"][1]
