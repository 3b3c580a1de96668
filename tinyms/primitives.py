"""Tensor operations: operator classes (``Add()``) and functions (``tensor_add(x, y)``).

Operator classes are instantiated once and called like functions, which is how they are used
inside a ``Layer.construct``; the lower-case functions can be called directly.

One name is one thing across TinyMS: the activations that ``tinyms.layers`` also offers
(``ReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``LogSoftmax``) are the same classes here as
there (they are called the same way), and dropout is ``tinyms.layers.Dropout`` (a layer that
knows training from inference) or the function ``dropout`` here.

Example:
    >>> import tinyms as ts
    >>> from tinyms.primitives import Add, tensor_add
    >>> x = ts.array([1.0, 2.0])
    >>> Add()(x, x).asnumpy().tolist(), tensor_add(x, x).asnumpy().tolist()
    ([2.0, 4.0], [2.0, 4.0])
"""

from mindspore import nn as _nn

from . import _numpy
from mindspore import ops as _ops

_CLASSES = [
    "Add", "Sub", "Mul", "Div", "RealDiv", "MatMul", "BatchMatMul", "Pow", "Sqrt", "Exp", "Log",
    "Abs", "Neg", "Maximum", "Minimum", "Equal", "Greater", "Less", "Cast", "Reshape",
    "Transpose", "Concat", "Stack", "Squeeze", "ExpandDims", "Tile", "Gather", "OneHot",
    "ReduceSum", "ReduceMean", "ReduceMax",
    "Argmax", "Argmin", "Shape", "Fill", "ZerosLike", "OnesLike", "Conv2D", "MaxPool", "AvgPool",
    "BiasAdd", "L2Normalize", "GradOperation", "Print", "DType", "HyperMap",
]
_FUNCTIONS = [
    "tensor_add", "add", "sub", "mul", "div", "matmul", "pow", "sqrt", "exp", "log", "abs",
    "maximum", "minimum", "cast", "reshape", "transpose", "concat", "stack", "squeeze",
    "expand_dims", "tile", "gather", "one_hot", "softmax", "log_softmax", "relu", "sigmoid",
    "tanh", "argmax", "argmin", "shape", "fill", "zeros_like", "ones_like", "clip_by_value",
    "grad", "value_and_grad", "stop_gradient", "depend", "dropout",
]
# Shared with tinyms.layers: the very same classes, so each name means one thing.
_FROM_LAYERS = ["ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"]

globals().update({name: getattr(_ops, name) for name in _CLASSES + _FUNCTIONS})
# Functions that tinyms itself offers numpy-style (tinyms.reshape, tinyms.exp...) are those same
# functions here, so ``tinyms.primitives.reshape is tinyms.reshape``.
globals().update({name: _numpy.function(name) for name in _FUNCTIONS if name in _numpy.__all__})
globals().update({name: getattr(_nn, name) for name in _FROM_LAYERS})

__all__ = _CLASSES + _FROM_LAYERS + _FUNCTIONS
