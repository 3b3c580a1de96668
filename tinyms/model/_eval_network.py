"""Private: evaluation through an eval network given to ``Model.compile(eval_network=...)``.

As in ``mindspore.train.Model``: the eval network is called with a batch's columns, in order, and
its outputs go to every metric, ``metric.update(*outputs)``; with ``eval_indexes=[loss, pred,
label]`` a ``Loss`` metric gets ``outputs[loss]`` and the others ``(outputs[pred], outputs[label])``.
TinyMS 0.3's DeepFM script evaluates this way (``DeepFMEvalModel`` returns ``(logits, probs,
labels)``, which ``AUCMetric`` reads). Every row of the dataset is evaluated once.
"""

from .. import metrics as _metrics
from ..errors import NotCompiledError
from ._common import scalar
from .tasks import Evaluator

__all__ = ["EvalNetworkEvaluator", "check_eval_indexes"]


def check_eval_indexes(eval_indexes):
    """``eval_indexes`` as a tuple of three ints, or None; ValueError otherwise."""
    if eval_indexes is None:
        return None
    try:
        indexes = tuple(int(i) for i in eval_indexes)
    except (TypeError, ValueError):
        indexes = ()
    if len(indexes) != 3:
        raise ValueError(f"eval_indexes must be three positions in the eval network's outputs: [loss, "
                         f"prediction, label], got {eval_indexes!r}")
    return indexes


class EvalNetworkEvaluator(Evaluator):
    """Feeds each batch's eval-network outputs to the compiled metrics; counts every row."""

    def __init__(self, model):
        super().__init__(model)
        if not model.metrics:
            raise NotCompiledError("eval() with an eval_network needs metrics: call model.compile(eval_network=..., "
                                   "metrics={'auc': AUCMetric()}) first")
        self.net = model.eval_network
        self.net.set_train(False)
        self.indexes = model.eval_indexes
        for metric in model.metrics.values():
            metric.clear()

    def update(self, batch):
        outputs = self.net(*batch)
        outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
        self.samples += int(batch[0].shape[0]) if batch[0].shape else 1
        for metric in self.model.metrics.values():
            if self.indexes is None:
                metric.update(*outputs)
            elif isinstance(metric, _metrics.Loss):
                metric.update(outputs[self.indexes[0]])
            else:
                metric.update(outputs[self.indexes[1]], outputs[self.indexes[2]])
        return outputs

    def results(self):
        return {name: scalar(metric.eval()) for name, metric in self.model.metrics.items()}

    def extras(self):
        return {}
