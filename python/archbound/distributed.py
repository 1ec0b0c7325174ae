"""Bounds over huge test sets, in chunks, in-process or on a Dask cluster (docs/design.md §5).

The network, the training set and the certified norms are prepared once
(:func:`archbound.bounds.prepare_bounds`) and broadcast to the workers once. The test set is
cut into row chunks; each chunk is evaluated by the same C++ kernel as in-process, with as
many OpenMP threads as its worker has, and returns exact partial aggregates (sums, counts,
maxima with their test index). The reduction checks that every chunk arrived exactly once.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import SeedLike, check_memory, check_scalar
from archbound.bounds import BoundReport, TrainingSet, evaluate_bounds, prepare_bounds
from archbound.bounds.evaluate import (
    PER_SAMPLE_ARRAYS,
    BoundAggregates,
    BoundSamples,
    report_from_samples,
)
from archbound.network import Network

_TARGET_CHUNK_BYTES = 64 * 2**20


class MissingChunksError(RuntimeError):
    """Some chunks of the test set could not be computed; the result would be incomplete."""

    def __init__(self, message, chunks):
        super().__init__(message)
        self.chunks = chunks


@dataclass
class _Partial:
    """Exact partial aggregates of one chunk."""

    chunk: int
    start: int
    count: int
    sum_bound_sq: float
    sum_bound: float
    sum_error_sq: float
    sum_error: float
    max_bound: float
    argmax_bound: int
    max_error: float
    hits: int | None
    samples: BoundSamples | None  # per-sample arrays, unless written to per_sample_out


# ---------------------------------------------------------------------------------------
# Test-set sources: anything with a shape and row slicing, opened lazily where it lives.


def _open(source, name="the test set"):
    """A row-sliceable array view of `source` (a path to .npy is memory-mapped)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.endswith(".npy"):
            return np.load(path, mmap_mode="r", allow_pickle=False)
        try:
            import zarr
        except ImportError:  # pragma: no cover - zarr is optional
            raise ValueError(
                f"{name} = {path!r}: only .npy paths are supported without zarr"
            ) from None
        return zarr.open(path, mode="r")
    if isinstance(source, (list, tuple)):  # nested lists, as the in-process functions take
        try:
            return np.asarray(source)
        except ValueError as exc:
            raise ValueError(f"{name} could not be read as an array: {exc}") from None
    return source


def _is_dask(array) -> bool:
    return type(array).__module__.startswith("dask.")


def _rows(array, start: int, stop: int) -> np.ndarray:
    block = array[start:stop]
    if _is_dask(block):
        block = block.compute()
    return np.asarray(block)


def _auto_chunk_rows(n_rows: int, row_bytes: int) -> int:
    rows = max(1024, _TARGET_CHUNK_BYTES // max(1, row_bytes))
    return int(min(n_rows, rows))


# ---------------------------------------------------------------------------------------
# One chunk (runs on a worker, or in-process).


def _evaluate_chunk(context, X, Y, chunk, start, out_paths, threads):
    """Evaluate rows start..start+len(X) of the test set; returns exact partial aggregates."""
    if threads is None and "distributed" in sys.modules:  # a worker has it imported
        try:
            from distributed import get_worker

            threads = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):
            threads = None
    samples = evaluate_bounds(context, X, Y, threads=threads)
    values, errors = samples.per_sample, samples.errors
    stop = start + values.shape[0]
    j = int(np.argmax(values))
    hits = samples.hits
    if out_paths is not None:
        for key, path in out_paths.items():
            target = np.load(path, mmap_mode="r+", allow_pickle=False)
            target[start:stop] = getattr(samples, key)
            target.flush()
            del target
    return _Partial(
        chunk=chunk,
        start=start,
        count=stop - start,
        sum_bound_sq=math.fsum(values**2),
        sum_bound=math.fsum(values),
        sum_error_sq=math.fsum(errors**2),
        sum_error=math.fsum(errors),
        max_bound=float(values[j]),
        argmax_bound=start + j,
        max_error=float(errors.max()),
        hits=None if hits is None else int(np.sum(hits)),
        samples=samples if out_paths is None else None,
    )


