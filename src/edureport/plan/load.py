"""Turn the raw YAML of a plan into typed models, collecting every problem on the way.

Kept apart from ``plan.model`` so the models stay readable. Reading the file safely is ``plan.yamlfile``; what
one field may hold is ``plan.fields``; here are the rules between fields and records (references, dates
inside the plan year, every section with work); the rules for each indicator kind live with the kind
(``kinds/``), so adding a kind never touches this file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from edureport.core.errors import PlanError, Problem
from edureport.kinds import KINDS
from edureport.plan.fields import LABELS, SPECS
from edureport.plan.model import (
    PROJECT_GOALS,
    STAGES,
    Indicator,
    Plan,
    Project,
    Section,
    Task,
    default_region_label,
)
from edureport.plan.yamlfile import read_yaml, shown_value


class _Collector:
    def __init__(self, label: str):
        self.label = label
        self.problems: list[Problem] = []

    def add(self, line: int | None, where: str, message: str, value: Any = "") -> None:
        self.problems.append(Problem(self.label, row=line, column=where, value=_show(value), message=message))

    def record(self, kind: str, raw: Any, index: int) -> dict[str, Any] | None:
        """Convert one mapping by its spec; report missing, unknown and mistyped fields.

        The result keeps ``__line__`` (the mapping's line), ``__keys__`` (each field's own line) and
        ``__bad__`` (fields whose value was refused, so later checks do not report them twice)."""
        where = f"{LABELS[kind]}第{index + 1}项" if kind != "plan" else "文件顶层"
        if not isinstance(raw, dict):
            self.add(None, where, "应为键值对（映射）", raw)
            return None
        line = raw.get("__line__")
        keys = raw.get("__keys__", {})
        ident = "number" if kind == "section" else "id"
        if ident in raw and kind != "plan":
            where = f"{LABELS[kind]} {_show(raw[ident], 40)}"
        out: dict[str, Any] = {"__line__": line, "__keys__": keys, "__bad__": set()}
        spec = SPECS[kind]
        for key, value in raw.items():
            if key in ("__line__", "__keys__") or (kind == "plan" and key in LISTS):
                continue
            at = keys.get(str(key), line)
            if key not in spec:
                self.add(at, f"{where}.{_show(key, 40)}", "未知字段（拼写错误？）")
                continue
            try:
                out[key] = spec[key][0](value)
            except ValueError as exc:
                out["__bad__"].add(key)
                self.add(at, f"{where}.{key}", f"类型或取值错误：{exc}", value)
        for key, (_, required) in spec.items():
            if required and key not in raw:
                self.add(line, f"{where}.{key}", "缺少必填字段")
        return out

    def at(self, rec: dict[str, Any], key: str) -> int | None:
        """The line of one field of a record (the record's line if the field is not written)."""
        return rec["__keys__"].get(key, rec["__line__"])


LISTS = ("sections", "tasks", "projects", "indicators")


def _show(v: Any, limit: int = 80) -> str:
    if isinstance(v, (dict, set)):
        return "{…}"
    return "" if v is None else shown_value(v, limit)


def _fields(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("__")}


def build_plan(data: Any, *, label: str, path: str, sha256: str, problems: list[Problem] = ()) -> Plan:
    """Validate raw plan data and build a ``Plan``; raise ``PlanError`` with every problem.

    ``problems`` are those already found while reading the file (duplicate keys); they are reported
    together with the rest.
    """

    c = _Collector(label)
    c.problems.extend(problems)
    if not isinstance(data, dict):
        raise PlanError([*c.problems, Problem(label, message="文件为空或不是键值对结构（应以 title: 等字段开头）")])
    head = c.record("plan", data, 0) or {}
    top_keys = data.get("__keys__", {})
    region = head.get("region") if isinstance(head.get("region"), str) else ""
    words = (head.get("township_label") or "乡镇", head.get("region_label") or default_region_label(region))
    lists: dict[str, list[dict[str, Any]]] = {}
    for kind, key, required in (("section", "sections", True), ("task", "tasks", True),
                                ("project", "projects", False), ("indicator", "indicators", True)):
        raw = data.get(key)
        line = top_keys.get(key, data.get("__line__"))
        if raw is None or raw == []:
            if required:
                c.add(line if key in data else None, key, "缺少必填列表" if key not in data else "列表为空")
            raw = []
        if not isinstance(raw, list):
            c.add(line, key, "应为列表（每项以“- ”开头）", raw)
            raw = []
        lists[key] = [r for i, item in enumerate(raw) if (r := c.record(kind, item, i)) is not None]

    for key in LISTS:
        ident = "number" if key == "sections" else "id"
        counts = Counter(r.get(ident) for r in lists[key] if ident in r)
        for rec in lists[key]:
            if counts.get(rec.get(ident), 0) > 1:
                c.add(c.at(rec, ident), f"{key}", "编号重复", rec.get(ident))

    start, end = _period(c, head, data)
    section_ids = {r.get("number") for r in lists["sections"]}
    task_ids = {r.get("id") for r in lists["tasks"]}
    project_ids = {r.get("id") for r in lists["projects"]}
    for rec in lists["tasks"]:
        if "section" in rec and rec["section"] not in section_ids:
            c.add(c.at(rec, "section"), f"任务 {rec.get('id')}.section", "所属部分不存在", rec["section"])
    for rec in lists["projects"]:
        if "task" in rec and rec["task"] not in task_ids:
            c.add(c.at(rec, "task"), f"项目 {rec.get('id')}.task", "所属任务不存在", rec["task"])
    indicators = []
    for rec in lists["indicators"]:
        where = f"指标 {rec.get('id')}"
        if "task" in rec and rec["task"] not in task_ids:
            c.add(c.at(rec, "task"), f"{where}.task", "所属任务不存在", rec["task"])
        for st in rec.get("stages", ()):
            if st not in STAGES:
                c.add(c.at(rec, "stages"), f"{where}.stages", f"未知学段，应为：{'、'.join(STAGES)}", st)
        for pid in rec.get("projects", ()):
            if pid not in project_ids:
                c.add(c.at(rec, "projects"), f"{where}.projects", "引用的项目不存在", pid)
        _dates_in_period(c, rec, where, start, end)
        if isinstance(head.get("year"), int) and rec.get("baseline_year", 0) >= head["year"]:
            c.add(c.at(rec, "baseline_year"), f"{where}.baseline_year", "基期年份应早于工作要点年度",
                  rec["baseline_year"])
        kind = KINDS.get(rec["kind"]) if rec.get("kind", "") in KINDS else None
        if kind is None:
            if "kind" in rec:
                c.add(c.at(rec, "kind"), f"{where}.kind", f"未知指标类型，应为：{'、'.join(sorted(KINDS.keys()))}",
                      rec["kind"])
            continue
        fields = _fields(rec)
        if end is not None:
            fields.setdefault("due", end)
        for key, value in kind.defaults.items():
            fields.setdefault(key, value)
        for fld, message in kind.check(fields):
            if fld not in rec["__bad__"]:  # a refused value is reported once, by its type error
                text = message.replace("{unit}", words[0]).replace("{whole}", words[1])  # the plan's own words
                c.add(c.at(rec, fld), f"{where}.{fld}", text, fields.get(fld, ""))
        indicators.append(fields)
    for rec in lists["projects"]:
        if rec.get("goal") and rec["goal"] not in PROJECT_GOALS:
            c.add(c.at(rec, "goal"), f"项目 {rec.get('id')}.goal", "未知目标")
    _sections_have_work(c, lists)

    if c.problems:
        raise PlanError(c.problems)
    return Plan(
        title=head["title"], year=head["year"], issuer=head["issuer"], region=head["region"],
        start=start, end=end, source=head.get("source", ""), township_label=head.get("township_label", "乡镇"),
        region_label=head.get("region_label", ""), department_label=head.get("department_label", "股室"),
        submission_deadline_day=head.get("submission_deadline_day", 5),
        sections=tuple(Section(**_fields(r)) for r in lists["sections"]),
        tasks=tuple(Task(**_fields(r)) for r in lists["tasks"]),
        projects=tuple(Project(**_fields(r)) for r in lists["projects"]),
        indicators=tuple(Indicator(**f) for f in indicators), path=path, sha256=sha256,
    )


def _period(c: _Collector, head: dict[str, Any], data: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    """The plan period: ``start``..``end`` (default the calendar year); it must contain part of the
    plan's year and last at most one year (a school-year plan such as 2023-09-01..2024-08-31 is fine)."""
    year = head.get("year")
    if not isinstance(year, int):
        return head.get("start"), head.get("end")
    start = head.get("start") or dt.date(year, 1, 1)
    end = head.get("end") or dt.date(year, 12, 31)
    line = data.get("__keys__", {}).get("start", data.get("__line__"))
    if start > end:
        c.add(line, "start/end", "开始日期晚于结束日期", f"{start}～{end}")
    elif year not in (start.year, end.year) or (end - start).days > 365:
        c.add(line, "start/end", f"年度起止日期应包含 {year} 年的日子，且不超过一年", f"{start}～{end}")
    return start, end


def _dates_in_period(c: _Collector, rec: dict[str, Any], where: str, start: dt.date | None,
                     end: dt.date | None) -> None:
    """``due`` and ``period_from`` lie inside the plan period, and a count starts before it is due.

    A date outside the year is a typing error (2031 for 2023): the indicator could never be judged in
    this year's reports, and the status rules measure elapsed time from the plan's start."""
    if start is None or end is None:
        return
    for key, label in (("period_from", "起算日期"), ("due", "完成时限")):
        day = rec.get(key)
        if day is not None and not start <= day <= end:
            c.add(c.at(rec, key), f"{where}.{key}", f"{label}应在工作要点年度内（{start}～{end}）", day)
    due, since = rec.get("due", end), rec.get("period_from")
    if since is not None and due is not None and start <= since <= end and since > due:
        c.add(c.at(rec, "period_from"), f"{where}.period_from", f"起算日期晚于完成时限（{due}）", since)


def _sections_have_work(c: _Collector, lists: dict[str, list[dict[str, Any]]]) -> None:
    """Every section has a task and an indicator: each section gets a report, and a report of nothing
    is useless (it also failed to build: an empty table of figures). A task may have no indicator (a
    qualitative task): its report paragraph says so."""
    task_section = {r.get("id"): r.get("section") for r in lists["tasks"]}
    with_tasks = set(task_section.values())
    with_indicators = {task_section.get(r.get("task")) for r in lists["indicators"]}
    for rec in lists["sections"]:
        number = rec.get("number")
        if number is None:
            continue
        if number not in with_tasks:
            c.add(rec["__line__"], f"部分 {number}", "该部分没有任务（每个部分都会生成一份报告）")
        elif number not in with_indicators:
            c.add(rec["__line__"], f"部分 {number}", "该部分的任务都没有指标（每个部分都会生成一份报告）")

def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; raise ``PlanError`` listing every problem.

    The file is read within the bounds of ``plan.yamlfile`` (size, nesting, alias expansion) before any
    Python object is built, so a hostile file is refused, never a hang or a traceback.
    """
    doc = read_yaml(path)
    return build_plan(doc.construct(), label=doc.label, path=str(path), sha256=hashlib.sha256(doc.raw).hexdigest(),
                      problems=doc.problems)
