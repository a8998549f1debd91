"""``import``'s transaction: the files of a data folder it owns change all together, or not at all.

``import`` changes only the files it owns (the table files it merges into and ``import-log.csv``) and
only through ``Transaction``:

1. a journal in state ``prepared`` names every file to be replaced, its new SHA-256, and the temporary
   file that will hold the new version (beside its target, so the rename is atomic);
2. the new versions are written to those temporary files with the target's permissions, owner and
   extended attributes, and flushed to disk;
3. the journal is atomically replaced by one in state ``committed``: this rename is the commit point;
4. each temporary file is renamed over its target; then the journal is removed.

``recover`` runs under the folder's exclusive lock (``datafolder``) before anything else reads or writes:
a ``prepared`` journal is rolled back (temporary files deleted: the old data stand), a ``committed`` one
rolled forward (the remaining renames done: the new data stand); recovery can itself be killed and run
again. Everything else in the folder — sub-folders, other files, links, permissions, extended
attributes (ACLs) — is never touched. A table file linked inside the folder is written at its target;
a link out of the folder is refused (``owned_file``). A hard-linked table file is replaced like any
other: its other names keep the old data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edureport.core.errors import DataFolderError
from edureport.core.paths import file_sha256, why

JOURNAL = ".edureport-journal.json"
TEMP_SUFFIX = ".edureport-new"


def pending(folder: Path) -> bool:
    """Whether an import was interrupted in this folder (its journal is still there)."""
    return (folder / JOURNAL).exists() or (folder / f"{JOURNAL}.tmp").exists()


def kill_point(step: str) -> None:
    """Fault injection for the kill tests: ``EDUREPORT_KILL_AT=<step>`` makes this process die by
    SIGKILL at that step, exactly as the OOM killer or a power cut would stop it."""
    if os.environ.get("EDUREPORT_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def real_target(path: Path) -> Path:
    """The file a folder entry stands for: a symlinked table file is read and written at its target.
    (``validate_dir(replaced=…)`` and ``Transaction`` must agree on this, or a staged version would go
    unchecked.)"""
    return path.resolve() if path.is_symlink() else path


def owned_file(folder: Path, name: str) -> Path:
    """Where ``import`` may write the folder's file ``name``: the file itself, or the target of a link
    that stays inside the folder. A link leading out of the folder is refused: anyone who can write
    the folder could plant one (import-log.csv -> somebody's .bashrc) and have the import write there,
    and two folders sharing a linked table would overwrite each other's imports. Anything but a regular
    file (a folder, a FIFO, a device) is refused too."""
    path = folder / name
    target = real_target(path)
    if path.is_symlink() and not target.is_relative_to(folder.resolve()):
        raise DataFolderError(f"{path} 是指向数据文件夹之外（{target}）的链接；导入只写数据文件夹之内的文件，"
                              "请把该文件移入数据文件夹")
    if target.exists() and not target.is_file():
        raise DataFolderError(f"{path} 不是普通文件（是文件夹、设备或管道），导入无法写入；请检查")
    return target


@contextlib.contextmanager
def _os_errors(folder: Path) -> Iterator[None]:
    """File-system failures (a full disk, no permission) as one Chinese message, not a traceback."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or folder
        raise DataFolderError(f"无法写入数据文件夹 {folder}（{where}）：{why(exc)}；数据保持导入前的状态") from None


def temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_SUFFIX}")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Entry:
    target: Path  # the file replaced (a symlinked table file: the link's target)
    sha256: str  # of the new version

    @property
    def temp(self) -> Path:
        return temp_path(self.target)


class Transaction:
    """Replace some files of a folder all together, or not at all. Use under ``lock(exclusive=True)``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.files: dict[Path, bytes] = {}
        self.like: dict[Path, Path | None] = {}
        self.entries: list[Entry] = []

    def put(self, name: str, data: bytes, *, like: Path | None = None) -> Path:
        """Stage a new version of ``name`` (a file of the folder); a new file takes ``like``'s permissions."""
        target = owned_file(self.folder, name)
        self.files[target] = data
        self.like[target] = like
        return target

    def prepare(self) -> dict[Path, Path]:
        """Write every new version beside its target (nothing visible changes); {target: temporary file}.
        A failure (a full disk) undoes what was written and raises ``DataFolderError``."""
        self.entries = [Entry(t, hashlib.sha256(d).hexdigest()) for t, d in self.files.items()]
        try:
            with _os_errors(self.folder):
                self._journal("prepared")
                kill_point("prepared")
                for i, entry in enumerate(self.entries, start=1):
                    _write_like(entry.temp, self.files[entry.target], entry.target, self.like[entry.target])
                    kill_point(f"temp-{i}")
                for folder in {e.target.parent for e in self.entries}:
                    _fsync_dir(folder)
        except BaseException:
            self.abort()
            raise
        return {e.target: e.temp for e in self.entries}

    def commit(self) -> None:
        with _os_errors(self.folder):
            self._journal("committed")  # the commit point: from here on, recovery rolls forward
        kill_point("committed")
        with _os_errors(self.folder):  # renames need no space; should one fail, recovery finishes the job
            _roll_forward(self.folder, self.entries)

    def abort(self) -> None:
        """Undo ``prepare`` (best effort: whatever is left is rolled back by the next ``recover``)."""
        with contextlib.suppress(OSError):
            _roll_back(self.folder, self.entries)

    def _journal(self, state: str) -> None:
        body = {"version": 1, "state": state,
                "entries": [{"target": _rel(self.folder, e.target), "sha256": e.sha256} for e in self.entries]}
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        doc = json.dumps({"body": body, "sha256": hashlib.sha256(text.encode()).hexdigest()}, ensure_ascii=False,
                         indent=1)
        tmp = self.folder / f"{JOURNAL}.tmp"
        _write_like(tmp, doc.encode("utf-8"), None, None)
        os.replace(tmp, self.folder / JOURNAL)
        _fsync_dir(self.folder)


