"""Report parts without a kernel: fonts, charts, narrative, commentary, escaping."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from edureport.core.fonts import FACES, font_face_css
from edureport.core.status import Status
from edureport.plan.commentary import CommentaryError, load_commentary
from edureport.render.document import charts_as_images
from edureport.report.charts import status_chart, township_chart, trend_chart
from edureport.report.context import ReportContext
from edureport.report.htmlkit import cn_number, esc, figure, table
from edureport.report.review import review_parts
from edureport.report.section import section_tasks

from .conftest import DEMO, MINI, PLAN_2023


def test_font_subset_has_every_glyph_used() -> None:
    text = "乌审旗教育体育局第页共龘𠀀４０％，。“”《》"
    css = font_face_css(text)
    fonts = re.findall(r"base64,([A-Za-z0-9+/=]+)\)", css)
    assert len(fonts) == len(FACES)
    for data in fonts:
        cmap = TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap()
        missing = [c for c in text if ord(c) not in cmap and c != "𠀀"]  # U+20000 is not in Noto SC
        assert not missing, missing


def test_charts_are_deterministic_svg() -> None:
    args = (["2023-01", "2023-02", "2023-03"], [30.0, 35.5, None])
    a = trend_chart(*args, target=40, unit="%", label="党员教师占比")
    b = trend_chart(*args, target=40, unit="%", label="党员教师占比")
    assert a == b and a.startswith("<svg") and "<dc:date>" not in a and "http" not in a
    assert "党员教师占比" in a, "labels are text (drawn with the report's embedded font)"
    c = township_chart(["甲镇", "乙镇"], [41.0, 38.0], banner=39.5, target=40, unit="%", highlight="甲镇")
    assert c == township_chart(["甲镇", "乙镇"], [41.0, 38.0], banner=39.5, target=40, unit="%", highlight="甲镇")
    assert status_chart(["一、党建"], [{Status.DONE: 3, Status.MISSED: 1}]).count("<path") > 2


def test_pdf_gets_charts_as_standalone_svg_images() -> None:
    svg = trend_chart(["2023-01", "2023-02"], [30.0, 35.5], target=40, unit="%", label="党员教师占比")
    html = f"<p>前</p>{figure(svg, 1, '党员教师占比逐月情况').html}<p>后</p>"
    out = charts_as_images(html)
    match = re.search(r'<img alt="党员教师占比逐月情况" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', out)
    assert match and "<svg" not in out and out.startswith("<p>前</p>") and out.endswith("<p>后</p>")
    image = base64.b64decode(match.group(1)).decode()
    assert image.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "viewBox=" in image
    assert "党员教师占比" in image


@pytest.mark.parametrize(("n", "text"), [(1, "一"), (6, "六"), (10, "十"), (12, "十二"), (30, "三十"), (25, "二十五")])
def test_chinese_numerals(n: int, text: str) -> None:
    assert cn_number(n) == text


def test_tables_escape_every_cell() -> None:
    html = table(["学校"], [["<script>alert(1)</script>"], ["A & B"]]).html
    assert "<script>" not in html and "&lt;script&gt;" in html and "A &amp; B" in html
    assert esc('"') == "&quot;"


def test_commentary_is_merged_and_absence_is_stated(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("tasks:\n  1: 研判会议按季度召开。\n", encoding="utf-8")
    ctx = ReportContext.load("section", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-12-31",
                             commentary=str(notes), section="一")
    html = section_tasks(ctx).html
    assert "补充说明：研判会议按季度召开。" in html
    assert html.count("补充说明：暂无（相关股室尚未填写）。") == 2  # tasks 2 and 3


def test_review_without_next_steps_says_so(tmp_path: Path) -> None:
    ctx = ReportContext.load("review", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-12-31",
                             commentary=str(tmp_path / "none.yaml"))
    parts = review_parts(ctx)
    assert "下一步工作打算尚未填写" in parts["next_steps"].html
    assert "本任务暂无补充说明" in parts["work"].html


def test_review_lists_lagging_indicators_as_problems() -> None:
    ctx = ReportContext.load("review", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-06-30")
    problems = review_parts(ctx)["problems"].html
    lagging = [r for r in ctx.banner_results if r.status in (Status.LAGGING, Status.MISSED)]
    assert lagging and all(esc(r.name) in problems for r in lagging)


@pytest.mark.parametrize(
    ("text", "message"),
    [("tasks:\n  99: x\n", "没有该任务"), ("notes: x\n", "未知字段"), ("next_steps: 一条\n", "应为列表")],
)
def test_bad_commentary_is_refused(tmp_path: Path, mini_plan, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommentaryError) as info:
        load_commentary(path, mini_plan)
    assert message in info.value.render()


def test_notebook_runs_with_its_own_defaults(tmp_path: Path) -> None:
    """What an analyst gets from Run All in Jupyter: the parameters cell alone points at the demo data."""
    import papermill

    nb = papermill.execute_notebook(str(MINI.parent.parent.parent / "notebooks" / "section_report.ipynb"),
                                    str(tmp_path / "out.ipynb"), cwd=str(MINI.parent.parent.parent / "notebooks"),
                                    progress_bar=False)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "一、总体情况" in html and "第一部分进展报告" in html


def test_font_subsets_are_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two empty caches, a second apart, give the same font bytes (no timestamp inside)."""
    import time

    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path / "a"))
    first = font_face_css("报告第页")
    time.sleep(1.1)
    monkeypatch.setenv("EDUREPORT_CACHE_DIR", str(tmp_path / "b"))
    assert font_face_css("报告第页") == first


