"""The high-level :class:`Model`: compile, train, eval, predict, save, load, export."""

import contextlib
import logging
import os
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
from .._checks import non_negative_int, positive_int
from .._exit import release_networks_at_exit
from ..errors import (CheckpointError, DatasetError, ExportError, InputShapeError,
                      NotCompiledError, UnknownNameError)
from . import _checkpoint, _distributed, _export, _loop
from ._common import as_list as _as_list, as_tensor as _as_tensor, dataset_size as _dataset_size
from ._exact import exact_eval_pipeline
from ._load import recorded_network as _recorded_network, take_recorded_shape as _take_recorded_shape
from ._progress import EpochProgress
from ._state import STATE_KEY, TrainState, state_from_entries
from ._train_step import train_step_for
from .history import History
from .tasks import task_of

_log = logging.getLogger("tinyms.model")

__all__ = ["Model", "load"]


class Model:
    """Wraps a network with everything needed to train, evaluate and serve it.

    Training runs the network's compiled train step (``GRAPH_MODE`` unless you chose a mode
    with :func:`tinyms.context.set_context`) in TinyMS's own loop, which measured faster than
    ``mindspore.train.Model`` on CPU; MindSpore callbacks work in it unchanged.

    Args:
        network (Layer): the network to wrap, e.g. ``lenet5()``.
        loss_fn, optimizer, metrics: optional, as for :meth:`compile` (``mindspore.train.Model``'s
            positional order, so ``Model(net, loss, opt, {"acc": Accuracy()})`` works as there).
        loss_scale_manager: a MindSpore ``FixedLossScaleManager`` or ``DynamicLossScaleManager``
            (as in ``mindspore.train.Model`` and TinyMS 0.3's ``compile``); see :meth:`compile`.
        amp_level (str): only ``"O0"`` (float32; accepted for MindSpore code).
        eval_network, eval_indexes: as for :meth:`compile` (``mindspore.train.Model``'s keywords).

    Raises:
        TypeError: ``network`` is not a ``tinyms.layers.Layer``.
        ValueError: another ``amp_level`` than ``"O0"``, or a loss scale manager that needs
            overflow detection (see :meth:`compile`).

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, lenet5
        >>> model = Model(lenet5())
        >>> model = model.compile(loss_fn="cross_entropy", optimizer="adam", metrics=["accuracy"])
        >>> model.predict(np.zeros((4, 1, 32, 32), np.float32)).shape     # train: see Model.train
        (4, 10)
    """

    def __init__(self, network, loss_fn=None, optimizer=None, metrics=None, *, loss_scale_manager=None,
                 amp_level="O0", eval_network=None, eval_indexes=None):
        if not isinstance(network, nn.Cell):
            raise TypeError(f"Model() takes a network (a tinyms.layers.Layer), got {type(network).__name__}")
        release_networks_at_exit()  # a Model kept in a script's globals is freed quietly at exit
        _check_amp_level(amp_level)
        self.network = network
        self.loss_fn = None
        self.optimizer = None
        self.metrics = {}
        self.loss_scale_manager = None
        self._train_net = None
        self._eval_net = None
        self._step_fn = None
        self._size_note = None
        self.stop_training = False  # a callback sets it to end training after the current step
        self.train_state = None  # where training is (TrainState); checkpoints save it
        self.eval_network = None
        self.eval_indexes = None
        if (loss_fn is not None or optimizer is not None or metrics is not None or loss_scale_manager is not None
                or eval_network is not None):
            self.compile(loss_fn, optimizer, metrics, loss_scale_manager=loss_scale_manager, eval_network=eval_network,
                         eval_indexes=eval_indexes)

    # ------------------------------------------------------------------ compile
    def compile(self, loss_fn=None, optimizer=None, metrics=None, learning_rate=None, *, loss_scale_manager=None,
                eval_network=None, eval_indexes=None, amp_level=None, boost_level=None):
        """Choose the loss, optimizer and metrics.

        Only ``metrics`` is needed to evaluate or predict with a loaded checkpoint; training
        needs ``loss_fn`` and ``optimizer``.

        Args:
            loss_fn: a loss instance or a name from ``tinyms.losses.LOSSES`` (``"cross_entropy"``...).
            optimizer: an optimizer instance or a name from ``tinyms.optimizers.OPTIMIZERS``
                (``"momentum"``, ``"adam"``, ``"sgd"``...).
            metrics: ``{name: Metric}``, or a list of names (``["accuracy"]``) and Metric instances.
            learning_rate (float): learning rate for an optimizer given by name.
            loss_scale_manager: a MindSpore loss scale manager, as TinyMS 0.3 and
                ``mindspore.train.Model`` take it: ``FixedLossScaleManager(s,
                drop_overflow_update=False)`` multiplies the loss's gradient by ``s``, and an
                optimizer built with ``loss_scale=s`` divides it back. Managers that detect
                overflow (``DynamicLossScaleManager``, ``drop_overflow_update=True``) cannot run
                on CPU and are refused, as MindSpore's own ``Model`` does there.
            eval_network (Cell): a network :meth:`eval` runs instead of the task's evaluation, as
                in ``mindspore.train.Model`` and TinyMS 0.3 (e.g. ``DeepFMEvalModel(net)``): it is
                called with each batch's columns and its outputs go to every metric,
                ``metric.update(*outputs)``; every row is evaluated once. (0.3's positional
                ``compile(loss, opt, metrics, eval_network)`` works too.)
            eval_indexes (list): with ``eval_network``, the positions of ``[loss, prediction,
                label]`` in its outputs: a ``Loss`` metric gets the loss, the others
                ``(prediction, label)``.
            amp_level (str): ``"O0"`` or None (float32 on CPU); accepted for MindSpore and 0.3 code.
            boost_level (str): accepted for MindSpore code; no effect.

        Returns:
            Model: this model, so calls can be chained.

        Raises:
            UnknownNameError: a loss, optimizer or metric name TinyMS does not know (the message
                lists the valid ones).
            ValueError: ``learning_rate`` given together with an optimizer instance, or another
                ``amp_level`` than ``"O0"``.

        Example:
            >>> from tinyms.model import Model, lenet5
            >>> model = Model(lenet5()).compile("cross_entropy", "adam", ["accuracy"], learning_rate=1e-3)
        """
        if isinstance(learning_rate, nn.Cell) and eval_network is None:  # 0.3's compile(loss, opt, metrics, eval_net)
            learning_rate, eval_network = None, learning_rate
        _check_amp_level(amp_level)
        if eval_network is not None and not isinstance(eval_network, nn.Cell):
            raise TypeError(f"eval_network must be a network (a Layer/Cell), got {type(eval_network).__name__}")
        if learning_rate is not None and optimizer is not None and not isinstance(optimizer, str):
            raise ValueError("learning_rate= applies to an optimizer given by name; an optimizer "
                             "instance already has its own learning rate")
        self.loss_fn = _losses.get(loss_fn) if loss_fn is not None else None
        own = getattr(self._task, "compile_optimizer", None)  # a task with several optimizers (GANs)
        if own is not None:
            self.optimizer = own(self, optimizer, learning_rate)
        else:
            self.optimizer = (_optimizers.get(optimizer, self.network.trainable_params(), learning_rate)
                              if optimizer is not None else None)
        self.metrics = _metrics.get(metrics)
        self.loss_scale_manager = _check_loss_scale_manager(loss_scale_manager)
        from ._eval_network import check_eval_indexes  # noqa: PLC0415

        self.eval_network = eval_network
        self.eval_indexes = check_eval_indexes(eval_indexes) if eval_network is not None else None
        self._train_net = None
        self._eval_net = None
        self._step_fn = None
        self.train_state = None
        return self

    # -------------------------------------------------------------------- train
    def train(self, epoch, train_dataset, callbacks=None, dataset_sink_mode=False, sink_size=-1,
              initial_epoch=0, *, verbose=1, valid_dataset=None, resume_from=None):
        """Train until epoch ``epoch`` over ``train_dataset``.

        The positional order is ``mindspore.train.Model.train``'s, so MindSpore and TinyMS 0.3
        scripts run unchanged; TinyMS's own options are keyword-only.

        Args:
            epoch (int): the last epoch to run (``epoch`` passes when ``initial_epoch`` is 0).
            train_dataset: a batched dataset yielding ``(data, label)``, e.g.
                ``mnist_transform.apply_ds(MnistDataset(...))``.
            callbacks: a ``tinyms.callbacks.Callback`` or a list of them (MindSpore's
                ModelCheckpoint, LossMonitor, TimeMonitor, EarlyStopping, History... work as in MindSpore).
            dataset_sink_mode (bool): MindSpore's device-sink switch. TinyMS feeds batches from
                the host (measured as fast as sinking on CPU); together with ``sink_size`` it
                keeps MindSpore's meaning of an epoch.
            sink_size (int): with ``dataset_sink_mode=True``, the steps per epoch (``-1``: the
                whole dataset), as in MindSpore; ignored otherwise.
            initial_epoch (int): epochs already done; training runs epochs
                ``initial_epoch + 1`` to ``epoch``.
            verbose (int): 0 silent, 1 a progress bar per epoch (one line per epoch when the
                output is not a terminal), 2 one line per epoch.
            valid_dataset: optional dataset evaluated (exactly, see :meth:`eval`) after every
                epoch; its results appear in the history as ``val_loss`` / ``val_<metric>`` and
                as ``eval_loss`` / metric names to callbacks such as EarlyStopping.
            resume_from (str): a checkpoint written by :meth:`save_checkpoint` or a
                ``tinyms.callbacks.ModelCheckpoint`` of an earlier run: its weights, optimizer
                state (moments, step count, so per-step learning-rate schedules continue), epoch,
                step, random generator states and data position are restored and training
                continues up to epoch ``epoch``. With the same seed, dataset and batch size, a
                run interrupted after epoch k and resumed ends with the weights of an
                uninterrupted run. The returned History holds the resumed epochs. ``epoch`` may
                differ from the first run's: a per-step schedule is the optimizer's own (build
                it for ``epoch`` x steps per epoch, from step 0), and the run follows it from the
                step the file holds; a constant learning rate is restored from the file.

        Returns:
            History: per-epoch ``loss`` (and validation results).

        Raises:
            NotCompiledError: ``compile`` has not set a loss and an optimizer.
            DatasetError: the dataset is empty, does not yield ``(data, label)``, or holds a
                label outside the network's classes.
            InputShapeError: the data does not fit the network.
            CheckpointError: ``resume_from`` is missing, corrupt, of another network or
                optimizer, or from a run with another number of steps per epoch.
            TrainingDivergedError: the loss became NaN or infinite (the message names the epoch
                and step and suggests a lower learning rate).
            LearningRateError: the optimizer's per-step schedule has fewer rates than the
                steps up to epoch ``epoch``.

        Example:
            >>> from tinyms.data import MnistDataset, sample_dataset
            >>> from tinyms.vision import mnist_transform
            >>> path = sample_dataset("mnist")                  # the bundled 7,000 images
            >>> from tinyms.model import Model, lenet5
            >>> train_ds = mnist_transform.apply_ds(MnistDataset(path, usage="train", num_samples=1280))
            >>> test_ds = mnist_transform.apply_ds(MnistDataset(path, usage="test", num_samples=256),
            ...                                    is_training=False)
            >>> model = Model(lenet5()).compile("cross_entropy", "adam", ["accuracy"], learning_rate=2e-3)
            >>> history = model.train(2, train_ds, valid_dataset=test_ds, verbose=0)
            >>> history.epoch, list(history.history)
            ([1, 2], ['loss', 'lr', 'val_loss', 'val_accuracy'])
            >>> history.history["loss"][1] < history.history["loss"][0]
            True
        """
        _distributed.setup()  # under msrun: init communication once, data-parallel with averaged gradients
        positive_int(epoch, "epoch", 1)
        non_negative_int(initial_epoch, "initial_epoch", 0)
        if initial_epoch >= epoch:
            raise ValueError(f"initial_epoch ({initial_epoch}) must be smaller than epoch ({epoch}): "
                             f"training runs epochs initial_epoch+1 to epoch")
        if isinstance(sink_size, bool) or not isinstance(sink_size, (int, np.integer)) or not (
                sink_size == -1 or sink_size > 0):
            raise ValueError(f"sink_size must be -1 (the whole dataset) or a positive integer, got {sink_size!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self._check_trainable("train()")
        size = _dataset_size(train_dataset, "train_dataset")
        steps = int(sink_size) if dataset_sink_mode and sink_size > 0 else size
        _context._apply_defaults()
        state = None
        if resume_from is not None:
            if initial_epoch:
                raise ValueError("pass either resume_from= or initial_epoch=, not both: a checkpoint "
                                 "records the epoch it was saved at")
            state = self._resume(resume_from, steps)
            if state.epoch >= epoch:
                raise ValueError(f"{os.fspath(resume_from)!r} has already completed {state.epoch} epoch(s); "
                                 f"to train on, pass an epoch greater than {state.epoch}, e.g. "
                                 f"model.train({state.epoch + 1}, ..., resume_from=...)")
        callbacks = _as_list(callbacks)
        # a History among the callbacks is the record this call fills and returns
        history = next((cb for cb in callbacks if isinstance(cb, History)), None) or History()
        callbacks = [cb for cb in callbacks if not isinstance(cb, History)]
        return _loop.run_train(self, epoch, train_dataset, callbacks, steps, size, initial_epoch, verbose,
                               valid_dataset, history, state, sink_mode=dataset_sink_mode)

    def train_step(self, *batch):
        """Run one training step on a batch and return its loss.

        :meth:`train` calls it for every batch with the batch's columns: ``(data, label)`` for
        classification, ``(image, bbox, label)`` for detection (see ``tinyms.model.tasks``).
        Override it in a subclass to change what a step does (e.g. several forward passes,
        gradient tricks); call ``super().train_step(data, label)`` for the usual compiled step
        (loss, gradients, optimizer update). Return the loss as a scalar Tensor without reading
        it back (``loss.asnumpy()`` would wait for the step to finish and slow training down).

        Args:
            *batch (Tensor): the batch's columns, e.g. ``data`` (a batch of inputs) and
                ``label`` (their labels).

        Returns:
            Tensor: the step's loss.

        Example:
            >>> import tinyms as ts
            >>> from tinyms.data import MnistDataset, sample_dataset
            >>> from tinyms.model import Model, lenet5
            >>> from tinyms.vision import mnist_transform
            >>> class Clipped(Model):                   # inputs clipped to [-3, 3] before each step
            ...     def train_step(self, data, label):
            ...         return super().train_step(ts.clip(data, -3.0, 3.0), label)
            >>> train_ds = mnist_transform.apply_ds(MnistDataset(sample_dataset("mnist"), usage="train",
            ...                                                  num_samples=320))
            >>> model = Clipped(lenet5()).compile("cross_entropy", "momentum")
            >>> len(model.train(1, train_ds, verbose=0).steps["loss"])     # 320 images, batch 32
            10
        """
        if self._step_fn is None:
            self._step_fn = self._step_function(self._build_train_net(), batch)
        if not self.network.training:  # e.g. a predict() or eval() in between: BatchNorm and Dropout train again
            self._train_net.set_train(True)
        return self._step_fn(*batch)

    train_step._tinyms_base = True  # the loop runs this step compiled unless a subclass overrides it

    @property
    def task(self):
        """The network's task (``tinyms.model.tasks``): what its batches, loss, metrics and predictions are."""
        return self._task

    @property
    def _task(self):
        return task_of(self.network)

    def _own_optimizer(self):
        """The optimizer inside a network that is already a whole train step (TinyMS 0.3's
        ``Model(TrainingWrapper(net_with_loss(net), opt))``), or None."""
        for _, cell in self.network.cells_and_names():
            if isinstance(cell, nn.Optimizer):
                return cell
        return None

    def _check_trainable(self, what):
        """Raise NotCompiledError unless training has a loss and an optimizer; adopt a train-step network's."""
        if self.optimizer is None and self.loss_fn is None and self._own_optimizer() is not None:
            self._steps_itself = True  # the network runs a whole step (loss, gradients, update) itself
            self.optimizer = self._own_optimizer()
            return
        if getattr(self, "_steps_itself", False):
            return
        task = self._task
        if self.optimizer is None or (self.loss_fn is None and task.needs_loss(self)):
            if task.needs_loss(self):
                raise NotCompiledError(
                    f"{what} needs a loss and an optimizer: call "
                    f"model.compile(loss_fn={task.default_loss or 'cross_entropy'!r}, optimizer='momentum') first")
            raise NotCompiledError(f"{what} needs an optimizer ({type(self.network).__name__} brings its own "
                                   f"{task.name} loss): call model.compile(optimizer='momentum') first")

    def _resume(self, path, steps):
        """Load a checkpoint's weights and optimizer state for resuming; return its TrainState."""
        path = os.fspath(path)
        params = _checkpoint.load_weights(self.network, path)
        _take_recorded_shape(self.network, params, path)
        _checkpoint.load_optimizer_state(self.optimizer, self.network, path, params)
        state = state_from_entries(params)
        if state is None:
            raise CheckpointError(f"{path!r} does not record how far training went: resume from a file "
                                  f"written by model.save_checkpoint or tinyms.callbacks.ModelCheckpoint")
        if not state.steps_per_epoch:
            state.steps_per_epoch = steps  # a MindSpore file: its step count, this run's epoch length
        return state

    @property
    def rank(self):
        """This process's rank in data-parallel training (0 when training alone)."""
        return _loop.rank_info()[0]

    @property
    def is_main(self):
        """True in the process that logs and writes checkpoints (rank 0, or the only process)."""
        return self.rank == 0

    def _build_train_net(self):
        if self._train_net is None:
            if getattr(self, "_steps_itself", False):
                self._train_net = self.network
                return self._train_net
            # a fixed loss scale (the only kind compile accepts) multiplies the loss's gradient
            manager = self.loss_scale_manager
            sens = 1.0 if manager is None else float(manager.get_loss_scale())
            task = self._task
            if hasattr(task, "train_network"):  # a task with a step of its own (a GAN's two optimizers)
                self._train_net = task.train_network(self)
                return self._train_net
            # not nn.TrainOneStepCell itself: MindSpore never frees a compiled one (_train_step.py)
            self._train_net = train_step_for(task.loss_network(self), self.optimizer, sens, len(task.columns))
        return self._train_net

    def _check_first_batch(self, batch, dataset_what, data_what):
        """Check a dataset's first batch; return the size note when only the image size differs."""
        if getattr(self, "_steps_itself", False):
            return None  # the network's own step takes whatever columns its dataset has
        return self._task.check_first_batch(self, batch, dataset_what, data_what)

    def _adopt_input_size(self, shape):
        """After training on another image size than the config's, the config says that size.

        Prediction then checks inputs against the size the network was trained on. The config's
        preprocessing recipe still makes its old size, so ``write_servable`` refuses it until it
        is given the transform used in training (never a silently mismatched servable).
        """
        import dataclasses  # noqa: PLC0415

        cfg = getattr(self.network, "default_cfg", None)
        if cfg is None or tuple(cfg.input_shape) == tuple(shape[1:]):
            return
        self.network.default_cfg = dataclasses.replace(cfg, input_shape=tuple(int(n) for n in shape[1:]))
        _log.info("%s trains on inputs of shape %s (its configuration said %s)", type(self.network).__name__,
                  tuple(shape[1:]), tuple(cfg.input_shape))

    def _step_function(self, train_net, batch):
        """Check the first batch and return the function that runs one training step on a batch."""
        self._size_note = self._check_first_batch(batch, "train_dataset", "training data")
        if getattr(self, "_steps_itself", False):
            return train_net
        return self._task.step_function(self, train_net, batch)

    def _class_count(self, data):
        """How many classes a classifier scores (from its config, else one forward pass)."""
        from .tasks import get_task  # noqa: PLC0415

        return get_task("classification").class_count(self, data)

    def _label_check(self, batch, always=False):
        """A function of a batch raising DatasetError when it holds labels the network cannot take."""
        if getattr(self, "_steps_itself", False):
            return lambda batch: None
        return self._task.label_check(self, batch, always=always)

    # --------------------------------------------------------------------- eval
    def eval(self, valid_dataset, callbacks=None, dataset_sink_mode=False, *, verbose=0, confusion_matrix=False,
             report=False):
        """Evaluate on a batched ``(data, label)`` dataset: every sample exactly once.

        Whatever pipeline it is given, evaluation reads it without shuffling, repeating or
        dropping the remainder (a copy of the pipeline is evaluated; the dataset object is
        not changed), so the same weights always give the same numbers, over all samples.
        The positional order is ``mindspore.train.Model.eval``'s.

        Args:
            valid_dataset: e.g. ``mnist_transform.apply_ds(MnistDataset(test_dir), is_training=False)``.
            callbacks: callbacks whose ``on_eval_*`` methods run during evaluation.
            dataset_sink_mode (bool): accepted for MindSpore compatibility (no effect on CPU).
            verbose (int): 1 shows a progress bar (or one line when not a terminal).
            confusion_matrix (bool): also count, over every sample, each (true class,
                predicted class) pair, the prediction being the argmax of the network's output.
                The result's ``"confusion_matrix"`` is then a
                :class:`tinyms.metrics.ClassificationReport` (``.matrix`` of shape (C, C), rows =
                true class; per-class ``.precision``, ``.recall``, ``.f1``, ``.support``; class
                names from the network's ``default_cfg.labels`` when it has them).

            report (bool): for a detection model, also return ``"report"``: a
                :class:`tinyms.metrics.DetectionReport` with each class's average precision.

        Returns:
            dict: for classification ``{"loss": ..., "<metric>": ...}`` (loss only when a loss
            was compiled), and ``"confusion_matrix"`` when asked for; for detection ``mAP50``
            (COCO's AP at IoU 0.5), ``mAP50_95`` (COCO's AP averaged over IoU 0.50:0.95) and
            ``voc07_mAP50`` (Pascal VOC 2007's 11-point AP at IoU 0.5), computed over every image
            (``model.eval_samples`` says how many), and ``"report"`` when asked for.

        Raises:
            NotCompiledError: neither metrics nor a loss were compiled, or the ``loss`` metric
                was asked for without a loss function.
            DatasetError: the dataset is empty or does not yield ``(data, label)``; with
                ``confusion_matrix=True``, the network's output is not (N, classes) scores.

        Example:
            >>> from tinyms.data import MnistDataset, sample_dataset
            >>> from tinyms.vision import mnist_transform
            >>> path = sample_dataset("mnist")                  # the bundled 7,000 images
            >>> from tinyms.model import Model, create_model
            >>> test_ds = mnist_transform.apply_ds(MnistDataset(path, usage="test"), is_training=False)
            >>> model = Model(create_model("lenet5", pretrained=True))     # trained on MNIST
            >>> model = model.compile(loss_fn="cross_entropy", metrics=["accuracy"])
            >>> result = model.eval(test_ds)
            >>> sorted(result), model.eval_samples, round(result["accuracy"], 3)
            (['accuracy', 'loss'], 1000, 0.989)
            >>> report = model.eval(test_ds, confusion_matrix=True)["confusion_matrix"]
            >>> report.matrix.shape, int(report.matrix.sum()), report.labels[:3]
            ((10, 10), 1000, ['0', '1', '2'])
        """
        if (self._task.name == "classification" and not self.metrics and self.loss_fn is None
                and not confusion_matrix and self.eval_network is None):
            raise NotCompiledError("eval() needs metrics: call model.compile(metrics=['accuracy']) first")
        return self._evaluate(valid_dataset, verbose=verbose, callbacks=_as_list(callbacks),
                              confusion=bool(confusion_matrix), report=bool(report))

    def _evaluate(self, dataset, verbose=0, callbacks=(), confusion=False, report=False):
        if (self.loss_fn is None and self.eval_network is None and self._task.name != "tabular"
                and any(isinstance(m, _metrics.Loss) for m in self.metrics.values())):
            raise NotCompiledError("the 'loss' metric needs a loss function: call "
                                   "model.compile(loss_fn='cross_entropy', metrics=[...]) first")
        _dataset_size(dataset, "eval dataset")
        dataset = exact_eval_pipeline(dataset)
        steps = _dataset_size(dataset, "eval dataset")
        _context._apply_defaults()
        if self.eval_network is not None:
            from ._eval_network import EvalNetworkEvaluator  # noqa: PLC0415

            evaluator = EvalNetworkEvaluator(self)
        else:
            evaluator = self._task.evaluator(self, confusion=confusion, report=report)
        cb_params = InternalCallbackParam()
        cb_params.eval_network = getattr(evaluator, "net", self.network)
        cb_params.network = self.network
        cb_params.valid_dataset = dataset
        cb_params.batch_num = steps
        cb_params.cur_step_num = 0
        cb_params.epoch_num = 1
        cb_params.cur_epoch_num = 1
        cb_params.mode = "eval"
        cb_params.list_callback = list(callbacks)
        cb_params.dataset_sink_mode = False
        cb_params.net_outputs = None
        run_context = RunContext(cb_params)
        progress = EpochProgress(verbose, 0, 0, steps)
        started, checked = time.perf_counter(), False
        with CallbackManager(list(callbacks)) as cbs:
            cbs.on_eval_begin(run_context)
            cbs.on_eval_epoch_begin(run_context)
            for batch in dataset.create_tuple_iterator(num_epochs=1, do_copy=False):
                if not checked:
                    evaluator.first(batch)
                    checked = True
                cb_params.cur_step_num += 1
                cbs.on_eval_step_begin(run_context)
                cb_params.net_outputs = evaluator.update(batch)
                progress.step()
                cbs.on_eval_step_end(run_context)
            results = evaluator.results()
            self.eval_samples = evaluator.samples
            cb_params.metrics = dict(results)
            cb_params.eval_results = dict(results)
            cbs.on_eval_epoch_end(run_context)
            cbs.on_eval_end(run_context)
        progress.close(results, time.perf_counter() - started)
        results.update(evaluator.extras())
        return results

    # ------------------------------------------------------------------ predict
    def predict(self, x, transform=None):
        """Run the network on a batch.

        Args:
            x: a Tensor or numpy array of shape ``(N, *input_shape)``; floating numpy data is
                converted to float32. For a text network also a string or a list of strings,
                which ``transform`` turns into token ids first. For a tabular network the pair
                ``(feat_ids, feat_vals)``, both (N, fields) (``tinyms.data.FeatureSpec.encode``).
            transform (tinyms.text.TextTransform): how texts become token ids (the one the
                network was trained with); only for strings. Default: the model's ``transform``
                attribute.

        Returns:
            Tensor: the network's output, e.g. logits of shape (N, classes).

        Raises:
            InputShapeError: the input's shape does not fit the network (the message says what
                shape it takes and how to get there), or strings were given without a transform.

        Example:
            >>> import numpy as np
            >>> from tinyms.model import Model, lenet5
            >>> Model(lenet5()).predict(np.zeros((2, 1, 32, 32), np.float32)).shape
            (2, 10)
        """
        task = self._task
        if hasattr(task, "predict_inputs"):  # several inputs (a table's feat_ids and feat_vals)
            inputs = task.predict_inputs(self, x)
            _context._apply_defaults()
            if self.network.training:
                self.network.set_train(False)
            try:
                return self.network(*inputs)
            except (RuntimeError, ValueError, TypeError) as err:
                raise InputShapeError(f"the network cannot run on inputs of shapes "
                                      f"{', '.join(str(tuple(t.shape)) for t in inputs)}: {_first_line(err)}") from err
        if isinstance(x, str) or (isinstance(x, (list, tuple)) and x and all(isinstance(t, str) for t in x)):
            x = self._encode_texts(x, transform)
        x = _as_tensor(x)
        self._check_input_shape(tuple(x.shape), "predict input", dtype=x.dtype)
        _context._apply_defaults()
        if self.network.training:  # set_train walks every layer: 0.2 ms per call for LeNet-5
            self.network.set_train(False)
        try:
            return self.network(x)
        except (RuntimeError, ValueError, TypeError) as err:
            raise InputShapeError(f"the network cannot run on an input of shape {tuple(x.shape)} "
                                  f"{x.dtype}: {_first_line(err)}") from err

    #: the tinyms.text transform ``predict`` applies to strings when none is passed
    transform = None

    def _encode_texts(self, texts, transform):
        """Token ids (N, L) int32 for a string or a list of strings."""
        transform = transform if transform is not None else self.transform
        if transform is None:
            raise InputShapeError(
                "predict got text, but the model has no text transform: pass the one it was trained with, "
                "model.predict(texts, transform=transform), or set model.transform = transform")
        return transform([texts] if isinstance(texts, str) else list(texts))

    def _check_input_shape(self, shape, what, strict=True, dtype=None):
        """Raise InputShapeError unless ``shape`` is a batch of the config's input shape.

        With ``strict=False`` (training and evaluation data) a batch differing only in image
        height and width is let through and the explanation returned instead: networks ending
        in global pooling (ResNet, MobileNet, DenseNet...) train at other sizes, e.g. CIFAR's
        32x32; a network that cannot run on it fails its first step with this explanation.
        """
        task = self._task
        if hasattr(task, "check_input") and dtype is not None:  # token ids: any length up to the network's
            return task.check_input(self, shape, dtype, what)
        cfg = getattr(self.network, "default_cfg", None)
        if cfg is None:
            return None
        expected = tuple(cfg.input_shape)
        if len(shape) == len(expected) + 1 and shape[1:] == expected:
            return None
        net_name = type(self.network).__name__
        hint = ""
        if shape == expected:
            hint = " Add the batch dimension first: tinyms.expand_dims(x, 0)."
        elif cfg.transform:
            hint = (f" Preprocess each image with tinyms.vision.{cfg.transform} (it resizes and "
                    f"normalises to {expected}) and stack them into a batch.")
        message = f"{net_name} takes {what} of shape (N, {', '.join(map(str, expected))}), got {shape}.{hint}"
        if not strict and len(expected) == 3 and len(shape) == 4 and shape[1] == expected[0]:
            return (f"{message} A dataset preset makes any size it is built for, e.g. "
                    f"tinyms.vision.Cifar10Transform(size={tuple(expected[1:])}).apply_ds(ds) "
                    f"(TinyMS 0.3's cifar10_transform made 224x224; TinyMS's makes CIFAR's own 32x32).")
        raise InputShapeError(message)

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path, *, weights_only=False):
        """Save the network's weights, and what resuming training needs, to a checkpoint, safely.

        The file carries a CRC-32 that every TinyMS load verifies, is written to a temporary
        name, fsync'ed and renamed into place (mode 0644), and records how the network was
        built (its registry name, the builder's arguments such as ``class_num`` and
        ``num_channel``, and the input shape it was trained on) so that
        ``tinyms.model.load(path)`` rebuilds the same network. A compiled
        model's file also holds the optimizer's state (moments, step count, learning rate) and
        the training state (epoch, step, random generator states, data position), so
        ``model.train(..., resume_from=path)`` continues the run; loading it for inference
        (:meth:`load_checkpoint`, :func:`load`) still takes only the weights. In data-parallel
        training only rank 0 writes the file; other ranks return the path without writing.

        Args:
            path (str): file name; ``.ckpt`` is appended if missing. Parent folders are created.
            weights_only (bool): keyword only; save the network's weights alone (a smaller
                file that cannot resume training).

        Returns:
            str: the path written.

        Raises:
            CheckpointError: ``path`` is a folder or cannot be written.

        Example:
            >>> import os
            >>> from tinyms.model import Model, lenet5
            >>> path = Model(lenet5()).save_checkpoint("out/lenet5.ckpt")
            >>> path == os.path.abspath("out/lenet5.ckpt"), os.path.isfile(path)
            (True, True)
        """
        meta = _checkpoint.network_metadata(self.network)
        rank, group = _loop.rank_info()
        if group > 1 and rank != 0:
            return _checkpoint.checkpoint_path(path)
        save_obj = self.network
        if self.optimizer is not None and not weights_only:
            entries = dict(self.network.parameters_dict())
            entries.update(_checkpoint.optimizer_slots(self.optimizer, self.network))
            save_obj = [{"name": name, "data": value} for name, value in entries.items()]
            state = self.train_state if self.train_state is not None else TrainState()
            meta[STATE_KEY[len(_checkpoint.META_PREFIX):]] = state.to_json()
        return _checkpoint.save_checkpoint(save_obj, path, metadata=meta or None)

    def load_checkpoint(self, path, resume=False):
        """Load weights saved by :meth:`save_checkpoint` or by a ``ModelCheckpoint`` callback.

        Weights load by exact name into the network only, after the file's CRC is verified.
        Optimizer state in the file (``moments.*``... from ``ModelCheckpoint``) is ignored
        unless ``resume=True``, which loads it into the compiled optimizer's own slots and sets
        :attr:`train_state` from the file. To continue training where a run stopped (epoch,
        step, data position, random states too), use ``model.train(..., resume_from=path)``.
        When the file records the network's own registry model, the network also takes the
        input shape it was trained on (e.g. a ResNet trained on 32x32 images predicts 32x32).

        Args:
            path (str): the ``.ckpt`` file.
            resume (bool): also restore the optimizer's state (needs a compiled optimizer and a
                file that holds its state).

        Returns:
            str: the path loaded.

        Raises:
            CheckpointError: the file is missing, corrupt (CRC mismatch), or holds the weights
                of another network (the message names the first parameter that is missing,
                differs in shape or dtype, or is unknown).

        Example:
            >>> import numpy as np
            >>> from tinyms.model import Model, lenet5
            >>> trained = Model(lenet5())
            >>> path = trained.save_checkpoint("out/lenet5.ckpt")
            >>> model = Model(lenet5())
            >>> model.load_checkpoint("out/lenet5.ckpt")
            'out/lenet5.ckpt'
            >>> x = np.ones((1, 1, 32, 32), np.float32)
            >>> np.array_equal(model.predict(x).asnumpy(), trained.predict(x).asnumpy())
            True
        """
        path = os.fspath(path)
        if resume and self.optimizer is None:
            raise NotCompiledError("load_checkpoint(resume=True) restores optimizer state: call "
                                   "model.compile(loss_fn=..., optimizer=...) first")
        params = _checkpoint.load_weights(self.network, path)
        _take_recorded_shape(self.network, params, path)
        if resume:
            _checkpoint.load_optimizer_state(self.optimizer, self.network, path, params)
            self.train_state = state_from_entries(params)
        return path

    # ------------------------------------------------------------------- export
    def export(self, inputs, file_name, file_format="MINDIR"):
        """Export the network for inference, atomically.

        Args:
            inputs: an example input (Tensor or numpy), e.g. ``np.zeros((1, 1, 32, 32), np.float32)``.
                For MINDIR, ``Tensor(shape=[None, 1, 32, 32], dtype=tinyms.float32)`` exports a
                dynamic batch size. A network of several inputs takes a tuple, e.g. a tabular
                network's ``(feat_ids, feat_vals)``.
            file_name (str): output path; the format's suffix is appended if missing.
            file_format (str): ``"MINDIR"`` or ``"ONNX"``. An ONNX file gets a dynamic batch
                dimension when onnxruntime then matches the network on a batch of 3, and is
                always checked against the network before it is kept.

        Returns:
            str: the path written (mode 0644, written atomically).

        Raises:
            UnknownNameError: an unsupported format.
            ExportError: MindSpore cannot export this network in this format (the message names
                the operator it cannot convert and suggests MINDIR).

        Example:
            >>> import os
            >>> import numpy as np
            >>> from tinyms.model import Model, lenet5
            >>> path = Model(lenet5()).export(np.zeros((1, 1, 32, 32), np.float32), "out/lenet5", "ONNX")
            >>> os.path.relpath(path)
            'out/lenet5.onnx'
        """
        _context._apply_defaults()
        if isinstance(inputs, (tuple, list)) and self._task.inputs > 1:
            example = tuple(v if isinstance(v, Tensor) else _as_tensor(v) for v in inputs)
        else:
            example = inputs if isinstance(inputs, Tensor) else _as_tensor(inputs)
        return _export.export_network(self.network, example, file_name, file_format)

    # ------------------------------------------------------------------ lr_find
    def lr_find(self, dataset, start_lr=1e-7, end_lr=10.0, num_steps=100, smooth=0.98, diverge=4.0):
        """Sweep the learning rate over a few training steps to find a good one.

        Trains for up to ``num_steps`` steps (going round the dataset again when it is
        shorter), raising the learning rate exponentially from ``start_lr`` to ``end_lr``, and
        records each step's loss. The loss is smoothed (an exponential moving average with bias
        correction; NaN/inf losses are left out), and the sweep stops early once the smoothed
        loss exceeds ``diverge`` times its lowest value. Afterwards the network's weights and the
        optimizer's state (moments, step count, learning rate) are put back bit for bit, so the
        model is exactly as before the call.

        Args:
            dataset: a batched ``(data, label)`` dataset, as for :meth:`train`.
            start_lr (float): the first learning rate. Default 1e-7.
            end_lr (float): the last learning rate, larger than ``start_lr``. Default 10.
            num_steps (int): steps in the sweep, at least 2. Default 100.
            smooth (float): the moving average's weight of the past, in [0, 1). Default 0.98.
            diverge (float): stop when the smoothed loss rises above this multiple of its
                lowest value (for positive losses). Default 4.

        Returns:
            LRFinderResult: ``lrs``, ``losses`` and ``smoothed`` per step; the suggestions
            ``steepest`` (fastest descent of the smoothed loss per decade of learning rate) and
            ``valley`` (one decade below the smoothed minimum); ``plot(path=None)``.

        Raises:
            NotCompiledError: ``compile`` has not set a loss and an optimizer.
            LearningRateError: the optimizer follows a per-step schedule (a list or a
                ``LearningRateSchedule``): compile with a constant learning rate for the sweep.
            DatasetError, InputShapeError: as for :meth:`train`.
            ValueError: arguments out of range (e.g. ``end_lr <= start_lr``).

        Example:
            >>> from tinyms.data import MnistDataset, sample_dataset
            >>> from tinyms.vision import mnist_transform
            >>> path = sample_dataset("mnist")                  # the bundled 7,000 images
            >>> from tinyms.model import Model, lenet5
            >>> train_ds = mnist_transform.apply_ds(MnistDataset(path, usage="train", num_samples=640))
            >>> model = Model(lenet5()).compile(loss_fn="cross_entropy", optimizer="momentum")
            >>> result = model.lr_find(train_ds, num_steps=40)      # the 20 batches, cycled
            >>> result.lrs[0], result.valley in result.lrs, result.valley <= result.minimum
            (1e-07, True, True)
            >>> result.plot("lr_find.png")
            'lr_find.png'
        """
        from ._lr_find import lr_find
        return lr_find(self, dataset, start_lr=start_lr, end_lr=end_lr, num_steps=num_steps,
                       smooth=smooth, diverge=diverge)

    # ------------------------------------------------------------------ summary
    def summary(self, input_shape=None):
        """Print and return a table of the network's layers: output shapes, parameters, totals.

        With an input shape, one forward pass over a batch of zeros (in PyNative mode, inference
        mode, weights untouched; the execution mode is restored afterwards) records every
        layer's output shape, in call order; nested layers are indented, and a layer called
        several times has one row per call, its parameters counted on the first. Layers never
        called are listed at the end. Works before any training and without ``compile``.

        Args:
            input_shape (tuple): the shape of ONE sample, without the batch dimension, e.g.
                ``(1, 32, 32)``. Default: the network's ``default_cfg.input_shape``; a network
                without one gets a parameter-only table unless this is given.

        Returns:
            str: the table (also printed). Its footer gives the total, trainable and
            non-trainable (frozen, or statistics such as batch-norm means) parameter counts and
            the weight memory in bytes and MB (10^6 bytes).

        Raises:
            InputShapeError: the network cannot run on a batch of ``input_shape``.
            ValueError: ``input_shape`` is not a tuple of positive integers.

        Example:
            >>> from tinyms.model import Model, lenet5
            >>> text = Model(lenet5()).summary()   # doctest: +ELLIPSIS
            Layer ...
        """
        from ._summary import summary_text  # noqa: PLC0415

        text = summary_text(self.network, input_shape)
        print(text)
        return text


