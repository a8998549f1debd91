"""The school report (学校进展报告): one school's (园's) indicators against its own split targets, its rank
among the schools of its stage (学段) in its township and in the region, its projects and activities, and
what lags.

Its own figures and every rank come from the school table (``metrics.results_cache.school_table``: every
school's results, computed once per build and shared), so the report's cost does not grow with the number
of schools; it reads only its township's rows besides (``subset``). Its build key covers its own rows and
the figures of every school of its stage (``SchoolReport.data_digests``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from edureport.core.errors import ReportParameterError, for_display
from edureport.core.status import Status
from edureport.data.store import DataSet
from edureport.kinds import get_kind
from edureport.metrics.compute import IndicatorResult, status_summary
from edureport.metrics.results_cache import NOTHING_SHOWN, Shown, results_of
from edureport.metrics.scopes import scope_index
from edureport.plan.model import Plan
from edureport.report.blocks import change_part, figures_for, lagging, no_data_note, rank_text
from edureport.report.change import change_cell, change_records
from edureport.report.context import ReportContext, activities_block, closing_note, cover, projects_block
from edureport.report.htmlkit import Block, badge, esc, heading, join, paragraph, progress_bar, table
from edureport.report.kinds import Job, ReportKind, register, school_rows, unique_stems
from edureport.report.narrative import indicator_sentence, summary_sentence

UNIT = "学校（园）"


# --- The school and its peers ----------------------------------------------------------------------------

def display_names(schools: pd.DataFrame) -> dict[str, str]:
    """School id → the name reports call it by: the register's name, with its township added where two
    schools of the region share that name (“中心小学（图克镇）”), and its code too where they share the
    township as well (“第一中学（东镇，S2）”)."""
    names = schools["name"].astype(str)
    pairs = names + "\0" + schools["township"].astype(str)
    twice, same_town = set(names[names.duplicated(keep=False)]), set(pairs[pairs.duplicated(keep=False)])
    out = {}
    for r, pair in zip(schools.itertuples(), pairs, strict=True):
        name = str(r.name)
        if pair in same_town:
            name = f"{name}（{r.township}，{r.school_id}）"
        elif name in twice:
            name = f"{name}（{r.township}）"
        out[str(r.school_id)] = name
    return out


def _p(ctx: ReportContext, key: str) -> str:
    return str(ctx.parameters[key])


def _table(ctx: ReportContext) -> pd.DataFrame:
    return ctx.school_table


def own_results(ctx: ReportContext) -> list[IndicatorResult]:
    """The school's results, in plan order (its rows of the school table)."""
    table = _table(ctx)
    school = _p(ctx, "school")
    return results_of(table[table["entity"] == school]).get(school, [])


def peers(ctx: ReportContext, *, township: bool) -> pd.DataFrame:
    """The school table's rows of every school of the same stage (in the school's township only, with
    ``township``), the school's own included."""
    table = _table(ctx)
    keep = table["stage"] == _p(ctx, "stage")
    if township:
        keep &= table["township"] == _p(ctx, "township")
    return table[keep]


def done_rates(rows: pd.DataFrame) -> dict[str, float]:
    """Each school's share of its indicators that are 达标 (schools without any indicator are not in it)."""
    done = (rows["status"] == Status.DONE.value).groupby(rows["entity"].astype(str), sort=False).mean()
    return {str(k): float(v) for k, v in done.items()}


def place_of(school: str, rates: dict[str, float]) -> tuple[int, int]:
    """(place, of how many) by 达标率, ties sharing a place."""
    mine = rates[school]
    return 1 + sum(rate > mine for rate in rates.values()), len(rates)


def stage_word(stage: str) -> str:
    """What schools of a stage are called: 小学, 初中, 高中, 幼儿园 as they are; 九年一贯制学校, 中职学校."""
    return stage if stage.endswith(("小学", "中学", "初中", "高中", "幼儿园", "学校", "园")) else f"{stage}学校"


