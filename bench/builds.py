"""Two builds of archbound side by side on the sweep's nearest, forward and opnorm rows.

    python bench/builds.py native=/path/a/python portable=/path/b/python [--rounds 3]

Each NAME=PATH is a folder holding an ``archbound`` package with its compiled core (an
installed site-packages, an unpacked wheel, or a checkout's ``python/`` with the extension
copied in). A process loads one core for good (a portable build picks its instruction-set
variant at import), so each build runs in interpreters of its own. The builds alternate
for `--rounds` rounds, in reverse order every other round (the process that ran second
was measured up to 30% slower on the same build), and a row's time is archbound's best
over all of them (best-of within a round too). The last columns are each build's time
over the first build's: below 1.10 means within 10%. It times archbound alone: the peers
are the sweep's business (``bench/compare.py --sweep``). Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child() -> None:
    """Prints {row: seconds} for the core this interpreter loaded, and which core it is."""
    import harness
    import sweep
    from archbound import _core

    cases = sweep.opnorm_cases(True) + sweep.nearest_cases(True) + sweep.forward_cases(True)
    times = {}
    for case in cases:
        times[f"{case.kernel} {case.size}"] = harness.best_of(case.ours, case.repeats)[0]
    print(json.dumps({"core": _core.__name__, "isa": _core.compiled_isa(), "times": times}))


def run_build(path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([path, HERE]))
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="*", metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    if len(args.builds) < 2 or any("=" not in b for b in args.builds):
        parser.error("give at least two builds as NAME=PATH")
    builds = dict(b.split("=", 1) for b in args.builds)
    best: dict[str, dict[str, float]] = {name: {} for name in builds}
    cores = {}
    for r in range(args.rounds):
        # Reversed every other round: a build's place in the round must not favour it.
        for name, path in list(builds.items())[:: -1 if r % 2 else 1]:
            result = run_build(path)
            cores[name] = result["core"]
            for row, seconds in result["times"].items():
                best[name][row] = min(best[name].get(row, float("inf")), seconds)
            print(f"round {r + 1}: {name} done ({result['core']})", file=sys.stderr, flush=True)
    names = list(builds)
    print("  ".join(f"{n}: {cores[n]}" for n in names))
    header = f"  {'row':<44}" + "".join(f"{n:>14}" for n in names)
    print(header + "".join(f"{n + '/' + names[0]:>22}" for n in names[1:]))
    for row in best[names[0]]:
        times = [best[n][row] for n in names]
        line = f"  {row:<44}" + "".join(f"{t * 1e3:11.3f} ms" for t in times)
        print(line + "".join(f"{t / times[0]:22.2f}" for t in times[1:]))


if __name__ == "__main__":
    main()