def load(file_name, network=None):
    """Load a saved model, ready for :meth:`Model.predict` and :meth:`Model.eval`.

    Args:
        file_name (str): a ``.mindir`` file written by :meth:`Model.export`, or a ``.ckpt``
            file written by :meth:`Model.save_checkpoint` (or a ``ModelCheckpoint`` callback).
        network (Layer): for a checkpoint, the network to load it into. Default: the network
            the checkpoint records, rebuilt with the builder's recorded arguments
            (``class_num``, ``num_channel``, ``width_mult``...) and given the input shape it
            was trained on (TinyMS's checkpoint writers record both for registry networks).
            A file from an older TinyMS, which records only the model name and class count,
            is rebuilt from those as before.

    Returns:
        Model: wrapping the loaded graph or network.

    Raises:
        FileNotFoundError: no such file.
        ExportError: the file is not a MindIR model MindSpore can load.
        CheckpointError: a checkpoint is corrupt, does not match ``network``, records no
            network and no ``network`` was given, or records one this TinyMS cannot build
            (an unknown model or argument, or arguments it could not record): the message
            says to pass ``network=``.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, lenet5, load
        >>> x = np.ones((1, 1, 32, 32), np.float32)
        >>> model = Model(lenet5())
        >>> path = model.export(x, "out/lenet5", "MINDIR")
        >>> np.allclose(load(path).predict(x).asnumpy(), model.predict(x).asnumpy(), atol=1e-6)
        True
    """
    path = os.fspath(file_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}; export one with model.export(inputs, path) "
                                f"or save one with model.save_checkpoint(path)")
    if path.lower().endswith(".onnx"):
        raise ExportError(f"{path!r} is ONNX; tinyms.model.load reads MindIR and checkpoints. Serve ONNX "
                          f"with tinyms.serving (onnxruntime) or export MINDIR instead")
    if path.lower().endswith(".ckpt"):
        params = _checkpoint.read_checkpoint(path)
        meta = _checkpoint.metadata(params)
        record = _checkpoint.network_record(meta, path)
        given = network is not None
        if not given:
            network = _recorded_network(path, meta, record)
        _checkpoint.load_weights(network, path, params)
        if given and record is not None:  # a network of the recorded model takes the trained input shape
            from .registry import restore_input_shape
            restore_input_shape(network, record)
        return Model(network)
    if network is not None:
        raise ValueError("network= applies to checkpoints; a MindIR file holds its own graph")
    try:
        graph = ms.load(path)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ExportError(f"{path!r} is not a MindIR model MindSpore can load: {_first_line(err)}") from err
    return Model(nn.GraphCell(graph))


# ---------------------------------------------------------------------- helpers
def _check_amp_level(amp_level):
    if amp_level not in ("O0", None):
        raise ValueError(f"amp_level={amp_level!r} is not supported: TinyMS trains in float32 on CPU "
                         f"(amp_level='O0')")


def _check_loss_scale_manager(manager):
    if manager is None:
        return None
    from mindspore.amp import LossScaleManager  # noqa: PLC0415

    if not isinstance(manager, LossScaleManager):
        raise TypeError(f"loss_scale_manager must be a MindSpore LossScaleManager, e.g. "
                        f"FixedLossScaleManager(1024, drop_overflow_update=False), got {type(manager).__name__}")
    if manager.get_update_cell() is not None:
        # overflow detection needs NPU status operators (MindSpore's own Model refuses it on CPU too)
        raise ValueError(f"{type(manager).__name__} with overflow handling cannot run on CPU (MindSpore 2.10 has "
                         f"no overflow check there); use FixedLossScaleManager(scale, drop_overflow_update=False), "
                         f"or no loss scaling (float32 training on CPU does not need it)")
    return manager