def rank_sentence(stage: str, town: str, region: str, here: tuple[int, int], whole: tuple[int, int],
                  registered: tuple[int, int]) -> str:
    """The place by 达标率 among the stage's schools with indicators (``here``: in the township, ``whole``:
    in the region, each (place, of how many)); ``registered``: how many schools of the stage the register
    has in the township and the region. “在嘎鲁图镇3所小学中排第2位，在全旗12所小学中排第5位（按达标率）” /
    “是全旗唯一的高中”; schools of the stage without indicators are no rivals, and no reason to say 唯一."""
    word = stage_word(stage)

    def part(where: str, place: tuple[int, int], count: int) -> tuple[str, bool]:
        if count <= 1:
            return f"是{where}唯一的{word}", False
        if place[1] <= 1:
            return f"{where}其他{word}暂无量化指标，不作排名", False
        return f"在{where}有量化指标的{place[1]}所{word}中排第{place[0]}位" if place[1] < count \
            else f"在{where}{place[1]}所{word}中排第{place[0]}位", True

    there, ranked = part(region, whole, registered[1])
    if not ranked:  # alone in the region, or no rival there: none in the township either
        return there
    local, ranked_here = part(town, here, registered[0])
    return f"{local}，{there}" + ("（按达标率）" if ranked or ranked_here else "")


def registered(ctx: ReportContext) -> tuple[int, int]:
    """How many schools of the school's stage the register has in its township and in the region."""
    schools = ctx.data.schools
    same = schools["stage"].astype(str) == _p(ctx, "stage")
    return int((same & (schools["township"].astype(str) == _p(ctx, "township"))).sum()), int(same.sum())


def indicator_ranks(ctx: ReportContext, results: list[IndicatorResult]) -> dict[str, tuple[str, str]]:
    """Indicator id → its rank among the stage's schools in the township and in the region (“2/5”, “—”)."""
    out = {}
    values = {}
    for scope in (True, False):
        rows = peers(ctx, township=scope)
        values[scope] = {str(i): [None if pd.isna(v) else float(v) for v in g["actual"].tolist()]
                         for i, g in rows.groupby("indicator_id", sort=False)}
    for r in results:
        out[r.indicator_id] = (rank_text(r, values[True].get(r.indicator_id, [])),
                               rank_text(r, values[False].get(r.indicator_id, [])))
    return out


def project_ids(ctx: ReportContext) -> list[str]:
    """The plan's projects at this school (a project names its school), in plan order."""
    places = scope_index(ctx.data).places
    return [p.id for p in ctx.plan.projects if places[p.id][1] == _p(ctx, "school")]


# --- The report's parts ------------------------------------------------------------------------------

def school_cover(ctx: ReportContext) -> Block:
    return cover(ctx, f"《{ctx.plan.title}》学校进展报告　{_p(ctx, 'township')}·{_p(ctx, 'stage')}")


def school_overview(ctx: ReportContext) -> Block:
    """一、总体情况: the indicators by status, 达标率 and the place among the stage's schools."""
    results = own_results(ctx)
    counts = status_summary(results)
    name, stage, town = _p(ctx, "display"), _p(ctx, "stage"), _p(ctx, "township")
    text = f"截至{ctx.when}，{name}（{town}，{stage}，{_p(ctx, 'ownership')}）"
    blocks = [heading(2, "一、总体情况")]
    if not results:
        return join([*blocks, paragraph(text + "没有适用的量化指标。")])
    text += f"适用的{summary_sentence(counts, '量化指标')}"
    school = _p(ctx, "school")
    everywhere = done_rates(peers(ctx, township=False))
    places = rank_sentence(stage, town, ctx.region, place_of(school, done_rates(peers(ctx, township=True))),
                           place_of(school, everywhere), registered(ctx))
    n = ctx.numbering.next_table()
    text += f"达标率{everywhere[school] * 100:.1f}%，{places}。各状态指标数见表{n}。"
    rows = [[s.value, str(c)] for s, c in counts.items()]
    return join([*blocks, paragraph(text),
                 table(["状态", "指标数"], rows, number=n, caption=f"{name}指标状态汇总", cls="summary")])


