"""Check every input table against the plan and the registry; report all problems at once.

``validate_dir`` reads the data folder, runs every rule on every table (a broken registry does not
stop the observation checks that do not need it) and either returns clean, typed tables or raises
``DataValidationError`` with every problem located by file, sheet, row and column. It never writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edureport.core.errors import DataValidationError, Problem
from edureport.data.journal import real_target
from edureport.data.normalize import (
    clean_text,
    explain,
    free_text_problem,
    is_blank,
    name_problem,
    parse_date,
    parse_int,
    parse_number,
    parse_period,
    plain_text,
    text,
)
from edureport.data.readers import CHUNK_ROWS, RawTable, find_file, read_table, read_table_chunks
from edureport.data.schema import TABLES
from edureport.plan.model import PROJECT_STAGES, STAGES, Plan

Message = Callable[[np.ndarray], Sequence[str]]  # flagged row positions -> their texts
MAX_PER_RULE = 200  # per file and rule; the rest is summarised in one line with its count
OWNERSHIP = ("公办", "民办")
PIECEWISE = ("observations", "baselines")  # tables that may have millions of rows


@dataclass
class Checker:
    """Collects problems; every rule is a vectorised mask over a table's rows.

    A large CSV is checked piece by piece (``readers.read_table_chunks``), so a rule's count of shown
    rows and its one summary line carry over from piece to piece of the same file.
    """

    plan: Plan
    problems: list[Problem] = field(default_factory=list)
    # Registry tables (townships, schools) whose file could not be read at all: their problem is reported
    # once, and rows are not also flagged as naming an unknown township or school (follow-on noise).
    unread: set[str] = field(default_factory=set)
    _rules: dict[tuple, list] = field(default_factory=dict, repr=False)  # rule → [flagged, summary at, text]

    def flag(self, raw: RawTable, mask: pd.Series | np.ndarray, key: str, message: str | Message,
             severity: str = "错误") -> None:
        """Report each masked row. ``message`` is one text, or a function giving the texts of the rows
        at the flagged positions: only those few are built, never one text per row of a large table."""
        idx = np.flatnonzero(np.asarray(pd.Series(mask).fillna(False), dtype=bool))
        if not len(idx):
            return
        label = raw.table.column(key).label if key else ""
        # The same rule is the same message, or the same code making the texts, on the same column and file.
        rule = (raw.file, raw.sheet, key, message if isinstance(message, str) else message.__code__)
        seen = self._rules.setdefault(rule, [0, None, ""])
        shown = idx[:max(MAX_PER_RULE - seen[0], 0)]
        rows = raw.frame["_row"].to_numpy()[shown]
        values = raw.frame[key].iloc[shown].to_numpy(dtype=object) if key else [""] * len(shown)
        texts = list(message(shown)) if callable(message) else [message] * len(shown)
        for row, value, msg in zip(rows, values, texts, strict=True):
            self.problems.append(Problem(raw.file, raw.sheet, int(row), label, text(value), msg, severity))
        if not seen[0]:
            seen[2] = texts[0]  # the rule's first text leads its summary line
        seen[0] += len(idx)
        if seen[0] > MAX_PER_RULE:  # one summary line per rule, its count kept up to date
            if seen[1] is None:
                self.problems.append(Problem(raw.file, raw.sheet, None, label, "", seen[2], severity))
                seen[1] = len(self.problems) - 1
            self.problems[seen[1]] = dataclasses.replace(
                self.problems[seen[1]], message=f"{seen[2]}（同类问题另有{seen[0] - MAX_PER_RULE}处未逐条列出）")

    def required(self, raw: RawTable, key: str, message: str | None = None) -> pd.Series:
        blank = is_blank(raw.frame[key])
        self.flag(raw, blank, key, message or f"“{raw.table.column(key).label}”不能为空")
        return blank

    def names(self, raw: RawTable, key: str, values: pd.Series) -> None:
        """A column of names or codes (already cleaned to ``values``): ``normalize.name_problem``."""
        self._text_rule(raw, key, explain(values, name_problem))

    def free_text(self, raw: RawTable, key: str) -> None:
        """A free-text column (活动名称, 备注) as typed: ``normalize.free_text_problem``."""
        self._text_rule(raw, key, explain(raw.frame[key], free_text_problem))

    def _text_rule(self, raw: RawTable, key: str, why: pd.Series) -> None:
        self.flag(raw, why.notna(), key, lambda i: list(why.iloc[i]))

    def period_in_year(self, raw: RawTable, key: str = "period") -> pd.Series:
        blank = self.required(raw, key)
        period, bad = parse_period(raw.frame[key])
        y = self.plan.year
        self.flag(raw, bad, key, f"无法识别的月份，应写作 {y}-06 或 {y}年6月")
        lo, hi = self.plan.start.strftime("%Y-%m"), self.plan.end.strftime("%Y-%m")
        outside = ~(blank | bad) & ((period < lo) | (period > hi))
        self.flag(raw, outside, key, f"期间不在工作要点年度内（{lo}～{hi}）")
        return period

    def number(self, raw: RawTable, key: str, *, required_mask: pd.Series | None = None,
               non_negative: bool = True, what: str = "") -> pd.Series:
        values, bad = parse_number(raw.frame[key])
        self.flag(raw, bad, key, "不是有效的数字")
        if required_mask is not None:
            self.flag(raw, required_mask & values.isna() & ~bad, key, f"{what}须填写“{raw.table.column(key).label}”")
        if non_negative:
            self.flag(raw, values < 0, key, "不能为负数")
        return values


def validate_dir(data_dir: str | Path, plan: Plan, *, replaced: dict[Path, Path] | None = None) -> dict[str, pd.DataFrame]:
    """Read and check every table of a data folder; return clean tables or raise with all problems.

    ``replaced`` maps files of the folder to new versions to read in their place (``import`` checks the
    merged folder before anything in it changes); problems still name the folder's file."""
    from edureport.data.validate_tables import (
        check_activities,
        check_observation_pieces,
        check_projects,
        check_registry,
    )

    data_dir = Path(data_dir)
    checker = Checker(plan)
    if not data_dir.is_dir():
        raise DataValidationError([Problem(str(data_dir), message="数据文件夹不存在")])
    paths: dict[str, Path | None] = {}
    raws: dict[str, RawTable | None] = {}

    used: set[Path] = set()

    def source(path: Path) -> Path:
        staged = (replaced or {}).get(real_target(path))
        if staged is None:
            return path
        used.add(real_target(path))
        return staged

    def locate(table) -> tuple[Path | None, list[Problem]]:
        path, problems = find_file(data_dir, table)
        new = [p for p in replaced or {} if p.parent == data_dir and p.stem in (table.name, table.label)]
        return (new[0], []) if path is None and new else (path, problems)

    for name, table in TABLES.items():
        paths[name], problems = locate(table)
        checker.problems += problems
        raws[name] = None
        if paths[name] is not None and name not in PIECEWISE:
            raws[name], problems = read_table(source(paths[name]), table, paths[name].name)
            checker.problems += problems
    checker.unread = {n for n in ("townships", "schools") if raws[n] is None}
    out: dict[str, pd.DataFrame] = {}
    out["townships"], out["schools"] = check_registry(checker, raws["townships"], raws["schools"])
    for name in PIECEWISE:  # the big ones, read and checked a piece at a time
        path = paths[name]
        pieces = read_table_chunks(source(path), TABLES[name], path.name, rows=CHUNK_ROWS) if path is not None else []
        out[name] = check_observation_pieces(checker, pieces, out, baseline=name == "baselines")
    out["projects"] = check_projects(checker, raws["projects"], out)
    out["activities"] = check_activities(checker, raws["activities"], out)
    if set(replaced or {}) - used:
        raise RuntimeError("validate_dir: a staged new version was not read; nothing may be committed unchecked")
    if any(p.is_error for p in checker.problems):
        raise DataValidationError(checker.problems)
    out["warnings"] = pd.DataFrame([p.__dict__ for p in checker.problems])
    return out


