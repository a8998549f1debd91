"""Warm kernels: each build worker keeps one notebook kernel that has already imported pandas, matplotlib
and edureport, and runs report after report in it, each in a fresh namespace (issue 19).

Where it lives: in the worker process of ``batch.executors.Pool`` (one kernel per worker, module state
here), started by the worker with ``kernel_manager_class`` (so Linux kills it when its worker dies) and
shut down and reaped when the worker stops (``executors.on_worker_exit``). Reports reach it through a
papermill engine, ``ENGINE`` (``NBClientEngine`` given our kernel manager and client), so the notebook
is still executed by papermill/nbclient exactly as in a cold kernel. Elsewhere (in-process builds, Dask
workers, ``EDUREPORT_WARM_KERNELS=0``) every report starts a kernel of its own, as before.

Between reports, run silently (``silent=True``, ``store_history=False``: not in the notebook, no
execution count used), ``between_reports`` restores in the kernel what the last report may have changed
(see there): user namespace and IPython history (``shell.reset(new_session=True)``, so the execution counter
is 1 again and the executed notebook's ``execution_count``s equal a cold kernel's), matplotlib rcParams and
pandas options, open figures, working directory, warning filters and once-only registries, environment
variables, ``sys.path``, display formatters, random seeds. "Defaults" are the state right after the warm-up
(``warm_up``): a fresh kernel's, plus the imports and edureport's own once-per-process matplotlib setup
(fonts, stable SVG ids), which a cold kernel makes during its report.

A kernel is also replaced when a file of the edureport modules it has imported changed since its warm-up
(code edited or reinstalled during a build): its reports then run the code a cold kernel would import.

A kernel is never reused after a report that failed in any way (an error in a cell, a cell timeout, a dead
kernel, an interruption): it is shut down and the next report (or the retry) gets a new one. Module state
of what was imported (edureport's caches, keyed by their inputs) is kept, which is the point; within one
build the data are one snapshot. Memory grows a little per report (caches, fragmentation), so a kernel is
replaced after ``REPORTS_PER_KERNEL`` reports (``EDUREPORT_WARM_REPORTS`` overrides), or sooner when its
memory is above ``KERNEL_MB`` after a report (a big region's whole data set; see there). Measured
(``benchmarks/warm_memory.py``, every demo report twice in one kernel): RSS 234 MB after the first report,
at most 263 MB, about +0.35 MB per report, most of it while the caches fill. 20 reports bound the growth to
roughly a tenth of a kernel's size, and the replacement (a kernel start and the imports, ~1.1 s) costs
under 0.1 s per report, 1–2 % of a report's time.
"""

from __future__ import annotations

import atexit
import gc
import math
import os
import random
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import pandas
import psutil
from jupyter_core.utils import run_sync
from pandas._config import config as pandas_config

import edureport.report.catalog
import edureport.report.context  # noqa: F401
from edureport.batch.executors import in_pool_worker, on_worker_exit
from edureport.core.fonts import setup_matplotlib

ENGINE = "edureport-warm"
REPORTS_PER_KERNEL = 20  # measured: docs/benchmarks.md section 1 (benchmarks/warm_memory.py)
# A kernel whose memory (RSS) is above this after a report is replaced, whatever its count: at 600 苏木镇 a
# kernel that had run a section, department or review report (the whole data set) stayed at 450–550 MB for
# the next 20 township reports, which alone need 280 MB. This bounds what a kernel keeps between reports,
# not its peak during one: the 600-township build's peak (2,163 MB with the bound, 2,179 MB without) is
# reached while kernels run whole-data reports. At the demo's size a kernel holds 234–263 MB and never
# reaches the bound (``EDUREPORT_WARM_KERNEL_MB`` overrides).
KERNEL_MB = 400
RESET_TIMEOUT = 60  # seconds for the warm-up (imports) or the reset between reports
HISTORY = "--HistoryManager.hist_file=:memory:"  # what nbclient gives the kernels it starts


# --- in the worker ----------------------------------------------------------------------------------------------

def enabled() -> bool:
    """Warm kernels in the build's own pool workers (whose life ends with the build), unless turned off."""
    return in_pool_worker() and os.environ.get("EDUREPORT_WARM_KERNELS", "1").strip() not in ("0", "no", "false")


def reports_per_kernel() -> int:
    try:
        return max(1, int(os.environ.get("EDUREPORT_WARM_REPORTS", REPORTS_PER_KERNEL)))
    except ValueError:
        return REPORTS_PER_KERNEL


