"""The MindSpore executor of preprocessing recipes: one builder per op of :data:`~tinyms.vision._recipe.OPS`.

Each builder turns a step's parameters into the MindSpore dataset op (or plain Python callable)
that performs it. The ops built here run inside ``dataset.map`` and also eagerly on one numpy
image, so the single-image path of a transform is the evaluation path. The numpy twin of this
module is :mod:`tinyms.vision._np_engine`.
"""

import numpy as np
from mindspore.dataset import vision

from ._recipe import OPS

__all__ = ["build", "BUILDERS"]


def _frame_digit():
    from ._digit import frame_digit  # noqa: PLC0415 - only recipes for digit photos need it

    def frame(img):
        out = frame_digit(np.asarray(img))
        return out if out.ndim == 3 else out[:, :, None]

    frame.__name__ = "frame_digit"
    return frame


def _size(size):
    return size if isinstance(size, int) else list(size)


#: op name -> function(**params) returning the op; one per op of the recipe vocabulary.
BUILDERS = {
    "frame_digit": _frame_digit,
    "resize": lambda size: vision.Resize(_size(size), vision.Inter.LINEAR),
    "center_crop": lambda size: vision.CenterCrop(list(size)),
    "random_crop": lambda size, padding: vision.RandomCrop(list(size), padding=padding or None),
    "random_resized_crop": lambda size, scale, ratio: vision.RandomResizedCrop(
        list(size), scale=tuple(scale), ratio=tuple(ratio), interpolation=vision.Inter.LINEAR),
    "random_horizontal_flip": lambda prob: vision.RandomHorizontalFlip(prob),
    "rescale": lambda scale, shift: vision.Rescale(scale, shift),
    "normalize": lambda mean, std: vision.Normalize(mean=list(mean), std=list(std)),
    "hwc2chw": vision.HWC2CHW,
}
assert set(BUILDERS) == set(OPS), "every recipe op needs a MindSpore builder"


def build(steps):
    """The MindSpore ops performing ``steps``, in order (for ``dataset.map`` or eager calls).

    Args:
        steps: :class:`~tinyms.vision._recipe.Step` list, e.g. ``recipe.train``.

    Returns:
        list: MindSpore dataset ops and Python callables.

    Example:
        >>> from tinyms.vision._recipe import Step
        >>> build([Step.make("hwc2chw")])  # doctest: +ELLIPSIS
        [<mindspore.dataset.vision.transforms.HWC2CHW object at ...>]
    """
    return [BUILDERS[step.op](**step.kwargs()) for step in steps]
