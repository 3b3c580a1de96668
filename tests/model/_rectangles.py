"""Shared by the SSD tests: GRAPH mode, box IoU, photos of white rectangles on black, one Adam step."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    """TinyMS's default mode, in which detection must train; the previous mode comes back after."""
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=mode)


def iou(a, b):
    """IoU of [ymin, xmin, ymax, xmax] boxes ``a`` (N, 4) and ``b`` (4,)."""
    high, low = np.minimum(a[:, 2:], b[2:]), np.maximum(a[:, :2], b[:2])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    return inter / (np.prod(a[:, 2:] - a[:, :2], axis=1) + np.prod(b[2:] - b[:2]) - inter)


def rectangles(size, corners, label):
    """Square ``size`` photos, one white rectangle each at ``corners`` [xmin, ymin, xmax, ymax] pixels.

    Returns the ImageNet-normalised images (N, 3, size, size), their boxes (N, 3, 4) in pixels and
    labels (N, 3), each padded with two empty rows (label -1).
    """
    image = np.zeros((len(corners), 3, size, size), np.float32)
    bbox = np.zeros((len(corners), 3, 4), np.float32)
    labels = np.full((len(corners), 3), -1, np.int32)
    for i, (x0, y0, x1, y1) in enumerate(corners):
        image[i, :, y0:y1, x0:x1] = 1.0
        bbox[i, 0], labels[i, 0] = (x0, y0, x1, y1), label
    return (image - MEAN) / STD, bbox, labels


class Step(nn.Cell):
    """One optimizer step on the loss; its construct names the three data-contract columns."""

    def __init__(self, loss_net, optimizer):
        super().__init__(auto_prefix=False)
        self.loss_net, self.optimizer = loss_net, optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True)

    def construct(self, image, bbox, label):
        loss = self.loss_net(image, bbox, label)
        return ops.depend(loss, self.optimizer(self.grad(self.loss_net, self.weights)(image, bbox, label)))
