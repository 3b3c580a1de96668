"""Image (and any other) classification: one input in, one class distribution out."""

import numpy as np

from ...errors import DatasetError
from .._common import check_data_dtype, needs_label_cast, size_error
from .._modes import untouched
from ._base import Evaluator, Task

__all__ = ["ClassificationTask"]

_INTEGER = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32")


class ClassificationTask(Task):
    """``(data, label)`` batches, a loss over the network's scores, accuracy and a confusion matrix.

    Example:
        >>> from tinyms.model.tasks import get_task
        >>> task = get_task("classification")
        >>> task.columns, task.default_loss, task.default_metrics
        (('data', 'label'), 'cross_entropy', ('accuracy',))
    """

    name = "classification"
    columns = ("data", "label")
    inputs = 1
    output = "classes"
    default_loss = "cross_entropy"
    default_metrics = ("accuracy",)
    monitor = "val_accuracy"

    def loss_network(self, model):
        from mindspore import nn  # noqa: PLC0415

        return nn.WithLossCell(model.network, model.loss_fn)

    def check_first_batch(self, model, batch, dataset_what, data_what):
        if len(batch) != 2:
            raise DatasetError(f"{dataset_what} must yield (data, label) pairs, but its rows have "
                               f"{len(batch)} columns; map or project it to two columns first")
        note = model._check_input_shape(tuple(batch[0].shape), data_what, strict=False)
        check_data_dtype(batch[0], data_what)
        return note

    def step_function(self, model, train_net, batch):
        import mindspore as ms  # noqa: PLC0415

        cast = needs_label_cast(model.loss_fn, batch[1])
        data_cast = self.data_cast(batch[0].dtype)
        if cast is None and data_cast is None:
            return train_net

        def step(x, y, _cast=ms.ops.cast):
            if data_cast is not None:
                x = _cast(x, data_cast)
            if cast is not None:
                y = _cast(y, cast)
            return train_net(x, y)
        return step

    def data_cast(self, dtype):
        """The dtype the network's input is cast to on the fly, or None: float64 data runs as float32."""
        import mindspore as ms  # noqa: PLC0415

        return ms.float32 if dtype == ms.float64 else None

    def class_count(self, model, data):
        """How many classes the network scores (from its config, else one forward pass)."""
        import mindspore as ms  # noqa: PLC0415

        cfg = getattr(model.network, "default_cfg", None)
        if cfg is not None and getattr(cfg, "labels", None):
            return len(cfg.labels)
        # one inference pass; every layer's training flag is put back, so that the train step
        # compiled next still trains BatchNorm and Dropout
        with untouched(model.network):
            model.network.set_train(False)
            try:
                out = model.network(data if data.dtype != ms.float64 else ms.ops.cast(data, ms.float32))
            except (RuntimeError, ValueError, TypeError):
                return None  # the train step reports the real problem
        shape = getattr(out, "shape", ())
        return int(shape[-1]) if len(shape) == 2 else None

    def label_check(self, model, batch, always=False):
        if len(batch) != 2:
            return lambda batch: None
        label = batch[1]
        if str(label.dtype) not in _INTEGER or len(label.shape) != 1 or not (
                always or getattr(model.loss_fn, "sparse", False)):
            return lambda batch: None
        classes = self.class_count(model, batch[0])
        if classes is None:
            return lambda batch: None

        def check(batch):
            values = batch[1].asnumpy()
            if values.size and (values.min() < 0 or values.max() >= classes):
                bad = values[(values < 0) | (values >= classes)]
                raise DatasetError(
                    f"label {int(bad[0])} is outside the network's {classes} classes (0 to {classes - 1}): "
                    f"build the network with class_num= the number of classes in the data "
                    f"(e.g. lenet5(class_num={int(values.max()) + 1})) or fix the labels")
        return check

    def evaluator(self, model, confusion=False, report=False):
        return _ClassificationEvaluator(model, confusion)


