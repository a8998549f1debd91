"""Check every input table against the plan and the registry; report all problems at once.

``validate_dir`` reads the data folder, runs every rule on every table and either returns clean, typed
tables or raises ``DataValidationError`` with every problem located by file, sheet, row and column. It
never writes. Structural problems come first and alone: when a file cannot be found or read, or its
header lacks a column the checks need, those problems (of every table) are reported without the row
checks, which would only repeat them a few hundred times ("未知镇街" on every row of a registry whose
header was not understood) and push the real cause past the per-rule cap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from edureport.core.csvsafe import restore
from edureport.core.errors import DataValidationError, Problem
from edureport.data.journal import real_target
from edureport.data.normalize import (
    clean_text,
    explain,
    free_text_problem,
    is_blank,
    lookup,
    name_problem,
    parse_date,
    parse_flag,
    parse_int,
    parse_number,
    parse_period,
    plain_text,
    text,
)
from edureport.data.readers import CHUNK_ROWS, RawTable, find_file, read_table, read_table_chunks
from edureport.data.schema import CATEGORICAL, plan_tables
from edureport.kinds import IndicatorKind, get_kind
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

    @property
    def unit(self) -> str:
        """The plan's word for the level below the region (苏木镇, 镇街, 乡镇), as messages name it."""
        return self.plan.township_label

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
               non_negative: bool = True, what: str | pd.Series = "") -> pd.Series:
        """A numeric column; ``required_mask`` rows must fill it (``what`` names them, per row if a Series)."""
        values, bad = parse_number(raw.frame[key])
        self.flag(raw, bad, key, "不是有效的数字")
        if required_mask is not None:
            label = raw.table.column(key).label
            missing = required_mask & values.isna() & ~bad
            if isinstance(what, pd.Series):
                self.flag(raw, missing, key, lambda i: [f"{w}须填写“{label}”" for w in what.iloc[i]])
            else:
                self.flag(raw, missing, key, f"{what}须填写“{label}”")
        if non_negative:
            self.flag(raw, values < 0, key, "不能为负数")
        return values


OBS_COLUMNS = ["period", "indicator_id", "entity", "school_id", "township", "value", "numerator", "denominator"]


def _map(keys: pd.Series, column: pd.Series) -> pd.Series:
    """Look keys up in an indexed column; object dtype even when nothing matches (NaN where unknown)."""
    return lookup(keys, column.to_dict())


