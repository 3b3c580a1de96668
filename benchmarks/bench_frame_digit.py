"""Benchmark 10: frame_digit's cost for an MNIST image (passed through) and for photos of growing size.

The unit tests check what keeps it cheap (no framing step runs for an MNIST image; a photo larger
than 512 pixels is reduced before any other step); this script measures the time that buys.

Run: .venv/bin/python benchmarks/bench_frame_digit.py [--rounds 5]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tinyms.data import sample_dataset  # noqa: E402
from tinyms.vision._digit import frame_digit  # noqa: E402

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def mnist_images(count):
    with open(os.path.join(sample_dataset("mnist"), "test", "t10k-images-idx3-ubyte"), "rb") as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28, 1)[:count]


def photo(width, height, seed=0):
    """A dark '3' about half the picture's height on grey, noisy paper."""
    page = Image.new("L", (width, height), 225)
    draw = ImageDraw.Draw(page)
    size = max(8, height // 2)
    font = ImageFont.truetype(SANS, size) if os.path.exists(SANS) else ImageFont.load_default(size)
    draw.text((width // 3, height // 4), "3", fill=30, font=font)
    noisy = np.asarray(page, np.float32) + np.random.default_rng(seed).normal(0, 8, (height, width))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def per_call_ms(fn, arg, calls):
    started = time.perf_counter()
    for _ in range(calls):
        fn(arg)
    return (time.perf_counter() - started) * 1000 / calls


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    images = mnist_images(1000)
    rows = [("MNIST image 28x28 (passed through)", None, 1000)]
    for width, height in ((120, 90), (640, 480), (1600, 1200), (4000, 3000)):
        rows.append((f"photo {width}x{height}", photo(width, height), 20 if width < 1000 else 5))
    print("| input | ms per call (median of rounds) | rounds |")
    print("|---|---|---|")
    for name, arr, calls in rows:
        times = []
        for _ in range(args.rounds):
            if arr is None:
                started = time.perf_counter()
                for img in images:
                    frame_digit(img)
                times.append((time.perf_counter() - started) * 1000 / len(images))
            else:
                times.append(per_call_ms(frame_digit, arr, calls))
        print(f"| {name} | {statistics.median(times):.3f} | {args.rounds} |")


if __name__ == "__main__":
    main()
