"""Deterministic demo data for any plan: a registry, a year of monthly figures, projects, activities.

The generator reads the plan (what to fill) and a reference file (named townships and schools); it
knows nothing about a particular county. Values follow plausible paths towards each target, and a
seeded few indicators fall short (and one project runs late) so reports show amber and red items.
The same call with ``townships=600`` makes benchmark-sized data.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from edureport.core.errors import DemoDataError
from edureport.data.entities import applicable
from edureport.data.schema import plan_tables
from edureport.kinds import KINDS, get_kind
from edureport.plan.fields import NAME, check_text
from edureport.plan.model import Indicator, Plan

STUDENTS = {"幼儿园": (120, 420), "小学": (300, 1600), "初中": (400, 1300), "九年一贯制": (250, 900),
            "高中": (1800, 3200), "中职": (700, 1500)}

@dataclass
class Registry:
    """The demo's townships and schools (with sizes the figures are drawn from)."""

    townships: pd.DataFrame
    schools: pd.DataFrame  # school_id, name, township, stage, ownership, students, teachers, classes

def rng_for(seed: int, *keys: Any) -> np.random.Generator:
    """A generator per (seed, key): changing one indicator never reshuffles the others."""
    return np.random.default_rng([seed, *(zlib.crc32(str(k).encode()) for k in keys)])

# Words of a denominator's label that name the stages a township's figure counts (its schools' sum).
LABEL_STAGES = (("幼儿", "幼儿园"), ("在园", "幼儿园"), ("小学", "小学"), ("小学", "九年一贯制"), ("初中", "初中"),
                ("初中", "九年一贯制"), ("义务教育", "小学"), ("义务教育", "初中"), ("义务教育", "九年一贯制"),
                ("高中", "高中"), ("中职", "中职"), ("职业", "中职"))

# Months with school holidays get fewer events.
MONTH_WEIGHT = {1: 0.6, 2: 0.4, 7: 0.5, 8: 0.4}

def _rng(seed: int, *keys: object) -> np.random.Generator:
    return rng_for(seed, *keys)

def reference_units(reference: dict[str, Any]) -> list[tuple[str, int | None]]:
    """The reference's units in its order, each with how many schools to generate there (None: fill up to
    ``--schools-per-township``). An entry is a name, or ``{name: 凤凰山街道, generated_schools: 0}``."""
    entries = reference.get("townships") or []
    if not isinstance(entries, list):
        raise DemoDataError("参考名录的 townships 应为列表")
    out: list[tuple[str, int | None]] = []
    for entry in entries:
        if isinstance(entry, dict) and set(entry) <= {"name", "generated_schools", "contact"}:
            name, count = entry.get("name"), entry.get("generated_schools")
        else:
            name, count = entry, None
        if not isinstance(name, str) or not name.strip():
            raise DemoDataError(f"参考名录的 townships 每项应为名称，或写成 {{name: 名称, generated_schools: 0}}"
                                f"（收到 {entry!r}）")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise DemoDataError(f"参考名录中“{name}”的 generated_schools 应为不小于0的整数（收到 {count!r}）")
        if name in (n for n, _ in out):
            raise DemoDataError(f"参考名录的 townships 中“{name}”出现了两次")
        out.append((name, count))
    return out


def reference_contacts(reference: dict[str, Any]) -> dict[str, str]:
    """Unit name → its contact for 催报 (``{name: 乌审召镇, contact: 张三 0477-0000000}``; optional, only the
    units that give one). ``edureport submissions`` prints it beside a unit whose figures are missing."""
    units = {name for name, _ in reference_units(reference)}  # the same checks as for the demo data
    out: dict[str, str] = {}
    for entry in reference.get("townships") or []:
        if not isinstance(entry, dict) or entry.get("contact") in (None, ""):
            continue
        try:
            out[entry["name"]] = check_text(entry["contact"], NAME)
        except ValueError as exc:
            raise DemoDataError(f"参考名录中“{entry['name']}”的 contact（联系人）有误：{exc}") from None
    return {k: v for k, v in out.items() if k in units}


def _reference_schools(reference: dict[str, Any]) -> list[dict[str, Any]]:
    schools = reference.get("schools") or []
    for s in schools:
        if not isinstance(s, dict) or not {"name", "township", "stage", "ownership"} <= set(s):
            raise DemoDataError(f"参考名录的 schools 每项应写明 name、township、stage、ownership（收到 {s!r}）")
        if s["stage"] not in STUDENTS:
            raise DemoDataError(f"参考名录中学校“{s['name']}”的学段“{s['stage']}”未知，应为：{'、'.join(STUDENTS)}")
    return schools


