"""The image-to-image preset: ``cyclegan_transform`` (TinyMS 0.3's name) for CycleGAN and pix2pix.

Images become (3, S, S) float32 in [-1, 1] (pixels / 255, mean 0.5, std 0.5 per channel:
what a tanh generator outputs), and :meth:`CycleGanTransform.to_image` turns a generator's
output back into uint8 images. The evaluation steps are a recipe (resize to S x S, normalise)
like every preset's, so a servable carries them and the serving front end prepares a photo
exactly as evaluation does.
"""

import numpy as np

from .._checks import positive_int
from ..errors import DatasetError, InputShapeError
from . import _presets
from ._recipe import Recipe
from .transforms import DatasetTransform, _flag, _pair

__all__ = ["CycleGanTransform", "CycleGanDatasetTransform", "cyclegan_transform", "cyclegan_recipe",
           "to_image", "GAN_AUGMENTATIONS", "GAN_MEAN", "GAN_STD"]

#: Per-channel statistics of pixels in [0, 1] that map them to [-1, 1].
GAN_MEAN = (0.5, 0.5, 0.5)
GAN_STD = (0.5, 0.5, 0.5)

#: The training augmentations of the preset (``augment=``), besides a list of recipe steps:
#:
#: - ``"light"`` (default): resize to ``load_size`` (S x 286/256: 286 for 256, the CycleGAN
#:   and pix2pix papers' recipe), crop S x S at a random place, flip left-right with p = 0.5.
#: - ``"resized_crop"``: TinyMS 0.3's: a random resized crop of 50 %-100 % of the area
#:   (aspect 3/4-4/3) to S x S and a flip.
#: - ``"none"``: training prepares images as evaluation does (resize to S x S).
GAN_AUGMENTATIONS = ("light", "resized_crop", "none")

# Image columns apply_ds prepares, in the order they are looked for: the image_to_image task's,
# TinyMS 0.3's training rows, 0.3's prediction rows (GanImageFolderDataset).
_IMAGE_COLUMNS = ("image_a", "image_b", "image_A", "image_B", "image")
_TRAIN_PHASES = ("train",)


def cyclegan_recipe(size=(256, 256), augment="light", load_size=None):
    """The recipe of :class:`CycleGanTransform`: training steps by ``augment``, evaluation resize + normalise.

    Args:
        size (int or (int, int)): output (height, width).
        augment: a name of :data:`GAN_AUGMENTATIONS` or a list of recipe steps run on the
            decoded image (a resize to ``size`` follows unless they already end at it).
        load_size (int): for ``"light"``: the square side images are resized to before the
            random crop; default ``size * 286 / 256`` rounded.

    Returns:
        Recipe: channels 3; its evaluation steps never depend on chance.

    Raises:
        UnknownNameError, RecipeError: a bad ``augment``.

    Example:
        >>> from tinyms.vision.gan import cyclegan_recipe
        >>> [step.op for step in cyclegan_recipe(32).eval]
        ['resize', 'rescale', 'normalize', 'hwc2chw']
    """
    size = list(_pair(size))
    resize = [("resize", {"size": size})]
    augment = _presets.checked_augment(augment, GAN_AUGMENTATIONS)
    if isinstance(augment, str):
        if load_size is None:
            load = [int(round(s * 286 / 256)) for s in size]
        else:
            load = [positive_int(load_size, "load_size", 286)] * 2
            if load[0] < max(size):
                raise DatasetError(f"load_size {load[0]} is smaller than the crop {size}; give load_size >= "
                                   f"{max(size)}")
        train = {"light": [("resize", {"size": load}), ("random_crop", {"size": size}),
                           ("random_horizontal_flip", {"prob": 0.5})],
                 "resized_crop": [("random_resized_crop", {"size": size, "scale": [0.5, 1.0],
                                                           "ratio": [0.75, 1.333]}),
                                  ("random_horizontal_flip", {"prob": 0.5})],
                 "none": resize}[augment]
    else:
        train = list(augment) + ([] if _presets._fixes_size(augment, size) else resize)  # noqa: SLF001
    finish = _presets._finish(GAN_MEAN, GAN_STD)  # noqa: SLF001 - the presets' shared ending
    return Recipe(train=train + finish, eval=resize + finish, channels=3)


