"""Analysts' own words: commentary per task and the 下一步工作打算, from ``params/commentary-<year>.yaml``.

Merged into the section reports and the year-end review. Where nothing is written the reports say so;
they never invent commentary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import PlanError, Problem
from .plan import Plan


@dataclass(frozen=True)
class Commentary:
    tasks: dict[int, str] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()
    source: str = ""

    def for_task(self, task_id: int) -> str:
        return self.tasks.get(task_id, "")


class CommentaryError(PlanError):
    """The commentary file is malformed or refers to tasks the plan does not have."""

    title = "补充说明文件有误"


def load_commentary(path: str | Path | None, plan: Plan) -> Commentary:
    """Read a commentary file; a missing file means "no commentary", not an error."""
    if not path:
        return Commentary()
    path = Path(path)
    if not path.is_file():
        return Commentary()
    label = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CommentaryError([Problem(label, message=f"无法读取：{exc}")]) from None
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise CommentaryError([Problem(label, message="应为键值对结构（tasks、next_steps）")])
    for key in raw:
        if key not in ("tasks", "next_steps"):
            problems.append(Problem(label, column=str(key), message="未知字段，应为 tasks 或 next_steps"))
    tasks: dict[int, str] = {}
    for key, text in (raw.get("tasks") or {}).items():
        if not isinstance(key, int) or not plan.has("task", key):
            problems.append(Problem(label, column="tasks", value=str(key), message="工作要点中没有该任务"))
        elif text is not None and str(text).strip():
            tasks[key] = str(text).strip()
    steps = raw.get("next_steps") or []
    if not isinstance(steps, list):
        problems.append(Problem(label, column="next_steps", message="应为列表（每条一项打算）"))
        steps = []
    if problems:
        raise CommentaryError(problems)
    return Commentary(tasks, tuple(str(s).strip() for s in steps if str(s).strip()), label)
