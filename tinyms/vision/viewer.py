"""Look at images with their labels, predictions and boxes: a grid drawn with matplotlib.

``show_images(images, labels, predictions)`` draws one cell per image, titled with the true
label and the prediction (green when they agree, red when not), and for detection the boxes
of each image. With ``path`` the grid is written to a PNG file (atomically, without pyplot, so
the user's matplotlib backend is never touched); without it the grid is shown on screen.
:class:`ImageViewer` is the class behind it.

matplotlib is imported only when a grid is drawn, so ``import tinyms.vision`` stays light.
"""

import math
import os

import numpy as np

from .._fileio import atomic_file
from ..errors import ImageSaveError, InputShapeError

__all__ = ["ImageViewer", "show_images", "ImageSaveError", "MAX_IMAGES"]

#: How many images a grid shows by default; more are left out, with a note above the grid.
MAX_IMAGES = 64
_HARD_LIMIT = 400  # a grid this large is already unreadable (and slow to draw)
_AGREE, _DISAGREE, _PLAIN = "#1a7f37", "#cf222e", "black"


class ImageViewer:
    """A grid of images with true labels, predictions and detection boxes, drawn with matplotlib.

    Images may be a batch array ((N, H, W) grey, (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4),
    a 2-D array (one grey image), or a list mixing numpy arrays (HWC or CHW, grey or RGB/RGBA),
    PIL images and MindSpore tensors. uint8 pixels and floats in [0, 1] are shown as they are;
    any other range (e.g. a normalised network input) is stretched per image to its own
    minimum..maximum.

    Args:
        images: the images, see above.
        labels (sequence): true label per image (class id or name), or None. A single name or
            id (TinyMS 0.3's ``ImageViewer(image, 'cat')``) means ``images`` is one image.
        predictions (sequence): prediction per image: a :class:`~tinyms.vision.Prediction`
            (e.g. an item of the :class:`~tinyms.vision.Predictions` that ``postprocess``
            returns; shown with its score), a class id or a name; or None.
        boxes (sequence): per image, a list of VOC-style boxes ``(xmin, ymin, xmax, ymax)``
            in pixels, optionally followed by a class id or name; or None.
        class_names (sequence of str): names of class ids in labels, predictions and boxes.
        columns (int): cells per row. Default: about the square root of the image count, at
            most 8.
        max_images (int): show at most this many images (default 64, at most 400); the rest
            are left out and the grid's heading says so.
        cell_inches (float): width and height of one cell in inches. Default 2.0.
        dpi (int): pixels per inch of a saved file. Default 100, so a cell is 200 x 200 pixels.
        title (str): heading above the grid, or None.

    Attributes:
        image, label: the images and labels as given (TinyMS 0.3's names).

    Raises:
        InputShapeError: an image cannot be displayed, or labels, predictions or boxes do not
            match the images; the message names the item and the fix.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import ImageViewer
        >>> viewer = ImageViewer(np.zeros((4, 28, 28), np.uint8), labels=[1, 2, 3, 4],
        ...                      predictions=[1, 2, 3, 5])
        >>> viewer.save("grid.png")
        'grid.png'
    """

    def __init__(self, images, labels=None, predictions=None, boxes=None, *, class_names=None,
                 columns=None, max_images=MAX_IMAGES, cell_inches=2.0, dpi=100, title=None):
        if not isinstance(max_images, (int, np.integer)) or not 1 <= max_images <= _HARD_LIMIT:
            raise InputShapeError(f"max_images must be an integer from 1 to {_HARD_LIMIT}, got "
                                  f"{max_images!r}. Fix: show larger sets in pages of at most "
                                  f"{_HARD_LIMIT} images.")
        # TinyMS 0.3's form: ImageViewer(image, 'cat') shows one image (HWC or CHW) with its label.
        self.image, self.label = images, labels
        if isinstance(labels, (str, int, np.integer)):
            images = images if isinstance(images, (list, tuple)) else [images]
            labels = [labels]
        self.class_names = None if class_names is None else [str(name) for name in class_names]
        self.total, shown = _split_images(images, int(max_images))
        self.images = [_displayable(img, i) for i, img in enumerate(shown)]
        count = len(self.images)
        self.labels = _per_image(labels, "labels", self.total, count)
        self.predictions = _per_image(predictions, "predictions", self.total, count)
        self.boxes = [_boxes(b, i) for i, b in enumerate(_per_image(boxes, "boxes", self.total, count)
                                                         or [None] * count)]
        if columns is None:
            columns = min(8, math.ceil(math.sqrt(count)))
        if not isinstance(columns, (int, np.integer)) or columns < 1:
            raise InputShapeError(f"columns must be a positive integer, got {columns!r}. Fix: pass "
                                  f"e.g. columns=4, or leave it out.")
        self.columns = min(int(columns), count)
        self.rows = math.ceil(count / self.columns)
        self.cell_inches = float(cell_inches)
        self.dpi = int(dpi)
        self.title = title

    @property
    def truncated(self):
        """True when some images were left out (more than ``max_images`` were given)."""
        return self.total > len(self.images)

    @property
    def pixel_size(self):
        """(width, height) in pixels of a saved grid."""
        return (round(self.columns * self.cell_inches * self.dpi),
                round(self.rows * self.cell_inches * self.dpi))

    # ----------------------------------------------------------------------- drawing
    def figure(self):
        """Draw the grid on a new matplotlib figure that pyplot does not manage.

        Returns:
            matplotlib.figure.Figure: one axes per image, titled with its labels.
        """
        from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib only when drawing

        return self._draw(Figure(figsize=self._inches(), dpi=self.dpi))

    def show(self):
        """Draw the grid in a pyplot window (the user's matplotlib backend) and show it.

        Returns:
            matplotlib.figure.Figure: the figure shown.
        """
        import matplotlib.pyplot as plt  # noqa: PLC0415 - matplotlib only when drawing

        fig = self._draw(plt.figure(figsize=self._inches(), dpi=self.dpi))
        plt.show()
        return fig

    def save(self, path):
        """Write the grid to the PNG file ``path``, atomically (a temporary name, then a rename).

        Args:
            path (str or os.PathLike): destination, ending in ``.png``; its folder must exist.

        Returns:
            str: ``path``.

        Raises:
            ImageSaveError: ``path`` does not end in ``.png``, its folder does not exist, or the
                file cannot be written; no temporary file is left behind.
        """
        return self._write(self.figure(), path)

    def _write(self, fig, path):
        path = os.fspath(path)
        if not path.lower().endswith(".png"):
            raise ImageSaveError(f"show_images writes PNG files, but {path!r} does not end in "
                                 f".png. Fix: give a path ending in .png.")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ImageSaveError(f"cannot write the image grid to {path!r}: the folder {folder} "
                                 f"does not exist. Fix: create it first (os.makedirs) or choose "
                                 f"another path.")
        try:
            with atomic_file(path, "wb") as f:
                fig.savefig(f, format="png", dpi=self.dpi)
        except OSError as err:
            raise ImageSaveError(f"cannot write the image grid to {path!r}: "
                                 f"{err.strerror or err}. Fix: choose a writable file path (not a "
                                 f"folder) with free disk space.") from err
        return path

    def _inches(self):
        return (self.columns * self.cell_inches, self.rows * self.cell_inches)

    def _draw(self, fig):
        heading = self.title or ""
        if self.truncated:
            note = f"first {len(self.images)} of {self.total} images (max_images={len(self.images)})"
            heading = f"{heading}\n{note}" if heading else note
        if heading:
            fig.suptitle(heading, fontsize=10, y=0.995, va="top")
        # room above the first row, in inches: its two-line captions, then the heading's lines
        room = 0.34 + (0.2 * (heading.count("\n") + 1) if heading else 0.0)
        top = max(0.5, 1.0 - room / (self.rows * self.cell_inches))
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top, wspace=0.1, hspace=0.45)
        for index, image in enumerate(self.images):
            axes = fig.add_subplot(self.rows, self.columns, index + 1)
            axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0,
                        interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            text, colour = self._caption(index)
            if text:
                axes.set_title(text, fontsize=8, color=colour)
            for box in self.boxes[index]:
                self._draw_box(axes, box)
        return fig

    def _name(self, value):
        """A label, class id or prediction as the name shown."""
        if hasattr(value, "label") and hasattr(value, "score"):
            return self._name(value.label)
        if isinstance(value, (int, np.integer)) and self.class_names is not None:
            if 0 <= int(value) < len(self.class_names):
                return self.class_names[int(value)]
        return str(value.item() if isinstance(value, np.generic) else value)

    def _caption(self, index):
        label = None if self.labels is None else self.labels[index]
        pred = None if self.predictions is None else self.predictions[index]
        lines, colour = [], _PLAIN
        if label is not None:
            lines.append(f"label: {self._name(label)}")
        if pred is not None:
            score = getattr(pred, "score", None)
            lines.append(f"pred: {self._name(pred)}" + ("" if score is None else f" ({score:.0%})"))
            if label is not None:
                colour = _AGREE if self._name(label) == self._name(pred) else _DISAGREE
        return "\n".join(lines), colour

    def _draw_box(self, axes, box):
        from matplotlib.patches import Rectangle  # noqa: PLC0415 - matplotlib only when drawing

        xmin, ymin, xmax, ymax, name = box
        colour = _box_colour(None if name is None else self._name(name))
        # pixel (x, y) covers [x - 0.5, x + 0.5] in imshow's coordinates
        axes.add_patch(Rectangle((xmin - 0.5, ymin - 0.5), xmax - xmin, ymax - ymin, fill=False,
                                 edgecolor=colour, linewidth=1.5))
        if name is not None:
            axes.text(xmin - 0.5, ymin - 0.5, self._name(name), fontsize=7, color="white",
                      va="bottom", bbox={"facecolor": colour, "edgecolor": "none", "pad": 1.0})


