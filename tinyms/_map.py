"""Mean average precision of object detections, COCO's and Pascal VOC 2007's, with numpy only.

:class:`tinyms.metrics.MeanAveragePrecision` collects images with :func:`split_images` and scores
them with :func:`evaluate`. The rules (what COCOeval and the VOC devkit do):

COCO (area 'all'): in each image, each class's detections are taken by decreasing score (the
``max_detections`` best of them); each takes the unmatched ground-truth box of its class with the
highest IoU reaching the threshold, preferring a regular box to an ignored (crowd) one; a crowd
box can absorb any number of detections and its overlap is intersection / detection area.
Detections matched to ignored boxes count as neither true nor false. Per class and threshold,
precision is made monotone (each point takes the best precision at any higher recall) and read
at the 101 recall points 0, 0.01, ..., 1; AP is their mean. Classes without a regular ground-truth
box have no AP and are left out of the mean.

VOC 2007: all detections of a class by decreasing score; each finds the ground-truth box of its
image with the highest IoU; above 0.5 it is a true positive if that box is not yet taken, a false
positive if it is, and ignored if that box is 'difficult'; otherwise a false positive. AP is the
mean over recall 0, 0.1, ..., 1 of the best precision at that recall or above (11 points). IoU
uses continuous coordinates here (no +1 pixel), like the COCO part.
"""

import numbers

import numpy as np

from ._boxes import _as_array, _class_segments, _rank_within, overlap
from .errors import InputShapeError

#: COCO's IoU thresholds 0.50, 0.55, ..., 0.95.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)
_VOC07_RECALL_POINTS = np.arange(11) / 10.0
_MAX_PAIRS = 1 << 22  # detection/ground-truth pairs scored at once


# --------------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------------

def _looks_single(values):
    """True: one image's (N, 4) boxes; False: a list of images; None: an empty list (either)."""
    if isinstance(values, (list, tuple)) and not values:
        return None
    try:
        arr = np.asarray(values.asnumpy() if hasattr(values, "asnumpy") else values, dtype=np.float64)
    except (ValueError, TypeError):
        return False  # ragged: one array per image
    return arr.ndim == 2 and arr.shape[1] == 4


def _per_image(values, name, count):
    if hasattr(values, "asnumpy"):
        values = values.asnumpy()
    try:
        items = list(values)
    except TypeError:
        raise InputShapeError(f"{name} must be a list with one entry per image, got {type(values).__name__}") from None
    if count is not None and len(items) != count:
        raise InputShapeError(f"{name} has {len(items)} images but pred_boxes has {count}: give one entry per image")
    return items


def _image_boxes(values, name, index):
    arr = _as_array(values, f"{name} of image {index}").astype(np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InputShapeError(f"{name} of image {index} must be (N, 4) [xmin, ymin, xmax, ymax], got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} of image {index} holds NaN or infinite coordinates")
    if np.any(arr[:, 2:] < arr[:, :2]):
        raise ValueError(f"{name} of image {index} has a box with xmax < xmin or ymax < ymin: boxes are "
                         f"[xmin, ymin, xmax, ymax] (convert [x, y, width, height] with xywh_to_xyxy, "
                         f"[ymin, xmin, ymax, xmax] with yxyx_to_xyxy)")
    return arr


def _image_vector(values, name, index, length):
    arr = _as_array(values, f"{name} of image {index}").reshape(-1)
    if arr.shape != (length,):
        raise InputShapeError(f"{name} of image {index} has {arr.size} values for {length} boxes: give one per box")
    return arr


def _image_classes(values, name, index, length, class_num):
    arr = _image_vector(values, name, index, length)
    if arr.size and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} of image {index} must hold integer class ids, got {arr[arr != np.round(arr)][0]}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} of image {index} holds class {int(arr.min())}; class ids count from 0")
    if class_num is not None and arr.size and arr.max() >= class_num:
        raise ValueError(f"{name} of image {index} holds class {int(arr.max())} but labels names {class_num} "
                         f"classes (ids 0..{class_num - 1})")
    return arr


