"""Image-to-image translation networks: CycleGAN (unpaired) and pix2pix (paired).

The parts (Zhu et al. 2017, Isola et al. 2017, as TinyMS 0.3 shipped them):

- :class:`ResNetGenerator`: a 7x7 convolution, two stride-2 convolutions down, ``n_blocks``
  residual blocks (6 or 9 in the papers), two upsampling steps, a 7x7 convolution and
  ``tanh``: an image in [-1, 1] of the input's size.
- :class:`UNetGenerator`: an encoder of stride-2 4x4 convolutions down to 1x1 (``log2(size)``
  levels) and a decoder of upsampling steps, each level joined to its encoder twin.
- Upsampling is nearest-neighbour x2 then a 3x3 convolution (:class:`Upsample2x`), not the
  papers' transposed convolution, which MindSpore 2.10 cannot export to ONNX.
- :class:`PatchDiscriminator`: PatchGAN, a stack of 4x4 convolutions scoring overlapping
  patches (70x70 pixels with three layers at 256x256; fewer layers for small images).
- Normalisation ``"instance"`` (per image and channel, written with reductions so that it
  exports to ONNX; no learned scale, as in the papers) or ``"batch"``.

:class:`CycleGAN` and :class:`Pix2Pix` hold the generators and discriminators of one model and
translate A -> B when called, so ``Model.predict``, ``Model.export`` and serving see one
generator; training runs the image_to_image task's two-optimizer step
(``tinyms.model.tasks.image_to_image``), which uses :meth:`CycleGAN.losses`.

Losses: the least-squares GAN loss (mean squared distance of the discriminator's patch scores
to 1 for real, 0 for generated), L1 cycle loss weighted ``lambda_a`` = ``lambda_b`` = 10 and
identity loss weighted ``lambda_idt`` = 0.5 of those (TinyMS 0.3's defaults); pix2pix adds L1 to
the target weighted ``lambda_l1`` = 100 to its GAN loss. Discriminators use an image pool of 50
generated images (pix2pix: none).
"""

import math
import random

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import Normal, initializer

from ..._checks import positive_int
from ..registry import register_model

__all__ = ["ResNetGenerator", "UNetGenerator", "PatchDiscriminator", "InstanceNorm", "Upsample2x", "CycleGAN", "Pix2Pix",
           "ImagePool", "GanImagePool", "cycle_gan", "pix2pix", "cycle_gan_infer", "get_generator_discriminator",
           "cyclegan_lr", "MIN_IMAGE_SIZE", "MAX_IMAGE_SIZE"]

MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
_NORMS = ("instance", "batch")
_HALF = (0.5, 0.5, 0.5)


# ---------------------------------------------------------------------------------- layers
class InstanceNorm(nn.Cell):
    """Instance normalisation without learned scale: each image's channel to mean 0, variance 1.

    Written with reductions, a subtraction and a division so that it exports to ONNX (MindSpore
    2.10 cannot export its own InstanceNorm). Its result does not depend on the batch, so
    training and inference compute the same thing.

    Args:
        channels (int): the number of channels (kept for the layer's description).
        eps (float): added to the variance. Default 1e-5.
    """

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.channels = channels
        self.eps = float(eps)

    def construct(self, x):
        mean = x.mean(axis=(2, 3), keep_dims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=(2, 3), keep_dims=True)
        return centered / ops.sqrt(var + self.eps)


def _norm(kind, channels):
    return InstanceNorm(channels) if kind == "instance" else nn.BatchNorm2d(channels)


def _conv(cin, cout, kernel, stride, padding):
    return nn.Conv2d(cin, cout, kernel, stride, pad_mode="pad", padding=padding, has_bias=True,
                     weight_init=Normal(0.02), bias_init="zeros")


class Upsample2x(nn.Cell):
    """Nearest-neighbour upsampling by 2, from a reshape and a broadcast multiplication.

    Used with a 3x3 convolution instead of a stride-2 transposed convolution: MindSpore 2.10
    writes ConvTranspose into ONNX with an ``output_shape`` onnxruntime refuses, and
    resize-then-convolve avoids the transposed convolution's checkerboard artefacts.
    """

    def __init__(self):
        super().__init__()
        self.ones = Tensor(np.ones((1, 1, 1, 2, 1, 2), np.float32))

    def construct(self, x):
        _, c, h, w = x.shape
        return (x.reshape((-1, c, h, 1, w, 1)) * self.ones).reshape((-1, c, h * 2, w * 2))


