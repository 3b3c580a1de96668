"""The state a training run needs to continue exactly where it stopped.

A :class:`TrainState` travels inside every checkpoint TinyMS writes during or after training
(``Model.save_checkpoint`` and the ``tinyms.callbacks.ModelCheckpoint`` files) as one JSON
string entry, ``tinyms_train_state``, beside the network's weights and the optimizer's slots
(moments, ``global_step``, the learning-rate schedule...). Loading a file for inference ignores
it; ``Model.train(..., resume_from=path)`` reads it.
"""

import json
from dataclasses import asdict, dataclass, field

from .._jsonread import loads

__all__ = ["TrainState", "STATE_KEY", "state_from_entries", "state_json"]

STATE_KEY = "tinyms_train_state"
_VERSION = 1


@dataclass
class TrainState:
    """Where a training run is: counters, data position and random generator states.

    Attributes:
        step (int): optimizer steps done (the global step; MindSpore callbacks' ``cur_step_num``).
        steps_per_epoch (int): steps in one epoch of the run (None before training).
        data_step (int): batches drawn from the training pipeline since it started; a resumed
            run starts its pipeline there.
        data_seed (int): the dataset pipeline's seed when the run's pipeline started (None:
            unseeded, so the shuffle order cannot be replayed).
        rng (dict): Python, NumPy and MindSpore generator states at the moment of saving.

    Example:
        >>> s = TrainState(step=25, steps_per_epoch=10)
        >>> s.epoch, s.step_in_epoch
        (2, 5)
    """

    step: int = 0
    steps_per_epoch: int = None
    data_step: int = 0
    data_seed: int = None
    rng: dict = field(default_factory=dict)

    @property
    def epoch(self):
        """Epochs completed."""
        return self.step // self.steps_per_epoch if self.steps_per_epoch else 0

    @property
    def step_in_epoch(self):
        """Steps done in the epoch in progress (0 at an epoch boundary)."""
        return self.step % self.steps_per_epoch if self.steps_per_epoch else self.step

    def to_json(self, with_rng=True):
        """The state as the JSON text stored in a checkpoint (generator states captured now)."""
        from .._seed import rng_state

        data = asdict(self)
        data["version"] = _VERSION
        data["epoch"] = self.epoch
        data["rng"] = rng_state() if with_rng else {}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text):
        data = loads(text, "a checkpoint's train state")
        return cls(step=int(data.get("step", 0)), steps_per_epoch=data.get("steps_per_epoch"),
                   data_step=int(data.get("data_step", data.get("step", 0))),
                   data_seed=data.get("data_seed"), rng=data.get("rng") or {})


def state_from_entries(params):
    """The :class:`TrainState` a checkpoint's entries carry, or None.

    TinyMS files carry ``tinyms_train_state``. For other files (``mindspore.train.ModelCheckpoint``)
    the step comes from ``step_num`` (``append_info``) or else the optimizer's ``global_step``,
    and the generator states are unknown.
    """
    value = params.get(STATE_KEY)
    if isinstance(value, str):
        return TrainState.from_json(value)
    for name in ("step_num", "global_step"):
        entry = params.get(name)
        if entry is not None:
            step = int(entry.asnumpy().reshape(-1)[0]) if hasattr(entry, "asnumpy") else int(entry)
            return TrainState(step=step, data_step=step)
    return None


def _field(params, name):
    try:  # MindSpore's InternalCallbackParam raises KeyError for a field never set
        return getattr(params, name)
    except (AttributeError, KeyError):
        return None


def state_json(cb_params):
    """The ``tinyms_train_state`` text for a checkpoint written by a callback now.

    Inside ``tinyms.model.Model.train`` the run's own TrainState is used; under another trainer
    (``mindspore.train.Model``) the state is built from the callback fields (step, steps per epoch).
    """
    state = _field(cb_params, "train_state")
    if not isinstance(state, TrainState):
        from .._seed import dataset_seed

        step = int(_field(cb_params, "cur_step_num") or 0)
        state = TrainState(step=step, steps_per_epoch=_field(cb_params, "batch_num"), data_step=step,
                           data_seed=dataset_seed())
    return state.to_json()
