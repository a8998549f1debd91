"""``edureport build``: validate once, then run the selected report jobs one after another.

Validation happens before any notebook runs, so bad input stops the build with exit code 2; a report
that fails does not stop the others (exit code 1 at the end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from .errors import EdureportError
from .execute import JobResult, ReportFailedError, run_job
from .paths import default_plan_file, demo_data_dir, outputs_dir, resolve
from .plan import load_plan
from .reports import Job, select_jobs
from .store import load_data


def build(*, plan_file: str | Path | None = None, data_dir: str | Path | None = None, as_of: str = "",
          out: str | Path | None = None, only: list[str] | None = None, formats: tuple[str, ...] = ("html", "pdf"),
          timeout: int | None = 600, on_event: Callable[[str, Job, JobResult | None], None] | None = None,
          ) -> list[JobResult]:
    """Build the selected reports; raises on bad input, returns one result per job otherwise."""
    plan_path = resolve(plan_file) if plan_file else default_plan_file()
    plan = load_plan(plan_path)
    data_path = resolve(data_dir) if data_dir else demo_data_dir()
    data = load_data(data_path, plan)  # raises DataValidationError before any notebook runs
    when = dt.date.fromisoformat(as_of) if as_of else plan.end
    jobs = select_jobs(plan, list(data.townships["township"]), only)
    common = {"as_of": when.isoformat(), "data_dir": str(data_path.resolve()),
              "plan_file": str(plan_path.resolve()), "commentary_file": ""}
    target = Path(out) if out else outputs_dir()
    results = []
    for job in jobs:
        if on_event:
            on_event("start", job, None)
        try:
            result = run_job(job, common=common, out=target, year=plan.year, as_of=when.isoformat(),
                             formats=formats, timeout=timeout)
        except ReportFailedError as exc:
            result = JobResult(job, "failed", 0.0, {"ipynb": str(exc.notebook)} if exc.notebook else {}, str(exc))
        except EdureportError as exc:
            result = JobResult(job, "failed", 0.0, {}, str(exc))
        results.append(result)
        if on_event:
            on_event("done", job, result)
    return results
