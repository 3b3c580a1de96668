"""MobileNetV2 (Sandler et al., 2018) for 224x224 ImageNet-style photos, built on mindcv.

mindcv's ``MobileNetV2`` class builds it unchanged: its residual adds are out of place and its
head is a plain global mean, so it exports to MindIR and ONNX as it is. Any input of 32x32 or
more runs (the head averages whatever spatial size remains). Its pretrained weights are mindcv's
``mobilenet_v2_100`` ImageNet checkpoint, which fits ``width_mult=1.0`` only.
"""

import numbers

from ..registry import register_model
from ._common import checked_sizes, imagenet_defaults, mindcv_models, tagged

__all__ = ["mobilenetv2"]


@register_model(**imagenet_defaults(mindcv_weights="mobilenet_v2_100"))
def mobilenetv2(class_num=1000, num_channel=3, width_mult=1.0, is_training=True):
    """Build a MobileNetV2 for ``num_channel`` x 224 x 224 images and ``class_num`` classes.

    Args:
        class_num (int): number of output classes. Default 1000 (ImageNet).
        num_channel (int): input channels. Default 3.
        width_mult (float): width multiplier: every layer's channel count is scaled by it and
            rounded to a multiple of 8 (the last layer keeps at least 1280 channels). 1.0 is the
            standard network (3,504,872 parameters at 1000 classes); 0.5, 0.75, 1.3 and 1.4 are
            the other published widths.
        is_training (bool): accepted for TinyMS 0.3 scripts (``mobilenetv2(10, is_training=False)``)
            and otherwise unused: :class:`~tinyms.model.Model` switches between training and
            inference mode itself.

    Returns:
        mindcv.models.mobilenetv2.MobileNetV2: an untrained network; its ``default_cfg`` carries
        the ImageNet preprocessing and labels.

    Raises:
        TypeError: an argument this builder does not take, or a non-numeric size.
        ValueError: a size below 1 or a width multiplier that is not positive.

    Example:
        >>> from tinyms.model import mobilenetv2
        >>> net = mobilenetv2(class_num=10, width_mult=0.5)
        >>> net.default_cfg.input_shape
        (3, 224, 224)
    """
    class_num, num_channel = checked_sizes(class_num, num_channel)
    if not isinstance(is_training, bool):
        raise TypeError(f"is_training must be True or False, got {is_training!r}")
    if isinstance(width_mult, bool) or not isinstance(width_mult, numbers.Real):
        raise TypeError(f"width_mult must be a positive number, got {width_mult!r}; pass e.g. width_mult=1.0")
    if not width_mult > 0:
        raise ValueError(f"width_mult must be a positive number, got {width_mult!r}; pass e.g. width_mult=1.0")
    net = mindcv_models().mobilenetv2.MobileNetV2(alpha=float(width_mult), num_classes=class_num,
                                                  in_channels=num_channel)
    net.width_mult = float(width_mult)
    return tagged(net, class_num, num_channel)
