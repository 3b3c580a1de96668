"""What :meth:`tinyms.model.Model.train` returns: per-epoch loss and metrics."""

import time

import numpy as np
from mindspore.train import Callback

__all__ = ["History"]


def _loss_value(outputs):
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0] if outputs else None
    if outputs is None:
        return None
    value = outputs.asnumpy() if hasattr(outputs, "asnumpy") else np.asarray(outputs)
    return float(np.mean(value))


class History(Callback):
    """Per-epoch training record, Keras style; also a callback.

    ``Model.train`` returns one. Passed in ``callbacks=`` it is the object ``Model.train``
    fills and returns; passed to ``mindspore.train.Model.train`` it records the same keys
    from MindSpore's callback fields, so there is one ``History`` in TinyMS
    (``tinyms.callbacks.History`` is this class).

    Attributes:
        epoch (list[int]): the epochs run, 1-based.
        history (dict[str, list[float]]): ``"loss"`` (mean training loss of each epoch) and,
            when a validation dataset was given, ``"val_loss"`` and ``"val_<metric>"``.
        seconds (list[float]): wall time of each epoch.
        stopped_early (bool): a callback asked training to stop before the last epoch.

    Example:
        >>> h = History()
        >>> h._record(1, {"loss": 0.5}, 2.0)
        >>> h.history["loss"], h.last("loss")
        ([0.5], 0.5)
    """

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}
        self.seconds = []
        self.stopped_early = False
        self._losses = []
        self._started = None

    def _record(self, epoch, logs, seconds):
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def last(self, key):
        """The value of ``key`` after the last epoch (``KeyError`` names the keys there are)."""
        if key not in self.history:
            raise KeyError(f"no {key!r} in this history; it has: {', '.join(self.history) or 'nothing'}")
        return self.history[key][-1]

    # -- callback side, used when another trainer (mindspore.train.Model) drives it
    def on_train_epoch_begin(self, run_context):
        self._losses = []
        self._started = time.perf_counter()

    def on_train_step_end(self, run_context):
        value = _loss_value(run_context.original_args().net_outputs)
        if value is not None:
            self._losses.append(value)

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        logs = {"loss": float(np.mean(self._losses)) if self._losses else float("nan")}
        for key, value in (getattr(params, "eval_results", None) or {}).items():
            name = "loss" if key == "eval_loss" else key
            if isinstance(value, (int, float, np.floating, np.integer)):
                logs[f"val_{name}"] = float(value)
        seconds = time.perf_counter() - self._started if self._started is not None else 0.0
        self._record(int(params.cur_epoch_num), logs, seconds)

    def __repr__(self):
        if not self.epoch:
            return "History(no epochs)"
        last = ", ".join(f"{k}={v[-1]:.4f}" for k, v in self.history.items())
        return f"History(epochs={len(self.epoch)}, {last})"
