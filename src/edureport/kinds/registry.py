"""The registry of indicator kinds (``kinds/__init__`` fills it with the built-in kinds on import)."""

from __future__ import annotations

from edureport.core.errors import UnknownIndicatorKindError
from edureport.core.registry import Registry
from edureport.kinds.base import IndicatorKind

KINDS: Registry[IndicatorKind] = Registry("指标类型", UnknownIndicatorKindError, key=lambda k: k.name)


def register(kind: IndicatorKind) -> IndicatorKind:
    """Add a kind to the registry (a later registration with the same name replaces it)."""
    return KINDS.register(kind)


def get_kind(name: str) -> IndicatorKind:
    """The registered kind called ``name``; an unknown name raises ``UnknownIndicatorKindError``."""
    return KINDS.get(name)
