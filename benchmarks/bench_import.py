"""Benchmark 3: ``import tinyms`` against ``import mindspore`` (goal: at most 1.15 when Tensor is used).

Fresh interpreters, alternating, so every variant sees the same machine state:

- ``import mindspore``
- ``import tinyms`` (loads no MindSpore: should be far below)
- ``import tinyms; tinyms.Tensor`` (the user touches Tensor: MindSpore loads; goal <= 1.15x)

Run: .venv/bin/python benchmarks/bench_import.py [--rounds 7]
"""

import argparse
import subprocess
import sys
import time

from _common import median

VARIANTS = {
    "python -c pass": "pass",
    "import mindspore": "import mindspore",
    "import tinyms": "import tinyms",
    "import tinyms; tinyms.Tensor": "import tinyms; tinyms.Tensor",
}


def time_code(code):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()
    times = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, code in VARIANTS.items():
            times[name].append(time_code(code))
    for name, values in times.items():
        print(f"{name:30s} median {median(values):.3f}s  runs {', '.join(f'{v:.2f}' for v in values)}")
    base = median(times["import mindspore"])
    print(f"ratio import tinyms / import mindspore = {median(times['import tinyms']) / base:.3f}")
    print(f"ratio import tinyms + Tensor / import mindspore = "
          f"{median(times['import tinyms; tinyms.Tensor']) / base:.3f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
