"""SSD (Liu et al., 2016) on a MobileNetV2 backbone (Sandler et al., 2018): an object detector.

The backbone is MobileNetV2's feature extractor as :func:`~tinyms.model.mobilenetv2` builds it
(mindcv's layers, under mindcv's parameter names ``features.*``). Detection reads two of its
maps, the 576-channel expansion of the first stride-32 block (19x19 at 300x300) and the final
1280-channel map (10x10), and four extra stride-2 inverted-residual blocks add 5x5, 3x3, 2x2
and 1x1 maps. Each map predicts, per location and anchor, four box offsets and one logit per
class through depthwise-separable heads. At 300x300 the six maps hold 1,917 anchors.

Anchor design (one scale per map, spread linearly from 0.2 to 0.95 of the image side, as in
the SSD paper): the 19x19 map has three anchors per location (a 0.1 square and the 2:1 and
1:2 boxes of scale 0.2); every other map of scale ``s`` has six: squares of sides ``s`` and
``sqrt(s * s_next)``, and boxes of aspect 2:1, 1:2, 3:1 and 1:3 at scale ``s``. Anchors are
clipped to the image.

Training (:meth:`SSDMobileNetV2.with_loss`) matches ground-truth boxes to anchors inside the
graph: an anchor takes the box it overlaps most if that IoU reaches 0.5, and every box also
takes its best anchor. Classes are trained with a sigmoid focal loss (alpha 0.75 on the
targets that are 1, gamma 2: the constants of TinyMS 0.3's and MindSpore's SSD) over all
``class_num`` columns, background included, and boxes with a smooth-L1 loss on the matched
anchors' offsets; both are divided by the number of matched anchors in the batch.
"""

import dataclasses
import math

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from ..._checks import positive_int
from ...data.info import dataset_info
from ...vision._presets import IMAGENET_MEAN, IMAGENET_STD, detection_recipe
from ..registry import register_model
from ._common import mindcv_models

__all__ = ["SSDBase", "SSDMobileNetV2", "SSDWithLoss", "ssd300_mobilenetv2", "ssd_anchors", "encode_boxes", "decode_boxes"]

#: Box-offset variances: centre offsets are divided by 0.1 x the anchor's side, log size ratios by 0.2.
VARIANCES = (0.1, 0.2)
#: Smallest input side: the first detection map (stride 16) is then 4x4 and the last four 1x1.
MIN_IMAGE_SIZE = 64
_MIN_SCALE, _MAX_SCALE = 0.2, 0.95
_MAPS = 6
# exp() of a log size ratio is capped at this (a box at most 1000/16 times its anchor's side)
_MAX_LOG_RATIO = math.log(1000.0 / 16)
# (input channels, hidden channels' expansion ratio, output channels) of the extra blocks
_EXTRAS = ((1280, 0.2, 512), (512, 0.25, 256), (256, 0.5, 256), (256, 0.25, 128))
_HEAD_CHANNELS = (576, 1280, 512, 256, 256, 128)
_BACKGROUND_PRIOR, _OBJECT_PRIOR = 0.99, 0.01


