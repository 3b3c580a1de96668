"""Image preprocessing: ready recipes for datasets and single images, plus MindSpore's image ops.

A transform such as ``mnist_transform`` prepares a whole dataset for training with
``apply_ds``, prepares one image for inference when called, and turns network outputs into
named predictions with ``postprocess``. The single-image and dataset paths run the same ops,
so they give the same numbers.

Example:
    >>> from tinyms.vision import mnist_transform
    >>> train = mnist_transform.apply_ds(mnist_train_ds, batch_size=32)   # doctest: +SKIP
    >>> test = mnist_transform.apply_ds(mnist_test_ds, is_training=False)  # each image once  # doctest: +SKIP
    >>> x = mnist_transform("digit.png")[None]            # (1, 1, 32, 32) float32  # doctest: +SKIP
    >>> print(mnist_transform.postprocess(net(Tensor(x))))                # doctest: +SKIP
    7 (99.2%)
"""

import importlib as _importlib

from ._op_names import OPS as _OPS
from ._recipe import Recipe
from .predictions import Prediction, Predictions

# Loaded on first use (they need MindSpore): importing tinyms.vision, e.g. for Prediction in a
# serving client, stays light.
_FROM_TRANSFORMS = ("DatasetTransform", "MnistTransform", "FashionMnistTransform", "Cifar10Transform",
                    "Cifar100Transform", "ImageFolderTransform", "VOCTransform", "mnist_transform",
                    "fashion_mnist_transform", "cifar10_transform", "cifar100_transform",
                    "imagefolder_transform", "voc_transform", "get_transform")

_FROM_VIEWER = ("show_images", "ImageViewer")

__all__ = [
    # presets and recipes
    *_FROM_TRANSFORMS,
    "Recipe",
    "frame_digit",
    # looking at images
    *_FROM_VIEWER,
    # postprocess results
    "Prediction",
    "Predictions",
    # MindSpore image ops
    *sorted(_OPS),
]


def __getattr__(name):
    if name in _FROM_TRANSFORMS:
        module = _importlib.import_module(".transforms", __name__)
    elif name in _FROM_VIEWER:
        module = _importlib.import_module(".viewer", __name__)
    elif name == "frame_digit":
        module = _importlib.import_module("._digit", __name__)
    elif name in _OPS or name == "ops":
        module = _importlib.import_module(".ops", __name__)
        if name == "ops":
            return module
    else:
        raise AttributeError(f"module 'tinyms.vision' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
