"""A small pool of long-lived worker processes in which one dead worker costs one attempt of one job.

``concurrent.futures.ProcessPoolExecutor`` marks the whole pool broken when one worker dies (what the
out-of-memory killer does), and every job not yet finished fails with it. Here each worker runs one job
at a time and sends the result over its own pipe; the parent waits on those pipes and on the workers'
sentinels (``multiprocessing.connection.wait``):

- A worker that dies while running a job costs that job one attempt: the job runs again (``retries``
  times) in a freshly started worker, which also replaces the dead one; every other job goes on. When
  the last attempt's worker dies too, the job's outcome says how (signal or exit code, in Chinese).
- Workers are spawned (no fork of a parent that has threads), reused for job after job (starting one
  costs the imports of papermill and friends, about a second), and ignore SIGINT: on Ctrl-C the parent
  alone decides, and stops them.
- Linux kills a worker when the build process dies, and a notebook kernel when its worker dies
  (``PR_SET_PDEATHSIG``, see ``die_with_parent`` and ``kernel_manager_class``), so a killed build or
  worker leaves no process behind.
- Leaving the pool's ``with`` block always stops and reaps every worker, also on an exception or
  KeyboardInterrupt; busy workers are terminated, not waited for. A worker that stops normally first runs
  its ``on_worker_exit`` functions (the warm kernel of ``batch.warm`` is shut down and reaped there).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

PR_SET_PDEATHSIG = 1
STOP_GRACE = 2.0  # seconds an idle worker gets to exit after "stop" (it takes ~0.05 s) before SIGKILL


@dataclass
class Outcome:
    """What became of one item: its value, or why there is none."""

    item: Any
    value: Any = None
    error: str = ""  # the function raised, or the worker of every attempt died
    deaths: int = 0  # attempts that ended with the death of their worker
    seconds: float = 0.0  # from the first attempt's start to the outcome


@dataclass
class _Task:
    item: Any
    deaths: int = 0
    started: float = 0.0


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: _Task | None = None


class Pool:
    """``with Pool(2) as pool: for outcome in pool.run(fn, items, **kwargs): ...`` calls ``fn(item, **kwargs)``
    for every item in ``size`` worker processes and yields the outcomes as they finish (not in order).
    ``fn``, the items, the keyword arguments and the values must be picklable; ``fn`` importable by name."""

    def __init__(self, size: int, *, retries: int = 1):
        self.size = max(1, size)
        self.retries = retries
        self._ctx = get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, fn: Callable[..., Any], items: Iterable[Any], **kwargs: Any) -> Iterator[Outcome]:
        queue = deque(_Task(item) for item in items)
        while queue or any(w.task for w in self._workers):
            self._assign(queue, fn, kwargs)
            by_conn = {w.conn: w for w in self._workers if w.task}
            by_sentinel = {w.process.sentinel: w for w in self._workers}
            ready = wait([*by_conn, *by_sentinel])
            # Results first: a worker that sent its result and then died has finished its job.
            for worker in [by_conn[r] for r in ready if r in by_conn]:
                outcome = self._receive(worker)
                if outcome is not None:
                    yield outcome
            for worker in [by_sentinel[r] for r in ready if r in by_sentinel]:
                outcome = self._bury(worker, fn, kwargs)
                if outcome is not None:
                    yield outcome

    def close(self) -> None:
        """Stop every worker (idle ones are asked, busy ones terminated) and reap them all."""
        workers, self._workers = self._workers, []
        for w in workers:
            try:
                if w.task is None:
                    w.conn.send(None)
                else:
                    w.process.terminate()
            except OSError:  # already dead: its pipe is closed
                pass
        deadline = time.monotonic() + STOP_GRACE
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.exitcode is None:
                w.process.kill()
                w.process.join()
            w.conn.close()
            w.process.close()

    def _assign(self, queue: deque[_Task], fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        for w in self._workers:
            if w.task is None and queue and w.process.is_alive():  # a dead one is buried, not charged a job
                self._send(w, queue.popleft(), fn, kwargs)
        while queue and len(self._workers) < self.size:
            self._send(self._start(), queue.popleft(), fn, kwargs)

    def _start(self) -> _Worker:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(child_end, os.getpid()), name="edureport-worker",
                                    daemon=True)  # daemon: multiprocessing's exit handler kills it if we could not
        process.start()
        worker = _Worker(process, parent_end)
        self._workers.append(worker)
        child_end.close()  # the worker's end lives in the worker only: its death closes the pipe
        return worker

    def _send(self, worker: _Worker, task: _Task, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        worker.task = task
        task.started = task.started or time.perf_counter()
        with contextlib.suppress(OSError):  # it died meanwhile: its sentinel is ready, _bury counts the attempt
            worker.conn.send((fn, task.item, kwargs))

    def _receive(self, worker: _Worker) -> Outcome | None:
        try:
            kind, value = worker.conn.recv()
        except (EOFError, OSError):  # died before or while sending: its sentinel tells
            return None
        task, worker.task = worker.task, None
        assert task is not None
        seconds = time.perf_counter() - task.started
        if kind == "error":
            return Outcome(task.item, error=value, deaths=task.deaths, seconds=seconds)
        return Outcome(task.item, value=value, deaths=task.deaths, seconds=seconds)

    def _bury(self, worker: _Worker, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Outcome | None:
        """Reap a dead worker; its job, if it had one, is retried in a fresh worker or has failed."""
        sent = self._receive(worker) if worker.task is not None and worker.conn.poll() else None
        worker.process.join()
        self._workers.remove(worker)
        worker.conn.close()
        exitcode = worker.process.exitcode
        worker.process.close()
        task = worker.task
        if sent is not None or task is None:  # its result came just before it died, or it was idle
            return sent
        task.deaths += 1
        if task.deaths <= self.retries:
            self._send(self._start(), task, fn, kwargs)
            return None
        return Outcome(task.item, error=f"{death_message(exitcode)}，在新的工作进程中重试 {task.deaths - 1} 次仍然如此",
                       deaths=task.deaths, seconds=time.perf_counter() - task.started)


def death_message(exitcode: int | None) -> str:
    """Why a worker ended, for the report's error (a negative exit code is the signal that killed it)."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        if number == signal.SIGKILL:
            return f"工作进程被系统终止（信号 {number}，可能内存不足）"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "未知信号"
        return f"工作进程被信号 {number}（{name}）终止"
    return f"工作进程异常退出（退出码 {exitcode}）"


