"""Models: the high-level :class:`Model` API and the model zoo."""

from .registry import ModelConfig, create_model, list_models, model_config
from .zoo import LeNet5, lenet5

__all__ = ["ModelConfig", "create_model", "list_models", "model_config", "LeNet5", "lenet5"]
