"""Benchmarks: edureport build against the plain papermill + nbconvert way, and how it scales.

    python benchmarks/run.py            # full run (tens of minutes), writes docs/benchmarks.md and a chart
    python benchmarks/run.py --quick    # a tiny version (under a minute), for the test that keeps this alive

Every measurement runs commands as a user would, in fresh processes; wall time, CPU time (all children)
and peak RSS (summed over the whole process tree, sampled every 50 ms) are recorded; medians are reported.
Not part of the test suite: speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAN = ROOT / "params" / "plan-2023.yaml"


def measure(cmd: list[str], *, cwd: Path = ROOT, env: dict | None = None) -> dict[str, float]:
    """Run one command; wall seconds, CPU seconds of all children, peak RSS (MB) of the process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    done.set()
    thread.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode(errors='replace')[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_mb": peak / 2**20}


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _jobs(data: Path, only: list[str] | None = None) -> list:
    """The jobs a build of ``data`` would run (every kind, schools included), as edureport selects them."""
    sys.path.insert(0, str(ROOT / "src"))
    from edureport.batch.jobs import select_jobs
    from edureport.data.store import load_data
    from edureport.plan.load import load_plan

    plan = load_plan(PLAN)
    ds = load_data(data, plan)
    return select_jobs(plan, list(ds.townships["township"]), only, ds.schools)


def jobs_for(data: Path, only: list[str] | None) -> list[tuple[str, str, dict[str, str]]]:
    """(stem, notebook, parameters) of the reports a build would make — the same list for both ways."""
    return [(j.stem, j.notebook, j.parameters) for j in _jobs(data, only)]


def keys_for(data: Path, without: tuple[str, ...] = ()) -> list[str]:
    """Every report key a build of ``data`` has, but those of the kinds in ``without``."""
    return [j.key for j in _jobs(data) if j.kind not in without]


def baseline(data: Path, out: Path, only: list[str] | None, parallel: int = 1) -> list[str]:
    """The plain way: papermill CLI, then nbconvert --no-input, then WeasyPrint CLI for each report, one
    report after another — or ``parallel`` reports at a time (``xargs -P``: what a user with that many cores
    would do)."""
    out.mkdir(parents=True, exist_ok=True)
    scripts = []
    for stem, notebook, params in jobs_for(data, only):
        p = " ".join(f"-p {k} '{v}'" for k, v in {**params, "as_of": "2023-12-31", "data_dir": str(data),
                                                   "plan_file": str(PLAN)}.items())
        script = out / f"{stem}.sh"
        script.write_text("\n".join([
            "set -e",
            f"{BIN}/papermill -k python3 --cwd {ROOT}/notebooks {ROOT}/notebooks/{notebook} "
            f"'{out}/{stem}.ipynb' {p} --no-progress-bar",
            f"{BIN}/jupyter-nbconvert --to html --no-input '{out}/{stem}.ipynb' --output-dir '{out}'",
            f"{BIN}/weasyprint '{out}/{stem}.html' '{out}/{stem}.pdf'"]) + "\n", encoding="utf-8")
        scripts.append(str(script))
    listing = out / "scripts.txt"
    listing.write_text("\n".join(scripts) + "\n", encoding="utf-8")
    return ["bash", "-c", f"set -e; xargs -d '\\n' -P {parallel} -n 1 bash < '{listing}'"]


def edureport(*args: str) -> list[str]:
    return [str(BIN / "edureport"), *args]


def floor(quick: bool = False) -> dict[str, float]:
    """Kernel start + imports (what every report pays), and the report functions alone (no kernel)."""
    code = ("import time,jupyter_client as j; t=time.perf_counter(); km,kc=j.manager.start_new_kernel(); "
            "kc.execute_interactive('import pandas, matplotlib.pyplot'); print(time.perf_counter()-t); "
            "kc.stop_channels(); km.shutdown_kernel(now=True)")
    kernel = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    code = ("import time; t=time.perf_counter(); from edureport.report.context import ReportContext; "
            "from edureport.report.section import section_report; "
            f"c=ReportContext.load('section', plan_file={str(PLAN)!r}, data_dir={str(ROOT / 'data/demo')!r}, "
            f"as_of='2023-12-31', section={'四' if quick else '一'!r}); section_report(c); print(time.perf_counter()-t)")
    analysis = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout)
    return {"kernel_and_imports": kernel, "section_analysis_no_kernel": analysis}


