"""A small SSD for small datasets trained from scratch: TinyMS's default detector.

:func:`ssd300_mobilenetv2` needs an ImageNet-trained backbone to learn from a few hundred
photos; from random weights it reached a validation mAP50 of 0.15 after 12 epochs on the bundled
shapes sample (benchmarks/RESULTS.md 14). ``ssd_tiny`` is built for that case: a plain
convolutional backbone (3x3 convolution, batch norm, ReLU; two per stage) at a small input
(192x192 by default), a top-down feature pyramid that gives the fine maps the coarse maps'
context, and four detection maps at strides 8, 16, 32 and 64 (24x24 to 3x3 at 192).

Anchors: four per location, two squares (sides ``s`` and ``sqrt(s * s_next)``) and the 2:1 and
1:2 boxes of area ``s * s``, with ``s`` = 0.1, 0.2, 0.4 and 0.7 of the image side on the four
maps (``s_next`` the next map's, 1.0 after the last): objects from a tenth of the image to all
of it. Training, decoding and the loss are the SSD family's (:class:`~tinyms.model.zoo.ssd.SSDWithLoss`:
in-graph matching at IoU 0.5, sigmoid focal loss and smooth-L1).
"""

import math

from mindspore import nn, ops

from ..._checks import positive_int
from ...vision._presets import IMAGENET_MEAN, IMAGENET_STD, detection_recipe
from ..registry import register_model
from .ssd import SSDBase, _class_bias, _constant, grid_anchors

__all__ = ["SSDTiny", "ssd_tiny", "ssd_tiny_anchors"]

#: the strides of the four detection maps
STRIDES = (8, 16, 32, 64)
#: anchor scale of each map (fractions of the image side), and 1.0 to close the last
_SCALES = (0.1, 0.2, 0.4, 0.7, 1.0)
#: smallest input side: the coarsest map (stride 64) is then 1x1
MIN_IMAGE_SIZE = 64
_ANCHORS_PER_LOCATION = 4
#: the classes of the bundled detection sample, ``sample_dataset("shapes")``
SHAPES_LABELS = ("circle", "cross", "square", "star", "triangle")


