"""TinyMS 0.3's ``tinyms.utils.common_utils``: the helpers of its CycleGAN script.

Scripts written for TinyMS 0.3 (its ``tests/st/cycle_gan.py``) train a CycleGAN by hand with
:class:`GanReporter` (log lines, sample images and per-network checkpoints), :class:`GanImagePool`
(the history of generated images the discriminators learn from; it is
:class:`tinyms.model.zoo.cycle_gan.GanImagePool`) and :func:`gan_load_ckpt`. New
code trains ``create_model("cycle_gan")`` through :class:`tinyms.model.Model` or ``tinyms train``
instead, which records all of this in a run directory.
"""

import logging
import os
import time
from datetime import datetime

import numpy as np

from ..model.zoo.cycle_gan import GanImagePool

__all__ = ["GanReporter", "GanImagePool", "gan_load_ckpt"]

#: GanReporter writes a loss line every this many steps, as TinyMS 0.3 did
PRINT_EVERY = 100
_LOSS_NAMES = ("G_loss", "loss_G_A", "loss_G_B", "loss_C_A", "loss_C_B", "loss_idt_A", "loss_idt_B")


def _scalar(value):
    return float(np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value).reshape(-1)[0])


class GanReporter(logging.Logger):
    """Log, sample images and checkpoints of a hand-written CycleGAN training loop (TinyMS 0.3's).

    Messages go to the console and to ``<outputs_dir>/log/<date>_time_<time>_rank_0.log``;
    sample images to ``<outputs_dir>/imgs``; checkpoints of ``G_A``, ``G_B``, ``D_A`` and ``D_B``
    to ``<outputs_dir>/ckpt`` every ``save_checkpoint_epochs`` epochs.

    Args:
        args: the script's options (an ``argparse.Namespace``); it reads ``outputs_dir``,
            ``save_checkpoint_epochs``, ``save_imgs`` and ``dataset_size`` (steps per epoch)
            and writes every option to the log.

    Raises:
        ValueError: ``args`` lacks one of the options read.

    Example:
        >>> reporter = GanReporter(args)            # doctest: +SKIP
        >>> reporter.epoch_start(); reporter.step_end(res_G, res_D); reporter.epoch_end(net_G)  # doctest: +SKIP
    """

    def __init__(self, args):
        super().__init__("cyclegan")
        missing = [k for k in ("outputs_dir", "save_checkpoint_epochs", "save_imgs", "dataset_size")
                   if not hasattr(args, k)]
        if missing:
            raise ValueError(f"GanReporter: the options lack {', '.join(missing)}; set them on the namespace "
                             f"passed (dataset_size is the number of steps of an epoch)")
        self.log_dir = os.path.join(args.outputs_dir, "log")
        self.imgs_dir = os.path.join(args.outputs_dir, "imgs")
        self.ckpts_dir = os.path.join(args.outputs_dir, "ckpt")
        for folder in (self.log_dir, self.imgs_dir, self.ckpts_dir):
            os.makedirs(folder, exist_ok=True)
        self.rank = 0
        self.save_checkpoint_epochs = max(1, int(args.save_checkpoint_epochs))
        self.save_imgs = bool(args.save_imgs)
        self.dataset_size = max(1, int(args.dataset_size))
        self.print_iter = PRINT_EVERY
        plain = logging.Formatter("%(message)s")
        console = logging.StreamHandler()
        console.setFormatter(plain)
        self.addHandler(console)
        stamp = datetime.now().strftime("%Y-%m-%d_time_%H_%M_%S")
        self.log_fn = os.path.join(self.log_dir, f"{stamp}_rank_{self.rank}.log")
        self._file = logging.FileHandler(self.log_fn, encoding="utf-8")
        self._file.setFormatter(plain)
        self.addHandler(self._file)
        self.setLevel(logging.INFO)
        self.step = self.epoch = 0
        self.G_loss, self.D_loss = [], []
        self.step_start_time = self.epoch_start_time = time.time()
        self.save_args(args)

    def save_args(self, args):
        """Write every option of ``args`` to the log."""
        self.info("Args:")
        for key, value in vars(args).items():
            self.info("--> %s: %s", key, value)
        self.info("")

    def important_info(self, msg, *args):
        """Write ``msg`` framed by rows of stars."""
        stars = "*" * 70
        self.info("\n%s\n%s\n**        %s\n%s\n%s", stars, stars, msg % args if args else msg, stars, stars)

    def epoch_start(self):
        """Start timing an epoch."""
        self.step_start_time = self.epoch_start_time = time.time()
        self.step = 0
        self.epoch += 1
        self.G_loss, self.D_loss = [], []

    def step_end(self, res_G, res_D):
        """Record a step's losses.

        Args:
            res_G: what ``TrainOneStepG`` returned: ``(fake_A, fake_B, loss_G, loss_G_A, loss_G_B,
                loss_C_A, loss_C_B, loss_idt_A, loss_idt_B)``.
            res_D: the discriminators' loss ``TrainOneStepD`` returned.
        """
        self.step += 1
        losses = [_scalar(v) for v in res_G[2:]]
        self.G_loss.append(losses[0])
        self.D_loss.append(_scalar(res_D))
        if self.step % self.print_iter == 0:
            step_ms = (time.time() - self.step_start_time) * 1000 / self.print_iter
            words = ", ".join(f"{name}: {value:.2f}" for name, value in zip(_LOSS_NAMES, losses))
            self.info("Epoch[%d] [%d/%d] step cost: %.2f ms, %s, D_loss: %.2f", self.epoch, self.step,
                      self.dataset_size, step_ms, words, self.D_loss[-1])
            self.step_start_time = time.time()

    def epoch_end(self, net):
        """Log the epoch's mean losses; save the four networks every ``save_checkpoint_epochs`` epochs.

        Args:
            net: the generators' ``TrainOneStepG``, whose loss cell holds ``generator.G_A``,
                ``generator.G_B``, ``D_A`` and ``D_B``.
        """
        from ..model._checkpoint import save_checkpoint  # noqa: PLC0415

        seconds = time.time() - self.epoch_start_time
        steps = max(1, len(self.G_loss))
        self.info("Epoch [%d] total cost: %.2f ms, per step: %.2f ms, G_loss: %.2f, D_loss: %.2f", self.epoch,
                  seconds * 1000, seconds * 1000 / steps, sum(self.G_loss) / steps, sum(self.D_loss) / steps)
        if self.epoch % self.save_checkpoint_epochs or self.rank:
            return
        loss = getattr(net, "G", net)
        nets = {"G_A": loss.generator.G_A, "G_B": loss.generator.G_B, "D_A": loss.D_A, "D_B": loss.D_B}
        for name, cell in nets.items():
            save_checkpoint(cell, os.path.join(self.ckpts_dir, f"{name}_{self.epoch}.ckpt"))

    def visualizer(self, img_A, img_B, fake_A, fake_B):
        """Save the last step's images of an epoch as ``<epoch>_img_A.jpg``... (when ``save_imgs``)."""
        from ..data.utils import save_image  # noqa: PLC0415

        if not self.save_imgs or self.step % self.dataset_size or self.rank:
            return
        for name, image in (("img_A", img_A), ("img_B", img_B), ("fake_A", fake_A), ("fake_B", fake_B)):
            save_image(image, os.path.join(self.imgs_dir, f"{self.epoch}_{name}.jpg"))

    def start_predict(self, direction):
        """Start timing a prediction pass named ``direction`` (e.g. ``testA_to_fakeB``)."""
        self.predict_start_time = time.time()
        self.direction = direction
        self.info("==========start predict %s===============", direction)

    def end_predict(self):
        """Log the prediction pass's time per image."""
        ms = (time.time() - self.predict_start_time) * 1000
        self.info("total %d imgs cost %.2f ms, per img cost %.2f", self.dataset_size, ms, ms / self.dataset_size)
        self.info("==========end predict %s===============\n", self.direction)

    def start_eval(self):
        """Start timing an evaluation."""
        self.eval_start_time = time.time()
        self.info("==========start eval===============")

    def end_eval(self):
        """Log the evaluation's time per image."""
        ms = (time.time() - self.eval_start_time) * 1000
        self.info("total %d imgs cost %.2f ms, per img cost %.2f", self.dataset_size, ms, ms / self.dataset_size)
        self.info("==========end eval===============\n")