def _read(source, start, stop):
    """Rows start..stop from a ("whole", array-or-path) or ("rows", chunk) source."""
    kind, value = source
    return _rows(_open(value), start, stop) if kind == "whole" else np.asarray(value)


def _task(context, x_source, y_source, chunk, start, stop, out_paths, threads):
    """A worker's task: read its rows where they live, then evaluate them."""
    X, Y = _read(x_source, start, stop), _read(y_source, start, stop)
    return _evaluate_chunk(context, X, Y, chunk, start, out_paths, threads)


# ---------------------------------------------------------------------------------------


def _create_outputs(per_sample_out, m: int, best: bool = False) -> dict:
    os.makedirs(per_sample_out, exist_ok=True)
    kinds = dict(PER_SAMPLE_ARRAYS)
    if not best:  # only "best" says which component attains each sample
        del kinds["attained_by"]
    paths = {}
    for key, dtype in kinds.items():
        path = os.path.join(os.fspath(per_sample_out), f"{key}.npy")
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(m,)).flush()
        paths[key] = path
    return paths


def _reduce(context, partials, chunks, m, out_paths, seconds) -> BoundReport:
    """Check that every chunk arrived exactly once, then combine the partial aggregates."""
    seen = sorted(p.chunk for p in partials)
    missing = sorted(set(range(len(chunks))) - set(seen))
    if missing or len(seen) != len(chunks) or sum(p.count for p in partials) != m:
        raise MissingChunksError(
            f"{len(missing)} of {len(chunks)} chunks are missing (chunks {missing[:20]}); "
            "the bound would be incomplete",
            missing,
        )
    partials = sorted(partials, key=lambda p: p.chunk)
    if out_paths is None:
        attained = context.components is not None  # "best"
        keys = [k for k in PER_SAMPLE_ARRAYS if k != "attained_by" or attained]
        arrays = {key: np.concatenate([getattr(p.samples, key) for p in partials]) for key in keys}
    else:
        arrays = {
            key: np.load(path, mmap_mode="r", allow_pickle=False)
            for key, path in out_paths.items()
        }
    samples = BoundSamples(
        per_sample=arrays["per_sample"],
        nearest_index=arrays["nearest_index"],
        distances=arrays["distances"],
        errors=arrays["errors"],
        hits=None,
        attained_by=arrays.get("attained_by"),
    )
    hits = [p.hits for p in partials]
    best = max(partials, key=lambda p: (p.max_bound, -p.start))
    totals = BoundAggregates(
        test_cost=math.fsum(p.sum_error_sq for p in partials) / m,
        test_cost_bound=math.fsum(p.sum_bound_sq for p in partials) / m,
        mean_bound=math.fsum(p.sum_bound for p in partials) / m,
        mean_error=math.fsum(p.sum_error for p in partials) / m,
        uniform_bound=best.max_bound,
        argmax_test_index=best.argmax_bound,
        max_error=max(p.max_error for p in partials),
        accuracy=None if any(h is None for h in hits) else sum(hits) / m,
    )
    return report_from_samples(context, samples, seconds, totals)


