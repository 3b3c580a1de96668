"""Tables: a row's encoded fields in, a probability, a value or a class out.

Batches have three columns (``tinyms.data.FeatureSpec`` and ``TabularDataset`` make them):
``feat_ids`` int32 (N, F), one id per field in the network's id space ``0..vocab_size-1``;
``feat_vals`` float32 (N, F); ``label``, float32 (N, 1) or (N,) of 0/1 for ``objective
"binary"``, float32 targets for ``"regression"``, int32 class indices (N,) for ``"multiclass"``.
The network (``deepfm``, ``wide_deep``, ``tabular_mlp``) is called as ``network(feat_ids,
feat_vals)``.

The task builds the loss from ``network.objective`` when ``compile`` is given none: mean sigmoid
cross-entropy for binary; for regression the mean squared error divided by
``network.target_scale ** 2`` (the error of the standardised target, so the gradients do not grow
with the target's units); softmax cross-entropy for multiclass; plus ``0.5 * network.l2_coef *
network.l2_penalty()`` (DeepFM's L2 on its id tables) when ``l2_coef > 0``. A ``loss_fn`` given to
``compile`` is called as ``loss_fn(network(feat_ids, feat_vals), label)`` instead.

Evaluation counts every row and returns, besides any compiled metric, ``auc`` (exact ROC AUC),
``log_loss``, ``accuracy`` (probability above 0.5) and ``loss`` for binary; ``rmse``, ``mae`` (in the
target's units) and ``loss`` for regression; ``accuracy`` and ``loss`` for multiclass. ``loss`` is
the objective's loss over the rows (without the L2 penalty). Compiled metrics are updated with the
probabilities (binary), values (regression) or logits (multiclass) and the labels.
"""

import numpy as np

from ...errors import DatasetError, InputShapeError
from ._base import Evaluator, Task

__all__ = ["TabularTask"]

_INTEGER = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")
_FLOAT = ("Float16", "Float32", "Float64")
_OUTPUT = {"binary": "probabilities", "regression": "values", "multiclass": "classes"}
_METRICS = {"binary": ("auc", "log_loss", "accuracy"), "regression": ("rmse", "mae"), "multiclass": ("accuracy",)}
_MONITOR = {"binary": "val_auc", "regression": "val_rmse", "multiclass": "val_accuracy"}


def objective_of(network):
    """The network's ``objective`` (``"binary"`` when it names none)."""
    return getattr(network, "objective", "binary")


def _np(value):
    return value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)


def _tabular_loss_cell():
    from mindspore import nn, ops  # noqa: PLC0415

    class TabularLoss(nn.Cell):
        """The objective's loss (plus the network's L2 penalty) of ``network(feat_ids, feat_vals)`` and ``label``."""

        def __init__(self, network):
            super().__init__(auto_prefix=False)
            self.network = network
            objective = objective_of(network)
            self.binary = objective == "binary"
            self.regression = objective == "regression"
            self.inv_scale = 1.0 / float(getattr(network, "target_scale", 1.0))
            self.l2_coef = float(getattr(network, "l2_coef", 0.0))
            self.penalised = self.l2_coef > 0 and hasattr(network, "l2_penalty")
            self.bce = ops.SigmoidCrossEntropyWithLogits()
            self.ce = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")

        def construct(self, feat_ids, feat_vals, label):
            out = self.network(feat_ids, feat_vals)
            if self.binary:
                loss = ops.reduce_mean(self.bce(out, ops.reshape(label, ops.shape(out))))
            elif self.regression:
                diff = (out - ops.reshape(label, ops.shape(out))) * self.inv_scale
                loss = ops.reduce_mean(diff * diff)
            else:
                loss = self.ce(out, ops.reshape(label, (-1,)))
            if self.penalised:
                loss = loss + 0.5 * self.l2_coef * self.network.l2_penalty()
            return loss
    return TabularLoss


def _loss_on_outputs_cell():
    from mindspore import nn  # noqa: PLC0415

    class TabularLossOnOutputs(nn.Cell):
        """``loss_fn(network(feat_ids, feat_vals), label)``: a given loss over a tabular network's outputs."""

        def __init__(self, network, loss_fn):
            super().__init__(auto_prefix=False)
            self.network = network
            self.loss_fn = loss_fn

        def construct(self, feat_ids, feat_vals, label):
            return self.loss_fn(self.network(feat_ids, feat_vals), label)
    return TabularLossOnOutputs


