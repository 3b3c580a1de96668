"""Training callbacks: MindSpore's, working unchanged inside ``tinyms.model.Model.train``.

A callback's ``on_train_step_end(run_context)`` / ``on_train_epoch_end(run_context)`` see the
usual ``run_context.original_args()`` fields: ``cur_epoch_num``, ``cur_step_num``,
``batch_num``, ``epoch_num``, ``net_outputs`` (the step's loss), ``train_network``...

Three names differ from MindSpore's on purpose:

- ``CheckpointConfig`` writes checkpoints with a CRC-32 (``crc_check=True`` by default), which
  every TinyMS load verifies, so a corrupted file is an error instead of wrong weights.
- ``ModelCheckpoint`` uses that config by default and leaves its files readable (mode 0644)
  rather than MindSpore's owner-read-only 0400.
- ``History`` is :class:`tinyms.model.History` (one class under one name).

Example:
    >>> from tinyms.callbacks import ModelCheckpoint, CheckpointConfig, LossMonitor
    >>> ckpt = ModelCheckpoint(prefix="lenet5", directory="/tmp/ckpt",
    ...                        config=CheckpointConfig(save_checkpoint_steps=100, keep_checkpoint_max=3))
    >>> callbacks = [ckpt, LossMonitor(per_print_times=100)]
"""

import contextlib
import os
import time

import numpy as np
from mindspore import train as _train

from ._checks import positive_int
from ._fileio import FILE_MODE as _FILE_MODE
from .model import history as _history_module
from .model.history import History

_FROM_MINDSPORE = ["Callback", "RunContext", "LossMonitor", "TimeMonitor", "EarlyStopping",
                   "ReduceLROnPlateau", "LearningRateScheduler", "LambdaCallback", "SummaryCollector",
                   "OnRequestExit", "BackupAndRestore"]

globals().update({name: getattr(_train, name) for name in _FROM_MINDSPORE})


class CheckpointConfig(_train.CheckpointConfig):
    """MindSpore's ``CheckpointConfig`` with ``crc_check=True`` by default.

    Args:
        *args, **kwargs: as ``mindspore.train.CheckpointConfig`` (``save_checkpoint_steps``,
            ``keep_checkpoint_max``...).
        crc_check (bool): write a CRC-32 that loads verify. Default True.

    Example:
        >>> from tinyms.callbacks import CheckpointConfig
        >>> CheckpointConfig(save_checkpoint_steps=100).crc_check
        True
    """

    def __init__(self, *args, crc_check=True, **kwargs):
        super().__init__(*args, crc_check=crc_check, **kwargs)


class ModelCheckpoint(_train.ModelCheckpoint):
    """MindSpore's ``ModelCheckpoint`` writing CRC-checked, owner-writable files.

    Args:
        prefix (str): file name prefix. Default ``"CKP"``.
        directory (str): folder for the files. Default: the current directory.
        config (CheckpointConfig): when to save and how many to keep. Default:
            ``tinyms.callbacks.CheckpointConfig()`` (CRC on).

    Example:
        >>> from tinyms.callbacks import ModelCheckpoint
        >>> cb = ModelCheckpoint(prefix="lenet5", directory="/tmp/ckpt")
    """

    def __init__(self, prefix="CKP", directory=None, config=None):
        super().__init__(prefix, directory, config if config is not None else CheckpointConfig())

    def _fix_mode(self):
        path = self.latest_ckpt_file_name
        if path:
            with contextlib.suppress(OSError):
                os.chmod(path, _FILE_MODE)

    def on_train_step_end(self, run_context):
        super().on_train_step_end(run_context)
        self._fix_mode()

    def on_train_end(self, run_context):
        super().on_train_end(run_context)
        self._fix_mode()