def build_registry(plan: Plan, reference: dict[str, Any], townships: int | None, per_township: int,
                   seed: int) -> Registry:
    """The reference's units in its order (all of them unless ``townships`` says how many; beyond the
    reference, generated names follow its own), each with its named schools and generated ones."""
    units = reference_units(reference)
    named = [name for name, _ in units]
    generated = dict(units)
    ref_schools = _reference_schools(reference)
    label = plan.township_label
    needed = plan.named_entities("township")
    missing = needed - set(named)
    if missing:
        raise DemoDataError(f"参考名录缺少工作要点提到的{label}：{'、'.join(sorted(missing))}")
    # the units of the schools the plan names must stay too
    home = {s["name"]: s["township"] for s in ref_schools}
    needed |= {home[s] for s in plan.named_entities("school") if s in home} & set(named)
    if townships is None:
        names = named
    else:
        if townships < len(needed):
            raise DemoDataError(f"工作要点提到{len(needed)}个{label}，--townships 至少为{len(needed)}")
        others = [t for t in named if t not in needed][:max(0, townships - len(needed))]
        names = [t for t in named if t in needed or t in others]
        names += [f"示例镇{i:03d}" for i in range(1, townships - len(names) + 1)]
    schools: list[dict[str, Any]] = []
    kept = [s for s in ref_schools if s["township"] in names]
    kinds = reference.get("generated_schools") or []
    for spec in kinds:
        if not isinstance(spec, dict) or not {"suffix", "stage", "ownership"} <= set(spec) \
                or spec["stage"] not in STUDENTS:
            raise DemoDataError(f"参考名录的 generated_schools 每项应写明 suffix、stage（{'、'.join(STUDENTS)}）、"
                                f"ownership（收到 {spec!r}）")
    for t_index, town in enumerate(names, start=1):
        own = [dict(s) for s in kept if s["township"] == town]
        quota = generated.get(town)
        fill = per_township if quota is None else len(own) + quota
        k = 0
        while len(own) < fill and kinds:
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
    frame = pd.DataFrame(schools, columns=["school_id", "name", "township", "stage", "ownership"])
    absent = plan.named_entities("school") - set(frame["name"])
    if absent:
        raise DemoDataError(f"参考名录缺少工作要点提到的学校：{'、'.join(sorted(absent))}")
    rng = rng_for(seed, "registry")
    lo = frame["stage"].map(lambda s: STUDENTS[s][0]).to_numpy()
    hi = frame["stage"].map(lambda s: STUDENTS[s][1]).to_numpy()
    frame["students"] = rng.integers(lo, hi)
    frame["teachers"] = np.maximum(8, (frame["students"] / rng.uniform(11, 15, len(frame))).round()).astype(int)
    frame["classes"] = np.maximum(3, (frame["students"] / rng.uniform(30, 48, len(frame))).round()).astype(int)
    towns = pd.DataFrame({"township": names, "code": [f"T{i:03d}" for i in range(1, len(names) + 1)]})
    return Registry(towns, frame)

