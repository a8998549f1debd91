"""Layout that holds for any bureau (issue 15): chart labels never overlap or leave the figure, the
review's per-unit matrix up to 30 units and more, section titles on the index page, title break points,
figure references that match the charts, and the month's form asking only for open indicators."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
import yaml

from edureport import load_data
from edureport.batch.jobs import select_jobs
from edureport.batch.manifest import write_index
from edureport.core.fonts import font_face_css
from edureport.core.status import Status
from edureport.data import demo
from edureport.intake.template import build_template
from edureport.kinds import get_kind
from edureport.plan.load import load_plan
from edureport.render.document import stylesheet
from edureport.report import charts
from edureport.report.context import ReportContext, title_html
from edureport.report.review import MATRIX_COLUMNS, _appendix
from edureport.report.section import section_tasks
from edureport.report.township import township_indicators

from .conftest import DEMO, MINI, PLAN_2023

DISTRICT = Path(__file__).resolve().parent / "data" / "district"
LONG = "白马区经济技术开发区管理委员会东部示范区"  # 20 characters
NINE = ["东镇", "西镇", "白马街道", "白马街道·三山片区", "东湖街道", "西岭镇", "南岗镇", LONG, "凤凰山街道"]
SHORT = ["嘎鲁图镇", "乌审召镇", "图克镇", "乌兰陶勒盖镇", "无定河镇", "苏力德苏木"]
THIRTY_LONG = [f"{LONG[:14]}第{i:02d}片区" for i in range(1, 31)]
THIRTY_SHORT = [f"示例镇{i:03d}" for i in range(1, 31)]
SECTIONS = ["一、以政治建设为统领", "二、落实立德树人根本任务", "三、坚持发展素质教育", "四、坚持引培并重",
            "五、引领全民健身", "六、深化教体领域改革", "七、教育督导与安全", "八、保障与项目建设"]


# --- 1. charts: every tick label apart from the others and inside the figure -------------------------

@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[tuple[str, object]], object]]:
    """For every chart made: its tick labels' boxes and the figure's box, measured on the Agg canvas
    just before the chart is saved."""
    kept: list[tuple[list[tuple[str, object]], object]] = []
    save = charts._svg

    def measure(fig):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        labels = []
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(axis.get_view_interval())
                eps = (hi - lo) * 1e-9
                for tick in axis.get_major_ticks():  # the ticks drawn: those inside the view
                    label = tick.label1
                    if lo - eps <= tick.get_loc() <= hi + eps and label.get_visible() and label.get_text().strip():
                        labels.append((label.get_text(), label.get_window_extent(renderer)))
        kept.append((labels, fig.bbox.frozen()))
        return save(fig)

    monkeypatch.setattr(charts, "_svg", measure)
    return kept


def assert_apart_and_inside(labels, figure) -> None:
    assert labels
    boxes = [(text, box.padded(-0.5)) for text, box in labels]  # touching by half a pixel is not overlapping
    for i, (a, box_a) in enumerate(boxes):
        assert figure.x0 <= box_a.x0 and box_a.x1 <= figure.x1 and figure.y0 <= box_a.y0 and box_a.y1 <= figure.y1, \
            f"“{a}” is outside the figure"
        for b, box_b in boxes[i + 1:]:
            assert not box_a.overlaps(box_b), f"“{a}” and “{b}” overlap"


def _values(n: int, base: float = 80.0) -> list[float]:
    return [base + (i * 37 % 19) for i in range(n)]


TOWNSHIP_CASES = {
    "nine long names": NINE,
    "thirty long names": THIRTY_LONG,
    "thirty short names": THIRTY_SHORT,
    "two": NINE[:2],
    "two, one 20 characters": [LONG, "东镇"],
    "short names": SHORT,
    "names that wrap": ["白马街道·三山片区", "东湖街道·滨湖片区", "西岭镇", "南岗镇·北片", "北塘镇", "青石镇·东区",
                        "凤凰山街道", "南岗镇·南片"],
}


@pytest.mark.parametrize("names", TOWNSHIP_CASES.values(), ids=TOWNSHIP_CASES.keys())
@pytest.mark.parametrize("unit", ["%", "人次"])
def test_township_chart_labels_never_overlap(drawn, names: list[str], unit: str) -> None:
    values = _values(len(names)) if unit == "%" else [v * 1_013 for v in _values(len(names))]
    charts.township_chart(names, values, banner=values[0], target=90.0 if unit == "%" else None, unit=unit,
                          highlight=names[1], banner_label="全区")
    (labels, figure), = drawn
    assert_apart_and_inside(labels, figure)
    shown = {t.replace("\n", "") for t, _ in labels}
    assert set(names) <= shown, "every unit keeps its whole name"


def test_township_chart_layouts_by_label_width(drawn) -> None:
    """Short names stay level under the bars; names with a separator wrap there; many short names stand
    upright; long names lay the bars down (one row each)."""
    for names in (SHORT, TOWNSHIP_CASES["names that wrap"], THIRTY_SHORT, NINE):
        charts.township_chart(names, _values(len(names)), banner=None, target=None, unit="%")
    level, wrapped, upright, lying = [labels for labels, _ in drawn]
    assert {t for t, _ in level} >= set(SHORT)
    assert "白马街道·\n三山片区" in {t for t, _ in wrapped}
    assert all(b.height > b.width for t, b in upright if t.startswith("示例镇"))
    rows = [b for t, b in lying if t in NINE]
    assert len(rows) == len(NINE) and len({round(b.y0) for b in rows}) == len(NINE)


INDICATOR_NAMES = ["学生近视率", "“最强党支部”示范点占基层党组织比例", "职业启蒙教育课时占劳动教育课时比例",
                   "信息技术应用能力提升工程2.0培训考核合格率（含民办园以及其他各类学校的全部教师）", "党员教师占比",
                   "公办园在园幼儿占比", "大班额比例"]


@pytest.mark.parametrize("units", [2, 6, 9, 600])
@pytest.mark.parametrize("rows", [1, 3, 7])
def test_comparison_dots_labels_never_overlap(drawn, units: int, rows: int) -> None:
    """One row per indicator, every name whole or cut with "…" after three lines, apart and inside, at any
    number of units; the highlighted unit's name (20 characters) stays in the legend."""
    dots = [charts.DotRow(name, [30.0 + (i * 37 + j * 11) % 60 for i in range(units)], 50.0 + j, 55.0, 60.0)
            for j, name in enumerate(INDICATOR_NAMES[:rows])]
    charts.comparison_dots(dots, highlight=LONG, unit="%", others_label="其他镇街", banner_label="全区",
                           target_label="目标")
    (labels, figure), = drawn
    assert_apart_and_inside(labels, figure)
    names = [t for t, _ in labels if not t.endswith("%")]
    assert len(names) == rows
    for text, name in zip(names, INDICATOR_NAMES, strict=False):
        flat = text.replace("\n", "")
        assert flat == name or (flat.endswith("…") and name.startswith(flat[:-1])), (text, name)


