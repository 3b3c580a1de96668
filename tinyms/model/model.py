"""The high-level :class:`Model`: compile, train, eval, predict, save, load, export."""

import copy
import os
import tempfile
import time

import numpy as np
import mindspore as ms
from mindspore import Tensor, nn
from mindspore.train.callback._callback import CallbackManager, InternalCallbackParam, RunContext

from .. import context as _context
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from .._text import first_line as _first_line
from ..errors import (CheckpointError, DatasetError, ExportError, InputShapeError,
                      NotCompiledError, UnknownNameError)
from ._progress import EpochProgress
from .history import History

__all__ = ["Model", "load"]

# Names an optimizer or a training wrapper adds to a checkpoint beside the network's own weights.
_TRAINING_STATE_PREFIXES = ("moments.", "moment1.", "moment2.", "accum.", "mean_grad.", "mean_square.",
                            "learning_rate", "momentum", "global_step", "beta1_power", "beta2_power",
                            "scale_sense", "current_iterator_step", "last_overflow_iterator_step",
                            "epoch_num", "step_num")

_EXPORT_SUFFIX = {"MINDIR": ".mindir", "ONNX": ".onnx"}


class Model:
    """Wraps a network with everything needed to train, evaluate and serve it.

    Training runs the network's compiled train step (``GRAPH_MODE`` unless you chose a mode
    with :func:`tinyms.context.set_context`) in TinyMS's own loop, which measured faster than
    ``mindspore.train.Model`` on CPU; MindSpore callbacks work in it unchanged.

    Args:
        network (Layer): the network to wrap, e.g. ``lenet5()``.

    Raises:
        TypeError: ``network`` is not a ``tinyms.layers.Layer``.

    Example:
        >>> from tinyms.model import Model, lenet5
        >>> model = Model(lenet5())
        >>> model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"])
        >>> # history = model.train(1, train_ds); model.eval(test_ds) -> {'loss': ..., 'accuracy': ...}
    """

    def __init__(self, network):
        if not isinstance(network, nn.Cell):
            raise TypeError(f"Model() takes a network (a tinyms.layers.Layer), got {type(network).__name__}")
        self.network = network
        self.loss_fn = None
        self.optimizer = None
        self.metrics = {}
        self._train_net = None
        self._eval_net = None

    # ------------------------------------------------------------------ compile
    def compile(self, loss_fn=None, optimizer=None, metrics=None, learning_rate=None):
        """Choose the loss, optimizer and metrics.

        Only ``metrics`` is needed to evaluate or predict with a loaded checkpoint; training
        needs ``loss_fn`` and ``optimizer``.

        Args:
            loss_fn: a loss instance or a name from ``tinyms.losses.LOSSES`` (``"cross_entropy"``...).
            optimizer: an optimizer instance or a name from ``tinyms.optimizers.OPTIMIZERS``
                (``"momentum"``, ``"adam"``, ``"sgd"``...).
            metrics: ``{name: Metric}``, or a list of names (``["accuracy"]``) and Metric instances.
            learning_rate (float): learning rate for an optimizer given by name.

        Returns:
            Model: this model, so calls can be chained.

        Raises:
            UnknownNameError: a loss, optimizer or metric name TinyMS does not know (the message
                lists the valid ones).
            ValueError: ``learning_rate`` given together with an optimizer instance.

        Example:
            >>> from tinyms.model import Model, lenet5
            >>> model = Model(lenet5()).compile("cross_entropy", "adam", ["accuracy"], learning_rate=1e-3)
        """
        if learning_rate is not None and optimizer is not None and not isinstance(optimizer, str):
            raise ValueError("learning_rate= applies to an optimizer given by name; an optimizer "
                             "instance already has its own learning rate")
        self.loss_fn = _losses.get(loss_fn) if loss_fn is not None else None
        self.optimizer = (_optimizers.get(optimizer, self.network.trainable_params(), learning_rate)
                          if optimizer is not None else None)
        self.metrics = _metrics.get(metrics)
        self._train_net = None
        self._eval_net = None
        return self

    # -------------------------------------------------------------------- train
    def train(self, epoch, train_dataset, callbacks=None, verbose=1, valid_dataset=None,
              dataset_sink_mode=False):
        """Train for ``epoch`` passes over ``train_dataset``.

        Args:
            epoch (int): number of epochs.
            train_dataset: a batched dataset yielding ``(data, label)``, e.g.
                ``mnist_transform.apply_ds(MnistDataset(...))``.
            callbacks: a ``tinyms.callbacks.Callback`` or a list of them (MindSpore's
                ModelCheckpoint, LossMonitor, TimeMonitor, EarlyStopping, History... work as in MindSpore).
            verbose (int): 0 silent, 1 a progress bar per epoch (one line per epoch when the
                output is not a terminal), 2 one line per epoch.
            valid_dataset: optional dataset evaluated after every epoch; its results appear in
                the history as ``val_loss`` / ``val_<metric>`` and as ``eval_loss`` / metric names
                to callbacks such as EarlyStopping.
            dataset_sink_mode (bool): accepted for MindSpore compatibility; the CPU backend has
                no sink mode, so it changes nothing.

        Returns:
            History: per-epoch ``loss`` (and validation results).

        Raises:
            NotCompiledError: ``compile`` has not set a loss and an optimizer.
            DatasetError: the dataset is empty or does not yield ``(data, label)``.
            InputShapeError: the data does not fit the network.

        Example:
            >>> history = model.train(1, train_ds)           # doctest: +SKIP
            >>> history.history["loss"]                       # doctest: +SKIP
            [0.23]
        """
        _check_positive_int(epoch, "epoch")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if self.loss_fn is None or self.optimizer is None:
            raise NotCompiledError(
                "train() needs a loss and an optimizer: call "
                "model.compile(loss_fn='cross_entropy', optimizer='momentum') first")
        steps = _dataset_size(train_dataset, "train_dataset")
        _context._apply_defaults()
        train_net = self._build_train_net()
        callbacks = _as_list(callbacks)

        cb_params = self._callback_params(epoch, steps, train_dataset, callbacks)
        run_context = RunContext(cb_params)
        history = History()
        iterator = train_dataset.create_tuple_iterator(num_epochs=epoch, do_copy=False)
        step_fn = None
        with CallbackManager(callbacks) as cbs:
            cbs.on_train_begin(run_context)
            for ep in range(1, epoch + 1):
                cb_params.cur_epoch_num = ep
                cbs.on_train_epoch_begin(run_context)
                progress = EpochProgress(verbose, ep, epoch, steps)
                started, losses = time.perf_counter(), []
                train_net.set_train(True)
                for batch in iterator:
                    cb_params.cur_step_num += 1
                    cb_params.train_dataset_element = batch
                    cbs.on_train_step_begin(run_context)
                    if step_fn is None:
                        step_fn = self._step_function(train_net, batch)
                        loss = _run_first(step_fn, batch)
                    else:
                        loss = step_fn(*batch)
                    cb_params.net_outputs = loss
                    # no read-back here: the next batch is fetched while this step still runs
                    losses.append(loss)
                    progress.step(loss)
                    cbs.on_train_step_end(run_context)
                    if run_context.get_stop_requested():
                        break
                n_steps = len(losses)
                logs = {"loss": float(np.mean([l.asnumpy() for l in losses])) if losses else float("nan")}
                if valid_dataset is not None:
                    results = self._evaluate(valid_dataset)
                    cb_params.eval_results = {("eval_loss" if k == "loss" else k): v for k, v in results.items()}
                    cb_params.metrics = {k: v for k, v in results.items() if k != "loss"}
                    logs.update({f"val_{k}": v for k, v in results.items()})
                    cb_params.mode = "train"
                seconds = time.perf_counter() - started
                progress.close(logs, seconds)
                cbs.on_train_epoch_end(run_context)
                history._record(ep, logs, seconds)
                if run_context.get_stop_requested():
                    history.stopped_early = ep < epoch or n_steps < steps
                    break
            cbs.on_train_end(run_context)
        return history

    def _callback_params(self, epoch, steps, train_dataset, callbacks):
        """The fields MindSpore's callbacks read from ``run_context.original_args()``."""
        cb_params = InternalCallbackParam()
        cb_params.train_network = self._train_net
        cb_params.network = self.network
        cb_params.epoch_num = epoch
        cb_params.batch_num = steps
        cb_params.cur_epoch_num = 0
        cb_params.cur_step_num = 0
        cb_params.mode = "train"
        cb_params.loss_fn = self.loss_fn
        cb_params.optimizer = self.optimizer
        cb_params.parallel_mode = ms.get_auto_parallel_context("parallel_mode")
        cb_params.device_number = 1
        cb_params.train_dataset = train_dataset
        cb_params.list_callback = callbacks
        cb_params.train_dataset_element = None
        cb_params.net_outputs = None
        cb_params.dataset_sink_mode = False
        cb_params.last_save_ckpt_step = None
        cb_params.latest_ckpt_file = None
        cb_params.loss_scale_mananger = None  # (sic) MindSpore's own spelling of this field
        cb_params.initial_step = 0
        return cb_params

    def _build_train_net(self):
        if self._train_net is None:
            self._train_net = nn.TrainOneStepCell(nn.WithLossCell(self.network, self.loss_fn), self.optimizer)
        return self._train_net

    def _step_function(self, train_net, batch):
        """Check the first batch and return the function that runs one training step on a batch."""
        if len(batch) != 2:
            raise DatasetError(f"train_dataset must yield (data, label) pairs, but its rows have "
                               f"{len(batch)} columns; map or project it to two columns first")
        self._check_input_shape(tuple(batch[0].shape), "training data")
        cast = _needs_label_cast(self.loss_fn, batch[1])
        if cast is None:
            return train_net

        def step(x, y, _cast=ms.ops.cast):
            return train_net(x, _cast(y, cast))
        return step

    # --------------------------------------------------------------------- eval
    def eval(self, dataset, verbose=0):
        """Evaluate on a batched ``(data, label)`` dataset.

        Args:
            dataset: e.g. ``mnist_transform.apply_ds(MnistDataset(test_dir), shuffle=False)``.
            verbose (int): 1 shows a progress bar (or one line when not a terminal).

        Returns:
            dict: ``{"loss": ..., "<metric>": ...}`` (loss only when a loss was compiled).

        Raises:
            NotCompiledError: neither metrics nor a loss were compiled.
            DatasetError: the dataset is empty or does not yield ``(data, label)``.

        Example:
            >>> model.eval(test_ds)                # doctest: +SKIP
            {'loss': 0.05, 'accuracy': 0.985}
        """
        if not self.metrics and self.loss_fn is None:
            raise NotCompiledError("eval() needs metrics: call model.compile(metrics=['accuracy']) first")
        return self._evaluate(dataset, verbose=verbose)

    def _evaluate(self, dataset, verbose=0):
        steps = _dataset_size(dataset, "eval dataset")
        _context._apply_defaults()
        if self._eval_net is None:
            self._eval_net = (nn.WithEvalCell(self.network, self.loss_fn) if self.loss_fn is not None
                              else self.network)
        net = self._eval_net
        net.set_train(False)
        for metric in self.metrics.values():
            metric.clear()
        progress = EpochProgress(verbose, 0, 0, steps)
        started, loss_sum, count, checked = time.perf_counter(), 0.0, 0, False
        for batch in dataset.create_tuple_iterator(num_epochs=1, do_copy=False):
            if not checked:
                if len(batch) != 2:
                    raise DatasetError(f"an eval dataset must yield (data, label) pairs, but its rows "
                                       f"have {len(batch)} columns")
                self._check_input_shape(tuple(batch[0].shape), "evaluation data")
                cast = _needs_label_cast(self.loss_fn, batch[1])
                checked = True
            data, label = batch
            if cast is not None:
                label = ms.ops.cast(label, cast)
            if self.loss_fn is not None:
                loss, logits, _ = net(data, label)
                n = data.shape[0]
                loss_sum += float(loss.asnumpy()) * n
                count += n
            else:
                logits = net(data)
            for metric in self.metrics.values():
                if isinstance(metric, _metrics.Loss):
                    metric.update(loss)
                else:
                    metric.update(logits, label)
            progress.step()
        results = {}
        if self.loss_fn is not None:
            results["loss"] = loss_sum / max(count, 1)
        results.update({name: _scalar(metric.eval()) for name, metric in self.metrics.items()})
        progress.close(results, time.perf_counter() - started)
        return results

    # ------------------------------------------------------------------ predict
    def predict(self, x):
        """Run the network on a batch.

        Args:
            x: a Tensor or numpy array of shape ``(N, *input_shape)``; floating numpy data is
                converted to float32.

        Returns:
            Tensor: the network's output, e.g. logits of shape (N, classes).

        Raises:
            InputShapeError: the input's shape does not fit the network (the message says what
                shape it takes and how to get there).

        Example:
            >>> import numpy as np
            >>> from tinyms.model import Model, lenet5
            >>> Model(lenet5()).predict(np.zeros((2, 1, 32, 32), np.float32)).shape
            (2, 10)
        """
        x = _as_tensor(x)
        self._check_input_shape(tuple(x.shape), "predict input")
        _context._apply_defaults()
        self.network.set_train(False)
        try:
            return self.network(x)
        except (RuntimeError, ValueError, TypeError) as err:
            raise InputShapeError(f"the network cannot run on an input of shape {tuple(x.shape)} "
                                  f"{x.dtype}: {_first_line(err)}") from err

    def _check_input_shape(self, shape, what):
        cfg = getattr(self.network, "default_cfg", None)
        if cfg is None:
            return
        expected = tuple(cfg.input_shape)
        if len(shape) == len(expected) + 1 and shape[1:] == expected:
            return
        net_name = type(self.network).__name__
        hint = ""
        if shape == expected:
            hint = " Add the batch dimension first: tinyms.expand_dims(x, 0)."
        elif cfg.transform:
            hint = (f" Preprocess each image with tinyms.vision.{cfg.transform} (it resizes and "
                    f"normalises to {expected}) and stack them into a batch.")
        raise InputShapeError(f"{net_name} takes {what} of shape (N, {', '.join(map(str, expected))}), "
                              f"got {shape}.{hint}")

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path):
        """Save the network's weights to a MindSpore checkpoint file, atomically.

        Args:
            path (str): file name; ``.ckpt`` is appended if missing. Parent folders are created.

        Returns:
            str: the path written.

        Example:
            >>> model.save_checkpoint("out/lenet5.ckpt")    # doctest: +SKIP
            'out/lenet5.ckpt'
        """
        path = os.fspath(path)
        if not path.endswith(".ckpt"):
            path += ".ckpt"
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ckpt", dir=folder)
        os.close(fd)
        try:
            ms.save_checkpoint(self.network, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    def load_checkpoint(self, path):
        """Load weights saved by :meth:`save_checkpoint` (or MindSpore's ModelCheckpoint).

        Optimizer state found in the file (saved by ModelCheckpoint) is loaded into the
        compiled optimizer, if any, and otherwise ignored.

        Args:
            path (str): the ``.ckpt`` file.

        Returns:
            str: the path loaded.

        Raises:
            CheckpointError: the file is missing, unreadable, or holds the weights of another
                network (the message names the parameters that are missing or differ in shape).

        Example:
            >>> model.load_checkpoint("out/lenet5.ckpt")    # doctest: +SKIP
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise CheckpointError(f"no checkpoint file at {path!r}: check the path, or write one "
                                  f"with model.save_checkpoint(path)")
        try:
            params = ms.load_checkpoint(path)
        except (ValueError, RuntimeError, OSError, TypeError) as err:
            raise CheckpointError(f"{path!r} is not a readable MindSpore checkpoint (truncated or "
                                  f"corrupt?): {_first_line(err)}. Save or download it again.") from err
        if not params:
            raise CheckpointError(f"{path!r} holds no parameters: save or download it again")
        own = self.network.parameters_dict()
        missing = [name for name in own if name not in params]
        wrong = [f"{name} {tuple(params[name].shape)} in the file vs {tuple(p.shape)} in the network"
                 for name, p in own.items() if name in params and tuple(params[name].shape) != tuple(p.shape)]
        if missing or wrong:
            unexpected = [n for n in params if n not in own and not n.startswith(_TRAINING_STATE_PREFIXES)]
            parts = []
            if wrong:
                parts.append("shapes differ for " + "; ".join(wrong))
            if missing:
                parts.append("missing from the file: " + ", ".join(missing))
            if unexpected:
                parts.append("in the file but not in the network: " + ", ".join(unexpected[:12]))
            raise CheckpointError(f"{path!r} is a checkpoint of another network ({'; '.join(parts)}). "
                                  f"Build the network the checkpoint was trained with (same model and "
                                  f"class_num) or pick the matching file.")
        ms.load_param_into_net(self.network, {name: params[name] for name in own}, strict_load=True)
        if self.optimizer is not None:
            extra = {n: p for n, p in params.items() if n not in own}
            opt_names = {p.name for p in self.optimizer.get_parameters()}
            state = {n: p for n, p in extra.items() if n in opt_names}
            if state:
                ms.load_param_into_net(self.optimizer, state)
        return path

    # ------------------------------------------------------------------- export
    def export(self, inputs, file_name, file_format="MINDIR"):
        """Export the network for inference, atomically.

        Args:
            inputs: an example input (Tensor or numpy), e.g. ``np.zeros((1, 1, 32, 32), np.float32)``.
                For MINDIR, ``Tensor(shape=[None, 1, 32, 32], dtype=tinyms.float32)`` exports a
                dynamic batch size.
            file_name (str): output path; the format's suffix is appended if missing.
            file_format (str): ``"MINDIR"`` or ``"ONNX"``.

        Returns:
            str: the path written.

        Raises:
            UnknownNameError: an unsupported format.
            ExportError: MindSpore cannot export this network in this format (the message says why).

        Example:
            >>> import numpy as np
            >>> from tinyms.model import Model, lenet5
            >>> Model(lenet5()).export(np.zeros((1, 1, 32, 32), np.float32), "/tmp/lenet5", "ONNX")
            '/tmp/lenet5.onnx'
        """
        fmt = str(file_format).upper()
        if fmt not in _EXPORT_SUFFIX:
            raise UnknownNameError(f"unknown export format {file_format!r}; valid formats are: "
                                   f"{', '.join(_EXPORT_SUFFIX)}")
        suffix = _EXPORT_SUFFIX[fmt]
        path = os.fspath(file_name)
        if not path.lower().endswith(suffix):
            path += suffix
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        _context._apply_defaults()
        self.network.set_train(False)
        example = inputs if isinstance(inputs, Tensor) else _as_tensor(inputs)
        with tempfile.TemporaryDirectory(prefix=".export-", dir=folder) as tmp:
            base = os.path.join(tmp, "net")
            # MindSpore 2.10 exports a given network object to ONNX only once per process (a
            # second export fails with "i: 3 out of range"): export a copy each time.
            network = copy.deepcopy(self.network) if fmt == "ONNX" else self.network
            try:
                ms.export(network, example, file_name=base, file_format=fmt)
            except (RuntimeError, ValueError, TypeError) as err:
                raise ExportError(f"MindSpore cannot export {type(self.network).__name__} as {fmt}: "
                                  f"{_first_line(err)}") from err
            os.replace(base + suffix, path)
        return path

    # ------------------------------------------------------------------ summary
    def summary(self):
        """Print and return a table of the network's layers and parameter counts.

        Returns:
            str: the table.

        Example:
            >>> from tinyms.model import Model, lenet5
            >>> text = Model(lenet5()).summary()   # doctest: +ELLIPSIS
            Layer ...
        """
        rows = []
        for name, cell in self.network.cells_and_names():
            own = list(cell.get_parameters(expand=False))
            if not own:
                continue
            shapes = ", ".join(str(tuple(p.shape)) for p in own)
            rows.append((name or "(root)", type(cell).__name__, shapes, sum(int(np.prod(p.shape)) for p in own)))
        total = sum(int(np.prod(p.shape)) for p in self.network.get_parameters())
        trainable = sum(int(np.prod(p.shape)) for p in self.network.trainable_params())
        widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(("Layer", "Type", "Parameter shapes", "Params"))]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [line.format("Layer", "Type", "Parameter shapes", "Params"), "-" * (sum(widths) + 6)]
        out += [line.format(*r) for r in rows]
        out.append("-" * (sum(widths) + 6))
        cfg = getattr(self.network, "default_cfg", None)
        if cfg is not None:
            out.append(f"Input shape: (N, {', '.join(map(str, cfg.input_shape))})")
        out.append(f"Total params: {total:,}   Trainable: {trainable:,}   Non-trainable: {total - trainable:,}")
        text = "\n".join(out)
        print(text)
        return text


def load(file_name):
    """Load a model exported as MindIR, ready for :meth:`Model.predict`.

    Args:
        file_name (str): a ``.mindir`` file written by :meth:`Model.export`.

    Returns:
        Model: wrapping the loaded graph.

    Raises:
        FileNotFoundError: no such file.
        ExportError: the file is not a MindIR model MindSpore can load.

    Example:
        >>> from tinyms.model import load
        >>> model = load("/tmp/lenet5.mindir")      # doctest: +SKIP
    """
    path = os.fspath(file_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}; export one with model.export(inputs, path)")
    if path.lower().endswith(".onnx"):
        raise ExportError(f"{path!r} is ONNX; tinyms.model.load reads MindIR. Serve ONNX with "
                          f"tinyms.serving (onnxruntime) or export MINDIR instead")
    try:
        graph = ms.load(path)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ExportError(f"{path!r} is not a MindIR model MindSpore can load: {_first_line(err)}") from err
    return Model(nn.GraphCell(graph))


# ---------------------------------------------------------------------- helpers
def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _dataset_size(dataset, what):
    if not hasattr(dataset, "create_tuple_iterator"):
        raise DatasetError(f"{what} must be a tinyms.data dataset (with create_tuple_iterator), got "
                           f"{type(dataset).__name__}")
    try:
        size = dataset.get_dataset_size()
    except RuntimeError as err:
        raise DatasetError(f"{what} cannot be read: {_first_line(err)}") from err
    if not size:
        raise DatasetError(f"{what} is empty (0 batches): check its folder, or use a batch size no "
                           f"larger than the dataset with drop_remainder=True")
    return size


def _needs_label_cast(loss_fn, label):
    """Sparse cross-entropy wants int32 class indices; other integer types are cast on the fly."""
    sparse = getattr(loss_fn, "sparse", False)
    if sparse and label.dtype != ms.int32 and label.dtype in (ms.int64, ms.uint32, ms.int16, ms.uint8, ms.int8, ms.uint16):
        return ms.int32
    return None


def _run_first(step_fn, batch):
    """Run the first training step (which compiles the graph), turning a failure into a clear error."""
    try:
        return step_fn(*batch)
    except (RuntimeError, ValueError, TypeError) as err:
        data, label = batch
        raise InputShapeError(
            f"the network cannot train on batches of data {tuple(data.shape)} {data.dtype} with "
            f"labels {tuple(label.shape)} {label.dtype}: {_first_line(err)}") from err


def _as_list(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return [callbacks]


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "fiub":
        raise InputShapeError(f"cannot turn a {type(x).__name__} of dtype {arr.dtype} into a Tensor; "
                              f"pass a numeric numpy array or a Tensor")
    return Tensor(arr)


def _scalar(value):
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value)
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    return value


