"""Classic capacity measures and the bounds they give, with certified norms (docs/capacity.md).

VC dimension and parameter counts grow with depth and width; norm-based measures grow with
the weights. :func:`capacity_bounds` computes both kinds for any :class:`~archbound.Network`,
so that they can be set beside the architecture-independent bounds of arXiv:2504.05695.
Every spectral norm is a certified upper bound (:func:`archbound.opnorms`), so every value
called a bound is an upper bound with probability at least ``1 - delta``; Frobenius and
(2,1) norms are exact.

Biases are folded into the weights: the input x becomes x~ = [x; 1], a hidden layer
(W_l, b_l) the matrix [[W_l, b_l], [0, 1]] of shape (M_l + 1, M_{l-1} + 1), whose last unit
carries the constant 1 (relu(1) = leaky_relu(1) = 1; for other activations the constant
unit is passed on unchanged, a vector map that is max(rho, 1)-Lipschitz), and the output
layer the matrix [W_{L+1}, b_{L+1}] of shape (Q, M_L + 1). An activation with
c = sigma(0) != 0 (sigmoid, softplus) is first written as sigma - c, which vanishes at 0,
with c W_{l+1} 1 added to the next layer's bias: the same function. The augmented network
has no biases and computes f(x) from x~ exactly. Which bound holds for which activation:
docs/capacity.md.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from archbound._json import json_safe
from archbound._validation import SeedLike, check_scalar
from archbound.bounds import TrainingSet, check_classes
from archbound.capacity_theorems import (
    _NORM_FLOOR,
    HOMOGENEOUS,
    PIECES,
    PIECEWISE_LINEAR_PIECES,
    _bartlett,
    _margins,
    _neyshabur,
    log_growth,
    spectral_complexity,
    vc_dimension_bound,
)
from archbound.network import Network
from archbound.opnorm import NormEstimate, _opnorms

#: The failure probability ``delta`` is spent in halves: one half on the certified spectral
#: norms (split over the layers by :func:`archbound.opnorms`), the other split equally over
#: the three risk bounds (VC, Bartlett et al., Neyshabur et al.).
RISK_BOUNDS = ("vc_bound", "bartlett_bound", "neyshabur_bound")


@dataclass(frozen=True)
class CapacityReport:
    """Classic capacity measures of one network on one training set, and their bounds.

    Every spectral norm in it is a certified upper bound; every field named ``*_bound``
    that bounds a risk holds, with all the others, with probability at least ``1 - delta``
    over the draw of the training set and the norm estimators' start vectors. The risks
    bounded are population risks of the classifier x -> argmax_j f(x)_j (ties count as
    errors), not the error on a given test set. Formulas, constants and sources are in
    docs/capacity.md; n = N is the number of training samples, d = L + 1 the number of
    weight matrices, W~_l the bias-augmented matrices of the module docstring.

    Attributes
    ----------
    n_parameters : int
        W = sum_l M_l (M_{l-1} + 1), the weights and biases.
    vc_dimension : float
        An upper bound on the VC dimension of {x -> sgn(g(x))}, g a network of this
        architecture and piecewise-linear activation with one output (Bartlett, Harvey,
        Liaw, Mehrabian, JMLR 20(63), 2019, Theorem 7, degree 1, evaluated at p = 2, or 3
        for hardtanh and relu6, see :data:`PIECEWISE_LINEAR_PIECES`); NaN for the others:
        d + Lbar W1 log2(4 e p R log2(2 e p R)), R = sum_i i k_i, over the d layers of units
        k_i (k_d = 1), W1 the parameters of that one-output architecture and Lbar W1 the
        sum over layers i of the parameters of layers 1..i.
    vc_bound : float
        Bound on P(argmax f(x) != y): train_error + sqrt((8/n) (ln S + ln(4/delta_r))),
        S the growth function of the 0-1 loss at 2n points, ln S <= min(2n ln 2,
        Q(Q-1) D ln(2 e n / D)) with D = vc_dimension (Vapnik's inequality; Sauer's lemma,
        one growth function per ordered pair of outputs, the second when 2n >= D). NaN for
        an activation that is not piecewise linear.
    spectral_complexity : float
        R_A = prod_l rho_l s_l (sum_l (b_l / s_l)^(2/3))^(3/2) of Bartlett, Foster,
        Telgarsky (NeurIPS 2017), rho_l the Lipschitz constant of the hidden layers' map
        (rho, or max(rho, 1) for an activation that is not positively homogeneous; 1 for the
        output layer), s_l the certified ||W~_l||_2 and b_l = ||(W~_l - M~_l)^T||_{2,1},
        the sum of the l2 norms of the rows of W~_l - M~_l (M_l = 0, or ``reference``).
    bartlett_bound : float
        Bound on P(argmax f(x) != y), Bartlett et al. 2017, Lemma A.8, with a union bound
        over a grid of (s_l, b_l, gamma) (docs/capacity.md); NaN when margin <= 0.
    neyshabur_bound : float
        Bound on P(argmax f(x) != y), Neyshabur, Bhojanapalli, Srebro (ICLR 2018), the
        proof of Theorem 1 (docs/capacity.md); valid when every input x of the distribution
        has |x~| <= input_norm, the largest training norm (an assumption on the data).
        NaN when margin <= 0, and for an activation that is not positively homogeneous.
    golowich_bound : float
        rho^L B (sqrt(2 ln(2) d) + 1) prod_l ||W~_l||_F / sqrt(n), B = input_norm (NaN for
        an activation that is not positively homogeneous): a bound on the
        empirical Rademacher complexity, on the training inputs, of each output of the
        networks whose augmented layers have these Frobenius norms (Golowich, Rakhlin,
        Shamir, COLT 2018, Theorem 1). A complexity, not a risk.
    path_norm : float
        The l2 path norm of the augmented network (Neyshabur, Tomioka, Srebro, COLT 2015):
        sqrt(sum_j g(1)_j), g the network with every weight and bias squared, on the input
        of ones. Exact.
    margin : float
        gamma, the ``margin_quantile`` quantile of f(x_i)_{y_i} - max_{j != y_i} f(x_i)_j
        over the training set; negative when that many training samples are misclassified.
    margin_quantile : float
    train_error : float
        The fraction of training samples with argmax f(x_i) != y_i.
    n_samples : int
        n = N.
    depth : int
        L, the number of hidden layers.
    spectral_norms : tuple of NormEstimate
        The certified spectral norms of W~_1..W~_d (``upper`` is s_l).
    frobenius_norms : tuple of float
        ||W~_l||_F.
    norms_21 : tuple of float
        b_l.
    input_norm : float
        max_i |x~_i| = max_i sqrt(|x_i|^2 + 1).
    data_norm : float
        ||X~||_F = sqrt(||X||_F^2 + n).
    delta : float
        The failure probability of the whole report.
    unavailable : dict
        Field name -> why it is NaN.
    seconds : float
    """

    n_parameters: int
    vc_dimension: float
    vc_bound: float
    spectral_complexity: float
    bartlett_bound: float
    neyshabur_bound: float
    golowich_bound: float
    path_norm: float
    margin: float
    margin_quantile: float
    train_error: float
    n_samples: int
    depth: int
    spectral_norms: tuple
    frobenius_norms: tuple
    norms_21: tuple
    input_norm: float
    data_norm: float
    delta: float
    unavailable: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """A JSON-safe dict (NaN and infinities as None), norms as {estimate, upper}."""
        out = asdict(self)
        out["spectral_norms"] = [
            {"estimate": e.estimate, "upper": e.upper, "method": e.method}
            for e in self.spectral_norms
        ]
        return json_safe(out)


def augmented_layers(weights, biases, at_zero: float = 0.0) -> list[np.ndarray]:
    """The bias-augmented matrices W~_1..W~_d of a network (see the module docstring).

    Parameters
    ----------
    weights, biases : sequences of ndarray
        W_l of shape (M_l, M_{l-1}) and b_l of shape (M_l,), l = 1..d.
    at_zero : float, default 0.0
        c = sigma(0) of the hidden activation: the biases of layers 2..d become
        b_l + c W_l 1, those of the network with the activation sigma - c.

    Returns
    -------
    list of ndarray
        Hidden layers of shape (M_l + 1, M_{l-1} + 1), the output layer (Q, M_L + 1).
    """
    out = []
    for index, (w, b) in enumerate(zip(weights, biases)):
        hidden = index + 1 < len(weights)
        a = np.zeros((w.shape[0] + hidden, w.shape[1] + 1))
        a[: w.shape[0], : w.shape[1]] = w
        a[: w.shape[0], -1] = b if index == 0 or at_zero == 0 else b + at_zero * w.sum(axis=1)
        if hidden:
            a[-1, -1] = 1.0
        out.append(a)
    return out


def capacity_bounds(
    net: Network,
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None,
    *,
    delta: float | None = None,
    margin_quantile: float = 0.1,
    reference: Network | None = None,
    seed: SeedLike = None,
    threads: int | None = None,
) -> CapacityReport:
    """Classic capacity measures of a network and the generalization bounds they give.

    Each bound is computed where its theorem holds for the network's activation
    (docs/capacity.md): Bartlett et al. for every activation (its rho_i-Lipschitz
    constants enter R_A); Neyshabur et al. and Golowich et al. for the positively
    homogeneous ones (relu, leaky_relu, identity); the VC bound for the piecewise-linear
    ones (relu, leaky_relu, hardtanh, relu6, identity). A bound that does not hold is NaN
    (None in :meth:`CapacityReport.to_dict`), with the reason in ``unavailable``.

    Parameters
    ----------
    net : Network
        Any network (constructed, trained, read from scikit-learn or PyTorch) with Q >= 2
        outputs, read as the classifier x -> argmax_j f(x)_j.
    X_train : array_like of shape (N, M0), or TrainingSet
        The training inputs, or a :class:`~archbound.TrainingSet` (which carries the
        labels, delta, seed and threads: leave those None).
    Y_train : array_like of shape (N,) or (N, Q), or None with a TrainingSet
        Class labels in 0..Q-1, or one-hot rows.
    delta : float, default 1e-6
        Failure probability of the whole report, in (0, 1): delta / 2 for the certified
        spectral norms, delta / 6 for each of the three risk bounds.
    margin_quantile : float, default 0.1
        The quantile of the training margins taken as gamma, in (0, 1): the margin bounds
        then pay about this fraction of margin errors for a gamma that 90% of the training
        samples exceed.
    reference : Network, optional
        Reference matrices M_l of the spectral complexity (the initialization, say): a
        network of the same widths as ``net``. Default: M_l = 0.
    seed : int or numpy.random.Generator, optional
        Seeds the norm estimators.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS``.

    Returns
    -------
    CapacityReport

    Raises
    ------
    ValueError
        Naming the argument: shapes, NaN or inf, labels outside 0..Q-1 or rows that are not
        one-hot, Q < 2, ``margin_quantile`` or ``delta`` outside (0, 1), a ``reference`` of
        other widths.

    References
    ----------
    P. L. Bartlett, N. Harvey, C. Liaw, A. Mehrabian, "Nearly-tight VC-dimension and
    pseudodimension bounds for piecewise linear neural networks", JMLR 20(63), 2019.
    P. L. Bartlett, D. J. Foster, M. Telgarsky, "Spectrally-normalized margin bounds for
    neural networks", NeurIPS 2017. B. Neyshabur, S. Bhojanapalli, N. Srebro, "A
    PAC-Bayesian approach to spectrally-normalized margin bounds for neural networks", ICLR
    2018. N. Golowich, A. Rakhlin, O. Shamir, "Size-independent sample complexity of neural
    networks", COLT 2018. B. Neyshabur, R. Tomioka, N. Srebro, "Norm-based capacity
    control in neural networks", COLT 2015. V. N. Vapnik, "Statistical Learning Theory",
    Wiley 1998.
    """
    train = TrainingSet.of(net, X_train, Y_train, delta=delta, seed=seed, threads=threads)
    if net.output_dim < 2:
        raise ValueError(
            f"net has Q = {net.output_dim} output; the capacity bounds classify by argmax "
            "and need Q >= 2 outputs"
        )
    classes = check_classes(train.Y_train, "Y_train")
    quantile = check_scalar(
        margin_quantile,
        "margin_quantile",
        numbers.Real,
        min_val=0.0,
        max_val=1.0,
        include_boundaries="neither",
    )
    if reference is not None:
        if not isinstance(reference, Network):
            raise TypeError(
                f"reference must be an archbound.Network or None, got {type(reference).__name__}"
            )
        if reference.widths != net.widths:
            raise ValueError(
                f"reference has widths {reference.widths}, but net has {net.widths}; the "
                "reference matrices must have the shapes of the network's"
            )
    return _capacity(
        net,
        train.X_train,
        classes,
        delta=train.delta,
        quantile=quantile,
        reference=reference,
        seed=train.draw_seed(),
        threads=train.threads,
    )


def _capacity(net, X, classes, *, delta, quantile, reference, seed, threads) -> CapacityReport:
    """:func:`capacity_bounds` on validated arguments."""
    start = time.perf_counter()
    n, q, widths = X.shape[0], net.output_dim, net.widths
    sigma = net.activation
    at_zero = 0.0 if sigma.abs_at_zero == 0 else float(sigma.forward(np.zeros(1))[0])
    layers = augmented_layers(net.weights, net.biases, at_zero)
    rho = sigma.lipschitz if sigma.name in HOMOGENEOUS else max(sigma.lipschitz, 1.0)
    # prod_l rho_l over the hidden layers, rounded up.
    lipschitz = 1.0 if rho == 1.0 else math.nextafter(rho**net.depth, math.inf) * (1 + 1e-15)
    estimates: list[NormEstimate] = _opnorms(layers, delta=delta / 2, seed=seed, threads=threads)
    # Rounded up to a positive floor (an upper bound stays one): an all-zero output layer.
    spectral = [max(e.upper, _NORM_FLOOR) for e in estimates]
    # One pass over each matrix: its row norms give ||W~||_F and, for M = 0, b_l.
    row_norms = [np.sqrt(np.einsum("ij,ij->i", a, a)) for a in layers]
    frobenius = [float(math.sqrt(np.sum(r * r))) for r in row_norms]
    if reference is None:
        norms_21 = [float(r.sum()) for r in row_norms]
    else:
        references = augmented_layers(reference.weights, reference.biases)
        norms_21 = [float(np.linalg.norm(a - m, axis=1).sum()) for a, m in zip(layers, references)]
    outputs = net._forward(X, threads)
    margins = _margins(outputs, classes)
    gamma = float(np.quantile(margins, quantile))
    train_error = float(np.mean(outputs.argmax(axis=1) != classes))
    squares = Network._trusted([w * w for w in net.weights], [b * b for b in net.biases])
    path_norm = math.sqrt(float(squares._forward(np.ones((1, net.input_dim)), threads).sum()))
    input_norms = np.sqrt(np.einsum("ij,ij->i", X, X) + 1.0)
    ctx = {
        "n": n,
        "spectral": spectral,
        "frobenius": frobenius,
        "norms_21": norms_21,
        "margins": margins,
        "widths": [w + 1 for w in widths[:-1]] + [widths[-1]],
        "input_norm": float(input_norms.max()),
        "data_norm": float(math.sqrt(np.sum(input_norms**2))),
        "lipschitz": lipschitz,
    }
    share = delta / 2 / len(RISK_BOUNDS)
    unavailable = {}
    pieces = PIECEWISE_LINEAR_PIECES.get(sigma.name)
    vc_dimension = vc_bound = math.nan
    if pieces is None:
        unavailable["vc_dimension"] = unavailable["vc_bound"] = (
            f"the activation {sigma} is not piecewise linear: Bartlett, Harvey, Liaw and "
            "Mehrabian's VC-dimension bound holds for piecewise-polynomial activations with "
            "finitely many pieces, and this one has none"
        )
    else:
        vc_dimension = vc_dimension_bound(widths[:-1] + [1], pieces)
        # The loss x -> 1[argmax f(x) != y] is binary, so also S <= 2^(2n).
        log_s = min(q * (q - 1) * log_growth(2 * n, vc_dimension), 2 * n * math.log(2.0))
        vc_bound = train_error + math.sqrt(8.0 / n * (log_s + math.log(4.0 / share)))
    bartlett = neyshabur = math.nan
    if gamma <= 0:
        why = (
            f"the margin gamma = {gamma:.3g} (the {quantile:g} quantile of the training "
            "margins) is not positive: a margin bound needs gamma > 0"
        )
        unavailable.update({"bartlett_bound": why, "neyshabur_bound": why})
    elif n < 2:
        why = "a margin bound needs N >= 2 training samples"
        unavailable.update({"bartlett_bound": why, "neyshabur_bound": why})
    else:
        bartlett = _bartlett(ctx, gamma, share)
        neyshabur = _neyshabur(ctx, gamma, share)
    depth = len(layers)
    golowich = (
        lipschitz
        * ctx["input_norm"]
        * (math.sqrt(2.0 * math.log(2.0) * depth) + 1.0)
        * float(np.prod(frobenius))
        / math.sqrt(n)
    )
    if sigma.name not in HOMOGENEOUS:
        why = (
            f"the activation {sigma} is not positively homogeneous (sigma(c z) = c sigma(z) "
            "for c > 0): {} needs it"
        )
        golowich = neyshabur = math.nan
        unavailable["golowich_bound"] = why.format("Golowich, Rakhlin and Shamir's Theorem 1")
        unavailable["neyshabur_bound"] = why.format(
            "the proof of Neyshabur, Bhojanapalli and Srebro's Theorem 1 rescales the layers and"
        )
    return CapacityReport(
        n_parameters=int(sum(w.size + b.size for w, b in zip(net.weights, net.biases))),
        vc_dimension=vc_dimension,
        vc_bound=vc_bound,
        spectral_complexity=lipschitz * spectral_complexity(spectral, norms_21),
        bartlett_bound=bartlett,
        neyshabur_bound=neyshabur,
        golowich_bound=golowich,
        path_norm=path_norm,
        margin=gamma,
        margin_quantile=quantile,
        train_error=train_error,
        n_samples=n,
        depth=net.depth,
        spectral_norms=tuple(estimates),
        frobenius_norms=tuple(frobenius),
        norms_21=tuple(norms_21),
        input_norm=ctx["input_norm"],
        data_norm=ctx["data_norm"],
        delta=delta,
        unavailable=unavailable,
        seconds=time.perf_counter() - start,
    )


__all__ = [
    "HOMOGENEOUS",
    "PIECES",
    "PIECEWISE_LINEAR_PIECES",
    "CapacityReport",
    "augmented_layers",
    "capacity_bounds",
    "log_growth",
    "spectral_complexity",
    "vc_dimension_bound",
]
