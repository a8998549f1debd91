"""What ``edureport send`` and ``edureport build --send`` share: the ``--distribution`` option, reading the
distribution file in the plan's words, and the closing line of a send."""

from __future__ import annotations

from pathlib import Path

import click

from edureport.core.paths import distribution_file
from edureport.deliver.distribution import NEUTRAL_UNIT, Distribution, load_distribution
from edureport.deliver.send import SendSummary
from edureport.plan.model import Plan

distribution_option = click.option(
    "--distribution", "distribution", type=click.Path(path_type=Path, readable=False), default=None,
    help="分发名单文件（YAML：谁收到哪些报告、用什么方式），默认 params/distribution.yaml；格式见 docs/delivery.md")


def read_distribution(given: Path | None, plan: Plan | None) -> Distribution:
    """The distribution file given, else the bureau folder's; ``DistributionError`` lists its problems.
    ``plan``: for its word for the units (苏木镇) in the messages; None when it cannot be read (``build
    --send`` then goes on, so that the plan's own error reaches the administrators as an alert)."""
    return load_distribution(given or distribution_file(), plan.township_label if plan is not None else NEUTRAL_UNIT)


def closing_line(summary: SendSummary, dry_run: bool) -> str:
    if dry_run:
        return ""
    return (f"发送完成：成功 {len(summary.sent)}，失败 {len(summary.failed)}，无新内容 {len(summary.idle)}。"
            f"发送记录：{summary.log}")
