"""The default detector on a 600-image folder: how far `tinyms train --data FOLDER` gets, and how fast.

Generates the benchmark folder with the same script as the bundled sample (600 scenes of five
shapes on cluttered backgrounds, VOC layout, 480 train / 120 test), then runs ``tinyms train
--data DIR`` without ``--model`` (the default detector and recipe) for ``--epochs`` epochs,
reading the validation mAP after every epoch from the run's history.csv with the wall time.

Run from the repository root (outside the test suite):

    GLOG_v=3 .venv/bin/python benchmarks/bench_default_detector.py --size 300
    GLOG_v=3 .venv/bin/python benchmarks/bench_default_detector.py --size 160 --epochs 15 \\
        --extra --batch-size 16 --lr 0.05 --schedule cosine --warmup-epochs 1

Prints one JSON line per epoch ({"epoch", "seconds", "loss", "val_mAP50", ...}) and a summary line
with the machine's load average (2 cores are shared: say so next to any number).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="image side of the generated folder")
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=None, help="default: tinyms train's own (60 for detection)")
    parser.add_argument("--work", default=None, help="folder for the data and the run (default: a temporary one)")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more tinyms train flags")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="bench_detector_")
    data, run = os.path.join(work, f"shapes{args.size}"), os.path.join(work, "run")
    if not os.path.isdir(data):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_shapes_sample.py"), "--count",
                        str(args.count), "--size", str(args.size), "--out", data], check=True)
    started = time.perf_counter()
    load_before = os.getloadavg()
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    cmd = [sys.executable, "-m", "tinyms", "train", "--data", data, *epochs, "--out", run, *args.extra]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "GLOG_v": "3"}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(done.returncode)
    elapsed = 0.0
    with open(os.path.join(run, "history.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            elapsed += float(row.get("seconds") or 0.0)
            print(json.dumps({"epoch": int(row["epoch"]), "seconds": round(elapsed, 1),
                              **{k: round(float(v), 4) for k, v in row.items()
                                 if k in ("loss", "val_mAP50", "val_mAP50_95", "val_voc07_mAP50")}}))
    print(json.dumps({"command": " ".join(cmd[1:]), "wall_seconds": round(wall, 1),
                      "load_before": [round(v, 2) for v in load_before],
                      "load_after": [round(v, 2) for v in os.getloadavg()]}))


if __name__ == "__main__":
    main()
