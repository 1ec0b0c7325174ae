"""archbound.pinv / pinv_info and _core.pinv against numpy.linalg.pinv and archbound.reference."""

import os

import numpy as np
import pytest

import archbound
from archbound import _core, reference
from archbound._validation import DTypeError
from conftest import matrix_with_singular_values

EPS = np.finfo(np.float64).eps


def rel_diff(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def numpy_pinv(a, rcond=None):
    """numpy.linalg.pinv with archbound's default rcond, max(m, n) * eps (numpy's rtol=None)."""
    a = np.asarray(a, dtype=np.float64)
    if rcond is None:
        return np.linalg.pinv(a, rtol=None)
    return np.linalg.pinv(a, rcond=rcond)


def make(kind, seed=0):
    """Test matrices: (array, expected rank, expected fast path)."""
    rng = np.random.default_rng(seed)
    if kind == "tall":
        return rng.standard_normal((60, 25)), 25, True
    if kind == "square":
        return rng.standard_normal((40, 40)) + 10 * np.eye(40), 40, True
    if kind == "wide":
        return rng.standard_normal((25, 60)), 25, True
    if kind == "tall-rank-deficient":
        return rng.standard_normal((50, 8)) @ rng.standard_normal((8, 30)), 8, False
    if kind == "wide-rank-deficient":
        return rng.standard_normal((20, 5)) @ rng.standard_normal((5, 45)), 5, False
    if kind == "float32":
        return rng.standard_normal((70, 30)).astype(np.float32), 30, True
    if kind == "big-tall":  # several QR blocks, a partial last block
        return rng.standard_normal((700, 300)), 300, True
    if kind == "big-wide":
        return rng.standard_normal((260, 520)), 260, True
    raise AssertionError(kind)


KINDS = [
    "tall",
    "square",
    "wide",
    "tall-rank-deficient",
    "wide-rank-deficient",
    "float32",
    "big-tall",
    "big-wide",
]


@pytest.mark.parametrize("kind", KINDS)
def test_matches_numpy_and_reference(kind):
    a, rank, fast = make(kind)
    info = archbound.pinv_info(a)
    expected = numpy_pinv(a)
    assert info.pinv.shape == (a.shape[1], a.shape[0])
    assert info.pinv.dtype == np.float64
    assert info.pinv.flags.c_contiguous
    assert rel_diff(info.pinv, expected) <= 1e-10
    assert rel_diff(info.pinv, reference.pinv(a)) <= 1e-10
    assert info.rank == rank == reference.matrix_rank(a) == np.linalg.matrix_rank(a, rtol=None)
    assert info.fast_path is fast
    assert np.array_equal(archbound.pinv(a), info.pinv)


@pytest.mark.parametrize("kind", KINDS)
def test_singular_values_match_numpy(kind):
    a, _, fast = make(kind)
    s = np.linalg.svd(np.asarray(a, dtype=np.float64), compute_uv=False)
    info = archbound.pinv_info(a)
    if fast:
        # Lanczos estimates: sigma_max from below, sigma_min from above, both close.
        assert info.sigma_max <= s[0] * (1 + 1e-12)
        assert info.sigma_max == pytest.approx(s[0], rel=1e-8)
        assert info.sigma_min >= s[-1] * (1 - 1e-12)
        assert info.sigma_min == pytest.approx(s[-1], rel=1e-8)
    else:
        assert info.sigma_max == pytest.approx(s[0], rel=1e-10)
        assert info.sigma_min == pytest.approx(s[-1], rel=1e-6, abs=1e-12 * s[0])
    if info.sigma_min > 0:
        assert info.condition_number == pytest.approx(info.sigma_max / info.sigma_min)
    else:
        assert info.condition_number == np.inf


@pytest.mark.parametrize("kind", KINDS)
def test_penrose_conditions(kind):
    a, _, _ = make(kind)
    a = np.asarray(a, dtype=np.float64)
    p = archbound.pinv(a)
    scale = np.linalg.norm(a) * np.linalg.norm(p)
    assert np.linalg.norm(a @ p @ a - a) <= 1e-12 * scale * np.linalg.norm(a)
    assert np.linalg.norm(p @ a @ p - p) <= 1e-12 * scale * np.linalg.norm(p)
    assert np.linalg.norm(a @ p - (a @ p).T) <= 1e-12 * scale
    assert np.linalg.norm(p @ a - (p @ a).T) <= 1e-12 * scale


def test_left_inverse_for_full_column_rank():
    a, _, _ = make("tall")
    assert np.allclose(archbound.pinv(a) @ a, np.eye(a.shape[1]), atol=1e-12)


@pytest.mark.parametrize("shape", [(400, 200), (200, 400), (300, 300)])
@pytest.mark.parametrize("condition", [1e3, 1e6])
def test_accuracy_at_condition_number(shape, condition):
    rng = np.random.default_rng(7)
    k = min(shape)
    a = matrix_with_singular_values(rng, *shape, np.logspace(0, -np.log10(condition), k))
    info = archbound.pinv_info(a)
    assert info.fast_path
    assert info.rank == k
    assert rel_diff(info.pinv, numpy_pinv(a)) <= 1e-10
    assert info.condition_number == pytest.approx(condition, rel=1e-6)


def test_ill_conditioned_takes_svd_path():
    rng = np.random.default_rng(3)
    a = matrix_with_singular_values(rng, 80, 40, np.logspace(0, -9, 40))
    info = archbound.pinv_info(a)
    assert not info.fast_path
    assert info.rank == 40
    assert rel_diff(info.pinv, numpy_pinv(a)) <= 1e-6


def test_default_rcond_is_max_dim_times_eps():
    rng = np.random.default_rng(4)
    # 60 x 20: the default cutoff is 60 * eps ~ 1.3e-14 relative, so 5e-15 counts as zero
    # (numpy's legacy default rcond=1e-15 would keep it).
    s = np.array([1.0] * 18 + [5e-15, 1e-17])
    a = matrix_with_singular_values(rng, 60, 20, s)
    info = archbound.pinv_info(a)
    expected_rank = int(np.sum(np.linalg.svd(a, compute_uv=False) > 60 * EPS))
    assert info.rank == expected_rank == 18
    assert np.linalg.matrix_rank(a, rtol=1e-15) == 19
    assert not info.fast_path
    assert rel_diff(info.pinv, numpy_pinv(a)) <= 1e-8
    assert rel_diff(info.pinv, reference.pinv(a)) <= 1e-8


@pytest.mark.parametrize("rcond, rank", [(1e-2, 1), (1e-5, 2), (1e-8, 3), (0.0, 4)])
def test_user_rcond(rcond, rank):
    rng = np.random.default_rng(5)
    a = matrix_with_singular_values(rng, 30, 4, [1.0, 1e-3, 1e-6, 1e-9])
    info = archbound.pinv_info(a, rcond=rcond)
    assert info.rank == rank
    assert rel_diff(info.pinv, numpy_pinv(a, rcond=rcond)) <= 1e-6
    assert rel_diff(info.pinv, reference.pinv(a, rcond=rcond)) <= 1e-6


def test_large_rcond_turns_fast_path_off():
    rng = np.random.default_rng(6)
    a = matrix_with_singular_values(rng, 30, 10, np.logspace(0, -2, 10))
    assert archbound.pinv_info(a).fast_path
    info = archbound.pinv_info(a, rcond=0.5)
    assert not info.fast_path
    assert info.rank == int(np.sum(np.logspace(0, -2, 10) > 0.5))
    assert rel_diff(info.pinv, numpy_pinv(a, rcond=0.5)) <= 1e-10


def test_zero_matrix():
    info = archbound.pinv_info(np.zeros((4, 3)))
    assert info.rank == 0
    assert not info.fast_path
    assert np.array_equal(info.pinv, np.zeros((3, 4)))


def test_threads_do_not_change_the_answer():
    a, _, _ = make("big-tall")
    one = archbound.pinv(a, threads=1)
    two = archbound.pinv(a, threads=2)
    assert rel_diff(one, two) <= 1e-13


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_empty_through_core(shape):
    r = _core.pinv(np.zeros(shape), -1.0, 0)
    assert r.pinv.T.shape == (shape[1], shape[0])
    assert r.rank == 0 and r.sigma_max == 0 and r.sigma_min == 0 and not r.fast_path


@pytest.mark.parametrize("kind", ["tall", "wide", "square"])
def test_core_matches_public(kind):
    a, _, _ = make(kind)
    r = _core.pinv(np.ascontiguousarray(a), -1.0, 1)
    assert np.array_equal(r.pinv.T, archbound.pinv(a, threads=1))
    assert r.fast_path


@pytest.mark.parametrize("layout", ["fortran", "strided", "list"])
def test_layouts_give_the_same_answer(layout):
    a, _, _ = make("tall")
    if layout == "fortran":
        given = np.asfortranarray(a)
    elif layout == "strided":
        wide = np.zeros((a.shape[0], 2 * a.shape[1]))
        wide[:, ::2] = a
        given = wide[:, ::2]
    else:
        given = a.tolist()
    assert rel_diff(archbound.pinv(given), archbound.pinv(a)) <= 1e-14


def test_input_is_not_modified_and_result_does_not_alias():
    a, _, _ = make("tall")
    copy = a.copy()
    p = archbound.pinv(a)
    assert np.array_equal(a, copy)
    assert not np.shares_memory(p, a)


def test_integer_input_is_converted():
    a = np.array([[2, 0], [0, 4], [0, 0]])
    assert np.allclose(archbound.pinv(a), np.linalg.pinv(a.astype(float)))


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, ["a", "NaN"]),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), ValueError, ["a", "inf"]),
        (np.ones(3), ValueError, ["a", "2-dimensional"]),
        (np.ones((2, 2, 2)), ValueError, ["a", "2-dimensional"]),
        (np.zeros((0, 3)), ValueError, ["a", "empty"]),
        (np.array([["a", "b"]]), DTypeError, ["a", "string"]),
        (np.array([[1 + 1j, 0]]), DTypeError, ["a", "complex"]),
        (np.array([[object(), 1]], dtype=object), DTypeError, ["a", "object"]),
        (None, DTypeError, ["a"]),
        ("abc", DTypeError, ["a"]),
    ],
)
def test_bad_input(bad, error, words):
    with pytest.raises(error) as excinfo:
        archbound.pinv(bad)
    for word in words:
        assert word in str(excinfo.value)


