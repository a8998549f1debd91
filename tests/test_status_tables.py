"""Every status count table adds up: at every month end and two mid-month dates, in the demo's year-end
review (各部分、各苏木镇汇总) and township report (状态汇总、学校表), each row's status counts sum to the
row's number of indicators — 无数据 included wherever it occurs."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from edureport.core.status import STATUS_ORDER
from edureport.report.context import ReportContext
from edureport.report.review import review_parts
from edureport.report.township import township_overview, township_schools

STATUSES = [s.value for s in STATUS_ORDER]
TOTALS = ("指标", "适用指标", "指标数")
DATES = [(dt.date(2023, m + 1, 1) - dt.timedelta(days=1)) for m in range(1, 12)] + [dt.date(2023, 12, 31)]
DATES += [dt.date(2023, 3, 15), dt.date(2023, 9, 14)]


class Tables(HTMLParser):
    """Each <table> as a list of rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


def count_tables(html: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return [t for t in parser.tables if t and (any(h in STATUSES for h in t[0]) or t[0] == ["状态", "指标数"])]


def check(table: list[list[str]], total_of_place: int) -> int:
    head, rows = table[0], table[1:]
    if head == ["状态", "指标数"]:  # one row per status: the statuses are the rows
        assert [r[0] for r in rows] == STATUSES
        assert sum(int(r[1]) for r in rows) == total_of_place
        return 1
    total = next(i for i, h in enumerate(head) if h in TOTALS)
    cols = [i for i, h in enumerate(head) if h in STATUSES]
    for row in rows:
        assert sum(int(row[i]) for i in cols) == int(row[total]), (head, row)
    return len(rows)


@pytest.mark.parametrize("as_of", DATES, ids=[d.isoformat() for d in DATES])
def test_every_status_count_row_adds_up(as_of: dt.date) -> None:
    common = {"plan_file": "params/plan-2023.yaml", "data_dir": "data/demo", "as_of": as_of.isoformat()}
    review = ReportContext.load("review", **common)
    parts = review_parts(review)
    tables = count_tables(parts["overall"].html) + count_tables(parts["appendix"].html)
    assert len(tables) == 2
    town = next(iter(review.by_township))
    ctx = ReportContext.load("township", township=town, **common)
    tables += count_tables(township_overview(ctx).html) + count_tables(township_schools(ctx).html)
    assert len(tables) == 4
    total = len(ctx.results("township", town))
    assert sum(check(t, total) for t in tables) > 10
