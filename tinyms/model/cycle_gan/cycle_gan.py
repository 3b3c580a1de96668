"""TinyMS 0.3's ``tinyms.model.cycle_gan.cycle_gan``: its CycleGAN builders and train-step cells.

``get_generator_discriminator``, ``cycle_gan`` and ``cycle_gan_infer`` are TinyMS's own (see
:mod:`tinyms.model.zoo.cycle_gan`). :class:`TrainOneStepG` and :class:`TrainOneStepD` update the
generators and the discriminators in turn, one batch each call, as a 0.3 script's loop calls
them; new code trains ``create_model("cycle_gan")`` through :class:`tinyms.model.Model`.
"""

from mindspore import ParameterTuple, nn, ops

from ..zoo.cycle_gan import cycle_gan, cycle_gan_infer, get_generator_discriminator

__all__ = ["get_generator_discriminator", "cycle_gan", "cycle_gan_infer", "TrainOneStepG", "TrainOneStepD"]


class _TotalLoss(nn.Cell):
    """The generators' total loss alone (the third output of CycleGANGeneratorLoss), to differentiate."""

    def __init__(self, loss):
        super().__init__(auto_prefix=False)
        self.loss = loss

    def construct(self, img_A, img_B):  # noqa: N803
        return self.loss(img_A, img_B)[2]


class TrainOneStepG(nn.Cell):
    """One optimizer step of the CycleGAN generators per call (TinyMS 0.3's cell).

    Args:
        G: the generators' loss, a :class:`tinyms.losses.CycleGANGeneratorLoss`.
        generator: the generators (``cycle_gan(G_A, G_B)``); only their weights are updated.
        optimizer: the optimizer over ``generator.trainable_params()``.
        sens (float): the loss's gradient scale. Default 1.0.

    Returns:
        tuple: from ``step(img_A, img_B)``, the loss cell's nine outputs ``(fake_A, fake_B,
        loss_G, loss_G_A, loss_G_B, loss_C_A, loss_C_B, loss_idt_A, loss_idt_B)``, computed
        before the update.

    Example:
        >>> net_G = TrainOneStepG(loss_G, generator_net, optimizer_G)   # doctest: +SKIP
        >>> fake_A, fake_B, loss_G, *parts = net_G(img_A, img_B)       # doctest: +SKIP
    """

    def __init__(self, G, generator, optimizer, sens=1.0):  # noqa: N803 - 0.3's names
        super().__init__(auto_prefix=False)
        self.G = G
        self.optimizer = optimizer
        self.weights = ParameterTuple(generator.trainable_params())
        self.net = _TotalLoss(G)
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.sens = float(sens)
        self.G.set_grad()
        self.G.set_train()

    def construct(self, img_A, img_B):  # noqa: N803
        out = self.G(img_A, img_B)
        sens = ops.fill(ops.dtype(out[2]), ops.shape(out[2]), self.sens)
        grads = self.grad(self.net, self.weights)(img_A, img_B, sens)
        loss = ops.depend(out[2], self.optimizer(grads))
        return out[0], out[1], loss, out[3], out[4], out[5], out[6], out[7], out[8]


class TrainOneStepD(nn.Cell):
    """One optimizer step of the CycleGAN discriminators per call (TinyMS 0.3's cell).

    Args:
        D: the discriminators' loss, a :class:`tinyms.losses.CycleGANDiscriminatorLoss`; its
            trainable parameters are updated.
        optimizer: the optimizer over ``D.trainable_params()``.
        sens (float): the loss's gradient scale. Default 1.0.

    Returns:
        Tensor: from ``step(img_A, img_B, fake_A, fake_B)``, the loss before the update.

    Example:
        >>> net_D = TrainOneStepD(loss_D, optimizer_D)                 # doctest: +SKIP
        >>> loss_D = net_D(img_A, img_B, pool_A.query(fake_A), pool_B.query(fake_B))  # doctest: +SKIP
    """

    def __init__(self, D, optimizer, sens=1.0):  # noqa: N803 - 0.3's names
        super().__init__(auto_prefix=False)
        self.D = D
        self.optimizer = optimizer
        self.weights = ParameterTuple(D.trainable_params())
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.sens = float(sens)
        self.D.set_grad()
        self.D.set_train()

    def construct(self, img_A, img_B, fake_A, fake_B):  # noqa: N803
        loss = self.D(img_A, img_B, fake_A, fake_B)
        sens = ops.fill(ops.dtype(loss), ops.shape(loss), self.sens)
        grads = self.grad(self.D, self.weights)(img_A, img_B, fake_A, fake_B, sens)
        return ops.depend(loss, self.optimizer(grads))
