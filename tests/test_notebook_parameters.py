"""Notebook parameters as analysts and papermill give them: converted and checked before the report reads
any data; a bad value stops the notebook with one Chinese line naming the parameter and what it can be.

papermill's ``-p section 2`` passes the number 2 (it parses numbers); the notebooks leave section and
township empty so that they run in any bureau folder (second-bureau issue)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from edureport.core.errors import AsOfError, EdureportError, ReportParameterError
from edureport.report import catalog  # noqa: F401  (registers the report kinds)
from edureport.report.context import ReportContext
from edureport.report.kinds import get_report_kind
from tests.conftest import MINI, PLAN_2023, ROOT

SECTIONS = ["一", "二", "三", "四", "五", "六"]


@pytest.mark.parametrize(
    ("given", "section"),
    [
        (2, "二"),
        ("2", "二"),
        (2.0, "二"),
        ("２", "二"),  # a full-width digit typed with a Chinese input method
        ("二", "二"),
        ("第二部分", "二"),
        ("第二", "二"),
        (" 6 ", "六"),
        ("", "一"),
    ],
)
def test_section_is_its_position_or_its_number(plan, given, section: str) -> None:
    resolved = get_report_kind("section").resolve(plan, lambda: [], section=given)
    assert resolved == {"section": section}


@pytest.mark.parametrize("given", [0, 7, 9, "9", "七", "2023", True, "二三", 2.5, "-1"])
def test_a_section_the_plan_does_not_have_is_one_line(plan, given) -> None:
    with pytest.raises(ReportParameterError) as caught:
        get_report_kind("section").resolve(plan, lambda: [], section=given)
    message = str(caught.value)
    assert "\n" not in message and "参数 section" in message
    assert "1～6" in message and "、".join(SECTIONS) in message


def test_township_defaults_to_the_first_unit_of_the_register(plan) -> None:
    asked: list[int] = []

    def units() -> list[str]:
        asked.append(1)
        return ["乙镇", "甲镇"]

    kind = get_report_kind("township")
    assert kind.resolve(plan, units, township="") == {"township": "乙镇"}
    assert kind.resolve(plan, units, township=" 甲镇 ") == {"township": "甲镇"}
    assert len(asked) == 1, "the register is read only for the default"


def test_context_with_empty_parameters_uses_the_defaults() -> None:
    ctx = ReportContext.load("township", plan_file=str(MINI / "plan.yaml"), data_dir=str(MINI / "data"), as_of="",
                             township="")
    first = str(ctx.data.townships["township"].iloc[0])
    assert ctx.township == first and ctx.title.startswith(first)
    ctx = ReportContext.load("section", plan_file=str(PLAN_2023), data_dir=str(ROOT / "data" / "demo"),
                             as_of="2023/06/30", section=3)
    assert (ctx.section, ctx.as_of.isoformat()) == ("三", "2023-06-30")


def test_a_township_not_in_the_register_names_the_parameter() -> None:
    with pytest.raises(ReportParameterError) as caught:
        ReportContext.load("township", plan_file=str(MINI / "plan.yaml"), data_dir=str(MINI / "data"), as_of="",
                           township="不存在镇")
    message = str(caught.value)
    assert "参数 township" in message and "不存在镇" in message and "东镇" in message and "\n" not in message


def test_a_bad_date_names_the_parameter() -> None:
    with pytest.raises(AsOfError) as caught:
        ReportContext.load("review", plan_file=str(PLAN_2023), data_dir=str(ROOT / "data" / "demo"),
                           as_of="2023-13-01")
    assert str(caught.value).startswith("参数 as_of：") and "2023/6/30" in str(caught.value)


def test_jupyter_shows_an_edureport_error_as_its_message() -> None:
    """IPython asks an exception for ``_render_traceback_`` before formatting frames."""
    error = ReportParameterError("参数 section（部分）的值“9”不是工作要点中的部分")
    assert isinstance(error, EdureportError)
    assert error._render_traceback_() == ["ReportParameterError: 参数 section（部分）的值“9”不是工作要点中的部分"]


# --- papermill, as an analyst runs it -----------------------------------------------------------------


def papermill(tmp_path: Path, notebook: str, *params: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / f"out-{notebook}"
    args = [a for i in range(0, len(params), 2) for a in ("-p", params[i], params[i + 1])]
    done = subprocess.run([sys.executable, "-m", "papermill", notebook, str(out), *args, "--no-progress-bar",
                           "-k", "python3"], cwd=ROOT / "notebooks", capture_output=True, text=True, timeout=600,
                          env={**os.environ}, check=False)
    return done, out


def error_outputs(path: Path) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def html_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))


def test_papermill_section_as_a_number_and_a_slashed_date(tmp_path: Path) -> None:
    done, out = papermill(tmp_path, "section_report.ipynb", "section", "2", "as_of", "2023/06/30")
    assert done.returncode == 0, done.stderr[-3000:]
    html = html_of(out)
    assert "第二部分进展报告" in html and "2023年6月30日" in html


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (("section", "9"), ["参数 section", "可用：1～6"]),
        (("as_of", "2023-13-01"), ["参数 as_of", "2023-13-01", "2023/6/30"]),
    ],
    ids=["section-9", "as_of-2023-13-01"],
)
def test_papermill_bad_value_is_one_chinese_line(tmp_path: Path, params: tuple[str, str], words: list[str]) -> None:
    done, out = papermill(tmp_path, "section_report.ipynb", *params)
    assert done.returncode != 0
    [error] = error_outputs(out)
    assert len(error["traceback"]) == 1, error["traceback"]  # the message, not frames through pandas
    line = error["traceback"][0]
    for word in words:
        assert word in line, line
    assert "pandas" not in done.stderr and "pyarrow" not in done.stderr
    assert line.split(": ", 1)[1] in done.stderr  # papermill's own report shows the same line


def test_built_notebooks_show_their_parameters_as_written(full_build: Path) -> None:
    """The injected parameters of an executed notebook read ``township = '图克镇'``, not papermill's
    ``"\\u56fe\\u514b\\u9547"`` (analysts open these notebooks)."""
    nb = nbformat.read(full_build / "2023" / "2023-12-31" / "notebooks" / "township-图克镇.ipynb", as_version=4)
    [injected] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "township = '图克镇'" in injected.source and "\\u" not in injected.source
