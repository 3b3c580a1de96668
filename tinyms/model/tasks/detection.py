"""Object detection: an image in; boxes, class ids and scores out; mAP for evaluation.

Batches follow the detection data contract of TinyMS's detection presets
(``tinyms.vision.VOCTransform.apply_ds``): ``image`` float32 (B, 3, H, W); ``bbox`` float32
(B, M, 4) as [xmin, ymin, xmax, ymax] in pixels of ``image``, zero rows for padding; ``label``
int32 (B, M), class ids into the network's labels, -1 for padding; evaluation batches may
carry a fourth column, ``image_shape`` (each original photo's height and width).

A detection network returns ``(boxes, scores)`` in inference: boxes (B, A, 4) as [ymin, xmin,
ymax, xmax] in [0, 1] of its input, scores (B, A, C) probabilities (column 0 is the background
when its config says ``background=True``). It trains with its own loss, ``net.with_loss()``,
a cell taking ``(image, bbox, label)``, or with a loss given to ``compile`` that is called as
``loss_fn(network(image), bbox, label)``.
"""

import numpy as np

from ...errors import DatasetError, InputShapeError
from .._common import check_data_dtype, size_error
from ._base import Evaluator, Task

__all__ = ["DetectionTask", "EVAL_SCORE_THRESHOLD", "EVAL_MAX_DETECTIONS"]

#: evaluation keeps candidates above this score, at most EVAL_MAX_DETECTIONS per image (COCO's practice)
EVAL_SCORE_THRESHOLD = 0.01
EVAL_MAX_DETECTIONS = 100
_FLOATS = ("Float16", "Float32", "Float64")
_INTEGERS = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32")


class DetectionTask(Task):
    """``(image, bbox, label)`` batches, the network's own loss, mAP50 / mAP50_95 / voc07_mAP50.

    Example:
        >>> from tinyms.model.tasks import get_task
        >>> task = get_task("detection")
        >>> task.columns, task.default_loss, task.monitor
        (('image', 'bbox', 'label'), None, 'val_mAP50')
    """

    name = "detection"
    columns = ("image", "bbox", "label")
    inputs = 1
    output = "boxes"
    default_loss = None
    default_metrics = ()
    monitor = "val_mAP50"

    def needs_loss(self, model):
        return not callable(getattr(model.network, "with_loss", None))

    def loss_network(self, model):
        if model.loss_fn is not None:
            return _LossOnOutputs(model.network, model.loss_fn)
        with_loss = getattr(model.network, "with_loss", None)
        if not callable(with_loss):
            raise TypeError(f"{type(model.network).__name__} has no loss of its own (no with_loss()): compile "
                            f"the model with loss_fn= a loss called as loss_fn(network(image), bbox, label)")
        return with_loss()

    def check_first_batch(self, model, batch, dataset_what, data_what):
        if len(batch) < 3:
            raise DatasetError(f"{dataset_what} must yield detection batches (image, bbox, label), but its "
                               f"rows have {len(batch)} column(s); prepare it with a detection preset, e.g. "
                               f"tinyms.vision.VOCTransform().apply_ds(dataset)")
        image, bbox, label = batch[:3]
        note = model._check_input_shape(tuple(image.shape), data_what, strict=False)
        check_data_dtype(image, data_what)
        batch_size = image.shape[0]
        if (len(bbox.shape) != 3 or bbox.shape[0] != batch_size or bbox.shape[2] != 4
                or str(bbox.dtype) not in _FLOATS):
            raise DatasetError(f"{dataset_what}'s second column must be boxes, float (batch, max_boxes, 4) as "
                               f"[xmin, ymin, xmax, ymax] pixels, got {tuple(bbox.shape)} {bbox.dtype}")
        if (len(label.shape) != 2 or tuple(label.shape) != tuple(bbox.shape[:2])
                or str(label.dtype) not in _INTEGERS):
            raise DatasetError(f"{dataset_what}'s third column must be class ids, integer (batch, max_boxes) "
                               f"with -1 for padding, got {tuple(label.shape)} {label.dtype}")
        return note

    def step_function(self, model, train_net, batch):
        import mindspore as ms  # noqa: PLC0415

        cast_label = str(batch[2].dtype) != "Int32"
        cast_image = str(batch[0].dtype) != "Float32"
        cast_box = str(batch[1].dtype) != "Float32"
        extra = len(batch) > 3

        if not (cast_label or cast_image or cast_box or extra):
            return train_net

        def step(image, bbox, label, *rest, _cast=ms.ops.cast):
            if cast_image:
                image = _cast(image, ms.float32)
            if cast_box:
                bbox = _cast(bbox, ms.float32)
            if cast_label:
                label = _cast(label, ms.int32)
            return train_net(image, bbox, label)
        return step

    def train_columns(self, batch):
        """How many of a training batch's columns the compiled step takes."""
        return 3

    def label_check(self, model, batch, always=False):
        classes = class_count(model.network)
        if classes is None:
            return lambda batch: None

        def check(batch):
            values = batch[2].asnumpy()
            bad = values[(values < -1) | (values >= classes)]
            if bad.size:
                raise DatasetError(f"object class {int(bad[0])} is outside the network's {classes} classes "
                                   f"(0 to {classes - 1}, -1 for padding): build the network for the "
                                   f"dataset's classes (class_num=) or fix the labels")
        return check

    def evaluator(self, model, confusion=False, report=False):
        if confusion:
            raise ValueError("confusion_matrix=True is for classification; a detection model's eval(report=True) "
                             "gives per-class average precision")
        return _DetectionEvaluator(model, report)


