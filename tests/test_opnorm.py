"""Certified operator norms (docs/design.md §2.3): archbound.opnorm against NumPy's SVD.

Every test that reports an upper bound asserts upper >= sigma_1 on every sample.
"""

import functools
import warnings

import numpy as np
import pytest

import archbound
from archbound import (
    ConvergenceWarning,
    DTypeError,
    Network,
    NormEstimate,
    _core,
    opnorm,
    opnorms,
    reference,
)
from archbound.opnorm import EXACT_MAX_DIM, _layer_seeds
from conftest import matrix_with_singular_values

RTOL = 1e-2
ESTIMATE_SLACK = 1e-12  # estimate <= sigma_1 (1 + ESTIMATE_SLACK)


def _spectrum(rng, k, top=1.0):
    """k singular values, the largest equal to `top`, the others spread below it."""
    return np.concatenate([[top], np.sort(rng.uniform(0.0, 0.9 * top, k - 1))[::-1]])


def _cases():
    rng = np.random.default_rng(20240501)
    cases = {
        "square": matrix_with_singular_values(rng, 120, 120, _spectrum(rng, 120, 3.0)),
        "tall": matrix_with_singular_values(rng, 300, 80, _spectrum(rng, 80, 2.0)),
        "wide": matrix_with_singular_values(rng, 80, 300, _spectrum(rng, 80, 5.0)),
        "gap_1e-6": matrix_with_singular_values(
            rng, 150, 100, np.concatenate([[1.0, 1.0 - 1e-6], rng.uniform(0, 0.5, 60)])
        ),
        "rank_1": matrix_with_singular_values(rng, 150, 90, [4.0]),
        "rank_3": matrix_with_singular_values(rng, 90, 150, [2.0, 1.0, 0.5]),
        "gaussian": rng.standard_normal((200, 160)),
        "row": rng.standard_normal((1, 50)),
        "column": rng.standard_normal((70, 1)),
        "scalar": np.array([[-2.5]]),
    }
    cases["float32"] = cases["gaussian"].astype(np.float32)
    cases["float32_wide"] = cases["wide"].astype(np.float32)
    return cases


CASES = _cases()
METHODS = ["exact", "lanczos", "power", "auto"]


def _sigma1(W):
    return reference.opnorm(np.asarray(W, dtype=np.float64))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("method", METHODS)
def test_bracket_the_true_norm(name, method):
    W = CASES[name]
    s1 = _sigma1(W)
    r = opnorm(W, method=method, seed=7)
    assert isinstance(r, NormEstimate)
    assert r.estimate <= s1 * (1 + ESTIMATE_SLACK)
    assert r.upper >= s1
    assert r.converged
    assert r.upper <= s1 * (1 + RTOL + 1e-3)
    expected = (
        method if method != "auto" else ("exact" if min(W.shape) <= EXACT_MAX_DIM else "lanczos")
    )
    assert r.method == expected
    assert r.delta == (0.0 if expected == "exact" else 1e-6)


