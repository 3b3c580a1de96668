"""The README's walkthroughs, followed word for word on small real-format data: your own photos
with ImageFolderTransform, and the MNIST walkthrough switched to other datasets by one word."""

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tinyms.data import ImageFolderDataset
from tinyms.model import Model, create_model
from tinyms.vision import ImageFolderTransform


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
    root = tmp_path_factory.mktemp("photos")
    for split, count, offset in (("train", 40, 0), ("test", 12, 1000)):
        for kind in ("disc", "square"):
            folder = root / split / kind
            folder.mkdir(parents=True)
            for i in range(count):
                size = 48 + 8 * (i % 3)  # photos of several sizes
                _photo(kind, offset + i + (500 if kind == "disc" else 0), size).save(
                    folder / f"{i:04d}.jpg", quality=90)
    return root


def test_your_own_photos_train_and_predict_as_the_readme_says(photos, monkeypatch):
    monkeypatch.chdir(photos)  # the README uses relative paths
    transform = ImageFolderTransform.for_folder('train', size=32)  # labels = sub-folder names
    assert transform.labels == ("disc", "square")
    train_ds = transform.apply_ds(ImageFolderDataset('train'), batch_size=16)
    model = Model(create_model('lenet5', class_num=len(transform.labels), num_channel=3))
    model.compile(loss_fn='cross_entropy', optimizer='adam', metrics=['accuracy'], learning_rate=0.001)
    model.train(10, train_ds, verbose=0)
    result = model.eval(transform.apply_ds(ImageFolderDataset('test'), is_training=False))
    assert model.eval_samples == 24
    assert result["accuracy"] >= 0.9, result
    pred = transform.postprocess(model.predict(transform(os.path.join('test', 'square', '0001.jpg'))[None]))
    assert pred[0].label == "square"
    assert not os.path.exists("abnormal_image.jpg")


def _readme_block(marker):
    """The README's Python block that follows the line holding ``marker``."""
    text = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"),
                encoding="utf-8").read()
    after = text[text.index(marker):]
    start = after.index("```python\n") + len("```python\n")
    return after[start:after.index("```", start)]


def test_looking_at_training_runs_as_the_readme_writes_it(tmp_path, monkeypatch, capsys):
    import csv

    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.model import lenet5
    from tinyms.vision import mnist_transform

    monkeypatch.chdir(tmp_path)
    folder = sample_dataset("mnist")
    code = _readme_block("tests/test_walkthroughs.py runs this block as written")
    names = {"Model": Model, "lenet5": lenet5,
             "train_ds": mnist_transform.apply_ds(MnistDataset(os.path.join(folder, "train"), num_samples=1024,
                                                                shuffle=True)),
             "test_ds": mnist_transform.apply_ds(MnistDataset(os.path.join(folder, "test"), shuffle=False),
                                                 is_training=False)}
    exec(compile(code, "README.md", "exec"), names)  # noqa: S102 - the README's own code
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