def test_dtype_errors_are_type_and_value_errors():
    with pytest.raises(TypeError):
        archbound.pinv(np.array([[1j]]))
    with pytest.raises(ValueError):
        archbound.pinv(np.array([[1j]]))


@pytest.mark.parametrize("rcond", [-1.0, np.nan, np.inf, "small", True])
def test_bad_rcond(rcond):
    with pytest.raises(ValueError, match="rcond"):
        archbound.pinv(np.eye(3), rcond=rcond)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_threads(threads):
    with pytest.raises(ValueError, match="threads"):
        archbound.pinv(np.eye(3), threads=threads)


def test_rcond_is_keyword_only():
    with pytest.raises(TypeError):
        archbound.pinv(np.eye(3), 1e-3)


def test_eigen_and_scipy_lapack_agree():
    if _core.blas_backend() == "eigen":
        pytest.skip("SciPy's BLAS is not in use (ARCHBOUND_BLAS=eigen)")
    for case in ("big-tall", "wide"):
        a, _, _ = make(case)
        with_lapack = archbound.pinv(a)
        _core.use_blas(False)
        try:
            with_eigen = archbound.pinv(a)
        finally:
            _core.use_blas(True)
        assert rel_diff(with_lapack, with_eigen) <= 1e-12
        assert rel_diff(with_eigen, numpy_pinv(a)) <= 1e-10


