"""Preprocessing recipes that run identically on a training dataset and on one inference image.

A :class:`DatasetTransform` holds one list of MindSpore image ops. ``apply_ds`` maps that list
over a dataset's image column for training and evaluation; calling the transform on a single
image runs the very same op objects eagerly, so a picture gives the same numbers at inference
as it did in training.
"""

import io
import multiprocessing
import os

import numpy as np
import mindspore.dataset as ds
from mindspore import dtype as mstype
from PIL import Image

from .._checks import positive_int
from .._names import lookup
from ..data.info import dataset_info
from ..errors import DatasetError, InputShapeError
from .ops import HWC2CHW, Inter, Normalize, Rescale, Resize, TypeCast
from .predictions import top_k_predictions

__all__ = ["DatasetTransform", "MnistTransform", "mnist_transform", "get_transform"]

_ACCEPTED = (
    "accepted images are: a PIL image; a numpy array shaped (H, W), (H, W, 1), (H, W, 3) or "
    "(H, W, 4) holding uint8 values 0..255 or float values 0..1 or 0..255; a file path "
    "(str or pathlib.Path); or encoded image bytes (PNG, JPEG...)"
)
_SHUFFLE_BUFFER = 10000  # upper bound on shuffle buffer rows: all of a small set, a fair mix of a big one
_PIL_MODE = {1: "L", 3: "RGB"}


