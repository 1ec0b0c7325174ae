"""The Monte-Carlo step of the PAC-Bayes certificate: archbound's C++ kernel against torch
doing the same sampling and forward passes (registered as the ``montecarlo`` case of
cases.py).

Both draw every weight and bias of a 784-[600, 600]-10 Gaussian network (float32), W =
mu + sigma z, then evaluate it on a block of points drawn with replacement and count the
errors, once per draw. torch uses its own generator (torch.randn, torch.randint) and
addmm + relu_ under inference_mode; archbound draws its counter-based normals inside the
core, one draw per thread.
"""

from __future__ import annotations

import numpy as np

import archbound
from archbound.pacbayes import GaussianPosterior, stochastic_errors
from harness import Contender


def gaussian_network(widths, seed: int = 0) -> GaussianPosterior:
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(widths[:-1], widths[1:])]
    biases = [np.zeros(o) for o in widths[1:]]
    mean = archbound.Network(weights, biases)
    return GaussianPosterior(
        mean,
        [np.full(w.shape, 0.01) for w in weights],
        [np.full(b.shape, 0.01) for b in biases],
        mean,
        0.03,
    )


def torch_draws(posterior: GaussianPosterior, X, y, draws: int, block: int, threads: int):
    """The same Monte-Carlo step in torch, as a function of no arguments; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)

    def f32(arrays):
        return [torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in arrays]

    mw, mb = f32(posterior.mean.weights), f32(posterior.mean.biases)
    sw, sb = f32(posterior.sigma_weights), f32(posterior.sigma_biases)
    tx, ty = torch.from_numpy(np.asarray(X, dtype=np.float32)), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def run():
        counts = np.empty(draws, dtype=np.int64)
        with torch.inference_mode():
            for d in range(draws):
                rows = torch.randint(0, tx.shape[0], (block,), generator=generator)
                h = tx[rows]
                for i in range(len(mw)):
                    w = torch.randn(mw[i].shape, generator=generator).mul_(sw[i]).add_(mw[i])
                    b = torch.randn(mb[i].shape, generator=generator).mul_(sb[i]).add_(mb[i])
                    h = torch.addmm(b, h, w.t())
                    if i + 1 < len(mw):
                        h.relu_()
                counts[d] = int((h.argmax(1) != ty[rows]).sum())
        return counts

    run.version = torch.__version__
    return run


def case_montecarlo(sizes, threads: int) -> list:
    from cases import Case

    draws, block, n, *widths = sizes.montecarlo
    posterior = gaussian_network(widths)
    rng = np.random.default_rng(1)
    X = rng.random((n, widths[0]), dtype=np.float32)
    y = rng.integers(0, widths[-1], n)
    parameters = posterior.n_parameters
    flops = 2.0 * draws * block * parameters

    def check(name, out):
        rate = float(np.mean(np.asarray(out) / block))
        return f"{draws} draws, error {rate:.3f}"

    contenders = [
        Contender(
            "archbound pacbayes.stochastic_errors (C++)",
            lambda: stochastic_errors(
                posterior, X, y, draws=draws, block=block, seed=0, threads=threads
            ),
        )
    ]
    torch_run = torch_draws(posterior, X, y, draws, block, threads)
    if torch_run:
        contenders.append(Contender(f"torch {torch_run.version} randn + addmm", torch_run))
    arch = "-".join(str(w) for w in widths)
    title = f"{draws} draws x {block} points, {arch} ({parameters} parameters), float32"
    return [Case("montecarlo", title, contenders, flops, "sgemm", check)]
