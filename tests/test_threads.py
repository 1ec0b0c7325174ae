"""Threads and the GIL.

- Python threads calling the library at the same time get the results of sequential calls
  (the core keeps no global state; ThreadScope sets OpenMP's thread count per calling thread).
- While a long C++ call runs, other Python threads make progress: the bindings release the
  GIL around every core call.
- An exception thrown inside an OpenMP region is captured (ExceptionCatcher) and rethrown
  after the region as a Python exception; the process and the OpenMP runtime survive it.
"""

import threading
import time

import numpy as np
import pytest

import archbound as ab
from archbound import _core

pytestmark = pytest.mark.timeout(120)


def _data(seed, n=150, m=1500, m0=40, q=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + m, m0))
    Y = np.tanh(X @ rng.standard_normal((m0, q)))
    weights = [
        rng.standard_normal((64, m0)) / 6,
        rng.standard_normal((32, 64)) / 8,
        rng.standard_normal((q, 32)) / 6,
    ]
    net = ab.Network(weights, [rng.standard_normal(64), np.zeros(32), np.zeros(q)])
    return net, X[:n], Y[:n], X[n:], Y[n:], rng.standard_normal((300, 200))


def _work(seed):
    net, X, Y, Xt, Yt, W = _data(seed)
    report = ab.sample_bounds(net, X, Y, Xt, Yt, seed=seed)
    norm = ab.opnorm(W, method="lanczos", seed=seed)
    exact = ab.opnorm(W, method="exact")
    distance = ab.nearest(Xt, X, alpha=2.0, y_test=Yt, y_train=Y)
    return report, norm, exact, distance


def _same(a, b):
    ra, na, ea, da = a
    rb, nb, eb, db = b
    np.testing.assert_array_equal(ra.per_sample, rb.per_sample)
    np.testing.assert_array_equal(ra.nearest_index, rb.nearest_index)
    np.testing.assert_array_equal(ra.errors, rb.errors)
    assert ra.norms == rb.norms and ra.lipschitz == rb.lipschitz
    assert na == nb and ea == eb
    np.testing.assert_array_equal(da[0], db[0])
    np.testing.assert_array_equal(da[1], db[1])


def test_four_threads_get_the_sequential_results():
    seeds = [11, 12, 13, 14]
    sequential = {seed: _work(seed) for seed in seeds}
    for _ in range(2):  # a few rounds, all four threads released at once
        barrier = threading.Barrier(len(seeds))
        results, errors = {}, []

        def run(seed, barrier=barrier, results=results, errors=errors):
            try:
                barrier.wait()
                results[seed] = _work(seed)
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(seed,)) for seed in seeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for seed in seeds:
            _same(results[seed], sequential[seed])


def test_threads_sharing_one_network_and_one_matrix():
    """The same inputs from four threads: identical results (nothing is written to them)."""
    net, X, Y, Xt, Yt, W = _data(3)
    expected_report = ab.sample_bounds(net, X, Y, Xt, Yt, seed=1)
    expected_norm = ab.opnorm(W, seed=1)
    out, errors = [], []

    def run():
        try:
            out.append(
                (
                    ab.sample_bounds(net, X, Y, Xt, Yt, seed=1),
                    ab.opnorm(W, seed=1),
                    net.forward(Xt.astype(np.float32)),
                )
            )
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for report, norm, f32 in out:
        np.testing.assert_array_equal(report.per_sample, expected_report.per_sample)
        assert norm == expected_norm
        np.testing.assert_array_equal(f32, out[0][2])


def _long_call(kind):
    """A call of about a second (on a busy 2-core machine), with its inputs made already."""
    rng = np.random.default_rng(0)
    if kind == "nearest":
        F = rng.standard_normal((20_000, 128), dtype=np.float32)
        G = rng.standard_normal((8_000, 128), dtype=np.float32)
        return lambda: ab.nearest(F, G)
    if kind == "lanczos":
        W = rng.standard_normal((700, 700))
        return lambda: ab.opnorm(W, method="lanczos", rtol=1e-15, seed=0)
    if kind == "forward":
        net = ab.Network(
            [
                rng.standard_normal((256, 64)),
                rng.standard_normal((256, 256)),
                rng.standard_normal((4, 256)),
            ],
            [np.zeros(256), np.zeros(256), np.zeros(4)],
        )
        X = rng.standard_normal((300_000, 64), dtype=np.float32)
        return lambda: net.forward(X)
    A = rng.standard_normal((1100, 1100))
    return lambda: ab.pinv(A)


