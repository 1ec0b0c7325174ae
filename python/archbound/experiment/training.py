"""How ``archbound experiment --trained`` trains a network: scikit-learn's MLPRegressor or a
torch MLP, with the hidden activation of ``--activation``, and a
:class:`archbound.NormMonitor` along the way where it records that activation.

Both trainers minimize the squared loss against one-hot targets with Adam (step size
``learning_rate``, minibatches of min(200, N) samples, no weight decay), from a seeded
initialization, for a fixed budget of epochs. ReLU networks are trained with scikit-learn
(as they always were); any other activation with torch when it is installed, and with
scikit-learn for the activations it has (tanh, logistic = sigmoid, identity) otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archbound.activations import Activation, activation
from archbound.monitor import NormMonitor
from archbound.network import Network

#: scikit-learn's name of each activation its MLPs have.
SKLEARN_ACTIVATIONS = {
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "logistic",
    "identity": "identity",
}
#: Names ``--activation`` takes besides the activation table's: scikit-learn's.
ALIASES = {"logistic": "sigmoid"}
#: The minibatch size of both trainers (scikit-learn's default, min(200, N)).
BATCH = 200


def parse_activation(name: Any) -> Activation:
    """The :class:`~archbound.Activation` of ``--activation`` (a name of the activation
    table, or ``logistic`` for sigmoid), with its default parameter."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    return activation(ALIASES.get(name, name))


def framework(sigma: Activation) -> str:
    """``"scikit-learn"`` or ``"torch"``: which trainer trains networks with ``sigma``.

    Raises
    ------
    ImportError
        For an activation scikit-learn does not have, without torch.
    """
    if sigma.is_relu:
        return "scikit-learn"
    try:
        import torch  # noqa: F401
    except ImportError:
        if sigma.name in SKLEARN_ACTIVATIONS:
            return "scikit-learn"
        raise ImportError(
            f"training networks with activation {sigma} needs torch (scikit-learn's MLPs "
            f"have {', '.join(SKLEARN_ACTIVATIONS)} only): pip install '.[torch]'"
        ) from None
    return "torch"


def _torch_activation(nn: Any, sigma: Activation) -> Any:
    """The torch module computing ``sigma``."""
    p = sigma.parameter
    modules = {
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(p),
        "elu": lambda: nn.ELU(p),
        "gelu": nn.GELU,
        "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
        "silu": nn.SiLU,
        "softplus": lambda: nn.Softplus(p),
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "hardtanh": nn.Hardtanh,
        "relu6": nn.ReLU6,
        "identity": nn.Identity,
    }
    return modules[sigma.name]()


class _TorchMLP:
    """A torch MLP with Adam, trained one epoch at a time (``partial_fit``'s role)."""

    def __init__(self, widths, sigma: Activation, learning_rate: float, seed: int) -> None:
        import torch
        from torch import nn

        self.torch = torch
        torch.manual_seed(seed)
        layers: list[Any] = []
        for index, (m_in, m_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(m_in, m_out, dtype=torch.float64))
            if index + 2 < len(widths):
                layers.append(_torch_activation(nn, sigma))
        self.module = nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=learning_rate)
        self.generator = torch.Generator().manual_seed(seed)

    def partial_fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        torch = self.torch
        x, y = torch.from_numpy(X), torch.from_numpy(Y)
        order = torch.randperm(x.shape[0], generator=self.generator)
        for batch in order.split(min(BATCH, x.shape[0])):
            self.optimizer.zero_grad()
            loss = ((self.module(x[batch]) - y[batch]) ** 2).sum(dim=1).mean() / 2
            loss.backward()
            self.optimizer.step()


def train_one(
    X,
    Y,
    X_test,
    Y_test,
    hidden,
    *,
    epochs,
    record_every,
    learning_rate,
    seed,
    delta,
    threads=None,
    sigma: Activation | str = "relu",
):
    """Train one network, recording a NormMonitor along the way.

    Parameters
    ----------
    X : ndarray of shape (N, M0)
    Y : ndarray of shape (N, Q)
        One-hot targets (squared loss against them).
    X_test : ndarray of shape (m, M0)
    Y_test : ndarray of shape (m, Q)
    hidden : list of int
        Hidden widths.
    epochs : int
        The budget: passes over the data (one Adam step per minibatch of min(200, N)
        samples).
    record_every : int
        Record after epoch 1 and every ``record_every`` epochs, and after the last.
    learning_rate : float
        Adam's step size.
    seed : int
        Seed of the initialization and the minibatches, and the monitor's seed.
    delta : float
        The monitor's failure probability for the whole history.
    threads : int, optional
    sigma : Activation or str, default "relu"
        The hidden activation (:func:`parse_activation`); :func:`framework` picks the
        trainer.

    Returns
    -------
    net : Network
        The trained network.
    monitor : NormMonitor
        With the sample bound on every record.
    """
    sigma = parse_activation(sigma) if isinstance(sigma, str) else sigma
    if framework(sigma) == "torch":
        model: Any = _TorchMLP([X.shape[1], *hidden, Y.shape[1]], sigma, learning_rate, seed)
        read = lambda: Network.from_torch(model.module)  # noqa: E731
    else:
        from sklearn.neural_network import MLPRegressor

        model = MLPRegressor(
            hidden_layer_sizes=tuple(hidden),
            activation=SKLEARN_ACTIVATIONS[sigma.name],
            solver="adam",
            alpha=0.0,
            learning_rate_init=learning_rate,
            random_state=seed,
        )
        read = lambda: Network.from_sklearn(model)  # noqa: E731
    # float64 forward passes: the experiment reports each record's training cost and bound
    # to the last digit, and its networks train to costs far below float32's rounding.
    monitor = NormMonitor(
        X, Y, X_test, Y_test, bound_every=1, delta=delta, seed=seed, precision="float64"
    )
    for epoch in range(1, epochs + 1):
        model.partial_fit(X, Y)
        if epoch == 1 or epoch % record_every == 0 or epoch == epochs:
            monitor.record(epoch, read(), threads=threads)
    return read(), monitor


__all__ = ["ALIASES", "SKLEARN_ACTIVATIONS", "framework", "parse_activation", "train_one"]
