"""The one module that knows where things live (the bureau folder and its default inputs, the cache,
report files) and how a file lands there (``write_atomic``).

Every default path comes from the **bureau folder** (工作文件夹): the folder holding the marker file
``edureport.toml`` — ``$EDUREPORT_HOME`` when set, else the nearest one found walking up from the working
directory (``edureport init`` makes one; the repository root is one too). Nothing resolves from where the
package happens to be installed; only the files shipped inside the package (the report notebooks, the
sample plan) are read from there. Everything else asks here, so moving a folder is a one-line change and
tests can redirect the cache with ``EDUREPORT_CACHE_DIR``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from edureport.core.errors import BureauError, EdureportError, OutputError, OutsideOutputError  # noqa: F401  (defined with every other error)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Shipped inside the package (package data): the report notebooks the build runs and copies into a new
# bureau folder, and the sample plan with its demo register for ``edureport init`` without ``--plan``.
PACKAGE_NOTEBOOKS = PACKAGE_DIR / "report" / "notebooks"
SAMPLE_PARAMS = PACKAGE_DIR / "plan" / "sample"

MARKER = "edureport.toml"  # marks a bureau folder
HOME_ENV = "EDUREPORT_HOME"


def find_bureau(start: str | Path | None = None) -> Path | None:
    """The bureau folder: ``$EDUREPORT_HOME`` (which must hold the marker), else the nearest folder with
    ``edureport.toml`` from ``start`` (default: the working directory) upwards, else None."""
    env = os.environ.get(HOME_ENV, "")
    if env:
        home = Path(env).expanduser().absolute()
        if not (home / MARKER).is_file():
            raise BureauError(f"环境变量 {HOME_ENV} 指向的“{home}”不是 edureport 工作文件夹（其中没有 {MARKER}）："
                              f"请运行“edureport init {home}”创建它，或改正该环境变量")
        return home
    here = Path(start if start is not None else Path.cwd()).absolute()
    return next((folder for folder in (here, *here.parents) if (folder / MARKER).is_file()), None)


def bureau_dir() -> Path:
    """The bureau folder, or ``BureauError`` saying how to get one (a default path was asked for)."""
    found = find_bureau()
    if found is None:
        raise BureauError(f"找不到 edureport 工作文件夹：当前文件夹“{Path.cwd()}”及其各级上级文件夹中都没有 {MARKER}。"
                          "请先运行“edureport init 文件夹”创建一个工作文件夹并进入其中运行；"
                          f"或设置环境变量 {HOME_ENV} 指向工作文件夹；或用 --plan、--data、--out 等选项给出全部路径")
    return found


def project_root() -> Path:
    """The bureau folder if there is one, else the working directory (for information only, such as the
    git commit in a build's manifest: never raises)."""
    try:
        return find_bureau() or Path.cwd()
    except BureauError:
        return Path.cwd()


def params_dir() -> Path:
    return bureau_dir() / "params"


def default_plan_file() -> Path:
    """The newest ``params/plan-*.yaml``: dropping in next year's plan makes it the default."""
    plans = sorted(params_dir().glob("plan-*.yaml"))
    return plans[-1] if plans else params_dir() / "plan.yaml"


def demo_reference_file() -> Path:
    """Named townships and schools the demo generator starts from (reference data, not a plan)."""
    return params_dir() / "demo-reference.yaml"


def distribution_file() -> Path:
    """Who receives which reports (``edureport send``): the bureau folder's ``params/distribution.yaml``."""
    return params_dir() / "distribution.yaml"


def demo_data_dir() -> Path:
    return bureau_dir() / "data" / "demo"


def outputs_dir() -> Path:
    return bureau_dir() / "outputs"


def cache_dir() -> Path:
    """Where validated tables are cached as Parquet, keyed by the inputs' content hash.

    Never inside the data folder: input data is read-only to us.
    """
    env = os.environ.get("EDUREPORT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "edureport"


def resolve(path: str | Path) -> Path:
    """A path as given, or relative to the bureau folder (a notebook runs inside its notebooks/): an
    absolute path or one that exists from the working directory is used as it is; otherwise the bureau
    folder's, when there is one."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    home = find_bureau()
    return home / p if home is not None else p


def plan_path(given: str | Path | None = None) -> Path:
    """A plan file as given (``resolve``), or, for "" or None, the bureau folder's default."""
    return resolve(given) if given else default_plan_file()


def data_path(given: str | Path | None = None) -> Path:
    """A data folder as given (``resolve``), or, for "" or None, the bureau folder's ``data/demo``."""
    return resolve(given) if given else demo_data_dir()


def commentary_file(year: int) -> Path:
    """The bureau folder's ``params/commentary-<year>.yaml``."""
    return params_dir() / f"commentary-{year}.yaml"


def default_commentary_file(plan_file: str | Path, year: int) -> Path:
    """The commentary that goes with a plan: ``commentary-<year>.yaml`` beside the plan file, else the
    bureau folder's ``params/commentary-<year>.yaml``; the first that exists, else the one beside the plan
    (a missing commentary file means "no commentary"). So two bureaus with plans of the same year keep
    their own commentary, and a plan kept outside ``params/`` can bring its own."""
    beside = Path(plan_file).parent / f"commentary-{year}.yaml"
    if beside.exists() or beside.is_symlink():
        return beside
    try:
        home = find_bureau()
    except BureauError:
        home = None
    if home is not None:
        theirs = home / "params" / beside.name
        if theirs.exists() or theirs.is_symlink():
            return theirs
    return beside


def report_dir(out: str | Path, year: int, as_of: str) -> Path:
    """outputs/<year>/<as-of>/ — every report of one build lives below here."""
    return Path(out) / str(year) / as_of


def report_files(out: str | Path, year: int, as_of: str, stem: str,
                 outputs: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Path]:
    """The executed notebook of one report and its file in each output format: ``outputs`` maps a format's
    name to its folder and extension (``render.formats.output_files`` passes the registered formats'). ``stem``
    must be one plain file name (see ``report.kinds.name_stem``) and every path must stay inside ``out``;
    otherwise ``OutsideOutputError``.

    Checked on the spelled path (made absolute, "." and ".." removed), not on symlinks resolved: an
    administrator may link ``html/`` to another disk, and the atomic writer replaces a link placed at a
    report's own path instead of writing through it."""
    if (not stem or stem in (".", "..") or any(c in stem for c in "/\\\0")
            or any(ord(c) < 0x20 for c in stem)):
        raise OutsideOutputError(f"报告文件名 {stem!r} 不是一个普通的文件名")
    base = report_dir(out, year, as_of)
    files = {name: base / folder / f"{stem}{extension}" for name, (folder, extension) in (outputs or {}).items()}
    files["ipynb"] = base / "notebooks" / f"{stem}.ipynb"
    root = os.path.abspath(out)
    for path in files.values():
        if os.path.commonpath([root, os.path.abspath(path)]) != root:
            raise OutsideOutputError(f"报告文件“{path}”不在输出文件夹“{root}”中")
    return files


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (the one hashing loop; ``store.file_digest``
    remembers it)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside the target and rename it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # (backslashreplace: a path whose bytes are not UTF-8 may be part of a text; it must not stop the write)
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; published reports are world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_WHY = {errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额", errno.EROFS: "文件系统只读", errno.EACCES: "没有权限",
        errno.EPERM: "没有权限", errno.EISDIR: "那里是一个文件夹", errno.ENOTDIR: "路径中有一个同名的文件",
        errno.EEXIST: "已存在同名的文件", errno.ENAMETOOLONG: "文件名过长", errno.ENOENT: "文件不存在"}


def shown_name(path: Path) -> str:
    """A file's name as text. A name whose bytes are not UTF-8 (a GBK name from a Windows zip or USB
    stick) is read as GB18030, else shown with its odd bytes escaped: it can then go into messages, the
    import log and CSV cells, which a raw undecodable name would crash."""
    raw = os.fsencode(path.name)
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")


def utf8_problem(path: Path, what: str) -> str | None:
    """Why a path given to edureport cannot be used as text (bytes that are not UTF-8), or None."""
    try:
        str(path).encode("utf-8")
        return None
    except UnicodeEncodeError:
        return (f"{what}路径“{os.fsencode(path).decode('utf-8', 'backslashreplace')}”中有不是 UTF-8 编码的字符"
                "（多为 Windows 下的 GBK 文件名）；请把它改名后再运行")


def why(exc: OSError) -> str:
    """Why a file operation failed, in Chinese (磁盘已满, 没有写权限, …)."""
    return _WHY.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def output_error(path: Path, exc: OSError) -> OutputError:
    """The Chinese message for an OSError while writing ``path``."""
    return OutputError(f"无法写入 {path}：{why(exc)}")


def check_output(folder: Path, *, files: Iterable[Path] = (), folders: Iterable[Path] = ()) -> None:
    """Before a command writes anything: every folder it will write into is (or can be made) a folder,
    every file it will replace is not a folder, and a small file can be written and removed — so a
    read-only or full output folder, or an ``index.html`` that is a folder, is one message up front
    instead of a traceback halfway. Raises ``OutputError`` listing every conflict."""
    problems = []
    for d in (folder, *folders):
        blocker = next((p for p in (d, *d.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            problems.append(f"{blocker} 应为文件夹，但是一个文件")
    for f in files:
        if f.exists() and not f.is_file():
            problems.append(f"{f} 应为文件，但是一个文件夹或其他类型")
    if problems:
        raise OutputError("无法写入输出文件夹：" + "；".join(dict.fromkeys(problems)))
    try:
        for d in (folder, *folders):
            d.mkdir(parents=True, exist_ok=True)
        # ".tmp": the probe of a build killed right here is cleared with its other leftovers
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".edureport-probe-", suffix=".tmp") as fh:
            fh.write(b"\0" * 65536)  # a nearly full disk fails here, not in the middle of a build
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise output_error(Path(exc.filename) if exc.filename else folder, exc) from None
