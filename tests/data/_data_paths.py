"""Paths and helpers the tinyms.data tests share (imported by name: a module called ``conftest``
could be another folder's when one pytest session collects several folders)."""

import os

from tinyms.data import dataset_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "datasets", "mnist"))
SAMPLE_DIR = os.path.join(REPO, "tinyms", "data", "_sample", "mnist")
MNIST_GZ = {item.name: item for item in dataset_spec("mnist").files}
LAYOUT = ["test/t10k-images-idx3-ubyte", "test/t10k-labels-idx1-ubyte",
          "train/train-images-idx3-ubyte", "train/train-labels-idx1-ubyte"]


def visible_files(root):
    """Relative paths of the non-hidden files under ``root`` (hidden folders skipped)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/")
                  for f in files if not f.startswith(".")]
    return sorted(found)


def sample_gz_path(remote):
    """Path of the bundled sample's copy of official file ``remote``."""
    split = "train" if remote.startswith("train") else "test"
    return os.path.join(SAMPLE_DIR, split, remote)
