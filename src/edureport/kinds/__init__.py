"""Indicator kinds: each kind is one module here that registers one ``IndicatorKind`` subclass.

Everything that differs between kinds lives in the kind's class: its plan fields and target text, how it
computes a place's outcome, its Chinese sentences and table cells, whether and how it is charted, the
columns and cell rules of the Excel form, the checks on its value columns, and its demo rows. Code outside
``kinds/`` asks the kind (``get_kind(ind.kind).charted``) and never compares a kind's name.

Kinds sit just above ``core``: the plan checks a kind's fields, the data layer checks its value columns,
metrics compute it and reports word it, so every layer may consult this registry; a kind module imports
only ``core`` and its siblings here (plan and data objects reach it as arguments).
"""

from __future__ import annotations

# Built-in kinds register themselves on import.
from edureport.kinds import count, milestone, project, ratio, trend  # noqa: F401
from edureport.kinds.base import IndicatorKind, Scope
from edureport.kinds.registry import KINDS, get_kind, register

__all__ = ["KINDS", "IndicatorKind", "Scope", "get_kind", "register"]
