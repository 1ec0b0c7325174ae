"""The PAC-Bayes-kl certificate: the Gaussian KL, the Monte-Carlo kernel against the NumPy
reference with the same noise, and one regression test for each fault it must not have."""

import math

import numpy as np
import pytest

from archbound import Network, _core, reference
from archbound.certificates import kl_inverse
from archbound.pacbayes import (
    GaussianPosterior,
    delta_ledger,
    gaussian_kl,
    pacbayes_certificate,
    stochastic_errors,
)


def _posterior(rng, widths=(5, 7, 3), sigma=0.3, prior_indices=None, n_train=None):
    weights = [rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])]
    biases = [0.1 * rng.standard_normal(o) for o in widths[1:]]
    prior_w = [w + 0.05 * rng.standard_normal(w.shape) for w in weights]
    prior_b = [b + 0.05 * rng.standard_normal(b.shape) for b in biases]
    return GaussianPosterior(
        Network(weights, biases),
        [np.full(w.shape, sigma) * rng.uniform(0.5, 1.5, w.shape) for w in weights],
        [np.full(b.shape, sigma) for b in biases],
        Network(prior_w, prior_b),
        0.4,
        prior_indices=prior_indices,
        n_train=n_train,
    )


def _data(rng, n, m0=5, q=3):
    X = rng.standard_normal((n, m0))
    return X, rng.integers(0, q, n)


# --------------------------------------------------------------------------- Gaussian KL


def test_gaussian_kl_against_closed_form(rng):
    mu, s = rng.standard_normal(1000), rng.uniform(0.01, 1, 1000)
    mu0, s0 = rng.standard_normal(1000), 0.3
    closed = np.sum(np.log(s0 / s) + (s**2 + (mu - mu0) ** 2) / (2 * s0**2) - 0.5)
    kl = gaussian_kl([mu], [s], [mu0], s0)
    assert kl >= closed
    assert kl == pytest.approx(closed, rel=1e-12)
    assert gaussian_kl([mu0], [np.full(1000, s0)], [mu0], s0) < 1e-10


def test_gaussian_kl_against_torch(torch, rng):
    mu, s = rng.standard_normal(500), rng.uniform(0.01, 1, 500)
    mu0 = rng.standard_normal(500)
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(s))
    p = torch.distributions.Normal(torch.tensor(mu0), torch.tensor(0.2, dtype=torch.float64))
    expected = float(torch.distributions.kl_divergence(q, p).sum())
    assert gaussian_kl([mu], [s], [mu0], 0.2) == pytest.approx(expected, rel=1e-10)


def test_posterior_kl_is_recomputed_from_final_parameters(rng, tmp_path):
    """The certificate's KL is that of the parameters it certifies, in float64."""
    post = _posterior(rng)
    flat = lambda arrays: np.concatenate([np.ravel(a) for a in arrays])  # noqa: E731
    expected = gaussian_kl(
        [flat([*post.mean.weights, *post.mean.biases])],
        [flat([*post.sigma_weights, *post.sigma_biases])],
        [flat([*post.prior_mean.weights, *post.prior_mean.biases])],
        post.prior_sigma,
    )
    assert post.kl() == pytest.approx(expected, rel=1e-13)
    X, y = _data(rng, 50)
    cert = pacbayes_certificate(post, X, y, draws=5, seed=1)
    assert cert.kl == post.kl()
    post.save(tmp_path / "q.npz")
    again = GaussianPosterior.load(tmp_path / "q.npz")
    assert again.kl() == post.kl()
    for a, b in zip(again.sigma_weights, post.sigma_weights):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ the counter generator


def test_counter_normals_match_the_numpy_reference():
    got = _core.counter_normals(11, 3, 0, 4001)
    want = reference.counter_normals(11, 3, 0, 4001)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    assert abs(want.mean()) < 0.05 and abs(want.std() - 1) < 0.05


def test_counter_normals_do_not_depend_on_where_a_run_starts():
    whole = _core.counter_normals(5, 0, 0, 3000)
    for first, count in [(1, 10), (17, 999), (1023, 1500), (2999, 1)]:
        np.testing.assert_array_equal(
            _core.counter_normals(5, 0, first, count), whole[first : first + count]
        )


