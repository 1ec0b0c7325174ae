"""Per-sample test-error bounds: :func:`sample_bounds` and its batch form."""

from __future__ import annotations

import time

import numpy as np

from archbound.bounds._checks import _check_batch, _check_job_network, _share_seconds
from archbound.bounds.evaluate import (
    _evaluate_groups,
    _truth,
    evaluate_bounds,
    report_from_samples,
)
from archbound.bounds.reports import BoundReport
from archbound.bounds.variants import VARIANTS, _prepare_bounds, _train_outputs, prepare_bounds


def sample_bounds(
    net,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    variant="lipschitz",
    delta=1e-6,
    seed=None,
    threads=None,
    test_outputs=None,
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
    start = time.perf_counter()
    context = prepare_bounds(
        net, X_train, Y_train, variant=variant, delta=delta, seed=seed, threads=threads
    )
    samples = evaluate_bounds(context, X_test, Y_test, threads=threads, test_outputs=test_outputs)
    return report_from_samples(context, samples, time.perf_counter() - start)


def _check_job(net, variant, first) -> None:
    """One (network, variant) job of :func:`sample_bounds_batch`, against the first network."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    _check_job_network(net, first)


def sample_bounds_batch(
    jobs,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    delta=1e-6,
    seed=None,
    threads=None,
    test_outputs=None,
    _shared=None,
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
    _shared : dict, optional
        Internal: what depends on this training set and its networks (bases, training
        outputs, certified norms), shared with :func:`cost_discrepancy_bound_batch` calls on
        the same arrays and networks, which must stay alive while the dict is used.

    Returns
    -------
    list of BoundReport
        In the order of ``jobs``. Each report's ``seconds`` is the batch's wall time shared
        equally among the jobs.
    """
    start = time.perf_counter()
    jobs = list(jobs)
    if not jobs:
        return []
    if test_outputs is None:
        test_outputs = [None] * len(jobs)
    test_outputs = list(test_outputs)
    if len(test_outputs) != len(jobs):
        raise ValueError(f"test_outputs has {len(test_outputs)} entries for {len(jobs)} jobs")
    delta, X_train, Y_train, X_test, Y_test = _check_batch(
        jobs, X_train, Y_train, X_test, Y_test, delta, threads, _check_job
    )
    shared: dict = {} if _shared is None else _shared
    residuals: dict = {}
    contexts = []
    for net, variant in jobs:
        if id(net) not in residuals:
            outputs = _train_outputs(net, X_train, threads, shared)
            residuals[id(net)] = np.linalg.norm(outputs - Y_train, axis=1)
        contexts.append(
            _prepare_bounds(
                net, X_train, Y_train, residuals[id(net)], variant, delta, seed, threads, shared
            )
        )
    evaluated = _evaluate_groups(contexts, X_test, Y_test, threads)
    truths: dict = {}
    reports = []
    for (net, _), context, outputs, parts in zip(jobs, contexts, test_outputs, evaluated):
        key = id(net) if outputs is None else id(outputs)
        if key not in truths:
            truths[key] = _truth(net, X_test, Y_test, threads, outputs)
        samples = dict(truths[key])
        values, index, distances, attained_by = parts
        samples.update(per_sample=values, nearest_index=index, distances=distances)
        if attained_by is not None:
            samples["attained_by"] = attained_by
        reports.append(report_from_samples(context, samples, 0.0))
    return _share_seconds(reports, start)