def _rel(folder: Path, target: Path) -> str:
    return target.name if target.parent == folder else str(target)


def _write_like(path: Path, data: bytes, target: Path | None, like: Path | None) -> None:
    """Write ``data`` to a new file ``path`` with the permissions (and, where allowed, the owner and
    group) of ``target`` — or of ``like`` for a file that does not exist yet — and flush it to disk."""
    path.unlink(missing_ok=True)
    model = target if target is not None and target.exists() else like
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if model is not None and model.exists():
            st = model.stat()
            with contextlib.suppress(PermissionError):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:
                    os.fchown(fd, -1, st.st_gid)  # not root: keep at least the group (a group data folder)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which may clear set-id bits
            _copy_xattrs(model, fd)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_xattrs(model: Path, fd: int) -> None:
    """Extended attributes, POSIX ACLs among them (system.posix_acl_access): a folder shared through
    ACLs stays shared. Attributes this user may not set (trusted.*, security.*) are skipped."""
    try:
        names = os.listxattr(model)
    except OSError:  # no xattr support here
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(fd, name, os.getxattr(model, name))


def _read_journal(folder: Path) -> tuple[str, list[Entry]]:
    path = folder / JOURNAL
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        body = doc["body"]
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        if hashlib.sha256(text.encode()).hexdigest() != doc["sha256"] or body["state"] not in ("prepared", "committed"):
            raise ValueError("checksum")
        entries = [Entry(_journal_target(folder, e["target"]), e["sha256"]) for e in body["entries"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFolderError(f"数据文件夹 {folder} 中的导入日志 {JOURNAL} 已损坏（{type(exc).__name__}），"
                              "无法判断上次导入是否完成；请联系管理员检查后删除该文件") from None
    return body["state"], entries


def read_state(folder: Path) -> str:
    """The interrupted import's state: "prepared" (or no journal yet) or "committed"."""
    return _read_journal(folder)[0] if (folder / JOURNAL).exists() else "prepared"


def _journal_target(folder: Path, name: str) -> Path:
    """A journal entry's file: a name in the folder, or the absolute path of a symlinked table's target."""
    path = Path(name)
    if ".." in path.parts or (not path.is_absolute() and len(path.parts) != 1):
        raise ValueError(name)
    return path if path.is_absolute() else folder / name


def recover(folder: str | Path) -> str:
    """Complete or undo an interrupted import (call under the exclusive lock). Returns what was done:
    "" (nothing to do), "rolled-back" or "rolled-forward"."""
    folder = Path(folder)
    with _os_errors(folder):
        if (folder / f"{JOURNAL}.tmp").exists():  # never became the journal: nothing else was written
            (folder / f"{JOURNAL}.tmp").unlink()
        if not (folder / JOURNAL).exists():
            for stray in folder.glob(f".*{TEMP_SUFFIX}"):
                if stray.is_file() or stray.is_symlink():
                    stray.unlink()
            return ""
        state, entries = _read_journal(folder)
        if state == "prepared":
            _roll_back(folder, entries)
            return "rolled-back"
        _roll_forward(folder, entries)
        return "rolled-forward"


def _roll_back(folder: Path, entries: list[Entry]) -> None:
    for entry in entries:
        entry.temp.unlink(missing_ok=True)
    (folder / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(folder)


def _roll_forward(folder: Path, entries: list[Entry]) -> None:
    for i, entry in enumerate(entries, start=1):
        if entry.temp.exists():
            if file_sha256(entry.temp) != entry.sha256:
                raise DataFolderError(f"导入的临时文件 {entry.temp} 与导入日志不符，无法完成上次导入；请联系管理员检查")
            os.replace(entry.temp, entry.target)
        elif not entry.target.exists() or file_sha256(entry.target) != entry.sha256:
            raise DataFolderError(f"上次导入的新文件 {entry.temp} 已丢失，{entry.target} 也不是导入后的内容；"
                                  "请联系管理员检查")
        kill_point(f"renamed-{i}")
    for parent in {e.target.parent for e in entries} | {folder}:
        _fsync_dir(parent)
    (folder / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(folder)
    kill_point("finished")

