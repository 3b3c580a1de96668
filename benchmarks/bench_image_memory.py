"""Peak memory of preprocessing one uploaded image in a serving front end, by image kind.

For each case a fresh process reads a PNG of ``--side`` x ``--side`` pixels from a file and runs
the front end's :class:`~tinyms.serving._preprocess.ImageRecipe` on it; the growth of the
process's peak RSS during that call (Linux: peak reset through ``/proc/self/clear_refs``) is
what one request in flight costs at that size (the default ``max_image_pixels`` is
4096 x 4096).

Run:  GLOG_v=3 .venv/bin/python benchmarks/bench_image_memory.py [--side 4096]
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import sys
from tinyms.serving._preprocess import ImageRecipe
from tinyms.vision._recipe import Recipe


def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


path, channels, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    data = f.read()
steps = [["resize", {"size": [32, 32]}], ["rescale", {"scale": 1 / 255}],
         ["normalize", {"mean": [0.5] * channels, "std": [0.5] * channels}], ["hwc2chw"]]
recipe = ImageRecipe(Recipe(train=steps, eval=steps, channels=channels), max_pixels=side * side)
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
recipe(data)
print(status("VmHWM") - before)
"""

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=4096)
    args = parser.parse_args()
    import numpy as np
    from PIL import Image

    side = args.side
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyms-bench-image-") as tmp:
        for mode in ("L", "RGB", "RGBA"):
            pixels = rng.integers(0, 256, (side, side, 4), dtype=np.uint8)
            image = Image.fromarray(pixels, "RGBA").convert(mode)
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=1)
            path = os.path.join(tmp, f"{mode}.png")
            with open(path, "wb") as f:
                f.write(buf.getvalue())
            del image, pixels, buf
            for channels in (1, 3):
                out = subprocess.run([sys.executable, "-c", _CHILD, path, str(channels), str(side)],
                                     capture_output=True, text=True, check=True)
                growth = int(out.stdout.strip().splitlines()[-1])
                rows.append((mode, channels, growth))
                print(f"{mode} image, {channels}-channel servable: +{growth / 2**20:.0f} MiB "
                      f"({growth / side ** 2:.1f} bytes/pixel)", flush=True)
    print(f"\n| {side} x {side} PNG | servable channels | peak RSS growth MiB | bytes per pixel |\n|---|---|---|---|")
    for mode, channels, growth in rows:
        print(f"| {mode} | {channels} | {growth / 2**20:.0f} | {growth / side ** 2:.1f} |")


if __name__ == "__main__":
    main()
