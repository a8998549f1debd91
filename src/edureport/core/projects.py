"""Project stages as every layer reads them: their order, each project's latest report, lateness.

Shared by the project indicator kind (its status), the reports' project tables and the Excel form.
"""

from __future__ import annotations

import pandas as pd

from edureport.core.vocabulary import PROJECT_STAGES

RANK = {stage: i for i, stage in enumerate(PROJECT_STAGES)}  # 未开工 < 在建 < 竣工 < 投用


def latest_status(status: pd.DataFrame) -> pd.DataFrame:
    """The most recent status report of each project (periods are already cut at the as-of date)."""
    if status.empty:
        return status
    return status.sort_values("period", kind="stable").drop_duplicates("project_id", keep="last")


def is_late(planned, as_of) -> bool:
    """A project is late once its planned date has passed: the day after it (the date itself is in time)."""
    return planned is not None and pd.notna(planned) and planned.date() < as_of
