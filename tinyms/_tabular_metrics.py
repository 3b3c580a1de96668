"""Private: the metrics of tables and click-through prediction (public in ``tinyms.metrics``).

:class:`AUCMetric` keeps every row's score and label and computes the exact ROC AUC (the
Mann-Whitney statistic with tied scores counted half, which is what scikit-learn's
``roc_auc_score`` computes from its ROC curve); :class:`LogLoss`, :class:`RMSE` and :class:`MAE`
stream sums in float64. Each counts the rows it has seen (``rows``).
"""

import logging

import numpy as np
from mindspore import train as _train

from .errors import InputShapeError

__all__ = ["AUCMetric", "LogLoss", "RMSE", "MAE", "roc_auc", "binary_log_loss"]

_log = logging.getLogger("tinyms.metrics")


def _numpy(value):
    return value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)


def _scores_and_labels(inputs, owner):
    """``(scores, labels)`` flat numpy arrays from ``(scores, labels)`` or 0.3's ``(logits, probs, labels)``."""
    if len(inputs) == 2:
        scores, labels = inputs
    elif len(inputs) == 3:
        scores, labels = inputs[1], inputs[2]
    else:
        raise TypeError(f"{owner}.update takes (probabilities, labels) or an eval network's (logits, "
                        f"probabilities, labels), got {len(inputs)} values")
    scores, labels = _numpy(scores).reshape(-1), _numpy(labels).reshape(-1)
    if scores.size != labels.size:
        raise InputShapeError(f"{owner}.update got {scores.size} scores for {labels.size} labels: give one "
                              f"probability per row, e.g. shape (N, 1) with labels (N, 1) or (N,)")
    return scores, labels


def _binary_labels(labels, owner):
    """``labels`` as uint8 0/1, or a ValueError naming the first other value."""
    if labels.dtype == np.bool_:
        return labels.astype(np.uint8)
    bad = (labels != 0) & (labels != 1)
    if bad.any():
        raise ValueError(f"{owner} takes binary labels 0 and 1, got {labels[bad][0]!r}: encode the label column "
                         f"as 0/1 (tinyms.data.FeatureSpec.encode_label does)")
    return labels.astype(np.uint8)


def roc_auc(scores, labels):
    """The exact area under the ROC curve of ``scores`` for binary ``labels`` (ties count half).

    Args:
        scores (numpy.ndarray): one score per row (any monotone scale: probabilities or logits).
        labels (numpy.ndarray): 0/1 per row.

    Returns:
        float: the AUC, or NaN when only one class is present (undefined).
    """
    scores = np.asarray(scores).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(bool)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranked = scores[order]
    # tie groups of equal scores: each member gets the group's average rank; doubled ranks are integers
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], ranked.size]
    doubled = np.repeat(starts + ends + 1, ends - starts)     # 2 x average 1-based rank
    rank_sum2 = int(doubled[labels[order]].sum(dtype=np.int64))
    u2 = rank_sum2 - positives * (positives + 1)               # 2 x Mann-Whitney U of the positives
    return u2 / (2.0 * positives * negatives)


def binary_log_loss(probabilities, labels):
    """The summed binary cross-entropy of probabilities, clipped as scikit-learn does (to the dtype's eps)."""
    p = np.asarray(probabilities)
    eps = np.finfo(p.dtype if p.dtype.kind == "f" else np.float64).eps
    p = np.clip(p.astype(np.float64), eps, 1 - eps)
    y = np.asarray(labels, np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum())