def _up(cin, cout):
    return nn.SequentialCell([Upsample2x(), _conv(cin, cout, 3, 1, 1)])


def _check_options(image_size, norm):
    positive_int(image_size, "image_size", 1)
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} "
                         f"(32, 64, 128 or 256), got {image_size}")
    if norm not in _NORMS:
        raise ValueError(f"norm must be 'instance' or 'batch', got {norm!r}")


class _ResidualBlock(nn.Cell):
    def __init__(self, channels, norm):
        super().__init__()
        self.body = nn.SequentialCell([_conv(channels, channels, 3, 1, 1), _norm(norm, channels), nn.ReLU(),
                                       _conv(channels, channels, 3, 1, 1), _norm(norm, channels)])

    def construct(self, x):
        return x + self.body(x)


class ResNetGenerator(nn.Cell):
    """The CycleGAN generator: down twice, ``n_blocks`` residual blocks, up twice (:class:`Upsample2x` + 3x3 convolution), ``tanh``.

    Args:
        in_channels (int): input channels. Default 3.
        out_channels (int): output channels. Default 3.
        ngf (int): the first layer's width (64 in the paper). Default 64.
        n_blocks (int): residual blocks (6 for 128x128 images, 9 for 256x256 in the paper). Default 9.
        norm (str): ``"instance"`` or ``"batch"``. Default ``"instance"``.

    Returns:
        Tensor: from ``net(x)``, x float32 (N, in_channels, H, W) with H, W multiples of 4: the
        translated image (N, out_channels, H, W) in [-1, 1].

    Example:
        >>> import numpy as np, mindspore as ms
        >>> net = ResNetGenerator(ngf=8, n_blocks=2)
        >>> net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))).shape
        (1, 3, 32, 32)
    """

    def __init__(self, in_channels=3, out_channels=3, ngf=64, n_blocks=9, norm="instance"):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"norm must be 'instance' or 'batch', got {norm!r}")
        positive_int(ngf, "ngf", 1)
        layers = [_conv(in_channels, ngf, 7, 1, 3), _norm(norm, ngf), nn.ReLU(),
                  _conv(ngf, ngf * 2, 3, 2, 1), _norm(norm, ngf * 2), nn.ReLU(),
                  _conv(ngf * 2, ngf * 4, 3, 2, 1), _norm(norm, ngf * 4), nn.ReLU()]
        layers += [_ResidualBlock(ngf * 4, norm) for _ in range(int(n_blocks))]
        layers += [_up(ngf * 4, ngf * 2), _norm(norm, ngf * 2), nn.ReLU(),
                   _up(ngf * 2, ngf), _norm(norm, ngf), nn.ReLU(),
                   _conv(ngf, out_channels, 7, 1, 3), nn.Tanh()]
        self.model = nn.SequentialCell(layers)

    def construct(self, x):
        return self.model(x)


class UNetGenerator(nn.Cell):
    """The pix2pix generator: a U-Net from ``image_size`` down to 1x1 and back, with skips.

    Args:
        in_channels (int): input channels. Default 3.
        out_channels (int): output channels. Default 3.
        ngf (int): the first level's width; deeper levels double it up to 8x. Default 64.
        image_size (int): the input side (a power of two); the net has ``log2(image_size)``
            levels. Default 256.
        norm (str): ``"instance"`` or ``"batch"``. Default ``"instance"``.

    Returns:
        Tensor: from ``net(x)``, x float32 (N, in_channels, image_size, image_size): the
        translated image of the same size in [-1, 1].

    Example:
        >>> import numpy as np, mindspore as ms
        >>> net = UNetGenerator(ngf=8, image_size=32)
        >>> net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))).shape
        (1, 3, 32, 32)
    """

    def __init__(self, in_channels=3, out_channels=3, ngf=64, image_size=256, norm="instance"):
        super().__init__()
        _check_options(image_size, norm)
        levels = int(round(math.log2(image_size)))
        widths = [ngf * min(2 ** i, 8) for i in range(levels)]
        self.levels = levels
        down, down_norms, up, up_norms = [], [], [], []
        for i in range(levels):
            cin = in_channels if i == 0 else widths[i - 1]
            down.append(_conv(cin, widths[i], 4, 2, 1))
            # no normalisation on the outermost and innermost (1x1) levels
            down_norms.append(_norm(norm, widths[i]) if 0 < i < levels - 1 else nn.Identity())
        for i in reversed(range(levels)):
            cin = widths[i] if i == levels - 1 else widths[i] * 2
            cout = out_channels if i == 0 else widths[i - 1]
            up.append(_up(cin, cout))
            up_norms.append(_norm(norm, cout) if i > 0 else nn.Identity())
        self.down = nn.CellList(down)
        self.down_norms = nn.CellList(down_norms)
        self.up = nn.CellList(up)
        self.up_norms = nn.CellList(up_norms)
        self.lrelu = nn.LeakyReLU(0.2)
        self.relu = nn.ReLU()
        self.tanh = nn.Tanh()

    def construct(self, x):
        skips = ()
        h = x
        for i in range(self.levels):
            if i > 0:
                h = self.lrelu(h)
            h = self.down_norms[i](self.down[i](h))
            skips = skips + (h,)
        for k in range(self.levels):
            if k > 0:
                h = ops.concat((h, skips[self.levels - 1 - k]), 1)
            h = self.up_norms[k](self.up[k](self.relu(h)))
        return self.tanh(h)