class _ClassificationEvaluator(Evaluator):
    """Loss (mean over samples), the compiled metrics, and optionally the confusion counts."""

    def __init__(self, model, confusion):
        super().__init__(model)
        from mindspore import nn  # noqa: PLC0415

        from ... import metrics as _metrics  # noqa: PLC0415

        self._metrics_module = _metrics
        self.confusion = confusion
        if model._eval_net is None:
            model._eval_net = (nn.WithEvalCell(model.network, model.loss_fn) if model.loss_fn is not None
                               else model.network)
        self.net = model._eval_net
        self.net.set_train(False)
        for metric in model.metrics.values():
            metric.clear()
        self.loss_sum = 0.0
        self.counts = None
        self.note = None

    def first(self, batch):
        model = self.model
        self.note = model._task.check_first_batch(model, batch, "an eval dataset", "evaluation data")
        self.cast = needs_label_cast(model.loss_fn, batch[1])
        self.labels_ok = model._task.label_check(model, batch, always=True)

    def update(self, batch):
        import mindspore as ms  # noqa: PLC0415

        model = self.model
        self.labels_ok(batch)
        data, label = batch
        data_cast = model._task.data_cast(data.dtype)
        if data_cast is not None:
            data = ms.ops.cast(data, data_cast)
        if self.cast is not None:
            label = ms.ops.cast(label, self.cast)
        n = int(data.shape[0])
        try:
            if model.loss_fn is not None:
                loss, logits, _ = self.net(data, label)
                self.loss_sum += float(loss.asnumpy()) * n
                outputs = (loss, logits, label)
            else:
                loss = None
                logits = self.net(data)
                outputs = logits
        except (RuntimeError, ValueError, TypeError) as err:
            if self.note and not self.samples:  # another image size than the config's, and it does not run
                raise size_error(self.note, err) from err
            raise
        self.samples += n
        if self.confusion:
            self.counts = count_confusion(self.counts, logits, label)
        for metric in model.metrics.values():
            if isinstance(metric, self._metrics_module.Loss):
                metric.update(loss)
            else:
                metric.update(logits, label)
        return outputs

    def results(self):
        from .._common import scalar  # noqa: PLC0415

        model, count = self.model, max(self.samples, 1)
        results = {}
        if model.loss_fn is not None:
            results["loss"] = self.loss_sum / count
        # a Loss metric averages batch means (a partial last batch would weigh as a full one):
        # it reports the mean over samples, as "loss" does
        results.update({name: self.loss_sum / count if isinstance(metric, self._metrics_module.Loss)
                        else scalar(metric.eval()) for name, metric in model.metrics.items()})
        return results

    def extras(self):
        if not self.confusion:
            return {}
        cfg = getattr(self.model.network, "default_cfg", None)
        labels = (list(cfg.labels) if cfg is not None and len(getattr(cfg, "labels", ()) or ()) == len(self.counts)
                  else None)
        return {"confusion_matrix": self._metrics_module.ClassificationReport(self.counts, labels)}


def count_confusion(counts, logits, label):
    """Add one batch's (true, argmax-predicted) pairs to the (C, C) ``counts`` (None at first)."""
    scores = logits.asnumpy() if hasattr(logits, "asnumpy") else np.asarray(logits)
    if scores.ndim != 2:
        raise DatasetError(f"confusion_matrix=True needs a network that outputs (N, classes) scores, "
                           f"this one outputs shape {scores.shape}")
    classes = scores.shape[1]
    truth = label.asnumpy() if hasattr(label, "asnumpy") else np.asarray(label)
    if truth.ndim == 2 and truth.shape[1] == classes:  # one-hot (or soft) labels
        truth = truth.argmax(axis=1)
    truth = truth.reshape(-1).astype(np.int64)
    if truth.size != scores.shape[0]:
        raise DatasetError(f"confusion_matrix=True needs one class index per sample, got labels of shape "
                           f"{tuple(label.shape)} for {scores.shape[0]} samples")
    if truth.size and (truth.min() < 0 or truth.max() >= classes):
        bad = truth[(truth < 0) | (truth >= classes)][0]
        raise DatasetError(f"label {int(bad)} is outside the network's {classes} classes (0 to {classes - 1}): "
                           f"build the network with class_num= the number of classes in the data")
    batch = np.bincount(truth * classes + scores.argmax(axis=1), minlength=classes * classes)
    batch = batch.reshape(classes, classes)
    return batch if counts is None else counts + batch
