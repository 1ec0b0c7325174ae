"""Risk certificates: with probability >= 1 - delta, a classifier's error on new data is at
most p (docs/certificates.md).

- :func:`kl_inverse`, the upper inverse of the binary kl on which they all rest;
- :func:`heldout_bound`, the held-out (test-set) certificate of a deterministic classifier;
- :mod:`archbound.pacbayes`, the PAC-Bayes-kl certificate of a stochastic network.
"""

from archbound.certificates.heldout import HeldoutCertificate, heldout_bound
from archbound.certificates.kl import binary_kl, kl_inverse

__all__ = ["HeldoutCertificate", "binary_kl", "heldout_bound", "kl_inverse"]
