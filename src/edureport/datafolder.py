"""A data folder as a shared resource: one writer at a time, and readers see the old or the new data,
never a mix, whatever is killed when.

**Lock.** ``flock`` on the folder itself (a directory file descriptor): shared for readers (validate,
status, build, template, ``import --dry-run``), exclusive for ``import``. No lock file is made, so a
read-only folder can be read and nothing is left behind; the kernel drops a lock with its holder,
``kill -9`` included. Nested use in one process (an import validating the folder it holds) is free.

**Transaction.** ``import`` changes only the files it owns (the table files it merges into and
``import-log.csv``) and only through ``Transaction``:

1. a journal in state ``prepared`` names every file to be replaced, its new SHA-256, and the temporary
   file that will hold the new version (beside its target, so the rename is atomic);
2. the new versions are written to those temporary files with the target's permissions and owner,
   and flushed to disk;
3. the journal is atomically replaced by one in state ``committed``: this rename is the commit point;
4. each temporary file is renamed over its target; then the journal is removed.

``recover`` runs under the exclusive lock before anything else reads or writes: a ``prepared`` journal is
rolled back (temporary files deleted: the old data stand), a ``committed`` one rolled forward (the
remaining renames done: the new data stand). Readers that find an unfinished transaction finish it
first when they may write the folder. Everything else in the folder — sub-folders, other files, links,
permissions — is never touched. A symlinked table file is written through to its target.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import EdureportError, LockedError

JOURNAL = ".edureport-journal.json"
TEMP_SUFFIX = ".edureport-new"
FALLBACK_LOCK = ".edureport.lock"  # only where a folder cannot be locked itself (some network file systems)
WAIT_SECONDS = 600.0  # how long a reader or an import queues behind another import before giving up
POLL_SECONDS = 0.1


class FolderBusyError(LockedError):
    """Another import holds the data folder (or left an unfinished one that cannot be completed here)."""


class DataFolderError(EdureportError):
    """The data folder is in a state edureport will not guess about (a damaged journal)."""


# Locks this process holds: (device, inode) of the folder → [fd, exclusive, depth].
_held: dict[tuple[int, int], list] = {}


def _key(folder: Path) -> tuple[int, int]:
    st = folder.stat()
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def lock(folder: str | Path, *, exclusive: bool, wait: float = WAIT_SECONDS,
         on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the folder's lock (shared or exclusive) for the ``with`` block; wait up to ``wait`` seconds
    (0: do not wait) for another holder, calling ``on_wait`` once when waiting starts."""
    folder = Path(folder)
    key = _key(folder)
    held = _held.get(key)
    if held is not None and (held[1] or not exclusive):
        held[2] += 1
        try:
            yield
        finally:
            held[2] -= 1
        return
    if held is not None:
        raise RuntimeError("datafolder.lock: cannot upgrade a shared lock held by this process")
    fd = _open_lockable(folder)
    try:
        _acquire(fd, folder, exclusive, wait, on_wait)
        _held[key] = [fd, exclusive, 1]
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _open_lockable(folder: Path) -> int:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return fd
    except BlockingIOError:
        return fd  # lockable, merely held by someone else
    except OSError:  # the file system cannot lock a folder: use a lock file inside it
        os.close(fd)
    return os.open(folder / FALLBACK_LOCK, os.O_RDWR | os.O_CREAT, 0o666)


def _acquire(fd: int, folder: Path, exclusive: bool, wait: float, on_wait: Callable[[], None] | None) -> None:
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            waited = f"等待 {wait:.0f} 秒后" if wait else ""
            raise FolderBusyError(f"数据文件夹 {folder} 正在被另一个导入使用，{waited}仍未结束；请稍后再试")
        if on_wait is not None and not told:
            on_wait()
            told = True
        time.sleep(POLL_SECONDS)


def pending(folder: Path) -> bool:
    """Whether an import was interrupted in this folder (its journal is still there)."""
    return (folder / JOURNAL).exists() or (folder / f"{JOURNAL}.tmp").exists()


