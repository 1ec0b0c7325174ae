"""Network.from_torch on any nn.Module whose forward is a chain (archbound.readers).

Every test that takes the ``torch`` fixture (tests/conftest.py) is marked ``torch``: it skips
without torch, and fails when skipped with ``CI`` set.
"""

import re
import sys

import numpy as np
import pytest

from archbound import Network, NormMonitor


def line_of(text: str) -> str:
    """The message's location of the line of this file that holds ``text``."""
    with open(__file__) as stream:
        number = next(i for i, line in enumerate(stream, 1) if text in line)
    return f"at line {number} of {__file__}"


def check_forward(net, module, x, rtol=1e-12):
    """net on the flattened inputs against module.eval()(x), relative to the largest output."""
    torch = sys.modules["torch"]
    with torch.no_grad():
        expected = module.eval()(x).numpy()
    got = net(x.reshape(x.shape[0], -1).numpy())
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= rtol * np.abs(expected).max()


@pytest.fixture
def nn(torch):
    torch.manual_seed(0)
    return torch.nn


def randomize_batchnorm(torch, norm):
    """Non-trivial running statistics, gamma and beta."""
    with torch.no_grad():
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.3, 3.0)
        if norm.affine:
            norm.weight.normal_()
            norm.bias.normal_()
    return norm


# ------------------------------------------------------------------ what is read


def test_custom_class_with_flatten_batchnorm_and_functional_relu(torch, nn):
    F = torch.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(784, 32)
            self.norm = nn.BatchNorm1d(32)
            self.drop = nn.Dropout(0.3)
            self.fc2 = nn.Linear(32, 16, bias=False)
            self.out = nn.Linear(16, 10)

        def forward(self, x):
            x = self.flatten(x)
            x = self.drop(F.relu(self.norm(self.fc1(x))))
            return self.out(torch.relu(self.fc2(x)))

    model = MLP().double()
    randomize_batchnorm(torch, model.norm)
    model.eval()
    x = torch.rand(64, 1, 28, 28, dtype=torch.float64)
    net = Network.from_torch(model, example_input=x)
    assert net.widths == [784, 32, 16, 10]
    check_forward(net, model, x)


def test_nested_sequentials_and_every_relu_spelling(torch, nn):
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, a, b):
            super().__init__()
            self.linear = nn.Linear(a, b)

        def forward(self, x):
            return self.linear(x).relu()

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Sequential(nn.Linear(6, 9), nn.ReLU(inplace=True)))
            self.blocks = nn.Sequential(Block(9, 8), nn.Identity(), Block(8, 7))
            self.fc3 = nn.Linear(7, 7)
            self.fc4 = nn.Linear(7, 5)
            self.fc5 = nn.Linear(5, 5)
            self.head = nn.Linear(5, 3)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            x = F.relu(self.fc3(x), inplace=True)
            x = torch.relu_(self.fc4(x))
            x = self.fc5(x)
            x.relu_()  # in place, its result unused
            return self.head(x.contiguous())

    model = Deep().double()
    net = Network.from_torch(model)
    assert net.widths == [6, 9, 8, 7, 7, 5, 5, 3]
    check_forward(net, model, torch.randn(40, 6, dtype=torch.float64))


def test_functional_linear_and_a_subclass_of_linear(torch, nn):
    """F.linear on the module's parameters, as a subclass of nn.Linear is traced too."""
    F = torch.nn.functional

    class Scaled(nn.Linear):
        pass

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(8, 5, dtype=torch.float64))
            self.hidden = Scaled(8, 6, dtype=torch.float64)
            self.head = nn.Parameter(torch.randn(3, 6, dtype=torch.float64))

        def forward(self, x):
            x = F.relu(F.linear(x, self.weight))
            return F.linear(self.hidden(x).relu(), self.head)

    model = Functional()
    net = Network.from_torch(model)
    assert net.widths == [5, 8, 6, 3]
    check_forward(net, model, torch.randn(20, 5, dtype=torch.float64))

    class Computed(Functional):
        def forward(self, x):
            return F.linear(F.relu(F.linear(x, 2 * self.weight)), self.head[:, :8])

    with pytest.raises(ValueError, match=r"node mul \(operator.mul\)"):
        Network.from_torch(Computed())


