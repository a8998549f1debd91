"""The rules for each table. Each function reports problems on the checker and returns a clean frame."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from edureport.core.csvsafe import restore
from edureport.core.errors import Problem
from edureport.data.normalize import clean_text, is_blank, lookup, parse_flag, parse_number, plain_text
from edureport.data.readers import RawTable
from edureport.data.store import CATEGORICAL
from edureport.data.validate import PROJECT_STAGE_SET, Checker, parse_dates, parse_ints, registry_frames

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
            ck.problems.append(Problem(label, column="苏木镇", value=name, message="工作要点提到的苏木镇不在苏木镇名录中"))
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
            lambda i: [f"与学校名录中该校所在苏木镇不一致（应为“{t}”）" for t in sch_town.iloc[i]])
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
    ck.flag(raw, is_town & town.eq(""), "township", "苏木镇层级指标须填写苏木镇")
    if "townships" not in ck.unread:
        ck.flag(raw, is_town & town.ne("") & ~town.isin(towns), "township", "未知苏木镇（不在苏木镇名录中）")
    ck.flag(raw, is_town & school.ne(""), "school_id", "苏木镇层级指标不应填写学校代码")
    ck.flag(raw, is_banner & (school.ne("") | town.ne("")), "township", "全旗层级指标的学校代码和苏木镇应留空")
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
    kinds = {i.id: i.kind for i in plan.indicators}
    kind = lookup(ind, kinds)
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
        ck.flag(raw, kind.eq("project"), "indicator_id", "建设项目类指标的进度请填写在“项目进度”表中")
    who = _entities(ck, raw, ind, reg)
    ratio_like = kind.isin(["ratio", "trend"])
    num = ck.number(raw, "numerator", required_mask=ratio_like, what="比例类指标")
    den = ck.number(raw, "denominator", required_mask=ratio_like, what="比例类指标")
    ck.flag(raw, ratio_like & (num > den), "numerator", "分子大于分母")
    milestone = kind.eq("milestone")
    value, bad = parse_number(f["value"].where(~milestone, ""))
    flag, bad_flag = parse_flag(f["value"].where(milestone, ""))
    ck.flag(raw, bad, "value", "不是有效的数字")
    ck.flag(raw, bad_flag, "value", "节点类指标的数值应为1（已完成）或0（未完成）")
    value = value.where(~milestone, flag)
    if "note" in f:
        ck.free_text(raw, "note")
    needs_value = kind.isin(["count", "milestone"])
    ck.flag(raw, needs_value & is_blank(f["value"]), "value", "计数或节点类指标须填写“数值”")
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
        ck.flag(raw, town.ne("") & ~town.isin(set(reg["townships"]["township"])), "township", "未知苏木镇")
    sch_town = _map(school, reg["schools"].drop_duplicates("school_id").set_index("school_id")["township"])
    if "schools" not in ck.unread:
        ck.flag(raw, school.ne("") & sch_town.isna(), "school_id", "未知学校代码（不在学校名录中）")
    ck.flag(raw, school.ne("") & town.ne("") & sch_town.notna() & town.ne(sch_town), "township",
            "与学校名录中该校所在苏木镇不一致")
    ck.required(raw, "title")
    for key in ("title", "note"):
        ck.free_text(raw, key)
    participants = parse_ints(ck, raw, "participants")
    section = task.map(lambda t: plan.task(int(t)).section if pd.notna(t) and plan.has("task", int(t)) else "")
    return pd.DataFrame({"date": date, "task": task, "section": section,
                         "township": town.where(town.ne(""), sch_town.fillna("")), "school_id": school,
                         "title": plain_text(f["title"]).map(restore), "participants": participants})[cols]
