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
- ``EarlyStopping`` and ``ReduceLROnPlateau`` are TinyMS's own (MindSpore's positional order):
  they watch the names ``History`` records (``loss``, ``val_loss``, ``val_<metric>``; MindSpore's
  ``eval_loss`` and bare metric names are aliases), in ``tinyms.model.Model.train`` and in
  ``mindspore.train.Model.train`` alike; ``ModelCheckpoint(monitor=...)`` keeps the best k epochs.

Example:
    >>> from tinyms.callbacks import ModelCheckpoint, CheckpointConfig, LossMonitor
    >>> ckpt = ModelCheckpoint(prefix="lenet5", directory="ckpt",
    ...                        config=CheckpointConfig(save_checkpoint_steps=100, keep_checkpoint_max=3))
    >>> callbacks = [ckpt, LossMonitor(per_print_times=100)]
"""

import collections
import contextlib
import os
import time

import numpy as np
from mindspore import train as _train

from . import _monitor
from ._checks import positive_int
from ._fileio import FILE_MODE as _FILE_MODE
from .model import history as _history_module
from .model._loop import LoopCallback
from .model.history import History

_FROM_MINDSPORE = ["Callback", "RunContext", "LossMonitor", "TimeMonitor", "LearningRateScheduler",
                   "LambdaCallback", "SummaryCollector", "OnRequestExit", "BackupAndRestore"]

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
    """MindSpore's ``ModelCheckpoint`` writing CRC-checked, owner-writable files; or the best k epochs.

    Without ``monitor`` it saves as MindSpore's does: every ``config.save_checkpoint_steps``
    steps, keeping the last ``config.keep_checkpoint_max`` files. With ``monitor`` it saves at the
    end of an epoch instead, when that epoch's value of ``monitor`` ranks among the best
    ``save_best_k`` seen in this run, and deletes the file that drops out of the ranking, so the
    folder keeps exactly the best k epochs, named
    ``<prefix>-best-epoch<E>-<monitor>=<value>.ckpt``. Every file carries a CRC-32, is written
    to a temporary name, fsync'ed and renamed (mode 0644), and holds the network's weights and
    the optimizer's state, like the periodic files.

    Args:
        prefix (str): file name prefix. Default ``"CKP"``.
        directory (str): folder for the files. Default: the working directory when the callback is made.
        config (CheckpointConfig): when to save and how many to keep (periodic saving). Default:
            ``tinyms.callbacks.CheckpointConfig()`` (CRC on).
        monitor (str): keep the best epochs by this value, a name ``History`` records
            (``"val_loss"``, ``"val_accuracy"``, ``"loss"``; MindSpore's ``"eval_loss"`` and bare
            metric names such as ``"accuracy"`` work too). Default None: periodic saving.
        save_best_k (int): how many of the best epochs to keep. Default 1 (with ``monitor``).
        mode (str): ``"min"`` (lower is better), ``"max"``, or ``"auto"``: max for accuracy-like
            names, min for losses and errors.

    Attributes:
        best_k (list[RankedCheckpoint]): with ``monitor``, the files kept, best first, each a
            ``(path, epoch, value)`` named tuple.
        best_checkpoint (str): with ``monitor``, the path of the best file so far (None before
            the first epoch ends).

    Raises:
        ValueError: ``save_best_k`` or ``mode`` without ``monitor``, or an unknown ``mode``.
        UnknownNameError: at the end of the first epoch, ``monitor`` names no recorded value
            (the message lists those there are).

    Example:
        >>> import os
        >>> from tinyms.callbacks import ModelCheckpoint
        >>> from tinyms.data import MnistDataset, sample_dataset
        >>> from tinyms.model import Model, lenet5
        >>> from tinyms.vision import mnist_transform
        >>> path = sample_dataset("mnist")
        >>> train_ds = mnist_transform.apply_ds(MnistDataset(path, usage="train", num_samples=320))
        >>> test_ds = mnist_transform.apply_ds(MnistDataset(path, usage="test", num_samples=200), is_training=False)
        >>> cb = ModelCheckpoint(prefix="lenet5", directory="ckpt")           # every 1 step, the last 5
        >>> best = ModelCheckpoint(prefix="lenet5", directory="best", monitor="val_loss", save_best_k=2)
        >>> model = Model(lenet5()).compile("cross_entropy", "momentum", ["accuracy"])
        >>> history = model.train(3, train_ds, callbacks=[best], valid_dataset=test_ds, verbose=0)
        >>> len(os.listdir("best")), [c.epoch for c in best.best_k] == sorted(
        ...     history.epoch, key=lambda e: history.history["val_loss"][e - 1])[:2]
        (2, True)
        >>> best.best_checkpoint == best.best_k[0].path
        True
    """

    def __init__(self, prefix="CKP", directory=None, config=None, *, monitor=None, save_best_k=None, mode="auto"):
        # MindSpore's default folder is the working directory of the moment MindSpore was imported;
        # TinyMS takes the working directory of the moment the callback is made
        super().__init__(prefix, os.getcwd() if directory is None else directory,
                         config if config is not None else CheckpointConfig())
        if monitor is None:
            if save_best_k is not None or mode != "auto":
                raise ValueError("save_best_k and mode rank epochs by a monitored value: pass monitor= too, "
                                 "e.g. ModelCheckpoint(..., monitor='val_loss', save_best_k=3)")
            self.monitor = None
        else:
            self.monitor = _monitor_name(monitor, "ModelCheckpoint")
        self.save_best_k = positive_int(1 if save_best_k is None else save_best_k, "save_best_k", 3)
        self.mode = _monitor.resolve_mode(mode, self.monitor) if self.monitor else None
        self.best_k = []
        self._key = None
        self._steps = _monitor.StepLosses()

    @property
    def best_checkpoint(self):
        return self.best_k[0].path if self.best_k else None

    def _fix_mode(self):
        path = self.latest_ckpt_file_name
        if path:
            with contextlib.suppress(OSError):
                os.chmod(path, _FILE_MODE)

    def _save_ckpt(self, cb_params, force_to_save=False):
        self._saving_params = cb_params  # read by _append_dict_content, just before a file is written
        super()._save_ckpt(cb_params, force_to_save)

    def _append_dict_content(self, epoch_num, step_num):
        # Each file carries the training state (step, random generator states, data position)
        # that Model.train(..., resume_from=file) restores, and how the network was built (what
        # tinyms.model.load rebuilds); computed only when a file is written.
        super()._append_dict_content(epoch_num, step_num)
        from .model._checkpoint import META_PREFIX
        from .model._state import STATE_KEY, state_json
        if not getattr(self, "_own_append_dict", False):  # never write into the config's dict
            self._append_dict, self._own_append_dict = dict(self._append_dict), True
        params = getattr(self, "_saving_params", None)
        self._append_dict[STATE_KEY] = state_json(params)
        for key, value in self._network_metadata(params).items():
            self._append_dict[META_PREFIX + key] = value

    def _network_metadata(self, params):
        """What the files record about the saved network (the config's ``saved_network`` if set)."""
        from .model import _checkpoint
        network = self._config.saved_network
        if network is None:
            network = _monitor.field(params, "network")
        return _checkpoint.network_metadata(network) if network is not None else {}

    def on_train_begin(self, run_context):
        super().on_train_begin(run_context)
        self._key = None
        self._steps.reset()

    def on_train_step_end(self, run_context):
        if self.monitor is not None:  # the best-k files replace periodic saving
            if self.monitor == "loss":
                self._steps.add(run_context.original_args())
            return
        super().on_train_step_end(run_context)
        self._fix_mode()

    def on_train_epoch_end(self, run_context):
        super().on_train_epoch_end(run_context)
        if self.monitor is None:
            return
        params = run_context.original_args()
        logs = _monitor.epoch_logs(params, self._steps)
        self._steps.reset()
        if self._key is None:
            self._key = _monitor.resolve_monitor(self.monitor, logs, "ModelCheckpoint")
        value = logs.get(self._key)
        if value is None or not np.isfinite(value):
            return
        worst = self.best_k[-1].value if len(self.best_k) >= self.save_best_k else None
        if not _monitor.is_improvement(value, worst, self.mode, 0.0):
            return
        epoch = int(_monitor.field(params, "cur_epoch_num") or 0)
        path = self._save_ranked(params, epoch, value)
        self.best_k.append(RankedCheckpoint(path, epoch, value))
        self.best_k.sort(key=lambda r: (r.value if self.mode == "min" else -r.value, r.epoch))
        for dropped in self.best_k[self.save_best_k:]:
            if dropped.path != path:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(dropped.path)
        del self.best_k[self.save_best_k:]

    def _save_ranked(self, params, epoch, value):
        """Write this epoch's best-k file (weights and optimizer state); return its path."""
        from .model import _checkpoint
        directory = self._directory_func(params) if self._directory_func else self._directory
        prefix = self._prefix_func(params) if self._prefix_func else self._prefix
        path = os.path.join(directory, f"{prefix}-best-epoch{epoch}-{self._key}={value:.6g}.ckpt")
        network = self._config.saved_network or _monitor.field(params, "train_network")
        meta = {"epoch": epoch, "monitor": self._key, "value": float(value)}
        meta.update(self._network_metadata(params))
        state = _monitor.field(params, "train_state")
        if hasattr(state, "to_json"):  # TinyMS's loop: the file can resume training too
            meta["train_state"] = state.to_json()
        path = _checkpoint.save_checkpoint(network, path, metadata=meta)
        self._latest_ckpt_file_name = path
        return path

    def on_train_end(self, run_context):
        if self.monitor is not None:
            return
        super().on_train_end(run_context)
        self._fix_mode()


RankedCheckpoint = collections.namedtuple("RankedCheckpoint", ["path", "epoch", "value"])
RankedCheckpoint.__doc__ = "One file ``ModelCheckpoint(monitor=...)`` keeps: its path, epoch and monitored value."


def _monitor_name(monitor, owner):
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{owner}(monitor=...) takes a name History records, such as 'val_loss', "
                        f"'val_accuracy' or 'loss'; got {monitor!r}")
    return monitor


