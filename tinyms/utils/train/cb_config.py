"""TinyMS 0.3's per-family callback sets; they live in :mod:`tinyms.callbacks`."""

from ...callbacks import alexnet_cb, densenet_cb, lenet5_cb, mobilenetv2_cb, resnet_cb, vgg_cb

__all__ = ["mobilenetv2_cb", "lenet5_cb", "alexnet_cb", "vgg_cb", "resnet_cb", "densenet_cb"]
