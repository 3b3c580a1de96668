"""ResNet-18/34/50/101/152 (He et al., 2015) for 224x224 ImageNet-style photos, built on mindcv.

mindcv's ``ResNet`` class builds the network; TinyMS only swaps in its residual blocks. mindcv's
blocks add the shortcut in place (``out += identity``), which MindSpore 2.10 records as the
operator ``InplaceAddExt`` and cannot convert to ONNX. The blocks below subclass mindcv's and
differ only in adding out of place, so the layers, parameter names and pretrained checkpoints
are mindcv's and the networks export to ONNX as well as MindIR. The head averages globally
(a plain mean, which ONNX supports), so any input of 32x32 or more runs.
"""

from ..registry import register_model
from ._common import checked_sizes, documented, imagenet_defaults, mindcv_models, tagged

__all__ = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]

_BLOCKS = {}


def _block(kind):
    """TinyMS's version of mindcv's ``BasicBlock`` or ``Bottleneck``, made once."""
    if kind in _BLOCKS:
        return _BLOCKS[kind]
    base = getattr(mindcv_models().resnet, kind)
    bottleneck = kind == "Bottleneck"

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if bottleneck:
            out = self.bn3(self.conv3(self.relu(out)))
        shortcut = x if self.down_sample is None else self.down_sample(x)
        return self.relu(out + shortcut)

    block = type(kind, (base,), {"construct": construct, "__module__": __name__,
                                 "__doc__": f"mindcv's {kind} with an out-of-place residual add."})
    _BLOCKS[kind] = block
    return block


def _resnet(kind, layers, class_num, num_channel):
    class_num, num_channel = checked_sizes(class_num, num_channel)
    net = mindcv_models().resnet.ResNet(block=_block(kind), layers=list(layers), num_classes=class_num,
                                        in_channels=num_channel)
    return tagged(net, class_num, num_channel)


_RETURNS = "mindcv.models.resnet.ResNet"  # mindcv's class, with TinyMS's residual blocks


@documented("a ResNet-18", _RETURNS)
@register_model(**imagenet_defaults())
def resnet18(class_num=1000, num_channel=3):
    return _resnet("BasicBlock", (2, 2, 2, 2), class_num, num_channel)


@documented("a ResNet-34", _RETURNS)
@register_model(**imagenet_defaults())
def resnet34(class_num=1000, num_channel=3):
    return _resnet("BasicBlock", (3, 4, 6, 3), class_num, num_channel)


@documented("a ResNet-50", _RETURNS)
@register_model(**imagenet_defaults())
def resnet50(class_num=1000, num_channel=3):
    return _resnet("Bottleneck", (3, 4, 6, 3), class_num, num_channel)


@documented("a ResNet-101", _RETURNS)
@register_model(**imagenet_defaults())
def resnet101(class_num=1000, num_channel=3):
    return _resnet("Bottleneck", (3, 4, 23, 3), class_num, num_channel)


@documented("a ResNet-152", _RETURNS)
@register_model(**imagenet_defaults())
def resnet152(class_num=1000, num_channel=3):
    return _resnet("Bottleneck", (3, 8, 36, 3), class_num, num_channel)
