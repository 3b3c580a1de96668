"""The front end's numpy/PIL preprocessing gives what tinyms.vision gives, without MindSpore."""

import io

import numpy as np
import pytest
from PIL import Image

from tinyms.serving._preprocess import STRATEGIES, InputError, recipe_for, resize_bilinear_u8, top_k

from .conftest import MNIST_LABELS, png_bytes


def _encoded(rng, i):
    h, w = (int(v) for v in rng.integers(1, 130, size=2))
    mode = ["L", "RGB", "RGBA", "P", "LA"][i % 5]
    image = Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), "RGB").convert(mode)
    fmt = ["PNG", "JPEG", "BMP", "GIF"][i % 4] if mode in ("L", "RGB") else "PNG"
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def test_resize_is_bit_exact_with_mindspore():
    from tinyms.vision import Inter, Resize

    rng = np.random.default_rng(1)
    sizes = [(28, 28), (64, 64), (32, 32), (1, 1), (1, 40), (40, 1), (280, 280), (7, 300)]
    sizes += [tuple(int(v) for v in rng.integers(2, 100, size=2)) for _ in range(60)]
    for i, (h, w) in enumerate(sizes):
        channels = 3 if i % 3 == 0 else 1
        img = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
        out_size = (32, 32) if i % 2 == 0 else tuple(int(v) for v in rng.integers(2, 70, size=2))
        want = np.asarray(Resize(out_size, Inter.LINEAR)(img)).reshape(out_size + (channels,))
        assert np.array_equal(resize_bilinear_u8(img, *out_size), want), (h, w, channels, out_size)


def test_image_recipe_matches_mnist_transform(mnist_images):
    from tinyms.vision import mnist_transform

    recipe = recipe_for("mnist_transform", (1, 32, 32))
    rng = np.random.default_rng(2)
    samples = [png_bytes(img) for img in mnist_images[:20]] + [_encoded(rng, i) for i in range(60)]
    worst = 0.0
    for data in samples:
        got = recipe(data)
        want = mnist_transform(data)
        assert got.shape == want.shape == (1, 32, 32) and got.dtype == np.float32
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst < 1e-5


def test_recipe_defaults_are_the_mnist_facts():
    from tinyms.data import dataset_info
    from tinyms.model import model_config

    recipe = recipe_for("mnist_transform", model_config("lenet5").input_shape)
    info = dataset_info("mnist")
    normalize = [step.kwargs() for step in recipe.recipe.eval if step.op == "normalize"]
    assert normalize == [{"mean": list(info.mean), "std": list(info.std)}]
    assert recipe.recipe.eval == model_config("lenet5").recipe.eval  # a preset name rebuilds the zoo's recipe
    assert recipe_for("unknown_transform", (1, 32, 32)) is None


def test_top_k_matches_vision_postprocess():
    from tinyms.vision.predictions import top_k_predictions

    logits = np.random.default_rng(3).standard_normal((6, 10)) * 4
    logits[0, 3] = logits[0, 4]  # a tie keeps the lower class id first, as in tinyms.vision
    for strategy, k in STRATEGIES.items():
        want = top_k_predictions(logits, MNIST_LABELS, strategy).to_dict()["predictions"]
        assert top_k(logits, MNIST_LABELS, k) == want


def test_undecodable_and_oversized_images_are_rejected():
    recipe = recipe_for("mnist_transform", (1, 32, 32), max_pixels=10_000)
    with pytest.raises(InputError) as bad:
        recipe(b"certainly not an image")
    assert bad.value.status == 400 and "cannot decode" in bad.value.message
    with pytest.raises(InputError) as big:
        recipe(png_bytes(np.zeros((200, 200), np.uint8)))
    assert big.value.status == 413 and "200x200" in big.value.message
