"""The three report notebooks run with papermill on the demo data and render to clean HTML and PDF."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from edureport.batch.execute import ParameterError, check_parameters, notebooks_dir
from edureport.data.store import load_data
from edureport.metrics.compute import compute
from edureport.plan.load import load_plan
from edureport.render.document import notebook_to_html
from edureport.report.catalog import REPORTS
from edureport.report.narrative import indicator_sentence

from .conftest import DEMO, MINI, run

AS_OF = dt.date(2023, 12, 31)


@pytest.fixture(scope="module")
def built(full_build: Path) -> dict[str, dict[str, Path]]:
    """One report of each kind, from the shared full build of the demo data."""
    folder = full_build / "2023" / AS_OF.isoformat()
    stems = {"section": "section-1", "township": "township-图克镇", "school": "school-S00203", "review": "year-end-review"}
    return {kind: {"html": folder / "html" / f"{stem}.html", "pdf": folder / "pdf" / f"{stem}.pdf",
                   "ipynb": folder / "notebooks" / f"{stem}.ipynb"} for kind, stem in stems.items()}


def test_registry_covers_the_notebooks() -> None:
    assert set(REPORTS.keys()) == {"section", "township", "department", "school", "review"}
    for kind in REPORTS:
        assert (notebooks_dir() / kind.notebook).is_file()


@pytest.mark.parametrize("kind", ["section", "township", "school", "review"])
def test_html_is_clean_and_self_contained(built, kind: str) -> None:
    html = built[kind]["html"].read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html, "no network references"
    for code in ("ReportContext", "import ", "In&nbsp;[", "jp-InputArea", "<pre", "<script"):
        assert code not in html, code
    assert "@font-face" in html and "data:font/otf;base64," in html
    assert "数据指纹" in html and "指标数据截至2023年12月" in html
    assert re.search(r'<figure class="chart"><svg role="img" aria-label="[^"]+"', html), "charts inlined as SVG"


@pytest.mark.parametrize("kind", ["section", "township"])
def test_chart_text_is_in_the_embedded_font(built, kind: str) -> None:
    """Chart labels are text drawn with the page's font subset: every character must be in it (no tofu)."""
    html = built[kind]["html"].read_text(encoding="utf-8")
    chart_text = "".join(re.findall(r"<text\b[^>]*>([^<]*)</text>", html))
    assert re.search(r"[\u4e00-\u9fff]", chart_text), "charts carry Chinese labels as text"
    fonts = re.findall(r"font-family: '([^']+)'[^}]*base64,([A-Za-z0-9+/=]+)\)", html)
    cmap = TTFont(io.BytesIO(base64.b64decode(dict(fonts)["Noto Sans CJK SC"]))).getBestCmap()
    missing = sorted({c for c in chart_text if not c.isspace() and ord(c) not in cmap})
    assert not missing, missing


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#x27;", "'")


def test_section_figures_equal_library_values(built, plan) -> None:
    text = _plain(built["section"]["html"].read_text(encoding="utf-8"))
    ds = load_data(DEMO, plan)
    results = compute(ds, AS_OF, indicators=plan.indicators_in("一"))
    assert results
    for r in results:
        assert r.actual_text in text and r.name in text
        assert indicator_sentence(plan, r) in text
    assert "一、总体情况" in text and "二、重点任务进展" in text


def test_township_figures_equal_library_values(built, plan) -> None:
    text = _plain(built["township"]["html"].read_text(encoding="utf-8"))
    ds = load_data(DEMO, plan)
    for r in compute(ds, AS_OF, "township", "图克镇"):
        assert r.actual_text in text, r.indicator_id
    assert "排第" in text and "学校（园）情况" in text


def test_township_report_compares_by_section_in_few_pages(built, plan) -> None:
    """One comparison chart per plan section instead of one bar chart per indicator (19 on six of eleven
    pages before): every indicator compared across townships is a row of a chart or named in the
    sentence of those on which every township is equal; the PDF is shorter than the eleven pages."""
    html = built["township"]["html"].read_text(encoding="utf-8")
    text = _plain(html)
    captions = re.findall(r"<figcaption>图\d+　([^<]*)</figcaption>", html)
    compared = [c for c in captions if "与其他苏木镇比较" in c]
    assert 1 <= len(compared) <= len(plan.sections)
    figures = "".join(re.findall(r"<figure class=\"chart\">.*?</figure>", html, flags=re.S))
    drawn = re.sub(r"\s+", "", unescape(re.sub(r"<[^>]+>", "", figures)))  # a wrapped name's lines in a row
    ds = load_data(DEMO, plan)
    for r in compute(ds, AS_OF, "township", "图克镇"):
        ind = plan.indicator(r.indicator_id)
        if ind.level == "banner" or r.unit != "%" or r.actual is None:
            continue
        assert re.sub(r"\s+", "", r.name) in drawn or f"{r.name}（均为" in text, r.name
    assert "数值相同、不再作图的指标" in text
    assert len(PdfReader(built["township"]["pdf"]).pages) < 11


