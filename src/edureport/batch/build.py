"""``edureport build``: validate once, then run the report jobs in parallel, incrementally and safely.

- Validation runs before any notebook: bad input raises (exit code 2) and nothing is written.
- One build per output folder (``batch.lock``); leftovers of a killed build are cleared first.
- A job whose input key (``batch.keys``) matches the last manifest and whose files are intact is
  reported as unchanged; ``force`` rebuilds everything.
- Jobs run in a local process pool (``jobs`` workers) or on a Dask cluster; one failing or hung report
  never stops the others. Every file is written atomically; a failed report keeps its last good files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edureport.batch.execute import JobResult, notebook_file, run_job_safe
from edureport.batch.executors import Pool
from edureport.batch.headline import status_counts
from edureport.batch.jobs import select_jobs
from edureport.batch.keys import job_key, shown_by_reports
from edureport.batch.lock import LOCK_FILE, BuildLock
from edureport.batch.manifest import read_manifest, report_entry, write_index, write_manifest
from edureport.core.asof import as_of_date
from edureport.core.errors import AsOfError, CommentaryError, Problem
from edureport.core.paths import (
    OutputError,
    check_output,
    default_commentary_file,
    default_plan_file,
    demo_data_dir,
    file_sha256,
    output_error,
    outputs_dir,
    report_dir,
    utf8_problem,
)
from edureport.data.store import load_data
from edureport.metrics.change import compare_date, counted_by
from edureport.metrics.results_cache import month_table, shared_table
from edureport.plan.commentary import load_commentary
from edureport.plan.load import load_plan
from edureport.render.outputs import DEFAULT_FORMATS, output_files, output_formats
from edureport.report.catalog import Job
from edureport.report.narrative import data_line

Event = Callable[[str, Job, JobResult | None], None]


@dataclass
class BuildSummary:
    folder: Path
    results: list[JobResult] = field(default_factory=list)
    manifest: Path | None = None
    index: Path | None = None

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]


def build(*, plan_file: str | Path | None = None, data_dir: str | Path | None = None, as_of: str = "",
          out: str | Path | None = None, only: list[str] | None = None, formats: tuple[str, ...] = DEFAULT_FORMATS,
          jobs: int | None = None, force: bool = False, timeout: int | None = 600, executor: str = "local",
          scheduler: str | None = None, wait_for_lock: bool = False, commentary: str | Path | None = None,
          on_event: Event | None = None, allow_outside_year: bool = False,
          on_plan: Callable[[list[Job], list[Job]], None] | None = None,
          then: Callable[[BuildSummary], None] | None = None, compare_to: str = "") -> BuildSummary:
    """Build the selected reports from one snapshot of the data.

    The data folder is validated and fingerprinted once, here, under its shared lock; every report then
    reads exactly that snapshot (the verified cache entry of that fingerprint), so an import while the
    build runs changes the next build only, never half of this one.

    ``compare_to``: the previous report's date for 较上期变化 ("" = the last month end before ``as_of``); a
    job parameter when given, so it is part of every report's input key.

    ``then``: called with the finished build while its lock is still held (``build --send`` sends from
    it, so no other build rewrites the reports in between).
    """
    plan_path = Path(plan_file) if plan_file else default_plan_file()
    data_path = Path(data_dir) if data_dir else demo_data_dir()
    root = Path(out) if out else outputs_dir()
    # Reports carry these paths (notebook parameters, manifest): they must be text.
    odd = [w for p, what in ((plan_path, "工作要点文件"), (data_path, "数据文件夹"), (root, "输出文件夹"))
           if (w := utf8_problem(p, what))]
    if odd:
        raise OutputError("；".join(odd))
    plan = load_plan(plan_path)
    when = as_of_date(plan, as_of, allow_outside_year=allow_outside_year)
    try:
        before = compare_date(compare_to, when, year=plan.year)
    except AsOfError as exc:
        raise AsOfError(f"--compare-to：{exc}") from None
    # The commentary: --commentary, else the one beside the plan, else the bureau folder's (see paths).
    notes_path = Path(commentary) if commentary else default_commentary_file(plan_path, plan.year)
    if commentary and not notes_path.exists() and not notes_path.is_symlink():  # a mistyped name says so
        raise CommentaryError([Problem(str(notes_path), message="补充说明文件不存在（--commentary）")])
    load_commentary(notes_path, plan)  # a malformed commentary file stops the build before any report runs
    folder = report_dir(root, plan.year, when.isoformat())
    data = load_data(data_path, plan)  # raises DataValidationError before anything is written
    selected = select_jobs(plan, list(data.townships["township"]), only, data.schools)
    stems = [output_files(root, plan.year, when.isoformat(), j.stem, formats) for j in selected]
    check_output(folder, files=[root / LOCK_FILE, folder / "manifest.json", folder / "index.html",
                                *(p for files in stems for p in files.values())],
                 folders=[*(folder / f.folder for f in output_formats(formats)), folder / "notebooks"])
    common = {"as_of": when.isoformat(), "data_dir": str(data_path.resolve()),
              "plan_file": str(plan_path.resolve()),
              # always the file chosen here (also when it does not exist: no commentary), so the
              # notebooks never look for one themselves from wherever they run
              "commentary_file": str(notes_path.resolve()),
              "data_fingerprint": data.fingerprint}
    if allow_outside_year:  # only then, so the reports' input keys stay what they were
        common["allow_outside_year"] = True
    if compare_to not in (None, ""):  # only then: a notebook (a plug-in's) without compare_to still runs;
        common["compare_to"] = before.isoformat()  # "" is fixed by as_of, which the key has already
    lock = BuildLock(root).acquire(wait=wait_for_lock)
    try:
        _clear_leftovers(folder)
        previous = {e["key"]: e for e in read_manifest(folder).get("reports", [])}
        # Also stores every township's results once for all reports (see results_cache).
        shown = shown_by_reports(data, when, allow_outside_year) if selected else None
        if selected and counted_by(plan, before):  # the previous date's results too, once for all reports
            shared_table(data, before, allow_outside_year=allow_outside_year)
        keys = {j.key: job_key(j, data, common=common, notebook=notebook_file(j),
                               shown_results=shown) for j in selected}
        todo = [j for j in selected if force or not _unchanged(previous.get(j.key), keys[j.key], folder, formats)]
        if todo:  # the region's month-end series, once for all reports that chart it (see results_cache)
            month_table(data, when, allow_outside_year=allow_outside_year)
        if on_plan:
            on_plan(selected, todo)
        kwargs = {"common": common, "out": root, "year": plan.year, "as_of": when.isoformat(), "formats": formats,
                  "timeout": timeout}
        runner = _run_dask if executor == "dask" else _run_local
        done = {r.job.key: r for r in runner(todo, kwargs, jobs, scheduler, on_event)}
        results, entries = [], []
        for job in selected:
            if job.key in done:
                result = done[job.key]
                result.input_key = keys[job.key]
                entries.append(report_entry(result, folder, previous.get(job.key), data.fingerprint))
            else:
                result = JobResult(job, "unchanged", 0.0, {k: str(folder / v["path"])
                                                            for k, v in previous[job.key]["files"].items()},
                                   input_key=keys[job.key])
                if on_event:
                    on_event("done", job, result)
                entry = dict(previous[job.key], status="unchanged", seconds=0.0, error="")
                entries.append(entry)
            results.append(result)
        # Each report's status counts, for the messages delivery sends (a failed report's published files
        # are its last good ones: their headline stays the one recorded with them).
        heads = status_counts(data, when, selected, allow_outside_year)
        for entry in entries:
            kept = (previous.get(entry["key"]) or {}).get("headline")
            entry["headline"] = kept if entry["status"] == "failed" else heads.get(entry["key"])
        run = {"plan": {"file": str(plan_path), "sha256": plan.sha256, "title": plan.title, "issuer": plan.issuer},
               "data": {"dir": str(data_path), "fingerprint": data.fingerprint, "files": dict(data.sources)},
               "as_of": when.isoformat(), "compare_to": before.isoformat(), "formats": list(formats),
               "executor": executor,
               "only": list(only or [])}  # a build of some reports only: delivery then expects no others
        summary = BuildSummary(folder, results)
        try:
            summary.manifest = write_manifest(folder, run, entries)
            summary.index = write_index(folder, f"{plan.title}进展报告", data_line(plan, when), run, entries,
                                        plan=plan, data=data)
        except OSError as exc:
            raise output_error(Path(exc.filename or folder), exc) from None
        if then is not None:
            then(summary)
        return summary
    finally:
        lock.release()


def _unchanged(prev: dict[str, Any] | None, key: str, folder: Path, formats: tuple[str, ...]) -> bool:
    if not prev or prev.get("status") not in ("built", "unchanged") or prev.get("input_key") != key:
        return False
    files = prev.get("files", {})
    for kind in (*formats, "ipynb"):
        entry = files.get(kind)
        if entry is None or not (folder / entry["path"]).is_file() or file_sha256(folder / entry["path"]) != entry["sha256"]:
            return False
    return True


def _clear_leftovers(folder: Path) -> None:
    """Temporary files of a build that was killed: never published, safe to delete."""
    if not folder.is_dir():
        return
    for pattern in (".*.tmp", ".*.running.ipynb"):
        for path in folder.rglob(pattern):
            path.unlink(missing_ok=True)


def _run_local(todo: list[Job], kwargs: dict[str, Any], jobs: int | None, scheduler: str | None,
               on_event: Event | None) -> list[JobResult]:
    """Run the jobs in a pool of long-lived worker processes (``workers.Pool``): a worker that dies (killed,
    out of memory) costs its report one attempt, retried once in a fresh worker; the other reports go on."""
    if not todo:
        return []

    results = []
    for job in todo:
        if on_event:
            on_event("queued", job, None)
    with Pool(min(jobs or os.cpu_count() or 1, len(todo)), retries=1) as pool:
        for outcome in pool.run(run_job_safe, todo, **kwargs):
            job = outcome.item
            if outcome.error:
                result = JobResult(job, "failed", outcome.seconds, {}, f"{job.title}：{outcome.error}",
                                   attempts=outcome.deaths or 1)
            else:
                result = outcome.value
                result.attempts += outcome.deaths  # run_job_safe counts only the attempts of the last worker
            results.append(result)
            if on_event:
                on_event("done", job, result)
    return results


def _run_dask(todo: list[Job], kwargs: dict[str, Any], jobs: int | None, scheduler: str | None,
              on_event: Event | None) -> list[JobResult]:
    """Send the same jobs to a Dask distributed scheduler (workers need the package and the data path)."""
    if not todo:
        return []
    from distributed import Client, as_completed

    results = []
    with Client(scheduler, timeout="30s") as client:
        futures = {client.submit(run_job_safe, job, pure=False, **kwargs): job for job in todo}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:
                result = JobResult(job, "failed", 0.0, {}, f"{job.title}：Dask 任务失败（{exc}）")
            results.append(result)
            if on_event:
                on_event("done", job, result)
    return results