def _time_py(code: str, env: dict) -> float:
    """Seconds printed by a fresh Python process (imports excluded by the snippet itself)."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def make_data(n: int, work: Path) -> tuple[Path, int]:
    data = work / f"data-{n}"
    if not data.is_dir():
        subprocess.run(edureport("demo-data", str(data), "--townships", str(n), "--seed", "1"), check=True,
                       stdout=subprocess.DEVNULL)
    rows = sum(1 for _ in (data / "observations.csv").open(encoding="utf-8-sig")) - 1
    return data, rows


def loading(sizes: list[int], work: Path):
    """Validation (cold cache: read, check, write Parquet), full load from the cache, one township's subset."""
    for n in sizes:
        data, rows = make_data(n, work)
        env = {**os.environ, "EDUREPORT_CACHE_DIR": str(work / f"cache-load-{n}")}
        validate = measure(edureport("validate", str(data)), env=env)
        head = f"import time; from edureport import load_plan, load_data, load_subset; p=load_plan({str(PLAN)!r}); "
        full = _time_py(head + f"t=time.perf_counter(); load_data({str(data)!r}, p); print(time.perf_counter()-t)", env)
        subset = _time_py(head + f"t=time.perf_counter(); load_subset({str(data)!r}, p, township='图克镇'); "
                          "print(time.perf_counter()-t)", env)
        row = {"townships": n, "observations": rows, "validate_s": validate["wall"],
               "validate_rss_mb": validate["rss_mb"], "cached_load_s": full, "subset_load_s": subset}
        shutil.rmtree(work / f"cache-load-{n}", ignore_errors=True)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        yield row


def scale(sizes: list[int], work: Path, only: list[str] | None, without: tuple[str, ...] = ()):
    """Complete builds at several township counts (reports grow with townships), each from an empty cache.

    The shared step (validation, then every township's figures, done once per build before any report)
    is timed on its own; "per report" is the median of the reports' own times from the manifest.
    """
    for n in sizes:
        data, rows = make_data(n, work)
        env = {**os.environ, "EDUREPORT_CACHE_DIR": str(work / f"cache-{n}")}
        validate = measure(edureport("validate", str(data)), env=env)
        shared = _time_py("import time; from edureport import load_plan, load_data; "
                          "from edureport.metrics.results_cache import all_results; "
                          f"p=load_plan({str(PLAN)!r}); d=load_data({str(data)!r}, p); t=time.perf_counter(); "
                          "all_results(d, p.end); print(time.perf_counter()-t)", env)
        out = work / f"o-{n}"
        picked = only or (keys_for(data, without) if without else [])
        build = measure(edureport("build", "--force", "--quiet", "--timeout", "7200", "--data", str(data),
                                  "--out", str(out), *[a for s in picked for a in ("--only", s)]), env=env)
        seconds, by_kind = report_seconds(out)
        row = {"townships": n, "observations": rows, "reports": len(seconds), "without": list(without),
               "schools": sum(1 for _ in (data / "schools.csv").open(encoding="utf-8-sig")) - 1,
               "validate_s": validate["wall"], "shared_results_s": shared,
               "build_s": build["wall"], "build_cpu_s": build["cpu"], "build_rss_mb": build["rss_mb"],
               "per_report_median_s": statistics.median(seconds),
               "per_report_p90_s": seconds[int(0.9 * (len(seconds) - 1))], "per_kind_median_s": by_kind}
        shutil.rmtree(out, ignore_errors=True)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        yield row


def warm(sizes: list[int], work: Path, only: list[str] | None, passes: int) -> list[dict]:
    """The same few reports (section 1, the first 6 townships, the review) at each size on a warm cache,
    without the one-off costs (validation, shared results, font subsets: the scale part's complete build,
    or else one warm-up build, makes them).

    The passes go round the sizes (6, 60, 600, 6, 60, 600, ...) and each report's median is taken: on a
    shared 2-core machine the same build varied by 20 % within minutes, which one pass per size, run at
    different times, mistook for growth with the number of townships.
    """
    picks, times = {}, {n: [] for n in sizes}
    for n in sizes:
        picks[n] = only or sample(n, work)
    cold = [n for n in sizes if not (work / f"cache-{n}").is_dir()]  # the scale part's caches are warm
    for i in range(passes + 1):
        for n in (sizes if i else cold):  # pass 0 warms the caches the scale part did not make
            out = work / f"w-{n}"
            subprocess.run(edureport("build", "--force", "--quiet", "--timeout", "7200", "--data", str(work / f"data-{n}"),
                                     "--out", str(out), *[a for s in picks[n] for a in ("--only", s)]),
                           env={**os.environ, "EDUREPORT_CACHE_DIR": str(work / f"cache-{n}")}, check=True,
                           stdout=subprocess.DEVNULL)
            if i:
                times[n].append(report_times(out))
    rows = []
    for n in sizes:
        per_report = {k: statistics.median(p[k] for p in times[n]) for k in times[n][0]}
        rows.append({"townships": n, "reports": len(per_report), "passes": passes,
                     "per_report_median_s": statistics.median(per_report.values()),
                     "per_kind_median_s": kind_medians(per_report)})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def sample(n: int, work: Path) -> list[str]:
    """The reports sampled at every size: section 1, the first 6 townships, one department, the first
    6 schools (one township's: ranks among 4,800 schools at 600 townships) and the review."""
    data, _ = make_data(n, work)
    towns = (data / "townships.csv").read_text(encoding="utf-8-sig").splitlines()[1:7]
    schools = (data / "schools.csv").read_text(encoding="utf-8-sig").splitlines()[1:7]
    return ["section:1", *[f"township:{t.split(',')[0]}" for t in towns], "department:基础教育股",
            *[f"school:{s.split(',')[0]}" for s in schools], "review"]


