"""The forward passes of a monitor's records over its fixed training and test inputs.

A record with the training cost needs r_i = |f(x_i) - y_i| over the training set; a bound
record needs them as the offsets of the sample bound, and the truth |f(x~_j) - y~_j| over the
test set beside it. With ``precision="auto"`` and an activation whose float32 evaluation is
certified (:mod:`archbound._float32_margin`: relu, leaky_relu, hardtanh, relu6, identity),
both run in float32 over inputs converted once, and each sample carries a margin eps_i >=
|f^(x_i) - f(x_i)|:

- the bound's offsets are |f^(x_i) - y_i| + eps_i (rounded up): upper bounds on r_i;
- the reported training cost, largest residual and test error are the float32 values,
  estimates within eps_i of the truth, not bounds; the violations of a bound record are
  counted against the certified lower bound |f^(x~_j) - y~_j| - eps_j;
- the predicted labels (accuracy, held-out errors) are the float64 network's: a sample whose
  two largest float32 outputs are closer than 2 eps_j is evaluated again in float64.

Other activations, ``precision="float64"``, or a network whose values could come near
float32's range, run in float64 as before (margins 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archbound._float32_margin import (
    EPS64,
    float32_layers,
    forward32,
    inflate,
    row_norms_upper,
)

#: The values of NormMonitor's ``precision``.
PRECISIONS = ("auto", "float64")
#: Inputs of a larger norm are evaluated in float64 (their float32 values could overflow).
_LARGEST_INPUT = 2.0**100


@dataclass(frozen=True)
class Outputs:
    """f over one of the fixed input sets.

    Attributes
    ----------
    values : ndarray of shape (n, Q)
        f^(x_i), float32 or float64.
    margins : ndarray of shape (n,) or None
        eps_i >= |f^(x_i) - f(x_i)| (float32 outputs); None for float64 outputs, taken as
        exact.
    rows : slice
        The rows of the inputs they are of (for a float64 recomputation).
    """

    values: np.ndarray
    margins: np.ndarray | None
    rows: slice

    @property
    def precision(self) -> str:
        return "float64" if self.margins is None else "float32"

    def distances(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """|f^(x_i) - y_i|, and a lower and an upper bound on |f(x_i) - y_i|: each of shape
        (n,), the three the same for float64 outputs."""
        diff = self.values - Y
        values = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        if self.margins is None:
            return values, values, values
        # the norm's own rounding (Q + 4 operations, as frobenius_upper), then eps_i
        q = Y.shape[1]
        lower = np.maximum(values * (1.0 - (q + 5) * EPS64) - inflate(self.margins, 1), 0.0)
        return values, lower, inflate(inflate(values, q + 4) + self.margins, 1)


class FixedInputs:
    """The training and test inputs of a monitor, and their float32 copies.

    Parameters
    ----------
    X_train : ndarray of shape (N, M0)
    X_test : ndarray of shape (m, M0) or None
        Validated float64 inputs, copied once (together).
    precision : {"auto", "float64"}
        ``"auto"``: float32 forward passes with certified margins where the activation allows.

    Attributes
    ----------
    X_train, X_test : ndarray
        Read-only views of the copy.
    """

    def __init__(self, X_train: np.ndarray, X_test: np.ndarray | None, precision: str) -> None:
        self.precision = precision
        n = X_train.shape[0]
        self.train_rows = slice(0, n)
        self.test_rows = slice(n, n + (0 if X_test is None else X_test.shape[0]))
        # one copy of both sets, of which X_train and X_test are views (C-contiguous rows)
        self._X = np.concatenate([X_train] + ([] if X_test is None else [X_test]))
        self._X.flags.writeable = False
        self.X_train = self._X[self.train_rows]
        self.X_test = None if X_test is None else self._X[self.test_rows]
        self._X32: np.ndarray | None = None
        self._norms = np.zeros(0)
        self._max_norm = 0.0
        if precision == "auto":
            norms = row_norms_upper(self._X)
            largest = float(norms.max()) if norms.size else 0.0
            if largest < _LARGEST_INPUT:
                self._X32 = self._X.astype(np.float32)
                self._norms, self._max_norm = norms, largest

    def evaluate(
        self, net, spectral_uppers, *, train: bool, test: bool, threads: int
    ) -> tuple[Outputs | None, Outputs | None]:
        """f over the training set and/or the test set, in one forward pass.

        Parameters
        ----------
        net : Network
            The network recorded (its weights finite float64).
        spectral_uppers : sequence of float
            The record's certified upper bounds on ||W_l||.
        train, test : bool
            Which sets to evaluate.
        threads : int
            OpenMP threads.

        Returns
        -------
        (Outputs or None, Outputs or None)
            The training set's and the test set's outputs, None where not asked for.
        """
        if not (train or test):
            return None, None
        start = self.train_rows.start if train else self.test_rows.start
        stop = self.test_rows.stop if test else self.train_rows.stop
        X32, layers = self._X32, None
        if X32 is not None:
            layers = float32_layers(
                net.weights, net.biases, spectral_uppers, net.activation, self._max_norm
            )
        margins: np.ndarray | None = None
        if X32 is None or layers is None:
            values = net._forward(self._X[start:stop], threads)
        else:
            values = forward32(layers, X32[start:stop], net.activation, threads)
            margins = layers.margins(self._norms[start:stop])

        def part(rows: slice) -> Outputs:
            piece = slice(rows.start - start, rows.stop - start)
            return Outputs(values[piece], None if margins is None else margins[piece], rows)

        return (part(self.train_rows) if train else None), (part(self.test_rows) if test else None)

    def labels(self, net, outputs: Outputs, threads: int) -> np.ndarray:
        """argmax_k f(x)_k of the float64 network over the rows of ``outputs``, of shape (n,).

        A float32 output decides it when its largest entry exceeds every other by more than
        2 eps_i (then so does the exact output's, |f^ - f| <= eps_i entrywise); the other
        samples are evaluated again in float64.
        """
        labels = outputs.values.argmax(axis=1)
        q = outputs.values.shape[1]
        if outputs.margins is None or q == 1:
            return labels
        values = outputs.values.astype(np.float64)
        index = np.arange(values.shape[0])
        best = values[index, labels]
        values[index, labels] = -np.inf
        gap = best - values.max(axis=1)
        # the gap's one rounding, and 2 eps rounded up: 2^-50 covers both
        undecided = np.flatnonzero(~(gap > 2.0 * outputs.margins * (1.0 + 2.0**-50)))
        if undecided.size:
            rows = self._X[outputs.rows][undecided]
            labels[undecided] = net._forward(np.ascontiguousarray(rows), threads).argmax(axis=1)
        return labels


__all__ = ["PRECISIONS", "FixedInputs", "Outputs"]
