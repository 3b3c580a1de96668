"""Benchmark 12: the detection app's frames per second on a 640x480 video (``tinyms detect``).

A 640x480 video (generated: coloured shapes moving over a textured background, mp4v at 30
frames/s) goes through the app as a user runs it, ``python -m tinyms detect VIDEO --run RUN``,
in a fresh process per round. RUN holds ``ssd300_mobilenetv2(class_num=6)`` (5 object classes
and the background, as the generated shapes sample has) saved with ``Model.save_checkpoint``,
one run folder per network input size; ``--model UID`` takes a zoo model with weights instead.
The app's own last lines give the frames per second of the whole loop (decode, preprocess,
network, post-processing, drawing, encode) and the network's share; the parent samples the
child's resident memory every 20 ms for the peak. The frames per second exclude the model's
loading and compilation (the app warms the network up before the first frame).

An untrained network scores every class near its 0.01 prior, so at the app's default threshold
(0.3) nothing is drawn; ``--score-threshold 0.005 --max-detections 10`` makes every anchor a
candidate for non-maximum suppression and draws 10 boxes per frame, the post-processing's worst
case.

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_detect_app.py [--frames 300] [--sizes 160 300] [--rounds 3]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SPEED = re.compile(r"(\d+) frame\(s\) in ([\d.]+) s: ([\d.]+) frames/s, network ([\d.]+) ms/frame")


def make_video(path, frames, size=(640, 480), fps=30.0, seed=0):
    """Shapes moving over a noisy, graded background (mp4v)."""
    import cv2

    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    background = np.clip(ramp + rng.normal(0, 18, (height, width, 3)), 0, 255).astype(np.uint8)
    shapes = [(rng.integers(0, width - 120), rng.integers(0, height - 120), rng.integers(40, 120),
               tuple(int(c) for c in rng.integers(0, 255, 3)), rng.integers(-6, 7, 2)) for _ in range(5)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for index in range(frames):
        frame = background.copy()
        for number, (x, y, side, colour, (dx, dy)) in enumerate(shapes):
            x0, y0 = int((x + dx * index) % (width - side)), int((y + dy * index) % (height - side))
            if number % 2:
                cv2.circle(frame, (x0 + side // 2, y0 + side // 2), side // 2, colour, -1)
            else:
                cv2.rectangle(frame, (x0, y0), (x0 + side, y0 + side), colour, -1)
        writer.write(frame)
    writer.release()
    return path


def make_run(folder, image_size):
    """A run folder with an (untrained) ssd300_mobilenetv2 checkpoint for 5 classes at ``image_size``."""
    from tinyms.model import Model, ssd300_mobilenetv2

    os.makedirs(folder, exist_ok=True)
    Model(ssd300_mobilenetv2(class_num=6, image_size=image_size)).save_checkpoint(os.path.join(folder, "best.ckpt"))
    return folder


def run_app(video, source, out, extra):
    """One ``tinyms detect`` process: (frames, seconds, frames/s, network ms/frame, peak RSS MiB)."""
    import psutil

    argv = [sys.executable, "-m", "tinyms", "detect", str(video), *source, "--out", str(out), *extra]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "GLOG_v": "3"})
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({child.returncode}):\n{stderr[-3000:]}")
    match = _SPEED.search(stdout)
    frames, seconds, fps, network = int(match[1]), float(match[2]), float(match[3]), float(match[4])
    return frames, seconds, fps, network, peak / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames of the generated video (default 300)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[160, 300], help="SSD input sizes (default 160 300)")
    parser.add_argument("--model", default=None, help="a zoo detection model with weights (replaces --sizes)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(os.path.join(tmp, "street.mp4"), args.frames)
        sources = ([(args.model, ["--model", args.model])] if args.model else
                   [(f"ssd300_mobilenetv2, {s}x{s} input", ["--run", make_run(os.path.join(tmp, f"run{s}"), s)])
                    for s in args.sizes])
        cases = [("default (0.3): nothing drawn", []),
                 ("0.005, 10 boxes drawn", ["--score-threshold", "0.005", "--max-detections", "10"])]
        print(f"640x480 video, {args.frames} frames; median of {args.rounds} rounds; {os.cpu_count()} CPUs")
        print("| model | score threshold | frames/s (rounds) | network ms/frame | rest of the loop ms/frame "
              "| peak RSS MiB | load average |")
        print("|---|---|---|---|---|---|---|")
        for name, source in sources:
            for label, extra in cases:
                runs = [run_app(video, source, os.path.join(tmp, "out.mp4"), extra) for _ in range(args.rounds)]
                assert all(r[0] == args.frames for r in runs), "the app did not process every frame"
                fps = statistics.median(r[2] for r in runs)
                network = statistics.median(r[3] for r in runs)
                rest = statistics.median(1000 * r[1] / r[0] - r[3] for r in runs)
                peak = max(r[4] for r in runs)
                shown = ", ".join(f"{r[2]:.1f}" for r in runs)
                print(f"| {name} | {label} | {fps:.1f} ({shown}) | {network:.1f} | {rest:.1f} | {peak:.0f} "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
