"""Per-class evaluation reports, with numpy only.

Classification: confusion matrix, precision, recall, F1 (:meth:`tinyms.model.Model.eval` builds
one with ``confusion_matrix=True``). Detection: average precision per class
(:meth:`tinyms.metrics.MeanAveragePrecision.report`). Exported by :mod:`tinyms.metrics`.
"""

import numpy as np

__all__ = ["ClassificationReport", "classification_report", "plot_confusion_matrix", "DetectionReport"]


def _ratio(num, den):
    """num / den elementwise, 0.0 where den is 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape, dtype=np.float64), where=den > 0)


def _labels(labels, class_num):
    if labels is None:
        return [str(i) for i in range(class_num)]
    labels = [str(label) for label in labels]
    if len(labels) != class_num:
        raise ValueError(f"labels names {len(labels)} classes but there are {class_num}: give one "
                         f"name per class, in class-index order")
    return labels


class ClassificationReport:
    """A confusion matrix and the per-class scores computed from it.

    Build one with :func:`classification_report`, or get one from
    ``model.eval(dataset, confusion_matrix=True)["confusion_matrix"]``.

    For class ``c``: precision = correct predictions of ``c`` / all predictions of ``c``;
    recall = correct predictions of ``c`` / samples of class ``c`` (its support); F1 is their
    harmonic mean. A ratio whose denominator is 0 (a class never predicted, or absent from
    the data) is reported as 0.0.

    Args:
        matrix: a (C, C) array of counts; row = true class, column = predicted class.
        labels (list[str]): the class names, in class-index order. Default: ``"0"`` to ``"C-1"``.

    Attributes:
        matrix (numpy.ndarray): int64 counts of shape (C, C), rows = true class.
        labels (list[str]): class names.
        precision, recall, f1 (numpy.ndarray): float64, one value per class.
        support (numpy.ndarray): int64, the number of samples of each class.
        accuracy (float): correct predictions / all samples.
        macro (dict): unweighted means of ``precision``, ``recall`` and ``f1``.
        weighted (dict): the same means weighted by support.

    Raises:
        ValueError: ``matrix`` is not square, has negative or non-integer counts, or ``labels``
            has the wrong length.

    Example:
        >>> from tinyms.metrics import ClassificationReport
        >>> r = ClassificationReport([[3, 1], [0, 4]], labels=["cat", "dog"])
        >>> r.recall.tolist(), r.precision.tolist(), r.accuracy
        ([0.75, 1.0], [1.0, 0.8], 0.875)
    """

    def __init__(self, matrix, labels=None):
        values = np.asarray(matrix)
        if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
            raise ValueError(f"a confusion matrix is square (classes x classes), got shape {values.shape}")
        if values.dtype.kind not in "iu" and not (values.dtype.kind == "f" and np.all(values == np.round(values))):
            raise ValueError("a confusion matrix holds whole counts of samples")
        if np.any(values < 0):
            raise ValueError("a confusion matrix cannot hold negative counts")
        self.matrix = values.astype(np.int64)
        self.labels = _labels(labels, self.matrix.shape[0])
        correct = np.diag(self.matrix)
        self.support = self.matrix.sum(axis=1)
        predicted = self.matrix.sum(axis=0)
        self.precision = _ratio(correct, predicted)
        self.recall = _ratio(correct, self.support)
        self.f1 = _ratio(2 * self.precision * self.recall, self.precision + self.recall)
        total = int(self.support.sum())
        self.accuracy = float(correct.sum() / total) if total else 0.0
        self.macro = {"precision": float(self.precision.mean()), "recall": float(self.recall.mean()),
                      "f1": float(self.f1.mean())}
        weights = self.support / total if total else np.zeros_like(self.precision)
        self.weighted = {"precision": float(self.precision @ weights), "recall": float(self.recall @ weights),
                         "f1": float(self.f1 @ weights)}

    @property
    def total(self):
        """int: the number of samples counted."""
        return int(self.matrix.sum())

    def __array__(self, dtype=None, copy=None):
        return self.matrix if dtype is None else self.matrix.astype(dtype)

    def to_dict(self):
        """``{label: {"precision", "recall", "f1", "support"}}`` plus ``"accuracy"``, ``"macro"``, ``"weighted"``."""
        out = {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
               for label, p, r, f, s in zip(self.labels, self.precision, self.recall, self.f1, self.support)}
        out.update(accuracy=self.accuracy, macro=dict(self.macro), weighted=dict(self.weighted))
        return out

    def plot(self, path=None, normalize=False, figsize=None, dpi=100):
        """Draw the confusion matrix; see :func:`plot_confusion_matrix`."""
        return plot_confusion_matrix(self, path=path, normalize=normalize, figsize=figsize, dpi=dpi)

    def __str__(self):
        width = max([len("weighted avg")] + [len(label) for label in self.labels])
        head = f"{'class':<{width}}  {'precision':>9}  {'recall':>7}  {'f1':>7}  {'support':>8}"
        lines = [head, "-" * len(head)]
        for label, p, r, f, s in zip(self.labels, self.precision, self.recall, self.f1, self.support):
            lines.append(f"{label:<{width}}  {p:>9.4f}  {r:>7.4f}  {f:>7.4f}  {int(s):>8d}")
        lines.append("-" * len(head))
        lines.append(f"{'accuracy':<{width}}  {'':>9}  {'':>7}  {self.accuracy:>7.4f}  {self.total:>8d}")
        for name, avg in (("macro avg", self.macro), ("weighted avg", self.weighted)):
            lines.append(f"{name:<{width}}  {avg['precision']:>9.4f}  {avg['recall']:>7.4f}  "
                         f"{avg['f1']:>7.4f}  {self.total:>8d}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"ClassificationReport(classes={len(self.labels)}, samples={self.total}, "
                f"accuracy={self.accuracy:.4f}, macro_f1={self.macro['f1']:.4f})")


def _class_indices(values, name, class_num):
    arr = np.asarray(values.asnumpy() if hasattr(values, "asnumpy") else values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one class index per sample (1-D), got shape {arr.shape}; "
                         f"for scores or one-hot rows take argmax(axis=1) first")
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= class_num):
        bad = arr[(arr < 0) | (arr >= class_num)][0]
        raise ValueError(f"{name} holds class {int(bad)}, outside 0..{class_num - 1}: pass the right "
                         f"class_num (the number of classes)")
    return arr


def confusion_counts(y_true, y_pred, class_num):
    """The (class_num, class_num) int64 count matrix of already-checked index arrays."""
    flat = np.bincount(y_true * class_num + y_pred, minlength=class_num * class_num)
    return flat.reshape(class_num, class_num)


def classification_report(y_true, y_pred, class_num, labels=None):
    """Confusion matrix and per-class precision, recall, F1 and support of predictions.

    Computed with numpy; a ratio with a zero denominator (a class never predicted, or with no
    samples) is 0.0.

    Args:
        y_true: true class indices, one per sample (list, numpy array or Tensor).
        y_pred: predicted class indices, same length (e.g. ``logits.argmax(axis=1)``).
        class_num (int): the number of classes C; indices run from 0 to C-1.
        labels (list[str]): class names in index order. Default: ``"0"`` to ``"C-1"``.

    Returns:
        ClassificationReport: ``.matrix`` (C, C) counts with rows = true class, ``.precision``,
        ``.recall``, ``.f1``, ``.support``, ``.accuracy``; ``print()`` it for a table.

    Raises:
        ValueError: the arrays are not 1-D, differ in length, hold a class outside
            ``0..class_num-1``, or ``labels`` has the wrong length.

    Example:
        >>> from tinyms.metrics import classification_report
        >>> r = classification_report([0, 0, 1, 2], [0, 1, 1, 2], class_num=3)
        >>> r.matrix.tolist(), r.precision.tolist()
        ([[1, 1, 0], [0, 1, 0], [0, 0, 1]], [1.0, 0.5, 1.0])
    """
    if isinstance(class_num, bool) or not isinstance(class_num, (int, np.integer)) or class_num < 1:
        raise ValueError(f"class_num must be a positive integer, got {class_num!r}")
    class_num = int(class_num)
    true = _class_indices(y_true, "y_true", class_num)
    pred = _class_indices(y_pred, "y_pred", class_num)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} samples but y_pred has {pred.size}: give one prediction per sample")
    return ClassificationReport(confusion_counts(true, pred, class_num), labels)


def plot_confusion_matrix(report_or_matrix, labels=None, path=None, normalize=False, figsize=None, dpi=100):
    """Draw a confusion matrix with matplotlib: class names on the axes, counts in the cells.

    Rows are true classes, columns predicted ones. Cell values are written when there are at
    most 30 classes, and class names when there are at most 50.

    Args:
        report_or_matrix: a :class:`ClassificationReport`, or a (C, C) array of counts.
        labels (list[str]): class names; default: the report's, else ``"0"`` to ``"C-1"``.
        path (str): image file (``.png``, ``.svg`` or ``.pdf``; no suffix means ``.png``),
            written to a temporary name, fsync'ed and renamed. None shows it on screen.
        normalize (bool): divide each row by its class's sample count (cells then read as
            recall; a class without samples gives a row of zeros).
        figsize (tuple): (width, height) in inches. Default: a square of 0.5 inch per class
            plus 2, between 4 and 16 inches.
        dpi (int): dots per inch; a PNG is ``figsize * dpi`` pixels.

    Returns:
        str or matplotlib.figure.Figure: the path written, or the Figure shown.

    Raises:
        ValueError: not a square matrix of counts, wrong number of labels, or an unsupported
            file suffix.

    Example:
        >>> from tinyms.metrics import ClassificationReport, plot_confusion_matrix
        >>> report = ClassificationReport([[8, 2], [1, 9]], labels=["cat", "dog"])
        >>> plot_confusion_matrix(report, path="cm.png")      # or model.eval(..., confusion_matrix=True)'s
        'cm.png'
    """
    from . import _plots
    if isinstance(report_or_matrix, ClassificationReport):
        report = report_or_matrix if labels is None else ClassificationReport(report_or_matrix.matrix, labels)
    else:
        report = ClassificationReport(report_or_matrix, labels)
    return _plots.plot_confusion(report.matrix, report.labels, path=path, normalize=bool(normalize),
                                 figsize=figsize, dpi=dpi)


class DetectionReport:
    """Average precision of object detections, per class and overall.

    Get one from :meth:`tinyms.metrics.MeanAveragePrecision.report`; ``print()`` it for a table.
    A class without regular (not ignored) ground-truth objects has no AP (NaN, shown as ``-``)
    and is left out of the means, as COCO does.

    Args:
        labels (list[str]): class names in class-id order.
        ap50, ap50_95, voc07_ap50: per-class COCO AP at IoU 0.5, COCO AP averaged over the IoU
            thresholds, and Pascal VOC 2007's 11-point AP at IoU 0.5 (NaN: no ground truth).
        objects: per-class number of regular ground-truth objects.
        ignored: per-class number of ignored ones (crowd / difficult).
        class_images: per-class number of images holding at least one object of the class.
        detections: per-class number of predictions received.
        images (int): the number of images evaluated.

    Attributes:
        labels, ap50, ap50_95, voc07_ap50, objects, ignored, class_images, detections, images:
            as given (numpy arrays, one value per class).
        mAP50, mAP50_95, voc07_mAP50 (float): the means over the classes that have objects
            (NaN when no class has any).

    Example:
        >>> from tinyms.metrics import DetectionReport
        >>> r = DetectionReport(["cat", "dog"], ap50=[0.5, float("nan")], ap50_95=[0.25, float("nan")],
        ...                     voc07_ap50=[0.5, float("nan")], objects=[4, 0], images=3)
        >>> r.mAP50, r.mAP50_95, r.to_dict()["dog"]["objects"]
        (0.5, 0.25, 0)
    """

    def __init__(self, labels, ap50, ap50_95, voc07_ap50, objects, ignored=None, class_images=None,
                 detections=None, images=0):
        self.labels = [str(label) for label in labels]
        count = len(self.labels)

        def column(values, dtype, default=0):
            arr = np.full(count, default, dtype) if values is None else np.asarray(values, dtype).reshape(-1)
            if arr.shape != (count,):
                raise ValueError(f"a DetectionReport needs one value per class ({count}), got {arr.shape}")
            return arr

        self.ap50, self.ap50_95, self.voc07_ap50 = (column(v, np.float64) for v in (ap50, ap50_95, voc07_ap50))
        self.objects, self.ignored, self.class_images, self.detections = (
            column(v, np.int64) for v in (objects, ignored, class_images, detections))
        self.images = int(images)
        scored = self.objects > 0
        mean = (lambda values: float(values[scored].mean()) if scored.any() else float("nan"))
        self.mAP50, self.mAP50_95, self.voc07_mAP50 = mean(self.ap50), mean(self.ap50_95), mean(self.voc07_ap50)

    @property
    def scored_classes(self):
        """int: the number of classes with objects (those averaged)."""
        return int(np.count_nonzero(self.objects > 0))

    def to_dict(self):
        """``{label: {"AP50", "AP50_95", "voc07_AP50", "objects", "ignored", "images", "detections"}}``
        plus ``"mAP50"``, ``"mAP50_95"``, ``"voc07_mAP50"`` and ``"images"``."""
        out = {label: {"AP50": float(a), "AP50_95": float(b), "voc07_AP50": float(v), "objects": int(o),
                       "ignored": int(i), "images": int(n), "detections": int(d)}
               for label, a, b, v, o, i, n, d in zip(self.labels, self.ap50, self.ap50_95, self.voc07_ap50,
                                                     self.objects, self.ignored, self.class_images, self.detections)}
        out.update(mAP50=self.mAP50, mAP50_95=self.mAP50_95, voc07_mAP50=self.voc07_mAP50, images=self.images)
        return out

    def __str__(self):
        width = max([len("mean (00 classes)")] + [len(label) for label in self.labels])
        head = (f"{'class':<{width}}  {'images':>7}  {'objects':>7}  {'ignored':>7}  {'AP50':>6}  "
                f"{'AP50:95':>7}  {'VOC07 AP50':>10}")
        fmt = (lambda value, size: f"{'-':>{size}}" if np.isnan(value) else f"{value:>{size}.4f}")
        lines = [head, "-" * len(head)]
        for label, a, b, v, o, i, n in zip(self.labels, self.ap50, self.ap50_95, self.voc07_ap50, self.objects,
                                           self.ignored, self.class_images):
            lines.append(f"{label:<{width}}  {int(n):>7d}  {int(o):>7d}  {int(i):>7d}  {fmt(a, 6)}  {fmt(b, 7)}  "
                         f"{fmt(v, 10)}")
        lines.append("-" * len(head))
        name = f"mean ({self.scored_classes} class{'' if self.scored_classes == 1 else 'es'})"
        lines.append(f"{name:<{width}}  {self.images:>7d}  {int(self.objects.sum()):>7d}  "
                     f"{int(self.ignored.sum()):>7d}  {fmt(self.mAP50, 6)}  {fmt(self.mAP50_95, 7)}  "
                     f"{fmt(self.voc07_mAP50, 10)}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"DetectionReport(classes={len(self.labels)}, images={self.images}, mAP50={self.mAP50:.4f}, "
                f"mAP50_95={self.mAP50_95:.4f}, voc07_mAP50={self.voc07_mAP50:.4f})")
