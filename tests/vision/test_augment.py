"""Training augmentation is a choice of the presets (augment=): none, light, imagenet or one's own steps.

Each choice does what its documentation says in the training pipeline, both recipe engines run
the same description, and evaluation, single images and serving never augment whatever the choice.
"""

import io

import mindspore.dataset as ds
import numpy as np
import pytest
from PIL import Image

from tinyms.errors import RecipeError, UnknownNameError
from tinyms.serving._preprocess import recipe_for
from tinyms.vision import (Cifar10Transform, ImageFolderTransform, MnistTransform, _np_engine, _presets,
                           imagefolder_transform)
from tinyms.vision._np_engine import resize_bilinear_u8

CHOICES = ("none", "light", "imagenet", [["random_horizontal_flip", {"prob": 1.0}]])


def _image(shape, seed):
    """An asymmetric image: noise, plus a bright bar at the left so mirroring shows.

    A grey (MNIST-style) image is ink on a black border, which the evaluation's frame_digit
    leaves as it is.
    """
    img = np.random.default_rng(seed).integers(0, 200, size=shape, dtype=np.uint8)
    img[:, : shape[1] // 5] = 255
    if shape[2] == 1:
        img[:4], img[-4:], img[:, :4], img[:, -4:] = 0, 0, 0, 0
    return img


def _training(transform, img, copies):
    """``copies`` training outputs of the same image (no shuffle): what one epoch feeds the network."""
    data = ds.NumpySlicesDataset({"image": np.repeat(img[None], copies, axis=0),
                                  "label": np.zeros(copies, np.int32)}, shuffle=False)
    out = transform.apply_ds(data, batch_size=copies, is_training=True, shuffle=False)
    return next(out.create_dict_iterator(output_numpy=True))["image"]


def _evaluation(transform, img):
    data = ds.NumpySlicesDataset({"image": img[None], "label": np.zeros(1, np.int32)}, shuffle=False)
    out = transform.apply_ds(data, batch_size=1, is_training=False)
    return next(out.create_dict_iterator(output_numpy=True))["image"][0]


# preset -> (a constructor taking augment, an image of its kind)
PRESETS = {
    "imagefolder": (lambda augment: ImageFolderTransform(size=24, augment=augment), (40, 52, 3)),
    "cifar10": (lambda augment: Cifar10Transform(augment=augment), (32, 32, 3)),
    "mnist": (lambda augment: MnistTransform(augment=augment), (28, 28, 1)),
}


@pytest.mark.parametrize("preset", PRESETS)
def test_none_trains_on_exactly_what_evaluation_sees(preset):
    make, shape = PRESETS[preset]
    transform = make("none")
    img = _image(shape, 1)
    trained = _training(transform, img, 6)
    expected = _evaluation(transform, img)
    for out in trained:
        assert np.array_equal(out, expected)
    assert transform.augment == "none"
    assert not any(step.random for step in transform.recipe.train)


@pytest.mark.parametrize("preset", PRESETS)
def test_imagenet_crops_and_flips_differently_every_time(preset):
    make, shape = PRESETS[preset]
    transform = make("imagenet")
    trained = _training(transform, _image(shape, 2), 12)
    assert trained.shape[1:] == _evaluation(transform, _image(shape, 2)).shape
    distinct = {out.tobytes() for out in trained}
    assert len(distinct) >= 10                   # 12 random resized crops of one image: (nearly) all differ
    ops = [step.op for step in transform.recipe.train]
    assert ops[:2] == ["random_resized_crop", "random_horizontal_flip"]
    assert transform.recipe.train[0].kwargs()["scale"] == [0.08, 1.0]


def test_light_on_a_folder_shifts_the_evaluation_crop_and_never_mirrors():
    transform = ImageFolderTransform(size=24, augment="light", mean=(0, 0, 0), std=(1, 1, 1))
    img = _image((40, 52, 3), 3)
    resized = resize_bilinear_u8(img, 27, 35)     # the evaluation's resize: shorter side 24 x 8/7 = 27
    windows = {resized[t:t + 24, s:s + 24].tobytes(): (t, s) for t in range(4) for s in range(12)}
    offsets = set()
    for out in _training(transform, img, 16):
        pixels = np.rint(out.transpose(1, 2, 0) * 255).astype(np.uint8)
        assert pixels.tobytes() in windows       # a 24x24 window of the evaluation-scale image, not mirrored
        offsets.add(windows[pixels.tobytes()])
    assert len(offsets) >= 4                     # ... at random places
    centre = _evaluation(transform, img)
    assert np.array_equal(np.rint(centre.transpose(1, 2, 0) * 255).astype(np.uint8), resized[1:25, 5:29])


def test_light_on_digits_shifts_by_at_most_two_pixels_without_a_flip():
    transform = MnistTransform(size=(28, 28), augment="light")
    assert [s.to_json() for s in transform.recipe.train][:1] == [["random_crop", {"size": [28, 28], "padding": 2}]]
    assert not any(step.op == "random_horizontal_flip" for step in transform.recipe.train)
    light_cifar = Cifar10Transform(augment="light")      # CIFAR's standard: its classes survive mirroring
    assert [s.op for s in light_cifar.recipe.train][:2] == ["random_crop", "random_horizontal_flip"]
    assert light_cifar == Cifar10Transform()              # and CIFAR's default


@pytest.mark.parametrize("preset", PRESETS)
def test_your_own_steps_are_applied_before_the_presets_resizing(preset):
    make, shape = PRESETS[preset]
    img = _image(shape, 4)
    mirrored = make([["random_horizontal_flip", {"prob": 1.0}]])
    expected = _evaluation(make("none"), np.ascontiguousarray(img[:, ::-1]))
    for out in _training(mirrored, img, 3):
        assert np.array_equal(out, expected)            # every training image is the mirror image
    assert mirrored.augment == [["random_horizontal_flip", {"prob": 1.0}]]


def test_own_steps_that_reach_the_network_size_get_no_second_resize():
    steps = [["random_resized_crop", {"size": [24, 24], "scale": [0.5, 1.0]}]]
    transform = ImageFolderTransform(size=24, augment=steps)
    assert [s.op for s in transform.recipe.train] == ["random_resized_crop", "rescale", "normalize", "hwc2chw"]
    shifted = ImageFolderTransform(size=24, augment=[["random_crop", {"size": 30, "padding": 3}]])
    assert [s.op for s in shifted.recipe.train][:3] == ["random_crop", "resize", "center_crop"]
    assert _training(shifted, _image((40, 52, 3), 5), 2).shape == (2, 3, 24, 24)


@pytest.mark.parametrize("augment", CHOICES, ids=lambda a: a if isinstance(a, str) else "own")
def test_evaluation_single_images_and_serving_never_augment(augment):
    plain = ImageFolderTransform(size=24, augment="none")
    transform = ImageFolderTransform(size=24, augment=augment)
    assert transform.recipe.eval == plain.recipe.eval
    serving = recipe_for(None, (3, 24, 24), recipe=transform.to_config()["recipe"])
    img = _image((40, 52, 3), 6)
    png = io.BytesIO()
    Image.fromarray(img).save(png, format="PNG")
    expected = _evaluation(plain, img)
    for _ in range(3):
        assert np.array_equal(transform(img), expected)
        assert np.array_equal(_evaluation(transform, img), expected)
        assert np.abs(serving(png.getvalue()) - expected).max() <= 1e-5


def test_the_numpy_engine_runs_the_same_training_description():
    img = _image((40, 52, 3), 7)
    for augment, same in (("none", True), ([["random_horizontal_flip", {"prob": 1.0}]], True)):
        transform = ImageFolderTransform(size=24, augment=augment)
        out = _np_engine.run(transform.recipe.train, img, np.random.default_rng(0))
        assert np.abs(out - _training(transform, img, 1)[0]).max() <= 1e-5
    light = ImageFolderTransform(size=24, augment="light")
    rng = np.random.default_rng(0)
    numpy_outs = {_np_engine.run(light.recipe.train, img, rng).tobytes() for _ in range(30)}
    ms_outs = {out.tobytes() for out in _training(light, img, 30)}
    assert len(numpy_outs) >= 4 and len(numpy_outs & ms_outs) >= 2  # the same crops, drawn by each engine


def test_the_default_for_a_folder_is_the_measured_one_and_keeps_small_images_whole():
    assert _presets.FOLDER_AUGMENT == "light"            # benchmarks/RESULTS.md, section 9
    assert ImageFolderTransform(size=32).augment == imagefolder_transform.augment == "light"
    transform = ImageFolderTransform(size=32, mean=(0, 0, 0), std=(1, 1, 1))
    digit = _image((32, 32, 3), 8)
    resized = resize_bilinear_u8(digit, 37, 37)           # the evaluation's resize: 32 x 8/7
    windows = {resized[t:t + 32, s:s + 32].tobytes() for t in range(6) for s in range(6)}
    for out in _training(transform, digit, 12):           # no 8 % crops, no flips: whole shifted digits
        assert np.rint(out.transpose(1, 2, 0) * 255).astype(np.uint8).tobytes() in windows


@pytest.mark.parametrize("bad, error, words", [
    ("strong", UnknownNameError, ["unknown augment 'strong'", "none, light, imagenet", "list of recipe steps"]),
    (3, RecipeError, ["augment must be one of none, light, imagenet"]),
    ({"op": "random_crop"}, RecipeError, ["augment must be one of"]),
    ([["random_spin", {}]], RecipeError, ["unknown recipe op 'random_spin'", "random_crop"]),
    ([["random_crop", {"padding": 2}]], RecipeError, ["needs the parameter 'size'"]),
    ([["normalize", {"mean": [0.5], "std": [0.5]}]], RecipeError, ["leave 'normalize' out"]),
])
def test_a_bad_augment_is_a_typed_error_naming_the_valid_choices(bad, error, words):
    for make in (lambda: ImageFolderTransform(augment=bad), lambda: Cifar10Transform(augment=bad),
                 lambda: MnistTransform(augment=bad)):
        with pytest.raises(error) as info:
            make()
        for word in words:
            assert word in str(info.value)


def test_names_are_case_insensitive_and_an_empty_list_is_none():
    assert ImageFolderTransform(augment="Light").augment == "light"
    assert ImageFolderTransform(augment=[]) == ImageFolderTransform(augment="none")
