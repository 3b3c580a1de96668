"""Network building blocks. ``Layer`` is the base class of every network in TinyMS.

A ``Layer`` is a MindSpore ``nn.Cell``: define the sub-layers in ``__init__`` and the
forward computation in ``construct``.

Example:
    >>> from tinyms.layers import Layer, Conv2d, Dense, Flatten, ReLU, SequentialLayer
    >>> class Tiny(Layer):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.body = SequentialLayer([Conv2d(1, 4, 3), ReLU(), Flatten(), Dense(4 * 8 * 8, 10)])
    ...     def construct(self, x):
    ...         return self.body(x)
"""

from mindspore import nn as _nn

Layer = _nn.Cell
SequentialLayer = _nn.SequentialCell
LayerList = _nn.CellList

_FROM_NN = [
    # convolution and linear
    "Conv1d", "Conv2d", "Conv3d", "Conv1dTranspose", "Conv2dTranspose", "Conv3dTranspose",
    "Dense", "Linear", "BiDense", "Embedding",
    # pooling
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    # normalisation and regularisation
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
    "InstanceNorm2d", "Dropout", "Dropout2d",
    # activations
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "HSwish", "HSigmoid", "Mish",
    # shape and padding
    "Flatten", "Unflatten", "Identity", "ZeroPad2d", "Upsample", "PixelShuffle",
    # recurrent and attention
    "RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell", "MultiheadAttention",
    "TransformerEncoder", "TransformerEncoderLayer",
    # training wrappers
    "WithLossCell", "TrainOneStepCell", "GraphCell",
]

globals().update({name: getattr(_nn, name) for name in _FROM_NN})

__all__ = ["Layer", "SequentialLayer", "LayerList"] + _FROM_NN
