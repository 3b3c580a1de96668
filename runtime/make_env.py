"""Build the TinyMS runtime from this checkout and install it into a fresh virtual environment.

    python runtime/make_env.py ENV_DIR [--work DIR] [--compile]

What CI (tests/serving/test_edge_runtime.py) and benchmarks/bench_edge.py do, without touching
the checkout: ``runtime/`` and ``tinyms/`` are copied (no caches, sample data or hub checkpoints)
to the work folder (default: a new temporary one), the wheel is built there with this Python's
pip and setuptools (no build isolation: nothing is downloaded for the build), ``ENV_DIR`` is
made with ``python -m venv --without-pip`` and the wheel installed into it with this Python's
pip (``pip --python ENV_DIR/bin/python install --no-compile``, as the README's line), its
dependencies from the package index, pip's cache in the work folder. ``--compile`` keeps pip's
default of writing every module's bytecode at install time. Prints one JSON line: the wheel,
the environment's interpreter and the seconds each step took.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def copy_sources(dest):
    """``runtime/`` and ``tinyms/`` of the checkout into ``dest`` (what the wheel is built from)."""
    skip = shutil.ignore_patterns("__pycache__", "_sample", "*.ckpt", "*.egg-info", "build")
    for folder in ("runtime", "tinyms"):
        shutil.copytree(os.path.join(CHECKOUT, folder), os.path.join(dest, folder), ignore=skip)


def make_env(env_dir, work, compile_all=False):
    """Build the wheel in ``work`` and install it into the new environment ``env_dir``; returns the facts."""
    src, dist, cache = (os.path.join(work, name) for name in ("src", "dist", "pip-cache"))
    times = {}
    started = time.perf_counter()
    copy_sources(src)
    pip = [sys.executable, "-m", "pip"]
    subprocess.check_call(pip + ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--cache-dir", cache,
                                 "-w", dist, os.path.join(src, "runtime")])
    times["build"] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.check_call([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = os.path.join(env_dir, "bin", "python")
    subprocess.check_call(pip + ["--python", python, "install", "--quiet", "--cache-dir", cache, "--find-links", dist]
                          + ([] if compile_all else ["--no-compile"]) + ["tinyms-runtime"])
    times["install"] = time.perf_counter() - started
    wheel = next(os.path.join(dist, name) for name in os.listdir(dist) if name.startswith("tinyms_runtime-"))
    return {"wheel": wheel, "python": python, "seconds": times}


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("env_dir", help="the environment to create (must not exist)")
    parser.add_argument("--work", default=None, help="folder for the sources' copy, the wheel and pip's cache "
                                                     "(default: a new temporary folder)")
    parser.add_argument("--compile", dest="compile_all", action="store_true",
                        help="write every module's bytecode at install time (pip's default)")
    args = parser.parse_args()
    if os.path.exists(args.env_dir):
        parser.error(f"{args.env_dir} exists; give a new folder")
    work = args.work or tempfile.mkdtemp(prefix="tinyms-runtime-")
    os.makedirs(work, exist_ok=True)
    print(json.dumps(make_env(os.path.abspath(args.env_dir), os.path.abspath(work), args.compile_all)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
