"""TinyMS 0.3's ``tinyms.model.cycle_gan`` package path, kept so its CycleGAN scripts import unchanged.

The networks live in :mod:`tinyms.model.zoo.cycle_gan`; :mod:`.cycle_gan` adds 0.3's hand-written
train-step cells :class:`~.cycle_gan.TrainOneStepG` and :class:`~.cycle_gan.TrainOneStepD`.
"""

from .cycle_gan import (TrainOneStepD, TrainOneStepG, cycle_gan, cycle_gan_infer,  # noqa: F401
                        get_generator_discriminator)

__all__ = ["get_generator_discriminator", "cycle_gan", "cycle_gan_infer", "TrainOneStepG", "TrainOneStepD"]