class AUCMetric(_train.Metric):
    """Exact ROC AUC over every row seen (TinyMS 0.3's name; ``metrics=["auc"]``).

    ``update`` keeps each row's score (float32, 4 bytes) and label (uint8, 1 byte): 5 bytes a
    row, 230 MB for Criteo's 45.8 million rows; ``eval`` sorts them once (about 25 bytes a row
    more while it runs). Tied scores count half, as in scikit-learn's ``roc_auc_score``.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import AUCMetric
        >>> metric = AUCMetric()
        >>> metric.update(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
        >>> metric.eval(), metric.rows
        (0.75, 4)
    """

    def __init__(self):
        super().__init__()
        self.clear()

    def clear(self):
        """Forget every row."""
        self._scores, self._labels = [], []
        self.rows = 0

    def update(self, *inputs):
        """Add a batch: ``(probabilities, labels)`` or an eval network's ``(logits, probabilities, labels)``.

        Raises:
            InputShapeError: not one score per label.
            ValueError: a label other than 0/1, or a score that is not finite.
            TypeError: another number of values.
        """
        scores, labels = _scores_and_labels(inputs, "AUCMetric")
        scores = scores.astype(np.float32)
        if not np.isfinite(scores).all():
            raise ValueError("AUCMetric got a NaN or infinite score: the network's outputs are not finite "
                             "(training diverged?)")
        self._scores.append(scores)
        self._labels.append(_binary_labels(labels, "AUCMetric"))
        self.rows += scores.size

    def eval(self):
        """The AUC over every row seen.

        Returns:
            float: in [0, 1]; NaN (with a warning logged) when the rows hold one class only.

        Raises:
            RuntimeError: no row was added.
        """
        if not self.rows:
            raise RuntimeError("AUCMetric has no rows to score: call update() first")
        labels = np.concatenate(self._labels)
        auc = roc_auc(np.concatenate(self._scores), labels)
        if np.isnan(auc):
            _log.warning("AUC is undefined: all %d rows have label %d", labels.size, int(labels[0]))
        return auc


class _RowMean(_train.Metric):
    """A float64 sum of per-row values and the rows counted; ``eval`` is ``_finish(sum / rows)``."""

    name = ""

    def __init__(self):
        super().__init__()
        self.clear()

    def clear(self):
        """Forget every row."""
        self._sum, self.rows = 0.0, 0

    def eval(self):
        """The mean over every row added; RuntimeError when none was."""
        if not self.rows:
            raise RuntimeError(f"{self.name} has no rows to score: call update() first")
        return self._finish(self._sum / self.rows)

    def _finish(self, mean):
        return mean


class LogLoss(_RowMean):
    """Mean binary cross-entropy (log loss) over every row (``metrics=["log_loss"]``).

    Probabilities are clipped to ``[eps, 1 - eps]`` with eps their dtype's machine epsilon, as
    scikit-learn's ``log_loss`` does.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import LogLoss
        >>> metric = LogLoss()
        >>> metric.update(np.array([0.9, 0.2]), np.array([1, 0]))
        >>> round(metric.eval(), 4)
        0.1643
    """

    name = "LogLoss"

    def update(self, *inputs):
        """Add ``(probabilities, labels)`` or an eval network's ``(logits, probabilities, labels)``."""
        probs, labels = _scores_and_labels(inputs, "LogLoss")
        self._sum += binary_log_loss(probs, _binary_labels(labels, "LogLoss"))
        self.rows += probs.size


class _Regression(_RowMean):
    """Streams a float64 sum of per-row errors of ``(predictions, targets)``."""

    def update(self, *inputs):
        """Add ``(predictions, targets)``: one value per row each (any shapes of N values)."""
        if len(inputs) != 2:
            raise TypeError(f"{self.name}.update takes (predictions, targets), got {len(inputs)} values")
        pred = _numpy(inputs[0]).astype(np.float64).reshape(-1)
        true = _numpy(inputs[1]).astype(np.float64).reshape(-1)
        if pred.size != true.size:
            raise InputShapeError(f"{self.name}.update got {pred.size} predictions for {true.size} targets")
        self._sum += float(self._error(pred - true).sum())
        self.rows += pred.size

    def _error(self, diff):
        raise NotImplementedError


class RMSE(_Regression):
    """Root mean squared error over every row (``metrics=["rmse"]``), in the target's units.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import RMSE
        >>> metric = RMSE()
        >>> metric.update(np.array([[2.0], [4.0]]), np.array([1.0, 5.0]))
        >>> metric.eval()
        1.0
    """

    name = "RMSE"

    def _error(self, diff):
        return diff * diff

    def _finish(self, mean):
        return float(np.sqrt(mean))


class MAE(_Regression):
    """Mean absolute error over every row (``metrics=["mae"]``), in the target's units.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import MAE
        >>> metric = MAE()
        >>> metric.update(np.array([2.0, 4.0]), np.array([1.0, 7.0]))
        >>> metric.eval()
        2.0
    """

    name = "MAE"

    def _error(self, diff):
        return np.abs(diff)