def _reason(err):
    if isinstance(err, Image.UnidentifiedImageError):
        return "not an image format PIL recognises"
    return str(err) or type(err).__name__


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class DatasetTransform:
    """A reusable image preprocessing recipe with the same verbs for training and inference.

    Calling the transform on one image and mapping it over a dataset with :meth:`apply_ds` run
    the same MindSpore op objects, so both paths give identical numbers.

    Args:
        ops (sequence): MindSpore image ops applied in order to an HWC uint8 image
            (e.g. ``[Resize((32, 32)), Rescale(1 / 255, 0), HWC2CHW()]``).
        labels (sequence of str): class names; label i names network output i.
        channels (int): channels the recipe expects, 1 (grey) or 3 (RGB). Single images are
            converted to this many channels before the ops run.
        image_column (str): name of the dataset column holding images. Default ``"image"``.
        label_column (str): name of the dataset column holding class ids. Default ``"label"``.

    Raises:
        ValueError: ``channels`` is not 1 or 3, or ``ops`` is empty.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import DatasetTransform, Resize, Rescale, HWC2CHW
        >>> t = DatasetTransform([Resize((8, 8)), Rescale(1 / 255, 0), HWC2CHW()],
        ...                      labels=("no", "yes"), channels=1)
        >>> t(np.zeros((16, 16), np.uint8)).shape
        (1, 8, 8)
    """

    def __init__(self, ops, labels, channels=1, image_column="image", label_column="label"):
        if channels not in _PIL_MODE:
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
        self._ops = list(ops)
        if not self._ops:
            raise ValueError("ops is empty; pass at least one image op, e.g. [Resize((32, 32))]")
        self.labels = tuple(str(lab) for lab in labels)
        self.channels = channels
        self.image_column = image_column
        self.label_column = label_column

    @property
    def ops(self):
        """The image ops of this recipe, in the order they run (a copy)."""
        return list(self._ops)

    # ---------------------------------------------------------------- single images
    def load_image(self, img):
        """Bring one image in any accepted form to the HWC uint8 array the recipe starts from.

        This is the array a dataset row should hold for :meth:`apply_ds` to give the same
        result as calling the transform. Floats are interpreted as follows: if every value lies
        in [0, 1] the image is taken as intensities and scaled by 255, otherwise values are taken
        as 0..255 levels; either way they are rounded to the nearest of the 256 uint8 levels the
        training images use. Colour images are converted to grey (or grey to colour) the way
        PIL's ``Image.convert`` does; for grey that is the luma L = 0.299 R + 0.587 G + 0.114 B.
        An alpha channel is dropped.

        Args:
            img: a PIL image (any mode); a numpy array or mindspore Tensor shaped (H, W),
                (H, W, 1), (H, W, 3) or (H, W, 4), of uint8, integer values 0..255 or float
                values; a file path (str or pathlib.Path); or encoded image bytes.

        Returns:
            numpy.ndarray: uint8 array of shape (H, W, channels).

        Raises:
            InputShapeError: the image has the wrong rank, channel count, dtype or value range,
                the file does not exist, or the bytes/file cannot be decoded.

        Example:
            >>> mnist_transform.load_image(np.zeros((28, 28), np.float32)).shape
            (28, 28, 1)
        """
        if isinstance(img, Image.Image):
            return self._from_pil(img)
        if isinstance(img, (str, os.PathLike)):
            return self._from_file(img)
        if isinstance(img, (bytes, bytearray, memoryview)):
            return self._from_bytes(bytes(img))
        if hasattr(img, "asnumpy"):  # mindspore Tensor
            img = img.asnumpy()
        if isinstance(img, (np.ndarray, list, tuple)):
            return self._from_array(img)
        raise InputShapeError(f"cannot read an image from an object of type {type(img).__name__}; {_ACCEPTED}")

    def _from_pil(self, img):
        arr = np.asarray(img.convert(_PIL_MODE[self.channels]), dtype=np.uint8)
        return self._with_channel_axis(arr)

    def _with_channel_axis(self, arr):
        if arr.size == 0:
            raise InputShapeError(f"the image is empty (shape {arr.shape}); {_ACCEPTED}")
        return arr[:, :, None] if arr.ndim == 2 else arr

    def _from_file(self, path):
        if not os.path.isfile(path):
            raise InputShapeError(
                f"no image file at {os.fspath(path)!r}; pass the path of an existing image file, "
                f"or the image itself ({_ACCEPTED})"
            )
        try:
            with Image.open(path) as pil:
                return self._from_pil(pil)
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise InputShapeError(
                f"cannot decode {os.fspath(path)!r} as an image ({_reason(err)}); pass a PNG, JPEG "
                "or other image file PIL can open"
            ) from None

    def _from_bytes(self, data):
        try:
            with Image.open(io.BytesIO(data)) as pil:
                return self._from_pil(pil)
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise InputShapeError(
                f"cannot decode {len(data)} bytes as an image ({_reason(err)}); pass the raw "
                "content of a PNG, JPEG or other image file"
            ) from None

    def _from_array(self, img):
        try:
            arr = np.asarray(img)
        except ValueError as err:  # ragged nested lists
            raise InputShapeError(f"cannot read an image from this array ({err}); {_ACCEPTED}") from None
        shape = arr.shape
        if arr.ndim == 3 and shape[2] not in (1, 3, 4) and shape[0] in (1, 3, 4):
            raise InputShapeError(
                f"got an array of shape {shape}, which looks channels-first; "
                f"transpose it to (H, W, C) with img.transpose(1, 2, 0); {_ACCEPTED}"
            )
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and shape[2] not in (1, 3, 4)):
            hint = " (one image, not a batch: call the transform per image or use apply_ds)" if arr.ndim == 4 else ""
            raise InputShapeError(f"got an array of shape {shape}{hint}; {_ACCEPTED}")
        if arr.size == 0:
            raise InputShapeError(f"the image is empty (shape {shape}); {_ACCEPTED}")
        arr = self._to_uint8(arr)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return self._convert_channels(arr)

    @staticmethod
    def _to_uint8(arr):
        kind = arr.dtype.kind
        if arr.dtype == np.uint8:
            return arr
        if kind in "iu":
            low, high = int(arr.min()), int(arr.max())
            if low < 0 or high > 255:
                raise InputShapeError(
                    f"integer image values must lie in 0..255, got {low}..{high}; pass raw 8-bit "
                    f"pixels, not normalised or 16-bit data"
                )
            return arr.astype(np.uint8)
        if kind == "f":
            if not np.isfinite(arr).all():
                raise InputShapeError("the image contains NaN or infinite values; pass finite pixel values")
            low, high = float(arr.min()), float(arr.max())
            if low < 0 or high > 255:
                raise InputShapeError(
                    f"float image values must lie in 0..1 (intensities) or 0..255 (levels), got "
                    f"{low:g}..{high:g}; pass raw pixels, not an already-normalised image"
                )
            scaled = arr.astype(np.float64) * 255.0 if high <= 1.0 else arr.astype(np.float64)
            return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        raise InputShapeError(f"image dtype {arr.dtype} is not supported; {_ACCEPTED}")

    def _convert_channels(self, arr):
        have = arr.shape[2]
        if have == self.channels:
            return arr
        if have == 1:  # grey -> RGB: repeat, exactly what PIL's L -> RGB does
            return np.repeat(arr, self.channels, axis=2)
        pil = Image.fromarray(np.ascontiguousarray(arr), "RGB" if have == 3 else "RGBA")
        return self._from_pil(pil)

    def __call__(self, img):
        """Preprocess one image for inference exactly as :meth:`apply_ds` does for training.

        Every input TinyMS 0.3 took still works: a numpy array of any accepted shape (e.g.
        ``np.ones((32, 32))``) or a PIL image. A float array whose values all lie in [0, 1] is
        read as intensities (1.0 is white); one with a larger value is read as 0..255 levels
        (see :meth:`load_image`).

        Args:
            img: one image in any form :meth:`load_image` accepts.

        Returns:
            numpy.ndarray: the preprocessed image, channels first (float32 for the built-in
            recipes). Add a batch axis (``x[None]``) before feeding a network.

        Raises:
            InputShapeError: the image is not in an accepted form; the message lists them.

        Example:
            >>> mnist_transform(np.zeros((28, 28), np.uint8)).shape
            (1, 32, 32)
        """
        arr = self.load_image(img)
        for op in self._ops:
            arr = op(arr)
        return np.asarray(arr)

    # ---------------------------------------------------------------- datasets
    def apply_ds(self, dataset, repeat_size=1, batch_size=32, num_parallel_workers=None,
                 is_training=True, *, shuffle=None, drop_remainder=None):
        """Map the recipe over a dataset's images, cast labels to int32, then shuffle and batch.

        The positional order is TinyMS 0.3's. ``is_training`` picks between the two uses:

        - ``True`` (training): rows are shuffled (buffer of up to 10,000 rows, a new order
          every epoch) and a last batch smaller than ``batch_size`` is dropped.
        - ``False`` (evaluation): rows keep the dataset's own order (a dataset built with
          ``shuffle=False`` is never reordered) and the last, partial batch is kept, so every
          row comes out exactly once per repeat.

        Args:
            dataset (mindspore.dataset.Dataset): rows with an HWC uint8 image column
                (``self.image_column``) and optionally a class-id column (``self.label_column``),
                e.g. a ``tinyms.data.MnistDataset``.
            repeat_size (int): how many times the batched dataset is repeated. Default 1.
            batch_size (int): rows per batch. Default 32.
            num_parallel_workers (int): worker threads for the image ops. Default: half the
                CPUs (at least 1), leaving the rest to training: on 2 cores one worker made a
                LeNet5 MNIST epoch 14% faster than two (benchmarks/RESULTS.md). Values above
                the CPU count are lowered to it.
            is_training (bool): training (True, default) or evaluation (False) behaviour, see above.
            shuffle (bool): keyword only; overrides the shuffling ``is_training`` chose.
            drop_remainder (bool): keyword only; overrides whether a partial last batch is
                dropped (``is_training`` chose).

        Returns:
            mindspore.dataset.Dataset: the mapped dataset; its images are what ``self(img)``
            returns for each image, batched, and its labels are int32.

        Raises:
            DatasetError: ``dataset`` is not a MindSpore dataset or has no image column.
            TypeError, ValueError: a size or worker count is not a positive integer, or
                ``is_training``/``shuffle``/``drop_remainder`` is not True or False.

        Example:
            >>> train = mnist_transform.apply_ds(MnistDataset("/data/mnist/train"))      # doctest: +SKIP
            >>> test = mnist_transform.apply_ds(MnistDataset("/data/mnist/test", shuffle=False),
            ...                                 batch_size=256, is_training=False)      # doctest: +SKIP
        """
        if not isinstance(dataset, ds.Dataset):
            raise DatasetError(
                f"apply_ds needs a mindspore.dataset Dataset, got a {type(dataset).__name__}; "
                "wrap arrays with mindspore.dataset.NumpySlicesDataset({'image': ..., 'label': ...})"
            )
        repeat_size = positive_int(repeat_size, "repeat_size", 1)
        batch_size = positive_int(batch_size, "batch_size", 32)
        is_training = _flag(is_training, "is_training")
        shuffle = is_training if shuffle is None else _flag(shuffle, "shuffle")
        drop_remainder = is_training if drop_remainder is None else _flag(drop_remainder, "drop_remainder")
        workers = self._workers(num_parallel_workers)
        columns = dataset.get_col_names()
        if self.image_column not in columns:
            raise DatasetError(
                f"the dataset has columns {columns} but no {self.image_column!r} column; rename "
                f"the image column with dataset.rename(...), or set transform.image_column"
            )
        if shuffle:
            dataset = dataset.shuffle(self._shuffle_buffer(dataset))
        dataset = dataset.map(operations=list(self._ops), input_columns=self.image_column,
                              num_parallel_workers=workers)
        if self.label_column in columns:
            dataset = dataset.map(operations=TypeCast(mstype.int32), input_columns=self.label_column,
                                  num_parallel_workers=workers)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        if repeat_size > 1:
            dataset = dataset.repeat(repeat_size)
        return dataset

    @staticmethod
    def _workers(num_parallel_workers):
        cpus = multiprocessing.cpu_count()  # the bound MindSpore itself checks against
        if num_parallel_workers is None:
            return max(1, cpus // 2)
        return min(positive_int(num_parallel_workers, "num_parallel_workers", 2), cpus)

    @staticmethod
    def _shuffle_buffer(dataset):
        try:
            size = dataset.get_dataset_size()
        except (RuntimeError, ValueError):
            size = None
        if not size:
            return _SHUFFLE_BUFFER
        return max(2, min(size, _SHUFFLE_BUFFER))

    # ---------------------------------------------------------------- predictions
    def postprocess(self, logits, strategy=None, labels=None, *, as_text=None):
        """Turn network outputs into named, ranked class predictions.

        Without ``strategy`` the result is structured (:class:`Predictions`, best class of
        each row). With ``strategy`` given, the result is the text TinyMS 0.3 returned, e.g.
        ``"TOP1: 5, score: 0.99964"`` for ``"TOP1_CLASS"`` and
        ``"TOP1: 5, score: 0.9996444\\tTOP2: 0, score: 0.0003353\\t..."`` (five tab-ended
        entries) for ``"TOP5_CLASS"``; scores are softmax probabilities. For several rows the
        text has one line per row, joined by ``"\\n"``. ``as_text`` overrides this choice.

        Compatibility with TinyMS 0.3: the structured result compares equal to that text too
        (``postprocess(x) == "TOP1: 5, score: 0.99964"``), and its ``.text`` gives it. Unlike
        0.3, which raised TypeError for anything but a 2-D numpy array, a MindSpore Tensor,
        a nested list and a 1-D row (one input) are accepted; other shapes raise
        InputShapeError (a ValueError).

        Args:
            logits: Tensor or array of shape (N, C) or (C,): the network's raw outputs.
            strategy (str): ``"TOP1_CLASS"`` (best class) or ``"TOP5_CLASS"`` (best five, or
                every class if there are fewer). Case-insensitive. Default: ``"TOP1_CLASS"``,
                structured.
            labels (sequence of str): class names to use instead of ``self.labels``, e.g. for a
                network trained on a different number of classes.
            as_text (bool): keyword only; True returns the text, False the structured result,
                whatever ``strategy``. Default: text exactly when ``strategy`` is given.

        Returns:
            Predictions or str: a list with one :class:`Prediction` per row, each with
            ``labels``, ``scores`` (softmax probabilities, descending), ``indices``, and
            ``label``/``score``/``index`` for the best class, ``to_dict()`` for a JSON-ready
            form; or the text described above.

        Raises:
            UnknownNameError: ``strategy`` is unknown; the message lists the valid ones.
            InputShapeError: ``logits`` is not 1-D/2-D or has a different class count than labels.

        Example:
            >>> logits = np.array([[10, 1, 4, 2, 5, 18, -10, -4, 3, 7]], np.float32)
            >>> preds = mnist_transform.postprocess(logits)
            >>> preds[0].label, str(preds[0]), preds == "TOP1: 5, score: 0.99964"
            ('5', '5 (100.0%)', True)
            >>> mnist_transform.postprocess(logits, strategy="TOP1_CLASS")
            'TOP1: 5, score: 0.99964'
            >>> mnist_transform.postprocess(logits, "top5_class", as_text=False)[0].labels
            ('5', '0', '9', '4', '2')
        """
        if as_text is None:
            as_text = strategy is not None
        else:
            as_text = _flag(as_text, "as_text")
        preds = top_k_predictions(logits, self.labels if labels is None else labels,
                                  "TOP1_CLASS" if strategy is None else strategy)
        return preds.to_text() if as_text else preds

    def __repr__(self):
        ops = ", ".join(type(op).__name__ for op in self._ops)
        return f"{type(self).__name__}(ops=[{ops}], channels={self.channels}, classes={len(self.labels)})"


class MnistTransform(DatasetTransform):
    """The MNIST / LeNet5 recipe: grey image -> (1, 32, 32) float32, normalised.

    Steps: Resize to ``size`` (bilinear), Rescale to [0, 1] (x / 255), Normalize with the MNIST
    mean and std from ``tinyms.data.info.dataset_info("mnist")``, HWC -> CHW. Single images in
    colour are converted to grey first (see :meth:`DatasetTransform.load_image`).

    Args:
        size (tuple of int): output (height, width). Default (32, 32), LeNet5's input.

    Example:
        >>> from tinyms.vision import mnist_transform
        >>> x = mnist_transform("digit.png")               # doctest: +SKIP
        >>> x.shape, x.dtype                               # doctest: +SKIP
        ((1, 32, 32), dtype('float32'))
    """

    def __init__(self, size=(32, 32)):
        info = dataset_info("mnist")
        self.size = tuple(size)
        super().__init__(
            ops=[
                Resize(self.size, Inter.LINEAR),
                Rescale(1.0 / 255.0, 0.0),
                Normalize(mean=list(info.mean), std=list(info.std)),
                HWC2CHW(),
            ],
            labels=info.labels,
            channels=1,
        )


mnist_transform = MnistTransform()

_TRANSFORMS = {"mnist_transform": mnist_transform}


def get_transform(name):
    """Return the ready transform registered as ``name`` (as named in a model config).

    Args:
        name (str or DatasetTransform): e.g. ``"mnist_transform"``; a transform is returned as is.

    Returns:
        DatasetTransform: the shared instance.

    Raises:
        UnknownNameError: ``name`` is unknown; the message lists the valid names.

    Example:
        >>> from tinyms.vision import get_transform
        >>> get_transform("mnist_transform").labels[7]
        '7'
    """
    if isinstance(name, DatasetTransform):
        return name
    return lookup(_TRANSFORMS, name, "transform")
