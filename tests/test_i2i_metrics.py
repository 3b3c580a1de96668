"""Image-to-image numbers (issue 18): label-map accuracy and IoU after nearest-colour mapping (TinyMS 0.3's
CityScapes / fast_hist / get_scores, at their 0.3 import paths), cycle-consistency error, and 0.3's
tinyms.data.utils image helpers. Every expected value is worked out by hand in the comments."""

import math
import os

import numpy as np
import pytest
from PIL import Image

from tinyms.data.utils import generate_image_list, load_img, load_resized_img, save_image
from tinyms.errors import DatasetError, ImageSaveError
from tinyms.metrics import CycleConsistency, LabelMapScores, nearest_class
from tinyms.utils.eval import CityScapes, fast_hist, get_scores
from tinyms.utils.eval.cityscape_util import label2color


def test_fast_hist_counts_true_rows_and_predicted_columns():
    truth = np.array([0, 0, 0, 1, 1, 2, 2, 2, 5, -1])     # 5 and -1: not a class, not counted
    predicted = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 1])
    # true 0: predicted 0, 0, 1; true 1: 1, 2; true 2: 2, 2, 0
    assert fast_hist(truth, predicted, 3).tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    with pytest.raises(ValueError, match="predicted ids must lie in 0..2"):
        fast_hist(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="same size"):
        fast_hist(np.zeros(4, int), np.zeros(5, int), 3)


def test_get_scores_by_hand():
    hist = np.array([[2, 1, 0], [0, 1, 1], [1, 0, 2]])
    acc, mean_acc, mean_iou, per_acc, per_iou = get_scores(hist)
    assert acc == pytest.approx(5 / 8)                                   # diagonal 5 of 8 pixels
    np.testing.assert_allclose(per_acc, [2 / 3, 1 / 2, 2 / 3])           # diagonal / row sums (3, 2, 3)
    # IoU = diag / (row + column - diag): columns are (3, 2, 3)
    np.testing.assert_allclose(per_iou, [2 / (3 + 3 - 2), 1 / (2 + 2 - 1), 2 / (3 + 3 - 2)])
    assert mean_acc == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert mean_iou == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    # class 2 never true: its accuracy is NaN and left out of the mean; predicted once: IoU 0
    acc, mean_acc, mean_iou, per_acc, per_iou = get_scores(np.array([[3, 0, 1], [0, 2, 0], [0, 0, 0]]))
    assert math.isnan(per_acc[2]) and per_iou[2] == 0.0
    assert mean_acc == pytest.approx((3 / 4 + 1) / 2) and mean_iou == pytest.approx((3 / 4 + 1 + 0) / 3)
    assert all(math.isnan(v) for v in get_scores(np.zeros((2, 2)))[:3])   # nothing counted: no score


def test_cityscapes_nearest_colour_and_label_map_scores(tmp_path):
    cs = CityScapes()
    assert cs.class_num == 20 and cs.classes[0] == "road" and cs.classes[-1] == "unlabeled"
    assert cs.color_list[cs.classes.index("car")] == (0, 0, 142) == label2color["car"]
    road, sky, car = (np.array(label2color[n]) for n in ("road", "sky", "car"))
    truth = np.zeros((2, 4, 3), np.uint8)
    truth[0, :] = road
    truth[1, :2], truth[1, 2:] = sky, car
    fake = truth.astype(int).copy()
    fake[0, :] += [6, -5, 4]            # JPEG-like noise: still nearest to road
    fake[1, 2] = sky + [3, 2, -4]       # a car pixel painted sky
    fake = np.clip(fake, 0, 255).astype(np.uint8)
    assert cs.get_id(truth).tolist() == [[0, 0, 0, 0], [10, 10, 13, 13]]
    assert cs.get_id(fake).tolist() == [[0, 0, 0, 0], [10, 10, 10, 13]]
    Image.fromarray(fake).save(tmp_path / "fake.png")
    assert cs.get_id(str(tmp_path / "fake.png")).tolist() == cs.get_id(fake).tolist()  # 0.3 gives paths

    scores = LabelMapScores()
    scores.update(truth, tmp_path / "fake.png")
    scores.update(truth, truth)
    result = scores.eval()
    # 16 pixels: road 8/8, sky 4/4, car 3/4 right; sky predicted 5 times
    assert (result["images"], result["pixels"]) == (2, 16)
    assert result["pixel_accuracy"] == pytest.approx(15 / 16)
    assert result["per_class_accuracy"]["car"] == pytest.approx(3 / 4)
    assert result["per_class_iou"]["sky"] == pytest.approx(4 / (4 + 5 - 4))
    assert math.isnan(result["per_class_accuracy"]["wall"]) and math.isnan(result["per_class_iou"]["wall"])
    assert result["mean_class_accuracy"] == pytest.approx((1 + 1 + 3 / 4) / 3)
    assert result["mean_class_iou"] == pytest.approx((1 + 4 / 5 + 3 / 4) / 3)
    report = scores.report()
    assert "car" in report and "2 images, 16 pixels: pixel accuracy 0.9375" in report
    with pytest.raises(ValueError, match="resize the generated image"):
        scores.update(truth, truth[:, :2])