def kernel_mb() -> float:
    """The memory bound of a warm kernel in MiB (``KERNEL_MB``, or ``EDUREPORT_WARM_KERNEL_MB`` when it is a
    finite number; at least 1)."""
    try:
        value = float(os.environ.get("EDUREPORT_WARM_KERNEL_MB", KERNEL_MB))
    except ValueError:
        return KERNEL_MB
    return max(1.0, value) if math.isfinite(value) else KERNEL_MB


def _too_big() -> bool:
    """This worker's kernel holds more memory than ``kernel_mb`` (False when it cannot be told: a report
    that was built is never failed for a measurement)."""
    try:
        pid = kernel_pid()
        return pid is not None and psutil.Process(pid).memory_info().rss > kernel_mb() * 2**20
    except Exception:
        return False


@dataclass
class _Kernel:
    km: Any
    kc: Any
    key: tuple
    reports: int = 0


_kernel: _Kernel | None = None
_unusable = False  # the warm-up failed once in this worker: its reports run cold


def register() -> None:
    """Make ``ENGINE`` known to papermill (idempotent)."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE, _engine())


def _engine() -> type:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class WarmEngine(NBClientEngine):
        """``NBClientEngine`` that runs the notebook in this worker's warm kernel (a new one if there is
        none), then keeps it for the next report, or shuts it down after a failure or its last report."""

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                     execution_timeout: int | None = None, **kwargs: Any) -> Any:
            kernel = take(kernel_name, kwargs.get("kernel_manager_class"), kwargs.get("extra_arguments", []),
                          os.getcwd(), start_timeout)  # papermill has changed into the notebook's cwd
            if kernel is None:
                return super().execute_managed_notebook(
                    nb_man, kernel_name, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                    start_timeout=start_timeout, execution_timeout=execution_timeout, **kwargs)
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=_log(), log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=kernel.km, **final)
            client.kc = kernel.kc  # nbclient then neither starts a client nor stops the kernel it does not own
            try:
                nb = client.execute()
            except BaseException:  # timeout, dead kernel, interrupted: never reused
                discard()
                raise
            kernel.reports += 1
            if (nb.metadata.get("papermill", {}).get("exception") or kernel.reports >= reports_per_kernel()
                    or _too_big()):
                discard()  # a failed cell may have left anything behind; or this kernel has done its share
            return nb

    return WarmEngine


def _log() -> Any:
    from papermill.log import logger

    return logger


def take(kernel_name: str, manager: type | None, extra: list[str], cwd: str, start_timeout: int) -> _Kernel | None:
    """This worker's warm kernel, reset for the next report (started and warmed up first if there is none);
    ``None`` when warm kernels cannot be had here (the report then runs cold)."""
    global _unusable
    if _unusable or manager is None:
        return None
    key = (kernel_name, manager, tuple(extra))
    if _kernel is not None and (_kernel.key != key or not _alive(_kernel)):
        discard()
    if _kernel is not None:
        try:
            _run(_kernel, f"__import__('edureport.batch.warm', fromlist=['_']).between_reports({cwd!r})")
            return _kernel
        except Exception:  # the reset failed or hung: a new kernel
            discard()
    try:
        return _start(kernel_name, manager, extra, cwd, start_timeout, key)
    except Exception:
        discard()
        _unusable = True
        return None


def _start(kernel_name: str, manager: type, extra: list[str], cwd: str, start_timeout: int, key: tuple) -> _Kernel:
    global _kernel
    km = manager(kernel_name=kernel_name)
    args = [*extra, HISTORY] if not any(a.startswith("--HistoryManager.hist_file") for a in extra) else list(extra)

    async def start() -> Any:
        await km.start_kernel(extra_arguments=args, cwd=cwd)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=start_timeout)
        return kc

    _kernel = _Kernel(km, None, key)
    if in_pool_worker():
        on_worker_exit(discard)
    else:  # ``run_job(warm=True)`` elsewhere: shut down when this process exits
        atexit.register(discard)
    _kernel.kc = run_sync(start)()
    _run(_kernel, f"__import__('edureport.batch.warm', fromlist=['_']).warm_up({cwd!r})")
    return _kernel


def _run(kernel: _Kernel, code: str) -> None:
    """Execute ``code`` silently (no output recorded, no execution count used); raise if it failed."""
    async def run() -> dict:
        return await kernel.kc.execute_interactive(code, silent=True, store_history=False, timeout=RESET_TIMEOUT,
                                                   output_hook=lambda msg: None, allow_stdin=False)

    reply = run_sync(run)()
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(f"{content.get('ename', '')}: {content.get('evalue', '')}")


def _alive(kernel: _Kernel) -> bool:
    async def alive() -> bool:
        return bool(await kernel.km.is_alive())

    try:
        return run_sync(alive)()
    except Exception:
        return False


def discard() -> None:
    """Shut down this worker's warm kernel, if any, and wait for its process (never raises)."""
    global _kernel
    kernel, _kernel = _kernel, None
    if kernel is None:
        return
    async def stop() -> None:
        try:
            if await kernel.km.is_alive():
                await kernel.km.shutdown_kernel(now=True)  # SIGKILL and wait: nothing of it is worth keeping
        finally:
            await kernel.km.cleanup_resources()

    try:
        if kernel.kc is not None:
            kernel.kc.stop_channels()
        run_sync(stop)()
    except Exception:  # already gone
        pass


