"""TinyMS 0.3's CycleGAN loss cells (``tinyms.losses.CycleGANGeneratorLoss`` / ``CycleGANDiscriminatorLoss``).

They serve scripts written for TinyMS 0.3, which train a CycleGAN by hand with
``TrainOneStepG`` / ``TrainOneStepD`` (:mod:`tinyms.model.cycle_gan`). The least-squares GAN
loss (mean squared distance of the discriminator's patch scores to 1 for real images, 0 for
generated ones), L1 cycle losses weighted 10 and identity losses weighted 10 x 0.5 are 0.3's.
New code trains ``create_model("cycle_gan")`` through :class:`tinyms.model.Model`, whose task
computes the same losses.
"""

from mindspore import nn, ops

__all__ = ["CycleGANGeneratorLoss", "CycleGANDiscriminatorLoss"]


def _lsgan(scores, real):
    target = ops.ones_like(scores) if real else ops.zeros_like(scores)
    return ops.reduce_mean(ops.square(scores - target))


def _l1(x, y):
    return ops.reduce_mean(ops.abs(x - y))


class CycleGANGeneratorLoss(nn.Cell):
    """The generators' losses of one batch, as TinyMS 0.3 computed them.

    Args:
        generator: the generators, an object with ``G_A`` (A -> B) and ``G_B`` (B -> A) cells
            (what ``cycle_gan(G_A, G_B)`` returns).
        D_A (Layer): the discriminator of domain A images.
        D_B (Layer): the discriminator of domain B images.

    Returns:
        tuple: from ``loss(img_A, img_B)``: ``(fake_A, fake_B, loss_G, loss_G_A, loss_G_B,
        loss_C_A, loss_C_B, loss_idt_A, loss_idt_B)``; ``loss_G`` is the sum of the six others.

    Raises:
        TypeError: ``generator`` has no ``G_A`` / ``G_B``.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> from tinyms.losses import CycleGANGeneratorLoss
        >>> from tinyms.model.cycle_gan.cycle_gan import cycle_gan, get_generator_discriminator
        >>> G_A, G_B, D_A, D_B = get_generator_discriminator("resnet", image_size=32)
        >>> loss_G = CycleGANGeneratorLoss(cycle_gan(G_A, G_B), D_A, D_B)
        >>> images = ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))
        >>> outputs = loss_G(images, images)
        >>> len(outputs), outputs[1].shape
        (9, (1, 3, 32, 32))
    """

    def __init__(self, generator, D_A, D_B):  # noqa: N803 - 0.3's names
        super().__init__()
        if not (isinstance(getattr(generator, "G_A", None), nn.Cell) and isinstance(getattr(generator, "G_B", None),
                                                                                       nn.Cell)):
            raise TypeError(f"CycleGANGeneratorLoss takes the generators as cycle_gan(G_A, G_B) returns them, "
                            f"got a {type(generator).__name__}")
        self.generator = generator
        self.D_A, self.D_B = D_A, D_B
        self.lambda_A = self.lambda_B = 10.0
        self.lambda_idt = 0.5

    def construct(self, img_A, img_B):  # noqa: N803
        fake_B = self.generator.G_A(img_A)
        fake_A = self.generator.G_B(img_B)
        loss_G_A = _lsgan(self.D_B(fake_B), True)
        loss_G_B = _lsgan(self.D_A(fake_A), True)
        loss_C_A = _l1(self.generator.G_B(fake_B), img_A) * self.lambda_A
        loss_C_B = _l1(self.generator.G_A(fake_A), img_B) * self.lambda_B
        loss_idt_A = _l1(self.generator.G_B(img_A), img_A) * self.lambda_A * self.lambda_idt
        loss_idt_B = _l1(self.generator.G_A(img_B), img_B) * self.lambda_B * self.lambda_idt
        loss_G = loss_G_A + loss_G_B + loss_C_A + loss_C_B + loss_idt_A + loss_idt_B
        return fake_A, fake_B, loss_G, loss_G_A, loss_G_B, loss_C_A, loss_C_B, loss_idt_A, loss_idt_B


class CycleGANDiscriminatorLoss(nn.Cell):
    """The discriminators' loss of one batch: real images scored 1, generated ones 0, halved.

    Args:
        D_A (Layer): the discriminator of domain A images.
        D_B (Layer): the discriminator of domain B images.
        reduction (str): accepted for TinyMS 0.3's signature; the loss is always a scalar.

    Returns:
        Tensor: from ``loss(img_A, img_B, fake_A, fake_B)``, the scalar loss.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> from tinyms.losses import CycleGANDiscriminatorLoss
        >>> from tinyms.model.cycle_gan.cycle_gan import get_generator_discriminator
        >>> _, _, D_A, D_B = get_generator_discriminator("resnet", image_size=32)
        >>> images = ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))
        >>> loss_D = CycleGANDiscriminatorLoss(D_A, D_B)
        >>> loss_D(images, images, images, images).shape
        ()
    """

    def __init__(self, D_A, D_B, reduction="none"):  # noqa: N803, ARG002 - 0.3's signature
        super().__init__()
        self.D_A, self.D_B = D_A, D_B

    def construct(self, img_A, img_B, fake_A, fake_B):  # noqa: N803
        loss_D_A = _lsgan(self.D_A(fake_A), False) + _lsgan(self.D_A(img_A), True)
        loss_D_B = _lsgan(self.D_B(fake_B), False) + _lsgan(self.D_B(img_B), True)
        return (loss_D_A + loss_D_B) * 0.5
