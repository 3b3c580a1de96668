"""Recipes: values that round-trip through JSON, run by two executors that agree op by op."""

import json

import numpy as np
import pytest

from tinyms.errors import RecipeError
from tinyms.vision import _ms_engine, _np_engine
from tinyms.vision._recipe import OPS, Recipe, Step

RNG = np.random.default_rng(7)


def _image(h, w, c, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, c), dtype=np.uint8)


def _digit_photo(seed):
    """Dark strokes on light, uneven paper, off-centre: what frame_digit exists for."""
    rng = np.random.default_rng(seed)
    img = np.full((90, 70, 1), 200, np.uint8) + rng.integers(0, 20, size=(90, 70, 1), dtype=np.uint8)
    img[20:60, 40:46] = 30  # a "1"
    img[20:25, 32:46] = 30
    return img


def _mnist_like(seed):
    img = np.zeros((28, 28, 1), np.uint8)
    img[6:22, 12:16] = _image(16, 4, 1, seed)
    return img


def _ms(step, img):
    out = img
    for op in _ms_engine.build([step]):
        out = op(out)
    return np.asarray(out)


def _ms_many(step, img, n):
    """``step`` applied to ``n`` copies of ``img`` in MindSpore's dataset engine (how training runs it)."""
    import mindspore.dataset as ds

    data = ds.NumpySlicesDataset({"image": np.repeat(img[None], n, axis=0)}, shuffle=False)
    data = data.map(operations=_ms_engine.build([step]), input_columns="image")
    return [row["image"] for row in data.create_dict_iterator(output_numpy=True)]


def _np(step, img, seed=0):
    return _np_engine.run([step], img, np.random.default_rng(seed))


