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

from . import ops
from .ops import *  # noqa: F401,F403 - MindSpore's image ops, named once in ops.__all__
from .predictions import Prediction, Predictions
from .transforms import DatasetTransform, MnistTransform, get_transform, mnist_transform

__all__ = [
    # recipes
    "DatasetTransform",
    "MnistTransform",
    "mnist_transform",
    "get_transform",
    # postprocess results
    "Prediction",
    "Predictions",
    # MindSpore image ops
    *ops.__all__,
]
