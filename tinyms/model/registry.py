"""The model zoo registry: every network family registers its builders here.

Each registered builder carries a :class:`ModelConfig` (input shape, normalisation, labels,
matching dataset and transform), so preprocessing at inference time is read from the same
place as at training time and cannot drift.
"""

import dataclasses
import functools

from .._names import lookup

__all__ = ["ModelConfig", "register_model", "list_models", "create_model", "model_config"]

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What a zoo model expects and produces.

    Attributes:
        name: registry name, e.g. ``"lenet5"``.
        input_shape: one sample's shape, channels first, e.g. ``(1, 32, 32)``.
        mean, std: per-channel normalisation applied after rescaling pixels to [0, 1].
        labels: class names, index i names output i.
        dataset: the dataset the defaults fit (``"mnist"``...).
        transform: name of the ``tinyms.vision`` preset that prepares inputs.
        recipe: that preset's :class:`~tinyms.vision.Recipe` (training and evaluation steps), the
            value that travels into ``servable.json`` so serving prepares images as training did.
    """

    name: str
    input_shape: tuple
    mean: tuple
    std: tuple
    labels: tuple
    dataset: str = ""
    transform: str = ""
    recipe: object = None

    def with_classes(self, class_num):
        """This config for a network with ``class_num`` outputs (labels become '0'...'n-1' if resized)."""
        if class_num == len(self.labels):
            return self
        return dataclasses.replace(self, labels=tuple(str(i) for i in range(class_num)))

    def with_channels(self, channels):
        """This config for a network taking ``channels`` input channels.

        With another channel count than the defaults were made for, the dataset statistics,
        preset and recipe no longer apply and are cleared (pass your own transform).
        """
        if channels == self.input_shape[0]:
            return self
        return dataclasses.replace(self, input_shape=(channels, *self.input_shape[1:]), mean=(), std=(),
                                   dataset="", transform="", recipe=None)


def register_model(**cfg):
    """Decorator registering a builder ``fn(class_num=..., ...) -> Layer`` under ``fn.__name__``."""
    def decorate(fn):
        config = ModelConfig(name=fn.__name__, **cfg)

        @functools.wraps(fn)
        def build(*args, **kwargs):
            net = fn(*args, **kwargs)
            cfg = config.with_classes(getattr(net, "class_num", len(config.labels)))
            net.default_cfg = cfg.with_channels(getattr(net, "num_channel", cfg.input_shape[0]))
            return net

        build.default_cfg = config
        _REGISTRY[fn.__name__] = build
        return build
    return decorate


def list_models():
    """Names of every network in the zoo, sorted.

    Example:
        >>> from tinyms.model import list_models
        >>> "lenet5" in list_models()
        True
    """
    return sorted(_REGISTRY)


def create_model(name, **kwargs):
    """Build the zoo network ``name`` with builder options such as ``class_num``.

    Raises:
        UnknownNameError: ``name`` is not in the zoo; the message lists the valid names.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("lenet5", class_num=10)
    """
    return lookup(_REGISTRY, name, "model")(**kwargs)


def model_config(name):
    """The :class:`ModelConfig` of zoo network ``name``."""
    return lookup(_REGISTRY, name, "model").default_cfg
