"""Image-to-image translation: an image in, an image out (CycleGAN, pix2pix).

Batches have two columns, ``image_a`` and ``image_b``: float32 (N, 3, S, S) normalised to
[-1, 1] (mean 0.5, std 0.5 per channel), unpaired for CycleGAN, aligned pairs for pix2pix.
Calling the network translates A -> B; ``Model.predict`` returns that image.

Training is a GAN's: the task builds its own compiled step (``tinyms.model._gan.GanTrainStep``)
that updates the generators with one optimizer and the discriminators with another each step.
``Model.compile(optimizer=...)`` takes nothing (Adam 0.0002, beta1 0.5 for both, the papers'
choice), a name, one optimizer (used for the generators, a copy with the same settings for
the discriminators) or two (a tuple, or ``{"generator": ..., "discriminator": ...}``). The
History records ``loss`` (loss_G + loss_D) and every loss the network names (``loss_G``,
``loss_D``, ``loss_cycle``, ``loss_idt``...). Evaluation returns ``error``: for CycleGAN the
cycle-consistency error (mean absolute difference, in [-1, 1] units, of A -> B -> A to A and
of B -> A -> B to B, averaged), for pix2pix the L1 distance of the output to the target, each
over every sample.
"""

import hashlib
import os

import numpy as np

from ...errors import DatasetError, InputShapeError
from .._loop import LoopCallback
from ._base import Evaluator, Task

__all__ = ["ImageToImageTask", "SampleGrid"]

#: the seed of the image pools' random numbers when the run has none (tinyms.set_seed)
POOL_SEED = 2024


class ImageToImageTask(Task):
    """``(image_a, image_b)`` batches, a two-optimizer GAN step, images out.

    Example:
        >>> from tinyms.model.tasks import get_task
        >>> task = get_task("image_to_image")
        >>> task.columns, task.output, task.monitor
        (('image_a', 'image_b'), 'image', 'val_error')
    """

    name = "image_to_image"
    columns = ("image_a", "image_b")
    inputs = 1
    output = "image"
    default_loss = None
    default_metrics = ()
    monitor = "val_error"

    def needs_loss(self, model):
        return False

    def compile_optimizer(self, model, optimizer, learning_rate):
        """The model's optimizer from what ``compile`` was given (see the module's description)."""
        from .._gan import gan_optimizers  # noqa: PLC0415

        return gan_optimizers(model.network, optimizer, learning_rate)

    def loss_network(self, model):
        raise TypeError("an image-to-image model trains with its own GAN step (Model.train), not a loss cell")

    def train_network(self, model):
        """The compiled GAN step over ``model.network`` and ``model.optimizer``."""
        from .._gan import GanTrainStep, gan_optimizers  # noqa: PLC0415

        model.optimizer = gan_optimizers(model.network, model.optimizer)
        return GanTrainStep(model.network, model.optimizer)

    def check_first_batch(self, model, batch, dataset_what, data_what):
        if len(batch) != 2:
            raise DatasetError(f"{dataset_what} must yield (image_a, image_b) batches, but its rows have "
                               f"{len(batch)} column(s): prepare it with tinyms.vision.cyclegan_transform, or "
                               f"project it to the two image columns")
        side = int(getattr(model.network, "image_size", batch[0].shape[-1]))
        for name, column in zip(self.columns, batch):
            shape = tuple(column.shape)
            if str(column.dtype) not in ("Float32", "Float16", "Float64"):
                raise InputShapeError(f"{data_what}'s {name} is {column.dtype}: normalise images to float32 in "
                                      f"[-1, 1] (tinyms.vision.cyclegan_transform)")
            if len(shape) != 4 or shape[1:] != (3, side, side):
                raise InputShapeError(
                    f"{type(model.network).__name__} was built for {side}x{side} RGB images, {data_what}'s {name} is "
                    f"{shape}: resize the images to {side} (cyclegan_transform's image_size) or build the model "
                    f"with image_size={shape[-1] if len(shape) == 4 else side}")
        if batch[0].shape[0] != batch[1].shape[0]:
            raise DatasetError(f"{dataset_what}'s image_a and image_b batches differ in size "
                               f"({batch[0].shape[0]} and {batch[1].shape[0]})")
        return None

    def step_function(self, model, train_net, batch):
        import mindspore as ms  # noqa: PLC0415

        from ..._seed import get_seed  # noqa: PLC0415

        pools = train_net.n_pools
        pool_cells = list(train_net.pools) if pools else []
        size = int(getattr(model.network, "pool_size", 0)) or 1
        seed = get_seed()
        seed = POOL_SEED if seed is None else int(seed)
        cast = ms.ops.cast
        tensor = ms.Tensor

        def step(image_a, image_b):
            if image_a.dtype != ms.float32:
                image_a = cast(image_a, ms.float32)
            if image_b.dtype != ms.float32:
                image_b = cast(image_b, ms.float32)
            if not pools:
                return train_net(image_a, image_b, ())
            # the pools' random numbers from (seed, step): a resumed run draws the same ones; the pools
            # decide on the host and the graph only moves the images (ImagePool.plan)
            rng = np.random.default_rng((seed, int(model.train_state.step) if model.train_state else 0))
            n = image_a.shape[0]
            u = rng.random((pools, n), dtype=np.float32)
            j = rng.integers(0, size, (pools, n), dtype=np.int32)
            plans, counts = (), []
            for k, pool in enumerate(pool_cells):
                arrays, count = pool.plan(u[k], j[k])
                plans += tuple(tensor(a) for a in arrays)
                counts.append(count)
            out = train_net(image_a, image_b, ms.mutable(plans))
            for pool, count in zip(pool_cells, counts):
                pool.commit(count)
            return out
        return step

    def label_check(self, model, batch, always=False):
        return lambda batch: None

    def evaluator(self, model, confusion=False, report=False):
        if confusion or report:
            raise ValueError("confusion_matrix= and report= are for classification and detection; an "
                             "image-to-image model's eval returns its translation errors")
        return _TranslationEvaluator(model)


