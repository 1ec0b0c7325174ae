"""Type stub of archbound's compiled core (cpp/bindings.cpp). Internal: use the package.

Arrays are C-contiguous; a (n, d) array is the core's d x n column-major matrix. Results are
typed objects whose matrices are NumPy views of the result's own memory: read-only, but for
the nearest results', which are writable (nothing else holds them).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

_F64 = NDArray[np.float64]
_F32 = NDArray[np.float32]
_I64 = NDArray[np.int64]

class _Pybind11Type(type):
    """pybind11's metaclass of the result types (pybind11_builtins.pybind11_type)."""

class _Result(metaclass=_Pybind11Type):
    """A result type: made by the core's functions only (calling it raises TypeError)."""

    def __init__(self, /, *args: Any, **kwargs: Any) -> None: ...

class PinvResult(_Result):
    @property
    def pinv(self) -> _F64: ...  # (n, m) of the (m, n) input, Fortran-ordered
    @property
    def rank(self) -> int: ...
    @property
    def sigma_max(self) -> float: ...
    @property
    def sigma_min(self) -> float: ...
    @property
    def fast_path(self) -> bool: ...

class ConstructedNetwork(_Result):
    @property
    def weights(self) -> list[_F64]: ...
    @property
    def biases(self) -> list[_F64]: ...
    @property
    def input_rank(self) -> int: ...
    @property
    def readout(self) -> _F64: ...
    @property
    def beta(self) -> float: ...

class NormResult(_Result):
    @property
    def estimate(self) -> float: ...
    @property
    def upper(self) -> float: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def method(self) -> str: ...

class NearestResultFloat32(_Result):
    @property
    def values(self) -> _F32: ...  # (m, K)
    @property
    def indices(self) -> _I64: ...  # (m, K)
    @property
    def distances(self) -> _F32: ...  # (m, K)

class NearestResultFloat64(_Result):
    @property
    def values(self) -> _F64: ...
    @property
    def indices(self) -> _I64: ...
    @property
    def distances(self) -> _F64: ...

def pinv(a: _F64, rcond: float, threads: int, report_estimates: bool = ...) -> PinvResult: ...
def readout_first(
    x: _F64, y: _F64, widths: Sequence[int], rcond: float, threads: int
) -> ConstructedNetwork: ...
def readout_last(
    x: _F64, y: _F64, widths: Sequence[int], seed: int, rcond: float, threads: int
) -> ConstructedNetwork: ...
def forward_float32(
    x: _F32,
    weights: Sequence[_F32],
    biases: Sequence[_F32],
    threads: int,
    activation: int = ...,
    parameter: float = ...,
) -> _F32: ...
def forward_float64(
    x: _F64,
    weights: Sequence[_F64],
    biases: Sequence[_F64],
    threads: int,
    activation: int = ...,
    parameter: float = ...,
) -> _F64: ...
def stochastic_errors(
    x: _F32,
    labels: _I64,
    weight_mean: Sequence[_F32],
    weight_sigma: Sequence[_F32],
    bias_mean: Sequence[_F32],
    bias_sigma: Sequence[_F32],
    draws: int,
    block: int,
    seed: int,
    threads: int,
) -> _I64: ...
def counter_normals(seed: int, stream: int, first: int, count: int) -> _F32: ...
def counter_below(
    seed: int, stream: int, n: int, count: int, counter: int
) -> NDArray[np.uint64]: ...
def opnorm(
    w: _F64, method: str, delta: float, rtol: float, max_iter: int, seed: int, threads: int
) -> NormResult: ...
def opnorms(
    weights: Sequence[_F64],
    methods: Sequence[str],
    delta: float,
    rtol: float,
    max_iter: int,
    seeds: Sequence[int],
    threads: int,
) -> list[NormResult]: ...
def nearest_workspace_bytes(
    m: int, n: int, d: int, q: int, objectives: int, block_size: int, threads: int, itemsize: int
) -> float: ...
def default_threads() -> int: ...
def nearest_float32(
    test: _F32,
    train: _F32,
    alphas: _F32,
    test_labels: _F32 | None,
    train_labels: _F32 | None,
    offsets: _F32 | None,
    test_classes: _I64 | None,
    train_classes: _I64 | None,
    block_size: int,
    threads: int,
    with_distances: bool = ...,
) -> NearestResultFloat32: ...
def nearest_float64(
    test: _F64,
    train: _F64,
    alphas: _F64,
    test_labels: _F64 | None,
    train_labels: _F64 | None,
    offsets: _F64 | None,
    test_classes: _I64 | None,
    train_classes: _I64 | None,
    block_size: int,
    threads: int,
    with_distances: bool = ...,
) -> NearestResultFloat64: ...
def simd_instruction_sets() -> str: ...
def compiled_isa() -> str: ...
def all_finite(a: _F32 | _F64, threads: int) -> bool: ...
def set_blas(
    dgemm: Any,
    sgemm: Any,
    dtrsm: Any,
    dgeqrf: Any,
    dorgqr: Any,
    dgesdd: Any,
    description: str,
) -> None: ...
def use_blas(on: bool) -> None: ...
def blas_backend() -> str: ...
