"""Generate the synthetic "shapes" detection dataset, a PASCAL VOC-layout folder.

Each image shows 1 to 4 objects of 5 classes (circle, cross, square, star, triangle) of
varied size, colour, aspect and rotation, on a cluttered background: a colour gradient,
low-frequency colour noise, blurred blobs, random lines and fine pixel noise. Objects may
touch or overlap a little (at most 10 % of the smaller box); a later object is drawn over an
earlier one, whose box keeps its full extent, as annotators draw occluded objects.

Output (VOC's layout, read by ``tinyms.data.VOCDataset`` and ``tinyms.data.detection_dataset``)::

    OUT/Annotations/000001.xml ...      one VOC annotation per image
    OUT/JPEGImages/000001.jpg ...
    OUT/ImageSets/Main/train.txt        the first (1 - test_fraction) of the ids
    OUT/ImageSets/Main/test.txt         the rest
    OUT/ImageSets/Main/trainval.txt     = train.txt (there is no separate val list)

Boxes are whole pixels in pixel-edge coordinates: ``xmin`` is the first column an object
covers (at least half a pixel), ``xmax`` one past the last, so ``xmax - xmin`` (the width
VOCDataset reports) is the object's width in pixels. Every object keeps at least 1 pixel from
the image border (MindSpore's VOC reader refuses a coordinate of 0).

Everything follows from ``--seed``: image ``i`` draws from its own generator seeded with
``(seed, i)``, so two runs give byte-identical files (with the same Pillow and libjpeg).

Usage:
    python scripts/make_shapes_sample.py --out DIR [--count 600] [--size 300] [--seed 0]
    python scripts/make_shapes_sample.py --bundled     # regenerate tinyms/data/_sample/shapes

``--bundled`` writes the sample shipped with TinyMS (``sample_dataset("shapes")``): the same
600 scenes at 160x160, JPEG quality 75 (2.4 MB). The benchmark uses ``--count 600 --size 300``.
"""

import argparse
import io
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_OUT = os.path.join(REPO, "tinyms", "data", "_sample", "shapes")
BUNDLED = {"count": 600, "size": 160, "seed": 0, "quality": 75, "test_fraction": 0.2}

CLASSES = ("circle", "cross", "square", "star", "triangle")  # sorted: label i names CLASSES[i]
SUPERSAMPLE = 4          # shapes are drawn at 4x and averaged down: smooth edges, exact coverage
MIN_RADIUS, MAX_RADIUS = 0.08, 0.28   # of the image side
MAX_OVERLAP = 0.10       # intersection / smaller box area
MIN_CONTRAST = 120       # sum over RGB of |object colour - mean background under it|
NOISE = 2.0            # standard deviation of the fine pixel noise
LAYOUT = ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main"))


def _outline(kind, rng):
    """Unit-size outline of ``kind`` around (0, 0): a polygon [(x, y), ...] or None for the circle."""
    if kind == "circle":
        return None
    turn = rng.random() * 2 * math.pi
    if kind == "square":
        corners = [(math.cos(a), math.sin(a)) for a in (0.25 * math.pi + k * 0.5 * math.pi for k in range(4))]
    elif kind == "triangle":
        corners = [(math.cos(a), math.sin(a)) for a in (-0.5 * math.pi + k * 2 * math.pi / 3 for k in range(3))]
    elif kind == "star":
        inner = 0.38 + 0.12 * rng.random()
        corners = [((1 if k % 2 == 0 else inner) * math.cos(a), (1 if k % 2 == 0 else inner) * math.sin(a))
                   for k, a in enumerate(-0.5 * math.pi + k * math.pi / 5 for k in range(10))]
    else:  # cross: a plus sign whose arms are 2 * arm wide
        arm = 0.22 + 0.12 * rng.random()
        corners = [(arm, -1), (arm, -arm), (1, -arm), (1, arm), (arm, arm), (arm, 1), (-arm, 1),
                   (-arm, arm), (-1, arm), (-1, -arm), (-arm, -arm), (-arm, -1)]
    cos, sin = math.cos(turn), math.sin(turn)
    return [(x * cos - y * sin, x * sin + y * cos) for x, y in corners]


