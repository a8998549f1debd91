"""Validated tables, cached once as Parquet and read back by subset.

``load_data`` validates a data folder the first time it sees a given content (plan + every input file
+ package version) and stores the clean tables under the cache directory keyed by that hash; thirteen
reports then read Parquet instead of re-parsing Excel. ``load_subset`` is the one function reports use
to read only their township or section.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from edureport.core import cachefile
from edureport.core.errors import DataValidationError, Problem, SnapshotGoneError
from edureport.core.limits import CSV_MAX_BYTES
from edureport.core.paths import cache_dir, file_sha256, why
from edureport.core.version import __version__
from edureport.data import datafolder
from edureport.data.schema import CATEGORICAL, FILE_STEMS, FILE_TABLE
from edureport.data.validate import validate_dir
from edureport.plan.model import Plan

CACHE_FORMAT = 3  # 2: rows sorted by township, township stored as text; 3: verified envelopes (cachefile)
FRAMES = ("townships", "schools", "observations", "baselines", "projects", "activities")
BY_TOWNSHIP = ("observations", "baselines", "projects", "activities")
# Rows per Parquet row group. With rows sorted by township and the township column stored as plain
# text (min/max statistics; a dictionary column gets none that pyarrow can use), reading one township
# of 10⁷ rows skips all other row groups: 0.30 s → 0.01 s.
ROW_GROUP = 65_536
log = logging.getLogger("edureport")
FRESH_NS = 2_000_000_000  # a file changed this recently is not remembered (see ``file_digest``)


@dataclass
class DataSet:
    """The clean tables of one data folder, and where they came from."""

    plan: Plan
    data_dir: str
    fingerprint: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)
    is_subset: bool = False  # one township's or section's rows only (see ``load_subset``)
    sources: dict[str, str] = field(default_factory=dict)  # input file name → SHA-256 of what was read

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """A value derived from these tables, made once per data set object and dropped with it
        (the scope index of ``metrics.scopes``, the per-township digests of ``batch.keys``)."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = make()
        return store[key]


def input_files(data_dir: Path) -> list[Path]:
    """The files that feed a data folder's tables (only those; stray files do not bust the cache)."""
    names = {f"{stem}{ext}" for stem in FILE_STEMS for ext in (".csv", ".xlsx")}
    return sorted(p for p in data_dir.iterdir() if p.name in names and p.is_file())


def _oversized(data_dir: Path) -> bool:
    return any(p.suffix == ".csv" and p.stat().st_size > CSV_MAX_BYTES[FILE_TABLE[p.stem]] for p in input_files(data_dir))


def _unreadable(data_dir: Path) -> bool:
    return any(not os.access(p, os.R_OK) for p in input_files(data_dir))


def fingerprint(data_dir: str | Path, plan: Plan, *, remember: bool = True) -> str:
    """SHA-256 over the plan, every input file (name and content digest) and the package/cache versions.
    ``remember=False`` (``edureport validate``) writes nothing, not even file digests."""
    return _fingerprint(plan, _sources(Path(data_dir), remember))


def _sources(data_dir: Path, remember: bool) -> dict[str, str]:
    return {p.name: file_digest(p, remember=remember) for p in input_files(data_dir)}


def _fingerprint(plan: Plan, sources: dict[str, str]) -> str:
    # The code is in the key: tables validated by other code (other name rules, say) are never reused.
    h = hashlib.sha256(f"edureport {__version__} code {cachefile.code_fingerprint()} cache {CACHE_FORMAT}\n".encode())
    h.update(f"plan {plan.sha256}\n".encode())
    for name, digest in sorted(sources.items()):
        h.update(f"{name} {digest}\n".encode())
    return h.hexdigest()


def file_digest(path: Path, *, remember: bool = True) -> str:
    """SHA-256 of a file's bytes, remembered under the cache folder by path, device, inode, size, mtime
    and ctime.

    Every report checks the data fingerprint when it loads its subset; re-reading 700 MB of CSV for
    that took 0.3 s per report at 10⁷ rows. The ctime is in the key because anyone can set a file's
    mtime back (``touch -d``, ``cp -p``, a same-size edit with the old mtime restored) but nobody can set
    its ctime: any write or chmod moves it. A file changed in the last two seconds is hashed but not
    remembered (its times could still repeat within the same clock tick), as git does for its index.
    The remembered digest is a verified cache file (``cachefile``): a damaged one is hashed again.
    """
    st = path.stat()
    key = os.fsencode(f"{path.resolve()}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}")
    memo = cache_dir() / "digests" / hashlib.sha256(key).hexdigest()[:32]
    stored = cachefile.read(memo, warn=False)
    if stored is not None and stored.startswith(key + b"\n"):
        digest = stored[len(key) + 1:].decode("ascii", "replace")
        if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            return digest
    digest = file_sha256(path)
    after = path.stat()
    fresh = max(st.st_mtime_ns, st.st_ctime_ns) >= time.time_ns() - FRESH_NS
    same = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if remember and same and not fresh:
        with contextlib.suppress(OSError):  # an unwritable cache only costs the hashing next time
            cachefile.write(memo, key + b"\n" + digest.encode("ascii"))
    return digest


