"""Private: detection boxes drawn into an image's pixels with their labels (PIL only).

``tinyms detect`` draws every frame of a video with :func:`draw_detections`; it works on the
pixels themselves (no figure, no matplotlib), so an annotated image keeps its size. Colours
follow the rule of :func:`tinyms.vision.show_images` (matplotlib's ``tab10`` palette, picked
from the class name), so a class looks the same in a notebook grid and in the app's output.
"""

import functools
import math

import numpy as np

from ..errors import InputShapeError

__all__ = ["draw_detections", "box_colour"]

# matplotlib's "tab10" colours, in its order
_PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def box_colour(name):
    """The (R, G, B) colour of class ``name``: stable across calls and processes.

    Args:
        name (str or None): the class name (None: the palette's first colour).

    Returns:
        tuple: three ints in 0..255.

    Example:
        >>> from tinyms.vision._draw import box_colour
        >>> box_colour("dog") == box_colour("dog")
        True
    """
    return _PALETTE[sum(map(ord, str(name))) % len(_PALETTE)] if name else _PALETTE[0]


@functools.lru_cache(maxsize=8)
def _font(size):
    from PIL import ImageFont  # noqa: PLC0415

    return ImageFont.load_default(size=size)


def _as_box(item, index):
    """``(xmin, ymin, xmax, ymax, label or None, score or None)`` of one detection."""
    if isinstance(item, dict):
        coords, label, score = item.get("box"), item.get("label", item.get("label_id")), item.get("score")
    else:
        values = list(item)
        coords, rest = values[:4], values[4:]
        label, score = (rest + [None, None])[:2]
    try:
        box = [float(v) for v in coords]
    except (TypeError, ValueError):
        box = []
    if len(box) != 4 or not all(map(math.isfinite, box)):
        raise InputShapeError(f"detection {index} has box {coords!r}; a box is [xmin, ymin, xmax, ymax] in pixels. "
                              f"Fix: pass dicts with 'box', 'label' and 'score' (as tinyms detect writes them) or "
                              f"tuples (xmin, ymin, xmax, ymax[, label[, score]])")
    return (*box, None if label is None else str(label), None if score is None else float(score))


def draw_detections(image, detections, *, line_width=None, font_size=None, colour=None, text_colour=None):
    """Draw labelled boxes on an RGB image and return the drawn copy (the input is left as it was).

    Each box is outlined in its class colour, with ``label score`` written on a filled tag
    above its top-left corner (inside the box when there is no room above). Boxes reaching
    past the image are clipped to it.

    Args:
        image (numpy.ndarray): (H, W, 3) uint8 RGB pixels.
        detections (sequence): dicts with ``box`` ([xmin, ymin, xmax, ymax] in pixels),
            ``label`` and optionally ``score``, or tuples ``(xmin, ymin, xmax, ymax[, label[,
            score]])``.
        line_width (int): outline width in pixels. Default: from the image size (2 at 640x480).
        font_size (int): label text height in pixels. Default: from the image size (14 at 640x480).
        colour (tuple): (R, G, B) of every outline and tag. Default: each class's own colour
            (:func:`box_colour`).
        text_colour (tuple): (R, G, B) of the label text. Default: black or white, whichever
            reads better on the tag.

    Returns:
        numpy.ndarray: (H, W, 3) uint8, the image with the boxes drawn.

    Raises:
        InputShapeError: the image is not (H, W, 3) uint8, or a detection has no 4 finite coordinates.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision._draw import draw_detections
        >>> image = np.zeros((120, 160, 3), np.uint8)
        >>> out = draw_detections(image, [{"box": [20, 30, 100, 90], "label": "cat", "score": 0.91}])
        >>> out.shape, bool(out[60, 20].any()), bool(image.any())
        ((120, 160, 3), True, False)
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415

    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InputShapeError(f"draw_detections takes an (H, W, 3) uint8 RGB image, got shape {arr.shape} "
                              f"{arr.dtype}. Fix: convert it first, e.g. np.asarray(pil_image.convert('RGB'))")
    height, width = arr.shape[:2]
    side = max(height, width)
    line_width = int(line_width or max(2, round(side / 320)))
    font = _font(int(font_size or max(11, round(side / 45))))
    canvas = Image.fromarray(np.ascontiguousarray(arr))
    draw = ImageDraw.Draw(canvas)
    for index, item in enumerate(detections):
        xmin, ymin, xmax, ymax, label, score = _as_box(item, index)
        xmin, xmax = (min(max(v, 0.0), width - 1.0) for v in (xmin, xmax))
        ymin, ymax = (min(max(v, 0.0), height - 1.0) for v in (ymin, ymax))
        outline = box_colour(label) if colour is None else tuple(colour)
        draw.rectangle([xmin, ymin, max(xmin, xmax), max(ymin, ymax)], outline=outline, width=line_width)
        text = " ".join(part for part in (label, None if score is None else f"{score:.2f}") if part)
        if not text:
            continue
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tag_w, tag_h = right - left + 4, bottom - top + 4
        y = ymin - tag_h if ymin >= tag_h else ymin
        x = min(xmin, max(0.0, width - tag_w))
        draw.rectangle([x, y, x + tag_w, y + tag_h], fill=outline)
        ink = tuple(text_colour) if text_colour is not None else (
            (0, 0, 0) if 0.299 * outline[0] + 0.587 * outline[1] + 0.114 * outline[2] > 150 else (255, 255, 255))
        draw.text((x + 2 - left, y + 2 - top), text, fill=ink, font=font)
    return np.array(canvas)