def split_images(pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels, gt_ignore=None, class_num=None):
    """Check one image's or a list of images' predictions and ground truth.

    A single image is recognised by (N, 4) ``pred_boxes`` (or ``gt_boxes``); anything else is a
    list with one entry per image. Ground-truth rows labelled -1 (the padding of batched
    detection data) are dropped.

    Returns:
        list of tuples ``(pred_boxes (K, 4), pred_scores (K,), pred_labels (K,), gt_boxes (M, 4),
        gt_labels (M,), gt_ignore (M,) bool)``, one per image.
    """
    hints = [_looks_single(pred_boxes), _looks_single(gt_boxes)]
    known = {hint for hint in hints if hint is not None}
    if len(known) == 2:
        raise InputShapeError("pred_boxes and gt_boxes disagree: one is a single image's (N, 4) array, the other "
                              "a list of images; pass both for one image, or both as lists")
    if known != {False}:  # one image (an empty list on both sides counts as one image without boxes)
        pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels = \
            [pred_boxes], [pred_scores], [pred_labels], [gt_boxes], [gt_labels]
        gt_ignore = None if gt_ignore is None else [gt_ignore]
    pred_boxes = _per_image(pred_boxes, "pred_boxes", None)
    count = len(pred_boxes)
    columns = [pred_boxes] + [_per_image(v, n, count) for v, n in ((pred_scores, "pred_scores"),
                                                                (pred_labels, "pred_labels"),
                                                                (gt_boxes, "gt_boxes"), (gt_labels, "gt_labels"))]
    columns.append([None] * count if gt_ignore is None else _per_image(gt_ignore, "gt_ignore", count))
    images = []
    for index, (pb, ps, pl, gb, gl, gi) in enumerate(zip(*columns)):
        pb = _image_boxes(pb, "pred_boxes", index)
        ps = _image_vector(ps, "pred_scores", index, len(pb))
        if not np.all(np.isfinite(ps)):
            raise ValueError(f"pred_scores of image {index} holds NaN or infinite scores")
        pl = _image_classes(pl, "pred_labels", index, len(pb), class_num)
        gb = _image_boxes(gb, "gt_boxes", index)
        gl = _image_vector(gl, "gt_labels", index, len(gb))
        gi = np.zeros(len(gb), bool) if gi is None else _image_vector(gi, "gt_ignore", index, len(gb)).astype(bool)
        real = gl != -1  # padding rows of batched detection data
        gl = _image_classes(gl[real], "gt_labels", index, int(real.sum()), class_num)
        images.append((pb, ps, pl, gb[real], gl, gi[real]))
    return images


def check_iou_thresholds(values):
    """``values`` as a sorted float64 array of thresholds in (0, 1]."""
    arr = np.unique(np.asarray(values, dtype=np.float64).reshape(-1))
    if arr.size == 0 or arr[0] <= 0 or arr[-1] > 1:
        raise ValueError(f"iou_thresholds must be one or more numbers in (0, 1], got {values!r}")
    return arr


def check_labels(labels):
    """``labels`` (None, a class count or class names) as (class_num or None, names or None)."""
    if labels is None:
        return None, None
    if isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
        if labels < 1:
            raise ValueError(f"labels must be class names or a positive class count, got {labels!r}")
        return int(labels), None
    names = [str(name) for name in labels]
    if not names:
        raise ValueError("labels must name at least one class")
    return len(names), names


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------

def _pairs(det_key, gt_key):
    """(detection index, ground-truth index) of every pair in the same (image, class) group;
    both key arrays sorted. Yields chunks of at most _MAX_PAIRS pairs."""
    starts = np.searchsorted(gt_key, det_key, "left")
    counts = np.searchsorted(gt_key, det_key, "right") - starts
    ends = np.cumsum(counts)
    first = 0
    while first < len(det_key):
        last = max(int(np.searchsorted(ends, ends[first] - counts[first] + _MAX_PAIRS, "right")), first + 1)
        block = counts[first:last]
        det = np.repeat(np.arange(first, last), block)
        offset = np.arange(len(det)) - np.repeat(np.cumsum(block) - block, block)
        yield det, np.repeat(starts[first:last], block) + offset
        first = last


def _first_of_runs(keys):
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)


