"""Plain-text output shared by the commands: numbers, tables, and the progress bar."""

from __future__ import annotations

import math
import sys

import numpy as np


def _format(value, kind: str = "g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    return f"{value:.3g}"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with right-aligned columns."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(headers)
    ]
    line = "  ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


def _key_value_text(rows: list[tuple[str, str]]) -> str:
    """(label, value) rows as text, the labels left-aligned in one column."""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _span(values, kind="g") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    low, high = min(values), max(values)
    return _format(low, kind) if low == high else f"{_format(low, kind)} to {_format(high, kind)}"


class _Progress:
    """tqdm behind run_experiment's progress callback (silent when stderr is no terminal)."""

    def __init__(self):
        self.bar = None

    def __call__(self, *, total=None, advance=0, description=None):
        from tqdm import tqdm

        if total is not None:
            self.bar = tqdm(
                total=total,
                unit="net",
                file=sys.stderr,
                disable=None,
                dynamic_ncols=True,
                leave=False,
            )
            return
        if description:
            self.bar.set_postfix_str(description, refresh=False)
        self.bar.update(advance)

    def close(self):
        if self.bar is not None:
            self.bar.close()


__all__ = ["format_table"]
