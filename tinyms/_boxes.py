"""Bounding-box arithmetic and detection post-processing, with numpy only.

No MindSpore here: serving, the edge runtime and evaluation scripts use these functions on the
numpy outputs of a detection network. Box layouts:

- ``xyxy``: [xmin, ymin, xmax, ymax] (what :func:`detect_boxes` returns and the metric takes);
- ``xywh``: [xmin, ymin, width, height] (COCO json, the raw rows of TinyMS's detection loaders);
- ``yxyx``: [ymin, xmin, ymax, xmax] (what SSD-style networks output, normalised to [0, 1]).

Every function takes lists, numpy arrays or MindSpore Tensors, returns numpy arrays (float for
boxes), and raises InputShapeError for boxes whose last axis does not hold 4 coordinates.

Example:
    >>> import numpy as np
    >>> from tinyms._boxes import box_iou, xywh_to_xyxy
    >>> a = xywh_to_xyxy([[0, 0, 2, 2]])
    >>> a.tolist()
    [[0.0, 0.0, 2.0, 2.0]]
    >>> box_iou(a, [[1, 0, 3, 2]]).round(4).tolist()
    [[0.3333]]
"""

import numbers

import numpy as np

from ._checks import positive_int
from .errors import InputShapeError

__all__ = ["xywh_to_xyxy", "xyxy_to_xywh", "yxyx_to_xyxy", "box_iou", "nms", "batched_nms", "detect_boxes",
           "boxes_to_pixels"]