def _coco_match(det_key, edges, gt_ignore, thresholds, det_count):
    """COCO's greedy matching at every threshold at once.

    Detections are processed in rounds: round r takes, in every (image, class) group, the r-th
    detection (by decreasing score) that overlaps some ground truth enough; the groups are
    independent, so one round is a few array operations.

    Returns:
        (det_gt (D, T) matched ground-truth index or -1, det_ignored (D, T) bool).
    """
    edge_det, edge_gt, edge_iou = edges
    det_gt = np.full((det_count, len(thresholds)), -1, np.int64)
    det_ignored = np.zeros((det_count, len(thresholds)), bool)
    taken = np.zeros((len(gt_ignore), len(thresholds)), bool)
    limits = np.minimum(thresholds, 1 - 1e-10)
    candidates = _first_of_runs(edge_det)
    cand_det = edge_det[candidates]
    cand_end = np.r_[candidates[1:], len(edge_det)]
    rounds = _rank_within(det_key[cand_det])
    by_round = np.argsort(rounds, kind="stable")
    bounds = np.r_[_first_of_runs(rounds[by_round]), len(by_round)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        picked = by_round[lo:hi]
        first, count = candidates[picked], cand_end[picked] - candidates[picked]
        seg_start = np.cumsum(count) - count
        edge = np.repeat(first, count) + np.arange(count.sum()) - np.repeat(seg_start, count)
        gt, iou = edge_gt[edge], edge_iou[edge][:, None]
        ignored = gt_ignore[gt][:, None]
        free = (iou >= limits) & (ignored | ~taken[gt])
        best_regular = np.maximum.reduceat(np.where(free & ~ignored, iou, -1.0), seg_start, axis=0)
        best_ignored = np.maximum.reduceat(np.where(free & ignored, iou, -1.0), seg_start, axis=0)
        use_regular = best_regular > -1
        segment = np.repeat(np.arange(len(picked)), count)
        best = np.where(use_regular, best_regular, best_ignored)[segment]
        hit = free & (ignored != use_regular[segment]) & (iou == best)
        # equal IoUs: the later ground truth wins, as in COCOeval's loop
        chosen = np.maximum.reduceat(np.where(hit, np.arange(len(edge))[:, None], -1), seg_start, axis=0)
        row, col = np.nonzero(chosen >= 0)
        matched = gt[chosen[row, col]]
        dets = cand_det[picked][row]
        det_gt[dets, col] = matched
        det_ignored[dets, col] = gt_ignore[matched]
        taken[matched, col] = True
    return det_gt, det_ignored


def _coco_ap(true_pos, false_pos, positives):
    """Per-threshold AP from (n, T) true/false-positive flags in decreasing score order."""
    tp = np.cumsum(true_pos, axis=0, dtype=np.float64)
    fp = np.cumsum(false_pos, axis=0, dtype=np.float64)
    ap = np.zeros(true_pos.shape[1])
    if not len(tp):
        return ap
    recall = tp / positives
    precision = tp / (tp + fp + np.spacing(1))
    envelope = np.maximum.accumulate(precision[::-1], axis=0)[::-1]
    for t in range(len(ap)):
        at = np.searchsorted(recall[:, t], _RECALL_POINTS, side="left")
        ap[t] = np.where(at < len(tp), envelope[np.minimum(at, len(tp) - 1), t], 0.0).sum() / len(_RECALL_POINTS)
    return ap


def _voc07_ap(true_pos, false_pos, positives):
    tp, fp = np.cumsum(true_pos, dtype=np.float64), np.cumsum(false_pos, dtype=np.float64)
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return float(np.mean([precision[recall >= r].max() if np.any(recall >= r) else 0.0
                          for r in _VOC07_RECALL_POINTS]))


def evaluate(images, class_num, thresholds, max_detections):
    """Score ``images`` (split_images' tuples) for classes 0..class_num-1.

    Returns:
        dict: ``ap`` (C, T) COCO AP per class and threshold, ``voc07`` (C,) (NaN for a class
        without regular ground truth), ``objects``/``ignored``/``class_images``/``detections``
        (C,) counts.
    """
    C, T = class_num, len(thresholds)
    sizes = np.array([[len(img[0]), len(img[3])] for img in images], np.int64).reshape(-1, 2)
    det_image = np.repeat(np.arange(len(images)), sizes[:, 0])
    gt_image = np.repeat(np.arange(len(images)), sizes[:, 1])
    cat = (lambda k: np.concatenate([img[k] for img in images]) if images else np.zeros(0))
    det_box, det_score, det_class = cat(0).reshape(-1, 4), cat(1).astype(np.float64), cat(2).astype(np.int64)
    gt_box, gt_class, gt_ignore = cat(3).reshape(-1, 4), cat(4).astype(np.int64), cat(5).astype(bool)

    # detections by (image, class) group, then decreasing score (equal scores keep their order)
    det_order = np.lexsort((-det_score, det_image * C + det_class))
    det_key = (det_image * C + det_class)[det_order]
    det_box, det_score, det_class = det_box[det_order], det_score[det_order], det_class[det_order]
    det_rank = _rank_within(det_key)
    # ground truth by group, regular boxes before ignored ones (COCOeval's order)
    gt_order = np.lexsort((gt_ignore, gt_image * C + gt_class))
    gt_key = (gt_image * C + gt_class)[gt_order]
    gt_box, gt_class, gt_ignore = gt_box[gt_order], gt_class[gt_order], gt_ignore[gt_order]

    coco, voc = [], []
    lowest = min(float(np.min(thresholds)), 1 - 1e-10)
    for det, gt in _pairs(det_key, gt_key):
        coco_iou = overlap(det_box[det], gt_box[gt], crowd=gt_ignore[gt])
        plain_iou = overlap(det_box[det], gt_box[gt])
        keep = (coco_iou >= lowest) & (det_rank[det] < max_detections)
        coco.append((det[keep], gt[keep], coco_iou[keep]))
        keep = plain_iou > 0.5
        voc.append((det[keep], gt[keep], plain_iou[keep]))
    join = (lambda parts: tuple(np.concatenate(p) for p in zip(*parts)) if parts
            else (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
    det_gt, det_ignored = _coco_match(det_key, join(coco), gt_ignore, thresholds, len(det_key))
    voc_gt = _voc_best(join(voc), gt_order, len(det_key))

    # per class, by decreasing score; equal scores in image order
    order = np.lexsort((np.arange(len(det_key)), -det_score, det_class))
    sorted_class = det_class[order]
    voc_true = _voc_true_positives(order, voc_gt, gt_ignore)
    objects = np.bincount(gt_class[~gt_ignore], minlength=C)[:C]
    ap = np.full((C, T), np.nan)
    voc07 = np.full(C, np.nan)
    for start, end in zip(*_class_segments(sorted_class)):
        k = sorted_class[start]
        if objects[k] == 0:
            continue
        dets = order[start:end]
        coco_kept = dets[det_rank[dets] < max_detections]
        matched, ignored = det_gt[coco_kept] >= 0, det_ignored[coco_kept]
        ap[k] = _coco_ap(matched & ~ignored, ~matched & ~ignored, objects[k])
        counted = voc_gt[dets] < 0
        counted |= ~gt_ignore[np.maximum(voc_gt[dets], 0)]
        voc07[k] = _voc07_ap(voc_true[start:end][counted], ~voc_true[start:end][counted], objects[k])
    ap[(objects > 0) & np.isnan(ap[:, 0])] = 0.0  # classes with ground truth but no detection
    voc07[(objects > 0) & np.isnan(voc07)] = 0.0
    group_classes = np.unique(gt_key) % C if C else np.zeros(0, np.int64)
    return {"ap": ap, "voc07": voc07, "objects": objects,
            "ignored": np.bincount(gt_class[gt_ignore], minlength=C)[:C],
            "class_images": np.bincount(group_classes, minlength=C)[:C],
            "detections": np.bincount(det_class, minlength=C)[:C]}


def _voc_best(edges, gt_original, det_count):
    """Each detection's highest-IoU ground truth above 0.5 (-1 for none); equal IoUs: the one
    listed first for the image, as the VOC devkit's argmax picks."""
    det, gt, iou = edges
    order = np.lexsort((gt_original[gt], -iou, det))
    det, gt = det[order], gt[order]
    first = _first_of_runs(det)
    best = np.full(det_count, -1, np.int64)
    best[det[first]] = gt[first]
    return best


def _voc_true_positives(order, voc_gt, gt_ignore):
    """True positive flags in ``order``: the first detection to take a regular ground truth."""
    claims = voc_gt[order]
    true_pos = np.zeros(len(order), bool)
    regular = np.flatnonzero(claims >= 0)
    regular = regular[~gt_ignore[claims[regular]]]
    _, first = np.unique(claims[regular], return_index=True)
    true_pos[regular[first]] = True
    return true_pos
