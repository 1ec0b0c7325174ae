"""archbound against the tools users would pick instead: one run, ratios, GFLOP/s.

The one entry point of the Python benchmarks. Two modes:

- the default, a race per kernel: archbound and its peers run in the same process,
  alternating (each round runs every contender once, in a rotated order), each after a
  warm-up; a contender's time is the best of its runs. Every time is also shown as a
  fraction of the machine's GEMM roofline, NumPy's dgemm and sgemm at 4096^2, with the same
  thread count. The goals (`goals()`) are checked at the end (met / not met).
- `--sweep`, the size sweep of the performance issue (sweep.py): peer/ours at small, medium
  and large sizes, each contender timed in blocks of its own.

Kernels and peers of the race (cases.py; the peers are in harness.py):

- pinv, X of shape (4096, 2000): numpy.linalg.pinv, scipy.linalg.pinv, SciPy QR plus a
  triangular solve, archbound.reference.pinv; and at condition number 1e6, the accuracy
  against numpy's SVD pinv.
- opnorm, W 4096^2, certified within 1% at delta = 1e-6: numpy.linalg.norm(W, 2),
  scipy.sparse.linalg.svds(k=1), sklearn randomized_svd, archbound exact, the reference, and
  a floor: NumPy doing only the matrix-vector products of archbound's Lanczos steps.
- nearest, 10k test x 10k training x 784: blocked NumPy (1024-row blocks), faiss.IndexFlatL2
  (k=1, when installed), sklearn NearestNeighbors(brute), the reference (on a subset of the
  test rows, extrapolated).
- forward, batch 10k through 784-[1024]x10-10: a NumPy loop, torch (when installed), the
  reference.
- omp: archbound's geometry kernel and Lanczos on 1 and 2 threads.
- capacity: every measure of archbound.capacity_bounds, 784-[1024]x8-10 on N = 1000,
  against archbound.reference.capacity_measures (exact SVDs).
- montecarlo: the PAC-Bayes Monte-Carlo step (200 draws x 64 points, 784-[600, 600]-10)
  against torch doing the same sampling and forward passes (bench/montecarlo.py).
- experiment: `archbound experiment --dataset fashion-mnist`, when the command exists.

Nothing here asserts on time.

    python bench/compare.py                   # standard sizes (minutes)
    python bench/compare.py --quick           # small sizes (seconds)
    python bench/compare.py --only nearest,omp --threads 2 --json results.json
    python bench/compare.py --only nearest --threads 1 --cpu-time   # per-core, busy machine
    python bench/compare.py --only opnorm --size opnorm=8192x1024      # another shape
    python bench/compare.py --sweep           # the size sweep; --sweep --quick: seconds
    python bench/compare.py --after-numpy     # calls right after NumPy / SciPy work

Run it as a script (`python bench/compare.py`, from any directory): Python then puts bench/
first on sys.path, which is how it finds harness.py, cases.py and sweep.py.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where the environment sets them, slow NumPy's OpenBLAS;
the header prints them and the kernel OpenBLAS runs (threadpoolctl). To benchmark without
them, unset them for this command alone: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import cases
import harness
import sweep
from cases import Case

KERNELS = ("pinv", "opnorm", "nearest", "forward", "omp", "capacity", "montecarlo", "experiment")

# `archbound experiment --dataset fashion-mnist`, timed once (when the data set is installed).
EXPERIMENT_GOAL_S = 60.0
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def run_case(
    case: Case, repeats: int, quick: bool, gemm_size: int, cpu_time: bool = False
) -> list[dict]:
    """Race the case's contenders (and its roofline row), then print and return its rows.

    With `cpu_time`, each contender's time is its process CPU time (all threads) instead of
    wall time: robust on a busy machine, and meaningful with one thread only.
    """
    if case.roofline:
        case.contenders.append(cases.roofline_contender(case.roofline, gemm_size))
    times, case.outputs = harness.race(case.contenders, repeats, quick)
    if cpu_time:  # rank by CPU time: (cpu, wall)
        times = {name: [(cpu, wall) for wall, cpu in runs] for name, runs in times.items()}
    base = min(times[case.contenders[0].name])[0]
    peak = None
    for c in case.contenders:
        if c.roofline:
            peak = c.flops / min(times[c.name])[0] / 1e9
    rows = []
    for c in case.contenders:
        best, other = min(times[c.name])
        flops = case.flops if c.flops is None else c.flops
        gflops = flops / best / 1e9 if flops else None  # best is already scaled
        rows.append(
            {
                "kernel": case.kernel,
                "case": case.title,
                "contender": c.name,
                "clock": "cpu" if cpu_time else "wall",
                "best_s": best,
                "median_s": statistics.median(t[0] for t in times[c.name]),
                "cpu_s": best if cpu_time else other,
                "runs": len(times[c.name]),
                "x_archbound": best / base,
                "gflops": gflops,
                "roofline": case.roofline or None,
                "roofline_gflops": peak,
                "roofline_fraction": gflops / peak if gflops and peak else None,
                "check": ""
                if c.roofline or not case.check
                else case.check(c.name, case.outputs[c.name]),
                "note": c.note,
            }
        )
    case.rows = rows
    print_case(case, peak)
    return rows


def print_case(case: Case, peak: float | None) -> None:
    roof = f"; roofline numpy {case.roofline} {peak:.1f} GFLOP/s" if peak else ""
    work = f"; {case.flops / 1e9:.1f} GFLOP per call" if case.flops else ""
    print(f"\n== {case.kernel}: {case.title}{work}{roof} ==")
    print(
        f"  {'contender':<46}{'best s':>9}{'median s':>10}{'CPU s':>8}{'runs':>5}{'x ours':>8}"
        f"{'GFLOP/s':>9}{'% roof':>8}  check / note"
    )
    for r in case.rows:
        gflops = f"{r['gflops']:9.1f}" if r["gflops"] else f"{'-':>9}"
        frac = f"{100 * r['roofline_fraction']:7.0f}%" if r["roofline_fraction"] else f"{'-':>8}"
        extra = "; ".join(t for t in (r["check"], r["note"]) if t)
        print(
            f"  {r['contender']:<46}{r['best_s']:9.4f}{r['median_s']:10.4f}{r['cpu_s']:8.3f}"
            f"{r['runs']:5d}{r['x_archbound']:8.2f}{gflops}{frac}  {extra}"
        )
    cpu = case.rows and case.rows[0]["clock"] == "cpu"
    clock = (
        "best s and median s are process CPU time (--cpu-time)"
        if cpu
        else "CPU s: all threads, of the best run"
    )
    print(f"  (x ours = time / archbound's time: above 1, archbound is faster; {clock})")


def measure_rooflines(size: int, threads: int, repeats: int = 3) -> dict:
    rates = {}
    with threadpool_limits(threads):
        rates["sgemm"] = harness.gemm_rate(np.float32, size, repeats)
        rates["dgemm"] = harness.gemm_rate(np.float64, size, repeats)
    if threads > 1:
        with threadpool_limits(1):
            rates["sgemm_1"] = harness.gemm_rate(np.float32, size, 2)
            rates["dgemm_1"] = harness.gemm_rate(np.float64, size, 2)
    print(
        f"\nGEMM rates at the start, numpy at {size}^2 (each case races its own roofline row): "
        + ", ".join(f"{k.replace('_1', ' 1 thread')} {v:.1f} GFLOP/s" for k, v in rates.items())
    )
    return rates


def run_experiment() -> dict:
    if not os.path.isdir(FASHION_MNIST):
        print(
            f"\n== experiment: {FASHION_MNIST} missing (apt-get install "
            "dataset-fashion-mnist): skipped =="
        )
        return {"skipped": "dataset-fashion-mnist not installed"}
    seconds, done = harness.time_experiment("fashion-mnist")
    print(
        f"\n== experiment: fashion-mnist: {seconds:.1f} s, exit {done.returncode} "
        f"(goal < {EXPERIMENT_GOAL_S:.0f} s) =="
    )
    if done.returncode != 0:
        print(done.stderr[-2000:])
    return {"dataset": "fashion-mnist", "seconds": seconds, "returncode": done.returncode}


# --- goals ---


def goals(rows: list[dict], experiment: dict | None, standard: bool) -> list[dict]:
    def best(kernel, case_part, contender_part):
        for r in rows:
            if (
                r["kernel"] == kernel
                and case_part in r["case"]
                and contender_part in r["contender"]
            ):
                return r["best_s"], r
        return None, None

    out = []

    def goal(text, value, target, met, fmt="{:.2f}"):
        if value is not None:
            out.append(
                {
                    "goal": text,
                    "value": value,
                    "target": target,
                    "met": bool(met),
                    "display": fmt.format(value),
                }
            )

    ab, _ = best("pinv", "Gaussian", "archbound.pinv")
    npy, _ = best("pinv", "Gaussian", "numpy.linalg.pinv")
    qr, _ = best("pinv", "Gaussian", "scipy qr")
    if ab:
        goal("pinv: numpy.linalg.pinv time / archbound", npy / ab, ">= 3.5", npy / ab >= 3.5)
        goal("pinv: archbound time / SciPy QR", ab / qr, "<= 1.0", ab / qr <= 1.0)
    _, row = best("pinv", "condition number", "archbound.pinv")
    if row:
        diff = float(row["check"].rsplit(" ", 1)[1])
        goal(
            f"pinv: rel. diff from numpy's SVD at condition {cases.PINV_CONDITION:.0e}",
            diff,
            "<= 1e-10",
            diff <= 1e-10,
            "{:.1e}",
        )
    lz, lzrow = best("opnorm", "", "archbound.opnorm lanczos")
    if lz:
        svds, _ = best("opnorm", "", "svds")
        exact, _ = best("opnorm", "", "archbound.opnorm exact")
        nexact, _ = best("opnorm", "", "numpy.linalg.norm")
        goal("opnorm: lanczos time / svds(k=1)", lz / svds, "<= 0.5", lz / svds <= 0.5)
        goal(
            "opnorm: archbound exact time / lanczos",
            exact / lz,
            ">= 20",
            exact / lz >= 20,
            "{:.1f}",
        )
        goal(
            "opnorm: numpy norm(W, 2) time / lanczos",
            nexact / lz,
            ">= 20",
            nexact / lz >= 20,
            "{:.1f}",
        )
        goal(
            "opnorm: certified upper within 1%",
            float("certified <= 1%: True" in lzrow["check"]),
            "yes",
            "certified <= 1%: True" in lzrow["check"],
            "{:.0f}",
        )
    for dtype in ("float32", "float64"):
        ab, abrow = best("nearest", dtype, "archbound")
        if not ab:
            continue
        blocked, _ = best("nearest", dtype, "numpy blocked")
        goal(
            f"nearest {dtype}: archbound time / blocked NumPy",
            ab / blocked,
            "<= 1.0",
            ab / blocked <= 1.0,
        )
        if dtype == "float32":
            for peer in ("faiss", "sklearn"):
                t, _ = best("nearest", dtype, peer)
                if t:
                    goal(f"nearest float32: {peer} time / archbound", t / ab, ">= 3", t / ab >= 3)
            goal(
                "nearest float32: archbound GFLOP/s / numpy sgemm",
                abrow["roofline_fraction"],
                ">= 0.70",
                abrow["roofline_fraction"] >= 0.7,
            )
    for dtype in ("float32", "float64"):
        ab, _ = best("forward", dtype, "archbound")
        if ab:
            npl, _ = best("forward", dtype, "numpy loop")
            goal(
                f"forward {dtype}: archbound time / NumPy loop",
                ab / npl,
                "<= 1.0",
                ab / npl <= 1.0,
            )
    for part, text, target, least in (
        ("geometry", "geometry kernel: speed-up 1 -> 2 threads", ">= 1.7", 1.7),
        ("lanczos", "lanczos: speed-up 1 -> 2 threads (no goal; for reference)", "-", 0),
    ):
        one, _ = best("omp", part, "1 thread")
        two, _ = best("omp", part, "2 threads")
        if one:
            goal(text, one / two, target, one / two >= least)
    (mc, _), (mc_torch, _) = best("montecarlo", "", "archbound"), best("montecarlo", "", "torch")
    if mc and mc_torch:
        goal("montecarlo: torch time / archbound", mc_torch / mc, ">= 1.5", mc_torch / mc >= 1.5)
    if experiment and "seconds" in experiment:
        goal(
            "archbound experiment --dataset fashion-mnist seconds",
            experiment["seconds"],
            "< 60",
            experiment["seconds"] < EXPERIMENT_GOAL_S and experiment["returncode"] == 0,
            "{:.1f}",
        )
    scope = "standard sizes" if standard else "NOT the standard sizes: indicative only"
    print(f"\n== goals ({scope}) ==")
    for g in out:
        state = "-" if g["target"] == "-" else ("met" if g["met"] else "NOT MET")
        print(f"  {g['goal']:<62}{g['display']:>8}  target {g['target']:<7} {state}")
    return out


def to_markdown(results: dict) -> str:
    """The tables of a run (the dict that --json writes) as Markdown, for bench/RESULTS.md."""
    info = results["machine"]
    lines = [
        f"Run of {info['date']}: {info['cpu']}, {info['cpus']} CPUs, threads = {info['threads']}, "
        f"load average {info['load_average_before']:.1f} before and "
        f"{info.get('load_average_after', float('nan')):.1f} after, "
        f"{info.get('seconds', 0):.0f} s in all.",
        "",
    ]
    if results.get("cpu_time"):
        lines += ["Times are process CPU time, all threads (--cpu-time).", ""]
    case = None
    for r in results["rows"]:
        if (r["kernel"], r["case"]) != case:
            case = (r["kernel"], r["case"])
            roof = r.get("roofline_gflops")
            roof = f" (roofline numpy {r['roofline']}: {roof:.1f} GFLOP/s)" if roof else ""
            lines += [
                "",
                f"**{r['kernel']}: {r['case']}**{roof}",
                "",
                "| contender | best s | median s | CPU s | runs | x ours | GFLOP/s | % roof "
                "| check / note |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            ]
        gflops = f"{r['gflops']:.1f}" if r["gflops"] else "-"
        frac = f"{100 * r['roofline_fraction']:.0f}%" if r["roofline_fraction"] else "-"
        extra = "; ".join(t for t in (r["check"], r["note"]) if t)
        cpu = r.get("cpu_s", float("nan"))
        lines.append(
            f"| {r['contender']} | {r['best_s']:.4f} | {r['median_s']:.4f} | {cpu:.3f} "
            f"| {r['runs']} | {r['x_archbound']:.2f} | {gflops} | {frac} | {extra} |"
        )
    lines += ["", "| goal | measured | target | |", "|---|---:|---|---|"]
    for g in results.get("goals", []):
        state = "-" if g["target"] == "-" else ("met" if g["met"] else "**not met**")
        lines.append(f"| {g['goal']} | {g['display']} | {g['target']} | {state} |")
    return "\n".join(lines) + "\n"


def parse_size(text: str) -> tuple[str, tuple[int, ...]]:
    """--size: "opnorm=8192x1024" -> ("opnorm", (8192, 1024))."""
    dims = {"pinv": 2, "opnorm": 2, "nearest": 3}
    kernel, _, shape = text.partition("=")
    try:
        size = tuple(int(n) for n in shape.lower().split("x"))
    except ValueError:
        size = ()
    if kernel not in dims or len(size) != dims[kernel] or min(size) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected pinv=MxN, opnorm=MxN or nearest=MxNxD, positive integers"
        )
    return kernel, size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds, for CI")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="the size sweep (bench/sweep.py): peer/ours at small, medium and "
        "large sizes, each contender timed in blocks of its own; --only takes "
        f"{','.join(sweep.GROUPS)},threads,experiment",
    )
    parser.add_argument(
        "--after-numpy",
        action="store_true",
        help="archbound calls alone and right after NumPy or SciPy work (bench/after_numpy.py, "
        "in a fresh interpreter that imports NumPy, then archbound, then SciPy)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--sweep: rounds of blocks")
    parser.add_argument(
        "--only", default=",".join(KERNELS), help=f"comma-separated subset of {','.join(KERNELS)}"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="threads for archbound and every peer (default: all CPUs)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed rounds (default 5, quick 3); full SVDs run once",
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="rank runs by process CPU time instead of wall time: robust on a "
        "busy machine, meaningful with --threads 1 only",
    )
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="KERNEL=AxB[xC]",
        type=parse_size,
        help="another input size for pinv (MxN), opnorm (MxN) or nearest "
        "(m test x N training x d); repeatable",
    )
    parser.add_argument("--json", metavar="PATH", help="write every result to PATH")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown to PATH")
    args = parser.parse_args(argv)
    if args.after_numpy:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "after_numpy.py")
        command = [sys.executable, script] + (["--quick"] if args.quick else [])
        command += ["--markdown", args.markdown] if args.markdown else []
        return subprocess.call(command)
    if args.sweep:
        chosen = None if args.only == ",".join(KERNELS) else set(args.only.split(","))
        unknown = sorted((chosen or set()) - set(sweep.GROUPS) - {"threads", "experiment"})
        if unknown:
            parser.error(
                f"--sweep --only: unknown group(s) {', '.join(unknown)}; choose from "
                f"{','.join(sweep.GROUPS)},threads,experiment"
            )
        rows = sweep.run(only=chosen, quick=args.quick, rounds=args.rounds)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(sweep.to_markdown(rows) + "\n")
        return 0
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(only) - set(KERNELS))
    if unknown:
        parser.error(f"--only: unknown kernel(s) {', '.join(unknown)}; choose from {KERNELS}")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    sizes = cases.QUICK if args.quick else cases.STANDARD
    sizes = dataclasses.replace(sizes, **dict(args.size))
    repeats = args.repeats or (3 if args.quick else 5)
    started = time.perf_counter()

    info = harness.machine_info(args.threads)
    harness.print_machine(info)
    rooflines = measure_rooflines(sizes.gemm, args.threads)
    rows: list[dict] = []
    with threadpool_limits(args.threads):
        for kernel in KERNELS:
            if kernel not in only or kernel == "experiment":
                continue
            if kernel == "omp" and (os.cpu_count() or 1) < 2:
                print("\n== omp: one CPU: skipped ==")
                continue
            for case in cases.BUILDERS[kernel](sizes, args.threads):
                rows += run_case(case, repeats, args.quick, sizes.gemm, args.cpu_time)
    experiment = None
    if "experiment" in only and not args.quick:
        experiment = run_experiment()
    info["load_average_after"] = os.getloadavg()[0]
    info["seconds"] = time.perf_counter() - started
    results = {
        "machine": info,
        "sizes": sizes.__dict__,
        "quick": args.quick,
        "repeats": repeats,
        "cpu_time": args.cpu_time,
        "rooflines_gflops": rooflines,
        "rows": rows,
        "experiment": experiment,
    }
    results["goals"] = goals(rows, experiment, sizes == cases.STANDARD)
    print(
        f"\nload average after: {info['load_average_after']:.1f}; total {info['seconds']:.0f} s"
        " (on a shared machine timings are noisy)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"results written to {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(to_markdown(results))
        print(f"Markdown tables written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
