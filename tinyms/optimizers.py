"""Optimizers. ``Model.compile(optimizer=...)`` takes an instance or one of the names in
:data:`OPTIMIZERS` together with ``learning_rate=``.

Example:
    >>> from tinyms.model import lenet5
    >>> from tinyms.optimizers import Momentum
    >>> net = lenet5()
    >>> opt = Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9)
"""

import math

from mindspore import nn as _nn

from ._names import lookup

_CLASSES = ["Optimizer", "Momentum", "SGD", "Adam", "AdamWeightDecay", "Adagrad", "Adadelta",
            "AdaMax", "RMSProp", "LARS", "Lamb", "LazyAdam", "FTRL", "ProximalAdagrad", "Rprop", "ASGD"]
_SCHEDULES = ["CosineDecayLR", "ExponentialDecayLR", "InverseDecayLR", "NaturalExpDecayLR",
              "PolynomialDecayLR", "WarmUpLR", "cosine_decay_lr", "exponential_decay_lr",
              "inverse_decay_lr", "natural_exp_decay_lr", "piecewise_constant_lr",
              "polynomial_decay_lr", "warmup_lr"]
globals().update({name: getattr(_nn, name) for name in _CLASSES + _SCHEDULES})

#: Plain names accepted by ``Model.compile(optimizer=...)``: (builder, default learning rate).
OPTIMIZERS = {
    "momentum": (lambda params, lr: _nn.Momentum(params, learning_rate=lr, momentum=0.9), 0.01),
    "sgd": (lambda params, lr: _nn.SGD(params, learning_rate=lr), 0.01),
    "adam": (lambda params, lr: _nn.Adam(params, learning_rate=lr), 0.001),
    "adamw": (lambda params, lr: _nn.AdamWeightDecay(params, learning_rate=lr, weight_decay=0.01), 0.001),
    "rmsprop": (lambda params, lr: _nn.RMSProp(params, learning_rate=lr), 0.001),
    "adagrad": (lambda params, lr: _nn.Adagrad(params, learning_rate=lr), 0.01),
}


def warmup_cosine_lr(peak_lr, total_steps, warmup_steps=0, final_lr=0.0):
    """A per-step learning-rate list: linear warm-up to ``peak_lr``, then cosine decay to ``final_lr``.

    Pass the list as an optimizer's ``learning_rate``; step i of training uses entry i.

    Args:
        peak_lr (float): the highest learning rate, reached after ``warmup_steps``.
        total_steps (int): number of training steps (batches per epoch x epochs).
        warmup_steps (int): steps of linear increase from ``peak_lr / warmup_steps``.
        final_lr (float): the learning rate the decay ends at.

    Returns:
        list[float]: ``total_steps`` learning rates.

    Raises:
        ValueError: non-positive ``peak_lr`` or ``total_steps``, or ``warmup_steps`` outside
            ``[0, total_steps)``.

    Example:
        >>> from tinyms.optimizers import warmup_cosine_lr
        >>> lrs = warmup_cosine_lr(0.002, total_steps=10, warmup_steps=2)
        >>> [round(x, 4) for x in lrs[:3]], lrs[-1] < 1e-4
        ([0.001, 0.002, 0.002], True)
    """
    if not peak_lr > 0 or not total_steps >= 1:
        raise ValueError(f"peak_lr and total_steps must be positive, got {peak_lr!r} and {total_steps!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in [0, total_steps), got {warmup_steps!r}")
    decay_steps = total_steps - warmup_steps
    lrs = [peak_lr * (i + 1) / warmup_steps for i in range(warmup_steps)]
    for i in range(decay_steps):
        cos = 0.5 * (1.0 + math.cos(math.pi * i / decay_steps))
        lrs.append(final_lr + (peak_lr - final_lr) * cos)
    return lrs


def get(optimizer, params, learning_rate=None):
    """Return an optimizer over ``params`` for a name in :data:`OPTIMIZERS`, or ``optimizer`` itself.

    Args:
        optimizer (str or Optimizer): a name or a ready optimizer instance.
        params: the parameters to train (``net.trainable_params()``).
        learning_rate (float): used with a name; the optimizer's usual default when None.

    Raises:
        UnknownNameError: an unknown name; the message lists the valid ones.
        ValueError: a learning rate that is not a positive number.
    """
    if not isinstance(optimizer, str):
        return optimizer
    build, default_lr = lookup(OPTIMIZERS, optimizer, "optimizer")
    lr = default_lr if learning_rate is None else learning_rate
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {lr!r}")
    return build(params, float(lr))


__all__ = _CLASSES + _SCHEDULES + ["OPTIMIZERS", "warmup_cosine_lr"]  # get() is Model.compile's helper