@pytest.mark.parametrize(
    "flatten",
    [
        "x.view(x.size(0), -1)",
        "x.reshape(x.shape[0], -1)",
        "x.view(-1, 784)",
        "x.view(x.size(0), 784)",
        "x.flatten(1)",
        "torch.flatten(x, start_dim=1)",
        "torch.reshape(x, (x.size()[0], -1))",
    ],
)
def test_flattened_images(torch, nn, flatten):
    namespace = {"torch": torch}
    exec(f"def flat(x):\n    return {flatten}\n", namespace)

    class Images(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 20)
            self.fc2 = nn.Linear(20, 10)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(namespace["flat"](x))))

    model = Images().double()
    x = torch.rand(16, 1, 28, 28, dtype=torch.float64)
    net = Network.from_torch(model, example_input=x)
    assert net.input_dim == 784
    check_forward(net, model, x)


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_folds_before_and_after_relu(torch, nn, affine):
    """BatchNorm1d after a Linear folds into it; on the input or after a ReLU, into the next."""
    model = nn.Sequential(
        randomize_batchnorm(torch, nn.BatchNorm1d(5, affine=affine, eps=1e-3)),
        nn.Linear(5, 12),
        randomize_batchnorm(torch, nn.BatchNorm1d(12, affine=affine)),
        nn.ReLU(),
        randomize_batchnorm(torch, nn.BatchNorm1d(12, affine=affine)),
        nn.Linear(12, 4),
    ).double()
    net = Network.from_torch(model.eval())
    assert net.widths == [5, 12, 4]
    check_forward(net, model, 3 * torch.randn(50, 5, dtype=torch.float64))
    # float32 modules read to float32 rounding
    model = model.float()
    net = Network.from_torch(model, example_input=torch.randn(8, 5))
    x = torch.randn(30, 5)
    check_forward(net, model, x, rtol=1e-5)


def test_each_parameter_is_converted_once_per_record(torch, nn, monkeypatch):
    """A record reads each tensor into float64 once, and builds the Network without copying."""
    model = nn.Sequential(
        nn.Linear(4, 8), randomize_batchnorm(torch, nn.BatchNorm1d(8)), nn.ReLU(), nn.Linear(8, 2)
    ).eval()
    rng = np.random.default_rng(0)
    monitor = NormMonitor(rng.random((12, 4)), rng.random((12, 2)), seed=0)
    conversions = []
    numpy = torch.Tensor.numpy

    def counted(tensor, *args, **kwargs):
        conversions.append(tensor.shape)
        return numpy(tensor, *args, **kwargs)

    def copying_constructor(self, *args, **kwargs):
        raise AssertionError("Network.__init__ copies: an adapter uses Network._adopt")

    monkeypatch.setattr(torch.Tensor, "numpy", counted)
    monkeypatch.setattr(Network, "__init__", copying_constructor)
    monitor.record(1, model)
    tensors = 2 + 4 + 2  # Linear weight and bias, the norm's mean, var, gamma, beta, Linear
    assert len(conversions) == tensors
    net = Network.from_torch(model)
    for weight in net.weights:
        assert not weight.flags.writeable
        for parameter in model.parameters():
            assert not np.shares_memory(weight, numpy(parameter.detach()))


def test_record_takes_a_custom_module(torch, nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(3, 6)
            self.out = nn.Linear(6, 2)

        def forward(self, x):
            return self.out(torch.nn.functional.relu(self.hidden(x)))

    rng = np.random.default_rng(1)
    monitor = NormMonitor(rng.random((10, 3)), rng.random((10, 2)), seed=0)
    assert monitor.record(0, Net()).widths == (3, 6, 2)


# ---------------------------------------------------------------- what is refused


def refused_model(torch, nn, case):
    """A module whose forward is not a chain; the line that must be named holds `# here`."""
    F = torch.nn.functional

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(5, 5)
            self.fc2 = nn.Linear(5, 5)
            self.out = nn.Linear(5, 2)

        def forward(self, x):
            if case == "relu first":
                return self.out(F.relu(self.fc1(F.relu(x))))  # here: relu first
            h = F.relu(self.fc1(x))
            if case == "residual":
                h = h + F.relu(self.fc2(h))  # here: residual
            elif case == "concatenation":
                h = torch.cat([h, x], dim=1)[:, :5]  # here: concatenation
            elif case == "activation":
                h = torch.tanh(self.fc2(h))  # here: activation
            elif case == "feeds two places":
                z = self.fc2(h)  # here: feeds two places
                self.out(z)
                h = F.relu(z)
            elif case == "two linears":
                return self.out(self.fc2(h))  # here: two linears
            elif case == "relu last":
                return F.relu(self.out(F.relu(self.fc2(h))))  # here: relu last
            elif case == "functional dropout":
                h = F.dropout(h, 0.5)  # here: functional dropout
            return self.out(F.relu(self.fc2(h)))

    return Model()


REFUSED = {
    "residual": r"node add \(operator.add\)",
    "concatenation": r"node cat \(torch.cat\)",
    "activation": r"node tanh \(torch.tanh\)",
    "feeds two places": r"layer fc2 \(Linear\).* its output feeds 2 places \(layer out",
    "relu first": r"node relu \(torch.nn.functional.relu\).* a ReLU before the first",
    "two linears": r"layer out \(Linear\).* follows layer fc2 \(Linear\) without a ReLU",
    "relu last": r"node relu_2 \(torch.nn.functional.relu\).* a ReLU after the last Linear",
    "functional dropout": r"node dropout \(torch.nn.functional.dropout\)",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_the_node_and_the_line(torch, nn, case):
    model = refused_model(torch, nn, case).eval()
    message = f"^module: {REFUSED[case]}"
    with pytest.raises(ValueError, match=message) as info:
        Network.from_torch(model)
    assert line_of(f"# here: {case}") in str(info.value)


def test_training_mode_and_batch_statistics_are_refused(torch, nn):
    class Normed(nn.Module):
        def __init__(self, norm):
            super().__init__()
            self.fc1 = nn.Linear(4, 6)
            self.norm = norm
            self.fc2 = nn.Linear(6, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.norm(self.fc1(x))))  # here: norm

    where = re.escape(line_of("# here: norm"))
    with pytest.raises(ValueError, match=f"layer norm is BatchNorm1d in training mode {where}"):
        Network.from_torch(Normed(nn.BatchNorm1d(6)))
    batch_statistics = Normed(nn.BatchNorm1d(6, track_running_stats=False)).eval()
    with pytest.raises(ValueError, match="without running statistics"):
        Network.from_torch(batch_statistics)
    dropout = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(), nn.Linear(6, 2))
    with pytest.raises(ValueError, match="^module: layer 2 is Dropout in training mode: "):
        Network.from_torch(dropout)
    assert Network.from_torch(dropout.eval()).widths == [4, 6, 2]
    with pytest.raises(ValueError, match=r"layer 1 is Mish: only Linear, the activations"):
        Network.from_torch(nn.Sequential(nn.Linear(4, 6), nn.Mish(), nn.Linear(6, 2)))