@contextlib.contextmanager
def reading(folder: str | Path, *, wait: float = WAIT_SECONDS, finish_pending: bool = True,
            on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """A consistent view of the folder for the ``with`` block: imports wait until it ends, and an
    interrupted import is completed (or undone) first. ``finish_pending=False`` (a dry run) refuses
    instead of writing anything."""
    folder = Path(folder)
    for _ in range(5):
        with lock(folder, exclusive=False, wait=wait, on_wait=on_wait):
            if not pending(folder):
                yield
                return
        if not finish_pending:
            raise FolderBusyError(f"数据文件夹 {folder} 中有一次未完成的导入；试运行不修改任何文件，"
                                  "请先运行 edureport validate 或不带 --dry-run 的 edureport import 完成它")
        if not os.access(folder, os.W_OK):
            raise FolderBusyError(f"数据文件夹 {folder} 中有一次未完成的导入，需要对该文件夹有写权限才能完成；"
                                  "请用有写权限的账户运行 edureport validate")
        with lock(folder, exclusive=True, wait=wait, on_wait=on_wait):
            recover(folder)
    raise FolderBusyError(f"数据文件夹 {folder} 一直有未完成的导入，无法读取一致的数据")


# ---- the transaction -------------------------------------------------------------------------------


def _kill_point(step: str) -> None:
    """Fault injection for the kill tests: ``EDUREPORT_KILL_AT=<step>`` makes this process die by
    SIGKILL at that step, exactly as the OOM killer or a power cut would stop it."""
    if os.environ.get("EDUREPORT_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_SUFFIX}")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (the one hashing loop; ``store.file_digest``
    remembers it)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Entry:
    target: Path  # the file replaced (a symlinked table file: the link's target)
    sha256: str  # of the new version

    @property
    def temp(self) -> Path:
        return temp_path(self.target)


class Transaction:
    """Replace some files of a folder all together, or not at all. Use under ``lock(exclusive=True)``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.files: dict[Path, bytes] = {}
        self.like: dict[Path, Path | None] = {}
        self.entries: list[Entry] = []

    def put(self, name: str, data: bytes, *, like: Path | None = None) -> Path:
        """Stage a new version of ``name`` (a file of the folder); a new file takes ``like``'s permissions."""
        path = self.folder / name
        target = path.resolve() if path.is_symlink() else path
        if target.exists() and not target.is_file():
            raise DataFolderError(f"{path} 不是普通文件，无法写入")
        self.files[target] = data
        self.like[target] = like
        return target

    def prepare(self) -> dict[Path, Path]:
        """Write every new version beside its target (nothing visible changes); {target: temporary file}."""
        self.entries = [Entry(t, hashlib.sha256(d).hexdigest()) for t, d in self.files.items()]
        self._journal("prepared")
        _kill_point("prepared")
        for i, entry in enumerate(self.entries, start=1):
            _write_like(entry.temp, self.files[entry.target], entry.target, self.like[entry.target])
            _kill_point(f"temp-{i}")
        for folder in {e.target.parent for e in self.entries}:
            _fsync_dir(folder)
        return {e.target: e.temp for e in self.entries}

    def commit(self) -> None:
        self._journal("committed")  # the commit point: from here on, recovery rolls forward
        _kill_point("committed")
        _roll_forward(self.folder, self.entries)

    def abort(self) -> None:
        _roll_back(self.folder, self.entries)

    def _journal(self, state: str) -> None:
        body = {"version": 1, "state": state,
                "entries": [{"target": _rel(self.folder, e.target), "sha256": e.sha256} for e in self.entries]}
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        doc = json.dumps({"body": body, "sha256": hashlib.sha256(text.encode()).hexdigest()}, ensure_ascii=False,
                         indent=1)
        tmp = self.folder / f"{JOURNAL}.tmp"
        _write_like(tmp, doc.encode("utf-8"), None, None)
        os.replace(tmp, self.folder / JOURNAL)
        _fsync_dir(self.folder)


def _rel(folder: Path, target: Path) -> str:
    return target.name if target.parent == folder else str(target)


def _write_like(path: Path, data: bytes, target: Path | None, like: Path | None) -> None:
    """Write ``data`` to a new file ``path`` with the permissions (and, where allowed, the owner and
    group) of ``target`` — or of ``like`` for a file that does not exist yet — and flush it to disk."""
    path.unlink(missing_ok=True)
    model = target if target is not None and target.exists() else like
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if model is not None and model.exists():
            st = model.stat()
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(PermissionError):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:
                    os.fchown(fd, -1, st.st_gid)  # not root: keep at least the group (a group data folder)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_journal(folder: Path) -> tuple[str, list[Entry]]:
    path = folder / JOURNAL
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        body = doc["body"]
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        if hashlib.sha256(text.encode()).hexdigest() != doc["sha256"] or body["state"] not in ("prepared", "committed"):
            raise ValueError("checksum")
        entries = [Entry(folder / e["target"] if "/" not in e["target"] else Path(e["target"]), e["sha256"])
                   for e in body["entries"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFolderError(f"数据文件夹 {folder} 中的导入日志 {JOURNAL} 已损坏（{type(exc).__name__}），"
                              "无法判断上次导入是否完成；请联系管理员检查后删除该文件") from None
    return body["state"], entries


def recover(folder: str | Path) -> str:
    """Complete or undo an interrupted import (call under the exclusive lock). Returns what was done:
    "" (nothing to do), "rolled-back" or "rolled-forward"."""
    folder = Path(folder)
    (folder / f"{JOURNAL}.tmp").unlink(missing_ok=True)  # a journal never committed to: nothing else was written
    if not (folder / JOURNAL).exists():
        for stray in folder.glob(f".*{TEMP_SUFFIX}"):
            stray.unlink(missing_ok=True)
        return ""
    state, entries = _read_journal(folder)
    if state == "prepared":
        _roll_back(folder, entries)
        return "rolled-back"
    _roll_forward(folder, entries)
    return "rolled-forward"


def _roll_back(folder: Path, entries: list[Entry]) -> None:
    for entry in entries:
        entry.temp.unlink(missing_ok=True)
    (folder / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(folder)


def _roll_forward(folder: Path, entries: list[Entry]) -> None:
    for i, entry in enumerate(entries, start=1):
        if entry.temp.exists():
            if file_sha256(entry.temp) != entry.sha256:
                raise DataFolderError(f"导入的临时文件 {entry.temp} 与导入日志不符，无法完成上次导入；请联系管理员检查")
            os.replace(entry.temp, entry.target)
        elif not entry.target.exists() or file_sha256(entry.target) != entry.sha256:
            raise DataFolderError(f"上次导入的新文件 {entry.temp} 已丢失，{entry.target} 也不是导入后的内容；"
                                  "请联系管理员检查")
        _kill_point(f"renamed-{i}")
    for parent in {e.target.parent for e in entries} | {folder}:
        _fsync_dir(parent)
    (folder / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(folder)
    _kill_point("finished")

