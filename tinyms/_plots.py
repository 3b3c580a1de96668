"""Private matplotlib drawing shared by ``History.plot`` and ``tinyms.metrics.plot_confusion_matrix``.

matplotlib is imported inside the functions, on first use, so importing TinyMS never loads it.
A figure written to a file is built without pyplot (no global state, no display needed) and
saved atomically; a figure for the screen goes through pyplot and ``show()``.
"""

import math
import os

import numpy as np

PANEL_SIZE = (5.0, 4.0)  # inches per History panel
_FORMATS = (".png", ".svg", ".pdf")
_TRAIN_COLOR, _VAL_COLOR = "tab:blue", "tab:orange"


def _target(path):
    """``(path, format)`` for an output file name; a name without a suffix gets ``.png``."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if not suffix:
        path, suffix = path + ".png", ".png"
    if suffix not in _FORMATS:
        raise ValueError(f"plots are written as {', '.join(_FORMATS)}; got {path!r}: "
                         f"name the file e.g. curves.png")
    return path, suffix[1:]


def new_figure(figsize, dpi, on_screen):
    """A matplotlib Figure; through pyplot only when it is going to be shown."""
    if on_screen:
        import matplotlib.pyplot as plt
        return plt.figure(figsize=figsize, dpi=dpi)
    from matplotlib.figure import Figure
    return Figure(figsize=figsize, dpi=dpi)


def finish(fig, path):
    """Write ``fig`` to ``path`` atomically (and return the path), or show it (and return it)."""
    if path is None:
        import matplotlib.pyplot as plt
        plt.show()
        return fig
    from ._fileio import atomic_file
    path, fmt = _target(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=fig.dpi)
    return path


def _check_size(figsize, dpi):
    if figsize is not None:
        if len(figsize) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in figsize):
            raise ValueError(f"figsize must be (width, height) in inches, both positive, got {figsize!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"dpi must be a positive number, got {dpi!r}")


# --------------------------------------------------------------------- history
def _metric_names(history):
    names = []
    for key in history:
        if key in ("loss", "val_loss", "lr"):
            continue
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    return names


def _varies(values):
    finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    return len(finite) > 1 and max(finite) - min(finite) > 1e-12 * max(abs(max(finite)), 1e-30)


def _step_positions(step_epochs):
    """x of each step: step i (1-based) of n in epoch e sits at e - 1 + i / n."""
    epochs = np.asarray(step_epochs, dtype=np.int64)
    xs = np.empty(len(epochs), dtype=np.float64)
    for e in np.unique(epochs):
        where = np.flatnonzero(epochs == e)
        xs[where] = e - 1 + np.arange(1, len(where) + 1) / len(where)
    return xs


def history_panels(record, metrics=None):
    """The panel names ``History.plot`` draws: "loss", then metrics (and "lr" when it changed)."""
    available = _metric_names(record.history)
    has_lr = "lr" in record.history or any(math.isfinite(v) for v in record.steps.get("lr", []))
    if metrics is None:
        panels = list(available)
        lr_values = list(record.steps.get("lr", [])) + list(record.history.get("lr", []))
        if has_lr and _varies(lr_values):
            panels.append("lr")
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        panels = []
        for name in metrics:
            base = name[4:] if name.startswith("val_") else name
            if (base == "lr" and has_lr) or base in available:
                if base not in panels:
                    panels.append(base)
            elif base != "loss":
                have = available + (["lr"] if has_lr else [])
                raise ValueError(f"no metric {name!r} in this history; it has: {', '.join(have) or 'only the loss'}")
    return ["loss"] + panels


def plot_history(record, path=None, metrics=None, figsize=None, dpi=100):
    from matplotlib.ticker import MaxNLocator
    _check_size(figsize, dpi)
    panels = history_panels(record, metrics)
    if figsize is None:
        figsize = (PANEL_SIZE[0] * len(panels), PANEL_SIZE[1])
    fig = new_figure(figsize, dpi, on_screen=path is None)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    epochs = np.asarray(record.epoch, dtype=np.float64)
    step_x = _step_positions(record.steps["epoch"]) if record.steps["epoch"] else None
    marker = "o" if len(epochs) < 30 else None
    for ax, name in zip(axes, panels):
        if name == "lr":
            if step_x is not None and any(math.isfinite(v) for v in record.steps["lr"]):
                ax.plot(step_x, record.steps["lr"], color=_TRAIN_COLOR, label="learning rate")
            else:
                ax.plot(epochs, record.history["lr"], color=_TRAIN_COLOR, marker=marker, label="learning rate")
            ax.set_title("learning rate")
        else:
            if name == "loss" and step_x is not None:
                ax.plot(step_x, record.steps["loss"], color=_TRAIN_COLOR, alpha=0.25, linewidth=0.8,
                        label="train (per step)")
            if name in record.history:
                ax.plot(epochs, record.history[name], color=_TRAIN_COLOR, marker=marker, label="train")
            if f"val_{name}" in record.history:
                ax.plot(epochs, record.history[f"val_{name}"], color=_VAL_COLOR, marker=marker,
                        label="validation")
            ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    fig.tight_layout()
    return finish(fig, path)


# ------------------------------------------------------------ confusion matrix
def confusion_size(class_count):
    """The confusion-matrix figure's side in inches: 0.5 per class plus 2, from 4 to 16."""
    return min(max(4.0, 0.5 * class_count + 2.0), 16.0)


def plot_confusion(matrix, labels, path=None, normalize=False, figsize=None, dpi=100, title=None):
    _check_size(figsize, dpi)
    counts = np.asarray(matrix)
    n = counts.shape[0]
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)
    else:
        values = counts
    if figsize is None:
        side = confusion_size(n)
        figsize = (side, side)
    fig = new_figure(figsize, dpi, on_screen=path is None)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(int(values.max()), 1))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if n <= 50:
        ticks = np.arange(n)
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        long_names = max(len(str(label)) for label in labels) > 2
        ax.set_xticklabels(labels, rotation=45 if long_names else 0, ha="right" if long_names else "center")
        ax.set_yticklabels(labels)
    if n <= 30:
        threshold = (1 if normalize else max(values.max(), 1)) / 2
        for i in range(n):
            for j in range(n):
                text = f"{values[i, j]:.2f}" if normalize else str(int(values[i, j]))
                ax.text(j, i, text, ha="center", va="center", fontsize="small",
                        color="white" if values[i, j] > threshold else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix"))
    fig.tight_layout()
    return finish(fig, path)
