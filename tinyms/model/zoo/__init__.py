"""The model zoo: one module per network family. Importing it registers every model."""

from .lenet import LeNet5, lenet5

__all__ = ["LeNet5", "lenet5"]