def _feature_sizes(image_size):
    """Side of each of the six detection maps for a square input of ``image_size`` pixels."""
    side = image_size
    for _ in range(4):  # stem and three stride-2 stages: the 19x19 map at 300 has stride 16
        side = -(-side // 2)
    sizes = [side]
    for _ in range(_MAPS - 1):
        side = -(-side // 2)
        sizes.append(side)
    return tuple(sizes)


def _anchor_shapes(layer):
    """(height, width) of the anchors at each location of map ``layer``, as fractions of the image."""
    scales = [_MIN_SCALE + (_MAX_SCALE - _MIN_SCALE) * k / (_MAPS - 1) for k in range(_MAPS)] + [1.0]
    scale = scales[layer]
    if layer == 0:
        shapes = [(0.1, 0.1)]
        ratios = (2.0,)
    else:
        between = math.sqrt(scale * scales[layer + 1])
        shapes = [(scale, scale), (between, between)]
        ratios = (2.0, 3.0)
    for ratio in ratios:  # ratio = width / height
        root = math.sqrt(ratio)
        shapes += [(scale / root, scale * root), (scale * root, scale / root)]
    return shapes


def ssd_anchors(image_size=300):
    """The anchors (default boxes) of an SSD300-MobileNetV2 built for ``image_size`` x ``image_size``.

    Args:
        image_size (int): the input side in pixels, at least 64. Default 300.

    Returns:
        numpy.ndarray: float32 (A, 4) anchors as [ymin, xmin, ymax, xmax] fractions of the image,
        clipped to [0, 1], in the order of the network's outputs: map by map (largest first),
        row by row, column by column, then the anchors of one location. A = 1917 at 300.

    Raises:
        TypeError, ValueError: ``image_size`` is not an integer of at least 64.

    Example:
        >>> from tinyms.model.zoo.ssd import ssd_anchors
        >>> ssd_anchors(300).shape, ssd_anchors(160).shape
        ((1917, 4), (540, 4))
    """
    sides = _feature_sizes(_checked_size(image_size))
    return grid_anchors(sides, [_anchor_shapes(layer) for layer in range(len(sides))])


def grid_anchors(sides, shapes):
    """Anchors centred on the cells of square maps: map by map, row by row, column by column.

    Args:
        sides (sequence of int): each map's side in cells.
        shapes (sequence of lists): for each map, the (height, width) of the anchors at each of its
            locations, as fractions of the image.

    Returns:
        numpy.ndarray: float32 (A, 4) [ymin, xmin, ymax, xmax] fractions, clipped to [0, 1].
    """
    boxes = []
    for side, layer_shapes in zip(sides, shapes):
        centres = (np.arange(side, dtype=np.float64) + 0.5) / side
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        cy, cx = cy.reshape(-1, 1), cx.reshape(-1, 1)                   # (side*side, 1)
        size = np.array(layer_shapes, np.float64)                       # (k, 2) height, width
        half_h, half_w = size[:, 0] / 2, size[:, 1] / 2                # (k,)
        boxes.append(np.stack([cy - half_h, cx - half_w, cy + half_h, cx + half_w], axis=-1).reshape(-1, 4))
    return np.clip(np.concatenate(boxes), 0.0, 1.0).astype(np.float32)


def _checked_size(image_size):
    image_size = positive_int(image_size, "image_size", 300)
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be at least {MIN_IMAGE_SIZE} (the smallest detection maps are then "
                         f"1x1), got {image_size}; pass e.g. image_size=300")
    return image_size


def _centre_form(boxes):
    """[ymin, xmin, ymax, xmax] -> (cy, cx, h, w), numpy, last axis."""
    return np.stack([(boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2,
                     boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]], axis=-1)


def encode_boxes(boxes, anchors):
    """The offsets (numpy) the network should predict for ``boxes`` at ``anchors``.

    Args:
        boxes (numpy.ndarray): (..., A, 4) [ymin, xmin, ymax, xmax] fractions, boxes of positive size.
        anchors (numpy.ndarray): (A, 4) as :func:`ssd_anchors` returns them.

    Returns:
        numpy.ndarray: float32 (..., A, 4) offsets [dy, dx, dh, dw] (variances 0.1 and 0.2).

    Example:
        >>> import numpy as np
        >>> from tinyms.model.zoo.ssd import decode_boxes, encode_boxes, ssd_anchors
        >>> anchors = ssd_anchors(160)
        >>> box = np.tile(np.array([[0.2, 0.3, 0.6, 0.5]], np.float32), (len(anchors), 1))
        >>> bool(np.allclose(decode_boxes(encode_boxes(box, anchors), anchors), box, atol=1e-6))
        True
    """
    box, anchor = _centre_form(np.asarray(boxes, np.float64)), _centre_form(np.asarray(anchors, np.float64))
    return np.concatenate([(box[..., :2] - anchor[..., :2]) / (VARIANCES[0] * anchor[..., 2:]),
                           np.log(box[..., 2:] / anchor[..., 2:]) / VARIANCES[1]], axis=-1).astype(np.float32)


def decode_boxes(offsets, anchors):
    """Boxes (numpy) from predicted ``offsets`` at ``anchors``: what the network's graph computes.

    Args:
        offsets (numpy.ndarray): (..., A, 4) [dy, dx, dh, dw].
        anchors (numpy.ndarray): (A, 4) as :func:`ssd_anchors` returns them.

    Returns:
        numpy.ndarray: float32 (..., A, 4) [ymin, xmin, ymax, xmax] fractions, clipped to [0, 1].
    """
    offsets, anchor = np.asarray(offsets, np.float64), _centre_form(np.asarray(anchors, np.float64))
    centre = anchor[..., :2] + offsets[..., :2] * VARIANCES[0] * anchor[..., 2:]
    size = anchor[..., 2:] * np.exp(np.minimum(offsets[..., 2:] * VARIANCES[1], _MAX_LOG_RATIO))
    return np.clip(np.concatenate([centre - size / 2, centre + size / 2], axis=-1), 0.0, 1.0).astype(np.float32)


def _constant(values):
    return ms.Tensor(np.ascontiguousarray(values, np.float32))


def _centres_and_sizes(anchors):
    """The anchors' (cy, cx) and (h, w) as two float32 (A, 2) Tensors."""
    centre = _centre_form(anchors.astype(np.float64))
    return _constant(centre[:, :2]), _constant(centre[:, 2:])


class _BoxDecoder(nn.Cell):
    """Offsets (B, A, 4) -> boxes (B, A, 4) [ymin, xmin, ymax, xmax] in [0, 1], in the graph."""

    def __init__(self, anchors):
        super().__init__()
        self.anchor_centre, self.anchor_size = _centres_and_sizes(anchors)
        # Tensor bounds (not Python numbers) keep the graph exportable to ONNX
        self.max_log_ratio, self.zero, self.one = _constant(_MAX_LOG_RATIO), _constant(0.0), _constant(1.0)

    def construct(self, offsets):
        centre = self.anchor_centre + offsets[..., :2] * VARIANCES[0] * self.anchor_size
        size = self.anchor_size * ops.exp(ops.minimum(offsets[..., 2:] * VARIANCES[1], self.max_log_ratio))
        boxes = ops.concat((centre - size / 2, centre + size / 2), -1)
        return ops.maximum(ops.minimum(boxes, self.one), self.zero)


class _AnchorMatcher(nn.Cell):
    """Ground truth -> per-anchor training targets, in the graph.

    Inputs: ``boxes`` float32 (B, M, 4) [ymin, xmin, ymax, xmax] fractions and ``labels`` int32
    (B, M) 0-based, -1 for padding rows. Outputs: ``offsets`` (B, A, 4), the encoded matched box
    of every anchor (meaningful where matched), and ``classes`` int32 (B, A): the matched box's
    label + 1, or 0 (background) for anchors left unmatched.

    A box takes part only when its label is at least 0 and its height and width are positive,
    so padding rows never match.
    """

    def __init__(self, anchors, iou_threshold=0.5):
        super().__init__()
        self.num_anchors = int(anchors.shape[0])
        self.iou_threshold = float(iou_threshold)
        self.anchor_centre, self.anchor_size = _centres_and_sizes(anchors)
        # each corner and the area as (1, 1, A): one value per anchor, for the (B, M, A) tables
        self.anchor_corners = [_constant(anchors[:, k].reshape(1, 1, -1)) for k in range(4)]
        self.anchor_area = _constant(np.prod(anchors[:, 2:] - anchors[:, :2], axis=1).reshape(1, 1, -1))
        self.best = ops.ArgMaxWithValue(axis=1)

    def construct(self, boxes, labels):
        boxes = ops.clamp(boxes, 0.0, 1.0)
        size = boxes[..., 2:] - boxes[..., :2]                                   # (B, M, 2)
        valid = ops.logical_and(labels >= 0, ops.logical_and(size[..., 0] > 0, size[..., 1] > 0))
        # IoU of every box with every anchor: (B, M, A). The corners are broadcast to the full table
        # before minimum and maximum: MindSpore 2.10's CPU Minimum and Maximum take 7-8x longer when
        # they broadcast themselves (add, sub, mul, div and where do not); the matching of 8 photos
        # of 64 boxes took 195 ms before, 35-43 ms now (benchmarks/RESULTS.md 14).
        table = (boxes.shape[0], boxes.shape[1], self.num_anchors)
        edge = [ops.broadcast_to(boxes[..., k:k + 1], table) for k in range(4)]
        anchor = [ops.broadcast_to(corner, table) for corner in self.anchor_corners]
        height = ops.relu(ops.minimum(edge[2], anchor[2]) - ops.maximum(edge[0], anchor[0]))
        width = ops.relu(ops.minimum(edge[3], anchor[3]) - ops.maximum(edge[1], anchor[1]))
        inter = height * width
        area = (size[..., 0] * size[..., 1]).expand_dims(2)
        iou = inter / (area + self.anchor_area - inter)
        iou = ops.where(valid.expand_dims(2), iou, ops.full_like(iou, -1.0))
        # every valid box claims its best anchor (a claimed anchor scores above any IoU)
        claimed = ops.one_hot(ops.argmax(iou, dim=2), self.num_anchors, 2.0, 0.0)
        claimed = claimed * valid.astype(iou.dtype).expand_dims(2)
        which, score = self.best(iou + claimed)                                  # (B, A) each
        matched = score >= self.iou_threshold
        index = which.astype(labels.dtype)
        box = ops.gather_elements(boxes, 1, index.expand_dims(2).broadcast_to(index.shape + (4,)))
        box_centre = (box[..., :2] + box[..., 2:]) / 2
        box_size = ops.clamp(box[..., 2:] - box[..., :2], min=1e-6)
        offsets = ops.concat(((box_centre - self.anchor_centre) / (VARIANCES[0] * self.anchor_size),
                              ops.log(box_size / self.anchor_size) / VARIANCES[1]), -1)
        classes = ops.where(matched, ops.gather_elements(labels, 1, index) + 1, ops.zeros_like(index))
        return ops.stop_gradient(offsets), ops.stop_gradient(classes)


class SSDWithLoss(nn.Cell):
    """An SSD network with its training loss: ``loss = cell(image, bbox, label)``.

    Takes the batched detection data contract: ``image`` float32 (B, 3, H, W) (H and W the
    network's ``image_size``), ``bbox`` float32 (B, M, 4) [xmin, ymin, xmax, ymax] in pixels of
    the image, zeros for padding, ``label`` int32 (B, M) 0-based object classes below
    ``class_num - 1``, -1 for padding (rows of zero width or height are ignored too).
    Returns the scalar float32 loss: sigmoid focal loss over every anchor and class (background
    column included) plus smooth-L1 over the matched anchors' box offsets, each divided by the
    number of matched anchors in the batch (at least 1). Its parameters are the network's, under
    the same names.

    Args:
        network (SSDBase): the network to train (an SSD-style network: ``raw_outputs``,
            ``anchors``, ``class_num``).
        alpha (float): focal loss weight of the targets that are 1 (those that are 0 get
            ``1 - alpha``). Default 0.75.
        gamma (float): focal loss focusing exponent. Default 2.
        iou_threshold (float): the IoU from which an anchor is matched to a box. Default 0.5.

    Example:
        >>> from tinyms.model import ssd300_mobilenetv2
        >>> loss_net = ssd300_mobilenetv2(image_size=160).with_loss()
        >>> type(loss_net).__name__
        'SSDWithLoss'
    """

    def __init__(self, network, alpha=0.75, gamma=2.0, iou_threshold=0.5):
        super().__init__(auto_prefix=False)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}; pass e.g. alpha=0.75")
        if not float(gamma) >= 0.0:
            raise ValueError(f"gamma must be 0 or more, got {gamma!r}; pass e.g. gamma=2.0")
        if not 0.0 < float(iou_threshold) <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}; pass e.g. iou_threshold=0.5")
        self.network = network
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.class_num = network.class_num
        self.matcher = _AnchorMatcher(network.anchors, iou_threshold)

    def construct(self, image, bbox, label):
        offsets, logits = self.network.raw_outputs(image)
        height, width = image.shape[2], image.shape[3]
        # pixels [xmin, ymin, xmax, ymax] -> fractions [ymin, xmin, ymax, xmax]
        boxes = ops.stack((bbox[..., 1] / height, bbox[..., 0] / width, bbox[..., 3] / height,
                           bbox[..., 2] / width), -1)
        target_offsets, classes = self.matcher(boxes, label.astype(ms.int32))
        matched = (classes > 0).astype(logits.dtype)
        count = ops.clamp(matched.sum(), min=1.0)

        target = ops.one_hot(classes, self.class_num, 1.0, 0.0).astype(logits.dtype)
        prob = ops.sigmoid(logits)
        cross_entropy = ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
        miss = prob + target - 2.0 * prob * target                 # 1 - p_t
        weight = self.alpha * target + (1.0 - self.alpha) * (1.0 - target)
        class_loss = (weight * ops.pow(miss, self.gamma) * cross_entropy).sum() / count

        error = ops.abs(offsets - target_offsets)
        smooth_l1 = ops.where(error < 1.0, 0.5 * error * error, error - 0.5).sum(-1)
        box_loss = (smooth_l1 * matched).sum() / count
        return class_loss + box_loss


