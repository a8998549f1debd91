"""Registry of indicator kinds. Adding a kind is one new module here that calls ``register()``.

A kind knows how to check its plan fields, how to show its target, and how to compute its outcome in a
scope (banner, one township, one school). Everything else (status calendar, reports) is shared.
"""

from __future__ import annotations

from edureport.core.errors import UnknownKindError
from edureport.kinds.base import IndicatorKind, Scope

KINDS: dict[str, IndicatorKind] = {}


def register(kind: IndicatorKind) -> IndicatorKind:
    """Add a kind to the registry (a later registration with the same name replaces it)."""
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> IndicatorKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKindError("指标类型", name, KINDS) from None


# Built-in kinds register themselves on import.
from edureport.kinds import count, milestone, project, ratio, trend  # noqa: E402,F401

__all__ = ["KINDS", "IndicatorKind", "Scope", "get_kind", "register"]
