"""One build at a time per output folder, with a lock that never outlives its holder.

The lock is ``edureport.core.locks``: ``flock`` where there is one (the kernel drops it with the process
that held it, SIGKILL included), ``filelock`` elsewhere (Windows: ``LockFileEx``, also dropped with its
holder). So a killed build never leaves a lock that blocks the next one; the file only records who holds
it, for the message.
"""

from __future__ import annotations

import math
from pathlib import Path

from edureport.core import locks
from edureport.core.errors import BuildLockedError

LOCK_FILE = ".edureport-build.lock"


class BuildLock:
    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK_FILE
        self._lock: locks.Lock | None = None

    def acquire(self, wait: bool = False) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock, pid = locks.take(self.path, wait=math.inf if wait else 0)
        if lock is None:
            who = f"（进程 {pid}）" if pid else ""
            raise BuildLockedError(f"另一个 edureport build 正在使用输出文件夹 {self.path.parent}{who}"
                                   "（或 edureport send 正在发送其中的报告）；请等它结束，或加 --wait 排队等待")
        self._lock = lock
        return self

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
