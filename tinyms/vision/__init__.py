"""Image preprocessing: ready recipes for datasets and single images, plus MindSpore's image ops.

A transform such as ``mnist_transform`` prepares a whole dataset for training with
``apply_ds``, prepares one image for inference when called, and turns network outputs into
named predictions with ``postprocess``. The single-image and dataset paths run the same ops,
so they give the same numbers.

Example:
    >>> import numpy as np
    >>> from tinyms.data import MnistDataset, sample_dataset
    >>> from tinyms.model import Model, create_model
    >>> from tinyms.vision import mnist_transform
    >>> path = sample_dataset("mnist")
    >>> train = mnist_transform.apply_ds(MnistDataset(path, usage="train"), batch_size=32)
    >>> test = mnist_transform.apply_ds(MnistDataset(path, usage="test"), is_training=False)  # each image once
    >>> image, label = next(MnistDataset(path, usage="test", shuffle=False).create_tuple_iterator(output_numpy=True))
    >>> x = mnist_transform(image)[None]                    # (1, 1, 32, 32) float32
    >>> model = Model(create_model("lenet5", pretrained=True))   # the bundled MNIST weights
    >>> prediction = mnist_transform.postprocess(model.predict(x))
    >>> prediction[0].label == str(label), prediction[0].score > 0.9
    (True, True)
"""

import importlib as _importlib

from ._coco import coco_eval
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

_FROM_GAN = ("CycleGanTransform", "CycleGanDatasetTransform", "cyclegan_transform", "to_image")

__all__ = [
    # presets and recipes
    *_FROM_TRANSFORMS,
    *_FROM_GAN,
    "Recipe",
    "frame_digit",
    # looking at images
    *_FROM_VIEWER,
    # postprocess results
    "Prediction",
    "Predictions",
    "coco_eval",
    # MindSpore image ops
    *sorted(_OPS),
]


def __getattr__(name):
    if name in _FROM_TRANSFORMS:
        module = _importlib.import_module(".transforms", __name__)
    elif name in _FROM_GAN:
        module = _importlib.import_module(".gan", __name__)
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
