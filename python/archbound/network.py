"""A feed-forward network held as torch-style weights and an activation (docs/design.md §1.2)."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from archbound import _core
from archbound._validation import FLOATS, SeedLike, check_array, check_memory, check_threads
from archbound.activations import RELU, Activation
from archbound.opnorm import NormEstimate, opnorms, upper_product


@dataclass(frozen=True)
class Construction:
    """How :func:`archbound.construct_minimizer` built a network.

    Attributes
    ----------
    method : str
        ``"readout_first"`` or ``"readout_last"``.
    rank : int
        Rank of the training matrix X_0 (zero loss needs rank == N).
    n_samples : int
        N, the number of training samples.
    train_loss : float
        Mean squared training error, mean_i |f(x_i) - y_i|^2 (0 up to rounding when
        rank == N; the least-squares value otherwise).
    max_train_error : float
        max_i |f(x_i) - y_i|.
    readout : ndarray of shape (Q, M0) or None
        readout_first only: A = Y_0 X_0^+, so that f(x) = relu(A x + beta) - beta.
    beta : float or None
        readout_first only: the shift max(0, -min Y).
    seed : int or None
        readout_last only: the seed of the random partial isometries.
    """

    method: str
    rank: int
    n_samples: int
    train_loss: float
    max_train_error: float
    readout: np.ndarray | None = None
    beta: float | None = None
    seed: int | None = None


#: Weights and biases, one array per layer.
Layers = tuple[list[np.ndarray], list[np.ndarray]]


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.flags.writeable = False
    return array


def _checked_layers(weights, biases, *, copy: bool) -> tuple[tuple, tuple]:
    """Validated, read-only float64 weights and biases whose shapes chain (see Network).

    ``copy=False`` keeps float64 C-contiguous arrays as they are: only for arrays that nobody
    else holds.
    """
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
        raise TypeError("weights must be a list of 2-D arrays, one per layer")
    if isinstance(biases, np.ndarray) or not isinstance(biases, Sequence):
        raise TypeError("biases must be a list of 1-D arrays, one per layer")
    if len(weights) < 2:
        raise ValueError(
            f"weights has {len(weights)} matrices, but a network needs at least one hidden "
            f"layer and an output layer (L >= 1, so at least 2 weight matrices)"
        )
    if len(biases) != len(weights):
        raise ValueError(
            f"need one bias per weight matrix, got {len(weights)} weights and {len(biases)} biases"
        )
    ws: list[np.ndarray] = []
    bs: list[np.ndarray] = []
    for index, (w, b) in enumerate(zip(weights, biases)):
        w = check_array(w, f"weights[{index}]", copy=copy)
        b = check_array(b, f"biases[{index}]", ndim=1, copy=copy)
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"biases[{index}] has length {b.shape[0]}, but weights[{index}] has "
                f"{w.shape[0]} rows"
            )
        if ws and w.shape[1] != ws[-1].shape[0]:
            raise ValueError(
                f"weights[{index}] has {w.shape[1]} columns, but weights[{index - 1}] "
                f"has {ws[-1].shape[0]} rows: consecutive shapes must match"
            )
        w.flags.writeable = False
        b.flags.writeable = False
        ws.append(w)
        bs.append(b)
    return tuple(ws), tuple(bs)


class Network:
    """A network x^(l) = sigma(W_l x^(l-1) + b_l), f(x) = W_{L+1} x^(L) + b_{L+1}.

    One activation sigma serves every hidden layer; the output layer is linear. The arrays
    are copied (never aliased) and stored read-only, in float64.

    Parameters
    ----------
    weights : sequence of array_like
        W_1..W_{L+1}, torch.nn.Linear style: W_l has shape (M_l, M_{l-1}).
    biases : sequence of array_like
        b_1..b_{L+1}; b_l has shape (M_l,).
    activation : str, dict or Activation, default "relu"
        sigma, a row of :data:`archbound.activations.ACTIVATIONS` (``"gelu"``,
        ``archbound.activation("leaky_relu", negative_slope=0.2)``, ...).
    construction : Construction, optional
        Set by :func:`archbound.construct_minimizer`; None for given weights.
    """

    #: float32 copies of the evaluated layers, made on the first float32 forward.
    _float32: Layers | None
    #: The evaluated layers (see :meth:`_evaluated`), made on the first forward.
    _compact: Layers | None

    def __init__(
        self,
        weights: Sequence,
        biases: Sequence,
        *,
        activation: str | Mapping | Activation = "relu",
        construction=None,
    ):
        self._activation = Activation.parse(activation)
        if construction is not None and not self._activation.is_relu:
            raise ValueError(
                f"activation is {self._activation}, but construction records a "
                f"{construction.method} minimizer: the constructions build ReLU networks only"
            )
        self._weights, self._biases = _checked_layers(weights, biases, copy=True)
        self._float32 = None
        self._compact = None
        self.construction = construction

    @classmethod
    def _adopt(cls, weights, biases, activation: Activation = RELU) -> Network:
        """A network that takes over arrays an adapter has just made for it (float64, owned
        by nobody else, such as one conversion of each torch parameter): validated as the
        constructor validates, but not copied again. Internal."""
        network = cls.__new__(cls)
        network._activation = activation
        network._weights, network._biases = _checked_layers(weights, biases, copy=False)
        network._float32 = None
        network._compact = None
        network.construction = None
        return network

    @classmethod
    def _trusted(
        cls, weights, biases, *, construction=None, activation: Activation = RELU
    ) -> Network:
        """A network from arrays the core just made (float64, C-contiguous, shapes that
        chain, owned by nobody else): stored read-only as they are, without validation or
        copies. Internal: the public constructor validates and copies."""
        network = cls.__new__(cls)
        network._activation = activation
        network._weights = tuple(_read_only(w) for w in weights)
        network._biases = tuple(_read_only(b) for b in biases)
        network._float32 = None
        network._compact = None
        network.construction = construction
        return network

    @property
    def activation(self) -> Activation:
        """sigma of the hidden layers: its certified Lipschitz constant is
        ``activation.lipschitz``, and a bound on |sigma(0)| is ``activation.abs_at_zero``."""
        return self._activation

    @property
    def weights(self) -> tuple:
        """W_1..W_{L+1}, read-only float64 arrays of shape (M_l, M_{l-1})."""
        return self._weights

    @property
    def biases(self) -> tuple:
        """b_1..b_{L+1}, read-only float64 arrays of shape (M_l,)."""
        return self._biases

    @property
    def widths(self) -> list[int]:
        """[M0, M1, ..., M_L, Q]."""
        return [self._weights[0].shape[1]] + [w.shape[0] for w in self._weights]

    @property
    def depth(self) -> int:
        """L, the number of hidden layers."""
        return len(self._weights) - 1

    @property
    def input_dim(self) -> int:
        return self._weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        return self._weights[-1].shape[0]

    def __repr__(self) -> str:
        method = f", construction={self.construction.method!r}" if self.construction else ""
        sigma = "" if self._activation.is_relu else f", activation={str(self._activation)!r}"
        return f"Network(widths={self.widths}{sigma}{method})"

    def forward(self, X: ArrayLike, *, threads: int | None = None) -> np.ndarray:
        """Evaluate the network on a batch.

        Parameters
        ----------
        X : array_like of shape (n, M0)
            Inputs. float32 input is computed in float32 (weights rounded once); anything
            else in float64.
        threads : int, optional
            OpenMP threads; default ``OMP_NUM_THREADS``.

        Returns
        -------
        ndarray of shape (n, Q), of X's float dtype.
        """
        X = check_array(X, "X", dtypes=FLOATS)
        n, m0 = X.shape
        if m0 != self._weights[0].shape[1]:
            raise ValueError(f"X has {m0} features, but the network takes {self.input_dim} inputs")
        threads = check_threads(threads)
        q = self._weights[-1].shape[0]
        check_memory(
            float(n) * q * X.itemsize, "forward's output for X ({} samples x Q = {})", n, q
        )
        return self._forward(X, threads)

    def _forward(self, X: np.ndarray, threads: int) -> np.ndarray:
        """:meth:`forward` on a validated, C-contiguous float32 or float64 X of M0 columns,
        with the core's thread convention (0 = default)."""
        if X.dtype.char == "f":
            if self._float32 is None:
                weights, biases = self._evaluated()
                self._float32 = (
                    [w.astype(np.float32) for w in weights],
                    [b.astype(np.float32) for b in biases],
                )
            out: np.ndarray = _core.forward_float32(
                X, *self._float32, threads, *self._core_activation
            )
        else:
            out = _core.forward_float64(X, *self._evaluated(), threads, *self._core_activation)
        return out.T

    @functools.cached_property
    def _core_activation(self) -> tuple[int, float]:
        """(code, parameter): the core's arguments for sigma (the activation never changes)."""
        return self._activation.code, self._activation._value

    def _evaluated(self) -> Layers:
        """The layers that :meth:`forward` evaluates: this network without its dead units.

        A hidden unit whose weights on the live units of the layer below and whose bias are
        all zero outputs sigma(0) = 0 for every input (for an activation with sigma(0) = 0),
        so dropping it, together with the column of the next layer that reads it, leaves
        the function unchanged (up to the order of floating-point sums). readout_first
        networks are mostly such units: of a width-M layer, only Q units are live. Computed
        once (the weights are read-only), and only used when it saves at least a quarter of
        the multiply-adds.
        """
        if self._compact is not None:
            return self._compact
        if self._activation.abs_at_zero != 0:
            self._compact = (list(self._weights), list(self._biases))
        if self._compact is None:
            compact = (list(self._weights), list(self._biases))
            live = np.arange(self.input_dim)
            weights: list[np.ndarray] = []
            biases: list[np.ndarray] = []
            for index, (w, b) in enumerate(zip(self._weights, self._biases)):
                w = w[:, live] if live.size < w.shape[1] else w
                if index + 1 < len(self._weights):
                    rows = np.flatnonzero(np.any(w != 0, axis=1) | (b != 0))
                    if rows.size == 0:
                        rows = np.arange(1)  # keep one (zero) unit: no layer is empty
                    if rows.size < w.shape[0]:
                        w, b = w[rows], b[rows]
                    live = rows
                weights.append(np.ascontiguousarray(w))
                biases.append(np.ascontiguousarray(b))
            full = sum(w.size for w in self._weights)
            if sum(w.size for w in weights) <= 0.75 * full:
                compact = (weights, biases)
            self._compact = compact
        return self._compact

    __call__ = forward

    # --- operator norms (archbound.opnorm) ---
    def norms(self, *, delta: float = 1e-6, seed: SeedLike = None) -> list[NormEstimate]:
        """Certified spectral norms of W_1..W_{L+1} (see :func:`archbound.opnorms`).

        All L+1 upper bounds hold together with probability at least ``1 - delta``.

        Parameters
        ----------
        delta : float in (0, 1), default 1e-6
            Failure probability of the certificates, for all layers together.
        seed : int or numpy.random.Generator, optional
            Seed of the Lanczos start vectors.

        Returns
        -------
        list of NormEstimate
            One per layer, W_1 first.
        """
        return opnorms(list(self._weights), delta=delta, seed=seed)

    def lipschitz_upper(self, *, delta: float = 1e-6, seed: SeedLike = None) -> float:
        """An upper bound on the Lipschitz constant of f, valid with probability >= 1 - delta.

        Lip(f) <= rho^L prod_l ||W_l||, for a rho-Lipschitz activation (rho = 1 for ReLU;
        docs/design.md §2.5.1, §2.7); each norm is the certified upper bound of
        :meth:`norms`, the union bound spreads delta over the layers, and the product with
        rho^L is rounded up.

        Parameters
        ----------
        delta, seed
            As in :meth:`norms`: the failure probability of all the certificates together,
            and the seed of the Lanczos start vectors.

        Returns
        -------
        float
            rho^L prod_l ||W_l||, from the certified upper bounds.
        """
        return self._lipschitz_of(upper_product(self.norms(delta=delta, seed=seed)))

    def _lipschitz_of(self, product: float) -> float:
        """rho^L product, rounded up: the Lipschitz bound of f from an upper bound
        ``product`` on prod_l ||W_l|| (rho the activation's certified constant)."""
        rho = self._activation.lipschitz
        if rho == 1.0:
            return product
        exact = Fraction(rho) ** self.depth * Fraction(product)
        value = float(exact)
        return value if Fraction(value) >= exact else math.nextafter(value, math.inf)

    # --- end operator norms ---

    def save(self, path: str | os.PathLike) -> None:
        """Write the network to a .npz file (no pickle), activation and construction record
        included.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (NumPy adds ``.npz`` when the name lacks it).
        """
        from archbound._network_file import network_arrays

        np.savez(path, **network_arrays(self))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """Read a network written by :meth:`save`; pickled content is refused.

        A file without an ``activation`` entry (written before networks carried one) is a
        ReLU network.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.npz`` file written by :meth:`save`.

        Returns
        -------
        Network

        Raises
        ------
        ValueError
            Naming the path: a file that is not a network saved by :meth:`save`, truncated,
            corrupt, or holding pickled data.
        """
        from archbound._network_file import read_network_file

        weights, biases, activation, construction = read_network_file(path)
        return cls(weights, biases, activation=activation, construction=construction)

    # --- adapters: trained models (the conversions: archbound.readers) ---
    @classmethod
    def from_sklearn(cls, estimator: Any) -> Network:
        """A fitted scikit-learn MLPRegressor, or an MLPClassifier's pre-softmax network.

        Parameters
        ----------
        estimator : sklearn.neural_network.MLPRegressor or MLPClassifier
            Fitted (``fit`` or ``partial_fit``), with ``activation`` ``"relu"``, ``"tanh"``,
            ``"logistic"`` (the network's ``sigmoid``) or ``"identity"``. scikit-learn stores
            ``coefs_[l]`` as (in, out); they become torch-style W_l = ``coefs_[l].T`` of shape
            (out, in), and b_l = ``intercepts_[l]``.

        Returns
        -------
        Network
            For MLPRegressor its output layer is the identity, so the network computes
            ``estimator.predict`` (as an (n, Q) array, also for one output). For MLPClassifier
            it computes the logits before the softmax (or before the logistic function, for two
            classes), which ``predict`` turns into classes by argmax (or sign).

        Raises
        ------
        ValueError
            Naming ``estimator``: not an MLP, not fitted, or another activation.
        """
        from archbound.readers.sklearn import sklearn_layers

        weights, biases, activation = sklearn_layers(estimator)
        return cls(weights, biases, activation=activation)

    @classmethod
    def from_torch(cls, module: Any, example_input: Any = None) -> Network:
        """A PyTorch network: any ``nn.Module`` whose forward is a chain, or a state_dict.

        Parameters
        ----------
        module : torch.nn.Module or mapping
            A module whose forward, read with ``torch.fx``, chains Linear layers
            (``nn.Linear``, or ``F.linear`` on its own parameters) and one activation of
            :data:`archbound.activations.ACTIVATIONS` for every hidden layer, in any torch
            spelling (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``.relu()``, ``nn.GELU``,
            ``F.gelu(x, approximate="tanh")``, ``torch.tanh``, ``x.sigmoid()``,
            ``F.leaky_relu(x, 0.2)``, ``nn.SiLU``, ``nn.ELU``, ``nn.Softplus``,
            ``nn.Hardtanh``, ``nn.ReLU6``, ``nn.Identity`` between two Linear layers; in-place
            or not), with
            ``Flatten``/``view``/``reshape``/``flatten`` to (batch, -1), ``Identity``,
            ``Dropout`` in eval mode, and ``BatchNorm1d`` in eval mode (folded exactly into
            the neighbouring Linear) between them: a custom class, nested ``nn.Sequential``
            or both. Without a flatten first, its input is taken to be (n, M0). Or the
            ``state_dict`` of an ``nn.Sequential(Linear, ReLU, ..., Linear)`` (keys
            ``0.weight``, ``0.bias``, ``2.weight``, ..., optionally under one common prefix;
            values tensors or arrays), whose parameter-free modules between the Linear
            layers are taken to be ReLU: the keys must step by 2. Each parameter is converted
            once, to float64 on the CPU. docs/monitoring.md lists what is read and what is
            refused.
        example_input : tensor or array_like of shape (n, ...), optional
            Inputs as the module takes them, such as (n, 1, 28, 28) images. Each sample
            must flatten to the network's M0 inputs; for a module, ``module(example_input)``
            is also run (without gradients) and must match the network's output on the
            flattened inputs, to the square root of the module's float precision.

        Returns
        -------
        Network
            Computing the module's forward pass on inputs of shape (n, M0), flattened.

        Raises
        ------
        ImportError
            A module (not a state_dict) without torch installed, naming ``archbound[torch]``.
        ValueError
            Naming ``module`` and, for a module, the refused node and its line in forward:
            another layer or activation, two different activations, a residual connection
            or concatenation, a value that feeds two places, Dropout or BatchNorm in
            training mode, two Linear layers without an activation between, an activation
            before the first or after the last Linear, a tensor on the meta device.
            Naming ``example_input``: a sample size or output that does not match.
        """
        from archbound.readers.torch_module import check_example
        from archbound.readers.torch_network import read_torch

        network = read_torch(module)
        if example_input is not None:
            check_example(network, module, example_input)
        return network

    # --- end adapters ---
