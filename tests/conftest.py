import os

import numpy as np
import pytest

#: Why a torch test skips without torch, and the reason CI refuses that skip.
TORCH_MISSING = "torch not installed: pip install '.[torch]'"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def torch():
    """The torch module; a test that takes it is marked ``torch`` and skips without it."""
    return pytest.importorskip("torch", reason=TORCH_MISSING)


def pytest_collection_modifyitems(items):
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ``CI`` set, a skipped torch test fails: CI installs torch and runs them all."""
    report = (yield).get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("torch"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"torch test skipped with CI={os.environ['CI']!r}: {reason}"


def matrix_with_singular_values(rng, m, n, singular_values):
    """U diag(s) V^T with seeded Haar-random U (m x k) and V (n x k)."""
    s = np.asarray(singular_values, dtype=np.float64)
    k = s.size
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (u * s) @ v.T
