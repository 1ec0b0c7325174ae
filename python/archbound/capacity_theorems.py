"""The theorems behind :func:`~archbound.capacity_bounds`: the VC dimension of Bartlett,
Harvey, Liaw, Mehrabian, the margin bounds of Bartlett, Foster, Telgarsky and of Neyshabur,
Bhojanapalli, Srebro, and which activations each holds for (docs/capacity.md)."""

from __future__ import annotations

import math

import numpy as np

#: The p of Bartlett, Harvey, Liaw, Mehrabian's Theorem 7. Read as the number of breakpoints
#: of the activation (p + 1 pieces), ReLU has p = 1; read as the number of pieces, p = 2.
#: The bound grows with p, so p = 2 is an upper bound under either reading.
PIECES = 2


#: The piecewise-linear activations (those the VC bound holds for) and their p: hardtanh
#: and relu6 have 2 breakpoints and 3 pieces, so p = 3 bounds either reading.
PIECEWISE_LINEAR_PIECES = {"relu": 2, "leaky_relu": 2, "identity": 2, "hardtanh": 3, "relu6": 3}
#: The positively homogeneous activations, sigma(c z) = c sigma(z) for c > 0: Golowich et
#: al.'s Theorem 1 and the layer rescaling of Neyshabur et al.'s proof need it.
HOMOGENEOUS = frozenset({"relu", "leaky_relu", "identity"})


def vc_dimension_bound(widths, pieces: int = PIECES) -> float:
    """Bartlett, Harvey, Liaw, Mehrabian (JMLR 2019), Theorem 7, for a piecewise-linear
    activation (degree 1) with ``pieces`` pieces (default :data:`PIECES`, ReLU's).

    Parameters
    ----------
    widths : list of int
        [M0, M_1, ..., M_L, 1]: the architecture with one output unit.
    pieces : int, default 2
        p; :data:`PIECEWISE_LINEAR_PIECES` gives it for each piecewise-linear activation.

    Returns
    -------
    float
        d + Lbar W log2(4 e p R log2(2 e p R)), d = len(widths) - 1 layers, k_i = widths[i],
        W = sum_i k_i (k_{i-1} + 1), Lbar W = sum_i W_i with W_i the parameters of layers
        1..i, and R = sum_i i k_i.
    """
    units = list(widths[1:])
    per_layer = [k * (previous + 1) for previous, k in zip(widths[:-1], units)]
    cumulative = np.cumsum(per_layer, dtype=np.float64)
    r = float(sum(i * k for i, k in enumerate(units, start=1)))
    return len(units) + float(cumulative.sum()) * math.log2(
        4.0 * math.e * pieces * r * math.log2(2.0 * math.e * pieces * r)
    )


def log_growth(k: int, dimension: float) -> float:
    """ln of Sauer's bound on the growth function at k points: d ln(e k / d), or k ln 2."""
    return dimension * math.log(math.e * k / dimension) if k >= dimension else k * math.log(2.0)


#: The grids of the union bounds: the values r^j, j an integer, with prior weight
#: w(j) = (2/3) / ((|j| + 1)(|j| + 2)), which sums to 1 over the integers.
def _grid(value: float, ratio: float, *, up: bool) -> tuple[float, float]:
    """The grid point at or above (``up``) or at or below ``value`` > 0, and ln(1 / w(j))."""
    j = math.log(value) / math.log(ratio)
    j = math.ceil(j) if up else math.floor(j)
    point = ratio**j
    if up and point < value:
        j, point = j + 1, ratio ** (j + 1)
    elif not up and point > value:
        j, point = j - 1, ratio ** (j - 1)
    return point, math.log(1.5 * (abs(j) + 1) * (abs(j) + 2))


#: A floor for (2,1) norms that are 0 (a network equal to its reference), so that the grid
#: has a point for them; it only ever raises b_l.
_NORM_FLOOR = 2.0**-40


def spectral_complexity(spectral, norms_21) -> float:
    """R_A = prod_l s_l (sum_l (b_l / s_l)^(2/3))^(3/2), written as
    (sum_l (b_l prod_{k != l} s_k)^(2/3))^(3/2), which needs no division by s_l."""
    s = np.asarray(spectral, dtype=np.float64)
    terms = [b * np.prod(np.delete(s, i)) for i, b in enumerate(norms_21)]
    return float(np.sum(np.asarray(terms) ** (2.0 / 3.0)) ** 1.5)


def _margins(outputs: np.ndarray, classes: np.ndarray) -> np.ndarray:
    rows = np.arange(outputs.shape[0])
    others = outputs.copy()
    others[rows, classes] = -np.inf
    return outputs[rows, classes] - others.max(axis=1)


def _bartlett(ctx: dict, gamma: float, share: float) -> float:
    """Lemma A.8 of Bartlett et al. 2017 on the grid point above each (s_l, b_l) and the one
    below gamma; the grid's prior weights enter the confidence term."""
    d, n = len(ctx["spectral"]), ctx["n"]
    ratio = 1.0 + 1.0 / d
    s = [_grid(v, ratio, up=True) for v in ctx["spectral"]]
    b = [_grid(max(v, _NORM_FLOOR), ratio, up=True) for v in ctx["norms_21"]]
    gamma_grid, gamma_cost = _grid(gamma, ratio, up=False)
    cost = gamma_cost + sum(c for _, c in s) + sum(c for _, c in b)
    r_a = ctx["lipschitz"] * spectral_complexity([v for v, _ in s], [v for v, _ in b])
    margin_error = float(np.mean(ctx["margins"] <= gamma_grid))
    width = max(ctx["widths"])
    return (
        margin_error
        + 8.0 / n
        + 72.0 * ctx["data_norm"] * math.log(2.0 * width) * math.log(n) * r_a / (gamma_grid * n)
        + 3.0 * math.sqrt((math.log(2.0 / share) + cost) / (2.0 * n))
    )


def _neyshabur(ctx: dict, gamma: float, share: float) -> float:
    """The PAC-Bayes bound of Neyshabur et al. 2018 (proof of Theorem 1), with the layers
    rescaled by the certified norms and a union bound over the grids of beta and gamma."""
    s = np.asarray(ctx["spectral"])
    f = np.asarray(ctx["frobenius"])
    d, n, h, radius = len(s), ctx["n"], max(ctx["widths"]), ctx["input_norm"]
    ratio = 1.0 + 1.0 / d
    beta = float(np.exp(np.mean(np.log(s))))
    beta_grid, beta_cost = _grid(beta, ratio, up=True)
    gamma_grid, gamma_cost = _grid(gamma, ratio, up=False)
    kl = (
        ctx["lipschitz"] ** 2
        * 16.0
        * math.e**2
        * radius**2
        * d**2
        * h
        * math.log(4.0 * d * h)
        * beta_grid ** (2 * (d - 1))
        * beta**2
        * float(np.sum(f**2 / s**2))
        / gamma_grid**2
    )
    margin_error = float(np.mean(ctx["margins"] <= gamma_grid))
    confidence = math.log(6.0 * n / share) + beta_cost + gamma_cost
    return margin_error + 4.0 * math.sqrt((kl + confidence) / (n - 1))