def _map_sides(image_size):
    return tuple(-(-image_size // stride) for stride in STRIDES)


def _anchor_shapes(layer):
    """(height, width) of the anchors at each location of map ``layer``, as fractions of the image."""
    scale, following = _SCALES[layer], _SCALES[layer + 1]
    root = math.sqrt(2.0)
    between = math.sqrt(scale * following)
    return [(scale, scale), (between, between), (scale / root, scale * root), (scale * root, scale / root)]


def ssd_tiny_anchors(image_size=192):
    """The anchors of an :func:`ssd_tiny` built for ``image_size`` x ``image_size`` inputs.

    Args:
        image_size (int): the input side in pixels, at least 64. Default 192.

    Returns:
        numpy.ndarray: float32 (A, 4) [ymin, xmin, ymax, xmax] fractions of the image, clipped to
        [0, 1], in the order of the network's outputs: map by map (finest first), row by row,
        column by column, then the four anchors of a location. A = 3,060 at 192.

    Raises:
        TypeError, ValueError: ``image_size`` is not an integer of at least 64.

    Example:
        >>> from tinyms.model.zoo.ssd_tiny import ssd_tiny_anchors
        >>> ssd_tiny_anchors(128).shape, ssd_tiny_anchors(192).shape
        ((1360, 4), (3060, 4))
    """
    sides = _map_sides(_checked_size(image_size))
    return grid_anchors(sides, [_anchor_shapes(layer) for layer in range(len(sides))])


def _checked_size(image_size):
    image_size = positive_int(image_size, "image_size", 192)
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be at least {MIN_IMAGE_SIZE} (the coarsest detection map is then "
                         f"1x1), got {image_size}; pass e.g. image_size=192")
    return image_size


def _conv(cin, cout, stride=1):
    """3x3 convolution (no bias), batch norm, ReLU."""
    return nn.SequentialCell([nn.Conv2d(cin, cout, 3, stride, pad_mode="pad", padding=1, has_bias=False),
                              nn.BatchNorm2d(cout), nn.ReLU()])


def _add_upsampled(fine, coarse):
    """``fine`` plus ``coarse`` upsampled 2x by nearest neighbour (cut to ``fine``'s side).

    Each map's side is half the finer one's, rounded up, so the 2x map covers it. Written with
    tile and reshape (ONNX's Tile and Reshape): MindSpore 2.10 cannot export its resize operators to
    ONNX. The values equal ``ops.interpolate(coarse, size=fine.shape[2:], mode="nearest")``.
    """
    batch, channels, height, width = coarse.shape
    up = ops.tile(coarse.reshape(batch, channels, height, 1, width, 1), (1, 1, 1, 2, 1, 2))
    up = up.reshape(batch, channels, 2 * height, 2 * width)
    return fine + up[:, :, :fine.shape[2], :fine.shape[3]]


class SSDTiny(SSDBase):
    """A small SSD: plain convolutional backbone, a top-down feature pyramid, four detection maps.

    ``net(image)`` returns ``(boxes, scores)`` as every SSD of the zoo: float32 (B, A, 4)
    [ymin, xmin, ymax, xmax] fractions of the input, and (B, A, class_num) sigmoid probabilities
    with the background in column 0; training goes through :meth:`with_loss`.

    Args:
        class_num (int): outputs per anchor, the background included (6 for 5 object classes).
        image_size (int): the square input side in pixels, at least 64.
        width (int): channels of the stride-4 stage; the stages have ``width/2, width, 2*width,
            3*width, 4*width, 4*width`` channels (strides 2 to 64) and the pyramid and heads
            ``2*width``. Default 32 (882,032 parameters for 6 classes).

    Attributes:
        anchors (numpy.ndarray): float32 (A, 4), see :func:`ssd_tiny_anchors`.
        feature_sizes (tuple): the sides of the four detection maps (24, 12, 6, 3 at 192).

    Raises:
        ValueError: (when called) an input of another height or width than ``image_size``.
    """

    def __init__(self, class_num=6, image_size=192, width=32):
        super().__init__()
        image_size = _checked_size(image_size)
        self._set_geometry(class_num, image_size, ssd_tiny_anchors(image_size), "ssd_tiny")
        self.feature_sizes = _map_sides(image_size)
        width = positive_int(width, "width", 32)
        if width % 2:
            raise ValueError(f"width must be even (the stem has width/2 channels), got {width}; pass e.g. width=32")
        stem, c4, c8, c16, c32, c64 = width // 2, width, 2 * width, 3 * width, 4 * width, 4 * width
        pyramid = 2 * width
        self.stem = _conv(3, stem, 2)
        self.stage4 = nn.SequentialCell([_conv(stem, c4, 2), _conv(c4, c4)])
        self.stage8 = nn.SequentialCell([_conv(c4, c8, 2), _conv(c8, c8)])
        self.stage16 = nn.SequentialCell([_conv(c8, c16, 2), _conv(c16, c16)])
        self.stage32 = nn.SequentialCell([_conv(c16, c32, 2), _conv(c32, c32)])
        self.stage64 = _conv(c32, c64, 2)
        self.lateral = nn.CellList([nn.Conv2d(c, pyramid, 1, has_bias=True) for c in (c8, c16, c32, c64)])
        self.smooth = nn.CellList([_conv(pyramid, pyramid) for _ in STRIDES])
        k = _ANCHORS_PER_LOCATION
        self.box_heads = nn.CellList([nn.Conv2d(pyramid, k * 4, 3, pad_mode="pad", padding=1, has_bias=True)
                                      for _ in STRIDES])
        bias = _constant(_class_bias(k, self.class_num))
        self.class_heads = nn.CellList([nn.Conv2d(pyramid, k * self.class_num, 3, pad_mode="pad", padding=1,
                                                  has_bias=True, bias_init=bias) for _ in STRIDES])

    def _maps(self, x):
        """The four pyramid maps of a batch, finest first."""
        c8 = self.stage8(self.stage4(self.stem(x)))
        c16 = self.stage16(c8)
        c32 = self.stage32(c16)
        c64 = self.stage64(c32)
        p64 = self.lateral[3](c64)
        p32 = _add_upsampled(self.lateral[2](c32), p64)
        p16 = _add_upsampled(self.lateral[1](c16), p32)
        p8 = _add_upsampled(self.lateral[0](c8), p16)
        return (p8, p16, p32, p64)

    def raw_outputs(self, x):
        """``(offsets, logits)``: float32 (B, A, 4) box offsets and (B, A, class_num) class logits."""
        self._check_input(x)
        maps = self._maps(x)
        batch = x.shape[0]
        offsets, logits = (), ()
        for i in range(len(STRIDES)):
            features = self.smooth[i](maps[i])
            offsets = offsets + (self.box_heads[i](features).transpose(0, 2, 3, 1).reshape(batch, -1, 4),)
            logits = logits + (self.class_heads[i](features).transpose(0, 2, 3, 1)
                               .reshape(batch, -1, self.class_num),)
        return ops.concat(offsets, 1), ops.concat(logits, 1)


@register_model(
    task="detection",
    background=True,
    input_shape=(3, 192, 192),
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    labels=SHAPES_LABELS,
    transform="voc_transform",
    recipe=detection_recipe(size=(192, 192)),
)
def ssd_tiny(class_num=6, is_training=True, image_size=192, width=32):
    """Build a small SSD detector for ``class_num - 1`` object classes, trained from scratch.

    TinyMS's default detector (``tinyms train --data FOLDER`` on detection data): it learns from a
    few hundred photos in minutes on a CPU (benchmarks/RESULTS.md 14).

    Args:
        class_num (int): outputs per anchor, counting the background class at column 0. Default 6:
            the bundled shapes sample's 5 classes and the background.
        is_training (bool): the network's initial mode (``set_train(is_training)``).
        image_size (int): the square input side in pixels, at least 64. Default 192 (on photos of
            small objects 192 learned much faster than 128: benchmarks/RESULTS.md 14).
        width (int): the network's width (see :class:`SSDTiny`). Default 32.

    Returns:
        SSDTiny: an untrained network; ``net(image)`` gives ``(boxes, scores)``, ``net.with_loss()``
        its training cell.

    Raises:
        TypeError: a non-integer size or width, or a non-boolean ``is_training``.
        ValueError: ``class_num`` below 2, ``image_size`` below 64 or an odd ``width``.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> from tinyms.model import ssd_tiny
        >>> net = ssd_tiny(class_num=6, is_training=False)
        >>> boxes, scores = net(ms.Tensor(np.zeros((1, 3, 192, 192), np.float32)))
        >>> boxes.shape, scores.shape
        ((1, 3060, 4), (1, 3060, 6))
    """
    if not isinstance(is_training, bool):
        raise TypeError(f"is_training must be True or False, got {is_training!r}")
    net = SSDTiny(class_num=class_num, image_size=image_size, width=width)
    net.set_train(is_training)
    return net
