"""Private: data-parallel training under MindSpore's ``msrun`` launcher, with nothing for the user to call.

``msrun --worker_num=N ... script.py`` starts one scheduler process and N worker processes, each
running ``script.py`` with environment variables that say its part (measured on MindSpore 2.10):

- every process: ``MS_ROLE`` (``MS_SCHED`` or ``MS_WORKER``), ``MS_WORKER_NUM`` (N),
  ``MS_SCHED_HOST`` / ``MS_SCHED_PORT`` (the master address), ``RANK_SIZE``;
- workers also: ``RANK_ID`` and ``DEVICE_ID`` (when msrun assigns ranks itself), ``MS_NODE_ID``.

The scheduler process runs the script too, up to ``mindspore.communication.init()``, which
it never returns from: it coordinates the workers and exits with them.

:func:`setup` is called by ``Model.train`` and by the ``tinyms.data`` loaders, so an unchanged
single-process script trains data-parallel under msrun: communication is initialised once, the
parallel mode is ``DATA_PARALLEL`` with gradients averaged over the workers (MindSpore's
``TrainOneStepCell`` then inserts the all-reduce), and training loaders read one shard each.
Outside msrun every function here is a cheap no-op that imports nothing.
"""

import os

__all__ = ["launched", "setup", "is_distributed", "rank", "group_size", "is_main", "all_mean",
           "default_shards", "LAUNCH_VARIABLES"]

#: The variables whose presence means "started by msrun" (all three are set for every process).
LAUNCH_VARIABLES = ("MS_ROLE", "MS_WORKER_NUM", "MS_SCHED_PORT")

_state = {"ready": False}


def launched():
    """True when this process was started by ``msrun`` (its environment variables are present)."""
    return all(os.environ.get(name) for name in LAUNCH_VARIABLES)


def setup():
    """Initialise data-parallel training once, when this process was started by ``msrun``.

    Sets the device to CPU (unless another device was chosen), calls
    ``mindspore.communication.init()`` (about 5 s on CPU) and sets the auto-parallel context to
    ``DATA_PARALLEL`` with ``gradients_mean=True``. Later calls do nothing. In msrun's
    scheduler process ``init()`` does not return: the scheduler serves the workers and exits.

    Returns:
        bool: True when training is distributed (this process is one of several workers).
    """
    if _state["ready"]:
        return True
    if not launched():
        return False
    import mindspore as ms  # noqa: PLC0415 - only distributed runs pay for it here
    from mindspore.communication import init  # noqa: PLC0415

    if ms.get_context("device_target") in (None, "", "CPU"):
        ms.set_device("CPU")
    init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    _state["ready"] = True
    return True


def is_distributed():
    """True when several processes train together (after :func:`setup`, which this calls)."""
    return setup() and group_size() > 1


def rank():
    """This process's rank among the workers: 0 when not distributed."""
    if not setup():
        return 0
    from mindspore.communication import get_rank  # noqa: PLC0415
    return int(get_rank())


def group_size():
    """How many worker processes train together: 1 when not distributed."""
    if not setup():
        return 1
    from mindspore.communication import get_group_size  # noqa: PLC0415
    return int(get_group_size())


def is_main():
    """True in the process that logs and writes files: rank 0, or the only process."""
    return rank() == 0


def all_mean(value):
    """The mean of a number over all workers (every worker must call it, at the same point).

    Args:
        value (float): this worker's number, e.g. its mean training loss of an epoch.

    Returns:
        float: the mean over the workers; ``value`` itself when not distributed.
    """
    if group_size() <= 1:
        return float(value)
    import numpy as np  # noqa: PLC0415
    import mindspore as ms  # noqa: PLC0415

    total = ms.ops.AllReduce()(ms.Tensor(np.array([value], np.float32)))
    return float(total.asnumpy()[0]) / group_size()


def default_shards(num_shards, shard_id, sampler=None):
    """``(num_shards, shard_id)`` for a loader: one shard per worker unless the caller chose.

    Args:
        num_shards, shard_id: what the caller passed (None when not given).
        sampler: the caller's sampler; a sampler decides the rows itself, so it disables sharding.

    Returns:
        tuple: ``(group_size(), rank())`` in a distributed run when neither argument nor a
        sampler was given; the arguments unchanged otherwise.
    """
    if num_shards is not None or shard_id is not None or sampler is not None or not launched():
        return num_shards, shard_id
    if not is_distributed():
        return num_shards, shard_id
    return group_size(), rank()
