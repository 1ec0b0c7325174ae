"""Data loaders: IDX files, datasets, .npz/.npy arrays and models, all without pickle."""

import gzip
import itertools
import os
import pickle
import struct
import sys

import numpy as np
import pytest

import archbound
from archbound import data
from archbound.data import DataError, load_arrays, load_dataset, load_model, read_idx

# --------------------------------------------------------------------------- IDX files

IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding: 0, 0, type code, ndim, big-endian dims, big-endian data."""
    code = IDX_CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, *, compress=False):
    payload = idx_bytes(array)
    if compress:
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trip(tmp_path, rng, dtype, compress):
    array = (
        rng.integers(-100, 100, size=(7, 3, 5))
        if dtype != np.uint8
        else rng.integers(0, 256, size=(7, 3, 5))
    ).astype(dtype)
    path = write_idx(tmp_path / "a-idx3-ubyte", array, compress=compress)
    back = read_idx(path)
    assert back.shape == (7, 3, 5)
    assert back.dtype == np.dtype(dtype)  # native byte order
    np.testing.assert_array_equal(back, array)


def test_read_idx_labels_1d(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", labels)), labels)


def corrupt_cases(good: bytes):
    return {
        "bad magic": b"\x01\x00" + good[2:],
        "unknown type code": good[:2] + b"\x07" + good[3:],
        "truncated data": good[:-3],
        "extra data": good + b"\x00",
        "truncated header": good[:6],
        "empty": b"",
        "zero dimensions": b"\x00\x00\x08\x00",
    }


@pytest.mark.parametrize("case", list(corrupt_cases(b"\x00" * 20)))
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_read_idx_refuses_corrupt_files(tmp_path, case, compress):
    good = idx_bytes(np.zeros((4, 2, 2), dtype=np.uint8))
    payload = corrupt_cases(good)[case]
    if compress:
        payload = gzip.compress(payload)
    path = tmp_path / "bad"
    path.write_bytes(payload)
    with pytest.raises(DataError, match="bad"):
        read_idx(path)


def test_read_idx_refuses_corrupt_gzip_stream(tmp_path):
    payload = bytearray(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8).reshape(20, 10))))
    payload[len(payload) // 2] ^= 0xFF  # damage the deflate stream (or its CRC)
    path = tmp_path / "damaged.gz"
    path.write_bytes(bytes(payload))
    with pytest.raises(DataError, match="damaged.gz"):
        read_idx(path)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(bytes(payload[: len(payload) // 2]))
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(cut)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent")


def write_mnist_dir(
    directory,
    rng,
    *,
    n_train=30,
    n_test=12,
    side=4,
    compress=True,
    names=(
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ),
):
    directory.mkdir(exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, side, side)).astype(np.uint8),
        rng.integers(0, 10, n_train).astype(np.uint8),
        rng.integers(0, 256, (n_test, side, side)).astype(np.uint8),
        rng.integers(0, 10, n_test).astype(np.uint8),
    ]
    for name, array in zip(names, arrays):
        write_idx(directory / (name + (".gz" if compress else "")), array, compress=compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_load_dataset_from_idx_directory(tmp_path, rng, compress):
    images, labels, test_images, test_labels = write_mnist_dir(
        tmp_path / "mnist", rng, compress=compress
    )
    X, y, T, t = load_dataset(tmp_path / "mnist")
    assert X.shape == (30, 16) and T.shape == (12, 16)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(30, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(T, test_images.reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(t, test_labels)
    assert data.dataset_input_dim(tmp_path / "mnist") == 16
    # seeded subsets: reproducible, nested (a smaller request is a prefix of a larger one)
    X5, y5, T3, _ = load_dataset(tmp_path / "mnist", max_train=5, max_test=3, seed=4)
    X9, y9, _, _ = load_dataset(tmp_path / "mnist", max_train=9, max_test=3, seed=4)
    assert X5.shape == (5, 16) and T3.shape == (3, 16)
    np.testing.assert_array_equal(X9[:5], X5)
    np.testing.assert_array_equal(y9[:5], y5)
    with pytest.raises(DataError, match="only 30"):
        load_dataset(tmp_path / "mnist", max_train=31)


def test_load_dataset_accepts_original_mnist_names(tmp_path, rng):
    write_mnist_dir(
        tmp_path / "m",
        rng,
        compress=False,
        names=(
            "train-images.idx3-ubyte",
            "train-labels.idx1-ubyte",
            "t10k-images.idx3-ubyte",
            "t10k-labels.idx1-ubyte",
        ),
    )
    assert load_dataset(tmp_path / "m")[0].shape == (30, 16)


def test_load_dataset_names_the_missing_file(tmp_path, rng):
    write_mnist_dir(tmp_path / "m", rng)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\[\.gz\]"):
        load_dataset(tmp_path / "m")


def test_load_dataset_checks_label_count(tmp_path, rng):
    write_mnist_dir(tmp_path / "m", rng)
    write_idx(
        tmp_path / "m" / "train-labels-idx1-ubyte.gz", np.zeros(29, dtype=np.uint8), compress=True
    )
    with pytest.raises(DataError, match="30 train images but 29 labels"):
        load_dataset(tmp_path / "m")


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0.0, 2.0] * 15, dtype=np.float32), None),  # whole numbers: labels
        (np.array([0.5, 2.0] * 15, dtype=np.float32), "train labels must hold integer"),
        (np.array([0, -1] * 15, dtype=np.int32), "train labels must be non-negative"),
    ],
)
def test_load_dataset_reads_labels_by_the_one_label_rule(tmp_path, rng, labels, message):
    write_mnist_dir(tmp_path / "m", rng)
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte.gz", labels, compress=True)
    if message is None:
        y = load_dataset(tmp_path / "m")[1]
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, labels.astype(np.int64))
    else:
        with pytest.raises(DataError, match=message):
            load_dataset(tmp_path / "m")


def test_load_dataset_scales_other_dtypes_to_unit_interval(tmp_path, rng):
    directory = tmp_path / "f"
    directory.mkdir()
    write_idx(directory / "train-images-idx3-ubyte", rng.normal(size=(8, 2, 2)) * 50)
    write_idx(directory / "train-labels-idx1-ubyte", np.arange(8, dtype=np.uint8))
    write_idx(directory / "t10k-images-idx3-ubyte", rng.normal(size=(3, 2, 2)) * 80)
    write_idx(directory / "t10k-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    X, _, T, _ = load_dataset(directory)
    assert X.min() == 0.0 and X.max() == 1.0
    assert T.min() >= 0.0 and T.max() <= 1.0


def test_load_digits():
    X, y, T, _ = load_dataset("digits", seed=0)
    assert X.shape[1] == 64 and X.shape[0] + T.shape[0] == 1797
    assert T.shape[0] == round(0.25 * 1797)
    assert X.min() >= 0.0 and X.max() <= 1.0 and T.max() <= 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    again = load_dataset("digits", seed=0)
    np.testing.assert_array_equal(again[0], X)
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(other[0], X)
    Xs, _, Ts, _ = load_dataset("digits", max_train=20, max_test=7, seed=0)
    assert Xs.shape == (20, 64) and Ts.shape == (7, 64)


def test_missing_fashion_mnist_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(data.datasets, "FASHION_MNIST_DIR", tmp_path / "not-installed")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    with pytest.raises(DataError, match="--dataset PATH"):
        data.dataset_input_dim("fashion-mnist")


@pytest.mark.skipif(
    not data.FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed"
)
def test_fashion_mnist_from_debian_package():
    X, y, T, t = load_dataset("fashion-mnist", max_train=100, max_test=50, seed=0)
    assert X.shape == (100, 784) and T.shape == (50, 784)
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert y.max() <= 9 and t.max() <= 9
    assert data.dataset_input_dim("fashion-mnist") == 784


def test_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match="no such dataset"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="must be a directory"):
        load_dataset(tmp_path / "file")


# ------------------------------------------------------------------------------- arrays


class Payload:
    """Unpickling this object would create the directory `marker` (pickle runs __reduce__)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def malicious_npz(path, marker, key="X"):
    arrays = {"X": np.zeros((3, 2)), "y": np.arange(3)}
    arrays[key] = np.array([Payload(marker)], dtype=object)
    np.savez(path, **arrays)
    return path


