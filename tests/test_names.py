"""Names are data, not paths or templates: odd but valid unit names build end to end inside --out;
names and free text that would break files, terminals or Excel are refused with their row."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from edureport.batch.execute import literal_path
from edureport.core.paths import OutsideOutputError, report_files
from edureport.data.normalize import FREE_TEXT_MAX, NAME_MAX, free_text_problem, name_problem
from edureport.report.charts import DotRow, comparison_dots, township_chart, trend_chart
from edureport.report.kinds import name_stem, unique_stems

from .conftest import MINI, ROOT, run

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile" / "data"
NFC_NAME = unicodedata.normalize("NFC", "Ölgii苏木")
NFD_NAME = unicodedata.normalize("NFD", NFC_NAME)
LONG_NAME = "长" * (NAME_MAX - 3) + "苏木镇"
RENAMED = {"东镇": "{data_dir[0]}", "西镇": "$\\sqrt{2}$镇"}  # mini's townships, renamed in every file
ADDED = {"a{b}c": "S5", NFC_NAME: "S6", LONG_NAME: "S7", "100%<b>粗&amp;": "S8"}  # a primary school each
ODD_NAMES = [*RENAMED.values(), *ADDED]


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _append(path: Path, *rows: list[str]) -> None:
    _write(path, [*_read(path), *rows])


def odd_names_data(dest: Path) -> Path:
    """The mini data with its townships renamed consistently and four more townships; the Latin name is
    NFC in the registry and NFD (decomposed Ö) in the schools, observations and activities files."""
    shutil.copytree(MINI / "data", dest)

    def towns(name: str, column: str, extra: list[list[str]]) -> None:
        rows = _read(dest / name)
        at = rows[0].index(column)
        for row in rows[1:]:
            row[at] = RENAMED.get(row[at], row[at])
        _write(dest / name, rows + extra)

    spelled = {t: NFD_NAME if t == NFC_NAME else t for t in ADDED}
    towns("townships.csv", "township", [[t, f"X{i}"] for i, t in enumerate(ADDED)])
    towns("schools.csv", "township", [[s, f"新{s}小学", spelled[t], "小学", "公办"] for t, s in ADDED.items()])
    towns("observations.csv", "township",
          [["2024-06", s, "", "A1", "", "2", "5"] for s in (*ADDED.values(), "S3")]
          + [["2024-06", "", NFD_NAME, "A2", "1", "", ""]])
    towns("activities.csv", "township", [["2024-04-02", "1", NFD_NAME, "", "牧区送教", "12"]])
    return dest


def listing(root: Path, *skip: Path) -> set[str]:
    return {str(p) for p in root.rglob("*") if not any(p == s or s in p.parents for s in skip)}


def test_odd_names_build_end_to_end_inside_out(tmp_path: Path, private_cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Braces (also in --out and in the notebooks folder), mathtext, % and <b>, a name of the longest
    allowed length, and one name written NFC and NFD: every report builds, every file lands inside
    --out under a safe name, and each chart shows the names as written."""
    data = odd_names_data(tmp_path / "data")
    notebooks = tmp_path / "nb{plan_file}"
    shutil.copytree(ROOT / "notebooks", notebooks)
    monkeypatch.setenv("EDUREPORT_NOTEBOOKS_DIR", str(notebooks))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    out = tmp_path / "out{data_dir[0]}{pm}"
    base = tmp_path.parent  # this test's folder and its siblings, the cache among them
    before = listing(base, out, private_cache)
    project = listing(ROOT / "notebooks")
    result = run("build", "--plan", MINI / "plan.yaml", "--data", data, "--out", out, "--formats", "html",
                 "--as-of", "2024-12-31", "-j", "2", *[a for t in ODD_NAMES for a in ("--only", f"township:{t}")])
    assert result.exit_code == 0, result.output + result.stderr
    assert listing(base, out, private_cache) == before, "nothing written outside --out and the cache"
    assert listing(ROOT / "notebooks") == project
    folder = out / "2024" / "2024-12-31"
    stems = unique_stems("township", ODD_NAMES)
    assert {p.name for p in (folder / "html").iterdir()} == {f"{s}.html" for s in stems.values()}
    for name, stem in stems.items():
        page = (folder / "html" / f"{stem}.html").read_text(encoding="utf-8")
        assert html.escape(name) in page
        svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
        drawn = re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", "".join(svgs))))
        assert svgs and re.sub(r"\s+", "", name) in drawn, name  # the unit's own name, in its charts' legend
        assert (folder / "notebooks" / f"{stem}.ipynb").is_file()


