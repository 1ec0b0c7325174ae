"""Per-sample test-error bounds: :func:`sample_bounds` and its batch form."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import SeedLike, check_array
from archbound.bounds._cache import TrainingSetCache
from archbound.bounds._checks import BoundInputs, _check_job_network, check_bound_inputs
from archbound.bounds.evaluate import (
    BoundAggregates,
    BoundSamples,
    Truth,
    _evaluate_groups,
    _report,
    _truth,
)
from archbound.bounds.reports import BoundReport, share_seconds
from archbound.bounds.variants import _check_variant, _prepare_bounds
from archbound.network import Network


def sample_bounds(
    net: Network,
    X_train: ArrayLike,
    Y_train: ArrayLike,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    variant: str = "lipschitz",
    delta: float = 1e-6,
    seed: SeedLike = None,
    threads: int | None = None,
    test_outputs: ArrayLike | None = None,
) -> BoundReport:
    """Per-sample test-error bounds of a ReLU network, with the truth beside them.

    For every test sample, |f(x~_j) - y~_j| <= B_j = min_i (alpha |F_j - G_i| +
    |y~_j - y_i| + r_i), by the triangle inequality through training sample i, where
    r_i = |f(x_i) - y_i| are the training residuals (docs/design.md §2.5.2, arXiv:2504.05695).
    Aggregates: C_test <= mean_j B_j^2 and max_j |f(x~_j) - y~_j| <= max_j B_j.

    The variants differ in the features F (test) and G (training) and the weight alpha.
    For each: what it computes; whether it applies the network's weights to the test
    inputs; which networks it applies to; its cost (m test samples, N training samples,
    M0 inputs, Q outputs). A is the readout Y_0 X_0^+ of a readout_first network, whose
    function is f(x) = relu(A x + beta) - beta.

    - ``"lipschitz"``: F, G are the inputs and alpha = prod_l ||W_l||, the certified upper
      norms. Test inputs enter only through distances |x~_j - x_i|; the weights only
      through their norms. Any network. Cost: L + 1 norm certificates (Lanczos) and one
      kernel pass, O(m N M0).
    - ``"projected"``: F, G are U^T x, the coordinates in an orthonormal basis U of
      span(training inputs), and alpha = ||A|| (certified); valid because A = A U U^T.
      Test inputs enter only through a map built from the training inputs (U).
      readout_first only. Cost: a thin QR, O(N^2 M0), one norm, O(m N M0) to project,
      and the kernel, O(m N^2).
    - ``"coordinates"``: for X_0 of full column rank (rank(X_train) = N <= M0), F is
      c(x~) = X_0^+ x~ in R^N, the test point's coordinates in the training set, G is the
      identity (c(x_i) = e_i) and alpha = ||Y_0||, the norm of the N x Q training labels
      (an exact SVD, rounded up). Valid because A = Y_0 X_0^+ annihilates what lies
      outside the row space of X, so A (x~ - x_i) = Y_0 (c(x~) - e_i) and
      |A (x~ - x_i)| <= ||Y_0|| |c(x~) - e_i|. It uses the training matrix (X_0^+), the
      norm of the training labels and the test inputs, never the network's weights or
      outputs. Note that A x~ = Y_0 c(x~) exactly: this variant sits between the
      geometric ones and ``"linearized"``; it keeps the test point's position relative
      to the training set, and trades the arrangement of the labels (Y_0 applied to
      c(x~) - e_i) for the single number ||Y_0||. So that it holds for the network's
      stored A and not only for the exact Y_0 X_0^+, it adds ||Y_0|| |X_0^+ x_i - e_i| +
      ||A - Y_0 X_0^+||_F (|x_i| + |x~_j|), rounding terms about 1e-13 of the bound.
      readout_first only; refused (ValueError) when rank(X_train) < N. Cost: the
      generalized inverse once, O(N^2 M0), O(m N M0) for the coordinates, and the kernel,
      O(m N^2).
    - ``"linearized"``: F, G are A x and alpha = 1, valid because relu(. + beta) - beta is
      1-Lipschitz. It applies the network's first layer A to the test inputs. For one-hot
      labels (beta = 0 and A x_i = y_i) the triangle inequality makes it exactly
      |A x~_j - y~_j|, the error of the unclipped linear predictor x -> A x, whenever the
      training set holds a sample of y~_j's class: it is tight by construction, not a
      geometric bound. readout_first only. Cost: O(m Q M0) and the kernel, O(m N Q).
    - ``"best"``: the per-sample minimum over the variants of :data:`GEOMETRIC_VARIANTS`
      that apply to the network (lipschitz always; projected for readout_first;
      coordinates for readout_first with rank(X_train) = N). A minimum of valid upper
      bounds is a valid upper bound; the randomized certificates (lipschitz, projected)
      share delta, so the minimum holds with probability >= 1 - delta. It never applies
      the network's weights to the test inputs. ``report.attained_by`` says which
      component attains each sample. Cost: the sum of its components'.

    Per sample, ``"linearized"`` <= ``"projected"`` and <= ``"coordinates"``,
    ``"projected"`` <= ``"lipschitz"`` (up to the norm certificates), and ``"best"`` <=
    each of its components.

    Parameters
    ----------
    net : Network
    X_train : array_like of shape (N, M0)
    Y_train : array_like of shape (N, Q), or (N,) int labels
    X_test : array_like of shape (m, M0)
    Y_test : array_like of shape (m, Q), or (m,) int labels
    variant : {"lipschitz", "projected", "coordinates", "linearized", "best"}
        See above.
    delta : float in (0, 1)
        Failure probability of the randomized norm certificates: the bound holds with
        probability >= 1 - delta.
    seed : int or numpy.random.Generator, optional
        Seed of the norm estimators.
    threads : int, optional
        OpenMP threads.
    test_outputs : array_like of shape (m, Q), optional
        f(X_test), if already computed (for example for several variants): saves a forward
        pass. It only enters the reported truth; the bound B_j never uses f on test samples.

    Returns
    -------
    BoundReport
    """
    return sample_bounds_batch(
        [(net, variant)],
        X_train,
        Y_train,
        X_test,
        Y_test,
        delta=delta,
        seed=seed,
        threads=threads,
        test_outputs=[test_outputs],
    )[0]


def _check_job(net, variant, first) -> None:
    """One (network, variant) job of :func:`sample_bounds_batch`, against the first network."""
    _check_variant(variant)
    _check_job_network(net, first)


def sample_bounds_batch(
    jobs: Sequence[tuple[Network, str]],
    X_train: ArrayLike,
    Y_train: ArrayLike,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    delta: float = 1e-6,
    seed: SeedLike = None,
    threads: int | None = None,
    test_outputs: Sequence | None = None,
) -> list[BoundReport]:
    """:func:`sample_bounds` for several (network, variant) pairs on one training and test set.

    Each report equals the one ``sample_bounds(net, ..., variant=variant)`` returns with the
    same ``delta`` and ``seed``, but what depends on the data only is computed once: the
    validation, the projected basis and the coordinates map, the test features of each
    feature space, and one pass of the geometry kernel per feature space, with one
    objective (alpha, offsets) per network and variant. This is how the experiment bounds
    every architecture of one training-set size.

    Parameters
    ----------
    jobs : sequence of (Network, str)
        The networks, all with the same input and output sizes, and a variant for each.
    X_train, Y_train, X_test, Y_test, delta, seed, threads
        As in :func:`sample_bounds`.
    test_outputs : sequence of array_like of shape (m, Q) or None, optional
        f(X_test) for each job, where already computed.

    Returns
    -------
    list of BoundReport
        In the order of ``jobs``. Each report's ``seconds`` is the batch's wall time shared
        equally among the jobs.
    """
    jobs = list(jobs)
    if not jobs:
        return []
    if test_outputs is None:
        test_outputs = [None] * len(jobs)
    test_outputs = list(test_outputs)
    if len(test_outputs) != len(jobs):
        raise ValueError(f"test_outputs has {len(test_outputs)} entries for {len(jobs)} jobs")
    first = jobs[0][0]
    inputs = check_bound_inputs(
        first, X_train, Y_train, X_test, Y_test, delta=delta, seed=seed, threads=threads
    )
    for net, variant in jobs:
        _check_job(net, variant, first)
    outputs = [_check_test_outputs(f, inputs) for f in test_outputs]
    return _sample_bounds_batch(TrainingSetCache(inputs), jobs, outputs)


def _check_test_outputs(test_outputs, inputs: BoundInputs) -> np.ndarray | None:
    if test_outputs is None:
        return None
    f_test = check_array(test_outputs, "test_outputs")
    shape = inputs.test_set()[1].shape
    if f_test.shape != shape:
        raise ValueError(f"test_outputs must have shape {shape} (m, Q), got {f_test.shape}")
    return f_test


def _sample_bounds_batch(
    cache: TrainingSetCache,
    jobs: list[tuple[Network, str]],
    test_outputs: list[np.ndarray | None] | None = None,
) -> list[BoundReport]:
    """:func:`sample_bounds_batch` on validated inputs (``cache.inputs``, with a test set)
    and jobs; ``cache`` may be shared with other batches of the same training set."""
    start = time.perf_counter()
    inputs = cache.inputs
    X_test, Y_test = inputs.test_set()
    if test_outputs is None:
        test_outputs = [None] * len(jobs)
    contexts = [_prepare_bounds(cache, net, variant) for net, variant in jobs]
    evaluated = _evaluate_groups(contexts, X_test, Y_test, inputs.threads)
    truths: list[tuple[object, Truth]] = []  # (the network or the outputs, its truth)
    reports = []
    for (net, _), context, outputs, bounds in zip(jobs, contexts, test_outputs, evaluated):
        source = net if outputs is None else outputs
        truth = next((t for s, t in truths if s is source), None)
        if truth is None:
            truth = _truth(net, X_test, Y_test, inputs.threads, outputs)
            truths.append((source, truth))
        samples = BoundSamples.of(bounds, truth)
        reports.append(_report(context, samples, BoundAggregates.of(samples), 0.0))
    return share_seconds(reports, start)