@pytest.mark.parametrize("months", [2, 12])
def test_trend_chart_labels_never_overlap(drawn, months: int) -> None:
    for values, unit in (([30.0 + m for m in range(months)], "%"), ([120_000.0 * m for m in range(months)], "人次")):
        charts.trend_chart([f"2024-{m:02d}" for m in range(1, months + 1)], values, target=max(values) * 1.1,
                           unit=unit, label="学校党组织书记培训覆盖率")
    for labels, figure in drawn:
        assert_apart_and_inside(labels, figure)


@pytest.mark.parametrize("labels", [SECTIONS, SECTIONS[:2], ["一、党建", "二、教学"],
                                    [f"{n}、以政治建设为统领，加强党的建设，坚持高质量发展" for n in "一二三"]])
def test_status_chart_labels_never_overlap(drawn, labels: list[str]) -> None:
    charts.status_chart(labels, [{Status.DONE: 3 + i, Status.LAGGING: 1} for i in range(len(labels))])
    (boxes, figure), = drawn
    assert_apart_and_inside(boxes, figure)


# --- data of many units, made in-process from the small plan ------------------------------------------

def unit_data(tmp_path: Path, names: list[str], townships: int | None = None, plan_file: Path = MINI / "plan.yaml",
              as_of: str = "2024-12-31") -> dict[str, str]:
    """Demo data for the small plan with these units (東镇 and 西镇 hold the plan's named schools)."""
    ref = {"townships": names,
           "schools": [{"name": "东镇中学", "township": "东镇", "stage": "初中", "ownership": "公办"},
                       {"name": "西镇小学", "township": "西镇", "stage": "小学", "ownership": "公办"}],
           "generated_schools": [{"suffix": "小学", "stage": "小学", "ownership": "公办"},
                                 {"suffix": "中学", "stage": "初中", "ownership": "公办"}]}
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(ref, allow_unicode=True), encoding="utf-8")
    tables = demo.generate(load_plan(plan_file), tmp_path / "ref.yaml", townships=townships or len(names),
                           schools_per_township=2)
    demo.write(tables, tmp_path / "data")
    return {"plan_file": str(plan_file), "data_dir": str(tmp_path / "data"), "as_of": as_of}


