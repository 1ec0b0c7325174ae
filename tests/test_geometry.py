"""The geometry kernel (docs/design.md §2.4) against the brute-force reference."""

import _thread
import json
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import archbound
from archbound import _core, reference

RTOL = {np.float32: 1e-4, np.float64: 1e-10}


def objective(F_test, F_train, j, i, alpha=1.0, y_test=None, y_train=None, offsets=None):
    """alpha |F_j - G_i| + |y~_j - y_i| + r_i in float64, for paired index arrays."""
    F_test = np.asarray(F_test, np.float64)
    F_train = np.asarray(F_train, np.float64)
    value = alpha * np.linalg.norm(F_test[j] - F_train[i], axis=1)
    if y_test is not None:
        y_test = np.asarray(y_test, np.float64).reshape(len(F_test), -1)
        y_train = np.asarray(y_train, np.float64).reshape(len(F_train), -1)
        value = value + np.linalg.norm(y_test[j] - y_train[i], axis=1)
    if offsets is not None:
        value = value + np.asarray(offsets, np.float64)[i]
    return value


def assert_matches_reference(F_test, F_train, dtype, block_size="auto", threads=None, **options):
    """nearest() against reference.nearest() (on the same, cast, data): values to RTOL, and
    the returned index attains the minimum to RTOL (exact ties may pick either)."""
    values, indices = archbound.nearest(
        F_test, F_train, block_size=block_size, threads=threads, **options
    )
    assert values.dtype == dtype and indices.dtype == np.int64
    assert values.shape == indices.shape == (len(F_test),)
    expected, _ = reference.nearest(F_test, F_train, **options)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(values, expected, rtol=rtol, atol=0)
    found = indices >= 0
    np.testing.assert_array_equal(found, np.isfinite(expected))
    j = np.flatnonzero(found)
    label_options = {k: v for k, v in options.items() if not k.startswith("classes")}
    attained = objective(F_test, F_train, j, indices[j], **label_options)
    np.testing.assert_allclose(attained, expected[j], rtol=2 * rtol, atol=0)
    if "classes_test" in options:
        ct, cg = np.asarray(options["classes_test"]), np.asarray(options["classes_train"])
        np.testing.assert_array_equal(cg[indices[j]], ct[j])
    return values, indices


