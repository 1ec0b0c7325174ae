"""The a-priori bound on the cost discrepancy |C_test - C_train|."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import SeedLike
from archbound.bounds._checks import _check_job_network
from archbound.bounds.evaluate import evaluate_groups
from archbound.bounds.registry import get_variant
from archbound.bounds.reports import DiscrepancyReport, share_seconds
from archbound.bounds.training_set import TrainingSet
from archbound.bounds.variants import DISCREPANCY_DISTANCES
from archbound.network import Network
from archbound.opnorm import NormEstimate, upper_product


def output_radius(norms: list[NormEstimate], net: Network, s: np.ndarray) -> np.ndarray:
    """R(s) >= |f(x)| for |x| = s: s_0 = s, for each hidden layer l = 1..L
    s_l = rho (||W_l|| s_{l-1} + |b_l|) + sqrt(M_l) |sigma(0)|, and for the linear output
    layer s_{L+1} = ||W_{L+1}|| s_L + |b_{L+1}| (rho, |sigma(0)|: the activation's
    certified constants; docs/design.md §2.5.6). Each step is rounded up by a relative
    4 eps, more than the rounding of its few operations."""
    rho, at_zero = net.activation.lipschitz, net.activation.abs_at_zero
    up = 1.0 + 4.0 * np.finfo(np.float64).eps
    radius = np.asarray(s, dtype=np.float64)
    last = len(net.weights) - 1
    for index, (norm, bias) in enumerate(zip(norms, net.biases)):
        radius = (norm.upper * radius + np.linalg.norm(bias)) * up
        if index < last and (rho != 1.0 or at_zero != 0.0):
            radius = (rho * radius + np.sqrt(bias.shape[0]) * at_zero) * up
    return radius


def cost_discrepancy_bound(
    net: Network,
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    delta: float | None = None,
    seed: SeedLike = None,
    evaluate_truth: bool = True,
    threads: int | None = None,
    distance: str = "lipschitz",
) -> DiscrepancyReport:
    """A-priori bound on |C_test - C_train| that never evaluates f on the test set.

    With l(z) = |f(x) - y|^2, Lip = rho^L prod_l ||W_l|| (certified; rho the hidden
    activation's Lipschitz constant, 1 for ReLU) and the output radius R(s) (s_0 = s,
    s_l = rho (||W_l|| s_{l-1} + |b_l|) + sqrt(M_l) |sigma(0)| for the hidden layers,
    s_{L+1} = ||W_{L+1}|| s_L + |b_{L+1}|; for ReLU s_l = ||W_l|| s_{l-1} + |b_l|), for
    pi(j) the training sample nearest to test sample j in the metric
    d(x~, x_i) + |y~ - y_i|::

        |C_test - C_train| <= mean_j (d(x~_j, x_pi(j)) + |y~_j - y_pi(j)|)
                                  (R(|x~_j|) + R(|x_pi(j)|) + |y~_j| + |y_pi(j)|)
                              + |mean_j l(z_pi(j)) - C_train|

    where d is either distance below (docs/design.md §2.5.6, arXiv:2504.05695). This is the
    a-priori form of the paper's abstract: the norms, the biases (through R) and the
    geometry, with f evaluated on the training set only.

    Proof. For any assignment pi, C_test - C_train = mean_j (l(z~_j) - l(z_pi(j))) +
    (mean_j l(z_pi(j)) - C_train). With a = f(x~) - y~ and b = f(x) - y,
    |l(z~) - l(z)| = | |a| - |b| | (|a| + |b|) <= |a - b| (|a| + |b|), where
    |a - b| <= |f(x~) - f(x)| + |y~ - y|, |a| <= R(|x~|) + |y~| and |b| <= R(|x|) + |y|
    (R bounds |f(x)| layer by layer: |sigma(z_k)| <= |sigma(0)| + rho |z_k| for each
    coordinate, so |sigma(W h + b)| <= sqrt(M) |sigma(0)| + rho (||W|| |h| + |b|)). It
    remains to bound |f(x~) - f(x_i)| <= d(x~, x_i):

    - ``distance="lipschitz"`` (any network, any activation; the paper's form):
      d = Lip |x~ - x_i|, since sigma is rho-Lipschitz.
    - ``distance="coordinates"`` (readout_first, a ReLU network, rank(X_train) = N): f(x) =
      relu(A x + beta) - beta is 1-Lipschitz in A x, and A = Y_0 X_0^+ vanishes outside
      the row space of X, so |f(x~) - f(x_i)| <= |A (x~ - x_i)| = |Y_0 (c(x~) - e_i)|
      <= ||Y_0|| |c(x~) - e_i|, with c(x~) = X_0^+ x~ the coordinates of
      :func:`sample_bounds`' ``"coordinates"`` variant. Writing the network's stored A as
      Y_0 X_0^+ + E adds the rounding terms ||Y_0|| |X_0^+ x_i - e_i| +
      ||E||_F (|x_i| + |x~|) to d, as there. Nothing else changes, so the bound holds for
      this d too; it is tighter whenever ||Y_0|| |c(x~) - e_i| < Lip |x~ - x_i|, which is
      typical since ||Y_0|| |c - e_i| does not grow with the condition number of X as
      Lip = ||Y_0 X_0^+|| does.

    Parameters
    ----------
    net : Network
    X_train, Y_train, X_test, Y_test : array_like
        As in :func:`sample_bounds` (``X_train`` may be a :class:`TrainingSet`, with
        ``Y_train=None``).
    delta : float in (0, 1), default 1e-6
        Failure probability of the norm certificates.
    seed : int or numpy.random.Generator, optional
    evaluate_truth : bool
        Also evaluate f on the test set, only to report the true discrepancy beside the
        bound (the bound itself does not use it).
    threads : int, optional
    distance : {"lipschitz", "coordinates"}
        The distance d in the transport term (see the proof).

    Returns
    -------
    DiscrepancyReport
    """
    return cost_discrepancy_bound_batch(
        [(net, distance)],
        X_train,
        Y_train,
        X_test,
        Y_test,
        delta=delta,
        seed=seed,
        evaluate_truth=evaluate_truth,
        threads=threads,
    )[0]


def _check_job(net, distance, first) -> None:
    """One (network, distance) job of :func:`cost_discrepancy_bound_batch`."""
    if distance not in DISCREPANCY_DISTANCES:
        raise ValueError(f"distance must be one of {DISCREPANCY_DISTANCES}, got {distance!r}")
    _check_job_network(net, first)


def cost_discrepancy_bound_batch(
    jobs: Sequence[tuple[Network, str]],
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    delta: float | None = None,
    seed: SeedLike = None,
    evaluate_truth: bool = True,
    threads: int | None = None,
) -> list[DiscrepancyReport]:
    """:func:`cost_discrepancy_bound` for several (network, distance) pairs on one data set.

    As :func:`sample_bounds_batch` does for the sample bounds: one pass of the geometry
    kernel per feature space, one objective per job. Each report equals the single call's;
    its ``seconds`` is the batch's wall time shared equally.

    Parameters
    ----------
    jobs : sequence of (Network, str)
        The networks, all with the same input and output sizes, and a distance
        (``"lipschitz"`` or ``"coordinates"``) for each.
    X_train, Y_train, X_test, Y_test, delta, seed, evaluate_truth, threads
        As in :func:`cost_discrepancy_bound`.

    Returns
    -------
    list of DiscrepancyReport
        In the order of ``jobs``.
    """
    jobs = list(jobs)
    if not jobs:
        return []
    first = jobs[0][0]
    train = TrainingSet.of(first, X_train, Y_train, delta=delta, seed=seed, threads=threads)
    X_test, Y_test = train.check_test_set(first, X_test, Y_test)
    for net, distance in jobs:
        _check_job(net, distance, first)
    return _cost_discrepancy_bound_batch(train, X_test, Y_test, jobs, bool(evaluate_truth))


def _cost_discrepancy_bound_batch(
    cache: TrainingSet,
    X_test: np.ndarray,
    Y_test: np.ndarray,
    jobs: list[tuple[Network, str]],
    evaluate_truth: bool,
) -> list[DiscrepancyReport]:
    """:func:`cost_discrepancy_bound_batch` on a validated training set, test set and
    jobs; ``cache`` may be shared with other batches of the training set."""
    start = time.perf_counter()
    X_train, Y_train = cache.X_train, cache.Y_train
    delta, threads = cache.delta, cache.threads
    zeros = np.zeros(X_train.shape[0])
    contexts = []
    for net, distance in jobs:
        # Offsets 0: the transport term pairs test and training samples by distance alone.
        variant = get_variant(distance)
        reason = variant.applies_to(net)
        if reason is not None:
            raise ValueError(reason)
        context = variant.prepare(cache, net, delta, zeros)
        if context is None:
            raise ValueError(
                "distance='coordinates' needs X_train of full row rank, rank(X_train) = N = "
                f"{X_train.shape[0]}; use distance='lipschitz' for this training set"
            )
        contexts.append(context)
    evaluated = evaluate_groups(contexts, X_test, Y_test, threads)
    test_norms = np.linalg.norm(X_test, axis=1)
    train_norms = np.linalg.norm(X_train, axis=1)
    test_label_norms = np.linalg.norm(Y_test, axis=1)
    train_label_norms = np.linalg.norm(Y_train, axis=1)
    reports = []
    for (net, distance), context, bounds in zip(jobs, contexts, evaluated):
        pi, feature_distance = bounds.nearest_index, bounds.distances
        train_losses = np.sum((cache.train_outputs(net) - Y_train) ** 2, axis=1)
        train_cost = float(train_losses.mean())
        # The norms "lipschitz" certifies, for R and Lip (computed once per network).
        lipschitz_norms = (
            context.norms if distance == "lipschitz" else cache.certified_norms(net, delta)
        )
        lip = net._lipschitz_of(upper_product(lipschitz_norms))
        if distance == "lipschitz":
            x_gap = lip * feature_distance
        else:  # ||Y_0|| |c(x~) - e_i| plus the rounding terms of "coordinates"
            x_gap = (
                context.alpha * feature_distance
                + context.kernel_offsets[pi]
                + context.test_gap * test_norms
            )
        y_gap = np.linalg.norm(Y_test - Y_train[pi], axis=1)
        spread = (
            output_radius(lipschitz_norms, net, test_norms)
            + output_radius(lipschitz_norms, net, train_norms)[pi]
            + test_label_norms
            + train_label_norms[pi]
        )
        transport = float(np.mean((x_gap + y_gap) * spread))
        train_term = abs(float(train_losses[pi].mean()) - train_cost)
        discrepancy = test_cost = None
        if evaluate_truth:
            test_cost = float(
                np.mean(np.sum((net._forward(X_test, threads) - Y_test) ** 2, axis=1))
            )
            discrepancy = abs(test_cost - train_cost)
        reports.append(
            DiscrepancyReport(
                bound=transport + train_term,
                transport_term=transport,
                train_term=train_term,
                discrepancy=discrepancy,
                train_cost=train_cost,
                test_cost=test_cost,
                lipschitz=lip,
                norms=list(lipschitz_norms),
                nearest_index=pi,
                delta=delta,
                seconds=0.0,
                distance=distance,
                alpha=lip if distance == "lipschitz" else context.alpha,
            )
        )
    return share_seconds(reports, start)