class TabularTask(Task):
    """``(feat_ids, feat_vals, label)`` batches; the loss from the network's objective; AUC, RMSE or accuracy.

    Example:
        >>> from tinyms.model.tasks import get_task
        >>> task = get_task("tabular")
        >>> task.columns, task.inputs, task.default_metrics, task.monitor
        (('feat_ids', 'feat_vals', 'label'), 2, ('auc', 'log_loss', 'accuracy'), 'val_auc')
    """

    name = "tabular"
    columns = ("feat_ids", "feat_vals", "label")
    inputs = 2
    output = "probabilities"
    default_loss = None
    default_metrics = _METRICS["binary"]
    monitor = "val_auc"

    # ------------------------------------------------------------------ per objective
    def output_for(self, network):
        """What a prediction of ``network`` is: ``"probabilities"``, ``"values"`` or ``"classes"``."""
        return _OUTPUT[objective_of(network)]

    def metrics_for(self, network):
        """The metric names ``tinyms train`` compiles for ``network``'s objective."""
        return _METRICS[objective_of(network)]

    def monitor_for(self, network):
        """The validation result to keep the best checkpoint by: ``val_auc``, ``val_rmse`` or ``val_accuracy``."""
        return _MONITOR[objective_of(network)]

    # ------------------------------------------------------------------ training
    def needs_loss(self, model):
        return False

    def loss_network(self, model):
        if model.loss_fn is not None:
            return _loss_on_outputs_cell()(model.network, model.loss_fn)
        return _tabular_loss_cell()(model.network)

    def check_inputs(self, model, feat_ids, feat_vals, what):
        """Raise InputShapeError/DatasetError unless ``(feat_ids, feat_vals)`` is a batch the network takes."""
        net = model.network
        name = type(net).__name__
        fields, vocab = getattr(net, "field_size", None), getattr(net, "vocab_size", None)
        ids_shape, vals_shape = tuple(feat_ids.shape), tuple(feat_vals.shape)
        if str(feat_ids.dtype) not in _INTEGER:
            raise DatasetError(
                f"{what}'s feat_ids are {feat_ids.dtype}, but {name} takes integer ids (int32): encode rows with "
                f"tinyms.data.FeatureSpec.encode (or TabularDataset), which gives int32 feat_ids and float32 feat_vals")
        if str(feat_vals.dtype) not in _FLOAT:
            raise DatasetError(f"{what}'s feat_vals are {feat_vals.dtype}, but {name} takes float32 values: "
                               f"cast them, or encode rows with tinyms.data.FeatureSpec.encode")
        if len(ids_shape) != 2 or ids_shape != vals_shape:
            raise InputShapeError(f"{name} takes feat_ids and feat_vals of the same shape (N, fields), got "
                                  f"{ids_shape} and {vals_shape}")
        if fields is not None and ids_shape[1] != fields:
            raise InputShapeError(
                f"{name} was built for {fields} fields, {what} has {ids_shape[1]}: build it with "
                f"field_size={ids_shape[1]} (the FeatureSpec's field_size), e.g. deepfm(field_size={ids_shape[1]}, "
                f"vocab_size=spec.vocab_size)")
        if vocab is not None:
            self._check_ids(_np(feat_ids), vocab, name, what)

    @staticmethod
    def _check_ids(ids, vocab, name, what):
        if not ids.size:
            return
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab:
            bad = low if low < 0 else high
            raise DatasetError(
                f"{what} holds feature id {bad}, outside {name}'s id space 0..{vocab - 1}: build the network "
                f"with vocab_size= the FeatureSpec's vocab_size (at least {high + 1}), or encode the rows with the "
                f"spec the network was built for")

    def check_first_batch(self, model, batch, dataset_what, data_what):
        if len(batch) != 3:
            raise DatasetError(
                f"{dataset_what} must yield (feat_ids, feat_vals, label) rows for a tabular network, but its rows "
                f"have {len(batch)} column(s): make it with tinyms.data.TabularDataset, or project it to those "
                f"three columns")
        self.check_inputs(model, batch[0], batch[1], data_what)
        label = batch[2]
        if not label.shape or int(label.shape[0]) != int(batch[0].shape[0]):
            raise DatasetError(f"{dataset_what}'s label column has shape {tuple(label.shape)} for "
                               f"{batch[0].shape[0]} rows: give one label per row")
        objective = objective_of(model.network)
        if objective == "multiclass" and str(label.dtype) not in _INTEGER:
            raise DatasetError(f"{dataset_what}'s labels are {label.dtype}; a multiclass network takes class "
                               f"indices (int32): encode them with FeatureSpec.encode_label")
        return None

    def step_function(self, model, train_net, batch):
        import mindspore as ms  # noqa: PLC0415

        label_type = ms.int32 if objective_of(model.network) == "multiclass" else ms.float32
        if model.loss_fn is not None:
            label_type = None  # a given loss takes the labels as the dataset has them
        cast_ids = batch[0].dtype != ms.int32
        cast_vals = batch[1].dtype != ms.float32
        cast_label = label_type is not None and batch[2].dtype != label_type
        if not (cast_ids or cast_vals or cast_label):
            return train_net

        def step(feat_ids, feat_vals, label, _cast=ms.ops.cast):
            if cast_ids:
                feat_ids = _cast(feat_ids, ms.int32)
            if cast_vals:
                feat_vals = _cast(feat_vals, ms.float32)
            if cast_label:
                label = _cast(label, label_type)
            return train_net(feat_ids, feat_vals, label)
        return step

    def label_check(self, model, batch, always=False):
        """Every batch: ids inside the network's id space, labels the objective takes."""
        net = model.network
        vocab, name = getattr(net, "vocab_size", None), type(net).__name__
        objective = objective_of(net)
        classes = int(getattr(net, "num_outputs", 1))

        def check(batch):
            if len(batch) < 3:
                return
            if vocab is not None:
                self._check_ids(_np(batch[0]), vocab, name, "a batch")
            labels = _np(batch[2])
            if objective == "binary":
                bad = labels[(labels != 0) & (labels != 1)]
                if bad.size:
                    raise DatasetError(f"label {bad[0]!r} is not 0 or 1: a binary network takes labels 0/1; "
                                       f"encode them with FeatureSpec.encode_label, or use objective='regression'")
            elif objective == "multiclass":
                bad = labels[(labels < 0) | (labels >= classes)]
                if bad.size:
                    raise DatasetError(f"label {int(bad[0])} is outside the network's {classes} classes (0 to "
                                       f"{classes - 1}): build it with num_outputs= the number of classes")
            elif not np.isfinite(labels).all():
                raise DatasetError("a regression target is NaN or infinite: drop or fill those rows")
        return check

    # ------------------------------------------------------------------ prediction
    def predict_inputs(self, model, x):
        """``(feat_ids, feat_vals)`` Tensors for ``Model.predict`` from a pair of arrays or Tensors."""
        import mindspore as ms  # noqa: PLC0415

        name = type(model.network).__name__
        if isinstance(x, dict) and "feat_ids" in x and "feat_vals" in x:
            x = (x["feat_ids"], x["feat_vals"])
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise InputShapeError(
                f"{name} predicts from a pair (feat_ids, feat_vals), both (N, fields): pass "
                f"model.predict((feat_ids, feat_vals)), e.g. from tinyms.data.FeatureSpec.encode(rows)")
        ids, vals = (v if isinstance(v, ms.Tensor) else ms.Tensor(np.asarray(v)) for v in x)
        if len(ids.shape) == 1 and len(vals.shape) == 1:
            raise InputShapeError(f"{name} takes batches (N, fields); for one row add the batch dimension: "
                                  f"(feat_ids[None], feat_vals[None])")
        self.check_inputs(model, ids, vals, "predict input")
        if ids.dtype != ms.int32:
            ids = ms.ops.cast(ids, ms.int32)
        if vals.dtype != ms.float32:
            vals = ms.ops.cast(vals, ms.float32)
        return ids, vals

    def postprocess(self, network, outputs):
        """A prediction from the network's outputs.

        Returns:
            numpy.ndarray or tuple: binary, the probability of class 1 per row (N,); regression,
            the value per row (N,); multiclass, ``(classes (N,), probabilities (N, C))``.
        """
        out = _np(outputs).astype(np.float64)
        objective = objective_of(network)
        if objective == "binary":
            return (1.0 / (1.0 + np.exp(-out))).reshape(-1)
        if objective == "regression":
            return out.reshape(-1)
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        return probs.argmax(axis=1), probs

    # ------------------------------------------------------------------ evaluation
    def evaluator(self, model, confusion=False, report=False):
        if confusion or report:
            raise ValueError("confusion_matrix= and report= are for classification and detection; a tabular "
                             "model's eval returns its metrics over every row")
        return _TabularEvaluator(model)


