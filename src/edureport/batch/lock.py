"""One build at a time per output folder, with a lock the kernel releases when its holder dies.

``flock`` locks vanish with the process that held them (SIGKILL included), so a killed build never
leaves a lock that blocks the next one; the file only records who holds it, for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from edureport.core.errors import BuildLockedError

LOCK_FILE = ".edureport-build.lock"


class BuildLock:
    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK_FILE
        self._fh = None

    def acquire(self, wait: bool = False) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            who = ""
            try:
                info = json.loads(holder)
                who = f"（进程 {info.get('pid')}）"
            except ValueError:
                pass
            raise BuildLockedError(f"另一个 edureport build 正在使用输出文件夹 {self.path.parent}{who}；"
                                   "请等它结束，或加 --wait 排队等待") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid()}))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
