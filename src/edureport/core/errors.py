"""Typed errors. Library code raises these; only the CLI turns them into messages and exit codes.

One root class (``EdureportError``) so callers can catch everything the package raises on bad input,
and specific subclasses that carry their context. Data and plan errors carry *every* problem found,
because analysts fix a file once, not once per error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# How much of a file's own text a message shows. A value or header comes from the file and can be a
# 50 MB cell; a message can quote one. Past these lengths the text is cut and its length given, so a
# problem stays one readable line.
SHOWN_VALUE_CHARS = 60  # values, sheet and column names
SHOWN_FILE_CHARS = 200  # file names and paths (a deep path is legitimately long)
SHOWN_MESSAGE_CHARS = 300
# Characters that would garble or mislead a terminal (line breaks, escape sequences, NUL, bidirectional
# overrides that reorder what is shown, zero-width characters) are shown escaped, as \x00, \n, \u202e:
# the Unicode categories of control, format, surrogate and line/paragraph separator characters. The
# name rules (``normalize``) refuse the same characters in names.
INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii") if unicodedata.category(ch) in INVISIBLE else ch


def for_display(text: object, limit: int = SHOWN_VALUE_CHARS) -> str:
    """Text from an input file as a message shows it: control characters escaped, cut to ``limit``
    characters with the full length given ("…（共 N 个字符）")."""
    s = str(text)
    cut = s[:limit]
    out = "".join(_shown(ch) for ch in cut)
    return out if len(s) <= limit else f"{out}…（共 {len(s):,} 个字符）"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file, located the way an analyst finds it in Excel."""

    file: str
    sheet: str = ""
    row: int | None = None  # spreadsheet row number: the header is row 1, the first data row is 2
    column: str = ""
    value: str = ""
    message: str = ""
    severity: str = "错误"  # "错误" blocks loading; "警告" is reported but loading goes on

    @property
    def is_error(self) -> bool:
        return self.severity == "错误"

    def format(self) -> str:
        """One line: where, the value and the message, each cut to a readable length (see ``for_display``)."""
        parts = [for_display(self.file, SHOWN_FILE_CHARS)]
        if self.sheet:
            parts.append(f"工作表“{for_display(self.sheet)}”")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(f"列“{for_display(self.column)}”")
        where = "，".join(parts)
        value = f"，值“{for_display(self.value)}”" if self.value != "" else ""
        return f"[{self.severity}] {where}{value}：{for_display(self.message, SHOWN_MESSAGE_CHARS)}"


