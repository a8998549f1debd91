"""Locks between processes (``edureport.core.locks``) on both backends: ``flock`` where there is one, and
``filelock`` where there is none (Windows), tried here by hiding ``fcntl`` (``sys.modules["fcntl"] = None``
before edureport is imported) in a child process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edureport.batch.lock import LOCK_FILE, BuildLock
from edureport.core import locks
from edureport.core.errors import FolderBusyError
from edureport.data import datafolder

from .conftest import DEMO, ROOT

BACKENDS = ["flock", "no-fcntl"]

# One process that takes or tries a lock and says what happened; NO_FCNTL=1 hides fcntl as Windows lacks it.
LOCKER = """\
import os, sys
if os.environ.get("NO_FCNTL"):
    sys.modules["fcntl"] = None
import signal, time
from pathlib import Path
from edureport.batch.lock import BuildLock
from edureport.core import locks
from edureport.core.errors import BuildLockedError, FolderBusyError
from edureport.data import datafolder

assert locks.NATIVE is not bool(os.environ.get("NO_FCNTL"))
what, where = sys.argv[1], Path(sys.argv[2])


def say(*words):
    print(*words, flush=True)


if what == "hold-build":
    lock = BuildLock(where).acquire()
    say("held", os.getpid())
    sys.stdin.readline()
    lock.release()
    say("released", time.time())
    time.sleep(1)
elif what == "kill-build":
    lock = BuildLock(where).acquire()
    os.kill(os.getpid(), signal.SIGKILL)
elif what == "try-build":
    started = time.monotonic()
    try:
        BuildLock(where).acquire().release()
        say("acquired")
    except BuildLockedError as exc:
        say("refused", time.monotonic() - started, exc)
elif what == "wait-build":
    lock = BuildLock(where).acquire(wait=True)
    say("acquired", time.time())
    lock.release()
elif what in ("hold-data", "kill-data"):
    with datafolder.lock(where, exclusive=True):
        if what == "kill-data":
            os.kill(os.getpid(), signal.SIGKILL)
        say("held")
        sys.stdin.readline()
elif what in ("read-data", "share-data"):
    try:
        with datafolder.lock(where, exclusive=False, wait=0):
            say("read")
            if what == "share-data":
                sys.stdin.readline()
    except FolderBusyError:
        say("busy")
elif what in ("mark-log", "kill-log"):
    fh = where.open("a", encoding="utf-8")
    locks.mark_in_use(fh, where)
    if what == "kill-log":
        os.kill(os.getpid(), signal.SIGKILL)
    say("marked")
    sys.stdin.readline()
elif what == "in-use":
    say(locks.in_use(where))
"""


def _env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_FCNTL"}
    return {**env, "NO_FCNTL": "1"} if backend == "no-fcntl" else env


def _start(backend: str, what: str, where: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOCKER, what, str(where)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(backend))


def _once(backend: str, what: str, where: Path) -> str:
    done = subprocess.run([sys.executable, "-c", LOCKER, what, str(where)], capture_output=True, text=True,
                          timeout=60, check=False, env=_env(backend))
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.stdout.strip()


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate("\n", timeout=60)
    assert proc.returncode == 0, err
    return out


# --- the acceptance: `edureport build` imports and locks on a platform without fcntl ------------------------

BUILD_WITHOUT_FCNTL = """\
import sys
sys.modules["fcntl"] = None  # as on Windows

if __name__ == "__main__":  # (a spawned worker imports this file again: it must not build)
    from pathlib import Path

    import edureport.batch.build
    import edureport.cli.build
    import edureport.cli.main
    from edureport.batch.lock import LOCK_FILE, BuildLock
    from edureport.core import locks
    from edureport.data import datafolder

    assert sys.modules["fcntl"] is None and not locks.NATIVE
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    lock = BuildLock(out).acquire()
    assert (out / LOCK_FILE).exists()
    lock.release()
    assert not (out / LOCK_FILE).exists()
    with datafolder.lock(data, exclusive=True):
        assert (data / datafolder.FALLBACK_LOCK).exists()
        with datafolder.consistent(data):  # nested in one process: free
            pass
    with datafolder.consistent(data):
        assert (data / datafolder.FALLBACK_LOCK).exists()
    assert not (data / datafolder.FALLBACK_LOCK).exists()
    sys.argv = ["edureport", "build", "--data", str(data), "--out", str(out), "--only", "review",
                "--formats", "html", "-q"]
    edureport.cli.main.main()
