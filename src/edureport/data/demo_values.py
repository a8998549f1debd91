"""Demo figures per indicator kind (used by ``demo.generate``). Plausible, seeded, vectorised."""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from edureport.data.entities import applicable
from edureport.plan.model import Indicator, Plan


@dataclass
class Registry:
    """The demo's townships and schools (with sizes the figures are drawn from)."""

    townships: pd.DataFrame
    schools: pd.DataFrame  # school_id, name, township, stage, ownership, students, teachers, classes


def rng_for(seed: int, *keys: Any) -> np.random.Generator:
    """A generator per (seed, key): changing one indicator never reshuffles the others."""
    return np.random.default_rng([seed, *(zlib.crc32(str(k).encode()) for k in keys)])


# Months with school holidays get fewer events.
MONTH_WEIGHT = {1: 0.6, 2: 0.4, 7: 0.5, 8: 0.4}
SHORTFALLS = {"ratio": 2, "count": 3, "milestone": 2, "trend": 1}


def _rng(seed: int, *keys: object) -> np.random.Generator:
    return rng_for(seed, *keys)


def shortfall_ids(plan: Plan, seed: int) -> set[str]:
    """Indicators deliberately behind target, so reports show amber and red (seeded, per kind)."""
    out: set[str] = set()
    for kind, n in SHORTFALLS.items():
        cands = [i for i in plan.indicators if i.kind == kind and not (kind == "count" and i.comparison == "<=")]
        order = sorted(cands, key=lambda i: _rng(seed, "short", i.id).random())
        out |= {i.id for i in order[:n]}
    return out