def show_images(images, labels=None, predictions=None, boxes=None, path=None, *, class_names=None,
                columns=None, max_images=MAX_IMAGES, cell_inches=2.0, dpi=100, title=None):
    """Draw a grid of images with their true and predicted labels and boxes; save or show it.

    Each cell is titled ``label: <true>`` and ``pred: <predicted> (<score>)``, green when they
    agree and red when not; boxes (VOC style, in pixels) are outlined with their class name.
    With ``path`` the grid is written to that PNG file atomically with matplotlib's Agg
    renderer (pyplot and the user's backend are left alone); without it the grid is shown on
    screen with pyplot. Accepted images and the other options are those of
    :class:`ImageViewer`.

    Args:
        images: a batch array, a 2-D grey image, or a list of arrays (HWC or CHW), PIL images
            or tensors.
        labels (sequence): true label per image (class id or name), or None.
        predictions (sequence): per image a :class:`~tinyms.vision.Prediction`, class id or
            name (a :class:`~tinyms.vision.Predictions` list works as is), or None.
        boxes (sequence): per image a list of ``(xmin, ymin, xmax, ymax[, class])``, or None.
        path (str or os.PathLike): PNG file to write; None shows the grid instead.
        class_names (sequence of str): names of class ids.
        columns (int): cells per row (default: about the square root of the count, at most 8).
        max_images (int): show at most this many (default 64); a heading notes the rest.
        cell_inches (float): size of a cell in inches (default 2.0).
        dpi (int): pixels per inch of the file (default 100: 200 x 200 pixels per cell).
        title (str): heading above the grid.

    Returns:
        matplotlib.figure.Figure: the figure drawn (its axes titles hold the captions).

    Raises:
        InputShapeError: an image cannot be displayed, or labels, predictions or boxes do not
            match the images.
        ImageSaveError: ``path`` cannot be written (no temporary file is left behind).

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import show_images
        >>> images = np.random.default_rng(0).integers(0, 255, (6, 28, 28), dtype=np.uint8)
        >>> fig = show_images(images, labels=[0, 1, 2, 3, 4, 5], predictions=[0, 1, 2, 3, 4, 6],
        ...                   path="digits.png")
        >>> fig.axes[5].get_title()
        'label: 5\\npred: 6'
    """
    viewer = ImageViewer(images, labels, predictions, boxes, class_names=class_names,
                         columns=columns, max_images=max_images, cell_inches=cell_inches,
                         dpi=dpi, title=title)
    if path is None:
        return viewer.show()
    fig = viewer.figure()
    viewer._write(fig, path)  # noqa: SLF001 - the same module
    return fig


