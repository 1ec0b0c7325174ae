"""The PAC-Bayes-kl certificate of a Gaussian stochastic network (docs/certificates.md §3).

With probability >= 1 - delta over the bound set S (n i.i.d. points the prior never saw) and
the Monte-Carlo draws, the stochastic network's error e(Q) = E_{W ~ Q} P_{(x, y)}[f_W(x) != y]
is at most

    kl^{-1}( kl^{-1}(e_M, ln(1/delta_mc) / M), (KL(Q || P) + ln(2 sqrt(n) / delta_kl)) / n ),

where e_M is the mean of the M draws' block error rates (i.i.d. in [0, 1] with mean
e_S(Q), the stochastic error on S) and delta_kl = (delta - delta_mc - delta_test) / n_priors
(Maurer 2004, Theorem 5; Seeger 2002; Langford 2005; Perez-Ortiz et al. 2021).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archbound._validation import check_probability, check_scalar
from archbound.certificates.heldout import HeldoutCertificate, heldout_bound
from archbound.certificates.kl import kl_inverse
from archbound.pacbayes.montecarlo import stochastic_errors
from archbound.pacbayes.posterior import GaussianPosterior


@dataclass(frozen=True)
class DeltaLedger:
    """How the failure probability is spent; the parts sum to ``total``.

    Attributes
    ----------
    total : float
        The delta the user gave.
    parts : dict of str to float
        ``pac-bayes-kl`` (over all ``n_priors`` priors), ``monte-carlo`` and, with a test
        set, ``held-out (mean network)``.
    n_priors : int
        The priors the kl part is split over (union bound): each gets its share / n_priors.
    """

    total: float
    parts: dict[str, float]
    n_priors: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "parts": dict(self.parts), "n_priors": self.n_priors}


@dataclass(frozen=True)
class PACBayesCertificate:
    """The PAC-Bayes-kl certificate of a stochastic network Q = N(mu, diag sigma^2).

    It is about the stochastic predictor: each prediction uses a fresh draw W ~ Q. The
    deterministic mean network mu is a different predictor; its own certificate (from a test
    set) is ``mean_network``.

    Attributes
    ----------
    bound : float
        With probability >= 1 - ledger.total, e(Q) <= bound.
    n : int
        The bound-set points actually used (never the prior's).
    kl : float
        KL(Q || P), float64, recomputed from the final parameters, rounded up.
    draws, block : int
        M weight draws, each on ``block`` points drawn with replacement (block = n: all).
    mc_error : float
        e_M, the Monte-Carlo estimate of the stochastic error on the bound set.
    mc_upper : float
        kl^{-1}(e_M, ln(1/delta_mc) / M) >= e_S(Q) with probability >= 1 - delta_mc.
    budget : float
        (KL + ln(2 sqrt(n) / delta_kl)) / n.
    ledger : DeltaLedger
    mean_network : HeldoutCertificate or None
        The held-out certificate of the mean network on the test set, when one is given.
    seconds : dict of str to float
        ``kl``, ``monte_carlo``, ``test``.
    """

    bound: float
    n: int
    kl: float
    draws: int
    block: int
    mc_error: float
    mc_upper: float
    budget: float
    ledger: DeltaLedger
    mean_network: HeldoutCertificate | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def draws_per_second(self) -> float:
        return self.draws / max(self.seconds.get("monte_carlo", 0.0), 1e-12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "n": self.n,
            "kl": self.kl,
            "draws": self.draws,
            "block": self.block,
            "mc_error": self.mc_error,
            "mc_upper": self.mc_upper,
            "budget": self.budget,
            "ledger": self.ledger.to_dict(),
            "mean_network": None if self.mean_network is None else self.mean_network.to_dict(),
            "seconds": dict(self.seconds),
        }


def delta_ledger(delta: float, delta_mc: float, delta_test: float, n_priors: int) -> DeltaLedger:
    """Split ``delta`` into the Monte-Carlo part, the test part and the rest for the kl bound."""
    rest = delta - delta_mc - delta_test
    if rest <= 0:
        raise ValueError(
            f"delta_mc ({delta_mc:g}) and delta_test ({delta_test:g}) must leave part of "
            f"delta ({delta:g}) for the PAC-Bayes-kl bound"
        )
    parts = {"pac-bayes-kl": rest, "monte-carlo": delta_mc}
    if delta_test > 0:
        parts["held-out (mean network)"] = delta_test
    return DeltaLedger(total=delta, parts=parts, n_priors=n_priors)


def pacbayes_kl_bound(
    mc_error: float, draws: int, kl: float, n: int, *, delta_kl: float, delta_mc: float
) -> tuple[float, float, float]:
    """(bound, mc_upper, budget) of the certificate from its ingredients (module docstring)."""
    mc_upper = float(kl_inverse(mc_error, math.log(1.0 / delta_mc) / draws))
    budget = (kl + math.log(2.0 * math.sqrt(n) / delta_kl)) / n
    return float(kl_inverse(mc_upper, budget)), mc_upper, budget


def pacbayes_certificate(
    posterior: GaussianPosterior,
    X_bound,
    y_bound,
    *,
    delta: float = 0.05,
    delta_mc: float = 0.01,
    draws: int = 10_000,
    block: int | None = None,
    n_priors: int = 1,
    X_test=None,
    y_test=None,
    delta_test: float = 0.01,
    seed=None,
    threads: int | None = None,
) -> PACBayesCertificate:
    """Certify the error of a stochastic network by the PAC-Bayes-kl bound.

    Parameters
    ----------
    posterior : GaussianPosterior
        Q and its prior P. P must not depend on the bound set (a data-dependent prior is
        chosen on :attr:`GaussianPosterior.prior_indices`, which the bound set excludes).
    X_bound : array_like of shape (n, M0)
        The bound set: the rows of the training set that the prior never saw
        (:meth:`GaussianPosterior.bound_set`); n >= 8 is the number used in the bound.
    y_bound : array_like of shape (n,)
        Class labels.
    delta : float, default 0.05
        The total failure probability; :class:`DeltaLedger` shows how it is spent.
    delta_mc : float, default 0.01
        The part spent on the Monte-Carlo estimate.
    draws : int, default 10_000
        M, the number of weight draws.
    block : int, optional
        Points per draw, drawn with replacement (default: min(n, 64)); n means all points
        (no resampling).
    n_priors : int, default 1
        How many priors (a grid of prior scales, say) were tried on this bound set; the kl
        part of delta is split evenly over them (union bound).
    X_test, y_test : array_like, optional
        A test set never used in training: the mean network's held-out certificate is
        reported beside, with ``delta_test`` of the ledger.
    delta_test : float, default 0.01
        Used only with a test set.
    seed : int, optional
        The Monte-Carlo seed (None: from the operating system).
    threads : int, optional

    Returns
    -------
    PACBayesCertificate

    References
    ----------
    Maurer, "A note on the PAC Bayesian theorem" (2004); Seeger, JMLR 3 (2002); Langford,
    JMLR 6 (2005); Dziugaite & Roy, UAI 2017; Perez-Ortiz, Rivasplata, Shawe-Taylor &
    Szepesvari, JMLR 22 (2021).
    """
    if not isinstance(posterior, GaussianPosterior):
        raise TypeError(f"posterior must be a GaussianPosterior, got {type(posterior).__name__}")
    delta = check_probability(delta, "delta")
    delta_mc = check_probability(delta_mc, "delta_mc")
    with_test = X_test is not None or y_test is not None
    if with_test and (X_test is None or y_test is None):
        raise ValueError("X_test and y_test go together")
    delta_test = check_probability(delta_test, "delta_test") if with_test else 0.0
    n_priors = check_scalar(n_priors, "n_priors", numbers.Integral, min_val=1)
    ledger = delta_ledger(delta, delta_mc, delta_test, n_priors)
    n = len(X_bound)
    if n < 8:
        raise ValueError(f"X_bound has {n} rows; the PAC-Bayes-kl bound needs n >= 8")
    if posterior.prior_indices is not None and n == posterior.n_train:
        raise ValueError(
            f"X_bound has all {n} training rows, but the prior was trained on "
            f"{posterior.prior_indices.size} of them: pass posterior.bound_set(X, y)"
        )
    if block is None:
        block = min(n, 64)
    block = check_scalar(block, "block", numbers.Integral, min_val=1, max_val=n)

    start = time.perf_counter()
    kl = posterior.kl()
    kl_seconds = time.perf_counter() - start
    start = time.perf_counter()
    counts = stochastic_errors(
        posterior,
        X_bound,
        y_bound,
        draws=draws,
        block=0 if block == n else block,
        seed=seed,
        threads=threads,
    )
    mc_seconds = time.perf_counter() - start
    mc_error = float(np.mean(counts / block))
    delta_kl = ledger.parts["pac-bayes-kl"] / n_priors
    bound, mc_upper, budget = pacbayes_kl_bound(
        mc_error, int(draws), kl, n, delta_kl=delta_kl, delta_mc=delta_mc
    )
    mean_network = None
    test_seconds = 0.0
    if with_test:
        start = time.perf_counter()
        mean_network = heldout_bound(
            posterior.mean, X_test, y_test, delta=delta_test, threads=threads
        )
        test_seconds = time.perf_counter() - start
    return PACBayesCertificate(
        bound=bound,
        n=n,
        kl=kl,
        draws=int(draws),
        block=int(block),
        mc_error=mc_error,
        mc_upper=mc_upper,
        budget=budget,
        ledger=ledger,
        mean_network=mean_network,
        seconds={"kl": kl_seconds, "monte_carlo": mc_seconds, "test": test_seconds},
    )


__all__ = ["DeltaLedger", "PACBayesCertificate", "delta_ledger", "pacbayes_certificate"]
