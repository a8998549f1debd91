"""``edureport import``: merge checked submissions into a data folder — all or nothing, idempotent.

A form replaces exactly its township-month (observations, project reports, activities); a plain table
replaces the township-months its rows cover. Rows outside that scope are kept byte for byte. The new
folder is prepared beside the old one, validated as a whole, and swapped in with two renames; an
import interrupted between them is completed or undone by the next import. Each import that changes
something is recorded in ``import-log.csv`` inside the data folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, EdureportError, Problem
from .intake_read import CHECKS, FORM_TABLES, Submission, read_submission
from .plan import Plan
from .readers import find_file, read_table
from .store import load_data
from .tables import TABLES
from .validate import Checker, validate_dir

LOG = "import-log.csv"
LOG_HEADER = ["时间", "文件", "SHA256", "表", "苏木镇", "期间", "新增", "替换", "删除", "未变"]
KEYS = {"observations": ("period", "indicator_id", "school_id", "township"), "projects": ("period", "project_id"),
        "activities": ("date", "task", "title", "township", "school_id")}


@dataclass
class Change:
    table: str
    added: int = 0
    replaced: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    changes: list[Change] = field(default_factory=list)
    written: bool = False
    warnings: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c.added or c.replaced or c.removed for c in self.changes)


def _num(x) -> str:
    if x is None or pd.isna(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _day(x) -> str:
    return "" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def canonical(name: str, raw_frame: pd.DataFrame, clean: pd.DataFrame) -> list[dict[str, str]]:
    """Rows as the data folder stores them: normalised codes, YYYY-MM months, plain numbers, ISO dates."""
    from .normalize import plain_text

    note = plain_text(raw_frame["note"]) if "note" in raw_frame else pd.Series([""] * len(clean))
    rows = []
    for i, r in enumerate(clean.itertuples(index=False)):
        d = r._asdict()
        if name == "observations":
            row = {"period": d["period"], "school_id": d["school_id"], "township": d["township"],
                   "indicator_id": d["indicator_id"], "value": _num(d["value"]), "numerator": _num(d["numerator"]),
                   "denominator": _num(d["denominator"])}
        elif name == "projects":
            row = {"period": d["period"], "project_id": d["project_id"], "stage": d["stage"], "township": d["township"],
                   "percent": _num(d["percent"]), "budget": _num(d["budget"]),
                   **{k: _day(d[k]) for k in ("planned_start", "actual_start", "planned_finish", "actual_finish")}}
        else:
            row = {"date": _day(d["date"]), "task": _num(d["task"]), "township": d["township"],
                   "school_id": d["school_id"], "title": d["title"], "participants": _num(d["participants"])}
        row["note"] = str(note.iloc[i]) if i < len(note) else ""
        rows.append({k: "" if v is None else str(v) for k, v in row.items()})
    return rows


def _scope(name: str, row: dict[str, str]) -> tuple[str, str]:
    month = row["date"][:7] if name == "activities" else row["period"]
    return row["township"], month


def recover(data_dir: Path) -> None:
    """Finish or undo a swap that was interrupted (the folder moved aside but the new one not in place)."""
    olds = sorted(data_dir.parent.glob(f".{data_dir.name}.old-*"))
    if not data_dir.exists() and olds:
        olds[-1].rename(data_dir)
    for stale in [*data_dir.parent.glob(f".{data_dir.name}.old-*"), *data_dir.parent.glob(f".{data_dir.name}.new-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def import_files(paths: list[Path], data_dir: Path, plan: Plan, *, dry_run: bool = False, township: str = "",
                 period: str = "") -> ImportSummary:
    recover(data_dir)
    data = load_data(data_dir, plan)
    subs, problems = [], []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(str(path), message="文件不存在"))
            continue
        sub, found = read_submission(path, data, township=township, period=period)
        subs.append(sub)
        problems += found
    if any(p.is_error for p in problems):
        raise DataValidationError(problems)
    summary = ImportSummary(warnings=problems)
    texts: dict[str, str] = {}
    log_rows = []
    for name in FORM_TABLES:
        mine = [s for s in subs if name in s.clean and len(s.clean[name])]  # an empty sheet changes nothing
        if not mine:
            continue
        text, change, per_sub = _merge(name, data_dir, plan, data, mine)
        summary.changes.append(change)
        if text is not None:
            texts[name] = text
        log_rows += per_sub
    if not summary.changed or dry_run:
        return summary
    _write(data_dir, plan, texts, log_rows)
    summary.written = True
    return summary


def _existing(name: str, data_dir: Path, plan: Plan, data) -> tuple[list[str], list[list[str]], list[dict[str, str]]]:
    table = TABLES[name]
    path, _ = find_file(data_dir, table)
    if path is None:
        return [c.label for c in table.columns if c.kind != "info"], [], []
    if path.suffix.lower() != ".csv":
        raise EdureportError(f"数据文件夹中的 {path.name} 是 Excel 文件；导入只能合并到 CSV 数据文件")
    raw, problems = read_table(path, table)
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns.tolist() if raw is not None else []
    if raw is None:
        raise DataValidationError(problems)
    rows = raw.frame[[c for c in raw.frame.columns if c != "_row"]]
    clean = CHECKS[name](Checker(plan), raw, {"townships": data.townships, "schools": data.schools})
    originals = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").fillna("")
    originals = originals[~(originals == "").all(axis=1)].reset_index(drop=True)
    assert len(originals) == len(rows)
    return header, originals.values.tolist(), canonical(name, raw.frame, clean)


def _merge(name: str, data_dir: Path, plan: Plan, data, subs: list[Submission]):
    header, originals, old = _existing(name, data_dir, plan, data)
    mapping = TABLES[name].header_map()
    from .tables import normalise_header

    keys = [mapping.get(normalise_header(h), "") for h in header]
    new_rows, scope, per_sub = [], set(), []
    for sub in subs:
        rows = canonical(name, sub.raws[name].frame, sub.clean[name])
        mine = {(sub.township, sub.period)} if sub.township else {_scope(name, r) for r in rows}
        scope |= mine
        new_rows += rows
        per_sub.append((sub, mine, rows))
    keep = [i for i, r in enumerate(old) if _scope(name, r) not in scope]
    dropped = [old[i] for i in range(len(old)) if i not in set(keep)]
    change = _count(name, dropped, new_rows)
    if not (change.added or change.replaced or change.removed):
        return None, change, []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i in keep:
        writer.writerow(originals[i])
    for r in new_rows:
        writer.writerow([r.get(k, "") for k in keys])
    log = [(sub, sorted(mine), _count(name, [d for d in dropped if _scope(name, d) in mine], rows))
           for sub, mine, rows in per_sub]
    return out.getvalue(), change, log


def _count(name: str, old: list[dict[str, str]], new: list[dict[str, str]]) -> Change:
    key = KEYS[name]
    before = {tuple(r[k] for k in key): r for r in old}
    after = {tuple(r[k] for k in key): r for r in new}
    c = Change(name)
    for k, r in after.items():
        if k not in before:
            c.added += 1
        elif before[k] == r:
            c.unchanged += 1
        else:
            c.replaced += 1
    c.removed = sum(1 for k in before if k not in after)
    if Counter(map(lambda r: tuple(sorted(r.items())), old)) == Counter(map(lambda r: tuple(sorted(r.items())), new)):
        c.added = c.replaced = c.removed = 0
        c.unchanged = len(new)
    return c


def _write(data_dir: Path, plan: Plan, texts: dict[str, str], log_rows) -> None:
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    stage = data_dir.parent / f".{data_dir.name}.new-{stamp}"
    stage.mkdir()
    for item in data_dir.iterdir():
        if item.is_file():
            os.link(item, stage / item.name)  # unchanged files: no copy, no change
    for name, text in texts.items():
        path, _ = find_file(data_dir, TABLES[name])
        target = stage / (path.name if path else f"{name}.csv")
        target.unlink(missing_ok=True)
        target.write_text(text, encoding="utf-8-sig")
    log = stage / LOG
    lines = log.read_text(encoding="utf-8-sig") if log.exists() else ""
    log.unlink(missing_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if not lines:
        writer.writerow(LOG_HEADER)
    now = dt.datetime.now().isoformat(timespec="seconds")
    for sub, scope, change in log_rows:
        towns = "、".join(sorted({t for t, _ in scope}))
        months = "、".join(sorted({m for _, m in scope}))
        writer.writerow([now, sub.file, sub.sha256, TABLES[change.table].label, towns, months, change.added, change.replaced, change.removed,
                         change.unchanged])
    log.write_text(lines + out.getvalue(), encoding="utf-8-sig")
    try:
        validate_dir(stage, plan)  # the merged folder as a whole must be valid before it goes live
    except DataValidationError:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = data_dir.parent / f".{data_dir.name}.old-{stamp}"
    data_dir.rename(old)
    stage.rename(data_dir)
    shutil.rmtree(old, ignore_errors=True)
