"""COCO-style evaluation of SSD predictions with pycocotools (TinyMS 0.3's ``coco_eval``)."""

import contextlib
import io
import json
import os

import numpy as np

from .._boxes import boxes_to_pixels, detect_boxes, xyxy_to_xywh
from .._jsonread import load_file
from ..errors import DatasetError, InputShapeError

__all__ = ["coco_eval"]

_KEYS = ("boxes", "box_scores", "img_id", "image_shape")
MAX_ANNOTATION_BYTES = 1 << 30


def _read_annotations(anno_file):
    """The annotation json as a dict, checked; annotation ids renumbered 1..N (pycocotools
    drops duplicate ids and never counts a match to id 0)."""
    path = os.fspath(anno_file)
    if not os.path.isfile(path):
        raise DatasetError(f"annotation file {path!r} does not exist: pass the path of a COCO-format json "
                           f"(images, annotations, categories)")
    try:
        data = load_file(path, f"annotation file {path!r}", max_bytes=MAX_ANNOTATION_BYTES, max_depth=None)
    except (OSError, ValueError) as err:  # not UTF-8, not JSON, too large or too deep
        raise DatasetError(f"annotation file {path!r} is not readable JSON ({err}); it must be a COCO-format "
                           f"json with images, annotations and categories") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations",
                                                                                   "categories")):
        raise DatasetError(f"annotation file {path!r} is not in COCO format: it needs the lists 'images', "
                           f"'annotations' and 'categories'")
    annotations = []
    for number, ann in enumerate(data["annotations"], 1):
        missing = [k for k in ("image_id", "category_id", "bbox") if not isinstance(ann, dict) or k not in ann]
        if missing or len(ann["bbox"]) != 4:
            raise DatasetError(f"annotation {number} of {path!r} lacks {missing or ['a 4-number bbox']}: each "
                               f"annotation needs image_id, category_id and bbox [x, y, width, height]")
        width, height = float(ann["bbox"][2]), float(ann["bbox"][3])
        annotations.append({**ann, "id": number, "iscrowd": int(ann.get("iscrowd", 0)),
                            "area": float(ann.get("area", width * height))})
    try:
        image_ids = {img["id"] for img in data["images"]}
        category_ids = {cat["id"] for cat in data["categories"]}
    except (TypeError, KeyError):
        raise DatasetError(f"annotation file {path!r}: every image and category needs an 'id'") from None
    return {**data, "annotations": annotations}, image_ids, category_ids


def _int_id(value):
    arr = np.asarray(value).reshape(-1)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer) and not (
            np.issubdtype(arr.dtype, np.floating) and arr[0] == np.round(arr[0])):
        raise ValueError(f"img_id must be one integer image id, got {value!r}")
    return int(arr[0])


def _predictions(pred_data, image_ids, category_ids, options):
    """COCO result dicts for ``pred_data``, and the image ids in order."""
    results, seen = [], []
    for index, sample in enumerate(pred_data):
        missing = [k for k in _KEYS if not isinstance(sample, dict) or k not in sample]
        if missing:
            raise ValueError(f"pred_data[{index}] lacks {missing}: each entry is a dict with 'boxes' (A, 4) "
                             f"[ymin, xmin, ymax, xmax] normalised, 'box_scores' (A, C) with column 0 the "
                             f"background, 'img_id' and 'image_shape' (height, width)")
        img_id = _int_id(sample["img_id"])
        if img_id not in image_ids:
            raise DatasetError(f"pred_data[{index}] is for image {img_id}, which the annotation file does not "
                               f"list: predictions and annotations must come from the same dataset")
        if img_id in seen:
            raise ValueError(f"image {img_id} appears twice in pred_data (entries {seen.index(img_id)} and "
                             f"{index}): give each image's predictions once")
        seen.append(img_id)
        scores = np.asarray(sample["box_scores"])
        if scores.ndim != 2:
            raise InputShapeError(f"pred_data[{index}]['box_scores'] must be one image's (A, C) scores, got shape "
                                  f"{scores.shape}")
        absent = sorted(set(range(1, scores.shape[1])) - category_ids)
        if absent:
            raise DatasetError(f"box_scores has {scores.shape[-1]} columns (background + {scores.shape[-1] - 1} "
                               f"classes, category_id = column) but the annotation file has no categories "
                               f"{absent[:5]}: use the annotation file of the network's label set")
        boxes, values, labels = detect_boxes(sample["boxes"], scores, background=True, **options)
        boxes = xyxy_to_xywh(boxes_to_pixels(boxes, sample["image_shape"]))
        results += [{"image_id": img_id, "category_id": int(label) + 1, "bbox": [float(v) for v in box],
                     "score": float(score)} for box, score, label in zip(boxes, values, labels)]
    return results, seen


