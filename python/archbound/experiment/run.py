"""The sweep itself: :func:`run_experiment` (arXiv:2504.05695, docs/design.md §2.5 and §4).

For each training-set size N (nested random subsets of one training pool), the sweep checks
N <= rank(X), builds readout_first for every architecture and readout_last wherever
M >= N, measures the true test error of each, then computes every bound of every network
of that N in one batch (:func:`archbound.bounds.sample_bounds_batch`,
:func:`archbound.bounds.cost_discrepancy_bound_batch`): the training set's geometry is
computed once per feature space, each network and variant being one objective of it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archbound import __version__
from archbound._json import finite_or_none
from archbound.bounds import (
    ANY_NETWORK_VARIANTS,
    DISCREPANCY_DISTANCES,
    TrainingSet,
    cost_discrepancy_bound_batch,
    sample_bounds_batch,
)
from archbound.construct import ZeroLossUnattainable, construct_minimizer, one_hot
from archbound.data import DataError, dataset_input_dim, load_dataset
from archbound.experiment import capacity
from archbound.experiment.config import ExperimentConfig, plan, resolve
from archbound.experiment.records import (
    BoundRecord,
    DiscrepancyBoundRecord,
    DiscrepancyRecord,
    NetworkRecord,
    RunRecord,
)
from archbound.experiment.results import DatasetRecord, ExperimentResults
from archbound.experiment.schema import RESULTS_VERSION
from archbound.experiment.summary import summarize
from archbound.linalg import pinv_info
from archbound.network import Network


@dataclass(frozen=True)
class _Built:
    """A network of one N, built and run on the test set, before its bounds."""

    net: Network
    record: NetworkRecord
    output: np.ndarray
    seconds: float


def _discrepancy_records(
    built: list[_Built], train: TrainingSet, X_test: np.ndarray, Y_test: np.ndarray
) -> None:
    """The a-priori bound on |C_test - C_train| in each applicable form, beside the truth,
    for every network of one N (one batch: one kernel pass per distance).

    The truth comes from the test cost measured before; the bound never evaluates f on the
    test set.
    """
    jobs: list[tuple[Network, str]] = []
    records: list[DiscrepancyRecord] = []
    for item in built:
        net, record = item.net, item.record
        cost = record.test.test_cost
        true = None if cost is None else abs(cost - net.construction.train_loss)
        record.discrepancy = DiscrepancyRecord(true=finite_or_none(true))
        distances = (
            DISCREPANCY_DISTANCES if record.construction == "readout_first" else ("lipschitz",)
        )
        jobs += [(net, distance) for distance in distances]
        records += [record.discrepancy] * len(distances)
    reports = cost_discrepancy_bound_batch(jobs, train, None, X_test, Y_test, evaluate_truth=False)
    for (_, distance), discrepancy, report in zip(jobs, records, reports):
        discrepancy.bounds[distance] = DiscrepancyBoundRecord.from_report(report, discrepancy.true)


def run_experiment(
    config: ExperimentConfig, *, progress: Callable[..., Any] | None = None
) -> ExperimentResults:
    """Run the sweep and return its typed results.

    Parameters
    ----------
    config : ExperimentConfig
    progress : callable, optional
        Called as ``progress(total=...)`` once the plan is known, then
        ``progress(advance=k, description=...)`` as networks are done.

    Returns
    -------
    ExperimentResults
        Its ``to_dict()`` is the content of results.json (schema:
        ``archbound/experiment/results.schema.json``).

    Raises
    ------
    ValueError
        For bad options (DataError for datasets that cannot be read).
    """
    start = time.perf_counter()
    test_cap_only = config.n_test is None  # --quick's 200 test samples: at most, not exactly
    config = resolve(config)
    if config.n_train is None:
        config = resolve(config, input_dim=dataset_input_dim(config.dataset))
    n_train: list[int] = config.n_train or []
    X_pool, y_pool, X_test, y_test = load_dataset(
        config.dataset,
        max_train=max(n_train),
        max_test=config.n_test,
        seed=config.seed,
        clip=test_cap_only,
    )
    if X_pool.shape[0] < max(n_train):
        raise DataError(
            f"N = {max(n_train)} is more than the {X_pool.shape[0]} training samples of "
            f"{config.dataset}"
        )
    n_classes = int(max(y_pool.max(), y_test.max())) + 1
    trained_hidden: list[list[int]] = config.trained_hidden or []
    too_narrow = [w for w in config.widths or [] if w < n_classes]
    if too_narrow:
        raise ValueError(
            f"widths {too_narrow} are below Q = {n_classes}: readout_first needs every hidden "
            f"width M >= Q"
        )
    Y_pool = one_hot(y_pool, n_classes)
    Y_test = one_hot(y_test, n_classes)

    networks_planned = plan(config)
    if config.trained:
        narrow = [h for h in trained_hidden if min(h) < n_classes]
        if narrow:
            raise ValueError(
                f"trained_hidden {narrow} has widths below Q = {n_classes}: the readout_first "
                "minimizer they are compared with needs every hidden width M >= Q"
            )
    if progress:
        n_trained = len(n_train) * len(trained_hidden) if config.trained else 0
        progress(total=len(networks_planned) + n_trained)
    runs, capacity_rows = [], []
    for n in n_train:
        X, Y = X_pool[:n], Y_pool[:n]
        info = pinv_info(X, threads=config.threads)
        run = RunRecord.from_pinv_info(n, info)
        runs.append(run)
        todo = [p for p in networks_planned if p[0] == n]
        if info.rank < n:
            why = (
                f"N = {n} > M0 = {X.shape[1]}" if n > X.shape[1] else "linearly dependent samples"
            )
            run.status = "skipped"
            run.reason = (
                f"rank(X) = {info.rank} < N = {n} ({why}): zero training loss is unattainable"
            )
            if progress:
                progress(advance=len(todo), description=f"N={n} skipped")
            continue
        built: list[_Built] = []  # every network of this N
        for _, depth, width, construction in todo:
            if progress:
                progress(advance=0, description=f"N={n} L={depth} M={width} {construction}")
            began = time.perf_counter()
            try:
                net = construct_minimizer(
                    X,
                    Y,
                    [width] * depth,
                    method=construction,
                    seed=config.seed,
                    threads=config.threads,
                )
            except ZeroLossUnattainable as exc:  # rank tolerance disagreed with pinv_info
                run.status, run.reason = "skipped", str(exc)
                break
            if construction == "readout_first" and run.readout_norm is None:
                run.readout_norm = finite_or_none(np.linalg.norm(net.construction.readout, 2))
            output = net.forward(X_test, threads=config.threads)  # once, for every variant
            record = NetworkRecord.from_network(
                net, construction, depth, width, output, Y_test, y_test
            )
            built.append(_Built(net, record, output, time.perf_counter() - began))
            if progress:
                progress(advance=1, description=f"N={n} L={depth} M={width} {construction}")
        if run.status != "ok" or not built:
            continue
        # Every bound of every network of this N in one batch: the training set's geometry
        # is computed once per feature space, each network and variant one objective of it.
        jobs: list[tuple[Network, str]] = []
        outputs: list[np.ndarray | None] = []
        records: list[NetworkRecord] = []
        for item in built:
            net, record, output = item.net, item.record, item.output
            variants = (
                config.variants
                if record.construction == "readout_first"
                else [v for v in config.variants if v in ANY_NETWORK_VARIANTS]
            )
            jobs += [(net, variant) for variant in variants]
            outputs += [output] * len(variants)
            records += [record] * len(variants)
        if progress:
            progress(advance=0, description=f"N={n}: bounds of {len(built)} networks")
        # One training set for both batches of this N: training outputs and certified norms
        # are computed once per network, the bases and features once per training set.
        train = TrainingSet(
            X,
            Y,
            network=built[0].net,
            delta=config.delta,
            seed=config.seed,
            threads=config.threads,
        )
        reports = sample_bounds_batch(jobs, train, None, X_test, Y_test, test_outputs=outputs)
        for (_, variant), record, report in zip(jobs, records, reports):
            record.bounds[variant] = BoundRecord.from_report(report)
        _discrepancy_records(built, train, X_test, Y_test)
        if config.capacity:
            if progress:
                progress(advance=0, description=f"N={n}: capacity of {len(built)} networks")
            for item in built:
                net, record = item.net, item.record
                lipschitz = record.bounds.get("lipschitz")
                capacity_rows.append(
                    capacity.row(
                        net,
                        X,
                        Y,
                        n_train=n,
                        construction=record.construction,
                        hidden=[record.width] * record.depth,
                        test=record.test,
                        paper_bound=None if lipschitz is None else lipschitz.test_cost_bound,
                        config=config,
                    )
                )
        for item in built:
            record = item.record
            gap = record.discrepancy.bounds if record.discrepancy else {}
            shares = [b.seconds for b in record.bounds.values()] + [
                b.seconds for b in gap.values()
            ]
            record.seconds = finite_or_none(item.seconds + sum(s or 0.0 for s in shares))
            run.networks.append(record)
    trained = None
    if config.trained:  # only then: without --trained, results.json is unchanged
        from archbound.experiment.trained import run_trained

        trained = run_trained(
            config,
            X_pool,
            Y_pool,
            X_test,
            Y_test,
            y_test,
            runs,
            progress=progress,
            capacity_rows=capacity_rows if config.capacity else None,
        )
    certificates = None
    if config.certify:  # only then: without --certify, results.json is unchanged
        from archbound.experiment.certify import CertifySettings, run_certificates

        settings = CertifySettings.quick() if config.quick else CertifySettings()
        certificates = run_certificates(config.dataset, settings=settings, threads=config.threads)
    summary = summarize(runs, dataset=str(config.dataset))
    return ExperimentResults(
        version=RESULTS_VERSION,
        archbound_version=__version__,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        seconds=finite_or_none(time.perf_counter() - start),
        config=config,
        dataset=DatasetRecord(
            name=str(config.dataset),
            input_dim=int(X_pool.shape[1]),
            n_classes=n_classes,
            n_pool=int(max(n_train)),
            n_test=int(X_test.shape[0]),
        ),
        runs=runs,
        trained=trained,
        # only with --capacity: without it, results.json is unchanged
        capacity=capacity.section(capacity_rows) if config.capacity else None,
        certificates=certificates,
        summary=summary,
    )


__all__ = ["run_experiment"]
