"""Loss functions. ``Model.compile(loss_fn=...)`` takes an instance or one of the names in
:data:`LOSSES`.

Example:
    >>> from tinyms.losses import SoftmaxCrossEntropyWithLogits
    >>> loss = SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
"""

from mindspore import nn as _nn

from ._cyclegan_losses import CycleGANDiscriminatorLoss, CycleGANGeneratorLoss
from ._names import lookup

_CLASSES = [
    "SoftmaxCrossEntropyWithLogits", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "MSELoss", "L1Loss", "MAELoss", "RMSELoss", "SmoothL1Loss", "HuberLoss", "FocalLoss",
    "KLDivLoss", "CosineEmbeddingLoss", "DiceLoss", "MultiClassDiceLoss", "CTCLoss", "LossBase",
]
globals().update({name: getattr(_nn, name) for name in _CLASSES})



class _SparseCrossEntropy(_nn.LossBase):
    """Mean softmax cross-entropy of logits against class indices, finite for any finite logits.

    MindSpore 2.10's ``SoftmaxCrossEntropyWithLogits(sparse=True)`` gives ``inf`` on CPU once the
    true class's logit is about 88 below the largest (its softmax underflows before the log),
    although its gradient stays right: a confidently wrong sample then reads as a diverged
    training or an infinite validation loss. The dense kernel against one-hot targets computes
    the same loss stably (logits 1000 apart: loss 1000, not inf).
    """

    def __init__(self):
        super().__init__()
        from mindspore import Tensor, ops  # noqa: PLC0415
        import mindspore as ms  # noqa: PLC0415

        self.sparse = True  # takes class indices (Model casts integer labels to int32 for it)
        self._one_hot = ops.OneHot()
        self._on, self._off = Tensor(1.0, ms.float32), Tensor(0.0, ms.float32)
        self._cross_entropy = _nn.SoftmaxCrossEntropyWithLogits(sparse=False, reduction="mean")

    def construct(self, logits, label):
        return self._cross_entropy(logits, self._one_hot(label, logits.shape[-1], self._on, self._off))


#: Plain names accepted by ``Model.compile(loss_fn=...)`` and what each builds. Integer class
#: labels are expected by the classification losses.
LOSSES = {
    "cross_entropy": _SparseCrossEntropy,
    "sparse_categorical_crossentropy": _SparseCrossEntropy,
    "binary_cross_entropy": lambda: _nn.BCEWithLogitsLoss(),
    "mse": lambda: _nn.MSELoss(),
    "mae": lambda: _nn.L1Loss(),
    "smooth_l1": lambda: _nn.SmoothL1Loss(),
    "huber": lambda: _nn.HuberLoss(),
}


class CrossEntropyWithLabelSmooth(_nn.LossBase):
    """Softmax cross-entropy against label-smoothed targets (TinyMS 0.3's loss of this name).

    For a sample of class ``y`` the target gives ``1 - smooth_factor`` to ``y`` and spreads
    ``smooth_factor`` evenly over the other ``num_classes - 1`` classes; the loss is the mean
    over the batch. Labels are class indices, as for ``"cross_entropy"``.

    Args:
        smooth_factor (float): the probability mass moved off the true class, in [0, 1).
            Default 0 (plain cross-entropy).
        num_classes (int): number of classes, at least 2. Default 1000.

    Raises:
        ValueError: ``smooth_factor`` outside [0, 1) or ``num_classes`` below 2.

    Example:
        >>> from tinyms.losses import CrossEntropyWithLabelSmooth
        >>> loss = CrossEntropyWithLabelSmooth(smooth_factor=0.1, num_classes=10)
    """

    def __init__(self, smooth_factor=0.0, num_classes=1000):
        super().__init__()
        from mindspore import Tensor, ops  # noqa: PLC0415
        import mindspore as ms  # noqa: PLC0415

        smooth_factor = float(smooth_factor)
        if not 0.0 <= smooth_factor < 1.0:
            raise ValueError(f"smooth_factor must be in [0, 1), got {smooth_factor}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
        self.smooth_factor, self.num_classes = smooth_factor, num_classes
        self.sparse = True  # takes class indices (Model casts integer labels to int32 for it)
        self._on = Tensor(1.0 - smooth_factor, ms.float32)
        self._off = Tensor(smooth_factor / (num_classes - 1), ms.float32)
        self._one_hot = ops.OneHot()
        self._cross_entropy = _nn.SoftmaxCrossEntropyWithLogits(sparse=False, reduction="mean")

    def construct(self, logits, label):
        target = self._one_hot(label, self.num_classes, self._on, self._off)
        return self._cross_entropy(logits, target)


def net_with_loss(net):
    """The training cell of a network that carries its own loss (TinyMS 0.3's name).

    Detectors such as :func:`~tinyms.model.ssd300_mobilenetv2` match their targets to their
    outputs in a loss of their own; ``net_with_loss(net)`` returns ``net.with_loss()``, a Cell
    called with the network's input and the batch's target columns (for detection
    ``loss_cell(image, bbox, label)``) that returns the scalar loss.

    Args:
        net (Cell): a network with a ``with_loss()`` method.

    Returns:
        Cell: the network with its loss, sharing the network's parameters.

    Raises:
        TypeError: ``net`` has no loss of its own (no ``with_loss()`` method).

    Example:
        >>> from tinyms.losses import net_with_loss
        >>> from tinyms.model import ssd300_mobilenetv2
        >>> loss_cell = net_with_loss(ssd300_mobilenetv2(image_size=160))
        >>> type(loss_cell).__name__
        'SSDWithLoss'
    """
    with_loss = getattr(net, "with_loss", None)
    if not callable(with_loss):
        raise TypeError(f"{type(net).__name__} has no loss of its own (no with_loss() method): pair it with a "
                        f"loss instead, e.g. Model(net).compile(loss_fn='cross_entropy', optimizer='adam') or "
                        f"mindspore.nn.WithLossCell(net, loss)")
    return with_loss()


def get(loss):
    """Return a loss instance for a name in :data:`LOSSES`, or ``loss`` itself if it is one.

    Raises:
        UnknownNameError: an unknown name; the message lists the valid ones.
    """
    if isinstance(loss, str):
        return lookup(LOSSES, loss, "loss")()
    return loss


# get() is Model.compile's helper, not exported
__all__ = _CLASSES + ["CrossEntropyWithLabelSmooth", "LOSSES", "net_with_loss", "CycleGANGeneratorLoss",
                      "CycleGANDiscriminatorLoss"]