def to_image(output, mean=GAN_MEAN, std=GAN_STD):
    """Turn generator outputs (normalised, channels first) back into uint8 HWC RGB images.

    Each value is mapped back with ``(x * std + mean) * 255``, rounded to the nearest level and
    clipped to 0..255: an image prepared by the preset's evaluation steps comes back exactly
    (within rounding) where no resize changed it.

    Args:
        output: a numpy array or MindSpore Tensor, (N, 3, H, W) or (3, H, W), values about
            [-1, 1] (a tanh generator's output).
        mean, std: the normalisation the images were prepared with (default: the preset's).

    Returns:
        numpy.ndarray: uint8, (N, H, W, 3) or (H, W, 3).

    Raises:
        InputShapeError: the array is not (N, 3, H, W) or (3, H, W), or holds NaN/inf.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import to_image
        >>> to_image(np.array([-1.0, 0.0, 1.0], np.float32).reshape(3, 1, 1))[0, 0].tolist()
        [0, 128, 255]
    """
    arr = output.asnumpy() if hasattr(output, "asnumpy") else np.asarray(output)
    if arr.ndim not in (3, 4) or arr.shape[-3] != len(mean):
        raise InputShapeError(f"to_image takes generator outputs shaped (N, {len(mean)}, H, W) or "
                              f"({len(mean)}, H, W), got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputShapeError("the generator output holds NaN or infinite values; the network diverged "
                              "or its weights are not loaded")
    shape = (len(mean), 1, 1)
    pixels = (arr * np.reshape(std, shape) + np.reshape(mean, shape)) * 255.0
    pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.moveaxis(pixels, -3, -1))


class _PairedSteps:
    """Training steps run on both images of a pair with the same random choices (numpy executor)."""

    def __init__(self, steps):
        from ._ms_engine import pipeline_rng  # noqa: PLC0415

        self.steps = steps
        self.rng = pipeline_rng()
        self.__name__ = "paired_steps"

    def __call__(self, image_a, image_b):
        from . import _np_engine  # noqa: PLC0415

        image_a, image_b = np.asarray(image_a), np.asarray(image_b)
        if image_a.shape != image_b.shape:
            raise DatasetError(f"a pair's images differ in size ({image_a.shape} and {image_b.shape}); paired "
                               f"augmentation needs equal sizes. Fix: resize the partners alike")
        seed = int(self.rng.integers(2 ** 63))
        return (_np_engine.run(self.steps, image_a, np.random.default_rng(seed)),
                _np_engine.run(self.steps, image_b, np.random.default_rng(seed)))


