"""The plan's vocabulary drives every word: a second bureau's plan (tests/data/district: 白马区, 镇街, 全区,
科室, 白马区教育局) gets its own words in validation messages, headers, the Excel form, the import log, the
status output and the reports; headers in the usual words for the level below the region are one column;
a file whose header is not understood is reported first and alone, without follow-on row errors.

Every test checks for the district's word (so it fails when the wording falls back to the sample's) and
for the absence of the Wushen sample's words.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from edureport.core.errors import DataValidationError, DemoDataError, PlanError
from edureport.data import demo
from edureport.data.schema import TABLES, plan_tables, tables
from edureport.data.validate import validate_dir
from edureport.plan.load import load_plan
from edureport.plan.model import Plan

from .conftest import MINI, PLAN_2023, run

DISTRICT = Path(__file__).resolve().parent / "data" / "district"
REFERENCE = DISTRICT / "reference.yaml"
AS_OF = "2024-10-31"
TOWN = "西岭镇"  # a 镇街 with schools
# Words of the Wushen sample that the district's outputs must never contain.
SAMPLE_WORDS = ("乌审旗", "乌审", "苏木镇", "全旗", "嘎鲁图镇", "图克镇", "股室", "教体局", "教育体育局")


def sample_words_in(text: str) -> list[str]:
    return [w for w in SAMPLE_WORDS if w in text]


def problem_text(problems) -> str:
    return "\n".join(p.format() for p in problems)


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The district plan (minus indicator C1 when demo data cannot be generated for it yet: a township-level
    ratio) and its demo data, written by ``demo.write`` in the plan's words."""
    root = tmp_path_factory.mktemp("vocabulary")
    plan_file = DISTRICT / "plan.yaml"
    plan = load_plan(plan_file)
    try:
        frames = demo.generate(plan, REFERENCE, seed=3)
    except (DemoDataError, KeyError, ValueError):
        raw = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
        raw["indicators"] = [i for i in raw["indicators"] if i["id"] != "C1"]
        plan_file = root / "plan.yaml"
        plan_file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        plan = load_plan(plan_file)
        frames = demo.generate(plan, REFERENCE, seed=3)
    data = root / "data"
    demo.write(frames, data)
    return {"plan": plan, "plan_file": plan_file, "data": data, "root": root}


@pytest.fixture
def data(district: dict, tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(district["data"], dest)
    return dest


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def write(folder: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig", lineterminator="\n")


def problems_of(folder: Path, plan: Plan) -> list:
    try:
        validate_dir(folder, plan)
    except DataValidationError as exc:
        return exc.problems
    return []


# --- the plan's fields -------------------------------------------------------------------------------

@pytest.mark.parametrize(("plan_file", "township", "region", "department", "issuer"), [
    (DISTRICT / "plan.yaml", "镇街", "全区", "科室", "白马区教育局"),
    (MINI / "plan.yaml", "乡镇", "全县", "股室", "示例县教育局"),  # the defaults: 乡镇, "全" + 县, 股室
    (PLAN_2023, "苏木镇", "全旗", "股室", "乌审旗教育体育局"),
], ids=["district", "defaults", "sample"])
def test_plan_vocabulary_fields(plan_file: Path, township: str, region: str, department: str, issuer: str) -> None:
    plan = load_plan(plan_file)
    assert (plan.township_label, plan.region_label, plan.department_label, plan.issuer) == (
        township, region, department, issuer)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("region_label", "", "不能为空"),
    ("township_label", "镇 街", "不含空格和标点"),
    ("department_label", "科室、股室", "不含空格和标点"),
    ("region_label", "全" * 11, "过长"),
    ("township_label", "=镇街", "不含空格和标点"),
], ids=["empty", "space", "list", "long", "formula"])
def test_a_bad_vocabulary_word_is_refused(tmp_path: Path, field: str, value: str, reason: str) -> None:
    text = (DISTRICT / "plan.yaml").read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith(f"{field}:"))
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(old, f"{field}: '{value}'"), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert f"文件顶层.{field}" in str(info.value) and reason in str(info.value)


# --- headers --------------------------------------------------------------------------------------------

def test_written_headers_use_the_plans_word(district: dict) -> None:
    """Demo CSVs are written under the plan's headers (the committed 2023 demo keeps "苏木镇")."""
    for name in ("townships", "schools", "observations", "baselines", "activities"):
        header = (district["data"] / f"{name}.csv").read_text(encoding="utf-8-sig").splitlines()[0]
        assert "镇街" in header.split(","), (name, header)
        assert not sample_words_in(header), (name, header)
    assert plan_tables(load_plan(PLAN_2023)) is TABLES  # the sample's words are the schema's own
    assert TABLES["townships"].column("township").label == "苏木镇"


