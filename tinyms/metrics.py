"""Evaluation metrics. ``Model.compile(metrics=...)`` takes a dict of instances, or a list of
names from :data:`METRICS` (Keras style: ``metrics=['accuracy']``).

Example:
    >>> from tinyms.metrics import Accuracy
    >>> m = Accuracy()
    >>> import numpy as np
    >>> m.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])); m.eval()
    0.5
"""

import numpy as np
from mindspore import train as _train

from . import _checks, _map
from ._names import lookup
from ._fid import FID, frechet_distance
from ._i2i_metrics import CityScapes, CycleConsistency, LabelMapScores, fast_hist, get_scores, nearest_class
from ._tabular_metrics import MAE, RMSE, AUCMetric, LogLoss
from ._report import ClassificationReport, DetectionReport, classification_report, plot_confusion_matrix

_CLASSES = ["Metric", "Accuracy", "Top1CategoricalAccuracy", "Top5CategoricalAccuracy",
            "TopKCategoricalAccuracy", "Precision", "Recall", "F1", "Fbeta", "MSE", "Loss",
            "ConfusionMatrix", "ConfusionMatrixMetric", "ROC", "Dice", "BleuScore",
            "CosineSimilarity", "Perplexity", "HausdorffDistance", "auc"]
globals().update({name: getattr(_train, name) for name in _CLASSES})


class MeanAveragePrecision(_train.Metric):
    """Mean average precision of object detections: COCO's mAP50 and mAP50:95, and VOC 2007's.

    ``update`` collects images (each one counted once, with or without objects and predictions);
    ``eval`` scores them as pycocotools' COCOeval does for the area 'all' (greedy matching by
    score, crowd/ignored objects neither rewarded nor punished, 101-point interpolated precision,
    classes without objects left out of the mean), plus Pascal VOC 2007's 11-point AP at IoU 0.5
    ('difficult' objects ignored). IoU uses continuous coordinates (width = xmax - xmin).

    Args:
        labels (list[str] or int): the class names in class-id order, or the number of classes.
            Default None: classes 0..N-1 for the highest id seen, named by number.
        iou_thresholds (sequence of float): thresholds averaged by ``mAP50_95``. Default COCO's
            0.50, 0.55, ..., 0.95.
        max_detections (int): COCO scores the best ``max_detections`` predictions of each class
            in each image (VOC 2007 scores all). Default 100.

    Raises:
        ValueError: no labels, a threshold outside (0, 1] or a non-positive ``max_detections``.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import MeanAveragePrecision
        >>> metric = MeanAveragePrecision(labels=["cat", "dog"])
        >>> metric.update(pred_boxes=[[10, 10, 50, 50], [60, 60, 90, 90]], pred_scores=[0.9, 0.8],
        ...               pred_labels=[0, 1], gt_boxes=[[12, 10, 50, 52]], gt_labels=[0])
        >>> {name: round(value, 4) for name, value in metric.eval().items()}
        {'mAP50': 1.0, 'mAP50_95': 0.9, 'voc07_mAP50': 1.0}
        >>> print(metric.report())
        class               images  objects  ignored    AP50  AP50:95  VOC07 AP50
        -------------------------------------------------------------------------
        cat                      1        1        0  1.0000   0.9000      1.0000
        dog                      0        0        0       -        -           -
        -------------------------------------------------------------------------
        mean (1 class)           1        1        0  1.0000   0.9000      1.0000
    """

    def __init__(self, labels=None, iou_thresholds=_map.COCO_IOU_THRESHOLDS, max_detections=100):
        super().__init__()
        self._class_num, self._names = _map.check_labels(labels)
        self.iou_thresholds = _map.check_iou_thresholds(iou_thresholds)
        self.max_detections = _checks.positive_int(max_detections, "max_detections", 100)
        self.clear()

    def clear(self):
        """Forget every image collected so far."""
        self._images = []
        self._report = None

    @property
    def images(self):
        """int: the number of images collected."""
        return len(self._images)

    def update(self, pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels, gt_ignore=None):
        """Add images: their predictions and ground truth.

        Each argument is a list with one entry per image, or one image's array. Boxes are
        [xmin, ymin, xmax, ymax] in any unit used by both (pixels or normalised).

        Args:
            pred_boxes: (K, 4) predicted boxes per image (e.g. from ``detect_boxes``).
            pred_scores: (K,) their confidences.
            pred_labels: (K,) their class ids (0-based).
            gt_boxes: (M, 4) ground-truth boxes per image.
            gt_labels: (M,) their class ids; rows labelled -1 (batch padding) are skipped.
            gt_ignore: (M,) flags of objects to ignore (COCO's iscrowd, VOC's difficult); a
                prediction on one is neither right nor wrong. Default: none ignored.

        Raises:
            InputShapeError: mismatched lengths or shapes.
            ValueError: class ids outside ``labels``, inverted boxes, NaN values.
        """
        self._images.extend(_map.split_images(pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels,
                                              gt_ignore, class_num=self._class_num))
        self._report = None

    def report(self):
        """Per-class AP, object and image counts.

        Returns:
            DetectionReport: ``.ap50``, ``.ap50_95``, ``.voc07_ap50`` per class, ``.objects``,
            ``.class_images``, ``.images``, the means; ``print()`` it for a table.

        Raises:
            RuntimeError: no image was added with :meth:`update`.
        """
        if not self._images:
            raise RuntimeError("MeanAveragePrecision has no images to score: call update() first")
        if self._report is None:
            class_num = self._class_num
            if class_num is None:
                class_num = 1 + max([-1] + [int(img[k].max()) for img in self._images for k in (2, 4) if img[k].size])
            names = self._names or [str(i) for i in range(class_num)]
            thresholds = self.iou_thresholds if 0.5 in self.iou_thresholds else np.r_[self.iou_thresholds, 0.5]
            scores = _map.evaluate(self._images, class_num, thresholds, self.max_detections)
            ap = scores["ap"]
            self._report = DetectionReport(
                names, ap50=ap[:, list(thresholds).index(0.5)], ap50_95=ap[:, :len(self.iou_thresholds)].mean(axis=1),
                voc07_ap50=scores["voc07"], objects=scores["objects"], ignored=scores["ignored"],
                class_images=scores["class_images"], detections=scores["detections"], images=len(self._images))
        return self._report

    def eval(self):
        """The scores of the images collected.

        Returns:
            dict: ``{"mAP50": float, "mAP50_95": float, "voc07_mAP50": float}`` (NaN when no image
            holds a regular object).

        Raises:
            RuntimeError: no image was added with :meth:`update`.
        """
        report = self.report()
        return {"mAP50": report.mAP50, "mAP50_95": report.mAP50_95, "voc07_mAP50": report.voc07_mAP50}