class CycleGanTransform(DatasetTransform):
    """Images for CycleGAN and pix2pix -> (3, S, S) float32 in [-1, 1], and generator outputs back to images.

    Evaluation (and one image, ``transform(img)``): resize to S x S, pixels / 255, normalise
    with mean 0.5 and std 0.5 per channel, channels first. Training: by ``augment`` (see
    :data:`GAN_AUGMENTATIONS`; default the papers' resize to S x 286/256, random S x S
    crop, random flip). :meth:`to_image` (also :meth:`postprocess`) reverses the
    normalisation of a generator's output.

    Args:
        size (int or (int, int)): output side(s), e.g. 32 to 256. Default 256.
        augment: ``"light"``, ``"resized_crop"``, ``"none"`` or a list of recipe steps.
        load_size (int): the side ``"light"`` resizes to before cropping.

    Raises:
        UnknownNameError, RecipeError: a bad ``augment``.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import CycleGanTransform
        >>> t = CycleGanTransform(size=32)
        >>> x = t(np.full((48, 64, 3), 255, np.uint8))
        >>> x.shape, x.dtype, float(x.max())
        ((3, 32, 32), dtype('float32'), 1.0)
        >>> t.to_image(x[None]).shape
        (1, 32, 32, 3)
    """

    def __init__(self, size=256, augment="light", load_size=None):
        super().__init__(cyclegan_recipe(size, augment, load_size), labels=(), image_column="image_a")
        self._set(size=_pair(size), augment=_presets.augment_config(augment, GAN_AUGMENTATIONS),
                  mean=GAN_MEAN, std=GAN_STD)

    def __eq__(self, other):
        return super().__eq__(other)

    def __hash__(self):
        return super().__hash__()

    def apply_ds(self, dataset, repeat_size=1, batch_size=1, num_parallel_workers=None, shuffle=True,
                 phase="train", *, drop_remainder=None, paired=None):
        """Prepare every image column of a dataset, then batch (TinyMS 0.3's signature and order).

        The image columns are those present of ``image_a``/``image_b`` (the ``image_to_image``
        task's, from :func:`tinyms.data.unaligned_dataset` / :func:`~tinyms.data.paired_dataset`),
        ``image_A``/``image_B`` (0.3's :class:`~tinyms.data.UnalignedDataset` rows) and
        ``image`` (0.3's :class:`~tinyms.data.GanImageFolderDataset` rows; ``image_name`` and
        other columns pass through). Each must hold decoded (H, W, 3) uint8 images.

        - ``phase="train"``: the training steps (random crop and flip); the two columns of an
          unpaired row are augmented each by its own random operations (which draw the same
          numbers when a dataset seed is set, e.g. by ``tinyms.set_seed``; harmless for unrelated
          images), the two of a ``paired`` row alike (same crop, same flip), so pairs stay aligned. As in 0.3, ``shuffle=False`` in training gives the
          evaluation steps instead (no randomness). A last partial batch is dropped.
        - any other phase (``"test"``, ``"predict"``, ``"eval"``): the evaluation steps, every
          row kept (0.3 dropped a partial last batch and so skipped test images).

        Rows are not reordered here: the readers shuffle (``unaligned_dataset`` and
        ``paired_dataset`` do for training, 0.3's scripts through their sampler).

        Args:
            dataset (mindspore.dataset.Dataset): rows with the image columns above.
            repeat_size (int): repeats of the batched dataset. Default 1.
            batch_size (int): rows per batch. Default 1 (CycleGAN's).
            num_parallel_workers (int): worker threads; default half the CPUs.
            shuffle (bool): in training, augment (True, default) or not (False).
            phase (str): ``"train"`` or an evaluation phase, see above.
            drop_remainder (bool): keyword only; overrides the phase's choice.
            paired (bool): keyword only; augment a row's two images alike. Default: the
                dataset's ``paired`` mark (True for ``paired_dataset``'s).

        Returns:
            mindspore.dataset.Dataset: float32 (N, 3, S, S) image columns in [-1, 1].

        Raises:
            DatasetError: not a MindSpore dataset, or no image column.

        Example:
            >>> import numpy as np
            >>> import mindspore.dataset as ds
            >>> from tinyms.vision import cyclegan_transform
            >>> rows = ds.NumpySlicesDataset({"image_a": np.zeros((4, 40, 40, 3), np.uint8),
            ...                               "image_b": np.zeros((4, 40, 40, 3), np.uint8)}, shuffle=False)
            >>> batch = next(cyclegan_transform.apply_ds(rows, batch_size=2).create_dict_iterator(output_numpy=True))
            >>> batch["image_a"].shape, batch["image_b"].dtype
            ((2, 3, 256, 256), dtype('float32'))
        """
        import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.vision` light

        from . import _ms_engine  # noqa: PLC0415

        if not isinstance(dataset, ds.Dataset):
            raise DatasetError(f"apply_ds needs a mindspore.dataset Dataset, got a {type(dataset).__name__}; "
                               f"use tinyms.data.unaligned_dataset(path) or GeneratorDataset(UnalignedDataset(...), "
                               f"column_names=['image_A', 'image_B'])")
        repeat_size = positive_int(repeat_size, "repeat_size", 1)
        batch_size = positive_int(batch_size, "batch_size", 1)
        training = str(phase) in _TRAIN_PHASES
        augment = training and _flag(shuffle, "shuffle")
        paired = bool(getattr(dataset, "paired", False)) if paired is None else _flag(paired, "paired")
        drop_remainder = training if drop_remainder is None else _flag(drop_remainder, "drop_remainder")
        columns = dataset.get_col_names()
        images = [c for c in _IMAGE_COLUMNS if c in columns]
        if not images:
            raise DatasetError(f"the dataset has columns {columns} but none of {', '.join(_IMAGE_COLUMNS)}; "
                               f"rename its image columns with dataset.rename(...)")
        workers = self._workers(num_parallel_workers)
        steps = self.recipe.steps(augment)
        pair = [c for c in ("image_a", "image_b") if c in images] or [c for c in ("image_A", "image_B")
                                                                      if c in images]
        if augment and paired and len(pair) == 2:
            dataset = dataset.map(operations=[_PairedSteps(steps)], input_columns=pair,
                                  num_parallel_workers=workers)
        else:
            for column in images:
                dataset = dataset.map(operations=_ms_engine.build(steps), input_columns=column,
                                      num_parallel_workers=workers)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        if repeat_size > 1:
            dataset = dataset.repeat(repeat_size)
        return dataset

    def to_image(self, output):
        """Generator outputs ((N, 3, H, W) or (3, H, W), normalised) -> uint8 (N, H, W, 3) or (H, W, 3) images.

        See :func:`to_image`.
        """
        return to_image(output, self.mean, self.std)

    def postprocess(self, output, *args, **kwargs):  # noqa: ARG002 - the classification presets' signature
        """The images a generator's output holds: :meth:`to_image`."""
        return self.to_image(output)


#: TinyMS 0.3's class name.
CycleGanDatasetTransform = CycleGanTransform

#: The ready preset: 256 x 256, the papers' augmentation (0.3's name).
cyclegan_transform = CycleGanTransform()
