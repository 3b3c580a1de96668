"""TinyMS's training loop and its callback protocol.

``Model.train`` checks its arguments and calls :func:`run_train`, which owns the loop: it
feeds batches to ``Model.train_step`` (or the compiled step directly when ``train_step`` is
not overridden), counts epochs and steps in a :class:`~tinyms.model._state.TrainState`,
checks that the loss stays finite, evaluates, records the :class:`History` and calls the
callbacks.

Callbacks speak TinyMS's protocol (:class:`LoopCallback`: ``on_epoch_end(epoch, logs)``...).
MindSpore callbacks (``run_context`` style: LossMonitor, TimeMonitor, ModelCheckpoint,
EarlyStopping...) run unchanged through one adapter, :class:`MindSporeCallbacks`, which fills
the ``run_context.original_args()`` fields they read.

Under a launcher that initialised communication (``msrun``) with more than one process, only
rank 0 shows progress and writes checkpoints.
"""

import contextlib
import math
import time

import numpy as np

from .._distributed import all_mean
from ..errors import CheckpointError, TrainingDivergedError
from ._common import run_first
from ._progress import EpochProgress
from ._state import TrainState
from .history import learning_rates

__all__ = ["LoopCallback", "MindSporeCallbacks", "run_train", "rank_info"]

# Step losses are read back from the device in batches, never the newest one (its step may
# still be running), so the check costs no pipeline stall; at most this many steps pass
# between a non-finite loss and the error.
CHECK_EVERY = 50


