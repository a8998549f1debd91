"""Plain-text Chinese summaries for the terminal (validation result, plan contents, statuses)."""

from __future__ import annotations

from collections import Counter

from edureport.core.errors import Problem
from edureport.data.store import DataSet
from edureport.kinds import get_kind
from edureport.metrics.compute import IndicatorResult, status_summary
from edureport.plan.model import Plan


def plan_summary(plan: Plan) -> str:
    kinds = Counter(i.kind for i in plan.indicators)

    lines = [f"{plan.title}（{plan.issuer}）", f"年度：{plan.start} 至 {plan.end}",
             f"部分 {len(plan.sections)} 个，任务 {len(plan.tasks)} 项，指标 {len(plan.indicators)} 个，"
             f"建设项目 {len(plan.projects)} 个",
             "指标类型：" + "，".join(f"{get_kind(k).label} {n}" for k, n in sorted(kinds.items())),
             f"用语：{plan.region_label}、各{plan.township_label}、相关{plan.department_label}"]
    for s in plan.sections:
        tasks = plan.tasks_in(s.number)
        lines.append(f"  {s.number}、{s.title}：任务 {len(tasks)} 项，指标 {len(plan.indicators_in(s.number))} 个")
    return "\n".join(lines)


def data_summary(ds: DataSet) -> str:
    obs = ds.observations
    periods = sorted(set(obs["period"]))
    other = {i.id: get_kind(i.kind).table for i in ds.plan.indicators if get_kind(i.kind).table != "observations"}
    covered = set(obs["indicator_id"].astype(str)) | {  # a kind with a table of its own: covered if it has rows
        i for i, table in other.items() if not ds.frames[table].empty}
    missing = [i.id for i in ds.plan.indicators if i.id not in covered]
    lines = [
        f"数据文件夹：{ds.data_dir}",
        f"数据指纹（SHA-256）：{ds.fingerprint}",
        f"{ds.plan.township_label} {len(ds.townships)} 个，学校（园）{len(ds.schools)} 所",
        f"指标数据 {len(obs):,} 行，期间 {periods[0] if periods else '—'} 至 {periods[-1] if periods else '—'}",
        f"基期数据 {len(ds.baselines):,} 行，项目进度 {len(ds.projects):,} 行，活动记录 {len(ds.activities):,} 行",
        f"有数据的指标 {len(covered & {i.id for i in ds.plan.indicators})}/{len(ds.plan.indicators)} 个",
    ]
    if missing:
        lines.append("尚无数据的指标：" + "、".join(missing))
    if len(ds.warnings):
        lines.append(f"警告 {len(ds.warnings)} 条：")

        lines += ["  " + Problem(**row).format() for row in ds.warnings.to_dict("records")]
    lines.append("校验通过。")
    return "\n".join(lines)


def results_table(results: list[IndicatorResult]) -> str:
    counts = status_summary(results)
    head = "，".join(f"{s.value} {n}" for s, n in counts.items())
    lines = [f"{results[0].entity_name if results else ''}：{head}" if results else "没有适用的指标"]
    for r in results:
        lines.append(f"{r.indicator_id:<7} {r.status.value:<4} 进度 {r.progress_text}  目标 {r.target_text}  实际 {r.actual_text}"
                     f"  {r.name}" + (f"（{r.detail}）" if r.detail else ""))
    return "\n".join(lines)
