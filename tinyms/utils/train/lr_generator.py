"""TinyMS 0.3's learning-rate generators; they live in :mod:`tinyms.optimizers`."""

from ...optimizers import mobilenetv2_lr, step_decay_lr, warmup_cosine_lr

__all__ = ["mobilenetv2_lr", "warmup_cosine_lr", "step_decay_lr"]