def dask_sample(sizes: list[int], work: Path, passes: int) -> list[dict]:
    """The warm-cache sample (``sample``) on a Dask cluster of local processes: ``dask scheduler`` and two
    ``dask worker`` processes (one thread each) started here; the sizes go round as there, after one
    untimed pass that warms the cache. The workers and the builds share one cache folder (as workers on a
    shared file system would): a worker without the build's cache validates the data and computes the
    shared results again for each report. Dask workers run each report in a kernel of its own (warm
    kernels are for the build's own pool workers), so compare with the local executor's cold kernels."""
    port = 8786 + os.getpid() % 1000
    address = f"tcp://127.0.0.1:{port}"
    logs = work / "dask-logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, "EDUREPORT_CACHE_DIR": str(work / "cache-dask")}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=(logs / "scheduler").open("w"),
                              env=env)]
    try:
        time.sleep(3)
        for i in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard", "--memory-limit", "0", "--local-directory",
                                           str(work / f"dask-{i}")], stdout=subprocess.DEVNULL,
                                          stderr=(logs / f"worker-{i}").open("w"), env=env))
        _wait_for_workers(address, 2)
        picks = {n: sample(n, work) for n in sizes}
        times: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
        for i in range(passes + 1):  # pass 0 warms the shared cache
            for n in sizes:
                out = work / f"d-{n}"
                subprocess.run(edureport("build", "--force", "--quiet", "--timeout", "7200", "--executor", "dask",
                                         "--scheduler", address, "--data", str(work / f"data-{n}"), "--out", str(out),
                                         *[a for s in picks[n] for a in ("--only", s)]),
                               env=env, check=True, stdout=subprocess.DEVNULL)
                if i:
                    times[n].append(report_times(out))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    rows = []
    for n in sizes:
        per_report = {k: statistics.median(p[k] for p in times[n]) for k in times[n][0]}
        rows.append({"townships": n, "reports": len(per_report), "passes": passes, "executor": "dask",
                     "workers": 2, "per_report_median_s": statistics.median(per_report.values()),
                     "per_kind_median_s": kind_medians(per_report)})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def _wait_for_workers(address: str, n: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


def report_times(out: Path) -> dict[str, float]:
    """Each report's own time (seconds, from the build's manifest) by report key."""
    reports = json.loads(next(out.rglob("manifest.json")).read_text(encoding="utf-8"))["reports"]
    return {e["key"]: e["seconds"] for e in reports}


KINDS = ("section", "township", "department", "school", "review")


def kind_medians(times: dict[str, float]) -> dict[str, float]:
    return {k: statistics.median([s for key, s in times.items() if key.split(":")[0] == k] or [0])
            for k in KINDS if any(key.split(":")[0] == k for key in times)}


def report_seconds(out: Path) -> tuple[list[float], dict[str, float]]:
    """Each report's own time from a build's manifest (sorted), and the median per kind of report."""
    times = report_times(out)
    return sorted(times.values()), kind_medians(times)


def compare(results: dict, work: Path, env: dict, demo: Path, only: list[str] | None, repeat: int) -> None:
    """Baseline against edureport on the demo data, the no-change rebuild and the floor."""
    sel = [a for s in only for a in ("--only", s)] if only else []
    cold_env = {**env, "EDUREPORT_WARM_KERNELS": "0"}  # every report in a kernel of its own (before issue 19)
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "baseline_parallel": [], "warm": [], "cold": []}
    workers = os.cpu_count() or 1  # edureport build's default number of workers
    ours = edureport("build", "--force", "--quiet", "--out", str(work / "ours"), *sel)
    # One build first, not measured: the cache (data, shared results, font subsets) is then warm for all runs.
    subprocess.run(ours, env=env, check=True, stdout=subprocess.DEVNULL)
    for i in range(repeat):  # alternating A B C A B C: the machine's drift hits all three alike
        runs["baseline"].append(measure(baseline(demo, work / f"base-{i}", only), env=env))
        runs["baseline_parallel"].append(measure(baseline(demo, work / f"par-{i}", only, workers), env=env))
        runs["warm"].append(measure(ours, env=env))
        runs["cold"].append(measure(ours, env=cold_env))
    results["reports"] = len(jobs_for(demo, only))
    results["baseline"], results["edureport"] = median(runs["baseline"]), median(runs["warm"])
    results["edureport_cold"] = median(runs["cold"])
    results["speedup"] = results["baseline"]["wall"] / results["edureport"]["wall"]
    results["baseline_parallel"] = {**median(runs["baseline_parallel"]), "workers": workers}
    results["parallel_speedup"] = results["baseline_parallel"]["wall"] / results["edureport"]["wall"]
    # the ratios of each round (A B C D run back to back), besides the ratio of the medians
    results["round_ratios"] = [{"sequential": b["wall"] / w["wall"], "parallel": p["wall"] / w["wall"],
                                "cold": c["wall"] / w["wall"]}
                               for b, p, w, c in zip(runs["baseline"], runs["baseline_parallel"], runs["warm"],
                                                     runs["cold"], strict=True)]
    results["warm_speedup"] = results["edureport_cold"]["wall"] / results["edureport"]["wall"]
    results["runs"] = {k: [r["wall"] for r in v] for k, v in runs.items()}  # wall seconds, in run order
    results["load"] = os.getloadavg()  # the machine is shared: say how busy it was
    nochange = [measure(edureport("build", "--quiet", "--out", str(work / "ours"), *sel), env=env) for _ in range(repeat)]
    results["no_change"] = median(nochange)
    results["no_change_fraction"] = results["no_change"]["wall"] / results["edureport"]["wall"]
    results["floor"] = floor(quick=only is not None)