class _Monitoring(_train.Callback):
    """Shared by the callbacks that act on a monitored per-epoch value."""

    _owner = "Callback"

    def __init__(self, monitor, mode, min_delta, verbose):
        super().__init__()
        self.monitor = _monitor_name(monitor, self._owner)
        self.mode = _monitor.resolve_mode(mode, self.monitor)
        self.min_delta = _monitor.check_number(min_delta, "min_delta", minimum=0.0)
        self.verbose = bool(verbose)
        self._key = None
        self._steps = _monitor.StepLosses()

    def on_train_begin(self, run_context):
        self._key = None
        self._steps.reset()

    def on_train_epoch_begin(self, run_context):
        self._steps.reset()

    def on_train_step_end(self, run_context):
        if self.monitor == "loss":  # only the training loss is computed from the steps
            self._steps.add(run_context.original_args())

    def _current(self, params):
        """This epoch's monitored value (None when it was not recorded this epoch)."""
        logs = _monitor.epoch_logs(params, self._steps)
        self._steps.reset()
        if self._key is None:
            self._key = _monitor.resolve_monitor(self.monitor, logs, self._owner)
        return logs.get(self._key)

    def _say(self, text):
        if self.verbose:
            print(f"{self._owner}: {text}", flush=True)


class EarlyStopping(_Monitoring):
    """Stop training when a monitored value has stopped improving.

    After each epoch the monitored value is compared with the best so far; an epoch that does
    not beat it by more than ``min_delta`` counts as a miss, an improvement resets the count, and
    ``patience`` misses in a row stop training (at the end of that epoch). With
    ``restore_best_weights`` the network's weights of the best epoch are copied when it ends and
    put back when training ends. The positional order is ``mindspore.train.EarlyStopping``'s.

    Args:
        monitor (str): a name ``History`` records: ``"val_loss"`` (default; needs
            ``valid_dataset=``), ``"val_<metric>"`` or ``"loss"``. MindSpore's ``"eval_loss"``
            and bare metric names (``"accuracy"`` for ``"val_accuracy"``) work too.
        min_delta (float): the smallest change that counts as an improvement, 0 or more.
        patience (int): how many epochs without improvement to allow; 0 stops at the first.
        verbose (bool): print a line when stopping and when restoring weights.
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names such as
            ``val_accuracy``, min for losses).
        baseline (float): a value to beat: epochs that do not beat it count as misses even
            at the start. Default None.
        restore_best_weights (bool): end training with the weights of the best epoch (none
            are restored when no epoch beat ``baseline``).

    Attributes:
        best (float): the best value seen. best_epoch (int): its epoch.
        stopped_epoch (int): the epoch training stopped at, None when it ran to the end.

    Raises:
        UnknownNameError: at the end of the first epoch, ``monitor`` names no recorded value
            (the message lists those there are).

    Example:
        >>> from tinyms.callbacks import EarlyStopping
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> # model.train(50, train_ds, callbacks=[stop], valid_dataset=test_ds)
    """

    _owner = "EarlyStopping"

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=False, mode="auto",
                 baseline=None, restore_best_weights=False):
        super().__init__(monitor, mode, min_delta, verbose)
        self.patience = _checks_non_negative(patience, "patience")
        self.baseline = None if baseline is None else _monitor.check_number(baseline, "baseline")
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.best = self.baseline
        self.best_epoch = None
        self.stopped_epoch = None
        self._best_weights = None

    def on_train_begin(self, run_context):
        super().on_train_begin(run_context)
        self._reset()

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        value = self._current(params)
        epoch = int(_monitor.field(params, "cur_epoch_num") or 0)
        if value is None:
            return
        if _monitor.is_improvement(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = _monitor.snapshot(_network_of(params))
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            run_context.request_stop()
            self._say(f"stopping at epoch {epoch}: {self._key} has not improved for {self.wait} "
                      f"epoch(s) (best {self.best:.6g} at epoch {self.best_epoch})")

    def on_train_end(self, run_context):
        if self.restore_best_weights and self._best_weights is not None:
            _monitor.restore(self._best_weights)
            self._say(f"restored the weights of epoch {self.best_epoch} ({self._key} {self.best:.6g})")


class ReduceLROnPlateau(_Monitoring):
    """Lower the learning rate when a monitored value has stopped improving.

    ``patience`` epochs in a row without an improvement larger than ``min_delta`` multiply the
    optimizer's learning rate by ``factor`` (never below ``min_lr``); then ``cooldown`` epochs
    pass before misses count again. The rate is the optimizer's ``learning_rate`` Parameter
    (one per parameter group), so the optimizer must have a constant rate, not a per-step
    schedule. The positional order is ``mindspore.train.ReduceLROnPlateau``'s.

    Args:
        monitor (str): a name ``History`` records: ``"val_loss"`` (default; needs
            ``valid_dataset=``), ``"val_<metric>"`` or ``"loss"`` (MindSpore's names work too).
        factor (float): the multiplier, between 0 and 1.
        patience (int): epochs without improvement before lowering the rate.
        verbose (bool): print a line each time the rate changes.
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names).
        min_delta (float): the smallest change that counts as an improvement.
        cooldown (int): epochs to wait after a reduction before counting misses again.
        min_lr (float): the rate is never lowered below this.

    Attributes:
        reductions (list[tuple]): ``(epoch, old_lr, new_lr)`` for each change (first group's rate).

    Raises:
        LearningRateError: when training begins, the optimizer follows a per-step schedule.
        UnknownNameError: at the end of the first epoch, ``monitor`` names no recorded value.

    Example:
        >>> from tinyms.callbacks import ReduceLROnPlateau
        >>> plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)
        >>> # model.train(30, train_ds, callbacks=[plateau], valid_dataset=test_ds)
    """

    _owner = "ReduceLROnPlateau"

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=False, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta, verbose)
        self.factor = _monitor.check_number(factor, "factor", minimum=0.0, below=1.0, allow_equal=False)
        self.patience = _checks_non_negative(patience, "patience")
        self.cooldown = _checks_non_negative(cooldown, "cooldown")
        self.min_lr = _monitor.check_number(min_lr, "min_lr", minimum=0.0)
        self.reductions = []
        self._lrs = None
        self.wait = self.cooldown_counter = 0
        self.best = None

    def on_train_begin(self, run_context):
        super().on_train_begin(run_context)
        self._lrs = _monitor.lr_parameters(_monitor.field(run_context.original_args(), "optimizer"),
                                           "ReduceLROnPlateau")
        self.wait = self.cooldown_counter = 0
        self.best = None

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        value = self._current(params)
        if value is None:
            return
        improved = _monitor.is_improvement(value, self.best, self.mode, self.min_delta)
        if improved:
            self.best = value
        if self.cooldown_counter > 0:  # an epoch of the cooldown: misses do not count
            self.cooldown_counter -= 1
            return
        if improved:
            self.wait = 0
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        self.wait = 0
        if self._lrs is None:
            self._lrs = _monitor.lr_parameters(_monitor.field(params, "optimizer"), "ReduceLROnPlateau")
        changed = None
        for param in self._lrs:
            old = _monitor.get_lr(param)
            new = max(old * self.factor, self.min_lr)
            if old - new > 1e-12 * max(abs(old), 1e-30):
                _monitor.set_lr(param, new)
                changed = changed or (old, _monitor.get_lr(param))
        if changed is not None:
            epoch = int(_monitor.field(params, "cur_epoch_num") or 0)
            self.reductions.append((epoch, changed[0], changed[1]))
            self.cooldown_counter = self.cooldown
            self._say(f"epoch {epoch}: {self._key} has not improved for {self.patience} epoch(s); "
                      f"learning rate {changed[0]:.6g} -> {changed[1]:.6g}")


