"""Private: the learning-rate range test behind :meth:`tinyms.model.Model.lr_find`.

The sweep trains for up to ``num_steps`` steps while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, one rate per step, and records each step's loss. The weights and
the optimizer's state (moments, step counter, learning rate) are copied before and put back
after, bit for bit, so the model is exactly as it was.
"""

import contextlib
import math

import numpy as np

from .. import _monitor
from ..errors import NotCompiledError
from ._modes import untouched

__all__ = ["LRFinderResult", "lr_find"]

# The valley suggestion sits this many decades of learning rate below the smoothed minimum.
_VALLEY_DECADES = 1.0
_SLOPE_DECADES = 0.5
# Consecutive non-finite losses after which the weights are taken to be ruined and the sweep ends.
_NON_FINITE_LIMIT = 3


class LRFinderResult:
    """The curve a learning-rate sweep measured, with suggested learning rates.

    Attributes:
        lrs (list[float]): the learning rate of each step run, increasing.
        losses (list[float]): each step's training loss (NaN/inf kept as measured).
        smoothed (list[float]): the exponentially smoothed, bias-corrected loss at each step
            (NaN where the step's loss was not finite: those steps are left out).
        steepest (float): the rate where the smoothed loss falls fastest per decade of
            learning rate (most negative slope against log lr over half a decade, so that
            step-to-step noise does not count), looked for up to the minimum.
        valley (float): the rate one decade (10x) below the rate of the smoothed minimum,
            snapped to the nearest rate swept (the first rate when the minimum is within the
            first decade): low enough to sit inside the descending valley, clear of the
            divergence that follows the minimum.
        minimum (float): the rate at which the smoothed loss is lowest.
        diverged (bool): the sweep stopped before ``num_steps`` because the smoothed loss rose
            above ``diverge`` times its best (or the loss stayed NaN/inf).
        suggestions (dict): ``{"steepest": ..., "valley": ...}``.

    Each suggestion is None when fewer than two finite losses were measured.

    Example:
        >>> from tinyms.model import LRFinderResult
        >>> lrs = [10 ** (-5 + i / 2) for i in range(11)]          # 1e-5 to 1, half a decade apart
        >>> losses = [2.3, 2.3, 2.2, 2.0, 1.6, 1.0, 0.7, 0.6, 0.8, 2.0, 5.0]
        >>> result = LRFinderResult(lrs, losses, smoothed=losses)  # what model.lr_find(train_ds) returns
        >>> round(result.minimum, 4), round(result.valley, 5), result.steepest
        (0.0316, 0.00316, 0.001)
        >>> result.suggestions == {"steepest": result.steepest, "valley": result.valley}
        True
        >>> result.plot("lr.png")
        'lr.png'
    """

    def __init__(self, lrs, losses, smoothed, diverged=False):
        self.lrs = [float(v) for v in lrs]
        self.losses = [float(v) for v in losses]
        self.smoothed = [float(v) for v in smoothed]
        self.diverged = bool(diverged)
        self.steepest, self.valley, self.minimum = _suggest(self.lrs, self.smoothed)

    @property
    def suggestions(self):
        return {"steepest": self.steepest, "valley": self.valley}

    def __repr__(self):
        def fmt(v):
            return "None" if v is None else f"{v:.3g}"
        return (f"LRFinderResult(steps={len(self.lrs)}, lr {fmt(self.lrs[0] if self.lrs else None)} to "
                f"{fmt(self.lrs[-1] if self.lrs else None)}, steepest={fmt(self.steepest)}, "
                f"valley={fmt(self.valley)}, diverged={self.diverged})")

    def plot(self, path=None, figsize=(6.0, 4.0), dpi=100):
        """Draw the loss against the learning rate (log scale) with the suggestions marked.

        Args:
            path (str): a PNG file to write (``.png`` is appended when the name has no
                suffix); written to a temporary name, fsync'ed and renamed. None shows the
                figure on screen instead.
            figsize (tuple): (width, height) in inches. dpi (int): dots per inch; a PNG is
                ``figsize * dpi`` pixels (600 x 400 by default).

        Returns:
            str or matplotlib.figure.Figure: the path written, or the figure shown.

        Raises:
            ValueError: nothing was measured, or ``path`` does not end in ``.png``.

        Example:
            >>> from tinyms.model import LRFinderResult
            >>> lrs = [10 ** (-5 + i / 2) for i in range(11)]      # usually model.lr_find(train_ds)
            >>> losses = [2.3, 2.3, 2.2, 2.0, 1.6, 1.0, 0.7, 0.6, 0.8, 2.0, 5.0]
            >>> LRFinderResult(lrs, losses, smoothed=losses).plot("lr_find.png")
            'lr_find.png'
        """
        if not self.lrs:
            raise ValueError("this LRFinderResult has no steps to plot")
        if path is not None:
            import os
            path = os.fspath(path)
            if not os.path.splitext(path)[1]:
                path += ".png"
            if not path.lower().endswith(".png"):
                raise ValueError(f"LRFinderResult.plot writes PNG files; name it e.g. lr_find.png, got {path!r}")
        if path is None:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=figsize, dpi=dpi)
        else:
            from matplotlib.figure import Figure
            fig = Figure(figsize=figsize, dpi=dpi)
        self._draw(fig.add_subplot(1, 1, 1))
        fig.tight_layout()
        if path is None:
            import matplotlib.pyplot as plt
            plt.show()
            return fig
        from .._fileio import atomic_file
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        with atomic_file(path, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
        return path

    def _draw(self, ax):
        lrs = np.asarray(self.lrs)
        ax.plot(lrs, self.losses, color="tab:blue", alpha=0.3, linewidth=1, label="loss")
        ax.plot(lrs, self.smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
        for name, value, color in (("steepest", self.steepest, "tab:red"), ("valley", self.valley, "tab:green")):
            if value is None:
                continue
            i = int(np.argmin(np.abs(np.log(lrs) - math.log(value))))
            ax.plot([value], [self.smoothed[i]], "o", color=color, markersize=7, label=f"{name} {value:.2g}")
        finite = np.asarray([v for v in self.smoothed if math.isfinite(v)])
        if finite.size:  # keep the diverging tail from squashing the interesting part
            low, high = float(finite.min()), float(finite[0]) if finite[0] > finite.min() else float(finite.max())
            pad = 0.1 * max(high - low, abs(low) * 0.05, 1e-12)
            ax.set_ylim(low - pad, max(high, low) + 3 * pad)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title("Learning-rate sweep")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="best")


def _suggest(lrs, smoothed):
    """(steepest, valley, minimum) learning rates from the smoothed curve."""
    idx = [i for i, v in enumerate(smoothed) if math.isfinite(v)]
    if len(idx) < 2:
        return None, None, None
    values = np.asarray([smoothed[i] for i in idx])
    logs = np.log10(np.asarray([lrs[i] for i in idx]))
    low = int(np.argmin(values))
    minimum = lrs[idx[low]]
    # steepest: most negative slope on the way down to the minimum (the whole curve when the
    # minimum comes within the first two points, i.e. the loss never went down)
    end = low + 1 if low >= 2 else len(values)
    steepest = _steepest(values[:end], logs[:end], [lrs[i] for i in idx[:end]])
    target = logs[low] - _VALLEY_DECADES
    valley = lrs[idx[int(np.argmin(np.abs(logs[:low + 1] - target)))]]
    return steepest, valley, minimum


def _steepest(values, logs, rates):
    """The rate at the middle of the steepest fall, measured over spans of half a decade.

    Neighbouring points are a few hundredths of a decade apart, so the batch-to-batch noise of
    the first, barely smoothed steps would outweigh the real descent in a point-to-point
    gradient (a sweep then "suggests" its own start rate). A half-decade span averages it out.
    Sweeps narrower than that fall back to the point-to-point gradient.
    """
    if len(values) < 2:
        return rates[0]
    best, at = None, None
    for i in range(len(values)):
        j = int(np.searchsorted(logs, logs[i] + _SLOPE_DECADES))
        if j >= len(values):
            break
        slope = (values[j] - values[i]) / (logs[j] - logs[i])
        if best is None or slope < best:
            best, at = slope, (logs[i] + logs[j]) / 2
    if at is None:
        return rates[int(np.argmin(np.gradient(values, logs)))]
    return rates[int(np.argmin(np.abs(logs - at)))]


def _check(start_lr, end_lr, num_steps, smooth, diverge):
    from .._checks import positive_int
    start_lr = _monitor.check_number(start_lr, "start_lr", minimum=0.0, allow_equal=False)
    end_lr = _monitor.check_number(end_lr, "end_lr", minimum=0.0, allow_equal=False)
    if end_lr <= start_lr:
        raise ValueError(f"end_lr ({end_lr:g}) must be larger than start_lr ({start_lr:g}): the sweep "
                         f"raises the learning rate, e.g. start_lr=1e-7, end_lr=10")
    num_steps = positive_int(num_steps, "num_steps", 100)
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2 to sweep a range, got {num_steps}")
    smooth = _monitor.check_number(smooth, "smooth", minimum=0.0, below=1.0)
    diverge = _monitor.check_number(diverge, "diverge", minimum=1.0, allow_equal=False)
    return start_lr, end_lr, num_steps, smooth, diverge


def lr_find(model, dataset, start_lr=1e-7, end_lr=10.0, num_steps=100, smooth=0.98, diverge=4.0):
    """Run the sweep for :meth:`Model.lr_find` (see its documentation)."""
    from .. import context as _context
    from ._common import dataset_size, run_first
    from ._loop import custom_train_step, first_label_check

    start_lr, end_lr, num_steps, smooth, diverge = _check(start_lr, end_lr, num_steps, smooth, diverge)
    try:
        model._check_trainable("lr_find()")
    except NotCompiledError as err:
        raise NotCompiledError(f"lr_find() trains for a few steps: {err}") from None
    lr_params = _monitor.lr_parameters(model.optimizer, "lr_find")
    size = dataset_size(dataset, "dataset")
    _context._apply_defaults()
    train_net = model._build_train_net()
    saved = _monitor.snapshot(model.network, model.optimizer)
    ratio = end_lr / start_lr
    lrs, losses, smoothed = [], [], []
    average, finite, best, bad_run, diverged = 0.0, 0, math.inf, 0, False
    passes = math.ceil(num_steps / size)
    iterator = dataset.create_tuple_iterator(num_epochs=passes, do_copy=False)
    # every layer's training flag and the network's config (a first step on another image size
    # adopts that size) come back as they were, with the weights
    with untouched(model.network):
        try:
            train_net.set_train(True)
            batches = (batch for _ in range(passes) for batch in iterator)
            step_fn = labels_ok = None
            for i in range(num_steps):
                batch = next(batches, None)
                if batch is None:
                    break
                lr = start_lr * ratio ** (i / (num_steps - 1))
                for param in lr_params:
                    _monitor.set_lr(param, lr)
                if step_fn is None:
                    labels_ok = first_label_check(model, batch)  # None: no label column
                    if custom_train_step(model):  # a subclass's train_step is the step, as in train()
                        step_fn = model.train_step
                        loss = step_fn(*batch)
                    else:
                        step_fn = model._step_function(train_net, batch)
                        loss = run_first(step_fn, batch, model)
                else:
                    if labels_ok is not None:
                        labels_ok(batch)
                    loss = step_fn(*batch)
                value = float(np.mean(loss.asnumpy()))
                lrs.append(lr)
                losses.append(value)
                if not math.isfinite(value):
                    smoothed.append(float("nan"))
                    bad_run += 1
                    if bad_run >= _NON_FINITE_LIMIT:
                        diverged = True
                        break
                    continue
                bad_run = 0
                finite += 1
                average = smooth * average + (1.0 - smooth) * value
                current = average / (1.0 - smooth ** finite) if smooth > 0 else value
                smoothed.append(current)
                best = min(best, current)
                if finite > 1 and best > 0 and current > diverge * best:
                    diverged = True
                    break
        finally:
            with contextlib.suppress(Exception):  # free the pipeline's threads now
                iterator.stop()
            _monitor.restore(saved)
    return LRFinderResult(lrs, losses, smoothed, diverged)