def test_review_structure(built, plan) -> None:
    text = _plain(built["review"]["html"].read_text(encoding="utf-8"))
    for head in ("一、总体情况", "二、主要工作完成情况", "三、存在的问题", "四、下一步工作打算", "附件"):
        assert head in text
    for s in plan.sections:
        assert s.title in text
    assert "表1" in text and "图1" in text and "见表1和图1" in text


@pytest.mark.parametrize("kind", ["section", "township", "review"])
def test_pdf_has_chinese_text_and_embedded_fonts(built, kind: str) -> None:
    reader = PdfReader(built[kind]["pdf"])
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    text = "".join(page.extract_text() for page in reader.pages)
    assert "指标数据截至2023年12月" in text
    assert "一、总体情况" in text.replace(" ", "")
    assert re.search(r"第 ?2 ?页 ?/ ?共 ?\d+ ?页", text), "page numbers"
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = font.get_object()
            desc = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            desc = desc.get_object()
            assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            fonts.add(str(font["/BaseFont"]))
    assert any("CJK" in f for f in fonts), fonts


def test_review_pdf_has_a_table_of_contents(built) -> None:
    first_pages = "".join(p.extract_text() for p in PdfReader(built["review"]["pdf"]).pages[:3])
    assert "目" in first_pages and "录" in first_pages and "三、存在的问题" in first_pages


def test_html_rendering_is_deterministic(built, tmp_path) -> None:
    nb = nbformat.read(built["section"]["ipynb"], as_version=4)
    a = notebook_to_html(nb, title="t", kind="section")
    b = notebook_to_html(nbformat.read(built["section"]["ipynb"], as_version=4), title="t", kind="section")
    assert a == b


def test_notebooks_are_stored_without_outputs() -> None:
    for path in sorted(notebooks_dir().glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path


@pytest.mark.parametrize("notebook", ["section_report.ipynb", "township_report.ipynb", "department_report.ipynb",
                                      "school_report.ipynb",
                                      "year_end_review.ipynb"])
def test_parameters_are_documented(notebook: str) -> None:
    import papermill

    params = papermill.inspect_notebook(str(notebooks_dir() / notebook))
    assert {"as_of", "data_dir", "plan_file", "commentary_file"} <= set(params)
    assert all(p["help"] for p in params.values())


@pytest.mark.parametrize(
    ("params", "message"),
    [({"townshp": "图克镇"}, "没有参数“townshp”"), ({"township": 3}, "应为 str")],
)
def test_unknown_or_mistyped_parameter_is_refused(params: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        check_parameters(notebooks_dir() / "township_report.ipynb", params)


def test_unknown_report_is_usage_error(tmp_path: Path) -> None:
    # --out: the build's log would otherwise go into the checkout's outputs/logs/
    result = run("build", "--only", "township:火星镇", "--formats", "html", "--out", tmp_path)
    assert result.exit_code == 2 and "没有这些报告" in result.stderr
    result = run("build", "--only", "county:1", "--out", tmp_path)
    assert result.exit_code == 2 and "未知的报告类型" in result.stderr


def test_bad_data_stops_the_build_before_any_notebook(mini_data: Path, tmp_path: Path) -> None:
    (mini_data / "observations.csv").write_text("期间,指标代码\n2024-01,Z9\n", encoding="utf-8")
    result = run("build", "--plan", MINI / "plan.yaml", "--data", mini_data, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "未知指标代码" in result.stderr
    assert not (tmp_path / "out" / "2024").exists(), "no report folder, no manifest: only the build log"


def test_another_plan_builds_and_escapes_data(mini_data: Path, tmp_path: Path) -> None:
    """The second plan renders too, and a school named like markup shows as text (a name may not hold a
    "/", so no closing tag: see docs/data-format.md)."""
    path = mini_data / "schools.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("东镇小学", "<script>alert(1)<img src=x onerror=alert(1)>"),
                    encoding="utf-8")
    result = run("build", "--plan", MINI / "plan.yaml", "--data", mini_data, "--out", tmp_path,
                 "--only", "township:东镇", "--formats", "html", "--as-of", "2024-12-31")
    assert result.exit_code == 0, result.output + result.stderr
    html = (tmp_path / "2024" / "2024-12-31" / "html" / "township-东镇.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "<img src=x" not in html
    assert "示例县" in html and load_plan(MINI / "plan.yaml").title in html
