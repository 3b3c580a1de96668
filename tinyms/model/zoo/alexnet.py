"""AlexNet (Krizhevsky et al., 2012), single-tower layout, for 224x224 ImageNet-style photos.

Written here because mindcv has no AlexNet. The layout is the common single-tower one (64, 192,
384, 256 and 256 convolution channels; two 4096-wide dense layers with dropout), 61,100,840
trainable parameters at 1000 classes. The feature extractor ends at a fixed 256 x 6 x 6 map for
a 224x224 input and is flattened directly, without an adaptive pool: MindSpore 2.10 cannot
export ``AdaptiveAvgPool2D`` to ONNX, and this network exports to both MindIR and ONNX.
"""

from mindspore import nn

from ..registry import register_model
from ._common import checked_sizes, documented, imagenet_defaults

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Cell):
    """Five convolutions (three max-pools) and three dense layers.

    Args:
        class_num (int): number of output classes.
        num_channel (int): channels of the input image.
        dropout (float): dropout probability before each of the two hidden dense layers.

    Inputs:
        x: float32 Tensor of shape (N, num_channel, 224, 224).

    Outputs:
        float32 Tensor of shape (N, class_num): unnormalised class scores (logits).
    """

    def __init__(self, class_num=1000, num_channel=3, dropout=0.5):
        super().__init__()
        self.class_num = class_num
        self.num_channel = num_channel

        def conv(cin, cout, kernel, stride, padding):
            return nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode="pad", padding=padding, has_bias=True)

        def pool():
            return nn.MaxPool2d(kernel_size=3, stride=2)

        self.features = nn.SequentialCell([
            conv(num_channel, 64, 11, 4, 2), nn.ReLU(), pool(),
            conv(64, 192, 5, 1, 2), nn.ReLU(), pool(),
            conv(192, 384, 3, 1, 1), nn.ReLU(),
            conv(384, 256, 3, 1, 1), nn.ReLU(),
            conv(256, 256, 3, 1, 1), nn.ReLU(), pool(),
        ])
        self.flatten = nn.Flatten()
        self.classifier = nn.SequentialCell([
            nn.Dropout(p=dropout), nn.Dense(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Dense(4096, 4096), nn.ReLU(),
            nn.Dense(4096, class_num),
        ])

    def construct(self, x):
        return self.classifier(self.flatten(self.features(x)))


@documented("an AlexNet", "AlexNet")
@register_model(**imagenet_defaults())
def alexnet(class_num=1000, num_channel=3):
    class_num, num_channel = checked_sizes(class_num, num_channel)
    return AlexNet(class_num=class_num, num_channel=num_channel)