def registry_frames(checker: Checker, townships: RawTable | None,
                    schools: RawTable | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Townships and schools, cleaned; rows with errors are reported and still kept for lookups."""
    if townships is None:
        t = pd.DataFrame({"township": pd.Series(dtype=object), "code": pd.Series(dtype=object)})
    else:
        t = pd.DataFrame({"township": plain_text(townships.frame["township"]),
                          "code": clean_text(townships.frame["code"])})
        checker.required(townships, "township")
        for key in ("township", "code"):
            checker.names(townships, key, t[key])
        checker.flag(townships, t["township"].duplicated(keep="first") & (t["township"] != ""), "township",
                     "苏木镇重复")
    cols = ["school_id", "name", "township", "stage", "ownership"]
    if schools is None:
        return t, pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    s = pd.DataFrame({c: (plain_text if c in ("name", "township") else clean_text)(schools.frame[c]) for c in cols})
    for c in cols:
        checker.required(schools, c)
    for c in ("school_id", "name", "township"):
        checker.names(schools, c, s[c])
    checker.flag(schools, s["school_id"].duplicated(keep="first") & (s["school_id"] != ""), "school_id",
                 "学校代码重复")
    if townships is not None:
        checker.flag(schools, (s["township"] != "") & ~s["township"].isin(set(t["township"])), "township",
                     "未知苏木镇（不在苏木镇名录中）")
    checker.flag(schools, (s["stage"] != "") & ~s["stage"].isin(STAGES), "stage",
                 f"未知学段，应为：{'、'.join(STAGES)}")
    checker.flag(schools, (s["ownership"] != "") & ~s["ownership"].isin(OWNERSHIP), "ownership",
                 "办学性质应为“公办”或“民办”")
    return t, s


def parse_dates(checker: Checker, raw: RawTable, keys: tuple[str, ...]) -> dict[str, pd.Series]:
    out = {}
    for key in keys:
        out[key], bad = parse_date(raw.frame[key])
        y = checker.plan.year
        checker.flag(raw, bad, key, f"无法识别的日期，应写作 {y}-06-05 或 {y}年6月5日")
    return out


def parse_ints(checker: Checker, raw: RawTable, key: str, *, non_negative: bool = True) -> pd.Series:
    values, bad = parse_int(raw.frame[key])
    checker.flag(raw, bad, key, "应为整数")
    if non_negative:
        checker.flag(raw, (values < 0).fillna(False), key, "不能为负数")
    return values


PROJECT_STAGE_SET = set(PROJECT_STAGES)
