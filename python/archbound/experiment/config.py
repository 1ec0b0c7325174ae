"""The experiment's options: :class:`ExperimentConfig`, its defaults, :func:`resolve` and
:func:`plan` (arXiv:2504.05695, docs/design.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from archbound.bounds import ANY_NETWORK_VARIANTS, VARIANTS
from archbound.construct import METHODS
from archbound.experiment.trained import DEFAULT_EPOCHS, DEFAULT_HIDDEN

#: Field metadata: the option is recorded in results.json's ``config``.
_IN_RESULTS = {"results": True}

#: The constructions of the sweep, in the order they are reported.
CONSTRUCTIONS = METHODS

# N <= rank: digits has M0 = 64 but rank 61 (three pixels are always blank), and random
# subsets lose rank beyond about N = 50 because more border pixels are blank in all of them.
DEFAULT_N_TRAIN = {
    "digits": [10, 20, 30, 40, 50],
    "fashion-mnist": [25, 50, 100, 200, 400, 600, 760],
}
DEFAULT_WIDTHS = {"digits": [16, 64, 256]}
DEFAULT_WIDTHS_LARGE = [64, 256, 1024]
DEFAULT_DEPTHS = [1, 2, 4, 8]
# --quick: every other default N (the largest kept), two depths, two widths, 200 test samples
QUICK = {"depths": [1, 2], "widths": [16, 64], "n_test": 200}


@dataclass
class ExperimentConfig:
    """Options of :func:`run_experiment`; None means the dataset's default.

    Attributes
    ----------
    dataset : str
        ``"digits"``, ``"fashion-mnist"`` or a directory of IDX files.
    n_train : list of int, optional
        Training-set sizes N. Default: digits 10..50; Fashion-MNIST 25..760; other
        directories 25, 50, 100, ... below M0 and about 0.97 M0.
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
        :data:`archbound.experiment.trained.DEFAULT_HIDDEN`.
    trained_epochs : int
        The training budget, in epochs of ``MLPRegressor.partial_fit``.
    capacity : bool
        Also compute the classic capacity bounds of every network
        (:mod:`archbound.experiment.capacity`; results.json's ``capacity``).
    """

    dataset: str = field(default="digits", metadata=_IN_RESULTS)
    n_train: list[int] | None = field(default=None, metadata=_IN_RESULTS)
    depths: list[int] | None = field(default=None, metadata=_IN_RESULTS)
    widths: list[int] | None = field(default=None, metadata=_IN_RESULTS)
    n_test: int | None = field(default=None, metadata=_IN_RESULTS)
    variants: list[str] = field(default_factory=lambda: list(VARIANTS), metadata=_IN_RESULTS)
    seed: int = field(default=0, metadata=_IN_RESULTS)
    delta: float = field(default=1e-6, metadata=_IN_RESULTS)
    quick: bool = field(default=False, metadata=_IN_RESULTS)
    threads: int | None = None
    trained: bool = False
    trained_hidden: list[list[int]] | None = None
    trained_epochs: int = DEFAULT_EPOCHS
    capacity: bool = False

    def results_dict(self) -> dict[str, Any]:
        """The options results.json records (its ``config``), in order."""
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.metadata.get("results")
        }


def _default_n_train(dataset: str, input_dim: int) -> list[int]:
    values, n = [], 25
    while n < 0.97 * input_dim:
        values.append(n)
        n *= 2
    return values + [int(0.97 * input_dim)] if input_dim >= 26 else [max(1, input_dim - 1)]


def _check_list(values, name: str, minimum: int = 1) -> list[int]:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    for value in values:
        if int(value) != value or value < minimum:
            raise ValueError(f"{name} must hold integers >= {minimum}, got {value}")
    return sorted({int(v) for v in values})


def resolve(config: ExperimentConfig, input_dim: int | None = None) -> ExperimentConfig:
    """Fill in the defaults that do not need the data (N needs M0 for IDX directories)."""
    name = config.dataset
    quick = config.quick
    n_train = config.n_train
    if n_train is None:
        n_train = DEFAULT_N_TRAIN.get(name)
        if n_train is None and input_dim is not None:
            n_train = _default_n_train(name, input_dim)
        if n_train is not None and quick:
            n_train = n_train[::-2][::-1]
    depths = config.depths or (QUICK["depths"] if quick else DEFAULT_DEPTHS)
    widths = config.widths or (
        QUICK["widths"] if quick else DEFAULT_WIDTHS.get(name, DEFAULT_WIDTHS_LARGE)
    )
    n_test = config.n_test if config.n_test is not None else (QUICK["n_test"] if quick else None)
    for variant in config.variants:
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown bound variant {variant!r}: choose from {', '.join(VARIANTS)}"
            )
    if n_test is not None and n_test < 1:
        raise ValueError(f"n_test must be >= 1, got {n_test}")
    return ExperimentConfig(
        dataset=name,
        n_train=None if n_train is None else _check_list(n_train, "n_train"),
        depths=_check_list(depths, "depths"),
        widths=_check_list(widths, "widths"),
        n_test=n_test,
        variants=[v for v in VARIANTS if v in config.variants],
        seed=int(config.seed),
        delta=float(config.delta),
        quick=bool(quick),
        threads=config.threads,
        capacity=bool(config.capacity),
        **_resolve_trained(config),
    )


def _resolve_trained(config: ExperimentConfig) -> dict:
    """The --trained options, checked (they only matter when ``trained`` is set)."""
    hidden = config.trained_hidden or DEFAULT_HIDDEN
    hidden = [list(h) for h in hidden]
    for widths in hidden:
        if not widths or any(int(w) != w or w < 1 for w in widths):
            raise ValueError(f"trained_hidden must hold lists of widths >= 1, got {hidden}")
    hidden = [[int(w) for w in h] for h in hidden]
    epochs = config.trained_epochs
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"trained_epochs must be an integer >= 1, got {epochs}")
    return {
        "trained": bool(config.trained),
        "trained_hidden": hidden,
        "trained_epochs": int(epochs),
    }


def plan(config: ExperimentConfig) -> list[tuple[int, int, int, str]]:
    """Every network the sweep builds: (N, depth, width, construction)."""
    out = []
    for n in config.n_train:
        for depth in config.depths:
            for width in config.widths:
                out.append((n, depth, width, "readout_first"))
                if width >= n:
                    out.append((n, depth, width, "readout_last"))
    return out


__all__ = [
    "ANY_NETWORK_VARIANTS",
    "CONSTRUCTIONS",
    "DEFAULT_DEPTHS",
    "DEFAULT_N_TRAIN",
    "DEFAULT_WIDTHS",
    "DEFAULT_WIDTHS_LARGE",
    "QUICK",
    "ExperimentConfig",
    "plan",
    "resolve",
]
