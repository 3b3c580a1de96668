"""tinyms.vision transforms: one image at inference == the same image through the training pipeline."""

import collections
import io
import os

import mindspore.dataset as ds
import numpy as np
import pytest
from mindspore import Tensor
from PIL import Image

from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import DatasetError, InputShapeError, UnknownNameError
from tinyms.vision import (
    DatasetTransform,
    HWC2CHW,
    MnistTransform,
    Rescale,
    Resize,
    get_transform,
    mnist_transform,
)

MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def digits():
    """Eight 28x28 grey 'digits': a smooth blob plus noise, so resizing has real work to do."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    blob = 255 * np.exp(-((yy - 14) ** 2 + (xx - 12) ** 2) / 40.0)
    noise = rng.integers(0, 60, (8, 28, 28))
    return np.clip(blob + noise, 0, 255).astype(np.uint8)


def run_pipeline(images_hw, labels=None, transform=mnist_transform, **kwargs):
    """Push HxW uint8 images through apply_ds in file order, return (images, labels) arrays."""
    n = len(images_hw)
    labels = np.arange(n) % 10 if labels is None else labels
    data = ds.NumpySlicesDataset({"image": images_hw[..., None], "label": labels}, shuffle=False)
    kwargs = {"batch_size": n, "is_training": False, **kwargs}
    batch = next(transform.apply_ds(data, **kwargs).create_dict_iterator(output_numpy=True))
    return batch["image"], batch["label"]


def png_bytes(img_hw):
    buf = io.BytesIO()
    Image.fromarray(img_hw, "L").save(buf, format="PNG")
    return buf.getvalue()


# ------------------------------------------------------------------ single image == pipeline
FORMS = {
    "uint8 HxW": lambda img, tmp: img,
    "uint8 HxWx1": lambda img, tmp: img[:, :, None],
    "PIL L": lambda img, tmp: Image.fromarray(img, "L"),
    "Tensor": lambda img, tmp: Tensor(img),
    "list of ints": lambda img, tmp: img.astype(int).tolist(),
    "str path": lambda img, tmp: str(_save(img, tmp / "digit.png")),
    "pathlib path": lambda img, tmp: _save(img, tmp / "digit.png"),
    "PNG bytes": lambda img, tmp: png_bytes(img),
    "float in [0, 1]": lambda img, tmp: img.astype(np.float32) / 255.0,
    "float in [0, 255]": lambda img, tmp: img.astype(np.float64),
}


def _save(img, path):
    Image.fromarray(img, "L").save(path)
    return path


@pytest.mark.parametrize("form", FORMS)
def test_single_image_equals_pipeline(digits, tmp_path, form):
    expected, _ = run_pipeline(digits[:1])
    got = mnist_transform(FORMS[form](digits[0], tmp_path))
    assert got.shape == (1, 32, 32) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected[0], rtol=0, atol=1e-6)


def write_idx(folder, images, labels):
    """Write uncompressed MNIST IDX files (the format MindSpore's MnistDataset reads)."""
    n, h, w = images.shape
    header = np.array([2051, n, h, w], dtype=">u4").tobytes()
    (folder / "train-images-idx3-ubyte").write_bytes(header + images.tobytes())
    header = np.array([2049, n], dtype=">u4").tobytes()
    (folder / "train-labels-idx1-ubyte").write_bytes(header + labels.astype(np.uint8).tobytes())


def test_mnist_dataset_pipeline_equals_single_images(digits, tmp_path):
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    write_idx(tmp_path, digits, labels)
    data = ds.MnistDataset(str(tmp_path), usage="train", shuffle=False)
    batch = next(mnist_transform.apply_ds(data, batch_size=8, is_training=False)
                 .create_dict_iterator(output_numpy=True))
    expected = np.stack([mnist_transform(img) for img in digits])
    np.testing.assert_allclose(batch["image"], expected, rtol=0, atol=1e-6)
    assert batch["label"].dtype == np.int32
    assert batch["label"].tolist() == labels.tolist()


def test_output_is_rescaled_then_normalised():
    black = mnist_transform(np.zeros((28, 28), np.uint8))
    framed = np.zeros((28, 28), np.uint8)  # an MNIST-style image: white ink on a dark border
    framed[4:24, 4:24] = 255
    white = mnist_transform(framed)[0, 8:24, 8:24]
    np.testing.assert_allclose(black, (0.0 - MEAN) / STD, rtol=1e-6)
    np.testing.assert_allclose(white, (1.0 - MEAN) / STD, rtol=1e-6)


def test_blank_paper_is_an_empty_digit():
    # a photo of white paper with nothing written on it: light background, no ink -> all background
    np.testing.assert_array_equal(mnist_transform(np.full((40, 30), 230, np.uint8)),
                                  mnist_transform(np.zeros((28, 28), np.uint8)))


def test_any_size_is_resized_to_32x32():
    assert mnist_transform(np.zeros((50, 40), np.uint8)).shape == (1, 32, 32)
    assert MnistTransform(size=(28, 28))(np.zeros((32, 32), np.uint8)).shape == (1, 28, 28)


# ------------------------------------------------------------------ TinyMS 0.3 inputs
WHITE = mnist_transform(np.full((32, 32), 255, np.uint8))


@pytest.mark.parametrize("make", [
    lambda: np.ones((32, 32)),                                   # the 0.3 unit test's input
    lambda: np.ones((32, 32, 1)),
    lambda: np.ones((32, 32, 3)),
    lambda: np.full((32, 32, 3), 255, np.uint8),                 # uint8 HWC RGB
    lambda: Image.new("RGB", (32, 32), (255, 255, 255)),         # PIL colour image
    lambda: np.full((32, 32), 255.0),                            # float levels 0..255
], ids=["float ones HxW", "float ones HxWx1", "float ones HxWx3", "uint8 RGB", "PIL RGB", "float 255"])
def test_original_tinyms_inputs_give_float32_1x32x32(make):
    out = mnist_transform(make())
    assert out.shape == (1, 32, 32) and out.dtype == np.float32
    np.testing.assert_array_equal(out, WHITE)  # all of these are a white image


def test_float_above_one_is_read_as_levels_not_intensities():
    # max <= 1.0 means intensities (1.0 is white); any larger value means 0..255 levels.
    np.testing.assert_array_equal(mnist_transform.load_image(np.full((4, 4), 1.0)), np.full((4, 4, 1), 255))
    np.testing.assert_array_equal(mnist_transform.load_image(np.full((4, 4), 1.5)), np.full((4, 4, 1), 2))


# ------------------------------------------------------------------ floats and colour
def test_float_intensities_and_levels_give_the_same_result(digits):
    as_uint8 = mnist_transform(digits[0])
    intensities = digits[0].astype(np.float32) / 255.0
    np.testing.assert_array_equal(mnist_transform(intensities), as_uint8)
    np.testing.assert_array_equal(mnist_transform(digits[0].astype(np.float32)), as_uint8)


def test_float_levels_are_rounded_to_the_nearest_uint8_level():
    np.testing.assert_array_equal(
        mnist_transform.load_image(np.array([[0.2, 0.6], [100.4, 254.7]])),
        np.array([[0, 1], [100, 255]], np.uint8)[:, :, None],
    )


def test_rgb_array_is_converted_to_grey_like_pil(digits):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
    pil_grey = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
    np.testing.assert_array_equal(mnist_transform.load_image(rgb)[:, :, 0], pil_grey)
    np.testing.assert_array_equal(mnist_transform(rgb), mnist_transform(pil_grey))
    luma = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(pil_grey - luma).max() <= 1.0


def test_rgba_ignores_alpha_and_pil_colour_image_matches_array():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.zeros((28, 28, 1), np.uint8)], axis=2)
    expected = mnist_transform(rgb)
    np.testing.assert_array_equal(mnist_transform(rgba), expected)
    np.testing.assert_array_equal(mnist_transform(Image.fromarray(rgb, "RGB")), expected)
    np.testing.assert_array_equal(mnist_transform(rgb.astype(np.float32) / 255.0), expected)


