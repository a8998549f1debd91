"""Reading the plan's YAML files (工作要点, 补充说明) safely: bounded in size, depth and alias expansion.

These files are edited by hand and may come from anywhere, so reading one must never exhaust memory,
recurse without bound or end in a traceback. Everything here happens before (or instead of) building
Python objects:

1. the file must be a regular file of at most ``MAX_FILE_BYTES`` (read with a bounded read, so
   ``/dev/zero`` or a file growing underneath cannot make it unbounded);
2. it must be UTF-8 (a BOM is allowed);
3. the node graph is composed with ``LineLoader``, refusing more than ``MAX_DEPTH`` levels of nesting
   and more than ``MAX_NODES`` nodes as written;
4. aliases are then expanded *by counting only* (memoised per node): a file whose expanded tree has more
   than ``MAX_NODES`` nodes or ``MAX_DEPTH`` levels (the "billion laughs" attack: nine anchors of nine
   aliases each are 9⁹ ≈ 387 million nodes in 200 bytes) or whose aliases form a cycle is refused;
5. only then are Python objects constructed. A scalar that YAML takes for a date or number but that is
   not a valid one (``2031-02-30``, ``!!int abc``, a 5,000-digit number) stays text, so the field check
   reports it with its field and line instead of the YAML library raising ``ValueError``.

Duplicate keys in one mapping (YAML keeps the last silently) are collected as problems.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from edureport.core.errors import PlanError, Problem, for_display

# params/plan-2023.yaml (30 tasks, 76 indicators) is 51 KB, 2,097 nodes and 5 levels deep. The bounds are
# 100×, about 50× and 10× that, and keep the worst case small: composing 100,000 nodes takes 2.7 s and
# under 100 MB; a 5 MB file of long texts or comments composes in under 2 s (measured on the 2-core
# development machine).
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 50

_MERGE_TAG = "tag:yaml.org,2002:merge"
# Unicode bidirectional overrides and isolates reorder what a reader sees (CVE-2021-42574, "Trojan Source").
BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


class _Refused(Exception):
    """Raised inside the loader when a bound is passed; carries the line and a Chinese message."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


# Integers as people write them. YAML 1.1 (PyYAML) also reads 010 as 8, 0x10 as 16, 0b101 as 5 and 1:30
# as 90, which would silently change a target; such forms stay text and the field check refuses them.
_DECIMAL_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


class LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping (and of each of its keys), so problems can
    name it; bounded in nesting depth and node count while composing; lenient with invalid dates and
    numbers (they stay text for the field checks to report); and noting duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._composed = 0
        self.duplicates: list[tuple[int, str]] = []  # (line, key)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # The composer recurses once per level (3 Python frames with this wrapper): 10,000 nested "["
        # reached Python's recursion limit before this bound existed.
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(self.peek_event().start_mark.line + 1,
                               f"嵌套层数过多（超过 {MAX_DEPTH} 层），工作要点只需几层")
            if self._composed > MAX_NODES:
                raise _Refused(self.peek_event().start_mark.line + 1,
                               f"元素过多（超过 {MAX_NODES:,} 个）")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                if (key.tag, key.value) in seen:
                    self.duplicates.append((key.start_mark.line + 1, key.value))
                seen.add((key.tag, key.value))
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__keys__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, ScalarNode)}
        return mapping

    def _lenient(self, construct: Any, node: ScalarNode, errors: tuple[type[Exception], ...]) -> Any:
        try:
            return construct(self, node)
        except errors:
            return self.construct_scalar(node)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:  # 2031-02-30: ValueError in PyYAML
        return self._lenient(yaml.SafeLoader.construct_yaml_timestamp, node, (ValueError,))

    def construct_yaml_int(self, node: ScalarNode) -> Any:  # > 4,300 digits, or !!int abc: ValueError
        if not _DECIMAL_INT.match(str(node.value)):  # YAML 1.1's 010 (= 8), 0x10, 0b101, 1:30 (= 90): text
            return self.construct_scalar(node)
        return self._lenient(yaml.SafeLoader.construct_yaml_int, node, (ValueError,))

    def construct_yaml_float(self, node: ScalarNode) -> Any:  # !!float abc: ValueError
        if ":" in str(node.value):  # YAML 1.1's base-60 1:30.5: text, refused by the field check
            return self.construct_scalar(node)
        return self._lenient(yaml.SafeLoader.construct_yaml_float, node, (ValueError,))

    def construct_yaml_bool(self, node: ScalarNode) -> Any:  # !!bool abc: KeyError
        return self._lenient(yaml.SafeLoader.construct_yaml_bool, node, (KeyError,))


