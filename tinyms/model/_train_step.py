"""Private: the compiled training step a Model runs, written so that a discarded Model is freed.

MindSpore 2.10's graph compiler keeps a strong reference, from C++, to every Cell whose graph
reached a method taking ``*args`` (``nn.TrainOneStepCell.construct(self, *inputs)`` is one). The
Python garbage collector cannot see that reference, so such a cell, its network, its optimizer
(moments included) and the compiled graph live until the process ends: measured, each
``Model(vgg11()).compile("cross_entropy", "momentum").train(...)`` in one process kept 1 GB
more (0.99 GB per round, 3 MB with this step), and ``gc.collect()``,
``mindspore.ms_memory_recycle()`` and ``del_net_res`` freed none of it. A step whose
``construct`` names its two arguments is freed as soon as the Model is
(tests/model/test_release.py).
"""

from mindspore import nn, ops

__all__ = ["TrainStep", "train_step_for"]


class TrainStep(nn.TrainOneStepCell):
    """``nn.TrainOneStepCell`` for a ``(data, label)`` batch, with a fixed gradient scale.

    Everything but ``construct`` is MindSpore's (the gradient reducer it sets up for
    data-parallel training included); ``construct`` takes exactly the two inputs a TinyMS
    step has, and always scales the loss's gradient by ``sens`` (1.0 without loss scaling).

    Args:
        network (Cell): the network with its loss, called as ``network(data, label)``.
        optimizer (Optimizer): updates ``network``'s trainable parameters.
        sens (float): the loss's gradient (the fixed loss scale).

    Returns:
        Tensor: the loss, from ``train_step(data, label)``.

    Example:
        >>> from mindspore import nn
        >>> from tinyms.model import lenet5
        >>> net = lenet5()
        >>> step = TrainStep(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True)),
        ...                  nn.Momentum(net.trainable_params(), 0.01, 0.9), sens=1.0)
    """

    def __init__(self, network, optimizer, sens=1.0):
        super().__init__(network, optimizer, sens=float(sens))

    def construct(self, data, label):
        loss = self.network(data, label)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad_reducer(self.grad(self.network, self.weights)(data, label, sens))
        return ops.depend(loss, self.optimizer(grads))


class _TrainStep1(TrainStep):
    """A step over one-column batches (a network that takes its targets from its own input)."""

    def construct(self, data):
        loss = self.network(data)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad_reducer(self.grad(self.network, self.weights)(data, sens))
        return ops.depend(loss, self.optimizer(grads))


class _TrainStep3(TrainStep):
    """A step over three-column batches, e.g. detection's (image, bbox, label)."""

    def construct(self, data, target1, target2):
        loss = self.network(data, target1, target2)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad_reducer(self.grad(self.network, self.weights)(data, target1, target2, sens))
        return ops.depend(loss, self.optimizer(grads))


class _TrainStep4(TrainStep):
    """A step over four-column batches."""

    def construct(self, data, target1, target2, target3):
        loss = self.network(data, target1, target2, target3)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad_reducer(self.grad(self.network, self.weights)(data, target1, target2, target3, sens))
        return ops.depend(loss, self.optimizer(grads))


_BY_ARITY = {1: _TrainStep1, 2: TrainStep, 3: _TrainStep3, 4: _TrainStep4}


def train_step_for(network, optimizer, sens, columns):
    """The compiled step for batches of ``columns`` columns (1 to 4), each passed to ``network`` by position.

    Raises:
        ValueError: another number of columns (the message says to project the dataset).
    """
    if columns not in _BY_ARITY:
        raise ValueError(f"TinyMS trains on batches of 1 to 4 columns, this dataset has {columns}: project it "
                         f"to the columns the network and its loss take (dataset.project([...]))")
    return _BY_ARITY[columns](network, optimizer, sens=sens)