def test_rgb_jpeg_bytes_are_decoded_to_grey():
    buf = io.BytesIO()
    Image.new("RGB", (28, 28), (200, 30, 30)).save(buf, format="JPEG")
    assert mnist_transform(buf.getvalue()).shape == (1, 32, 32)


def test_custom_rgb_transform_turns_grey_into_three_channels():
    rgb_recipe = DatasetTransform([["resize", {"size": [8, 8]}], ["rescale", {"scale": 1 / 255}], ["hwc2chw"]],
                                  labels=("no", "yes"), channels=3)
    out = rgb_recipe(np.full((16, 16), 255, np.uint8))
    assert out.shape == (3, 8, 8)
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("bad, words", [
    (np.zeros((2, 28, 28, 1), np.uint8), "not a batch"),
    (np.zeros((1, 28, 28), np.uint8), "channels-first"),
    (np.zeros((28, 28, 2), np.uint8), "(H, W, 3)"),
    (np.zeros(28, np.uint8), "(H, W)"),
    (np.zeros((0, 28), np.uint8), "empty"),
    (np.zeros((28, 28), bool), "dtype bool"),
    (np.full((28, 28), -0.42), "already-normalised"),
    (np.full((28, 28), 300), "0..255"),
    (np.full((28, 28), np.nan), "NaN"),
    (b"definitely not a png", "cannot decode"),
    (12, "object of type int"),
])
def test_bad_images_raise_input_shape_error_naming_the_fix(bad, words):
    with pytest.raises(InputShapeError) as info:
        mnist_transform(bad)
    assert words in str(info.value)