class LoopCallback:
    """Base class of TinyMS training callbacks: override the hooks you need.

    The loop sets :attr:`model` before training starts; set ``self.model.stop_training = True``
    to stop at the end of the current step. ``logs`` of ``on_epoch_end`` holds the names the
    returned :class:`~tinyms.model.History` records (``loss``, ``val_loss``, ``val_<metric>``...).
    ``logs`` of ``on_step_end`` holds ``loss``, the step's loss as a Tensor that is not read
    back yet (``float(logs["loss"])`` reads it and waits for the step to finish), and ``batch``,
    the step's number within its epoch (1-based).

    Example:
        >>> from tinyms.callbacks import LoopCallback
        >>> class StopBelow(LoopCallback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         if logs["loss"] < 0.1:
        ...             self.model.stop_training = True
    """

    model = None

    def set_model(self, model):
        """Called by the loop with the :class:`~tinyms.model.Model` being trained."""
        self.model = model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before epoch ``epoch`` (1-based)."""

    def on_step_begin(self, step, logs=None):
        """Before global step ``step`` (1-based); ``logs["data"]`` is the batch."""

    def on_step_end(self, step, logs=None):
        """After global step ``step``; ``logs["loss"]`` is its loss (a Tensor)."""

    def on_epoch_end(self, epoch, logs=None):
        """After epoch ``epoch`` and its validation; ``logs`` as recorded in the History."""

    def on_train_end(self, logs=None):
        """After the last epoch (also when a callback stopped training)."""


def _overrides(callback, name):
    return getattr(type(callback), name, None) is not getattr(LoopCallback, name)


def rank_info():
    """``(rank, group_size)`` of this process; ``(0, 1)`` unless communication was initialised."""
    try:
        from mindspore.communication._comm_helper import GlobalComm
        if not GlobalComm.INITED:
            return 0, 1
        from mindspore.communication import get_group_size, get_rank
        return int(get_rank()), int(get_group_size())
    except (ImportError, RuntimeError, ValueError, AttributeError):
        return 0, 1


class MindSporeCallbacks(LoopCallback):
    """Runs MindSpore callbacks (``run_context`` protocol) inside TinyMS's loop, unchanged.

    Fills the fields of ``run_context.original_args()`` that MindSpore's own training loop
    fills and its callbacks read: ``cur_epoch_num``, ``cur_step_num``, ``batch_num``,
    ``epoch_num``, ``net_outputs``, ``train_network``, ``optimizer``, ``eval_results``...
    plus ``train_state`` (the run's :class:`TrainState`, which TinyMS's ModelCheckpoint saves)
    and ``logs`` (the epoch's History-named values).
    """

    def __init__(self, callbacks, model, epoch, steps, dataset, state, group_size=1):
        from mindspore.train.callback._callback import CallbackManager, InternalCallbackParam, RunContext

        import mindspore as ms

        self.callbacks = list(callbacks)
        p = InternalCallbackParam()
        p.train_network = model._train_net
        p.network = model.network
        p.epoch_num = epoch
        p.batch_num = steps
        p.cur_epoch_num = 0
        p.cur_step_num = 0
        p.mode = "train"
        p.loss_fn = model.loss_fn
        p.optimizer = model.optimizer
        p.parallel_mode = ms.get_auto_parallel_context("parallel_mode")
        p.device_number = group_size
        p.train_dataset = dataset
        p.list_callback = self.callbacks
        p.train_dataset_element = None
        p.net_outputs = None
        p.dataset_sink_mode = False
        p.last_save_ckpt_step = None
        p.latest_ckpt_file = None
        p.loss_scale_mananger = None  # (sic) MindSpore's own spelling of this field
        p.initial_step = 0
        p.train_state = state
        p.logs = {}
        self.cb_params = p
        self.run_context = RunContext(p)
        self._manager = CallbackManager(self.callbacks)
        self._cbs = None

    def __enter__(self):
        self._cbs = self._manager.__enter__()
        return self

    def __exit__(self, *err):
        return self._manager.__exit__(*err)

    def _stop_check(self):
        if self.run_context.get_stop_requested():
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self._cbs.on_train_begin(self.run_context)
        self._stop_check()

    def on_epoch_begin(self, epoch, logs=None):
        self.cb_params.cur_epoch_num = epoch
        self._cbs.on_train_epoch_begin(self.run_context)
        self._stop_check()

    def on_step_begin(self, step, logs=None):
        self.cb_params.cur_step_num = step
        self.cb_params.train_dataset_element = logs["data"]
        self._cbs.on_train_step_begin(self.run_context)

    def on_step_end(self, step, logs=None):
        self.cb_params.net_outputs = logs["loss"]
        self._cbs.on_train_step_end(self.run_context)
        self._stop_check()

    def on_epoch_end(self, epoch, logs=None):
        p = self.cb_params
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            p.eval_results = {("eval_loss" if k == "loss" else k): v for k, v in val.items()}
            p.metrics = {k: v for k, v in val.items() if k != "loss"}
        p.mode = "train"
        p.logs = logs
        self._cbs.on_train_epoch_end(self.run_context)
        self._stop_check()

    def on_train_end(self, logs=None):
        self._cbs.on_train_end(self.run_context)


def _split_callbacks(callbacks, is_main):
    """(TinyMS callbacks, MindSpore callbacks, index of the adapter among the TinyMS ones)."""
    from mindspore.train import Callback as MsCallback
    from mindspore.train import ModelCheckpoint as MsModelCheckpoint

    native, foreign, at = [], [], None
    for cb in callbacks:
        if isinstance(cb, LoopCallback):
            native.append(cb)
        elif isinstance(cb, MsCallback):
            if not is_main and isinstance(cb, MsModelCheckpoint):
                continue  # one writer: rank 0
            if at is None:
                at = len(native)
            foreign.append(cb)
        else:
            raise TypeError(f"callbacks must be tinyms.callbacks callbacks (LoopCallback or MindSpore's "
                            f"Callback), got {type(cb).__name__}")
    return native, foreign, at


def _current_lr(optimizer, step):
    lr = getattr(optimizer, "learning_rate", None)
    try:
        values = np.asarray(lr.asnumpy() if hasattr(lr, "asnumpy") else lr, dtype=np.float64).ravel()
    except (TypeError, ValueError, RuntimeError):
        return None
    if values.size == 0:
        return None
    return float(values[min(max(step - 1, 0), values.size - 1)])


def _diverged(values, first_step, steps, model):
    """Raise TrainingDivergedError for the first non-finite value (step numbers are global)."""
    bad = np.flatnonzero(~np.isfinite(values))
    if not bad.size:
        return
    step = first_step + int(bad[0])
    epoch, in_epoch = (step - 1) // steps + 1, (step - 1) % steps + 1
    value = float(values[bad[0]])
    lr = _current_lr(model.optimizer, step)
    lr_text = f" ({lr:g})" if lr is not None else ""
    hint = f" e.g. learning_rate={lr / 10:g}" if lr else ""
    raise TrainingDivergedError(
        f"the training loss became {value} at epoch {epoch}, step {in_epoch} of {steps} (global step "
        f"{step}): training diverged. The learning rate{lr_text} is probably too high: lower it 3-10x{hint}; "
        f"if it still happens, check the data for NaN/inf values and normalise the inputs",
        epoch=epoch, step=step, loss=value)


def _read_losses(losses, parts=None):
    """Each step's loss; a step returning named losses (``train_net.loss_names``: a vector, ``loss``
    first) also appends each step's row of them to ``parts``."""
    if parts is not None:
        rows = np.array([np.asarray(l.asnumpy(), np.float64).reshape(-1) for l in losses]).reshape(len(losses), -1)
        parts.append(rows)
        return rows[:, 0].copy()
    return np.array([float(np.mean(l.asnumpy())) if hasattr(l, "asnumpy") else float(np.mean(l))
                     for l in losses], dtype=np.float64)


