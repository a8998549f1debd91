"""A second bureau on day one: ``edureport init`` makes a self-contained bureau folder (工作文件夹); every
default path comes from the bureau folder (the marker ``edureport.toml`` found walking up from the working
directory, or ``EDUREPORT_HOME``), never from where the package is installed; the package ships the report
notebooks and a sample plan; a plan's commentary is the one beside it, else its bureau's.

The acceptance scenario installs the package as a regular (non-editable) wheel into a folder and runs it
from outside the checkout: ``init``, ``demo-data``, ``validate``, ``build``, and a notebook of the new
bureau run by papermill with its parameters cell as it is.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from edureport.core.errors import BureauError
from edureport.core.paths import (
    HOME_ENV,
    MARKER,
    PACKAGE_NOTEBOOKS,
    SAMPLE_PARAMS,
    bureau_dir,
    default_commentary_file,
    default_plan_file,
    demo_data_dir,
    find_bureau,
    outputs_dir,
    resolve,
)
from edureport.plan.commentary import load_commentary

from .conftest import MINI, ROOT, run, tree_digest

DISTRICT = ROOT / "tests" / "data" / "district"
MINI_PLAN = MINI / "plan.yaml"


@pytest.fixture(autouse=True)
def no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)


def make_bureau(folder: Path, plan: Path = MINI_PLAN, *extra: str) -> Path:
    result = run("init", folder, "--plan", plan, *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return folder


# --- what the package ships --------------------------------------------------------------------------


def test_packaged_notebooks_are_the_repository_notebooks() -> None:
    """The build runs the package's copies (src/edureport/report/notebooks/); notebooks/ at the root are
    the analysts' copies in this checkout. Edit one, copy it to the other."""
    ours = {p.name: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    shipped = {p.name: p.read_bytes() for p in PACKAGE_NOTEBOOKS.glob("*.ipynb")}
    assert set(ours) == set(shipped) == {"section_report.ipynb", "township_report.ipynb", "department_report.ipynb",
                                         "school_report.ipynb",
                                         "year_end_review.ipynb"}
    for name in ours:
        assert ours[name] == shipped[name], f"notebooks/{name} 与 src/edureport/report/notebooks/{name} 不同：请复制"


def test_sample_params_are_the_repository_params() -> None:
    """``edureport init`` without --plan copies the sample plan and register shipped in the package."""
    for name in ("plan-2023.yaml", "demo-reference.yaml"):
        assert (SAMPLE_PARAMS / name).read_bytes() == (ROOT / "params" / name).read_bytes(), \
            f"params/{name} 与 src/edureport/plan/sample/{name} 不同：请复制"


# --- where paths come from ---------------------------------------------------------------------------


def test_the_repository_root_is_a_bureau_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ROOT / MARKER).is_file()
    assert find_bureau(ROOT / "src" / "edureport" / "report") == ROOT
    monkeypatch.chdir(ROOT / "notebooks")
    assert bureau_dir() == ROOT and default_plan_file() == ROOT / "params" / "plan-2023.yaml"
    assert resolve("data/demo") == ROOT / "data" / "demo"


def test_the_marker_is_found_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "局"
    (home / "params").mkdir(parents=True)
    (home / MARKER).write_text("[bureau]\n", encoding="utf-8")
    for year in (2023, 2025, 2024):
        (home / "params" / f"plan-{year}.yaml").write_text("", encoding="utf-8")
    deep = home / "data" / "x" / "y"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_bureau() == home and bureau_dir() == home
    assert default_plan_file() == home / "params" / "plan-2025.yaml", "the newest plan"
    assert demo_data_dir() == home / "data" / "demo" and outputs_dir() == home / "outputs"
    assert resolve("params/plan-2024.yaml") == home / "params" / "plan-2024.yaml"
    (deep / "params").mkdir()
    assert resolve("params") == Path("params"), "a path that exists from the working directory stays as given"


def test_edureport_home_wins_over_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there):
        folder.mkdir()
        (folder / MARKER).write_text("[bureau]\n", encoding="utf-8")
    monkeypatch.chdir(here)
    assert bureau_dir() == here
    monkeypatch.setenv(HOME_ENV, str(there))
    assert bureau_dir() == there and demo_data_dir() == there / "data" / "demo"


def test_edureport_home_must_be_a_bureau_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    with pytest.raises(BureauError, match=r"EDUREPORT_HOME.*edureport init"):
        bureau_dir()
    result = run("plan")
    assert result.exit_code == 2 and "EDUREPORT_HOME" in result.stderr


@pytest.mark.parametrize("args", [("plan",), ("status",), ("build", "--formats", "html"),
                                  ("demo-data", "--plan", MINI_PLAN)])