@pytest.mark.parametrize("kind", ["nearest", "lanczos", "forward", "pinv"])
def test_other_threads_run_during_a_long_call(kind):
    """A pure-Python loop in the main thread keeps running while the call is inside C++.

    If the GIL were held, the loop would stall for the whole call: it would count a handful
    of iterations at most, before the call started and after it ended.
    """
    call = _long_call(kind)
    inside = threading.Event()
    done = threading.Event()

    def worker():
        inside.set()
        call()
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    # Each iteration sleeps 1 ms and the call takes seconds: a free thread does hundreds of
    # iterations meanwhile, while a thread waiting for a held GIL would do one or two (before
    # the call started and after it ended).
    assert ticks >= 5


def _small_matrices(bad_index, n_matrices=6):
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal((30, 20)) for _ in range(n_matrices)]
    if bad_index is not None:
        ws[bad_index][3, 4] = np.nan
    return ws


@pytest.mark.parametrize("bad_index", [0, 3, 5])
def test_exception_inside_an_openmp_region_becomes_a_python_exception(bad_index):
    """core::opnorms runs small matrices in an OpenMP parallel loop; opnorm throws
    std::invalid_argument for a NaN inside that loop (the Python layer would refuse the NaN
    first, so `_core` is called directly). ExceptionCatcher keeps the first exception and
    rethrows it after the region; pybind11 turns it into ValueError."""
    ws = _small_matrices(bad_index)
    k = len(ws)
    for _ in range(20):  # threads racing to throw: exactly one exception comes out, every time
        with pytest.raises(ValueError, match="NaN or inf"):
            _core.opnorms(ws, ["lanczos"] * k, 1e-6, 1e-2, 0, list(range(k)), 2)
    # The same region, every iteration throwing (delta is checked inside opnorm).
    with pytest.raises(ValueError, match="delta"):
        _core.opnorms(_small_matrices(None), ["exact"] * k, 2.0, 1e-2, 0, list(range(k)), 2)
    # The runtime is intact: a valid call in the same region gives the sequential results.
    good = _small_matrices(None)
    parallel = _core.opnorms(good, ["lanczos"] * k, 1e-6, 1e-2, 0, list(range(k)), 2)
    for w, seed, result in zip(good, range(k), parallel):
        assert result == _core.opnorm(w, "lanczos", 1e-6, 1e-2, 0, seed, 1)
        assert result.upper >= np.linalg.norm(w, 2) * (1 - 1e-12)


def test_exception_in_one_thread_does_not_disturb_another():
    """One Python thread's core call fails inside its OpenMP region while another's succeeds."""
    good = _small_matrices(None)
    bad = _small_matrices(2)
    k = len(good)
    expected = _core.opnorms(good, ["lanczos"] * k, 1e-6, 1e-2, 0, list(range(k)), 2)
    outcomes = {}

    def run(name, ws):
        try:
            for _ in range(20):
                outcomes[name] = _core.opnorms(
                    ws, ["lanczos"] * k, 1e-6, 1e-2, 0, list(range(k)), 2
                )
        except ValueError as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=run, args=(name, ws))
        for name, ws in (("good", good), ("bad", bad))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["good"] == expected
    assert isinstance(outcomes["bad"], ValueError) and "NaN" in str(outcomes["bad"])


def test_spin_variables_are_set_only_while_their_library_loads():
    # archbound._threads sets GOMP_SPINCOUNT and OPENBLAS_THREAD_TIMEOUT while the core and
    # SciPy's BLAS load, and removes them again; a user's own values are left as they are.
    import os
    import subprocess
    import sys

    show = (
        "import os, archbound; "
        "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")
    }
    clean = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.split() == ["None", "None"]
    env.update(GOMP_SPINCOUNT="5", OPENBLAS_THREAD_TIMEOUT="20")
    user = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True)
    assert user.returncode == 0, user.stderr
    assert user.stdout.split() == ["5", "20"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["CC", "CF", "FC", "FF"])