def _checks_non_negative(value, name):
    from ._checks import non_negative_int
    return non_negative_int(value, name, 2)


def _network_of(params):
    network = _monitor.field(params, "network") or _monitor.field(params, "train_network")
    if network is None:
        raise RuntimeError("EarlyStopping(restore_best_weights=True) needs the network in the callback "
                           "fields (run_context.original_args().network)")
    return network


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


class LossTimeMonitorV2(LossTimeMonitor):
    """Print every step's loss and time, and each epoch's time and mean loss (TinyMS 0.3's name).

    A step line reads ``epoch 1/5, step 12/300: loss 0.4567 (mean 0.4701), 85.2 ms``; the epoch
    line is :class:`LossTimeMonitor`'s. Printing a step's loss waits for that step to finish, so
    steps no longer overlap with reading the next batch; use :class:`LossTimeMonitor` (one line
    per epoch) where that matters.

    Example:
        >>> from tinyms.callbacks import LossTimeMonitorV2
        >>> monitor = LossTimeMonitorV2()   # model.train(epochs, train_ds, callbacks=[monitor])
    """

    def __init__(self):
        super().__init__()

    def on_train_step_begin(self, run_context):
        self._step_start = time.perf_counter()

    def on_train_step_end(self, run_context):
        super().on_train_step_end(run_context)  # reads the loss back: the step has finished
        args = run_context.original_args()
        millis = (time.perf_counter() - self._step_start) * 1000
        steps = max(int(args.batch_num), 1)
        print(f"epoch {args.cur_epoch_num}/{args.epoch_num}, step {(args.cur_step_num - 1) % steps + 1}/{steps}: "
              f"loss {self.losses[-1]:.4f} (mean {np.mean(self.losses):.4f}), {millis:.1f} ms", flush=True)


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
        >>> from tinyms.data import MnistDataset, sample_dataset
        >>> from tinyms.model import Model, lenet5
        >>> from tinyms.vision import mnist_transform
        >>> logger = CSVLogger("runs/lenet5/log.csv")
        >>> train_ds = mnist_transform.apply_ds(MnistDataset(sample_dataset("mnist"), usage="train",
        ...                                                  num_samples=320))
        >>> model = Model(lenet5()).compile("cross_entropy", "momentum")
        >>> history = model.train(2, train_ds, callbacks=[logger], verbose=0)   # with valid_dataset=: val_ columns
        >>> lines = open("runs/lenet5/log.csv").read().splitlines()
        >>> lines[0], len(lines)
        ('epoch,loss,lr,seconds', 3)
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

__all__ = _FROM_MINDSPORE + ["EarlyStopping", "ReduceLROnPlateau", "CheckpointConfig", "ModelCheckpoint", "History", "CSVLogger", "LossTimeMonitor",
                             "LossTimeMonitorV2",
                             "mobilenetv2_cb", "lenet5_cb", "alexnet_cb", "vgg_cb", "resnet_cb", "densenet_cb",
                             "LoopCallback"]
