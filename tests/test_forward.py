"""The batched forward pass (_core.forward_float32/64 through Network.forward) against
archbound.reference.forward."""

import itertools

import numpy as np
import pytest

from archbound import Network, _core, reference


def random_network(sizes, seed=0, dtype=np.float64):
    """He-scaled random weights and small biases, so activations stay O(1) at any depth."""
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((out, into)) * np.sqrt(2.0 / into)).astype(dtype)
        for into, out in itertools.pairwise(sizes)
    ]
    biases = [(0.1 * rng.standard_normal(out)).astype(dtype) for out in sizes[1:]]
    return weights, biases


def rel_error(got, want):
    return np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)


ARCHITECTURES = {
    "shallow": [5, 7, 3],
    "deep-narrow": [4] + [3] * 12 + [2],
    "wide": [20, 600, 1],
    "non-monotone": [30, 64, 8, 200, 16, 5],
}
# Sample counts on both sides of the block boundaries: a single block (the serial path), one
# full block, and many blocks run in parallel (with a partial last block).
SAMPLE_COUNTS = [1, 3, 16, 17, 255, 2049]


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("n", SAMPLE_COUNTS)
def test_float64_matches_reference(arch, n):
    sizes = ARCHITECTURES[arch]
    weights, biases = random_network(sizes, seed=n)
    X = np.random.default_rng(n + 1).standard_normal((n, sizes[0]))
    got = Network(weights, biases).forward(X)
    want = reference.forward(weights, biases, X)
    assert got.shape == (n, sizes[-1])
    assert got.dtype == np.float64
    assert rel_error(got, want) <= 1e-12


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("n", [3, 17, 2049])
def test_float32_matches_reference(arch, n):
    sizes = ARCHITECTURES[arch]
    weights, biases = random_network(sizes, seed=n)
    X = np.random.default_rng(n + 2).standard_normal((n, sizes[0])).astype(np.float32)
    got = Network(weights, biases).forward(X)
    assert got.dtype == np.float32
    # float32 against the float64 truth, and against the float32 NumPy loop.
    truth = reference.forward(weights, biases, X.astype(np.float64))
    assert rel_error(got, truth) <= 1e-5
    weights32 = [w.astype(np.float32) for w in weights]
    biases32 = [b.astype(np.float32) for b in biases]
    assert rel_error(got, reference.forward(weights32, biases32, X)) <= 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 16, 700, 3000])
def test_thread_count_does_not_change_the_result(dtype, n):
    weights, biases = random_network([40, 300, 100, 300, 6], seed=3)
    network = Network(weights, biases)
    X = np.random.default_rng(4).standard_normal((n, 40)).astype(dtype)
    one = network.forward(X, threads=1)
    two = network.forward(X, threads=2)
    default = network.forward(X)
    assert np.array_equal(one, two)
    assert np.array_equal(one, default)


def test_relu_is_applied_to_hidden_layers_only():
    # W_1 = [1, -1]^T: one hidden unit is negative for x > 0; the output layer is linear and
    # keeps negative values.
    weights = [np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0], [-2.0, -3.0]])]
    biases = [np.zeros(2), np.array([0.0, -1.0])]
    X = np.array([[2.0], [-3.0]])
    expected = np.array([[2.0, -5.0], [3.0, -10.0]])
    assert np.array_equal(Network(weights, biases)(X), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_core_empty_batch(dtype):
    weights, biases = random_network([4, 6, 3], dtype=dtype)
    forward = getattr(_core, f"forward_{dtype}")
    out = forward(np.zeros((0, 4), dtype=dtype), weights, biases, 0)
    assert out.T.shape == (0, 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_core_checks_shapes(dtype):
    weights, biases = random_network([4, 6, 3], dtype=dtype)
    forward = getattr(_core, f"forward_{dtype}")
    X = np.ones((2, 4), dtype=dtype)
    with pytest.raises(ValueError, match=r"weights\[0\] has 4 columns, expected 5"):
        forward(np.ones((2, 5), dtype=dtype), weights, biases, 0)
    with pytest.raises(ValueError, match=r"biases\[1\] has length 2, expected 3"):
        forward(X, weights, [biases[0], biases[1][:2]], 0)
    with pytest.raises(ValueError, match="one bias per weight"):
        forward(X, weights, biases[:1], 0)
    with pytest.raises(ValueError, match="at least one layer"):
        forward(X, [], [], 0)


def test_int_input_is_computed_in_float64():
    weights, biases = random_network([3, 4, 2])
    X = np.arange(6).reshape(2, 3)
    got = Network(weights, biases)(X)
    assert got.dtype == np.float64
    assert rel_error(got, reference.forward(weights, biases, X.astype(float))) <= 1e-14


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_give_the_same_answer(dtype):
    weights, biases = random_network([12, 30, 4], seed=5)
    network = Network(weights, biases)
    X = np.random.default_rng(6).standard_normal((300, 12)).astype(dtype)
    base = network(X)
    strided = np.zeros((300, 24), dtype=dtype)
    strided[:, ::2] = X
    for variant in [np.asfortranarray(X), strided[:, ::2], X[::-1][::-1]]:
        assert np.array_equal(network(variant), base)
    # A different number of samples may block the GEMMs differently: equal to rounding.
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    assert rel_error(network(X[::2]), base[::2]) <= tolerance


def test_input_is_not_modified_and_output_does_not_alias():
    weights, biases = random_network([5, 8, 5], seed=7)
    network = Network(weights, biases)
    X = np.random.default_rng(8).standard_normal((20, 5))
    copy = X.copy()
    out = network(X)
    assert np.array_equal(X, copy)
    assert not np.shares_memory(out, X)
    assert out.flags.writeable


@pytest.mark.parametrize(
    "X, error, words",
    [
        (np.full((2, 5), np.nan), ValueError, ["X", "NaN"]),
        (np.full((2, 5), -np.inf), ValueError, ["X", "inf"]),
        (np.ones(5), ValueError, ["X", "2-dimensional"]),
        (np.ones((2, 5, 1)), ValueError, ["X", "2-dimensional"]),
        (np.ones((2, 4)), ValueError, ["X", "4 features", "5 inputs"]),
        (np.zeros((0, 5)), ValueError, ["X", "empty"]),
        (np.ones((2, 5), dtype=complex), TypeError, ["X", "complex"]),
        (np.ones((2, 5), dtype=object), TypeError, ["X", "object"]),
        (np.full((2, 5), "1"), TypeError, ["X", "string"]),
        (None, TypeError, ["X"]),
    ],
)
def test_bad_input(X, error, words):
    weights, biases = random_network([5, 8, 5])
    with pytest.raises(error) as excinfo:
        Network(weights, biases).forward(X)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize("threads", [0, -2, 2.0, "2"])
def test_bad_threads(threads):
    weights, biases = random_network([5, 8, 5])
    with pytest.raises(ValueError, match="threads"):
        Network(weights, biases).forward(np.ones((2, 5)), threads=threads)


@pytest.fixture
def scipy_blas():
    """SciPy's BLAS backend (skipped under ARCHBOUND_BLAS=eigen), restored afterwards."""
    backend = _core.blas_backend()
    if backend == "eigen":
        pytest.skip("SciPy's BLAS is not in use (ARCHBOUND_BLAS=eigen)")
    yield backend
    _core.use_blas(True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, 1000])
def test_eigen_and_scipy_blas_kernels_agree(scipy_blas, dtype, n):
    assert scipy_blas.startswith("scipy")
    weights, biases = random_network([50, 200, 64, 7], seed=9)
    network = Network(weights, biases)
    X = np.random.default_rng(10).standard_normal((n, 50)).astype(dtype)
    with_blas = network(X)
    _core.use_blas(False)
    assert _core.blas_backend() == "eigen"
    with_eigen = network(X)
    _core.use_blas(True)
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    assert rel_error(with_blas, with_eigen) <= tolerance
    assert rel_error(with_eigen, reference.forward(weights, biases, X.astype(np.float64))) <= (
        tolerance
    )