class SSDBase(nn.Cell):
    """What every SSD-style network of the zoo shares: square inputs, decoding, the loss, the config.

    A subclass calls :meth:`_set_geometry` in its ``__init__`` and implements :meth:`raw_outputs`
    (calling :meth:`_check_input` first); this class gives it ``construct`` (boxes and sigmoid
    scores), ``with_loss`` (:class:`SSDWithLoss`) and a ``default_cfg`` that always describes the
    size the anchors are laid out for.
    """

    def _set_geometry(self, class_num, image_size, anchors, builder):
        """Store the checked ``class_num`` and ``image_size``, the ``anchors`` and their decoder."""
        self.class_num = positive_int(class_num, "class_num", 21)
        if self.class_num < 2:
            raise ValueError(f"class_num counts the background too and must be at least 2, got {class_num}; "
                             f"pass e.g. class_num=6 for 5 object classes")
        self.image_size = image_size
        self.num_channel = 3
        self.anchors = anchors
        self.decoder = _BoxDecoder(anchors)
        # built here: GRAPH mode raises a constant message
        self._size_error = (f"{type(self).__name__} was built for {image_size}x{image_size} inputs (its anchors "
                            f"are laid out for that size); resize the images, or build {builder}(image_size=...) "
                            f"for another size")

    def _check_input(self, x):
        if x.shape[2] != self.image_size or x.shape[3] != self.image_size:
            raise ValueError(self._size_error)

    # registry hook: the config's input shape is always the size the anchors are laid out for
    @property
    def default_cfg(self):
        """The network's :class:`~tinyms.model.ModelConfig`; its ``input_shape`` is (3, image_size, image_size)."""
        return self.__dict__.get("_default_cfg")

    @default_cfg.setter
    def default_cfg(self, cfg):
        if cfg is not None and tuple(cfg.input_shape[1:]) != (self.image_size, self.image_size):
            cfg = dataclasses.replace(cfg, input_shape=(cfg.input_shape[0], self.image_size, self.image_size))
        size = (self.image_size, self.image_size)
        if cfg is not None and cfg.recipe is not None and tuple(cfg.recipe.fixed_output_shape() or ())[-2:] != size:
            # the preprocessing that travels with the network makes the size its anchors are laid out for
            cfg = dataclasses.replace(cfg, recipe=detection_recipe(size=size, mean=tuple(cfg.mean), std=tuple(cfg.std)))
        self.__dict__["_default_cfg"] = cfg

    def with_loss(self, alpha=0.75, gamma=2.0, iou_threshold=0.5):
        """This network with its training loss, a Cell ``loss = cell(image, bbox, label)``.

        Args:
            alpha (float): focal loss weight of the targets that are 1. Default 0.75.
            gamma (float): focal loss focusing exponent. Default 2.
            iou_threshold (float): the IoU from which an anchor is matched to a box. Default 0.5.

        Returns:
            SSDWithLoss: sharing this network's parameters (see :class:`SSDWithLoss`).

        Example:
            >>> import numpy as np, mindspore as ms
            >>> from tinyms.model import ssd300_mobilenetv2
            >>> loss_net = ssd300_mobilenetv2(image_size=160).with_loss()
            >>> image = ms.Tensor(np.zeros((1, 3, 160, 160), np.float32))
            >>> bbox = ms.Tensor(np.array([[[40, 30, 120, 90]]], np.float32))
            >>> label = ms.Tensor(np.array([[4]], np.int32))
            >>> float(loss_net(image, bbox, label).asnumpy()) > 0
            True
        """
        return SSDWithLoss(self, alpha=alpha, gamma=gamma, iou_threshold=iou_threshold)

    def raw_outputs(self, x):
        """``(offsets, logits)``: float32 (B, A, 4) box offsets and (B, A, class_num) class logits."""
        raise NotImplementedError

    def construct(self, x):
        offsets, logits = self.raw_outputs(x)
        return self.decoder(offsets), ops.sigmoid(logits)


