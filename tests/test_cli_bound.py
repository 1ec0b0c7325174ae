"""``archbound bound``: certified bounds of a saved model, in-process and on Dask."""

import json

import numpy as np
import pytest

import archbound
from conftest import bound_args, digits_npz, invoke, saved_network

# ----------------------------------------------------------------------------- bound


def test_bound_input_errors(tmp_path):
    X, y, T, t = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    base = ["bound", "--model", tmp_path / "net.npz", "--train", tmp_path / "train.npz"]

    np.savez(tmp_path / "narrow.npz", X=T[:, :10], y=t)
    result = invoke(*base, "--test", tmp_path / "narrow.npz")
    assert result.exit_code == 2
    assert "X has 10 features, but the model takes M0 = 64 inputs" in result.output

    np.savez(tmp_path / "nokey.npz", inputs=T)
    result = invoke(*base, "--test", tmp_path / "nokey.npz")
    assert result.exit_code == 2 and "missing key 'X'" in result.output

    np.savez(tmp_path / "rows.npz", X=T, y=t[:-1])
    result = invoke(*base, "--test", tmp_path / "rows.npz")
    assert result.exit_code == 2 and "rows" in result.output

    np.savez(tmp_path / "nolabels.npz", X=T)
    result = invoke(*base, "--test", tmp_path / "nolabels.npz")
    assert result.exit_code == 2 and "needs targets" in result.output

    np.savez(tmp_path / "q.npz", X=T, Y=np.zeros((len(T), 3)))
    result = invoke(*base, "--test", tmp_path / "q.npz")
    assert result.exit_code == 2 and "10 outputs" in result.output
    for result in (
        invoke(*base, "--test", tmp_path / "q.npz", "--delta", "2"),
        invoke(*base, "--test", tmp_path / "q.npz", "--variant", "nope"),
    ):
        assert result.exit_code == 2


def test_bound_refuses_object_arrays_without_executing(tmp_path):
    from test_data import malicious_npz

    X, y, _, _ = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    marker = tmp_path / "pwned"
    malicious_npz(tmp_path / "evil.npz", marker)
    result = invoke(*bound_args(tmp_path, test="evil.npz"))
    assert result.exit_code == 2
    assert "object array" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize(
    "variant", ["lipschitz", "projected", "coordinates", "linearized", "best"]
)
def test_bound_round_trip_through_network_save(tmp_path, variant):
    X, y, T, t = digits_npz(tmp_path)
    net = saved_network(tmp_path, X, y)
    result = invoke(
        *bound_args(tmp_path),
        "--variant",
        variant,
        "--json",
        "--per-sample",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["variant"] == variant
    assert report["widths"] == net.widths
    errors = np.linalg.norm(net(T) - archbound.one_hot(t, 10), axis=1)
    np.testing.assert_allclose(report["errors"], errors, rtol=1e-9, atol=1e-12)
    assert np.all(np.array(report["per_sample"]) >= errors * (1 - 1e-9))
    assert report["test_cost_bound"] >= report["test_cost"]
    assert report["uniform_bound"] >= report["max_error"]
    np.testing.assert_allclose(report["test_cost"], np.mean(errors**2), rtol=1e-9)
    table = invoke(
        *bound_args(tmp_path),
        "--variant",
        variant,
    )
    assert table.exit_code == 0
    assert "test cost bound" in table.output and "Lipschitz constant" in table.output


def test_bound_on_a_torch_state_dict(tmp_path, torch):
    _, _, T, t = digits_npz(tmp_path)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 20), torch.nn.ReLU(), torch.nn.Linear(20, 10))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    result = invoke(
        *bound_args(tmp_path, model="model.pt"),
        "--json",
        "--per-sample",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    with torch.no_grad():
        output = model(torch.from_numpy(T).float()).double().numpy()
    errors = np.linalg.norm(output - archbound.one_hot(t, 10), axis=1)
    np.testing.assert_allclose(report["errors"], errors, rtol=1e-4, atol=1e-5)
    assert np.all(np.array(report["per_sample"]) >= np.array(report["errors"]) * (1 - 1e-9))


def test_bound_on_a_local_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    X, y, _, _ = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    args = [
        *bound_args(tmp_path),
        "--json",
    ]
    local = json.loads(invoke(*args).output)
    result = invoke(*args, "--scheduler", "local", "--workers", "2", "--chunk-rows", "7")
    assert result.exit_code == 0, result.output
    clustered = json.loads(result.output[result.output.index("{") :])
    assert clustered["test_cost_bound"] == pytest.approx(local["test_cost_bound"], rel=1e-12)
    assert clustered["uniform_bound"] == local["uniform_bound"]
    assert invoke(*args, "--workers", "2").exit_code == 2