def test_counter_below_matches_the_reference():
    got = _core.counter_below(9, 4, 7, 200, 2**62)
    np.testing.assert_array_equal(got, reference.counter_below(9, 4, 7, 200))
    assert got.min() >= 0 and got.max() < 7


# ------------------------------------------------------------------------ the MC kernel


def _core_normals(seed, draw, first, count):
    return _core.counter_normals(seed, draw, first, count)


@pytest.mark.parametrize("block", [0, 16])
def test_stochastic_errors_match_reference(rng, block):
    post = _posterior(rng)
    X, y = _data(rng, 120)
    got = stochastic_errors(post, X, y, draws=12, block=block, seed=42, threads=1)
    means = (
        [w.astype(np.float32) for w in post.mean.weights],
        [b.astype(np.float32) for b in post.mean.biases],
    )
    sigmas = (
        [s.astype(np.float32) for s in post.sigma_weights],
        [s.astype(np.float32) for s in post.sigma_biases],
    )
    want = reference.stochastic_errors(
        means, sigmas, X, y, draws=12, block=block, seed=42, normals=_core_normals
    )
    np.testing.assert_array_equal(got, want)
    assert len(set(got.tolist())) > 1  # the draws differ


def test_stochastic_errors_identical_for_every_thread_count(rng):
    post = _posterior(rng, widths=(20, 64, 32, 4))
    X, y = _data(rng, 700, m0=20, q=4)
    runs = [
        stochastic_errors(post, X, y, draws=25, block=b, seed=3, threads=t)
        for b in (0, 50)
        for t in (1, 2, 3)
    ]
    for run in runs[1:3]:
        np.testing.assert_array_equal(run, runs[0])
    for run in runs[4:]:
        np.testing.assert_array_equal(run, runs[3])


def test_stochastic_errors_reject_bad_input(rng):
    post = _posterior(rng)
    X, y = _data(rng, 20)
    with pytest.raises(ValueError, match="draws"):
        stochastic_errors(post, X, y, draws=0)
    with pytest.raises(ValueError, match="features"):
        stochastic_errors(post, X[:, :4], y, draws=2)
    with pytest.raises(ValueError, match="y"):
        stochastic_errors(post, X, y[:-1], draws=2)
    with pytest.raises(ValueError, match="labels"):
        stochastic_errors(post, X, y + 5, draws=2)


# ------------------------------------------------------------- the certificate and its faults


def test_bound_set_size_is_the_points_used(rng):
    """A data prior on 30,000 of 60,000 rows: the certificate's n is 30,000."""
    n_train = 60_000
    prior_rows = rng.permutation(n_train)[:30_000]
    post = _posterior(rng, widths=(2, 4, 3), prior_indices=prior_rows, n_train=n_train)
    X, y = _data(rng, n_train, m0=2)
    X_bound, y_bound = post.bound_set(X, y)
    assert X_bound.shape[0] == 30_000
    assert not set(post.bound_indices().tolist()) & set(prior_rows.tolist())
    cert = pacbayes_certificate(post, X_bound, y_bound, draws=4, seed=0)
    assert cert.n == 30_000
    expected = (
        cert.kl + math.log(2 * math.sqrt(30_000) / cert.ledger.parts["pac-bayes-kl"])
    ) / 30_000
    assert cert.budget == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="bound_set"):
        pacbayes_certificate(post, X, y, draws=4, seed=0)


def test_monte_carlo_correction_is_applied(rng):
    post = _posterior(rng)
    X, y = _data(rng, 400)
    cert = pacbayes_certificate(post, X, y, draws=50, block=40, delta_mc=0.01, seed=5)
    assert cert.mc_upper == kl_inverse(cert.mc_error, math.log(1 / 0.01) / 50)
    assert cert.mc_upper > cert.mc_error
    assert cert.bound == kl_inverse(cert.mc_upper, cert.budget)
    # without the correction the bound would be lower: the correction is not a no-op
    assert cert.bound > kl_inverse(cert.mc_error, cert.budget)
    # and more draws tighten it
    more = pacbayes_certificate(post, X, y, draws=400, block=40, delta_mc=0.01, seed=5)
    assert more.mc_upper - more.mc_error < cert.mc_upper - cert.mc_error