class PatchDiscriminator(nn.Cell):
    """PatchGAN: scores each overlapping patch of an image as real (1) or generated (0).

    Args:
        in_channels (int): input channels (6 for pix2pix's input and output side by side). Default 3.
        ndf (int): the first layer's width. Default 64.
        n_layers (int): stride-2 layers; 3 gives 70x70 patches (the papers' choice at 256x256),
            2 suits 32x32 images. Default 3.
        norm (str): ``"instance"`` or ``"batch"``. Default ``"instance"``.

    Returns:
        Tensor: from ``net(x)``: patch scores (N, 1, h, w), unbounded (least-squares GAN).

    Example:
        >>> import numpy as np, mindspore as ms
        >>> net = PatchDiscriminator(ndf=8, n_layers=2)
        >>> net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))).shape
        (1, 1, 6, 6)
    """

    def __init__(self, in_channels=3, ndf=64, n_layers=3, norm="instance"):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"norm must be 'instance' or 'batch', got {norm!r}")
        positive_int(n_layers, "n_layers", 1)
        layers = [_conv(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        width = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [_conv(width, out, 4, stride, 1), _norm(norm, out), nn.LeakyReLU(0.2)]
            width = out
        layers.append(_conv(width, 1, 4, 1, 1))
        self.model = nn.SequentialCell(layers)

    def construct(self, x):
        return self.model(x)


# ---------------------------------------------------------------------------------- losses
def _lsgan(scores, real):
    target = 1.0 if real else 0.0
    diff = scores - target
    return (diff * diff).mean()


def _l1(x, y):
    return ops.abs(x - y).mean()


def _per_sample_l1(x, y):
    return ops.abs(x - y).mean(axis=(1, 2, 3))


class ImagePool(nn.Cell):
    """A pool of generated images, kept in Parameters, that discriminators learn from (in-graph).

    TinyMS 0.3's ``GanImagePool`` semantics: while the pool has room, each generated image is
    stored and passed on; once it holds ``size`` images, each image is, with probability 0.5,
    swapped for a randomly chosen stored one (which is passed on instead), else passed on. The
    random numbers come from outside the graph (``u`` uniform in [0, 1), ``j`` slot indices),
    drawn by the task from the seed and the step number, so a resumed run draws the same
    ones; the pool's images and count are state that checkpoints keep.

    The decisions depend on ``u``, ``j`` and the count only, never on the images, so
    :meth:`plan` makes them on the host (microseconds) and the graph moves whole images with
    one gather from the pool, one scatter into it and two small gathers, whatever the batch
    size: a handful of kernels instead of a dozen per image (each kernel launch costs far
    more than these few copies on the CPU).

    Args:
        size (int): images kept (0: no pool). Default 50.
        shape (tuple): one image's shape (C, H, W).
        name (str): the prefix of the Parameters' names.

    Returns:
        Tensor: from ``pool(images, read, take, rows, slots)`` (the int32 arrays of :meth:`plan`):
        the images for the discriminator, shaped like ``images``.

    Example:
        >>> import numpy as np
        >>> from tinyms.model.zoo.cycle_gan import ImagePool
        >>> pool = ImagePool(2, (1, 1, 1), "example_pool")
        >>> pool.query(np.ones((3, 1, 1, 1), np.float32), np.zeros(3, np.float32), np.zeros(3, np.int32)).shape
        (3, 1, 1, 1)
    """

    def __init__(self, size, shape, name):
        super().__init__(auto_prefix=False)
        self.size = int(size)
        keep = max(self.size, 1)
        self.images = Parameter(Tensor(np.zeros((keep,) + tuple(shape), np.float32)), name=f"{name}.images",
                                requires_grad=False)
        self.count = Parameter(Tensor(np.zeros((1,), np.int32)), name=f"{name}.count", requires_grad=False)

    def plan(self, u, j):
        """The batch's moves from its random numbers, on the host (0.3's rule, image by image).

        Args:
            u (ndarray): float32 (N,), uniform in [0, 1): an image of a full pool is swapped when > 0.5.
            j (ndarray): int (N,), the slot it is swapped with.

        Returns:
            tuple: ``((read, take, rows, slots), count)``: int32 arrays (N,) for the graph (the
            slots read before any write; for each output image its row of ``concat(images,
            pool[read])``; the rows written and the slots they go to) and the count after the
            batch, to :meth:`commit` once the step ran.
        """
        count = int(self.count.asnumpy()[0])
        n = len(u)
        read, take = np.zeros(n, np.int32), np.arange(n, dtype=np.int32)
        holder = {}  # slot -> the batch image now stored there
        for i in range(n):
            if count < self.size:
                holder[count] = i
                count += 1
            elif u[i] > 0.5:
                slot = int(j[i])
                read[i] = slot
                take[i] = holder.get(slot, n + i)  # an image stored earlier in this batch, else the pool's
                holder[slot] = i
        if holder:  # rows past the written slots repeat the first write (same slot, same value)
            slots, rows = zip(*holder.items())
            slots = (list(slots) + [slots[0]] * n)[:n]
            rows = (list(rows) + [rows[0]] * n)[:n]
        else:  # nothing stored: write slot read[0] with its own contents (row n of the concat)
            slots, rows = [read[0]] * n, [n] * n
        return (read, take, np.asarray(rows, np.int32), np.asarray(slots, np.int32)), count

    def commit(self, count):
        """Record the count :meth:`plan` returned, after the step that used its plan."""
        if count != int(self.count.asnumpy()[0]):
            self.count.set_data(Tensor(np.array([count], np.int32)))

    def query(self, images, u, j):
        """Pass ``images`` (N, C, H, W) through the pool with the random numbers ``u``, ``j``: plan, run, commit."""
        (read, take, rows, slots), count = self.plan(np.asarray(u, np.float32), np.asarray(j))
        images = images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32))
        out = self(images, Tensor(read), Tensor(take), Tensor(rows), Tensor(slots))
        self.commit(count)
        return out

    def construct(self, images, read, take, rows, slots):
        if self.size == 0:
            return images
        source = ops.concat((images, ops.gather(self.images, read, 0)), 0)
        written = ops.scatter_update(self.images, slots, ops.gather(source, rows, 0))
        return ops.depend(ops.gather(source, take, 0), written)


