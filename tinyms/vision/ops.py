"""MindSpore's image operations under TinyMS names.

Each op works both inside a dataset pipeline (``dataset.map([...], input_columns="image")``)
and eagerly on one numpy image (``Resize((32, 32))(img)``). Images are HWC unless an op says
otherwise; see the MindSpore documentation of ``mindspore.dataset.vision`` for every argument.
"""

from mindspore.dataset.transforms import Compose, TypeCast
from mindspore.dataset.vision import (
    CenterCrop,
    Decode,
    Grayscale,
    HWC2CHW,
    Inter,
    Normalize,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomVerticalFlip,
    Rescale,
    Resize,
    ToTensor,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "Decode",
    "Grayscale",
    "HWC2CHW",
    "Inter",
    "Normalize",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomVerticalFlip",
    "Rescale",
    "Resize",
    "ToTensor",
    "TypeCast",
]
