"""A data folder as a shared resource: one writer at a time, and readers see the old or the new data,
never a mix, whatever is killed when.

A lock on the folder itself (``edureport.core.locks``: ``flock`` on a directory file descriptor):
shared for readers (validate, status, build, template, ``import --dry-run``), exclusive for ``import``.
No lock file is made, so a read-only folder can be read and nothing is left behind; the kernel drops a
lock with its holder, ``kill -9`` included. Nested use in one process (an import validating the folder
it holds) is free. Where the file system cannot lock a folder (some network file systems), and on
Windows (no ``flock``: ``filelock``, where readers exclude each other too, see ``core.locks``),
``.edureport.lock`` inside it is locked instead; a reader of such a folder that it may not write reads
without a lock.

Readers that find an import interrupted (``journal``) finish it first (``consistent``), so the only
writes outside ``import`` are the completion of an import.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from edureport.core import locks
from edureport.core.errors import FolderBusyError
from edureport.core.paths import why
from edureport.data.journal import DataFolderError, pending, read_state, recover

FALLBACK_LOCK = ".edureport.lock"  # only where a folder cannot be locked itself (some network file systems)
WAIT_SECONDS = 600.0  # how long a reader or an import queues behind another import before giving up
POLL_SECONDS = 0.1


# Locks this process holds: (device, inode) of the folder → [lock, exclusive, depth].
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
    held = _open_lockable(folder, exclusive)
    if held is None:
        yield
        return
    try:
        _acquire(held, folder, exclusive, wait, on_wait)
        _held[key] = [held, exclusive, 1]
        try:
            yield
        finally:
            del _held[key]
    finally:
        held.close()  # releases the lock


def _open_lockable(folder: Path, exclusive: bool) -> locks.Lock | None:
    """A lock on the folder itself, else on the fallback lock file; None for a reader of a folder that
    can be neither locked nor written (nobody can import into it either)."""
    if locks.NATIVE:
        try:
            held = locks.open_lock(folder, shared=not exclusive)
        except OSError as exc:
            raise DataFolderError(f"无法打开数据文件夹 {folder}：{why(exc)}") from None
        try:
            if held.try_acquire():  # probe the mode that will be taken (NFS: EX needs write access)
                held.release()
            return held  # lockable, perhaps merely held by someone else
        except OSError:  # this file system cannot lock a folder
            held.close()
    try:
        return locks.open_lock(folder / FALLBACK_LOCK, shared=not exclusive)
    except OSError as exc:
        if exclusive:
            raise DataFolderError(f"无法锁定数据文件夹 {folder}：{why(exc)}") from None
        return None


def _acquire(held: locks.Lock, folder: Path, exclusive: bool, wait: float,
             on_wait: Callable[[], None] | None) -> None:
    try:
        if held.acquire(wait, on_wait=on_wait, poll=POLL_SECONDS):
            return
    except OSError as exc:
        raise DataFolderError(f"无法锁定数据文件夹 {folder}：{why(exc)}") from None
    waited = f"等待 {wait:.0f} 秒后" if wait else ""
    raise FolderBusyError(f"数据文件夹 {folder} 正在被另一个导入使用，{waited}仍未结束；请稍后再试")


@contextlib.contextmanager
def consistent(folder: str | Path, *, wait: float = WAIT_SECONDS, finish_pending: bool = True,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """A consistent view of the folder for the ``with`` block: imports wait until it ends, and an
    interrupted import is completed (or undone) first — the one write a reader ever makes.
    ``finish_pending=False`` (a dry run) refuses instead of writing anything."""
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
            if read_state(folder) != "committed":  # never committed: the old data stand untouched, read them
                with lock(folder, exclusive=False, wait=wait, on_wait=on_wait):
                    yield
                return
            raise DataFolderError(f"数据文件夹 {folder} 中有一次已提交但未完成的导入，需要对该文件夹有写权限才能完成；"
                                  "请用有写权限的账户运行 edureport validate")
        with lock(folder, exclusive=True, wait=wait, on_wait=on_wait):
            recover(folder)
    raise FolderBusyError(f"数据文件夹 {folder} 一直有未完成的导入，无法读取一致的数据")
