"""edureport: progress reports on a county education bureau's annual work plan (工作要点).

Public API: load a plan, load and validate data, compute indicator statuses, generate demo data.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataValidationError, EdureportError, PlanError, Problem, UnknownKindError
from .metrics import compute, status_summary
from .plan import Indicator, Plan, load_plan
from .status import Status
from .store import DataSet, load_data, load_subset

__all__ = [
    "DataSet", "DataValidationError", "EdureportError", "Indicator", "Plan", "PlanError", "Problem", "Status",
    "UnknownKindError", "__version__", "compute", "load_data", "load_plan", "load_subset", "status_summary",
]
