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


def write_section(path, heading, report):
    """Put ``report`` (starting with ``heading``) into the Markdown file ``path``: in place of the section
    that starts with ``heading`` (up to the next ``## `` heading), or at the end when there is none."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    report = report.strip("\n") + "\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + report + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + report
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def publish(report, results, heading, scratch=None):
    """Print ``report``, write it into the ``results`` Markdown file (if given) as section ``heading``,
    and remove the ``scratch`` folder (if given)."""
    print(report)
    if results:
        write_section(results, heading, report)
    if scratch:
        import shutil  # noqa: PLC0415

        shutil.rmtree(scratch, ignore_errors=True)