class GanImagePool:
    """TinyMS 0.3's image pool, on the host: ``query(images)`` returns images for the discriminator.

    Same rule as :class:`ImagePool` (store while there is room, then swap with probability 0.5)
    over numpy arrays, with its own random generator (``seed``) instead of the global one.

    Args:
        pool_size (int): images kept; 0 passes every image on. Default 50.
        seed (int): the generator's seed (None: unseeded).

    Example:
        >>> pool = GanImagePool(2, seed=0)
        >>> pool.query(np.zeros((3, 3, 4, 4), np.float32)).shape
        (3, 3, 4, 4)
    """

    def __init__(self, pool_size=50, seed=None):
        self.pool_size = int(pool_size)
        self.num_imgs = 0
        self.images = []
        self._random = random.Random(seed)

    def query(self, images):
        """Pass ``images`` (Tensor or array, (N, C, H, W)) through the pool; returns a Tensor."""
        array = images.asnumpy() if hasattr(images, "asnumpy") else np.asarray(images)
        if self.pool_size == 0:
            return Tensor(array)
        out = []
        for image in array:
            if self.num_imgs < self.pool_size:
                self.num_imgs += 1
                self.images.append(image.copy())
                out.append(image)
            elif self._random.uniform(0, 1) > 0.5:
                slot = self._random.randint(0, self.pool_size - 1)
                out.append(self.images[slot].copy())
                self.images[slot] = image.copy()
            else:
                out.append(image)
        return Tensor(np.stack(out))