def _errors_cell(network):
    from mindspore import nn  # noqa: PLC0415

    class Errors(nn.Cell):
        """Per-sample translation errors of a batch (the network's ``errors``)."""

        def __init__(self, net):
            super().__init__(auto_prefix=False)
            self.net = net

        def construct(self, image_a, image_b):
            return self.net.errors(image_a, image_b)
    return Errors(network)


class _TranslationEvaluator(Evaluator):
    """Sums each sample's error over the whole dataset; the results are means over every sample.

    For CycleGAN each domain's error is a mean over that domain's distinct images: unpaired
    evaluation rows repeat the smaller domain's images (``unaligned_dataset(usage="test")``
    pairs row i with B[i mod |B|]), and a repeated image counts once, recognised by its
    pixels. ``counts`` holds how many images each error is over.
    """

    def __init__(self, model):
        super().__init__(model)
        self.names = tuple(model.network.eval_names)
        self.net = _errors_cell(model.network)
        self.sums = None
        self.counts = None
        self.seen = (set(), set())
        model.network.set_train(False)

    def first(self, batch):
        self.model._task.check_first_batch(self.model, batch, "an eval dataset", "evaluation data")

    def update(self, batch):
        import mindspore as ms  # noqa: PLC0415

        a, b = (x if x.dtype == ms.float32 else ms.ops.cast(x, ms.float32) for x in batch[:2])
        errors = [np.asarray(e.asnumpy(), np.float64).reshape(-1) for e in self.net(a, b)]
        n = int(a.shape[0])
        if self.sums is None:
            self.sums, self.counts = np.zeros(len(errors)), np.zeros(len(errors), np.int64)
        if len(errors) == 2:  # CycleGAN: error k is domain k's (a, then b)
            for k, images in enumerate((a.asnumpy(), b.asnumpy())):
                for i in range(n):
                    key = hashlib.blake2b(np.ascontiguousarray(images[i]).tobytes(), digest_size=16).digest()
                    if key not in self.seen[k]:
                        self.seen[k].add(key)
                        self.sums[k] += errors[k][i]
                        self.counts[k] += 1
        else:
            self.sums += np.array([e.sum() for e in errors])
            self.counts += n
        self.samples += n
        return errors

    def results(self):
        if not self.samples:
            raise DatasetError("the eval dataset gave no samples")
        means = self.sums / np.maximum(self.counts, 1)
        if len(means) == 1:  # pix2pix: L1 to the target
            return {"error": float(means[0]), self.names[0]: float(means[0])}
        out = {"error": float(means.mean()), self.names[0]: float(means.mean())}
        out.update({name: float(v) for name, v in zip(self.names[1:], means)})
        return out

    def extras(self):
        return {}


