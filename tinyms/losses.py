"""Loss functions. ``Model.compile(loss_fn=...)`` takes an instance or one of the names in
:data:`LOSSES`.

Example:
    >>> from tinyms.losses import SoftmaxCrossEntropyWithLogits
    >>> loss = SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
"""

from mindspore import nn as _nn

from ._names import lookup

_CLASSES = [
    "SoftmaxCrossEntropyWithLogits", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "MSELoss", "L1Loss", "MAELoss", "RMSELoss", "SmoothL1Loss", "HuberLoss", "FocalLoss",
    "KLDivLoss", "CosineEmbeddingLoss", "DiceLoss", "MultiClassDiceLoss", "CTCLoss", "LossBase",
]
globals().update({name: getattr(_nn, name) for name in _CLASSES})

#: Plain names accepted by ``Model.compile(loss_fn=...)`` and what each builds. Integer class
#: labels are expected by the classification losses.
LOSSES = {
    "cross_entropy": lambda: _nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
    "sparse_categorical_crossentropy": lambda: _nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
    "binary_cross_entropy": lambda: _nn.BCEWithLogitsLoss(),
    "mse": lambda: _nn.MSELoss(),
    "mae": lambda: _nn.L1Loss(),
    "smooth_l1": lambda: _nn.SmoothL1Loss(),
    "huber": lambda: _nn.HuberLoss(),
}


def get(loss):
    """Return a loss instance for a name in :data:`LOSSES`, or ``loss`` itself if it is one.

    Raises:
        UnknownNameError: an unknown name; the message lists the valid ones.
    """
    if isinstance(loss, str):
        return lookup(LOSSES, loss, "loss")()
    return loss


__all__ = _CLASSES + ["LOSSES"]  # get() is Model.compile's helper, not exported