for _tag, _method in (("timestamp", LineLoader.construct_yaml_timestamp), ("int", LineLoader.construct_yaml_int),
                      ("float", LineLoader.construct_yaml_float), ("bool", LineLoader.construct_yaml_bool)):
    LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _method)


def check_expansion(root: Node) -> None:
    """Refuse a node graph whose tree, with every alias expanded, is too big, too deep or infinite.

    Counts without expanding: each node's size and height are computed once (memoised by identity), so
    nine anchors of nine aliases cost 10 visits, not 9⁹. Iterative, so a long alias chain cannot recurse.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                raise _Refused(line, f"别名（&/*）展开后元素过多（超过 {MAX_NODES:,} 个），疑似恶意的别名嵌套")
            if height[key] > MAX_DEPTH:
                raise _Refused(line, f"别名（&/*）展开后嵌套层数过多（超过 {MAX_DEPTH} 层）")
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused(node.start_mark.line + 1, "别名（&/*）循环引用自身")
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise _Refused(kid.start_mark.line + 1, "别名（&/*）循环引用自身")
            if id(kid) not in size:
                stack.append((kid, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


@dataclass
class YamlDocument:
    """A file read and checked by ``read_yaml``: its bytes, its node graph (None if empty) and loader."""

    label: str
    raw: bytes
    node: Node | None
    loader: LineLoader
    problems: list[Problem] = field(default_factory=list)  # duplicate keys: reported with the rest

    def construct(self) -> Any:
        """The Python objects of the document (only call after ``read_yaml`` accepted it)."""
        if self.node is None:
            return None
        try:
            return self.loader.construct_document(self.node)
        # Right around the third-party constructor: a tag we did not foresee (!!binary with bad base64,
        # !!set of lists …) must become a located problem, never a traceback.
        except Exception as exc:
            mark = getattr(exc, "problem_mark", None) or self.node.start_mark
            raise PlanError([Problem(self.label, row=mark.line + 1,
                                     message=f"YAML 内容无法读取：{shown_value(getattr(exc, 'problem', None) or exc)}")]) from None
        finally:
            self.loader.dispose()


def read_yaml(path: str | Path, what: str = "工作要点文件") -> YamlDocument:
    """Read, decode and compose one YAML file within the bounds above; raise ``PlanError`` otherwise."""
    path = Path(path)
    label = path.name or str(path)

    def refuse(message: str, row: int | None = None) -> PlanError:
        return PlanError([Problem(label, row=row, message=message)])

    raw = _read_bounded(path, what, refuse)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise refuse(f"{what}须为 UTF-8 编码（第{line}行有无法按 UTF-8 解读的字节）", line) from None
    try:
        loader = LineLoader(text)  # the reader checks every character here
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow (NUL, other controls)
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        char = getattr(exc, "character", None)
        shown = f"U+{char:04X}" if isinstance(char, int) else "字符"
        raise refuse(f"YAML 格式错误：含有不允许的控制字符（{shown}）", line) from None
    try:
        node = loader.get_single_node()
        if node is not None:
            check_expansion(node)
    except _Refused as exc:
        loader.dispose()
        raise refuse(exc.message, exc.line) from None
    except yaml.MarkedYAMLError as exc:
        loader.dispose()
        mark = exc.problem_mark or exc.context_mark
        raise refuse(f"YAML 格式错误：{shown_value(exc.problem or exc.context)}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        loader.dispose()
        raise refuse(f"YAML 格式错误：{shown_value(exc)}") from None
    problems = [Problem(label, row=line, column=shown_value(key), message="键重复：同一处写了两次（YAML 只保留后一个）")
                for line, key in loader.duplicates]
    return YamlDocument(label, raw, node, loader, problems)


def _read_bounded(path: Path, what: str, refuse: Any) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise refuse(f"{what}不存在：{path}") from None
    except PermissionError:
        raise refuse(f"没有读取{what}的权限：{path}") from None
    except OSError as exc:
        raise refuse(f"无法读取{what}：{exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"这是一个文件夹，不是{what}：{path}")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"不是普通文件（设备、管道等不能作为{what}）：{path}")
    limit_text = f"{what}过大（{{size}}，上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）"
    if info.st_size > MAX_FILE_BYTES:
        raise refuse(limit_text.format(size=_mb(info.st_size)))
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise refuse(f"没有读取{what}的权限：{path}") from None
    except OSError as exc:
        raise refuse(f"无法读取{what}：{exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:  # grew after stat
        raise refuse(limit_text.format(size=f"超过 {_mb(MAX_FILE_BYTES)}"))
    return raw


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def shown_value(value: Any, limit: int = 80) -> str:
    """A value as shown in a message (``errors.for_display``: invisible characters escaped, cut to
    ``limit`` characters with the full length given: a 50 MB text is not echoed whole)."""
    return for_display(value, limit)