def test_layers_that_do_not_fold_or_flatten_are_refused(torch, nn):
    norm = randomize_batchnorm(torch, nn.BatchNorm1d(6))
    between = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), norm, nn.ReLU(), nn.Linear(6, 2))
    with pytest.raises(ValueError, match=r"layer 2 \(BatchNorm1d\).* between two activations"):
        Network.from_torch(between.eval())
    batch = nn.Sequential(nn.Flatten(0), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with pytest.raises(ValueError, match=r"layer 0 is Flatten \(start_dim=0, end_dim=-1\)"):
        Network.from_torch(batch)

    class Wrong(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(12, 6)
            self.fc2 = nn.Linear(6, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x.view(-1, 10))))

    with pytest.raises(ValueError, match="layer fc1 .* takes 12 inputs, but the reshape"):
        Network.from_torch(Wrong())


def test_untraceable_and_multi_input_modules_are_refused(torch, nn):
    class Branching(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else self.fc(-x)

    with pytest.raises(ValueError, match="module: torch.fx cannot trace its forward"):
        Network.from_torch(Branching())

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x, mask):
            return self.fc(x)

    with pytest.raises(ValueError, match=r"forward takes 2 inputs \(x, mask\)"):
        Network.from_torch(TwoInputs())
    with pytest.raises(TypeError, match="module is a str; expected a torch.nn.Module"):
        Network.from_torch("model.pt")


def test_example_input_checks_size_and_output(torch, nn):
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    assert Network.from_torch(model, example_input=np.ones((2, 3, 4))).input_dim == 12
    with pytest.raises(ValueError, match=r"example_input has samples of shape \(3, 5\)"):
        Network.from_torch(model, example_input=torch.ones(2, 3, 5))
    with pytest.raises(ValueError, match="example_input must have a batch dimension"):
        Network.from_torch(model, example_input=np.ones(12))

    class Disguised(nn.Module):
        """Traced, it is a chain; run, it doubles its output."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 4)
            self.fc2 = nn.Linear(4, 2)

        def forward(self, x):
            y = self.fc2(torch.relu(self.fc1(x)))
            return y if isinstance(x, torch.fx.Proxy) else 2 * y

    with pytest.raises(ValueError, match="example_input: the network read from module differs"):
        Network.from_torch(Disguised().double(), example_input=torch.ones(3, 4))


# -------------------------------------------------------------- without torch


def test_a_module_without_torch_names_the_extra(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'archbound\[torch\]'"):
        Network.from_torch(object())
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    net = Network.from_torch({"0.weight": W1, "2.weight": W2})  # arrays need no torch
    X = rng.standard_normal((5, 3))
    np.testing.assert_allclose(net(X), np.maximum(X @ W1.T, 0) @ W2.T, rtol=1e-12)
    assert not np.shares_memory(net.weights[0], W1)