def test_missing_file_raises_input_shape_error(tmp_path):
    with pytest.raises(InputShapeError, match="no image file at"):
        mnist_transform(tmp_path / "missing.png")


def test_shape_errors_list_the_accepted_forms():
    with pytest.raises(InputShapeError) as info:
        mnist_transform(np.zeros((5, 5, 5), np.uint8))
    message = str(info.value)
    for form in ("PIL image", "(H, W, 1)", "uint8", "float", "file path", "bytes"):
        assert form in message


# ------------------------------------------------------------------ apply_ds
def test_apply_ds_batches_shapes_and_dtypes(digits):
    data = ds.NumpySlicesDataset({"image": digits[..., None], "label": np.arange(8)}, shuffle=False)
    batches = list(mnist_transform.apply_ds(data, batch_size=3).create_dict_iterator(output_numpy=True))
    assert len(batches) == 2  # 8 rows, drop_remainder=True by default
    for batch in batches:
        assert batch["image"].shape == (3, 1, 32, 32) and batch["image"].dtype == np.float32
        assert batch["label"].shape == (3,) and batch["label"].dtype == np.int32


def test_apply_ds_keyword_overrides_keep_the_remainder(digits):
    data = ds.NumpySlicesDataset({"image": digits[..., None], "label": np.arange(8)}, shuffle=False)
    mapped = mnist_transform.apply_ds(data, batch_size=3, drop_remainder=False, shuffle=False)
    labels = [b["label"].tolist() for b in mapped.create_dict_iterator(output_numpy=True)]
    assert labels == [[0, 1, 2], [3, 4, 5], [6, 7]]


def epoch_labels(iterator):
    return [label for batch in iterator for label in batch["label"].tolist()]


@pytest.fixture(scope="module")
def mnist_test_dir(tmp_path_factory):
    """The bundled MNIST sample's test/ folder (1,000 images, 100 per digit) under a private home."""
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("TINYMS_HOME")
    os.environ["TINYMS_HOME"] = str(home)
    try:
        return os.path.join(sample_dataset("mnist"), "test")
    finally:
        if old is None:
            del os.environ["TINYMS_HOME"]
        else:
            os.environ["TINYMS_HOME"] = old


@pytest.fixture(scope="module")
def mnist_test_raw(mnist_test_dir):
    """(images, labels) of the sample's test split in file order."""
    rows = list(MnistDataset(mnist_test_dir, shuffle=False).create_tuple_iterator(output_numpy=True))
    return np.stack([img for img, _ in rows]), [int(lab) for _, lab in rows]


def test_apply_ds_for_evaluation_gives_every_image_once_in_file_order(mnist_test_dir, mnist_test_raw):
    images, labels = mnist_test_raw
    assert len(labels) == 1000
    mapped = mnist_transform.apply_ds(MnistDataset(mnist_test_dir, shuffle=False), is_training=False)
    iterator = mapped.create_dict_iterator(num_epochs=2, output_numpy=True)
    first = list(iterator)
    assert [len(b["label"]) for b in first] == [32] * 31 + [8]  # the partial last batch is kept
    assert epoch_labels(first) == labels
    assert epoch_labels(iterator) == labels  # a second pass: same rows, same order
    np.testing.assert_allclose(first[-1]["image"], np.stack([mnist_transform(img) for img in images[-8:]]),
                               rtol=0, atol=1e-6)


