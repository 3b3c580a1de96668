"""Drawing TinyMS 0.3's detections on OpenCV images, and saving them.

Images are OpenCV's: (H, W, 3) uint8 in BGR order, colours (B, G, R) tuples. The boxes are drawn
into the image itself (and it is returned, as in 0.3) by TinyMS's own drawing, the one
``tinyms detect`` uses (:func:`tinyms.vision._draw.draw_detections`): each outline in
``box_color`` with its ``"name, score"`` label on a tag above it. The label is drawn in TinyMS's
font: ``text_font`` and the Hershey stroke width ``font_size`` are accepted for 0.3's calls but
change nothing; ``font_scale`` sets the text height (about 12 pixels per unit, as OpenCV's
plain Hershey font). OpenCV itself is not needed.
"""

import math
import os

import numpy as np

from ....errors import ImageSaveError, InputShapeError, UnknownNameError

__all__ = ["save_image", "draw_boxes_on_image", "visualize_boxes_on_image"]

#: The formats :func:`save_image` writes.
IMG_FORMAT = ("jpg", "jpeg", "png")
#: OpenCV's ``cv2.FONT_HERSHEY_PLAIN``, the default ``text_font`` (accepted, not used).
FONT_HERSHEY_PLAIN = 1
_PIXELS_PER_FONT_SCALE = 12


def _bgr(img, what):
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        shape = f"shape {img.shape} {img.dtype}" if isinstance(img, np.ndarray) else type(img).__name__
        raise InputShapeError(f"{what} takes an (H, W, 3) uint8 BGR image as cv2.imread gives, got {shape}")
    return img


def _colour(value, name):
    """An OpenCV (B, G, R) colour as the (R, G, B) tuple PIL draws with."""
    try:
        channels = [int(v) for v in value]
    except (TypeError, ValueError):
        channels = []
    if len(channels) != 3 or not all(0 <= v <= 255 for v in channels):
        raise ValueError(f"{name} must be a (B, G, R) colour of three values from 0 to 255, got {value!r}")
    return tuple(channels[::-1])


