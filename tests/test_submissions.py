"""Submission tracking (`edureport submissions`, intake/submissions.py): what is in, when it arrived, what
is late, whom to chase; the reports' note on missing units."""

from __future__ import annotations

import datetime as dt
import shutil
import types
from pathlib import Path

import pandas as pd
import pytest

from edureport.core.errors import DemoDataError, PlanError
from edureport.data import demo
from edureport.data.store import load_data
from edureport.intake import importer
from edureport.intake.submissions import (
    LATE,
    MISSING,
    NO_RECORD,
    ON_TIME,
    OVERDUE,
    UNRECORDED,
    Cell,
    deadline,
    missing_note,
    missing_units,
    read_contacts,
    submissions_html,
    track,
)
from edureport.plan.load import load_plan
from edureport.report.context import ReportContext
from edureport.report.kinds import township_rows

from .conftest import DEMO, PLAN_2023, run
from .test_intake import fill_with_demo, make_form

GONE, JUNE = "乌审召镇", "2023-06"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DEMO, dest)
    return dest


def drop(data: Path, town: str = GONE, month: str = JUNE) -> None:
    """Delete one unit's figures (observations) of one month from the copy."""
    path = data / "observations.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame = frame[~((frame["苏木镇"] == town) & (frame["期间"] == month))]
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def submissions(data: Path, *args: str):
    return run("submissions", "--data", data, "--plan", PLAN_2023, *args)


# --- the command ----------------------------------------------------------------------------------


def test_complete_data_pass_strict(data: Path) -> None:
    result = submissions(data, "--period", JUNE, "--strict")
    assert result.exit_code == 0, result.output
    assert "催报名单：无" in result.output
    # demo rows were written directly, not imported: no time is invented for them
    assert result.output.count(NO_RECORD) >= 6 and "按时" not in result.output


def test_missing_unit_is_listed_and_strict_fails(data: Path) -> None:
    drop(data)
    result = submissions(data, "--period", JUNE)
    assert result.exit_code == 0, result.output
    chase = result.output.split("催报名单", 1)[1]
    assert GONE in chase and "6月（逾期）未报送" in chase and "图克镇" not in chase
    assert submissions(data, "--period", JUNE, "--strict").exit_code == 1
    assert submissions(data, "--period", "2023-05", "--strict").exit_code == 0  # May is complete
    whole = submissions(data, "--strict")  # every month of the year: units × months
    assert whole.exit_code == 1 and "逾期未报" in whole.output and "12月" in whole.output


def test_months_not_yet_ended_are_not_expected(data: Path) -> None:
    drop(data, month="2023-07")
    result = submissions(data, "--as-of", "2023-07-20", "--strict")  # July has not ended: not due
    assert result.exit_code == 0 and "7月" not in result.output and "6月" in result.output
    assert submissions(data, "--as-of", "2023-07-31", "--strict").exit_code == 1


@pytest.mark.parametrize("args, needle", [
    (["--period", "2023-13"], "不在工作要点年度内"),
    (["--period", "2023/06"], "--period 应写作 YYYY-MM"),
    (["--period", "2024-01"], "不在工作要点年度内"),
    (["--as-of", "明天"], "无法识别"),
    (["--reference", "/nonexistent/名录.yaml"], "不存在"),
])
def test_bad_input_is_one_chinese_line(data: Path, args: list[str], needle: str) -> None:
    result = submissions(data, *args)
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_data_folder_is_exit_2(tmp_path: Path) -> None:
    result = submissions(tmp_path / "nowhere", "--period", JUNE)
    assert result.exit_code == 2 and "不存在" in result.stderr


