"""Trivial jobs for the worker pool tests, in a module of their own: each spawned worker imports it, and
importing ``test_workers`` (pytest, the fixtures, the whole package) took seconds per worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def pid_of_worker(item: int) -> int:
    return os.getpid()


def fail_on_one(item: int) -> int:
    if item == 1:
        raise ValueError(f"坏的输入 {item}")
    return item


def unpicklable(item: int) -> object:
    return (lambda: item) if item == 1 else item


def sleep(item: float, *, running: str = "") -> float:
    """Sleep ``item`` seconds, first leaving a file named after the worker's pid in the folder ``running``."""
    if running:
        (Path(running) / str(os.getpid())).touch()
    time.sleep(item)
    return item


def die_on_two(item: int, *, how: str, once: str = "") -> int:
    """Item 2 ends its worker (every time, or only the first time when ``once`` names a marker file)."""
    if item == 2 and not (once and os.path.exists(once)):
        if once:
            Path(once).write_text(str(os.getpid()), encoding="utf-8")
        if how == "exit3":
            os._exit(3)
        os.kill(os.getpid(), getattr(signal, how))
        time.sleep(10)
    return os.getpid()
