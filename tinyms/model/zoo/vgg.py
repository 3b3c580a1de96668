"""VGG-11/13/16/19 (Simonyan and Zisserman, 2014), with or without batch norm, built on mindcv.

mindcv's ``VGG`` class builds every variant (it registers only the four plain ones by name; the
``_bn`` variants are the same class with ``batch_norm=True``). Its classifier starts with a dense
layer over a 512 x 7 x 7 feature map, so inputs must be 224x224 (up to 255x255).

Parameter counts differ from the published ones by the convolution biases: MindSpore's
``nn.Conv2d`` has no bias by default and mindcv keeps that, so VGG-16 has 138,353,320 trainable
parameters instead of 138,357,544 (13 convolutions, 4,224 biases, 0.003 %). mindcv's pretrained
checkpoints fit this layout.
"""

from ..registry import register_model
from ._common import checked_sizes, documented, imagenet_defaults, mindcv_models, tagged

__all__ = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def _vgg(arch, batch_norm, class_num, num_channel):
    class_num, num_channel = checked_sizes(class_num, num_channel)
    net = mindcv_models().vgg.VGG(model_name=arch, batch_norm=batch_norm, num_classes=class_num,
                                  in_channels=num_channel)
    return tagged(net, class_num, num_channel)


_RETURNS = "mindcv.models.vgg.VGG"


@documented("a VGG-11", _RETURNS)
@register_model(**imagenet_defaults())
def vgg11(class_num=1000, num_channel=3):
    return _vgg("vgg11", False, class_num, num_channel)


@documented("a VGG-11 with batch norm", _RETURNS)
@register_model(**imagenet_defaults())
def vgg11_bn(class_num=1000, num_channel=3):
    return _vgg("vgg11", True, class_num, num_channel)


@documented("a VGG-13", _RETURNS)
@register_model(**imagenet_defaults())
def vgg13(class_num=1000, num_channel=3):
    return _vgg("vgg13", False, class_num, num_channel)


@documented("a VGG-13 with batch norm", _RETURNS)
@register_model(**imagenet_defaults())
def vgg13_bn(class_num=1000, num_channel=3):
    return _vgg("vgg13", True, class_num, num_channel)


@documented("a VGG-16", _RETURNS)
@register_model(**imagenet_defaults())
def vgg16(class_num=1000, num_channel=3):
    return _vgg("vgg16", False, class_num, num_channel)


@documented("a VGG-16 with batch norm", _RETURNS)
@register_model(**imagenet_defaults())
def vgg16_bn(class_num=1000, num_channel=3):
    return _vgg("vgg16", True, class_num, num_channel)


@documented("a VGG-19", _RETURNS)
@register_model(**imagenet_defaults())
def vgg19(class_num=1000, num_channel=3):
    return _vgg("vgg19", False, class_num, num_channel)


@documented("a VGG-19 with batch norm", _RETURNS)
@register_model(**imagenet_defaults())
def vgg19_bn(class_num=1000, num_channel=3):
    return _vgg("vgg19", True, class_num, num_channel)