#: Plain names accepted by ``Model.compile(metrics=[...])``.
METRICS = {
    "accuracy": _train.Accuracy,
    "acc": _train.Accuracy,
    "top1": _train.Top1CategoricalAccuracy,
    "top5": _train.Top5CategoricalAccuracy,
    "precision": _train.Precision,
    "recall": _train.Recall,
    "f1": _train.F1,
    "mae": MAE,
    "rmse": RMSE,
    "auc": AUCMetric,
    "log_loss": LogLoss,
    "mse": _train.MSE,
    "loss": _train.Loss,
    "map": MeanAveragePrecision,
    "mean_average_precision": MeanAveragePrecision,
}


def get(metrics):
    """Normalise ``metrics`` to a ``{name: Metric}`` dict.

    Args:
        metrics: None, a dict ``{name: Metric}``, a name, or a list/tuple/set of names and
            Metric instances.

    Raises:
        UnknownNameError: an unknown name; the message lists the valid ones.
        TypeError: an entry that is neither a name nor a Metric.
    """
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    if isinstance(metrics, (str, _train.Metric)):
        metrics = [metrics]
    out = {}
    for m in metrics:
        if isinstance(m, str):
            key = "accuracy" if m.lower() == "acc" else m.lower()
            out[key] = lookup(METRICS, m, "metric")()
        elif isinstance(m, _train.Metric):
            out[type(m).__name__.lower()] = m
        else:
            raise TypeError(f"metrics entries must be names or Metric instances, got {m!r}")
    return out


__all__ = _CLASSES + ["MeanAveragePrecision", "METRICS", "ClassificationReport", "classification_report",
                      "plot_confusion_matrix", "DetectionReport", "LabelMapScores", "CycleConsistency", "CityScapes",
                      "fast_hist", "get_scores", "nearest_class", "FID",
                      "frechet_distance", "AUCMetric", "LogLoss", "RMSE", "MAE"]  # get() is Model.compile's helper, not exported