def save(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny version: 2 reports, 1 run, small scale")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.json")
    ap.add_argument("--sizes", type=int, nargs="*", default=None,
                    help="township counts for the scale part (none: keep the previous figures)")
    ap.add_argument("--warm", type=int, nargs="*", default=None,
                    help="township counts for the warm-cache sample (none: keep the previous figures)")
    ap.add_argument("--rows", type=int, nargs="*", default=None,
                    help="township counts for the loading part (6750 ≈ 10⁷ observation rows; none: keep the previous)")
    ap.add_argument("--skip-build", action="store_true", help="only the scale and loading parts")
    ap.add_argument("--dask", type=int, nargs="*", default=None,
                    help="township counts for the warm-cache sample on a local Dask cluster (none: keep the previous)")
    ap.add_argument("--scale-without", nargs="*", default=[],
                    help="report kinds left out of the scale part's complete builds (e.g. school: the 600-township "
                         "build of the earlier figures had none)")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    only = ["section:4"] if args.quick else None
    work = Path(tempfile.mkdtemp(prefix="edureport-bench-"))
    demo = ROOT / "data" / "demo"
    env = {**os.environ, "EDUREPORT_CACHE_DIR": str(work / "cache")}
    results: dict = {"machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                                 "python": platform.python_version(), "platform": platform.platform()},
                     "quick": args.quick}
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    if "warm_kernel_memory" in previous:  # measured by warm_memory.py
        results["warm_kernel_memory"] = previous["warm_kernel_memory"]
    if args.skip_build:
        results.update({k: previous[k] for k in ("baseline", "edureport", "speedup", "no_change",
                                                  "no_change_fraction", "floor", "reports", "edureport_cold",
                                                  "warm_speedup", "runs", "load", "baseline_parallel", "parallel_speedup",
                                                  "round_ratios") if k in previous})
    else:
        compare(results, work, env, demo, only, repeat)
        save(args.out, results)  # the slow scale part may be stopped: keep what is measured

    # An empty --sizes, --warm or --rows keeps that part's previous figures (re-measure one part only).
    sizes = args.sizes if args.sizes is not None else ([6] if args.quick else [6, 60, 600])
    results["scale"] = [] if sizes else previous.get("scale", [])
    for row in scale(sizes, work, only, tuple(args.scale_without)):
        results["scale"].append(row)
        save(args.out, results)
    warm_sizes = args.warm if args.warm is not None else ([6] if args.quick else [6, 60, 600])
    results["warm"] = warm(warm_sizes, work, only, 1 if args.quick else 5) if warm_sizes else previous.get("warm", [])
    save(args.out, results)
    dask_sizes = args.dask if args.dask is not None else ([] if args.quick else [6, 60, 600])
    results["dask"] = dask_sample(dask_sizes, work, 3) if dask_sizes else previous.get("dask", [])
    save(args.out, results)
    rows = args.rows if args.rows is not None else ([6] if args.quick else [6, 675, 6750])
    results["loading"] = [] if rows else previous.get("loading", [])
    for row in loading(rows, work):
        results["loading"].append(row)
        save(args.out, results)
    print(json.dumps({k: v for k, v in results.items() if k != "scale"}, ensure_ascii=False, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
