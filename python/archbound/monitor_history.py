"""A NormMonitor's history as the plain series that :func:`archbound.plots.monitor_history`
draws, from live records or from their ``to_dict()`` forms in results.json."""

from __future__ import annotations


def history_series(history, label: str = "") -> dict:
    """Plain lists from a history, as :func:`archbound.plots.monitor_history` draws them.

    ``history`` is a list of :class:`MonitorRecord` or of their ``to_dict()`` forms.
    """
    rows = [r if isinstance(r, dict) else r.to_dict() for r in history]
    layers = max([len(r["norms"]) for r in rows] + [0])

    def bound(r, key):
        return None if r["bound"] is None else r["bound"][key]

    return {
        "label": label,
        "steps": [r["step"] for r in rows],
        "norms": [
            [r["norms"][k]["upper"] if k < len(r["norms"]) else None for r in rows]
            for k in range(layers)
        ],
        "lipschitz": [r["lipschitz"] for r in rows],
        "train_cost": [r["train_cost"] for r in rows],
        "test_cost": [bound(r, "test_cost") for r in rows],
        "test_cost_bound": [bound(r, "test_cost_bound") for r in rows],
    }


__all__ = ["history_series"]
