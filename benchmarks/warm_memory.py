"""How a warm kernel's memory grows report after report (to choose ``batch.warm.REPORTS_PER_KERNEL``).

    python benchmarks/warm_memory.py [rounds] [--save]   # every demo report, ``rounds`` times, in ONE warm
                                                          # kernel; --save: into docs/benchmarks.json

Prints, after each report, the kernel's RSS (MB) and its time; the HTML only (rendering happens in the
worker, not in the kernel). Not part of the test suite.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "params" / "plan-2023.yaml"
DEMO = ROOT / "data" / "demo"


def one(job, **kwargs):  # in the pool worker
    import psutil

    from edureport.batch import warm
    from edureport.batch.execute import run_job

    result = run_job(job, **kwargs)
    pid = warm.kernel_pid()
    return {"key": job.key, "seconds": round(result.seconds, 2), "kernel": pid,
            "rss_mb": round(psutil.Process(pid).memory_info().rss / 2**20, 1) if pid else None}


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from edureport.batch.executors import Pool
    from edureport.batch.jobs import select_jobs
    from edureport.data.store import load_data
    from edureport.plan.load import load_plan

    args = [a for a in sys.argv[1:] if a != "--save"]
    save = "--save" in sys.argv[1:]
    rounds = int(args[0]) if args else 2
    os.environ["EDUREPORT_WARM_REPORTS"] = "100000"
    os.environ["EDUREPORT_WARM_KERNEL_MB"] = "100000"  # nor for its memory: its growth is what is measured
    plan = load_plan(PLAN)
    data = load_data(DEMO, plan)
    jobs = select_jobs(plan, list(data.townships["township"]))
    out = Path(tempfile.mkdtemp(prefix="warm-memory-"))
    common = {"as_of": "2023-12-31", "data_dir": str(DEMO), "plan_file": str(PLAN),
              "commentary_file": str(out / "none.yaml"), "data_fingerprint": data.fingerprint}
    rows = []
    with Pool(1) as pool:
        for outcome in pool.run(one, jobs * rounds, common=common, out=out, year=plan.year, as_of="2023-12-31",
                                formats=("html",)):
            row = outcome.value or {"key": outcome.item.key, "error": outcome.error}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    summary = summarize(rows, rounds)
    print(json.dumps(summary))
    if save:  # into docs/benchmarks.json, for report.py
        path = ROOT / "docs" / "benchmarks.json"
        results = json.loads(path.read_text(encoding="utf-8"))
        results["warm_kernel_memory"] = summary
        path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def summarize(rows: list[dict], rounds: int) -> dict:
    from edureport.batch.warm import REPORTS_PER_KERNEL

    rss = [r["rss_mb"] for r in rows if r.get("rss_mb")]
    return {"rounds": rounds, "reports": len(rows), "kernels": len({r.get("kernel") for r in rows}),
            "rss_first_mb": rss[0], "rss_last_mb": rss[-1], "rss_max_mb": max(rss),
            "growth_per_report_mb": round((rss[-1] - rss[0]) / max(1, len(rss) - 1), 2),
            "reports_per_kernel": REPORTS_PER_KERNEL}


if __name__ == "__main__":
    main()
