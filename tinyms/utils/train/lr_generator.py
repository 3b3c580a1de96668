"""TinyMS 0.3's learning-rate generators; they live in :mod:`tinyms.optimizers` (``cyclegan_lr`` in
:mod:`tinyms.model.zoo.cycle_gan`)."""

from ...model.zoo.cycle_gan import cyclegan_lr
from ...optimizers import mobilenetv2_lr, step_decay_lr, warmup_cosine_lr

__all__ = ["mobilenetv2_lr", "warmup_cosine_lr", "step_decay_lr", "cyclegan_lr"]