# --------------------------------------------------------------------------- inputs
_ACCEPTED = ("pass a batch array ((N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4), a 2-D grey "
             "image, or a list of HWC/CHW arrays, PIL images or tensors")


def _split_images(images, limit):
    """(number of images given, the first ``limit`` of them as a list)."""
    if hasattr(images, "asnumpy"):  # a MindSpore tensor
        images = images.asnumpy()
    if hasattr(images, "getbands"):  # one PIL image
        return 1, [images]
    if isinstance(images, np.ndarray):
        if images.ndim == 2:
            return 1, [images]
        if images.ndim in (3, 4):
            return len(images), list(images[:limit])
        raise InputShapeError(f"cannot show an array of shape {images.shape}. Fix: {_ACCEPTED}.")
    if isinstance(images, (list, tuple)):
        return len(images), list(images[:limit])
    raise InputShapeError(f"cannot show images given as {type(images).__name__}. Fix: {_ACCEPTED}.")


def _displayable(img, index):
    """Image ``index`` as float32 (H, W) or (H, W, 3|4) in [0, 1], ready for imshow."""
    if hasattr(img, "getbands"):  # PIL
        keep = img.mode in ("L", "RGB", "RGBA")
        img = np.asarray(img if keep else img.convert("RGBA" if "A" in img.getbands() else "RGB"))
    elif hasattr(img, "asnumpy"):
        img = img.asnumpy()
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4) and arr.shape[0] in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or arr.size == 0:
        raise InputShapeError(f"image {index} has shape {arr.shape}, which is not an image: expected "
                              f"(H, W), (H, W, C) or (C, H, W) with C in 1, 3, 4. Fix: {_ACCEPTED}; a "
                              f"batch inside a list must be unpacked (list(batch)).")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype.kind not in "biuf":
        raise InputShapeError(f"image {index} has dtype {arr.dtype}; expected numbers. Fix: pass uint8 "
                              f"pixels or floats in [0, 1].")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise InputShapeError(f"image {index} contains NaN or infinite values. Fix: pass finite pixel "
                              f"values.")
    low, high = float(arr.min()), float(arr.max())
    if low >= 0.0 and high <= 1.0:
        return arr
    return (arr - low) / (high - low) if high > low else np.zeros_like(arr)


