"""Run one report job: papermill executes the notebook, then each output format asked for (HTML, PDF,
Word: see ``render/formats.py``) is rendered in-process from the same HTML.

Parameters are checked against the notebook's ``parameters`` cell first, so a mistyped name is refused
instead of silently injected. A failed notebook is saved (with the error in it) before the error is
raised, so the analyst can open it and see where it failed.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edureport.batch import warm as warm_kernels
from edureport.batch.executors import kernel_manager_class
from edureport.core.errors import EdureportError, ParameterError, ReportFailedError  # noqa: F401  (defined with every other error)
from edureport.core.paths import PACKAGE_NOTEBOOKS, report_dir, write_atomic
from edureport.render.document import notebook_to_html
from edureport.render.outputs import DEFAULT_FORMATS, output_files, output_formats
from edureport.report.kinds import Job

TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}
KERNEL = "python3"  # ipykernel's built-in kernel; see own_python


@dataclass
class JobResult:
    job: Job
    status: str  # built / failed
    seconds: float
    files: dict[str, str] = field(default_factory=dict)
    error: str = ""
    attempts: int = 1
    input_key: str = ""


def notebooks_dir() -> Path:
    """The report notebooks a build runs: the ones shipped inside the package (``report/notebooks/``), so
    reports always come from the notebooks of the installed code, whichever bureau folder builds them; a
    bureau folder's own ``notebooks/`` are its analysts' copies to open in Jupyter.
    ``EDUREPORT_NOTEBOOKS_DIR`` overrides (e.g. tests that inject faults)."""
    env = os.environ.get("EDUREPORT_NOTEBOOKS_DIR")
    return Path(env) if env else PACKAGE_NOTEBOOKS


def notebook_file(job: Job) -> Path:
    """A job's notebook: its kind's ``notebook`` in ``notebooks_dir()``, or that path itself when it is
    absolute (a report kind whose notebook lives outside the project, e.g. a plug-in's or a test's)."""
    return notebooks_dir() / job.notebook  # an absolute right-hand side replaces the folder


def literal_path(path: Path) -> str:
    """A path as papermill must be given it to use it as it is.

    papermill formats its input and output paths with the parameters (``path.format(**parameters)``,
    papermill/parameterize.py ``parameterize_path``), so "{data_dir[0]}" in a folder or file name would
    be replaced by a parameter's characters and the notebook written elsewhere. Doubled braces are
    literal braces to ``str.format``."""
    return str(path).replace("{", "{{").replace("}", "}}")


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Refuse names the ``parameters`` cell does not declare and values of another type."""
    import papermill

    declared = papermill.inspect_notebook(literal_path(notebook))
    problems = []
    for name, value in parameters.items():
        if name not in declared:
            problems.append(f"笔记本 {notebook.name} 没有参数“{name}”（可用：{'、'.join(declared)}）")
            continue
        want = TYPES.get(str(declared[name].get("inferred_type_name", "")).strip())
        if want is not None and not isinstance(value, want):
            problems.append(f"参数“{name}”应为 {declared[name]['inferred_type_name']}，实际为 {value!r}")
    if problems:
        raise ParameterError("；".join(problems))


