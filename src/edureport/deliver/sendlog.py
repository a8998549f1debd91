"""The send log: what went to whom, so that each report reaches each recipient once.

One file per build folder, ``<out>/<year>/<as-of>/send-log.json``, beside the manifest it sends from::

    {"version": 1,
     "sent": {"email:leader@example.org": {"review": {"sha256": "…", "title": "年度工作总结",
                                                      "recipient": "局领导", "at": "2024-01-02T02:31:05"}},
              "robot:局领导群": {…}}}

A target (one address, one robot) has received a report when the log holds the report's key with the
SHA-256 of the file it reads (the PDF, else the HTML): the same file is not sent again; a rebuilt report
with other bytes is. A target is recorded only after its message went through, and the whole file is
replaced atomically after each target (``_write``): a send killed at any instant leaves the log as it
was before or after one target, never half written, and never marking a target that did not receive its
message. (The one gap no log can close: a kill after the server accepted a message and before the log
was written sends that message again next time — at least once, never lost.)

A log that cannot be read is refused (``SendLogError``), not taken as empty: that would send every
report to everyone again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edureport.core.errors import SendLogError
from edureport.core.paths import output_error

LOG_FILE = "send-log.json"
VERSION = 1


@dataclass
class SendLog:
    path: Path
    sent: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> SendLog:
        path = folder / LOG_FILE
        if not path.exists() and not path.is_symlink():
            return cls(path)
        fix = "请检查它；删除它则全部报告会重新发送给每个收件人"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "不是有效的 JSON"
            raise SendLogError(f"发送记录 {path} 无法读取（{why}）：{fix}") from None
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise SendLogError(f"发送记录 {path} 的版本不是 {VERSION}：{fix}")
        sent = doc.get("sent")
        if not isinstance(sent, dict) or not all(isinstance(v, dict) for v in sent.values()):
            raise SendLogError(f"发送记录 {path} 的结构不对（缺少 sent）：{fix}")
        for target, reports in sent.items():
            if not all(isinstance(e, dict) for e in reports.values()):
                raise SendLogError(f"发送记录 {path} 中“{target}”的一项不是键值对：{fix}")
        return cls(path, sent)

    def already(self, target: str, key: str, sha256: str) -> bool:
        """Has ``target`` received this very file of the report ``key``?"""
        return (self.sent.get(target, {}).get(key) or {}).get("sha256") == sha256

    def when(self, target: str, key: str) -> str:
        """When ``target`` last received report ``key`` ("" if never)."""
        return str((self.sent.get(target, {}).get(key) or {}).get("at", ""))

    def record(self, target: str, recipient: str, items: list[tuple[str, str, str]]) -> None:
        """Mark ``items`` (key, sha256, title) as received by ``target`` and write the log atomically."""
        at = dt.datetime.now().isoformat(timespec="seconds")
        mine = self.sent.setdefault(target, {})
        for key, sha, title in items:
            mine[key] = {"sha256": sha, "title": title, "recipient": recipient, "at": at}
        text = json.dumps({"version": VERSION, "sent": self.sent}, ensure_ascii=False, indent=1) + "\n"
        try:
            _write(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise output_error(self.path, exc) from None


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` whole: a temporary file beside it, synced, renamed into place, and the folder
    synced so that the rename survives a power cut. Readable by its owner only (it lists addresses).

    The temporary file is ``send-log.json.<random>.writing`` — not a name a build clears as its own
    leftovers (``.*.tmp``): a build started while a send runs must not delete it from under the send."""
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".writing", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every system can open a folder (Windows): the rename is done
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
