"""The package version (one place; the cache keys and the CLI read it)."""

__version__ = "0.1.0"
