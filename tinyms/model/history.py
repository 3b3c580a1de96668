"""What :meth:`tinyms.model.Model.train` returns: per-epoch and per-step loss, metrics, learning rate, time."""

import csv
import io
import math
import os
import time

import numpy as np
from mindspore.train import Callback

__all__ = ["History"]

#: The per-step record's columns, in order.
STEP_KEYS = ("epoch", "step", "loss", "lr", "time")


def _loss_value(outputs):
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0] if outputs else None
    if outputs is None:
        return None
    value = outputs.asnumpy() if hasattr(outputs, "asnumpy") else np.asarray(outputs)
    return float(np.mean(value))


def _first_schedule(learning_rate):
    """The optimizer's first learning-rate holder (a Parameter or a schedule cell)."""
    if isinstance(learning_rate, (tuple, list)) or type(learning_rate).__name__ in ("CellList", "ParameterTuple"):
        items = list(learning_rate)
        return items[0] if items else None
    return learning_rate


def _f32(value):
    """A float32 rate as the shortest decimal that reads back as the same float32 (0.003, not 0.0030000000261)."""
    return float(str(np.float32(value)))


def learning_rates(optimizer, count):
    """The learning rates the optimizer used for its last ``count`` steps, without changing it.

    MindSpore optimizers count their steps in ``global_step`` and compute the rate of step ``k``
    from a constant (a Parameter, which callbacks such as ``ReduceLROnPlateau`` may change), a
    per-step array, or a ``LearningRateSchedule`` cell. With parameter groups, the first group's
    rate is reported.

    Args:
        optimizer: a ``mindspore.nn.Optimizer`` (or None).
        count (int): how many of the most recent steps.

    Returns:
        list[float]: ``count`` rates, oldest first; empty when the rate cannot be read.
    """
    if optimizer is None or count <= 0:
        return []
    holder = _first_schedule(getattr(optimizer, "learning_rate", None))
    if holder is None:
        return []
    try:
        done = int(np.asarray(optimizer.global_step.asnumpy()).ravel()[0])
    except (AttributeError, IndexError, TypeError, ValueError, RuntimeError):
        done = count
    first = max(done - count, 0)
    indices = np.arange(first, first + count)
    inner = getattr(holder, "learning_rate", None)  # MindSpore's wrappers keep the value here
    if type(holder).__name__ == "_ConvertToCell":
        holder = inner
    elif type(holder).__name__ == "_IteratorLearningRate" and inner is not None:
        table = np.asarray(inner.asnumpy()).ravel()
        # Gather past the end of the table: report the last rate rather than guess
        return [_f32(table[min(i, len(table) - 1)]) for i in indices]
    if hasattr(holder, "asnumpy"):  # a constant rate
        value = _f32(np.asarray(holder.asnumpy()).ravel()[0])
        return [value] * count
    if callable(holder):  # a LearningRateSchedule: rate = schedule(step)
        from mindspore import Tensor
        try:
            return [_f32(np.asarray(holder(Tensor(np.array([i], np.int32))).asnumpy()).ravel()[0])
                    for i in indices]
        except (RuntimeError, TypeError, ValueError):
            return []
    return []


def _field(params, name):
    """A callback field, or None (MindSpore's parameter dict raises KeyError for a missing one)."""
    if isinstance(params, dict):
        return params.get(name)
    return getattr(params, name, None)


def epoch_logs(params, losses):
    """An epoch's logs from MindSpore callback fields, as a trainer other than TinyMS's leaves them.

    ``loss`` is the mean of the step ``losses``, ``lr`` the rate of the last step, and the
    validation results (``eval_results``) become ``val_loss`` / ``val_<metric>``.
    """
    logs = {"loss": float(np.mean(losses)) if len(losses) else float("nan")}
    rates = learning_rates(_field(params, "optimizer"), 1)
    if rates:
        logs["lr"] = rates[0]
    for key, value in (_field(params, "eval_results") or {}).items():
        name = "loss" if key == "eval_loss" else key
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            logs[f"val_{name}"] = float(value)
    return logs


