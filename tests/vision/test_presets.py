"""Every preset: one image through __call__ == the evaluation pipeline == the serving executor;
evaluation never augments, reorders or drops; training augments where the dataset's standard says so."""

import io

import mindspore.dataset as ds
import numpy as np
import pytest
from PIL import Image

from tinyms.data import dataset_info
from tinyms.serving._preprocess import recipe_for
from tinyms.vision import (
    Cifar10Transform,
    ImageFolderTransform,
    cifar10_transform,
    cifar100_transform,
    fashion_mnist_transform,
    get_transform,
    imagefolder_transform,
    mnist_transform,
    voc_transform,
    VOCTransform,
)

PRESET_NAMES = ("mnist_transform", "fashion_mnist_transform", "cifar10_transform", "cifar100_transform",
                "imagefolder_transform")  # the classification presets; voc_transform is tested below

# preset -> (image shape of its dataset, its label column)
NATIVE = {
    "mnist_transform": ((28, 28, 1), "label"),
    "fashion_mnist_transform": ((28, 28, 1), "label"),
    "cifar10_transform": ((32, 32, 3), "label"),
    "cifar100_transform": ((32, 32, 3), "fine_label"),
    "imagefolder_transform": ((75, 100, 3), "label"),
}


def _images(name, n=10, seed=0):
    shape, _ = NATIVE[name]
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, size=(n,) + shape, dtype=np.uint8)
    if shape[2] == 1:  # MNIST-style: ink on a dark border
        imgs[:, :3], imgs[:, -3:], imgs[:, :, :3], imgs[:, :, -3:] = 0, 0, 0, 0
    return imgs


def _dataset(name, imgs):
    _, label_column = NATIVE[name]
    columns = {"image": imgs, label_column: np.arange(len(imgs), dtype=np.uint32) % 10}
    if label_column == "fine_label":
        columns["coarse_label"] = np.zeros(len(imgs), np.uint32)
    return ds.NumpySlicesDataset(columns, shuffle=False)


def _rows(pipeline):
    out = [(b["image"], b["label"]) for b in pipeline.create_dict_iterator(output_numpy=True)] if \
        "label" in pipeline.get_col_names() else None
    if out is None:  # cifar100 keeps its label column's name
        name = pipeline.get_col_names()[1]
        out = [(b["image"], b[name]) for b in pipeline.create_dict_iterator(output_numpy=True)]
    return np.concatenate([i for i, _ in out]), np.concatenate([lab for _, lab in out]), [len(i) for i, _ in out]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_one_image_equals_the_evaluation_pipeline_and_the_serving_executor(name):
    transform = get_transform(name)
    imgs = _images(name)
    pipeline_images, labels, sizes = _rows(transform.apply_ds(_dataset(name, imgs), batch_size=4,
                                                              is_training=False))
    assert sizes == [4, 4, 2]  # the partial batch is kept: every image exactly once, in order
    assert labels.tolist() == (np.arange(10) % 10).tolist() and labels.dtype == np.int32
    serving = recipe_for(None, None, recipe=transform.recipe.to_dict())
    for img, from_pipeline in zip(imgs, pipeline_images):
        single = transform(img)
        assert single.dtype == np.float32 and np.array_equal(single, from_pipeline), name
        png = io.BytesIO()
        Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(png, format="PNG")
        assert np.abs(serving(png.getvalue()) - single).max() <= 1e-5


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_evaluation_is_repeatable_and_training_differs_only_where_augmentation_is_standard(name):
    transform = get_transform(name)
    imgs = _images(name, n=16, seed=1)
    first = _rows(transform.apply_ds(_dataset(name, imgs), batch_size=5, is_training=False))[0]
    again = _rows(transform.apply_ds(_dataset(name, imgs), batch_size=5, is_training=False))[0]
    assert np.array_equal(first, again) and len(first) == 16
    augments = name in ("cifar10_transform", "cifar100_transform", "imagefolder_transform")
    assert any(step.random for step in transform.recipe.train) == augments
    assert not any(step.random for step in transform.recipe.eval)
    train = transform.apply_ds(_dataset(name, imgs), batch_size=16, is_training=True, shuffle=False)
    trained = _rows(train)[0]
    assert trained.shape == first.shape
    assert (not np.array_equal(trained, first)) == augments


def test_cifar_training_crop_pads_four_pixels_and_flips():
    steps = [step.to_json() for step in cifar10_transform.recipe.train]
    assert steps[:2] == [["random_crop", {"size": [32, 32], "padding": 4}],
                         ["random_horizontal_flip", {"prob": 0.5}]]
    assert [s.op for s in cifar10_transform.recipe.eval] == ["resize", "rescale", "normalize", "hwc2chw"]
    # a photo of another size becomes the network's input; CIFAR's own images pass the resize unchanged
    assert cifar10_transform(np.zeros((100, 80, 3), np.uint8)).shape == (3, 32, 32)
    assert cifar10_transform.recipe.fixed_output_shape() == (3, 32, 32)