@pytest.mark.parametrize("name", ["square", "tall", "wide", "gaussian", "gap_1e-6"])
@pytest.mark.parametrize("max_iter", [None, 8])
def test_upper_bound_holds_in_200_seeded_trials(name, max_iter):
    W = CASES[name]
    s1 = _sigma1(W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(200):
            r = opnorm(W, method="lanczos", delta=1e-6, max_iter=max_iter, seed=seed)
            assert r.estimate <= s1 * (1 + ESTIMATE_SLACK)
            assert r.upper >= s1, (seed, r)
            if r.converged:
                assert r.upper <= s1 * (1 + RTOL + 1e-3)


def test_power_upper_bound_holds_in_seeded_trials():
    W = CASES["square"]
    s1 = _sigma1(W)
    for seed in range(40):
        r = opnorm(W, method="power", delta=1e-6, seed=seed)
        assert r.estimate <= s1 * (1 + ESTIMATE_SLACK)
        assert s1 <= r.upper <= s1 * (1 + RTOL + 1e-3)


def _hard_spectrum(n, top_gap):
    """sigma_1 = 1 over n - 1 values whose squares fill [0, 1 - top_gap] evenly: Lanczos and
    power need many steps here, so a few steps leave a real error for the bound to cover."""
    rng = np.random.default_rng(99)
    lam = np.concatenate([[1.0], np.linspace(0.0, 1.0 - top_gap, n - 1)])
    return matrix_with_singular_values(rng, n, n, np.sqrt(lam))


@pytest.mark.parametrize(
    "method, max_iter, top_gap",
    [("lanczos", 8, 0.1), ("power", 30, 0.1)],
)
def test_failure_frequency_stays_below_delta(method, max_iter, top_gap):
    """At delta = 0.2 and a few steps the certificate does real work: the estimate alone
    misses sigma_1 in most trials, the bound is within ~10% of it, and it fails in fewer
    than a fraction delta of the trials (Kuczynski & Wozniakowski's guarantee)."""
    delta, trials = 0.2, 400
    W = _hard_spectrum(200, top_gap)
    s1 = _sigma1(W)
    failures = estimate_misses = 0
    ratios = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(trials):
            r = opnorm(W, method=method, delta=delta, max_iter=max_iter, seed=seed)
            assert r.iterations == max_iter and not r.converged
            failures += r.upper < s1
            estimate_misses += r.estimate < s1 * (1 - 1e-3)
            ratios.append(r.upper / s1)
    assert failures / trials < delta
    assert estimate_misses / trials > 0.3  # the estimate alone is not a bound
    assert np.median(ratios) < 1.1  # and the certificate is not vacuous
    assert np.linalg.norm(W) > 5 * s1  # (so the Frobenius clamp is not what bounds it)


@pytest.mark.parametrize("name", ["square", "tall", "wide", "gaussian", "row", "column", "rank_1"])
def test_exact_agrees_with_numpy(name):
    W = CASES[name]
    s1 = _sigma1(W)
    r = opnorm(W, method="exact")
    assert abs(r.estimate - s1) <= 1e-12 * s1
    assert r.upper >= s1
    assert r.upper == pytest.approx(
        r.estimate * (1 + 8 * np.finfo(float).eps * min(W.shape)), rel=1e-15
    )
    assert (r.iterations, r.converged, r.delta) == (0, True, 0.0)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_equal_seeds_give_bitwise_equal_results(method):
    W = CASES["gaussian"]
    a = opnorm(W, method=method, seed=123)
    b = opnorm(W, method=method, seed=123)
    assert a == b  # dataclass equality: every float bitwise equal
    with pytest.warns(ConvergenceWarning):
        early = [opnorm(W, method=method, seed=seed, max_iter=3) for seed in (123, 123, 124)]
    assert early[0] == early[1] and early[0].estimate != early[2].estimate


@pytest.mark.parametrize("shape", [(1100, 500), (500, 1100)])
def test_result_does_not_depend_on_thread_count(shape):
    # Large enough for the parallel path (several chunks, each with its own accumulator).
    W = np.random.default_rng(5).standard_normal(shape)
    one = opnorm(W, method="lanczos", seed=9, threads=1)
    two = opnorm(W, method="lanczos", seed=9, threads=2)
    three = opnorm(W, method="lanczos", seed=9, threads=3)
    assert one == two == three
    s1 = _sigma1(W)
    assert one.estimate <= s1 * (1 + ESTIMATE_SLACK) and one.upper >= s1


@pytest.mark.parametrize("method", ["exact", "lanczos", "power", "auto"])
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (40, 1), (1, 40), (300, 200)])
def test_zero_matrix_has_norm_zero(method, shape):
    r = opnorm(np.zeros(shape), method=method, seed=0)
    assert r.estimate == 0.0 and r.upper == 0.0 and r.converged


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_rank_one_is_exact_and_deterministic(method):
    W = CASES["rank_1"]
    s1 = _sigma1(W)
    r = opnorm(W, method=method, seed=3)
    assert r.converged and r.iterations <= 3
    assert s1 <= r.upper <= s1 * (1 + 1e-9)


def test_krylov_breakdown_on_low_rank_terminates_exactly():
    W = CASES["rank_3"]  # W W^T has rank 3: the Krylov space is invariant after 3 steps
    s1 = _sigma1(W)
    r = opnorm(W, method="lanczos", seed=1)
    assert r.converged and r.iterations <= 5
    assert s1 <= r.upper <= s1 * (1 + 1e-9)


@pytest.mark.parametrize("transpose", [False, True])
def test_partial_isometry_terminates_after_one_step(transpose):
    # readout_last's hidden layers have orthonormal rows or columns: W^T W (or W W^T) = I.
    Q, _ = np.linalg.qr(np.random.default_rng(6).standard_normal((500, 120)))
    W = Q.T if transpose else Q
    r = opnorm(W, method="lanczos", seed=0)
    assert r.iterations == 1 and r.converged
    assert 1.0 <= r.upper <= 1.0 + 1e-9 and r.estimate <= 1.0 + 1e-12


def test_fast_decaying_spectrum_terminates_exactly():
    W = matrix_with_singular_values(np.random.default_rng(12), 300, 200, 2.0 ** -np.arange(200.0))
    s1 = _sigma1(W)
    for seed in range(5):
        r = opnorm(W, method="lanczos", seed=seed)
        assert r.converged and r.iterations < 40  # the Krylov space is invariant to rounding
        assert s1 <= r.upper <= s1 * (1 + 1e-9)


