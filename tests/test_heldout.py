"""kl_inverse against 50-digit arithmetic, and the held-out certificate against SciPy's
binomial distribution and a coverage simulation."""

import math

import mpmath
import numpy as np
import pytest
from scipy import stats

from archbound.certificates import binary_kl, heldout_bound, kl_inverse
from archbound.certificates.heldout import binomial_tail_limit, heldout_certificate

mpmath.mp.dps = 50


def _kl50(q, p):
    """kl(q || p) at 50 digits, with 0 ln 0 = 0."""
    q, p = mpmath.mpf(q), mpmath.mpf(p)
    if p >= 1:
        return mpmath.mpf(0) if q == 1 else mpmath.inf
    head = q * mpmath.log(q / p) if q > 0 else mpmath.mpf(0)
    tail = (1 - q) * mpmath.log((1 - q) / (1 - p)) if q < 1 else mpmath.mpf(0)
    return head + tail


def _check_against_root(q, c, p):
    """p is at or above the 50-digit root of kl(q || .) = c on [q, 1], and p - 1e-9 is below it.

    kl(q || .) increases on [q, 1], so p >= root iff kl(q || p) >= c (or p == 1), and
    p - 1e-9 < root iff kl(q || p - 1e-9) < c (or p - 1e-9 <= q).
    """
    c50 = mpmath.mpf(c)
    assert p <= 1 and p >= q
    if p < 1:
        assert _kl50(q, p) >= c50, (q, c, p)
    lower = p - 1e-9
    if lower > q:
        assert _kl50(q, lower) < c50, (q, c, p)


def test_kl_inverse_against_50_digits_on_random_pairs():
    rng = np.random.default_rng(7)
    q = rng.uniform(0, 1, 10_000)
    q[:2000] = rng.uniform(0, 1e-3, 2000)  # the small rates of real certificates
    c = np.exp(rng.uniform(np.log(1e-8), np.log(5.0), 10_000))
    p = kl_inverse(q, c)
    assert p.shape == q.shape
    for qi, ci, pi in zip(q.tolist(), c.tolist(), p.tolist()):
        _check_against_root(qi, ci, pi)


def test_kl_inverse_agrees_with_mpmath_findroot():
    rng = np.random.default_rng(8)
    for q, c in zip(rng.uniform(0.01, 0.9, 50), rng.uniform(1e-4, 0.5, 50)):
        root = mpmath.findroot(
            lambda p, q=q, c=c: _kl50(q, p) - c,
            (mpmath.mpf(q), mpmath.mpf(1) - 1e-40),
            solver="anderson",
        )
        p = kl_inverse(q, c)
        assert 0 <= p - float(root) <= 1e-9 or (p == 1.0 and root > 1 - 1e-9)


@pytest.mark.parametrize(
    ("q", "c"),
    [
        (0.0, 0.0),
        (0.0, 1e-12),
        (0.0, 0.3),
        (0.0, 50.0),
        (1.0, 0.2),
        (0.3, 0.0),
        (0.5, 1e-15),
        (1e-300, 1e-3),
        (1 - 1e-16, 1e-3),
        (0.999, 1e-9),
        (1e-9, 1e-9),
        (0.2, 700.0),
    ],
)
def test_kl_inverse_edges(q, c):
    p = kl_inverse(q, c)
    _check_against_root(q, c, p)
    if c == 0:
        assert p == q
    if q == 1:
        assert p == 1


def test_kl_inverse_exact_cases():
    assert kl_inverse(0.0, 0.5) >= 1 - math.exp(-0.5)
    assert kl_inverse(0.0, 0.5) - (1 - math.exp(-0.5)) < 1e-15
    assert kl_inverse(0.3, math.inf) == 1.0
    np.testing.assert_array_equal(kl_inverse([0.1, 0.7], 0), [0.1, 0.7])


def test_kl_inverse_rejects_bad_input():
    with pytest.raises(ValueError, match="q must lie"):
        kl_inverse(1.5, 0.1)
    with pytest.raises(ValueError, match="c must be"):
        kl_inverse(0.5, -0.1)
    with pytest.raises(ValueError, match="NaN"):
        kl_inverse(np.nan, 0.1)
    with pytest.raises(TypeError, match="q must be real"):
        kl_inverse("a", 0.1)
    with pytest.raises(ValueError, match="broadcast"):
        kl_inverse([0.1, 0.2], [0.1, 0.2, 0.3])


def test_binary_kl_treats_0_log_0_as_0():
    assert binary_kl(0.0, 0.5) == pytest.approx(math.log(2))
    assert binary_kl(1.0, 0.5) == pytest.approx(math.log(2))
    assert binary_kl(0.0, 0.0) == 0.0
    assert binary_kl(1.0, 1.0) == 0.0
    assert binary_kl(0.5, 1.0) == math.inf


def test_midpoint_would_fall_below_the_root():
    """The fault of returning a bisection's midpoint: kl_inverse never lands below."""
    rng = np.random.default_rng(3)
    q, c = rng.uniform(0.01, 0.9, 2000), rng.uniform(1e-4, 0.2, 2000)
    p = kl_inverse(q, c)
    assert (binary_kl(q, p) >= c).all()


