"""Shared fixtures: the real 2023 plan and demo data, the small second plan, a private cache per test."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edureport.cli.main import cli
from edureport.plan.load import load_plan
from edureport.plan.model import Plan

ROOT = Path(__file__).resolve().parent.parent
PLAN_2023 = ROOT / "params" / "plan-2023.yaml"
DEMO = ROOT / "data" / "demo"
MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache folder, so no test sees another's cached tables."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(path))
    return path


@functools.cache
def full_build_keys() -> list[str]:
    """The reports of ``full_build``: a test that builds into a copy of it builds these (``only``)."""
    from edureport.batch.jobs import select_jobs
    from edureport.data.store import load_register

    plan = load_plan(PLAN_2023)
    register = load_register(DEMO, plan)
    kept = register.schools[register.schools["school_id"].isin(FULL_BUILD_SCHOOLS)]
    return [j.key for j in select_jobs(plan, list(register.townships["township"]), None, kept)]


FULL_BUILD_SCHOOLS = ["S00101", "S00203"]  # the region's only 高中, and a 小学 ranked among 15


@pytest.fixture(scope="session")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the demo data in HTML, PDF and Word, shared by the report, build and Word tests; tests
    that change outputs work on a copy. Every report but 46 of the 48 school reports (36 reports): those
    are all built, in HTML, by tests/test_school.py; here they would add 75 s for the same template."""
    from edureport.batch.build import build

    out = tmp_path_factory.mktemp("full")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDUREPORT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of="2023-12-31", out=out, jobs=2,
                        formats=("html", "pdf", "docx"), only=full_build_keys())
    assert not summary.failed, [r.error for r in summary.failed]
    return out


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(PLAN_2023)


@pytest.fixture(scope="session")
def mini_plan() -> Plan:
    return load_plan(MINI / "plan.yaml")


@pytest.fixture
def mini_data(tmp_path: Path) -> Path:
    """A writable copy of the small data folder."""
    dest = tmp_path / "mini"
    shutil.copytree(MINI / "data", dest)
    return dest


def run(*args: str):
    """Invoke the CLI in-process; returns click's Result (exit_code, output, stderr)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def tree_digest(path: Path) -> dict[str, str]:
    """Name → SHA-256 of every file below path (to prove a command wrote nothing)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path``, for full and read-only file systems (root only; skips
    where mounting is not allowed). Unmounted lazily: a mount still busy is detached anyway."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                      check=False).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
