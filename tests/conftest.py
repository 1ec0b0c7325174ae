import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def matrix_with_singular_values(rng, m, n, singular_values):
    """U diag(s) V^T with seeded Haar-random U (m x k) and V (n x k)."""
    s = np.asarray(singular_values, dtype=np.float64)
    k = s.size
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (u * s) @ v.T