class SSDMobileNetV2(SSDBase):
    """SSD with a MobileNetV2 backbone, for square ``image_size`` x ``image_size`` RGB inputs.

    In inference mode (``set_train(False)``) ``net(image)`` returns ``(boxes, scores)``:
    ``boxes`` float32 (B, A, 4) [ymin, xmin, ymax, xmax] fractions of the input in [0, 1],
    decoded in the graph; ``scores`` float32 (B, A, class_num) sigmoid probabilities, column 0
    the background. The training mode returns the same (with batch statistics); training goes
    through :meth:`with_loss`.

    Args:
        class_num (int): outputs per anchor, the background included (21 for VOC's 20 classes).
        image_size (int): the input side in pixels (at least 64); the anchors are laid out for it.

    Attributes:
        anchors (numpy.ndarray): float32 (A, 4) [ymin, xmin, ymax, xmax], see :func:`ssd_anchors`.
        feature_sizes (tuple): the sides of the six detection maps (19, 10, 5, 3, 2, 1 at 300).

    Raises:
        ValueError: (when called) an input of another height or width than ``image_size``.
    """

    def __init__(self, class_num=21, image_size=300):
        super().__init__()
        image_size = _checked_size(image_size)
        self._set_geometry(class_num, image_size, ssd_anchors(image_size), "ssd300_mobilenetv2")
        self.feature_sizes = _feature_sizes(self.image_size)
        mobilenet = mindcv_models().mobilenetv2
        self.features = mobilenet.MobileNetV2(alpha=1.0, num_classes=1).features
        self.extras = nn.CellList([mobilenet.InvertedResidual(cin, cout, 2, expand_ratio=ratio)
                                   for cin, ratio, cout in _EXTRAS])
        per_location = [len(_anchor_shapes(layer)) for layer in range(_MAPS)]
        self.box_heads = nn.CellList([_separable_head(c, k * 4) for c, k in zip(_HEAD_CHANNELS, per_location)])
        self.class_heads = nn.CellList([_separable_head(c, k * self.class_num, _class_bias(k, self.class_num))
                                        for c, k in zip(_HEAD_CHANNELS, per_location)])

    def _maps(self, x):
        """The six detection maps of a batch."""
        f = self.features
        for i in range(16):                  # stem .. the last stride-16 block (96 channels)
            x = f[i](x)
        block = f[16].layers                 # the first stride-32 block, split after its expansion
        for i in range(3):
            x = block[i](x)
        first = x                            # 576 channels, stride 16
        for i in range(3, 8):
            x = block[i](x)
        for i in range(17, 23):              # the other stride-32 blocks and the 1280-channel conv
            x = f[i](x)
        maps = (first, x)
        for i in range(4):
            x = self.extras[i](x)
            maps = maps + (x,)
        return maps

    def raw_outputs(self, x):
        """``(offsets, logits)``: float32 (B, A, 4) box offsets and (B, A, class_num) class logits."""
        self._check_input(x)
        maps = self._maps(x)
        batch = x.shape[0]
        offsets, logits = (), ()
        for i in range(_MAPS):
            offsets = offsets + (self.box_heads[i](maps[i]).transpose(0, 2, 3, 1).reshape(batch, -1, 4),)
            logits = logits + (self.class_heads[i](maps[i]).transpose(0, 2, 3, 1).reshape(batch, -1, self.class_num),)
        return ops.concat(offsets, 1), ops.concat(logits, 1)