def generate(plan: Plan, reference_file: str | Path, *, townships: int | None = None,
             schools_per_township: int = 8, seed: int = 1, until: str | None = None) -> dict[str, pd.DataFrame]:
    """All demo tables as frames whose columns are the Chinese headers of docs/data-format.md.

    ``townships``: how many units (default: all of the reference's, in its order); ``until``: the last
    month (YYYY-MM) with figures — the data are the whole year's, cut off there."""
    try:
        reference = yaml.safe_load(Path(reference_file).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DemoDataError(f"无法读取参考名录 {reference_file}：{exc}") from exc
    if not isinstance(reference, dict):
        raise DemoDataError(f"参考名录 {reference_file} 应为 YAML 映射（townships、schools、generated_schools）")
    months = _months(plan.start, plan.end)
    last = until_month(until, months) if until is not None else months[-1]
    reg = build_registry(plan, reference, townships, schools_per_township, seed)
    obs, base = indicator_rows(plan, reg, months, seed)
    projects = project_rows(plan, reg, months, seed)
    activities = activity_rows(plan, reg, obs, seed)
    if last != months[-1]:  # drawn for the whole year, then cut: June's figures are the same either way
        obs = obs[obs["period"] <= last].reset_index(drop=True)
        projects = projects[projects["period"] <= last].reset_index(drop=True)
        activities = activities[activities["date"].str[:7] <= last].reset_index(drop=True)
    tables = {
        "townships": reg.townships,
        "schools": reg.schools[["school_id", "name", "township", "stage", "ownership"]],
        "observations": obs,
        "baselines": base,
        "projects": projects,
        "activities": activities,
    }
    return {name: _with_headers(name, frame, plan) for name, frame in tables.items()}


def until_month(until: str, months: list[str]) -> str:
    """``--until``: a month (YYYY-MM) inside the plan's year."""
    text = str(until).strip()
    if not re.fullmatch(r"\d{4}-\d{2}", text) or not 1 <= int(text[5:]) <= 12:
        raise DemoDataError(f"--until 应写成年月 YYYY-MM（如 {months[-1]}），收到“{until}”")
    if text not in months:
        raise DemoDataError(f"--until {text} 不在工作要点年度内（{months[0]}～{months[-1]}）")
    return text

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

def _with_headers(name: str, frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The frame under the headers an analyst sees, in the plan's words (苏木镇 for the 2023 sample)."""
    table = plan_tables(plan)[name]
    cols = [c for c in table.columns if c.key in frame.columns]
    out = frame[[c.key for c in cols]].copy()
    out.columns = [c.label for c in cols]
    return out

def shortfall_ids(plan: Plan, seed: int) -> set[str]:
    """Indicators deliberately behind target, so reports show amber and red (seeded, per kind)."""
    out: set[str] = set()
    for kind in KINDS:
        cands = [i for i in plan.indicators if i.kind == kind.name and kind.demo_can_fall_behind(i)]
        order = sorted(cands, key=lambda i: _rng(seed, "short", i.id).random())
        out |= {i.id for i in order[:kind.demo_shortfalls]}
    return out

def indicator_rows(plan: Plan, reg: Registry, months: list[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every indicator's demo rows, drawn by its kind (``IndicatorKind.demo_rows``), and the baselines."""
    behind = shortfall_ids(plan, seed)
    demo = DemoContext(plan, reg, months, seed)
    obs, base = [], []
    for ind in plan.indicators:
        if ind.level != "banner" and demo.entities(ind).empty:
            continue  # no unit it applies to (a stage the register has no school of): nothing to report
        rows = get_kind(ind.kind).demo_rows(ind, demo, ind.id in behind)
        if rows is None:
            continue
        obs.append(rows[0])
        if rows[1] is not None:
            base.append(rows[1])
    out = pd.concat(obs, ignore_index=True)
    baselines = pd.concat(base, ignore_index=True) if base else pd.DataFrame(
        columns=["year", "school_id", "township", "indicator_id", "numerator", "denominator"])
    return out, baselines

class DemoContext:
    """What an indicator kind's ``demo_rows`` draws with: seeded generators, the units an indicator applies
    to, the plan's months and the layout of rows. Kinds own their values; this owns the bookkeeping."""

    def __init__(self, plan: Plan, reg: Registry, months: list[str], seed: int):
        self.plan, self.reg, self.months, self.seed = plan, reg, months, seed

    def rng(self, *keys: Any) -> np.random.Generator:
        return rng_for(self.seed, *keys)

    def entities(self, ind: Indicator) -> pd.DataFrame:
        """The units (entity, township) the indicator applies to."""
        return applicable(ind, self.reg.schools, self.reg.townships)

    def schools_of(self, ents: pd.DataFrame) -> pd.DataFrame:
        """The registry rows (students, teachers, classes) of those units (schools)."""
        return self.reg.schools.set_index("school_id").loc[ents["entity"]]

    def denominator(self, ind: Indicator, ents: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """A plausible denominator per unit from the words of ``ind.denominator`` (see ``basis``): a
        school's own, or for a township the sum over its schools (0 where it has none)."""
        if ind.level != "township":
            return _basis(ind.denominator, self.schools_of(ents), rng)
        schools = self.reg.schools
        stages = {stage for word, stage in LABEL_STAGES if word in ind.denominator}
        if stages:  # 在园幼儿总数: a township's kindergartens only
            schools = schools[schools["stage"].isin(stages)]
        per_school = pd.Series(_basis(ind.denominator, schools, rng), index=schools["township"].to_numpy())
        totals = per_school.groupby(level=0).sum()
        return totals.reindex(ents["township"].to_numpy(), fill_value=0).to_numpy().astype(int)

    def shares(self, ind: Indicator, ents: pd.DataFrame, total: int, rng: np.random.Generator) -> np.ndarray:
        """``total`` split among the units, roughly in proportion to their size (a school's students, a
        township's schools'): a stock counted at every school that must add up to a county total."""
        if len(ents) == 0 or total <= 0:
            return np.zeros(len(ents), dtype=int)
        if ind.level != "school":
            size = self.reg.schools.groupby("township")["students"].sum()
            weight = size.reindex(ents["township"].to_numpy(), fill_value=0).to_numpy().astype(float)
        else:
            weight = self.schools_of(ents)["students"].to_numpy().astype(float)
        weight = weight + weight.mean() * 0.2 + 1.0  # a small unit may hold some too
        return rng.multinomial(total, weight / weight.sum())

    def window(self, ind: Indicator) -> list[str]:
        """The months from the indicator's start to its due date (at least the last month)."""
        lo = (ind.period_from or self.plan.start).strftime("%Y-%m")
        hi = min(ind.due, self.plan.end).strftime("%Y-%m")
        return [m for m in self.months if lo <= m <= hi] or self.months[-1:]

    @staticmethod
    def month_weight(month: str) -> float:
        """Months with school holidays get fewer events."""
        return MONTH_WEIGHT.get(int(month[5:]), 1.0)

    @staticmethod
    def basis(label: str, schools: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return _basis(label, schools, rng)

    @staticmethod
    def frame(ind: Indicator, ents: pd.DataFrame, months: list[str], **cols: np.ndarray) -> pd.DataFrame:
        return _frame(ind, ents, months, **cols)

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

def _day(rng: np.random.Generator, month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return f"{month}-{int(rng.integers(1, last + 1)):02d}"

def _month_end(month: str) -> dt.date:
    y, m = int(month[:4]), int(month[5:])
    return dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)

def _date(base: dt.date, rng: np.random.Generator, lo: int, hi: int) -> dt.date:
    return base + dt.timedelta(days=int(rng.integers(lo, hi)))

def project_rows(plan: Plan, reg: Registry, months: list[str], seed: int) -> pd.DataFrame:
    """Monthly status of every plan project; one 投用 project overruns, one 开工 project starts late."""
    by_name = reg.schools.set_index("name")
    projects = list(plan.projects)
    order = sorted(projects, key=lambda p: _rng(seed, "late", p.id).random())
    late_finish = next((p.id for p in order if p.goal != "开工"), None)
    late_start = next((p.id for p in order if p.goal == "开工"), None)
    y0 = plan.start
    rows = []
    for p in projects:
        rng = _rng(seed, p.id)
        budget = round(float(rng.uniform(150, 6000)), 1)
        if p.goal == "开工":
            planned_start = _date(y0, rng, 60, 170)
            actual_start = planned_start + dt.timedelta(days=int(rng.integers(-10, 20)))
            if p.id == late_start:
                actual_start = planned_start + dt.timedelta(days=int(rng.integers(110, 150)))
            planned_finish = _date(y0.replace(year=y0.year + 1), rng, 150, 300)
        else:
            planned_start = _date(y0.replace(year=y0.year - 1), rng, 90, 200)
            actual_start = planned_start + dt.timedelta(days=int(rng.integers(0, 20)))
            planned_finish = _date(y0, rng, 200, 280)
        overrun = 200 if p.id == late_finish else int(rng.integers(-15, 10))
        actual_finish = planned_finish + dt.timedelta(days=overrun)
        span = max(1, (actual_finish - actual_start).days)
        for month in months:
            end = _month_end(month)
            started = actual_start <= end
            finished = actual_finish <= end
            percent = 0 if not started else 100 if finished else min(99, int(100 * (end - actual_start).days / span))
            stage = "未开工" if not started else "在建" if not finished else (
                "投用" if (end - actual_finish).days >= 20 else "竣工")
            school = by_name.loc[p.school] if p.school in by_name.index else None
            rows.append({
                "period": month, "project_id": p.id, "stage": stage, "percent": percent,
                "planned_start": planned_start.isoformat(),
                "actual_start": actual_start.isoformat() if started else "",
                "planned_finish": planned_finish.isoformat(),
                "actual_finish": actual_finish.isoformat() if finished else "",
                "budget": budget, "school_id": school["school_id"] if school is not None else "",
            })
    return pd.DataFrame(rows)

def activity_rows(plan: Plan, reg: Registry, obs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Activities behind the banner- and township-level event counts and the milestones reached."""
    kinds = {i.id: i for i in plan.indicators}
    names = reg.schools.set_index("school_id")["name"]
    rows = []
    for ind_id, group in obs.groupby("indicator_id", sort=False):
        ind = kinds[ind_id]
        kind = get_kind(ind.kind)
        if not kind.demo_events(ind):
            continue
        rng = _rng(seed, "activity", ind_id)
        title = ind.name
        for word in ("次数", "场次", "举办", "召开", "完成", "组织"):
            title = title.removesuffix(word)
        mine = []
        for _, r in group[group["value"].fillna(0) > 0].iterrows():
            for _ in range(min(int(r["value"]), 3)):
                who = names.get(r["school_id"], r["township"] or plan.region_label)
                mine.append({"date": _day(rng, r["period"]), "task": ind.task, "township": r["township"],
                             "school_id": r["school_id"], "participants": int(rng.integers(20, 600)),
                             "title": f"{title}（{who}）" if ind.level != "banner" else title})
        mine.sort(key=lambda row: row["date"])
        if kind.demo_numbered_events(ind):
            for n, row in enumerate(mine, start=1):
                row["title"] = f"{title}（第{n}次）"
        rows += mine
    out = pd.DataFrame(rows, columns=["date", "task", "township", "school_id", "title", "participants"])
    return out.sort_values(["date", "task", "title"], kind="stable").reset_index(drop=True)
