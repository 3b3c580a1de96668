"""Evaluation metrics. ``Model.compile(metrics=...)`` takes a dict of instances, or a list of
names from :data:`METRICS` (Keras style: ``metrics=['accuracy']``).

Example:
    >>> from tinyms.metrics import Accuracy
    >>> m = Accuracy()
    >>> import numpy as np
    >>> m.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])); m.eval()
    0.5
"""

from mindspore import train as _train

from ._names import lookup
from ._report import ClassificationReport, classification_report, plot_confusion_matrix

_CLASSES = ["Metric", "Accuracy", "Top1CategoricalAccuracy", "Top5CategoricalAccuracy",
            "TopKCategoricalAccuracy", "Precision", "Recall", "F1", "Fbeta", "MAE", "MSE", "Loss",
            "ConfusionMatrix", "ConfusionMatrixMetric", "ROC", "Dice", "BleuScore",
            "CosineSimilarity", "Perplexity", "HausdorffDistance", "auc"]
globals().update({name: getattr(_train, name) for name in _CLASSES})

#: Plain names accepted by ``Model.compile(metrics=[...])``.
METRICS = {
    "accuracy": _train.Accuracy,
    "acc": _train.Accuracy,
    "top1": _train.Top1CategoricalAccuracy,
    "top5": _train.Top5CategoricalAccuracy,
    "precision": _train.Precision,
    "recall": _train.Recall,
    "f1": _train.F1,
    "mae": _train.MAE,
    "mse": _train.MSE,
    "loss": _train.Loss,
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


__all__ = _CLASSES + ["METRICS", "ClassificationReport", "classification_report", "plot_confusion_matrix"]  # get() is Model.compile's helper, not exported
