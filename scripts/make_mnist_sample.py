"""Regenerate the small MNIST sample bundled in ``tinyms/data/_sample/mnist``.

The sample keeps, in their original order, the first 600 training images of each digit
(6,000 images from the official train set) and the first 100 test images of each digit
(1,000 images from the official test set). The files keep the official IDX format and
names and are gzip-compressed with a zero timestamp and no embedded file name, so running
the script twice on the same input gives byte-identical files.

Usage:
    python scripts/make_mnist_sample.py [MNIST_DIR] [--out OUT_DIR]

``MNIST_DIR`` holds the four official ``.gz`` files (default: ``../shared/datasets/mnist``
relative to the repository root). ``OUT_DIR`` defaults to ``tinyms/data/_sample/mnist``.
"""

import argparse
import gzip
import os
import struct
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SOURCE = os.path.join(REPO, "..", "shared", "datasets", "mnist")
DEFAULT_OUT = os.path.join(REPO, "tinyms", "data", "_sample", "mnist")

# split folder -> (official file prefix, images kept per digit)
SPLITS = {"train": ("train", 600), "test": ("t10k", 100)}


def read_idx(path, magic):
    """Return the array stored in the gzip IDX file ``path`` after checking its magic number."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    found, count = struct.unpack(">II", data[:8])
    if found != magic:
        raise SystemExit(f"{path}: magic number {found}, expected {magic}; is this an MNIST file?")
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


def pick(labels, per_class):
    """Indices of the first ``per_class`` samples of each label, in file order."""
    keep = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        if len(where) < per_class:
            raise SystemExit(f"only {len(where)} samples of digit {digit}, need {per_class}")
        keep[where[:per_class]] = True
    return np.flatnonzero(keep)


def write_gz(path, payload):
    """Write ``payload`` gzip-compressed to ``path`` deterministically and atomically."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
                gz.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def make_split(source, out, folder, prefix, per_class):
    images = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"), 2051)
    labels = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"), 2049)
    index = pick(labels, per_class)
    n, rows, cols = len(index), images.shape[1], images.shape[2]
    write_gz(os.path.join(out, folder, f"{prefix}-images-idx3-ubyte.gz"),
             struct.pack(">IIII", 2051, n, rows, cols) + images[index].tobytes())
    write_gz(os.path.join(out, folder, f"{prefix}-labels-idx1-ubyte.gz"),
             struct.pack(">II", 2049, n) + labels[index].tobytes())
    return n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE,
                        help="folder with the four official MNIST .gz files")
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write the sample")
    args = parser.parse_args(argv)
    source = os.path.abspath(args.source)
    if not os.path.isdir(source):
        parser.error(f"{source} is not a folder; pass the folder holding the official MNIST .gz files")
    total = 0
    for folder, (prefix, per_class) in SPLITS.items():
        n = make_split(source, args.out, folder, prefix, per_class)
        print(f"{folder}: {n} images")
    for dirpath, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"wrote {os.path.abspath(args.out)} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