class SampleGrid(LoopCallback):
    """Writes a picture of the model's translations of a few fixed samples after every epoch.

    Row pairs per sample: ``a | G_A(a) | G_B(G_A(a))`` and ``b | G_B(b) | G_A(G_B(b))`` for
    CycleGAN; ``a | G(a) | b`` for pix2pix. Files are ``<folder>/samples_epoch_<NNN>.png``
    (written to a temporary name and renamed).

    Args:
        folder (str): where the PNG files go (created if missing).
        samples (tuple): ``(images_a, images_b)``, float32 arrays (K, 3, S, S) in [-1, 1].
            Default: the first ``count`` samples of the first training batch.
        count (int): samples taken from the first batch when ``samples`` is None. Default 4.

    Example:
        >>> from tinyms.model.tasks.image_to_image import SampleGrid
        >>> grid = SampleGrid("run/samples")     # model.train(5, ds, callbacks=[grid])
    """

    def __init__(self, folder, samples=None, count=4):
        self.folder = os.fspath(folder)
        self.count = int(count)
        self.samples = None
        if samples is not None:
            a, b = (np.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x, np.float32) for x in samples)
            self.samples = (a, b)
        self.written = []

    def on_step_begin(self, step, logs=None):
        if self.samples is None:
            a, b = logs["data"][:2]
            self.samples = (a.asnumpy()[:self.count].astype(np.float32), b.asnumpy()[:self.count].astype(np.float32))

    def on_epoch_end(self, epoch, logs=None):
        if self.samples is None or not self.model.is_main:
            return
        self.written.append(write_sample_grid(self.model.network, *self.samples,
                                              os.path.join(self.folder, f"samples_epoch_{epoch:03d}.png")))


def sample_rows(network, images_a, images_b):
    """The grid's rows of images (each (3, S, S) in [-1, 1]) for ``network`` on the samples."""
    import mindspore as ms  # noqa: PLC0415

    training = network.training
    network.set_train(False)
    try:
        a, b = ms.Tensor(images_a), ms.Tensor(images_b)
        if hasattr(network, "G_B"):
            fake_b = network.G_A(a)
            fake_a = network.G_B(b)
            rows = [(a, fake_b, network.G_B(fake_b)), (b, fake_a, network.G_A(fake_a))]
        else:
            rows = [(a, network.G(a), b)]
        rows = [[x.asnumpy() for x in row] for row in rows]
    finally:
        network.set_train(training)
    out = []
    for i in range(images_a.shape[0]):
        for row in rows:
            out.append([col[i] for col in row])
    return out


def write_sample_grid(network, images_a, images_b, path):
    """Write the sample grid PNG to ``path`` atomically; return the path."""
    from PIL import Image  # noqa: PLC0415

    from ..._fileio import atomic_path  # noqa: PLC0415

    rows = sample_rows(network, images_a, images_b)
    side = rows[0][0].shape[-1]
    gap = 2
    height = len(rows) * (side + gap) - gap
    width = len(rows[0]) * (side + gap) - gap
    canvas = np.full((height, width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            pixels = np.clip((np.transpose(image, (1, 2, 0)) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
            canvas[r * (side + gap):r * (side + gap) + side, c * (side + gap):c * (side + gap) + side] = pixels
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")
    return path
