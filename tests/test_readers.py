"""archbound.readers: one as_network over a registry of readers, every activation in every
torch spelling, scikit-learn's activations, files, and no import cycle among the readers."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier, MLPRegressor

import archbound.readers
from archbound import Network
from archbound.activations import activation
from archbound.data import DataError, load_model
from archbound.readers import READERS, as_network, reader_for

READERS_DIR = Path(archbound.readers.__file__).parent


def test_no_import_cycle_among_the_reader_modules():
    """Imports among archbound.readers' modules (at any depth of the file) form no cycle."""
    modules = {p.stem: p for p in READERS_DIR.glob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                parts = target.split(".")
                if parts[:2] == ["archbound", "readers"]:
                    edges.add(parts[2] if len(parts) > 2 and parts[2] in modules else "__init__")
        edges.discard(name)
        graph[name] = edges
    # __init__ may import every submodule; no submodule may reach __init__ or each other
    # in a circle.
    state = {}

    def visit(name, path):
        if state.get(name) == "open":
            raise AssertionError(f"import cycle: {' -> '.join(path + [name])}")
        if state.get(name) == "done":
            return
        state[name] = "open"
        for other in sorted(graph[name]):
            visit(other, path + [name])
        state[name] = "done"

    for name in graph:
        visit(name, [])
    assert set(graph) >= {"__init__", "torch_fx", "torch_module", "sklearn", "files"}


def test_registry_names_what_it_accepts():
    assert [r.name for r in READERS] == [
        "network",
        "sklearn",
        "torch_module",
        "state_dict",
        "torch_file",
        "npz",
    ]
    with pytest.raises(TypeError, match=r"network must be an archbound.Network, a fitted .*int"):
        as_network(3)
    with pytest.raises(TypeError, match="got str"):
        as_network("not a model name")
    net = Network([np.eye(2), np.eye(2)], [np.zeros(2), np.zeros(2)])
    assert as_network(net) is net
    assert reader_for({}).name == "state_dict"


def test_npz_paths_go_through_the_registry(tmp_path):
    net = Network(
        [np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)], activation="tanh"
    )
    net.save(tmp_path / "net.npz")
    for path in (tmp_path / "net.npz", str(tmp_path / "net.npz")):
        read = as_network(path)
        assert read.activation == activation("tanh")
        np.testing.assert_array_equal(read.weights[0], net.weights[0])
    assert load_model(tmp_path / "net.npz").activation == activation("tanh")
    with pytest.raises(DataError, match="missing.npz: no such file"):
        as_network(tmp_path / "missing.npz")