# ---------------------------------------------------------------------------------- models
class _Translator(nn.Cell):
    """What CycleGAN and Pix2Pix share: the config always says the image size they are built for."""

    task = "image_to_image"
    image_size = 256

    @property
    def default_cfg(self):
        """The network's ModelConfig (None when not built by the registry); its input shape is (3, S, S)."""
        return self.__dict__.get("_default_cfg")

    @default_cfg.setter
    def default_cfg(self, cfg):
        import dataclasses  # noqa: PLC0415

        side = int(self.image_size)
        if cfg is not None and tuple(cfg.input_shape) != (3, side, side):
            cfg = dataclasses.replace(cfg, input_shape=(3, side, side))
        self.__dict__["_default_cfg"] = cfg


class CycleGAN(_Translator):
    """A CycleGAN: generators ``G_A`` (A -> B) and ``G_B`` (B -> A), discriminators ``D_A`` (judges
    domain A images) and ``D_B`` (domain B); calling it translates A -> B.

    Args:
        G_A, G_B (Cell): the generators.
        D_A, D_B (Cell): the discriminators (None: an inference-only model).
        lambda_a, lambda_b (float): weights of the A -> B -> A and B -> A -> B cycle losses. Default 10.
        lambda_idt (float): identity loss weight, relative to lambda_a / lambda_b (0: none). Default 0.5.
        pool_size (int): the discriminators' image pool (0: none). Default 50.
        image_size (int): the training image side. Default 256.

    Returns:
        Tensor: from ``net(image_a)``: G_A's translation, float32 (N, 3, H, W) in [-1, 1].
    """

    loss_names = ("loss_G", "loss_D", "loss_G_A", "loss_G_B", "loss_cycle", "loss_idt", "loss_D_A", "loss_D_B")
    eval_names = ("cycle_error", "cycle_error_a", "cycle_error_b")

    def __init__(self, G_A, G_B, D_A=None, D_B=None, lambda_a=10.0, lambda_b=10.0, lambda_idt=0.5,
                 pool_size=50, image_size=256):
        super().__init__()
        self.G_A, self.G_B = G_A, G_B
        self.D_A, self.D_B = D_A, D_B
        self.lambda_a, self.lambda_b, self.lambda_idt = float(lambda_a), float(lambda_b), float(lambda_idt)
        self.pool_size = int(pool_size)
        self.image_size = int(image_size)

    def construct(self, image_a):
        return self.G_A(image_a)

    def generator(self, direction="a2b"):
        """The generator Cell translating ``"a2b"`` (G_A) or ``"b2a"`` (G_B), to export or serve alone."""
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        return self.G_A if direction == "a2b" else self.G_B

    def generator_params(self):
        """The trainable parameters of both generators (the generator optimizer's)."""
        return self.G_A.trainable_params() + self.G_B.trainable_params()

    def discriminator_params(self):
        """The trainable parameters of both discriminators (the discriminator optimizer's)."""
        self._need_discriminators()
        return self.D_A.trainable_params() + self.D_B.trainable_params()

    def _need_discriminators(self):
        if self.D_A is None or self.D_B is None:
            raise TypeError("this CycleGAN has no discriminators (built for inference): build it with "
                            "create_model('cycle_gan', ...) or CycleGAN(G_A, G_B, D_A, D_B) to train it")

    def pools(self):
        """The discriminators' image pools: fake A images (for D_A), fake B images (for D_B)."""
        shape = (3, self.image_size, self.image_size)
        return (ImagePool(self.pool_size, shape, "image_pool_a"), ImagePool(self.pool_size, shape, "image_pool_b"))

    def generator_losses(self, image_a, image_b):
        """``(loss_G, (loss_G_A, loss_G_B, loss_cycle, loss_idt), (fake_a, fake_b))`` of one batch."""
        fake_b = self.G_A(image_a)
        fake_a = self.G_B(image_b)
        loss_g_a = _lsgan(self.D_B(fake_b), True)
        loss_g_b = _lsgan(self.D_A(fake_a), True)
        cycle = _l1(self.G_B(fake_b), image_a) * self.lambda_a + _l1(self.G_A(fake_a), image_b) * self.lambda_b
        idt = cycle * 0.0
        if self.lambda_idt > 0:
            idt = (_l1(self.G_A(image_b), image_b) * self.lambda_b
                   + _l1(self.G_B(image_a), image_a) * self.lambda_a) * self.lambda_idt
        total = loss_g_a + loss_g_b + cycle + idt
        return total, (loss_g_a, loss_g_b, cycle, idt), (fake_a, fake_b)

    def discriminator_losses(self, image_a, image_b, fake_a, fake_b):
        """``(loss_D, (loss_D_A, loss_D_B))``: each discriminator's real/fake loss, halved."""
        loss_d_a = (_lsgan(self.D_A(image_a), True) + _lsgan(self.D_A(fake_a), False)) * 0.5
        loss_d_b = (_lsgan(self.D_B(image_b), True) + _lsgan(self.D_B(fake_b), False)) * 0.5
        return loss_d_a + loss_d_b, (loss_d_a, loss_d_b)

    def errors(self, image_a, image_b):
        """Per-sample cycle-consistency errors (mean |G_B(G_A(a)) - a|, mean |G_A(G_B(b)) - b|), (N,) each."""
        return (_per_sample_l1(self.G_B(self.G_A(image_a)), image_a),
                _per_sample_l1(self.G_A(self.G_B(image_b)), image_b))


