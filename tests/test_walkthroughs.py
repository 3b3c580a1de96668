"""Walkthroughs of the image classification guide (docs/guides/classification.md), run as written on small
real-format data: your own photos with ImageFolderTransform, and "Looking at training"."""

import ast
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tinyms.model import Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _photo(kind, seed, size=48):
    """A JPEG-like photo: a red disc or a blue square on a noisy, lit background, anywhere."""
    rng = np.random.default_rng(seed)
    background = rng.integers(90, 170, size=3)
    arr = np.clip(background + rng.normal(0, 12, size=(size, size, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(img)
    r = int(rng.integers(8, 14))
    x, y = (int(v) for v in rng.integers(r, size - r, size=2))
    if kind == "disc":
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(220, 30, 30))
    else:
        draw.rectangle([x - r, y - r, x + r, y + r], fill=(30, 40, 220))
    return img


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """``photos/{train,test}/{cat,dog}/*.jpg`` as the guide lays them out: the "cats" are red discs, the
    "dogs" blue squares, anywhere on a noisy background, at several sizes."""
    root = tmp_path_factory.mktemp("photos")
    for split, count, offset in (("train", 40, 0), ("test", 12, 1000)):
        for label, kind in (("cat", "disc"), ("dog", "square")):
            folder = root / "photos" / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                size = 48 + 8 * (i % 3)  # photos of several sizes
                _photo(kind, offset + i + (500 if kind == "disc" else 0), size).save(
                    folder / f"{i:04d}.jpg", quality=90)
    return root


def test_your_own_photos_train_and_predict_as_the_guide_says(photos, monkeypatch, capsys):
    monkeypatch.chdir(photos)  # the guide uses relative paths
    code = _guide_block("guides/classification.md", "test_your_own_photos_train_and_predict_as_the_guide_says")
    names = {}
    exec(compile(code, "docs/guides/classification.md", "exec"), names)  # noqa: S102 - the guide's own code
    out = capsys.readouterr().out.strip().splitlines()
    model, transform = names["model"], names["transform"]
    assert transform.labels == ("cat", "dog")
    assert model.eval_samples == 24
    result = ast.literal_eval(out[-2])             # the dict model.eval printed
    assert result["accuracy"] >= 0.9, result
    assert out[-1].split()[0] == "cat"             # photos/test/cat/0001.jpg
    assert not os.path.exists("abnormal_image.jpg")


def _guide_block(page, marker):
    """The Python block of ``docs/<page>`` that follows the line holding ``marker``."""
    text = open(os.path.join(ROOT, "docs", page), encoding="utf-8").read()
    after = text[text.index(marker):]
    start = after.index("```python\n") + len("```python\n")
    return after[start:after.index("```", start)]


def test_looking_at_training_runs_as_the_guide_writes_it(tmp_path, monkeypatch, capsys):
    import csv

    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.model import lenet5
    from tinyms.vision import mnist_transform

    monkeypatch.chdir(tmp_path)
    folder = sample_dataset("mnist")
    code = _guide_block("guides/classification.md", "tests/test_walkthroughs.py runs this block as written")
    names = {"Model": Model, "lenet5": lenet5,
             "train_ds": mnist_transform.apply_ds(MnistDataset(os.path.join(folder, "train"), num_samples=1024,
                                                                shuffle=True)),
             "test_ds": mnist_transform.apply_ds(MnistDataset(os.path.join(folder, "test"), shuffle=False),
                                                 is_training=False)}
    exec(compile(code, "docs/guides/classification.md", "exec"), names)  # noqa: S102 - the guide's own code
    out = capsys.readouterr().out
    history, report, found = names["history"], names["report"], names["found"]
    for png in ("lr_find.png", "curves.png", "confusion.png"):
        assert Image.open(png).format == "PNG", png
    # both suggestions are rates of the sweep, on the way down to the smoothed loss's minimum
    assert found.valley in found.lrs and found.steepest in found.lrs
    assert found.valley <= found.minimum and found.steepest <= found.minimum < found.lrs[-1]
    assert len(history.epoch) >= 3 and {"loss", "val_loss", "val_accuracy"} <= set(history.history)
    with open("log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(history.epoch) and float(rows[-1]["val_loss"]) == pytest.approx(history.history["val_loss"][-1])
    assert len(history.steps["loss"]) == 32 * len(history.epoch)          # 1,024 images / batch 32, every step
    assert 1 <= len([f for f in os.listdir("ckpt") if f.endswith(".ckpt")]) <= 2   # the best 2 epochs at most
    assert report.total == 1000 and report.matrix.trace() / 1000 >= 0.6    # every test image, and it learned
    assert "precision" in out and "recall" in out and "params" in out.lower()