# ------------------------------------------------------------------------ scikit-learn
@pytest.mark.parametrize("name", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("kind", [MLPRegressor, MLPClassifier])
def test_sklearn_mlps_are_read_exactly(kind, name, rng):
    X = rng.standard_normal((40, 5))
    y = rng.standard_normal((40, 2)) if kind is MLPRegressor else rng.integers(0, 3, 40)
    model = kind(hidden_layer_sizes=(7, 6), activation=name, max_iter=30, random_state=0)
    with pytest.warns(Warning):  # stopped before convergence
        model.fit(X, y)
    net = as_network(model)
    expected = {"logistic": "sigmoid"}.get(name, name)
    assert net.activation == activation(expected)
    # The last hidden layer's output, then the output layer before softmax: sklearn's own.
    activations = [X] + [None] * (model.n_layers_ - 1)
    model._forward_pass(activations)
    hidden = activations[-2] if kind is MLPClassifier else None
    got = net(X)
    if kind is MLPRegressor:
        np.testing.assert_allclose(got, model.predict(X), rtol=1e-12, atol=1e-12)
    else:
        logits = hidden @ model.coefs_[-1] + model.intercepts_[-1]
        np.testing.assert_allclose(got, logits, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(model.classes_[got.argmax(axis=1)], model.predict(X))


# ------------------------------------------------------------------------------- torch
def _spellings(torch):
    """{case: (activation, module layer, functional form)}: each activation of the table as a
    layer and as a call in forward."""
    nn, F = torch.nn, torch.nn.functional
    return {
        "relu": (activation("relu"), nn.ReLU(), F.relu),
        "relu torch": (activation("relu"), nn.ReLU(inplace=True), torch.relu),
        "relu method": (activation("relu"), nn.ReLU(), lambda x: x.relu()),
        "leaky_relu": (
            activation("leaky_relu", negative_slope=0.2),
            nn.LeakyReLU(0.2),
            lambda x: F.leaky_relu(x, 0.2),
        ),
        "leaky_relu keyword": (
            activation("leaky_relu", negative_slope=0.2),
            nn.LeakyReLU(negative_slope=0.2),
            lambda x: F.leaky_relu(x, negative_slope=0.2),
        ),
        "leaky_relu default": (activation("leaky_relu"), nn.LeakyReLU(), F.leaky_relu),
        "elu": (activation("elu", alpha=0.7), nn.ELU(alpha=0.7), lambda x: F.elu(x, 0.7)),
        "gelu": (activation("gelu"), nn.GELU(), F.gelu),
        "gelu none": (
            activation("gelu"),
            nn.GELU(approximate="none"),
            lambda x: F.gelu(x, approximate="none"),
        ),
        "gelu tanh": (
            activation("gelu_tanh"),
            nn.GELU(approximate="tanh"),
            lambda x: F.gelu(x, approximate="tanh"),
        ),
        "silu": (activation("silu"), nn.SiLU(), F.silu),
        "softplus": (activation("softplus"), nn.Softplus(), F.softplus),
        "softplus beta": (
            activation("softplus", beta=2.0),
            nn.Softplus(beta=2.0),
            lambda x: F.softplus(x, beta=2.0),
        ),
        "tanh": (activation("tanh"), nn.Tanh(), torch.tanh),
        "tanh functional": (activation("tanh"), nn.Tanh(), F.tanh),
        "tanh method": (activation("tanh"), nn.Tanh(), lambda x: x.tanh()),
        "sigmoid": (activation("sigmoid"), nn.Sigmoid(), torch.sigmoid),
        "sigmoid method": (activation("sigmoid"), nn.Sigmoid(), lambda x: x.sigmoid()),
        "hardtanh": (activation("hardtanh"), nn.Hardtanh(), F.hardtanh),
        "relu6": (activation("relu6"), nn.ReLU6(), F.relu6),
        "relu6 as hardtanh": (
            activation("relu6"),
            nn.Hardtanh(0.0, 6.0),
            lambda x: F.hardtanh(x, 0.0, 6.0),
        ),
        "identity": (activation("identity"), nn.Identity(), None),
    }


CASES = [
    "relu",
    "relu torch",
    "relu method",
    "leaky_relu",
    "leaky_relu keyword",
    "leaky_relu default",
    "elu",
    "gelu",
    "gelu none",
    "gelu tanh",
    "silu",
    "softplus",
    "softplus beta",
    "tanh",
    "tanh functional",
    "tanh method",
    "sigmoid",
    "sigmoid method",
    "hardtanh",
    "relu6",
    "relu6 as hardtanh",
    "identity",
]


def _check_read(torch, module, sigma, X):
    net = as_network(module)
    assert net.activation == sigma
    with torch.no_grad():
        expected = module(torch.from_numpy(X)).numpy()
    scale = np.abs(expected).max()
    assert np.abs(net(X) - expected).max() <= 1e-12 * scale
    return net


@pytest.mark.parametrize("case", CASES)
def test_torch_reads_every_activation_as_a_layer_and_as_a_call(torch, case):
    sigma, layer, function = _spellings(torch)[case]
    nn = torch.nn
    torch.manual_seed(0)
    X = 2 * np.random.default_rng(1).standard_normal((50, 6))
    # The same activation layer twice: it holds no parameters of its own.
    sequential = nn.Sequential(nn.Linear(6, 9), layer, nn.Linear(9, 8), layer, nn.Linear(8, 3))
    sequential = sequential.double()
    net = _check_read(torch, sequential, sigma, X)
    assert net.widths == [6, 9, 8, 3]
    if function is None:
        return

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(6, 9), nn.Linear(9, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.out(function(self.fc2(function(self.fc1(x)))))

    _check_read(torch, Functional().double(), sigma, X)


def test_torch_refuses_mixed_and_unreadable_activations(torch):
    nn, F = torch.nn, torch.nn.functional

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(4, 5), nn.Linear(5, 5), nn.Linear(5, 2)

        def forward(self, x):
            x = torch.tanh(self.fc1(x))
            return self.out(F.gelu(self.fc2(x)))  # here: second activation

    line = next(
        i
        for i, text in enumerate(Path(__file__).read_text().splitlines(), 1)
        if text.endswith("# here: second activation")
    )
    message = rf"node gelu \(torch.gelu\) at line {line} of .*: it is gelu, but node tanh"
    with pytest.raises(ValueError, match=message):
        as_network(Mixed())
    clipped = nn.Sequential(nn.Linear(4, 5), nn.Hardtanh(-2.0, 2.0), nn.Linear(5, 2))
    with pytest.raises(ValueError, match=r"layer 1 is Hardtanh: hardtanh clips to \[-2, 2\]"):
        as_network(clipped)
    threshold = nn.Sequential(nn.Linear(4, 5), nn.Softplus(threshold=5), nn.Linear(5, 2))
    with pytest.raises(ValueError, match="only the default threshold 20 is read"):
        as_network(threshold)
    twice = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Tanh(), nn.Linear(5, 2))
    with pytest.raises(ValueError, match="layer 2 .* follows layer 1 .* without a Linear"):
        as_network(twice)
    last = nn.Sequential(nn.Linear(4, 5), nn.SiLU(), nn.Linear(5, 2), nn.SiLU())
    with pytest.raises(ValueError, match=r"an activation \(silu\) after the last Linear"):
        as_network(last)


def test_identity_is_skipped_unless_it_separates_two_linear_layers(torch):
    nn = torch.nn
    X = np.random.default_rng(2).standard_normal((10, 4))
    padded = nn.Sequential(nn.Linear(4, 5), nn.Identity(), nn.ReLU(), nn.Linear(5, 2)).double()
    assert _check_read(torch, padded, activation("relu"), X).widths == [4, 5, 2]
    linear = nn.Sequential(nn.Linear(4, 5), nn.Identity(), nn.Linear(5, 2)).double()
    assert _check_read(torch, linear, activation("identity"), X).widths == [4, 5, 2]


def test_meta_tensors_get_a_clear_error(torch):
    with torch.device("meta"):
        module = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.GELU(), torch.nn.Linear(5, 2))
    with pytest.raises(ValueError, match="'.*weight' is on the meta device, so it has shapes"):
        as_network(module)


def test_torch_files_and_state_dicts_go_through_the_registry(torch, tmp_path):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)).double()
    torch.save(model.state_dict(), tmp_path / "model.pt")
    X = np.random.default_rng(3).standard_normal((8, 4))
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    for source in (model.state_dict(), tmp_path / "model.pt", str(tmp_path / "model.pt")):
        np.testing.assert_allclose(as_network(source)(X), expected, rtol=1e-12, atol=1e-12)
    assert reader_for(tmp_path / "model.pt").name == "torch_file"
    torch.save({"weights": [1, 2]}, tmp_path / "odd.pt")
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "odd.pt"))):
        as_network(tmp_path / "odd.pt")


def test_a_module_is_traced_once_per_structure_and_its_parameters_read_anew(torch):
    import gc
    import weakref

    from archbound.readers.torch_trace import TRACES

    module = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(6, 2)
    ).eval()
    first = Network.from_torch(module)
    graph = TRACES.graph(torch, module)
    with torch.no_grad():
        module[0].weight.mul_(2.0)
    second = Network.from_torch(module)
    assert TRACES.graph(torch, module) is graph  # not traced again
    np.testing.assert_array_equal(second.weights[0], 2.0 * first.weights[0])
    np.testing.assert_array_equal(second.weights[0], module[0].weight.detach().double().numpy())
    module.train()  # a new structure: traced again, and the training-mode Dropout refused
    with pytest.raises(ValueError, match="Dropout in training mode"):
        Network.from_torch(module)
    assert TRACES.graph(torch, module) is not graph
    held = weakref.ref(module)
    del module, graph
    gc.collect()
    assert held() is None  # the cache never keeps a module alive
