"""What Chinese Excel users really type is accepted and normalised to the same values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edureport.data.normalize import parse_date, parse_int, parse_number, parse_period
from edureport.data.store import load_data
from edureport.plan.model import Plan

from .test_validate import csv_to_xlsx, edit_csv


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("40", 40.0), ("４０", 40.0), ("40%", 40.0), ("40％", 40.0), ("1,234", 1234.0), ("1，234", 1234.0),
     (" 7 ", 7.0), ("12.5", 12.5), ("３.５", 3.5), (8, 8.0), ("", None), ("abc", "bad"), ("1,23", "bad")],
)
def test_parse_number(raw, expected) -> None:
    values, bad = parse_number(pd.Series([raw], dtype=object))
    if expected == "bad":
        assert bad.iloc[0]
    elif expected is None:
        assert pd.isna(values.iloc[0]) and not bad.iloc[0]
    else:
        assert values.iloc[0] == expected and not bad.iloc[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2024-06", "2024-06"), ("2024-6", "2024-06"), ("2024/06", "2024-06"), ("2024年6月", "2024-06"),
     ("２０２４年６月", "2024-06"), ("202406", "2024-06"), ("2024-06-30", "2024-06"), (45444, "2024-06"),
     ("45444", "2024-06"), (pd.Timestamp("2024-06-15"), "2024-06"), ("2024-13", None), ("六月", None)],
)
def test_parse_period(raw, expected) -> None:
    values, bad = parse_period(pd.Series([raw], dtype=object))
    assert (values.iloc[0] if not bad.iloc[0] else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2024-03-05", "2024-03-05"), ("2024/3/5", "2024-03-05"), ("2024年3月5日", "2024-03-05"),
     ("20240305", "2024-03-05"), (45356, "2024-03-05"), ("2024-02-30", None)],
)
def test_parse_date(raw, expected) -> None:
    values, bad = parse_date(pd.Series([raw], dtype=object))
    got = None if bad.iloc[0] else values.iloc[0].strftime("%Y-%m-%d")
    assert got == expected


@pytest.mark.parametrize(("raw", "expected"), [("10", 10), ("10.0", 10), ("任务10", 10), ("第10项", 10), ("１０", 10)])
def test_parse_int(raw, expected) -> None:
    assert parse_int(pd.Series([raw], dtype=object))[0].iloc[0] == expected


def _observations(folder: Path, plan: Plan) -> pd.DataFrame:
    frame = load_data(folder, plan, use_cache=False).observations
    cols = ["period", "indicator_id", "entity", "township", "value", "numerator", "denominator"]
    frame = frame[cols].astype({c: str for c in cols[:4]})
    return frame.sort_values(cols[:4]).reset_index(drop=True)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_chinese_encodings(mini_data: Path, mini_plan: Plan, encoding: str) -> None:
    expected = _observations(mini_data, mini_plan)
    for name in ("observations.csv", "townships.csv", "schools.csv"):
        path = mini_data / name
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    pd.testing.assert_frame_equal(_observations(mini_data, mini_plan), expected)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("2024-02,,东镇,A2,3,,", "2024-02,,东镇,A2,３,,"),  # full-width digit
        ("2024-06,S1,,B1,,25,100", "2024-06,S1,,B1,,25,\"1,00\""),  # placeholder replaced below
        ("2024-01,S1,,A1,,1,2", "2024-01, S1 ,东镇 ,A1 ,,1 ,2 "),  # trailing and leading spaces
        ("2024-05,,,A3,1,,", "2024年5月,,,A3,是,,"),  # Chinese month and 是 for a milestone
        ("2024-10,S3,,B4,2,,", "2024/10,S3,,B4,2.0,,"),
    ],
    ids=["full-width", "thousands", "spaces", "chinese-month", "slash-month"],
)
def test_tolerated_csv_spellings(mini_data: Path, mini_plan: Plan, old: str, new: str) -> None:
    expected = _observations(mini_data, mini_plan)
    if "1,00" in new:  # a thousands separator on a denominator of 1000
        edit_csv(mini_data, "observations.csv", old, "2024-06,S1,,B1,,250,\"1,000\"")
        expected.loc[(expected["indicator_id"] == "B1") & (expected["entity"] == "S1"),
                      ["numerator", "denominator"]] = [250.0, 1000.0]
    else:
        edit_csv(mini_data, "observations.csv", old, new)
    pd.testing.assert_frame_equal(_observations(mini_data, mini_plan), expected)


def test_percent_signs_in_project_progress(mini_data: Path, mini_plan: Plan) -> None:
    edit_csv(mini_data, "projects.csv", "2024-03,Q1,在建,50,", "2024-03,Q1,在建,50％,")
    edit_csv(mini_data, "projects.csv", "2024-06,Q1,在建,90,", "2024-06,Q1,在建,90%,")
    projects = load_data(mini_data, mini_plan, use_cache=False).projects
    assert sorted(projects["percent"].dropna()) == [0, 50, 90, 100]


def test_xlsx_with_serial_dates_and_numbers_as_text(mini_data: Path, mini_plan: Plan) -> None:
    expected = _observations(mini_data, mini_plan)
    expected_projects = load_data(mini_data, mini_plan, use_cache=False).projects
    csv_to_xlsx(mini_data, "observations", as_text=True)  # every number stored as text
    path = csv_to_xlsx(mini_data, "projects")
    import openpyxl

    book = openpyxl.load_workbook(path)
    ws = book.active
    for row in ws.iter_rows(min_row=2):
        for cell in row[4:8]:  # dates → Excel serial numbers, as a date cell without its format reads
            if cell.value:
                cell.value = (pd.Timestamp(cell.value) - pd.Timestamp("1899-12-30")).days
    book.save(path)
    pd.testing.assert_frame_equal(_observations(mini_data, mini_plan), expected)
    got = load_data(mini_data, mini_plan, use_cache=False).projects
    pd.testing.assert_series_equal(got["planned_finish"], expected_projects["planned_finish"])