class Pix2Pix(_Translator):
    """pix2pix: generator ``G`` (A -> B) and a discriminator ``D`` judging (input, output) pairs
    side by side; calling it translates A -> B.

    Args:
        G (Cell): the generator.
        D (Cell): the discriminator over 6 channels (None: an inference-only model).
        lambda_l1 (float): weight of the L1 distance to the target. Default 100.
        image_size (int): the training image side. Default 256.

    Returns:
        Tensor: from ``net(image_a)``: G's translation, float32 (N, 3, H, W) in [-1, 1].
    """

    loss_names = ("loss_G", "loss_D", "loss_G_gan", "loss_l1")
    eval_names = ("l1_error",)

    def __init__(self, G, D=None, lambda_l1=100.0, image_size=256):
        super().__init__()
        self.G, self.D = G, D
        self.lambda_l1 = float(lambda_l1)
        self.pool_size = 0
        self.image_size = int(image_size)

    def construct(self, image_a):
        return self.G(image_a)

    def generator(self, direction="a2b"):
        """The generator Cell (pix2pix translates ``"a2b"`` only)."""
        if direction != "a2b":
            raise ValueError(f"pix2pix translates A -> B only (direction='a2b'), got {direction!r}")
        return self.G

    def generator_params(self):
        """The generator's trainable parameters."""
        return self.G.trainable_params()

    def discriminator_params(self):
        """The discriminator's trainable parameters."""
        if self.D is None:
            raise TypeError("this Pix2Pix has no discriminator (built for inference): build it with "
                            "create_model('pix2pix', ...) to train it")
        return self.D.trainable_params()

    def pools(self):
        """pix2pix's discriminator sees the current output: no pools."""
        return ()

    def generator_losses(self, image_a, image_b):
        """``(loss_G, (loss_G_gan, loss_l1), (fake_b,))`` of one batch."""
        fake_b = self.G(image_a)
        gan = _lsgan(self.D(ops.concat((image_a, fake_b), 1)), True)
        l1 = _l1(fake_b, image_b) * self.lambda_l1
        return gan + l1, (gan, l1), (fake_b,)

    def discriminator_losses(self, image_a, image_b, fake_b):
        """``(loss_D, ())``: the discriminator's real/fake loss on (input, output) pairs, halved."""
        real = _lsgan(self.D(ops.concat((image_a, image_b), 1)), True)
        fake = _lsgan(self.D(ops.concat((image_a, fake_b), 1)), False)
        return (real + fake) * 0.5, ()

    def errors(self, image_a, image_b):
        """Per-sample mean |G(a) - b|, (N,)."""
        return (_per_sample_l1(self.G(image_a), image_b),)


# ---------------------------------------------------------------------------------- builders
def _d_layers(image_size, d_layers):
    if d_layers is None:
        return 3 if image_size >= 64 else 2
    positive_int(d_layers, "d_layers", 1)
    return d_layers