def check_schedule_length(optimizer, last_step, steps):
    """Raise LearningRateError when a per-step schedule has fewer rates than training runs steps.

    MindSpore reads rate ``s`` of the table at step ``s``; past its end the step fails inside
    the graph with an index error, after part of the run. ``last_step`` is the number of the
    run's last step (epoch x steps per epoch), counted from the first run's step 0.
    """
    from ..errors import LearningRateError
    from ._checkpoint import learning_rate_parameters

    if not getattr(optimizer, "dynamic_lr", False):
        return
    tables = [p for p in learning_rate_parameters(optimizer) if len(p.shape) == 1]
    if not tables:
        return  # a LearningRateSchedule computes any step's rate
    rates = min(int(p.shape[0]) for p in tables)
    if rates < last_step:
        raise LearningRateError(
            f"the optimizer's learning-rate schedule has {rates} per-step rates, but training to epoch "
            f"{last_step // steps} runs {last_step} steps ({steps} per epoch): build the schedule for "
            f"{last_step} steps, e.g. warmup_cosine_lr(peak_lr, total_steps={last_step}). A run continued "
            f"with resume_from= keeps counting steps from the first run's, so its schedule starts at step 0 "
            f"as that run's did")


def _restore_run(model, state, steps):
    """Apply a resumed TrainState's generator states and dataset seed before the pipeline starts."""
    from .._seed import set_rng_state

    if state.steps_per_epoch and state.steps_per_epoch != steps:
        raise CheckpointError(
            f"the checkpoint was saved by a run with {state.steps_per_epoch} steps per epoch, but this "
            f"dataset gives {steps}: resume with the same dataset, batch size and sink_size")
    if state.rng:
        set_rng_state(state.rng)
    if state.data_seed is not None:
        import mindspore.dataset as ds
        ds.config.set_seed(int(state.data_seed))


