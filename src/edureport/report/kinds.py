"""Report kinds: what a kind of report is, the registry of them, and the jobs a build runs.

A report kind is ONE module in ``report/`` (``section.py``, ``township.py``, ``department.py``, ``review.py``) plus its
notebook: the module holds the report's content functions and, at its bottom, registers one ``ReportKind``
subclass that says everything else about the kind — its name and Chinese label, its notebook, its title
(the one source: the job list, the log, the index page, the HTML ``<title>`` and the report's cover all
use ``title``), the notebook parameters its jobs set, its jobs, the extra names ``--only`` accepts for a
job, its group on the index page (``group``), and which part of the data its build key covers (``data_digests``). Code outside a kind's module asks
the kind (``get_report_kind(job.kind)``) and never compares a kind's name.

``report/catalog.py`` imports the three built-in modules so that they register; the batch layer imports
the registry through it. This module cannot import them itself: they import ``context``, which imports
this module for ``get_report_kind``.

A report's file name comes from a unit name only through ``name_stem``: names are data, never paths.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from edureport.core.errors import ReportNameError, UnknownReportKindError
from edureport.core.registry import Registry
from edureport.data.store import DataSet
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown
from edureport.plan.model import Plan


@dataclass(frozen=True)
class Job:
    kind: str
    key: str  # what --only accepts: section:1, township:图克镇, review
    stem: str  # output file name without extension
    title: str
    notebook: str  # the kind's notebook: a file name in notebooks/, or an absolute path
    parameters: dict[str, Any] = field(default_factory=dict)
    subgroup: str = ""  # where it goes inside its kind's group on the index page (a school's township)


class ReportKind:
    """One kind of report. A subclass sets the class attributes and ``title``; the methods' defaults fit
    a kind with one report per build that may show any of the data."""

    name: ClassVar[str]  # the registry key: --only <name>, ReportContext.load(<name>, …), Job.kind
    label: ClassVar[str]  # Chinese name (分部分进展报告)
    # The notebook: a file name in the package's report/notebooks/ (``EDUREPORT_NOTEBOOKS_DIR`` overrides
    # the folder), or an absolute path for a kind whose notebook lives elsewhere (a plug-in, a test).
    notebook: ClassVar[str]
    parameters: ClassVar[tuple[str, ...]] = ()  # notebook parameters each job sets (besides the common ones)
    order: ClassVar[int] = 100  # where its reports come in a build and on the index page (lower first)
    # Its group on the index page: (place, heading), lower places first; in the heading "{unit}" is the
    # plan's township_label and "{department}" its department_label. Default: with the whole region's reports.
    group: ClassVar[tuple[int, str]] = (0, "总结")

    def title(self, plan: Plan, **parameters: Any) -> str:
        """The report's title from its parameters: the one source for the job list and the report's cover."""
        raise NotImplementedError

    def resolve(self, plan: Plan, units: Callable[[], Sequence[str]], **parameters: Any) -> dict[str, Any]:
        """The kind's parameters as a notebook, papermill or a build gives them (``papermill -p section 2``
        passes the number 2), written the one way the report uses, with "" replaced by the kind's default
        (a notebook's parameters cell leaves them empty so that it runs in any bureau folder). A value the
        plan does not have raises ``ReportParameterError``: one Chinese line naming the parameter and the
        values it can take. ``units`` returns the register's units in register order; it reads the data
        folder, so call it only for a default. Default: the parameters as given."""
        return parameters

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        """The reports of one build (default: one, keyed and named by the kind's name). ``townships``: the
        register's units in order; ``schools``: its schools (school_id, name, township, stage, ownership)."""
        return [self.job(self.name, self.name, plan)]

    def job(self, key: str, stem: str, plan: Plan, **parameters: Any) -> Job:
        """A job of this kind, titled by ``title``."""
        return Job(self.name, key, stem, self.title(plan, **parameters), self.notebook, parameters)

    def subset(self, **parameters: Any) -> dict[str, str]:
        """Which part of the data the report reads (``load_subset``'s ``township``/``section``): default
        none, the whole data set. ``parameters`` are the resolved ones (``resolve``)."""
        return {}

    def place(self, **parameters: Any) -> tuple[str, str]:
        """Whose figures the report's headline counts (the index page, delivery's messages), from a job's
        parameters: ("banner", ""), ("township", name) or ("school", school id). Default: the township
        ``subset`` names, else the whole region."""
        township = self.subset(**parameters).get("township")
        return ("township", township) if township else ("banner", "")

    def aliases(self, job: Job) -> list[str]:
        """Other names ``--only`` accepts for the job besides ``job.key`` (default: none)."""
        return []

    def data_digests(self, job: Job, data: DataSet, *, shown_results: Shown = NOTHING_SHOWN) -> dict[str, str]:
        """Digests of the data the report can show: the part of its build key that decides whether new
        data rebuild it. Too little here serves a stale report, so the default is all the data.
        ``shown_results`` digests what reports print about other places: ``places``, the banner's and every
        township's figures (township reports' ranks and charts); ``schools(stage)``, every school of a stage."""
        return {"all": data.fingerprint}


REPORTS: Registry[ReportKind] = Registry("报告类型", UnknownReportKindError, key=lambda k: k.name)


def register(kind: ReportKind) -> ReportKind:
    """Add a report kind (a later registration with the same name replaces it)."""
    return REPORTS.register(kind)


def get_report_kind(name: str) -> ReportKind:
    """The registered kind called ``name``; an unknown name raises ``UnknownReportKindError``."""
    return REPORTS.get(name)


def report_kinds() -> list[ReportKind]:
    """Every registered kind, in report order."""
    return sorted(REPORTS, key=lambda k: k.order)


# --- File names ----------------------------------------------------------------------------------------

# The part of a file name taken from a unit name, in UTF-8 bytes. File systems allow 255 bytes per name;
# the longest file made from a stem is the atomic writer's ".<stem>.ipynb.<8 random>.tmp" (stem + 20),
# and the prefix and hash add at most 22: 150 keeps every file name under 200 bytes, and a 50-character
# Chinese name (the validation limit, 150 bytes) stays whole and readable.
STEM_NAME_BYTES = 150
HASH_CHARS = 12  # 48 bits of SHA-256: two names of one county never share it by chance
# Besides letters, marks and digits: characters that are safe in file names on Linux, Windows and macOS
# and in the index page's relative links (no % # ? & space, nothing Windows forbids).
STEM_PUNCTUATION = frozenset("-_.()（）·")


def _readable(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN" or char in STEM_PUNCTUATION


def name_stem(prefix: str, name: str, *, hashed: bool = False) -> str:
    """``<prefix>-<name>`` when the name is safe as it is (township-图克镇); otherwise (or with ``hashed``)
    ``<prefix>-<slug>-<hash>``: every other character replaced by "_", cut to STEM_NAME_BYTES, and the
    first HASH_CHARS hex digits of the name's SHA-256, so that names that slug alike still differ. File
    names are NFC; a name that is not (validation makes every name NFC) is hashed too."""
    slug = re.sub("_+", "_", "".join(c if _readable(c) else "_" for c in unicodedata.normalize("NFC", name)))
    slug = slug.encode("utf-8")[:STEM_NAME_BYTES].decode("utf-8", "ignore")  # whole characters only
    if slug == name and not hashed:
        return f"{prefix}-{name}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{prefix}-{slug}-{digest}"


def unique_stems(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Name → file stem, no two alike even ignoring case (Windows and macOS folders do): a readable stem
    that clashes with another (a name "a_b" and a name "a b" slugged to "a_b-…", or "Ab" and "ab") is
    replaced by its hashed form until none clash."""
    def fold(stem: str) -> str:
        return unicodedata.normalize("NFC", stem).casefold()

    stems = {n: name_stem(prefix, n) for n in names}
    while True:
        count = Counter(fold(s) for s in stems.values())
        clash = [n for n, s in stems.items() if count[fold(s)] > 1]
        todo = [n for n in clash if stems[n] != name_stem(prefix, n, hashed=True)]
        if not clash:
            return stems
        if not todo:  # equal hashes of different names
            raise ReportNameError(f"报告文件名重复：{'、'.join(sorted(stems[n] for n in clash))}")
        for n in todo:
            stems[n] = name_stem(prefix, n, hashed=True)


# --- Data digests for ``data_digests`` (see batch/keys.py) ---------------------------------------------

TABLES = ("observations", "baselines", "activities", "projects")


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a frame's rows (order-sensitive, index ignored)."""
    if frame.empty:
        return hashlib.sha256(",".join(map(str, frame.columns)).encode()).hexdigest()
    values = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(values.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()


def section_rows(ds: DataSet, indicators: list[str], tasks: list[int], projects: list[str]) -> dict[str, str]:
    """Digests of a section's rows: its indicators, tasks and projects, in every township."""
    keep = {"observations": ("indicator_id", indicators), "baselines": ("indicator_id", indicators),
            "activities": ("task", tasks), "projects": ("project_id", projects)}
    out = {}
    for name in TABLES:
        frame = ds.frames[name]
        column, values = keep[name]
        out[name] = frame_digest(frame[frame[column].astype(str).isin([str(v) for v in values])])
    return out | registry_rows(ds)


def township_rows(ds: DataSet, township: str) -> dict[str, str]:
    """Digests of one township's rows plus the rows that belong to no township (banner-wide)."""
    out = {}
    for name in TABLES:
        by_town = ds.memo(f"inputs:towns:{name}", lambda name=name: _digest_by_township(ds.frames[name]))
        out[name] = hashlib.sha256((by_town.get(township, "") + by_town.get("", "")).encode()).hexdigest()
    return out | registry_rows(ds)


def school_rows(ds: DataSet, school_id: str) -> dict[str, str]:
    """Digests of one school's rows (its figures, baselines, activities and projects: every row that
    names its school code)."""
    out = {}
    for name in TABLES:
        by_school = ds.memo(f"inputs:schools:{name}", lambda name=name: _digest_by(ds.frames[name], "school_id"))
        out[name] = by_school.get(school_id, "")
    return out | registry_rows(ds)


def _digest_by_township(frame: pd.DataFrame) -> dict[str, str]:
    """One digest per township value, from one grouping (not one full scan per township)."""
    return _digest_by(frame, "township")


def _digest_by(frame: pd.DataFrame, column: str) -> dict[str, str]:
    return {str(k): frame_digest(g) for k, g in frame.groupby(frame[column].astype(str), sort=False)}


def registry_rows(ds: DataSet) -> dict[str, str]:
    """Digest of the school and township registers (names, stages: every report prints some)."""
    return {"registry": ds.memo("inputs:registry", lambda: frame_digest(ds.schools) + frame_digest(ds.townships))}