def test_products_on_the_cores_blas_equal_numpys(dtype, orders):
    from archbound._backend import matmul

    rng = np.random.default_rng(0)
    a = rng.standard_normal((70, 90)).astype(dtype)
    b = rng.standard_normal((90, 40)).astype(dtype)
    a = np.asfortranarray(a) if orders[0] == "F" else a
    b = np.asfortranarray(b) if orders[1] == "F" else b
    product = matmul(a, b)
    assert product.dtype == dtype and product.shape == (70, 40)
    assert product.flags.c_contiguous
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(product, a @ b, rtol=tol, atol=tol * 10)
    # Strided operands, other dtypes and empty operands are left to NumPy.
    np.testing.assert_allclose(matmul(a[::2], b), a[::2] @ b, rtol=tol, atol=tol * 10)
    assert matmul(a[:, :0], b[:0]).shape == (70, 40)
    assert matmul(a.astype(np.int64), b.astype(np.int64)).dtype == np.int64


#: The core's computing functions; each takes a ``threads`` argument (named in its signature).
_COMPUTING = (
    "pinv",
    "opnorm",
    "opnorms",
    "forward_float32",
    "forward_float64",
    "nearest_float32",
    "nearest_float64",
    "readout_first",
    "readout_last",
)


def _threads_position(function) -> int:
    """The position of ``threads`` in a core function's signature (pybind11's docstring)."""
    import re

    names = re.findall(r"[(,]\s*(\w+):", function.__doc__.strip().splitlines()[0])
    return names.index("threads")


@pytest.fixture
def core_threads(monkeypatch):
    """Every core call made while the fixture is active, as (function, threads it was given)."""
    calls = []
    for name in _COMPUTING:
        original = getattr(_core, name)
        position = _threads_position(original)

        def spy(*args, _original=original, _name=name, _position=position, **kwargs):
            calls.append((_name, kwargs["threads"] if "threads" in kwargs else args[_position]))
            return _original(*args, **kwargs)

        monkeypatch.setattr(_core, name, spy)
    return calls


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("variant", ab.bounds.VARIANTS)
def test_every_variant_runs_on_the_threads_it_is_given(core_threads, variant, threads):
    """Every core call of a bound (norms, generalized inverse, forward passes, kernel) runs
    on the ``threads`` of the call, never on OpenMP's default (0)."""
    rng = np.random.default_rng(5)
    X, labels = rng.standard_normal((12, 30)), np.arange(12) % 3
    net = ab.construct_minimizer(X, ab.one_hot(labels, 3), widths=[8, 8], method="readout_first")
    Xt, test_labels = rng.standard_normal((9, 30)), np.arange(9) % 3
    del core_threads[:]  # the construction's own calls
    ab.sample_bounds(net, X, labels, Xt, test_labels, variant=variant, seed=0, threads=threads)
    used = {name for name, _ in core_threads}
    assert {"forward_float64", "nearest_float64"} <= used
    assert "opnorm" in used or "opnorms" in used or variant == "linearized"
    assert {t for _, t in core_threads} == {threads}, core_threads
    # The discrepancy bound and the capacity bounds as well.
    del core_threads[:]
    for distance in ab.bounds.DISCREPANCY_DISTANCES:
        ab.cost_discrepancy_bound(
            net, X, labels, Xt, test_labels, distance=distance, seed=0, threads=threads
        )
    ab.capacity_bounds(net, X, labels, seed=0, threads=threads)
    assert core_threads and {t for _, t in core_threads} == {threads}, core_threads


def test_the_thread_count_spy_sees_the_default():
    """The check above can fail: a call without ``threads`` gives the core 0 (the default)."""
    calls = []
    original = _core.opnorm
    position = _threads_position(original)
    try:
        _core.opnorm = lambda *a, **k: calls.append(a[position]) or original(*a, **k)
        ab.opnorm(np.eye(3), seed=0)
    finally:
        _core.opnorm = original
    assert calls == [0]