def _per_image(values, name, count, shown):
    """The first ``shown`` of ``values`` (labels, predictions or boxes: ``count`` items), or None."""
    if values is None:
        return None
    if hasattr(values, "asnumpy"):
        values = values.asnumpy()
    if isinstance(values, (str, bytes)) or (hasattr(values, "label") and hasattr(values, "score")):
        values = [values]  # one label or one Prediction for one image
    try:
        values = list(values)
    except TypeError:
        raise InputShapeError(f"{name} must be a sequence with one item per image, got "
                              f"{type(values).__name__}. Fix: pass a list.") from None
    if len(values) != count:
        raise InputShapeError(f"{name} has {len(values)} items but there are {count} images. Fix: "
                              f"pass one item per image (None where there is nothing to show).")
    return values[:shown]


def _boxes(boxes, index):
    """Image ``index``'s boxes as a list of (xmin, ymin, xmax, ymax, class or None)."""
    if boxes is None:
        return []
    result = []
    for number, box in enumerate(list(boxes)):
        box = list(box.tolist() if isinstance(box, np.ndarray) else box)
        name = box.pop() if len(box) == 5 else None
        try:
            coords = [float(v) for v in box]
        except (TypeError, ValueError):
            coords = []
        if len(coords) != 4 or not all(map(math.isfinite, coords)) or \
                coords[2] < coords[0] or coords[3] < coords[1]:
            raise InputShapeError(f"box {number} of image {index} is {box!r}; a box is (xmin, ymin, xmax, "
                                  f"ymax) in pixels with xmin <= xmax and ymin <= ymax, optionally followed "
                                  f"by a class id or name. Fix: pass boxes in VOC order.")
        result.append((*coords, name))
    return result


def _box_colour(name):
    """A colour per class name, stable across calls and processes (no hash randomisation)."""
    from matplotlib import colormaps  # noqa: PLC0415 - matplotlib only when drawing

    palette = colormaps["tab10"].colors
    return palette[sum(map(ord, name)) % len(palette)] if name else palette[0]
