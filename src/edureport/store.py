"""Validated tables, cached once as Parquet and read back by subset.

``load_data`` validates a data folder the first time it sees a given content (plan + every input file
+ package version) and stores the clean tables under the cache directory keyed by that hash; thirteen
reports then read Parquet instead of re-parsing Excel. ``load_subset`` is the one function reports use
to read only their township or section.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from . import __version__
from .paths import cache_dir, write_atomic
from .plan import Plan
from .tables import TABLES

CACHE_FORMAT = 2  # 2: rows sorted by township, township stored as text
FRAMES = ("townships", "schools", "observations", "baselines", "projects", "activities")
CATEGORICAL = ("indicator_id", "entity", "school_id", "township")
BY_TOWNSHIP = ("observations", "baselines", "projects", "activities")
# Rows per Parquet row group. With rows sorted by township and the township column stored as plain
# text (min/max statistics; a dictionary column gets none that pyarrow can use), reading one township
# of 10⁷ rows skips all other row groups: 0.30 s → 0.01 s.
ROW_GROUP = 65_536


@dataclass
class DataSet:
    """The clean tables of one data folder, and where they came from."""

    plan: Plan
    data_dir: str
    fingerprint: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)
    is_subset: bool = False  # one township's or section's rows only (see ``load_subset``)

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """A value derived from these tables, made once per data set object and dropped with it
        (the scope index of ``metrics``, the per-township digests of ``inputs``)."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = make()
        return store[key]


def input_files(data_dir: Path) -> list[Path]:
    """The files that feed a data folder's tables (only those; stray files do not bust the cache)."""
    names = {f"{stem}{ext}" for t in TABLES.values() for stem in (t.name, t.label) for ext in (".csv", ".xlsx")}
    return sorted(p for p in data_dir.iterdir() if p.name in names and p.is_file())


def fingerprint(data_dir: str | Path, plan: Plan, *, remember: bool = True) -> str:
    """SHA-256 over the plan, every input file (name and content digest) and the package/cache versions.
    ``remember=False`` (``edureport validate``) writes nothing, not even file digests."""
    h = hashlib.sha256(f"edureport {__version__} cache {CACHE_FORMAT}\n".encode())
    h.update(f"plan {plan.sha256}\n".encode())
    for path in input_files(Path(data_dir)):
        h.update(f"{path.name} {file_digest(path, remember=remember)}\n".encode())
    return h.hexdigest()


def file_digest(path: Path, *, remember: bool = True) -> str:
    """SHA-256 of a file's bytes, remembered under the cache folder by path, size, mtime and inode.

    Every report checks the data fingerprint when it loads its subset; re-reading 700 MB of CSV for
    that took 0.3 s per report at 10⁷ rows. A file written in the last two seconds is hashed but not
    remembered (its mtime could still change within the same clock tick), as git does for its index.
    """
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
    memo = cache_dir() / "digests" / hashlib.sha256(key.encode()).hexdigest()[:32]
    try:
        return memo.read_text(encoding="ascii")
    except OSError:
        pass
    digest = file_sha256(path)
    after = path.stat()
    if remember and (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns) and \
            st.st_mtime_ns < time.time_ns() - 2_000_000_000:
        write_atomic(memo, digest)
    return digest


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (the one hashing loop; ``file_digest`` remembers it)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_data(data_dir: str | Path, plan: Plan, *, use_cache: bool = True) -> DataSet:
    """Validated tables of a data folder; raises ``DataValidationError`` listing every problem."""
    from .validate import validate_dir

    data_dir = Path(data_dir)
    key = fingerprint(data_dir, plan, remember=use_cache) if data_dir.is_dir() else ""
    target = cache_dir() / key
    if use_cache and key and (target / "meta.json").is_file():
        return _read_cache(target, plan, data_dir, key)
    frames = validate_dir(data_dir, plan)
    warnings = frames.pop("warnings")
    for name in ("observations", "baselines"):
        for col in CATEGORICAL:
            frames[name][col] = _text_category(frames[name][col])
    for name in BY_TOWNSHIP:  # the order the cache keeps, so a fresh load and a cached one are equal
        frames[name] = frames[name].sort_values("township", kind="stable", ignore_index=True)
    ds = DataSet(plan, str(data_dir), key, frames, warnings)
    if use_cache:
        _write_cache(target, ds)
    return ds


def load_subset(data_dir: str | Path, plan: Plan, *, township: str | None = None,
                section: str | None = None) -> DataSet:
    """Only what one report needs: one township's rows and/or one section's indicators.

    Reads the Parquet cache with row filters, so the cost follows the subset, not the whole data.
    """
    full = cache_dir() / fingerprint(data_dir, plan)
    if not (full / "meta.json").is_file():
        load_data(data_dir, plan)
    ids = [i.id for i in plan.indicators_in(section)] if section else None
    tasks = [t.id for t in plan.tasks_in(section)] if section else None
    frames: dict[str, pd.DataFrame] = {}
    for name in FRAMES:
        filters: list[tuple] = []
        if township and name in ("observations", "baselines", "activities", "projects"):
            filters.append(("township", "in", [township, ""]))
        if ids is not None and name in ("observations", "baselines"):
            filters.append(("indicator_id", "in", ids))
        if tasks is not None and name == "activities":
            filters.append(("task", "in", tasks))
        frames[name] = _categories(name, pq.read_table(full / f"{name}.parquet", filters=filters or None).to_pandas())
    # The registry (schools, townships) stays whole: targets shared by number of units need the totals.
    meta = json.loads((full / "meta.json").read_text(encoding="utf-8"))
    return DataSet(plan, str(data_dir), meta["fingerprint"], frames, pd.DataFrame(meta.get("warnings", [])),
                   is_subset=True)


def _write_cache(target: Path, ds: DataSet) -> None:
    """Write to a temporary folder and rename: a half-written cache is never visible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        for name in FRAMES:
            frame = ds.frames[name]
            if "township" in frame and isinstance(frame["township"].dtype, pd.CategoricalDtype):
                frame = frame.assign(township=frame["township"].astype(str))
            frame.to_parquet(tmp / f"{name}.parquet", index=False, row_group_size=ROW_GROUP)
        meta = {"fingerprint": ds.fingerprint, "data_dir": ds.data_dir, "plan": ds.plan.sha256,
                "version": __version__, "warnings": ds.warnings.to_dict("records")}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
        if target.exists() and not (target / "meta.json").is_file():
            shutil.rmtree(target, ignore_errors=True)  # left by a writer that was killed
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race; its copy is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read_cache(target: Path, plan: Plan, data_dir: Path, key: str) -> DataSet:
    frames = {name: _categories(name, pd.read_parquet(target / f"{name}.parquet")) for name in FRAMES}
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    return DataSet(plan, str(data_dir), key, frames, pd.DataFrame(meta.get("warnings", [])))


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
