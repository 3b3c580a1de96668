"""Evaluating MNIST files skips frame_digit when every image is already in MNIST's framing, with identical outputs.

frame_digit returns an MNIST-framed image unchanged, but as a Python op in MindSpore's
pipeline it cost about 0.1 ms per image just to be called (the quickstart's evaluation took
2.5x as long; benchmarks/RESULTS.md section 1b). The images of IDX files are checked all at
once with numpy before the pipeline is built; photos, and IDX files holding images that are
not framed yet, still go through frame_digit row by row.
"""

import gzip
import os
import struct

import mindspore.dataset as ds
import numpy as np
import pytest

from tinyms.data import MnistDataset, sample_dataset
from tinyms.vision import _digit, _framed, mnist_transform
from tinyms.vision._digit import frame_digit

TEST_IMAGES = "t10k-images-idx3-ubyte"


def evaluate(dataset):
    """The evaluation pipeline's images and labels, in order."""
    pipeline = mnist_transform.apply_ds(dataset, batch_size=100, is_training=False)
    images, labels = [], []
    for image, label in pipeline.create_tuple_iterator(output_numpy=True):
        images.append(image)
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def map_steps(monkeypatch):
    """Record the names of the image ops each evaluation pipeline is built with."""
    seen = []
    original = ds.Dataset.map

    def spy(self, operations=None, input_columns=None, *args, **kwargs):
        if input_columns == "image":
            seen.append([getattr(op, "__name__", type(op).__name__) for op in operations])
        return original(self, operations, input_columns, *args, **kwargs)

    monkeypatch.setattr(ds.Dataset, "map", spy)
    return seen


def write_idx(folder, images, labels):
    """IDX test files holding ``images`` (N, 28, 28) uint8 and ``labels``."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, TEST_IMAGES), "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28) + images.astype(np.uint8).tobytes())
    with open(os.path.join(folder, "t10k-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + np.asarray(labels, np.uint8).tobytes())
    return folder


def sample_test_images():
    with open(os.path.join(sample_dataset("mnist"), "test", TEST_IMAGES), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)


def test_mnist_files_give_identical_outputs_with_and_without_the_fast_path(monkeypatch):
    folder = os.path.join(sample_dataset("mnist"), "test")
    steps = map_steps(monkeypatch)

    fast = evaluate(MnistDataset(folder, shuffle=False))
    monkeypatch.setattr(_framed, "FAST_PATH", False)
    row_by_row = evaluate(MnistDataset(folder, shuffle=False))

    assert steps[0][0] != "frame_digit" and steps[1][0] == "frame_digit"  # skipped, then not
    assert fast[0].shape == (1000, 1, 32, 32)
    assert np.array_equal(fast[0], row_by_row[0]) and np.array_equal(fast[1], row_by_row[1])


def test_shuffled_taken_and_gzip_sources_are_recognised(monkeypatch, tmp_path):
    folder = tmp_path / "gz"
    folder.mkdir()
    for name in (TEST_IMAGES, "t10k-labels-idx1-ubyte"):
        with open(os.path.join(sample_dataset("mnist"), "test", name), "rb") as f:
            (folder / (name + ".gz")).write_bytes(gzip.compress(f.read()))
    steps = map_steps(monkeypatch)
    images, _ = evaluate(MnistDataset(folder, usage="test", shuffle=True).take(300).skip(50))
    assert len(images) == 250 and "frame_digit" not in steps[0]


def test_idx_files_of_unframed_digits_are_still_framed_row_by_row(monkeypatch, tmp_path):
    mnist = sample_test_images()[:40]
    photos = 255 - mnist  # dark digits on a light field: frame_digit inverts and reframes them
    photos[20:] = mnist[20:]  # half of them; the others already framed
    folder = write_idx(str(tmp_path / "mixed"), photos, np.arange(40) % 10)
    steps = map_steps(monkeypatch)

    images, _ = evaluate(MnistDataset(folder, shuffle=False))

    assert steps[0][0] == "frame_digit"
    expected = np.stack([mnist_transform(frame_digit(img)) for img in photos])
    assert np.array_equal(images, expected)
    assert not np.array_equal(frame_digit(photos[0]), photos[0][:, :, None])  # these were reframed
    assert np.array_equal(images[20:], np.stack([mnist_transform(img[:, :, None]) for img in mnist[20:]]))


def test_photos_in_other_datasets_are_framed(monkeypatch):
    paper = np.full((60, 45), 230, np.uint8)
    paper[15:45, 25:28] = 20  # a dark "1" right of centre
    steps = map_steps(monkeypatch)
    data = ds.NumpySlicesDataset({"image": paper[None, :, :, None].repeat(3, axis=0),
                                  "label": np.ones(3, np.uint32)}, shuffle=False)
    images, _ = evaluate(data)
    assert steps[0][0] == "frame_digit"
    assert np.array_equal(images[0], mnist_transform(frame_digit(paper)))
    assert np.array_equal(mnist_transform(paper), mnist_transform(frame_digit(paper)))  # single image: framed


def test_vectorised_check_agrees_with_frame_digit():
    rng = np.random.default_rng(0)
    mnist = sample_test_images()
    noise = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    edges = np.zeros((300, 28, 28), np.uint8)
    edges[:, 0, :] = rng.integers(0, 256, (300, 28), dtype=np.uint8)  # borders near the 128 median line
    edges[:, -1, :] = rng.integers(100, 160, (300, 28), dtype=np.uint8)
    edges[:, :, 0] = rng.integers(120, 140, (300, 28), dtype=np.uint8)
    edges[:, :, -1] = rng.integers(110, 150, (300, 28), dtype=np.uint8)
    for images in (mnist, 255 - mnist[:200], noise, edges):
        unchanged = np.array([np.array_equal(frame_digit(img), img[:, :, None]) for img in images])
        assert np.array_equal(_digit.framed(images), unchanged)


@pytest.mark.parametrize("damage", ["truncated", "wrong magic", "32x32"])
def test_unreadable_or_unusual_files_take_the_row_by_row_path(tmp_path, damage):
    folder = write_idx(str(tmp_path / "f"), sample_test_images()[:10], np.zeros(10))
    path = os.path.join(folder, TEST_IMAGES)
    if damage == "truncated":
        with open(path, "r+b") as f:
            f.truncate(16 + 5 * 784)
    elif damage == "wrong magic":
        with open(path, "r+b") as f:
            f.write(struct.pack(">I", 1234))
    else:
        with open(path, "r+b") as f:
            f.write(struct.pack(">IIII", 2051, 10, 32, 32))
    source = ds.MnistDataset(folder, usage="test")
    assert not _framed.all_framed(source)
