"""A report kind is one module plus its notebook: a toy kind, defined and registered only here, builds
through the real ``edureport build`` (in-process CLI; notebooks run in kernels of spawned workers), and
titles have one source (the kind), shared by the job list and the report itself."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from edureport.batch.jobs import select_jobs
from edureport.core.errors import ReportParameterError, UnknownReportKindError
from edureport.plan.model import Plan
from edureport.report.catalog import REPORTS, Job, ReportKind, register
from edureport.report.context import ReportContext, cover
from edureport.report.htmlkit import Block, join, table

from .conftest import MINI, PLAN_2023, ROOT, run

TOY = "indicators-list"
AS_OF = "2024-06-30"
SRC = ROOT / "src" / "edureport"


# --- The toy kind: its content functions and its ReportKind, as a kind's module has them ---------------

def indicators_cover(ctx: ReportContext) -> Block:
    return cover(ctx, f"《{ctx.plan.title}》量化指标一览")


def indicators_table(ctx: ReportContext) -> Block:
    rows = [[i.id, i.name, i.kind] for i in ctx.plan.indicators]
    return join([table(["编号", "指标", "类型"], rows, number=ctx.numbering.next_table(), caption="全部量化指标")])


class IndicatorsList(ReportKind):
    """One report per build listing the plan's indicators; its notebook lives outside notebooks/ (an
    absolute path). Build key: all data (the default ``data_digests``)."""

    name = TOY
    label = "指标清单"

    def __init__(self, notebook: str):
        self.notebook = notebook  # absolute: the test writes it to a temporary folder

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"{plan.issuer}{plan.year}年指标清单"

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        return [self.job(self.name, "indicators-list", plan)]


def write_toy_notebook(path: Path) -> Path:
    """The toy's notebook: parameters, then it registers its kind in the kernel (the kernel is another
    process: it knows only what the notebook imports) and calls the content functions."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    params = nbformat.v4.new_code_cell(
        'as_of: str = ""\ndata_dir: str = ""\nplan_file: str = ""\ncommentary_file: str = ""\n'
        'data_fingerprint: str = ""\nallow_outside_year: bool = False')
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from edureport.report.context import ReportContext, closing_note\n"
        "from edureport.report.kinds import register\n"
        "from tests import test_report_plugin as report\n\n"
        f"register(report.IndicatorsList({str(path)!r}))\n"
        f"ctx = ReportContext.load({TOY!r}, plan_file=plan_file, data_dir=data_dir, as_of=as_of,\n"
        "                         commentary=commentary_file, data_fingerprint=data_fingerprint,\n"
        "                         allow_outside_year=allow_outside_year)")
    nb.cells = [params, setup, nbformat.v4.new_code_cell("report.indicators_cover(ctx)"),
                nbformat.v4.new_code_cell("report.indicators_table(ctx)"),
                nbformat.v4.new_code_cell("closing_note(ctx)")]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def toy_kind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndicatorsList]:
    notebook = write_toy_notebook(tmp_path_factory.mktemp("toy-notebooks") / "indicators_list.ipynb")
    kind = register(IndicatorsList(str(notebook)))
    try:
        yield kind
    finally:
        REPORTS.unregister(TOY)


def cover_title(html: str) -> str:
    """The cover's title as read (its markup only places the line breaks: report.context.title_html)."""
    return re.sub(r"<[^>]+>", "", re.search(r'<h1 class="title[^"]*">(.*?)</h1>', html).group(1))


def build_args(out: Path, *only: str) -> list[Any]:
    return ["build", "--data", MINI / "data", "--plan", MINI / "plan.yaml", "--as-of", AS_OF, "--out", out,
            "--formats", "html", *(a for o in only for a in ("--only", o))]