class _TabularEvaluator(Evaluator):
    """Runs the network over every row once: the objective's loss and metrics, and the compiled ones."""

    def __init__(self, model):
        super().__init__(model)
        from ... import _tabular_metrics as tm  # noqa: PLC0415
        from ... import metrics as _metrics  # noqa: PLC0415

        self._loss_type = _metrics.Loss
        self.objective = objective_of(model.network)
        self.loss_sum, self.log_sum, self.correct = 0.0, 0.0, 0
        self.auc = tm.AUCMetric() if self.objective == "binary" else None
        self.rmse, self.mae = (tm.RMSE(), tm.MAE()) if self.objective == "regression" else (None, None)
        self.scale = float(getattr(model.network, "target_scale", 1.0))
        builtin = _METRICS[self.objective] + ("loss",)
        # a compiled metric the task computes itself (over logits, in float64) is not computed twice
        self.extra = {name: metric for name, metric in model.metrics.items()
                      if name not in builtin and not isinstance(metric, _metrics.Loss)}
        for metric in self.extra.values():
            metric.clear()
        model.network.set_train(False)
        self.labels_ok = None

    def first(self, batch):
        model = self.model
        model._task.check_first_batch(model, batch, "an eval dataset", "evaluation data")
        self.labels_ok = model._task.label_check(model, batch, always=True)

    def update(self, batch):
        import mindspore as ms  # noqa: PLC0415

        self.labels_ok(batch)
        ids, vals, label = batch[:3]
        if ids.dtype != ms.int32:
            ids = ms.ops.cast(ids, ms.int32)
        if vals.dtype != ms.float32:
            vals = ms.ops.cast(vals, ms.float32)
        model = self.model
        out = model.network(ids, vals)
        z = out.asnumpy().astype(np.float64)
        y = label.asnumpy()
        n = int(z.shape[0])
        if model.loss_fn is not None:
            batch_loss = float(np.mean(model.loss_fn(out, label).asnumpy()))
        else:
            batch_loss = None
        if self.objective == "binary":
            z, y = z.reshape(-1), y.reshape(-1).astype(np.float64)
            per_row = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))   # BCE from logits, stable
            self.log_sum += float(per_row.sum())
            self.auc.update(z, y)
            self.correct += int(((z > 0) == (y > 0.5)).sum())
            shown = ms.Tensor((1.0 / (1.0 + np.exp(-z))).astype(np.float32).reshape(-1, 1))
            data_loss = float(per_row.sum())
        elif self.objective == "regression":
            z, y = z.reshape(-1), y.reshape(-1).astype(np.float64)
            self.rmse.update(z, y)
            self.mae.update(z, y)
            data_loss = float((((z - y) / self.scale) ** 2).sum())
            shown = out
        else:
            y = y.reshape(-1).astype(np.int64)
            top = z.max(axis=1, keepdims=True)
            log_norm = (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))).reshape(-1)
            data_loss = float((log_norm - z[np.arange(n), y]).sum())
            self.correct += int((z.argmax(axis=1) == y).sum())
            shown = out
        self.loss_sum += batch_loss * n if batch_loss is not None else data_loss
        self.samples += n
        for metric in self.extra.values():
            metric.update(shown, label)
        return out

    def results(self):
        from .._common import scalar  # noqa: PLC0415

        count = max(self.samples, 1)
        results = {}
        if self.objective == "binary":
            results.update(auc=self.auc.eval(), log_loss=self.log_sum / count,
                           accuracy=self.correct / count)
        elif self.objective == "regression":
            results.update(rmse=self.rmse.eval(), mae=self.mae.eval())
        else:
            results["accuracy"] = self.correct / count
        results["loss"] = self.loss_sum / count
        for name, metric in self.model.metrics.items():
            if name in self.extra:
                results[name] = scalar(metric.eval())
            elif isinstance(metric, self._loss_type):
                results[name] = results["loss"]
        return results

    def extras(self):
        return {}
