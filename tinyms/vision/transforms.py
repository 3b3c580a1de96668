"""Preset transforms: one recipe per dataset, run identically on a training set and on one image.

A :class:`DatasetTransform` holds a :class:`~tinyms.vision.Recipe` (training steps and
evaluation steps, plain values) and the class names. ``apply_ds`` runs the recipe over a
dataset in MindSpore's engine; calling the transform on one image runs the evaluation steps
through the very same MindSpore ops, so a picture gives the same numbers at inference as a
test image during evaluation. Presets are immutable: configure one by constructing a new one
(``Cifar10Transform(size=(64, 64))``).
"""

import multiprocessing
import os

import numpy as np
from PIL import Image

from .._checks import positive_int
from .._names import lookup
from ..data.imagefolder import class_names
from ..data.info import dataset_info
from ..errors import DatasetError, InputShapeError, RecipeError
from . import _detections, _presets
from ._decode import BadImage, DatasetDecoder, decode, to_array
from ._recipe import OPS, Recipe
from .predictions import top_k_predictions

__all__ = ["DatasetTransform", "MnistTransform", "FashionMnistTransform", "Cifar10Transform",
           "Cifar100Transform", "ImageFolderTransform", "VOCTransform", "mnist_transform",
           "fashion_mnist_transform", "cifar10_transform", "cifar100_transform", "imagefolder_transform",
           "voc_transform", "get_transform"]

_ACCEPTED = (
    "accepted images are: a PIL image; a numpy array shaped (H, W), (H, W, 1), (H, W, 3) or "
    "(H, W, 4) holding uint8 values 0..255 or float values 0..1 or 0..255; a file path "
    "(str or pathlib.Path); or encoded image bytes (PNG, JPEG...)"
)
_SHUFFLE_BUFFER = 10000  # upper bound on shuffle buffer rows: all of a small set, a fair mix of a big one
_SHUFFLE_BYTES = 128 << 20  # ... and on the memory those rows hold (decoded photos are large)


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _as_recipe(recipe, channels):
    """A Recipe from a Recipe, its dict/JSON form, or one list of steps used for both phases."""
    if isinstance(recipe, Recipe):
        result = recipe
    elif isinstance(recipe, dict):
        result = Recipe.from_dict(recipe)
    elif isinstance(recipe, str):
        result = Recipe.from_json(recipe)
    else:
        items = list(recipe)
        live = [item for item in items if not isinstance(item, (str, list, tuple)) and
                type(item).__module__.startswith("mindspore")]
        if live:
            raise RecipeError(
                f"DatasetTransform takes recipe steps such as ['resize', {{'size': [32, 32]}}], not "
                f"MindSpore op objects ({type(live[0]).__name__}); steps are plain values that also run "
                f"without MindSpore (serving) and travel in servable.json. Known ops: "
                f"{', '.join(sorted(OPS))}")
        result = Recipe(train=items, eval=items, channels=3 if channels is None else channels)
    if channels is not None and channels != result.channels:
        raise RecipeError(f"channels={channels} disagrees with the recipe's channels={result.channels}")
    return result


