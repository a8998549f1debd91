"""较上期变化 (issue 18 item 1): change records, their words over kind × comparison × status change, the part
in the reports with the demo data, a first report with nothing earlier, and compare_to in the build key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest

from edureport.core.errors import AsOfError
from edureport.core.status import STATUS_ORDER, Status
from edureport.data.store import load_data
from edureport.kinds import KINDS, get_kind
from edureport.metrics.change import (
    STATUS_RANK,
    Change,
    change_of,
    compare_date,
    default_compare_to,
    year_on_year,
)
from edureport.metrics.compute import IndicatorResult, compute
from edureport.report import (
    catalog,  # noqa: F401  (registers the report kinds)
    review,
    township,
)
from edureport.report.change import (
    BETTER,
    COLOURS,
    WORSE,
    change_cell,
    change_cell_text,
    change_sentence,
    status_groups,
)
from edureport.report.context import ReportContext

from .conftest import DEMO, PLAN_2023, run

D, ON, L, M, N = Status.DONE, Status.ON_TRACK, Status.LAGGING, Status.MISSED, Status.NO_DATA
UNIT = {"count": "场", "ratio": "%", "milestone": "", "project": "个", "trend": "%"}
# Which way of the value is better, by comparison: +1 a rise, −1 a fall; "==" is "closer to the target"
# (the cases below start below the target, so a rise comes closer).
WANTED = {">=": 1, ">": 1, "<=": -1, "<": -1, "<baseline": -1, ">baseline": 1, "==": 1}
TARGET, LOW, HIGH = 10.0, 4.0, 6.0


def _result(kind: str, op: str, status: Status, actual: float | None) -> IndicatorResult:
    r = IndicatorResult(
        indicator_id="X1", section="一", task=1, name="样例指标", kind=kind, unit=UNIT[kind], comparison=op,
        aggregate="all" if kind == "milestone" else "sum", level="banner", entity="", entity_name="示例县",
        target=TARGET, target_text="目标", actual=None if status is N else actual, actual_text="", progress=None,
        progress_text="", status=status, expected=None, baseline=TARGET if kind == "trend" else None, detail="",
        due=dt.date(2024, 12, 31), overdue=False)
    return dataclasses.replace(r, actual_text=get_kind(kind).actual_text(r) if r.actual is not None else "—")


CASES = [(k.name, op, old, new, step) for k in KINDS for op in k.comparisons
         for old in STATUS_ORDER for new in STATUS_ORDER for step in (1, -1)]


@pytest.mark.parametrize(("kind", "op", "old", "new", "step"), CASES)
def test_change_words_truth_table(kind: str, op: str, old: Status, new: Status, step: int) -> None:
    before, after = (LOW, HIGH) if step > 0 else (HIGH, LOW)
    c = change_of(_result(kind, op, old, before), _result(kind, op, new, after))
    cell, sentence = change_cell_text(c), change_sentence(c)
    if N in (old, new):  # a side without a value: no arrow, no verdict on the move
        assert cell == "—" and c.better is None
        assert BETTER not in sentence and WORSE not in sentence
    else:
        better = step == WANTED[op]
        assert c.better is better
        if c.numeric:  # the arrow is the value's direction, whatever the target wants
            assert cell.startswith("↑" if step > 0 else "↓"), cell
            assert ("升至" if step > 0 else "降至") in sentence or ("增至" if step > 0 else "减至") in sentence
        word, other = (BETTER, WORSE) if better else (WORSE, BETTER)
        assert word in sentence and other not in sentence, sentence
        assert f"color:{COLOURS[better]}" in change_cell(c)
    moved = f"由{old.value}转为{new.value}"
    assert (moved in sentence) is (old != new), sentence
    if old != new and N not in (old, new):
        assert c.status_better is (STATUS_RANK[new] > STATUS_RANK[old])
        label = status_groups([c])[0][0]
        assert moved in label and label.startswith({D: "新达标", ON: "转为进展正常", L: "新滞后", M: "新未达标"}[new])
    else:
        assert c.status_better is None


def test_unchanged_and_percentage_difference() -> None:
    same = change_of(_result("ratio", ">=", ON, 40.0), _result("ratio", ">=", ON, 40.0))
    assert change_cell_text(same) == "持平" and "持平" in change_sentence(same)
    c = change_of(_result("ratio", "<=", ON, 5.04), _result("ratio", "<=", ON, 5.0))
    assert change_cell_text(c) == "↓0.04个百分点"  # in 个百分点, never printed as 0
    assert "向好" in change_sentence(c)


def test_default_and_explicit_compare_dates() -> None:
    assert default_compare_to(dt.date(2023, 6, 30)) == dt.date(2023, 5, 31)
    assert default_compare_to(dt.date(2023, 6, 15)) == dt.date(2023, 4, 30)  # 06-15 counts May: the one before
    assert default_compare_to(dt.date(2023, 12, 31)) == dt.date(2023, 11, 30)
    assert default_compare_to(dt.date(2024, 3, 31), 2023) == dt.date(2023, 11, 30)  # past the plan year
    assert default_compare_to(dt.date(2023, 1, 15)) == dt.date(2022, 11, 30)  # nothing counted yet: nothing before
    assert compare_date("", dt.date(2023, 1, 31)) == dt.date(2022, 12, 31)
    assert compare_date("2023年3月31日", dt.date(2023, 7, 31)) == dt.date(2023, 3, 31)
    with pytest.raises(AsOfError, match="比较日期“下个月”无法识别"):
        compare_date("下个月", dt.date(2023, 7, 31))
    with pytest.raises(AsOfError, match="应早于截至日期"):
        compare_date("2023-07-31", dt.date(2023, 7, 31))


def _text(block) -> str:
    return unescape(re.sub(r"<[^>]+>", "", block._repr_html_()))


def test_township_change_part_names_a_status_change_from_the_demo_data(plan) -> None:
    ds = load_data(DEMO, plan)
    june = {r.indicator_id: r for r in compute(ds, dt.date(2023, 6, 30), "township", "图克镇")}
    july = compute(ds, dt.date(2023, 7, 31), "township", "图克镇")
    moved = [(june[r.indicator_id], r) for r in july if r.indicator_id in june and june[r.indicator_id].status != r.status]
    assert moved, "the demo data change some status of 图克镇 between 06-30 and 07-31"
    ctx = ReportContext.load("township", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-07-31",
                             township="图克镇")
    html = township.change_part(ctx)._repr_html_()
    items = [unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li>(.*?)</li>", html)]
    for old, new in moved:
        line = next(i for i in items if f"由{old.status.value}转为{new.status.value}" in i)
        assert new.name in line.split("：", 1)[1]
        up = STATUS_RANK.get(new.status, -1) > STATUS_RANK.get(old.status, -1)
        assert line.startswith("新达标" if new.status is D else "转为进展正常" if new.status is ON
                               else "新滞后" if new.status is L else "新未达标")
        assert up is (new.status in (D, ON))  # in these data: up to 达标/进展正常, down to 滞后
    text = _text(township.change_part(ctx))
    assert "与上期（2023年6月30日）相比" in text
    # the change column of the main table: the value's direction, coloured by the comparison
    table = township.township_indicators(ctx)._repr_html_()
    grew = next(r for r in july if r.indicator_id in june and r.actual is not None and june[r.indicator_id].actual
                is not None and r.actual > june[r.indicator_id].actual and r.comparison in (">=", ">"))
    row = next(tr for tr in table.split("<tr>") if f"<td>{grew.name}</td>" in tr)
    assert "↑" in row and f"color:{COLOURS[True]}" in row


def test_first_report_says_there_is_nothing_to_compare() -> None:
    ctx = ReportContext.load("township", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-01-31",
                             township="图克镇")
    assert ctx.previous_results("township", "图克镇") is None
    text = _text(township.change_part(ctx))
    assert "2022年12月31日及以前尚无指标数据，本期是第一期，不作较上期比较。" in text
    table = township.township_indicators(ctx)._repr_html_()
    assert 'class="change"' not in table and "<th>较上期</th>" in table


def test_review_compares_with_the_baseline_year(plan) -> None:
    ctx = ReportContext.load("review", plan_file=str(PLAN_2023), data_dir=str(DEMO), as_of="2023-12-31")
    records = year_on_year(ctx.data, ctx.banner_results, ctx.as_of)
    assert records and all(plan.indicator(c.indicator_id).baseline_year for c in records)
    text = _text(review.change_part(ctx))
    for c in records:
        verb = "上升" if c.direction > 0 else "下降"
        word = BETTER if c.better else WORSE
        assert f"{c.name}{c.new_text}，比上年（{c.old_text}）{verb}" in text
        assert re.search(re.escape(c.name) + r"[^。]*" + word + "。", text)


def test_bad_compare_to_names_the_option(tmp_path: Path) -> None:
    result = run("build", "--data", DEMO, "--out", tmp_path / "out", "--as-of", "2023-07-31",
                 "--compare-to", "2023-08-31", "--only", "township:图克镇")
    assert result.exit_code == 2 and "--compare-to" in result.output and "应早于截至日期" in result.output


def test_first_build_and_compare_to_in_the_input_key(tmp_path: Path) -> None:
    from edureport.batch.build import build

    out = tmp_path / "out"
    kwargs = {"plan_file": PLAN_2023, "data_dir": DEMO, "as_of": "2023-01-31", "out": out,
              "only": ["township:图克镇"], "formats": ("html",), "jobs": 1}
    first = build(**kwargs)
    assert [r.status for r in first.results] == ["built"], [r.error for r in first.results]
    html = Path(first.results[0].files["html"]).read_text(encoding="utf-8")
    assert "本期是第一期，不作较上期比较" in unescape(re.sub(r"<[^>]+>", "", html))
    again = build(**kwargs, compare_to="2023-01-15")  # same as_of, another compare_to: rebuilt
    assert [r.status for r in again.results] == ["built"]
    assert [r.status for r in build(**kwargs, compare_to="2023-01-15").results] == ["unchanged"]


VALUES = [38.91, 38.94, 38.95, 40.16, 49.96, 49.999, 50.0, 50.004, 50.04, 1.26, 1.27, 99.96, 100.0]


@pytest.mark.parametrize("comparison", [">=", "<="])
def test_a_move_sentence_agrees_with_its_own_printed_figures(comparison: str) -> None:
    """Review finding: "由38.9%升至38.9%，上升0.03个百分点" (equal figures, a rise) and "由38.9%升至40.2%，上升1.2个
    百分点" (the figures differ by 1.3). Over pairs of figures around a target of 50%: the two printed figures
    differ, lie on their raw values' side of the target, and the printed gap is their difference."""
    import re

    from edureport.core.figures import fmt_vs
    from edureport.report.change import change_cell_text, move_sentence

    number = r"([\d.,]+)%"
    for old in VALUES:
        for new in VALUES:
            if old == new:
                continue
            c = Change("x", "比例", "ratio", "%", comparison, "一", 1, 50.0, old, new,
                       fmt_vs(old, 50.0, unit="%"), fmt_vs(new, 50.0, unit="%"), Status.ON_TRACK, Status.ON_TRACK)
            text = move_sentence(c)
            found = re.search(f"由{number}[升降]至{number}，(?:上升|下降)([\\d.]+)个百分点", text)
            assert found, text
            po, pn, gap = (float(g.replace(",", "")) for g in found.groups())
            assert po != pn and (pn > po) == (new > old), text
            decimals = max(len(g.split(".")[1]) if "." in g else 0 for g in found.groups()[:2])
            assert gap == pytest.approx(round(abs(pn - po), decimals)), text
            for raw, shown in ((old, po), (new, pn)):
                assert (raw > 50) == (shown > 50) and (raw < 50) == (shown < 50), text
            assert change_cell_text(c).endswith(found.group(3) + "个百分点"), (change_cell_text(c), text)