def school_change(ctx: ReportContext) -> Block:
    """较上期变化 of the school's indicators and of its projects."""
    results = own_results(ctx)
    if not results:
        return join([heading(3, "较上期变化"), paragraph(f"本{UNIT}没有适用的量化指标，不作较上期比较。")])
    return change_part(ctx, results, projects=project_ids(ctx))


def school_indicators(ctx: ReportContext) -> Block:
    """二、主要指标完成情况: target (the school's share), actual, change, progress, status and the ranks."""
    results = own_results(ctx)
    blocks = [heading(2, "二、主要指标完成情况")]
    if not results:
        return join([*blocks, paragraph(f"本{UNIT}没有适用的量化指标。", "note")])
    town, stage = _p(ctx, "township"), _p(ctx, "stage")
    n = ctx.numbering.next_table()
    ranks = indicator_ranks(ctx, results)
    moves = change_records(ctx, results)
    # a rank column where some indicator has a rank (a school alone of its stage in its township has none)
    shown = [i for i in (0, 1) if any(ranks[r.indicator_id][i] != "—" for r in results)]
    rows = [[r.name, r.target_text, r.actual_text, change_cell(moves.get(r.indicator_id)),
             progress_bar(r.progress, r.status, r.progress_text), badge(r.status),
             *(ranks[r.indicator_id][i] for i in shown)] for r in results]
    shared = any(get_kind(r.kind).shares_target(ctx.plan.indicator(r.indicator_id)) for r in results)
    note = (f"排名在同学段（{stage}）的{UNIT}中按实际值计算（“低于”“≤”“＜”类指标数值越小越靠前，数值相同的并列），"
            "“2/5”为5所中的第2位。" if shown else
            f"{ctx.region}没有其他{stage_word(stage)}，不作排名。" if registered(ctx)[1] <= 1 else
            f"{ctx.region}同学段的{UNIT}暂无可比数据，不作排名。")
    if shared:
        note += f"目标中的“本级分解”是{ctx.region}目标按适用的{UNIT}数分解到本{UNIT}的目标。"
    figs = figures_for(ctx, results, level="school", entity=_p(ctx, "school"), trends="lagging", compare=False)
    refs = f"各项指标的目标、实际、完成进度{'和排名' if shown else ''}见表{n}"
    if figs.trends:
        refs += f"；滞后指标的逐月变化见图{figs.trends[0]}" + (f"至图{figs.trends[-1]}" if len(figs.trends) > 1 else "")
    return join([*blocks, paragraph(refs + "。"), paragraph(note, "note"),
                 table(["指标", "目标", "实际", "较上期", "完成进度", "状态", *([f"{town}排名", f"{ctx.region}排名"][i] for i in shown)], rows,
                       number=n, caption=f"{_p(ctx, 'display')}各项指标", raw_columns=[3, 4, 5], cls="indicators"),
                 figs.block])


def school_projects(ctx: ReportContext) -> Block:
    ids = project_ids(ctx)
    body = projects_block(ctx, ids) if ids else paragraph(f"本{UNIT}没有列入工作要点的建设项目。", "note")
    return join([heading(2, "三、建设项目"), body])


def school_activities(ctx: ReportContext) -> Block:
    return join([heading(2, "四、活动开展情况"),
                 activities_block(ctx, [t.id for t in ctx.plan.tasks], school_id=_p(ctx, "school"))])