def _basis(label: str, schools: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """A plausible denominator per school from the words of its label (学生, 教师, 班主任, 课时 …)."""
    n = len(schools)
    if "隐患" in label:
        return rng.integers(3, 25, n)
    if "党组织" in label:
        return 1 + schools["teachers"].to_numpy() // 40
    if "学校" in label or "园）数" in label:
        return np.ones(n, dtype=int)
    if "课时" in label:
        return schools["classes"].to_numpy() * 20
    if "班主任" in label or "班级" in label:
        return schools["classes"].to_numpy()
    if "教师" in label:
        return schools["teachers"].to_numpy()
    if "学生" in label or "幼儿" in label:
        return schools["students"].to_numpy()
    return schools["teachers"].to_numpy()


def _window(ind: Indicator, plan: Plan, months: list[str]) -> list[str]:
    lo = (ind.period_from or plan.start).strftime("%Y-%m")
    hi = min(ind.due, plan.end).strftime("%Y-%m")
    return [m for m in months if lo <= m <= hi] or months[-1:]


def _frame(ind: Indicator, ents: pd.DataFrame, months: list[str], **cols: np.ndarray) -> pd.DataFrame:
    """Rows for every entity × month (entity-major), with school or township columns filled."""
    n_e, n_m = len(ents), len(months)
    school = ents["entity"].to_numpy() if ind.level == "school" else np.full(n_e, "")
    town = ents["township"].to_numpy()
    out = pd.DataFrame({"period": np.tile(months, n_e), "school_id": np.repeat(school, n_m),
                        "township": np.repeat(town, n_m), "indicator_id": ind.id})
    for key, values in cols.items():
        out[key] = pd.array(np.asarray(values).reshape(-1), dtype="Int64")
    return out


def _ratio(ind: Indicator, reg: Registry, months: list[str], seed: int, behind: bool) -> pd.DataFrame:
    ents = applicable(ind, reg.schools, reg.townships)
    rng = _rng(seed, ind.id)
    s = reg.schools.set_index("school_id").loc[ents["entity"]]
    den = _basis(ind.denominator, s, rng).astype(int)
    t = float(ind.target or 0) / 100
    n_e, n_m = len(ents), len(months)
    if den.max() == 1:  # yes/no per school: each school switches on in some month
        on = rng.integers(0, n_m, n_e)
        if behind:
            on[rng.random(n_e) < 0.25] = n_m + 1
        num = (np.arange(n_m)[None, :] >= on[:, None]).astype(int)
        return _frame(ind, ents, months, numerator=num, denominator=np.repeat(den[:, None], n_m, 1))
    p0 = t * rng.uniform(0.78, 0.95, n_e)
    p1 = np.full(n_e, 1.0) if t >= 1 else np.minimum(1.0, t * rng.uniform(1.03, 1.18, n_e))
    if behind:
        p1 = t * rng.uniform(0.84, 0.95, n_e)
    path = p0[:, None] + (p1 - p0)[:, None] * np.linspace(0, 1, n_m)[None, :]
    path = np.maximum.accumulate(np.clip(path + rng.normal(0, 0.006, path.shape), 0, 1), axis=1)
    path[:, -1] = np.maximum(path[:, -1], p1) if not behind else path[:, -1]
    num = np.minimum(den[:, None], np.ceil(den[:, None] * path - 1e-9)).astype(int)
    return _frame(ind, ents, months, numerator=num, denominator=np.repeat(den[:, None], n_m, 1))


def _trend(ind: Indicator, reg: Registry, months: list[str], seed: int,
           behind: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    ents = applicable(ind, reg.schools, reg.townships)
    rng = _rng(seed, ind.id)
    s = reg.schools.set_index("school_id").loc[ents["entity"]]
    den = _basis(ind.denominator, s, rng).astype(int)
    n_e = len(ents)
    sign = -1 if ind.comparison == "<baseline" else 1
    base = rng.uniform(0.25, 0.6, n_e)
    change = rng.uniform(0.004, 0.03, n_e) * (-sign if behind else sign)
    quarters = [m for m in months if int(m[5:]) % 3 == 0]
    steps = np.linspace(0.4, 1.0, len(quarters))[None, :]
    path = np.clip(base[:, None] + change[:, None] * steps, 0, 1)
    num = np.round(den[:, None] * path).astype(int)
    obs = _frame(ind, ents, quarters, numerator=num, denominator=np.repeat(den[:, None], len(quarters), 1))
    b = _frame(ind, ents, [str(ind.baseline_year)], numerator=np.round(den * base).astype(int), denominator=den)
    return obs, b.rename(columns={"period": "year"})


def _count(ind: Indicator, plan: Plan, reg: Registry, months: list[str], seed: int,
           behind: bool) -> pd.DataFrame:
    ents = applicable(ind, reg.schools, reg.townships)
    rng = _rng(seed, ind.id)
    window = _window(ind, plan, months)
    n_e, n_m = len(ents), len(window)
    target = float(ind.target or 0)
    if ind.comparison in ("<=", "<"):
        return _frame(ind, ents, window, value=np.zeros((n_e, n_m), dtype=int))
    if ind.over_time == "latest":  # a stock that grows to its level in steps
        final = int(target) - (rng.integers(1, 3) if behind else 0)
        steps = np.sort(rng.integers(0, n_m, max(final, 0)))
        stock = np.searchsorted(steps, np.arange(n_m), side="right")
        return _frame(ind, ents, window, value=np.tile(stock, (n_e, 1)))
    if ind.aggregate in ("min", "max"):  # every entity needs its own target
        per = np.full(n_e, math.ceil(target)) + rng.poisson(0.4, n_e)
        if behind:
            per[rng.random(n_e) < 0.12] = 0
        value = np.zeros((n_e, n_m), dtype=int)
        for e in range(n_e):
            np.add.at(value[e], rng.integers(0, n_m, per[e]), 1)
        return _frame(ind, ents, window, value=value)
    total = math.floor(target * rng.uniform(0.6, 0.85)) if behind else math.ceil(target * rng.uniform(1.05, 1.25))
    weights = np.array([MONTH_WEIGHT.get(int(m[5:]), 1.0) for m in window])
    cell = np.outer(np.ones(n_e), weights).reshape(-1)
    value = rng.multinomial(total, cell / cell.sum()).reshape(n_e, n_m)
    return _frame(ind, ents, window, value=value)


def _milestone(ind: Indicator, plan: Plan, reg: Registry, months: list[str], seed: int,
               behind: bool) -> pd.DataFrame:
    """Monthly 0 (not yet) until the month it is done (1); a missed one stays 0 all year."""
    ents = applicable(ind, reg.schools, reg.townships)
    rng = _rng(seed, ind.id)
    window = _window(ind, plan, months)
    lo = months.index(window[0])
    done_at = lo + rng.integers(max(0, len(window) - 6), len(window), len(ents))
    if behind:
        done_at[rng.integers(0, len(ents))] = len(months)
    value = (np.arange(len(months))[None, :] >= done_at[:, None]).astype(int)
    frame = _frame(ind, ents, months, value=value)
    keep = (np.arange(len(months))[None, :] <= np.minimum(done_at, len(months) - 1)[:, None]).reshape(-1)
    return frame[keep & (np.tile(np.arange(len(months)), len(ents)) >= lo)].reset_index(drop=True)


def indicator_rows(plan: Plan, reg: Registry, months: list[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    behind = shortfall_ids(plan, seed)
    obs, base = [], []
    for ind in plan.indicators:
        late = ind.id in behind
        if ind.kind == "ratio":
            obs.append(_ratio(ind, reg, months, seed, late))
        elif ind.kind == "trend":
            o, b = _trend(ind, reg, months, seed, late)
            obs.append(o)
            base.append(b)
        elif ind.kind == "count":
            obs.append(_count(ind, plan, reg, months, seed, late))
        elif ind.kind == "milestone":
            obs.append(_milestone(ind, plan, reg, months, seed, late))
    out = pd.concat(obs, ignore_index=True)
    baselines = pd.concat(base, ignore_index=True) if base else pd.DataFrame(
        columns=["year", "school_id", "township", "indicator_id", "numerator", "denominator"])
    return out, baselines


def _day(rng: np.random.Generator, month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return f"{month}-{int(rng.integers(1, last + 1)):02d}"