def gan_load_ckpt(G_A_ckpt=None, G_B_ckpt=None, D_A_ckpt=None, D_B_ckpt=None,  # noqa: N803 - 0.3's names
                  G_A=None, G_B=None, D_A=None, D_B=None):
    """Load checkpoint files into the CycleGAN networks given; a file whose network is None is skipped.

    Each file is checked as :meth:`tinyms.model.Model.load_checkpoint` checks one: every weight
    of the network must be in it with its shape and dtype (files written by :class:`GanReporter`,
    whose names carry the training wrapper's prefix, load too).

    Args:
        G_A_ckpt, G_B_ckpt, D_A_ckpt, D_B_ckpt (str): checkpoint files, or None.
        G_A, G_B, D_A, D_B (Layer): the networks receiving them.

    Raises:
        CheckpointError: a file does not match its network.
        ValueError: a file is given for a network that is not.

    Example:
        >>> gan_load_ckpt("ckpt/G_A_200.ckpt", "ckpt/G_B_200.ckpt", G_A=G_A, G_B=G_B)  # doctest: +SKIP
    """
    from ..model._checkpoint import load_weights  # noqa: PLC0415

    pairs = (("G_A", G_A_ckpt, G_A), ("G_B", G_B_ckpt, G_B), ("D_A", D_A_ckpt, D_A), ("D_B", D_B_ckpt, D_B))
    for name, path, net in pairs:
        if path is None:
            continue
        if net is None:
            if name.startswith("D"):  # (0.3 skipped discriminator files without a network)
                continue
            raise ValueError(f"gan_load_ckpt: {name}_ckpt={path!r} is given but {name} is not; pass the network "
                             f"to load it into")
        load_weights(net, path)
