"""A float32 forward pass with a certified bound on its distance to the exact network.

The monitor (docs/design.md §2.5.7) needs the training residuals r_i = |f(x_i) - y_i| as
offsets of the sample bound. A float32 forward pass costs less than half of a float64 one;
this module makes it rigorous. For each sample it returns the float32 outputs f^(x_i) and a
margin eps_i with

    |f^(x_i) - f(x_i)| <= eps_i,

f the network with its float64 weights, evaluated exactly; so r_i <= |f^(x_i) - y_i| + eps_i.

The error analysis (docs/design.md §2.5.7, "Float32 forward passes")
---------------------------------------------------------------------
u = 2^-24 is float32's unit roundoff, phi = 2^-126 its smallest normal number. Rounding to
float32 moves a value w by at most u |w| + phi (phi covers the subnormal range, and a
processor that flushes subnormal inputs or results to zero). For layer l, with n inputs and
M outputs, W the float64 weights, W^ their float32 copy as the processor uses it:

- ||W - W^||_F <= D := u ||W||_F + sqrt(M n) phi, ||W^||_F <= F := (1 + u) ||W||_F + sqrt(M n) phi,
  ||W^||_2 <= P := N + D with N the record's certified upper bound on ||W||_2; likewise the bias,
  ||b - b^|| <= beta := u |b| + sqrt(M) phi and ||b^|| <= Bh := (1 + u) |b| + sqrt(M) phi;
- the matrix product: each entry is a sum of n products in float32, in any order, with or without
  fused multiply-adds, blocked as any BLAS blocks it (no Strassen-like algorithm), so
  |fl(W^ h) - W^ h| <= gamma_n |W^| |h| + 4 n phi entrywise (Higham 2002, Thm 3.1 and §3.1;
  gamma_n = n u / (1 - n u)), whose norm is at most g := gamma_n F a + sqrt(M) 4 n phi for
  a >= ||h||; a subnormal input read as zero moves h by at most sqrt(n) phi;
- the bias add rounds once: at most u S + sqrt(M) phi, with S := P a + g + Bh >= |fl(W^ h) + b^|;
- the activation: relu, hardtanh, relu6 and identity are exact in floating point; leaky_relu
  computes fl(a^ t) for t < 0 with a^ the float32 slope, off by at most
  kappa |t| + phi, kappa := |a - a^| + u |a^| (0 for a slope of 0 or a power of two);
- the layers compose through sigma's Lipschitz constant rho: with a >= ||h^_(l-1)|| and
  e >= ||h^_(l-1) - h_(l-1)||,

      eps_z = N (e + sqrt(n) phi) + D a + beta + g + u S + sqrt(M) phi >= ||z^_l - z_l||,
      Z = (1 + u) S + sqrt(M) phi >= ||z^_l||,
      e' = rho eps_z + kappa Z + sqrt(M) phi,    a' = rho^ Z + sqrt(M) phi,

  rho^ = max(1, |a^| (1 + u)) (|sigma^(t)| <= rho^ |t| + phi), starting from
  a = (1 + u) |x| + sqrt(M0) phi and e = u |x| + sqrt(M0) phi; the output layer's eps_z is eps.

Every quantity is affine in |x| with non-negative coefficients, so the margin is
eps_i = c_1 |x_i| + c_0: two numbers per record, computed with every operation rounded up, and
one vector operation. No value can overflow: 4 times each layer's bound stays below 2^120,
checked, or the caller falls back to float64. The margin rests on the certified norms N, so
it holds on the event on which they hold (probability >= 1 - delta over the whole history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from archbound import _core
from archbound._anchored_norms import frobenius_upper
from archbound.activations import Activation

#: float32's unit roundoff 2^-24 and smallest normal number 2^-126 (exact floats).
U32 = 2.0**-24
TINY32 = 2.0**-126
#: float64's machine epsilon 2^-52 (twice its unit roundoff).
EPS64 = 2.0**-52
#: Activations whose float32 evaluation the analysis covers: exact ones, and leaky_relu.
EXACT_ACTIVATIONS = ("relu", "hardtanh", "relu6", "identity", "leaky_relu")
#: 4 times every bound of a layer stays below this (float32 overflows at 2^128).
_LARGEST = 2.0**120


_INF = math.inf


def _up(value: float) -> float:
    """The next float above a round-to-nearest result: >= the exact value it rounds."""
    return math.nextafter(value, _INF)


def _ceil(exact: Fraction) -> float:
    """The smallest float >= ``exact``."""
    value = float(exact)
    return value if Fraction(value) >= exact else _up(value)


def gamma32(n: int) -> float:
    """gamma_n = n u / (1 - n u) for float32's u = 2^-24, rounded up (inf when n u >= 1)."""
    nu = Fraction(n) * Fraction(U32)
    return math.inf if nu >= 1 else _ceil(nu / (1 - nu))


def inflate(values: np.ndarray, ops: int) -> np.ndarray:
    """Non-negative ``values`` computed by at most ``ops`` float64 roundings (of sums and
    products of non-negative numbers), scaled up to bound the exact results: the exact value
    is at most v (1 - 2^-53)^-ops, and v (1 + (ops + 1) 2^-52), itself rounded once, is more
    while (ops + 1) 2^-53 <= 1/2."""
    return values * (1.0 + (ops + 1) * EPS64)


def row_norms_upper(X: np.ndarray) -> np.ndarray:
    """|x_i| for every row, each rounded up as :func:`frobenius_upper` rounds one norm, of
    shape (n,)."""
    squares = np.sqrt(np.einsum("ij,ij->i", X, X))
    return inflate(squares, X.shape[1] + 4)


