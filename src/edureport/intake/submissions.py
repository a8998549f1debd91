"""Submission tracking (报送情况): for each unit of the register and each month, whether its figures are
in, when they arrived (``import-log.csv``) and whether they came late.

**Figures are in** for a unit-month when the observations table (指标数据) holds at least one row with
that unit in its township column and that month as its period: the unit's own rows and its schools' rows
(school rows carry their unit). Not every indicator is expected every month — milestones are reported
once, some counts only in the months something happened, a unit without schools of a stage has no rows
for that stage's ratios — so requiring each indicator would call complete submissions missing; a form
imported with at least one figure is a submission. Projects and activities do not count: many units have
neither in a month.

**Months expected** are the plan months that have ended on the as-of date (monthly figures count from
the month's end, ``core.status.counted_through``); a month still running is not yet due.

**Arrival** is the time of the first ``edureport import`` whose log row (table 指标数据) covers the
unit-month. Rows that reached the folder another way (demo data, a file copied in) have no such row:
they are "无导入记录" and no time or lateness is claimed for them.

**Late**: the figures of month M are due by day ``plan.submission_deadline_day`` (default 5) of month
M+1; an arrival on a later day is 逾期报送, a missing unit-month after its deadline is 逾期未报.

Reports use only ``missing_units`` (rows in the data set: covered by the data fingerprint and by each
report's data digests); arrival times and lateness depend on the import log and today's date, which
no build key covers, so reports never print them.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from edureport.core.csvsafe import restore
from edureport.core.errors import DemoDataError
from edureport.core.status import counted_through
from edureport.data import datafolder
from edureport.data.csv_scan import decode
from edureport.data.demo import reference_contacts
from edureport.data.schema import SCHEMA_WORD, TABLES
from edureport.data.store import DataSet, load_data
from edureport.intake.importer import LOG
from edureport.plan.model import Plan

NO_RECORD = "无导入记录"
ON_TIME, LATE, UNRECORDED, MISSING, OVERDUE = "按时报送", "逾期报送", f"已报送（{NO_RECORD}）", "未报送", "逾期未报"
SHORT = {ON_TIME: "按时", LATE: "逾期", UNRECORDED: "已报", MISSING: "未报", OVERDUE: "逾期未报"}
NOTE_MAX_UNITS = 10  # a report's note names at most this many units, then "等N个苏木镇"


@dataclass(frozen=True)
class Cell:
    """One unit-month."""

    township: str
    period: str  # YYYY-MM
    rows: int  # observation rows of the unit-month
    deadline: dt.date
    arrived: dt.datetime | None = None  # first import of the unit-month's figures; None: no log entry
    updated: dt.datetime | None = None  # last such import (a corrected resubmission), if later
    overdue: bool = False  # missing and its deadline has passed (on ``today``)

    @property
    def submitted(self) -> bool:
        return self.rows > 0

    @property
    def late(self) -> bool | None:
        """Whether the figures came after the deadline; None when not known (not in, or no import record)."""
        if not self.submitted or self.arrived is None:
            return None
        return self.arrived.date() > self.deadline

    @property
    def status(self) -> str:
        if not self.submitted:
            return OVERDUE if self.overdue else MISSING
        if self.arrived is None:
            return UNRECORDED
        return LATE if self.late else ON_TIME

    @property
    def arrived_text(self) -> str:
        if not self.submitted:
            return ""
        return NO_RECORD if self.arrived is None else self.arrived.isoformat(sep=" ", timespec="minutes")


@dataclass
class Submissions:
    """The tracking table: every unit of the register × every expected month."""

    plan: Plan
    townships: list[str]
    months: list[str]
    cells: dict[tuple[str, str], Cell]
    as_of: dt.date
    today: dt.date
    contacts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # import-log rows that could not be read

    def cell(self, township: str, period: str) -> Cell:
        return self.cells[(township, period)]

    def missing(self) -> list[Cell]:
        """Unit-months without figures, in register order then month order."""
        return [self.cells[(t, m)] for t in self.townships for m in self.months if not self.cells[(t, m)].submitted]

    def late(self) -> list[Cell]:
        return [self.cells[(t, m)] for t in self.townships for m in self.months if self.cells[(t, m)].late]


# --- months and deadlines --------------------------------------------------------------------------


def plan_months(plan: Plan) -> list[str]:
    """The plan year's months as YYYY-MM."""
    out, d = [], plan.start.replace(day=1)
    while d <= plan.end:
        out.append(d.strftime("%Y-%m"))
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


