"""``edureport import``: merge checked submissions into a data folder — all or nothing, idempotent, and
never touching what it does not own.

- **One at a time.** The whole import (reading the folder, merging, writing) runs under the folder's
  exclusive lock (``datafolder``): a second import queues behind it and then merges into its result,
  so two townships importing at once both land. Builds and validation read under the shared lock.
- **Scope.** A form replaces exactly its township-month (observations, project reports, activities); a
  plain table replaces the township-months its rows cover.
- **Bytes kept.** Only the table files it merges into and ``import-log.csv`` change. In them, the header
  (extra and unnamed columns included), the encoding (UTF-8 with or without BOM, GBK), the line endings
  and every row outside the replaced scope are kept byte for byte; new rows are appended in the file's
  own encoding and line ending. Sub-folders, other files, links, permissions and owners are untouched;
  a symlinked folder or table file is written through to its target.
- **Transaction.** The new versions are written beside the old ones, the merged folder is validated as a
  whole, and the files are swapped in under a journal (``datafolder.Transaction``): a kill at any
  instant leaves exactly the old data and log, or exactly the new ones.
- **Excel-safe text.** Text cells written start with an apostrophe where Excel would read a formula
  (``csvsafe``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import datafolder
from .csv_scan import ENCODINGS
from .csvsafe import neutralise, restore
from .errors import DataValidationError, EdureportError, Problem
from .intake_read import CHECKS, FORM_TABLES, Submission, read_submission
from .normalize import plain_text
from .plan import Plan
from .readers import find_file, read_table
from .store import input_files, load_data, missing_folder
from .tables import TABLES, normalise_header
from .validate import Checker, validate_dir

LOG = "import-log.csv"
LOG_HEADER = ["时间", "文件", "SHA256", "表", "苏木镇", "期间", "新增", "替换", "删除", "未变"]
KEYS = {"observations": ("period", "indicator_id", "school_id", "township"), "projects": ("period", "project_id"),
        "activities": ("date", "task", "title", "township", "school_id")}
_LINES = re.compile(r"(?<=\n)")  # split after "\n" only: csv and pandas end records at \n, not at U+2028


class MergeError(EdureportError):
    """A data file that import cannot merge into safely (an Excel table, an unreadable structure)."""


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
    """Rows as the data folder stores them: normalised codes, YYYY-MM months, plain numbers, ISO dates;
    text as the unit typed it (``csvsafe`` adds its apostrophe only when writing)."""
    note = plain_text(raw_frame["note"]).map(restore) if "note" in raw_frame else pd.Series([""] * len(clean))
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
                   "school_id": d["school_id"], "title": restore(str(d["title"])), "participants": _num(d["participants"])}
        row["note"] = str(note.iloc[i]) if i < len(note) else ""
        rows.append({k: "" if v is None else str(v) for k, v in row.items()})
    return rows


def _scope(name: str, row: dict[str, str]) -> tuple[str, str]:
    month = row["date"][:7] if name == "activities" else row["period"]
    return row["township"], month


def import_files(paths: list[Path], data_dir: Path, plan: Plan, *, dry_run: bool = False, township: str = "",
                 period: str = "", wait: float = datafolder.WAIT_SECONDS,
                 on_wait: Callable[[], None] | None = None) -> ImportSummary:
    """Check every file, then merge them all into the data folder in one transaction (or, with
    ``dry_run``, only say what would change: nothing on disk is touched, not even an interrupted import)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise missing_folder(data_dir)
    folder = data_dir.resolve()  # a symlinked folder (current -> 2023-06): write into its target
    if dry_run:
        hold = datafolder.reading(folder, wait=wait, finish_pending=False, on_wait=on_wait)
    else:
        hold = datafolder.lock(folder, exclusive=True, wait=wait, on_wait=on_wait)
    with hold:
        if not dry_run:
            datafolder.recover(folder)
        datafolder._kill_point("locked")
        return _import_locked(paths, folder, plan, dry_run=dry_run, township=township, period=period)


