"""A NormMonitor's records, and its history as the plain series that
:func:`archbound.plots.monitor_history` draws, from live records or from their ``to_dict()``
forms in results.json."""

from __future__ import annotations

from dataclasses import dataclass

from archbound._json import finite_or_none
from archbound.bounds import BoundSnapshot
from archbound.certificates.heldout import HeldoutCertificate

#: The columns of the history's table that come from a record's own fields, in order.
RECORD_COLUMNS = (
    "record",
    "step",
    "lipschitz",
    "lipschitz_estimate",
    "train_cost",
    "max_train_residual",
    "delta",
    "seed",
    "seconds",
)


@dataclass(frozen=True)
class MonitorRecord:
    """What :meth:`NormMonitor.record` measured at one step.

    Attributes
    ----------
    record : int
        t, the 1-based index of the record in the run.
    step : int
        The caller's step (epoch, iteration, ...).
    widths : tuple of int
        [M0, M1, ..., M_L, Q] of the network recorded.
    norms : tuple of NormEstimate
        ||W_l|| for l = 1..L+1: estimate (a lower estimate) and certified upper bound.
        ``method`` says how: ``"exact"`` (SVD, small layers), ``"lanczos"`` (an anchor,
        certified at failure probability ``delta`` over the layers anchored), or
        ``"drift"`` (U_s + ||W_t - W_s||_F from the layer's last anchor s, whose failure
        probability its ``delta`` repeats; its estimate is the larger of |W_t v| for the
        monitor's running power-iteration vector v and the anchor's estimate minus the
        drift).
    bias_norms : tuple of float
        |b_l| for l = 1..L+1.
    lipschitz : float
        rho^L prod_l upper_l >= Lip(f), rho the hidden activation's certified Lipschitz
        constant (1 for ReLU), rounded up.
    lipschitz_estimate : float
        rho^L prod_l estimate_l (not a bound; shows how loose ``lipschitz`` is).
    train_cost : float or None
        C_train = mean_i |f(x_i) - y_i|^2, on the records that compute it (bound records,
        and every ``cost_every``-th record); None on the others.
    max_train_residual : float or None
        max_i |f(x_i) - y_i| (the largest residual r_i), likewise.
    delta : float
        The failure probability spent at this record: delta_a of its anchor event a, or 0
        when no layer was anchored.
    seed : int or None
        The seed of this record's Lanczos anchors (from the monitor's SeedSequence); None
        when no layer was anchored.
    bound : BoundSnapshot or None
        The sample bound, on the records that compute it.
    seconds : float
        Wall time of the record.
    heldout : HeldoutCertificate or None
        With ``heldout_delta``: the held-out certificate of the classifier argmax_j f(x)_j
        on the test set, at heldout_delta_t = heldout_delta 6 / (pi^2 t^2).
    precision : str or None
        ``"float32"`` when the record's forward passes ran in float32 with certified
        margins (then ``train_cost``, ``max_train_residual`` and the bound's test errors are
        float32 estimates, and the bound's offsets are upper bounds on the residuals),
        ``"float64"`` when they ran in float64, None when it ran none.
    """

    record: int
    step: int
    widths: tuple
    norms: tuple
    bias_norms: tuple
    lipschitz: float
    lipschitz_estimate: float
    train_cost: float | None
    max_train_residual: float | None
    delta: float
    seed: int | None
    bound: BoundSnapshot | None
    seconds: float
    heldout: HeldoutCertificate | None = None
    precision: str | None = None

    def to_dict(self) -> dict:
        """A JSON-safe dict (non-finite numbers become None); ``heldout`` only when set."""
        out = {
            "record": int(self.record),
            "step": int(self.step),
            "widths": [int(w) for w in self.widths],
            "norms": [n.to_dict() for n in self.norms],
            "bias_norms": [finite_or_none(b) for b in self.bias_norms],
            "lipschitz": finite_or_none(self.lipschitz),
            "lipschitz_estimate": finite_or_none(self.lipschitz_estimate),
            "train_cost": finite_or_none(self.train_cost),
            "max_train_residual": finite_or_none(self.max_train_residual),
            "delta": float(self.delta),
            "seed": None if self.seed is None else int(self.seed),
            "bound": None if self.bound is None else self.bound.to_dict(),
            "seconds": finite_or_none(self.seconds),
        }
        if self.heldout is not None:
            out["heldout"] = self.heldout.to_dict()
        if self.precision is not None:
            out["precision"] = self.precision
        return out


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


__all__ = ["RECORD_COLUMNS", "MonitorRecord", "history_series"]
