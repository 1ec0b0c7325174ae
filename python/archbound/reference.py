"""Pure-NumPy reference implementations: the oracle every C++ routine is tested against.

Written from the maths in docs/design.md §2, independently of the C++ code, for clarity rather
than speed. Arrays follow the package convention: samples are rows.
"""

from __future__ import annotations

import numpy as np

from archbound.activations import Activation


def pinv(a, rcond=None):
    """Moore-Penrose inverse by SVD (numpy.linalg.pinv, with its default rcond)."""
    a = np.asarray(a, dtype=np.float64)
    if rcond is None:
        rcond = max(a.shape) * np.finfo(np.float64).eps
    return np.linalg.pinv(a, rcond=rcond)


def matrix_rank(a, rcond=None):
    """Rank with the tolerance rcond * sigma_max of docs/design.md §2.1."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return 0
    if rcond is None:
        rcond = max(a.shape) * np.finfo(np.float64).eps
    s = np.linalg.svd(a, compute_uv=False)
    return int(np.sum(s > rcond * s[0]))


def forward(weights, biases, X, activation="relu"):
    """f(X) = W_{L+1} sigma(... sigma(W_1 x + b_1) ...) + b_{L+1}, row by row.

    ``activation`` is an :class:`archbound.Activation` or its name; sigma is the activation
    table's NumPy forward (docs/design.md §2.7), evaluated in X's dtype.
    """
    sigma = Activation.parse(activation)
    h = np.asarray(X)
    for index, (w, b) in enumerate(zip(weights, biases)):
        h = h @ np.asarray(w, dtype=h.dtype).T + np.asarray(b, dtype=h.dtype)
        if index + 1 < len(weights):
            h = sigma.forward(h).astype(h.dtype, copy=False)
    return h


def readout_first(X, Y, widths):
    """The paper's architecture-independent minimizer, as lists of weights and biases."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    q = Y.shape[1]
    A = Y.T @ pinv(X.T)  # Q x M0, so that A x_i = y_i
    beta = max(0.0, -float(Y.min()))
    sizes = [X.shape[1]] + list(widths) + [q]
    weights, biases = [], []
    for layer in range(len(sizes) - 1):
        w = np.zeros((sizes[layer + 1], sizes[layer]))
        b = np.zeros(sizes[layer + 1])
        if layer == 0:
            w[:q] = A
            b[:q] = beta
        else:
            w[:q, :q] = np.eye(q)
        if layer == len(sizes) - 2:
            b[:] = -beta
        weights.append(w)
        biases.append(b)
    return weights, biases, A, beta


def readout_last(X, Y, hidden_weights):
    """The generic construction, given the hidden partial isometries W_1..W_L.

    The random layers cannot be reproduced here, so they are inputs; the biases
    b_l = max(0, -min_i (W_l h_i)) and the readout W_{L+1} = Y_0 (X^(L))^+ are recomputed.
    """
    h = np.asarray(X, dtype=np.float64)
    weights, biases = [], []
    for w in hidden_weights:
        z = h @ w.T
        b = np.maximum(0.0, -z.min(axis=0))
        h = np.maximum(z + b, 0.0)
        weights.append(np.asarray(w))
        biases.append(b)
    weights.append(np.asarray(Y, dtype=np.float64).T @ pinv(h.T))
    biases.append(np.zeros(np.asarray(Y).shape[1]))
    return weights, biases


def construct_minimizer(X, Y, widths, method="readout_first", hidden_weights=None):
    """Weights and biases of either construction (:func:`readout_first`, :func:`readout_last`)."""
    if method == "readout_first":
        weights, biases, _, _ = readout_first(X, Y, widths)
        return weights, biases
    if method == "readout_last":
        if hidden_weights is None:
            raise ValueError("the reference readout_last needs the hidden weights")
        return readout_last(X, Y, hidden_weights)
    raise ValueError(f"unknown method {method!r}")


