"""Ctrl-C reaches the long C++ loops: SIGINT 0.5 s into a long call must raise
KeyboardInterrupt, and the call must not complete.

Each case runs in a child process, so that pytest's own SIGINT handling is not disturbed: the
child starts a call sized to take about 30 s on an idle 2-core machine (far longer on a busy
one), a timer thread sends SIGINT to the process 0.5 s in, and the child reports whether the
call was interrupted or ran to its end. The core polls Python's signal handlers between blocks
of work (at most every 50 ms, outside OpenMP regions). How soon the interrupt arrives is a
benchmark, not a test: nothing here is timed.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(240)

CHILD = r"""
import json, os, signal, sys, threading, time
import numpy as np
import archbound as ab

kind, delay = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(0)
if kind == "nearest":
    # 2 * m * N * d = 2.6e12 flops: about 30 s at 90 Gflop/s.
    F = rng.standard_normal((200_000, 256), dtype=np.float32)
    G = rng.standard_normal((25_000, 256), dtype=np.float32)
    call = lambda: ab.nearest(F, G)
elif kind == "lanczos":
    # rtol below the rounding allowance: every one of the n = 1500 steps is taken, each a
    # pass over W plus a full reorthogonalization.
    W = rng.standard_normal((1500, 1500))
    call = lambda: ab.opnorm(W, method="lanczos", rtol=1e-15, seed=0)
elif kind == "forward":
    # 1.5 Mflop per sample, 2e6 samples: 3e12 flops.
    widths = [32] + [384] * 6 + [10]
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(widths, widths[1:])]
    net = ab.Network(weights, [np.zeros(b) for b in widths[1:]])
    X = rng.standard_normal((2_000_000, 32), dtype=np.float32)
    call = lambda: net.forward(X)
elif kind == "pinv":
    # Tall and well conditioned: the thin-QR path, which polls between its column blocks.
    A = rng.standard_normal((8000, 4000))
    call = lambda: ab.pinv(A)
elif kind == "sample_bounds":
    X = rng.standard_normal((100_000, 256))
    Y = rng.standard_normal((100_000, 4))
    net = ab.Network([rng.standard_normal((64, 256)) / 16, rng.standard_normal((4, 64)) / 8],
                     [np.zeros(64), np.zeros(4)])
    call = lambda: ab.sample_bounds(net, X[:20_000], Y[:20_000], X[20_000:], Y[20_000:],
                                    seed=0)
else:
    raise SystemExit(f"unknown case {kind}")

threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
outcome = None
try:
    call()
    outcome = "finished"
    time.sleep(delay + 1.0)  # a late signal lands here, not in json.dumps below
except KeyboardInterrupt:
    if outcome is None:
        outcome = "interrupted"
print(json.dumps({"outcome": outcome}))
"""


def _run(kind: str, delay: float = 0.5) -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(delay)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["nearest", "lanczos", "forward", "sample_bounds", "pinv"])
def test_sigint_interrupts_a_long_call(kind):
    result = _run(kind)
    assert result["outcome"] == "interrupted", result