"""


def test_build_imports_locks_and_runs_without_fcntl(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(DEMO, data)
    script = tmp_path / "build_without_fcntl.py"
    script.write_text(BUILD_WITHOUT_FCNTL, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(data), str(out)], capture_output=True, text=True,
                          timeout=600, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    (index,) = out.glob("*/*/index.html")
    assert list(index.parent.glob("html/*.html")), "the review report was built"
    (log,) = (out / "logs").glob("*.log")
    assert "已生成 1" in log.read_text(encoding="utf-8")
    assert not list(out.rglob("*.lock")) and not list(data.glob(".*lock")), "every lock file removed after use"


def test_no_module_imports_fcntl_but_the_locks_module() -> None:
    src = ROOT / "src" / "edureport"
    users = [str(p.relative_to(src)) for p in src.rglob("*.py")
             if re.search(r"^\s*(import fcntl|from fcntl import)", p.read_text(encoding="utf-8"), re.M)]
    assert users == ["core/locks.py"]


# --- the build lock: refuse at once, --wait, a dead holder does not block (both backends) ------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_build_lock_is_refused_at_once_and_wait_waits(backend: str, tmp_path: Path) -> None:
    holder = _start(backend, "hold-build", tmp_path)
    try:
        said = holder.stdout.readline().split() or ["nothing"]
        assert said[0] == "held", holder.stderr.read()
        refused = _once(backend, "try-build", tmp_path)
        assert refused.startswith("refused"), refused
        assert float(refused.split()[1]) < 1.0, "refused at once, not after a wait"
        assert "另一个 edureport build 正在使用输出文件夹" in refused and f"（进程 {said[1]}）" in refused
        waiter = _start(backend, "wait-build", tmp_path)
        time.sleep(1.5)
        assert waiter.poll() is None, "--wait waits while the holder runs"
        holder.stdin.write("\n")
        holder.stdin.flush()
        released = float(holder.stdout.readline().split()[1])
        out = _finish(waiter)
        assert out.startswith("acquired") and float(out.split()[1]) >= released
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_build_lock_holder_does_not_block(backend: str, tmp_path: Path) -> None:
    _once(backend, "kill-build", tmp_path)
    assert (tmp_path / LOCK_FILE).exists(), "the killed holder's lock file is still there"
    assert _once(backend, "try-build", tmp_path) == "acquired"


def test_build_lock_in_this_process_refuses_another_process(tmp_path: Path) -> None:
    """flock: the holder's pid is recorded in the lock file and named to the refused process."""
    lock = BuildLock(tmp_path).acquire()
    try:
        refused = _once("flock", "try-build", tmp_path)
        assert refused.startswith("refused") and f"（进程 {os.getpid()}）" in refused
    finally:
        lock.release()
    assert _once("flock", "try-build", tmp_path) == "acquired"


# --- the data folder: shared for readers, exclusive for an import -------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_import_keeps_readers_out_and_a_killed_one_does_not(backend: str, tmp_path: Path) -> None:
    holder = _start(backend, "hold-data", tmp_path)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        assert _once(backend, "read-data", tmp_path) == "busy"
    finally:
        _finish(holder)
    assert _once(backend, "read-data", tmp_path) == "read"
    _once(backend, "kill-data", tmp_path)
    assert _once(backend, "read-data", tmp_path) == "read"


def test_flock_readers_share_the_data_folder(tmp_path: Path) -> None:
    reader = _start("flock", "share-data", tmp_path)
    try:
        assert reader.stdout.readline().strip() == "read", reader.stderr.read()
        assert _once("flock", "read-data", tmp_path) == "read", "a second reader is not kept out"
        with pytest.raises(FolderBusyError), datafolder.lock(tmp_path, exclusive=True, wait=0):
            pass
    finally:
        _finish(reader)
    assert not (tmp_path / datafolder.FALLBACK_LOCK).exists(), "flock locks the folder itself: no lock file"


# --- the log of a running build is "in use" -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_log_is_in_use_while_its_build_runs(backend: str, tmp_path: Path) -> None:
    log = tmp_path / "20200101-000000.log"
    marker = _start(backend, "mark-log", log)
    try:
        assert marker.stdout.readline().strip() == "marked", marker.stderr.read()
        assert _once(backend, "in-use", log) == "True"
    finally:
        _finish(marker)
    assert _once(backend, "in-use", log) == "False"
    _once(backend, "kill-log", log)
    assert _once(backend, "in-use", log) == "False", "a killed build's log is no longer in use"
    assert not (tmp_path / (log.name + ".lock")).exists()


def test_flock_in_use_mark_ends_when_the_log_is_closed(tmp_path: Path) -> None:
    assert locks.NATIVE, "this machine has fcntl.flock"
    log = tmp_path / "a.log"
    with log.open("a", encoding="utf-8") as fh:
        locks.mark_in_use(fh, log)
        assert locks.in_use(log)
    assert not locks.in_use(log)
    assert not (tmp_path / "a.log.lock").exists()
