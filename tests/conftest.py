"""Shared fixtures: the real 2023 plan and demo data, the small second plan, a private cache per test."""

from __future__ import annotations

import contextlib
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


@pytest.fixture(scope="session")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete build of the demo data (82 reports, HTML, PDF and Word), shared by the report, build
    and Word tests; tests that change outputs work on a copy."""
    from edureport.batch.build import build

    out = tmp_path_factory.mktemp("full")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDUREPORT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of="2023-12-31", out=out, jobs=2,
                        formats=("html", "pdf", "docx"))
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