def test_apply_ds_for_training_reshuffles_each_epoch_and_drops_the_remainder(mnist_test_dir, mnist_test_raw):
    _, labels = mnist_test_raw
    mapped = mnist_transform.apply_ds(MnistDataset(mnist_test_dir, shuffle=False), 1, 32, None, True)
    iterator = mapped.create_dict_iterator(num_epochs=2, output_numpy=True)
    first, second = list(iterator), list(iterator)
    for epoch in (first, second):
        assert [len(b["label"]) for b in epoch] == [32] * 31  # 1,000 rows: the last 8 are dropped
        assert epoch_labels(epoch) != labels[:992]
        missing = collections.Counter(labels) - collections.Counter(epoch_labels(epoch))
        assert sum(missing.values()) == 8  # each row at most once: exactly the dropped 8 are missing
    assert epoch_labels(first) != epoch_labels(second)


def test_apply_ds_positional_order_is_repeat_batch_workers_is_training(digits):
    data = ds.NumpySlicesDataset({"image": digits[..., None], "label": np.arange(8)}, shuffle=False)
    mapped = mnist_transform.apply_ds(data, 2, 3, 1, False)
    labels = [b["label"].tolist() for b in mapped.create_dict_iterator(output_numpy=True)]
    assert labels == [[0, 1, 2], [3, 4, 5], [6, 7]] * 2  # 2 * 8 rows, in order, nothing dropped


def test_apply_ds_shuffle_override_reorders_every_repeat(digits):
    data = ds.NumpySlicesDataset({"image": digits[..., None], "label": np.arange(8)}, shuffle=False)
    mapped = mnist_transform.apply_ds(data, repeat_size=3, batch_size=4, is_training=False, shuffle=True)
    labels = epoch_labels(mapped.create_dict_iterator(output_numpy=True))
    repeats = [labels[0:8], labels[8:16], labels[16:24]]
    assert len(labels) == 24 and all(sorted(r) == list(range(8)) for r in repeats)
    assert any(r != list(range(8)) for r in repeats)  # 3 times in file order: 1 chance in 40320**3
    assert len({tuple(r) for r in repeats}) > 1


def test_apply_ds_caps_workers_at_cpu_count(digits):
    images, _ = run_pipeline(digits[:2], num_parallel_workers=512)
    assert images.shape == (2, 1, 32, 32)


def test_apply_ds_without_label_column_maps_images_only(digits):
    data = ds.NumpySlicesDataset({"image": digits[..., None]}, shuffle=False)
    batch = next(mnist_transform.apply_ds(data, batch_size=8).create_dict_iterator(output_numpy=True))
    assert list(batch) == ["image"] and batch["image"].shape == (8, 1, 32, 32)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be a positive integer"),
    ({"repeat_size": -1}, ValueError, "repeat_size"),
    ({"num_parallel_workers": 0}, ValueError, "num_parallel_workers"),
    ({"is_training": "no"}, TypeError, "is_training must be True or False"),
    ({"shuffle": 1}, TypeError, "shuffle must be True or False"),
])
def test_apply_ds_rejects_bad_arguments(digits, kwargs, error, words):
    data = ds.NumpySlicesDataset({"image": digits[..., None], "label": np.arange(8)}, shuffle=False)
    with pytest.raises(error, match=words):
        mnist_transform.apply_ds(data, **kwargs)


def test_apply_ds_needs_a_dataset_with_an_image_column(digits):
    with pytest.raises(DatasetError, match="NumpySlicesDataset"):
        mnist_transform.apply_ds(digits)
    data = ds.NumpySlicesDataset({"pixels": digits[..., None]}, shuffle=False)
    with pytest.raises(DatasetError, match="no 'image' column"):
        mnist_transform.apply_ds(data)


# ------------------------------------------------------------------ lookup by name
def test_get_transform_by_config_name():
    assert get_transform("mnist_transform") is mnist_transform
    assert get_transform(mnist_transform) is mnist_transform
    assert mnist_transform.labels == tuple(str(i) for i in range(10))


def test_get_transform_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="mnist_transform"):
        get_transform("cifar_transfrom")


def test_transform_repr_names_its_steps():
    text = repr(mnist_transform)
    assert "MnistTransform" in text and "resize(size=[32, 32])" in text and "normalize(" in text

