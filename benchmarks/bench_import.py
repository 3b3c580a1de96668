"""Benchmark 3: ``import tinyms`` time over ``import mindspore`` time (goal: at most 1.15).

Fresh interpreters, alternating, so both see the same machine state.

Run: .venv/bin/python benchmarks/bench_import.py [--rounds 7]
"""

import argparse
import subprocess
import sys
import time

from _common import median


def time_import(module):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()
    times = {"python -c pass": [], "mindspore": [], "tinyms": []}
    for _ in range(args.rounds):
        times["python -c pass"].append(time_import("sys"))
        times["mindspore"].append(time_import("mindspore"))
        times["tinyms"].append(time_import("tinyms"))
    for name, values in times.items():
        print(f"import {name:15s} median {median(values):.3f}s  runs {', '.join(f'{v:.2f}' for v in values)}")
    ratio = median(times["tinyms"]) / median(times["mindspore"])
    print(f"ratio import tinyms / import mindspore = {ratio:.3f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