class EdureportError(Exception):
    """Root of every error edureport raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """How IPython and Jupyter show it: its Chinese message, without a traceback (IPython asks an
        exception for this before formatting frames). The message already names the parameter, or the
        file, row and column; the frames through pandas below it would only hide that. The cell still
        fails, and papermill and the build report the same message."""
        return [f"{type(self).__name__}: {self}"]


class ProblemsError(EdureportError):
    """An error that carries a list of located problems (all of them, not the first)."""

    title = "发现问题"

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = sorted(problems, key=_problem_sort_key)
        super().__init__(self.render())

    def __reduce__(self):
        return (type(self), (self.problems,))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def render(self, limit: int | None = None) -> str:
        shown: Sequence[Problem] = self.problems if limit is None else self.problems[:limit]
        lines = [f"{self.title}：共 {len(self.errors)} 个错误"]
        lines += [p.format() for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"……另有 {len(self.problems) - len(shown)} 个问题未显示")
        return "\n".join(lines)


class RemovalError(ProblemsError):
    """An import would remove rows the submission does not have, and removals were not allowed."""

    def __init__(self, problems: Iterable[Problem], hint: str = "", summary: Any = None):
        self.hint, self.summary = hint, summary  # summary: the import's (intake.importer.ImportSummary), for a dry run
        super().__init__(problems)

    def __reduce__(self):
        return (type(self), (self.problems, self.hint))

    def render(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [f"导入将删除数据文件夹中原有的 {len(self.problems)} 行（报送的表中没有这些行），已拒绝，未写入任何文件："]
        lines += [p.format() for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"……另有 {len(self.problems) - len(shown)} 行未显示")
        return "\n".join([*lines, self.hint] if self.hint else lines)


class PlanError(ProblemsError):
    """The plan file (工作要点) is malformed or inconsistent."""

    title = "工作要点文件有误"


class DataValidationError(ProblemsError):
    """One or more data tables failed validation; nothing was loaded."""

    title = "数据校验未通过"


class LockedError(EdureportError):
    """Another build or import holds what this command needs (exit code 3)."""


class UnknownKindError(EdureportError, KeyError):
    """A key that no plug-in registered (base class: each registry raises its own subclass)."""

    def __init__(self, registry: str, key: str, known: Iterable[str]):
        self.registry, self.key, self.known = registry, key, sorted(known)
        super().__init__(f"未知的{registry}“{key}”，可用：{'、'.join(self.known)}")

    def __reduce__(self):
        return (type(self), (self.registry, self.key, self.known))

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownIndicatorKindError(UnknownKindError):
    """An indicator kind (plan field ``kind``) that no module in ``kinds/`` registered."""


class UnknownReportKindError(UnknownKindError):
    """A report kind (``--only`` or a notebook's ``kind``) that no module in ``report/kinds.py`` registered."""


class UnknownFormatError(UnknownKindError):
    """An output format that no module in ``render/`` registered."""


class ReportParameterError(EdureportError):
    """A parameter the report kind does not take (a misspelt notebook parameter)."""


class UnknownEntityError(EdureportError, KeyError):
    """A township, school or indicator asked for by name that the plan or data does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


class MergeError(EdureportError):
    """A data file that import cannot merge into safely (an Excel table, an unreadable structure)."""


class BuildLockedError(LockedError):
    """Another build is using the same output folder."""


class OutsideOutputError(EdureportError):
    """A report file name that is not a plain file name inside the output folder."""


class OutputError(EdureportError):
    """An output file or folder cannot be written: read-only, full, or the wrong kind of file in its place."""


class TemplateError(EdureportError):
    """The template cannot be made for these options (unknown township, period outside the plan year)."""


class RenderError(EdureportError):
    """HTML or PDF could not be produced from an executed notebook."""


class FontMissingError(EdureportError):
    """The CJK font files are not installed (the mplfonts package is missing)."""


class ParameterError(EdureportError):
    """A parameter the notebook does not declare, or of the wrong type."""


class ReportFailedError(EdureportError):
    """The notebook raised an error; the executed notebook was saved for inspection."""

    def __init__(self, job: Any, message: str, notebook: Any = None):
        """``job``: the reports.Job that failed; ``notebook``: the executed notebook's path, if saved."""
        self.job, self.message, self.notebook = job, message, notebook
        super().__init__(f"{job.title}：{message}")

    def __reduce__(self):  # it crosses process and Dask boundaries
        return (type(self), (self.job, self.message, self.notebook))


class DemoDataError(EdureportError):
    """The demo data cannot be generated with these options."""


class FolderBusyError(LockedError):
    """Another import holds the data folder (or left an unfinished one that cannot be completed here)."""


class AsOfError(EdureportError):
    """An as-of date that cannot be read, or that lies outside the plan year."""


class UnknownReportError(EdureportError):
    """``--only`` named a report that the plan and data do not have."""


class ReportNameError(EdureportError):
    """Two unit names would give the same report file name (only if their hashes collide)."""


class CommentaryError(PlanError):
    """The commentary file is malformed or refers to tasks the plan does not have."""

    title = "补充说明文件有误"


class SnapshotGoneError(EdureportError):
    """The data a build started from are no longer cached, and the data folder has changed since."""


class DataFolderError(EdureportError):
    """The data folder cannot be written, or is in a state edureport will not guess about (a damaged journal)."""


class BureauError(EdureportError):
    """No bureau folder (工作文件夹, marked by ``edureport.toml``) to take a default path from, or a folder
    ``edureport init`` will not make one of (not empty, a file in its place, a conflicting file)."""


class DistributionError(ProblemsError):
    """The distribution file (分发名单) is malformed, or a credential it names cannot be read."""

    title = "分发名单文件有误"


class NoBuildError(EdureportError):
    """There is no build to send from: no manifest.json for this output folder and as-of date."""


class SendLogError(EdureportError):
    """The send log cannot be read (edited by hand): sending from it could send everything again."""


class SendLockedError(LockedError):
    """Another send is delivering the reports of the same build."""


class DeliveryError(EdureportError):
    """One message could not be delivered (SMTP refused it, a robot answered with an error)."""


def _problem_sort_key(p: Problem) -> tuple:
    return (p.file, p.sheet, p.row if p.row is not None else -1, p.column, p.message)
