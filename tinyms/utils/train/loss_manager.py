"""MindSpore's loss scale managers under TinyMS 0.3's path (``Model.compile(loss_scale_manager=...)``)."""

from mindspore.amp import DynamicLossScaleManager, FixedLossScaleManager, LossScaleManager

__all__ = ["LossScaleManager", "FixedLossScaleManager", "DynamicLossScaleManager"]
