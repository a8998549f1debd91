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
- **Removals asked for.** A row of the replaced scope that the submission does not have is removed
  only with ``allow_removals`` (plain tables: ``replace`` too); otherwise the import is refused
  (``RemovalError``, listing each such row) before anything is written, dry run or not.
- **Transaction.** The new versions are written beside the old ones, the merged folder is validated as a
  whole, and the files are swapped in under a journal (``journal.Transaction``): a kill at any
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
import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edureport.core.csvsafe import neutralise, restore
from edureport.core.errors import DataValidationError, MergeError, Problem, RemovalError, for_display
from edureport.data import datafolder, journal
from edureport.data.csv_scan import ENCODINGS
from edureport.data.normalize import plain_text
from edureport.data.readers import find_file, read_table
from edureport.data.schema import SCHEMA_WORD, TABLES, normalise_header, plan_tables
from edureport.data.store import input_files, load_data, missing_folder
from edureport.data.validate import Checker, validate_dir
from edureport.intake.read import CHECKS, FORM_TABLES, Submission, read_submission
from edureport.plan.model import Plan

LOG = "import-log.csv"
LOG_HEADER = ["时间", "文件", "SHA256", "表", SCHEMA_WORD, "期间", "新增", "替换", "删除", "未变"]


def log_header(plan: Plan) -> list[str]:
    """``import-log.csv``'s header when the import creates it: the townships' column in the plan's word."""
    return [plan.township_label if h == SCHEMA_WORD else h for h in LOG_HEADER]
KEYS = {"observations": ("period", "indicator_id", "school_id", "township"), "projects": ("period", "project_id"),
        "activities": ("date", "task", "title", "township", "school_id")}
_LINE = re.compile(r"[^\n]*\n|[^\n]+")  # lines end at "\n" only, as for csv and pandas (not at U+2028)


@dataclass
class RowChange:
    """One row an import adds, changes or removes, located where an analyst finds it."""

    action: str  # 新增 | 修改 | 删除
    where: str  # the submission's file, sheet and row (新增, 修改) or the data file's row (删除)
    key: str  # the row's key columns, in the plan's words ("期间 2023-06，学校代码 S00401，指标代码 T02-2")
    diffs: list[tuple[str, str, str]] = field(default_factory=list)  # 修改: (column label, old, new)
    values: str = ""  # 新增, 删除: the other filled columns
    source: str = ""  # 删除: the submission (file) whose scope holds the row, and its sheet
    sheet: str = ""
    plain: bool = False  # 删除: that submission is a plain table (``--replace`` allows it too)
    row: dict[str, str] = field(default_factory=dict, repr=False)  # 删除: the row as stored (canonical)

    def format(self) -> str:
        if self.action == "修改":
            what = "；".join(f"{label} {_shown(old)} → {_shown(new)}" for label, old, new in self.diffs)
            return f"修改 {self.where}（{self.key}）：{what}"
        return f"{self.action} {self.where}：{self.key}" + (f"；{self.values}" if self.values else "")


def _shown(text: str) -> str:
    return for_display(text) if text != "" else "（空）"


@dataclass
class Change:
    table: str
    added: int = 0
    replaced: int = 0
    removed: int = 0
    unchanged: int = 0
    rows: list[RowChange] = field(default_factory=list)  # each added, changed and removed row


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
    notes = plain_text(raw_frame["note"]).map(restore).tolist() if "note" in raw_frame else [""] * len(clean)
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
        row["note"] = str(notes[i]) if i < len(notes) else ""
        rows.append({k: "" if v is None else str(v) for k, v in row.items()})
    return rows


def _scope(name: str, row: dict[str, str]) -> tuple[str, str]:
    month = row["date"][:7] if name == "activities" else row["period"]
    return row["township"], month


