"""NormMonitor (certified norms along a training run) and the sklearn/torch adapters."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import archbound
from archbound import Network, NormMonitor, monitor
from archbound.construct import one_hot

sklearn_nn = pytest.importorskip("sklearn.neural_network")
MLPClassifier, MLPRegressor = sklearn_nn.MLPClassifier, sklearn_nn.MLPRegressor


@pytest.fixture(scope="module")
def digits():
    from archbound.data import load_dataset

    X, y, T, t = load_dataset("digits", max_train=40, max_test=120, seed=0)
    return X, one_hot(y, 10), T, one_hot(t, 10), y, t


def fitted_regressor(X, Y, hidden=(12, 9), epochs=30, seed=0):
    model = MLPRegressor(
        hidden_layer_sizes=hidden, learning_rate_init=1e-2, alpha=0.0, random_state=seed
    )
    for _ in range(epochs):
        model.partial_fit(X, Y)
    return model


# ----------------------------------------------------------------------- adapters


def test_from_sklearn_regressor_matches_predict(rng):
    X = rng.standard_normal((50, 7))
    Y = rng.standard_normal((50, 3))
    model = fitted_regressor(X, Y, hidden=(16, 8, 5))
    net = Network.from_sklearn(model)
    assert net.widths == [7, 16, 8, 5, 3]
    assert net.weights[0].shape == (16, 7)  # torch style (out, in)
    np.testing.assert_allclose(net(X), model.predict(X), rtol=1e-12, atol=1e-12)
    # one output: predict is 1-D, the network's output is (n, 1)
    single = fitted_regressor(X, Y[:, 0], hidden=(6,))
    np.testing.assert_allclose(
        Network.from_sklearn(single)(X)[:, 0], single.predict(X), rtol=1e-12, atol=1e-12
    )


def test_from_sklearn_classifier_is_the_pre_softmax_network(rng):
    X = rng.standard_normal((60, 5))
    y = rng.integers(0, 4, 60)
    model = MLPClassifier(hidden_layer_sizes=(10, 6), random_state=0, learning_rate_init=1e-2)
    for _ in range(20):
        model.partial_fit(X, y, classes=np.arange(4))
    net = Network.from_sklearn(model)
    # the logits by hand from coefs_ / intercepts_ (sklearn stores (in, out))
    h = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0.0)
    logits = h @ model.coefs_[-1] + model.intercepts_[-1]
    np.testing.assert_allclose(net(X), logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(net(X).argmax(axis=1), model.predict(X))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        shifted / shifted.sum(axis=1, keepdims=True), model.predict_proba(X), rtol=1e-10
    )


def test_from_sklearn_refuses_what_it_cannot_represent(rng):
    X = rng.standard_normal((30, 4))
    Y = rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="estimator is an unfitted MLPRegressor"):
        Network.from_sklearn(MLPRegressor())
    unknown = MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    unknown.partial_fit(X, Y)
    unknown.activation = "softsign"
    with pytest.raises(ValueError, match="estimator has activation='softsign'"):
        Network.from_sklearn(unknown)
    poisson = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), random_state=0)
    poisson.partial_fit(X, np.abs(Y))
    with pytest.raises(ValueError, match="estimator has the output activation 'exp'"):
        Network.from_sklearn(poisson)
    from sklearn.linear_model import LinearRegression

    with pytest.raises(ValueError, match="estimator must be a fitted"):
        Network.from_sklearn(LinearRegression().fit(X, Y))


def test_from_torch_state_dict_of_arrays(rng):
    """A state_dict is read without torch when its values are arrays."""
    W1, b1 = rng.standard_normal((6, 4)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((3, 6)), rng.standard_normal(3)
    net = Network.from_torch(
        {"net.0.weight": W1, "net.0.bias": b1, "net.2.weight": W2, "net.2.bias": b2}
    )
    X = rng.standard_normal((9, 4))
    np.testing.assert_allclose(net(X), np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, rtol=1e-12)
    with pytest.raises(
        ValueError,
        match="module: unexpected state_dict key '1.running_mean' "
        r"\(a batch norm buffer",
    ):
        Network.from_torch({"0.weight": W1, "1.running_mean": b1})
    with pytest.raises(ValueError, match="module: layers 0 and 1 .* not separated"):
        Network.from_torch({"0.weight": W1, "1.weight": W2})
    with pytest.raises(ValueError, match="module: .*at least one hidden layer"):
        Network.from_torch({"0.weight": W1})


def test_from_torch_module_matches_forward(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 7),
        torch.nn.ReLU(),
        torch.nn.Linear(7, 3),
    ).double()
    X = np.random.default_rng(0).standard_normal((20, 5))
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    for source in (model, model.state_dict()):
        np.testing.assert_allclose(Network.from_torch(source)(X), expected, rtol=1e-12, atol=1e-12)
    for bad, what in (
        (torch.nn.Dropout(0.1), "Dropout"),
        (torch.nn.Mish(), "Mish"),
        (torch.nn.BatchNorm1d(8), "BatchNorm1d"),
    ):
        layers = torch.nn.Sequential(torch.nn.Linear(5, 8), bad, torch.nn.Linear(8, 3))
        with pytest.raises(ValueError, match=f"module: layer 1 is {what}"):
            Network.from_torch(layers)
    with pytest.raises(ValueError, match="module is a Linear"):
        Network.from_torch(torch.nn.Linear(3, 2))


# ------------------------------------------------------------------------ monitor


def test_delta_series_never_exceeds_delta():
    delta = 1e-3
    for length in (1, 2, 10, 1000, 100_000):
        spent = math.fsum(monitor.record_delta(delta, t) for t in range(1, length + 1))
        assert spent <= delta
        # and the tail the series leaves is at least 6 / (pi^2 (length + 1)) of delta
        assert spent <= delta * (1 - monitor.SERIES / (length + 1))
    assert monitor.record_delta(delta, 1) == pytest.approx(delta * 6 / math.pi**2)
    with pytest.raises(ValueError, match="t must be an int >= 1"):
        monitor.record_delta(delta, 0)


def test_monitor_norms_are_upper_bounds_and_spend_at_most_delta(digits):
    X, Y, T, TY, _, _ = digits
    model = MLPRegressor(
        hidden_layer_sizes=(96, 80), learning_rate_init=1e-2, alpha=0.0, random_state=0
    )
    mon = NormMonitor(X, Y, T, TY, bound_every=3, delta=1e-4, rtol=0.5, seed=7)
    events = 0
    for epoch in range(1, 16):
        model.partial_fit(X, Y)
        record = mon.record(epoch, model)
        net = Network.from_sklearn(model)
        exact = [np.linalg.norm(w, 2) for w in net.weights]
        for norm, truth in zip(record.norms, exact):  # every upper bound is one
            assert norm.estimate <= truth * (1 + 1e-12) <= norm.upper * (1 + 1e-12)
        anchored = [i for i, n in enumerate(record.norms) if n.method == "lanczos"]
        if anchored:  # an anchor event: the certificates opnorms gives at its delta and seed
            events += 1
            assert record.delta == monitor.record_delta(mon.delta, events)
            direct = archbound.opnorms(
                [net.weights[i] for i in anchored], delta=record.delta, seed=record.seed
            )
            assert [(record.norms[i].estimate, record.norms[i].upper) for i in anchored] == [
                (n.estimate, n.upper) for n in direct
            ]
            assert all(
                record.norms[i].delta == pytest.approx(record.delta / len(anchored))
                for i in anchored
            )
        else:
            assert record.delta == 0 and record.seed is None
        assert record.lipschitz == pytest.approx(np.prod([n.upper for n in record.norms]))
        np.testing.assert_allclose(record.bias_norms, [np.linalg.norm(b) for b in net.biases])
        if record.bound is None:
            assert record.train_cost is None and record.max_train_residual is None
        else:
            residuals = np.linalg.norm(net(X) - Y, axis=1)
            # a relu network: float32 forward passes, whose cost is an estimate
            assert record.precision == "float32"
            assert record.train_cost == pytest.approx(np.mean(residuals**2), rel=1e-5)
            assert record.max_train_residual == pytest.approx(residuals.max(), rel=1e-5)
    methods = {n.method for r in mon.history for n in r.norms}
    assert {"lanczos", "drift", "exact"} <= methods  # anchors, and drift bounds between
    assert mon.anchor_events == events < len(mon.history)
    assert [r.bound is not None for r in mon.history] == [t % 3 == 1 for t in range(1, 16)]
    assert mon.delta_spent <= mon.delta


def test_drift_bounds_hold_along_a_torch_run_for_every_activation(torch):
    """Every upper bound of the history, at anchors and between them, against the exact SVD,
    along a real SGD run of a GELU network (and the sample bound >= the truth)."""
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((120, 80)), rng.standard_normal((60, 80))
    Y, TY = one_hot(rng.integers(0, 5, 120), 5), one_hot(rng.integers(0, 5, 60), 5)

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = torch.nn.Linear(80, 96), torch.nn.Linear(96, 5)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))

    torch.manual_seed(0)
    model = MLP().double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    inputs, targets = torch.as_tensor(X), torch.as_tensor(Y)
    mon = NormMonitor(X, Y, T, TY, bound_every=2, rtol=0.2, seed=3)
    for epoch in range(12):
        for batch in torch.randperm(120).split(20):
            optimizer.zero_grad()
            ((model(inputs[batch]) - targets[batch]) ** 2).sum(dim=1).mean().backward()
            optimizer.step()
        record = mon.record(epoch, model)
        net = Network.from_torch(model)
        for norm, w in zip(record.norms, net.weights):
            truth = np.linalg.norm(w, 2)
            assert norm.estimate <= truth * (1 + 1e-12) <= norm.upper * (1 + 1e-12)
        rho = net.activation.lipschitz
        assert rho > 1 and record.lipschitz >= rho * np.prod([n.upper for n in record.norms])
        assert record.lipschitz <= rho * np.prod([n.upper for n in record.norms]) * (1 + 1e-15)
        if record.bound is not None:
            assert record.bound.violations == 0
            residuals = np.linalg.norm(net(X) - Y, axis=1)
            per_sample, _ = archbound.nearest(
                T, X, alpha=record.lipschitz, y_test=TY, y_train=Y, offsets=residuals
            )
            errors = np.linalg.norm(net(T) - TY, axis=1)
            assert np.all(per_sample >= errors)  # the bound the record summarizes
            assert record.bound.test_cost_bound == pytest.approx(np.mean(per_sample**2))
            assert record.bound.test_cost == pytest.approx(np.mean(errors**2), rel=1e-12)
    assert any(n.method == "drift" for r in mon.history for n in r.norms)
    assert 1 <= mon.anchor_events < len(mon.history)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "leaky_relu", "gelu"])
def test_monitor_records_every_activation(digits, name):
    X, Y, T, TY, _, _ = digits
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((48, 64)) / 8, rng.standard_normal((10, 48)) / 7]
    net = Network(weights, [np.zeros(48), rng.standard_normal(10)], activation=name)
    record = NormMonitor(X, Y, T, TY, seed=0).record(0, net)
    rho = net.activation.lipschitz
    assert record.lipschitz >= rho * np.prod([n.upper for n in record.norms])
    assert record.lipschitz >= rho * np.prod([np.linalg.norm(w, 2) for w in weights])
    per_sample, _ = archbound.nearest(
        T,
        X,
        alpha=record.lipschitz,
        y_test=TY,
        y_train=Y,
        offsets=np.linalg.norm(net(X) - Y, axis=1),
    )
    assert np.all(per_sample >= np.linalg.norm(net(T) - TY, axis=1))
    assert record.bound.violations == 0


def test_bound_record_equals_sample_bounds_with_the_same_lipschitz_constant(digits):
    """With layers small enough for exact norms, the record's Lip is sample_bounds' own, so
    its summary in float64 is the lipschitz variant's, computed by the geometry kernel; with
    float32 forward passes (and the float32 reduction, rounded up) its bound is above it by
    the rounding margins only."""
    X, Y, T, TY, _, _ = digits
    model = fitted_regressor(X, Y, hidden=(32, 24), epochs=20)
    mon = NormMonitor(X, Y, T, TY, seed=0, precision="float64")
    record = mon.record(0, model)
    assert record.precision == "float64"
    assert {n.method for n in record.norms} == {"exact"}
    report = archbound.sample_bounds(Network.from_sklearn(model), X, Y, T, TY)
    assert report.lipschitz == record.lipschitz
    expected, got = report.summary().to_dict(), record.bound.to_dict()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    float32 = NormMonitor(X, Y, T, TY, seed=0).record(0, model)
    assert float32.precision == "float32"
    assert report.test_cost_bound <= float32.bound.test_cost_bound
    assert float32.bound.test_cost_bound == pytest.approx(report.test_cost_bound, rel=1e-3)
    assert float32.bound.test_cost == pytest.approx(report.test_cost, rel=1e-5)
    assert float32.bound.accuracy == report.accuracy  # the float64 network's labels


def test_distance_matrices_and_the_kernel_give_the_same_bound(rng, monkeypatch):
    from archbound import _monitor_bound

    X, T = rng.standard_normal((50, 12)), rng.standard_normal((30, 12))
    T[:5] = X[:5] + 1e-9  # near duplicates: the cancellation guard recomputes them
    Y, TY = rng.standard_normal((50, 3)), rng.standard_normal((30, 3))
    residuals = rng.random(50)
    geometry = _monitor_bound.FixedGeometry(X, T)
    assert geometry.precomputed
    kept = geometry.bounds(1.7, residuals, Y, TY, 0)
    monkeypatch.setattr(_monitor_bound, "PRECOMPUTED_MAX_ENTRIES", 10)
    assert not geometry.precomputed
    kernel = geometry.bounds(1.7, residuals, Y, TY, 0)
    direct = np.min(
        1.7 * np.linalg.norm(T[:, None] - X[None], axis=2)
        + np.linalg.norm(TY[:, None] - Y[None], axis=2)
        + residuals,
        axis=1,
    )
    np.testing.assert_allclose(kernel, direct, rtol=1e-12)
    # the kept matrices reduce in float32, every rounding upwards: above, by < 1e-6
    assert np.all(kept >= kernel) and np.all(kept >= direct)
    np.testing.assert_allclose(kept, direct, rtol=1e-6)
    # a float64 monitor's matrices reduce in float64, as the sample bound does
    monkeypatch.setattr(_monitor_bound, "PRECOMPUTED_MAX_ENTRIES", 4_000_000)
    float64 = _monitor_bound.FixedGeometry(X, T, "float64").bounds(1.7, residuals, Y, TY, 0)
    np.testing.assert_allclose(float64, direct, rtol=1e-12)


def test_cost_every_and_drift_bounds_without_a_test_set(digits):
    X, Y, _, _, _, _ = digits
    model = fitted_regressor(X, Y, hidden=(80, 72), epochs=5)
    mon = NormMonitor(X, Y, cost_every=2, rtol=0.5, seed=0)
    for step in range(4):
        model.partial_fit(X, Y)
        mon.record(step, model)
    assert [r.train_cost is not None for r in mon.history] == [True, False, True, False]
    assert [r.bound for r in mon.history] == [None] * 4
    assert [n.method for n in mon.history[1].norms] == ["exact", "drift", "exact"]
    with pytest.raises(ValueError, match="rtol must be"):
        NormMonitor(X, Y, rtol=0.0)
    with pytest.raises(ValueError, match="cost_every must be an int >= 1"):
        NormMonitor(X, Y, cost_every=0)


def test_bound_is_above_the_truth_on_every_sample_of_trained_networks(digits):
    X, Y, T, TY, _, _ = digits
    model = MLPRegressor(
        hidden_layer_sizes=(32,), learning_rate_init=1e-2, alpha=0.0, random_state=1
    )
    mon = NormMonitor(X, Y, T, TY, seed=0)  # default: a bound on every record
    for epoch in range(1, 61):
        model.partial_fit(X, Y)
        if epoch % 20 == 0:
            mon.record(epoch, model)
    net = Network.from_sklearn(model)  # the last record was taken after the last epoch
    for record in mon.history:
        assert record.bound is not None and record.bound.violations == 0
        assert record.bound.test_cost_bound >= record.bound.test_cost
        assert record.bound.uniform_bound >= record.bound.max_error
    # the per-sample statement itself, against sample_bounds at the last record's norms
    last = mon.history[-1]
    assert {n.method for n in last.norms} == {"exact"}  # the same Lip in sample_bounds
    report = archbound.sample_bounds(net, X, Y, T, TY)
    assert np.all(report.per_sample >= report.errors)
    # float32 forward passes: the record's offsets exceed the residuals by their margins
    assert last.precision == "float32"
    assert report.test_cost_bound <= last.bound.test_cost_bound
    assert last.bound.test_cost_bound == pytest.approx(report.test_cost_bound, rel=1e-3)


def test_monitor_outputs(tmp_path, digits):
    from conftest import assert_png

    X, Y, T, _, y, t = digits
    mon = NormMonitor(X, y, T, t, bound_every=2, seed=0)  # integer labels are one-hot encoded
    model = fitted_regressor(X, Y, hidden=(20,), epochs=5)
    for step in range(4):
        model.partial_fit(X, Y)
        mon.record(step * 10, model)
    data = json.loads(json.dumps(mon.to_dict(), allow_nan=False))
    assert data["delta_spent"] <= data["delta"] == 1e-6
    assert [r["step"] for r in data["records"]] == [0, 10, 20, 30]
    assert data["records"][1]["bound"] is None and data["records"][2]["bound"]["violations"] == 0
    lines = mon.to_csv(tmp_path / "h.csv").read_text().splitlines()
    assert len(lines) == 5 and "norm_2_upper" in lines[0] and "test_cost_bound" in lines[0]
    assert_png(mon.plot(tmp_path / "h.png", title="monitor"))


def test_monitor_bad_input(digits):
    X, Y, T, TY, _, _ = digits
    with pytest.raises(ValueError, match="X_test and Y_test must be given together"):
        NormMonitor(X, Y, T)
    with pytest.raises(ValueError, match="Y_train has 39 rows"):
        NormMonitor(X, Y[:-1])
    with pytest.raises(ValueError, match="X_test has 5 features"):
        NormMonitor(X, Y, T[:, :5], TY)
    with pytest.raises(ValueError, match="bound_every needs a test set"):
        NormMonitor(X, Y, bound_every=2)
    with pytest.raises(ValueError, match="bound_every must be an int >= 1"):
        NormMonitor(X, Y, T, TY, bound_every=0)
    with pytest.raises(ValueError, match="delta must lie strictly between 0 and 1"):
        NormMonitor(X, Y, delta=1.0)
    with pytest.raises(ValueError, match="X_train contains NaN"):
        NormMonitor(np.full_like(X, np.nan), Y)
    mon = NormMonitor(X, Y, T, TY, seed=0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="network takes M0 = 5 inputs, but X_train has 64"):
        mon.record(
            0,
            Network(
                [rng.standard_normal((10, 5)), rng.standard_normal((10, 10))],
                [np.zeros(10), np.zeros(10)],
            ),
        )
    with pytest.raises(ValueError, match="Y_train has 10 columns, but the network has Q = 3"):
        mon.record(
            0,
            Network(
                [rng.standard_normal((8, 64)), rng.standard_normal((3, 8))],
                [np.zeros(8), np.zeros(3)],
            ),
        )
    with pytest.raises(ValueError, match="estimator is an unfitted"):
        mon.record(0, MLPRegressor())
    with pytest.raises(ValueError, match="model.pt: no such file"):
        mon.record(0, "model.pt")
    with pytest.raises(TypeError, match="network must be an archbound.Network, a fitted"):
        mon.record(0, "model")
    with pytest.raises(ValueError, match="step must be an int"):
        mon.record(1.5, fitted_regressor(X, Y, epochs=1))
    assert mon.history == []  # nothing recorded by failed calls


# ------------------------------------------------------------------------- docs


def test_monitoring_doc_sklearn_example_runs(tmp_path, monkeypatch):
    """The scikit-learn loop of docs/monitoring.md runs as written."""
    text = (Path(__file__).parents[1] / "docs" / "monitoring.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    sklearn_blocks = [b for b in blocks if "partial_fit" in b and "torch" not in b]
    assert sklearn_blocks, "docs/monitoring.md lost its scikit-learn example"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(sklearn_blocks[0], "docs/monitoring.md", "exec"), namespace)
    mon = namespace["monitor"]
    assert len(mon.history) >= 3 and mon.delta_spent <= mon.delta
    assert all(r.bound is None or r.bound.violations == 0 for r in mon.history)
    assert (tmp_path / "norms.png").is_file() and (tmp_path / "norms.csv").is_file()


def test_monitoring_doc_torch_example_runs(tmp_path, monkeypatch, torch):
    """The PyTorch loop of docs/monitoring.md trains a custom nn.Module with SGD, recorded
    every epoch; its bound holds on every test sample."""
    text = (Path(__file__).parents[1] / "docs" / "monitoring.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    torch_blocks = [b for b in blocks if "torch.optim.SGD" in b]
    assert torch_blocks, "docs/monitoring.md lost its PyTorch example"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(torch_blocks[0], "docs/monitoring.md", "exec"), namespace)
    mon, model = namespace["monitor"], namespace["model"]
    assert [r.step for r in mon.history] == list(range(1, 11))
    assert all(r.bound is not None and r.bound.violations == 0 for r in mon.history)
    assert mon.history[-1].train_cost < mon.history[0].train_cost  # it trained
    report = archbound.sample_bounds(
        Network.from_torch(model),
        namespace["X_train"],
        namespace["Y_train"],
        namespace["X_test"],
        one_hot(namespace["y_test"], 10),
        seed=0,
    )
    assert np.all(report.per_sample >= report.errors)  # bound >= truth on every sample
    assert (tmp_path / "torch-norms.png").is_file()
