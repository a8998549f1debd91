"""Locks between processes, on every platform: the one place that knows how a file or folder is locked.

Three things are locked: an output folder (``batch.lock``: one build at a time), a data folder
(``data.datafolder``: shared for readers, exclusive for ``edureport import``) and the log of a running
build (``cli.build``: not rotated away while it is written). Each must refuse at once or wait, and a
holder that dies (``kill -9``, a crash, a power cut of the process) must never block the next one.

Design decision: two backends, chosen once at import.

* Where ``fcntl.flock`` exists (Linux, macOS: the servers, cron and CI), it is used as before. The
  kernel drops a ``flock`` with the last descriptor of its holder, SIGKILL included, so no stale lock
  can exist; shared locks are real shared locks; a folder can be locked through its own descriptor, so
  no lock file is made there. Nothing of this changed when the portable backend was added, except
  that the holder record in a lock file now starts at byte 1 (``" {"pid": N}"``), where Windows, which
  locks byte 0 against every reader, can read it too.
* Elsewhere (Windows, where county offices run ``edureport``), the maintained ``filelock`` library
  locks a file instead: its ``FileLock`` is ``LockFileEx`` on Windows, which Windows also releases when
  the holder dies, and on any other platform without ``fcntl`` its ``SoftFileLock``, a marker file
  recording the holder's pid that a later contender on the same host reclaims once that process is
  gone. ``filelock`` is imported only there. A folder cannot be locked itself, so a ``stand_in`` file
  is locked in its place (for a data folder ``.edureport.lock`` inside it; for a log, ``<log>.lock``
  beside it). Both remove their lock file when released. ``filelock>=3.30``: ``on_acquired`` (the
  holder record on Windows) and soft markers that record their pid (tests/test_locks.py passes with
  3.30.0 and 4.x). Limits of this backend:

  - shared locks degrade to exclusive: ``filelock``'s ``FileLock`` has no shared mode. Its
    ``ReadWriteLock`` (SQLite transactions, filelock 3.21+) and ``SoftReadWriteLock`` (marker files
    with a heartbeat) do, but the first puts a SQLite database and private hard links into the data
    folder, which SQLite itself advises against on network shares, and the second relies on a
    heartbeat thread; neither was worth it for readers that hold the lock only while they read and
    validate the folder (seconds; a build's workers read the cached snapshot without any lock). So on
    Windows two readers of one data folder take turns, and a reader that finds another reader waits
    for it as it would for an import (the "waiting for an import" message can then be inexact);
  - a lock does not exclude a holder of the other backend: a data folder shared between a Linux and a
    Windows machine is not locked across them.

``open_lock`` gives a ``Lock``: ``try_acquire`` (no wait), ``acquire`` (wait up to a number of seconds,
``math.inf`` for ever), ``release``, ``close``; ``record_holder`` stores the holder's pid for the "who
holds it" message (``holder``). ``mark_in_use`` / ``in_use`` mark an open file as being written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sys
import time
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows, or a platform without it: the portable backend below
    fcntl = None  # type: ignore[assignment]

#: ``flock`` is available: real shared locks, folders locked through their own descriptor, no lock files.
NATIVE: bool = fcntl is not None and hasattr(fcntl, "flock")
if NATIVE:
    filelock = None
else:
    with warnings.catch_warnings():  # "only soft file lock is available": this module's docstring says so
        warnings.simplefilter("ignore")
        import filelock
POLL_SECONDS = 0.1
_RECORD_OFFSET = 1  # the holder record starts after byte 0: LockFileEx locks byte 0 against every reader


class Lock:
    """A lock on one file or folder, shared or exclusive, held by this process until released."""

    path: Path
    shared: bool

    def try_acquire(self) -> bool:
        """Take the lock if nobody else holds it; ``False`` if someone does. ``OSError``: cannot lock here."""
        raise NotImplementedError

    def release(self) -> None:
        """Give the lock up (a lock not held is left alone); the lock can be taken again."""
        raise NotImplementedError

    def close(self) -> None:
        """Release and free what the lock uses; the object is done."""
        raise NotImplementedError

    def holder(self) -> int | None:
        """The pid recorded by the process that holds the lock (``record_holder``), if known."""
        raise NotImplementedError

    def acquire(self, wait: float = 0.0, *, on_wait: Callable[[], None] | None = None,
                poll: float = POLL_SECONDS) -> bool:
        """Take the lock, waiting up to ``wait`` seconds (0: not at all; ``math.inf``: until it is free)
        for another holder, calling ``on_wait`` once when waiting starts. ``False`` if still held then."""
        deadline = time.monotonic() + wait
        told = False
        while True:
            if self.try_acquire():
                return True
            if time.monotonic() >= deadline:
                return False
            if on_wait is not None and not told:
                on_wait()
                told = True
            time.sleep(poll if math.isinf(deadline) else max(0.0, min(poll, deadline - time.monotonic())))


def take(path: str | Path, *, shared: bool = False, wait: float = 0.0) -> tuple[Lock | None, int | None]:
    """Open the lock file ``path`` (recording its holder) and take it, waiting up to ``wait`` seconds:
    ``(lock, None)`` when taken, ``(None, holder's pid or None)`` when another process holds it. The lock
    is closed again on any error, and on an interrupt while waiting. ``OSError`` when it cannot be opened."""
    lock = open_lock(path, shared=shared, record_holder=True)
    try:
        if lock.acquire(wait):
            return lock, None
        pid = lock.holder()
    except BaseException:
        lock.close()
        raise
    lock.close()
    return None, pid


def open_lock(path: str | Path, *, shared: bool = False, stand_in: str | Path | None = None,
              record_holder: bool = False) -> Lock:
    """A lock on ``path`` (a folder, or a file created if missing), not yet taken.

    ``stand_in``: the file to lock instead of ``path`` where ``path`` cannot be locked itself (no
    ``flock``: always for a folder; for a file that holds data of its own). ``record_holder``: write
    this process's pid into the lock file when taken, for ``holder()``. Raises ``OSError`` when the
    file or folder cannot be opened or the lock file could not be made (read-only folder).
    """
    path = Path(path)
    if NATIVE:
        return _FlockLock(path, shared, record_holder)
    return _PortableLock(path, Path(stand_in) if stand_in is not None else path, shared, record_holder)


class _FlockLock(Lock):
    def __init__(self, path: Path, shared: bool, record_holder: bool):
        self.path, self.shared, self.record = path, shared, record_holder
        self.fd, self.held = -1, False
        if path.is_dir():
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        else:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.held = True
        if self.record:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
                os.pwrite(self.fd, _record(), 0)
        return True

    def release(self) -> None:
        if self.held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd, self.held = -1, False

    def __del__(self) -> None:  # a lock dropped without close() is released, as filelock's are
        with contextlib.suppress(Exception):
            self.close()

    def holder(self) -> int | None:
        with contextlib.suppress(OSError):
            return _parse_record(os.pread(self.fd, 4096, _RECORD_OFFSET))
        return None


class _PortableLock(Lock):
    def __init__(self, path: Path, lock_file: Path, shared: bool, record_holder: bool):
        self.path, self.shared, self.record = path, shared, record_holder
        if lock_file.is_dir():
            raise IsADirectoryError(errno.EISDIR, "这里不能锁定文件夹本身，需要一个代替它的锁文件", str(lock_file))
        if not os.access(lock_file.parent, os.W_OK):  # the lock file is made when the lock is taken
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(lock_file))
        self.lock_file = lock_file
        on_acquired = _write_record if record_holder and sys.platform == "win32" else None
        self.impl = filelock.FileLock(lock_file, thread_local=False, on_acquired=on_acquired)
        self._timeout = filelock.Timeout

    def try_acquire(self) -> bool:
        if self.impl.is_locked:
            return True
        for _ in range(2):  # a first try may only clear away a dead holder's marker (older filelock)
            try:
                self.impl.acquire(blocking=False)
                return True
            except self._timeout:
                pass
        return False

    def release(self) -> None:
        if self.impl.is_locked:
            self.impl.release(force=True)

    def close(self) -> None:
        self.release()

    def holder(self) -> int | None:
        if not self.record:
            return None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            pid = self.impl.pid  # SoftFileLock: the pid in its own marker
            if pid is not None:
                return int(pid)
        with contextlib.suppress(OSError), self.lock_file.open("rb") as fh:  # LockFileEx: _write_record's
            fh.seek(_RECORD_OFFSET)
            return _parse_record(fh.read(4096))
        return None


def _record() -> bytes:
    return b" " + json.dumps({"pid": os.getpid()}).encode() + b"\n"


def _parse_record(raw: bytes) -> int | None:
    try:
        pid = json.loads(raw.decode("utf-8", "replace")).get("pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def _write_record(fd: int) -> None:
    """``on_acquired`` of a Windows lock: byte 0 stays locked, the record follows it for others to read."""
    with contextlib.suppress(OSError):
        data = _record()
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.ftruncate(fd, len(data))


def _beside(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def mark_in_use(fh: IO, path: str | Path) -> None:
    """Mark the open file ``fh`` (at ``path``) as in use by this process, for ``in_use`` in others.

    ``flock``: a shared lock on ``fh`` itself, gone when ``fh`` is closed. Elsewhere: an exclusive lock on
    ``<path>.lock``, released when ``fh`` is garbage-collected or this process ends. ``OSError`` if it
    cannot be marked.
    """
    if NATIVE:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        return
    lock = open_lock(path, stand_in=_beside(Path(path)), shared=True)
    if not lock.try_acquire():
        raise BlockingIOError(errno.EWOULDBLOCK, "file already in use", str(path))
    weakref.finalize(fh, lock.close)


def in_use(path: str | Path) -> bool:
    """Whether another process marked the file at ``path`` in use (``mark_in_use``) and still runs.
    ``False`` where this cannot be told (a file that cannot be opened)."""
    path = Path(path)
    if NATIVE:
        try:
            with path.open("a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        except OSError:
            return False
    if not _beside(path).exists():
        return False
    try:
        lock = open_lock(path, stand_in=_beside(path))
        try:
            return not lock.try_acquire()
        finally:
            lock.close()  # releasing removes the stand-in of a finished (or killed) holder
    except OSError:
        return False