def sample_bounds(weights, biases, X_train, Y_train, X_test, Y_test, *, lipschitz=None):
    """Brute-force lipschitz-variant bounds: B_j = min_i (Lip |x~_j - x_i| + |y~_j - y_i| + r_i).

    ``lipschitz`` defaults to the product of the exact layer norms. Builds the full m x N
    matrices: for small problems only.
    """
    if lipschitz is None:
        lipschitz = float(np.prod([np.linalg.norm(w, 2) for w in weights]))
    residuals = np.linalg.norm(forward(weights, biases, X_train) - Y_train, axis=1)
    errors = np.linalg.norm(forward(weights, biases, X_test) - Y_test, axis=1)
    dx = np.linalg.norm(X_test[:, None, :] - X_train[None, :, :], axis=2)
    dy = np.linalg.norm(Y_test[:, None, :] - Y_train[None, :, :], axis=2)
    total = lipschitz * dx + dy + residuals[None, :]
    index = np.argmin(total, axis=1)
    return {
        "per_sample": total[np.arange(len(index)), index],
        "nearest_index": index,
        "errors": errors,
        "lipschitz": lipschitz,
    }


def coordinates_bounds(X_train, Y_train, X_test, Y_test, residuals=None):
    """Brute-force ``"coordinates"`` bounds of a readout_first network (docs/design.md §2.5.3).

    B_j = min_i (||Y_0|| |c(x~_j) - e_i| + |y~_j - y_i| + r_i), with c(x~) = X_0^+ x~ the
    coordinates of the test point in the training set (X_0 of full column rank) and
    ||Y_0|| the exact spectral norm of the training labels. Returns (values, indices).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    Y_train = np.asarray(Y_train, dtype=np.float64)
    n = X_train.shape[0]
    if matrix_rank(X_train) < n:
        raise ValueError("coordinates bounds need rank(X_train) = N")
    C = np.asarray(X_test, dtype=np.float64) @ pinv(X_train)  # (m, N): rows c(x~_j)
    alpha = float(np.linalg.norm(Y_train, 2))
    return nearest(C, np.eye(n), alpha=alpha, y_test=Y_test, y_train=Y_train, offsets=residuals)


def opnorm(W):
    """Spectral norm ||W|| = sigma_1(W) (numpy.linalg.norm(W, 2), a full SVD)."""
    return float(np.linalg.norm(np.asarray(W, dtype=np.float64), 2))


# --- geometry (docs/design.md §2.4) ---


def nearest(
    F_test,
    F_train,
    *,
    alpha=1.0,
    y_test=None,
    y_train=None,
    offsets=None,
    classes_test=None,
    classes_train=None,
):
    """Brute force B_j = min_i (alpha |F_j - G_i| + |y~_j - y_i| + r_i) and the first argmin.

    Float64, one test sample at a time, distances from the differences themselves. Returns
    (values, indices); a test sample with no training sample of its class gets (inf, -1).
    """
    F_test = np.asarray(F_test, dtype=np.float64)
    F_train = np.asarray(F_train, dtype=np.float64)
    m, n = F_test.shape[0], F_train.shape[0]
    if y_test is not None:
        y_test = np.asarray(y_test, dtype=np.float64).reshape(m, -1)
        y_train = np.asarray(y_train, dtype=np.float64).reshape(n, -1)
    r = np.zeros(n) if offsets is None else np.asarray(offsets, dtype=np.float64)
    values = np.full(m, np.inf)
    indices = np.full(m, -1, dtype=np.int64)
    for j in range(m):
        objective = alpha * np.sqrt(((F_train - F_test[j]) ** 2).sum(axis=1)) + r
        if y_test is not None:
            objective = objective + np.sqrt(((y_train - y_test[j]) ** 2).sum(axis=1))
        if classes_test is not None:
            objective = np.where(np.asarray(classes_train) == classes_test[j], objective, np.inf)
        if np.isfinite(objective).any():
            indices[j] = int(np.argmin(objective))
            values[j] = objective[indices[j]]
    return values, indices


def chamfer(A, B, symmetric=False):
    """mean_a min_b |a - b|; symmetric: the mean of both directions."""
    forward = float(nearest(A, B)[0].mean())
    if not symmetric:
        return forward
    return 0.5 * (forward + float(nearest(B, A)[0].mean()))


def hausdorff(A, B):
    """max(max_a min_b |a - b|, max_b min_a |a - b|)."""
    return float(max(nearest(A, B)[0].max(), nearest(B, A)[0].max()))


# --- capacity measures (docs/capacity.md) ---


def capacity_measures(
    weights, biases, X, classes, *, margin_quantile=0.1, reference=None, activation="relu"
):
    """The measures of :func:`archbound.capacity_bounds` with exact spectral norms (SVDs).

    Written from docs/capacity.md, loop by loop: the augmented matrices are built entry by
    entry, the path norm enumerates the layers with squared weights, and no union-bound grid
    is applied (the grids only ever raise the bounds). Returns a dict with ``n_parameters``,
    ``vc_dimension``, ``spectral``, ``frobenius``, ``norms_21``, ``spectral_complexity``,
    ``golowich_bound``, ``path_norm``, ``margin``, ``train_error``, ``input_norm`` and
    ``data_norm``. ``reference``: (weights, biases) of the reference network, or None.
    ``activation``: the hidden activation (docs/capacity.md, "Activations"): c = sigma(0) is
    moved into the next layers' biases, the hidden layers' Lipschitz constants multiply R_A
    and the Golowich bound, and a bound whose theorem does not hold is NaN.
    """
    sigma = Activation.parse(activation)
    homogeneous = sigma.name in ("relu", "leaky_relu", "identity")
    pieces = {"relu": 2, "leaky_relu": 2, "identity": 2, "hardtanh": 3, "relu6": 3}
    c = float(sigma.forward(np.zeros(1))[0])
    rho = sigma.lipschitz if homogeneous else max(sigma.lipschitz, 1.0)
    rho_hidden = rho ** (len(weights) - 1)
    original_biases = biases
    biases = [
        np.asarray(b, dtype=np.float64)
        + (0.0 if i == 0 else c * np.asarray(w, dtype=np.float64).sum(axis=1))
        for i, (w, b) in enumerate(zip(weights, biases))
    ]
    X = np.asarray(X, dtype=np.float64)
    classes = np.asarray(classes)
    n = X.shape[0]

    def augment(ws, bs):
        out = []
        for index, (w, b) in enumerate(zip(ws, bs)):
            w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
            last = index == len(ws) - 1
            a = np.hstack([w, b[:, None]])
            if not last:
                a = np.vstack([a, np.eye(1, a.shape[1], a.shape[1] - 1)])
            out.append(a)
        return out

    layers = augment(weights, biases)
    refs = [np.zeros_like(a) for a in layers] if reference is None else augment(*reference)
    spectral = [float(np.linalg.norm(a, 2)) for a in layers]
    frobenius = [float(np.linalg.norm(a, "fro")) for a in layers]
    norms_21 = [float(sum(np.linalg.norm(row) for row in a - m)) for a, m in zip(layers, refs)]
    complexity = (
        rho_hidden
        * float(np.prod(spectral))
        * float(sum((b / s) ** (2.0 / 3.0) for b, s in zip(norms_21, spectral)) ** 1.5)
    )
    widths = [np.asarray(weights[0]).shape[1]] + [np.asarray(w).shape[0] for w in weights]
    units = widths[1:-1] + [1]
    previous = widths[:-1]
    per_layer = [k * (p + 1) for k, p in zip(units, previous)]
    effective = sum(sum(per_layer[: i + 1]) for i in range(len(per_layer)))
    r = sum((i + 1) * k for i, k in enumerate(units))
    p = pieces.get(sigma.name, np.nan)  # the conservative reading of p (docs/capacity.md)
    vc_dimension = len(units) + effective * np.log2(4 * np.e * p * r * np.log2(2 * np.e * p * r))
    outputs = forward(weights, original_biases, X, sigma)
    margins = np.array(
        [outputs[i, classes[i]] - np.delete(outputs[i], classes[i]).max() for i in range(n)]
    )
    h = np.ones(widths[0])
    for w, b in zip(weights, original_biases):
        h = (np.asarray(w) ** 2) @ h + np.asarray(b) ** 2
    x_norms = np.sqrt((X**2).sum(axis=1) + 1.0)
    return {
        "n_parameters": int(sum(np.size(w) + np.size(b) for w, b in zip(weights, biases))),
        "vc_dimension": float(vc_dimension),
        "spectral": spectral,
        "frobenius": frobenius,
        "norms_21": norms_21,
        "spectral_complexity": complexity,
        "golowich_bound": float(
            (rho_hidden if homogeneous else np.nan)
            * x_norms.max()
            * (np.sqrt(2 * np.log(2) * len(layers)) + 1)
            * np.prod(frobenius)
            / np.sqrt(n)
        ),
        "path_norm": float(np.sqrt(h.sum())),
        "margin": float(np.quantile(margins, margin_quantile)),
        "train_error": float(np.mean(np.argmax(outputs, axis=1) != classes)),
        "input_norm": float(x_norms.max()),
        "data_norm": float(np.sqrt((x_norms**2).sum())),
    }


# ---------------------------------------------------------------- counter-based Monte Carlo

_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z):
    """SplitMix64's output function on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def counter_words(seed, stream, counters):
    """Words of the core's CounterStream(seed, stream) at the given counters (uint64):
    mix64(key + (i + 1) gamma), key = mix64(mix64(seed) + (stream + 1) gamma)."""
    with np.errstate(over="ignore"):
        step = (np.array([stream], dtype=np.uint64) + np.uint64(1)) * _GAMMA
        key = _mix64(_mix64(np.array([seed], dtype=np.uint64)) + step)
        i = np.asarray(counters, dtype=np.uint64)
        return _mix64(key + (i + np.uint64(1)) * _GAMMA)