def test_no_bureau_folder_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple) -> None:
    """Outside any bureau folder a default path is a Chinese message naming ``edureport init`` (exit 2),
    never the package's own folders."""
    monkeypatch.chdir(tmp_path)
    assert find_bureau() is None, "no edureport.toml above the test's folder"
    result = run(*args)
    assert result.exit_code == 2, result.output + result.stderr
    assert "找不到 edureport 工作文件夹" in result.stderr and "edureport init" in result.stderr
    assert "EDUREPORT_HOME" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_commentary_beside_the_plan_then_the_bureau(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "b"
    (home / "params").mkdir(parents=True)
    (home / MARKER).write_text("[bureau]\n", encoding="utf-8")
    elsewhere = tmp_path / "plans"
    elsewhere.mkdir()
    monkeypatch.chdir(home)
    plan = elsewhere / "plan.yaml"
    assert default_commentary_file(plan, 2024) == elsewhere / "commentary-2024.yaml", "neither exists"
    (home / "params" / "commentary-2024.yaml").write_text("", encoding="utf-8")
    assert default_commentary_file(plan, 2024) == home / "params" / "commentary-2024.yaml"
    (elsewhere / "commentary-2024.yaml").write_text("", encoding="utf-8")
    assert default_commentary_file(plan, 2024) == elsewhere / "commentary-2024.yaml"
    monkeypatch.chdir(tmp_path)  # outside the bureau: only the one beside the plan
    assert default_commentary_file(home / "params" / "plan-2024.yaml", 2024) == home / "params" / "commentary-2024.yaml"


# --- edureport init ----------------------------------------------------------------------------------


def test_init_makes_a_self_contained_bureau_folder(tmp_path: Path, mini_plan) -> None:
    home = tmp_path / "新局" / "工作"
    result = run("init", home, "--plan", MINI_PLAN)
    assert result.exit_code == 0, result.output + result.stderr
    assert "已创建" in result.output and "README.md" in result.output
    assert {p.name for p in home.iterdir()} == {MARKER, "README.md", "params", "data", "outputs", "notebooks"}
    assert (home / "params" / "plan-2024.yaml").read_bytes() == MINI_PLAN.read_bytes()
    assert {p.name for p in (home / "params").iterdir()} == {"plan-2024.yaml", "commentary-2024.yaml"}
    notes = load_commentary(home / "params" / "commentary-2024.yaml", mini_plan)
    assert notes.tasks == {} and notes.next_steps == (), "an empty template that loads cleanly"
    for nb in PACKAGE_NOTEBOOKS.glob("*.ipynb"):
        assert (home / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    readme = (home / "README.md").read_text(encoding="utf-8")
    for words in ("示例县教育局", "params/plan-2024.yaml", "params/commentary-2024.yaml", "data/demo",
                  "edureport build", "edureport validate", "EDUREPORT_HOME", "--reference"):
        assert words in readme, words
    assert find_bureau(home / "notebooks") == home


def test_init_without_a_plan_uses_the_sample(tmp_path: Path) -> None:
    result = run("init", tmp_path / "b", "--reference", DISTRICT / "reference.yaml")
    assert result.exit_code == 0, result.output + result.stderr
    params = tmp_path / "b" / "params"
    assert (params / "plan-2023.yaml").read_bytes() == (SAMPLE_PARAMS / "plan-2023.yaml").read_bytes()
    assert (params / "demo-reference.yaml").read_bytes() == (DISTRICT / "reference.yaml").read_bytes()
    assert (params / "commentary-2023.yaml").is_file()
    result = run("init", tmp_path / "c")
    assert result.exit_code == 0
    assert (tmp_path / "c" / "params" / "demo-reference.yaml").read_bytes() == \
        (SAMPLE_PARAMS / "demo-reference.yaml").read_bytes()


def test_init_never_overwrites(tmp_path: Path) -> None:
    home = make_bureau(tmp_path / "b")
    (home / "README.md").write_text("我们自己的说明\n", encoding="utf-8")
    (home / "params" / "commentary-2024.yaml").write_text("next_steps: [已写的打算]\n", encoding="utf-8")
    before = tree_digest(home)
    result = run("init", home, "--plan", MINI_PLAN)  # again: everything is there, nothing changes
    assert result.exit_code == 0 and "已存在（保留）" in result.output and "已创建" not in result.output
    assert tree_digest(home) == before
    changed = tmp_path / "plan.yaml"
    changed.write_text(MINI_PLAN.read_text(encoding="utf-8").replace("示例县教育局", "示例县教育体育局"),
                       encoding="utf-8")
    result = run("init", home, "--plan", changed)
    assert result.exit_code == 2 and "已存在且内容不同" in result.stderr and "不覆盖" in result.stderr
    assert tree_digest(home) == before
    result = run("init", home)  # another year's plan (the sample, 2023): added beside
    assert result.exit_code == 0, result.output + result.stderr
    assert (home / "params" / "plan-2023.yaml").is_file() and (home / "params" / "commentary-2023.yaml").is_file()
    assert (home / "params" / "plan-2024.yaml").read_bytes() == MINI_PLAN.read_bytes()
    assert (home / "README.md").read_text(encoding="utf-8") == "我们自己的说明\n"


def test_init_refuses_a_folder_that_is_not_a_bureau(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "别人的文件.txt").write_text("x", encoding="utf-8")
    result = run("init", busy)
    assert result.exit_code == 2 and "不是空的" in result.stderr and MARKER in result.stderr
    assert [p.name for p in busy.iterdir()] == ["别人的文件.txt"]
    result = run("init", busy / "别人的文件.txt")
    assert result.exit_code == 2 and "不是文件夹" in result.stderr


def test_init_with_a_bad_plan_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text("title: 只有标题\n", encoding="utf-8")
    result = run("init", tmp_path / "b", "--plan", bad)
    assert result.exit_code == 2 and "工作要点文件有误" in result.stderr
    result = run("init", tmp_path / "b", "--plan", MINI_PLAN, "--reference", tmp_path / "没有.yaml")
    assert result.exit_code == 2 and "无法读取演示数据名录文件" in result.stderr
    assert not (tmp_path / "b").exists()


# --- commentary --------------------------------------------------------------------------------------


def _with_data(home: Path, steps: list[str]) -> Path:
    shutil.copytree(MINI / "data", home / "data" / "demo")
    text = "next_steps:\n" + "".join(f"  - {s}\n" for s in steps)
    (home / "params" / "commentary-2024.yaml").write_text(text, encoding="utf-8")
    return home


def test_two_bureaus_of_one_year_keep_their_own_commentary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a notebook reads with its parameters cell as it is, in each bureau folder."""
    from edureport.report.context import ReportContext

    a = _with_data(make_bureau(tmp_path / "甲局"), ["甲局的打算"])
    b = _with_data(make_bureau(tmp_path / "乙局"), ["乙局的打算"])
    for home, steps in ((a, ("甲局的打算",)), (b, ("乙局的打算",))):
        monkeypatch.chdir(home / "notebooks")
        ctx = ReportContext.load("review", plan_file="", data_dir="", as_of="")
        assert ctx.commentary.next_steps == steps and Path(ctx.data.data_dir) == home / "data" / "demo"


def test_build_takes_the_bureau_commentary_or_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _with_data(make_bureau(tmp_path / "甲局"), ["甲局的打算"])
    other = tmp_path / "另一份.yaml"
    other.write_text("next_steps:\n  - 另一份说明中的打算\n", encoding="utf-8")
    monkeypatch.chdir(home)
    page = home / "outputs" / "2024" / "2024-12-31" / "html" / "year-end-review.html"
    result = run("build", "--only", "review", "--formats", "html", "-j", "1", "-q")
    assert result.exit_code == 0, result.output + result.stderr
    assert "甲局的打算" in page.read_text(encoding="utf-8")
    result = run("build", "--only", "review", "--formats", "html", "-j", "1", "-q", "--commentary", other)
    assert result.exit_code == 0, result.output + result.stderr
    html = page.read_text(encoding="utf-8")
    assert "另一份说明中的打算" in html and "甲局的打算" not in html
    result = run("build", "--only", "review", "--formats", "html", "--commentary", tmp_path / "没有这个.yaml")
    assert result.exit_code == 2 and "补充说明文件不存在" in result.stderr


# --- the acceptance scenario: a regular install, run outside the checkout ----------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with a regular (non-editable) ``pip install`` of a copy of the checkout; returns its
    ``bin`` folder, which has the ``edureport`` command pip made. pip builds a wheel in the source
    folder it is given, so a copy keeps build/ and egg-info out of the checkout. Offline: the venv finds
    the dependencies through a .pth file naming this venv's site-packages (whose own edureport, the
    editable one, is not seen: its finder hooks live in .pth files there, which Python does not process
    for a directory that a .pth file adds), and this venv's setuptools builds the wheel."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".*.tmp"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = base / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # pip puts a package's data files under the venv's share/ (nbconvert's base templates): link them too
    (venv / "share" / "jupyter").mkdir(parents=True)
    (venv / "share" / "jupyter" / "nbconvert").symlink_to(Path(sys.prefix, "share", "jupyter", "nbconvert"))
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                           "--no-compile", "--no-build-isolation", "--no-index", str(source)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (Path(site) / "edureport" / "report" / "notebooks" / "township_report.ipynb").is_file()
    assert not (Path(site) / "edureport" / "notebooks").exists()
    assert (venv / "bin" / "edureport").is_file()
    return venv / "bin"


def _env(cache: Path) -> dict[str, str]:
    drop = (HOME_ENV, "EDUREPORT_NOTEBOOKS_DIR", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "EDUREPORT_CACHE_DIR": str(cache)}


def _edureport(installed: Path, env: dict[str, str], cwd: Path, *args: object, timeout: int = 900) -> str:
    done = subprocess.run([installed / "edureport", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (args, done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def _checkout_state() -> dict:
    return {"top": sorted(p.name for p in ROOT.iterdir()),
            **{d: tree_digest(ROOT / d) for d in ("params", "notebooks", "data", "tests/data")},
            "outputs": sorted(str(p) for p in (ROOT / "outputs").rglob("*")),
            "package": sorted(str(p) for p in (ROOT / "src" / "edureport").rglob("*") if "__pycache__" not in p.parts)}


def _second_bureau(installed: Path, tmp_path: Path, private_cache: Path, plan: Path, reference: Path | None,
                   data: Path | None, only: list[str]) -> Path:
    """init, (demo-data), validate, build — from outside the checkout with the installed copy."""
    env = _env(private_cache)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([installed / "python", "-c", "import edureport; print(edureport.__file__)"], cwd=outside,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed.parent)) and "site-packages" in where, where
    home = tmp_path / "bureau2"
    _edureport(installed, env, outside, "init", home, "--plan", plan, *(("--reference", reference) if reference else ()))
    if data is None:
        _edureport(installed, env, home, "demo-data")
    else:
        shutil.copytree(data, home / "data" / "demo")
    _edureport(installed, env, home, "validate", "data/demo")
    assert "进度" in _edureport(installed, env, home / "data", "status")  # what failed outside the checkout before
    _edureport(installed, env, home / "notebooks", "build", "-j", "2", "-q", *(a for o in only for a in ("--only", o)))
    return home


def _built(home: Path, year: int, stems: list[str]) -> None:
    folder = home / "outputs" / str(year) / f"{year}-12-31"
    for stem in stems:
        for kind, ext in (("html", "html"), ("pdf", "pdf"), ("notebooks", "ipynb")):
            assert (folder / kind / f"{stem}.{ext}").is_file(), (kind, stem)
    assert (folder / "index.html").is_file() and (folder / "manifest.json").is_file()


def _papermill(installed: Path, private_cache: Path, home: Path, notebook: str) -> str:
    """A notebook of the bureau run with its own parameters cell, where Jupyter would run it."""
    out = home.parent / f"run-{notebook}"
    done = subprocess.run([installed / "python", "-m", "papermill", notebook, str(out), "--cwd", str(home / "notebooks"),
                           "--no-progress-bar"], cwd=home / "notebooks", env=_env(private_cache),
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    import nbformat

    nb = nbformat.read(out, as_version=4)
    return "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))


def test_a_second_bureau_from_a_regular_install(installed: Path, tmp_path: Path, private_cache: Path) -> None:
    """The small second plan with its own data: nothing comes from the checkout, nothing is written to it."""
    before = _checkout_state()
    home = _second_bureau(installed, tmp_path, private_cache, MINI_PLAN, None, MINI / "data",
                          ["review", "township:东镇"])
    _built(home, 2024, ["year-end-review", "township-东镇"])
    html = _papermill(installed, private_cache, home, "section_report.ipynb")
    assert "第一部分" in html and "示例县" in html
    assert _checkout_state() == before, "nothing written into the checkout"


def test_the_district_bureau_from_a_regular_install(installed: Path, tmp_path: Path, private_cache: Path) -> None:
    """The acceptance scenario of issue 15 as written: the district plan and register, demo data made in
    the new bureau folder."""
    before = _checkout_state()
    home = _second_bureau(installed, tmp_path, private_cache, DISTRICT / "plan.yaml", DISTRICT / "reference.yaml",
                          None, ["review", "township:白马街道"])
    _built(home, 2024, ["year-end-review", "township-白马街道"])
    html = _papermill(installed, private_cache, home, "section_report.ipynb")
    assert "白马区" in html and "党建引领" in html
    # the township notebook's default: the register's first unit (the sample's 图克镇 is no unit here)
    html = _papermill(installed, private_cache, home, "township_report.ipynb")
    text = re.sub(r"<[^>]+>", "", html)
    assert "白马街道2024年工作进展报告" in text and "图克镇" not in text
    assert _checkout_state() == before, "nothing written into the checkout"