def run_job(job: Job, *, common: dict[str, Any], out: Path, year: int, as_of: str,
            formats: tuple[str, ...] = DEFAULT_FORMATS, timeout: int | None = 600,
            warm: bool | None = None) -> JobResult:
    """Execute one report and write its executed notebook and its file in each of ``formats`` atomically.

    ``warm``: run the notebook in this worker's warm kernel (``batch.warm``); ``None`` = wherever warm
    kernels are on (a build's pool worker, unless ``EDUREPORT_WARM_KERNELS=0``), ``False`` = a kernel of its own."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    source = notebook_file(job)
    params = {**common, **job.parameters}
    check_parameters(source, params)
    files = output_files(out, year, as_of, job.stem, formats)
    files["ipynb"].parent.mkdir(parents=True, exist_ok=True)
    scratch = files["ipynb"].with_name(f".{job.stem}.running.ipynb")
    readable_parameters()
    engine = {}
    if warm or (warm is None and warm_kernels.enabled()):
        warm_kernels.register()
        engine = {"engine_name": warm_kernels.ENGINE}
    try:
        nb = papermill.execute_notebook(
            literal_path(source), literal_path(scratch), parameters=params, cwd=str(source.parent),
            progress_bar=False, log_output=False, request_save_on_cell_execute=False, execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # no transport warnings in cron logs
            kernel_manager_class=own_python(kernel_manager_class()),  # the kernel dies with this process (a killed worker)
            kernel_name=KERNEL,  # this Python's, not the notebook's "edureport": a plain pip install registers none
            **engine,
        )
    except PapermillExecutionError as exc:
        failed = failed_notebook_path(files["ipynb"])
        scratch.replace(failed)  # kept for inspection; the last good executed notebook stays in place
        raise ReportFailedError(job, f"{exc.ename}: {exc.evalue}", failed) from None
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    written = {"ipynb": str(files["ipynb"])}
    executed = nbformat.from_dict(nb)
    index = Path(os.path.relpath(report_dir(out, year, as_of) / "index.html", files["ipynb"].parent)).as_posix()
    html = notebook_to_html(executed, title=job.title, kind=job.kind, index=index)
    for fmt in output_formats(formats):
        write_atomic(files[fmt.name], fmt.render(html, executed, title=job.title))
        written[fmt.name] = str(files[fmt.name])
    write_atomic(files["ipynb"], nbformat.writes(without_run_stamps(executed)))
    scratch.unlink(missing_ok=True)
    failed_notebook_path(files["ipynb"]).unlink(missing_ok=True)
    return JobResult(job, "built", time.perf_counter() - started, written)


def readable_parameters() -> None:
    """The executed notebook's injected parameters say ``township = '图克镇'``, as an analyst would write
    it, not papermill's ``"\\u56fe\\u514b\\u9547"``: papermill escapes every non-ASCII character of a
    string; ``repr`` escapes only what must be (quotes, line breaks, control characters)."""
    from papermill.translators import PythonTranslator, papermill_translators

    class ReadablePython(PythonTranslator):
        @classmethod
        def translate_str(cls, val: str) -> str:
            return repr(val)

    papermill_translators.register("python", ReadablePython)


@functools.cache  # one class per manager: a warm kernel is kept for the same class (batch.warm)
def own_python(manager: type) -> type:
    """``manager`` that runs the kernel in the Python running this build: the kernel spec "python3" is
    looked up in no kernel folder, so jupyter_client falls back to ipykernel's built-in spec, whose argv is
    ``sys.executable -m ipykernel_launcher``. Looked up by name, a "python3" in ``JUPYTER_PATH`` or the
    user's ~/.local/share/jupyter (another Python, without edureport) could win."""
    from jupyter_client.kernelspec import KernelSpecManager

    class OwnPythonKernelManager(manager):
        def __init__(self, **kw: Any) -> None:
            kw.setdefault("kernel_spec_manager", KernelSpecManager(kernel_dirs=[]))
            super().__init__(**kw)

    return OwnPythonKernelManager


RUN_STAMPS = ("start_time", "end_time", "duration")


def without_run_stamps(nb: Any) -> Any:
    """The executed notebook without wall-clock times, the scratch file's name and the injected cell's
    random id, so that the same inputs give the same bytes (each report's duration is kept in the
    build's manifest instead). A failed notebook keeps them: there they help to see what was slow or hung."""
    meta = nb.metadata.get("papermill", {})
    for key in (*RUN_STAMPS, "output_path"):
        meta.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # the kernel's iopub timestamps
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill gives it a random id
        for key in RUN_STAMPS:
            cell.metadata.get("papermill", {}).pop(key, None)
    return nb


def failed_notebook_path(executed: Path) -> Path:
    return executed.with_name(executed.stem + ".failed.ipynb")


def run_job_safe(job: Job, *, retries: int = 1, **kwargs: Any) -> JobResult:
    """``run_job`` that never raises: a dead kernel (killed, out of memory) is retried ``retries`` times;
    any other failure becomes a failed result carrying the error and the failed notebook."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    started = time.perf_counter()
    for attempt in range(retries + 1):
        try:
            result = run_job(job, **kwargs)
            result.attempts = attempt + 1
            return result
        except DeadKernelError as exc:
            error, notebook = f"内核意外退出（{exc}）", None
            if attempt < retries:
                continue
        except ReportFailedError as exc:
            error, notebook = str(exc), exc.notebook
        except CellTimeoutError:
            error, notebook = f"{job.title}：单元格执行超过时限（{kwargs.get('timeout')} 秒），已终止", None
        except Exception as exc:  # timeouts, rendering problems, anything: one report never stops the build
            error, notebook = f"{job.title}：{type(exc).__name__}: {exc}", None
        break
    files = {"failed_ipynb": str(notebook)} if notebook else {}
    return JobResult(job, "failed", time.perf_counter() - started, files, error, attempt + 1)