def test_labels_and_statistics_come_from_the_dataset_facts():
    for transform, dataset in ((mnist_transform, "mnist"), (fashion_mnist_transform, "fashion_mnist"),
                               (cifar10_transform, "cifar10"), (cifar100_transform, "cifar100")):
        info = dataset_info(dataset)
        assert transform.labels == info.labels
        normalize = [s.kwargs() for s in transform.recipe.eval if s.op == "normalize"]
        assert normalize == [{"mean": list(info.mean), "std": list(info.std)}]
    assert cifar10_transform.labels[:2] == ("airplane", "automobile") and len(cifar100_transform.labels) == 100
    assert cifar100_transform.label_column == "fine_label"


def test_cifar100_pipeline_keeps_the_fine_label_only():
    imgs = _images("cifar100_transform", n=3)
    pipeline = cifar100_transform.apply_ds(_dataset("cifar100_transform", imgs), is_training=False)
    assert pipeline.get_col_names() == ["image", "fine_label"]


def test_presets_are_immutable_values_configured_by_construction():
    with pytest.raises(AttributeError, match="immutable"):
        cifar10_transform.labels = ("a",)
    with pytest.raises(AttributeError, match="immutable"):
        del mnist_transform.recipe
    bigger = Cifar10Transform(size=(64, 64))
    assert bigger(np.zeros((32, 32, 3), np.uint8)).shape == (3, 64, 64)
    assert cifar10_transform(np.zeros((32, 32, 3), np.uint8)).shape == (3, 32, 32)  # unchanged
    assert Cifar10Transform() == cifar10_transform and bigger != cifar10_transform


