"""What the zoo families share: ImageNet registration defaults, mindcv access, builder docstrings.

The standard ImageNet architectures (VGG, ResNet, MobileNetV2, DenseNet-121) are built by
mindcv, MindSpore's own vision model library, so that TinyMS does not maintain a second copy of
networks that library already keeps correct and ships pretrained weights for. mindcv is imported
only when such a network is built: ``import tinyms.model`` stays as light as before.
"""

from ..._checks import positive_int
from ...vision._presets import IMAGENET_MEAN, IMAGENET_STD, imagefolder_recipe
from .._mindcv import imagenet_labels

__all__ = ["imagenet_defaults", "mindcv_models", "checked_sizes", "tagged", "documented"]


def imagenet_defaults(mindcv_weights=None):
    """Keyword arguments of ``register_model`` for a network trained on 224x224 ImageNet photos.

    Args:
        mindcv_weights (str): the mindcv network whose pretrained weights fit this one, when its
            name differs (None: mindcv's network of the same name, if any).

    Returns:
        dict: input shape (3, 224, 224), ImageNet mean/std and the 1000 class names, and the
        image-folder recipe (random resized crop for training; resize to 256 and centre-crop 224
        for evaluation).
    """
    return dict(input_shape=(3, 224, 224), mean=IMAGENET_MEAN, std=IMAGENET_STD, labels=imagenet_labels(),
                mindcv_weights=mindcv_weights,
                dataset="imagenet", transform="imagefolder_transform",
                recipe=imagefolder_recipe(size=(224, 224), augment="imagenet"))


def mindcv_models():
    """The ``mindcv.models`` package, imported on first use.

    Raises:
        ImportError: mindcv is not installed; the message says which version to install.
    """
    try:
        import mindcv.models  # noqa: PLC0415 - keep `import tinyms.model` free of mindcv
    except ImportError as err:
        raise ImportError("this network is built by mindcv, which is not installed: "
                          "pip install mindcv==0.3.0") from err
    return mindcv.models


def checked_sizes(class_num, num_channel):
    """``(class_num, num_channel)`` as ints, or a TypeError/ValueError naming the bad one."""
    return positive_int(class_num, "class_num", 10), positive_int(num_channel, "num_channel", 3)


def tagged(net, class_num, num_channel):
    """Record ``class_num`` and ``num_channel`` on ``net`` (the registry reads them) and return it."""
    net.class_num = class_num
    net.num_channel = num_channel
    return net


_BUILDER_DOC = """Build {title} for ``num_channel`` x {side} x {side} images and ``class_num`` classes.

    Args:
        class_num (int): number of output classes. Default {classes}.
        num_channel (int): input channels. Default 3.

    Returns:
        {returns}: an untrained network; its ``default_cfg`` carries the {data}
        preprocessing and labels.

    Raises:
        TypeError: an argument this builder does not take, or a non-integer size.
        ValueError: a size below 1.

    Example:
{example}
    """

_BUILD_EXAMPLE = """        >>> from tinyms.model import {name}
        >>> net = {name}(class_num=10)
        >>> net.default_cfg.input_shape
        (3, {side}, {side})"""

# Networks of 40 million parameters and more take seconds to initialise: their example builds
# one only when asked (the docstring examples run as tests), and shows the configuration.
_LARGE = {"alexnet", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
          "vgg19", "vgg19_bn"}
_LARGE_EXAMPLE = """        >>> from tinyms.model import {name}, model_config
        >>> model_config("{name}").input_shape
        (3, {side}, {side})
        >>> net = {name}(class_num=10)      # doctest: +SKIP"""


def documented(title, returns, side=224, classes="1000 (ImageNet)", data="ImageNet"):
    """Decorator giving a zoo builder the common docstring (title, return type, input size)."""
    def decorate(builder):
        example = (_LARGE_EXAMPLE if builder.__name__ in _LARGE else _BUILD_EXAMPLE).format(
            name=builder.__name__, side=side)
        builder.__doc__ = _BUILDER_DOC.format(title=title, returns=returns, side=side, classes=classes, data=data,
                                              name=builder.__name__, example=example)
        return builder
    return decorate