def _entry(bbox, score, category, show_scores, index):
    """One detection as ``draw_detections`` takes it: the [x, y, w, h] box as corners, the label text."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        x = math.nan
    if math.isnan(x) or not all(math.isfinite(v) for v in (x, y, w, h)):
        raise InputShapeError(f"detection {index}: bbox must be [x, y, width, height] in pixels, got {bbox!r:.80}")
    text = f"{category}, {round(float(score), 3)}" if show_scores else f"{category}"
    return {"box": [x, y, x + w, y + h], "label": text}


def _draw(img, entries, box_color, box_thickness, font_scale, text_color):
    """Draw ``entries`` into the BGR image ``img`` itself; return it."""
    from ....vision._draw import draw_detections  # noqa: PLC0415

    if isinstance(box_thickness, bool) or not isinstance(box_thickness, int) or box_thickness < 1:
        raise ValueError(f"box_thickness must be a whole number of pixels, at least 1, got {box_thickness!r}")
    if isinstance(font_scale, bool) or not isinstance(font_scale, (int, float)) or not 0 < font_scale <= 50:
        raise ValueError(f"font_scale must be a positive number (OpenCV's text scale), got {font_scale!r}")
    outline, ink = _colour(box_color, "box_color"), _colour(text_color, "text_color")
    if not entries:
        return img
    drawn = draw_detections(img[..., ::-1], entries, line_width=box_thickness,
                            font_size=max(6, round(_PIXELS_PER_FONT_SCALE * font_scale)), colour=outline,
                            text_colour=ink)
    img[...] = drawn[..., ::-1]
    return img


def draw_boxes_on_image(img, boxes, box_scores, box_classes, box_color=(0, 255, 0), box_thickness=3,
                        text_font=FONT_HERSHEY_PLAIN, font_scale=3, text_color=(0, 0, 255), font_size=3,
                        show_scores=True):
    """Draw one detection box and its label into an OpenCV image.

    Args:
        img (numpy.ndarray): (H, W, 3) uint8 BGR image; drawn into.
        boxes (list): the box, [x, y, width, height] in pixels (a detection's ``'bbox'``).
        box_scores (float): its score.
        box_classes (str): its class name (a detection's ``'category_id'``).
        box_color (tuple): outline and tag colour, (B, G, R). Default: green.
        box_thickness (int): outline width in pixels. Default: 3.
        text_font (int): OpenCV font; accepted for TinyMS 0.3's calls, not used.
        font_scale (float): text size, as OpenCV's scale (about 12 pixels per unit). Default: 3.
        text_color (tuple): label colour, (B, G, R). Default: red.
        font_size (int): OpenCV's text stroke width; accepted, not used.
        show_scores (bool): write ``"name, score"`` (score rounded to 3 digits) rather than the
            name alone. Default: True.

    Returns:
        numpy.ndarray: ``img``, with the box drawn.

    Raises:
        InputShapeError: ``img`` is not an (H, W, 3) uint8 image, or the box not 4 numbers.
        ValueError: a colour, thickness or scale out of range.

    Example:
        >>> import numpy as np
        >>> from tinyms.app import draw_boxes_on_image
        >>> img = np.zeros((120, 160, 3), np.uint8)
        >>> out = draw_boxes_on_image(img, [20, 40, 100, 60], 0.91, "cat", box_thickness=2, font_scale=1)
        >>> out is img, img[70, 20].tolist()                       # the left side, green in BGR
        (True, [0, 255, 0])
    """
    _bgr(img, "draw_boxes_on_image")
    return _draw(img, [_entry(boxes, box_scores, box_classes, show_scores, 0)], box_color, box_thickness,
                 font_scale, text_color)


def visualize_boxes_on_image(img, bbox_data, box_color=(0, 255, 0), box_thickness=3, text_font=FONT_HERSHEY_PLAIN,
                             font_scale=3, text_color=(0, 0, 255), font_size=3, show_scores=True):
    """Draw every detection of :func:`object_detection_predict` into an OpenCV image.

    Args:
        img (numpy.ndarray): (H, W, 3) uint8 BGR image, the one detected; drawn into.
        bbox_data (list of dict): the detections, ``{'bbox': [x, y, w, h], 'score',
            'category_id'}`` each.
        box_color, box_thickness, text_font, font_scale, text_color, font_size, show_scores:
            as for :func:`draw_boxes_on_image`.

    Returns:
        numpy.ndarray: ``img``, with the boxes drawn (unchanged when there are none).

    Raises:
        InputShapeError: ``img`` is not an (H, W, 3) uint8 image, or a detection has no
            ``bbox``, ``score`` and ``category_id``.
        ValueError: a colour, thickness or scale out of range.

    Example:
        >>> import numpy as np
        >>> from tinyms.app import visualize_boxes_on_image
        >>> img = np.zeros((120, 160, 3), np.uint8)
        >>> found = [{'bbox': [20, 40, 100, 60], 'score': 0.91, 'category_id': 'cat'}]
        >>> visualize_boxes_on_image(img, found, box_color=(255, 0, 0), font_scale=1)[70, 20].tolist()
        [255, 0, 0]
    """
    _bgr(img, "visualize_boxes_on_image")
    entries = []
    for index, item in enumerate(bbox_data):
        if not isinstance(item, dict) or not {"bbox", "score", "category_id"} <= set(item):
            raise InputShapeError(f"detection {index} must be a dict with 'bbox', 'score' and 'category_id' (as "
                                  f"object_detection_predict returns), got {item!r:.80}")
        entries.append(_entry(item["bbox"], item["score"], item["category_id"], show_scores, index))
    return _draw(img, entries, box_color, box_thickness, font_scale, text_color)


def save_image(img, save_dir="./", img_name="no_name", img_format="jpg"):
    """Write an OpenCV image as ``save_dir/img_name.img_format``, complete or not at all.

    The file is written under a temporary name, flushed and renamed, so a reader never sees
    half an image. JPEG files are written at quality 95, as OpenCV's default.

    Args:
        img (numpy.ndarray): (H, W, 3) uint8 BGR image (or (H, W) grey).
        save_dir (str): an existing folder. Default: the current one.
        img_name (str): the file name without its suffix. Default: ``"no_name"``.
        img_format (str): ``"jpg"``, ``"jpeg"`` or ``"png"`` (any case). Default: ``"jpg"``.

    Returns:
        str: the path written.

    Raises:
        UnknownNameError: another format.
        InputShapeError: not an 8-bit image.
        ImageSaveError: the folder does not exist or the file cannot be written.

    Example:
        >>> import numpy as np
        >>> from tinyms.app import save_image
        >>> save_image(np.zeros((48, 64, 3), np.uint8), ".", "blank", "png")
        './blank.png'
    """
    from PIL import Image  # noqa: PLC0415

    from ...._fileio import atomic_file  # noqa: PLC0415

    if str(img_format).lower() not in IMG_FORMAT:
        raise UnknownNameError(f"img_format: save_image writes {', '.join(IMG_FORMAT)}, got {img_format!r}")
    if isinstance(img, np.ndarray) and img.ndim == 2 and img.dtype == np.uint8:
        pixels = img
    else:
        pixels = _bgr(img, "save_image")[..., ::-1]
    path = os.path.join(os.fspath(save_dir), f"{img_name}.{img_format}")
    if not os.path.isdir(save_dir):
        raise ImageSaveError(f"save_image: the folder {save_dir} does not exist; create it first (os.makedirs)")
    fmt = "PNG" if str(img_format).lower() == "png" else "JPEG"
    try:
        with atomic_file(path, "wb") as f:
            Image.fromarray(np.ascontiguousarray(pixels)).save(f, format=fmt, **({"quality": 95} if fmt == "JPEG"
                                                                                 else {}))
    except OSError as err:
        raise ImageSaveError(f"save_image cannot write {path}: {err.strerror or err}; choose a writable folder "
                             f"with free space") from err
    return path