class LossTimeMonitor(_train.Callback):
    """Print one line per epoch: its time, the time per step, the mean loss and the learning rate.

    Args:
        lr_init: the per-step learning rates the optimizer was given (a list, numpy array or
            Tensor, as returned by ``warmup_cosine_lr``), or one number; None leaves the rate out.

    Example:
        >>> from tinyms.callbacks import LossTimeMonitor
        >>> from tinyms.optimizers import warmup_cosine_lr
        >>> monitor = LossTimeMonitor(lr_init=warmup_cosine_lr(0.01, total_steps=100))
    """

    def __init__(self, lr_init=None):
        super().__init__()
        self.lr_init = None if lr_init is None else _per_step(lr_init)
        self.losses = []
        self._epoch_start = self._step_start = 0.0

    def on_train_epoch_begin(self, run_context):
        self.losses = []
        self._epoch_start = time.perf_counter()

    def on_train_step_end(self, run_context):
        loss = run_context.original_args().net_outputs
        if isinstance(loss, (tuple, list)):
            loss = loss[0]
        self.losses.append(float(np.mean(loss.asnumpy() if hasattr(loss, "asnumpy") else loss)))

    def on_train_epoch_end(self, run_context):
        args = run_context.original_args()
        seconds = time.perf_counter() - self._epoch_start
        steps = max(len(self.losses), 1)
        line = (f"epoch {args.cur_epoch_num}/{args.epoch_num}: {seconds:.1f} s, {seconds / steps * 1000:.1f} ms/step, "
                f"mean loss {np.mean(self.losses) if self.losses else float('nan'):.4f}")
        if self.lr_init is not None and len(self.lr_init):
            line += f", lr {self.lr_init[min(args.cur_step_num, len(self.lr_init)) - 1]:.6g}"
        print(line, flush=True)


class CSVLogger(_train.Callback):
    """Write one CSV row per epoch while training runs, with the columns ``History`` records.

    The columns are ``epoch``, the epoch's logs (``loss``, ``lr``, ``val_loss``,
    ``val_<metric>``...) and ``seconds``, fixed by the first epoch written. Each row is flushed
    and fsync'ed as soon as its epoch ends, so the file can be watched (or survives a crash)
    during a long run. Works in ``tinyms.model.Model.train`` (which hands the epoch's logs to
    callbacks) and in ``mindspore.train.Model.train`` (where the logs are computed from the step
    losses, the optimizer and the validation results).

    Args:
        path (str): the CSV file; parent folders are created.
        append (bool): add rows to an existing file (its header is kept) instead of starting
            a new one, e.g. when resuming a run.
        separator (str): the column separator, one character.

    Raises:
        ValueError: ``separator`` is not one character.

    Example:
        >>> from tinyms.callbacks import CSVLogger
        >>> logger = CSVLogger("runs/lenet5/log.csv")
        >>> # model.train(5, train_ds, callbacks=[logger], valid_dataset=test_ds)
    """

    def __init__(self, path, append=False, separator=","):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        self.path = os.fspath(path)
        self.append = bool(append)
        self.separator = separator
        self.columns = None
        self._file = self._writer = None
        self._outputs, self._started = [], None

    def on_train_begin(self, run_context):
        import csv
        self._close()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.columns = None
        if self.append and os.path.isfile(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="", encoding="utf-8") as f:
                self.columns = next(csv.reader(f, delimiter=self.separator), None) or None
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                ends_with_newline = f.read(1) == b"\n"
            self._file = open(self.path, "a", newline="", encoding="utf-8")
            if not ends_with_newline:
                self._file.write("\n")
        else:
            self._file = open(self.path, "w", newline="", encoding="utf-8")
        with contextlib.suppress(OSError):
            os.chmod(self.path, _FILE_MODE)
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")

    def on_train_epoch_begin(self, run_context):
        self._outputs, self._started = [], time.perf_counter()

    def on_train_step_end(self, run_context):
        outputs = _history_module._field(run_context.original_args(), "net_outputs")
        if outputs is not None:
            self._outputs.append(outputs)  # read back at the epoch's end, not per step

    def on_train_epoch_end(self, run_context):
        if self._writer is None:
            self.on_train_begin(run_context)
        params = run_context.original_args()
        logs = _history_module._field(params, "logs")
        if not isinstance(logs, dict):
            losses = [v for v in map(_history_module._loss_value, self._outputs) if v is not None]
            logs = _history_module.epoch_logs(params, losses)
        seconds = time.perf_counter() - self._started if self._started is not None else float("nan")
        row = {"epoch": int(params.cur_epoch_num)}
        row.update((k, v) for k, v in logs.items() if k not in ("epoch", "seconds"))
        row["seconds"] = logs.get("seconds", seconds)
        if self.columns is None:
            self.columns = list(row)
            self._writer.writerow(self.columns)
        self._writer.writerow([_history_module._csv_value(_plain(row.get(c, float("nan")))) for c in self.columns])
        self._file.flush()
        os.fsync(self._file.fileno())
        self._outputs = []

    def on_train_end(self, run_context):
        self._close()

    def __del__(self):
        self._close()

    def _close(self):
        file = getattr(self, "_file", None)  # None too when __init__ failed
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        self._file = self._writer = None


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def _per_step(lr):
    values = lr.asnumpy() if hasattr(lr, "asnumpy") else lr
    return np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()


