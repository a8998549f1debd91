"""The input tables an analyst fills in (see docs/data-format.md): names, columns, Chinese headers.

This is the single description of the data model; readers, validation, the docs test and (later)
the Excel templates all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edureport.plan.model import Plan


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header analysts see
    kind: str = "text"  # text | number | period | date | year | int | info (shown in forms, ignored on import)
    required: bool = False  # the column must be present (cells may still be blank where rules allow)
    aliases: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Table:
    name: str  # file stem: observations.csv / observations.xlsx
    label: str  # Chinese name, also accepted as file stem and sheet name
    columns: tuple[Column, ...]
    required: bool = True  # the file must exist in a data folder
    help: str = ""
    stem: str = ""  # the Chinese file stem when the label follows a plan's words (see ``tables``)

    @property
    def stems(self) -> tuple[str, ...]:
        """The file stems (and sheet names) a data folder may use: the name, the schema's Chinese name and,
        where the plan's word is one of the usual ones (``UNIT_WORDS``), the Chinese name in that word
        (镇街.csv for a plan of 镇街). The cache fingerprints every file any of these names (``FILE_STEMS``)."""
        own = (self.label,) if self.stem and self.label in FILE_STEMS else ()
        return (self.name, self.stem or self.label, *own)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def header_map(self) -> dict[str, str]:
        """Every accepted header spelling (normalised) → column key."""
        out: dict[str, str] = {}
        for col in self.columns:
            for name in (col.key, col.label, *col.aliases):
                out[normalise_header(name)] = col.key
        return out


# The schema below is written in the sample's word for the level under the region ("苏木镇") and its word
# for the region ("全旗"); ``tables`` puts a plan's own words (``township_label``, ``region_label``) in
# their place. Headers in any of the usual words for that level are read as the same column, whatever
# the plan says: a registry exported elsewhere may say 乡镇 where the plan says 镇街.
SCHEMA_WORD = "苏木镇"
SCHEMA_REGION = "全旗"
UNIT_WORDS = ("乡镇", "镇街", "街道", "苏木镇", "苏木", "镇", "乡")


def _reworded(text: str, word: str, region: str) -> str:
    return text.replace(SCHEMA_WORD, word).replace(SCHEMA_REGION, region)


def _column_in(col: Column, word: str, region: str) -> Column:
    """A column in a plan's words: label and help reworded; aliases in the plan's word and every usual word."""
    if not any(w in col.label + "".join(col.aliases) + col.help for w in (SCHEMA_WORD, SCHEMA_REGION)):
        return col
    spellings = [col.label, *col.aliases]
    aliases = dict.fromkeys(s.replace(SCHEMA_WORD, w) for s in spellings for w in (word, *UNIT_WORDS))
    label = col.label.replace(SCHEMA_WORD, word)
    aliases.pop(label, None)
    return replace(col, label=label, aliases=tuple(aliases), help=_reworded(col.help, word, region))


@lru_cache(maxsize=16)
def tables(word: str = SCHEMA_WORD, region: str = SCHEMA_REGION) -> dict[str, Table]:
    """The input tables in a plan's words (``plan_tables(plan)``): what files, forms and messages call
    the columns. With the schema's own words this is ``TABLES``."""
    return {name: _table_in(t, word, region) for name, t in _SCHEMA.items()}


def _table_in(t: Table, word: str, region: str) -> Table:
    label = _reworded(t.label, word, region)
    return replace(t, label=label, stem=t.label if label != t.label else "",
                   columns=tuple(_column_in(c, word, region) for c in t.columns), help=_reworded(t.help, word, region))


def plan_tables(plan: Plan) -> dict[str, Table]:
    """``tables`` in the words of ``plan`` (its ``township_label`` and ``region_label``)."""
    return tables(plan.township_label, plan.region_label)


def normalise_header(text: object) -> str:
    """Headers match ignoring case, spaces, full-width brackets and a trailing unit in brackets."""
    s = str(text).strip().lower().replace(" ", "").replace("\u3000", "")
    s = s.replace("（", "(").replace("）", ")")
    return s


SCHOOL = Column("school_id", "学校代码", aliases=("学校编号", "school"), help="学校名录中的代码；全旗或苏木镇层级的数据留空")
TOWNSHIP = Column("township", "苏木镇", aliases=("苏木镇名称", "乡镇"), help="苏木镇名称；学校层级的数据可留空（按名录自动补全）")

