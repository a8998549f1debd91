"""Turn the raw YAML of a plan into typed models, collecting every problem on the way.

Kept apart from ``plan.py`` so the models stay readable; the rules for each indicator kind live with
the kind (``kinds/``), so adding a kind never touches this file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import yaml

from .errors import PlanError, Problem
from .plan import (
    AGGREGATES,
    COMPARISONS,
    LEVELS,
    OVER_TIME,
    PROJECT_GOALS,
    PROJECT_STAGES,
    STAGES,
    Indicator,
    Plan,
    Project,
    Section,
    Task,
)


class LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping, so problems can name it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _str(v: Any) -> str:
    if isinstance(v, (dict, list)) or v is None:
        raise ValueError("应为文字")
    return str(v).strip()


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("应为整数")
    return v


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("应为数字")
    return float(v)


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise ValueError("应为日期（YYYY-MM-DD）") from None


def _strs(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise ValueError("应为列表")
    return tuple(_str(x) for x in v)


def _one_of(allowed: Any) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        s = _str(v)
        if s not in allowed:
            raise ValueError(f"应为以下之一：{'、'.join(sorted(allowed))}")
        return s

    return conv


# field: (converter, required)
SPECS: dict[str, dict[str, tuple[Callable[[Any], Any], bool]]] = {
    "plan": {"title": (_str, True), "year": (_int, True), "issuer": (_str, True), "region": (_str, True),
             "start": (_date, False), "end": (_date, False), "source": (_str, False),
             "township_label": (_str, False),
             "schema_version": (_int, False)},
    "section": {"number": (_str, True), "title": (_str, True)},
    "task": {"id": (_int, True), "section": (_str, True), "title": (_str, True), "lead": (_str, True),
             "text": (_str, True)},
    "project": {"id": (_str, True), "task": (_int, True), "name": (_str, True),
                "goal": (_one_of(PROJECT_GOALS), True), "school": (_str, False), "township": (_str, False)},
    "indicator": {
        "id": (_str, True), "task": (_int, True), "name": (_str, True), "kind": (_str, True),
        "level": (_one_of(LEVELS), True), "due": (_date, False), "unit": (_str, False),
        "comparison": (_one_of(COMPARISONS), False), "target": (_num, False),
        "aggregate": (_one_of(AGGREGATES), False), "over_time": (_one_of(OVER_TIME), False),
        "numerator": (_str, False), "denominator": (_str, False), "stages": (_strs, False),
        "entities": (_strs, False), "period_from": (_date, False), "projects": (_strs, False),
        "target_stage": (_one_of(PROJECT_STAGES), False), "baseline_year": (_int, False),
        "source": (_str, False), "note": (_str, False),
    },
}
LABELS = {"plan": "工作要点", "section": "部分", "task": "任务", "project": "项目", "indicator": "指标"}


class _Collector:
    def __init__(self, label: str):
        self.label = label
        self.problems: list[Problem] = []

    def add(self, line: int | None, where: str, message: str, value: Any = "") -> None:
        self.problems.append(Problem(self.label, row=line, column=where, value=_show(value), message=message))

    def record(self, kind: str, raw: Any, index: int) -> dict[str, Any] | None:
        """Convert one mapping by its spec; report missing, unknown and mistyped fields."""
        where = f"{LABELS[kind]}第{index + 1}项" if kind != "plan" else "文件顶层"
        if not isinstance(raw, dict):
            self.add(None, where, "应为键值对（映射）", raw)
            return None
        line = raw.get("__line__")
        if "id" in raw:
            where = f"{LABELS[kind]} {raw['id']}"
        out: dict[str, Any] = {"__line__": line}
        spec = SPECS[kind]
        for key, value in raw.items():
            if key == "__line__" or (kind == "plan" and key in ("sections", "tasks", "projects", "indicators")):
                continue
            if key not in spec:
                self.add(line, f"{where}.{key}", "未知字段（拼写错误？）")
                continue
            try:
                out[key] = spec[key][0](value)
            except ValueError as exc:
                self.add(line, f"{where}.{key}", f"类型或取值错误：{exc}", value)
        for key, (_, required) in spec.items():
            if required and key not in raw:
                self.add(line, f"{where}.{key}", "缺少必填字段")
        return out


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return "{…}"
    return "" if v is None else str(v)


def build_plan(data: Any, *, label: str, path: str, sha256: str) -> Plan:
    """Validate raw plan data and build a ``Plan``; raise ``PlanError`` with every problem."""
    from .kinds import KINDS

    c = _Collector(label)
    if not isinstance(data, dict):
        raise PlanError([Problem(label, message="文件为空或不是键值对结构")])
    head = c.record("plan", data, 0) or {}
    lists: dict[str, list[dict[str, Any]]] = {}
    for kind, key, required in (("section", "sections", True), ("task", "tasks", True),
                                ("project", "projects", False), ("indicator", "indicators", True)):
        raw = data.get(key)
        if raw is None:
            if required:
                c.add(None, key, "缺少必填列表")
            raw = []
        if not isinstance(raw, list):
            c.add(data.get("__line__"), key, "应为列表")
            raw = []
        lists[key] = [r for i, item in enumerate(raw) if (r := c.record(kind, item, i)) is not None]

    for key in ("sections", "tasks", "projects", "indicators"):
        ident = "number" if key == "sections" else "id"
        counts = Counter(r.get(ident) for r in lists[key] if ident in r)
        for rec in lists[key]:
            if counts.get(rec.get(ident), 0) > 1:
                c.add(rec["__line__"], f"{key}", "编号重复", rec.get(ident))

    year = head.get("year")
    start = head.get("start") or (dt.date(year, 1, 1) if isinstance(year, int) else None)
    end = head.get("end") or (dt.date(year, 12, 31) if isinstance(year, int) else None)
    if start and end and start > end:
        c.add(data.get("__line__"), "start/end", "开始日期晚于结束日期", f"{start}～{end}")

    section_ids = {r.get("number") for r in lists["sections"]}
    task_ids = {r.get("id") for r in lists["tasks"]}
    project_ids = {r.get("id") for r in lists["projects"]}
    for rec in lists["tasks"]:
        if "section" in rec and rec["section"] not in section_ids:
            c.add(rec["__line__"], f"任务 {rec.get('id')}.section", "所属部分不存在", rec["section"])
    for rec in lists["projects"]:
        if "task" in rec and rec["task"] not in task_ids:
            c.add(rec["__line__"], f"项目 {rec.get('id')}.task", "所属任务不存在", rec["task"])
    indicators = []
    for rec in lists["indicators"]:
        where, line = f"指标 {rec.get('id')}", rec["__line__"]
        if "task" in rec and rec["task"] not in task_ids:
            c.add(line, f"{where}.task", "所属任务不存在", rec["task"])
        for st in rec.get("stages", ()):
            if st not in STAGES:
                c.add(line, f"{where}.stages", f"未知学段，应为：{'、'.join(STAGES)}", st)
        for pid in rec.get("projects", ()):
            if pid not in project_ids:
                c.add(line, f"{where}.projects", "引用的项目不存在", pid)
        kind = KINDS.get(rec.get("kind", ""))
        if kind is None:
            if "kind" in rec:
                c.add(line, f"{where}.kind", f"未知指标类型，应为：{'、'.join(sorted(KINDS))}", rec["kind"])
            continue
        fields = {k: v for k, v in rec.items() if k != "__line__"}
        if end is not None:
            fields.setdefault("due", end)
        for key, value in kind.defaults.items():
            fields.setdefault(key, value)
        for fld, message in kind.check(fields):
            c.add(line, f"{where}.{fld}", message, fields.get(fld, ""))
        if not any(p.row == line for p in c.problems) and {"id", "task", "name", "level"} <= fields.keys():
            indicators.append(Indicator(**fields))
    for rec in lists["projects"]:
        if rec.get("goal") and rec["goal"] not in PROJECT_GOALS:
            c.add(rec["__line__"], f"项目 {rec.get('id')}.goal", "未知目标")

    if c.problems:
        raise PlanError(c.problems)
    strip = lambda r: {k: v for k, v in r.items() if k != "__line__"}  # noqa: E731
    return Plan(
        title=head["title"], year=head["year"], issuer=head["issuer"], region=head["region"],
        start=start, end=end, source=head.get("source", ""), township_label=head.get("township_label", "乡镇"),
        sections=tuple(Section(**strip(r)) for r in lists["sections"]),
        tasks=tuple(Task(**strip(r)) for r in lists["tasks"]),
        projects=tuple(Project(**strip(r)) for r in lists["projects"]),
        indicators=tuple(indicators), path=path, sha256=sha256,
    )