def _as_array(values, name):
    """``values`` (array-like or a MindSpore Tensor) as a float numpy array."""
    if hasattr(values, "asnumpy"):
        values = values.asnumpy()
    try:
        arr = np.asarray(values)
    except ValueError as err:  # ragged nested lists
        raise InputShapeError(f"{name} must be a rectangular array of numbers: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise InputShapeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _boxes(values, name="boxes"):
    arr = _as_array(values, name)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim < 1 or arr.shape[-1] != 4:
        raise InputShapeError(f"{name} must have 4 coordinates in its last axis, e.g. shape (N, 4), "
                              f"got shape {arr.shape}")
    return arr


def xywh_to_xyxy(boxes):
    """[xmin, ymin, width, height] -> [xmin, ymin, xmax, ymax], for boxes of shape (..., 4).

    Example:
        >>> from tinyms._boxes import xywh_to_xyxy
        >>> xywh_to_xyxy([[10, 20, 30, 40]]).tolist()
        [[10.0, 20.0, 40.0, 60.0]]
    """
    arr = _boxes(boxes)
    return np.concatenate([arr[..., :2], arr[..., :2] + arr[..., 2:]], axis=-1)


def xyxy_to_xywh(boxes):
    """[xmin, ymin, xmax, ymax] -> [xmin, ymin, width, height] (COCO's json layout), shape (..., 4)."""
    arr = _boxes(boxes)
    return np.concatenate([arr[..., :2], arr[..., 2:] - arr[..., :2]], axis=-1)


def yxyx_to_xyxy(boxes):
    """[ymin, xmin, ymax, xmax] (SSD's output order) -> [xmin, ymin, xmax, ymax], shape (..., 4)."""
    return _boxes(boxes)[..., [1, 0, 3, 2]]


def _area(boxes):
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def overlap(a, b, crowd=None):
    """Elementwise IoU of broadcastable xyxy arrays ``a`` and ``b`` (shape (..., 4)).

    Where ``crowd`` is True the overlap is intersection / area of ``a`` (COCO's rule for a
    detection ``a`` against a crowd region ``b``). Boxes that do not overlap, and a zero
    union, give 0.
    """
    width = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    height = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(width, 0) * np.maximum(height, 0)
    area_a = _area(a)
    union = area_a + _area(b) - inter
    if crowd is not None:
        union = np.where(crowd, area_a, union)
    return np.divide(inter, union, out=np.zeros(np.shape(inter), np.result_type(inter, union)), where=union > 0)


def box_iou(boxes1, boxes2):
    """Intersection over union of every pair of [xmin, ymin, xmax, ymax] boxes.

    Coordinates are continuous (a box's width is xmax - xmin, no +1 pixel), as in modern
    pycocotools. Boxes that do not overlap, or have no area, give 0.

    Args:
        boxes1: array-like of shape (N, 4).
        boxes2: array-like of shape (M, 4).

    Returns:
        numpy.ndarray: (N, M) IoU values in [0, 1].

    Raises:
        InputShapeError: an argument is not of shape (N, 4).

    Example:
        >>> from tinyms._boxes import box_iou
        >>> box_iou([[0, 0, 10, 10], [20, 20, 30, 30]], [[5, 0, 15, 10]]).round(4).tolist()
        [[0.3333], [0.0]]
    """
    a = _boxes(boxes1, "boxes1")
    b = _boxes(boxes2, "boxes2")
    if a.ndim != 2 or b.ndim != 2:
        raise InputShapeError(f"box_iou takes two (N, 4) arrays, got shapes {a.shape} and {b.shape}")
    return overlap(a[:, None, :], b[None, :, :])


def _check_threshold(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def _suppresses(a, b, iou_threshold):
    """Elementwise: IoU(a, b) > iou_threshold, as inter > threshold * union (no division)."""
    width = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    height = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(width, 0) * np.maximum(height, 0)
    return inter > iou_threshold * (_area(a) + _area(b) - inter)


def _nms_sorted(boxes, iou_threshold):
    """Greedy NMS over boxes already sorted by decreasing score: the positions kept."""
    alive = np.arange(len(boxes))
    keep = []
    while alive.size:
        best, rest = alive[0], alive[1:]
        keep.append(best)
        alive = rest[~_suppresses(boxes[best], boxes[rest], iou_threshold)]
    return np.asarray(keep, dtype=np.int64)


def _score_order(scores):
    """Indices by decreasing score; equal scores keep their input order."""
    return np.argsort(-scores, kind="stable")


def nms(boxes, scores, iou_threshold=0.5):
    """Non-maximum suppression: keep the best-scoring boxes, dropping boxes that overlap them.

    Boxes are visited by decreasing score (ties in input order); a box is dropped when its IoU
    with an already kept box is above ``iou_threshold``.

    Args:
        boxes: array-like (N, 4), [xmin, ymin, xmax, ymax].
        scores: array-like (N,).
        iou_threshold (float): in [0, 1]. Default 0.5.

    Returns:
        numpy.ndarray: int64 indices of the kept boxes, by decreasing score.

    Raises:
        InputShapeError: boxes is not (N, 4) or scores not (N,).
        ValueError: iou_threshold is not in [0, 1].

    Example:
        >>> from tinyms._boxes import nms
        >>> nms([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7]).tolist()
        [0, 2]
    """
    box_arr, score_arr = _boxes_and_scores(boxes, scores)
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    order = _score_order(score_arr)
    return order[_nms_sorted(box_arr[order], threshold)]


def _boxes_and_scores(boxes, scores, labels=None):
    box_arr = _boxes(boxes)
    score_arr = _as_array(scores, "scores")
    arrays = [score_arr] if labels is None else [score_arr, _as_array(labels, "labels")]
    if box_arr.ndim != 2 or any(a.shape != (len(box_arr),) for a in arrays):
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise InputShapeError(f"boxes must be (N, 4) with one score (and label) per box, got boxes "
                              f"{box_arr.shape} and {shapes}")
    return (box_arr, *arrays)


def batched_nms(boxes, scores, labels, iou_threshold=0.5):
    """Non-maximum suppression within each class: boxes of different labels never suppress each other.

    Args:
        boxes: array-like (N, 4), [xmin, ymin, xmax, ymax].
        scores: array-like (N,).
        labels: array-like (N,) of integer class ids.
        iou_threshold (float): in [0, 1]. Default 0.5.

    Returns:
        numpy.ndarray: int64 indices of the kept boxes, by decreasing score over all classes.

    Raises:
        InputShapeError: the arrays do not have matching (N, 4), (N,), (N,) shapes.
        ValueError: iou_threshold is not in [0, 1].

    Example:
        >>> from tinyms._boxes import batched_nms
        >>> boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10]]
        >>> batched_nms(boxes, [0.9, 0.8, 0.7], labels=[0, 0, 1]).tolist()
        [0, 2]
    """
    box_arr, score_arr, label_arr = _boxes_and_scores(boxes, scores, labels)
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    return _batched_nms(box_arr, score_arr, label_arr, threshold)


def _class_segments(sorted_labels):
    """(starts, ends) of the runs of equal values in a sorted 1-D array."""
    if not len(sorted_labels):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    return starts, np.r_[starts[1:], len(sorted_labels)]


def _batched_nms(boxes, scores, labels, threshold):
    order = np.lexsort((-scores, labels))  # by class, then decreasing score (stable)
    kept = []
    for start, end in zip(*_class_segments(labels[order])):
        segment = order[start:end]
        kept.append(segment[_nms_sorted(boxes[segment], threshold)])
    if not kept:
        return np.zeros(0, np.int64)
    kept = np.concatenate(kept)
    # by decreasing score; equal scores in input order
    return kept[np.lexsort((kept, -scores[kept]))]


def _rank_within(sorted_keys):
    """For a sorted key array, each element's position within its run of equal keys."""
    starts, ends = _class_segments(sorted_keys)
    return np.arange(len(sorted_keys)) - np.repeat(starts, ends - starts)


def detect_boxes(boxes, scores, background=False, score_threshold=0.05, iou_threshold=0.5, max_detections=100,
                 pre_nms_top_k=1000):
    """Turn a detection network's raw outputs into each image's final boxes, scores and labels.

    For each image and each object class: the anchors scoring above ``score_threshold`` (at most
    ``pre_nms_top_k`` best of them), then non-maximum suppression within the class; the
    ``max_detections`` best detections over all classes are kept. Boxes are clipped to [0, 1].

    Args:
        boxes: (B, A, 4) [ymin, xmin, ymax, xmax] normalised to [0, 1] of the network input
            (the network's first output), or (A, 4) for one image.
        scores: (B, A, C) class probabilities (the second output), or (A, C).
        background (bool): column 0 of ``scores`` is the background class (SSD); it is dropped
            and labels count the object classes from 0. Default False (YOLO: every column is an
            object class).
        score_threshold (float): keep scores above it. Evaluation uses a low one (0.001-0.01),
            display a higher one (0.3-0.5). Default 0.05.
        iou_threshold (float): NMS drops a box whose IoU with a better box of its class is above
            it. Default 0.5.
        max_detections (int): most detections per image. Default 100.
        pre_nms_top_k (int): most candidates per class entering NMS (None: all). Default 1000.

    Returns:
        tuple or list of tuples: per image ``(boxes, scores, labels)``: float32 (K, 4)
        [xmin, ymin, xmax, ymax] normalised to [0, 1], float32 (K,) by decreasing score, int64
        (K,) 0-based object class ids. A list of B tuples for batched input, one tuple for (A, 4).

    Raises:
        InputShapeError: the shapes do not match (boxes (B, A, 4), scores (B, A, C), with C >= 2
            when ``background``).
        ValueError: a threshold outside [0, 1], a non-positive count, or NaN/infinite outputs.

    Example:
        >>> import numpy as np
        >>> from tinyms._boxes import detect_boxes
        >>> boxes = np.array([[[0.1, 0.2, 0.5, 0.6], [0.12, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]]])
        >>> scores = np.array([[[0.1, 0.9, 0.0], [0.2, 0.8, 0.0], [0.4, 0.0, 0.6]]])  # background first
        >>> [(b, s, l)] = detect_boxes(boxes, scores, background=True)
        >>> print(b.round(2), s.round(2), l)
        [[0.2 0.1 0.6 0.5]
         [0.  0.  1.  1. ]] [0.9 0.6] [0 1]
    """
    box_arr = _boxes(boxes)
    score_arr = _as_array(scores, "scores")
    single = box_arr.ndim == 2
    if single:
        box_arr, score_arr = box_arr[None], score_arr[None]
    if box_arr.ndim != 3 or score_arr.ndim != 3 or score_arr.shape[:2] != box_arr.shape[:2]:
        raise InputShapeError(f"detect_boxes takes boxes (B, A, 4) and scores (B, A, C) of the same batch and "
                              f"anchors (or (A, 4) and (A, C) for one image), got {np.shape(boxes)} and "
                              f"{np.shape(scores)}")
    if background and score_arr.shape[2] < 2:
        raise InputShapeError(f"with background=True, scores need column 0 for the background plus one per "
                              f"class, got {score_arr.shape[2]} column(s)")
    if score_arr.shape[2] < 1:
        raise InputShapeError("scores need one column per class, got none")
    for arr, name in ((box_arr, "boxes"), (score_arr, "scores")):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"the network's {name} contain NaN or infinite values (a diverged network?); "
                             f"there is nothing to detect from them")
    options = dict(score_threshold=_check_threshold(score_threshold, "score_threshold"),
                   iou_threshold=_check_threshold(iou_threshold, "iou_threshold"),
                   max_detections=positive_int(max_detections, "max_detections", 100),
                   pre_nms_top_k=None if pre_nms_top_k is None else positive_int(pre_nms_top_k, "pre_nms_top_k", 1000))
    if background:
        score_arr = score_arr[:, :, 1:]
    out = [_detect_one(b, s, **options) for b, s in zip(box_arr, score_arr)]
    return out[0] if single else out


_CHUNK = 512


def _detect_one(boxes, scores, score_threshold, iou_threshold, max_detections, pre_nms_top_k):
    xyxy = np.clip(boxes[:, [1, 0, 3, 2]], 0.0, 1.0)
    anchors, classes = np.nonzero(scores > score_threshold)
    values = scores[anchors, classes]
    keep = _top_nms(xyxy[anchors], values, classes, iou_threshold, max_detections, pre_nms_top_k,
                    scores.shape[1])
    return (xyxy[anchors[keep]].astype(np.float32), values[keep].astype(np.float32),
            classes[keep].astype(np.int64))


def _top_nms(boxes, scores, classes, iou_threshold, max_detections, top_k, class_num):
    """The first ``max_detections`` survivors of per-class NMS, by decreasing score.

    Same result as per-class NMS over each class's ``top_k`` best candidates followed by the
    best ``max_detections``, but the candidates are visited best first over all classes, a
    chunk at a time, and the visit stops once enough boxes are kept: every later candidate
    scores lower than all of them (equal scores keep their input order, as in batched_nms).
    """
    order = _score_order(scores)
    seen = np.zeros(class_num, np.int64)  # candidates of each class visited so far
    kept, kept_boxes, kept_classes = [], boxes[:0], classes[:0]
    for start in range(0, len(order), _CHUNK):
        idx = order[start:start + _CHUNK]
        cls = classes[idx]
        if top_k is not None:
            by_class = np.argsort(cls, kind="stable")
            rank = np.empty(len(cls), np.int64)
            rank[by_class] = _rank_within(cls[by_class])
            rank += seen[cls]
            seen += np.bincount(cls, minlength=class_num)
            idx, cls = idx[rank < top_k], cls[rank < top_k]
        box = boxes[idx]
        if len(kept_boxes):  # suppressed by a box kept from an earlier chunk
            hit = _suppresses(box[:, None], kept_boxes[None], iou_threshold) & (cls[:, None] == kept_classes[None])
            live = ~hit.any(axis=1)
            idx, cls, box = idx[live], cls[live], box[live]
        within = np.triu(_suppresses(box[:, None], box[None], iou_threshold) & (cls[:, None] == cls[None]), 1)
        alive = np.ones(len(idx), bool)
        for i in range(len(idx)):
            if alive[i]:
                alive &= ~within[i]
        new = idx[alive][:max_detections - len(kept)]
        kept.extend(new.tolist())
        kept_boxes, kept_classes = boxes[kept], classes[kept]
        if len(kept) >= max_detections:
            break
    return np.asarray(kept, np.int64)


def boxes_to_pixels(boxes, image_shape):
    """Scale [xmin, ymin, xmax, ymax] boxes normalised to [0, 1] to an image's pixels.

    Args:
        boxes: array-like (..., 4), normalised (e.g. :func:`detect_boxes`'s).
        image_shape: the image's (height, width) (or an (H, W, C) shape).

    Returns:
        numpy.ndarray: float boxes in pixels (x times width, y times height).

    Raises:
        InputShapeError: boxes do not have 4 coordinates, or image_shape is not (height, width).

    Example:
        >>> from tinyms._boxes import boxes_to_pixels
        >>> boxes_to_pixels([[0.25, 0.5, 0.75, 1.0]], (375, 500)).tolist()
        [[125.0, 187.5, 375.0, 375.0]]
    """
    arr = _boxes(boxes)
    shape = _as_array(image_shape, "image_shape").reshape(-1)
    if shape.size not in (2, 3) or np.any(shape[:2] <= 0):
        raise InputShapeError(f"image_shape must be the image's positive (height, width), got {image_shape!r}")
    height, width = float(shape[0]), float(shape[1])
    return arr * np.array([width, height, width, height], dtype=np.result_type(arr, np.float32))
