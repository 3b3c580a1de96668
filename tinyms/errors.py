"""Typed errors raised at TinyMS's public boundary.

Every error names what went wrong and how to fix it. Each one also derives from the
built-in exception a Python user would naturally catch (``ValueError``, ``RuntimeError``,
``OSError``...), so ``except ValueError`` keeps working.

Example:
    >>> from tinyms.errors import TinyMSError, UnknownNameError
    >>> from tinyms.model import create_model
    >>> try:
    ...     create_model("lenet6")
    ... except UnknownNameError as err:
    ...     print(isinstance(err, TinyMSError), isinstance(err, ValueError), str(err).split(";")[0])
    True True unknown model 'lenet6'
"""

__all__ = [
    "TinyMSError",
    "DatasetError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
    "InputShapeError",
    "NotCompiledError",
    "CheckpointError",
    "UnknownNameError",
    "ExportError",
    "RecipeError",
    "ConfigError",
    "ImageSaveError",
    "HubError",
    "LearningRateError",
    "TrainingDivergedError",
    "JSONInputError",
]


class TinyMSError(Exception):
    """Base class of every error TinyMS raises on purpose."""


class DatasetError(TinyMSError, ValueError):
    """A dataset folder or file is missing, empty, or not in the expected format.

    Fix: download it again with ``download_dataset(name)`` (every file is verified), or lay the
    folder out as the loader expects (the message names the file or folder and what was expected);
    remove or re-save a corrupt image it names.
    """


class DownloadError(TinyMSError, OSError):
    """Every source for a file failed, or the destination cannot be written.

    Fix: check the connection, or set ``TINYMS_DATASET_MIRROR`` (datasets) or ``TINYMS_HUB_MIRROR``
    (weights) to a mirror; offline, copy the official files into the dataset folder and call
    ``download_dataset`` again. ``TINYMS_DOWNLOAD_TIMEOUT`` gives a slow source more time.
    """


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected SHA-256 (the bad file has been removed).

    Fix: call again (the bad file was removed); if it fails again, the source serves another file
    than the official one: use another mirror.
    """


class HubError(DownloadError):
    """A pretrained asset cannot be provided: it is absent from the cache while ``TINYMS_OFFLINE=1``
    forbids downloading, its description file is malformed, or a copy shipped with TinyMS is
    damaged. The message names the asset and how to get it.

    Fix: run once with network access (unset ``TINYMS_OFFLINE``), or put the weights file where the
    message says.
    """


class ArchiveError(DownloadError):
    """An archive cannot be extracted safely: a member would land outside the target folder
    (absolute path, ``..``, a link pointing out), is a device file, or the archive is
    damaged, truncated or larger than its dataset allows. Nothing was extracted.

    Fix: delete the archive and download it again from the official source.
    """

    def __init__(self, message, member=None):
        super().__init__(message)
        self.member = member

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class InputShapeError(TinyMSError, ValueError):
    """A network got an input whose shape or dtype it cannot take.

    Fix: prepare inputs with the network's transform, or build the network for your input
    (``num_channel=``, ``image_size=``...); the message says what it takes.
    """


class NotCompiledError(TinyMSError, RuntimeError):
    """``Model.train``/``eval`` was called before ``Model.compile`` set what it needs.

    Fix: call ``model.compile(loss_fn=..., optimizer=..., metrics=...)`` first.
    """


class CheckpointError(TinyMSError, ValueError):
    """A checkpoint is missing, corrupt, or belongs to another network.

    Fix: load the file into the network it was written for (``tinyms.model.load(path)`` rebuilds it;
    or pass ``network=``); a file whose CRC fails is damaged: use another copy.
    """


class UnknownNameError(TinyMSError, KeyError, ValueError):
    """A name (dataset, model, loss, optimizer, metric...) is not one TinyMS knows.

    Fix: use one of the names the message lists (``list_models()``, ``list_datasets()``, ``LOSSES``,
    ``OPTIMIZERS``, ``METRICS``...).
    """

    def __str__(self):  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ExportError(TinyMSError, RuntimeError):
    """A model cannot be exported in the requested format.

    Fix: export another format (MindIR when ONNX names an operator it cannot convert), or keep a
    checkpoint.
    """


class RecipeError(TinyMSError, ValueError):
    """A preprocessing recipe or one of its steps is malformed (unknown op, bad parameter).

    Fix: use an op and parameters the message lists.
    """


class ConfigError(TinyMSError, ValueError):
    """A configuration (a ``tinyms train`` YAML file or its flags, a detection app's JSON file) is
    invalid: a missing or unknown key, a value of the wrong type or range, or a name TinyMS does
    not know. The message names the key and the fix.

    Fix: correct the key the message names; ``tinyms train --help`` lists every key.

    Attributes:
        field (str or None): the key at fault, when there is one.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class ImageSaveError(TinyMSError, OSError):
    """An image (e.g. a grid from ``show_images``) cannot be written to the requested file; nothing was left behind.

    Fix: write to a path in a folder that exists and can be written.
    """


class JSONInputError(TinyMSError, ValueError):
    """A JSON text TinyMS reads (a ``servable.json``, recipe, hub asset, run record, request body...)
    is larger or nested more deeply than TinyMS reads; the message names the text and the limit.

    Fix: write the file again with the TinyMS call that made it (``write_servable``...), or send a
    smaller request.
    """


class LearningRateError(TinyMSError, ValueError):
    """An optimizer's learning rate cannot serve as asked: ``ReduceLROnPlateau`` or
    ``Model.lr_find`` would change a per-step schedule fixed in advance, or ``Model.train``
    would run more steps than a per-step schedule has rates.

    Fix: use a constant learning rate with ``ReduceLROnPlateau`` and ``lr_find``, or build the
    schedule for every step of the run (epochs x steps per epoch).
    """


class TrainingDivergedError(TinyMSError, ArithmeticError):
    """The training loss became NaN or infinite; the message names the epoch and step and
    suggests a lower learning rate.

    Fix: lower the learning rate (``model.lr_find`` suggests one) and check that the inputs are
    normalised.

    Attributes:
        epoch (int): the epoch (1-based) of the first non-finite loss.
        step (int): the global step (1-based) of that loss.
        loss (float): the value (``nan``, ``inf`` or ``-inf``).
    """

    def __init__(self, message, epoch=None, step=None, loss=None):
        super().__init__(message)
        self.epoch, self.step, self.loss = epoch, step, loss