def test_many_draws_estimate_the_stochastic_error(rng):
    """The draws are not one sample: their mean agrees with a long reference estimate."""
    post = _posterior(rng, sigma=0.5)
    X, y = _data(rng, 60)
    short = stochastic_errors(post, X, y, draws=2000, block=0, seed=1) / 60
    long = stochastic_errors(post, X, y, draws=2000, block=0, seed=2) / 60
    assert abs(short.mean() - long.mean()) < 0.02
    assert short.std() > 0


def test_delta_ledger_sums_to_delta(rng):
    post = _posterior(rng)
    X, y = _data(rng, 100)
    X_test, y_test = _data(rng, 50)
    cert = pacbayes_certificate(
        post,
        X,
        y,
        delta=0.05,
        delta_mc=0.01,
        X_test=X_test,
        y_test=y_test,
        delta_test=0.005,
        draws=5,
        seed=0,
        n_priors=3,
    )
    assert math.fsum(cert.ledger.parts.values()) == pytest.approx(0.05, abs=1e-15)
    assert cert.ledger.parts["monte-carlo"] == 0.01
    assert cert.mean_network is not None and cert.mean_network.delta == 0.005
    with pytest.raises(ValueError, match="leave part"):
        delta_ledger(0.05, 0.03, 0.03, 1)


def test_prior_grid_is_paid_by_a_union_bound(rng):
    post = _posterior(rng)
    X, y = _data(rng, 200)
    one = pacbayes_certificate(post, X, y, draws=20, seed=0)
    grid = pacbayes_certificate(post, X, y, draws=20, seed=0, n_priors=8)
    assert grid.budget - one.budget == pytest.approx(math.log(8) / 200, rel=1e-9)
    assert grid.bound > one.bound


def test_certificate_is_an_upper_bound_on_the_stochastic_error_of_a_population(rng):
    """Bound >= the stochastic error on fresh data, on every seed tried."""
    post = _posterior(rng, sigma=0.2)
    for seed in range(5):
        X, y = _data(np.random.default_rng(seed), 300)
        X_new, y_new = _data(np.random.default_rng(100 + seed), 3000)
        cert = pacbayes_certificate(post, X, y, draws=200, seed=seed)
        truth = stochastic_errors(post, X_new, y_new, draws=200, block=0, seed=seed).mean() / 3000
        assert cert.bound >= truth


def test_certificate_rejects_bad_input(rng):
    post = _posterior(rng)
    X, y = _data(rng, 30)
    with pytest.raises(ValueError, match="n >= 8"):
        pacbayes_certificate(post, X[:5], y[:5], draws=2)
    with pytest.raises(ValueError, match="delta"):
        pacbayes_certificate(post, X, y, delta=2.0)
    with pytest.raises(ValueError, match="X_test and y_test"):
        pacbayes_certificate(post, X, y, X_test=X)
    with pytest.raises(TypeError, match="GaussianPosterior"):
        pacbayes_certificate(post.mean, X, y)
    with pytest.raises(ValueError, match="sigma_weights"):
        GaussianPosterior(
            post.mean, [-s for s in post.sigma_weights], post.sigma_biases, post.prior_mean, 0.1
        )


# -------------------------------------------------------------------------- fit_posterior


def test_fit_posterior_keeps_the_prior_split_out_of_the_bound(torch, rng):
    from archbound.pacbayes import fit_posterior

    X = rng.standard_normal((400, 6))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    net = Network(
        [0.3 * rng.standard_normal((16, 6)), 0.3 * rng.standard_normal((3, 16))],
        [np.zeros(16), np.zeros(3)],
    )
    post = fit_posterior(
        net,
        X,
        y,
        prior="data",
        prior_fraction=0.25,
        epochs=2,
        prior_epochs=2,
        batch_size=50,
        seed=0,
    )
    assert post.prior_indices.size == 100 and post.n_train == 400
    assert post.fit_info.n_bound == 300
    X_bound, y_bound = post.bound_set(X, y)
    cert = pacbayes_certificate(post, X_bound, y_bound, draws=50, seed=0)
    assert cert.n == 300
    assert 0 < cert.bound <= 1
    # the certificate's KL is the final one, not the training loop's
    assert cert.kl == post.kl()
    init = fit_posterior(net, X, y, prior="init", epochs=1, batch_size=100, seed=0)
    assert init.prior_indices is None and init.bound_indices().size == 400
    with pytest.raises(ValueError, match="objective"):
        fit_posterior(net, X, y, objective="mcallester")
