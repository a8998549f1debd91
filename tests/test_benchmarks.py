"""The benchmark script must keep working (its numbers are not checked here: speed is never a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_quick_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"baseline", "edureport", "no_change", "floor", "scale", "warm", "loading"} <= set(result)
    assert result["baseline"]["wall"] > 0 and result["edureport"]["rss_mb"] > 0
    assert result["baseline_parallel"]["wall"] > 0 and result["parallel_speedup"] > 0 and result["round_ratios"]
    assert result["scale"][0]["observations"] > 1000 and result["scale"][0]["per_report_median_s"] > 0
    assert result["warm"][0]["per_report_median_s"] > 0 and result["warm"][0]["passes"] == 1
    assert result["loading"][0]["validate_s"] > 0 and result["loading"][0]["subset_load_s"] > 0
