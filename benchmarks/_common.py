"""Shared helpers of the benchmark scripts: run a child process, medians, the MNIST folder."""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MNIST = REPO.parent / "shared" / "datasets" / "mnist"


def run_json(argv, env=None, timeout=1800):
    """Run ``argv``; return (wall seconds, the JSON object on its last stdout line)."""
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{argv} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return seconds, json.loads(out.stdout.strip().splitlines()[-1])


def median(values):
    return statistics.median(values) if values else float("nan")


def python():
    return sys.executable
