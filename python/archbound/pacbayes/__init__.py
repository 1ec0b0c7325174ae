"""The PAC-Bayes-kl certificate of a Gaussian stochastic ReLU network (docs/certificates.md §3).

- :class:`GaussianPosterior`: Q = N(mu, diag sigma^2) over every weight and bias, with its
  prior P = N(mu_0, s_0^2 I); saved and loaded like a :class:`archbound.Network`.
- :func:`fit_posterior`: trains Q with PyTorch (the ``archbound[torch]`` extra), with a
  data-dependent prior on a split that the bound never sees.
- :func:`pacbayes_certificate`: the certificate, with the Monte-Carlo step in the C++ core.
"""

from archbound.pacbayes.certificate import (
    DeltaLedger,
    PACBayesCertificate,
    delta_ledger,
    pacbayes_certificate,
)
from archbound.pacbayes.fit import OBJECTIVES, FitInfo, fit_posterior, initial_network
from archbound.pacbayes.montecarlo import stochastic_errors
from archbound.pacbayes.posterior import GaussianPosterior, gaussian_kl

__all__ = [
    "OBJECTIVES",
    "DeltaLedger",
    "FitInfo",
    "GaussianPosterior",
    "PACBayesCertificate",
    "delta_ledger",
    "fit_posterior",
    "gaussian_kl",
    "initial_network",
    "pacbayes_certificate",
    "stochastic_errors",
]