def _generator(kind, image_size, ngf, n_blocks, norm):
    if kind == "resnet":
        return ResNetGenerator(ngf=ngf, n_blocks=n_blocks, norm=norm)
    if kind == "unet":
        return UNetGenerator(ngf=ngf, image_size=image_size, norm=norm)
    raise ValueError(f"generator must be 'resnet' or 'unet', got {kind!r}")


_COMMON = dict(task="image_to_image", mean=_HALF, std=_HALF, labels=(), transform="cyclegan_transform")


@register_model(input_shape=(3, 256, 256), **_COMMON)
def cycle_gan(G_A=None, G_B=None, *, class_num=None, image_size=256, generator="resnet", n_blocks=9, ngf=64,
              ndf=64, d_layers=None, norm="instance", lambda_a=10.0, lambda_b=10.0, lambda_idt=0.5, pool_size=50):
    """Build a CycleGAN for unpaired image-to-image translation (TinyMS 0.3's ``cycle_gan`` too).

    ``create_model("cycle_gan", image_size=S, ...)`` builds the whole model, untrained (weights
    drawn from N(0, 0.02) as in the paper). TinyMS 0.3's form ``cycle_gan(G_A, G_B)`` wraps two
    given generators into an inference-only model (no discriminators).

    Args:
        G_A, G_B (Cell): TinyMS 0.3's two generators (both or neither).
        class_num: not used (image-to-image models have no classes); accepted for create_model.
        image_size (int): the image side, a power of two from 32 to 256. Default 256.
        generator (str): ``"resnet"`` (default) or ``"unet"``.
        n_blocks (int): residual blocks of a ResNet generator (6 or 9 in the paper). Default 9.
        ngf, ndf (int): the generators' and discriminators' first-layer widths. Default 64.
        d_layers (int): the discriminators' stride-2 layers. Default 3 from 64x64 up, else 2.
        norm (str): ``"instance"`` (default) or ``"batch"``.
        lambda_a, lambda_b (float): cycle loss weights. Default 10.
        lambda_idt (float): identity loss weight relative to them. Default 0.5.
        pool_size (int): the discriminators' image pool. Default 50.

    Returns:
        CycleGAN: ``net(image_a)`` translates A -> B; train it with
        ``Model(net).compile(optimizer=...)`` and ``model.train(epochs, dataset)`` on
        (image_a, image_b) batches normalised to [-1, 1].

    Raises:
        ValueError: an image size, generator or norm outside the choices.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, create_model
        >>> net = create_model("cycle_gan", image_size=32, ngf=8, ndf=8, n_blocks=2)
        >>> Model(net).predict(np.zeros((1, 3, 32, 32), np.float32)).shape
        (1, 3, 32, 32)
    """
    if (G_A is None) != (G_B is None):
        raise TypeError("cycle_gan(G_A, G_B) takes both generators (or neither, to build a whole model)")
    if G_A is not None:
        for name, g in (("G_A", G_A), ("G_B", G_B)):
            if not isinstance(g, nn.Cell):
                raise TypeError(f"{name} must be a network (a Layer), got {type(g).__name__}")
        return CycleGAN(G_A, G_B, lambda_a=lambda_a, lambda_b=lambda_b, lambda_idt=lambda_idt, pool_size=pool_size,
                        image_size=image_size)
    _check_options(image_size, norm)
    layers = _d_layers(image_size, d_layers)
    nets = [_generator(generator, image_size, ngf, n_blocks, norm) for _ in range(2)]
    nets += [PatchDiscriminator(3, ndf, layers, norm) for _ in range(2)]
    net = CycleGAN(*nets, lambda_a=lambda_a, lambda_b=lambda_b, lambda_idt=lambda_idt, pool_size=pool_size,
                   image_size=image_size)
    return net


