"""Training callbacks: MindSpore's, working unchanged inside ``tinyms.model.Model.train``.

A callback's ``on_train_step_end(run_context)`` / ``on_train_epoch_end(run_context)`` see the
usual ``run_context.original_args()`` fields: ``cur_epoch_num``, ``cur_step_num``,
``batch_num``, ``epoch_num``, ``net_outputs`` (the step's loss), ``train_network``...

Example:
    >>> from tinyms.callbacks import ModelCheckpoint, CheckpointConfig, LossMonitor
    >>> ckpt = ModelCheckpoint(prefix="lenet5", directory="/tmp/ckpt",
    ...                        config=CheckpointConfig(save_checkpoint_steps=100, keep_checkpoint_max=3))
    >>> callbacks = [ckpt, LossMonitor(per_print_times=100)]
"""

from mindspore import train as _train

_NAMES = ["Callback", "RunContext", "ModelCheckpoint", "CheckpointConfig", "LossMonitor", "TimeMonitor",
          "EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler", "History", "LambdaCallback",
          "SummaryCollector", "OnRequestExit", "BackupAndRestore"]

globals().update({name: getattr(_train, name) for name in _NAMES})

__all__ = list(_NAMES)
