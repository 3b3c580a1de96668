"""tinyms.metrics.MeanAveragePrecision: COCO's numbers as pycocotools computes them, VOC 2007's 11-point
AP by hand, and every image counted once."""

import contextlib
import io
import json

import numpy as np
import pytest

from tinyms.errors import InputShapeError
from tinyms.metrics import DetectionReport, MeanAveragePrecision, get

WIDTH, HEIGHT = 640, 480


def _box(rng, low=8, high=300):
    w, h = rng.uniform(low, high), rng.uniform(low, min(high, HEIGHT - 1))
    x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
    return [x, y, x + w, y + h]


def _random_images(seed, images=24, classes=5, ties=False):
    """Realistic evaluation data: missed objects, duplicates, misclassified and stray detections,
    crowd regions with detections inside, images without objects or without predictions."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(images):
        kind = rng.random()
        gts, gt_labels, crowd = [], [], []
        for _ in range(rng.integers(0, 9) if kind > 0.15 else 0):
            gts.append(_box(rng))
            gt_labels.append(int(rng.integers(classes)))
            crowd.append(bool(rng.random() < 0.1))
            if ties and rng.random() < 0.3:  # the same object annotated twice
                gts.append(list(gts[-1]))
                gt_labels.append(gt_labels[-1])
                crowd.append(crowd[-1])
        preds, scores, labels = [], [], []
        if kind > 0.08:
            for box, label, is_crowd in zip(gts, gt_labels, crowd):
                w, h = box[2] - box[0], box[3] - box[1]
                for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):  # missed, found, found twice...
                    jitter = rng.normal(0, rng.choice([0.02, 0.08, 0.2]), 4) * [w, h, w, h]
                    x2, y2 = box[2] + jitter[2], box[3] + jitter[3]
                    preds.append([min(box[0] + jitter[0], x2 - 1), min(box[1] + jitter[1], y2 - 1), x2, y2])
                    labels.append(label if rng.random() > 0.1 else int(rng.integers(classes)))
                if is_crowd:  # detections of single members inside a crowd region
                    for _ in range(rng.integers(0, 4)):
                        x0 = rng.uniform(box[0], (box[0] + box[2]) / 2)
                        y0 = rng.uniform(box[1], (box[1] + box[3]) / 2)
                        preds.append([x0, y0, rng.uniform(x0 + 1, box[2]), rng.uniform(y0 + 1, box[3])])
                        labels.append(label)
            for _ in range(rng.integers(0, 6)):  # false alarms
                preds.append(_box(rng, high=200))
                labels.append(int(rng.integers(classes)))
            scores = rng.random(len(preds))
            if ties:
                scores = np.round(scores, 1)
        out.append(dict(pred_boxes=np.array(preds).reshape(-1, 4), pred_scores=np.asarray(scores, float),
                        pred_labels=np.array(labels, int), gt_boxes=np.array(gts).reshape(-1, 4),
                        gt_labels=np.array(gt_labels, int), gt_ignore=np.array(crowd, bool)))
    return out


def _pycocotools(images, classes, folder, max_detections=100):
    """COCOeval on the same images written as COCO json: (stats, per-class AP (T, K) or NaN)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    truth = {"images": [{"id": i + 1, "width": WIDTH, "height": HEIGHT} for i in range(len(images))],
             "categories": [{"id": k + 1, "name": f"c{k}"} for k in range(classes)], "annotations": []}
    found = []
    for i, image in enumerate(images):
        for box, label, crowd in zip(image["gt_boxes"], image["gt_labels"], image["gt_ignore"]):
            w, h = box[2] - box[0], box[3] - box[1]
            truth["annotations"].append({"id": len(truth["annotations"]) + 1, "image_id": i + 1,
                                         "category_id": int(label) + 1, "iscrowd": int(crowd), "area": w * h,
                                         "bbox": [box[0], box[1], w, h]})
        for box, score, label in zip(image["pred_boxes"], image["pred_scores"], image["pred_labels"]):
            found.append({"image_id": i + 1, "category_id": int(label) + 1, "score": float(score),
                          "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    path = folder / "instances.json"
    path.write_text(json.dumps(truth))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        evaluation = COCOeval(gt, gt.loadRes(found), "bbox")
        evaluation.params.maxDets = [1, 10, max_detections]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    m = list(evaluation.params.maxDets).index(max_detections)
    precision = evaluation.eval["precision"][:, :, :, 0, m]  # (T, R, K), -1 for classes without objects
    per_class = np.where((precision > -1).all(axis=1), precision.mean(axis=1), np.nan)
    return evaluation.stats, per_class


def _metric(images, **kwargs):
    metric = MeanAveragePrecision(**kwargs)
    for image in images:
        metric.update(**image)
    return metric


@pytest.mark.parametrize("seed,ties", [(0, False), (1, False), (2, False), (3, True), (4, True)])
def test_map_equals_pycocotools(tmp_path, seed, ties):
    images = _random_images(seed, ties=ties)
    stats, per_class = _pycocotools(images, 5, tmp_path)
    metric = _metric(images, labels=5)
    result = metric.eval()
    assert 0.05 < stats[0] < 0.95 and 0.05 < stats[1] < 0.95  # a case with something to get right
    # asked for 1e-4; the computation is the same, so it agrees to rounding
    assert result["mAP50_95"] == pytest.approx(stats[0], abs=1e-9)
    assert result["mAP50"] == pytest.approx(stats[1], abs=1e-9)
    report = metric.report()
    np.testing.assert_allclose(report.ap50, per_class[0], atol=1e-9)           # NaN where COCO has -1
    np.testing.assert_allclose(report.ap50_95, per_class.mean(axis=0), atol=1e-9)
    assert report.images == len(images)
    assert report.objects.sum() == sum(int((~i["gt_ignore"]).sum()) for i in images)
    # other thresholds: mAP50_95 becomes their mean (here COCO's AP75), mAP50 stays
    strict = _metric(images, labels=5, iou_thresholds=[0.75]).eval()
    assert strict["mAP50_95"] == pytest.approx(stats[2], abs=1e-9)
    assert strict["mAP50"] == pytest.approx(stats[1], abs=1e-9)


def test_map_equals_pycocotools_with_few_detections_kept_per_image_and_class(tmp_path):
    # COCO keeps the max_detections best of each class in each image (not of the whole image)
    images = _random_images(7, images=30, ties=True)
    _, per_class = _pycocotools(images, 5, tmp_path, max_detections=2)
    report = _metric(images, labels=5, max_detections=2).report()
    np.testing.assert_allclose(report.ap50, per_class[0], atol=1e-9)
    np.testing.assert_allclose(report.ap50_95, per_class.mean(axis=0), atol=1e-9)
    assert report.mAP50_95 < _metric(images, labels=5).report().mAP50_95


def test_voc07_11_point_ap_by_hand():
    metric = MeanAveragePrecision(labels=["cat", "dog", "bird"])
    # image A: two cats and a 'difficult' one; image B: a cat and a dog; image C: only a difficult bird
    metric.update(pred_boxes=[[0, 0, 10, 10], [0, 0, 10, 9], [40, 40, 50, 50], [20, 20, 30, 26]],
                  pred_scores=[0.9, 0.8, 0.7, 0.4], pred_labels=[0, 0, 0, 0],
                  gt_boxes=[[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], gt_labels=[0, 0, 0],
                  gt_ignore=[False, False, True])
    metric.update(pred_boxes=[[50, 50, 60, 60], [0, 0, 10, 10], [100, 100, 200, 200]],
                  pred_scores=[0.6, 0.5, 0.3], pred_labels=[0, 0, 1],
                  gt_boxes=[[0, 0, 10, 10], [100, 100, 200, 200]], gt_labels=[0, 1])
    metric.update(pred_boxes=np.zeros((0, 4)), pred_scores=[], pred_labels=[],
                  gt_boxes=[[0, 0, 5, 5]], gt_labels=[2], gt_ignore=[True])
    # cats by score: TP (a1), FP (duplicate of a1), ignored (the difficult one), FP (B, nothing there),
    # TP (b1), TP (a2, IoU 0.6): precision 1, .5, .33, .5, .6 at recall 1/3, 1/3, 1/3, 2/3, 1
    # 11-point: recall 0-0.3 -> 1.0 (4 points), 0.4-1.0 -> 0.6 (7 points)
    cat = (4 * 1.0 + 7 * 0.6) / 11
    report = metric.report()
    assert report.voc07_ap50[0] == pytest.approx(cat)
    assert report.voc07_ap50[1] == 1.0 and np.isnan(report.voc07_ap50[2])  # the bird has no regular object
    assert metric.eval()["voc07_mAP50"] == pytest.approx((cat + 1.0) / 2)
    assert report.images == 3 and report.objects.tolist() == [3, 1, 0] and report.ignored.tolist() == [1, 0, 1]
    assert report.class_images.tolist() == [2, 1, 1] and report.detections.tolist() == [6, 1, 0]


def test_iou_of_exactly_one_half_counts_for_coco_not_for_voc():
    # COCO matches at IoU >= 0.5, the VOC devkit needs > 0.5
    metric = MeanAveragePrecision()
    metric.update([[0, 0, 10, 10]], [0.9], [0], [[0, 0, 10, 20]], [0])
    result = metric.eval()
    assert result["mAP50"] == pytest.approx(1.0) and result["voc07_mAP50"] == 0.0
    assert result["mAP50_95"] == pytest.approx(0.1)


def test_every_image_counts_once_with_or_without_objects():
    metric = MeanAveragePrecision(labels=["cat", "dog"])
    empty = np.zeros((0, 4))
    metric.update([empty, empty], [[], []], [[], []], [empty, empty], [[], []])  # two empty images
    metric.update(empty, [], [], empty, [])                                       # one more
    metric.update([], [], [], [], [])                                              # and another
    assert metric.images == 4
    with pytest.raises(RuntimeError, match="no images|nothing"):
        MeanAveragePrecision().eval()
    assert all(np.isnan(v) for v in metric.eval().values())  # nothing to find: undefined, not 0 or 1
    metric.update([[10, 10, 20, 20]], [0.8], [1], [[10, 10, 20, 20]], [1])
    assert metric.images == 5 and metric.report().class_images.tolist() == [0, 1]
    assert metric.eval() == pytest.approx({"mAP50": 1.0, "mAP50_95": 1.0, "voc07_mAP50": 1.0})
    metric.update([empty], [[]], [[]], [[[0, 0, 5, 5]]], [[1]])  # a missed dog halves recall
    assert metric.eval()["mAP50"] == pytest.approx(0.5, abs=0.01)
    metric.clear()
    assert metric.images == 0


def test_batched_ground_truth_padding_is_skipped():
    # the detection data contract pads bbox with zeros and label with -1
    gt_boxes = np.array([[[10, 10, 50, 50], [0, 0, 0, 0]], [[5, 5, 25, 25], [30, 30, 60, 60]]], np.float32)
    gt_labels = np.array([[0, -1], [1, 0]], np.int32)
    preds = [np.array([[10, 10, 50, 50]]), np.array([[5, 5, 25, 25], [30, 30, 60, 60]])]
    metric = MeanAveragePrecision(labels=2)
    metric.update(preds, [[0.9], [0.8, 0.7]], [[0], [1, 0]], gt_boxes, gt_labels)
    report = metric.report()
    assert report.images == 2 and report.objects.tolist() == [2, 1]
    assert report.mAP50 == pytest.approx(1.0)


def test_perfect_and_absent_detections():
    rng = np.random.default_rng(3)
    perfect, blind = MeanAveragePrecision(labels=3), MeanAveragePrecision(labels=3)
    for _ in range(10):
        boxes = np.array([_box(rng) for _ in range(4)])
        labels = rng.integers(0, 3, 4)
        perfect.update(boxes, rng.random(4), labels, boxes, labels)
        blind.update(np.zeros((0, 4)), [], [], boxes, labels)
    assert perfect.eval() == pytest.approx({"mAP50": 1.0, "mAP50_95": 1.0, "voc07_mAP50": 1.0})
    assert blind.eval() == {"mAP50": 0.0, "mAP50_95": 0.0, "voc07_mAP50": 0.0}


def test_report_table_names_classes_and_counts():
    metric = MeanAveragePrecision(labels=["person", "bicycle", "car"])
    metric.update([[0, 0, 10, 10], [20, 20, 40, 40]], [0.9, 0.5], [0, 2], [[0, 0, 10, 10], [0, 0, 3, 3]], [0, 1])
    report = metric.report()
    assert isinstance(report, DetectionReport)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["class", "images", "objects"]
    assert lines[2].split() == ["person", "1", "1", "0", "1.0000", "1.0000", "1.0000"]
    assert lines[3].split() == ["bicycle", "1", "1", "0", "0.0000", "0.0000", "0.0000"]
    assert lines[4].split() == ["car", "0", "0", "0", "-", "-", "-"]  # no object: no AP, not in the mean
    assert lines[-1].split()[:5] == ["mean", "(2", "classes)", "1", "2"] and "0.5000" in lines[-1]
    assert report.to_dict()["car"]["detections"] == 1 and report.to_dict()["images"] == 1
    assert "mAP50=0.5000" in repr(report)


def test_bad_input_is_refused_with_the_reason():
    metric = MeanAveragePrecision(labels=["cat", "dog"])
    with pytest.raises(ValueError, match="class 2 but labels names 2"):
        metric.update([[0, 0, 1, 1]], [0.5], [2], [[0, 0, 1, 1]], [0])
    with pytest.raises(ValueError, match="xmax < xmin"):
        metric.update([[10, 10, 5, 20]], [0.5], [0], [[0, 0, 1, 1]], [0])
    with pytest.raises(InputShapeError, match="one per box"):
        metric.update([[0, 0, 1, 1]], [0.5, 0.4], [0], [[0, 0, 1, 1]], [0])
    with pytest.raises(InputShapeError, match="gt_boxes has 1 images but pred_boxes has 2"):
        metric.update([np.zeros((0, 4))] * 2, [[]] * 2, [[]] * 2, [np.zeros((0, 4))], [[]])
    with pytest.raises(InputShapeError, match="disagree"):
        metric.update([np.zeros((0, 4)), np.zeros((1, 4))], [[], [1]], [[], [0]], [[0, 0, 1, 1]], [0])
    with pytest.raises(ValueError, match="NaN"):
        metric.update([[0, 0, 1, 1]], [float("nan")], [0], [[0, 0, 1, 1]], [0])
    assert metric.images == 0  # nothing half-added
    with pytest.raises(ValueError, match="iou_thresholds"):
        MeanAveragePrecision(iou_thresholds=[0.5, 1.5])


def test_compile_accepts_the_metric_by_name():
    metrics = get(["map"])
    assert isinstance(metrics["map"], MeanAveragePrecision)
    assert isinstance(get("mean_average_precision")["mean_average_precision"], MeanAveragePrecision)


def test_equal_overlaps_are_resolved_as_cocoeval_resolves_them(tmp_path):
    # the first detection overlaps both objects equally (IoU 9/11): COCOeval gives it the later one,
    # which leaves the exact box of the first object to the second detection: at IoU 0.50-0.80 both
    # are right (AP 1), above only the second (AP 0.5 * 51/101). Taking the first object would
    # score 0.63 (the second detection overlaps the other object by 2/3 only).
    image = dict(pred_boxes=np.array([[1, 0, 11, 10], [0, 0, 10, 10.0]]), pred_scores=np.array([0.9, 0.8]),
                 pred_labels=np.array([0, 0]), gt_boxes=np.array([[0, 0, 10, 10], [2, 0, 12, 10.0]]),
                 gt_labels=np.array([0, 0]), gt_ignore=np.array([False, False]))
    stats, _ = _pycocotools([image], 1, tmp_path)
    result = _metric([image], labels=1).eval()
    assert result["mAP50_95"] == pytest.approx(stats[0], abs=1e-9)
    assert stats[0] == pytest.approx((7 + 3 * 0.5 * 51 / 101) / 10)