@pytest.mark.parametrize("header", ["镇街", "乡镇", "街道", "苏木镇", "镇", "所在镇街", "所在乡镇"])
def test_a_registry_whose_unit_column_says_any_usual_word_validates(data: Path, district: dict, header: str) -> None:
    schools = read(data, "schools")
    write(data, "schools", schools.rename(columns={"镇街": header}))
    townships = read(data, "townships")
    write(data, "townships", townships.rename(columns={"镇街": header if header in ("镇街", "乡镇", "街道") else "镇街名称"}))
    assert [p for p in problems_of(data, district["plan"]) if p.is_error] == []


def test_an_unusual_plan_word_is_a_header_too(data: Path, district: dict, tmp_path: Path) -> None:
    """A plan that calls its units 社区 reads a registry headed 社区 (and still the usual words)."""
    text = district["plan_file"].read_text(encoding="utf-8").replace("township_label: 镇街", "township_label: 社区")
    (tmp_path / "plan.yaml").write_text(text, encoding="utf-8")
    plan = load_plan(tmp_path / "plan.yaml")
    assert plan.township_label == "社区"
    write(data, "schools", read(data, "schools").rename(columns={"镇街": "社区"}))
    assert [p for p in problems_of(data, plan) if p.is_error] == []
    assert tables("社区", "全区")["schools"].column("township").label == "社区"


# --- validation messages --------------------------------------------------------------------------------

def _unknown_in_observations(data: Path, plan: Plan) -> None:
    obs = read(data, "observations")
    ids = {i.id for i in plan.indicators if i.level == "township"}
    row = obs.index[obs["指标代码"].isin(ids)][0]
    obs.loc[row, "镇街"] = "北极镇"
    write(data, "observations", obs)


def _blank_in_observations(data: Path, plan: Plan) -> None:
    obs = read(data, "observations")
    ids = {i.id for i in plan.indicators if i.level == "township"}
    obs.loc[obs.index[obs["指标代码"].isin(ids)][0], "镇街"] = ""
    write(data, "observations", obs)


def _banner_with_town(data: Path, plan: Plan) -> None:
    obs = read(data, "observations")
    ids = {i.id for i in plan.indicators if i.level == "banner"}
    obs.loc[obs.index[obs["指标代码"].isin(ids)][0], "镇街"] = TOWN
    write(data, "observations", obs)


def _unknown_school_town(data: Path, plan: Plan) -> None:
    schools = read(data, "schools")
    schools.loc[0, "镇街"] = "北极镇"
    write(data, "schools", schools)


def _duplicate_town(data: Path, plan: Plan) -> None:
    towns = read(data, "townships")
    write(data, "townships", pd.concat([towns, towns.iloc[[0]]], ignore_index=True))


@pytest.mark.parametrize(("damage", "file", "column", "message"), [
    (_unknown_in_observations, "observations.csv", "镇街", "未知镇街（不在镇街名录中）"),
    (_blank_in_observations, "observations.csv", "镇街", "镇街层级指标须填写镇街"),
    (_banner_with_town, "observations.csv", "镇街", "全区层级指标的学校代码和镇街应留空"),
    (_unknown_school_town, "schools.csv", "镇街", "未知镇街（不在镇街名录中）"),
    (_duplicate_town, "townships.csv", "镇街", "镇街重复"),
], ids=["unknown", "blank", "banner", "registry", "duplicate"])
def test_validation_messages_use_the_plans_words(data: Path, district: dict, damage, file: str, column: str,
                                                  message: str) -> None:
    damage(data, district["plan"])
    problems = problems_of(data, district["plan"])
    assert any(p.file == file and p.column == column and message in p.message for p in problems), \
        problem_text(problems)
    assert not sample_words_in(problem_text(problems)), problem_text(problems)


def test_validate_and_status_print_the_plans_words(data: Path, district: dict) -> None:
    plan_file = district["plan_file"]
    result = run("validate", data, "--plan", plan_file)
    assert result.exit_code == 0 and "镇街 9 个" in result.output, result.output + result.stderr
    plan_out = run("plan", "--plan", plan_file)
    assert "全区、各镇街、相关科室" in plan_out.output, plan_out.output
    bad = run("status", "--data", data, "--plan", plan_file, "--as-of", AS_OF, "--township", "北极镇")
    assert bad.exit_code == 2 and "未知镇街“北极镇”" in bad.stderr, bad.stderr
    for text in (result.output, plan_out.output, bad.stderr):
        assert not sample_words_in(text), text


# --- structural problems first and alone ---------------------------------------------------------------

@pytest.mark.parametrize(("name", "old", "new", "column"), [
    ("schools", "镇街", "所属片区", "镇街"),          # a registry header the reader does not know
    ("townships", "镇街", "片区", "镇街"),
    ("observations", "镇街", "所属片区", "镇街"),     # optional column, but township-level rows need it
], ids=["schools", "townships", "observations"])
def test_a_header_not_understood_is_reported_first_and_alone(data: Path, district: dict, name: str, old: str,
                                                             new: str, column: str) -> None:
    write(data, name, read(data, name).rename(columns={old: new}))
    problems = problems_of(data, district["plan"])
    errors = [p for p in problems if p.is_error]
    assert errors and all(p.file == f"{name}.csv" for p in errors), problem_text(problems)
    first = errors[0]
    assert first.column == column and first.row == 1 and "缺少" in first.message, problem_text(problems)
    assert not any(p.message.startswith("未知") for p in errors), problem_text(problems)  # "未知镇街" …
    assert len(errors) == 1, problem_text(problems)
    result = run("validate", data, "--plan", district["plan_file"])
    lines = [line for line in result.stderr.splitlines() if line.startswith("[错误]")]
    assert result.exit_code == 2 and lines[0].startswith(f"[错误] {name}.csv，第1行，列“镇街”"), result.stderr
    assert "未知镇街" not in result.stderr and not sample_words_in(result.stderr)