def test_imagefolder_defaults_are_imagenet_style_and_configurable(tmp_path):
    assert imagefolder_transform(np.zeros((300, 500, 3), np.uint8)).shape == (3, 224, 224)
    eval_ops = [s.to_json() for s in imagefolder_transform.recipe.eval][:2]
    assert eval_ops == [["resize", {"size": 256}], ["center_crop", {"size": [224, 224]}]]
    small = ImageFolderTransform(size=96, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = small(np.full((120, 90, 3), 255, np.uint8))
    assert out.shape == (3, 96, 96) and np.allclose(out, 1.0)
    for name in ("dog", "cat", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("not a class")
    named = ImageFolderTransform.for_folder(tmp_path, size=64)
    assert named.labels == ("cat", "dog") and named.size == (64, 64)
    assert str(named.postprocess(np.array([[0.0, 5.0]]))[0]).startswith("dog")


def test_postprocess_without_labels_names_classes_by_index():
    preds = ImageFolderTransform().postprocess(np.array([[0.1, 3.0, 0.2]]))
    assert preds[0].label == "1"


def test_tinyms_03_preset_results_are_kept():
    logits = np.array([[10, 1, 4, 2, 5, 18, -10, -4, 3, 7]], np.float32)
    assert cifar10_transform.postprocess(logits) == "TOP1: dog, score: 0.99964"
    assert cifar10_transform.postprocess(logits, strategy="TOP5_CLASS").startswith(
        "TOP1: dog, score: 0.9996444\tTOP2: airplane, score: 0.0003353\tTOP3: truck")
    text = imagefolder_transform.postprocess(np.array([[10, 4, 2, 5, 18, -10, -4, 3, 7]], np.float32), "TOP1_CLASS")
    assert text.startswith("TOP1: Entoloma") and text.endswith(", score: 0.99964")
    for transform, shape in ((mnist_transform, (32, 32)), (cifar10_transform, (720, 720, 3)),
                             (imagefolder_transform, (1080, 1080, 3)), (voc_transform, (1080, 1080, 3))):
        assert transform(np.ones(shape)).dtype == np.float32  # 0.3's float inputs of any size


# ------------------------------------------------------------------ detection
def _voc_rows():
    """Photos with bright rectangles exactly where their boxes ([xmin, ymin, w, h]) say."""
    rows = []
    for i, (h, w, boxes) in enumerate([(100, 200, [[20, 10, 40, 20], [150, 60, 30, 30]]),
                                       (375, 500, [[0, 0, 100, 375]]),
                                       (60, 60, [[10, 10, 20, 40], [35, 5, 20, 10], [5, 52, 50, 6]])]):
        img = np.zeros((h, w, 3), np.uint8)
        for x, y, bw, bh in boxes:
            img[y:y + bh, x:x + bw] = 255
        rows.append((img, np.array(boxes, np.float32), np.arange(1, len(boxes) + 1, dtype=np.uint32)[:, None] + i,
                     np.zeros((len(boxes), 1), np.uint32), np.zeros((len(boxes), 1), np.uint32)))
    return rows


def _voc_dataset():
    rows = _voc_rows()
    return ds.GeneratorDataset(lambda: iter(rows), ["image", "bbox", "label", "difficult", "truncated"],
                               shuffle=False)


def _bright_box(chw):
    """The [xmin, ymin, xmax, ymax] of the bright pixels of a normalised (3, H, W) image."""
    ys, xs = np.nonzero(chw[0] > chw[0].min() + 1.0)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@pytest.mark.parametrize("is_training", [False, True])
def test_voc_boxes_follow_the_image_through_resize_and_flip(is_training):
    transform = VOCTransform(size=(60, 80), max_boxes=5, augment=[["random_horizontal_flip", {"prob": 0.5}]])
    rows = _voc_rows()
    out = transform.apply_ds(_voc_dataset(), batch_size=2, is_training=is_training, shuffle=False,
                             drop_remainder=False)
    batches = list(out.create_dict_iterator(output_numpy=True))
    columns = ["image", "bbox", "label"] + ([] if is_training else ["image_shape"])
    assert out.get_col_names() == columns and [len(b["image"]) for b in batches] == [2, 1]
    images = np.concatenate([b["image"] for b in batches])
    boxes = np.concatenate([b["bbox"] for b in batches])
    labels = np.concatenate([b["label"] for b in batches])
    assert images.shape == (3, 3, 60, 80) and boxes.shape == (3, 5, 4) and labels.dtype == np.int32
    for (img, bbox, label, _, _), image, box, lab in zip(rows, images, boxes, labels):
        n = len(bbox)
        assert lab[:n].tolist() == label.reshape(-1).tolist() and (lab[n:] == -1).all() and (box[n:] == 0).all()
        if n == 1:  # one object: the bright region of the output is exactly where its box now says
            assert np.abs(_bright_box(image) - box[0]).max() <= 1.0
        xyxy = np.concatenate([bbox[:, :2], bbox[:, :2] + bbox[:, 2:]], axis=1)
        want = transform.resize_boxes(xyxy, img.shape)
        flipped = want.copy()
        flipped[:, [0, 2]] = 80 - want[:, [2, 0]]
        same, mirrored = np.allclose(box[:n], want, atol=1e-3), np.allclose(box[:n], flipped, atol=1e-3)
        assert same or (is_training and mirrored)


def test_voc_single_image_matches_the_evaluation_pipeline_and_boxes_map_back():
    rows = _voc_rows()
    images = np.concatenate([b["image"] for b in voc_transform.apply_ds(
        _voc_dataset(), batch_size=3, is_training=False).create_dict_iterator(output_numpy=True)])
    for (img, *_), from_pipeline in zip(rows, images):
        assert np.array_equal(voc_transform(img), from_pipeline)
    boxes = np.array([[10, 20, 110, 220]], np.float32)
    there = voc_transform.resize_boxes(boxes, (375, 500, 3))
    assert np.allclose(voc_transform.boxes_to_image(there, (375, 500)), boxes)
    assert voc_transform.labels[:3] == ("aeroplane", "bicycle", "bird") and len(voc_transform.labels) == 20


def test_voc_too_many_objects_and_missing_columns_are_named():
    from tinyms.errors import DatasetError

    with pytest.raises(RuntimeError, match="max_boxes=2"):
        list(VOCTransform(max_boxes=2).apply_ds(_voc_dataset(), is_training=False).create_dict_iterator())
    with pytest.raises(DatasetError, match="bbox"):
        voc_transform.apply_ds(ds.NumpySlicesDataset({"image": np.zeros((2, 8, 8, 3), np.uint8)}))


def test_training_shuffle_holds_a_bounded_amount_of_memory():
    from tinyms.vision.transforms import DatasetTransform

    digits = ds.NumpySlicesDataset({"image": np.zeros((300, 28, 28, 1), np.uint8)}, shuffle=False)
    assert DatasetTransform._shuffle_buffer(digits) == 300  # a small set is shuffled whole
    photos = ds.GeneratorDataset(lambda: ((np.zeros((375, 500, 3), np.uint8),) for _ in range(5000)), ["image"])
    rows = DatasetTransform._shuffle_buffer(photos)
    assert 64 <= rows and rows * 375 * 500 * 3 <= 130 << 20  # about 128 MiB, not 5,000 decoded photos