def test_contact_from_the_reference_list(data: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref.yaml"
    text = (Path(PLAN_2023).parent / "demo-reference.yaml").read_text(encoding="utf-8")
    ref.write_text(text.replace("townships: [嘎鲁图镇, 乌审召镇,",
                                "townships: [嘎鲁图镇, {name: 乌审召镇, contact: 教育办王老师 0477-0000000},"),
                   encoding="utf-8")
    drop(data)
    drop(data, town="图克镇")
    result = submissions(data, "--period", JUNE, "--reference", ref)
    assert "乌审召镇：6月（逾期）未报送；联系人：教育办王老师 0477-0000000" in result.output
    assert "图克镇：6月（逾期）未报送；联系人：名录中未登记" in result.output
    # the demo generator still reads a reference with contacts
    assert [n for n, _ in demo.reference_units({"townships": ["A", {"name": "B", "contact": "x"}]})] == ["A", "B"]


def test_bad_contact_is_refused(tmp_path: Path) -> None:
    ref = tmp_path / "ref.yaml"
    ref.write_text("townships: [{name: 甲镇, contact: [1, 2]}]\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match="contact"):
        read_contacts(ref)
    assert read_contacts(tmp_path / "none.yaml") == {}


# --- arrival and lateness from real imports ---------------------------------------------------------


class _Clock:
    """importer's ``dt`` with a fixed ``datetime.now()``: the import log's own writer, at a chosen time."""

    def __init__(self, when: dt.datetime):
        fixed = type("Fixed", (dt.datetime,), {"now": classmethod(lambda cls, tz=None: when)})
        self.module = types.SimpleNamespace(datetime=fixed, date=dt.date, timedelta=dt.timedelta)


def imported(data: Path, tmp_path: Path, town: str, monkeypatch: pytest.MonkeyPatch,
             when: dt.datetime | None = None) -> None:
    form = fill_with_demo(make_form(data, tmp_path, town, JUNE), town, JUNE)
    drop(data, town=town)
    with monkeypatch.context() as mp:
        if when is not None:
            mp.setattr(importer, "dt", _Clock(when).module)
        result = run("import", form, "--data", data, "--plan", PLAN_2023)
    assert result.exit_code == 0 and "已写入" in result.output, result.output


def test_arrival_and_lateness_from_the_import_log(data: Path, tmp_path: Path, monkeypatch) -> None:
    plan = load_plan(PLAN_2023)
    imported(data, tmp_path, "图克镇", monkeypatch, dt.datetime(2023, 7, 5, 17, 30))  # on the deadline day
    imported(data, tmp_path, "无定河镇", monkeypatch, dt.datetime(2023, 7, 6, 9, 0))  # a day late
    imported(data, tmp_path, GONE, monkeypatch)  # a real import, now: years after the deadline
    s = track(plan, data, dt.date(2023, 6, 30), period=JUNE)
    assert deadline(plan, JUNE) == dt.date(2023, 7, 5)
    assert s.cell("图克镇", JUNE).status == ON_TIME
    assert s.cell("图克镇", JUNE).arrived == dt.datetime(2023, 7, 5, 17, 30)
    assert s.cell("无定河镇", JUNE).status == LATE and s.cell(GONE, JUNE).status == LATE
    assert s.cell("嘎鲁图镇", JUNE).status == UNRECORDED and s.cell("嘎鲁图镇", JUNE).arrived is None
    assert {c.township for c in s.late()} == {GONE, "无定河镇"}
    out = submissions(data, "--period", JUNE).output
    assert "图克镇" in out and "按时报送" in out and "2023-07-05 17:30" in out and "逾期报送" in out
    # May was not imported: no time for it
    may = track(plan, data, dt.date(2023, 6, 30), period="2023-05")
    assert may.cell("图克镇", "2023-05").status == UNRECORDED


def test_deadline_day_comes_from_the_plan(tmp_path: Path) -> None:
    text = Path(PLAN_2023).read_text(encoding="utf-8")
    later = tmp_path / "plan-later.yaml"
    later.write_text(text.replace("department_label: 股室\n", "department_label: 股室\nsubmission_deadline_day: 10\n"),
                     encoding="utf-8")
    plan = load_plan(later)
    assert plan.submission_deadline_day == 10 and deadline(plan, "2023-12") == dt.date(2024, 1, 10)
    assert load_plan(PLAN_2023).submission_deadline_day == 5
    for bad in ("0", "29", "'5'", "5.5"):
        wrong = tmp_path / "plan-bad.yaml"
        wrong.write_text(text.replace("department_label: 股室\n", f"department_label: 股室\nsubmission_deadline_day: {bad}\n"),
                         encoding="utf-8")
        with pytest.raises(PlanError, match="submission_deadline_day"):
            load_plan(wrong)


# --- library functions for reports and the index page ---------------------------------------------


def test_missing_units_and_the_note(data: Path) -> None:
    plan = load_plan(PLAN_2023)
    assert missing_units(plan, data, dt.date(2023, 6, 30)) == []
    drop(data)
    gone = missing_units(plan, data, dt.date(2023, 6, 30))
    assert [(c.township, c.period) for c in gone] == [(GONE, JUNE)]
    assert missing_units(plan, data, dt.date(2023, 5, 31)) == []  # June does not count yet
    assert missing_note(plan, gone) == "乌审召镇6月数据未报送，按已有数据计算。"
    many = [Cell(f"第{i}镇", m, 0, dt.date(2023, 7, 5)) for i in range(12) for m in ("2023-05", JUNE)]
    note = missing_note(plan, many)
    assert note.startswith("第0镇5月、6月，第1镇5月、6月") and "等12个苏木镇数据未报送" in note


def test_township_and_review_reports_note_missing_data(data: Path) -> None:
    from edureport.report.review import review_parts
    from edureport.report.township import township_overview

    drop(data)
    common = {"plan_file": str(PLAN_2023), "data_dir": str(data), "as_of": "2023-06-30"}
    html = township_overview(ReportContext.load("township", **common, township=GONE)).html
    assert "乌审召镇6月数据未报送，按已有数据计算。" in html
    assert "未报送" not in township_overview(ReportContext.load("township", **common, township="图克镇")).html
    assert "乌审召镇6月数据未报送" in review_parts(ReportContext.load("review", **common))["overall"].html


def test_the_note_is_covered_by_the_township_build_key(data: Path) -> None:
    """The note depends only on the unit's own rows, which its build key digests (report/kinds.township_rows)."""
    plan = load_plan(PLAN_2023)
    before = township_rows(load_data(data, plan), GONE)
    other = township_rows(load_data(data, plan), "图克镇")
    drop(data)
    ds = load_data(data, plan)
    assert township_rows(ds, GONE)["observations"] != before["observations"]
    assert township_rows(ds, "图克镇") == other


def test_html_fragment(data: Path) -> None:
    plan = load_plan(PLAN_2023)
    drop(data)
    html = submissions_html(plan, data, dt.date(2023, 6, 30), today=dt.date(2023, 7, 3),
                            contacts={GONE: "<王老师>"})
    assert html.startswith('<section class="submissions">') and html.endswith("</section>")
    assert '<td class="s-missing" title="未报送，截止日2023-07-05">未报</td>' in html  # before its deadline
    assert "乌审召镇：6月未报送（联系人：&lt;王老师&gt;）" in html and "<script" not in html
    assert html.count("<tr>") == 7  # header + six units
    later = submissions_html(plan, load_data(data, plan), dt.date(2023, 6, 30), today=dt.date(2023, 7, 6))
    assert 's-overdue' in later and MISSING != OVERDUE