class DatasetTransform:
    """An image preprocessing recipe with the same verbs for training and inference.

    Mapping the transform over a dataset with :meth:`apply_ds` and calling it on one image run
    the same MindSpore ops built from the same recipe, so both paths give identical numbers.
    The object is immutable.

    Args:
        recipe: a :class:`~tinyms.vision.Recipe`, its JSON/dict form, or one list of steps
            used for training and evaluation alike (e.g. ``[["resize", {"size": [32, 32]}],
            ["rescale", {"scale": 1 / 255}], ["hwc2chw"]]``).
        labels (sequence of str): class names; label i names network output i. Default: none
            (predictions are then named by class index).
        channels (int): 1 (grey) or 3 (RGB) when ``recipe`` is a list of steps (default 3);
            single images are converted to this many channels before the steps run.
        image_column (str): the dataset column holding images. Default ``"image"``.
        label_column (str): the dataset column holding class ids. Default ``"label"``.

    Raises:
        RecipeError: the recipe is malformed, or MindSpore op objects were passed instead of steps.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import DatasetTransform
        >>> t = DatasetTransform([["resize", {"size": [8, 8]}], ["rescale", {"scale": 1 / 255}],
        ...                       ["hwc2chw"]], labels=("no", "yes"), channels=1)
        >>> t(np.zeros((16, 16), np.uint8)).shape
        (1, 8, 8)
    """

    def __init__(self, recipe, labels=(), channels=None, image_column="image", label_column="label"):
        recipe = _as_recipe(recipe, channels)
        self._set(recipe=recipe, labels=tuple(str(lab) for lab in (labels or ())),
                  channels=recipe.channels, image_column=image_column, label_column=label_column,
                  _eager=None)

    def _set(self, **values):
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; construct a new one with the settings "
                             f"you need (e.g. {type(self).__name__}(...) or DatasetTransform(recipe, ...))")

    def __delattr__(self, name):
        self.__setattr__(name, None)

    def __eq__(self, other):
        return (type(self) is type(other) and self.recipe == other.recipe and self.labels == other.labels
                and (self.image_column, self.label_column) == (other.image_column, other.label_column))

    def __hash__(self):
        return hash((type(self).__name__, self.recipe, self.labels))

    _DATASET = ""

    @property
    def dataset(self):
        """The registered dataset this preset was made for (``"cifar10"``...), or "" for a general one."""
        return self._DATASET

    def to_config(self):
        """The JSON-ready description a model config or a servable carries: recipe and labels."""
        return {"recipe": self.recipe.to_dict(), "labels": list(self.labels)}

    # ---------------------------------------------------------------- single images
    def load_image(self, img):
        """Bring one image in any accepted form to the HWC uint8 array the recipe starts from.

        This is the array a dataset row should hold for :meth:`apply_ds` to give the same
        result as calling the transform. Floats are interpreted as follows: if every value lies
        in [0, 1] the image is taken as intensities and scaled by 255, otherwise values are taken
        as 0..255 levels; either way they are rounded to the nearest of the 256 uint8 levels the
        training images use. Colour images are converted to grey (or grey to colour) the way
        PIL's ``Image.convert`` does; for grey that is the luma L = 0.299 R + 0.587 G + 0.114 B.
        An alpha channel is dropped. Files, bytes and PIL images are turned upright according to
        their EXIF orientation (as image viewers show them), in datasets of encoded files too.

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
            >>> import numpy as np
            >>> from tinyms.vision import mnist_transform
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
        try:
            return to_array(img, self.channels)
        except BadImage as err:
            raise InputShapeError(f"{err.reason} (size {img.size}); {_ACCEPTED}") from None

    def _from_file(self, path):
        if not os.path.isfile(path):
            raise InputShapeError(
                f"no image file at {os.fspath(path)!r}; pass the path of an existing image file, "
                f"or the image itself ({_ACCEPTED})"
            )
        try:
            return decode(path, self.channels)
        except (BadImage, OSError) as err:
            raise InputShapeError(
                f"cannot decode {os.fspath(path)!r} as an image ({getattr(err, 'reason', err)}); pass a "
                "PNG, JPEG or other image file PIL can open"
            ) from None

    def _from_bytes(self, data):
        try:
            return decode(data, self.channels)
        except BadImage as err:
            raise InputShapeError(
                f"cannot decode {len(data)} bytes as an image ({err.reason}); pass the raw "
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
            >>> import numpy as np
            >>> from tinyms.vision import mnist_transform
            >>> mnist_transform(np.zeros((28, 28), np.uint8)).shape
            (1, 32, 32)
        """
        arr = self.load_image(img)
        if self._eager is None:  # built once; MindSpore loads on the first image
            object.__setattr__(self, "_eager", self._eager_ops())
        for op in self._eager:
            arr = op(arr)
        return np.asarray(arr)

    def _eager_ops(self):
        """The ops a single image runs through: the dataset pipeline's evaluation ops."""
        from . import _ms_engine

        return _ms_engine.build(self.recipe.eval)

    # ---------------------------------------------------------------- datasets
    def apply_ds(self, dataset, repeat_size=1, batch_size=32, num_parallel_workers=None,
                 is_training=True, *, shuffle=None, drop_remainder=None):
        """Map the recipe over a dataset's images, cast labels to int32, then shuffle and batch.

        The positional order is TinyMS 0.3's. ``is_training`` picks between the two uses:

        - ``True`` (training): rows are shuffled (a buffer of up to 10,000 rows and about
          128 MiB, a new order every epoch) and a last batch smaller than ``batch_size`` is
          dropped.
        - ``False`` (evaluation): rows keep the dataset's own order (a dataset built with
          ``shuffle=False`` is never reordered) and the last, partial batch is kept, so every
          row comes out exactly once per repeat.

        Args:
            dataset (mindspore.dataset.Dataset): rows with an image column (``self.image_column``:
                HWC uint8, or encoded JPEG/PNG/BMP bytes as ``ImageFolderDataset`` gives by
                default, which are decoded first) and optionally a class-id column
                (``self.label_column``), e.g. a ``tinyms.data.MnistDataset``.
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
            >>> from tinyms.data import MnistDataset, sample_dataset
            >>> from tinyms.vision import mnist_transform
            >>> path = sample_dataset("mnist")          # or download_dataset("mnist")
            >>> train = mnist_transform.apply_ds(MnistDataset(path, usage="train"))
            >>> test = mnist_transform.apply_ds(MnistDataset(path, usage="test", shuffle=False),
            ...                                 batch_size=256, is_training=False)
            >>> images, labels = next(test.create_tuple_iterator(output_numpy=True))
            >>> images.shape, images.dtype, labels.dtype
            ((256, 1, 32, 32), dtype('float32'), dtype('int32'))
            >>> train.get_dataset_size(), test.get_dataset_size()    # 6,000 / 32 dropping the rest; 1,000 / 256
            (187, 4)
        """
        return self._apply_ds(dataset, repeat_size, batch_size, num_parallel_workers, is_training, shuffle,
                              drop_remainder)

    def _apply_ds(self, dataset, repeat_size, batch_size, num_parallel_workers, is_training, shuffle,
                  drop_remainder, **options):
        """apply_ds's work; ``options`` go to :meth:`_map`."""
        import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.vision` light

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
                f"the image column with dataset.rename(...), or build the transform with image_column="
            )
        if shuffle:
            dataset = dataset.shuffle(self._shuffle_buffer(dataset))
        dataset = self._map(dataset, columns, is_training, workers, **options)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        if repeat_size > 1:
            dataset = dataset.repeat(repeat_size)
        return dataset

    def _map(self, dataset, columns, is_training, workers):
        """The recipe on the image column; labels cast to int32; only (image, label) kept."""
        import mindspore.dataset as ds  # noqa: PLC0415
        from mindspore import dtype as mstype  # noqa: PLC0415

        from . import _framed, _ms_engine

        steps = self.recipe.steps(is_training)
        if steps and steps[0].op == "frame_digit" and _framed.all_framed(dataset):
            steps = steps[1:]  # every image is MNIST's: frame_digit would return each unchanged
        dataset = dataset.map(operations=self._decoder(dataset) + _ms_engine.build(steps),
                              input_columns=self.image_column, num_parallel_workers=workers)
        if self.label_column in columns:
            dataset = dataset.map(operations=ds.transforms.TypeCast(mstype.int32),
                                  input_columns=self.label_column, num_parallel_workers=workers)
            if len(columns) > 2 or columns.index(self.image_column) != 0:
                dataset = dataset.project([self.image_column, self.label_column])
        return dataset

    def _decoder(self, dataset):
        """[a decode step] when the image column holds encoded files (ImageFolderDataset's default).

        The step decodes as single images are decoded (PIL, EXIF orientation applied, converted
        to this recipe's channels), so a photo gives the same pixels in training and inference.
        """
        try:  # MindSpore reads one row to tell the shapes
            shape = dataset.output_shapes()[dataset.get_col_names().index(self.image_column)]
        except (RuntimeError, ValueError, IndexError):
            return []
        return [DatasetDecoder(self.channels)] if len(shape) == 1 else []

    @staticmethod
    def _workers(num_parallel_workers):
        cpus = multiprocessing.cpu_count()  # the bound MindSpore itself checks against
        if num_parallel_workers is None:
            return max(1, cpus // 2)
        return min(positive_int(num_parallel_workers, "num_parallel_workers", 2), cpus)

    @staticmethod
    def _shuffle_buffer(dataset):
        """Rows the shuffle holds: all of a small set, up to 10,000 rows and about 128 MiB.

        The buffer fills before the first row leaves it, so it costs memory and start-up time:
        10,000 MNIST rows are 8 MB, but 10,000 decoded 500x375 photos would be 5.6 GB. The row
        size is read from the first row. (MindSpore's readers also shuffle their file order when
        built with shuffle=True, their default, so a smaller buffer still mixes well.)
        """
        try:
            size = dataset.get_dataset_size()
        except (RuntimeError, ValueError):
            size = None
        rows = _SHUFFLE_BUFFER if not size else min(size, _SHUFFLE_BUFFER)
        try:
            row_bytes = sum(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
                            for shape, dtype in zip(dataset.output_shapes(), dataset.output_types()))
        except (RuntimeError, ValueError, TypeError):
            row_bytes = 0
        if row_bytes > 0:
            rows = min(rows, max(64, _SHUFFLE_BYTES // row_bytes))
        return max(2, rows)

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
            >>> import numpy as np
            >>> from tinyms.vision import mnist_transform
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
        if labels is None and not self.labels:  # no class names: name classes by index
            width = np.shape(logits.asnumpy() if hasattr(logits, "asnumpy") else np.asarray(logits))
            labels = [str(i) for i in range(width[-1] if width else 0)]
        preds = top_k_predictions(logits, self.labels if labels is None else labels,
                                  "TOP1_CLASS" if strategy is None else strategy)
        return preds.to_text() if as_text else preds

    def __repr__(self):
        steps = ", ".join(repr(step) for step in self.recipe.eval)
        return f"{type(self).__name__}(eval=[{steps}], channels={self.channels}, classes={len(self.labels)})"


class MnistTransform(DatasetTransform):
    """The MNIST / LeNet5 preset: grey image -> (1, 32, 32) float32, normalised.

    Evaluation (and single images): ``frame_digit`` (a photo of a digit on paper becomes an
    MNIST-style image: light on dark, cropped, centred; MNIST images pass unchanged), bilinear
    resize to ``size``, rescale to [0, 1], normalise with MNIST's mean and std
    (``tinyms.data.dataset_info("mnist")``), channels first. Training: the same without
    ``frame_digit`` (the training images are MNIST's own), after the ``augment`` steps. Colour
    images are converted to grey first (see :meth:`DatasetTransform.load_image`). In
    ``apply_ds`` over MNIST files (``MnistDataset``, shuffled, taken, skipped or repeated), whose
    every image is already framed (checked with numpy before the pipeline is built),
    ``frame_digit`` is left out: same outputs, without a Python call per image.

    Args:
        size (tuple of int): output (height, width). Default (32, 32), LeNet5's input.
        augment (str or list): training augmentation. ``"none"`` (default): none. ``"light"``:
            shift the 28x28 image by up to 2 pixels (zero padding); never a flip, which turns a
            digit into another symbol. ``"imagenet"``: random resized crop of 8 %-100 % of the
            area and a horizontal flip. Or a list of recipe steps of your own, run on the
            28x28 uint8 image before the resize. Evaluation never augments.

    Raises:
        UnknownNameError: ``augment`` is an unknown name (the message lists the valid ones).
        RecipeError: ``augment`` is a malformed list of steps.

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> from tinyms.vision import mnist_transform
        >>> photo = np.full((120, 90), 230, np.uint8)
        >>> photo[30:90, 40:46] = 20                       # a dark "1" on light paper
        >>> Image.fromarray(photo).save("digit.png")
        >>> x = mnist_transform("digit.png")
        >>> x.shape, x.dtype
        ((1, 32, 32), dtype('float32'))
    """

    _DATASET = "mnist"

    def __init__(self, size=(32, 32), augment=None):
        augment = _presets.default_augment(self._DATASET) if augment is None else augment
        super().__init__(_presets.digit_recipe(self._DATASET, _pair(size), photos=self._DATASET == "mnist",
                                               augment=augment),
                         labels=dataset_info(self._DATASET).labels)
        self._set(size=_pair(size), augment=_presets.augment_config(augment))


class FashionMnistTransform(MnistTransform):
    """The Fashion-MNIST preset: grey 28x28 clothing images -> (1, 32, 32) float32, normalised.

    Like :class:`MnistTransform` with Fashion-MNIST's mean, std and class names (``'T-shirt/top'``,
    ``'Trouser'``...), and without photo framing.

    Args:
        size (tuple of int): output (height, width). Default (32, 32).
        augment (str or list): training augmentation, as for :class:`MnistTransform`. Default ``"none"``.

    Example:
        >>> from tinyms.vision import fashion_mnist_transform
        >>> fashion_mnist_transform.labels[9]
        'Ankle boot'
    """

    _DATASET = "fashion_mnist"


class Cifar10Transform(DatasetTransform):
    """The CIFAR-10 preset: RGB 32x32 -> (3, H, W) float32, normalised with CIFAR-10's statistics.

    Training adds CIFAR's standard augmentation (``augment="light"``, the default): zero-pad 4
    pixels on each side and crop 32x32 at a random place, then flip left-right with probability
    0.5 (CIFAR's classes survive mirroring). Evaluation (and single images) never augments.
    Images are resized when ``size`` is not 32x32.

    Args:
        size (tuple of int): output (height, width). Default (32, 32).
        padding (int): padding of the ``"light"`` training crop. Default 4.
        augment (str or list): training augmentation: ``"light"`` (default, above), ``"none"``,
            ``"imagenet"`` (random resized crop of 8 %-100 % of the area and a horizontal flip),
            or a list of recipe steps of your own, run on the 32x32 uint8 image (a resize to
            ``size`` follows unless your steps end at it).

    Raises:
        UnknownNameError: ``augment`` is an unknown name (the message lists the valid ones).
        RecipeError: ``augment`` is a malformed list of steps.

    Example:
        >>> from tinyms.vision import cifar10_transform
        >>> cifar10_transform.labels[:3]
        ('airplane', 'automobile', 'bird')
    """

    _DATASET = "cifar10"
    _LABEL_COLUMN = "label"

    def __init__(self, size=(32, 32), padding=4, augment=None):
        augment = _presets.default_augment(self._DATASET) if augment is None else augment
        super().__init__(_presets.cifar_recipe(self._DATASET, _pair(size), padding, augment=augment),
                         labels=dataset_info(self._DATASET).labels, label_column=self._LABEL_COLUMN)
        self._set(size=_pair(size), augment=_presets.augment_config(augment))


class Cifar100Transform(Cifar10Transform):
    """The CIFAR-100 preset: as :class:`Cifar10Transform`, with CIFAR-100's statistics and 100 fine labels.

    ``apply_ds`` keeps the ``fine_label`` column of ``Cifar100Dataset`` as the label (the
    coarse label is dropped).

    Example:
        >>> from tinyms.vision import cifar100_transform
        >>> len(cifar100_transform.labels), cifar100_transform.label_column
        (100, 'fine_label')
    """

    _DATASET = "cifar100"
    _LABEL_COLUMN = "fine_label"


class ImageFolderTransform(DatasetTransform):
    """Images of any size for ImageNet-style networks -> (3, H, W) float32.

    Evaluation (and single images): resize the shorter side to ``resize`` (default ``size`` x
    8/7, i.e. 256 for 224), crop ``size`` from the centre. Training: by ``augment``, see below.
    Both normalise with ``mean``/``std`` (ImageNet's by default).

    ``augment`` picks the training augmentation:

    - ``"light"`` (the default): the evaluation's resize, then ``size`` cropped at a random
      place instead of the centre (a shift of up to 1/14 of the side each way). No flip: a
      folder's classes may not survive mirroring (digits, text, left/right signs). Measured
      with ResNet-18 on folders of digits and of photo collages (benchmarks/RESULTS.md): from
      the 6th epoch on it was ahead of no augmentation on both (+1.5 and +9 points after 10
      epochs); after 3 epochs it trailed ``"none"`` in three runs of four (by 5-12 points).
    - ``"none"``: training prepares images exactly as evaluation does.
    - ``"imagenet"``: random resized crop to ``size`` (8 %-100 % of the area, aspect 3/4 to
      4/3) and a horizontal flip, as ImageNet networks are trained: for large photos of
      mirror-symmetric subjects and long training. On 32x32 digits it cost 14-53 points.
    - a list of recipe steps of your own (``[["random_horizontal_flip", {"prob": 0.5}]]``),
      run on the decoded image; the evaluation's resize and centre crop follow unless your
      steps already end at ``size``.

    Args:
        size (int or tuple of int): output (height, width). Default (224, 224).
        mean, std (sequence of float): per-channel statistics of pixels in [0, 1].
        labels (sequence of str): class names, e.g. the sub-folder names of an image folder
            (see :meth:`for_folder`). Default: none (classes named by index). The ready
            instance ``imagefolder_transform`` carries TinyMS 0.3's example labels (nine
            mushroom genera), so 0.3 code runs unchanged; build your own for your photos.
        resize (int): shorter side before the centre crop at evaluation.
        augment (str or list): training augmentation: ``"light"``, ``"none"``, ``"imagenet"``
            or a list of recipe steps (above). Default: ``"light"``.

    Raises:
        UnknownNameError: ``augment`` is an unknown name (the message lists the valid ones).
        RecipeError: ``augment`` is a malformed list of steps, or holds rescale, normalize or
            hwc2chw (the preset adds those).

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import ImageFolderTransform
        >>> t = ImageFolderTransform(size=64, labels=["cat", "dog"])
        >>> t(np.zeros((100, 150, 3), np.uint8)).shape
        (3, 64, 64)
        >>> ImageFolderTransform(size=64, augment="light").augment
        'light'
    """

    def __init__(self, size=(224, 224), mean=_presets.IMAGENET_MEAN, std=_presets.IMAGENET_STD,
                 labels=(), resize=None, augment=None):
        augment = _presets.default_augment() if augment is None else augment
        super().__init__(_presets.imagefolder_recipe(_pair(size), resize, tuple(mean), tuple(std), augment=augment),
                         labels=labels)
        self._set(size=_pair(size), augment=_presets.augment_config(augment))

    @classmethod
    def for_folder(cls, folder, **kwargs):
        """This preset with the class names of an image folder (its sub-folders, sorted).

        The order is the one ``ImageFolderDataset`` numbers the classes in, so label i names
        class id i.

        Raises:
            DatasetError: ``folder`` is not a folder or has no sub-folders.
        """
        return cls(labels=class_names(folder), **kwargs)


class VOCTransform(DatasetTransform):
    """The detection preset (Pascal VOC by default): photo -> (3, H, W) float32, boxes moved with it.

    Evaluation (and single images): ``resize`` to ``size`` (aspect ratio not kept, SSD's input)
    or, with ``letterbox=True``, ``letterbox`` (aspect ratio kept, the rest filled with grey
    114, YOLO's input); rescale to [0, 1], normalise with ``mean``/``std`` (ImageNet's by
    default), channels first. Training adds the ``augment`` steps. Every geometric step moves
    the boxes exactly as it moves the pixels. The dataset pipeline and single images run the
    same numpy functions (``tinyms.vision._np_engine``), and the serving front end runs the
    same recipe with that numpy executor, so the three cannot drift apart.

    ``augment`` picks the training augmentation:

    - ``"ssd"`` (the default): SSD's. A random IoU crop: pick a minimum overlap among
      none (the image stays whole), 0.1, 0.3, 0.5, 0.7 and 0.9; try up to 50 crops (each side
      30 %-100 % of the image's, width/height 0.5-2) until one overlaps some object at least
      that much (IoU) and holds the centre of at least one; keep the objects whose centres fall
      inside, clipped to the crop (if no crop qualifies the image stays whole). Then a
      horizontal flip (probability 0.5), the resize, and colour jitter (brightness x 0.8-1.2,
      contrast and saturation x 0.5-1.5, hue turned by up to 5 % of the colour circle).
    - ``"light"``: the flip and the colour jitter only (no object is ever dropped).
    - ``"none"``: training prepares images exactly as evaluation does.
    - a list of recipe steps of your own (``[["random_horizontal_flip", {"prob": 0.5}]]``),
      among ops that move boxes (``resize``, ``letterbox``, ``random_iou_crop``,
      ``random_horizontal_flip``) or leave them alone (``color_jitter``); the evaluation's
      resize follows unless your steps already end at ``size``.

    :meth:`apply_ds` takes detection rows (``tinyms.data.VOCDataset``: ``image``, ``bbox`` as
    [xmin, ymin, width, height] pixels, ``label`` (N, 1)...) and yields, per batch:

    - ``image``: float32 (B, 3, H, W);
    - ``bbox``: float32 (B, M, 4), [xmin, ymin, xmax, ymax] in pixels of ``image``, zeros
      for padding, M the ``max_boxes`` given, or else the most objects one photo of the data
      holds (64 for datasets that cannot say);
    - ``label``: int32 (B, M), 0-based ids into :attr:`labels`, -1 for padding;
    - evaluation only (``is_training=False``): ``image_shape``, float32 (B, 2), each original
      photo's (height, width), which :meth:`boxes_to_image` and :meth:`postprocess` take to
      map predictions back onto the photo; and with ``with_difficult=True`` a fifth column,
      ``difficult``, int32 (B, M), 1 for objects VOC marks difficult.

    Difficult objects stay in the rows (VOC's metric ignores them rather than counting them
    as misses; carry them with ``with_difficult=True``).

    Args:
        size (int or tuple of int): network input (height, width). Default (300, 300).
        mean, std (sequence of float): per-channel statistics of pixels in [0, 1].
        max_boxes (int): rows of boxes per image; an image with more objects is an error naming
            the limit. Default None: as many as the image with the most objects has, when the
            dataset can tell (TinyMS's detection readers, MindSpore's ``VOCDataset``), else 64;
            more than 64 objects in one image needs ``max_boxes`` (the loss's memory grows with
            it). Fewer rows train faster: SSD matches every row with every anchor.
        labels (sequence of str): the object class names, label i names class id i (no
            background). Default: VOC's 20 classes. For your own folder use
            :meth:`for_dataset` or ``labels=dataset.class_names``.
        letterbox (bool): keep the aspect ratio and pad (YOLO) instead of stretching (SSD).
        augment (str or list): training augmentation, see above. Default ``"ssd"``.

    Raises:
        UnknownNameError: ``augment`` is an unknown name (the message lists the valid ones).
        RecipeError: ``augment`` holds a step that cannot move boxes with the image.
        TypeError, ValueError: ``max_boxes`` is not a positive integer or ``labels`` not names.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import VOCTransform, voc_transform
        >>> voc_transform(np.zeros((375, 500, 3), np.uint8)).shape
        (3, 300, 300)
        >>> voc_transform.labels[:3]
        ('aeroplane', 'bicycle', 'bird')
        >>> yolo = VOCTransform(size=320, letterbox=True)
        >>> yolo.resize_boxes([[0, 0, 500, 375]], (375, 500)).tolist()   # the photo sits 40 px down
        [[0.0, 40.0, 320.0, 280.0]]
    """

    _DATASET = "voc2007"
    _TAIL_OPS = ("rescale", "normalize", "hwc2chw")  # run by MindSpore's C ops after the box steps
    STRATEGIES = _detections.STRATEGIES

    def __init__(self, size=(300, 300), mean=_presets.IMAGENET_MEAN, std=_presets.IMAGENET_STD, max_boxes=None,
                 labels=None, letterbox=False, augment="ssd"):
        size = _pair(size)
        letterbox = _flag(letterbox, "letterbox")
        recipe = _presets.detection_recipe(size, tuple(mean), tuple(std), letterbox=letterbox, augment=augment)
        if labels is None:
            labels = dataset_info(self._DATASET).labels
        elif isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
            raise TypeError(f"labels must be a sequence of class names, got {labels!r:.80}")
        labels = tuple(labels)
        if not labels or not all(isinstance(name, str) for name in labels):
            raise TypeError(f"labels must be a non-empty sequence of class names (str), got {labels!r:.80}")
        super().__init__(recipe, labels=labels)
        if max_boxes is not None:
            max_boxes = positive_int(max_boxes, "max_boxes", 64)
        self._set(size=size, max_boxes=max_boxes, letterbox=letterbox,
                  augment=_presets.augment_config(augment, _presets.DETECTION_AUGMENTATIONS))

    @classmethod
    def for_dataset(cls, dataset, **kwargs):
        """This preset with the class names of a detection dataset (its ``class_names``, in label order).

        Args:
            dataset: a ``tinyms.data.VOCDataset`` (or any dataset with ``class_names``).
            **kwargs: the other arguments of :class:`VOCTransform`.

        Raises:
            DatasetError: the dataset carries no class names.

        Example:
            >>> import numpy as np
            >>> import mindspore.dataset as ds
            >>> from tinyms.vision import VOCTransform
            >>> data = ds.NumpySlicesDataset({"image": np.zeros((1, 8, 8, 3), np.uint8)})
            >>> data.class_names = ("apple", "pear")   # what tinyms.data.VOCDataset sets from its annotations
            >>> VOCTransform.for_dataset(data, size=320, letterbox=True).labels
            ('apple', 'pear')
        """
        names = getattr(dataset, "class_names", None)
        if not names:
            raise DatasetError(f"the {type(dataset).__name__} has no class_names; build it with "
                               f"tinyms.data.VOCDataset, or pass VOCTransform(labels=[...]) yourself")
        return cls(labels=tuple(names), **kwargs)

    def __eq__(self, other):
        return super().__eq__(other) and self.max_boxes == other.max_boxes

    def __hash__(self):
        return super().__hash__()

    # ---------------------------------------------------------------- boxes
    def resize_boxes(self, boxes, image_shape):
        """Map [xmin, ymin, xmax, ymax] pixel boxes of a photo onto the network input ``self(photo)`` gives.

        Args:
            boxes: (N, 4) boxes in pixels of the photo.
            image_shape: the photo's (height, width) (``photo.shape`` works too).

        Returns:
            numpy.ndarray: float32 (N, 4), pixels of the (H, W) network input.

        Raises:
            InputShapeError: boxes are not (N, 4).
        """
        scale, shift = self._box_affine(image_shape)
        return (_boxes_array(boxes) * scale + shift).astype(np.float32)

    def boxes_to_image(self, boxes, image_shape):
        """Map [xmin, ymin, xmax, ymax] boxes on the network input back to the photo's pixels.

        The exact inverse of :meth:`resize_boxes`, for a stretched (``resize``) as for a
        letterboxed input (the grey bands are taken off); boxes are not clipped to the photo.

        Args:
            boxes: (N, 4) boxes in pixels of the network input.
            image_shape: the original photo's (height, width), e.g. a row of the evaluation
                pipeline's ``image_shape`` column.

        Returns:
            numpy.ndarray: float32 (N, 4), pixels of the photo.

        Raises:
            InputShapeError: boxes are not (N, 4).

        Example:
            >>> from tinyms.vision import VOCTransform
            >>> VOCTransform(letterbox=True).boxes_to_image([[0, 37, 300, 262]], (375, 500)).tolist()
            [[0.0, 0.0, 500.0, 375.0]]
        """
        scale, shift = self._box_affine(image_shape)
        return ((_boxes_array(boxes) - shift) / scale).astype(np.float32)

    def _box_affine(self, image_shape):
        from . import _np_engine

        shape = np.asarray(image_shape.asnumpy() if hasattr(image_shape, "asnumpy") else image_shape).reshape(-1)
        if len(shape) not in (2, 3) or not (shape[:2] >= 1).all():
            raise InputShapeError(f"image_shape must be one photo's (height, width), got {image_shape!r:.80}")
        return _np_engine.box_affine(self.recipe.eval, int(round(shape[0])), int(round(shape[1])))

    # ---------------------------------------------------------------- single images and datasets
    def _split(self, steps):
        """(numpy steps moving boxes, finishing steps MindSpore runs): the longest tail of rescale/normalize/hwc2chw."""
        cut = len(steps)
        while cut and steps[cut - 1].op in self._TAIL_OPS:
            cut -= 1
        return steps[:cut], steps[cut:]

    def _eager_ops(self):
        from . import _ms_engine

        head, tail = self._split(self.recipe.eval)
        return [_DetectionImage(head)] + _ms_engine.build(tail)

    def apply_ds(self, dataset, repeat_size=1, batch_size=32, num_parallel_workers=None, is_training=True, *,
                 shuffle=None, drop_remainder=None, with_difficult=False):
        """Prepare detection rows for training or evaluation: images, boxes moved with them, padded labels.

        The positional order is TinyMS 0.3's. Training (``is_training=True``) shuffles, augments
        and drops a partial last batch; evaluation keeps the order, never augments, drops no
        row and adds the ``image_shape`` column (see the class description for the columns).

        Augmentation is random per row and reproducible: each row draws its own seed, in row
        order, from the dataset pipeline's seed (``tinyms.set_seed``), so a seeded run gives the
        same images whatever ``num_parallel_workers``. Cost per 300x300 photo: about 1.5 ms
        of CPU for SSD's steps, 1 ms for decoding, 0.4 ms for normalising.

        Args:
            dataset (mindspore.dataset.Dataset): rows with ``image`` (HWC uint8 RGB, or encoded
                bytes, decoded first), ``bbox`` ((N, 4) [xmin, ymin, width, height] pixels) and
                ``label`` ((N,) or (N, 1) class ids), e.g. ``tinyms.data.VOCDataset(...)``.
            repeat_size (int): times the batched dataset is repeated. Default 1.
            batch_size (int): rows per batch. Default 32.
            num_parallel_workers (int): worker threads for the image work (default half the CPUs).
            is_training (bool): training (default) or evaluation behaviour.
            shuffle, drop_remainder (bool): keyword only; override what ``is_training`` chose.
            with_difficult (bool): keyword only; evaluation only: add the ``difficult`` column
                (from the dataset's ``difficult`` column).

        Returns:
            mindspore.dataset.Dataset: batches of (image, bbox, label), plus image_shape (and
            difficult) for evaluation.

        Raises:
            DatasetError: not a dataset; a column is missing; a VOC annotation holds more
                objects than ``max_boxes`` (found before any row is read for VOC folders; for
                other datasets the pipeline stops with this message when it reaches the row).
            ValueError: ``with_difficult`` for training.

        Example:
            >>> import numpy as np
            >>> import mindspore.dataset as ds
            >>> from tinyms.vision import voc_transform
            >>> row = (np.zeros((375, 500, 3), np.uint8), np.array([[50, 240, 150, 125]], np.float32),
            ...        np.array([[11]], np.uint32))             # a VOC row: a dog at x 50-200, y 240-365
            >>> def rows():                                      # a pipeline reads its own copy
            ...     return ds.GeneratorDataset(lambda: iter([row] * 4), ["image", "bbox", "label"], shuffle=False)
            >>> test = voc_transform.apply_ds(rows(), batch_size=4, is_training=False)
            >>> test.get_col_names()
            ['image', 'bbox', 'label', 'image_shape']
            >>> batch = next(test.create_dict_iterator(output_numpy=True))
            >>> batch["bbox"][0, :2].round(3).tolist(), batch["label"][0, :3].tolist(), batch["image_shape"][0].tolist()
            ([[30.0, 192.0, 120.0, 292.0], [0.0, 0.0, 0.0, 0.0]], [11, -1, -1], [375.0, 500.0])
            >>> train = voc_transform.apply_ds(rows(), batch_size=2)   # SSD's augmentation, shuffled
            >>> [tuple(c.shape) for c in next(train.create_tuple_iterator(output_numpy=True))]
            [(2, 3, 300, 300), (2, 64, 4), (2, 64)]
        """
        if _flag(with_difficult, "with_difficult") and _flag(is_training, "is_training"):
            raise ValueError("with_difficult=True adds an evaluation column; use it with is_training=False")
        return self._apply_ds(dataset, repeat_size, batch_size, num_parallel_workers, is_training, shuffle,
                              drop_remainder, with_difficult=with_difficult)

    def _map(self, dataset, columns, is_training, workers, with_difficult=False):
        from . import _ms_engine

        image, label = self.image_column, self.label_column
        needed = [image, "bbox", label] + (["difficult"] if with_difficult else [])
        missing = [c for c in needed if c not in columns]
        if missing:
            raise DatasetError(f"VOCTransform.apply_ds needs detection rows with {', '.join(needed)} columns "
                               f"(tinyms.data.VOCDataset(..., task='Detection')); the dataset has {columns}, "
                               f"missing {missing}")
        max_boxes = _box_rows(dataset, self.max_boxes)
        decoder = self._decoder(dataset)
        if decoder:
            dataset = dataset.map(operations=decoder, input_columns=image, num_parallel_workers=workers)
        head, tail = self._split(self.recipe.steps(is_training))
        inputs, outputs = [image, "bbox", label], [image, "bbox", label]
        if is_training and any(step.random for step in head):
            # one seed per row, drawn in row order by a single worker: reproducible whatever the workers
            dataset = dataset.map(operations=_RowSeeds(_ms_engine.pipeline_rng()), input_columns=[label],
                                  output_columns=[label, _SEED_COLUMN], num_parallel_workers=1)
            inputs.append(_SEED_COLUMN)
        if not is_training:
            outputs.append("image_shape")
            if with_difficult:
                inputs.append("difficult")
                outputs.append("difficult")
        rows = _DetectionRows(head, max_boxes, is_training, len(inputs) > 3)
        dataset = dataset.map(operations=rows, input_columns=inputs, output_columns=outputs,
                              num_parallel_workers=workers)
        if tail:
            dataset = dataset.map(operations=_ms_engine.build(tail), input_columns=image,
                                  num_parallel_workers=workers)
        return dataset.project(outputs)

    # ---------------------------------------------------------------- predictions
    def detections(self, output, image_shape, score_threshold=0.3, iou_threshold=0.5, max_detections=100,
                   strategy="TOP1_CLASS"):
        """The objects a detection network found, in pixels of the original photos.

        Args:
            output: the network's inference output: the ``(boxes, scores)`` tuple (Tensors or
                arrays; boxes (B, A, 4) [ymin, xmin, ymax, xmax] in [0, 1] of the input, scores
                (B, A, C)), or TinyMS 0.3's single array (B, A, 4 + C) of both concatenated.
                C is ``len(labels) + 1`` when score column 0 is a background class (SSD), else
                ``len(labels)`` (YOLO).
            image_shape: each photo's (height, width): one pair for one image, (B, 2) for a
                batch (the evaluation pipeline's ``image_shape`` column).
            score_threshold (float): lowest score kept. Default 0.3 (for display; evaluation
                uses 0.01).
            iou_threshold (float): boxes of one class overlapping a better one more than this
                are dropped (non-maximum suppression). Default 0.5.
            max_detections (int): most objects per image. Default 100.
            strategy (str): ``"TOP1_CLASS"`` (default): each candidate box is named by its best
                class only; ``"ALL_CLASSES"``: a box may be reported for several classes.

        Returns:
            list: one list per image of dicts, best score first: ``box`` [xmin, ymin, xmax,
            ymax] in pixels of the photo (clipped to it, rounded to 0.001 pixel), ``label``
            (class name), ``label_id`` (0-based index into :attr:`labels`), ``score`` (float).
            JSON-ready.

        Raises:
            InputShapeError: the output or image_shape has an unexpected shape, or the network
                scores a class count that does not fit :attr:`labels`.
            UnknownNameError: ``strategy`` is unknown.

        Example:
            >>> import numpy as np
            >>> from tinyms.vision import voc_transform
            >>> boxes = np.array([[[0.1, 0.2, 0.5, 0.6]]], np.float32)       # [ymin, xmin, ymax, xmax]
            >>> scores = np.zeros((1, 1, 21), np.float32); scores[0, 0, 12] = 0.9   # column 0: background
            >>> voc_transform.detections((boxes, scores), (375, 500))
            [[{'box': [100.0, 37.5, 300.0, 187.5], 'label': 'dog', 'label_id': 11, 'score': 0.8999999761581421}]]
        """
        boxes, scores = _detection_output(output)
        background = self._background(scores.shape[-1])
        strategy = lookup({s.lower(): s for s in self.STRATEGIES}, strategy, "strategy")
        return _detections.objects_on_photos(boxes, scores, self.labels, background, self.size, self.recipe.eval,
                                 _image_shapes(image_shape, len(boxes)), score_threshold=score_threshold,
                                 iou_threshold=iou_threshold, max_detections=max_detections, strategy=strategy)

    def postprocess(self, output, image_shape, strategy="TOP1_CLASS", *, score_threshold=0.1, iou_threshold=0.5,
                    max_detections=100):
        """TinyMS 0.3's result for one photo: a list of {'bbox': [x, y, w, h], 'score', 'category_id'}.

        ``bbox`` is [xmin, ymin, width, height] in pixels of the original photo (COCO's form),
        ``category_id`` the class name (as 0.3 gave it), ``score`` a float. Use
        :meth:`detections` for batches and named fields.

        Args:
            output: the network's output for one image, see :meth:`detections`.
            image_shape: the photo's (height, width).
            strategy (str): ``"TOP1_CLASS"`` (0.3's, default) or ``"ALL_CLASSES"``.
            score_threshold, iou_threshold, max_detections: keyword only; as for
                :meth:`detections` (the score threshold defaults to 0.1 here).

        Returns:
            list of dict: best score first.

        Raises:
            InputShapeError: ``output`` holds more than one image, or see :meth:`detections`.

        Example:
            >>> import numpy as np
            >>> from tinyms.vision import voc_transform
            >>> out = np.zeros((1, 1, 4 + 21), np.float32)
            >>> out[0, 0, :4] = [0.1, 0.2, 0.5, 0.6]; out[0, 0, 4 + 12] = 0.9
            >>> voc_transform.postprocess(out, (375, 500))
            [{'bbox': [100.0, 37.5, 200.0, 150.0], 'score': 0.8999999761581421, 'category_id': 'dog'}]
        """
        boxes, _ = _detection_output(output)
        if len(boxes) != 1:
            raise InputShapeError(f"postprocess takes one image's output (TinyMS 0.3's contract), got {len(boxes)} "
                                  f"images; use detections(output, image_shapes) for a batch")
        found = self.detections(output, image_shape, score_threshold, iou_threshold, max_detections, strategy)[0]
        return [{"bbox": [d["box"][0], d["box"][1], round(d["box"][2] - d["box"][0], 3),
                          round(d["box"][3] - d["box"][1], 3)],
                 "score": d["score"], "category_id": d["label"]} for d in found]

    def _background(self, classes):
        if classes == len(self.labels) + 1:
            return True
        if classes == len(self.labels):
            return False
        raise InputShapeError(f"the network scores {classes} classes, but this transform names {len(self.labels)} "
                              f"(expected {len(self.labels)}, or {len(self.labels) + 1} with a background "
                              f"column first); build it with the network's labels: VOCTransform(labels=...)")


_SEED_COLUMN = "_augment_seed"


def _boxes_array(boxes):
    arr = np.asarray(boxes.asnumpy() if hasattr(boxes, "asnumpy") else boxes, np.float32)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InputShapeError(f"boxes must have shape (N, 4) as [xmin, ymin, xmax, ymax], got {arr.shape}")
    return arr


def _detection_output(output):
    """(boxes (B, A, 4), scores (B, A, C)) float32 from a (boxes, scores) pair or 0.3's (B, A, 4 + C) array."""
    def numpy(x):
        return np.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x, np.float32)

    if isinstance(output, (tuple, list)) and len(output) == 2:
        boxes, scores = numpy(output[0]), numpy(output[1])
    else:
        joined = numpy(output)
        if joined.ndim == 2:
            joined = joined[None]
        if joined.ndim != 3 or joined.shape[-1] < 5:
            raise InputShapeError(f"a detection output is (boxes, scores) or one (B, A, 4 + C) array, got shape "
                                  f"{joined.shape}")
        boxes, scores = joined[..., :4], joined[..., 4:]
    if boxes.ndim == 2:
        boxes, scores = boxes[None], scores[None]
    if boxes.ndim != 3 or boxes.shape[-1] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
        raise InputShapeError(f"detection boxes must be (B, A, 4) and scores (B, A, C), got {boxes.shape} and "
                              f"{scores.shape}")
    return boxes, scores


def _image_shapes(image_shape, count):
    """``count`` (height, width) pairs from one pair, an (h, w, c) shape, or a (count, 2) array."""
    arr = np.asarray(image_shape.asnumpy() if hasattr(image_shape, "asnumpy") else image_shape, np.float64)
    if arr.ndim == 1 and len(arr) in (2, 3):
        arr = np.repeat(arr[None, :2], count, axis=0) if count == 1 else arr[None, :2]
    if arr.ndim != 2 or arr.shape[1] < 2 or len(arr) != count:
        raise InputShapeError(f"image_shape must give each of the {count} image(s) its (height, width), got "
                              f"shape {arr.shape}")
    return [(float(h), float(w)) for h, w in arr[:, :2]]


#: box rows per image when neither the transform nor the dataset says how many
DEFAULT_MAX_BOXES = 64


def _box_rows(dataset, max_boxes):
    """The box rows per image of a pipeline over ``dataset``: ``max_boxes``, or (None) the most objects an
    image of the dataset holds, or DEFAULT_MAX_BOXES when the dataset cannot say.

    Raises DatasetError, before any row is read, when an image of a VOC folder (MindSpore's reader or
    TinyMS's own detection readers: detection_dataset, CocoDataset) holds more than ``max_boxes`` objects
    (DEFAULT_MAX_BOXES when None: the tables of SSD's loss grow with the rows).
    """
    found = _most_objects(dataset)
    limit = DEFAULT_MAX_BOXES if max_boxes is None else max_boxes  # a bound on memory unless the user raises it
    if found and found[0] > limit:
        said = f"max_boxes={max_boxes}" if max_boxes is not None else f"{limit}, the most VOCTransform takes by default"
        raise DatasetError(f"{found[1]} has {found[0]} objects, more than {said}; build the transform with "
                           f"VOCTransform(max_boxes={found[0]}) (or more; tinyms train: --max-boxes {found[0]})")
    if max_boxes is None:
        return max(found[0], 1) if found else DEFAULT_MAX_BOXES
    return max_boxes


def _most_objects(dataset):
    """(count, annotation path) of the image with the most objects among the detection readers under
    ``dataset``, or None when no reader there can say (a GeneratorDataset of the user's own)."""
    import mindspore.dataset as ds  # noqa: PLC0415

    pending, worst, known = [dataset], (0, ""), False
    while pending:
        node = pending.pop()
        pending.extend(getattr(node, "children", None) or [])
        most = getattr(getattr(node, "source", None), "most_objects", None)  # tinyms.data's own detection readers
        if callable(most):
            worst, known = max(worst, most(), key=lambda found: found[0]), True
            continue
        if not isinstance(node, ds.VOCDataset) or node.task != "Detection":
            continue
        ids = os.path.join(node.dataset_dir, "ImageSets", "Main", f"{node.usage}.txt")
        try:
            with open(ids, encoding="utf-8", errors="replace") as f:
                names = [line.split()[0] for line in f if line.strip()]
            for name in names:
                path = os.path.join(node.dataset_dir, "Annotations", name + ".xml")
                with open(path, "rb") as f:
                    count = f.read().count(b"<object>")
                worst = max(worst, (count, path), key=lambda found: found[0])
            known = True
        except OSError:
            continue  # MindSpore's reader reports a missing file itself
    return worst if known else None


class _DetectionImage:
    """The box-moving evaluation steps on one image alone (what the dataset rows get, without boxes)."""

    def __init__(self, steps):
        self.steps = steps
        self.__name__ = "detection_steps"

    def __call__(self, img):
        from . import _np_engine

        return _np_engine.run_with_boxes(self.steps, img, np.zeros((0, 4), np.float32), np.zeros(0, np.int32))[0]


class _RowSeeds:
    """Adds a seed column: one draw per row, in row order (run by a single worker)."""

    def __init__(self, rng):
        self.rng = rng

    def __call__(self, label):
        return label, np.array(self.rng.integers(0, 2 ** 63 - 1), np.int64)


class _DetectionRows:
    """One dataset row through the box-moving steps, padded to max_boxes.

    In: image HWC uint8, bbox (N, 4) [xmin, ymin, w, h], label (N,) or (N, 1), and a row seed
    (training with random steps) or the difficult flags (evaluation with_difficult).
    Out: image, bbox (max_boxes, 4) xyxy zero-padded, label (max_boxes,) int32 -1-padded, and for
    evaluation image_shape (2,) float32 [and difficult (max_boxes,) int32].
    """

    def __init__(self, steps, max_boxes, training, extra):
        self.steps, self.max_boxes, self.training, self.extra = steps, max_boxes, training, extra

    def __call__(self, image, bbox, label, extra=None):
        from .._boxes import xywh_to_xyxy  # noqa: PLC0415
        from . import _np_engine

        image = np.asarray(image)
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
            image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        boxes = xywh_to_xyxy(np.asarray(bbox, np.float32).reshape(-1, 4)).astype(np.float32)
        rows = np.asarray(label).reshape(-1, 1).astype(np.int32)
        if len(rows) != len(boxes):
            raise DatasetError(f"a row has {len(boxes)} boxes but {len(rows)} labels; detection rows need one "
                               f"label per box")
        if len(boxes) > self.max_boxes:
            raise DatasetError(f"an image has {len(boxes)} objects, more than max_boxes={self.max_boxes}; build "
                               f"the transform with VOCTransform(max_boxes={len(boxes)})")
        rng = None
        if self.extra and self.training:
            rng = np.random.default_rng(int(extra))
        elif self.extra:
            rows = np.concatenate([rows, np.asarray(extra).reshape(-1, 1).astype(np.int32)], axis=1)
        shape = np.array(image.shape[:2], np.float32)
        image, boxes, rows = _np_engine.run_with_boxes(self.steps, image, boxes, rows, rng)
        count = len(boxes)
        padded = np.zeros((self.max_boxes, 4), np.float32)
        padded[:count] = boxes
        labels = np.full(self.max_boxes, -1, np.int32)
        labels[:count] = rows[:, 0]
        if self.training:
            return image, padded, labels
        if not self.extra:
            return image, padded, labels, shape
        difficult = np.zeros(self.max_boxes, np.int32)
        difficult[:count] = rows[:, 1]
        return image, padded, labels, shape, difficult


def _pair(size):
    if isinstance(size, int) and not isinstance(size, bool):
        return (size, size)
    return tuple(int(s) for s in size)


mnist_transform = MnistTransform()
# The ready instance keeps TinyMS 0.3's example labels; your own folder: ImageFolderTransform.for_folder(path).
imagefolder_transform = ImageFolderTransform(labels=_presets.MUSHROOM_LABELS)
_LAZY_PRESETS = {"fashion_mnist_transform": FashionMnistTransform, "cifar10_transform": Cifar10Transform,
                 "cifar100_transform": Cifar100Transform, "voc_transform": VOCTransform}


def __getattr__(name):  # presets whose dataset facts may come from a later registration
    if name in _LAZY_PRESETS:
        value = _LAZY_PRESETS[name]()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_transform(name):
    """Return the preset transform registered as ``name`` (as named in a model config).

    Args:
        name (str or DatasetTransform): e.g. ``"mnist_transform"``; a transform is returned as is.

    Returns:
        DatasetTransform: the shared (immutable) instance.

    Raises:
        UnknownNameError: ``name`` is unknown; the message lists the valid names.

    Example:
        >>> from tinyms.vision import get_transform
        >>> get_transform("mnist_transform").labels[7]
        '7'
    """
    if isinstance(name, DatasetTransform):
        return name
    key = lookup({n: n for n in _presets.PRESET_NAMES}, name, "transform")
    return globals()[key] if key in globals() else __getattr__(key)
