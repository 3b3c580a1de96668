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