def test_malicious_payload_is_live(tmp_path):
    """The payload used below really executes when pickle is allowed (so the refusal test
    is meaningful)."""
    marker = tmp_path / "executed-when-allowed"
    path = malicious_npz(tmp_path / "evil.npz", marker)
    with np.load(path, allow_pickle=True) as archive:
        archive["X"]
    assert marker.exists()


@pytest.mark.parametrize("key", ["X", "y"])
def test_object_array_is_refused_without_executing(tmp_path, key):
    marker = tmp_path / "pwned"
    path = malicious_npz(tmp_path / "evil.npz", marker, key=key)
    with pytest.raises(DataError, match="object array"):
        load_arrays(path)
    assert not marker.exists()


def test_object_npy_and_raw_pickle_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "evil.npy", np.array([Payload(marker)], dtype=object))
    with pytest.raises(DataError, match="object array"):
        load_arrays(tmp_path / "evil.npy")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"X": Payload(marker)}))
    with pytest.raises(DataError, match="pickles and other formats are refused"):
        load_arrays(tmp_path / "evil.pkl")
    with pytest.raises(DataError, match="refused"):
        load_model(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_load_arrays_npz_labels_and_targets(tmp_path, rng):
    X = rng.random((6, 3))
    np.savez(tmp_path / "a.npz", X=X, y=np.array([0, 2, 1, 0, 2, 1]))
    loaded = load_arrays(tmp_path / "a.npz")
    np.testing.assert_array_equal(loaded.X, X)
    assert loaded.labels.dtype == np.int64 and loaded.Y is None
    np.testing.assert_array_equal(loaded.targets(), archbound.one_hot([0, 2, 1, 0, 2, 1]))
    assert loaded.targets(5).shape == (6, 5)
    with pytest.raises(DataError, match="only 2 classes"):
        loaded.targets(2)
    Y = rng.random((6, 2))
    np.savez(tmp_path / "b.npz", X=X, Y=Y)
    np.testing.assert_array_equal(load_arrays(tmp_path / "b.npz").targets(), Y)
    np.savez(tmp_path / "c.npz", X=X, Y=Y[:, 0])
    assert load_arrays(tmp_path / "c.npz").Y.shape == (6, 1)
    np.save(tmp_path / "d.npy", X.astype(np.float32))
    only_x = load_arrays(tmp_path / "d.npy")
    assert only_x.X.dtype == np.float64 and not only_x.has_targets
    with pytest.raises(DataError, match="no targets"):
        only_x.targets()


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((2, 2))}, "missing key 'X' \\(found: x\\)"),
        ({"X": np.zeros((3, 2)), "y": np.arange(2)}, "X has 3 rows but y has 2"),
        ({"X": np.zeros((3, 2)), "Y": np.zeros((4, 1))}, "X has 3 rows but Y has 4"),
        ({"X": np.zeros((3, 2)), "y": np.arange(3), "Y": np.zeros((3, 1))}, "both 'y' and 'Y'"),
        ({"X": np.zeros(3)}, "2-dimensional"),
        ({"X": np.array([[1.0, np.nan]])}, "NaN"),
        ({"X": np.array([["a", "b"]])}, "numeric dtype"),
        ({"X": np.zeros((3, 2)), "y": np.array([0.5, 1, 2])}, "integer class labels"),
        ({"X": np.zeros((3, 2)), "y": np.array([0, -1, 2])}, "negative label"),
        ({"X": np.zeros((0, 2))}, "empty"),
    ],
)
def test_load_arrays_refuses_bad_content(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_arrays(tmp_path / "bad.npz")


def test_load_arrays_bad_paths(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_arrays(tmp_path / "absent.npz")
    with pytest.raises(DataError, match="is a directory"):
        load_arrays(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="junk.npz"):
        load_arrays(tmp_path / "junk.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError, match="not a NumPy"):
        load_arrays(tmp_path / "text.npz")


# ------------------------------------------------------------------------------- models


def small_network(rng, widths=(6, 5)):
    X = rng.random((4, 7))
    Y = archbound.one_hot([0, 1, 2, 1], 3)
    return archbound.construct_minimizer(X, Y, list(widths)), X


def test_load_model_npz_round_trip(tmp_path, rng):
    net, X = small_network(rng)
    net.save(tmp_path / "net.npz")
    back = load_model(tmp_path / "net.npz")
    assert back.widths == net.widths
    assert back.construction.method == "readout_first"
    np.testing.assert_allclose(back(X), net(X))


def test_load_model_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_model(tmp_path / "absent.npz")
    np.savez(tmp_path / "arrays.npz", X=np.zeros((2, 2)))
    with pytest.raises(DataError, match="not a network saved by Network.save"):
        load_model(tmp_path / "arrays.npz")
    marker = tmp_path / "pwned"
    np.savez(
        tmp_path / "evil.npz",
        n_layers=np.array(1),
        weight_0=np.array([Payload(marker)], dtype=object),
        bias_0=np.zeros(1),
    )
    with pytest.raises(DataError, match="object arrays"):
        load_model(tmp_path / "evil.npz")
    assert not marker.exists()


def test_torch_model_without_torch_says_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "model.pt").write_bytes(b"whatever")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(DataError, match=r"archbound\[torch\]"):
        load_model(tmp_path / "model.pt")


def torch_sequential(torch, sizes, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def test_torch_state_dict(tmp_path, rng, torch):
    model = torch_sequential(torch, [5, 8, 6, 3])
    torch.save(model.state_dict(), tmp_path / "model.pt")
    net = load_model(tmp_path / "model.pt")
    assert net.widths == [5, 8, 6, 3]
    X = rng.random((10, 5))
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net(X), expected, rtol=1e-12, atol=1e-12)
    # a state_dict with a prefix (model.net.0.weight ...) and float32 tensors
    wrapped = {f"net.{k}": v.float() for k, v in model.state_dict().items()}
    torch.save(wrapped, tmp_path / "prefixed.pth")
    np.testing.assert_allclose(
        load_model(tmp_path / "prefixed.pth")(X), expected, rtol=1e-5, atol=1e-5
    )


def test_torch_module_refused_unless_allowed(tmp_path, rng, torch):
    model = torch_sequential(torch, [4, 6, 2])
    torch.save(model, tmp_path / "module.pt")
    with pytest.raises(DataError, match="weights_only=True"):
        load_model(tmp_path / "module.pt")
    allowed = [torch.nn.Sequential, torch.nn.Linear, torch.nn.ReLU]
    with torch.serialization.safe_globals(allowed):
        try:
            net = load_model(tmp_path / "module.pt")
        except DataError as exc:  # this torch needs more globals for a full module
            pytest.skip(f"torch refuses the module even with safe globals: {exc}")
    X = rng.random((3, 4))
    with torch.no_grad():
        np.testing.assert_allclose(net(X), model(torch.from_numpy(X)).numpy(), rtol=1e-12)


def test_torch_refuses_other_architectures(tmp_path, torch):
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    torch.save(conv.state_dict(), tmp_path / "conv.pt")
    with pytest.raises(DataError, match="only Linear layers"):
        load_model(tmp_path / "conv.pt")
    adjacent = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 2))
    torch.save(adjacent.state_dict(), tmp_path / "adjacent.pt")
    with pytest.raises(DataError, match="not separated"):
        load_model(tmp_path / "adjacent.pt")
    norm = torch.nn.Sequential(
        torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)
    )
    torch.save(norm.state_dict(), tmp_path / "norm.pt")
    with pytest.raises(DataError, match="unexpected state_dict key"):
        load_model(tmp_path / "norm.pt")
    single = torch.nn.Sequential(torch.nn.Linear(3, 2))
    torch.save(single.state_dict(), tmp_path / "single.pt")
    with pytest.raises(DataError, match="at least one hidden layer"):
        load_model(tmp_path / "single.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(DataError, match="holds a list"):
        load_model(tmp_path / "list.pt")