def school_lagging(ctx: ReportContext) -> Block:
    """五、需要关注的问题: every lagging or missed indicator, in words."""
    results = own_results(ctx)
    items, missing = lagging(results), no_data_note(results)
    if not items:
        return join([heading(2, "五、需要关注的问题"), paragraph("没有滞后或未达标的指标。" + missing)])
    lis = "".join(f"<li>{esc(indicator_sentence(ctx.plan, r))}</li>" for r in items)
    return join([heading(2, "五、需要关注的问题"), paragraph(f"以下{len(items)}项指标滞后或未达标，需要重点关注："),
                 Block(f'<ol class="plain">{lis}</ol>'), *([paragraph(missing)] if missing else [])])


def school_report(ctx: ReportContext) -> Block:
    return join([school_cover(ctx), school_overview(ctx), school_change(ctx), school_indicators(ctx),
                 school_projects(ctx), school_activities(ctx), school_lagging(ctx), closing_note(ctx)])


# --- The kind --------------------------------------------------------------------------------------------

class SchoolReport(ReportKind):
    """One report per school of the register: ``--only school:S00101`` (its school code). Grouped by
    township on the index page. Its build key covers its own rows and the figures of every school of its
    stage (its ranks)."""

    name = "school"
    label = "学校进展报告"
    notebook = "school_report.ipynb"
    parameters = ("school",)
    order = 30
    group = (30, f"各{UNIT}")

    def title(self, plan: Plan, **parameters: Any) -> str:
        return f"{parameters.get('display') or parameters['school']}{plan.year}年工作进展报告"

    def resolve(self, plan: Plan, units: Callable[[], Sequence[str]], **parameters: Any) -> dict[str, Any]:
        """``school``: a school code (学校代码) of the register; "" is the first school. The resolved
        parameters add what the register says of it: township, name, stage, ownership, display name."""
        given = parameters.get("school", "")
        code = unicodedata.normalize("NFC", str(given)).strip()
        schools: pd.DataFrame = units.schools  # type: ignore[attr-defined]  (context.Register)
        ids = schools["school_id"].astype(str).tolist()
        if not code and ids:
            code = ids[0]
        if code not in ids:
            raise ReportParameterError(
                f"参数 school（学校代码）的值“{for_display(given)}”不在学校名录中；可用：" + "、".join(ids[:10])
                + (f"等 {len(ids)} 个" if len(ids) > 10 else "") + ("" if ids else "无"))
        row = schools.iloc[ids.index(code)]
        return {**parameters, "school": code, "township": str(row["township"]), "name": str(row["name"]),
                "stage": str(row["stage"]), "ownership": str(row["ownership"]),
                "display": display_names(schools)[code]}

    def jobs(self, plan: Plan, townships: list[str], schools: pd.DataFrame | None = None) -> list[Job]:
        if schools is None or schools.empty:
            return []
        ids = schools["school_id"].astype(str).tolist()
        stems = unique_stems(self.name, ids)
        names = display_names(schools)
        towns = dict(zip(ids, schools["township"].astype(str), strict=True))
        return [Job(self.name, f"{self.name}:{s}", stems[s], self.title(plan, school=s, display=names[s]),
                    self.notebook, {"school": s}, subgroup=towns[s]) for s in ids]

    def subset(self, **parameters: Any) -> dict[str, str]:
        return {"township": parameters["township"]} if parameters.get("township") else {}

    def place(self, **parameters: Any) -> tuple[str, str]:
        return ("school", str(parameters["school"]))

    def data_digests(self, job: Job, data: DataSet, *, shown_results: Shown = NOTHING_SHOWN) -> dict[str, str]:
        """Its own rows (its figures' details, projects, activities, the change since the previous date)
        and every school of its stage's figures (its ranks: its own figures among them)."""
        school = job.parameters["school"]
        match = data.schools[data.schools["school_id"].astype(str) == school]
        stage = str(match["stage"].iloc[0]) if len(match) else ""
        return school_rows(data, school) | {"shown": shown_results.schools(stage)}


register(SchoolReport())