def _start_pipeline(dataset, data_start, batches_needed, size):
    """An iterator over the dataset positioned ``data_start`` batches in (MindSpore's own
    failover reset replays the sampler and shuffle state to there), and the batch generator."""
    passes = math.ceil((data_start + batches_needed) / size)
    if data_start:
        previous = getattr(dataset, "_global_step", None)
        dataset.set_init_step(data_start)
        try:
            iterator = dataset.create_tuple_iterator(num_epochs=passes, do_copy=False)
        finally:
            dataset.set_init_step(previous)  # the user's dataset object is left as it was
    else:
        iterator = dataset.create_tuple_iterator(num_epochs=passes, do_copy=False)

    def batches():
        for _ in range(passes - data_start // size):
            yield from iterator
    return iterator, batches()


def run_train(model, epoch, dataset, callbacks, steps, size, initial_epoch, verbose, valid_dataset,
              history, state, sink_mode=False):
    """The training loop behind :meth:`Model.train` (arguments already checked).

    ``state`` is the TrainState to continue (its ``step`` and ``data_step`` say where), or None
    to start at ``initial_epoch`` with the pipeline at its beginning.
    """
    from .._seed import dataset_seed

    rank, group = rank_info()
    is_main = rank == 0
    if not is_main:
        verbose = 0
    if state is not None:
        _restore_run(model, state, steps)
        first_epoch, done_in_epoch, data_start = state.epoch + 1, state.step_in_epoch, state.data_step
        step = state.step
    else:
        first_epoch, done_in_epoch, data_start = initial_epoch + 1, 0, 0
        step = initial_epoch * steps
    check_schedule_length(model.optimizer, epoch * steps, steps)
    state = TrainState(step=step, steps_per_epoch=steps, data_step=data_start, data_seed=dataset_seed())
    model.train_state = state
    model.stop_training = False
    train_net = model._build_train_net()
    model._step_fn = None

    native, foreign, at = _split_callbacks(callbacks, is_main)
    adapter = None
    if foreign:
        adapter = MindSporeCallbacks(foreign, model, epoch, steps, dataset, state, group)
        adapter.cb_params.dataset_sink_mode = bool(sink_mode)
        adapter.cb_params.cur_epoch_num = first_epoch - 1
        adapter.cb_params.cur_step_num = step
        adapter.cb_params.initial_step = step
        native.insert(at, adapter)
    for cb in native:
        cb.set_model(model)
    begin_cbs = [cb for cb in native if _overrides(cb, "on_step_begin")]
    end_cbs = [cb for cb in native if _overrides(cb, "on_step_end")]
    custom_step = custom_train_step(model)
    names = getattr(train_net, "loss_names", None)  # a step returning several named losses (a GAN's)

    batches_needed = (epoch - first_epoch + 1) * steps - done_in_epoch
    iterator, batches = _start_pipeline(dataset, data_start, batches_needed, size)
    step_fn, labels_ok = None, None
    with contextlib.ExitStack() as stack:
        stack.callback(_stop_iterator, iterator)
        if adapter is not None:
            stack.enter_context(adapter)
        for cb in native:
            cb.on_train_begin({})
        for ep in range(first_epoch, epoch + 1):
            if model.stop_training:
                break
            for cb in native:
                cb.on_epoch_begin(ep, {})
            todo = steps - (done_in_epoch if ep == first_epoch else 0)
            progress = EpochProgress(verbose, ep, epoch, todo)
            started, losses, values, checked, step_times = time.perf_counter(), [], [], 0, []
            parts = [] if names else None
            first_of_epoch = step + 1
            train_net.set_train(True)
            for in_epoch in range(steps - todo + 1, steps + 1):
                batch = next(batches, None)
                if batch is None:
                    break
                step += 1
                if begin_cbs:
                    for cb in begin_cbs:
                        cb.on_step_begin(step, {"data": batch, "batch": in_epoch})
                if step_fn is None:
                    step_fn, labels_ok, loss = _first_step(model, train_net, batch, custom_step)
                else:
                    if labels_ok is not None:
                        labels_ok(batch)
                    loss = step_fn(*batch)
                # no read-back here: the next batch is fetched while this step still runs
                losses.append(loss)
                step_times.append(time.perf_counter() - started)
                state.step, state.data_step = step, state.data_step + 1
                progress.step(loss)
                if end_cbs:
                    logs = {"loss": loss, "batch": in_epoch}
                    for cb in end_cbs:
                        cb.on_step_end(step, logs)
                if len(losses) - checked > CHECK_EVERY:  # every older loss is ready: cheap
                    values.append(_read_losses(losses[checked:-1], parts))
                    _diverged(values[-1], first_of_epoch + checked, steps, model)
                    checked = len(losses) - 1
                if model.stop_training:
                    break
            n_steps = len(losses)
            values.append(_read_losses(losses[checked:], parts))
            _diverged(values[-1], first_of_epoch + checked, steps, model)
            values = np.concatenate(values)  # this epoch's per-step losses
            # each worker trained on its own shard: the epoch's loss is the mean over the workers
            # (every worker reaches this line once per epoch; a single process gets its own mean)
            logs = {"loss": all_mean(float(np.mean(values)) if n_steps else float("nan"))}
            step_lrs = learning_rates(model.optimizer, n_steps) or [float("nan")] * n_steps
            named = np.concatenate(parts) if parts else None
            if named is not None and n_steps:
                logs.update({name: all_mean(float(np.mean(named[:, k]))) for k, name in enumerate(names) if k})
            if n_steps and np.isfinite(step_lrs[-1]):
                logs["lr"] = step_lrs[-1]
            for i in range(n_steps):
                row = {"loss": values[i], "lr": step_lrs[i]}
                if named is not None:
                    row.update({name: named[i, k] for k, name in enumerate(names) if k})
                history._record_step(ep, step - n_steps + i + 1, row, step_times[i])
            if valid_dataset is not None:
                results = model._evaluate(valid_dataset)
                logs.update({f"val_{k}": v for k, v in results.items()})
            seconds = time.perf_counter() - started
            progress.close(logs, seconds)
            for cb in native:
                cb.on_epoch_end(ep, logs)
            history._record(ep, logs, seconds)
            if model.stop_training:
                history.stopped_early = ep < epoch or n_steps < todo
                break
        for cb in native:
            cb.on_train_end({})
    return history


def _first_step(model, train_net, batch, custom_step):
    """Run the first step: check the batch, prepare the step function, explain failures."""
    if custom_step:  # the subclass owns the step; labels are still checked when there are any
        labels_ok = first_label_check(model, batch)
        return model.train_step, labels_ok, model.train_step(*batch)
    step_fn = model._step_fn = model._step_function(train_net, batch)
    labels_ok = first_label_check(model, batch)
    return step_fn, labels_ok, run_first(step_fn, batch, model)


def first_label_check(model, batch):
    """Check the first batch's targets against the network's classes; return the check for the
    next batches (a function of the batch), or None when batches carry no targets.

    A batch of one column (data only) reaches here only through an overridden ``train_step``,
    which decides itself what a step does with it. ``train`` and ``lr_find`` share this, so
    both accept the same data.
    """
    if len(batch) < 2:
        return None
    labels_ok = model._label_check(batch)
    labels_ok(batch)
    return labels_ok


def custom_train_step(model):
    """True when a subclass of Model overrides ``train_step`` (its step then runs as written)."""
    return not getattr(type(model).train_step, "_tinyms_base", False)


def _stop_iterator(iterator):
    with contextlib.suppress(Exception):  # free the pipeline's threads now
        iterator.stop()
