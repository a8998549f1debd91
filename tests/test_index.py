"""The index page as the leaders' front page: every report links back to it, and it links to the other
as-of builds in the same outputs folder (issue 17)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from edureport.batch.build import build

from .conftest import DEMO, PLAN_2023, full_build_keys

AS_OF = "2023-12-31"
BACK = re.compile(r'<nav class="back screen-only"><a href="([^"]+)">‹ 全部报告</a></nav>')


def test_every_report_links_back_to_its_index(full_build: Path) -> None:
    folder = full_build / "2023" / AS_OF
    pages = sorted((folder / "html").glob("*.html"))
    assert len(pages) == len(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["reports"])
    for page in pages:
        links = BACK.findall(page.read_text(encoding="utf-8"))
        assert links == ["../index.html", "../index.html"], page.name  # at the top and at the end
        assert (page.parent / unquote(links[0])).resolve() == (folder / "index.html").resolve()


def test_the_pdf_leaves_the_link_out(full_build: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pdf = full_build / "2023" / AS_OF / "pdf" / "township-图克镇.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "图克镇" in text and "全部报告" not in text


def test_a_notebook_rendered_alone_has_no_link() -> None:
    import nbformat

    from edureport.render.document import notebook_to_html

    nb = nbformat.v4.new_notebook()
    assert "全部报告" not in notebook_to_html(nb, title="报告", kind="section")
    assert 'href="../index.html"' in notebook_to_html(nb, title="报告", kind="section", index="../index.html")


def _rows(index: Path) -> list[tuple[str, str]]:
    """(截至日期 cell, link) of the 各期报告 table."""
    html = index.read_text(encoding="utf-8")
    if "<h2>各期报告</h2>" not in html:
        return []
    table = html.split("<h2>各期报告</h2>", 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1]):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        link = re.search(r'href="([^"]+)"', cells[-1])
        rows.append((cells[0], link.group(1) if link else ""))
    return rows


def test_the_index_links_the_other_as_of_builds(full_build: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(full_build, out)
    december = out / "2023" / AS_OF / "index.html"
    assert _rows(december) == []  # the only build: no table
    june = build(plan_file=PLAN_2023, data_dir=DEMO, as_of="2023-06-30", out=out, jobs=1, only=["review"])
    assert not june.failed
    rows = _rows(june.index)
    assert rows == [("2023-12-31", "../2023-12-31/index.html"), ("2023-06-30（本期）", "")]
    assert (june.index.parent / rows[0][1]).resolve() == december.resolve()
    # the region's 达标率 of each build, from its own manifest
    assert re.search(r"<td>2023-12-31</td><td>[^<]*</td><td class=\"n\">\d+\.\d%</td>", june.index.read_text())
    # the December build written again (nothing changed) now lists June, newest first
    again = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=out, jobs=1, only=full_build_keys())
    assert not again.failed and all(r.status == "unchanged" for r in again.results)
    assert _rows(december) == [("2023-12-31（本期）", ""), ("2023-06-30", "../2023-06-30/index.html")]
    # a folder that is no build (no manifest) is not listed
    (out / "2023" / "2023-09-30").mkdir()
    (out / "2023" / "2023-09-30" / "index.html").write_text("x", encoding="utf-8")
    build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=out, jobs=1, only=full_build_keys())
    assert [r[0] for r in _rows(december)] == ["2023-12-31（本期）", "2023-06-30"]


def test_the_index_shows_who_has_reported(full_build: Path) -> None:
    """数据报送情况 (issue 18): every 苏木镇 × month of the demo data is in (no import log: 已报)."""
    html = (full_build / "2023" / AS_OF / "index.html").read_text(encoding="utf-8")
    part = html.split('<section class="submissions">', 1)[1].split("</section>", 1)[0]
    assert "<h2>数据报送情况</h2>" in part and "各苏木镇数据均已报送" in part
    assert part.count('class="s-unrecorded"') == 6 * 12 and "s-missing" not in part
