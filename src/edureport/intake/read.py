"""Read a submission — a filled template or a plain table — and check it before anything is merged.

A filled template is recognised by its hidden metadata (sheet names may have been changed: sheets are
found by their headers). Every row is checked with the same rules as ``edureport validate``, against
the data folder's registry, and must belong to the workbook's township and month.

A submission is not trusted: its size is checked first (``limits.SUBMISSION_MAX_BYTES``), a workbook
is opened through ``workbooks.open_workbook``, and a sheet that looks like a table but is hidden or
not readable is an error, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from edureport.core import limits
from edureport.core.errors import Problem
from edureport.core.paths import file_sha256, shown_name
from edureport.data.cell_checks import header_hits, hidden_with_rows
from edureport.data.normalize import is_blank
from edureport.data.readers import RawTable, read_sheet, read_table
from edureport.data.schema import UNIT_WORDS, normalise_header, plan_tables
from edureport.data.store import DataSet
from edureport.data.validate import Checker, check_activities, check_observations, check_projects
from edureport.data.workbooks import open_workbook
from edureport.intake.template import META_KEYS, TEMPLATE_VERSION

FORM_TABLES = ("observations", "projects", "activities")
INPUT_COLUMNS = {"observations": ("value", "numerator", "denominator", "note"),
                 "projects": ("stage", "percent", "planned_start", "actual_start", "planned_finish",
                              "actual_finish", "budget", "note"),
                 "activities": ("date", "task", "school_id", "title", "participants", "note")}
CHECKS = {"observations": check_observations, "projects": check_projects, "activities": check_activities}


@dataclass
class Submission:
    file: str
    sha256: str
    township: str = ""  # from the template's metadata; "" for plain tables
    period: str = ""
    raws: dict[str, RawTable] = field(default_factory=dict)
    clean: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


def read_submission(path: Path, data: DataSet, *, township: str = "", period: str = "") -> tuple[Submission, list[Problem]]:
    """Read and check one file; problems are returned (all of them), nothing is written."""
    label = shown_name(path)
    unit, tables = data.plan.township_label, plan_tables(data.plan)
    size = path.stat().st_size
    if size > limits.SUBMISSION_MAX_BYTES:
        return Submission(label, ""), [Problem(label, message=(
            f"文件有 {size / limits.MiB:,.1f} MB，超过报送文件的上限 {limits.SUBMISSION_MAX_BYTES // limits.MiB} MB："
            f"一个{unit}一个月的填报表约 20 KB，请检查是否选错了文件"))]
    sub = Submission(label, file_sha256(path))
    problems: list[Problem] = []
    if path.suffix.lower() == ".xlsx":
        problems += _read_workbook(path, sub, data)
    else:
        table = next((t for t in tables.values() if normalise_header(Path(label).stem) in
                      {normalise_header(t.name), normalise_header(t.label)} and t.name in FORM_TABLES), None)
        if table is None:
            return sub, [Problem(label, message="无法判断是哪张表：CSV 文件名应为 observations/指标数据、projects/项目进度 或 activities/活动记录")]
        raw, more = read_table(path, table, label)
        problems += more
        if raw is not None:
            sub.raws[table.name] = raw
    for want, got, what in ((township, sub.township, unit), (period, sub.period, "期间")):
        if want and got and want != got:
            problems.append(Problem(label, message=f"工作簿的{what}是“{got}”，不是要导入的“{want}”，已拒绝"))
    if any(p.is_error for p in problems):
        return sub, problems
    checker = Checker(data.plan)
    reg = {"townships": data.townships, "schools": data.schools}
    for name, raw in sub.raws.items():
        sub.clean[name] = CHECKS[name](checker, raw, reg)
    problems += checker.problems
    if sub.township:
        problems += _scope_problems(sub, unit)
    sub.warnings = [p for p in problems if not p.is_error]
    return sub, problems


def _read_workbook(path: Path, sub: Submission, data: DataSet) -> list[Problem]:
    book, problems = open_workbook(path, sub.file)
    if book is None:
        return problems
    meta = None
    for ws, _ in book.sheets:
        if ws.cell(1, 1).value == META_KEYS[0]:
            meta = {str(r[0]): str(r[1]) for r in ws.iter_rows(values_only=True) if r and r[0] is not None}
    plan = data.plan
    tables = plan_tables(plan)
    if meta is not None:
        # The township's key is the plan's word (苏木镇, 镇街 …) in the form it wrote; any usual word is read.
        sub.township = next((meta[k] for k in (plan.township_label, *UNIT_WORDS) if k in meta), "")
        sub.period = meta.get("期间", "")
        if meta.get("模板版本") != TEMPLATE_VERSION:
            problems.append(Problem(sub.file, message=f"不支持的模板版本“{meta.get('模板版本')}”，请使用 edureport template 重新生成"))
        if meta.get("工作要点") != plan.title:
            problems.append(Problem(sub.file, value=meta.get("工作要点", ""),
                                    message=f"工作簿是为另一个工作要点生成的（当前为《{plan.title}》），已拒绝"))
        if sub.township and sub.township not in set(data.townships["township"]):
            problems.append(Problem(sub.file, value=sub.township,
                                    message=f"工作簿的{plan.township_label}不在{plan.township_label}名录中"))
    for ws, scan in book.sheets:
        named = next((t for t in FORM_TABLES if normalise_header(ws.title) in
                      {normalise_header(tables[t].name), normalise_header(tables[t].label)}), None)
        scores = {name: header_hits(ws, tables[name]) for name in FORM_TABLES}
        best = max(scores, key=lambda n: scores[n])
        needed = [c for c in tables[best].columns if c.required]
        if scores[best] < len(needed):
            if named is None:
                continue  # the instructions sheet, the template's hidden lists, or something unrelated
            best = named  # named like a table but its first row is not the header: say what is wrong
        if ws.sheet_state != "visible":
            # The rows of a hidden filled sheet would be skipped without a word ("数据没有变化").
            hidden = hidden_with_rows(sub.file, ws, scan, tables[best])
            if hidden is not None:
                problems.append(hidden)
            continue
        if best in sub.raws:
            problems.append(Problem(sub.file, ws.title, message=f"工作簿中有两张“{tables[best].label}”表"))
            continue
        raw, more = read_sheet(ws, tables[best], sub.file, scan)
        problems += more
        if raw is not None:
            if meta is not None:  # untouched pre-filled rows of a form are not data
                keep = ~pd.concat([is_blank(raw.frame[c]) for c in INPUT_COLUMNS[best]], axis=1).all(axis=1)
                raw.frame = raw.frame[keep].reset_index(drop=True)
            sub.raws[best] = raw
    if not sub.raws and not problems:
        problems.append(Problem(sub.file, message="工作簿中没有可识别的数据表（指标数据、项目进度或活动记录）"))
    return problems


def _scope_problems(sub: Submission, unit: str) -> list[Problem]:
    """Every row of a form must belong to the form's township and month."""
    out = []
    for name, clean in sub.clean.items():
        raw = sub.raws[name]
        month = clean["date"].dt.strftime("%Y-%m") if name == "activities" else clean["period"]
        town = clean["township"].astype(str)
        rows = raw.frame["_row"].to_numpy()
        for i in range(len(clean)):
            if pd.notna(month.iloc[i]) and month.iloc[i] != sub.period:
                out.append(Problem(sub.file, raw.sheet, int(rows[i]), "期间" if name != "activities" else "日期",
                                   str(month.iloc[i]), f"不属于本工作簿的期间 {sub.period}"))
            elif town.iloc[i] and town.iloc[i] != sub.township:
                out.append(Problem(sub.file, raw.sheet, int(rows[i]), unit, town.iloc[i],
                                   f"不属于本工作簿的{unit}“{sub.township}”"))
    return out
