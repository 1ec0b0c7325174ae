"""Monte-Carlo 0-1 error of a Gaussian stochastic network, drawn inside the C++ core
(docs/certificates.md §3.4)."""

from __future__ import annotations

import numbers

import numpy as np

from archbound import _core
from archbound._validation import (
    check_array,
    check_labels,
    check_scalar,
    check_seed,
    check_threads,
)
from archbound.pacbayes.posterior import GaussianPosterior


def _float32(arrays) -> list[np.ndarray]:
    return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]


def stochastic_errors(
    posterior: GaussianPosterior,
    X,
    y,
    *,
    draws: int,
    block: int = 0,
    seed=None,
    threads: int | None = None,
) -> np.ndarray:
    """Misclassified points per weight draw of the stochastic network Q.

    Draw d samples every weight and bias, W = mu + sigma z, with z the normals of the
    core's counter-based generator at (seed, d) (:func:`archbound.reference.counter_normals`
    reproduces them), and counts argmax_j f(x)_j != y over all rows of X (``block=0``) or
    over ``block`` rows drawn uniformly with replacement. The sampled network is evaluated in
    float32. Draws run in parallel, each serially, so the counts are the same for every
    ``threads``.

    Parameters
    ----------
    posterior : GaussianPosterior
    X : array_like of shape (n, M0)
    y : array_like of shape (n,)
        Class labels in [0, Q).
    draws : int
        M >= 1.
    block : int, default 0
        Rows per draw (0: all n).
    seed : int or None
        None draws one from the operating system.
    threads : int, optional

    Returns
    -------
    ndarray of int64, shape (draws,)
        The error count of each draw, out of ``block`` (or n).
    """
    X = np.ascontiguousarray(
        check_array(X, "X", dtypes=(np.float32, np.float64)), dtype=np.float32
    )
    labels = check_labels(y, "y", n_samples=X.shape[0], n_classes=posterior.mean.output_dim)
    if X.shape[1] != posterior.mean.input_dim:
        raise ValueError(
            f"X has {X.shape[1]} features, but the network takes M0 = {posterior.mean.input_dim}"
        )
    draws = check_scalar(draws, "draws", numbers.Integral, min_val=1)
    block = check_scalar(block, "block", numbers.Integral, min_val=0)
    seed_value = check_seed(seed)
    return _core.stochastic_errors(
        X,
        labels,
        _float32(posterior.mean.weights),
        _float32(posterior.sigma_weights),
        _float32(posterior.mean.biases),
        _float32(posterior.sigma_biases),
        int(draws),
        int(block),
        seed_value,
        check_threads(threads),
    )


__all__ = ["stochastic_errors"]