_DEVICES = ("CPU", "GPU", "Ascend")


def _zoo_cb(prefix, device_target, lr, is_saving_checkpoint, save_checkpoint_epochs, step_size, directory):
    if device_target not in _DEVICES:
        raise ValueError(f"device_target must be one of {', '.join(_DEVICES)}, got {device_target!r}")
    callbacks = [LossTimeMonitor(lr_init=lr)]
    if is_saving_checkpoint:
        every = (positive_int(save_checkpoint_epochs, "save_checkpoint_epochs", 1)
                 * positive_int(step_size, "step_size", "dataset.get_dataset_size()"))
        config = CheckpointConfig(save_checkpoint_steps=every, keep_checkpoint_max=10)
        callbacks.append(ModelCheckpoint(prefix=prefix, directory=directory, config=config))
    return callbacks


_CB_DOC = """The usual training callbacks for {what}, in one call (TinyMS 0.3's ``{name}``).

    Args:
        device_target (str): ``"CPU"``, ``"GPU"`` or ``"Ascend"`` (the same callbacks on each).
        lr: the per-step learning rates given to the optimizer (list, numpy array or Tensor),
            or one number; the epoch lines print the current one.
        is_saving_checkpoint (bool): also save checkpoints (CRC-checked, at most 10 kept).
        save_checkpoint_epochs (int): save every this many epochs.
        step_size (int): steps per epoch, ``dataset.get_dataset_size()``.
        prefix (str): checkpoint file name prefix. Default ``"{prefix}"``.
        directory (str): folder for the checkpoints. Default: the current directory.

    Returns:
        list[Callback]: a :class:`LossTimeMonitor`, then a :class:`ModelCheckpoint` if saving.

    Raises:
        ValueError: an unknown ``device_target``, or checkpoint intervals below 1.
        TypeError: non-integer checkpoint intervals.

    Example:
        >>> from tinyms.callbacks import {name}
        >>> from tinyms.optimizers import warmup_cosine_lr
        >>> lr = warmup_cosine_lr(0.01, total_steps=10 * 1563, warmup_steps=500)
        >>> callbacks = {name}("CPU", lr, True, save_checkpoint_epochs=1, step_size=1563)
    """


def _family_cb(name, what, default_prefix):
    def build(device_target, lr, is_saving_checkpoint, save_checkpoint_epochs, step_size, *,
              prefix=default_prefix, directory=None):
        return _zoo_cb(prefix, device_target, lr, is_saving_checkpoint, save_checkpoint_epochs, step_size,
                       directory)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = _CB_DOC.format(what=what, name=name, prefix=default_prefix)
    return build


# The seed's MobileNetV2 callbacks wrote "mobilenetv2_cifar10-<epoch>_<step>.ckpt"; kept.
mobilenetv2_cb = _family_cb("mobilenetv2_cb", "MobileNetV2", "mobilenetv2_cifar10")
lenet5_cb = _family_cb("lenet5_cb", "LeNet-5", "lenet5")
alexnet_cb = _family_cb("alexnet_cb", "AlexNet", "alexnet")
vgg_cb = _family_cb("vgg_cb", "the VGG networks", "vgg")
resnet_cb = _family_cb("resnet_cb", "the ResNets", "resnet")
densenet_cb = _family_cb("densenet_cb", "the DenseNets", "densenet")

__all__ = _FROM_MINDSPORE + ["CheckpointConfig", "ModelCheckpoint", "History", "CSVLogger", "LossTimeMonitor",
                             "mobilenetv2_cb", "lenet5_cb", "alexnet_cb", "vgg_cb", "resnet_cb", "densenet_cb"]
