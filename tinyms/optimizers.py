"""Optimizers. ``Model.compile(optimizer=...)`` takes an instance or one of the names in
:data:`OPTIMIZERS` together with ``learning_rate=``.

Example:
    >>> from tinyms.model import lenet5
    >>> from tinyms.optimizers import Momentum
    >>> net = lenet5()
    >>> opt = Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9)
"""

import math
import numbers

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
    lrs = _warmup("peak_lr", peak_lr, total_steps, warmup_steps)
    decay_steps = total_steps - warmup_steps
    for i in range(decay_steps):
        cos = 0.5 * (1.0 + math.cos(math.pi * i / decay_steps))
        lrs.append(final_lr + (peak_lr - final_lr) * cos)
    return lrs


def mobilenetv2_lr(global_step, lr_init, lr_end, lr_max, warmup_epochs, total_epochs, steps_per_epoch):
    """TinyMS 0.3's MobileNetV2 schedule: linear warm-up from ``lr_init`` to ``lr_max``, then a
    cosine fall to ``lr_end``, one rate per step, from step ``global_step`` on.

    Args:
        global_step (int): the first step to return (0 for a new run; the step reached when
            continuing one).
        lr_init (float): the rate of step 0.
        lr_end (float): the rate the cosine ends at.
        lr_max (float): the rate reached at the end of the warm-up.
        warmup_epochs (int): epochs of linear warm-up (0 for none). A warm-up as long as
            training or longer leaves only rising rates (as TinyMS 0.3 did: its SSD script
            warms up for 2 epochs, also when run for 1).
        total_epochs (int): epochs of training.
        steps_per_epoch (int): batches per epoch, ``dataset.get_dataset_size()``.

    Returns:
        Tensor: float32 rates of steps ``global_step`` to ``total_epochs * steps_per_epoch - 1``,
        to pass as an optimizer's ``learning_rate`` (negative values clipped to 0).

    Raises:
        TypeError: a count that is not an integer.
        ValueError: a negative count, or no training steps.

    Example:
        >>> from tinyms.optimizers import mobilenetv2_lr
        >>> lr = mobilenetv2_lr(0, 1e-5, 1e-5, 1e-3, warmup_epochs=2, total_epochs=10, steps_per_epoch=100)
        >>> lr.shape
        (1000,)
    """
    import numpy as np  # noqa: PLC0415
    from mindspore import Tensor, float32  # noqa: PLC0415

    from ._checks import non_negative_int  # noqa: PLC0415

    global_step, warmup_epochs, total_epochs, steps_per_epoch = (
        non_negative_int(value, name) for name, value in (
            ("global_step", global_step), ("warmup_epochs", warmup_epochs),
            ("total_epochs", total_epochs), ("steps_per_epoch", steps_per_epoch)))
    total, warmup = total_epochs * steps_per_epoch, warmup_epochs * steps_per_epoch
    if total == 0:
        raise ValueError(f"training has no steps ({total_epochs} epochs of {steps_per_epoch} steps); "
                         f"pass total_epochs and steps_per_epoch of at least 1")
    step = np.arange(total, dtype=np.float64)
    rising = lr_init + (lr_max - lr_init) * step / max(warmup, 1)
    falling = lr_end + (lr_max - lr_end) * (1.0 + np.cos(np.pi * (step - warmup) / max(total - warmup, 1))) / 2.0
    rates = np.maximum(np.where(step < warmup, rising, falling), 0.0)
    return Tensor(rates[global_step:].astype(np.float32), float32)


def step_decay_lr(base_lr, total_steps, milestones, gamma=0.1, warmup_steps=0):
    """A per-step learning-rate list: optional linear warm-up, then ``base_lr`` multiplied by
    ``gamma`` at every milestone (the classic ImageNet schedule: x0.1 at 30, 60 and 80 % of training).

    Pass the list as an optimizer's ``learning_rate``; step i of training uses entry i.

    Args:
        base_lr (float): the learning rate after warm-up and before the first milestone.
        total_steps (int): number of training steps (batches per epoch x epochs).
        milestones (list[int]): increasing step indices, each in ``(warmup_steps, total_steps)``;
            from step ``milestones[k]`` on, the rate is ``base_lr * gamma ** (k + 1)``.
        gamma (float): the factor applied at each milestone, in (0, 1].
        warmup_steps (int): steps of linear increase from ``base_lr / warmup_steps``.

    Returns:
        list[float]: ``total_steps`` learning rates.

    Raises:
        ValueError: non-positive ``base_lr`` or ``total_steps``, ``warmup_steps`` outside
            ``[0, total_steps)``, ``gamma`` outside (0, 1], or milestones that are not increasing
            integers inside ``(warmup_steps, total_steps)``.

    Example:
        >>> from tinyms.optimizers import step_decay_lr
        >>> steps_per_epoch = 2
        >>> lrs = step_decay_lr(0.1, total_steps=6 * steps_per_epoch, milestones=[4, 8])
        >>> [round(x, 4) for x in lrs[::steps_per_epoch]]
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    """
    lrs = _warmup("base_lr", base_lr, total_steps, warmup_steps)
    milestones = list(milestones)
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    bounds = [warmup_steps, *milestones, total_steps]
    if any(isinstance(m, bool) or not isinstance(m, numbers.Integral) for m in milestones) or any(
            a >= b for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"milestones must be increasing step indices between warmup_steps ({warmup_steps}) "
                         f"and total_steps ({total_steps}), exclusive; got {milestones!r}")
    for k, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        lrs += [base_lr * gamma ** k] * (stop - start)
    return lrs


def _warmup(name, peak, total_steps, warmup_steps):
    """Check a schedule's common arguments; return its linear warm-up (``warmup_steps`` rates)."""
    if not peak > 0 or not total_steps >= 1:
        raise ValueError(f"{name} and total_steps must be positive, got {peak!r} and {total_steps!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in [0, total_steps), got {warmup_steps!r}")
    return [peak * (i + 1) / warmup_steps for i in range(warmup_steps)]


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


__all__ = _CLASSES + _SCHEDULES + ["OPTIMIZERS", "warmup_cosine_lr", "step_decay_lr", "mobilenetv2_lr"]  # get() is Model.compile's helper
