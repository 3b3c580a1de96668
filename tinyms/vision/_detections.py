"""A detection network's outputs -> named objects in pixels of the original photos (numpy only).

``VOCTransform.detections`` / ``postprocess`` use :func:`objects_on_photos`; it needs neither
MindSpore nor a transform object (only the recipe's evaluation steps), so the serving processes
can call it too.
"""

import numpy as np

from .._boxes import detect_boxes
from ._np_engine import box_affine

__all__ = ["STRATEGIES", "best_class_only", "objects_on_photos"]

#: TOP1_CLASS: each candidate box is named by its best class only; ALL_CLASSES: a box may be
#: reported once per class scoring above the threshold.
STRATEGIES = ("TOP1_CLASS", "ALL_CLASSES")


def best_class_only(scores, background):
    """Scores with every object class but each anchor's best one set to 0 (a background column is kept).

    Args:
        scores (numpy.ndarray): (..., C) class probabilities.
        background (bool): column 0 is the background class.

    Returns:
        numpy.ndarray: the same shape and dtype.

    Example:
        >>> best_class_only(np.array([[0.1, 0.6, 0.3]]), background=True).tolist()
        [[0.1, 0.6, 0.0]]
    """
    first = 1 if background else 0
    objects = scores[..., first:]
    best = objects.argmax(axis=-1)[..., None]
    kept = np.zeros_like(objects)
    np.put_along_axis(kept, best, np.take_along_axis(objects, best, axis=-1), axis=-1)
    return np.concatenate([scores[..., :first], kept], axis=-1)


def objects_on_photos(boxes, scores, labels, background, input_size, steps=None, image_sizes=None,
                      score_threshold=0.3, iou_threshold=0.5, max_detections=100, strategy="TOP1_CLASS"):
    """Each image's objects, best first, in pixels of its photo.

    Args:
        boxes (numpy.ndarray): (B, A, 4) [ymin, xmin, ymax, xmax] in [0, 1] of the network input.
        scores (numpy.ndarray): (B, A, C) probabilities.
        labels (sequence of str): the object class names (no background).
        background (bool): score column 0 is the background class.
        input_size: the network input's (height, width).
        steps: the recipe's evaluation steps the photos went through (resize, letterbox...);
            None: boxes stay in pixels of the network input.
        image_sizes: each photo's (height, width) before ``steps``; needed with ``steps``.
        score_threshold, iou_threshold, max_detections: as for :func:`tinyms._boxes.detect_boxes`.
        strategy (str): one of :data:`STRATEGIES`.

    Returns:
        list: per image a list of ``{"box": [xmin, ymin, xmax, ymax], "label", "label_id",
        "score"}`` (plain floats and ints), boxes clipped to the photo and rounded to 0.001 pixel.

    Example:
        >>> boxes = np.array([[[0.0, 0.0, 0.5, 0.5]]])
        >>> scores = np.array([[[0.25, 0.75]]])
        >>> objects_on_photos(boxes, scores, ["cat"], True, (100, 100))
        [[{'box': [0.0, 0.0, 50.0, 50.0], 'label': 'cat', 'label_id': 0, 'score': 0.75}]]
    """
    height, width = int(input_size[0]), int(input_size[1])
    if strategy == "TOP1_CLASS":
        scores = best_class_only(scores, background)
    found = detect_boxes(boxes, scores, background=background, score_threshold=score_threshold,
                         iou_threshold=iou_threshold, max_detections=max_detections)
    on_input = np.array([width, height, width, height], np.float64)
    results = []
    for index, (kept, kept_scores, kept_labels) in enumerate(found):
        pixels = np.asarray(kept, np.float64).reshape(-1, 4) * on_input
        photo_h, photo_w = (height, width) if steps is None else image_sizes[index]
        if steps is not None:
            scale, shift = box_affine(steps, int(round(photo_h)), int(round(photo_w)))
            pixels = (pixels - shift) / scale
        pixels = np.clip(pixels, 0, [photo_w, photo_h, photo_w, photo_h])
        results.append([{"box": [round(float(v), 3) for v in box], "label": labels[int(c)], "label_id": int(c),
                         "score": float(s)} for box, s, c in zip(pixels, kept_scores, kept_labels)])
    return results
