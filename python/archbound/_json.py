"""JSON-safe values: every number that is not finite is written as null.

results.json, ``BoundReport.to_dict``, the monitor's history and the CLI's ``--json`` output
are written with ``json.dump(..., allow_nan=False)``; these two helpers are the one place
where NaN and infinities become ``None``.
"""

from __future__ import annotations

import math
import os

import numpy as np


def finite_or_none(value):
    """A JSON-safe float: None for None, NaN and infinities, else ``float(value)``."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value):
    """Plain JSON types, recursively; non-finite floats become None.

    Dicts (keys made strings), lists, tuples and arrays are converted element by element;
    NumPy scalars become Python bool, int or float; a path becomes a string; an object with
    a ``to_dict()`` (the typed records of results.json) becomes what that returns.
    """
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    return value


__all__ = ["finite_or_none", "json_safe"]