@register_model(input_shape=(3, 256, 256), **_COMMON)
def pix2pix(class_num=None, image_size=256, ngf=64, ndf=64, d_layers=None, norm="instance", lambda_l1=100.0):
    """Build a pix2pix model for paired image-to-image translation: U-Net generator, PatchGAN.

    Args:
        class_num: not used; accepted for create_model.
        image_size (int): the image side, a power of two from 32 to 256. Default 256.
        ngf, ndf (int): the generator's and discriminator's first-layer widths. Default 64.
        d_layers (int): the discriminator's stride-2 layers. Default 3 from 64x64 up, else 2.
        norm (str): ``"instance"`` (default) or ``"batch"``.
        lambda_l1 (float): weight of the L1 distance to the target. Default 100.

    Returns:
        Pix2Pix: ``net(image_a)`` translates A -> B; trains like :func:`cycle_gan` on aligned pairs.

    Raises:
        ValueError: an image size or norm outside the choices.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, create_model
        >>> net = create_model("pix2pix", image_size=32, ngf=8, ndf=8)
        >>> Model(net).predict(np.zeros((2, 3, 32, 32), np.float32)).shape
        (2, 3, 32, 32)
    """
    _check_options(image_size, norm)
    net = Pix2Pix(UNetGenerator(ngf=ngf, image_size=image_size, norm=norm),
                  PatchDiscriminator(6, ndf, _d_layers(image_size, d_layers), norm),
                  lambda_l1=lambda_l1, image_size=image_size)
    return net


def get_generator_discriminator(model="resnet", image_size=256):
    """TinyMS 0.3's ``(G_A, G_B, D_A, D_B)`` of a CycleGAN with the paper's sizes.

    Args:
        model (str): ``"resnet"`` (9 blocks) or ``"unet"``. Default ``"resnet"``.
        image_size (int): the image side (the U-Net's depth follows it). Default 256.

    Returns:
        tuple: the two generators and two discriminators.

    Raises:
        NotImplementedError: another ``model`` (0.3's error).
    """
    if model not in ("resnet", "unet"):
        raise NotImplementedError(f"Model {model} not recognized: use 'resnet' or 'unet'")
    net = cycle_gan(image_size=image_size, generator=model)
    return net.G_A, net.G_B, net.D_A, net.D_B


def cycle_gan_infer(g_model="resnet", image_size=256):
    """TinyMS 0.3's ``cycle_gan_infer``: the two generators ``(G_A, G_B)`` for prediction.

    Args:
        g_model (str): ``"resnet"`` or ``"unet"``. Default ``"resnet"``.
        image_size (int): the image side (the U-Net's depth follows it). Default 256.

    Returns:
        tuple: ``(G_A, G_B)``, untrained; load weights into them with ``tinyms.model.Model.load_checkpoint``
        or ``mindspore.load_param_into_net``.

    Raises:
        NotImplementedError: another ``g_model`` (0.3's error).

    Example:
        >>> from tinyms.model import cycle_gan_infer
        >>> G_A, G_B = cycle_gan_infer("resnet", image_size=32)
        >>> type(G_A).__name__, G_A is G_B
        ('ResNetGenerator', False)
    """
    if g_model not in ("resnet", "unet"):
        raise NotImplementedError(f"Model {g_model} not recognized: use 'resnet' or 'unet'")
    _check_options(image_size, "instance")
    return (_generator(g_model, image_size, 64, 9, "instance"), _generator(g_model, image_size, 64, 9, "instance"))


def cyclegan_lr(max_epoch, n_epoch, dataset_size, base_lr=0.0002):
    """TinyMS 0.3's CycleGAN schedule: ``base_lr`` for ``n_epoch`` epochs, then a linear decay.

    Epoch ``n_epoch + k`` (k = 0 .. d-1, d = ``max_epoch - n_epoch``) runs at
    ``base_lr * (d - k) / d``, the last epoch at ``base_lr / d``, as 0.3 computed it.

    Args:
        max_epoch (int): all epochs.
        n_epoch (int): epochs at the constant rate (at most ``max_epoch``).
        dataset_size (int): steps per epoch.
        base_lr (float): the constant rate. Default 0.0002.

    Returns:
        Tensor: float32 (max_epoch * dataset_size,), one rate per step, for an optimizer's
        ``learning_rate``.

    Example:
        >>> from tinyms.model import cyclegan_lr
        >>> cyclegan_lr(4, 2, 1).asnumpy().tolist()
        [0.00019999999494757503, 0.00019999999494757503, 0.00019999999494757503, 9.999999747378752e-05]
    """
    positive_int(max_epoch, "max_epoch", 1)
    positive_int(dataset_size, "dataset_size", 1)
    if not 0 <= n_epoch <= max_epoch:
        raise ValueError(f"n_epoch must be from 0 to max_epoch ({max_epoch}), got {n_epoch}")
    decay = max_epoch - n_epoch
    rates = [base_lr] * n_epoch + [base_lr * (decay - k) / decay for k in range(decay)]
    return Tensor(np.repeat(np.asarray(rates, np.float32), dataset_size))
