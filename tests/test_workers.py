"""The local worker pool: a dead worker costs one attempt of one report, never the build; nothing is left running.

The pool tests use trivial functions (module level, so that the spawned workers can import them); the build
tests run ``edureport build`` as a process, kill one of its own workers and look for leftover processes by a
marker in their environment (the workers and the notebook kernels inherit it)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import nbformat
import psutil
import pytest

from edureport.batch.executors import Pool, death_message

from .conftest import ROOT
from .pool_jobs import die_on_two, fail_on_one, pid_of_worker, sleep, unpicklable

AS_OF = "2023-12-31"
THREE = ["--only", "section:4", "--only", "township:图克镇", "--only", "review"]


# --- the pool -------------------------------------------------------------------------------------------------

def test_every_item_runs_once_in_reused_workers() -> None:
    with Pool(2) as pool:
        outcomes = list(pool.run(pid_of_worker, range(8)))
    assert sorted(o.item for o in outcomes) == list(range(8))
    assert all(not o.error and o.deaths == 0 for o in outcomes)
    assert len({o.value for o in outcomes}) <= 2, "two workers, each reused for job after job"


def test_a_raised_error_is_the_outcome_not_a_retry() -> None:
    with Pool(2) as pool:
        outcomes = {o.item: o for o in pool.run(fail_on_one, range(4))}
    assert outcomes[1].error == "ValueError: 坏的输入 1" and outcomes[1].deaths == 0
    assert [outcomes[i].value for i in (0, 2, 3)] == [0, 2, 3]


def test_a_value_that_cannot_be_sent_back_is_an_error() -> None:
    with Pool(1) as pool:
        outcomes = {o.item: o for o in pool.run(unpicklable, range(3))}
    assert "结果无法传回主进程" in outcomes[1].error
    assert outcomes[0].value == 0 and outcomes[2].value == 2


def test_a_worker_killed_once_costs_one_attempt_in_a_fresh_worker(tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    with Pool(2) as pool:
        outcomes = {o.item: o for o in pool.run(die_on_two, range(6), how="SIGKILL", once=str(marker))}
    assert sorted(outcomes) == list(range(6))
    assert outcomes[2].deaths == 1 and not outcomes[2].error
    assert outcomes[2].value != int(marker.read_text(encoding="utf-8")), "retried in another process"
    assert all(outcomes[i].deaths == 0 and not outcomes[i].error for i in (0, 1, 3, 4, 5))


@pytest.mark.parametrize(("how", "message"), [
    ("SIGKILL", "工作进程被系统终止（信号 9，可能内存不足），在新的工作进程中重试 1 次仍然如此"),
    ("SIGTERM", "工作进程被信号 15（SIGTERM）终止，在新的工作进程中重试 1 次仍然如此"),
    ("exit3", "工作进程异常退出（退出码 3），在新的工作进程中重试 1 次仍然如此"),
])
def test_a_job_whose_worker_dies_twice_fails_alone(how: str, message: str) -> None:
    with Pool(2) as pool:
        outcomes = {o.item: o for o in pool.run(die_on_two, range(5), how=how)}
    assert outcomes[2].error == message and outcomes[2].deaths == 2
    assert all(outcomes[i].deaths == 0 and not outcomes[i].error for i in (0, 1, 3, 4))


@pytest.mark.parametrize(("exitcode", "message"), [
    (-9, "工作进程被系统终止（信号 9，可能内存不足）"),
    (-11, "工作进程被信号 11（SIGSEGV）终止"),
    (-200, "工作进程被信号 200（未知信号）终止"),
    (1, "工作进程异常退出（退出码 1）"),
])
def test_death_message(exitcode: int, message: str) -> None:
    assert death_message(exitcode) == message


def _interrupt_when_running(running: Path, count: int, pids: list[int], what: Callable[[], None]) -> None:
    """In a thread: once ``count`` workers run a job, note their pids and call ``what``."""
    def watch() -> None:
        while len(found := [int(p.name) for p in running.iterdir()]) < count:
            time.sleep(0.05)
        pids.extend(found)
        what()

    threading.Thread(target=watch, daemon=True).start()


def test_an_error_in_the_caller_stops_and_reaps_busy_workers(tmp_path: Path) -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="调用方出错"), Pool(3) as pool:
        for outcome in pool.run(sleep, [0.0, 60.0, 60.0], running=str(tmp_path)):
            assert outcome.value == 0.0
            while len(pids) < 3:
                pids = [int(p.name) for p in tmp_path.iterdir()]
                time.sleep(0.05)
            started = time.monotonic()
            raise RuntimeError("调用方出错")
    assert time.monotonic() - started < 10, "busy workers are terminated, not waited for"
    assert not any(psutil.pid_exists(p) for p in pids), "and reaped"


def test_ctrl_c_stops_and_reaps_the_workers(tmp_path: Path) -> None:
    pids: list[int] = []
    _interrupt_when_running(tmp_path, 2, pids, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt), Pool(2) as pool:
        for _ in pool.run(sleep, [60.0, 60.0], running=str(tmp_path)):
            pass
    assert len(pids) == 2 and not any(psutil.pid_exists(p) for p in pids), "stopped and reaped"


# --- real builds ----------------------------------------------------------------------------------------------

def _build(tmp_path: Path, args: list[str], on_tick: Callable[[psutil.Process], None] = lambda p: None,
           env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``edureport build`` as its own process, calling ``on_tick`` with it every 0.1 s; returns the
    completed process and the marker its descendants carry in their environment."""
    mark = uuid.uuid4().hex
    env = {**os.environ, **(env or {}), "EDUREPORT_TEST_MARK": mark}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "edureport", "build", "--force", "--formats", "html", "--out", str(tmp_path / "out"),
           *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        build = psutil.Process(proc.pid)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(psutil.NoSuchProcess):  # the build or a child ended meanwhile
                on_tick(build)
            time.sleep(0.1)
        try:
            stdout, stderr = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a process it left behind still holds its output open
            raise AssertionError(f"processes outlived the build: {_leftovers(mark, wait=0)}") from None
    except BaseException:
        _kill_marked(mark)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), mark


