"""MindSpore's generic (not image-specific) dataset transforms under ``tinyms.data.transforms``.

TinyMS 0.3 scripts import ``TypeCast`` from here (``from tinyms.data.transforms import
TypeCast``); image ops live in :mod:`tinyms.vision`. Importing this module loads MindSpore's
dataset package; ``import tinyms.data`` alone does not.

Example:
    >>> import tinyms as ts
    >>> from tinyms.data.transforms import TypeCast
    >>> TypeCast(ts.int32)(np.array([1.7])).dtype  # doctest: +SKIP
    dtype('int32')
"""

from mindspore.dataset.transforms import (  # noqa: F401 - re-exported
    Compose,
    Concatenate,
    Duplicate,
    Fill,
    Mask,
    OneHot,
    PadEnd,
    RandomApply,
    RandomChoice,
    RandomOrder,
    Relational,
    Slice,
    TypeCast,
    Unique,
)

__all__ = ["Compose", "Concatenate", "Duplicate", "Fill", "Mask", "OneHot", "PadEnd", "RandomApply",
           "RandomChoice", "RandomOrder", "Relational", "Slice", "TypeCast", "Unique"]