def _import_locked(paths: list[Path], folder: Path, plan: Plan, *, dry_run: bool, township: str,
                   period: str) -> ImportSummary:
    data = load_data(folder, plan)  # the folder as it is now, read under our lock
    subs, problems = [], []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(str(path), message="文件不存在" if not path.exists() else "不是文件"))
            continue
        sub, found = read_submission(path, data, township=township, period=period)
        subs.append(sub)
        problems += found
    if any(p.is_error for p in problems):
        raise DataValidationError(problems)
    summary = ImportSummary(warnings=problems)
    new_files: dict[str, bytes] = {}
    log_rows = []
    for name in FORM_TABLES:
        mine = [s for s in subs if name in s.clean and len(s.clean[name])]  # an empty sheet changes nothing
        if not mine:
            continue
        file_name, blob, change, per_sub = _merge(name, folder, plan, data, mine)
        summary.changes.append(change)
        if blob is not None:
            new_files[file_name] = blob
        log_rows += per_sub
    if not summary.changed or dry_run:
        return summary
    _write(folder, plan, new_files, log_rows)
    summary.written = True
    return summary


# ---- the table files as bytes ----------------------------------------------------------------------


@dataclass
class CsvText:
    """A CSV file split into records, each kept as the exact text it was read from."""

    encoding: str
    bom: bool
    newline: str
    header: list[str]
    header_text: str
    records: list[tuple[str, list[str]]]  # (raw text, fields) of every record after the header, blank ones too

    @classmethod
    def read(cls, path: Path) -> CsvText:
        blob = path.read_bytes()
        for encoding in ENCODINGS:
            try:
                text = blob.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise MergeError(f"{path.name}：无法识别文件编码，无法合并（请另存为 UTF-8 或 GBK 编码的 CSV）")
        bom = blob.startswith(codecs.BOM_UTF8)
        parts = [p for p in _LINES.split(text) if p]
        taken: list[str] = []

        def lines():
            for part in parts:
                taken.append(part)
                yield part

        records: list[tuple[str, list[str]]] = []
        try:
            for fields in csv.reader(lines()):
                records.append(("".join(taken), fields))
                taken.clear()
        except csv.Error as exc:
            raise MergeError(f"{path.name}：第{len(records) + 1}行的结构无法安全合并（{exc}）；"
                               "请用 Excel 或 WPS 另存为 CSV 后再导入") from None
        if not records:
            raise MergeError(f"{path.name}：文件为空，无法合并")
        first = records[0][0]
        newline = "\r\n" if first.endswith("\r\n") else "\n"
        return cls("utf-8" if encoding == "utf-8-sig" else encoding, bom, newline, records[0][1], first, records[1:])

    def with_rows(self, keep: list[int], rows: list[list[str]]) -> bytes:
        """The file with only the records at ``keep`` (positions in ``records``) and ``rows`` appended."""
        out = [self.header_text if self.header_text.endswith("\n") else self.header_text + self.newline]
        for i in keep:
            out.append(self.records[i][0])
        if len(out) > 1 and not out[-1].endswith("\n"):
            out[-1] += self.newline
        out.append(_csv_rows(rows, self.newline))
        body = "".join(out).encode(self.encoding)
        return (codecs.BOM_UTF8 if self.bom else b"") + body