SHAPES = [  # m, N, d
    (1, 50, 20),
    (40, 1, 20),
    (1, 1, 5),
    (37, 61, 1),
    (120, 150, 3),
    (33, 80, 8),
    (41, 77, 9),
    (33, 80, 16),
    (70, 90, 17),
    (130, 300, 40),
    (64, 64, 784),
    (300, 2500, 30),  # several training blocks of 1024 and 512
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,d", SHAPES)
def test_nearest_neighbour_matches_reference(m, n, d, dtype):
    rng = np.random.default_rng(m * 1000 + n + d)
    F_test = rng.standard_normal((m, d)).astype(dtype)
    F_train = rng.standard_normal((n, d)).astype(dtype)
    assert_matches_reference(F_test, F_train, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_size", [1, 7, 50, 1000])
def test_block_sizes_that_do_not_divide_m(block_size, dtype, rng):
    F_test = rng.standard_normal((103, 25)).astype(dtype)
    F_train = rng.standard_normal((211, 25)).astype(dtype)
    assert_matches_reference(F_test, F_train, dtype, block_size=block_size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [4, 40])
def test_labels_offsets_and_alpha(d, dtype, rng):
    m, n, q = 90, 140, 3
    F_test = rng.standard_normal((m, d)).astype(dtype)
    F_train = rng.standard_normal((n, d)).astype(dtype)
    options = {
        "alpha": 2.5,
        "y_test": rng.standard_normal((m, q)),
        "y_train": rng.standard_normal((n, q)),
        "offsets": rng.uniform(0, 3, n),
    }
    # Labels and offsets are computed in the features' dtype; compare on the cast values.
    cast = {k: np.asarray(v, dtype) if k != "alpha" else v for k, v in options.items()}
    for subset in (["alpha"], ["y_test", "y_train"], ["offsets"], list(cast)):
        assert_matches_reference(F_test, F_train, dtype, **{k: cast[k] for k in subset})


def test_one_dimensional_labels_and_alpha_zero(rng):
    F_test, F_train = rng.standard_normal((20, 5)), rng.standard_normal((30, 5))
    y_test, y_train = rng.standard_normal(20), rng.standard_normal(30)
    assert_matches_reference(F_test, F_train, np.float64, y_test=y_test, y_train=y_train)
    values, indices = assert_matches_reference(
        F_test, F_train, np.float64, alpha=0.0, y_test=y_test, y_train=y_train
    )
    np.testing.assert_allclose(values, np.abs(y_test[:, None] - y_train[None]).min(axis=1))
    values, indices = archbound.nearest(F_test, F_train, alpha=0.0)
    assert (values == 0).all() and (indices == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [3, 100])
def test_identical_and_duplicated_points(d, dtype, rng):
    X = rng.standard_normal((50, d)).astype(dtype)
    # Test = training: distance exactly 0 at the sample itself.
    values, indices = archbound.nearest(X, X)
    assert (values == 0).all()
    np.testing.assert_array_equal(indices, np.arange(50))
    # Every training point twice (the copies far apart in index, across blocks): ties go to
    # the lowest index.
    F_train = np.vstack([X, rng.standard_normal((1100, d)).astype(dtype) + 10, X])
    values, indices = archbound.nearest(X, F_train)
    assert (values == 0).all()
    np.testing.assert_array_equal(indices, np.arange(50))
    # All points identical.
    same = np.ones((40, d), dtype)
    values, indices = archbound.nearest(same[:7], same)
    assert (values == 0).all() and (indices == 0).all()
    near = X + dtype(1e-3) * rng.standard_normal(X.shape).astype(dtype)
    assert_matches_reference(near, F_train, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [2, 9, 64, 784])
def test_offset_data_keeps_relative_accuracy(d, dtype, rng):
    """Cancellation regression: |f|^2 + |g|^2 - 2<f,g> at |f| ~ 1e4 sqrt(d) loses every
    digit of a distance ~ 1 unless the data are centred and near pairs recomputed."""
    X = rng.standard_normal((200, d))
    F_train = (X + 1e4).astype(dtype)
    F_test = np.vstack(
        [
            X[:60] + 1e4 + 1e-2 * rng.standard_normal((60, d)),  # near duplicates
            rng.standard_normal((40, d)) + 1e4,
            X[60:70] + 1e4,  # exact duplicates (in float64)
        ]
    ).astype(dtype)
    values, _ = assert_matches_reference(F_test, F_train, dtype)
    assert (values[:60] < 1).all() and (values[:60] > 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [5, 30])
def test_classes(d, dtype, rng):
    m, n = 150, 400
    F_test = rng.standard_normal((m, d)).astype(dtype)
    F_train = rng.standard_normal((n, d)).astype(dtype)
    classes_test = rng.integers(0, 4, m)
    classes_train = rng.integers(0, 4, n) * 1  # np.int64
    assert_matches_reference(
        F_test, F_train, dtype, classes_test=classes_test, classes_train=classes_train
    )
    # Negative and large class labels, int32, with labels and offsets as well.
    assert_matches_reference(
        F_test,
        F_train,
        dtype,
        block_size=16,
        alpha=0.7,
        y_test=rng.standard_normal((m, 2)).astype(dtype),
        y_train=rng.standard_normal((n, 2)).astype(dtype),
        offsets=rng.uniform(0, 1, n).astype(dtype),
        classes_test=(classes_test * 10**9 - 2).astype(np.int64),
        classes_train=(classes_train * 10**9 - 2).astype(np.int64),
    )


def test_absent_class_gives_inf_and_a_warning(rng):
    F_test, F_train = rng.standard_normal((30, 6)), rng.standard_normal((40, 6))
    classes_test = np.arange(30) % 5  # classes 3 and 4 have no training sample
    classes_train = np.arange(40) % 3
    with pytest.warns(archbound.AbsentClassWarning, match=r"12 test samples.*\(3, 4\)"):
        values, indices = assert_matches_reference(
            F_test,
            F_train,
            np.float64,
            classes_test=classes_test,
            classes_train=classes_train.astype(np.int32),
        )
    absent = classes_test >= 3
    assert np.isinf(values[absent]).all() and (indices[absent] == -1).all()
    assert np.isfinite(values[~absent]).all()
    assert issubclass(archbound.AbsentClassWarning, UserWarning)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_deterministic_across_thread_counts(dtype, rng):
    F_test = rng.standard_normal((700, 60)).astype(dtype)
    F_train = rng.standard_normal((3000, 60)).astype(dtype)
    classes_test, classes_train = rng.integers(0, 3, 700), rng.integers(0, 3, 3000)
    for options in (
        {},
        {
            "classes_test": classes_test,
            "classes_train": classes_train,
            "offsets": rng.uniform(0, 1, 3000),
        },
    ):
        one = archbound.nearest(F_test, F_train, threads=1, **options)
        two = archbound.nearest(F_test, F_train, threads=2, **options)
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])
    # Few test samples split the training set between threads instead.
    one = archbound.nearest(F_test[:3], F_train, threads=1)
    two = archbound.nearest(F_test[:3], F_train, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_dtypes_layouts_and_no_aliasing(rng):
    F_test = rng.standard_normal((20, 30))
    F_train = rng.standard_normal((25, 30))
    v64, i64 = archbound.nearest(F_test, F_train)
    v32, _i32 = archbound.nearest(F_test.astype(np.float32), F_train.astype(np.float32))
    assert v64.dtype == np.float64 and v32.dtype == np.float32
    np.testing.assert_allclose(v32, v64, rtol=1e-4)
    mixed, _ = archbound.nearest(F_test.astype(np.float32), F_train)
    assert mixed.dtype == np.float64
    # Fortran order, strided views and integer input are accepted.
    v, i = archbound.nearest(np.asfortranarray(F_test), F_train[::1, :].T.copy().T)
    np.testing.assert_array_equal(i, i64)
    v, _ = archbound.nearest(np.arange(12).reshape(4, 3), np.arange(6).reshape(2, 3))
    np.testing.assert_allclose(v, [0, 0, np.sqrt(27), np.sqrt(108)])
    assert not np.shares_memory(v64, F_test)
    # The results are the caller's own: writable, and shared with no other call's.
    again, again_indices = archbound.nearest(F_test, F_train)
    assert v64.flags.writeable and i64.flags.writeable
    v64[:] = -1.0
    i64[:] = -1
    assert (again >= 0).all() and (again_indices >= 0).all()
    np.testing.assert_array_equal(archbound.nearest(F_test, F_train)[0], again)


def test_empty_and_invalid_sizes_through_core():
    G = np.ones((3, 4))
    one = np.ones(1)
    result = _core.nearest_float64(np.empty((0, 4)), G, one, None, None, None, None, None, 0, 0)
    assert result.values.shape == result.indices.shape == result.distances.shape == (0, 1)
    result = _core.nearest_float32(
        np.empty((0, 4), np.float32),
        np.empty((0, 4), np.float32),
        one.astype(np.float32),
        None,
        None,
        None,
        None,
        None,
        0,
        0,
    )
    assert result.values.shape == (0, 1)
    with pytest.raises(ValueError, match="no training samples"):
        _core.nearest_float64(G, np.empty((0, 4)), one, None, None, None, None, None, 0, 0)
    with pytest.raises(ValueError, match="dimensions"):
        _core.nearest_float64(G, np.ones((3, 5)), one, None, None, None, None, None, 0, 0)
    with pytest.raises(ValueError, match="objective"):
        _core.nearest_float64(G, G, np.ones(0), None, None, None, None, None, 0, 0)
    with pytest.raises(ValueError, match="offsets"):
        _core.nearest_float64(G, G, np.ones(2), None, None, np.ones((1, 3)), None, None, 0, 0)
    with pytest.raises(TypeError):  # no silent float64 -> float32 cast
        _core.nearest_float32(G, G, one, None, None, None, None, None, 0, 0)


def test_several_objectives_in_one_pass_equal_separate_calls(rng):
    from archbound.geometry import _nearest

    F, G = rng.standard_normal((300, 40)), rng.standard_normal((70, 40))
    Yf, Yg = rng.standard_normal((300, 3)), rng.standard_normal((70, 3))
    alphas = np.array([0.0, 0.5, 2.0])
    offsets = rng.random((3, 70))
    many = _nearest(F, G, alphas, Yf, Yg, offsets, None, None, 64, 0)
    for k, alpha in enumerate(alphas):
        v, i = archbound.nearest(
            F, G, alpha=alpha, y_test=Yf, y_train=Yg, offsets=offsets[k], block_size=64
        )
        np.testing.assert_array_equal(many.values[:, k], v)
        np.testing.assert_array_equal(many.indices[:, k], i)
        np.testing.assert_allclose(
            many.distances[:, k], np.linalg.norm(F - G[i], axis=1), rtol=1e-13
        )


def test_ctrl_c_interrupts_a_long_call(rng):
    F = rng.random((20_000, 784), dtype=np.float32)  # about 6e11 flops: seconds of work
    timer = threading.Timer(0.3, _thread.interrupt_main)
    result = None
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            result = archbound.nearest(F, F)
    finally:
        timer.cancel()
    assert result is None  # interrupted: the call did not complete


def test_huge_alpha_gives_inf_with_a_valid_index(rng):
    F = rng.standard_normal((5, 20)).astype(np.float32)
    for offsets in (None, np.zeros(5, np.float32)):  # fast and general paths
        values, indices = archbound.nearest(F, F + 1, alpha=3e38, offsets=offsets)
        assert np.isinf(values).all() and ((indices >= 0) & (indices < 5)).all()
    values, indices = archbound.nearest(F, np.vstack([F + 1, F]), alpha=3e38)
    assert (values == 0).all() and (indices == np.arange(5) + 5).all()


def test_float32_overflow_is_refused():
    big = np.full((3, 20), 1e19, np.float32)
    with pytest.raises(ValueError, match="float32"):
        archbound.nearest(big, -big)
    values, _ = archbound.nearest(big.astype(np.float64), -big.astype(np.float64))
    np.testing.assert_allclose(values, 2e19 * np.sqrt(20), rtol=1e-6)


X3, Y3 = np.ones((3, 2)), np.ones((4, 2))


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        ((X3, np.ones((4, 3))), {}, ValueError, "same number of features"),
        ((X3[0], Y3), {}, ValueError, "F_test must be 2-dimensional"),
        ((X3, np.empty((0, 2))), {}, ValueError, "F_train is empty"),
        ((np.full((3, 2), np.nan), Y3), {}, ValueError, "F_test contains NaN"),
        ((X3, np.full((4, 2), np.inf)), {}, ValueError, "F_train contains inf"),
        ((X3.astype(complex), Y3), {}, archbound.DTypeError, "F_test"),
        ((X3, Y3), {"alpha": -1.0}, ValueError, "alpha"),
        ((X3, Y3), {"alpha": np.inf}, ValueError, "alpha"),
        ((X3, Y3), {"alpha": "1"}, archbound.DTypeError, "alpha"),
        ((X3, Y3), {"offsets": -np.ones(4)}, ValueError, "offsets must be >= 0"),
        ((X3, Y3), {"offsets": np.ones(3)}, ValueError, "offsets has length 3"),
        ((X3, Y3), {"offsets": np.full(4, np.nan)}, ValueError, "offsets contains NaN"),
        ((X3, Y3), {"y_test": np.ones((3, 1))}, ValueError, "y_test was given without y_train"),
        ((X3, Y3), {"y_train": np.ones((4, 1))}, ValueError, "y_train was given without"),
        (
            (X3, Y3),
            {"y_test": np.ones((2, 1)), "y_train": np.ones((4, 1))},
            ValueError,
            "y_test has 2 rows",
        ),
        (
            (X3, Y3),
            {"y_test": np.ones((3, 2)), "y_train": np.ones((4, 1))},
            ValueError,
            "same number of columns",
        ),
        (
            (X3, Y3),
            {"y_test": np.ones((3, 1)), "y_train": np.full((4, 1), np.inf)},
            ValueError,
            "y_train contains inf",
        ),
        (
            (X3, Y3),
            {"classes_test": np.zeros(3, int)},
            ValueError,
            "classes_test was given without",
        ),
        (
            (X3, Y3),
            {"classes_train": np.zeros(4, int)},
            ValueError,
            "classes_train was given without",
        ),
        (
            (X3, Y3),
            {"classes_test": np.full(3, 0.5), "classes_train": np.zeros(4, int)},
            archbound.DTypeError,
            "integer class labels",
        ),
        (
            (X3, Y3),
            {"classes_test": np.zeros(2, int), "classes_train": np.zeros(4, int)},
            ValueError,
            r"classes_test must have shape \(3,\)",
        ),
        ((X3, Y3), {"block_size": 0}, ValueError, "block_size"),
        ((X3, Y3), {"block_size": "big"}, ValueError, "block_size"),
        ((X3, Y3), {"threads": 0}, ValueError, "threads"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        archbound.nearest(*args, **kwargs)


def test_chamfer_and_hausdorff(rng):
    A = rng.standard_normal((60, 3))
    B = rng.standard_normal((45, 3)) + 0.5
    assert archbound.chamfer(A, B) == pytest.approx(reference.chamfer(A, B), rel=1e-12)
    assert archbound.chamfer(B, A) == pytest.approx(reference.chamfer(B, A), rel=1e-12)
    symmetric = archbound.chamfer(A, B, symmetric=True)
    assert symmetric == pytest.approx(reference.chamfer(A, B, symmetric=True), rel=1e-12)
    assert symmetric == pytest.approx(archbound.chamfer(B, A, symmetric=True), rel=1e-12)
    assert archbound.hausdorff(A, B) == pytest.approx(reference.hausdorff(A, B), rel=1e-12)
    assert archbound.hausdorff(A, B) == archbound.hausdorff(B, A)
    brute = np.linalg.norm(A[:, None] - B[None], axis=2)
    assert archbound.hausdorff(A, B) == pytest.approx(
        max(brute.min(axis=1).max(), brute.min(axis=0).max()), rel=1e-12
    )
    assert archbound.chamfer(A, A) == 0 and archbound.hausdorff(A, A) == 0
    assert isinstance(archbound.chamfer(A.astype(np.float32), B.astype(np.float32)), float)
    with pytest.raises(ValueError, match="same number of features"):
        archbound.hausdorff(A, B[:, :2])


def test_memory_stays_far_below_the_distance_matrix():
    """m = 200,000 test x N = 2,000 training x d = 784 float32: an m x N float32 matrix would
    be 1.6 GB; the kernel needs the training copy and per-thread tiles only."""
    script = textwrap.dedent(
        """
        import json, resource, tracemalloc
        import numpy as np, psutil
        import archbound

        def peak():
            # VmHWM is this program's own peak RSS. ru_maxrss also counts the parent's RSS at
            # the fork (the kernel keeps the pre-exec high-water mark), which is large when the
            # parent has imported torch.
            try:
                with open("/proc/self/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            return int(line.split()[1]) * 1024
            except OSError:
                pass
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        m, n, d = 200_000, 2_000, 784
        rng = np.random.default_rng(0)
        F_test = rng.random((m, d), dtype=np.float32)
        F_train = rng.random((n, d), dtype=np.float32)
        rss_before = psutil.Process().memory_info().rss
        peak_before = peak()
        tracemalloc.start()
        values, indices = archbound.nearest(F_test, F_train)
        traced_peak = tracemalloc.get_traced_memory()[1]
        peak_after = peak()
        check = np.linalg.norm(F_test[:5, None] - F_train[None], axis=2).min(axis=1)
        print(json.dumps({
            "rss_growth": peak_after - rss_before, "peak_before": peak_before - rss_before,
            "traced_peak": traced_peak, "finite": bool(np.isfinite(values).all()),
            "error": float(np.abs(values[:5] - check).max() / check.min())}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=True
    )
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    matrix_bytes = 200_000 * 2_000 * 4
    assert stats["finite"] and stats["error"] < 1e-4
    assert stats["peak_before"] < matrix_bytes / 20  # the measurement starts from a low peak
    assert stats["rss_growth"] < matrix_bytes / 20  # < 80 MB
    assert stats["traced_peak"] < matrix_bytes / 200  # Python-side allocations < 8 MB
