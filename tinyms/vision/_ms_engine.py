"""The MindSpore executor of preprocessing recipes: one builder per op of :data:`~tinyms.vision._recipe.OPS`.

Each builder turns a step's parameters into the MindSpore dataset op (or plain Python callable)
that performs it. The ops built here run inside ``dataset.map`` and also eagerly on one numpy
image, so the single-image path of a transform is the evaluation path. The numpy twin of this
module is :mod:`tinyms.vision._np_engine`.

Ops MindSpore has no exact counterpart for (``letterbox``, ``random_iou_crop``,
``color_jitter``) run the numpy executor's function as a Python op, so the dataset engine and
serving share one implementation. Their randomness is seeded like MindSpore's own random ops:
from the dataset pipeline's seed (``tinyms.set_seed``), or from the system when none is set.
"""

import numpy as np
from mindspore.dataset import vision

from . import _np_engine
from ._recipe import OPS

__all__ = ["build", "BUILDERS", "NumpyStep", "pipeline_rng"]


def pipeline_rng():
    """A numpy Generator seeded from the dataset pipeline's seed (``tinyms.set_seed``), else from the system."""
    from .._seed import dataset_seed  # noqa: PLC0415

    return np.random.default_rng(dataset_seed())


class NumpyStep:
    """One recipe step run by the numpy executor inside MindSpore's dataset engine (a Python op)."""

    def __init__(self, op, **params):
        self.op, self.params = op, params
        self.rng = pipeline_rng() if OPS[op].random else None
        self.__name__ = op

    def __call__(self, img):
        return _np_engine.FUNCTIONS[self.op](np.asarray(img), self.rng, **self.params)


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
    "letterbox": lambda **params: NumpyStep("letterbox", **params),
    "random_iou_crop": lambda **params: NumpyStep("random_iou_crop", **params),
    "color_jitter": lambda **params: NumpyStep("color_jitter", **params),
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
