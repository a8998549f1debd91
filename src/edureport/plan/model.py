"""The work plan (工作要点) as data: typed, validated models loaded from a YAML file.

Nothing here knows about a particular year or county; sections, tasks, indicators, projects and the
plan period all come from the file. Validation collects every problem before raising, so an analyst
editing next year's plan sees the whole list at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from edureport.core.vocabulary import (  # noqa: F401  (the plan's words, also read as plan.model.X)
    COMPARISONS,
    LEVELS,
    OVER_TIME,
    PROJECT_GOALS,
    PROJECT_STAGES,
    STAGES,
)
from edureport.kinds import get_kind


@dataclass(frozen=True)
class Section:
    number: str
    title: str


@dataclass(frozen=True)
class Task:
    id: int
    section: str
    title: str
    lead: str
    text: str


@dataclass(frozen=True)
class Project:
    id: str
    task: int
    name: str
    goal: str  # 开工 / 竣工 / 投用
    school: str = ""
    township: str = ""

    @property
    def goal_stage(self) -> str:
        return PROJECT_GOALS[self.goal]


@dataclass(frozen=True)
class Indicator:
    id: str
    task: int
    name: str
    kind: str
    level: str
    due: dt.date
    unit: str = ""
    comparison: str = ">="
    target: float | None = None
    aggregate: str = "sum"
    over_time: str = "cumulative"
    numerator: str = ""
    denominator: str = ""
    stages: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    period_from: dt.date | None = None
    projects: tuple[str, ...] = ()
    target_stage: str = ""
    baseline_year: int | None = None
    source: str = ""
    note: str = ""

    @property
    def target_text(self) -> str:
        """The target as a leader reads it: "≥40%", "≤0起", "低于上年", "按期完成"."""
        return get_kind(self.kind).target_text(self)


def default_region_label(region: str) -> str:
    """全旗 / 全县 / 全区 / 全市: the region as a whole, named after the region's last character."""
    return f"全{region[-1]}" if region else "全域"


@dataclass(frozen=True)
class Plan:
    title: str
    year: int
    issuer: str
    region: str
    start: dt.date
    end: dt.date
    sections: tuple[Section, ...]
    tasks: tuple[Task, ...]
    indicators: tuple[Indicator, ...]
    projects: tuple[Project, ...] = ()
    source: str = ""
    # The plan's words (docs/plan-format.md, 顶层): what reports, forms, headers and messages call things.
    township_label: str = "乡镇"  # the level below the region: 苏木镇, 镇街, 乡镇, 街道
    region_label: str = ""  # the region as a whole: 全旗, 全区, 全县; "" = "全" + the region's last character
    department_label: str = "股室"  # the bureau's offices that write the commentary: 股室, 科室
    # Monthly figures are due by this day of the next month (submission tracking, intake/submissions.py).
    submission_deadline_day: int = 5
    path: str = ""
    sha256: str = ""
    _index: dict[str, dict] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.region_label:  # frozen: set once, here
            object.__setattr__(self, "region_label", default_region_label(self.region))
        self._index["task"] = {t.id: t for t in self.tasks}
        self._index["indicator"] = {i.id: i for i in self.indicators}
        self._index["project"] = {p.id: p for p in self.projects}
        self._index["section"] = {s.number: s for s in self.sections}

    def task(self, task_id: int) -> Task:
        return self._index["task"][task_id]

    def indicator(self, indicator_id: str) -> Indicator:
        return self._index["indicator"][indicator_id]

    def project(self, project_id: str) -> Project:
        return self._index["project"][project_id]

    def section(self, number: str) -> Section:
        return self._index["section"][number]

    def has(self, what: str, key: Any) -> bool:
        return key in self._index[what]

    def tasks_in(self, section: str) -> list[Task]:
        return [t for t in self.tasks if t.section == section]

    def indicators_in(self, section: str | None = None, task: int | None = None) -> list[Indicator]:
        """Indicators of one section or one task, in plan order."""
        out = []
        for ind in self.indicators:
            if task is not None and ind.task != task:
                continue
            if section is not None and self.task(ind.task).section != section:
                continue
            out.append(ind)
        return out

    def section_of(self, indicator: Indicator) -> str:
        return self.task(indicator.task).section

    def named_entities(self, level: str) -> set[str]:
        """School or township names the plan itself mentions (checked against the registry)."""
        names = {e for i in self.indicators if i.level == level for e in i.entities}
        attr = "school" if level == "school" else "township"
        names |= {getattr(p, attr) for p in self.projects if getattr(p, attr)}
        return names