def counter_normals(seed, stream, first, count):
    """Normals z_first .. z_{first+count-1} of CounterStream(seed, stream): Box-Muller on the
    word p of pair p (u1 from bits 63..40, u2 from bits 31..8), in float64 (the core
    computes them in float32)."""
    index = np.arange(first, first + count, dtype=np.uint64)
    word = counter_words(seed, stream, index // np.uint64(2))
    u1 = ((word >> np.uint64(40)) + np.uint64(1)).astype(np.float64) * 2.0**-24
    u2 = ((word >> np.uint64(8)) & np.uint64(0xFFFFFF)).astype(np.float64) * 2.0**-24
    r, t = np.sqrt(-2 * np.log(u1)), 2 * np.pi * u2
    return np.where(index % np.uint64(2) == 0, r * np.cos(t), r * np.sin(t))


def counter_below(seed, stream, n, count, counter=2**62):
    """count uniform integers in [0, n) of CounterStream(seed, stream) from word `counter`,
    by Lemire's multiply-and-reject (in Python integers)."""
    out = []
    threshold = (2**64 - n) % n
    while len(out) < count:
        word = int(counter_words(seed, stream, [counter])[0])
        counter += 1
        product = word * n
        if product % 2**64 >= threshold:
            out.append(product >> 64)
    return np.array(out, dtype=np.int64)


def stochastic_errors(means, sigmas, X, labels, *, draws, block, seed, normals):
    """Misclassified points per draw of the network N(means, sigmas^2) (docs/certificates.md
    §3.4), float32. ``means`` and ``sigmas`` are (weights, biases) pairs of lists;
    ``normals(seed, draw, first, count)`` gives the draw's noise, parameter by parameter
    (weights of layer 1 row by row, its bias, then layer 2, ...)."""
    (mean_w, mean_b), (sigma_w, sigma_b) = means, sigmas
    X = np.asarray(X, dtype=np.float32)
    counts = []
    for d in range(draws):
        weights, biases, offset = [], [], 0
        for mw, mb, sw, sb in zip(mean_w, mean_b, sigma_w, sigma_b):
            z = np.asarray(normals(seed, d, offset, mw.size + mb.size), dtype=np.float32)
            weights.append(mw + sw * z[: mw.size].reshape(mw.shape))
            biases.append(mb + sb * z[mw.size :])
            offset += mw.size + mb.size
        rows = np.arange(X.shape[0]) if block == 0 else counter_below(seed, d, X.shape[0], block)
        out = forward(weights, biases, X[rows])
        counts.append(int(np.count_nonzero(np.argmax(out, axis=1) != labels[rows])))
    return np.array(counts, dtype=np.int64)