@pytest.mark.parametrize(("name", "stem"), [
    ("图克镇", "township-图克镇"),  # plain names keep today's readable file names
    ("第一小学（东校区）", "township-第一小学（东校区）"),
    (NFC_NAME, f"township-{NFC_NAME}"),
    ("乌兰·夫", "township-乌兰·夫"),
    ("{data_dir[0]}", "township-_data_dir_0_-"),
    ("../../x", "township-.._.._x-"),
    ("a b", "township-a_b-"),
    ("100%<b>粗&amp;", "township-100_b_粗_amp_-"),
    (NFD_NAME, f"township-{NFC_NAME}-"),  # file names are NFC; a name that is not gets the hash
])
def test_name_stem(name: str, stem: str) -> None:
    got = name_stem("township", name)
    if stem.endswith("-"):
        assert re.fullmatch(re.escape(stem) + "[0-9a-f]{12}", got)
    else:
        assert got == stem
    report_files("/tmp/out", 2023, "2023-12-31", got)  # a plain file name inside the folder


def test_stems_are_unique_short_and_safe() -> None:
    """Names that slug alike, differ only in case, or are crafted to look like another's hashed stem
    still get different file names; long names are cut but stay distinct."""
    crafted = name_stem("township", "a b").removeprefix("township-")
    names = ["a b", "a_b", "A_B", "a?b", crafted, "名" * 300, "名" * 299 + "字", NFC_NAME, NFD_NAME, "图克镇"]
    stems = unique_stems("township", names)
    folded = [unicodedata.normalize("NFC", s).casefold() for s in stems.values()]
    assert len(set(folded)) == len(names)
    assert stems["图克镇"] == "township-图克镇"
    for stem in stems.values():
        assert len(f".{stem}.ipynb.12345678.tmp".encode()) < 255
        report_files("/tmp/out", 2023, "2023-12-31", stem)


@pytest.mark.parametrize("stem", ["../x", "a/b", "a\\b", "..", "", "a\x00b", "/etc/passwd"])
def test_report_files_refuse_paths(stem: str) -> None:
    with pytest.raises(OutsideOutputError):
        report_files("/tmp/out", 2023, "2023-12-31", stem)


def test_report_files_stay_inside_out() -> None:
    with pytest.raises(OutsideOutputError):
        report_files("/tmp/out", 2023, "../../../x", "ok")


@pytest.mark.parametrize("path", ["/a/{data_dir[0]}/b.ipynb", "/o{ut}/{pm}/x{{y}}.ipynb", "/plain/图克镇.ipynb"])
def test_papermill_sees_paths_literally(path: str) -> None:
    from papermill.parameterize import add_builtin_parameters, parameterize_path

    params = add_builtin_parameters({"data_dir": "/elsewhere", "township": "x"})
    assert parameterize_path(literal_path(Path(path)), params) == path


MATH = ["$\\sqrt{2}$镇", "$\\sqrt$", "a$b$c", "$x^2$"]


@pytest.mark.parametrize("label", MATH)
def test_chart_text_is_not_mathtext(label: str) -> None:
    """Tick labels, bar values, legend entries, annotations: the text as written, never typeset."""
    shown = html.escape(label, quote=False)
    svg = township_chart([label, "东镇"], [1.0, 2.0], banner=1.5, target=2.0, unit="%", highlight=label,
                         banner_label=label)
    assert svg.count(shown) >= 2  # tick label and legend
    svg = comparison_dots([DotRow(label, [1.0, 2.0, 3.0], 2.0, 1.5, 2.5)], highlight=label, unit="",
                          others_label=label, banner_label=label, target_label=label)
    assert svg.count(shown) >= 2  # row name and legend
    svg = trend_chart(["2024-01", "2024-02"], [1.0, 2.0], target=3.0, unit="", label=label, target_label=label)
    assert shown in svg


@pytest.mark.parametrize(("value", "problem"), [
    ("{data_dir[0]}", None), ("a{b}c", None), ("$\\sqrt$镇", None), ("100%<b>粗&amp;", None),
    ("第一小学（东校区）", None), ("乌兰·夫", None), (NFC_NAME, None), ("镇" * NAME_MAX, None), ("S-1", None),
    ("镇" * (NAME_MAX + 1), "过长"), ("../x", "“/”"), ("a\\b", None), ("北\x00镇", "U+0000"),
    ("北\t镇", "U+0009"), ("北\u200d镇", "U+200D"), ("北\u2029镇", "U+2029"), ("=1+1", "开头"), ("+1", "开头"),
    ("-1", "开头"), ("@SUM(1)", "开头"),
])
def test_name_rules(value: str, problem: str | None) -> None:
    got = name_problem(value)
    assert got is None if problem is None else problem in got


@pytest.mark.parametrize(("value", "problem"), [
    ("第一行\n第二行\t附表", None), ("Windows 换行\r\n", None), ("=HYPERLINK(x)", None), ("字" * FREE_TEXT_MAX, None),
    ("字" * (FREE_TEXT_MAX + 1), "过长"), ("a\x00b", "U+0000"), ("\x1b[2J", "U+001B"), ("\x7f", "U+007F"),
    ("\x9b31m", "U+009B"),
])
def test_free_text_rules(value: str, problem: str | None) -> None:
    got = free_text_problem(value)
    assert got is None if problem is None else problem in got


