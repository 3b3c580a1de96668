"""DenseNets (Huang et al., 2017): DenseNet-121 for ImageNet photos and DenseNet-BC-100 for CIFAR.

``densenet121`` is mindcv's, unchanged (it exports to MindIR and ONNX as it is).

``densenet100`` is written here because mindcv has no CIFAR DenseNet: its ``DenseNet`` always
starts with the ImageNet stem (a 7x7 stride-2 convolution and a max-pool, which shrink a 32x32
image 4x before the first block) and has four blocks. The CIFAR DenseNet-BC of the paper keeps
the full 32x32 resolution in its first block: one 3x3 convolution to twice the growth rate,
then three dense blocks of (depth - 4) / 6 bottleneck layers (16 for depth 100) joined by
transitions that halve the channels and the resolution, then a global mean and one dense layer.
It needs no mindcv, so CIFAR users get it without the ImageNet library.
"""

from mindspore import nn, ops

from ...data.info import dataset_info
from ...vision._presets import cifar_recipe
from ..registry import register_model
from ._common import checked_sizes, documented, imagenet_defaults, mindcv_models, tagged

__all__ = ["DenseNetBC", "densenet100", "densenet121"]

_CIFAR10 = dataset_info("cifar10")


def _norm_relu_conv(in_channels, out_channels, kernel_size):
    return [nn.BatchNorm2d(in_channels), nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, kernel_size, pad_mode="same", has_bias=False)]


class _Bottleneck(nn.Cell):
    """BN-ReLU-1x1 conv to 4k channels, BN-ReLU-3x3 conv to k; the k new maps join the input."""

    def __init__(self, in_channels, growth_rate):
        super().__init__()
        self.layers = nn.SequentialCell(_norm_relu_conv(in_channels, 4 * growth_rate, 1)
                                        + _norm_relu_conv(4 * growth_rate, growth_rate, 3))

    def construct(self, x):
        return ops.concat((x, self.layers(x)), axis=1)


class DenseNetBC(nn.Cell):
    """The CIFAR DenseNet-BC: bottleneck layers and compressing transitions, full-resolution stem.

    Args:
        class_num (int): number of output classes.
        num_channel (int): channels of the input image.
        depth (int): layers counted as in the paper; (depth - 4) must be a multiple of 6.
        growth_rate (int): channels each bottleneck layer adds (k).
        compression (float): fraction of channels a transition keeps (theta).

    Inputs:
        x: float32 Tensor of shape (N, num_channel, H, W), H and W at least 4 (32 for CIFAR).

    Outputs:
        float32 Tensor of shape (N, class_num): unnormalised class scores (logits).
    """

    def __init__(self, class_num=10, num_channel=3, depth=100, growth_rate=12, compression=0.5):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"depth - 4 must be a multiple of 6 (e.g. 40, 100, 250), got depth={depth!r}")
        per_block = (depth - 4) // 6
        self.class_num = class_num
        self.num_channel = num_channel
        channels = 2 * growth_rate
        layers = [nn.Conv2d(num_channel, channels, 3, pad_mode="same", has_bias=False)]
        for block in range(3):
            for _ in range(per_block):
                layers.append(_Bottleneck(channels, growth_rate))
                channels += growth_rate
            if block < 2:
                kept = int(channels * compression)
                layers += _norm_relu_conv(channels, kept, 1) + [nn.AvgPool2d(kernel_size=2, stride=2)]
                channels = kept
        layers += [nn.BatchNorm2d(channels), nn.ReLU()]
        self.features = nn.SequentialCell(layers)
        self.classifier = nn.Dense(channels, class_num)

    def construct(self, x):
        x = self.features(x)
        return self.classifier(ops.mean(x, axis=(2, 3)))


@documented("the CIFAR DenseNet-BC-100 (growth rate 12)", "DenseNetBC", side=32, classes="10 (CIFAR-10)",
            data="CIFAR-10")
@register_model(input_shape=(3, 32, 32), mean=_CIFAR10.mean, std=_CIFAR10.std, labels=_CIFAR10.labels,
                dataset="cifar10", transform="cifar10_transform", recipe=cifar_recipe("cifar10"))
def densenet100(class_num=10, num_channel=3):
    class_num, num_channel = checked_sizes(class_num, num_channel)
    return DenseNetBC(class_num=class_num, num_channel=num_channel, depth=100, growth_rate=12)


@documented("a DenseNet-121 (growth rate 32)", "mindcv.models.densenet.DenseNet")
@register_model(**imagenet_defaults())
def densenet121(class_num=1000, num_channel=3):
    class_num, num_channel = checked_sizes(class_num, num_channel)
    net = mindcv_models().densenet.densenet121(num_classes=class_num, in_channels=num_channel)
    return tagged(net, class_num, num_channel)
