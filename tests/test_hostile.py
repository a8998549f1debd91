"""The hostile-input corpus (tests/data/hostile/, see its README.md): every file is refused with exit
code 2 and a Chinese message — no traceback, no exit 1 — changes no file, and writes nothing outside
the output folder (the cache folder aside)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import DEMO, MINI, PLAN_2023, ROOT, run, tree_digest

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
MINI_PLAN = MINI / "plan.yaml"
CASES = sorted(p for p in HOSTILE.rglob("*") if p.is_file() and p.name != "README.md")
CJK = re.compile(r"[\u4e00-\u9fff]")
TABLE_FILES = {"townships": ("townships", "苏木镇"), "schools": ("schools", "学校名录"),
               "observations": ("observations", "指标数据"), "baselines": ("baselines", "基期数据"),
               "projects": ("projects", "项目进度"), "activities": ("activities", "活动记录")}


def _data_folder(case: Path, sandbox: Path, table: str | None, base: Path = MINI / "data") -> Path:
    folder = sandbox / "data"
    shutil.copytree(base, folder)
    if table is not None:
        for stem in TABLE_FILES[table]:
            for ext in (".csv", ".xlsx"):
                (folder / f"{stem}{ext}").unlink(missing_ok=True)
        shutil.copyfile(case, folder / f"{table}{case.suffix}")
    return folder


def commands(case: Path, sandbox: Path) -> tuple[list[tuple], Path | None]:
    """The commands a case is fed to, and the data folder that must stay unchanged."""
    area, *rest = case.relative_to(HOSTILE).parts
    out = sandbox / "out"
    if area == "plan":
        data = _data_folder(case, sandbox, None)
        return [("plan", "--plan", case), ("validate", data, "--plan", case),
                ("build", "--plan", case, "--data", data, "--out", out)], data
    if area == "commentary":
        data = _data_folder(case, sandbox, None)
        return [("build", "--plan", MINI_PLAN, "--data", data, "--commentary", case, "--out", out,
                 "--formats", "html")], data
    if area == "data":
        data = _data_folder(case, sandbox, rest[0])
        return [("validate", data, "--plan", MINI_PLAN), ("status", "--data", data, "--plan", MINI_PLAN),
                ("build", "--plan", MINI_PLAN, "--data", data, "--out", out, "--formats", "html")], data
    if area == "import":
        data = _data_folder(case, sandbox, None, base=DEMO)
        submitted = sandbox / "submitted"
        submitted.mkdir()
        name = case.name.split("--", 1)[0] + case.suffix if "--" in case.name else case.name
        shutil.copyfile(case, submitted / name)
        return [("import", submitted / name, "--data", data, "--plan", PLAN_2023),
                ("import", submitted / name, "--data", data, "--plan", PLAN_2023, "--dry-run")], data
    raise AssertionError(f"unknown corpus area {area}")


def test_the_corpus_is_large_and_covers_every_area() -> None:
    areas = {c.relative_to(HOSTILE).parts[0] for c in CASES}
    assert len(CASES) >= 40 and areas == {"plan", "commentary", "data", "import"}, (len(CASES), areas)
    assert all(c.stat().st_size < 64 * 1024 for c in CASES), "small files only"


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c.relative_to(HOSTILE)))
def test_hostile_input_is_refused_cleanly(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    monkeypatch.chdir(sandbox)  # anything written by a relative path would land here, and be seen
    cmds, data = commands(case, sandbox)
    project = {d: tree_digest(ROOT / d) for d in ("params", "notebooks", "data")}
    for cmd in cmds:
        before = {p: d for p, d in tree_digest(sandbox).items() if not p.startswith("out/")}
        result = run(*cmd)
        said = result.stderr
        assert result.exit_code == 2, (cmd[0], result.exit_code, result.output[-2000:])
        assert CJK.search(said) and "Traceback" not in result.output, said[-2000:]
        assert len(said) < 20_000, "messages are cut to a readable length"
        after = {p: d for p, d in tree_digest(sandbox).items() if not p.startswith("out/")}
        assert after == before, f"{cmd[0]} changed or wrote files outside the output folder"
    assert {d: tree_digest(ROOT / d) for d in project} == project
    assert data.is_dir()