CORPUS = {  # file → (row, column, part of the message); each replaces its table in a copy of the mini data
    # (the townships' column is named in the mini plan's word: the default 乡镇)
    "townships/townships-name-dotdot-path.csv": (4, "乡镇", "不能含有“/”"),
    "townships/townships-name-slash.csv": (4, "乡镇", "不能含有“/”"),
    "townships/townships-name-inner-bom.csv": (4, "乡镇", "U+FEFF"),
    "townships/townships-name-nul.csv": (4, "", "空字符（\\x00）"),  # refused as a damaged file, not only a bad name
    "townships/townships-name-300-chars.csv": (4, "乡镇", "过长（300个字符）"),
    "townships/townships-name-leading-equals.csv": (4, "乡镇", "不能以 = + - @ 开头"),
    "townships/townships-name-tab.csv": (4, "乡镇", "U+0009"),
    "townships/townships-name-newline.csv": (4, "乡镇", "U+000A"),
    "townships/townships-name-zero-width-space.csv": (4, "乡镇", "U+200B"),
    "townships/townships-name-rtl-override.csv": (4, "乡镇", "U+202E"),
    "townships/townships-name-escape-sequence.csv": (4, "乡镇", "U+001B"),
    "townships/townships-code-leading-plus.csv": (4, "代码", "不能以 = + - @ 开头"),
    "schools/schools-name-nul.csv": (6, "", "空字符（\\x00）"),
    "schools/schools-name-leading-at.csv": (6, "学校名称", "不能以 = + - @ 开头"),
    "schools/schools-name-leading-minus.csv": (6, "学校名称", "不能以 = + - @ 开头"),
    "schools/schools-name-60-chars.csv": (6, "学校名称", "过长（60个字符）"),
    "schools/schools-name-line-separator.csv": (6, "学校名称", "U+2028"),
    "schools/schools-id-dotdot-path.csv": (6, "学校代码", "不能含有“/”"),
    "schools/schools-id-60-chars.csv": (6, "学校代码", "过长（60个字符）"),
    "activities/activities-title-nul.csv": (2, "", "空字符（\\x00）"),
    "activities/activities-title-600-chars.csv": (2, "活动名称", "过长（600个字符）"),
    "activities/activities-note-escape-sequence.csv": (2, "备注", "U+001B"),
    "activities/activities-note-c1-control.csv": (2, "备注", "U+009B"),
}


def test_corpus_is_listed_and_small() -> None:
    files = {str(p.relative_to(HOSTILE)) for d in ("townships", "schools", "activities")
             for p in (HOSTILE / d).iterdir()}
    assert set(CORPUS) <= files
    assert all((HOSTILE / f).stat().st_size < 50_000 for f in files)


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_names_and_text_are_refused_with_their_row(case: str, tmp_path: Path) -> None:
    row, column, message = CORPUS[case]
    data = tmp_path / "data"
    shutil.copytree(MINI / "data", data)
    table = case.split("/")[0]
    shutil.copyfile(HOSTILE / case, data / f"{table}.csv")
    result = run("validate", data, "--plan", MINI / "plan.yaml")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("[错误]")]
    where = f"第{row}行，列“{column}”" if column else f"第{row}行："
    assert len(lines) == 1 and where in lines[0] and message in lines[0], result.stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u202e\u200b]", result.stderr), "shown escaped"


def test_nfd_and_nfc_spellings_are_one_township(mini_data: Path) -> None:
    _append(mini_data / "townships.csv", [NFC_NAME, "M"])
    _append(mini_data / "observations.csv", ["2024-06", "", NFD_NAME, "A2", "1", "", ""])
    result = run("validate", mini_data, "--plan", MINI / "plan.yaml")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(("township", "message", "shown"), [
    ("东\x1b[31m镇", "控制字符", "东\\x1b[31m镇"),
    ("东\n镇", "控制字符", "东\\n镇"),
    ("北镇", "不在乡镇名录中", "北镇"),  # the mini plan's word for its townships: the default 乡镇
])
def test_template_for_a_bad_name_is_one_line(township: str, message: str, shown: str, tmp_path: Path) -> None:
    result = run("template", tmp_path / "t.xlsx", "--township", township, "--period", "2024-06",
                 "--plan", MINI / "plan.yaml", "--data", MINI / "data")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr and shown in result.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_template_for_a_registry_name_with_control_characters(mini_data: Path, tmp_path: Path) -> None:
    """Such a name no longer passes validation, so no Excel form is written with it (openpyxl raised)."""
    _append(mini_data / "townships.csv", ["北\x01镇", "N"])
    result = run("template", tmp_path / "t.xlsx", "--township", "北\x01镇", "--period", "2024-06",
                 "--plan", MINI / "plan.yaml", "--data", mini_data)
    assert result.exit_code == 2 and "U+0001" in result.stderr and "北\\x01镇" in result.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_template_for_an_nfd_name(tmp_path: Path) -> None:
    data = odd_names_data(tmp_path / "data")
    result = run("template", tmp_path / "t.xlsx", "--township", NFD_NAME, "--period", "2024-06",
                 "--plan", MINI / "plan.yaml", "--data", data)
    assert result.exit_code == 0, result.stderr