def import_files(paths: list[Path], data_dir: Path, plan: Plan, *, dry_run: bool = False, township: str = "",
                 period: str = "", replace: bool = False, allow_removals: bool = False,
                 wait: float = datafolder.WAIT_SECONDS,
                 on_wait: Callable[[], None] | None = None) -> ImportSummary:
    """Check every file, then merge them all into the data folder in one transaction (or, with
    ``dry_run``, only say what would change: nothing on disk is touched, not even an interrupted import).
    An import that would remove rows of the scope it replaces (rows the submission does not have) is
    refused with ``RemovalError`` — dry run or not — unless ``allow_removals`` (or, when every such row
    is in a plain table's scope, ``replace``)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise missing_folder(data_dir)
    folder = data_dir.resolve()  # a symlinked folder (current -> 2023-06): write into its target
    if dry_run:
        hold = datafolder.consistent(folder, wait=wait, finish_pending=False, on_wait=on_wait)
    else:
        hold = datafolder.lock(folder, exclusive=True, wait=wait, on_wait=on_wait)
    with hold:
        if not dry_run:
            journal.recover(folder)
        journal.kill_point("locked")
        return _import_locked(paths, folder, plan, dry_run=dry_run, township=township, period=period,
                              replace=replace, allow_removals=allow_removals)


def _import_locked(paths: list[Path], folder: Path, plan: Plan, *, dry_run: bool, township: str,
                   period: str, replace: bool, allow_removals: bool) -> ImportSummary:
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
    removed = [r for c in summary.changes for r in c.rows if r.action == "删除"]
    if removed and not (allow_removals or (replace and all(r.plain for r in removed))):
        raise _refusal(plan, removed, summary)
    if not summary.changed or dry_run:
        return summary
    _write(folder, plan, new_files, log_rows)
    summary.written = True
    return summary


# ---- the table files as bytes ----------------------------------------------------------------------


@dataclass
class CsvText:
    """A CSV file as its exact text and where each record starts, so kept records are copied as they
    are (a quoted record may span lines: boundaries come from the csv module, not from line breaks).
    Only offsets are kept per record: 1.5 million rows cost 12 MB here, not a list of fields each."""

    encoding: str
    bom: bool
    newline: str
    header: list[str]
    text: str
    starts: array  # offset of every record (0: the header) and, last, the length of the text

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
        starts = array("q", [0])
        end = 0

        def lines():
            nonlocal end
            for match in _LINE.finditer(text):
                end = match.end()
                yield match.group()

        header: list[str] | None = None
        try:
            for fields in csv.reader(lines()):
                header = fields if header is None else header
                starts.append(end)
        except csv.Error as exc:
            raise MergeError(f"{path.name}：第{len(starts)}行的结构无法安全合并（{exc}）；"
                             "请用 Excel 或 WPS 另存为 CSV 后再导入") from None
        if header is None:
            raise MergeError(f"{path.name}：文件为空，无法合并")
        if text.count('"') % 2:  # quotes come in pairs ("" inside a quoted cell too): the last cell is open
            raise MergeError(f"{path.name}：最后一行的引号没有配对（文件不完整？），新行会被并入这一格；"
                             "请用 Excel 或 WPS 打开检查并另存后再导入")
        newline = "\r\n" if text[:starts[1]].endswith("\r\n") else "\n"
        return cls("utf-8" if encoding == "utf-8-sig" else encoding, blob.startswith(codecs.BOM_UTF8), newline,
                   header, text, starts)

    @property
    def count(self) -> int:
        """Records after the header (blank ones too)."""
        return len(self.starts) - 2

    def record(self, i: int) -> str:
        """The text of record ``i`` (0: the first after the header)."""
        return self.text[self.starts[i + 1]:self.starts[i + 2]]

    def fields(self, i: int) -> list[str]:
        return next(csv.reader(io.StringIO(self.record(i), newline="")), [])

    def without(self, dropped: set[int], rows: list[list[str]]) -> bytes:
        """The file without the records in ``dropped``, with ``rows`` appended; everything else as it was."""
        out, at = [], self.starts[1]
        head = self.text[:at]
        out.append(head if head.endswith("\n") else head + self.newline)
        for i in sorted(dropped):  # copy each run of kept records as one slice
            out.append(self.text[at:self.starts[i + 1]])
            at = self.starts[i + 2]
        out.append(self.text[at:])
        body = "".join(out)
        if body and not body.endswith("\n"):
            body += self.newline
        body += _csv_rows(rows, self.newline)
        return (codecs.BOM_UTF8 if self.bom else b"") + body.encode(self.encoding)


def _csv_rows(rows: list[list[str]], newline: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    for row in rows:
        writer.writerow([neutralise(str(v)) for v in row])
    return buf.getvalue()


def _new_file(header: list[str], rows: list[list[str]]) -> bytes:
    """A table file that did not exist yet: UTF-8 with BOM (Excel then shows the Chinese headers)."""
    return codecs.BOM_UTF8 + _csv_rows([header, *rows], "\n").encode("utf-8")


def _in_scope(name: str, folder: Path, plan: Plan, data,
              scope: set[tuple[str, str]]) -> tuple[Path, CsvText | None, dict[int, dict[str, str]]]:
    """The table's file, its text, and the records inside ``scope`` (record number → canonical row).

    Scopes are found column-wise for the whole table and canonical rows made only for the records in
    them (a 1.5-million-row table: the replaced township-month, not every row, goes through Python)."""
    table = plan_tables(plan)[name]
    path, _ = find_file(folder, table)
    if path is None:
        return folder / f"{name}.csv", None, {}
    if path.suffix.lower() != ".csv":
        raise MergeError(f"数据文件夹中的 {path.name} 是 Excel 文件；导入只能合并到 CSV 数据文件")
    journal.owned_file(folder, path.name)  # a link out of the folder is refused before anything is read
    raw, problems = read_table(path, table)
    if raw is None:
        raise DataValidationError(problems)
    text = CsvText.read(path)
    if len(raw.frame) and int(raw.frame["_row"].max()) - 1 > text.count:
        raise MergeError(f"{path.name}：行数与读取结果不符，无法安全合并；请用 Excel 或 WPS 另存为 CSV 后再导入")
    clean = CHECKS[name](Checker(plan), raw, {"townships": data.townships, "schools": data.schools})
    month = clean["date"].dt.strftime("%Y-%m") if name == "activities" else clean["period"]
    pairs = pd.MultiIndex.from_arrays([clean["township"].astype(str).to_numpy(object),
                                       month.astype(object).to_numpy(object)])
    mine = np.flatnonzero(pairs.isin(list(scope))) if scope else np.array([], dtype=int)
    frame, clean = raw.frame.iloc[mine].reset_index(drop=True), clean.iloc[mine].reset_index(drop=True)
    keys = {pos: table.header_map().get(normalise_header(h)) for pos, h in enumerate(text.header)}
    wanted = [k for k in keys.values() if k]
    rows: dict[int, dict[str, str]] = {}
    for r, canon, values in zip(frame["_row"], canonical(name, frame, clean),
                                frame[wanted].itertuples(index=False), strict=True):
        i = int(r) - 2  # sheet row 2 is the first record after the header
        fields = text.fields(i) if 0 <= i < text.count else None
        seen = tuple(fields[p] if p < len(fields) else "" for p, k in keys.items() if k) if fields is not None else None
        if seen != tuple(values):  # the csv module and pandas disagree about where rows are: do not guess
            raise MergeError(f"{path.name}：第{r}行无法与读取结果对应，无法安全合并；请用 Excel 或 WPS 另存为 CSV 后再导入")
        rows[i] = canon
    return path, text, rows


def _refusal(plan: Plan, removed: list[RowChange], summary: ImportSummary) -> RemovalError:
    unit = plan.township_label
    problems = [Problem(r.source, r.sheet, message=f"将被删除：{r.where}，{r.key}" + (f"；{r.values}" if r.values else ""))
                for r in removed]
    hints = []
    if any(not r.plain for r in removed):
        hints.append(f"填报表替换数据文件夹中该{unit}该月的全部行，填报表中没有的行会被删除。确认要删除以上各行时加 "
                     f"--allow-removals；否则请补上这些行（edureport template --prefill 生成已填入现有数据的填报表，"
                     "只改要更正的单元格）。先用 --dry-run 查看将新增、修改、删除的每一行。")
    if any(r.plain for r in removed):
        hints.append(f"普通表按它覆盖的{unit}和月份整体替换，原有而新表中没有的行将被删除：确认要删除这些行时加 "
                     "--replace（或 --allow-removals），否则请补全这些行。")
    return RemovalError(problems, "\n".join(hints), summary)


def current_rows(folder: Path, plan: Plan, data, township: str, period: str) -> dict[str, list[dict[str, str]]]:
    """The rows a form for ``township`` and ``period`` would replace, as the data folder has them
    (canonical, as ``import`` compares them): what ``template --prefill`` writes into the form, so that
    importing the untouched form changes nothing. Read the folder under its lock (``datafolder``)."""
    township = unicodedata.normalize("NFC", township.strip())  # as ``build_template`` reads it
    out: dict[str, list[dict[str, str]]] = {}
    reg = {"townships": data.townships, "schools": data.schools}
    for name in FORM_TABLES:
        table = plan_tables(plan)[name]
        path, problems = find_file(Path(folder), table)
        out[name] = []
        if path is None:
            if problems and table.required:
                raise DataValidationError(problems)
            continue
        raw, problems = read_table(path, table)
        if raw is None:
            raise DataValidationError(problems)
        checker = Checker(plan)
        clean = CHECKS[name](checker, raw, reg)
        if any(p.is_error for p in checker.problems):
            raise DataValidationError(checker.problems)
        month = clean["date"].dt.strftime("%Y-%m") if name == "activities" else clean["period"]
        mine = np.flatnonzero(((clean["township"].astype(str) == township) & (month.astype(object) == period)).to_numpy())
        out[name] = canonical(name, raw.frame.iloc[mine].reset_index(drop=True), clean.iloc[mine].reset_index(drop=True))
    return out


def _merge(name: str, folder: Path, plan: Plan, data, subs: list[Submission]):
    new_rows, scope, per_sub, located = [], set(), [], []
    for sub in subs:
        raw = sub.raws[name]
        rows = canonical(name, raw.frame, sub.clean[name])
        mine = {(sub.township, sub.period)} if sub.township else {_scope(name, r) for r in rows}
        scope |= mine
        new_rows += rows
        per_sub.append((sub, mine, rows))
        sheet = f" 工作表“{for_display(raw.sheet)}”" if raw.sheet else " "
        located += [(f"{sub.file}{sheet}第{int(n)}行", r) for n, r in zip(raw.frame["_row"], rows, strict=True)]
    path, text, old = _in_scope(name, folder, plan, data, scope)
    dropped = list(old.values())
    change = _diff(name, plan, [(f"{path.name} 第{i + 2}行", r) for i, r in old.items()], located)
    for row in change.rows:
        if row.action == "删除":
            sub = next((s for s, mine, _ in per_sub if _scope(name, row.row) in mine), subs[0])
            row.source, row.sheet, row.plain = sub.file, sub.raws[name].sheet, not sub.township
    log = [(sub, sorted(mine), _count(name, [d for d in dropped if _scope(name, d) in mine], rows))
           for sub, mine, rows in per_sub]
    if not (change.added or change.replaced or change.removed):
        return path.name, None, change, []
    table = plan_tables(plan)[name]
    header = text.header if text is not None else [c.label for c in table.columns if c.kind != "info"]
    mapping = table.header_map()
    keys = [mapping.get(normalise_header(h), "") for h in header]
    values = [[r.get(k, "") if k else "" for k in keys] for r in new_rows]
    blob = text.without(set(old), values) if text is not None else _new_file(header, values)
    return path.name, blob, change, log


def _label(plan: Plan, name: str, key: str) -> str:
    """A column's header in the plan's words; a derived column (a project's township) by its meaning."""
    found = next((c.label for c in plan_tables(plan)[name].columns if c.key == key), None)
    return found or (plan.township_label if key == "township" else key)


def _described(plan: Plan, name: str, row: dict[str, str], keys) -> str:
    return "，".join(f"{_label(plan, name, k)} {for_display(row[k])}" for k in keys if row.get(k, "") != "")


def _diff(name: str, plan: Plan, old: list[tuple[str, dict[str, str]]],
          new: list[tuple[str, dict[str, str]]]) -> Change:
    """``_count`` with each added, changed (column by column, old → new) and removed row; the rows
    are given with where they are (the data file's row, the submission's file, sheet and row)."""
    c = _count(name, [r for _, r in old], [r for _, r in new])
    if not (c.added or c.replaced or c.removed):
        return c
    key = KEYS[name]
    pairs = _pairs(name, old, new)
    for action, was, now in pairs:
        if action == "added":
            at, r = now
            rest = [col for col in r if col not in key]
            c.rows.append(RowChange("新增", at, _described(plan, name, r, key), values=_described(plan, name, r, rest)))
        elif action == "changed":
            at, r = now
            diffs = [(_label(plan, name, col), was[1].get(col, ""), r.get(col, "")) for col in r
                     if was[1].get(col, "") != r.get(col, "")]
            c.rows.append(RowChange("修改", at, _described(plan, name, r, key), diffs=diffs))
    for action, was, _ in pairs:
        if action == "removed":
            at, r = was
            rest = [col for col in r if col not in key]
            c.rows.append(RowChange("删除", at, _described(plan, name, r, key), values=_described(plan, name, r, rest),
                                    row=r))
    return c


def _pairs(name: str, old: list[tuple[str, dict[str, str]]], new: list[tuple[str, dict[str, str]]]):
    """The old and the new rows matched by their key: (action, old entry, new entry) with action same,
    changed, added or removed. Several rows may share a key (two activities of one school on one day
    with one title): they are matched one to one — equal rows first, then in order — so that no row of
    either side disappears into a dict (one of two such rows deleted in a form was once shown as a
    change of the other and removed without ``--allow-removals``). In the order of the new rows."""
    key = KEYS[name]
    groups: dict[tuple, tuple[list, list]] = {}
    for at, r in new:
        groups.setdefault(tuple(r[k] for k in key), ([], []))[1].append((at, r))
    for at, r in old:
        groups.setdefault(tuple(r[k] for k in key), ([], []))[0].append((at, r))
    out = []
    for was, now in groups.values():
        was = list(was)
        rest = []
        for entry in now:
            match = next((w for w in was if w[1] == entry[1]), None)
            if match is None:
                rest.append(entry)
            else:
                was.remove(match)
                out.append(("same", match, entry))
        out += [("changed", w, n) for w, n in zip(was, rest, strict=False)]
        out += [("added", None, n) for n in rest[len(was):]]
        out += [("removed", w, None) for w in was[len(rest):]]
    return out


def _count(name: str, old: list[dict[str, str]], new: list[dict[str, str]]) -> Change:
    c = Change(name)
    for action, _, _ in _pairs(name, [("", r) for r in old], [("", r) for r in new]):
        if action == "added":
            c.added += 1
        elif action == "same":
            c.unchanged += 1
        elif action == "changed":
            c.replaced += 1
        else:
            c.removed += 1
    return c


def _log_bytes(folder: Path, plan: Plan, log_rows) -> bytes:
    now = dt.datetime.now().isoformat(timespec="seconds")
    rows = []
    for sub, scope, change in log_rows:
        towns = "、".join(sorted({t for t, _ in scope}))
        months = "、".join(sorted({m for _, m in scope}))
        rows.append([now, sub.file, sub.sha256, TABLES[change.table].label, towns, months, change.added,
                     change.replaced, change.removed, change.unchanged])
    path = journal.owned_file(folder, LOG)
    if not path.exists() or path.stat().st_size == 0:
        return _new_file(log_header(plan), rows)
    return CsvText.read(path).without(set(), rows)


def _write(folder: Path, plan: Plan, new_files: dict[str, bytes], log_rows) -> None:
    """Swap the new versions in as one transaction, after checking the merged folder as a whole."""
    model = next(iter(input_files(folder)), None)  # a new file gets the permissions the data files have
    txn = journal.Transaction(folder)
    tables = [txn.put(file_name, blob, like=model) for file_name, blob in new_files.items()]
    txn.put(LOG, _log_bytes(folder, plan, log_rows), like=model)
    staged = txn.prepare()
    try:  # the merged folder as a whole must be valid
        validate_dir(folder, plan, replaced={t: staged[t] for t in tables})
    except BaseException:
        txn.abort()
        raise
    txn.commit()