def matrices(html: str) -> list[tuple[str, list[str], int]]:
    """The appendix's per-unit tables: caption, header cells, number of body rows."""
    out = []
    for table in re.findall(r'<table class="matrix[^"]*">(.*?)</table>', html, flags=re.S):
        caption = re.search(r"<caption>(.*?)</caption>", table).group(1)
        heads = re.findall(r"<th>(.*?)</th>", table)
        out.append((caption, heads, table.count("<tr>") - 1))
    return out


def pdf_overflow(html_body: str) -> list[str]:
    """Lay the HTML out as the PDF does (A4 portrait, report.css) and name every table wider than the
    page's text area."""
    from weasyprint import HTML

    css = stylesheet()
    doc = HTML(string=f'<html><head><style>{font_face_css(html_body + css)}\n{css}</style></head><body>'
                      f'<main class="report">{html_body}</main></body></html>').render()
    wide = []
    for page in doc.pages:
        area = page._page_box.children[0]  # <html>: the page's content box
        right = area.content_box_x() + area.width

        def walk(box):
            yield box
            for child in getattr(box, "children", None) or []:
                yield from walk(child)

        for box in walk(page._page_box):
            if type(box).__name__ == "TableBox" and box.position_x + box.margin_width() > right + 0.5:
                wide.append(f"{box.position_x + box.margin_width():.0f} > {right:.0f}")
    return wide


# --- 2. the review's appendix --------------------------------------------------------------------------