@contextlib.contextmanager
def client_for(scheduler=None, workers=None, *, timeout="20s"):
    """A Dask client for :func:`sample_bounds_dask`: a new local cluster, or a running scheduler.

    Parameters
    ----------
    scheduler : str, optional
        ``None`` or ``"local"``: start a ``LocalCluster`` of ``workers`` processes with one
        thread each (each chunk's kernel then runs with its worker's OpenMP threads); an
        address (``tcp://host:port``): connect to a running scheduler.
    workers : int, optional
        Local cluster only: the number of worker processes; default ``os.cpu_count()``.
    timeout : str
        How long to wait for the scheduler.

    Yields
    ------
    distributed.Client
        Closed on exit, with the local cluster if one was started.

    Raises
    ------
    ValueError
        If ``workers`` is given with a scheduler address.
    ImportError
        If Dask's ``distributed`` is not installed (``pip install 'archbound[distributed]'``).
    OSError
        If the scheduler cannot be reached.
    """
    local = scheduler is None or scheduler == "local"
    if not local and workers is not None:
        raise ValueError(f"workers applies to a local cluster only, not to {scheduler!r}")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(
            "a Dask cluster needs Dask: pip install 'archbound[distributed]'"
        ) from None
    if local:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        )
    else:
        cluster = None
    try:
        try:
            client = Client(cluster if cluster is not None else scheduler, timeout=timeout)
        except OSError as exc:
            raise OSError(f"could not reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def sample_bounds_dask(
    net: Network,
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    X_test: Any,
    Y_test: Any,
    *,
    client: Any = None,
    chunk_rows: int | str = "auto",
    variant: str = "lipschitz",
    delta: float | None = None,
    seed: SeedLike = None,
    per_sample_out: str | os.PathLike | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> BoundReport:
    """:func:`archbound.sample_bounds` over a test set cut into row chunks.

    Parameters
    ----------
    net, X_train, Y_train : as in :func:`archbound.sample_bounds`
        The training set (arrays, or a :class:`archbound.TrainingSet`) must fit in
        memory; it is broadcast to every worker once.
    X_test : ndarray, numpy.memmap, path to a .npy file, dask array or zarr array, (m, M0)
        May be larger than memory: chunks are read where they are computed (a .npy path
        or a zarr array is opened by the worker itself, so it must be reachable there).
    Y_test : the same kinds, (m, Q) targets or (m,) integer labels
    client : distributed.Client, optional
        Dask client. None computes the chunks in this process, one after another, with
        OpenMP threads inside each.
    chunk_rows : int or "auto"
        Rows per chunk; "auto" aims at 64 MiB of test inputs per chunk.
    variant, delta, seed : as in :func:`archbound.sample_bounds`
        The norms and the Lipschitz constant are computed once, not per chunk.
    per_sample_out : path of a directory, optional
        Write per_sample.npy, errors.npy, nearest_index.npy and distances.npy (and for
        ``variant="best"`` attained_by.npy) there
        (memory-mapped; workers write their rows) instead of gathering them; the report's
        arrays are then read-only memory maps of those files.
    threads : int, optional
        OpenMP threads per chunk (and, with arrays, of the preparation); default: the
        training set's, or the worker's thread count (in-process: all).
    progress : bool
        Show a progress bar over chunks.

    Returns
    -------
    BoundReport
        Equal to the in-process result: the per-sample bounds, their maximum and the
        indices exactly, sums to about 1e-12 relative (the true errors can differ in the
        last bit, since the forward pass runs on differently sized batches).

    Raises
    ------
    MissingChunksError
        If chunks could not be computed even after Dask's retries (for example when
        workers keep dying); it names the chunks.
    """
    start_time = time.perf_counter()
    if isinstance(X_train, TrainingSet):
        # Its own threads prepare the bounds; ``threads`` applies to the chunks only.
        context = prepare_bounds(net, X_train, Y_train, variant=variant, delta=delta, seed=seed)
        threads = threads if threads is not None else (X_train.threads or None)
    else:
        context = prepare_bounds(
            net, X_train, Y_train, variant=variant, delta=delta, seed=seed, threads=threads
        )
    X_view, Y_view = _open(X_test, "X_test"), _open(Y_test, "Y_test")
    for name, view in (("X_test", X_view), ("Y_test", Y_view)):
        if not hasattr(view, "shape") or len(view.shape) not in (1, 2):
            raise ValueError(f"{name} must be a 2-D array, a .npy path or a dask/zarr array")
    if len(X_view.shape) != 2:
        raise ValueError(f"X_test must be 2-dimensional, got shape {tuple(X_view.shape)}")
    m = int(X_view.shape[0])
    if m == 0:
        raise ValueError("X_test is empty; it needs at least one sample")
    if int(Y_view.shape[0]) != m:
        raise ValueError(
            f"X_test and Y_test must have the same number of rows, got {m} and {Y_view.shape[0]}"
        )
    if chunk_rows == "auto":
        itemsize = np.dtype(getattr(X_view, "dtype", np.float64)).itemsize
        rows = _auto_chunk_rows(m, int(X_view.shape[1]) * itemsize)
    else:
        rows = check_scalar(chunk_rows, "chunk_rows", numbers.Integral, min_val=1)
    rows = min(rows, m)
    # A chunk is read into memory, converted to float64 and mapped to features.
    check_memory(
        3.0 * 8 * rows * max(1, int(X_view.shape[1])),
        f"chunk_rows = {rows}: one chunk of X_test",
    )
    chunks = [(i, s, min(s + rows, m)) for i, s in enumerate(range(0, m, rows))]
    out_paths = (
        None
        if per_sample_out is None
        else _create_outputs(per_sample_out, m, context.components is not None)
    )

    if client is None:
        from tqdm.auto import tqdm

        partials = [
            _evaluate_chunk(
                context, _rows(X_view, s, e), _rows(Y_view, s, e), i, s, out_paths, threads
            )
            for i, s, e in tqdm(chunks, disable=not progress, unit="chunk")
        ]
    else:
        partials = _run_on_cluster(
            client, context, X_test, Y_test, X_view, Y_view, chunks, out_paths, threads, progress
        )
    return _reduce(context, partials, chunks, m, out_paths, time.perf_counter() - start_time)


#: :func:`sample_bounds_dask` under its older name (it reads like :func:`archbound.sample_bounds`).
sample_bounds = sample_bounds_dask


def _with_retries(action, attempts=3):
    """Run a client call, retrying when a worker dies under it (scatter to a dying worker)."""
    for attempt in range(attempts):
        try:
            return action()
        except (OSError, RuntimeError) as exc:  # CommClosedError is an OSError
            if attempt == attempts - 1:
                raise MissingChunksError(f"could not send data to the workers: {exc}", []) from exc
            time.sleep(0.5)


def _chunk_source(client, original, view, start, stop):
    """What a worker needs for rows start..stop, shipped as cheaply as possible.

    A path or a zarr array is opened by the worker itself (nothing is sent but the name);
    a dask array's slice is computed on the cluster; an in-memory array's rows are
    scattered to the cluster (and scattered again if the worker holding them dies).
    """
    if isinstance(original, (str, os.PathLike)):
        return ("whole", os.fspath(original))
    if type(view).__module__.startswith("zarr"):
        return ("whole", view)
    if _is_dask(view):
        return ("rows", client.compute(view[start:stop]))
    rows = np.ascontiguousarray(view[start:stop])
    return ("rows", _with_retries(lambda: client.scatter(rows, hash=False)))


def _run_on_cluster(
    client,
    context,
    X_test,
    Y_test,
    X_view,
    Y_view,
    chunks,
    out_paths,
    threads,
    progress,
    max_attempts=4,
):
    from distributed import as_completed

    [context_future] = _with_retries(lambda: client.scatter([context], broadcast=True, hash=False))

    def submit(chunk):
        i, s, e = chunk
        return client.submit(
            _task,
            context_future,
            _chunk_source(client, X_test, X_view, s, e),
            _chunk_source(client, Y_test, Y_view, s, e),
            i,
            s,
            e,
            out_paths,
            threads,
            pure=False,
            retries=2,
        )

    pending = {submit(chunk): chunk for chunk in chunks}
    attempts = {chunk[0]: 1 for chunk in chunks}
    partials, failures = [], {}
    iterator = as_completed(list(pending))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(chunks), unit="chunk")
    for future in iterator:
        chunk = pending.pop(future)
        if future.status == "finished":
            partials.append(future.result())
            if bar is not None:
                bar.update()
            continue
        # Lost (its worker died with its data) or erred: send the chunk again.
        reason = repr(future.exception()) if future.status == "error" else future.status
        if attempts[chunk[0]] >= max_attempts:
            failures[chunk[0]] = reason
            continue
        attempts[chunk[0]] += 1
        retry = submit(chunk)
        pending[retry] = chunk
        iterator.add(retry)
    if bar is not None:
        bar.close()
    if failures:
        raise MissingChunksError(
            f"{len(failures)} of {len(chunks)} chunks failed after {max_attempts} attempts: "
            f"chunks {sorted(failures)[:20]}; first error: {next(iter(failures.values()))}",
            sorted(failures),
        )
    return partials