def _class_bias(per_location, class_num):
    """Initial class biases: probability 0.99 for background, 0.01 for each class (focal loss's prior)."""
    prior = np.full((per_location, class_num), _OBJECT_PRIOR)
    prior[:, 0] = _BACKGROUND_PRIOR
    return np.log(prior / (1 - prior)).reshape(-1).astype(np.float32)


def _separable_head(channels, outputs, bias=None):
    """Depthwise 3x3 convolution, batch norm, ReLU6, then a 1x1 convolution to ``outputs`` channels."""
    from mindspore.common.initializer import Normal  # noqa: PLC0415

    head = nn.SequentialCell([
        nn.Conv2d(channels, channels, 3, 1, pad_mode="pad", padding=1, group=channels, has_bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU6(),
        nn.Conv2d(channels, outputs, 1, 1, has_bias=True, weight_init=Normal(0.01),
                  bias_init=_constant(bias) if bias is not None else "zeros"),
    ])
    return head


_VOC = dataset_info("voc2007")


@register_model(
    task="detection",
    background=True,
    input_shape=(3, 300, 300),
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    labels=_VOC.labels,
    dataset="voc2007",
    transform="voc_transform",
    recipe=detection_recipe(size=(300, 300)),
    mindcv_weights=False,
)
def ssd300_mobilenetv2(class_num=21, is_training=True, image_size=300):
    """Build an SSD300 detector with a MobileNetV2 backbone for ``class_num - 1`` object classes.

    Args:
        class_num (int): outputs per anchor, counting the background class at column 0 (TinyMS
            0.3's convention). Default 21: VOC's 20 classes and the background.
        is_training (bool): the network's initial mode (``set_train(is_training)``). The
            weights and their names are the same either way, so a checkpoint saved while
            training loads into a network built with ``is_training=False``.
        image_size (int): the square input side in pixels, at least 64 (e.g. 160, 192, 224,
            256, 300); the anchors are laid out for the detection maps of that size. Default 300.

    Returns:
        SSDMobileNetV2: an untrained network; ``net(image)`` gives ``(boxes, scores)``,
        ``net.with_loss()`` its training cell, ``net.anchors`` its anchors; its ``default_cfg``
        carries the VOC labels and the ImageNet normalisation.

    Raises:
        TypeError: a non-integer size or a non-boolean ``is_training``.
        ValueError: ``class_num`` below 2 or ``image_size`` below 64.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> from tinyms.model import ssd300_mobilenetv2
        >>> net = ssd300_mobilenetv2(image_size=160, is_training=False)
        >>> boxes, scores = net(ms.Tensor(np.zeros((1, 3, 160, 160), np.float32)))
        >>> boxes.shape, scores.shape, net.default_cfg.input_shape
        ((1, 540, 4), (1, 540, 21), (3, 160, 160))
    """
    if not isinstance(is_training, bool):
        raise TypeError(f"is_training must be True or False, got {is_training!r}")
    net = SSDMobileNetV2(class_num=class_num, image_size=image_size)
    net.set_train(is_training)
    return net
