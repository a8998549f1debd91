"""edureport: progress reports on a county education bureau's annual work plan (工作要点).

Public API: load a plan, load and validate data, compute indicator statuses, generate demo data.
"""

from __future__ import annotations

from edureport.core.errors import DataValidationError, EdureportError, PlanError, Problem, UnknownKindError
from edureport.core.status import Status
from edureport.core.version import __version__
from edureport.data.store import DataSet, load_data, load_subset
from edureport.metrics.compute import compute, status_summary
from edureport.plan.load import load_plan
from edureport.plan.model import Indicator, Plan

__all__ = [
    "DataSet", "DataValidationError", "EdureportError", "Indicator", "Plan", "PlanError", "Problem", "Status",
    "UnknownKindError", "__version__", "compute", "load_data", "load_plan", "load_subset", "status_summary",
]
