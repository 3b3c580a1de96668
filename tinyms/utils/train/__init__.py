"""TinyMS 0.3's ``tinyms.utils.train``, re-exported for scripts written for it.

As in 0.3 it holds MindSpore's ``mindspore.train`` names (``load_checkpoint``,
``load_param_into_net``..., with MindSpore's own behaviour: ``load_param_into_net`` reports the
names it did not load instead of refusing them; TinyMS's checked loading is
``Model.load_checkpoint`` and ``tinyms.model.load``), the per-family callback sets
(:mod:`.cb_config`), the learning-rate generators (:mod:`.lr_generator`) and MindSpore's loss
scale managers (:mod:`.loss_manager`).
"""

from mindspore.train import *  # noqa: F403 - the 0.3 module re-exported mindspore.train as a whole
from mindspore.train import __all__ as _MINDSPORE_TRAIN

from . import cb_config, loss_manager, lr_generator
from .cb_config import *  # noqa: F403
from .loss_manager import *  # noqa: F403
from .lr_generator import *  # noqa: F403

__all__ = sorted(set(_MINDSPORE_TRAIN) | set(cb_config.__all__) | set(lr_generator.__all__)
                 | set(loss_manager.__all__))
