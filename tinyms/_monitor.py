"""Private helpers for callbacks that watch a metric (``EarlyStopping``, ``ReduceLROnPlateau``,
``ModelCheckpoint(monitor=...)``) and for code that changes an optimizer's learning rate
(``ReduceLROnPlateau``, ``Model.lr_find``).

Monitored names are the ones :class:`tinyms.model.History` records: ``loss`` (the mean training
loss of the epoch), ``val_loss`` and ``val_<metric>``. ``tinyms.model.Model.train`` hands the
epoch's record to callbacks as ``cb_params.logs``; under ``mindspore.train.Model`` the same names
are built from MindSpore's fields (``eval_results`` / ``metrics``, where the validation loss is
called ``eval_loss``, and the step losses). MindSpore's names are accepted as aliases:
``eval_loss`` is ``val_loss`` and a bare metric name such as ``accuracy`` is ``val_accuracy``.
"""

import math
import numbers

import numpy as np

from .errors import LearningRateError, UnknownNameError

__all__ = ["field", "StepLosses", "epoch_logs", "resolve_monitor", "resolve_mode", "is_improvement",
           "check_number", "lr_parameters", "get_lr", "set_lr", "snapshot", "restore"]

_MAX_WORDS = ("acc", "accuracy", "auc", "precision", "recall", "f1", "top1", "top5", "dice", "iou",
              "map", "r2", "psnr", "ssim", "bleu")


def field(params, name):
    """``params.<name>`` or None; MindSpore's ``InternalCallbackParam`` raises KeyError instead
    of AttributeError for a missing field, so ``getattr(params, name, None)`` is not enough."""
    if isinstance(params, dict):
        return params.get(name)
    return getattr(params, name, None)


def _scalar(value):
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return float(value)
    arr = np.asarray(value)
    if arr.dtype.kind in "fiu" and arr.size == 1:
        return float(arr.reshape(()))
    return None


class StepLosses:
    """The step losses of the current epoch, kept as the framework's tensors (read back only when
    an epoch's ``loss`` has to be computed here, so steps are never synchronised)."""

    def __init__(self):
        self._outputs = []

    def reset(self):
        self._outputs = []

    def add(self, params):
        outputs = field(params, "net_outputs")
        if isinstance(outputs, (tuple, list)):
            outputs = outputs[0] if outputs else None
        if outputs is not None:
            self._outputs.append(outputs)

    def mean(self):
        values = [np.mean(o.asnumpy() if hasattr(o, "asnumpy") else np.asarray(o)) for o in self._outputs]
        return float(np.mean(values)) if values else None


def epoch_logs(params, step_losses=None):
    """The epoch's values under History's names: ``cb_params.logs`` when the trainer gives it,
    otherwise built from MindSpore's ``eval_results`` / ``metrics`` and the step losses."""
    logs = field(params, "logs")
    if isinstance(logs, dict):
        return {k: v for k, v in ((k, _scalar(v)) for k, v in logs.items()) if v is not None}
    out = {}
    loss = step_losses.mean() if step_losses is not None else None
    if loss is not None:
        out["loss"] = loss
    results = field(params, "eval_results") or field(params, "metrics") or {}
    for key, value in dict(results).items():
        value = _scalar(value)
        if value is not None:
            out["val_loss" if key in ("eval_loss", "loss") else f"val_{key}"] = value
    return out


def resolve_monitor(monitor, logs, owner):
    """The key of ``logs`` that ``monitor`` names (History's name, or MindSpore's alias).

    Raises:
        UnknownNameError: no such value this epoch; the message lists the available keys.
    """
    if monitor in logs:
        return monitor
    candidates = []
    if monitor.startswith("eval_"):
        candidates.append("val_" + monitor[len("eval_"):])
    elif not monitor.startswith("val_") and monitor != "loss":
        candidates.append("val_" + monitor)
    for name in candidates:
        if name in logs:
            return name
    have = ", ".join(sorted(logs)) or "nothing"
    hint = ""
    if monitor.startswith(("val_", "eval_")) or candidates:
        hint = " Validation values need model.train(..., valid_dataset=...) (metrics from compile(metrics=...))."
    raise UnknownNameError(f"{owner}(monitor={monitor!r}): no such value at the end of this epoch; "
                           f"the epoch recorded: {have}.{hint}")


def resolve_mode(mode, monitor):
    """``"min"`` or ``"max"``: ``"auto"`` means max for accuracy-like names, min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    base = monitor.lower()
    for prefix in ("val_", "eval_"):
        if base.startswith(prefix):
            base = base[len(prefix):]
    words = base.replace("-", "_").split("_")
    if "loss" in words or "error" in words:
        return "min"
    # mAP50, voc07_mAP50_95: a metric word followed by its threshold
    return "max" if any(w in _MAX_WORDS or w.rstrip("0123456789") in _MAX_WORDS for w in words) else "min"


def is_improvement(current, best, mode, min_delta):
    """Whether ``current`` beats ``best`` by more than ``min_delta`` (NaN never does)."""
    if current is None or not math.isfinite(current):
        return False
    if best is None:
        return True
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def check_number(value, name, minimum=None, below=None, allow_equal=True):
    """Return ``value`` as a float after checking it is a real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (value < minimum if allow_equal else value <= minimum):
        raise ValueError(f"{name} must be {'at least' if allow_equal else 'greater than'} {minimum}, "
                         f"got {value!r}")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be below {below}, got {value!r}")
    return float(value)


# ------------------------------------------------------------------ learning rate
def lr_parameters(optimizer, what):
    """The Parameters holding an optimizer's constant learning rate (one per parameter group).

    Raises:
        LearningRateError: the optimizer follows a per-step schedule (a list of rates or a
            ``LearningRateSchedule``), whose rates cannot be set from outside.
    """
    from mindspore import Parameter

    if optimizer is None:
        raise LearningRateError(f"{what} changes the optimizer's learning rate, but there is no optimizer")
    if getattr(optimizer, "dynamic_lr", False):
        raise LearningRateError(
            f"{what} sets the optimizer's learning rate, but this {type(optimizer).__name__} follows a "
            f"per-step schedule (a list of rates or a LearningRateSchedule), which fixes the rate of "
            f"every step in advance. Give the optimizer a constant learning rate, e.g. "
            f"{type(optimizer).__name__}(net.trainable_params(), learning_rate=0.01, ...), or drop {what}")
    holder = optimizer.learning_rate
    params = list(holder) if getattr(optimizer, "is_group_lr", False) else [holder]
    if not params or not all(isinstance(p, Parameter) and p.size == 1 for p in params):
        raise LearningRateError(f"{what} cannot find the learning-rate Parameter of this "
                                f"{type(optimizer).__name__} (its learning_rate is a {type(holder).__name__})")
    return params


def get_lr(param):
    return float(np.asarray(param.asnumpy()).reshape(-1)[0])


def set_lr(param, value):
    from mindspore import Tensor
    param.set_data(Tensor(np.full(param.shape, value, dtype=np.float32), param.dtype))


# ------------------------------------------------------------------ parameter snapshots
def _unique_parameters(*cells):
    seen, params = set(), []
    for cell in cells:
        if cell is None:
            continue
        for p in cell.get_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def snapshot(*cells):
    """Copies (numpy, not views) of every Parameter of ``cells``, to :func:`restore` exactly."""
    return [(p, np.array(p.asnumpy(), copy=True)) for p in _unique_parameters(*cells)]


def restore(saved):
    """Put back the values :func:`snapshot` copied, bit for bit."""
    from mindspore import Tensor
    for param, value in saved:
        param.set_data(Tensor(value.copy(), param.dtype))