def _coverage(outline, centre, radii, window):
    """Fraction (0..1) of each pixel of ``window`` (x0, y0, x1, y1) the object covers (float32 array)."""
    x0, y0, x1, y1 = window
    mask = Image.new("L", ((x1 - x0) * SUPERSAMPLE, (y1 - y0) * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = (centre[0] - x0) * SUPERSAMPLE, (centre[1] - y0) * SUPERSAMPLE
    rx, ry = radii[0] * SUPERSAMPLE, radii[1] * SUPERSAMPLE
    if outline is None:
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    else:
        draw.polygon([(cx + x * rx, cy + y * ry) for x, y in outline], fill=255)
    return np.asarray(mask.resize((x1 - x0, y1 - y0), Image.BOX), np.float32) / 255.0


def _background(rng, size):
    """A cluttered RGB background (float32, size x size x 3) and the lines to draw over it."""
    low, high = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    angle = rng.random() * 2 * math.pi
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    ramp = math.cos(angle) * t[None, :] + math.sin(angle) * t[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    image = low + (high - low) * ramp[..., None]
    cloud = np.clip(rng.normal(128, 25, (6, 6, 3)), 0, 255).astype(np.uint8)
    image += np.asarray(Image.fromarray(cloud).resize((size, size), Image.BICUBIC), np.float32) - 128
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))

    blobs, alpha = Image.new("RGB", (size, size)), Image.new("L", (size, size), 0)
    draw_blobs, draw_alpha = ImageDraw.Draw(blobs), ImageDraw.Draw(alpha)
    for _ in range(3 + int(rng.random() * 5)):
        x, y = rng.random(2) * size
        rx, ry = (0.05 + 0.15 * rng.random(2)) * size
        draw_blobs.ellipse([x - rx, y - ry, x + rx, y + ry], fill=tuple(int(v) for v in rng.random(3) * 255))
        draw_alpha.ellipse([x - rx, y - ry, x + rx, y + ry], fill=int(60 + 100 * rng.random()))
    blur = ImageFilter.GaussianBlur(size / 40)
    canvas = Image.composite(blobs.filter(blur), canvas, alpha.filter(blur))
    lines = []
    for _ in range(3 + int(rng.random() * 7)):
        points = [tuple(float(v) for v in rng.random(2) * size) for _ in range(2 + int(rng.random() * 2))]
        colour = tuple(int(v) for v in rng.random(3) * 255)
        lines.append((points, colour, 1 + int(rng.random() * max(1, size // 100))))
    return canvas, lines


def _overlap(a, b):
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller


def render(seed, index, size):
    """Image ``index`` of the dataset of ``seed`` at ``size`` x ``size``.

    Returns:
        (numpy.ndarray, list): the RGB image (uint8, HWC) and its objects as
        ``(class name, (xmin, ymin, xmax, ymax))`` in pixel-edge coordinates, in drawing order.
    """
    rng = np.random.default_rng([seed, index])
    canvas, lines = _background(rng, size)
    draw = ImageDraw.Draw(canvas)
    for points, colour, width in lines:
        draw.line(points, fill=colour, width=width)
    image = np.asarray(canvas, np.float32).copy()
    wanted = 1 + int(rng.random() * 4)
    objects, boxes = [], []
    for _ in range(60):  # placement attempts
        if len(objects) == wanted:
            break
        kind = CLASSES[int(rng.random() * len(CLASSES))]
        outline = _outline(kind, rng)
        radius = (MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * rng.random()) * size
        aspect = 0.8 + 0.4 * rng.random()
        radii = (radius * math.sqrt(aspect), radius / math.sqrt(aspect))
        centre = tuple(rng.random(2) * size)
        colour = rng.random(3) * 255
        if outline is None:
            extent = (centre[0] - radii[0], centre[1] - radii[1], centre[0] + radii[0], centre[1] + radii[1])
        else:
            xs = [centre[0] + x * radii[0] for x, _ in outline]
            ys = [centre[1] + y * radii[1] for _, y in outline]
            extent = (min(xs), min(ys), max(xs), max(ys))
        if extent[0] < 1 or extent[1] < 1 or extent[2] > size - 1 or extent[3] > size - 1:
            continue  # keep a pixel of border: MindSpore's VOC reader refuses coordinate 0
        window = (int(extent[0]), int(extent[1]), math.ceil(extent[2]), math.ceil(extent[3]))
        cover = _coverage(outline, centre, radii, window)
        rows, cols = np.nonzero(cover >= 0.5)
        if not len(rows):
            continue
        box = (window[0] + int(cols.min()), window[1] + int(rows.min()),
               window[0] + int(cols.max()) + 1, window[1] + int(rows.max()) + 1)
        if any(_overlap(box, other) > MAX_OVERLAP for other in boxes):
            continue
        rows, cols = rows + window[1], cols + window[0]
        under = image[rows, cols].mean(axis=0)
        if np.abs(colour - under).sum() < MIN_CONTRAST:
            continue
        shade = 0.85 + 0.3 * rng.random()   # a little shading from top to bottom of the object
        ramp = np.linspace(-1, 1, window[3] - window[1], dtype=np.float32)[:, None, None]
        tint = np.clip(colour * (1 + (shade - 1) * ramp), 0, 255)
        alpha = cover[..., None]
        patch = image[window[1]:window[3], window[0]:window[2]]
        image[window[1]:window[3], window[0]:window[2]] = patch * (1 - alpha) + tint * alpha
        objects.append((kind, box))
        boxes.append(box)
    image += rng.normal(0.0, NOISE, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), objects


def annotation_xml(image_id, size, objects):
    """The VOC annotation of one image, as UTF-8 bytes."""
    parts = [f"<annotation><folder>shapes</folder><filename>{image_id}.jpg</filename>"
             f"<size><width>{size}</width><height>{size}</height><depth>3</depth></size>"
             f"<segmented>0</segmented>\n"]
    for name, (x0, y0, x1, y1) in objects:
        parts.append(f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
                     f"<difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
                     f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>\n")
    parts.append("</annotation>\n")
    return "".join(parts).encode("utf-8")


def jpeg_bytes(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def write_dataset(out, count=600, size=300, seed=0, quality=85, test_fraction=0.2):
    """Write the dataset into folder ``out`` (replaced atomically); return a summary dict.

    ``out`` must not exist, be empty, or hold only VOC's three folders (an earlier run).
    """
    if count < 2 or size < 32 or not 0 < test_fraction < 1 or not 1 <= quality <= 95:
        raise ValueError("need count >= 2, size >= 32, 0 < test_fraction < 1, 1 <= quality <= 95")
    out = os.path.abspath(out)
    if os.path.isdir(out) and not set(os.listdir(out)) <= {"Annotations", "JPEGImages", "ImageSets"}:
        raise SystemExit(f"{out} holds other files; give an empty or new folder")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-shapes-", dir=parent)
    start = time.perf_counter()
    try:
        for sub in LAYOUT:
            os.makedirs(os.path.join(tmp, sub))
        ids, per_class = [], dict.fromkeys(CLASSES, 0)
        for index in range(count):
            image_id = f"{index + 1:06d}"
            image, objects = render(seed, index, size)
            with open(os.path.join(tmp, "JPEGImages", image_id + ".jpg"), "wb") as f:
                f.write(jpeg_bytes(image, quality))
            with open(os.path.join(tmp, "Annotations", image_id + ".xml"), "wb") as f:
                f.write(annotation_xml(image_id, size, objects))
            for name, _ in objects:
                per_class[name] += 1
            ids.append(image_id)
        n_test = max(1, round(count * test_fraction))
        lists = {"train": ids[:-n_test], "test": ids[-n_test:], "trainval": ids[:-n_test]}
        for usage, listed in lists.items():
            with open(os.path.join(tmp, "ImageSets", "Main", usage + ".txt"), "w", encoding="utf-8",
                      newline="\n") as f:
                f.write("".join(i + "\n" for i in listed))
        for folder, _, files in os.walk(tmp):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(out) for f in files)
    return {"out": out, "train": len(lists["train"]), "test": len(lists["test"]), "objects": per_class,
            "bytes": total, "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder to write (replaced if it holds an earlier run)")
    parser.add_argument("--bundled", action="store_true",
                        help=f"write TinyMS's bundled sample ({BUNDLED}) into {BUNDLED_OUT}")
    parser.add_argument("--count", type=int, default=600, help="number of images (default 600)")
    parser.add_argument("--size", type=int, default=300, help="image side in pixels (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality (default 85)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="share of the images in test.txt, the last ids (default 0.2)")
    args = parser.parse_args(argv)
    if args.bundled:
        settings = dict(BUNDLED, out=args.out or BUNDLED_OUT)
    elif not args.out:
        parser.error("give --out DIR (or --bundled to regenerate TinyMS's bundled sample)")
    else:
        settings = {"out": args.out, "count": args.count, "size": args.size, "seed": args.seed,
                    "quality": args.quality, "test_fraction": args.test_fraction}
    try:
        summary = write_dataset(**settings)
    except ValueError as exc:
        parser.error(str(exc))
    objects = ", ".join(f"{name} {n}" for name, n in summary["objects"].items())
    print(f"wrote {summary['out']}: {summary['train']} train + {summary['test']} test images "
          f"({settings['size']}x{settings['size']}), objects: {objects}; "
          f"{summary['bytes']:,} bytes in {summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
