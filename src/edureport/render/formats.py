"""Output formats: what a format is and the registry of them.

An output format is ONE module in ``render/`` (``html_format.py``, ``pdf_format.py``, ``docx_format.py``)
that registers one ``OutputFormat``: its name (what ``--formats`` accepts and the key of a report's file in
the manifest), its label on the index page, its folder and file extension in a build, and ``render``, which
turns a report — its HTML and the executed notebook it came from — into the file's bytes. Code outside a
format's module asks the registry (``FORMATS``, ``get_format``, ``output_files``) and never compares a
format's name. ``render/outputs.py`` imports the built-in modules so that they register.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from edureport.core.errors import UnknownFormatError
from edureport.core.paths import report_files
from edureport.core.registry import Registry


class OutputFormat:
    """One output format. A subclass sets the class attributes and ``render``."""

    name: ClassVar[str]  # --formats html; the manifest's files["html"]
    label: ClassVar[str]  # the index page's link text (网页版)
    extension: ClassVar[str]  # ".html"
    folder: ClassVar[str]  # the folder of a build's reports in this format ("html")
    order: ClassVar[int] = 100  # rendering order, and the order of the index page's links (lower first)

    def render(self, html: str, notebook: Any, *, title: str) -> bytes | str:
        """The report in this format, from its HTML (``render.document.notebook_to_html``) and the executed
        notebook it was rendered from (for what the HTML no longer has, such as the charts' PNG)."""
        raise NotImplementedError


FORMATS: Registry[OutputFormat] = Registry("输出格式", UnknownFormatError, key=lambda f: f.name)
DEFAULT_FORMATS = ("html", "pdf")


def register(fmt: type[OutputFormat] | OutputFormat) -> Any:
    """Register a format (a class is instantiated); usable as a class decorator."""
    FORMATS.register(fmt() if isinstance(fmt, type) else fmt)
    return fmt


def get_format(name: str) -> OutputFormat:
    return FORMATS.get(name)


def output_formats(names: Iterable[str] | None = None) -> list[OutputFormat]:
    """The formats named (every registered one for None), in rendering order; an unknown name raises
    ``UnknownFormatError`` listing the known ones."""
    chosen = list(FORMATS) if names is None else [get_format(n) for n in dict.fromkeys(names)]
    return sorted(chosen, key=lambda f: f.order)


def output_files(out: str | Path, year: int, as_of: str, stem: str,
                 names: Iterable[str] | None = None) -> dict[str, Path]:
    """A report's executed notebook and its file in each format named (default: every registered one)."""
    return report_files(out, year, as_of, stem,
                        {f.name: (f.folder, f.extension) for f in output_formats(names)})