def test_a_unit_whose_figures_start_later_says_so_while_others_compare(tmp_path: Path) -> None:
    """Review finding: whether a report compares came from every row of the data (also rows its build key
    does not cover), and a township without earlier figures of its own read "本期是第一期" only by chance.
    Now: from the dates (a month had counted by the comparison date), then from the report's own results."""
    import csv
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    schools = {r["学校代码"] for r in csv.DictReader((data / "schools.csv").open(encoding="utf-8-sig"))
               if r["苏木镇"] == "图克镇"}
    path = data / "observations.csv"
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    kept = [rows[0]] + [r for r in rows[1:] if not (r[0] <= "2023-05" and (r[2] == "图克镇" or r[1] in schools))]
    assert len(kept) < len(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(kept)
    args = {"plan_file": str(PLAN_2023), "data_dir": str(data), "as_of": "2023-06-30"}
    tuke = ReportContext.load("township", **args, township="图克镇")
    assert tuke.has_previous  # May had ended: a comparison, whatever the rows
    text = _text(township.change_part(tuke))
    assert "本期是第一期" not in text and "涉及无数据" in text  # its own figures' 无数据 in May, said so
    # none of its figures at all on the earlier date (every result 无数据): said in one sentence
    none = [dataclasses.replace(r, status=N) for r in tuke.previous_results("township", "图克镇")]
    tuke.previous_results = lambda *a, **k: none
    assert "2023年5月31日及以前这些指标尚无数据，本期是第一期，不作较上期比较。" in _text(township.change_part(tuke))
