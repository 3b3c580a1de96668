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

from mindspore import train as _train

from ._fileio import FILE_MODE as _FILE_MODE
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


__all__ = _FROM_MINDSPORE + ["CheckpointConfig", "ModelCheckpoint", "History"]
