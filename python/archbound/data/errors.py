"""The one error of reading data: :class:`DataError`."""

from __future__ import annotations


class DataError(ValueError):
    """A file or dataset that cannot be read: missing, malformed, or of the wrong kind."""


__all__ = ["DataError"]
