"""Analysts in JupyterLab: ``make`` installs JupyterLab and registers the kernel "edureport" in .venv,
``make lab`` opens notebooks/, every notebook asks for that kernel, ``edureport init`` registers it for
the Python running it when it is missing; and the batch build never needs it (it runs its kernel in the
Python running the build, whatever kernels are registered)."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from edureport.batch import bureau
from edureport.core.paths import HOME_ENV, PACKAGE_NOTEBOOKS

from .conftest import MINI, ROOT, run

SPEC = {"name": "edureport", "display_name": "Python (edureport)", "language": "python"}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(PACKAGE_NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(autouse=True)
def no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile rule."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert rule, f"Makefile has no rule {target}"
    return [line.strip() for line in rule.group(1).splitlines()]


# --- what make installs ------------------------------------------------------------------------------


def test_the_venv_has_jupyterlab_and_the_kernel() -> None:
    """``make`` (which the tests depend on, see .ci/run) ran in this venv."""
    from jupyter_client.kernelspec import KernelSpecManager

    assert (Path(sys.executable).parent / "jupyter-lab").is_file(), "make installs the lab extra"
    spec = KernelSpecManager().get_kernel_spec("edureport")
    assert spec.display_name == SPEC["display_name"] and spec.language == "python"
    assert Path(spec.argv[0]).is_absolute() and Path(spec.argv[0]).is_relative_to(sys.prefix), spec.argv
    assert Path(spec.resource_dir).is_relative_to(sys.prefix), "registered inside the venv (--sys-prefix)"


def test_make_installs_the_lab_extra_and_registers_the_kernel() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(d.startswith("jupyterlab") for d in extras["lab"])
    install = recipe("$(STAMP)")
    assert any("pip install" in line and "'.[dev,lab]'" in line for line in install)
    kernel = next(line for line in install if "ipykernel install" in line)
    assert "--sys-prefix" in kernel and "--name edureport" in kernel and '"Python (edureport)"' in kernel
    assert install[-1] == "touch $(STAMP)", "the stamp only once everything succeeded"


def test_make_lab_opens_the_notebooks() -> None:
    assert recipe("lab") == ["$(BIN)/jupyter-lab --notebook-dir=notebooks"]
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert phony and "lab" in phony.group(1).split()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_notebook_asks_for_the_kernel(path: Path) -> None:
    assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"] == SPEC


# --- the build does not need it ----------------------------------------------------------------------


def _fake_kernel(kernels: Path, name: str) -> None:
    (kernels / name).mkdir(parents=True)
    (kernels / name / "kernel.json").write_text(json.dumps(
        {"argv": ["/bin/false", "{connection_file}"], "display_name": name, "language": "python"}), encoding="utf-8")


def test_the_build_runs_its_own_python_whatever_kernels_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels "edureport" and "python3" that cannot start come first in the search path (a plain pip
    install may have no "edureport", or another Python's "python3"): the build runs anyway."""
    from jupyter_client.kernelspec import KernelSpecManager

    from edureport.batch.execute import KERNEL, own_python
    from edureport.batch.executors import kernel_manager_class

    for name in ("edureport", "python3"):
        _fake_kernel(tmp_path / "jupyter" / "kernels", name)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == "/bin/false", "the fake one wins by name"
    manager = own_python(kernel_manager_class())(kernel_name=KERNEL)
    assert manager.format_kernel_cmd()[:3] == [sys.executable, "-m", "ipykernel_launcher"]
    out = tmp_path / "out"
    result = run("build", "--data", MINI / "data", "--plan", MINI / "plan.yaml", "--as-of", "2024-06-30",
                 "--out", out, "--formats", "html", "--only", "review", "-j", "1", "-q")
    assert result.exit_code == 0, result.output + result.stderr
    assert (out / "2024" / "2024-06-30" / "html" / "year-end-review.html").is_file()


# --- edureport init ----------------------------------------------------------------------------------


def test_init_keeps_a_registered_kernel(tmp_path: Path) -> None:
    """The kernel of this venv is there (the first test): init leaves it as it is and says nothing."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = Path(KernelSpecManager().get_kernel_spec("edureport").resource_dir) / "kernel.json"
    before = (spec.read_bytes(), spec.stat().st_mtime_ns)
    result = run("init", tmp_path / "b", "--plan", MINI / "plan.yaml")
    assert result.exit_code == 0, result.output + result.stderr
    assert "内核" not in result.output + result.stderr
    assert (spec.read_bytes(), spec.stat().st_mtime_ns) == before
    readme = (tmp_path / "b" / "README.md").read_text(encoding="utf-8")
    assert "JupyterLab" in readme and "Python (edureport)" in readme


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kernel name nothing has registered, installed under a prefix of the test's own that Jupyter
    searches (JUPYTER_PATH): the venv's kernels are never touched."""
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(bureau, "KERNEL", "edureport-lab-test")
    monkeypatch.setattr(bureau, "KERNEL_PREFIX", str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    return prefix


def test_init_registers_a_missing_kernel_once(tmp_path: Path, elsewhere: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    with pytest.raises(NoSuchKernel):
        KernelSpecManager().get_kernel_spec("edureport-lab-test")
    result = run("init", tmp_path / "b", "--plan", MINI / "plan.yaml")
    assert result.exit_code == 0, result.output + result.stderr
    assert "未能注册" not in result.stderr
    spec = KernelSpecManager().get_kernel_spec("edureport-lab-test")
    assert Path(spec.resource_dir).is_relative_to(elsewhere)
    assert spec.argv[0] == sys.executable and spec.display_name == "Python (edureport)"

    def no_second_time(*args: object, **kwargs: object) -> None:
        raise AssertionError("registered again")

    monkeypatch.setattr(bureau.subprocess, "run", no_second_time)
    result = run("init", tmp_path / "c", "--plan", MINI / "plan.yaml")
    assert result.exit_code == 0, result.output + result.stderr


def test_init_goes_on_when_the_kernel_cannot_be_registered(tmp_path: Path, elsewhere: Path) -> None:
    elsewhere.write_text("a file where the prefix would be\n", encoding="utf-8")
    result = run("init", tmp_path / "b", "--plan", MINI / "plan.yaml")
    assert result.exit_code == 0, result.output + result.stderr
    assert (tmp_path / "b" / "notebooks" / "township_report.ipynb").is_file()
    note = [line for line in result.stderr.splitlines() if "未能注册" in line]
    assert len(note) == 1, result.stderr
    assert "Python (edureport)" in note[0] and "-m ipykernel install --sys-prefix" in note[0]
    assert "'Python (edureport)'" in note[0], "a command that can be pasted as it is"
