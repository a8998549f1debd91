"""A second bureau on day one: a city district's 2024 plan, not the sample's, through every command.

tests/data/district/ is a plan of our own making: 2024 (a leap day), eight sections, nine 镇街 with a
prefix pair (白马街道, 白马街道·三山片区), a 20-character name and one without schools, every indicator
kind and comparison, county-only indicators. demo-data → validate → status → template → build (HTML and
PDF) run on it, and every output — HTML text, PDF text, the Excel form, the messages — is searched for
the sample's words: none may appear.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from .conftest import run

DISTRICT = Path(__file__).resolve().parent / "data" / "district"
PLAN = DISTRICT / "plan.yaml"
REFERENCE = DISTRICT / "reference.yaml"
LONG = "白马区经济技术开发区管理委员会东部示范区"
# Words of the Wushen sample that a district's outputs must never contain.
SAMPLE_WORDS = ("乌审旗", "乌审", "苏木镇", "全旗", "嘎鲁图镇", "图克镇", "股室", "教体局", "教育体育局", "2023年工作")


def sample_words_in(text: str) -> list[str]:
    return [w for w in SAMPLE_WORDS if w in text]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The district's demo data and a build of four of its reports (HTML and PDF)."""
    root = tmp_path_factory.mktemp("district")
    data, out = root / "data", root / "out"
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test private cache is not set up yet
        mp.setenv("EDUREPORT_CACHE_DIR", str(root / "cache"))
        made = run("demo-data", data, "--plan", PLAN, "--reference", REFERENCE)
        assert made.exit_code == 0, made.output + made.stderr
        built = run("build", "--data", data, "--plan", PLAN, "--as-of", "2024-10-31", "--out", out, "-q",
                    "--only", "review", "--only", "section:七", "--only", "township:白马街道·三山片区",
                    "--only", f"township:{LONG}")
        assert built.exit_code == 0, built.output + built.stderr
    (folder,) = (out / "2024").iterdir()
    return {"data": data, "out": folder, "root": root}


def test_demo_data_validates_with_the_districts_words(district: dict[str, Path]) -> None:
    result = run("validate", district["data"], "--plan", PLAN)
    assert result.exit_code == 0, result.output + result.stderr
    assert not sample_words_in(result.output + result.stderr)
    header = (district["data"] / "schools.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "镇街" in header and not sample_words_in(header)


def test_status_speaks_the_districts_words(district: dict[str, Path]) -> None:
    for args in ((), ("--township", "白马街道·三山片区")):
        result = run("status", "--data", district["data"], "--plan", PLAN, "--as-of", "2024-10-31", *args)
        assert result.exit_code == 0, result.output + result.stderr
        assert not sample_words_in(result.output + result.stderr), result.output


def test_reports_html_and_pdf_have_no_sample_word(district: dict[str, Path]) -> None:
    html = sorted((district["out"] / "html").glob("*.html"))
    pdf = sorted((district["out"] / "pdf").glob("*.pdf"))
    assert len(html) == 4 and len(pdf) == 4
    for path in html:
        text = path.read_text(encoding="utf-8")
        assert not sample_words_in(text), (path.name, sample_words_in(text))
        assert "白马区教育局" in text or "白马" in text
    if shutil.which("pdftotext"):
        for path in pdf:
            text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout
            assert not sample_words_in(text), (path.name, sample_words_in(text))
            assert "全区" in text
    index = (district["out"] / "index.html").read_text(encoding="utf-8")
    assert not sample_words_in(index)


def test_the_form_has_no_sample_word(district: dict[str, Path], tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    result = run("template", form, "--township", "白马街道", "--period", "2024-10", "--data", district["data"],
                 "--plan", PLAN)
    assert result.exit_code == 0, result.output + result.stderr
    book = openpyxl.load_workbook(form)
    text = "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row
                     if c.value is not None)
    assert not sample_words_in(text), sample_words_in(text)
    assert "镇街" in text and "白马区教育局" in text


def test_prefix_names_long_names_and_a_unit_without_schools(district: dict[str, Path]) -> None:
    html = district["out"] / "html"
    names = {p.name for p in html.glob("township-*.html")}
    assert any("三山片区" in n for n in names) and any(LONG[:6] in n for n in names)
    towns = (district["data"] / "townships.csv").read_text(encoding="utf-8-sig")
    schools = (district["data"] / "schools.csv").read_text(encoding="utf-8-sig")
    assert "凤凰山街道" in towns and "凤凰山街道" not in schools


def test_the_register_may_be_named_in_the_plans_word(district: dict[str, Path], tmp_path: Path) -> None:
    """镇街.csv is the districts' townships.csv, and the cache sees a change to it (a file read but not
    fingerprinted would serve old figures)."""
    data = tmp_path / "data"
    shutil.copytree(district["data"], data)
    (data / "townships.csv").rename(data / "镇街.csv")
    result = run("validate", data, "--plan", PLAN)
    assert result.exit_code == 0, result.output + result.stderr
    before = result.output.splitlines()[1]  # 数据指纹（SHA-256）：…
    assert "数据指纹" in before
    register = data / "镇街.csv"
    register.write_text(register.read_text(encoding="utf-8-sig") + "\n", encoding="utf-8")
    after = run("validate", data, "--plan", PLAN).output.splitlines()[1]
    assert after != before
    (data / "镇街.csv").rename(data / "townships.xlsx.bak")
    missing = run("validate", data, "--plan", PLAN)
    assert missing.exit_code == 2 and "townships.csv、镇街.csv" in missing.output + missing.stderr
    assert not sample_words_in(missing.output + missing.stderr)