@pytest.mark.parametrize("count", [9, 30])
def test_appendix_matrix_holds_every_unit(tmp_path: Path, count: int) -> None:
    common = unit_data(tmp_path, NINE, townships=count)
    ctx = ReportContext.load("review", **common)
    html = _appendix(ctx).html
    assert "较多" not in html
    tables = matrices(html)
    assert len(tables) == -(-count // MATRIX_COLUMNS)
    units = [h for _, heads, _ in tables for h in heads[2:]]
    assert units == list(ctx.by_township) and len(units) == count  # each unit once, in registry order
    assert LONG in units and "白马街道·三山片区" in units
    widths = [len(heads) - 2 for _, heads, _ in tables]
    assert max(widths) <= MATRIX_COLUMNS and max(widths) - min(widths) <= 1  # tables of nearly equal width
    indicators = [i for i in ctx.plan.indicators if get_kind(i.kind).proportion and i.level != "banner"]
    assert all(rows == len(indicators) and heads[:2] == ["指标", ctx.region] for _, heads, rows in tables)
    numbers = [int(re.match(r"表(\d+)", c).group(1)) for c, _, _ in tables]
    assert numbers == list(range(numbers[0], numbers[0] + len(tables)))
    if len(tables) > 1:
        assert [c[-3:] for c, _, _ in tables] == ["（一）", "（二）", "（三）", "（四）"][:len(tables)]
    assert not pdf_overflow(html), "every table fits an A4 portrait page"


def test_appendix_of_six_units_is_one_table(tmp_path: Path) -> None:
    ctx = ReportContext.load("review", **unit_data(tmp_path, NINE[:6]))
    (caption, heads, _), = matrices(_appendix(ctx).html)
    assert heads[2:] == NINE[:6] and not caption.endswith("）")


# --- 3. section titles on the index page ---------------------------------------------------------------

def _index(tmp_path: Path, plan_file: Path, sha: str | None = None) -> str:
    plan = load_plan(plan_file)
    jobs = select_jobs(plan, ["西岭镇", LONG])
    entries = [{"key": j.key, "kind": j.kind, "title": j.title, "stem": j.stem, "parameters": j.parameters,
                "status": "built", "error": "", "data_fingerprint": "", "files": {}} for j in jobs]
    run = {"plan": {"file": str(plan_file), "sha256": sha or plan.sha256, "title": plan.title,
                    "issuer": plan.issuer}, "data": {"fingerprint": "0" * 64}}
    return write_index(tmp_path, "进展报告", "截至2024年12月", run, entries).read_text(encoding="utf-8")


def test_index_shows_each_sections_title(tmp_path: Path) -> None:
    plan = load_plan(DISTRICT / "plan.yaml")
    html = _index(tmp_path, DISTRICT / "plan.yaml")
    cells = re.findall(r"<tr><td>(.*?)</td>", html)
    for s in plan.sections:
        title = f"第{s.number}部分进展报告"
        assert f'{title}<p class="detail">{s.title}</p>' in cells, s.number
    assert "第七部分进展报告" in html and "教育督导与安全" in html
    assert f"{LONG}2024年工作进展报告" in cells and "白马区教育局2024年工作总结" in cells  # no second line


def test_index_without_its_plan_keeps_the_titles(tmp_path: Path) -> None:
    html = _index(tmp_path, DISTRICT / "plan.yaml", sha="0" * 64)  # the plan file changed since the build
    assert "第七部分进展报告" in html and 'class="detail"' not in html


# --- 4. title break points ------------------------------------------------------------------------------

TITLES = [f"{LONG}2024年工作进展报告", "白马区经济技术开发区2024年工作进展报告", "白马街道·三山片区2024年工作进展报告",
          "白马区教育局2024年工作总结", "第七部分进展报告", "东镇2024年工作进展报告"]


def _parts(markup: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", p) for p in markup.split("<wbr>")]


def test_title_breaks_only_after_the_name_and_the_year() -> None:
    markup, size = title_html("白马区经济技术开发区2024年工作进展报告")
    assert markup == ('<span class="nobr">白马区经济技术开发区</span><wbr><span class="nobr">2024年</span><wbr>'
                      '<span class="nobr">工作进展报告</span>') and size == ""
    assert title_html(f"{LONG}2024年工作进展报告")[1] == "long"  # a step down: the name fits one line
    assert _parts(title_html("第七部分进展报告")[0]) == ["第七部分进展报告"]
    huge = "很" * 40 + "2024年工作进展报告"
    markup, size = title_html(huge)
    assert size == "longer" and markup.startswith("很" * 40 + "<wbr>")  # too long for any size: may break
    css = stylesheet()
    assert re.search(r"\.cover h1\.title \.nobr \{ white-space: nowrap;", css)
    assert re.search(r"\.cover h1\.title\.long \{ font-size: 21pt;", css)  # print


def test_titles_break_at_their_break_points_in_the_pdf() -> None:
    """Laid out as WeasyPrint prints the cover (A4, report.css): every line is made of whole parts, and
    no line is wider than the page."""
    from weasyprint import HTML

    body = "".join(f'<header class="cover"><h1 class="{f"title {size}".strip()}">{markup}</h1></header>'
                   for markup, size in map(title_html, TITLES))
    css = stylesheet()
    doc = HTML(string=f'<html><head><style>{font_face_css(body + css)}\n{css}</style></head><body>'
                      f'<main class="report">{body}</main></body></html>').render()

    def walk(box):
        yield box
        for child in getattr(box, "children", None) or []:
            yield from walk(child)

    broken = 0
    for page, title in zip(doc.pages, TITLES, strict=True):
        area = page._page_box.children[0]
        lines = [b for b in walk(page._page_box) if type(b).__name__ == "LineBox" and b.element_tag == "h1"]
        texts = ["".join(t.text for t in walk(line) if type(t).__name__ == "TextBox").replace("\u200b", "")
                 for line in lines]
        assert "".join(texts) == title
        parts = _parts(title_html(title)[0])
        for text in texts:  # each line: one or more whole parts
            assert any(text == "".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)), \
                f"“{title}” breaks mid-part: {texts}"
        for t in (t for line in lines for t in walk(line) if type(t).__name__ == "TextBox"):
            assert t.position_x + t.width <= area.content_box_x() + area.width + 0.5, f"“{title}” is wider than the page"
        broken += len(lines) > 1
    assert broken >= 2  # the long ones do break (at their break points)


# --- 5. figure references match the charts ----------------------------------------------------------------

def _plan_with_a_banner_task(tmp_path: Path) -> Path:
    """The small plan plus a task whose only charted indicator is county-wide (month-by-month, no units)."""
    plan = yaml.safe_load((MINI / "plan.yaml").read_text(encoding="utf-8"))
    plan["tasks"].append({"id": 4, "section": "二", "title": "召开专题会议", "lead": "党建办", "text": "全年召开专题会议4次。"})
    plan["indicators"].append({"id": "C1", "task": 4, "name": "专题会议次数", "kind": "count", "unit": "次",
                               "target": 4, "level": "banner"})
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _figures(html: str) -> list[tuple[int, str]]:
    return [(int(n), c) for n, c in re.findall(r"<figcaption>图(\d+)　([^<]*)</figcaption>", html)]


def _span(figures: list[tuple[int, str]]) -> str:
    first, last = figures[0][0], figures[-1][0]
    return f"图{first}" + (f"至图{last}" if last > first else "")


@pytest.mark.parametrize("as_of", ["2024-12-31", "2024-01-31"])  # in January: no month-by-month charts
def test_figure_references_name_the_charts_there_are(tmp_path: Path, as_of: str) -> None:
    plan_file = _plan_with_a_banner_task(tmp_path)
    common = unit_data(tmp_path, NINE[:4], plan_file=plan_file, as_of=as_of)
    label = load_plan(plan_file).township_label
    seen = set()
    for number in ("一", "二"):
        ctx = ReportContext.load("section", **common, section=number)
        for block in section_tasks(ctx).html.split("<h3>")[1:]:
            figures = _figures(block)
            text = re.search(r"<p>([^<]*主要指标见表\d+[^<]*)</p>", block).group(1)
            if not figures:
                assert "见图" not in text
                continue
            trend = any("逐月" in c for _, c in figures)
            towns = any(c.startswith(f"各{label}") for _, c in figures)
            what = {(True, True): f"逐月及分{label}", (True, False): "逐月", (False, True): f"分{label}"}[trend, towns]
            assert f"，{what}情况见{_span(figures)}。" in text, text
            seen.add((trend, towns))
    ctx = ReportContext.load("township", **common, township="东镇")
    html = township_indicators(ctx).html
    figures = _figures(html)
    text = re.search(r"<p>(各项指标的目标[^<]*)</p>", html).group(1)
    compared = [(n, c) for n, c in figures if c.endswith(f"与其他{label}比较")]  # one per plan section
    months = [(n, c) for n, c in figures if "逐月" in c]
    trend = bool(months)
    assert compared and f"比较见{_span(compared)}" in text, text
    assert ("逐月变化" in text) == trend and (not trend or f"逐月变化见{_span(months)}" in text), text
    if as_of.endswith("12-31"):
        assert (True, False) in seen, "the county-wide task's month-by-month chart alone"
    else:
        assert seen == {(False, True)} and not trend, "January: only the units compared"


# --- 6. the month's form asks only for open indicators ---------------------------------------------------

def _form_rows(tmp_path: Path, month: str) -> list[str]:
    plan = load_plan(PLAN_2023)
    out = build_template(plan, load_data(DEMO, plan), "图克镇", month, tmp_path / f"{month}.xlsx")
    ws = openpyxl.load_workbook(out)["指标数据"]
    return [r[4] for r in ws.iter_rows(min_row=2, values_only=True) if r[4]]


def test_form_asks_only_for_indicators_open_that_month(tmp_path: Path) -> None:
    plan = load_plan(PLAN_2023)
    spring, autumn = plan.indicator("T16-1"), plan.indicator("T16-2")  # Feb–15 Jul and Sep–Dec
    assert spring.due.month == 7 and autumn.period_from.month == 9
    june, july, october = (_form_rows(tmp_path, m) for m in ("2023-06", "2023-07", "2023-10"))
    assert "T16-1" in june and "T16-2" not in june
    assert "T16-1" in july  # the due month still asks
    assert "T16-1" not in october and "T16-2" in october
    # June: every other indicator as before (all of them are open in June), in plan order
    always = [i for i in dict.fromkeys(october) if i != "T16-2"]
    assert [i for i in dict.fromkeys(june) if i != "T16-1"] == always
    assert [i for i in june if i not in ("T16-1",)] == [i for i in october if i != "T16-2"]