def test_steps_reaching_the_dimension_give_an_exact_bound():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((40, 12))
    s1 = _sigma1(W)
    r = opnorm(W, method="lanczos", seed=2)
    assert r.iterations == 12 and r.converged
    assert s1 <= r.upper <= s1 * (1 + 1e-9)


@pytest.mark.parametrize("scale", [1e-200, 1e-30, 1e30, 1e200])
def test_extreme_scales_neither_overflow_nor_underflow(scale):
    W = CASES["gaussian"] * scale
    s1 = _sigma1(W)
    for method in ("lanczos", "power", "exact"):
        r = opnorm(W, method=method, seed=4)
        assert np.isfinite(r.upper) and s1 <= r.upper <= s1 * (1 + RTOL + 1e-3)
        assert s1 * (1 - RTOL) <= r.estimate <= s1 * (1 + ESTIMATE_SLACK)


def test_nearly_equal_top_singular_values():
    W = CASES["gap_1e-6"]
    s1 = _sigma1(W)
    for seed in range(5):
        r = opnorm(W, method="lanczos", seed=seed)
        # Lanczos cannot separate sigma_1 from sigma_2 = sigma_1 - 1e-6, nor does it need to.
        assert s1 * (1 - 1e-5) <= r.estimate <= s1 * (1 + ESTIMATE_SLACK)
        assert r.upper >= s1


def test_lanczos_steps_depend_on_dimension_delta_and_rtol_only():
    # upper/estimate = 1 / sqrt(1 - eps_k): the stopping step is known in advance.
    a = opnorm(CASES["gaussian"], method="lanczos", seed=1)
    b = opnorm(_hard_spectrum(200, 0.1)[:, :160], method="lanczos", seed=1)
    assert a.iterations == b.iterations
    looser = opnorm(CASES["gaussian"], method="lanczos", seed=1, rtol=0.1)
    riskier = opnorm(CASES["gaussian"], method="lanczos", seed=1, delta=0.1)
    assert looser.iterations < a.iterations and riskier.iterations < a.iterations


def test_max_iter_reached_warns_and_stays_certified():
    W = _hard_spectrum(200, 0.1)
    s1 = _sigma1(W)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        r = opnorm(W, method="lanczos", max_iter=3, seed=0)
    assert not r.converged and r.iterations == 3
    assert r.upper >= s1 and np.isfinite(r.upper)
    with pytest.warns(ConvergenceWarning):
        p = opnorm(W, method="power", max_iter=2, seed=0)
    assert not p.converged and p.upper >= s1
    # At one step there is no probabilistic certificate yet: ||W||_F still bounds it.
    with pytest.warns(ConvergenceWarning):
        q = opnorm(W, method="lanczos", max_iter=1, seed=0)
    assert s1 <= q.upper <= np.linalg.norm(W) * (1 + 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_other_dtypes_are_converted_once(dtype):
    W = (CASES["gaussian"] * 10).astype(dtype)
    s1 = _sigma1(W)
    r = opnorm(W, seed=0)
    assert r.estimate <= s1 * (1 + ESTIMATE_SLACK) and r.upper >= s1


def test_non_contiguous_input_is_accepted():
    W = np.asfortranarray(CASES["gaussian"])[::2, ::3]
    s1 = _sigma1(W)
    r = opnorm(W, seed=0)
    assert r.upper >= s1 and r.estimate <= s1 * (1 + ESTIMATE_SLACK)


# --- bad input -------------------------------------------------------------------------------

GOOD = np.ones((3, 4))


@pytest.mark.parametrize(
    "W, match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "W contains NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "W contains inf"),
        (np.ones(5), "W must be 2-dimensional"),
        (np.ones((2, 2, 2)), "W must be 2-dimensional"),
        (np.ones((0, 3)), "W is empty"),
        (np.ones((3, 0)), "W is empty"),
    ],
)
def test_bad_matrix(W, match):
    with pytest.raises(ValueError, match=match):
        opnorm(W)


