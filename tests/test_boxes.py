"""tinyms._boxes: box layouts, IoU, NMS and the post-processing of detection outputs (numpy only)."""

import subprocess
import sys

import numpy as np
import pytest

from tinyms import _boxes
from tinyms._boxes import (batched_nms, box_iou, boxes_to_pixels, detect_boxes, nms, xywh_to_xyxy, xyxy_to_xywh,
                           yxyx_to_xyxy)
from tinyms.errors import InputShapeError


def _random_boxes(rng, n, size=1.0):
    corner = rng.uniform(0, 0.8 * size, (n, 2))
    extent = rng.uniform(0.02 * size, 0.4 * size, (n, 2))
    return np.c_[corner, corner + extent]


def _iou(a, b):
    """Plain-Python IoU of two [x1, y1, x2, y2] boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _reference_nms(boxes, scores, threshold):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(_iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


def test_layout_conversions_round_trip_and_keep_shape():
    xywh = np.array([[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 1.0, 1.0]])
    assert xywh_to_xyxy(xywh).tolist() == [[10, 20, 40, 60], [0, 0, 1, 1]]
    np.testing.assert_allclose(xyxy_to_xywh(xywh_to_xyxy(xywh)), xywh)
    assert yxyx_to_xyxy([[1, 2, 3, 4]]).tolist() == [[2, 1, 4, 3]]
    batch = np.zeros((2, 5, 4), np.float32)
    assert yxyx_to_xyxy(batch).shape == (2, 5, 4) and yxyx_to_xyxy(batch).dtype == np.float32
    assert xywh_to_xyxy([]).shape == (0, 4)
    with pytest.raises(InputShapeError, match="4 coordinates"):
        xywh_to_xyxy([[1, 2, 3]])


def test_box_iou_matches_plain_arithmetic_without_the_plus_one_pixel():
    # two 10x10 boxes overlapping on a 5x10 strip: 50 / 150 (the +1 pixel convention would say 55/165)
    assert box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 30), _random_boxes(rng, 20)
    want = np.array([[_iou(x, y) for y in b] for x in a])
    got = box_iou(a, b)
    assert got.shape == (30, 20)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0.0  # no area, no NaN
    assert box_iou(np.zeros((0, 4)), a).shape == (0, 30)
    with pytest.raises(InputShapeError):
        box_iou(np.zeros((2, 3, 4)), a)


@pytest.mark.parametrize("seed", range(4))
def test_nms_keeps_what_a_plain_greedy_loop_keeps(seed):
    rng = np.random.default_rng(seed)
    boxes = _random_boxes(rng, 300)
    scores = np.round(rng.random(300), 1)  # many equal scores: ties go in input order
    for threshold in (0.3, 0.5, 0.7):
        assert nms(boxes, scores, threshold).tolist() == _reference_nms(boxes, scores, threshold)


def test_batched_nms_never_lets_one_class_suppress_another():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert batched_nms(boxes, scores, [0, 0, 1, 0]).tolist() == [0, 2, 3]
    assert nms(boxes, scores).tolist() == [0, 3]  # one class: the same box is suppressed
    rng = np.random.default_rng(1)
    boxes, scores, labels = _random_boxes(rng, 200), rng.random(200), rng.integers(0, 5, 200)
    want = []
    for c in range(5):
        members = np.flatnonzero(labels == c)
        want += [members[i] for i in _reference_nms(boxes[members], scores[members], 0.5)]
    want.sort(key=lambda i: -scores[i])
    assert batched_nms(boxes, scores, labels).tolist() == want
    with pytest.raises(InputShapeError, match="one score"):
        batched_nms(boxes, scores[:-1], labels)
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(boxes, scores, 1.5)


def _reference_detect(boxes, scores, background, score_threshold, iou_threshold, max_detections, top_k):
    """Per class: candidates above the threshold, its top_k best, greedy NMS; then the best overall."""
    xyxy = np.clip(boxes[:, [1, 0, 3, 2]], 0, 1)
    scores = scores[:, 1:] if background else scores
    found = []
    for c in range(scores.shape[1]):
        anchors = [a for a in np.flatnonzero(scores[:, c] > score_threshold)]
        anchors.sort(key=lambda a: (-scores[a, c], a))
        anchors = anchors[:top_k] if top_k else anchors
        kept = _reference_nms(xyxy[anchors], scores[anchors, c], iou_threshold)
        found += [(-scores[anchors[i], c], anchors[i], c) for i in kept]
    found.sort()
    found = found[:max_detections]
    return (xyxy[[a for _, a, _ in found]].reshape(-1, 4), np.array([-s for s, _, _ in found]),
            [c for _, _, c in found])


@pytest.mark.parametrize("chunk", [7, 512])
def test_detect_boxes_equals_per_class_nms_then_the_best(monkeypatch, chunk):
    # detect_boxes visits candidates best-first and stops early; it must keep exactly what
    # per-class NMS followed by the top max_detections keeps (also across its chunk borders)
    monkeypatch.setattr(_boxes, "_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    anchors, classes = 120, 4
    yx = _random_boxes(rng, anchors)[:, [1, 0, 3, 2]]
    scores = np.round(rng.random((anchors, classes + 1)), 2)
    cases = [dict(background=True, score_threshold=0.3, iou_threshold=0.5, max_detections=100, pre_nms_top_k=None),
             dict(background=False, score_threshold=0.05, iou_threshold=0.4, max_detections=15, pre_nms_top_k=None),
             dict(background=True, score_threshold=0.0, iou_threshold=0.6, max_detections=40, pre_nms_top_k=9)]
    for options in cases:
        boxes, values, labels = detect_boxes(yx, scores, **options)
        want_boxes, want_values, want_labels = _reference_detect(yx, scores, options["background"],
                                                                 options["score_threshold"], options["iou_threshold"],
                                                                 options["max_detections"], options["pre_nms_top_k"])
        assert labels.tolist() == want_labels, options
        np.testing.assert_allclose(values, want_values, rtol=1e-6)
        np.testing.assert_allclose(boxes, want_boxes, rtol=1e-6)


def test_detect_boxes_output_contract():
    boxes = np.array([[[0.1, 0.2, 0.5, 0.6],     # [ymin, xmin, ymax, xmax]
                       [0.11, 0.2, 0.5, 0.61],   # a near copy of anchor 0
                       [-0.1, 0.5, 0.4, 1.2],    # runs off the image: clipped
                       [0.6, 0.6, 0.9, 0.9]]], np.float32)
    scores = np.array([[[0.05, 0.9, 0.05],       # background, class 0, class 1
                        [0.1, 0.8, 0.1],
                        [0.3, 0.0, 0.7],
                        [0.97, 0.02, 0.01]]], np.float32)
    [(got_boxes, got_scores, got_labels)] = detect_boxes(boxes, scores, background=True)
    assert got_boxes.dtype == np.float32 and got_scores.dtype == np.float32 and got_labels.dtype == np.int64
    assert got_labels.tolist() == [0, 1, 1]      # 0-based object ids: background column gone
    np.testing.assert_allclose(got_scores, [0.9, 0.7, 0.1])
    np.testing.assert_allclose(got_boxes[0], [0.2, 0.1, 0.6, 0.5])        # xyxy now
    np.testing.assert_allclose(got_boxes[1], [0.5, 0.0, 1.0, 0.4])        # clipped to [0, 1]
    # one image in, one tuple out; a stricter threshold and a cap
    one = detect_boxes(boxes[0], scores[0], background=True, score_threshold=0.5, max_detections=1)
    assert isinstance(one, tuple) and one[2].tolist() == [0]
    # without a background column every column is a class
    assert detect_boxes(boxes[0], scores[0], score_threshold=0.5)[2].tolist() == [0, 1, 2]
    nothing = detect_boxes(boxes, np.zeros_like(scores))
    assert nothing[0][0].shape == (0, 4) and nothing[0][2].shape == (0,)


def test_detect_boxes_rejects_what_it_cannot_read():
    boxes, scores = np.zeros((2, 10, 4)), np.zeros((2, 10, 3))
    with pytest.raises(InputShapeError, match=r"\(B, A, 4\)"):
        detect_boxes(boxes, scores[:, :9])
    with pytest.raises(InputShapeError, match="4 coordinates"):
        detect_boxes(np.zeros((2, 10, 5)), scores)
    with pytest.raises(InputShapeError, match="background"):
        detect_boxes(boxes, scores[..., :1], background=True)
    with pytest.raises(ValueError, match="NaN"):
        detect_boxes(boxes, np.full((2, 10, 3), np.nan))
    with pytest.raises(ValueError, match="score_threshold"):
        detect_boxes(boxes, scores, score_threshold=2)
    with pytest.raises(ValueError, match="max_detections"):
        detect_boxes(boxes, scores, max_detections=0)


def test_boxes_to_pixels_scales_x_by_width_and_y_by_height():
    assert boxes_to_pixels([[0.25, 0.5, 0.75, 1.0]], (375, 500)).tolist() == [[125.0, 187.5, 375.0, 375.0]]
    assert boxes_to_pixels(np.zeros((0, 4)), (375, 500, 3)).shape == (0, 4)
    with pytest.raises(InputShapeError, match="height, width"):
        boxes_to_pixels([[0, 0, 1, 1]], (0, 500))


def test_the_module_imports_no_mindspore():
    code = "import sys, tinyms._boxes, tinyms._map; print('mindspore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
