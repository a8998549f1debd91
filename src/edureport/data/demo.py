"""Deterministic demo data for any plan: a registry, a year of monthly figures, projects, activities.

The generator reads the plan (what to fill) and a reference file (named townships and schools); it
knows nothing about a particular county. Values follow plausible paths towards each target, and a
seeded few indicators fall short (and one project runs late) so reports show amber and red items.
The same call with ``townships=600`` makes benchmark-sized data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from edureport.core.errors import DemoDataError
from edureport.data.demo_events import activity_rows, project_rows
from edureport.data.demo_values import Registry, indicator_rows, rng_for
from edureport.data.schema import TABLES
from edureport.plan.model import Plan

STUDENTS = {"幼儿园": (120, 420), "小学": (300, 1600), "初中": (400, 1300), "九年一贯制": (250, 900),
            "高中": (1800, 3200), "中职": (700, 1500)}


def build_registry(plan: Plan, reference: dict[str, Any], townships: int, per_township: int,
                   seed: int) -> Registry:
    named = list(reference.get("townships", []))
    needed = plan.named_entities("township")
    missing = needed - set(named)
    if missing:
        raise DemoDataError(f"参考名录缺少工作要点提到的苏木镇：{'、'.join(sorted(missing))}")
    if townships < len(needed):
        raise DemoDataError(f"工作要点提到{len(needed)}个苏木镇，--townships 至少为{len(needed)}")
    names = [t for t in named if t in needed] + [t for t in named if t not in needed]
    names = names[:townships] + [f"示例镇{i:03d}" for i in range(1, townships - len(names[:townships]) + 1)]
    schools: list[dict[str, Any]] = []
    kept = [s for s in reference.get("schools", []) if s["township"] in names]
    kinds = reference.get("generated_schools", [])
    for t_index, town in enumerate(names, start=1):
        own = [dict(s) for s in kept if s["township"] == town]
        k = 0
        while len(own) < per_township and kinds:
            spec = kinds[k % len(kinds)]
            suffix = spec["suffix"] if k < len(kinds) else f"{spec['suffix']}{k // len(kinds) + 1}"
            k += 1
            if any(s["name"] == f"{town}{suffix}" for s in own):
                continue
            own.append({"name": f"{town}{suffix}", "township": town, "stage": spec["stage"],
                        "ownership": spec["ownership"]})
        for s_index, school in enumerate(own, start=1):
            school["school_id"] = f"S{t_index:03d}{s_index:02d}"
            schools.append(school)
    frame = pd.DataFrame(schools)[["school_id", "name", "township", "stage", "ownership"]]
    rng = rng_for(seed, "registry")
    lo = frame["stage"].map(lambda s: STUDENTS[s][0]).to_numpy()
    hi = frame["stage"].map(lambda s: STUDENTS[s][1]).to_numpy()
    frame["students"] = rng.integers(lo, hi)
    frame["teachers"] = np.maximum(8, (frame["students"] / rng.uniform(11, 15, len(frame))).round()).astype(int)
    frame["classes"] = np.maximum(3, (frame["students"] / rng.uniform(30, 48, len(frame))).round()).astype(int)
    towns = pd.DataFrame({"township": names, "code": [f"T{i:03d}" for i in range(1, len(names) + 1)]})
    return Registry(towns, frame)


def generate(plan: Plan, reference_file: str | Path, *, townships: int = 6, schools_per_township: int = 8,
             seed: int = 1) -> dict[str, pd.DataFrame]:
    """All demo tables as frames whose columns are the Chinese headers of docs/data-format.md."""
    reference = yaml.safe_load(Path(reference_file).read_text(encoding="utf-8")) or {}
    reg = build_registry(plan, reference, townships, schools_per_township, seed)
    months = _months(plan.start, plan.end)
    obs, base = indicator_rows(plan, reg, months, seed)
    tables = {
        "townships": reg.townships,
        "schools": reg.schools[["school_id", "name", "township", "stage", "ownership"]],
        "observations": obs,
        "baselines": base,
        "projects": project_rows(plan, reg, months, seed),
        "activities": activity_rows(plan, reg, obs, seed),
    }
    return {name: _with_headers(name, frame) for name, frame in tables.items()}


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write UTF-8-with-BOM CSVs (what Excel opens without garbling Chinese), one per table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = out / f"{name}.csv"
        tmp = path.with_suffix(".csv.tmp")
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
        tmp.replace(path)
        paths.append(path)
    return paths


def _months(start: dt.date, end: dt.date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _with_headers(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    table = TABLES[name]
    cols = [c for c in table.columns if c.key in frame.columns]
    out = frame[[c.key for c in cols]].copy()
    out.columns = [c.label for c in cols]
    return out