def coco_eval(pred_data, anno_file, *, score_threshold=0.01, iou_threshold=0.6, max_detections=100):
    """COCO mAP (IoU 0.50:0.95) of SSD predictions against a COCO-format annotation file.

    Each image's outputs go through :func:`tinyms._boxes.detect_boxes` (background column
    dropped, per-class NMS), are scaled to the original image's pixels, and are scored by
    pycocotools' ``COCOeval`` on the images of ``pred_data`` only. The category id of a detection
    is its score column (TinyMS 0.3's convention: the annotation file's category ids are indexes
    into ``['background', class 1, ...]``). Nothing is written to disk and pycocotools' prints
    are silenced.

    Args:
        pred_data (list[dict]): one dict per image: ``"boxes"`` (A, 4) [ymin, xmin, ymax, xmax]
            normalised to [0, 1]; ``"box_scores"`` (A, C) probabilities, column 0 the
            background; ``"img_id"`` the image's id in ``anno_file``; ``"image_shape"`` the
            original image's (height, width).
        anno_file (str): a COCO-format json (``images``, ``annotations``, ``categories``).
        score_threshold (float): keep scores above it (COCO practice: low). Default 0.01.
        iou_threshold (float): per-class NMS threshold. Default 0.6.
        max_detections (int): most detections per image. Default 100.

    Returns:
        float: COCO's AP averaged over IoU 0.50:0.95 (``COCOeval.stats[0]``).

    Raises:
        DatasetError: ``anno_file`` is missing, not JSON, not in COCO format, lacks an image
            or category the predictions use, or the images hold no (non-crowd) object.
        ValueError: a ``pred_data`` entry lacks a key or repeats an image.
        InputShapeError: ``boxes`` and ``box_scores`` are not (A, 4) and (A, C) arrays.

    Example:
        >>> import json
        >>> import numpy as np
        >>> from tinyms.vision import coco_eval
        >>> anno = {"images": [{"id": 1, "height": 100, "width": 200}],
        ...         "categories": [{"id": 0, "name": "background"}, {"id": 1, "name": "cat"}],
        ...         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [20, 10, 60, 50],
        ...                          "area": 3000, "iscrowd": 0}]}
        >>> with open("annotations.json", "w") as f:
        ...     json.dump(anno, f)
        >>> boxes = np.array([[0.1, 0.1, 0.6, 0.4]])   # [ymin, xmin, ymax, xmax] of the 100x200 photo
        >>> scores = np.array([[0.05, 0.95]])          # background, cat
        >>> round(coco_eval([{"boxes": boxes, "box_scores": scores, "img_id": 1, "image_shape": (100, 200)}],
        ...                 "annotations.json"), 4)
        1.0
    """
    data, image_ids, category_ids = _read_annotations(anno_file)
    if isinstance(pred_data, dict):
        pred_data = [pred_data]
    options = dict(score_threshold=score_threshold, iou_threshold=iou_threshold, max_detections=max_detections)
    results, img_ids = _predictions(pred_data, image_ids, category_ids, options)
    if not img_ids:
        raise ValueError("pred_data holds no image: give one dict per evaluated image")
    evaluated = set(img_ids)
    if not any(ann["image_id"] in evaluated and not ann["iscrowd"] for ann in data["annotations"]):
        raise DatasetError(f"none of the {len(img_ids)} evaluated images has a (non-crowd) object in "
                           f"{os.fspath(anno_file)!r}: there is nothing to score")

    from pycocotools.coco import COCO  # noqa: PLC0415
    from pycocotools.cocoeval import COCOeval  # noqa: PLC0415

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = data
        truth.createIndex()
        if results:
            found = truth.loadRes(results)
        else:  # loadRes refuses an empty list: no detection at all
            found = COCO()
            found.dataset = {"images": data["images"], "categories": data["categories"], "annotations": []}
            found.createIndex()
        evaluation = COCOeval(truth, found, iouType="bbox")
        evaluation.params.imgIds = img_ids
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])
