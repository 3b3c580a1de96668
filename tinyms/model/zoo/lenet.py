"""LeNet-5 (LeCun et al., 1998), the classic convolutional network for 32x32 digit images."""

from mindspore import nn

from ...data.info import dataset_info
from ...vision._presets import digit_recipe
from ..registry import register_model

_MNIST = dataset_info("mnist")


class LeNet5(nn.Cell):
    """Two 5x5 convolutions with max-pooling, then three fully connected layers.

    Args:
        class_num (int): number of output classes.
        num_channel (int): channels of the input image (1 for grey digits).

    Inputs:
        x: float32 Tensor of shape (N, num_channel, 32, 32).

    Outputs:
        float32 Tensor of shape (N, class_num): unnormalised class scores (logits).
    """

    def __init__(self, class_num=10, num_channel=1):
        super().__init__()
        self.class_num = class_num
        self.num_channel = num_channel
        self.conv1 = nn.Conv2d(num_channel, 6, 5, pad_mode="valid")
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid")
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Dense(16 * 5 * 5, 120)
        self.fc2 = nn.Dense(120, 84)
        self.fc3 = nn.Dense(84, class_num)

    def construct(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


@register_model(
    input_shape=(1, 32, 32),
    mean=_MNIST.mean,
    std=_MNIST.std,
    labels=_MNIST.labels,
    dataset="mnist",
    transform="mnist_transform",
    recipe=digit_recipe("mnist"),
)
def lenet5(class_num=10, num_channel=1):
    """Build a LeNet-5 for ``num_channel`` x 32 x 32 images and ``class_num`` classes.

    Args:
        class_num (int): number of output classes. Default 10 (the MNIST digits).
        num_channel (int): input channels. Default 1.

    Returns:
        LeNet5: an untrained network; its ``default_cfg`` carries the preprocessing and labels.

    Example:
        >>> from tinyms.model import lenet5
        >>> net = lenet5(class_num=10)
        >>> net.default_cfg.input_shape
        (1, 32, 32)
    """
    return LeNet5(class_num=class_num, num_channel=num_channel)