# Every op needs a case here (test_every_op_has_a_parity_case): (params, images, check).
def _exact(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def _close(a, b):
    return a.shape == b.shape and a.dtype == b.dtype == np.float32 and np.abs(a - b).max() <= 1e-6


_SHAPES = [(28, 28, 1), (37, 91, 3), (100, 33, 1), (5, 5, 3), (64, 48, 3), (1, 9, 1)]
_UINT8 = [_image(*shape, seed=i) for i, shape in enumerate(_SHAPES)]

DETERMINISTIC = {
    "resize": [({"size": [32, 32]}, _UINT8), ({"size": [17, 40]}, _UINT8), ({"size": 24}, _UINT8)],
    "letterbox": [({"size": [32, 32]}, _UINT8), ({"size": [17, 40], "fill": 0}, _UINT8)],
    "center_crop": [({"size": [4, 4]}, _UINT8[:5]), ({"size": [30, 20]}, _UINT8[:3])],
    "rescale": [({"scale": 1 / 255, "shift": 0.0}, _UINT8), ({"scale": 0.5, "shift": -1.0}, _UINT8)],
    "normalize": [({"mean": [0.5], "std": [0.25]}, [i.astype(np.float32) / 255 for i in _UINT8 if i.shape[2] == 1]),
                  ({"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.3, 0.1]},
                   [i.astype(np.float32) / 255 for i in _UINT8 if i.shape[2] == 3])],
    "hwc2chw": [({}, _UINT8), ({}, [i.astype(np.float32) for i in _UINT8])],
    "frame_digit": [({}, [_digit_photo(s) for s in range(3)] + [_mnist_like(s) for s in range(3)])],
}
RANDOM = ("random_crop", "random_resized_crop", "random_horizontal_flip", "random_iou_crop", "color_jitter")


def test_every_op_has_a_parity_case_and_both_executors():
    assert set(DETERMINISTIC) | set(RANDOM) == set(OPS)
    assert set(_np_engine.FUNCTIONS) == set(_ms_engine.BUILDERS) == set(OPS)
    assert {name for name, spec in OPS.items() if spec.random} == set(RANDOM)


@pytest.mark.parametrize("op", sorted(DETERMINISTIC))
def test_deterministic_op_gives_the_same_numbers_in_both_executors(op):
    for params, images in DETERMINISTIC[op]:
        step = Step.make(op, params)
        for img in images:
            want, got = _ms(step, img), _np(step, img)
            same = _close(got, want) if want.dtype == np.float32 and op != "hwc2chw" else _exact(got, want)
            assert same, (op, params, img.shape, got.shape, want.shape, got.dtype, want.dtype)


def _crops(img, size, padding):
    padded = np.pad(img, ((padding, padding), (padding, padding), (0, 0)))
    h, w = size
    return [padded[y:y + h, x:x + w] for y in range(padded.shape[0] - h + 1)
            for x in range(padded.shape[1] - w + 1)]


def test_random_crop_gives_a_valid_padded_crop_in_both_executors():
    img = _image(8, 8, 3, 1)
    step = Step.make("random_crop", {"size": [8, 8], "padding": 2})
    crops = _crops(img, (8, 8), 2)
    from_ms, from_np = _ms_many(step, img, 40), [_np(step, img, seed) for seed in range(40)]
    for out in from_ms + from_np:
        assert out.shape == (8, 8, 3) and any(np.array_equal(out, c) for c in crops)
    # over many draws the crop moves (it is random) in both executors
    assert len({o.tobytes() for o in from_np}) > 5 and len({o.tobytes() for o in from_ms}) > 5


def test_horizontal_flip_follows_its_probability_in_both_executors():
    img = _image(6, 9, 3, 2)
    mirrored = img[:, ::-1]
    for prob, want in ((1.0, mirrored), (0.0, img)):
        step = Step.make("random_horizontal_flip", {"prob": prob})
        assert np.array_equal(_ms(step, img), want) and np.array_equal(_np(step, img), want)
    step = Step.make("random_horizontal_flip", {"prob": 0.5})
    for outs in (_ms_many(step, img, 60), [_np(step, img, s) for s in range(60)]):
        flips = sum(np.array_equal(o, mirrored) for o in outs)
        assert all(np.array_equal(o, mirrored) or np.array_equal(o, img) for o in outs)
        assert 10 < flips < 50


def test_random_resized_crop_shapes_and_full_area_case_agree():
    img = _image(40, 60, 3, 3)
    step = Step.make("random_resized_crop", {"size": [16, 16]})
    for out in _ms_many(step, img, 10) + [_np(step, img, seed) for seed in range(10)]:
        assert out.shape == (16, 16, 3)
    # the whole image at its own aspect ratio: both executors are a plain bilinear resize
    whole = Step.make("random_resized_crop", {"size": [20, 30], "scale": [1.0, 1.0], "ratio": [1.5, 1.5]})
    resize = Step.make("resize", {"size": [20, 30]})
    assert np.array_equal(_np(whole, img), _np(resize, img))
    assert np.abs(_ms(whole, img).astype(int) - _ms(resize, img).astype(int)).max() <= 1


def test_recipe_round_trips_through_json_and_rejects_what_it_cannot_run():
    from tinyms.vision._presets import PRESET_NAMES, preset

    for name in PRESET_NAMES:
        recipe, _ = preset(name)
        text = recipe.to_json()
        assert Recipe.from_json(text) == recipe and Recipe.from_dict(json.loads(text)) == recipe
    bad = [
        ({"train": [], "eval": [["sharpen", {}]]}, "unknown recipe op 'sharpen'"),
        ({"eval": [["resize", {}]]}, "needs the parameter 'size'"),
        ({"eval": [["resize", {"size": [0, 3]}]]}, "resize.size"),
        ({"eval": [["resize", {"size": 32, "antialias": True}]]}, "no parameter 'antialias'"),
        ({"eval": [["random_horizontal_flip", {}]]}, "augmentation belongs in the training steps"),
        ({"eval": [], "version": 9}, "version 9 is not supported"),
        ({"eval": [], "channels": 2}, "channels must be 1"),
        ({"eval": [["normalize", {"mean": [0.5], "std": [0.0]}]]}, "normalize.std"),
        ({"eval": [], "steps": []}, "no field 'steps'"),
    ]
    for data, words in bad:
        with pytest.raises(RecipeError, match=words.replace("(", r"\(").replace(")", r"\)")):
            Recipe.from_dict(data)
    with pytest.raises(RecipeError, match="JSON"):
        Recipe.from_json("{not json")


def test_steps_are_values():
    a = Step.make("resize", {"size": [32, 32]})
    assert a == Step.make("resize", {"size": (32, 32)}) and hash(a) == hash(Step.make("resize", {"size": [32, 32]}))
    assert a.kwargs() == {"size": [32, 32]} and a.to_json() == ["resize", {"size": [32, 32]}]
    recipe = Recipe(train=[a], eval=[a], channels=1)
    with pytest.raises(AttributeError):
        recipe.channels = 3


def test_numpy_executor_names_the_step_that_cannot_run():
    with pytest.raises(RecipeError, match="'resize' needs an \\(H, W, C\\) uint8 image"):
        _np_engine.run([Step.make("rescale", {"scale": 0.5}), Step.make("resize", {"size": 4})],
                       _image(8, 8, 1, 0))


def test_a_served_recipe_must_fix_the_image_size():
    keeps_size = Recipe(train=[["rescale", {"scale": 1 / 255}], ["hwc2chw"]],
                        eval=[["rescale", {"scale": 1 / 255}], ["hwc2chw"]], channels=3)
    assert keeps_size.fixed_output_shape() is None
    with pytest.raises(RecipeError, match="add a resize step"):
        keeps_size.check_serves((3, 32, 32))
    fixed = Recipe(train=[], eval=[["resize", {"size": 40}], ["center_crop", {"size": 32}], ["hwc2chw"]])
    assert fixed.fixed_output_shape() == (3, 32, 32)
    fixed.check_serves((3, 32, 32))
    with pytest.raises(RecipeError, match=r"produces inputs of shape \[3, 32, 32\] but the network takes \[1, 32, 32\]"):
        fixed.check_serves((1, 32, 32))