def missing_folder(data_dir: Path) -> DataValidationError:
    """The error for a data folder that is not there, naming the path as given and as resolved."""
    shown = str(data_dir) if str(data_dir) == str(data_dir.absolute()) else f"{data_dir}（{data_dir.absolute()}）"
    what = "不是文件夹" if data_dir.exists() else "不存在"
    return DataValidationError([Problem(shown, message=f"数据文件夹{what}")])


def load_data(data_dir: str | Path, plan: Plan, *, use_cache: bool = True) -> DataSet:
    """Validated tables of a data folder; raises ``DataValidationError`` listing every problem.

    The folder is read under its shared lock (``datafolder.consistent``): an import waits, and an import
    that was interrupted is finished first, so the tables are the old data or the new, never a mix.
    ``use_cache=False`` (``edureport validate``) neither reads nor writes the cache.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise missing_folder(data_dir)
    for _ in range(3):
        with datafolder.consistent(data_dir, on_wait=lambda: _waiting(data_dir)):
            if _oversized(data_dir) or _unreadable(data_dir):  # validation refuses them in a moment (don't
                validate_dir(data_dir, plan)                      # hash gigabytes for a cache key first)
            before = _stats(data_dir)
            sources = _sources(data_dir, use_cache)
            key = _fingerprint(plan, sources)
            target = cache_dir() / key
            if use_cache:
                cached = _read_cache(target, plan, data_dir, key)
                if cached is not None:
                    return cached
            frames = validate_dir(data_dir, plan)
            # The lock keeps imports out, not a person saving a file from Excel: if any input changed while
            # it was read, the tables might not be the data the key names. Read again.
            if _stats(data_dir) == before:
                break
    else:
        raise DataValidationError([Problem(str(data_dir), message="数据文件在读取期间一直被修改（不是通过 "
                                           "edureport import）；请等修改完成后再运行")])
    warnings = frames.pop("warnings")
    for name in ("observations", "baselines"):
        for col in CATEGORICAL:
            frames[name][col] = _text_category(frames[name][col])
    for name in BY_TOWNSHIP:  # the order the cache keeps, so a fresh load and a cached one are equal
        frames[name] = frames[name].sort_values("township", kind="stable", ignore_index=True)
    ds = DataSet(plan, str(data_dir), key, frames, warnings, sources=sources)
    if use_cache:
        _write_cache(target, ds)
    return ds


def _stats(data_dir: Path) -> list[tuple]:
    out = []
    for p in input_files(data_dir):
        st = p.stat()
        out.append((p.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return out


def _waiting(data_dir: Path) -> None:
    log.warning("另一个导入正在写入数据文件夹 %s，等它完成后再读取……", data_dir)


def load_subset(data_dir: str | Path, plan: Plan, *, township: str | None = None,
                section: str | None = None, fingerprint: str = "") -> DataSet:
    """Only what one report needs: one township's rows and/or one section's indicators.

    Reads the Parquet cache with row filters, so the cost follows the subset, not the whole data.
    ``fingerprint`` names the snapshot a build started from: the report then reads exactly those data,
    whatever has been imported into the folder since (``edureport build`` passes it).
    """
    ids = [i.id for i in plan.indicators_in(section)] if section else None
    tasks = [t.id for t in plan.tasks_in(section)] if section else None
    filters: dict[str, list[tuple]] = {name: [] for name in FRAMES}
    for name in ("observations", "baselines", "activities", "projects"):
        if township:
            filters[name].append(("township", "in", [township, ""]))
    if ids is not None:
        filters["observations"].append(("indicator_id", "in", ids))
        filters["baselines"].append(("indicator_id", "in", ids))
    if tasks is not None:
        filters["activities"].append(("task", "in", tasks))
    # The registry (schools, townships) stays whole: targets shared by number of units need the totals.
    return load_snapshot(data_dir, plan, fingerprint, filters)


def load_register(data_dir: str | Path, plan: Plan, *, fingerprint: str = "") -> DataSet:
    """Only the register (townships and schools), none of the figures: what a notebook needs to pick its
    default township. Read from the same verified cache as the rest."""
    filters: dict[str, list[tuple]] = {name: [] for name in FRAMES}
    for name in BY_TOWNSHIP:
        filters[name].append(("township", "in", ["\0"]))  # no unit is called NUL (validation refuses it)
    return load_snapshot(data_dir, plan, fingerprint, filters)


def load_snapshot(data_dir: str | Path, plan: Plan, fingerprint: str = "",
                  filters: dict[str, list[tuple]] | None = None) -> DataSet:
    """The data set with this fingerprint (default: the folder's current one), read from the verified
    cache; a missing or damaged cache entry is rebuilt from the folder if the folder still holds
    those data, otherwise ``SnapshotGoneError``."""
    data_dir = Path(data_dir)
    pinned = bool(fingerprint)
    if not pinned:
        if not data_dir.is_dir():
            raise missing_folder(data_dir)
        with datafolder.consistent(data_dir, on_wait=lambda: _waiting(data_dir)):
            fingerprint = _fingerprint(plan, _sources(data_dir, True))
    cached = _read_cache(cache_dir() / fingerprint, plan, data_dir, fingerprint, filters)
    if cached is not None:
        return cached
    whole = load_data(data_dir, plan)  # validates the folder again and stores it
    if not pinned:
        fingerprint = whole.fingerprint  # (an import may have landed in between: then these are the new data)
    elif whole.fingerprint != fingerprint:
        raise SnapshotGoneError(f"构建开始时的数据（指纹 {fingerprint[:12]}）已不在缓存中，而数据文件夹 {data_dir} "
                                f"此后已经改变（现在的指纹 {whole.fingerprint[:12]}）；请重新运行 edureport build")
    cached = _read_cache(cache_dir() / fingerprint, plan, data_dir, fingerprint, filters)
    return cached if cached is not None else whole  # an unwritable cache: the whole data, read just now


def _write_cache(target: Path, ds: DataSet) -> None:
    """Write to a temporary folder and rename: a half-written cache is never visible. An unwritable
    cache folder only costs speed (one warning), never the result."""
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        os.chmod(tmp, 0o755)  # (mkdtemp makes it 0700) readable by the other accounts that share this cache
        for name in FRAMES:
            frame = ds.frames[name]
            if "township" in frame and isinstance(frame["township"].dtype, pd.CategoricalDtype):
                frame = frame.assign(township=frame["township"].astype(str))
            cachefile.write(tmp / f"{name}.parquet", frame.to_parquet(None, index=False, row_group_size=ROW_GROUP))
        meta = {"fingerprint": ds.fingerprint, "data_dir": ds.data_dir, "plan": ds.plan.sha256,
                "version": __version__, "sources": ds.sources, "warnings": ds.warnings.to_dict("records")}
        # ASCII: a path with bytes that are not UTF-8 (a GBK folder name) must not stop the cache being written
        cachefile.write(tmp / "meta.json", json.dumps(meta, ensure_ascii=True, default=str).encode("ascii"))
        if target.exists() and _read_cache(target, ds.plan, Path(ds.data_dir), ds.fingerprint, warn=False):
            return  # another process stored the same data meanwhile: keep its copy (readers may be using it)
        if target.exists():  # damaged or incomplete: set it aside
            trash = target.with_name(f".trash-{os.getpid()}-{target.name}")
            with contextlib.suppress(OSError):
                os.replace(target, trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, target)
            tmp = None
        except OSError:  # another process stored the same data first; its copy is identical
            pass
    except OSError as exc:
        log.warning("无法写入缓存文件夹 %s（%s），本次不使用缓存", target.parent, exc.strerror or exc)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _read_cache(target: Path, plan: Plan, data_dir: Path, key: str,
                filters: dict[str, list[tuple]] | None = None, *, warn: bool = True) -> DataSet | None:
    """The cached data set, every file verified (``cachefile``); None when there is none or any part of
    it is missing or damaged (then with one warning line: the caller rebuilds it from the source)."""
    try:
        return _read_entry(target, plan, data_dir, key, filters, warn=warn)
    except OSError as exc:  # an entry another account made (0700), a folder without permission, …
        if warn:
            cachefile.warn_damaged(target, why(exc))
        return None


def _read_entry(target: Path, plan: Plan, data_dir: Path, key: str, filters: dict[str, list[tuple]] | None,
                *, warn: bool) -> DataSet | None:
    if not target.exists():
        return None
    meta_bytes = cachefile.read(target / "meta.json", warn=warn)
    if meta_bytes is None:
        if warn and not (target / "meta.json").exists() and any(target.glob("*.parquet")):
            cachefile.warn_damaged(target / "meta.json", "文件缺失")  # (a damaged one was warned about already)
        return None
    frames: dict[str, pd.DataFrame] = {}
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
        for name in FRAMES:
            path = target / f"{name}.parquet"
            payload = cachefile.read(path, warn=warn)
            if payload is None:
                if warn and not path.exists():
                    cachefile.warn_damaged(path, "文件缺失")
                return None
            wanted = (filters or {}).get(name) or None
            table = pq.read_table(pa.BufferReader(payload), filters=wanted)
            frames[name] = _categories(name, table.to_pandas())
    except (ValueError, KeyError, TypeError, pa.ArrowException) as exc:  # verified bytes that still do not parse
        if warn:
            cachefile.warn_damaged(target, type(exc).__name__)
        return None
    return DataSet(plan, str(data_dir), key, frames, pd.DataFrame(meta.get("warnings", [])),
                   is_subset=filters is not None, sources=meta.get("sources", {}))


def _text_category(column: pd.Series) -> pd.Series:
    """A category of text values (validation gives categories already; re-typing only their few
    distinct values keeps ten million rows from being turned into strings again)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.rename_categories(column.cat.categories.astype(str))
    return column.astype(str).astype("category")


def _categories(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The township column is stored as text (see ROW_GROUP); in memory it is a category again."""
    if name in ("observations", "baselines") and "township" in frame:
        frame["township"] = frame["township"].astype("category")
    return frame