def test_nearest_class_in_chunks_matches_brute_force():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 301, 3), dtype=np.uint8)   # more pixels than one chunk
    colours = rng.integers(0, 256, (7, 3))
    brute = np.abs(image[:, :, None, :].astype(int) - colours[None, None]).sum(-1).argmin(-1)
    assert np.array_equal(nearest_class(image, colours), brute)


def test_cycle_consistency_error():
    metric = CycleConsistency()
    real = np.zeros((2, 3, 2, 2), np.float32)
    rec = real.copy()
    rec[0] = 0.5                         # 12 of 24 values off by 0.5
    metric.update(real, rec)
    metric.update(real[0], real[0])      # one more image, perfect
    result = metric.eval()
    assert (result["images"], result["values"]) == (3, 36)
    assert result["l1"] == pytest.approx(12 * 0.5 / 36)
    assert result["l1_levels"] == pytest.approx(12 * 0.5 / 36 * 127.5)
    mse_levels = 12 * (0.5 * 127.5) ** 2 / 36
    assert result["psnr"] == pytest.approx(10 * math.log10(255 ** 2 / mse_levels))
    perfect = CycleConsistency()
    perfect.update(real, real)
    assert perfect.eval()["psnr"] == math.inf and math.isnan(CycleConsistency().eval()["l1"])
    with pytest.raises(ValueError, match="one shape"):
        metric.update(real, rec[:1])


def test_tinyms_0_3_data_utils(tmp_path):
    import mindspore as ms

    folder = tmp_path / "imgs"
    os.makedirs(folder / "sub")
    Image.new("RGB", (6, 4), (10, 20, 30)).save(folder / "b.jpg")
    Image.new("RGB", (6, 4)).save(folder / "sub" / "a.png")
    (folder / "notes.txt").write_text("x")
    assert [os.path.relpath(p, folder) for p in generate_image_list(str(folder))] == ["b.jpg", "sub/a.png"]
    assert len(generate_image_list(str(folder), max_dataset_size=1)) == 1
    with pytest.raises(DatasetError, match="does not exist"):
        generate_image_list(str(tmp_path / "none"))
    assert load_img(str(folder / "sub" / "a.png")).mode == "RGB"
    assert load_resized_img(str(folder / "b.jpg"), 8, 8).size == (8, 8)

    generated = np.linspace(-1, 1, 3 * 4 * 5, dtype=np.float32).reshape(1, 3, 4, 5)
    save_image(ms.Tensor(generated), str(tmp_path / "fake.png"))     # 0.3: a (1, 3, H, W) generator output
    saved = np.asarray(Image.open(tmp_path / "fake.png"))
    expected = np.clip(np.rint((generated[0] * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    assert saved.shape == (4, 5, 3) and np.array_equal(saved, expected)
    save_image(expected, str(tmp_path / "copy.png"))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "copy.png")), expected)
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_image(expected, str(tmp_path / "missing" / "x.png"))
    assert sorted(os.listdir(tmp_path)) == ["copy.png", "fake.png", "imgs"]   # no temporary file left