def _csv_value(value):
    if isinstance(value, float) and math.isnan(value):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class History(Callback):
    """Training record, Keras style: per epoch and per step; also a callback.

    ``Model.train`` returns one. Passed in ``callbacks=`` it is the object ``Model.train``
    fills and returns; passed to ``mindspore.train.Model.train`` it records the same keys
    from MindSpore's callback fields, so there is one ``History`` in TinyMS
    (``tinyms.callbacks.History`` is this class).

    Every key of :attr:`history` has one value per epoch (NaN where an epoch did not report
    it), so the record is a table: :meth:`to_csv` writes it and :meth:`plot` draws it.

    Attributes:
        epoch (list[int]): the epochs run, 1-based.
        history (dict[str, list[float]]): ``"loss"`` (mean training loss of each epoch),
            ``"lr"`` (the learning rate of the epoch's last step) and, when a validation
            dataset was given, ``"val_loss"`` and ``"val_<metric>"``.
        seconds (list[float]): wall time of each epoch.
        steps (dict[str, list]): one entry per training step under the keys ``"epoch"``,
            ``"step"`` (global step number, 1-based), ``"loss"``, ``"lr"`` and ``"time"``
            (seconds from the start of the step's epoch to the end of the step, as the host
            saw it; NaN when unknown), plus any other key a step reported.
        stopped_early (bool): a callback asked training to stop before the last epoch.

    Example:
        >>> from tinyms.model import History
        >>> with open("log.csv", "w") as f:        # a run's record (history = model.train(...) gives one)
        ...     _ = f.write("epoch,loss,lr,val_loss,seconds\\n1,0.9,0.01,0.8,2.5\\n2,0.4,0.01,0.6,2.4\\n")
        >>> history = History.from_csv("log.csv")
        >>> history.epoch, list(history.history), history.last("val_loss")
        ([1, 2], ['loss', 'lr', 'val_loss'], 0.6)
    """

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}
        self.seconds = []
        self.steps = {key: [] for key in STEP_KEYS}
        self.stopped_early = False
        self._losses = []
        self._started = None

    # ---------------------------------------------------------------- recording
    def _record(self, epoch, logs, seconds):
        """Append one epoch: ``logs`` maps names to numbers; every key stays one value per epoch."""
        done = len(self.epoch)
        self.epoch.append(int(epoch))
        self.seconds.append(float(seconds))
        for key, value in logs.items():
            if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
                continue
            self.history.setdefault(key, [float("nan")] * done).append(float(value))
        for values in self.history.values():
            if len(values) == done:
                values.append(float("nan"))

    def _record_step(self, epoch, step, logs, time=None):
        """Append one training step.

        Args:
            epoch (int): the step's epoch (1-based).
            step (int): the global step number (1-based).
            logs (dict): ``{"loss": float, "lr": float, ...}``; missing keys are NaN.
            time (float): seconds from the start of the epoch to the end of the step
                (``logs["time"]`` is used when this is None).
        """
        done = len(self.steps["epoch"])
        row = dict(logs)
        if time is not None:
            row["time"] = time
        row["epoch"], row["step"] = int(epoch), int(step)
        for key, value in row.items():
            if key not in self.steps:
                self.steps[key] = [float("nan")] * done
            self.steps[key].append(value if key in ("epoch", "step") else float(value))
        for values in self.steps.values():
            if len(values) == done:
                values.append(float("nan"))

    def last(self, key):
        """The value of ``key`` after the last epoch (``KeyError`` names the keys there are)."""
        if key not in self.history:
            raise KeyError(f"no {key!r} in this history; it has: {', '.join(self.history) or 'nothing'}")
        return self.history[key][-1]

    # ------------------------------------------------------------ export/import
    def to_dict(self):
        """The whole record as plain Python lists (JSON-serialisable).

        Returns:
            dict: ``{"epoch": [...], "history": {...}, "seconds": [...], "steps": {...}}``.

        Example:
            >>> from tinyms.model import History
            >>> with open("history.csv", "w") as f:
            ...     _ = f.write("epoch,loss,val_accuracy,seconds\\n1,0.9,0.71,2.5\\n2,0.4,0.88,2.4\\n")
            >>> History.from_csv("history.csv").to_dict()["history"]
            {'loss': [0.9, 0.4], 'val_accuracy': [0.71, 0.88]}
        """
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "seconds": list(self.seconds), "steps": {k: list(v) for k, v in self.steps.items()}}

    def to_csv(self, path, steps=False, separator=","):
        """Write the record as a CSV table, atomically.

        Epoch rows have the columns ``epoch``, every key of :attr:`history` in recording order,
        then ``seconds``; with ``steps=True`` the rows are the training steps instead (columns
        ``epoch, step, loss, lr, time`` and any other step key). Numbers are written in full
        precision; a missing value (NaN) is an empty cell. The file is written to a temporary
        name, fsync'ed and renamed, so it is complete or absent.

        Args:
            path (str): the file to write (parent folders are created).
            steps (bool): write the per-step record instead of the per-epoch one.
            separator (str): the column separator, one character.

        Returns:
            str: ``path``.

        Raises:
            ValueError: nothing has been recorded, or ``separator`` is not one character.

        Example:
            >>> from tinyms.model import History
            >>> with open("history.csv", "w") as f:
            ...     _ = f.write("epoch,loss,seconds\\n1,0.9,2.5\\n2,0.4,2.4\\n")
            >>> History.from_csv("history.csv").to_csv("runs/lenet5/history.csv")
            'runs/lenet5/history.csv'
            >>> print(open("runs/lenet5/history.csv").read().strip())
            epoch,loss,seconds
            1,0.9,2.5
            2,0.4,2.4
        """
        from .._fileio import atomic_file
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        header, rows = self._table(steps)
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[_csv_value(v) for v in row] for row in rows])
        path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with atomic_file(path, "w", encoding="utf-8", newline="") as f:
            f.write(buffer.getvalue())
        return path

    def _table(self, steps=False):
        if steps:
            if not self.steps["epoch"]:
                raise ValueError("this History has no steps recorded: train with Model.train, or pass it "
                                 "as a callback to mindspore.train.Model.train, before writing steps")
            header = list(self.steps)
            return header, list(zip(*(self.steps[k] for k in header)))
        if not self.epoch:
            raise ValueError("this History is empty: it fills during model.train(...); write it after "
                             "at least one epoch")
        header = ["epoch", *self.history, "seconds"]
        columns = [self.epoch, *self.history.values(), self.seconds]
        return header, list(zip(*columns))

    @classmethod
    def from_csv(cls, path, separator=","):
        """Read a History back from an epoch table written by :meth:`to_csv` or ``CSVLogger``.

        Args:
            path (str): the CSV file (columns ``epoch``, keys..., optionally ``seconds``).
            separator (str): the column separator.

        Returns:
            History: with :attr:`epoch`, :attr:`history` and :attr:`seconds` filled (no steps).

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file has no ``epoch`` column or a value that is not a number.

        Example:
            >>> from tinyms.model import History
            >>> with open("log.csv", "w") as f:             # e.g. written by CSVLogger
            ...     _ = f.write("epoch,loss,val_loss,seconds\\n1,0.9,0.8,2.5\\n2,0.4,0.6,2.4\\n")
            >>> h = History.from_csv("log.csv")
            >>> h.epoch, h.history["val_loss"], h.last("loss"), h.seconds
            ([1, 2], [0.8, 0.6], 0.4, [2.5, 2.4])
        """
        path = os.fspath(path)
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=separator)
            header = next(reader, None)
            rows = [row for row in reader if row]
        if not header or header[0] != "epoch":
            raise ValueError(f"{path!r} is not a History table: its first column must be 'epoch' "
                             f"(write one with history.to_csv(path) or tinyms.callbacks.CSVLogger)")
        history = cls()
        for number, row in enumerate(rows, start=2):
            try:
                values = [float(v) if v != "" else float("nan") for v in row]
            except ValueError as err:
                raise ValueError(f"{path!r} line {number}: {err}; every cell must be a number") from err
            record = dict(zip(header, values))
            seconds = record.pop("seconds", float("nan"))
            epoch = record.pop("epoch")
            history._record(int(epoch), record, seconds)
        return history

    # ------------------------------------------------------------------ drawing
    def plot(self, path=None, metrics=None, figsize=None, dpi=100):
        """Draw the training curves with matplotlib: to a PNG file, or on screen.

        The first panel shows the loss per epoch (training, and validation when recorded) with
        the per-step training loss as a faint line behind it; then one panel per metric
        (training and validation where both exist), and a learning-rate panel when the rate
        changed during training. The x axis is the epoch (step ``i`` of ``n`` in epoch ``e``
        sits at ``e - 1 + i/n``).

        Args:
            path (str): the image file; the format follows the suffix (``.png``, ``.svg``,
                ``.pdf``; none means ``.png`` is appended). It is written to a temporary name,
                fsync'ed and renamed. None shows the figure on screen instead.
            metrics (list[str]): the panels after the loss, by name (``"accuracy"``, ``"lr"``);
                default: every metric recorded.
            figsize (tuple): the figure's (width, height) in inches. Default: 5 x 4 inches per
                panel, side by side.
            dpi (int): dots per inch; a PNG is ``figsize * dpi`` pixels.

        Returns:
            str or matplotlib.figure.Figure: the path written, or the Figure shown when
            ``path`` is None.

        Raises:
            ValueError: nothing has been recorded, a metric name is not in the history (the
                message lists those that are), or the suffix is not one of the above.

        Example:
            >>> from tinyms.model import History
            >>> with open("log.csv", "w") as f:             # the record of an earlier run
            ...     _ = f.write("epoch,loss,val_loss,val_accuracy,seconds\\n"
            ...                 "1,0.9,0.8,0.71,2.5\\n2,0.4,0.6,0.88,2.4\\n3,0.3,0.5,0.9,2.4\\n")
            >>> History.from_csv("log.csv").plot("curves.png")
            'curves.png'
        """
        from .. import _plots
        if not self.epoch and not self.steps["epoch"]:
            raise ValueError("this History is empty: nothing to plot yet. It fills during "
                             "model.train(...); plot it after at least one epoch")
        return _plots.plot_history(self, path=path, metrics=metrics, figsize=figsize, dpi=dpi)

    # -- callback side, used when another trainer (mindspore.train.Model) drives it
    def on_train_epoch_begin(self, run_context):
        self._losses = []
        self._started = time.perf_counter()

    def on_train_step_end(self, run_context):
        params = run_context.original_args()
        value = _loss_value(_field(params, "net_outputs"))
        if value is None:
            return
        self._losses.append(value)
        rates = learning_rates(_field(params, "optimizer"), 1)
        elapsed = time.perf_counter() - self._started if self._started is not None else float("nan")
        self._record_step(int(params.cur_epoch_num), int(params.cur_step_num),
                          {"loss": value, "lr": rates[0] if rates else float("nan")}, elapsed)

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        logs = epoch_logs(params, self._losses)
        seconds = time.perf_counter() - self._started if self._started is not None else 0.0
        self._record(int(params.cur_epoch_num), logs, seconds)

    def __repr__(self):
        if not self.epoch:
            return "History(no epochs)"
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items())
        return f"History(epochs={len(self.epoch)}, {last})"