@pytest.mark.parametrize(("n", "labelled"), [(6, 6), (12, 12), (30, 1)])
def test_crowded_township_charts_label_only_the_highlighted_bar(n: int, labelled: int) -> None:
    names = [f"示例镇{i:03d}" for i in range(n)]
    svg = township_chart(names, [40.0 + i / 10 for i in range(n)], banner=None, target=None, unit="%",
                         highlight=names[0])
    values = [t for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg) if t.endswith("%")]
    assert len(values) == labelled


def test_township_reports_of_a_big_county_chart_distributions(tmp_path: Path, plan) -> None:
    """Over CROWDED_BARS townships, a township's report still compares it with all of them (one dot per
    township and indicator, one chart per plan section, whatever their number); the section report keeps
    named bars (the lowest ones, to see who lags)."""
    from edureport.core.paths import demo_reference_file
    from edureport.data import demo
    from edureport.report.township import township_indicators

    demo.write(demo.generate(plan, demo_reference_file(), townships=14, schools_per_township=2), tmp_path / "d")
    common = {"plan_file": str(PLAN_2023), "data_dir": str(tmp_path / "d"), "as_of": "2023-12-31"}
    ctx = ReportContext.load("township", **common, township="图克镇")
    html = township_indicators(ctx).html
    captions = re.findall(r"<figcaption>图\d+　([^<]*)</figcaption>", html)
    compared = [c for c in captions if c.endswith("图克镇与其他苏木镇比较")]
    assert 1 <= len(compared) <= len(plan.sections) and not [c for c in captions if c.startswith("各苏木镇")]
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', html, flags=re.S)
    trend_names = [i.name for i in plan.indicators if i.kind == "trend"]
    with_trends = [f for f in figures if any(t in f for t in trend_names) and "比较</figcaption>" in f]
    assert with_trends and all("基期水平" in f for f in with_trends), "a trend's mark is the base year's"
    section = ReportContext.load("section", **common, section="一")
    html = section_tasks(section).html
    bars = re.findall(r"<figcaption>图\d+　(各苏木镇[^<]*)</figcaption>", html)
    assert bars and not [c for c in bars if c.endswith("分布")]


@pytest.mark.parametrize(("values", "named_equal"), [
    ([100.0, 100.0, 100.0], True),   # every township at 100 %: one sentence, no row
    ([100.0, None, 100.0], False),  # one without data: not "均为100%", it stays a row of the chart
    ([100.0, 99.9, 100.0], False),
])
def test_only_truly_equal_figures_are_named_instead_of_charted(monkeypatch: pytest.MonkeyPatch, values,
                                                               named_equal: bool) -> None:
    from edureport.report.blocks import township_comparisons

    ctx = ReportContext.load("township", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-12-31",
                             township="图克镇")
    results = [r for r in ctx.results("township", "图克镇") if r.unit == "%" and r.actual is not None
               and ctx.plan.indicator(r.indicator_id).level != "banner"]
    target = results[0]
    real = ctx.township_values
    monkeypatch.setattr(ctx, "township_values", lambda i: (["甲", "乙", "丙"], values) if i == target.indicator_id
                        else real(i))
    comps = township_comparisons(ctx, results)
    assert (f"{target.name}（均为" in comps.same) == named_equal
    drawn = re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", comps.block.html))
    assert (re.sub(r"\s+", "", target.name) in drawn) != named_equal


@pytest.mark.parametrize("names", [
    ["甲镇", "乙镇", "丙镇", "丁镇"],  # bars standing
    [f"一个名称很长很长的第{i}个苏木镇" for i in range(4)],  # bars lying
])
def test_value_labels_stand_clear_of_the_reference_lines(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    """The region's figure and the target cross the labelled bars' figures: every figure stands on a white
    ground drawn above the lines, so no line runs through a figure (issue 17)."""
    from edureport.report import charts

    figures = []
    monkeypatch.setattr(charts, "_svg", lambda fig: figures.append(fig) or "")
    values = [80.0, 85.0, 90.0, 95.0]
    township_chart(names, values, banner=86.0, target=90.5, unit="%", highlight=names[0])
    trend_chart(["2023-01", "2023-02"], [89.0, 90.0], target=90.3, unit="%", label="本旗")
    for fig in figures:
        ax = fig.axes[0]
        lines = [line.get_zorder() for line in ax.get_lines()]
        labels = [t for t in ax.texts if t.get_text().strip().endswith("%")]
        assert labels and lines
        for text in labels:
            ground = text.get_bbox_patch()
            assert ground is not None and ground.get_facecolor()[:3] == (1.0, 1.0, 1.0) and ground.get_alpha() >= 0.8
            assert text.get_zorder() > max(lines)


def test_many_units_share_a_dot_per_spot_and_move_less_than_half_a_spot() -> None:
    """Above 60 units the comparison dots are one per 1/400 of the axis (report/charts.py): no dot moves by
    more than half a spot, every value keeps a dot near it, and 60 or fewer are drawn as they are."""
    from edureport.report import charts

    few = [float(v) for v in range(60)]
    assert charts._one_dot_per_spot(few, few) == few
    many = [i * 100 / 599 for i in range(600)]  # 600 townships spread over 0–100 %
    dots = charts._one_dot_per_spot(many, many)
    step = 100 / charts.SPOTS
    assert len(dots) <= charts.SPOTS + 1 < len(many)
    assert all(min(abs(v - d) for d in dots) <= step / 2 + 1e-9 for v in many)