# --- the Excel form and the import ----------------------------------------------------------------------

def _form(data: Path, district: dict, tmp_path: Path, month: str) -> Path:
    out = tmp_path / "form.xlsx"
    result = run("template", out, "--township", TOWN, "--period", month, "--data", data, "--plan",
                 district["plan_file"])
    assert result.exit_code == 0, result.output + result.stderr
    return out


def test_the_form_speaks_the_plans_words(data: Path, district: dict, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_form(data, district, tmp_path, "2024-06"))
    headers = {ws.title: [c.value for c in ws[1]] for ws in book.worksheets}
    assert "镇街" in headers["指标数据"] and "镇街" in headers["活动记录"], headers
    help_text = "\n".join(str(r[0]) for r in book["说明"].iter_rows(values_only=True) if r[0])
    assert f"镇街：{TOWN}" in help_text and "由白马区教育局用 edureport import 导入" in help_text, help_text
    meta = {r[0]: r[1] for r in book["元数据"].iter_rows(values_only=True)}
    assert meta["镇街"] == TOWN
    every = "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert not sample_words_in(every), sample_words_in(every)
    unknown = run("template", tmp_path / "x.xlsx", "--township", "北极镇", "--period", "2024-06", "--data", data,
                  "--plan", district["plan_file"])
    assert unknown.exit_code == 2 and "未知镇街“北极镇”（不在镇街名录中）" in unknown.stderr, unknown.stderr


def test_the_import_log_and_merged_files_use_the_plans_word(district: dict, tmp_path: Path) -> None:
    """A form filled for a month the folder has no rows of yet: merged under the plan's headers, logged
    in import-log.csv whose header names the 镇街."""
    data = tmp_path / "data"
    demo.write(demo.generate(district["plan"], REFERENCE, seed=3, until="2024-05"), data)
    (data / "activities.csv").unlink()  # the import creates it: its header comes from the plan's words
    form = _form(data, district, tmp_path, "2024-06")
    book = openpyxl.load_workbook(form)
    ws = book["活动记录"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(2, col["日期"], "2024-06-05")
    ws.cell(2, col["任务编号"], 7)
    ws.cell(2, col["活动名称"], "镇街体育赛事")
    book.save(form)
    result = run("import", form, "--data", data, "--plan", district["plan_file"])
    assert result.exit_code == 0, result.output + result.stderr
    log = (data / "import-log.csv").read_text(encoding="utf-8-sig")
    assert log.splitlines()[0].split(",")[4] == "镇街" and TOWN in log, log
    header = (data / "activities.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "镇街" in header.split(","), header
    assert not sample_words_in(log + header + result.output)


# --- reports --------------------------------------------------------------------------------------------

def _report(kind: str, district: dict, **parameters: str) -> str:
    from edureport.report import review, section, township
    from edureport.report.context import ReportContext, closing_note

    ctx = ReportContext.load(kind, plan_file=str(district["plan_file"]), data_dir=str(district["data"]),
                             as_of=AS_OF, **parameters)
    if kind == "township":
        parts = [township.township_cover(ctx), township.township_overview(ctx), township.township_indicators(ctx),
                 township.township_schools(ctx), township.township_projects(ctx), township.township_activities(ctx),
                 township.township_lagging(ctx)]
    elif kind == "section":
        parts = [section.section_cover(ctx), section.section_summary(ctx), section.section_tasks(ctx),
                 section.section_projects(ctx), section.section_activities(ctx)]
    else:
        body = review.review_parts(ctx)
        parts = [review.review_cover(ctx), review.review_toc(ctx), *body.values()]
    return "".join(p.html for p in [*parts, closing_note(ctx)])


@pytest.mark.parametrize(("kind", "parameters", "words"), [
    ("township", {"township": TOWN}, ["分镇街进展报告", "分解目标按本级适用单位数占全区的比例计算", "各镇街平均", "全区"]),
    ("section", {"section": "六"}, ["相关科室尚未填写", "全区"]),
    ("review", {}, ["相关科室", "各镇街指标状态汇总", "白马区教育局", "全区"]),
], ids=["township", "section", "review"])
def test_reports_use_the_plans_words(district: dict, kind: str, parameters: dict, words: list[str]) -> None:
    html = _report(kind, district, **parameters)
    for word in words:
        assert word in html, word
    assert not sample_words_in(html), sample_words_in(html)