class _Affine:
    """c1 |x| + c0, coefficients >= 0; every operation rounds up."""

    __slots__ = ("c0", "c1")

    def __init__(self, c1: float, c0: float) -> None:
        self.c1, self.c0 = c1, c0

    def __add__(self, other: _Affine) -> _Affine:
        return _Affine(_up(self.c1 + other.c1), _up(self.c0 + other.c0))

    def times(self, factor: float) -> _Affine:
        return _Affine(_up(self.c1 * factor), _up(self.c0 * factor))

    def plus(self, constant: float) -> _Affine:
        return _Affine(self.c1, _up(self.c0 + constant))

    def at(self, norm: float) -> float:
        return _up(_up(self.c1 * norm) + self.c0)


def float32_activation(activation: Activation) -> tuple[float, float] | None:
    """(rho^, kappa) of sigma's float32 evaluation, or None where the analysis does not
    cover it (the smooth activations: their float32 library calls have no stated error)."""
    if activation.name not in EXACT_ACTIVATIONS:
        return None
    if activation.name != "leaky_relu":
        return 1.0, 0.0
    slope = float(activation.parameter or 0.0)
    rounded = float(np.float32(slope))
    if not math.isfinite(rounded):
        return None
    kappa = _up(_up(abs(slope - rounded)) + _up(U32 * abs(rounded)))
    if slope == rounded and (slope == 0.0 or math.frexp(slope)[0] in (0.5, -0.5)):
        kappa = 0.0  # a power of two: fl(a t) = a t up to a subnormal result (phi)
    return max(1.0, _up(abs(rounded) * _up(1.0 + U32))), kappa


@dataclass(frozen=True)
class Float32Layers:
    """The float32 copies of a network's layers and the margin's coefficients.

    Attributes
    ----------
    weights, biases : list of ndarray (float32)
        W^_l and b^_l, as the core's float32 forward pass takes them.
    margin : _Affine
        eps(|x|) = c1 |x| + c0 >= |f^(x) - f(x)| for every input x of norm |x|.
    """

    weights: list
    biases: list
    margin: _Affine

    def margins(self, input_norms: np.ndarray) -> np.ndarray:
        """eps_i for inputs of norms ``input_norms`` (upper bounds), of shape (n,)."""
        return inflate(self.margin.c1 * input_norms + self.margin.c0, 2)


def float32_layers(
    weights, biases, spectral_uppers, activation: Activation, max_input_norm: float
) -> Float32Layers | None:
    """The float32 layers of a network and the certified margin of their forward pass.

    Parameters
    ----------
    weights, biases : sequence of ndarray (float64)
        W_l of shape (M_l, M_{l-1}) and b_l of shape (M_l,), finite.
    spectral_uppers : sequence of float
        N_l >= ||W_l||_2 (certified upper bounds).
    activation : Activation
        sigma of the hidden layers.
    max_input_norm : float
        An upper bound on |x| over the inputs that will be evaluated (for the overflow check).

    Returns
    -------
    Float32Layers or None
        None when the activation's float32 evaluation is not covered, or a value could come
        near float32's overflow: the caller computes in float64 instead.
    """
    sigma = float32_activation(activation)
    if sigma is None:
        return None
    rho_hat, kappa = sigma
    rho = activation.lipschitz
    m0 = weights[0].shape[1]
    tiny_in = _up(math.sqrt(m0) * TINY32)
    a = _Affine(_up(1.0 + U32), tiny_in)
    e = _Affine(U32, tiny_in)
    last = len(weights) - 1
    for index, (w, b, upper) in enumerate(zip(weights, biases, spectral_uppers)):
        rows, n = w.shape
        w_f, b_n = frobenius_upper(w), frobenius_upper(b)
        tiny_w = _up(math.sqrt(rows * n) * TINY32)
        tiny_out = _up(math.sqrt(rows) * TINY32)
        d = _up(_up(U32 * w_f) + tiny_w)
        f = _up(_up(_up(1.0 + U32) * w_f) + tiny_w)
        p = _up(float(upper) + d)
        beta = _up(_up(U32 * b_n) + tiny_out)
        b_hat = _up(_up(_up(1.0 + U32) * b_n) + tiny_out)
        g = a.times(_up(gamma32(n) * f)).plus(_up(tiny_out * 4 * n))
        s = (a.times(p) + g).plus(b_hat)
        e_in = e.plus(_up(math.sqrt(n) * TINY32))
        eps_z = (e_in.times(float(upper)) + a.times(d) + g + s.times(U32)).plus(
            _up(beta + tiny_out)
        )
        z = s.times(_up(1.0 + U32)).plus(tiny_out)
        largest = a.times(f) + s + z.times(rho_hat)
        bounds = (f, b_hat, largest.at(max_input_norm), eps_z.at(max_input_norm))
        if not max(bounds) * 4 < _LARGEST:
            return None
        if index == last:
            return Float32Layers(
                [w.astype(np.float32) for w in weights],
                [b.astype(np.float32) for b in biases],
                eps_z,
            )
        e = (eps_z.times(rho) + z.times(kappa)).plus(tiny_out)
        a = z.times(rho_hat).plus(tiny_out)
    raise ValueError("weights: a network needs at least one layer")


def forward32(
    layers: Float32Layers, X32: np.ndarray, activation: Activation, threads: int
) -> np.ndarray:
    """f^(X): the core's float32 forward pass, of shape (n, Q), float32."""
    out: np.ndarray = _core.forward_float32(
        X32, layers.weights, layers.biases, threads, activation.code, activation._value
    )
    return out.T


__all__ = [
    "EXACT_ACTIVATIONS",
    "Float32Layers",
    "float32_activation",
    "float32_layers",
    "forward32",
    "gamma32",
    "inflate",
    "row_norms_upper",
]
