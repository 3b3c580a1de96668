"""Run the test suite the way `make test` does: in parts, each part in two pytest-xdist workers.

A test keeps about one of the 2-core machine's cores busy (compiles and Python), so two workers
halve the suite's time. But a worker keeps what MindSpore and the first use of each library leave
resident (1.5-4 GB by the end of a suite), and two workers holding that at once passed the 8 GB the
suite may take. So the suite runs in parts, one after the other, each in a pytest session with
fresh workers: a worker holds only what its part leaves. Each part's session checks the memory
bound and the temporary folder itself (tests/_memory.py, tests/conftest.py).

Usage (from the repository root):

    python scripts/run_tests.py [--workers N] [pytest arguments...]

``--workers 0`` runs each part in one process. Extra arguments go to every part's pytest. Exits 0
when every part passed, 1 when a part collected no test, else the first failing part's status.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: the parts, in the order they run; every test file belongs to exactly one (checked before running)
PARTS = [
    # tests/model in two halves: one session for all of it peaked at 7.04 GiB (of 7.5) on CI
    ("networks and tasks, a-l", ["tests/model/test_[a-l]*.py"]),
    ("networks and tasks, m-z", ["tests/model/test_[m-z]*.py"]),
    ("serving, hub and the detection app", ["tests/serving", "tests/hub", "tests/app"]),
    ("data, text and vision", ["tests/data", "tests/text", "tests/vision"]),
    ("commands, walkthroughs and the site", ["tests/docs", "tests/test_*.py"]),
]


def _files(patterns):
    found = set()
    for pattern in patterns:
        path = os.path.join(ROOT, pattern)
        if os.path.isdir(path):
            found.update(glob.glob(os.path.join(path, "**", "test_*.py"), recursive=True))
        else:
            found.update(glob.glob(path))
    return {os.path.relpath(f, ROOT) for f in found}


def check_parts():
    """Every test file is in exactly one part.

    Returns:
        list: the parts' path lists, as pytest arguments.

    Raises:
        SystemExit: a test file in no part or in two (named).
    """
    seen, parts = {}, []
    for name, patterns in PARTS:
        for f in _files(patterns):
            if f in seen:
                raise SystemExit(f"run_tests.py: {f} is in two parts ({seen[f]!r} and {name!r})")
            seen[f] = name
        # folders as they are (pytest finds their files), file patterns as the files they match
        parts.append([p for p in patterns if not glob.has_magic(p)]
                     + sorted(f for p in patterns if glob.has_magic(p) for f in _files([p])))
    missing = sorted(_files(["tests"]) - set(seen))
    if missing:
        raise SystemExit(f"run_tests.py: test files in no part of PARTS: {', '.join(missing)}")
    return parts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="xdist workers per part (0: one process)")
    args, pytest_args = parser.parse_known_args(argv)
    parts = check_parts()
    statuses, started = [], time.monotonic()
    for (name, _), paths in zip(PARTS, parts):
        print(f"\n===== part {len(statuses) + 1} of {len(PARTS)}: {name} ({' '.join(paths)}) =====", flush=True)
        t0 = time.monotonic()
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", str(args.workers), "--dist", "loadfile",
               *pytest_args, *paths]
        statuses.append(subprocess.call(cmd, cwd=ROOT))
        print(f"===== part {len(statuses)} ({name}): exit status {statuses[-1]} after "
              f"{time.monotonic() - t0:.0f} s =====", flush=True)
    print(f"\n===== {len(PARTS)} parts in {time.monotonic() - started:.0f} s; exit statuses "
          f"{statuses} =====", flush=True)
    if any(s == 5 for s in statuses):
        print("run_tests.py: a part collected no tests", file=sys.stderr)
        return 1
    return next((s for s in statuses if s), 0)


if __name__ == "__main__":
    sys.exit(main())