def kernel_pid() -> int | None:
    """The warm kernel's process id (for tests and measurements)."""
    if _kernel is None or _kernel.km.provisioner is None:
        return None
    process = getattr(_kernel.km.provisioner, "process", None)
    return getattr(process, "pid", None)


# --- in the kernel ----------------------------------------------------------------------------------------------

_state: dict[str, Any] = {}


def warm_up(cwd: str) -> None:
    """Import what every report imports, make edureport's once-per-process matplotlib setup, and remember the
    resulting state: ``between_reports`` returns to it."""

    import matplotlib
    import matplotlib.pyplot
    setup_matplotlib()
    shell = _shell()
    _state.update(
        rc={k: v for k, v in matplotlib.rcParams.items() if k != "backend"},
        pandas={k: pandas.get_option(k) for k in _pandas_options()},
        warnings=list(warnings.filters),
        environ=dict(os.environ),
        path=list(sys.path),
        formatters={m: (dict(f.type_printers), dict(f.deferred_printers), dict(f.singleton_printers))
                    for m, f in shell.display_formatter.formatters.items()},
    )
    _state["code"] = _code_stamps()
    random.seed()
    between_reports(cwd)


def between_reports(cwd: str) -> None:
    """Return the kernel to the state after ``warm_up`` and clear the user namespace."""

    import matplotlib
    import matplotlib.pyplot as plt
    if _code_stamps() != _state["code"]:  # edureport's code was changed (edited, reinstalled) since the warm-up:
        raise RuntimeError("edureport 的代码已改变")  # a new kernel imports it anew, as a cold kernel would
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_state["rc"])
        for key, value in _state["pandas"].items():
            if pandas.get_option(key) != value:
                pandas.set_option(key, value)
    warnings.filters[:] = _state["warnings"]
    mutated = getattr(warnings, "_filters_mutated", None)  # every module's once-only registry is stale again
    if mutated is not None:
        mutated()
    for module in list(sys.modules.values()):
        registry = getattr(module, "__warningregistry__", None)
        if isinstance(registry, dict):
            registry.clear()
    if dict(os.environ) != _state["environ"]:
        os.environ.clear()
        os.environ.update(_state["environ"])
    sys.path[:] = _state["path"]
    os.chdir(cwd)
    shell = _shell()
    for mime, (types, deferred, singletons) in _state["formatters"].items():
        formatter = shell.display_formatter.formatters.get(mime)
        if formatter is not None:
            formatter.type_printers, formatter.deferred_printers = dict(types), dict(deferred)
            formatter.singleton_printers = dict(singletons)
    random.seed()  # as unpredictable as a new process's (reports that need a sequence seed it themselves)
    shell.reset(new_session=True)  # user namespace, In/Out, ``_``; execution counter back to 1
    gc.collect()


def _code_stamps() -> dict[str, tuple[int, int]]:
    """Size and modification time of every imported edureport module's file."""

    stamps = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and (name == "edureport" or name.startswith("edureport.")):
            try:
                st = os.stat(path)
            except OSError:
                stamps[path] = (-1, -1)
                continue
            stamps[path] = (st.st_size, st.st_mtime_ns)
    return stamps


def _shell() -> Any:
    ipython = sys.modules.get("IPython")  # a kernel has it imported; no import for the build's processes
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        raise RuntimeError("not in an IPython kernel")
    return shell


def _pandas_options() -> list[str]:
    deprecated = getattr(pandas_config, "_deprecated_options", {})
    return [k for k in getattr(pandas_config, "_registered_options", {}) if k not in deprecated]
