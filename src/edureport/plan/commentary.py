"""Analysts' own words: commentary per task and the 下一步工作打算, from ``params/commentary-<year>.yaml``.

Merged into the section reports and the year-end review. Where nothing is written the reports say so;
they never invent commentary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from edureport.core.errors import CommentaryError, PlanError, Problem
from edureport.plan.fields import LONG_TEXT, check_text
from edureport.plan.model import Plan
from edureport.plan.yamlfile import YamlDocument, read_yaml, shown_value

_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Commentary:
    tasks: dict[int, str] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()
    source: str = ""

    def for_task(self, task_id: int) -> str:
        return self.tasks.get(task_id, "")


def load_commentary(path: str | Path | None, plan: Plan) -> Commentary:
    """Read a commentary file; a missing file means "no commentary", not an error.

    Read within the same bounds as the plan (size, nesting, alias expansion: ``plan.yamlfile``) and checked
    on the YAML node graph, so every problem names its line: ``tasks`` is a mapping of task number to
    text, ``next_steps`` a list of texts; each text at most ``LONG_TEXT`` characters, without control
    characters (line breaks are allowed).
    """
    if not path:
        return Commentary()
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return Commentary()
    try:
        doc = read_yaml(path, "补充说明文件")
    except PlanError as exc:
        raise CommentaryError(exc.problems) from None
    try:
        return _check(doc, plan)
    finally:
        doc.loader.dispose()


def _check(doc: YamlDocument, plan: Plan) -> Commentary:
    label, problems = doc.label, list(doc.problems)

    def add(node: Node | None, column: str, message: str, value: Any = "") -> None:
        row = node.start_mark.line + 1 if node is not None else None
        problems.append(Problem(label, row=row, column=column, value=shown_value(value), message=message))

    root = doc.node
    if root is None or _is_null(root):
        return Commentary(source=label)
    if not isinstance(root, MappingNode):
        add(root, "", "应为键值对结构（tasks、next_steps）")
        raise CommentaryError(problems)
    tasks: dict[int, str] = {}
    steps: list[str] = []
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else "…"
        if key == "tasks":
            tasks = _tasks(doc, value_node, plan, add)
        elif key == "next_steps":
            steps = _steps(value_node, add)
        else:
            add(key_node, shown_value(key, 40), "未知字段，应为 tasks 或 next_steps")
    if problems:
        raise CommentaryError(problems)
    return Commentary(tasks, tuple(steps), label)


def _tasks(doc: YamlDocument, node: Node, plan: Plan, add: Any) -> dict[int, str]:
    """``tasks:`` — task number: text. Written as a list (``- 2: …``) is the usual slip."""
    if _is_null(node):
        return {}
    if not isinstance(node, MappingNode):
        add(node, "tasks", "应为键值对：每行“任务序号: 补充说明”（不要以“- ”开头）")
        return {}
    out: dict[int, str] = {}
    for key_node, value_node in node.value:
        key = _scalar(doc, key_node)
        where = f"tasks.{shown_value(key, 20)}"
        if isinstance(key, bool) or not isinstance(key, int):
            add(key_node, where, "任务序号应为整数（如 2）", key)
            continue
        if not plan.has("task", key):
            add(key_node, where, "工作要点中没有该任务", key)
            continue
        text = _text(value_node, where, add)
        if text:
            out[key] = text
    return out


def _steps(node: Node, add: Any) -> list[str]:
    """``next_steps:`` — a list, one plan of action per item."""
    if _is_null(node):
        return []
    if not isinstance(node, SequenceNode):
        add(node, "next_steps", "应为列表（每条一项打算，以“- ”开头）")
        return []
    out = []
    for i, item in enumerate(node.value, start=1):
        text = _text(item, f"next_steps第{i}条", add)
        if text:
            out.append(text)
    return out


def _text(node: Node, where: str, add: Any) -> str:
    if _is_null(node):
        return ""
    if not isinstance(node, ScalarNode):
        add(node, where, "应为文字")
        return ""
    # Only the scalar's own text: "yes", "2023-02-30" or "1e5" are what the analyst wrote.
    try:
        return check_text(node.value, LONG_TEXT, multiline=True)
    except ValueError as exc:
        add(node, where, f"类型或取值错误：{exc}", node.value)
        return ""


def _scalar(doc: YamlDocument, node: Node) -> Any:
    """A key as YAML reads it (2 is the number 2); a collection as key is reported as such."""
    if not isinstance(node, ScalarNode):
        return "…"
    try:
        return doc.loader.construct_object(node)
    except yaml.YAMLError:
        return node.value


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG
