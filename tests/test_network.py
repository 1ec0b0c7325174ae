"""archbound.Network: construction from weights, read-only copies, save/load, bad input."""

import itertools

import numpy as np
import pytest

from archbound import Construction, Network, construct_minimizer, reference
from archbound._validation import DTypeError


def layers(sizes=(4, 6, 5, 2), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((o, i)).astype(dtype) for i, o in itertools.pairwise(sizes)]
    biases = [rng.standard_normal(o).astype(dtype) for o in sizes[1:]]
    return weights, biases


def test_shapes_and_properties():
    weights, biases = layers((4, 6, 5, 2))
    network = Network(weights, biases)
    assert network.widths == [4, 6, 5, 2]
    assert network.depth == 2
    assert network.input_dim == 4 and network.output_dim == 2
    assert isinstance(network.weights, tuple) and len(network.weights) == 3
    for got, want in zip(network.weights + network.biases, weights + biases):
        assert got.dtype == np.float64
        assert np.array_equal(got, want)
    assert network.construction is None
    assert repr(network) == "Network(widths=[4, 6, 5, 2])"
    X = np.random.default_rng(1).standard_normal((7, 4))
    assert np.array_equal(network(X), network.forward(X))
    assert np.allclose(network(X), reference.forward(weights, biases, X), rtol=1e-12, atol=0)


def test_tuples_and_lists_and_integer_weights():
    weights, biases = layers((3, 4, 2))
    ints = [np.rint(w * 3).astype(np.int32) for w in weights]
    network = Network(tuple(ints), tuple(b.tolist() for b in biases))
    assert all(w.dtype == np.float64 for w in network.weights)
    assert np.array_equal(network.weights[0], ints[0].astype(np.float64))


def test_float32_weights_are_stored_in_float64():
    weights, biases = layers(dtype=np.float32)
    network = Network(weights, biases)
    assert all(w.dtype == np.float64 for w in network.weights + network.biases)
    X = np.ones((3, 4), dtype=np.float32)
    assert network(X).dtype == np.float32
    assert network(X.astype(np.float64)).dtype == np.float64


def test_arrays_are_read_only_copies():
    weights, biases = layers()
    network = Network(weights, biases)
    for got, given in zip(network.weights + network.biases, weights + biases):
        assert not got.flags.writeable
        assert not np.shares_memory(got, given)
        with pytest.raises(ValueError):
            got[0] = 1.0
    before = [w.copy() for w in network.weights]
    weights[0][:] = 0.0
    biases[0][:] = 0.0
    for got, want in zip(network.weights, before):
        assert np.array_equal(got, want)
    assert network.biases[0].any()


def test_caller_arrays_are_not_modified():
    weights, biases = layers()
    copies = [a.copy() for a in weights + biases]
    network = Network(weights, biases)
    network(np.ones((3, 4)))
    network(np.ones((3, 4), dtype=np.float32))
    for given, copy in zip(weights + biases, copies):
        assert np.array_equal(given, copy)


def test_float32_forward_is_cached_and_consistent():
    weights, biases = layers(seed=2)
    network = Network(weights, biases)
    X = np.random.default_rng(3).standard_normal((50, 4)).astype(np.float32)
    first = network(X)
    second = network(X)
    assert np.array_equal(first, second)
    assert np.allclose(first, network(X.astype(np.float64)), rtol=1e-5, atol=1e-5)


# --- save / load ------------------------------------------------------------------------


def assert_same_network(a, b):
    assert a.widths == b.widths
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert np.array_equal(x, y)


def test_save_load_round_trip_without_construction(tmp_path):
    network = Network(*layers())
    path = tmp_path / "net.npz"
    network.save(path)
    loaded = Network.load(path)
    assert_same_network(network, loaded)
    assert loaded.construction is None
    loaded_str = Network.load(str(path))
    assert_same_network(network, loaded_str)


@pytest.mark.parametrize("method", ["readout_first", "readout_last"])
def test_save_load_round_trip_with_construction(tmp_path, method):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((8, 12)), rng.standard_normal((8, 3)) - 1.0
    widths = [5, 4] if method == "readout_first" else [10, 9]
    network = construct_minimizer(X, Y, widths, method=method, seed=123)
    path = tmp_path / f"{method}.npz"
    network.save(path)
    loaded = Network.load(path)
    assert_same_network(network, loaded)
    original, restored = network.construction, loaded.construction
    assert isinstance(restored, Construction)
    for field in ["method", "rank", "n_samples", "train_loss", "max_train_error", "beta", "seed"]:
        assert getattr(restored, field) == getattr(original, field)
    if method == "readout_first":
        assert np.array_equal(restored.readout, original.readout)
        assert restored.beta > 0
    else:
        assert restored.readout is None and restored.seed == 123
    held_out = rng.standard_normal((20, 12))
    assert np.array_equal(loaded(held_out), network(held_out))


def test_load_refuses_object_arrays(tmp_path):
    path = tmp_path / "pickled.npz"
    weights, biases = layers((2, 3, 1))
    payload = np.empty(1, dtype=object)
    payload[0] = {"evil": "pickle"}
    np.savez(
        path,
        n_layers=np.array(2),
        weight_0=payload,
        bias_0=biases[0],
        weight_1=weights[1],
        bias_1=biases[1],
    )
    with pytest.raises(ValueError, match="object arrays"):
        Network.load(path)


def test_load_refuses_files_that_are_not_networks(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.ones(3))
    with pytest.raises(ValueError, match="not a network"):
        Network.load(path)
    path = tmp_path / "missing_layer.npz"
    weights, biases = layers((2, 3, 1))
    np.savez(path, n_layers=np.array(2), weight_0=weights[0], bias_0=biases[0])
    with pytest.raises(ValueError, match="weight_1"):
        Network.load(path)


@pytest.mark.parametrize("keep", [0.0, 0.002, 0.1, 0.5, 0.9, 0.999])
def test_load_refuses_a_truncated_file_naming_it(tmp_path, keep):
    good = tmp_path / "net.npz"
    Network(*layers()).save(good)
    data = good.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: int(keep * len(data))])
    assert len(path.read_bytes()) < len(data)
    # A ValueError (zipfile.BadZipFile is not one), whose message names the file.
    with pytest.raises(ValueError) as excinfo:
        Network.load(path)
    assert str(path) in str(excinfo.value)


def test_load_refuses_a_corrupt_archive_naming_it(tmp_path):
    path = tmp_path / "net.npz"
    Network(*layers()).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"weight_0.npy") + 200  # inside that member's array data
    data[start : start + 8] = bytes(8 * [0xFF])
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt") as excinfo:
        Network.load(path)
    assert str(path) in str(excinfo.value)


def test_load_validates_the_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    weights, biases = layers((2, 3, 1))
    np.savez(
        path,
        n_layers=np.array(2),
        weight_0=weights[0],
        bias_0=biases[0][:2],
        weight_1=weights[1],
        bias_1=biases[1],
    )
    with pytest.raises(ValueError, match=r"biases\[0\]"):
        Network.load(path)


# --- bad input --------------------------------------------------------------------------


def test_one_layer_is_not_a_network():
    weights, biases = layers((4, 2))
    with pytest.raises(ValueError, match="L >= 1"):
        Network(weights, biases)
    with pytest.raises(ValueError, match="L >= 1"):
        Network([], [])


def test_shape_mismatch_between_layers():
    weights, biases = layers((4, 6, 5, 2))
    weights[1] = weights[1][:, :5]
    with pytest.raises(ValueError, match=r"weights\[1\] has 5 columns.*weights\[0\] has 6 rows"):
        Network(weights, biases)


def test_bias_of_wrong_length():
    weights, biases = layers((4, 6, 5, 2))
    biases[2] = np.ones(3)
    with pytest.raises(ValueError, match=r"biases\[2\] has length 3.*2 rows"):
        Network(weights, biases)


def test_number_of_biases():
    weights, biases = layers((4, 6, 5, 2))
    with pytest.raises(ValueError, match="one bias per weight"):
        Network(weights, biases[:2])


@pytest.mark.parametrize(
    "index, bad, error, words",
    [
        (0, lambda w: w[0], ValueError, ["weights[0]", "2-dimensional"]),
        (1, lambda w: np.where(w > 0, np.nan, w), ValueError, ["weights[1]", "NaN"]),
        (2, lambda w: w * np.inf, ValueError, ["weights[2]", "inf"]),
        (0, lambda w: w.astype(complex), DTypeError, ["weights[0]", "complex"]),
        (1, lambda w: w.astype(object), DTypeError, ["weights[1]", "object"]),
        (1, lambda w: w.astype(str), DTypeError, ["weights[1]", "string"]),
        (0, lambda w: w[:0], ValueError, ["weights[0]", "empty"]),
    ],
)
def test_bad_weights(index, bad, error, words):
    weights, biases = layers((4, 6, 5, 2))
    weights[index] = bad(weights[index])
    with pytest.raises(error) as excinfo:
        Network(weights, biases)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (lambda b: b[:, None], ValueError, ["biases[1]", "1-dimensional"]),
        (lambda b: b * np.nan, ValueError, ["biases[1]", "NaN"]),
        (lambda b: b.astype(complex), DTypeError, ["biases[1]", "complex"]),
    ],
)
def test_bad_biases(bad, error, words):
    weights, biases = layers((4, 6, 5, 2))
    biases[1] = bad(biases[1])
    with pytest.raises(error) as excinfo:
        Network(weights, biases)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize("weights", [np.ones((2, 2)), None, 3, (w for w in [np.ones((1, 1))])])
def test_weights_must_be_a_list(weights):
    with pytest.raises(TypeError, match="weights"):
        Network(weights, [np.ones(1), np.ones(1)])


def test_biases_must_be_a_list():
    weights, _ = layers((2, 3, 1))
    with pytest.raises(TypeError, match="biases"):
        Network(weights, np.ones(3))
