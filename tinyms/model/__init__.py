"""Models: the high-level :class:`Model` API and the model zoo.

Example:
    >>> from tinyms.model import Model, lenet5, list_models
    >>> "lenet5" in list_models()
    True
    >>> model = Model(lenet5(class_num=10))
    >>> model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"])
"""

from .history import History
from .model import Model, load
from .registry import ModelConfig, create_model, list_models, model_config, register_weights
from .zoo import LeNet5, lenet5

__all__ = ["Model", "History", "load", "ModelConfig", "create_model", "list_models", "model_config", "register_weights",
           "LeNet5", "lenet5"]
