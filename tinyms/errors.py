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
    """A dataset folder or file is missing, empty, or not in the expected format."""


class DownloadError(TinyMSError, OSError):
    """Every source for a file failed, or the destination cannot be written."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected SHA-256 (the bad file has been removed)."""


class HubError(DownloadError):
    """A pretrained asset cannot be provided: it is absent from the cache while ``TINYMS_OFFLINE=1``
    forbids downloading, its description file is malformed, or a copy shipped with TinyMS is
    damaged. The message names the asset and how to get it."""


class ArchiveError(DownloadError):
    """An archive cannot be extracted safely: a member would land outside the target folder
    (absolute path, ``..``, a link pointing out), is a device file, or the archive is
    damaged, truncated or larger than its dataset allows. Nothing was extracted."""

    def __init__(self, message, member=None):
        super().__init__(message)
        self.member = member

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class InputShapeError(TinyMSError, ValueError):
    """A network got an input whose shape or dtype it cannot take."""


class NotCompiledError(TinyMSError, RuntimeError):
    """``Model.train``/``eval`` was called before ``Model.compile`` set what it needs."""


class CheckpointError(TinyMSError, ValueError):
    """A checkpoint is missing, corrupt, or belongs to another network."""


class UnknownNameError(TinyMSError, KeyError, ValueError):
    """A name (dataset, model, loss, optimizer, metric...) is not one TinyMS knows."""

    def __str__(self):  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ExportError(TinyMSError, RuntimeError):
    """A model cannot be exported in the requested format."""


class RecipeError(TinyMSError, ValueError):
    """A preprocessing recipe or one of its steps is malformed (unknown op, bad parameter)."""


class ConfigError(TinyMSError, ValueError):
    """A configuration (a ``tinyms train`` YAML file or its flags, a detection app's JSON file) is
    invalid: a missing or unknown key, a value of the wrong type or range, or a name TinyMS does
    not know. The message names the key and the fix.

    Attributes:
        field (str or None): the key at fault, when there is one.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class ImageSaveError(TinyMSError, OSError):
    """An image (e.g. a grid from ``show_images``) cannot be written to the requested file; nothing was left behind."""


class JSONInputError(TinyMSError, ValueError):
    """A JSON text TinyMS reads (a ``servable.json``, recipe, hub asset, run record, request body...)
    is larger or nested more deeply than TinyMS reads; the message names the text and the limit."""


class LearningRateError(TinyMSError, ValueError):
    """An optimizer's learning rate cannot serve as asked: ``ReduceLROnPlateau`` or
    ``Model.lr_find`` would change a per-step schedule fixed in advance, or ``Model.train``
    would run more steps than a per-step schedule has rates."""


class TrainingDivergedError(TinyMSError, ArithmeticError):
    """The training loss became NaN or infinite; the message names the epoch and step and
    suggests a lower learning rate.

    Attributes:
        epoch (int): the epoch (1-based) of the first non-finite loss.
        step (int): the global step (1-based) of that loss.
        loss (float): the value (``nan``, ``inf`` or ``-inf``).
    """

    def __init__(self, message, epoch=None, step=None, loss=None):
        super().__init__(message)
        self.epoch, self.step, self.loss = epoch, step, loss
