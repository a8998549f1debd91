"""One small registry class for every plug-in point: indicator kinds, report kinds, output formats.

A registry maps a key (``"ratio"``, ``"section"``, ``"pdf"``) to the object registered under it. ``get``
of an unknown key raises the registry's own error (a subclass of ``UnknownKindError``) naming the key and
every known one in Chinese, so a typo in a plan or on the command line says what would have worked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from edureport.core.errors import UnknownKindError

T = TypeVar("T")


class Registry(Generic[T]):
    """Key → plug-in. ``register`` (also usable as a decorator), ``get``, ``in``, iteration in order."""

    def __init__(self, what: str, error: type[UnknownKindError], key: Callable[[T], str]):
        self.what = what  # Chinese name of what is registered ("指标类型"), used in the error
        self.error = error
        self._key = key
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        """Add ``item`` under its key; a later registration with the same key replaces the earlier one."""
        self._items[self._key(item)] = item
        return item

    def unregister(self, key: str) -> None:
        """Remove a key (tests that register a plug-in of their own take it out again)."""
        self._items.pop(key, None)

    def get(self, key: str) -> T:
        try:
            return self._items[key]
        except (KeyError, TypeError):
            raise self.error(self.what, str(key), self._items) from None

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._items
        except TypeError:  # an unhashable value from a hostile plan file is simply not a key
            return False

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)