def class_count(network):
    """The number of object classes a detection network names (background excluded), or None."""
    cfg = getattr(network, "default_cfg", None)
    if cfg is not None and getattr(cfg, "labels", None):
        return len(cfg.labels)
    classes = getattr(network, "class_num", None)
    if classes is None:
        return None
    return int(classes) - int(bool(getattr(cfg, "background", False)))


def _loss_on_outputs_cell():
    from mindspore import nn  # noqa: PLC0415

    class LossOnOutputs(nn.Cell):
        """``loss_fn(network(image), bbox, label)``: a compiled loss over a detector's outputs."""

        def __init__(self, network, loss_fn):
            super().__init__(auto_prefix=False)
            self.network = network
            self.loss_fn = loss_fn

        def construct(self, image, bbox, label):
            return self.loss_fn(self.network(image), bbox, label)
    return LossOnOutputs


def _LossOnOutputs(network, loss_fn):  # noqa: N802 - a class built on first use (keeps imports light)
    return _loss_on_outputs_cell()(network, loss_fn)


class _DetectionEvaluator(Evaluator):
    """Runs the detector over every image once and accumulates COCO / VOC average precision."""

    def __init__(self, model, report):
        super().__init__(model)
        from ... import metrics as _metrics  # noqa: PLC0415

        cfg = getattr(model.network, "default_cfg", None)
        self.labels = tuple(getattr(cfg, "labels", ()) or ())
        self.background = bool(getattr(cfg, "background", False))
        self.metric = _metrics.MeanAveragePrecision(labels=self.labels or None)
        self.metric.clear()
        self.report = report
        self.note = None
        model.network.set_train(False)

    def first(self, batch):
        model = self.model
        self.note = model._task.check_first_batch(model, batch, "an eval dataset", "evaluation data")
        self.labels_ok = model._task.label_check(model, batch, always=True)

    def update(self, batch):
        from ..._boxes import detect_boxes  # noqa: PLC0415
        import mindspore as ms  # noqa: PLC0415

        self.labels_ok(batch)
        image, bbox, label = batch[:3]
        if str(image.dtype) != "Float32":
            image = ms.ops.cast(image, ms.float32)
        try:
            outputs = self.model.network(image)
        except (RuntimeError, ValueError, TypeError) as err:
            if self.note and not self.samples:
                raise size_error(self.note, err) from err
            raise
        if not isinstance(outputs, (tuple, list)) or len(outputs) != 2:
            raise InputShapeError(f"a detection network returns (boxes, scores) in inference, "
                                  f"{type(self.model.network).__name__} returned {type(outputs).__name__}")
        boxes, scores = (o.asnumpy() if hasattr(o, "asnumpy") else np.asarray(o) for o in outputs)
        found = detect_boxes(boxes, scores, background=self.background, score_threshold=EVAL_SCORE_THRESHOLD,
                             max_detections=EVAL_MAX_DETECTIONS)
        height, width = image.shape[2], image.shape[3]
        scale = np.array([width, height, width, height], np.float32)
        truth_boxes, truth_labels = bbox.asnumpy(), label.asnumpy()
        pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels = [], [], [], [], []
        for i, (b, s, c) in enumerate(found):
            keep = truth_labels[i] >= 0
            pred_boxes.append(np.asarray(b, np.float32).reshape(-1, 4) * scale)
            pred_scores.append(np.asarray(s, np.float32))
            pred_labels.append(np.asarray(c, np.int64))
            gt_boxes.append(truth_boxes[i][keep].astype(np.float32))
            gt_labels.append(truth_labels[i][keep].astype(np.int64))
        self.metric.update(pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels)
        self.samples += len(found)
        return outputs

    def results(self):
        return {name: float(value) for name, value in self.metric.eval().items()}

    def extras(self):
        return {"report": self.metric.report()} if self.report else {}