def _marked(mark: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("EDUREPORT_TEST_MARK") == mark:
                found.append(p)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _kill_marked(mark: str) -> None:
    for p in _marked(mark):
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def _leftovers(mark: str, wait: float = 10.0) -> list[str]:
    """Processes of the build still there ``wait`` seconds after it exited (then killed, not to burden the
    machine). multiprocessing's resource tracker ends by itself once the build is gone (within milliseconds)."""
    deadline = time.monotonic() + wait
    while (left := _marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    described = []
    for p in left:
        try:
            described.append(f"{p.pid} {p.status()} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            continue
    _kill_marked(mark)
    return described


def _workers(build: psutil.Process) -> list[psutil.Process]:
    return [c for c in build.children() if "spawn_main" in " ".join(c.cmdline())]


def _reports(tmp_path: Path) -> dict[str, dict]:
    manifest = tmp_path / "out" / "2023" / AS_OF / "manifest.json"
    return {r["key"]: r for r in json.loads(manifest.read_text(encoding="utf-8"))["reports"]}


def test_a_killed_worker_costs_its_report_one_attempt(tmp_path: Path) -> None:
    killed: dict[str, list[psutil.Process]] = {}

    def kill_a_busy_worker(build: psutil.Process) -> None:
        if killed:
            return
        for worker in _workers(build):
            kernels = worker.children()  # a notebook kernel: the worker is running a report
            if kernels:
                worker.send_signal(signal.SIGKILL)
                killed["worker"], killed["kernels"] = [worker], kernels
                return

    done, mark = _build(tmp_path, [*THREE, "-j", "2"], kill_a_busy_worker)
    assert killed, "a worker was killed while it ran a report"
    assert done.returncode == 0, done.stderr
    reports = _reports(tmp_path)
    assert {k: r["status"] for k, r in reports.items()} == dict.fromkeys(["section:4", "township:图克镇", "review"],
                                                                          "built")
    assert sorted(r["attempts"] for r in reports.values()) == [1, 1, 2], "the killed report ran again, the others once"
    assert "重试 1 次" in done.stdout
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in killed["kernels"])
    assert _leftovers(mark) == []


def _notebooks_killing_their_worker(tmp_path: Path, township: str) -> Path:
    """The township notebook kills its worker (the kernel's parent), then holds the GIL in C code for minutes:
    ipykernel's own parent poll (a Python thread) cannot end such a kernel, only the kernel's death signal."""
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    path = folder / "township_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = (f'if township == "{township}":\n    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n'
            "    sum(range(10**10))")
    cell = nbformat.v4.new_code_cell(code)
    cell["id"] = "kill-the-worker"
    nb.cells.insert(3, cell)
    nbformat.write(nb, path)
    return folder


def test_a_report_whose_worker_dies_twice_fails_and_the_others_are_built(tmp_path: Path) -> None:
    notebooks = _notebooks_killing_their_worker(tmp_path, "图克镇")
    done, mark = _build(tmp_path, [*THREE, "-j", "2"], env={"EDUREPORT_NOTEBOOKS_DIR": str(notebooks)})
    assert done.returncode == 1, done.stderr
    reports = _reports(tmp_path)
    township = reports.pop("township:图克镇")
    assert township["status"] == "failed" and township["attempts"] == 2
    assert township["error"] == ("图克镇2023年工作进展报告：工作进程被系统终止（信号 9，可能内存不足），"
                                 "在新的工作进程中重试 1 次仍然如此")
    assert done.stderr.startswith("失败：图克镇2023年工作进展报告：工作进程被系统终止（信号 9"), done.stderr
    assert {(k, r["status"], r["attempts"]) for k, r in reports.items()} == {("section:4", "built", 1),
                                                                            ("review", "built", 1)}
    assert _leftovers(mark) == [], "the kernels of the killed workers ended with them"


def test_ctrl_c_stops_the_build_and_leaves_no_process(tmp_path: Path) -> None:
    interrupted = []

    def interrupt_once_running(build: psutil.Process) -> None:
        if not interrupted and any(w.children() for w in _workers(build)):
            build.send_signal(signal.SIGINT)  # the build alone, as a supervisor would; Ctrl-C reaches the workers too
            interrupted.append(time.monotonic())

    done, mark = _build(tmp_path, [*THREE, "-j", "2"], interrupt_once_running)
    assert done.returncode == 130 and "已中断" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert interrupted and time.monotonic() - interrupted[0] < 30
    assert len(list((tmp_path / "out" / "2023" / AS_OF / "html").glob("*.html"))) < 3, \
        "the running reports were stopped, not finished"
    assert _leftovers(mark) == []
