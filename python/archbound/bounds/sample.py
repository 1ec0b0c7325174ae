"""Per-sample test-error bounds: :func:`sample_bounds` and its batch form."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import SeedLike, check_array
from archbound.bounds._checks import _check_job_network
from archbound.bounds.evaluate import (
    BoundSamples,
    Truth,
    _truth,
    evaluate_groups,
    report_from_samples,
)
from archbound.bounds.registry import get_variant, variant_catalogue, variant_names
from archbound.bounds.reports import BoundReport, share_seconds
from archbound.bounds.training_set import TrainingSet
from archbound.bounds.variants import prepare_context
from archbound.network import Network


def sample_bounds(
    net: Network,
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    variant: str = "lipschitz",
    delta: float | None = None,
    seed: SeedLike = None,
    threads: int | None = None,
    test_outputs: ArrayLike | None = None,
) -> BoundReport:
    """Per-sample test-error bounds of a network, with the truth beside them.

    For every test sample, |f(x~_j) - y~_j| <= B_j = min_i (alpha |F_j - G_i| +
    |y~_j - y_i| + r_i), by the triangle inequality through training sample i, where
    r_i = |f(x_i) - y_i| are the training residuals (docs/design.md §2.5.2, arXiv:2504.05695).
    Aggregates: C_test <= mean_j B_j^2 and max_j |f(x~_j) - y~_j| <= max_j B_j.

    The variants differ in the features F (test) and G (training) and the weight alpha.
    For each: what it computes; whether it applies the network's weights to the test
    inputs; which networks it applies to; its cost (m test samples, N training samples,
    M0 inputs, Q outputs). A is the readout Y_0 X_0^+ of a readout_first network, whose
    function is f(x) = relu(A x + beta) - beta.

    <variant catalogue>

    Per sample, ``"linearized"`` <= ``"projected"`` and <= ``"coordinates"``,
    ``"projected"`` <= ``"lipschitz"`` (up to the norm certificates), and ``"best"`` <=
    each of its components.

    Parameters
    ----------
    net : Network
    X_train : array_like of shape (N, M0), or TrainingSet
        The training inputs, or a :class:`TrainingSet` (which carries its targets, delta,
        seed and threads, and shares what it computes with every other call on it).
    Y_train : array_like of shape (N, Q), or (N,) int labels; None with a TrainingSet
    X_test : array_like of shape (m, M0)
    Y_test : array_like of shape (m, Q), or (m,) int labels
    variant : <variant names>
        See above; an unknown name is a ValueError.
    delta : float in (0, 1), default 1e-6
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


def _with_registry(doc: str) -> str:
    """The docstring with the registry's variant paragraphs and names filled in."""
    lines = []
    for line in doc.splitlines():
        if line.strip() == "<variant catalogue>":
            line = variant_catalogue(indent=line[: len(line) - len(line.lstrip())])
        lines.append(line)
    names = "{" + ", ".join(f'"{name}"' for name in variant_names()) + "}"
    return "\n".join(lines).replace("<variant names>", names)


sample_bounds.__doc__ = _with_registry(sample_bounds.__doc__ or "")


def _check_job(net, variant, first) -> None:
    """One (network, variant) job of :func:`sample_bounds_batch`, against the first network."""
    get_variant(variant)
    _check_job_network(net, first)


def sample_bounds_batch(
    jobs: Sequence[tuple[Network, str]],
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    X_test: ArrayLike,
    Y_test: ArrayLike,
    *,
    delta: float | None = None,
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
    train = TrainingSet.of(first, X_train, Y_train, delta=delta, seed=seed, threads=threads)
    X_test, Y_test = train.check_test_set(first, X_test, Y_test)
    for net, variant in jobs:
        _check_job(net, variant, first)
    outputs = [_check_test_outputs(f, Y_test) for f in test_outputs]
    return _sample_bounds_batch(train, X_test, Y_test, jobs, outputs)


def _check_test_outputs(test_outputs, Y_test: np.ndarray) -> np.ndarray | None:
    if test_outputs is None:
        return None
    f_test = check_array(test_outputs, "test_outputs")
    shape = Y_test.shape
    if f_test.shape != shape:
        raise ValueError(f"test_outputs must have shape {shape} (m, Q), got {f_test.shape}")
    return f_test


def _sample_bounds_batch(
    train: TrainingSet,
    X_test: np.ndarray,
    Y_test: np.ndarray,
    jobs: list[tuple[Network, str]],
    test_outputs: list[np.ndarray | None],
) -> list[BoundReport]:
    """:func:`sample_bounds_batch` on a validated training set, test set and jobs."""
    start = time.perf_counter()
    contexts = [prepare_context(train, net, variant) for net, variant in jobs]
    evaluated = evaluate_groups(contexts, X_test, Y_test, train.threads)
    truths: list[tuple[object, Truth]] = []  # (the network or the outputs, its truth)
    reports = []
    for (net, _), context, outputs, bounds in zip(jobs, contexts, test_outputs, evaluated):
        source = net if outputs is None else outputs
        truth = next((t for s, t in truths if s is source), None)
        if truth is None:
            truth = _truth(net, X_test, Y_test, train.threads, outputs)
            truths.append((source, truth))
        samples = BoundSamples.of(bounds, truth)
        reports.append(report_from_samples(context, samples, 0.0))
    return share_seconds(reports, start)