_in_worker = False
_at_exit: list[Callable[[], None]] = []


def in_pool_worker() -> bool:
    """True in a worker of ``Pool`` (whose life ends with the pool), e.g. to keep a warm kernel there."""
    return _in_worker


def on_worker_exit(fn: Callable[[], None]) -> None:
    """Call ``fn`` when this worker stops normally (asked, its pipe closed, or an exception), e.g. to shut
    down and reap a kernel it keeps; a killed worker's kernels die by their death signal instead."""
    if fn not in _at_exit:
        _at_exit.append(fn)


def _serve(conn: Connection, parent: int) -> None:
    """A worker's life: run one job after another until told to stop or the parent's end closes."""
    global _in_worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole terminal group; the parent decides
    die_with_parent(parent)
    _in_worker = True
    try:
        _serve_jobs(conn)
    finally:
        for fn in reversed(_at_exit):
            with contextlib.suppress(Exception):
                fn()


def _serve_jobs(conn: Connection) -> None:
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        fn, item, kwargs = task
        try:
            reply = ("value", fn(item, **kwargs))
        except Exception as exc:  # the job's own failure is its outcome, not a dead worker to retry
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except Exception as exc:  # the value could not be pickled (nothing was written yet)
            conn.send(("error", f"结果无法传回主进程：{type(exc).__name__}: {exc}"))


@functools.cache
def _prctl() -> Callable[..., int] | None:
    try:

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux (glibc): no death signal, workers end when their pipe closes
        return None


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _kernel_dies_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` for the kernel's ``Popen``: everything it calls is resolved here, before the fork."""
    prctl, parent = _prctl(), os.getpid()
    if prctl is None:
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@functools.cache
def kernel_manager_class() -> type:
    """jupyter_client's kernel manager, but Linux kills the kernel when the process that started it dies.

    jupyter_client starts kernels in a session of their own (so a process group kill of the worker does not
    reach them), and ipykernel only polls for its parent once a second, from a thread that needs the GIL: a
    kernel busy in C code outlives its SIGKILLed worker until that code returns (seen: a kernel running
    ``sum(range(10**10))`` kept running, and holding the build's output open, after its worker was killed
    and the build had ended)."""
    from jupyter_client.manager import AsyncKernelManager

    class DiesWithParentKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            preexec = _kernel_dies_with_this_process()
            if preexec is not None:
                kw.setdefault("preexec_fn", preexec)
            await super().start_kernel(**kw)

    return DiesWithParentKernelManager
