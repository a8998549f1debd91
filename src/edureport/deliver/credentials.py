"""Passwords, robot secrets and webhook addresses: read from environment variables or from a credentials
file that only its owner can read, and kept out of every output.

The distribution file never holds a credential, only its *name* (``password_env: EDUREPORT_SMTP_PASSWORD``):
the value is the environment variable of that name, else the line ``NAME=value`` of the credentials file.
That file has the format of a systemd ``EnvironmentFile`` (``NAME=value`` lines, ``#`` comments, an
optional ``export``), so one file can serve the timer and a hand-run ``edureport send``; it is refused
unless it belongs to the user running edureport and no one else may read or write it (``chmod 600``),
because anyone who can read it can send in the bureau's name.

A value is wrapped in ``Secret``, whose ``repr`` and ``str`` show only its name: a dataclass printed in a
log, a traceback's locals or an exception's message cannot show it by accident. ``redact`` replaces the
values in any text that leaves the program (a server's reply can quote what it was sent).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

from edureport.core.errors import Problem

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_FILE_BYTES = 64 * 1024  # a few dozen lines; a bigger file is not a credentials file
HIDDEN = "***"


class Secret:
    """A credential's value; shown anywhere only as its name."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str):
        self.name, self._value = name, value

    def reveal(self) -> str:
        """The value itself: only for the connection that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"<凭据 {self.name}>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self.name, self._value) == (other.name, other._value)

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):  # crosses nothing; pickling would write the value in clear
        raise TypeError("凭据不能被序列化")


def read_credentials_file(path: Path, label: str) -> tuple[dict[str, str], list[Problem]]:
    """``NAME=value`` pairs of the credentials file, or the problems that refuse it (never quoting a
    line: any of them may hold a password)."""
    shown = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}, [Problem(label, column="credentials_file", value=shown, message="凭据文件不存在")]
    except OSError as exc:
        return {}, [Problem(label, column="credentials_file", value=shown,
                            message=f"无法读取凭据文件：{exc.strerror or exc}")]
    if not stat.S_ISREG(info.st_mode):
        return {}, [Problem(label, column="credentials_file", value=shown, message="凭据文件应为普通文件")]
    problems = []
    if hasattr(os, "geteuid"):  # POSIX permissions; Windows protects the file with its ACLs instead
        if info.st_uid != os.geteuid():
            problems.append(Problem(shown, message=f"凭据文件的所有者（用户 {info.st_uid}）不是运行 edureport 的用户"
                                                   f"（{os.geteuid()}）；请用 chown 改为本用户所有"))
        if info.st_mode & 0o077:
            problems.append(Problem(shown, message=f"凭据文件的权限为 {stat.S_IMODE(info.st_mode):04o}，其他用户也能读取或修改；"
                                                   f"只允许所有者读写：chmod 600 {shown}"))
    if info.st_size > MAX_FILE_BYTES:
        problems.append(Problem(shown, message=f"凭据文件过大（超过 {MAX_FILE_BYTES // 1024} KB），不像凭据文件"))
    if problems:
        return {}, problems
    try:
        raw = path.read_bytes()[:MAX_FILE_BYTES]
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        return {}, [Problem(shown, message=f"无法读取凭据文件：{exc.strerror or exc}")]
    except UnicodeDecodeError:
        return {}, [Problem(shown, message="凭据文件须为 UTF-8 编码")]
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not sep or not ENV_NAME.match(name):
            problems.append(Problem(shown, row=number, message="应写作“名称=值”（名称由字母、数字和下划线组成）"))
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values, problems


def lookup(name: str, stored: Mapping[str, str]) -> Secret | None:
    """The credential called ``name``: its environment variable, else the credentials file's line."""
    value = os.environ.get(name)
    if value is None:
        value = stored.get(name)
    return Secret(name, value) if value else None


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every credential's value (and its URL-quoted form) replaced by ``***``."""
    for secret in secrets:
        value = secret.reveal()
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            if len(form) >= 4:  # a 1–3 character "secret" would blank ordinary words
                text = text.replace(form, HIDDEN)
    return text