def _csv_rows(rows: list[list[str]], newline: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    for row in rows:
        writer.writerow([neutralise(str(v)) for v in row])
    return buf.getvalue()


def _new_file(header: list[str], rows: list[list[str]]) -> bytes:
    """A table file that did not exist yet: UTF-8 with BOM (Excel then shows the Chinese headers)."""
    return codecs.BOM_UTF8 + _csv_rows([header, *rows], "\n").encode("utf-8")


def _existing(name: str, folder: Path, plan: Plan, data) -> tuple[Path, CsvText | None, list[dict | None]]:
    """The table's file, its records, and each record's canonical row (None: a blank record)."""
    table = TABLES[name]
    path, _ = find_file(folder, table)
    if path is None:
        return folder / f"{name}.csv", None, []
    if path.suffix.lower() != ".csv":
        raise MergeError(f"数据文件夹中的 {path.name} 是 Excel 文件；导入只能合并到 CSV 数据文件")
    raw, problems = read_table(path, table)
    if raw is None:
        raise DataValidationError(problems)
    text = CsvText.read(path)
    clean = CHECKS[name](Checker(plan), raw, {"townships": data.townships, "schools": data.schools})
    rows: list[dict | None] = [None] * len(text.records)
    keys = {pos: table.header_map().get(normalise_header(h)) for pos, h in enumerate(text.header)}
    for r, canon, values in zip(raw.frame["_row"], canonical(name, raw.frame, clean),
                                raw.frame[[k for k in keys.values() if k]].itertuples(index=False), strict=True):
        i = int(r) - 2  # sheet row 2 is the first record after the header
        fields = text.records[i][1] if 0 <= i < len(text.records) else None
        seen = tuple(fields[p] if p < len(fields) else "" for p, k in keys.items() if k) if fields is not None else None
        if seen != tuple(values):  # the csv module and pandas disagree about where rows are: do not guess
            raise MergeError(f"{path.name}：第{r}行无法与读取结果对应，无法安全合并；请用 Excel 或 WPS 另存为 CSV 后再导入")
        rows[i] = canon
    return path, text, rows


def _merge(name: str, folder: Path, plan: Plan, data, subs: list[Submission]):
    path, text, old = _existing(name, folder, plan, data)
    header = text.header if text is not None else [c.label for c in TABLES[name].columns if c.kind != "info"]
    mapping = TABLES[name].header_map()
    keys = [mapping.get(normalise_header(h), "") for h in header]
    new_rows, scope, per_sub = [], set(), []
    for sub in subs:
        rows = canonical(name, sub.raws[name].frame, sub.clean[name])
        mine = {(sub.township, sub.period)} if sub.township else {_scope(name, r) for r in rows}
        scope |= mine
        new_rows += rows
        per_sub.append((sub, mine, rows))
    keep = [i for i, r in enumerate(old) if r is None or _scope(name, r) not in scope]
    kept = set(keep)
    dropped = [r for i, r in enumerate(old) if i not in kept and r is not None]
    change = _count(name, dropped, new_rows)
    log = [(sub, sorted(mine), _count(name, [d for d in dropped if _scope(name, d) in mine], rows))
           for sub, mine, rows in per_sub]
    if not (change.added or change.replaced or change.removed):
        return path.name, None, change, []
    values = [[r.get(k, "") if k else "" for k in keys] for r in new_rows]
    blob = text.with_rows(keep, values) if text is not None else _new_file(header, values)
    return path.name, blob, change, log


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
    if Counter(tuple(sorted(r.items())) for r in old) == Counter(tuple(sorted(r.items())) for r in new):
        c.added = c.replaced = c.removed = 0
        c.unchanged = len(new)
    return c


def _log_bytes(folder: Path, log_rows) -> bytes:
    now = dt.datetime.now().isoformat(timespec="seconds")
    rows = []
    for sub, scope, change in log_rows:
        towns = "、".join(sorted({t for t, _ in scope}))
        months = "、".join(sorted({m for _, m in scope}))
        rows.append([now, sub.file, sub.sha256, TABLES[change.table].label, towns, months, change.added,
                     change.replaced, change.removed, change.unchanged])
    path = folder / LOG
    if not path.exists():
        return _new_file(LOG_HEADER, rows)
    text = CsvText.read(path)
    return text.with_rows(list(range(len(text.records))), rows)


def _write(folder: Path, plan: Plan, new_files: dict[str, bytes], log_rows) -> None:
    """Swap the new versions in as one transaction, after checking the merged folder as a whole."""
    model = next(iter(input_files(folder)), None)  # a new file gets the permissions the data files have
    txn = datafolder.Transaction(folder)
    for file_name, blob in new_files.items():
        txn.put(file_name, blob, like=model)
    txn.put(LOG, _log_bytes(folder, log_rows), like=model)
    staged = txn.prepare()
    try:
        validate_dir(folder, plan, replaced=staged)  # the merged folder as a whole must be valid
    except BaseException:
        txn.abort()
        raise
    txn.commit()
