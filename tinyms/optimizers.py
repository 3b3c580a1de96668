"""Optimizers. ``Model.compile(optimizer=...)`` takes an instance or one of the names in
:data:`OPTIMIZERS` together with ``learning_rate=``.

Example:
    >>> from tinyms.model import lenet5
    >>> from tinyms.optimizers import Momentum
    >>> net = lenet5()
    >>> opt = Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9)
"""

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


__all__ = _CLASSES + _SCHEDULES + ["OPTIMIZERS", "get"]