_SCHEMA: dict[str, Table] = {
    t.name: t
    for t in (
        Table("townships", "苏木镇", (
            Column("township", "苏木镇", required=True, aliases=("苏木镇名称", "名称")),
            Column("code", "代码", aliases=("苏木镇代码",)),
        ), help="苏木镇名录：每行一个苏木镇"),
        Table("schools", "学校名录", (
            Column("school_id", "学校代码", required=True, aliases=("学校编号",)),
            Column("name", "学校名称", required=True, aliases=("名称",)),
            Column("township", "苏木镇", required=True, aliases=("所在苏木镇",)),
            Column("stage", "学段", required=True, help="幼儿园/小学/初中/九年一贯制/高中/中职"),
            Column("ownership", "办学性质", required=True, aliases=("性质",), help="公办/民办"),
        ), help="学校（园）名录"),
        Table("observations", "指标数据", (
            Column("period", "期间", "period", required=True, aliases=("月份", "统计期间"), help="统计月份，格式 YYYY-MM"),
            SCHOOL, TOWNSHIP,
            Column("indicator_id", "指标代码", required=True, aliases=("指标编号",), help="工作要点中的指标代码，如 T02-2"),
            Column("value", "数值", "number", aliases=("值",), help="计数、节点（1=已完成）类指标填写"),
            Column("numerator", "分子", "number", help="比例类指标填写，如党员教师数"),
            Column("denominator", "分母", "number", help="比例类指标填写，如教师总数"),
            Column("note", "备注"),
            Column("school_name", "学校名称", "info"), Column("indicator_name", "指标名称", "info"),
            Column("unit", "单位", "info"),
        ), help="指标观测值：每行一个期间、一个单位、一个指标"),
        Table("projects", "项目进度", (
            Column("period", "期间", "period", required=True, aliases=("月份",), help="报告月份"),
            Column("project_id", "项目代码", required=True, aliases=("项目编号",), help="工作要点中的项目代码，如 P01"),
            Column("stage", "阶段", required=True, aliases=("建设阶段",), help="未开工/在建/竣工/投用"),
            Column("percent", "完成比例", "number", aliases=("完成进度", "完成百分比"), help="0–100，可写 40%"),
            Column("planned_start", "计划开工日期", "date"),
            Column("actual_start", "实际开工日期", "date"),
            Column("planned_finish", "计划竣工日期", "date"),
            Column("actual_finish", "实际竣工日期", "date"),
            Column("budget", "预算（万元）", "number", aliases=("预算", "预算(万元)")),
            Column("note", "备注"),
            Column("project_name", "项目名称", "info"),
        ), required=False, help="建设项目每月进度"),
        Table("activities", "活动记录", (
            Column("date", "日期", "date", required=True, aliases=("活动日期",)),
            Column("task", "任务编号", "int", required=True, aliases=("任务",), help="工作要点中的任务序号 1–30"),
            TOWNSHIP, SCHOOL,
            Column("title", "活动名称", required=True, aliases=("名称",)),
            Column("participants", "参与人数", "int", aliases=("参加人数", "人数")),
            Column("note", "备注"),
        ), required=False, help="已开展的活动"),
        Table("baselines", "基期数据", (
            Column("year", "年份", "year", required=True, help="基期年份，如 2022"),
            SCHOOL, TOWNSHIP,
            Column("indicator_id", "指标代码", required=True, aliases=("指标编号",)),
            Column("value", "数值", "number"),
            Column("numerator", "分子", "number"),
            Column("denominator", "分母", "number"),
        ), required=False, help="同比趋势类指标的上年（基期）数值"),
    )
}
# The tables in the schema's own words, reading headers in every usual word for the level below the region.
TABLES: dict[str, Table] = tables(SCHEMA_WORD, SCHEMA_REGION)  # the same dict as plan_tables(2023)


# Columns with few distinct values, kept as pandas categoricals: codes cost 1–4 bytes a row instead of 8.
CATEGORICAL = ("indicator_id", "entity", "school_id", "township")


# Every file stem a data folder may use, whatever its plan, and its table: the files the cache fingerprints
# (``store.input_files``). A superset of what one plan reads (``Table.stems``), so a file a plan reads is
# always fingerprinted.
FILE_TABLE = {stem: t.name for t in _SCHEMA.values() for w in UNIT_WORDS
              for stem in (t.name, _reworded(t.label, w, SCHEMA_REGION))}
FILE_STEMS = frozenset(FILE_TABLE)