# ----------------------------------------------------------------------------- held-out bound


@pytest.mark.parametrize("m", [1, 2, 7, 30, 100, 1000, 10_000, 60_000])
@pytest.mark.parametrize("delta", [0.001, 0.05, 0.3])
def test_binomial_tail_limit_against_scipy(m, delta):
    ks = sorted({0, 1, m // 10, m // 3, m // 2, m - 1, m})
    for k in ks:
        p = binomial_tail_limit(k, m, delta)
        assert k / m <= p <= 1
        if k < m:
            assert stats.binom.cdf(k, m, p) <= delta
            # and it is the limit: a little lower, the tail exceeds delta
            assert stats.binom.cdf(k, m, p * (1 - 1e-6)) > delta
        else:
            assert p == 1


def test_binomial_tail_limit_nudges_betaincinv_up(monkeypatch):
    """A betaincinv that lands below the limit is corrected by the verification."""
    from archbound.certificates import heldout

    true = binomial_tail_limit(37, 500, 0.05)
    monkeypatch.setattr(heldout.special, "betaincinv", lambda a, b, y: true * (1 - 1e-7))
    p = heldout.binomial_tail_limit(37, 500, 0.05)
    assert stats.binom.cdf(37, 500, p) <= 0.05
    assert p >= true * (1 - 1e-7)


def test_heldout_bound_coverage():
    """For a classifier of known error, the certificate covers it in >= 1 - delta of trials."""
    rng = np.random.default_rng(2024)
    delta, m, true_error, trials = 0.1, 200, 0.13, 2000
    errors = rng.binomial(m, true_error, size=trials)
    covered = sum(binomial_tail_limit(int(k), m, delta) >= true_error for k in errors)
    assert covered >= (1 - delta) * trials
    # kl and Hoeffding forms are looser, hence cover too
    cert = heldout_certificate(int(errors[0]), m, delta=delta)
    assert cert.bound <= cert.kl_bound + 1e-12 <= cert.hoeffding_bound + 1e-12


def test_heldout_bound_counts_errors_of_predictions_and_networks(rng):
    from archbound import Network

    X = rng.standard_normal((300, 4))
    net = Network(
        [rng.standard_normal((6, 4)), rng.standard_normal((3, 6))], [np.zeros(6), np.zeros(3)]
    )
    predictions = np.argmax(net.forward(X), axis=1)
    y = predictions.copy()
    y[:17] = (y[:17] + 1) % 3
    from_net = heldout_bound(net, X, y, delta=0.05)
    from_labels = heldout_bound(predictions, None, y, delta=0.05)
    from_onehot = heldout_bound(predictions, None, np.eye(3)[y], delta=0.05)
    assert from_net == from_labels == from_onehot
    assert from_net.errors == 17 and from_net.m == 300
    assert from_net.bound >= 17 / 300


def test_heldout_bound_splits_delta_over_models():
    one = heldout_certificate(50, 1000, delta=0.05)
    ten = heldout_certificate(50, 1000, delta=0.05, n_models=10)
    assert ten.bound == binomial_tail_limit(50, 1000, 0.005)
    assert ten.bound > one.bound


def test_heldout_bound_at_test_set_size_is_tight():
    cert = heldout_certificate(1000, 10_000, delta=0.05)
    assert cert.bound - cert.error_rate < 0.01


def test_heldout_bound_rejects_bad_input(rng):
    with pytest.raises(ValueError, match="delta"):
        heldout_certificate(1, 10, delta=1.5)
    with pytest.raises(ValueError, match="errors"):
        heldout_certificate(11, 10)
    with pytest.raises(ValueError, match="X is required"):
        from archbound import Network

        net = Network([np.ones((2, 2)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])
        heldout_bound(net, None, [0, 1])
    with pytest.raises(ValueError, match="predictions"):
        heldout_bound(np.array([0, 1, 1]), None, np.array([0, 1]))


def test_monitor_records_a_certified_test_error_curve(rng):
    from archbound import Network, NormMonitor
    from archbound.monitor import record_delta

    X, X_test = rng.standard_normal((40, 5)), rng.standard_normal((300, 5))
    y, y_test = rng.integers(0, 3, 40), rng.integers(0, 3, 300)
    monitor = NormMonitor(X, y, X_test, y_test, bound_every=2, seed=0, heldout_delta=0.05)
    for step in range(3):
        net = Network(
            [rng.standard_normal((8, 5)), rng.standard_normal((3, 8))], [np.zeros(8), np.zeros(3)]
        )
        record = monitor.record(step, net)
        errors = int(np.count_nonzero(np.argmax(net.forward(X_test), 1) != y_test))
        assert record.heldout.errors == errors and record.heldout.m == 300
        assert record.heldout.delta == record_delta(0.05, step + 1)
        assert record.heldout.bound >= errors / 300
        assert "heldout" in record.to_dict()
    assert sum(r.heldout.delta for r in monitor.history) < 0.05
    with pytest.raises(ValueError, match="heldout_delta needs a test set"):
        NormMonitor(X, y, heldout_delta=0.05)
    plain = NormMonitor(X, y, X_test, y_test, seed=0)
    assert "heldout" not in plain.record(0, net).to_dict()