def test_backend_choice_from_the_environment(monkeypatch):
    from archbound import _backend

    before = _core.blas_backend()
    try:
        monkeypatch.setenv("ARCHBOUND_BLAS", "eigen")
        assert _backend.load() == "eigen"
        monkeypatch.setenv("ARCHBOUND_BLAS", "/some/libopenblas.so")
        with pytest.warns(RuntimeWarning, match="ARCHBOUND_BLAS"):
            assert _backend.load().startswith("scipy")
        monkeypatch.setenv("ARCHBOUND_BLAS", "auto")
        assert _backend.load().startswith("scipy")
    finally:
        _core.use_blas(before != "eigen")
    assert _backend.backend() == before


def test_no_blas_of_its_own_is_loaded():
    # The core uses the BLAS and LAPACK that SciPy ships (scipy.linalg.cython_blas): it adds
    # no OpenBLAS of its own to the process.
    import threadpoolctl

    libraries = {os.path.basename(p["filepath"]) for p in threadpoolctl.threadpool_info()}
    archbound.pinv(np.ones((3, 2)) + np.eye(3, 2))
    after = {os.path.basename(p["filepath"]) for p in threadpoolctl.threadpool_info()}
    assert after == libraries
    assert not any("openblas32" in name and "scipy.libs" not in name for name in after)
