"""The held-out certificate: a classifier's test error certified from k errors on m new
points (docs/certificates.md §2).

The m held-out points are drawn i.i.d. and independently of the classifier, so the number of
errors k is Binomial(m, p) for the true error p. The binomial tail inversion (Langford 2005,
Theorem 3.3; the one-sided Clopper-Pearson limit)

    p_bar(k, m, delta) = max { p : P[Binomial(m, p) <= k] >= delta }

satisfies P[p <= p_bar] >= 1 - delta. Its relaxations, the kl form kl^{-1}(k / m, ln(1/delta)
/ m) and Hoeffding's k / m + sqrt(ln(1/delta) / (2m)), are reported for reference.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from archbound._validation import check_array, check_labels, check_probability, check_scalar
from archbound.certificates.kl import kl_inverse
from archbound.readers import as_network


def binomial_tail_limit(errors: int, m: int, delta: float) -> float:
    """The exact one-sided upper limit max { p : P[Binomial(m, p) <= errors] >= delta }.

    scipy's ``betaincinv`` gives the limit (the Beta(k + 1, m - k) quantile at 1 - delta) to
    a few ulps, sometimes below it; the returned p is verified, P[Binomial(m, p) <= k] <= delta
    by ``scipy.stats.binom.cdf``, and nudged up until it is.

    Parameters
    ----------
    errors : int
        k, the number of errors, 0 <= k <= m.
    m : int
        The number of held-out points, m >= 1.
    delta : float
        The failure probability, in (0, 1).

    Returns
    -------
    float
        p_bar in [k / m, 1]; 1 when k == m.
    """
    if errors >= m:
        return 1.0
    p = float(special.betaincinv(errors + 1, m - errors, 1.0 - delta))
    step = max(p, 1e-300) * 1e-15
    while p < 1.0 and stats.binom.cdf(errors, m, p) > delta:
        p = min(1.0, p + step)
        step *= 2
    return p


def hoeffding_limit(errors: int, m: int, delta: float) -> float:
    """k / m + sqrt(ln(1/delta) / (2m)), capped at 1 (Hoeffding 1963)."""
    return min(1.0, errors / m + math.sqrt(math.log(1.0 / delta) / (2 * m)))


@dataclass(frozen=True)
class HeldoutCertificate:
    """The test-error certificate of one classifier from a held-out set.

    With probability >= 1 - delta over the draw of the held-out set, the classifier's true
    error is at most ``bound`` (for each of ``n_models`` classifiers at once, when the set
    checks several: each gets delta / n_models).

    Attributes
    ----------
    errors : int
        k, the misclassified held-out points.
    m : int
        The number of held-out points.
    error_rate : float
        k / m, the held-out (test) error.
    delta : float
        The failure probability given, for all ``n_models`` together.
    n_models : int
        The number of classifiers certified on the same held-out set (union bound).
    bound : float
        The binomial tail limit at delta / n_models, verified: the tail there is <= that.
    kl_bound : float
        kl^{-1}(k / m, ln(n_models / delta) / m), a looser form of the same bound.
    hoeffding_bound : float
        k / m + sqrt(ln(n_models / delta) / (2m)), for reference.
    """

    errors: int
    m: int
    error_rate: float
    delta: float
    n_models: int
    bound: float
    kl_bound: float
    hoeffding_bound: float

    def to_dict(self) -> dict[str, Any]:
        """The fields, as JSON-ready numbers."""
        return asdict(self)


def heldout_certificate(errors: int, m: int, *, delta: float = 0.05, n_models: int = 1):
    """The held-out certificate from k errors out of m (see :class:`HeldoutCertificate`)."""
    m = check_scalar(m, "m", numbers.Integral, min_val=1)
    errors = check_scalar(errors, "errors", numbers.Integral, min_val=0, max_val=m)
    delta = check_probability(delta, "delta")
    n_models = check_scalar(n_models, "n_models", numbers.Integral, min_val=1)
    per_model = delta / n_models
    budget = math.log(1.0 / per_model) / m
    return HeldoutCertificate(
        errors=int(errors),
        m=int(m),
        error_rate=errors / m,
        delta=delta,
        n_models=int(n_models),
        bound=binomial_tail_limit(int(errors), int(m), per_model),
        kl_bound=float(kl_inverse(errors / m, budget)),
        hoeffding_bound=hoeffding_limit(int(errors), int(m), per_model),
    )


def predicted_labels(model, X, *, threads: int | None = None) -> np.ndarray:
    """argmax_j f(x)_j of the network that :func:`archbound.readers.as_network` reads
    from `model`."""
    try:
        network = as_network(model)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"model_or_predictions: {exc}") from None
    return np.asarray(np.argmax(network.forward(X, threads=threads), axis=1))


def _is_labels(value) -> bool:
    if not isinstance(value, (np.ndarray, list, tuple)):
        return False
    try:
        array = np.asarray(value)
    except ValueError:  # ragged: not labels (as_network names what it is)
        return False
    return array.ndim == 1 and array.dtype.kind in "iuf"


def heldout_bound(
    model_or_predictions,
    X,
    y,
    *,
    delta: float = 0.05,
    n_models: int = 1,
    threads: int | None = None,
) -> HeldoutCertificate:
    """Certify a classifier's test error from a held-out set (Langford 2005).

    Parameters
    ----------
    model_or_predictions : Network, model, path, or array_like of shape (m,)
        A network (anything :func:`archbound.readers.as_network` reads; its prediction
        is the argmax of its outputs), or the predicted class labels themselves.
    X : array_like of shape (m, M0), or None
        The held-out inputs; ignored (and may be None) when predictions are given.
    y : array_like of shape (m,) or (m, Q)
        The held-out class labels, or one-hot rows.
    delta : float, default 0.05
        The failure probability, in (0, 1).
    n_models : int, default 1
        How many classifiers are certified on this held-out set; each gets delta / n_models,
        so all certificates hold together with probability >= 1 - delta.
    threads : int, optional
        Threads for the network's forward pass.

    Returns
    -------
    HeldoutCertificate

    Notes
    -----
    The held-out points must be i.i.d. from the distribution of interest and never used to
    train or choose the classifier (other than through ``n_models``).

    References
    ----------
    Langford, "Tutorial on practical prediction theory for classification", JMLR 6 (2005).
    Clopper & Pearson, Biometrika 26 (1934).
    """
    labels = np.asarray(y)
    if labels.ndim == 2:
        labels = np.argmax(check_array(labels, "y"), axis=1)
    labels = check_labels(labels, "y")
    if _is_labels(model_or_predictions):
        predictions = check_labels(
            model_or_predictions, "predictions", n_samples=labels.shape[0], allow_negative=True
        )
    else:
        if X is None:
            raise ValueError("X is required when a model (not predicted labels) is given")
        predictions = predicted_labels(model_or_predictions, X, threads=threads)
        if predictions.shape[0] != labels.shape[0]:
            raise ValueError(
                f"X has {predictions.shape[0]} rows but y has {labels.shape[0]} labels"
            )
    errors = int(np.count_nonzero(predictions != labels))
    return heldout_certificate(errors, labels.shape[0], delta=delta, n_models=n_models)


__all__ = [
    "HeldoutCertificate",
    "binomial_tail_limit",
    "heldout_bound",
    "heldout_certificate",
    "hoeffding_limit",
    "predicted_labels",
]