def expected_months(plan: Plan, as_of: dt.date) -> list[str]:
    """The plan months that have ended on ``as_of`` (their figures are expected)."""
    last = counted_through(as_of).strftime("%Y-%m")
    return [m for m in plan_months(plan) if m <= last]


def deadline(plan: Plan, period: str) -> dt.date:
    """The day month ``period``'s figures are due: ``plan.submission_deadline_day`` of the next month."""
    first = (dt.date(int(period[:4]), int(period[5:7]), 1) + dt.timedelta(days=32)).replace(day=1)
    return first.replace(day=plan.submission_deadline_day)


def month_cn(plan: Plan, period: str) -> str:
    """"6月" within a calendar-year plan, "2023年9月" when the plan spans two years."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{month}月" if plan.start.year == plan.end.year == year else f"{year}年{month}月"


# --- the import log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    time: dt.datetime
    townships: tuple[str, ...]
    months: tuple[str, ...]


def read_import_log(data_dir: str | Path, plan: Plan, townships: Iterable[str]) -> tuple[list[LogEntry], list[str]]:
    """The import log's rows for the observations table, and a message for each row that could not be read
    (a log edited by hand: such rows are skipped, never guessed). No log: no entries."""
    folder = Path(data_dir)
    path = folder / LOG
    if not path.is_file():
        return [], []
    with datafolder.consistent(folder):
        blob = path.read_bytes()
    text = decode(blob)
    if text is None:
        return [], [f"{LOG} 的编码无法识别，到达时间未知"]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return [], []
    header = [h.strip() for h in rows[0]]
    try:
        at_time, at_table, at_months = header.index("时间"), header.index("表"), header.index("期间")
    except ValueError:
        return [], [f"{LOG} 的表头不完整（应有 时间、表、期间 列），到达时间未知"]
    at_town = next((header.index(w) for w in (plan.township_label, SCHEMA_WORD) if w in header), 4)
    names = set(townships)
    entries, problems = [], []
    label = TABLES["observations"].label
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if restore(row[at_table]).strip() != label:
                continue
            when = dt.datetime.fromisoformat(restore(row[at_time]).strip())
            towns = _split_names(restore(row[at_town]), names)
            months = tuple(m.strip() for m in restore(row[at_months]).split("、") if m.strip())
        except (IndexError, ValueError):
            problems.append(f"{LOG} 第{number}行无法识别，已忽略")
            continue
        entries.append(LogEntry(when.replace(tzinfo=None), towns, months))
    return entries, problems


def _split_names(text: str, names: set[str]) -> tuple[str, ...]:
    """The log joins a row's units with "、"; a unit's own name may contain "、" too, so the pieces are
    joined back into register names where they form one (pieces that form none are dropped)."""
    text = text.strip()
    if text in names:
        return (text,)
    parts = text.split("、")
    out, i = [], 0
    while i < len(parts):
        for j in range(len(parts), i, -1):  # the longest run of pieces that is a name
            if "、".join(parts[i:j]) in names:
                out.append("、".join(parts[i:j]))
                i = j
                break
        else:
            i += 1
    return tuple(out)


# --- the table -------------------------------------------------------------------------------------


def _dataset(plan: Plan, data: str | Path | DataSet) -> DataSet:
    return data if isinstance(data, DataSet) else load_data(data, plan)


def _row_counts(ds: DataSet, months: list[str], townships: list[str]) -> dict[tuple[str, str], int]:
    obs = ds.frames["observations"]
    if obs.empty or not months or not townships:
        return {}
    town, period = obs["township"].astype(str), obs["period"].astype(str)
    keep = town.isin(townships) & period.isin(months)
    counts = pd.DataFrame({"t": town[keep], "m": period[keep]}).groupby(["t", "m"], sort=False).size()
    return {(str(t), str(m)): int(n) for (t, m), n in counts.items()}


def track(plan: Plan, data: str | Path | DataSet, as_of: dt.date, *, period: str = "",
          townships: Iterable[str] | None = None, today: dt.date | None = None,
          contacts: dict[str, str] | None = None, import_log: bool = True) -> Submissions:
    """The tracking table on ``as_of``: every unit of the register (or ``townships``) × every month that
    has ended by then (or only ``period``). ``today`` (default: today) decides which missing months are
    overdue. ``data`` is a data folder or a loaded ``DataSet`` (whose folder's import log is read);
    ``import_log=False`` skips the log (only what is in and what is missing is then meaningful)."""
    ds = _dataset(plan, data)
    units = list(townships) if townships is not None else list(ds.townships["township"].astype(str))
    months = [period] if period else expected_months(plan, as_of)
    counts = _row_counts(ds, months, units)
    entries, warnings = read_import_log(ds.data_dir, plan, units) if import_log else ([], [])
    first: dict[tuple[str, str], dt.datetime] = {}
    last: dict[tuple[str, str], dt.datetime] = {}
    for e in entries:
        for t in e.townships:
            for m in e.months:
                key = (t, m)
                first[key] = min(first.get(key, e.time), e.time)
                last[key] = max(last.get(key, e.time), e.time)
    today = today or dt.date.today()
    cells = {}
    for t in units:
        for m in months:
            key, due = (t, m), deadline(plan, m)
            n = counts.get(key, 0)
            arrived = first.get(key) if n else None
            updated = last.get(key) if n and last.get(key) != arrived else None
            cells[key] = Cell(t, m, n, due, arrived, updated, overdue=not n and today > due)
    return Submissions(plan, units, months, cells, as_of, today, dict(contacts or {}), warnings)


def missing_units(plan: Plan, data: str | Path | DataSet, as_of: dt.date, *,
                  townships: Iterable[str] | None = None) -> list[Cell]:
    """The unit-months whose figures are not in among the months a report dated ``as_of`` counts, in
    register order. ``data``: a data folder or a ``DataSet``; for a township subset (``load_subset``)
    pass ``townships=[that township]`` (the subset holds no other unit's rows). Reads only the data rows,
    never the import log, so a report's text follows its data digest."""
    return track(plan, data, as_of, townships=townships, import_log=False).missing()


def missing_note(plan: Plan, missing: list[Cell]) -> str:
    """The sentence a report prints: "乌审召镇6月数据未报送，按已有数据计算。" ("" when nothing is missing)."""
    if not missing:
        return ""
    by_unit: dict[str, list[str]] = {}
    for c in missing:
        by_unit.setdefault(c.township, []).append(month_cn(plan, c.period))
    parts = [f"{t}{'、'.join(ms)}" for t, ms in list(by_unit.items())[:NOTE_MAX_UNITS]]
    more = f"等{len(by_unit)}个{plan.township_label}" if len(by_unit) > NOTE_MAX_UNITS else ""
    return f"{'，'.join(parts)}{more}数据未报送，按已有数据计算。"


# --- contacts --------------------------------------------------------------------------------------


def read_contacts(reference_file: str | Path | None) -> dict[str, str]:
    """Unit → contact from the reference list (optional ``contact`` of a ``townships`` entry written as
    a mapping). None or a file that is not there: no contacts."""
    if reference_file is None or not Path(reference_file).is_file():
        return {}
    try:
        reference = yaml.safe_load(Path(reference_file).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DemoDataError(f"无法读取参考名录 {reference_file}：{type(exc).__name__}") from None
    if not isinstance(reference, dict):
        raise DemoDataError(f"参考名录 {reference_file} 应为 YAML 映射（townships、schools、generated_schools）")
    return reference_contacts(reference)


# --- text and HTML ---------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _grid(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def table_text(s: Submissions) -> str:
    """The table as the command prints it: one month in detail, or units × months in short words."""
    label = s.plan.township_label
    if not s.months:
        return f"截至 {s.as_of.isoformat()} 工作要点年度还没有已结束的月份，暂无应报送的数据。"
    if len(s.months) == 1:
        m = s.months[0]
        head = f"{month_cn(s.plan, m)}（{m}）数据报送情况，截止日 {deadline(s.plan, m).isoformat()}："
        rows = [[label, "状态", "行数", "到达时间"]]
        for t in s.townships:
            c = s.cell(t, m)
            when = c.arrived_text + (f"（最近更新 {c.updated.isoformat(sep=' ', timespec='minutes')}）"
                                     if c.updated else "")
            rows.append([t, c.status, str(c.rows) if c.submitted else "—", when or "—"])
        return head + "\n" + _grid(rows)
    rows = [[label, *(month_cn(s.plan, m) for m in s.months)]]
    rows += [[t, *(SHORT[s.cell(t, m).status] for m in s.months)] for t in s.townships]
    legend = (f"按时＝截止日（次月{s.plan.submission_deadline_day}日）当天或之前导入；逾期＝截止日后导入；"
              f"已报＝有数据但{NO_RECORD}（不是经 edureport import 导入的）；未报＝尚无数据。")
    return "数据报送情况：\n" + _grid(rows) + "\n" + legend


def chase_text(s: Submissions) -> str:
    """The 催报 list: each unit with missing months, and its contact where the reference list has one."""
    label = s.plan.township_label
    by_unit: dict[str, list[Cell]] = {}
    for c in s.missing():
        by_unit.setdefault(c.township, []).append(c)
    if not by_unit:
        return f"催报名单：无（各{label}数据均已报送）。"
    lines = [f"催报名单（{len(by_unit)}个{label}）："]
    for t, cells in by_unit.items():
        months = "、".join(month_cn(s.plan, c.period) + ("（逾期）" if c.overdue else "") for c in cells)
        contact = s.contacts.get(t)
        lines.append(f"  {t}：{months}未报送；联系人：{contact or '名录中未登记'}")
    return "\n".join(lines)


def submissions_html(plan: Plan, data: str | Path | DataSet, as_of: dt.date, *, today: dt.date | None = None,
                     contacts: dict[str, str] | None = None) -> str:
    """An HTML fragment for the index page: a ``<section class="submissions">`` with the units × months
    table (one class per status: ``s-ontime``, ``s-late``, ``s-unrecorded``, ``s-missing``, ``s-overdue``)
    and the 催报 list. Text is escaped; no scripts, no outside resources. Depends on the import log and
    ``today`` as well as the data."""
    s = track(plan, data, as_of, today=today, contacts=contacts)
    esc = html.escape
    label = plan.township_label
    classes = {ON_TIME: "s-ontime", LATE: "s-late", UNRECORDED: "s-unrecorded", MISSING: "s-missing",
               OVERDUE: "s-overdue"}
    out = ['<section class="submissions"><h2>数据报送情况</h2>']
    if not s.months:
        out.append(f"<p>截至{esc(as_of.isoformat())}尚无已结束的月份，暂无应报送的数据。</p></section>")
        return "".join(out)
    head = "".join(f"<th>{esc(month_cn(plan, m))}</th>" for m in s.months)
    out.append(f"<table><thead><tr><th>{esc(label)}</th>{head}</tr></thead><tbody>")
    for t in s.townships:
        tds = []
        for m in s.months:
            c = s.cell(t, m)
            tip = c.status + (f"，{c.arrived_text}" if c.submitted else f"，截止日{c.deadline.isoformat()}")
            tds.append(f'<td class="{classes[c.status]}" title="{esc(tip)}">{esc(SHORT[c.status])}</td>')
        out.append(f"<tr><th>{esc(t)}</th>{''.join(tds)}</tr>")
    out.append("</tbody></table>")
    out.append(f'<p class="note">截止日为次月{plan.submission_deadline_day}日；“已报”表示有数据但{NO_RECORD}。</p>')
    missing = s.missing()
    if missing:
        by_unit: dict[str, list[str]] = {}
        for c in missing:
            by_unit.setdefault(c.township, []).append(month_cn(plan, c.period))
        items = "".join(f"<li>{esc(t)}：{esc('、'.join(ms))}未报送"
                        + (f"（联系人：{esc(s.contacts[t])}）" if t in s.contacts else "") + "</li>"
                        for t, ms in by_unit.items())
        out.append(f'<h3>催报名单</h3><ul class="chase">{items}</ul>')
    else:
        out.append(f"<p>各{esc(label)}数据均已报送。</p>")
    out.append("</section>")
    return "".join(out)