@pytest.fixture(scope="module")
def toy_build(toy_kind: IndicatorsList, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real build of the toy report and one township report of the small plan."""
    out = tmp_path_factory.mktemp("toy-out")
    with pytest.MonkeyPatch.context() as mp:  # (module scope: the per-test private cache is not set up yet)
        mp.setenv("EDUREPORT_CACHE_DIR", str(tmp_path_factory.mktemp("toy-cache")))
        result = run(*build_args(out, TOY, "township:东镇"))
    assert result.exit_code == 0, result.output + result.stderr
    return out / "2024" / AS_OF


def test_toy_kind_builds_through_the_cli(toy_build: Path, mini_plan: Plan) -> None:
    html = (toy_build / "html" / "indicators-list.html").read_text(encoding="utf-8")
    title = "示例县教育局2024年指标清单"
    assert f"<title>{title}</title>" in html and cover_title(html) == title
    for ind in mini_plan.indicators:  # the notebook ran the toy's content functions
        assert ind.name in html
    manifest = json.loads((toy_build / "manifest.json").read_text(encoding="utf-8"))
    entry = next(r for r in manifest["reports"] if r["key"] == TOY)
    assert entry["kind"] == TOY and entry["title"] == title and entry["status"] == "built"
    assert title in (toy_build / "index.html").read_text(encoding="utf-8")


def test_toy_kind_rebuild_is_incremental(toy_build: Path, tmp_path: Path) -> None:
    """The toy's build key (the default: all data) matches the last build: nothing runs again."""
    result = run(*build_args(toy_build.parent.parent, TOY, "township:东镇"))
    assert result.exit_code == 0, result.output + result.stderr
    manifest = json.loads((toy_build / "manifest.json").read_text(encoding="utf-8"))
    assert {r["key"]: r["status"] for r in manifest["reports"]} == {TOY: "unchanged", "township:东镇": "unchanged"}


def test_township_job_title_is_its_reports_title(toy_build: Path, mini_plan: Plan) -> None:
    """One source: the job list's title (log, manifest, index page, HTML <title>) is the cover's title."""
    job = select_jobs(mini_plan, ["东镇", "西镇"], ["township:东镇"])[0]
    assert job.title == "东镇2024年工作进展报告"
    html = (toy_build / "html" / f"{job.stem}.html").read_text(encoding="utf-8")
    assert f"<title>{job.title}</title>" in html and cover_title(html) == job.title
    manifest = json.loads((toy_build / "manifest.json").read_text(encoding="utf-8"))
    assert next(r for r in manifest["reports"] if r["key"] == job.key)["title"] == job.title


def test_unregistered_kind_is_refused_by_name(toy_kind: IndicatorsList, tmp_path: Path) -> None:
    REPORTS.unregister(TOY)
    try:
        result = run(*build_args(tmp_path / "out", TOY))
    finally:
        register(toy_kind)
    assert result.exit_code == 2, result.output + result.stderr
    assert f"未知的报告类型“{TOY}”" in result.stderr
    assert "可用：department、review、school、section、township" in result.stderr
    assert not (tmp_path / "out" / "2024").exists()


def test_misspelled_kind_in_a_notebook_is_refused() -> None:
    """It used to get the year-end review's title silently."""
    with pytest.raises(UnknownReportKindError) as caught:
        ReportContext.load("sectoin", plan_file=str(PLAN_2023), data_dir=str(ROOT / "data" / "demo"),
                           as_of="2023-12-31", section="一")
    assert "sectoin" in str(caught.value)
    assert {"section", "township", "review"} <= set(caught.value.known)


# --- Nothing outside a report kind's own module compares a report kind's name ---------------------------

BUILT_IN = {"section", "township", "review"}
# The layers that know report kinds (below them "kind" is something else: plan/load.py's record kinds).
REPORT_LAYERS = ("report", "render", "batch", "cli")


def _kind_comparisons(path: Path) -> list[str]:
    """Comparisons of something called ``kind`` (``job.kind``, ``kind``) with a report kind's name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        kind = any((isinstance(s, ast.Attribute) and s.attr == "kind") or (isinstance(s, ast.Name) and s.id == "kind")
                   for s in sides)
        names = {n.value for s in sides for n in ast.walk(s) if isinstance(n, ast.Constant) and n.value in BUILT_IN}
        if kind and names:
            found.append(f"{path.relative_to(SRC) if path.is_relative_to(SRC) else path}:{node.lineno}: {sorted(names)}")
    return found


def test_no_module_compares_a_report_kind_name() -> None:
    assert set(REPORTS.keys()) >= BUILT_IN
    modules = [p for p in sorted(SRC.rglob("*.py")) if p.relative_to(SRC).parts[0] in (*REPORT_LAYERS, p.name)]
    assert len(modules) > 20
    found = [hit for p in modules for hit in _kind_comparisons(p)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("code", ['if job.kind == "section": pass', 'x = kind in ("township", "review")'])
def test_the_report_kind_check_sees_each_form(tmp_path: Path, code: str) -> None:
    path = tmp_path / "probe.py"
    path.write_text(code, encoding="utf-8")
    assert _kind_comparisons(path)


def test_a_kinds_aliases_select_its_jobs(plan: Plan) -> None:
    """``--only section:二`` (the section's own number, an alias the section kind declares) is ``section:2``."""
    towns = ["图克镇"]
    (by_alias,) = select_jobs(plan, towns, ["section:二"])
    assert by_alias == select_jobs(plan, towns, ["section:2"])[0] and by_alias.parameters == {"section": "二"}


def test_a_parameter_the_kind_does_not_take_is_refused() -> None:
    """A misspelt notebook parameter is named, with the kind's own, instead of silently reading all data."""
    with pytest.raises(ReportParameterError) as caught:
        ReportContext.load("section", plan_file=str(PLAN_2023), data_dir=str(ROOT / "data" / "demo"),
                           as_of="2023-12-31", sectoin="一")
    assert "sectoin" in str(caught.value) and "section" in str(caught.value)