@pytest.mark.parametrize("W", [np.array([["a", "b"]]), np.ones((2, 2), dtype=complex), "W"])
def test_non_numeric_matrix(W):
    with pytest.raises(DTypeError, match="W"):
        opnorm(W)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.0}, "delta"),
        ({"delta": -0.1}, "delta"),
        ({"delta": 1.5}, "delta"),
        ({"delta": np.nan}, "delta"),
        ({"rtol": 0.0}, "rtol"),
        ({"rtol": -1e-3}, "rtol"),
        ({"rtol": np.inf}, "rtol"),
        ({"rtol": np.nan}, "rtol"),
        ({"method": "svd"}, "method"),
        ({"method": None}, "method"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": -5}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"max_iter": "10"}, "max_iter"),
        ({"seed": -1}, "seed"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        opnorm(GOOD, **kwargs)
    with pytest.raises(ValueError, match=match):
        opnorms([GOOD, GOOD], **kwargs)


def test_core_rejects_empty_and_bad_options_too():
    with pytest.raises(ValueError, match="non-empty"):
        _core.opnorm(np.zeros((0, 3)), "lanczos", 1e-6, 1e-2, 0, 0, 0)
    with pytest.raises(ValueError, match="method"):
        _core.opnorm(GOOD, "qr", 1e-6, 1e-2, 0, 0, 0)
    with pytest.raises(ValueError, match="delta"):
        _core.opnorm(GOOD, "lanczos", 1.0, 1e-2, 0, 0, 0)
    with pytest.raises(ValueError, match="finite"):
        _core.opnorm(np.array([[np.nan, 1.0]]), "lanczos", 1e-6, 1e-2, 0, 0, 0)


def test_bad_weight_lists():
    with pytest.raises(TypeError):
        opnorms(GOOD)
    with pytest.raises(ValueError, match="empty"):
        opnorms([])
    with pytest.raises(ValueError, match=r"weights\[1\] contains NaN"):
        opnorms([GOOD, np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match=r"weights\[0\] must be 2-dimensional"):
        opnorms([np.ones(3)])


# --- several matrices ------------------------------------------------------------------------


@functools.cache
def _layers():
    rng = np.random.default_rng(11)
    return [
        rng.standard_normal((100, 30)),  # exact under "auto"
        rng.standard_normal((1200, 500)),  # large: runs alone, every thread
        matrix_with_singular_values(rng, 150, 1200, _spectrum(rng, 150, 2.0)),
        rng.standard_normal((90, 80)),
        np.zeros((70, 90)),
    ]


@functools.cache
def _layer_norms():
    return [_sigma1(W) for W in _layers()]


def test_opnorms_splits_delta_by_the_union_bound_and_bounds_every_layer():
    layers = _layers()
    results = opnorms(layers, delta=1e-3, seed=5)
    assert len(results) == len(layers)
    for s1, r in zip(_layer_norms(), results):
        assert r.estimate <= s1 * (1 + ESTIMATE_SLACK) + 0.0 and r.upper >= s1
        assert r.delta == (0.0 if r.method == "exact" else 1e-3 / len(layers))
    assert [r.method for r in results] == ["exact", "lanczos", "lanczos", "lanczos", "lanczos"]


def test_opnorms_equals_opnorm_with_the_derived_seeds():
    # Parallel scheduling over layers changes nothing: each result is opnorm's.
    layers = _layers()
    results = opnorms(layers, delta=1e-3, seed=5, threads=2)
    seeds = _layer_seeds(5, len(layers))
    for W, r, seed in zip(layers, results, seeds):
        assert r == opnorm(W, delta=1e-3 / len(layers), seed=seed, threads=1)
    assert opnorms(layers, delta=1e-3, seed=5, threads=1) == results
    assert len(set(seeds)) == len(seeds)


def test_opnorms_warns_naming_the_unconverged_layers():
    layers = _layers()
    with pytest.warns(ConvergenceWarning, match=r"weights\[1\]"):
        results = opnorms(layers, method="lanczos", max_iter=4, seed=0)
    for s1, r in zip(_layer_norms(), results):
        assert r.upper >= s1


def test_network_lipschitz_upper_bounds_the_product_of_exact_norms():
    rng = np.random.default_rng(8)
    weights = [
        rng.standard_normal((120, 40)),
        rng.standard_normal((90, 120)),
        rng.standard_normal((3, 90)),
    ]
    net = Network(weights, [np.zeros(w.shape[0]) for w in weights])
    exact = np.prod([_sigma1(w) for w in weights])
    for seed in range(20):
        assert net.lipschitz_upper(seed=seed) >= exact
    norms = net.norms(delta=1e-4, seed=1)
    assert len(norms) == 3 and all(n.delta in (0.0, 1e-4 / 3) for n in norms)
    assert net.lipschitz_upper(delta=1e-4, seed=1) == pytest.approx(
        np.prod([n.upper for n in norms]), rel=1e-15
    )
    assert net.lipschitz_upper(seed=1) <= exact * (1 + RTOL + 1e-3) ** 3


def test_relative_gap_and_public_names():
    r = opnorm(np.zeros((3, 3)))
    assert r.relative_gap == 0.0
    assert {"NormEstimate", "opnorm", "opnorms", "ConvergenceWarning"} <= set(archbound.__all__)
    with pytest.raises(AttributeError):
        r.upper = 1.0  # frozen