def _pairs_in(keys: pd.Series, values: pd.Series, allowed: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Whether each (key, value) row is an allowed pair, without building a text per row (a
    ten-million-row table made that the largest allocation of validation)."""
    pairs = pd.MultiIndex.from_arrays([keys.to_numpy(dtype=object), values.to_numpy(dtype=object)])
    return pairs.isin([(k, v) for k, vs in allowed.items() for v in vs])


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def check_registry(ck: Checker, townships: RawTable | None,
                   schools: RawTable | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    t, s = registry_frames(ck, townships, schools)
    label = ck.plan.path.rsplit("/", 1)[-1] or "工作要点"
    if schools is not None:
        names = s["name"].value_counts()
        for name in sorted(ck.plan.named_entities("school")):
            n = int(names.get(name, 0))
            if n != 1:
                why = "不在学校名录中" if n == 0 else f"在学校名录中出现{n}次，无法确定是哪一所"
                ck.problems.append(Problem(label, column="学校", value=name, message=f"工作要点提到的学校{why}"))
    if townships is not None:
        for name in sorted(ck.plan.named_entities("township") - set(t["township"])):
            ck.problems.append(Problem(label, column=ck.unit, value=name, message=f"工作要点提到的{ck.unit}不在{ck.unit}名录中"))
    return t, s


def _entities(ck: Checker, raw: RawTable, ind: pd.Series, reg: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Check who a row is about against the indicator's level, stages and named entities."""
    plan, f = ck.plan, raw.frame
    schools = reg["schools"].drop_duplicates("school_id").set_index("school_id")
    level = lookup(ind, {i.id: i.level for i in plan.indicators})
    school, town = clean_text(f["school_id"]), plain_text(f["township"])
    is_school, is_town, is_banner = level.eq("school"), level.eq("township"), level.eq("banner")
    sch_town = _map(school, schools["township"])
    known_school = sch_town.notna()
    ck.flag(raw, is_school & school.eq(""), "school_id", "学校层级指标须填写学校代码")
    if "schools" not in ck.unread:
        ck.flag(raw, is_school & school.ne("") & ~known_school, "school_id", "未知学校代码（不在学校名录中）")
    ck.flag(raw, is_school & town.ne("") & known_school & town.ne(sch_town), "township",
            lambda i: [f"与学校名录中该校所在{ck.unit}不一致（应为“{t}”）" for t in sch_town.iloc[i]])
    stage, name = _map(school, schools["stage"]).fillna(""), _map(school, schools["name"]).fillna("")
    stages = {i.id: i.stages for i in plan.indicators if i.stages}
    bad_stage = is_school & known_school & ind.isin(stages) & ~_pairs_in(ind, stage, stages)
    ck.flag(raw, bad_stage, "school_id", lambda i: [f"该指标只适用于学段：{'、'.join(stages[d])}（该校为{s}）"
                                                    for d, s in zip(ind.iloc[i], stage.iloc[i], strict=True)])
    entities = {i.id: i.entities for i in plan.indicators if i.entities}
    who = pd.Series(np.where(is_school, name, town), index=f.index)
    outside = ind.isin(entities) & ~_pairs_in(ind, who, entities)

    def only_for(i: np.ndarray) -> list[str]:
        return [f"该指标只适用于：{'、'.join(entities[d])}" for d in ind.iloc[i]]

    ck.flag(raw, outside & is_school & known_school, "school_id", only_for)
    ck.flag(raw, outside & is_town & town.ne(""), "township", only_for)
    towns = set(reg["townships"]["township"])
    ck.flag(raw, is_town & town.eq(""), "township", f"{ck.unit}层级指标须填写{ck.unit}")
    if "townships" not in ck.unread:
        ck.flag(raw, is_town & town.ne("") & ~town.isin(towns), "township", f"未知{ck.unit}（不在{ck.unit}名录中）")
    ck.flag(raw, is_town & school.ne(""), "school_id", f"{ck.unit}层级指标不应填写学校代码")
    ck.flag(raw, is_banner & (school.ne("") | town.ne("")), "township",
            f"{plan.region_label}层级指标的学校代码和{ck.unit}应留空")
    entity = np.where(is_school, school, np.where(is_town, town, ""))
    township = np.where(is_school, sch_town.fillna("").astype(str), np.where(is_town, town, ""))
    return pd.DataFrame({"entity": entity, "school_id": np.where(is_school, school, ""),
                         "township": township}, index=f.index)


def check_observations(ck: Checker, raw: RawTable | None, reg: dict[str, pd.DataFrame],
                       baseline: bool = False) -> pd.DataFrame:
    """Indicator observations (or, with ``baseline``, the baseline-year figures of trend indicators)."""
    return check_observation_pieces(ck, [] if raw is None else [(raw, [])], reg, baseline)


def check_observation_pieces(ck: Checker, pieces: Iterable[tuple[RawTable | None, list[Problem]]],
                             reg: dict[str, pd.DataFrame], baseline: bool = False) -> pd.DataFrame:
    """``check_observations`` over a table read in pieces (``readers.read_table_chunks``): each piece
    is checked and kept with its code columns as categories, and duplicates are found across pieces."""
    clean, last = [], None
    for raw, problems in pieces:
        ck.problems += problems
        if raw is not None:
            clean.append(_observation_rows(ck, raw, reg, baseline))
            last = raw
    if last is None:
        return _empty(OBS_COLUMNS)
    out = _concat(clean)
    keys = ["period", "indicator_id", "entity"]
    dup = out.duplicated(keys, keep="first") & out["_keyed"]
    if dup.any():
        first_row = out.groupby(keys, observed=True)["_row"].transform("min")
        where = RawTable(last.table, last.file, last.sheet, out[["_row", "indicator_id"]])
        ck.flag(where, dup, "indicator_id",
                lambda i: [f"重复：同一期间、同一单位的该指标已在第{r}行填写" for r in first_row.iloc[i]])
    return out[OBS_COLUMNS]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Pieces joined column by column; categories are merged (``pd.concat`` would fall back to text),
    sorted as one ``astype("category")`` of the whole column would sort them."""
    if len(parts) == 1:
        return parts[0]
    columns = {}
    for name in parts[0].columns:
        if isinstance(parts[0][name].dtype, pd.CategoricalDtype):
            columns[name] = pd.Series(union_categoricals([p[name] for p in parts], sort_categories=True))
        else:
            columns[name] = pd.concat([p[name] for p in parts], ignore_index=True)
    return pd.DataFrame(columns)


def _observation_rows(ck: Checker, raw: RawTable, reg: dict[str, pd.DataFrame], baseline: bool) -> pd.DataFrame:
    """One piece's rules (all but the duplicate check), and its clean rows with "_row" and "_keyed"."""
    plan, f = ck.plan, raw.frame
    ind = clean_text(f["indicator_id"])
    blank_ind = ck.required(raw, "indicator_id")
    kinds = {i.id: get_kind(i.kind) for i in plan.indicators}
    kind = lookup(ind, {i: k.name for i, k in kinds.items()})
    what = lookup(ind, {i: f"{k.label}类指标" for i, k in kinds.items()})  # "比例类指标" in messages

    def having(test: Callable[[IndicatorKind], bool]) -> pd.Series:
        """Rows whose indicator's kind passes ``test`` (its value columns, its table …)."""
        return lookup(ind, {i: bool(test(k)) for i, k in kinds.items()}).eq(True)
    ck.flag(raw, ~blank_ind & kind.isna(), "indicator_id", "未知指标代码（工作要点中没有该指标）")
    if baseline:
        years = parse_ints(ck, raw, "year")
        ck.required(raw, "year")
        want = lookup(ind, {i.id: i.baseline_year for i in plan.indicators if i.baseline_year is not None})
        ck.flag(raw, kind.notna() & want.isna(), "indicator_id",
                "该指标在工作要点中没有基期年份（baseline_year），不需要基期数据")
        ck.flag(raw, want.notna() & years.notna() & (years.astype(float) != want.astype(float)), "year",
                lambda i: [f"基期年份与工作要点不一致（应为{int(w)}）" for w in want.iloc[i]])
        period = years.astype(str)
    else:
        period = ck.period_in_year(raw)
        labels = plan_tables(plan)
        table = lookup(ind, {i: labels[k.table].label for i, k in kinds.items() if k.table != "observations"})
        ck.flag(raw, table.notna(), "indicator_id",
                lambda i: [f"{w}的数据请填写在“{t}”表中" for w, t in zip(what.iloc[i], table.iloc[i], strict=True)])
    who = _entities(ck, raw, ind, reg)
    fraction = having(lambda k: "numerator" in k.columns)
    num = ck.number(raw, "numerator", required_mask=fraction, what=what)
    den = ck.number(raw, "denominator", required_mask=fraction, what=what)
    ck.flag(raw, fraction & (num > den), "numerator", "分子大于分母")
    flagged = having(lambda k: k.flag_value)
    value, bad = parse_number(f["value"].where(~flagged, ""))
    flag, bad_flag = parse_flag(f["value"].where(flagged, ""))
    ck.flag(raw, bad, "value", "不是有效的数字")
    ck.flag(raw, bad_flag, "value", lambda i: [f"{w}的数值应为1（已完成）或0（未完成）" for w in what.iloc[i]])
    value = value.where(~flagged, flag)
    if "note" in f:
        ck.free_text(raw, "note")
    needs_value = having(lambda k: "value" in k.columns and k.table == "observations")
    ck.flag(raw, needs_value & is_blank(f["value"]), "value", lambda i: [f"{w}须填写“数值”" for w in what.iloc[i]])
    ck.flag(raw, value < 0, "value", "计数不能为负数")
    out = pd.DataFrame({"period": period, "indicator_id": ind, **who, "value": value,
                        "numerator": num, "denominator": den, "_row": f["_row"],
                        "_keyed": period.notna() & kind.notna()})
    for name in CATEGORICAL:  # few distinct values: codes cost 1–4 bytes a row instead of 8 (10⁷ rows)
        out[name] = out[name].astype("category")
    return out


def check_projects(ck: Checker, raw: RawTable | None, reg: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = ["period", "project_id", "stage", "percent", "planned_start", "actual_start", "planned_finish",
            "actual_finish", "budget", "school_id", "township"]
    if raw is None:
        return _empty(cols)
    plan, f = ck.plan, raw.frame
    period = ck.period_in_year(raw)
    pid = clean_text(f["project_id"])
    blank = ck.required(raw, "project_id")
    ck.flag(raw, ~blank & ~pid.map(lambda p: plan.has("project", p)).astype(bool), "project_id",
            "未知项目代码（工作要点中没有该项目）")
    stage = clean_text(f["stage"])
    st_blank = ck.required(raw, "stage")
    ck.flag(raw, ~st_blank & ~stage.isin(PROJECT_STAGE_SET), "stage", "阶段应为：未开工、在建、竣工、投用")
    percent = ck.number(raw, "percent")
    ck.flag(raw, percent > 100, "percent", "完成比例应在0–100之间")
    budget = ck.number(raw, "budget")
    ck.free_text(raw, "note")
    dates = parse_dates(ck, raw, ("planned_start", "actual_start", "planned_finish", "actual_finish"))
    ck.flag(raw, dates["actual_finish"] < dates["actual_start"], "actual_finish", "实际竣工日期早于实际开工日期")
    out = pd.DataFrame({"period": period, "project_id": pid, "stage": stage, "percent": percent, **dates,
                        "budget": budget})
    dup = out.duplicated(["period", "project_id"], keep="first") & out["period"].notna()
    ck.flag(raw, dup, "project_id", "重复：同一期间该项目已填写过")
    schools = reg["schools"].drop_duplicates("name").set_index("name")
    where = {p.id: (p.school, p.township) for p in plan.projects}
    school_name = pid.map(lambda p: where.get(p, ("", ""))[0])
    out["school_id"] = _map(school_name, schools["school_id"]).fillna("")
    out["township"] = _map(school_name, schools["township"]).fillna(pid.map(lambda p: where.get(p, ("", ""))[1]))
    return out[cols]


def check_activities(ck: Checker, raw: RawTable | None, reg: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = ["date", "task", "section", "township", "school_id", "title", "participants"]
    if raw is None:
        return _empty(cols)
    plan, f = ck.plan, raw.frame
    ck.required(raw, "date")
    date = parse_dates(ck, raw, ("date",))["date"]
    start, end = pd.Timestamp(plan.start), pd.Timestamp(plan.end)
    ck.flag(raw, (date < start) | (date > end), "date", f"日期不在工作要点年度内（{plan.start}～{plan.end}）")
    ck.required(raw, "task")
    task = parse_ints(ck, raw, "task")
    known = task.map(lambda t: pd.notna(t) and plan.has("task", int(t))).astype(bool)
    ck.flag(raw, task.notna() & ~known, "task", "未知任务编号（工作要点中没有该任务）")
    town, school = plain_text(f["township"]), clean_text(f["school_id"])
    if "townships" not in ck.unread:
        ck.flag(raw, town.ne("") & ~town.isin(set(reg["townships"]["township"])), "township", f"未知{ck.unit}")
    sch_town = _map(school, reg["schools"].drop_duplicates("school_id").set_index("school_id")["township"])
    if "schools" not in ck.unread:
        ck.flag(raw, school.ne("") & sch_town.isna(), "school_id", "未知学校代码（不在学校名录中）")
    ck.flag(raw, school.ne("") & town.ne("") & sch_town.notna() & town.ne(sch_town), "township",
            f"与学校名录中该校所在{ck.unit}不一致")
    ck.required(raw, "title")
    for key in ("title", "note"):
        ck.free_text(raw, key)
    participants = parse_ints(ck, raw, "participants")
    section = task.map(lambda t: plan.task(int(t)).section if pd.notna(t) and plan.has("task", int(t)) else "")
    return pd.DataFrame({"date": date, "task": task, "section": section,
                         "township": town.where(town.ne(""), sch_town.fillna("")), "school_id": school,
                         "title": plain_text(f["title"]).map(restore), "participants": participants})[cols]


def validate_dir(data_dir: str | Path, plan: Plan, *, replaced: dict[Path, Path] | None = None) -> dict[str, pd.DataFrame]:
    """Read and check every table of a data folder; return clean tables or raise with all problems.

    ``replaced`` maps files of the folder to new versions to read in their place (``import`` checks the
    merged folder before anything in it changes); problems still name the folder's file."""
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
        new = [p for p in replaced or {} if p.parent == data_dir and p.stem in table.stems]
        return (new[0], []) if path is None and new else (path, problems)

    # First every file is found and its header read (the big tables up to their first piece of rows);
    # structural problems stop here, before any row is checked.
    pieces: dict[str, Iterable[tuple[RawTable | None, list[Problem]]]] = {}
    reading: list[Problem] = []
    for name, table in plan_tables(plan).items():
        paths[name], problems = locate(table)
        reading += problems
        raws[name], pieces[name] = None, []
        path = paths[name]
        if path is None:
            continue
        if name in PIECEWISE:
            pieces[name], problems, first = _opened(read_table_chunks(source(path), table, path.name, rows=CHUNK_ROWS))
        else:
            raws[name], problems = read_table(source(path), table, path.name)
            first = raws[name]
        reading += problems + _missing_unit_column(plan, name, first)
    if any(p.is_error for p in reading):
        raise DataValidationError(reading)
    checker.problems += reading
    checker.unread = {n for n in ("townships", "schools") if raws[n] is None}
    out: dict[str, pd.DataFrame] = {}
    out["townships"], out["schools"] = check_registry(checker, raws["townships"], raws["schools"])
    for name in PIECEWISE:  # the big ones, read and checked a piece at a time
        out[name] = check_observation_pieces(checker, pieces[name], out, baseline=name == "baselines")
    out["projects"] = check_projects(checker, raws["projects"], out)
    out["activities"] = check_activities(checker, raws["activities"], out)
    if set(replaced or {}) - used:
        raise RuntimeError("validate_dir: a staged new version was not read; nothing may be committed unchecked")
    if any(p.is_error for p in checker.problems):
        raise DataValidationError(checker.problems)
    out["warnings"] = pd.DataFrame([p.__dict__ for p in checker.problems])
    return out


def _opened(pieces: Iterator[tuple[RawTable | None, list[Problem]]]
            ) -> tuple[Iterator[tuple[RawTable | None, list[Problem]]], list[Problem], RawTable | None]:
    """A table read in pieces, opened: the problems up to its first piece of rows (the file, its
    encoding, its header), that first piece, and all the pieces as they were (those problems taken out)."""
    head: list[tuple[RawTable | None, list[Problem]]] = []
    for raw, problems in pieces:
        head.append((raw, problems))
        if raw is not None:
            break
    first = head[-1][0] if head else None
    return chain(((raw, []) for raw, _ in head), pieces), [p for _, ps in head for p in ps], first


def _missing_unit_column(plan: Plan, name: str, raw: RawTable | None) -> list[Problem]:
    """An indicator table whose header has no column for the level below the region, while its rows
    name indicators collected at that level: one structural problem, not one per row."""
    if raw is None or name not in PIECEWISE or "township" in raw.columns or not raw.columns:
        return []
    unit = plan.township_label
    ids = {i.id for i in plan.indicators if i.level == "township"}
    if not clean_text(raw.frame["indicator_id"]).isin(ids).any():
        return []
    return [Problem(raw.file, raw.sheet, 1, unit, "", f"缺少“{unit}”列：{unit}层级指标的数据须在此列填写{unit}名称"
                                                     f"（表头写作“{unit}”或乡镇、街道等均可）")]


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
                     f"{checker.unit}重复")
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
                     f"未知{checker.unit}（不在{checker.unit}名录中）")
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
