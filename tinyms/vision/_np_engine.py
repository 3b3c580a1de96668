"""The numpy/PIL executor of preprocessing recipes: one function per op of :data:`~tinyms.vision._recipe.OPS`.

This executor never loads MindSpore, so the serving front end (and any light process) can
prepare images exactly as training did. Its twin is :mod:`tinyms.vision._ms_engine`, which
runs the same recipes in MindSpore's dataset engine; a test runs every op through both.

Deterministic ops give the same numbers as MindSpore: ``resize`` reproduces, bit for bit, the
fixed-point bilinear resize that MindSpore's ``Resize(..., Inter.LINEAR)`` runs on uint8 images
(OpenCV's ``INTER_LINEAR``: 11-bit coefficients, an exact integer horizontal pass, and a
vertical pass that rounds the way the vectorised kernel does); crops use the same offsets;
``rescale`` and ``normalize`` compute in float32. Random ops draw from a numpy ``Generator``,
so they agree with MindSpore in distribution, not draw for draw.

Boxes: :func:`run_with_boxes` runs a detection recipe on an image and its [xmin, ymin, xmax,
ymax] pixel boxes. Every op that moves pixels (``OPS[op].boxes == "move"``) has one box
function in :data:`BOX_FUNCTIONS`; MindSpore's dataset engine calls the same functions
(``VOCTransform.apply_ds``), as do single images and serving, so the three cannot drift.
Where OpenCV is installed the box steps resize with it (the same pixels as
:func:`resize_bilinear_u8`, about 100 times faster) and colour jitter uses its per-pixel
matrix product.
"""

import functools
import math

import numpy as np

from ..errors import RecipeError
from ._recipe import OPS, _resized

__all__ = ["run", "run_with_boxes", "resize_bilinear_u8", "fast_resize_u8", "letterbox_geometry",
           "box_affine", "check_box_steps", "FUNCTIONS", "BOX_FUNCTIONS"]

_COEF_SCALE = 2048  # 11 fractional bits


@functools.lru_cache(maxsize=256)
def _axis_coefficients(src, dst, clamp):
    """Source indices and fixed-point weights for one axis (OpenCV's INTER_LINEAR set-up)."""
    scale = 1.0 / (np.float64(dst) / np.float64(src))
    pos = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(pos).astype(np.int64)
    frac = (pos - first.astype(np.float32)).astype(np.float32)
    edge = first >= src - 1
    if clamp:  # the horizontal pass clamps positions outside the image to its border pixel
        low = first < 0
        frac[low], first[low] = 0, 0
        frac[edge], first[edge] = 0, src - 1
    w0 = np.rint((np.float32(1) - frac) * np.float32(_COEF_SCALE)).astype(np.int32)
    w1 = np.rint(frac * np.float32(_COEF_SCALE)).astype(np.int32)
    second = np.clip(first + 1, 0, src - 1)
    first = np.clip(first, 0, src - 1)
    for arr in (first, second, w0, w1, edge):
        arr.flags.writeable = False  # shared through the cache
    return first, second, w0, w1, edge


@functools.lru_cache(maxsize=64)
def _horizontal_matrix(src, dst):
    """(src, dst) float64 matrix whose product with a pixel row is the horizontal pass, exactly."""
    first, second, w0, w1, _ = _axis_coefficients(src, dst, True)
    matrix = np.zeros((src, dst), np.float64)
    cols = np.arange(dst)
    np.add.at(matrix, (first, cols), w0)
    np.add.at(matrix, (second, cols), w1)
    matrix.flags.writeable = False
    return matrix


@functools.lru_cache(maxsize=256)
def _vertical_taps(src, dst):
    """The source rows the vertical pass reads, and its taps as indices into those rows."""
    first, second, w0, w1, _ = _axis_coefficients(src, dst, False)
    needed = np.union1d(first, second)
    taps = (needed, np.searchsorted(needed, first), np.searchsorted(needed, second), w0, w1)
    for arr in taps:
        arr.flags.writeable = False
    return taps


def _resize_chw(img, height, width):
    """(H, W, C) uint8 -> (C, height, width) int32 levels 0..255, as MindSpore's bilinear Resize."""
    h, w, _ = img.shape
    planes = img.transpose(2, 0, 1)
    if (h, w) == (height, width):
        return planes.astype(np.int32)
    # Horizontal pass: integer weights (sum 2048) applied with a float64 product, which is
    # exact here (every partial sum is an integer below 2**53).
    needed, y0, y1, yw0, yw1 = _vertical_taps(h, height)
    rows = (planes[:, needed].astype(np.float64) @ _horizontal_matrix(w, width)).astype(np.int32)
    # Vertical pass as the vectorised kernel computes it: 16-bit high products of the rows
    # shifted right by 4, a saturating 16-bit sum, then a rounding shift by 2. int32 is wide
    # enough: the largest product is (255 * 2048 >> 4) * 2048.
    top = ((rows[:, y0] >> 4) * yw0[None, :, None]) >> 16
    bottom = ((rows[:, y1] >> 4) * yw1[None, :, None]) >> 16
    total = np.minimum(top + bottom, 32767)  # both terms are >= 0
    total = np.minimum(total + 2, 32767) >> 2
    return np.minimum(total, 255)


def resize_bilinear_u8(img, height, width):
    """Resize an (H, W, C) uint8 image exactly as MindSpore's bilinear ``Resize`` does.

    Args:
        img (numpy.ndarray): uint8 array of shape (H, W, C).
        height (int): output height.
        width (int): output width.

    Returns:
        numpy.ndarray: uint8 array of shape (height, width, C).

    Example:
        >>> resize_bilinear_u8(np.zeros((28, 28, 1), np.uint8), 32, 32).shape
        (32, 32, 1)
    """
    return _resize_chw(img, height, width).astype(np.uint8).transpose(1, 2, 0)




# --------------------------------------------------------------------------- ops
def _uint8_hwc(img, op):
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3):
        shape = getattr(img, "shape", None)
        dtype = getattr(img, "dtype", type(img).__name__)
        raise RecipeError(f"op {op!r} needs an (H, W, C) uint8 image, got {dtype} of shape {shape}; "
                          f"put it before 'rescale' and 'hwc2chw' in the recipe")
    return img


def _frame_digit(img, rng):
    from ._digit import frame_digit  # noqa: PLC0415 - only recipes for digit photos need it

    out = frame_digit(_uint8_hwc(img, "frame_digit"))
    return out if out.ndim == 3 else out[:, :, None]


def _resize(img, rng, size):
    img = _uint8_hwc(img, "resize")
    height, width = _resized(img.shape[0], img.shape[1], size)
    return fast_resize_u8(img, height, width)  # OpenCV's identical kernel: a 640x480 photo in 1 ms, not 60


def _crop(img, top, left, height, width):
    return np.ascontiguousarray(img[top:top + height, left:left + width])


def _center_crop(img, rng, size):
    img = _uint8_hwc(img, "center_crop")
    height, width = size
    h, w = img.shape[:2]
    if height > h or width > w:  # MindSpore pads a too-small image with zeros around it
        pad_h, pad_w = max(0, height - h), max(0, width - w)
        img = np.pad(img, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
        h, w = img.shape[:2]
    return _crop(img, (h - height) // 2, (w - width) // 2, height, width)


def _random_crop(img, rng, size, padding):
    img = _uint8_hwc(img, "random_crop")
    if padding:
        img = np.pad(img, ((padding, padding), (padding, padding), (0, 0)))
    height, width = size
    h, w = img.shape[:2]
    if height > h or width > w:
        raise RecipeError(f"random_crop of {height}x{width} needs an image at least that large, got {h}x{w} "
                          f"after padding")
    return _crop(img, int(rng.integers(0, h - height + 1)), int(rng.integers(0, w - width + 1)), height, width)


def _random_resized_crop(img, rng, size, scale, ratio):
    img = _uint8_hwc(img, "random_resized_crop")
    h, w = img.shape[:2]
    area = h * w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            break
    else:  # no sample fitted: the largest centred crop within the ratio bounds
        aspect = w / h
        if aspect < ratio[0]:
            cw, ch = w, int(round(w / ratio[0]))
        elif aspect > ratio[1]:
            ch, cw = h, int(round(h * ratio[1]))
        else:
            cw, ch = w, h
        top, left = (h - ch) // 2, (w - cw) // 2
    return resize_bilinear_u8(_crop(img, top, left, ch, cw), *size)


def _random_horizontal_flip(img, rng, prob):
    return np.ascontiguousarray(img[:, ::-1]) if rng.random() < prob else img


def _rescale(img, rng, scale, shift):
    return np.asarray(img, np.float32) * np.float32(scale) + np.float32(shift)


def _normalize(img, rng, mean, std):
    img = np.asarray(img, np.float32)
    channels = img.shape[-1]
    if len(mean) not in (1, channels) or len(std) not in (1, channels):
        raise RecipeError(f"normalize has {len(mean)} mean and {len(std)} std values for an image with "
                          f"{channels} channels; give one value per channel")
    return (img - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)


def _hwc2chw(img, rng):
    img = np.asarray(img)
    if img.ndim != 3:
        raise RecipeError(f"hwc2chw needs an (H, W, C) image, got shape {img.shape}")
    return np.ascontiguousarray(img.transpose(2, 0, 1))


# Luma weights (ITU-R 601, PIL's L) and the RGB <-> YIQ transform whose chroma plane rotates hue.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_INV = np.linalg.inv(_YIQ)


def _hue_matrix(turn):
    """(3, 3) float32 matrix M with ``rgb @ M`` = the colour with its hue rotated by ``turn`` of a circle."""
    cos, sin = math.cos(2 * math.pi * turn), math.sin(2 * math.pi * turn)
    rotate = np.array([[1, 0, 0], [0, cos, -sin], [0, sin, cos]])
    return (_YIQ_INV @ rotate @ _YIQ).T.astype(np.float32)


def _color_jitter(img, rng, brightness, contrast, saturation, hue):
    img = _uint8_hwc(img, "color_jitter")
    # four draws whatever the parameters, so one seed gives one sequence of images
    bright, contr, satur = (rng.uniform(1 - x, 1 + x) for x in (brightness, contrast, saturation))
    turn = rng.uniform(-hue, hue)
    channels = img.shape[2]
    pixels = img.reshape(-1, channels).astype(np.float32)  # for the mean grey level
    # Each part is linear in the pixel values, so the four compose into one x @ matrix + offset:
    # brightness x*b; contrast (x - m)*c + m around the mean grey m; saturation (x - g)*s + g
    # around each pixel's grey g = x . luma; hue a rotation of the YIQ chroma plane.
    luma = _LUMA if channels == 3 else np.ones(1, np.float32)
    mean_grey = float((pixels @ luma).mean()) * bright  # (matrix products: far faster than mean(axis=0))
    if channels == 3:
        colour = satur * np.eye(3) + (1 - satur) * np.outer(luma, np.ones(3))
        colour = colour @ _hue_matrix(turn)
    else:
        colour = np.eye(1)
    matrix = (bright * contr * colour).astype(np.float32)
    offset = (mean_grey * (1 - contr) * np.ones(channels) @ colour).astype(np.float32)
    return _affine_colours(img, matrix, offset)


def _affine_colours(img, matrix, offset):
    """uint8 ``round(x @ matrix + offset)`` per pixel, saturated to 0..255 (OpenCV's transform when installed)."""
    try:
        import cv2  # noqa: PLC0415 - 50x faster than numpy's (N, 3) products; same numbers to +-1 level
    except ImportError:
        out = img.reshape(-1, img.shape[2]).astype(np.float32) @ matrix + offset
        return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(img.shape)
    out = cv2.transform(np.ascontiguousarray(img), np.concatenate([matrix.T, offset[:, None]], axis=1))
    return out.reshape(img.shape)


# --------------------------------------------------------------------------- boxes
def fast_resize_u8(img, height, width):
    """:func:`resize_bilinear_u8`'s result, computed by OpenCV when it is installed.

    OpenCV's ``INTER_LINEAR`` on uint8 is the kernel :func:`resize_bilinear_u8` reproduces (the
    same numbers, tested), about 100 times faster: detection pipelines resize full photos.
    """
    if img.shape[:2] == (height, width):
        return img
    try:
        import cv2  # noqa: PLC0415 - optional speed-up; the numpy kernel gives the same pixels
    except ImportError:
        return resize_bilinear_u8(img, height, width)
    out = cv2.resize(np.ascontiguousarray(img), (int(width), int(height)), interpolation=cv2.INTER_LINEAR)
    return out if out.ndim == 3 else out[:, :, None]


def letterbox_geometry(height, width, size):
    """Where ``letterbox`` puts a height x width image in ``size`` = [H, W].

    Returns:
        tuple: (new_height, new_width, top, left): the image is resized to new_height x
        new_width (its aspect ratio kept, as large as fits) and placed at (top, left).

    Example:
        >>> letterbox_geometry(375, 500, [300, 300])
        (225, 300, 37, 0)
    """
    out_h, out_w = size
    ratio = min(out_h / height, out_w / width)
    new_h = min(out_h, max(1, int(round(height * ratio))))
    new_w = min(out_w, max(1, int(round(width * ratio))))
    return new_h, new_w, (out_h - new_h) // 2, (out_w - new_w) // 2


def _affine(boxes, sx, sy, tx, ty):
    return (boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([tx, ty, tx, ty], np.float32)).astype(np.float32)


def _box_resize(img, boxes, labels, rng, size):
    img = _uint8_hwc(img, "resize")
    h, w = img.shape[:2]
    out_h, out_w = _resized(h, w, size)
    return fast_resize_u8(img, out_h, out_w), _affine(boxes, out_w / w, out_h / h, 0, 0), labels


def _box_letterbox(img, boxes, labels, rng, size, fill):
    img = _uint8_hwc(img, "letterbox")
    h, w, channels = img.shape
    new_h, new_w, top, left = letterbox_geometry(h, w, size)
    out = np.full((size[0], size[1], channels), fill, np.uint8)
    out[top:top + new_h, left:left + new_w] = fast_resize_u8(img, new_h, new_w)
    return out, _affine(boxes, new_w / w, new_h / h, left, top), labels


def _box_flip(img, boxes, labels, rng, prob):
    if not rng.random() < prob:  # the draw _random_horizontal_flip makes
        return img, boxes, labels
    width = img.shape[1]
    mirrored = boxes.copy()
    mirrored[:, 0], mirrored[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return np.ascontiguousarray(img[:, ::-1]), mirrored, labels


def _box_iou_crop(img, boxes, labels, rng, min_ious, trials, scale, ratio):
    """SSD's random crop (see OPS["random_iou_crop"]); without boxes any crop of the right shape is taken."""
    from .._boxes import box_iou as _box_iou  # noqa: PLC0415 - numpy only

    img = _uint8_hwc(img, "random_iou_crop")
    h, w = img.shape[:2]
    min_iou = min_ious[int(rng.integers(len(min_ious)))]
    if min_iou is None:
        return img, boxes, labels
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    for _ in range(trials):
        crop_w, crop_h = rng.uniform(scale[0], scale[1]) * w, rng.uniform(scale[0], scale[1]) * h
        if not ratio[0] <= crop_w / crop_h <= ratio[1]:
            continue
        crop_w, crop_h = max(1, int(crop_w)), max(1, int(crop_h))
        left, top = int(rng.integers(0, w - crop_w + 1)), int(rng.integers(0, h - crop_h + 1))
        rect = np.array([left, top, left + crop_w, top + crop_h], np.float32)
        inside = (centres > rect[:2]).all(axis=1) & (centres < rect[2:]).all(axis=1)
        if len(boxes) and (not inside.any() or _box_iou(boxes, rect[None]).max() < min_iou):
            continue
        kept = boxes[inside]
        kept = np.concatenate([np.maximum(kept[:, :2], rect[:2]), np.minimum(kept[:, 2:], rect[2:])], axis=1)
        return (np.ascontiguousarray(img[top:top + crop_h, left:left + crop_w]),
                (kept - np.tile(rect[:2], 2)).astype(np.float32), labels[inside])
    return img, boxes, labels  # no crop satisfied the choice: the image stays whole


def _image_only(box_function):
    """The image half of a box function (for recipes run on images alone)."""
    def run_on_image(img, rng, **params):
        return box_function(img, _NO_BOXES, _NO_LABELS, rng, **params)[0]
    run_on_image.__name__ = box_function.__name__
    return run_on_image


_NO_BOXES = np.zeros((0, 4), np.float32)
_NO_LABELS = np.zeros((0,), np.int32)


#: op name -> function(img, rng, **params); one per op of the recipe vocabulary.
FUNCTIONS = {
    "frame_digit": _frame_digit,
    "resize": _resize,
    "letterbox": _image_only(_box_letterbox),
    "center_crop": _center_crop,
    "random_crop": _random_crop,
    "random_resized_crop": _random_resized_crop,
    "random_iou_crop": _image_only(_box_iou_crop),
    "random_horizontal_flip": _random_horizontal_flip,
    "color_jitter": _color_jitter,
    "rescale": _rescale,
    "normalize": _normalize,
    "hwc2chw": _hwc2chw,
}
assert set(FUNCTIONS) == set(OPS), "every recipe op needs a numpy function"

#: op name -> function(img, boxes, labels, rng, **params) -> (img, boxes, labels), for the ops that
#: move pixels (OPS[op].boxes == "move"). Boxes are float32 (N, 4) [xmin, ymin, xmax, ymax] pixels;
#: labels is any array with one row per box (rows are dropped with their boxes).
BOX_FUNCTIONS = {
    "resize": _box_resize,
    "letterbox": _box_letterbox,
    "random_iou_crop": _box_iou_crop,
    "random_horizontal_flip": _box_flip,
}
assert set(BOX_FUNCTIONS) == {op for op, spec in OPS.items() if spec.boxes == "move"}


def run(steps, img, rng=None):
    """Run recipe steps on one (H, W, C) uint8 image with numpy and PIL only.

    Args:
        steps: the :class:`~tinyms.vision._recipe.Step` list to run, e.g. ``recipe.eval``.
        img (numpy.ndarray): (H, W, C) uint8 image.
        rng (numpy.random.Generator): source of randomness for augmentation ops; a fresh,
            unseeded one by default.

    Returns:
        numpy.ndarray: the prepared image.

    Raises:
        RecipeError: a step cannot run on what the previous steps produced.

    Example:
        >>> from tinyms.vision._recipe import Step
        >>> run([Step.make("resize", {"size": [4, 4]})], np.zeros((8, 8, 1), np.uint8)).shape
        (4, 4, 1)
    """
    if any(step.random for step in steps) and rng is None:
        rng = np.random.default_rng()
    for step in steps:
        img = FUNCTIONS[step.op](img, rng, **step.kwargs())
    return img


def check_box_steps(steps):
    """Raise RecipeError unless every step can run on an image with boxes."""
    for step in steps:
        if not OPS[step.op].boxes:
            usable = ", ".join(op for op, spec in OPS.items() if spec.boxes)
            raise RecipeError(f"op {step.op!r} cannot move boxes with the image; detection recipes use: {usable}")


def run_with_boxes(steps, img, boxes, labels, rng=None):
    """Run detection recipe steps on one (H, W, C) uint8 image and its boxes.

    Args:
        steps: the :class:`~tinyms.vision._recipe.Step` list to run.
        img (numpy.ndarray): (H, W, C) uint8 image.
        boxes: (N, 4) [xmin, ymin, xmax, ymax] in pixels of ``img``.
        labels: one row per box (class ids, or several per-box columns); rows whose box a crop
            drops are dropped with it.
        rng (numpy.random.Generator): source of randomness; a fresh, unseeded one by default.

    Returns:
        tuple: (image, boxes float32 (K, 4) in pixels of the output image, labels (K, ...)).

    Raises:
        RecipeError: a step cannot carry boxes, or cannot run on what the previous steps produced.

    Example:
        >>> from tinyms.vision._recipe import Step
        >>> img, boxes, labels = run_with_boxes([Step.make("resize", {"size": [50, 100]})],
        ...                                     np.zeros((100, 100, 3), np.uint8), [[10, 10, 30, 50]], [7])
        >>> img.shape, boxes.tolist(), labels.tolist()
        ((50, 100, 3), [[10.0, 5.0, 30.0, 25.0]], [7])
    """
    check_box_steps(steps)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels)
    if len(labels) != len(boxes):
        raise RecipeError(f"got {len(boxes)} boxes but {len(labels)} labels; give one label row per box")
    if any(step.random for step in steps) and rng is None:
        rng = np.random.default_rng()
    for step in steps:
        if OPS[step.op].boxes == "move":
            img, boxes, labels = BOX_FUNCTIONS[step.op](img, boxes, labels, rng, **step.kwargs())
        else:
            img = FUNCTIONS[step.op](img, rng, **step.kwargs())
    return img, boxes, labels


def box_affine(steps, height, width):
    """How deterministic steps move pixel coordinates of a height x width image.

    Args:
        steps: evaluation steps (``resize``, ``letterbox`` and ops that keep boxes).
        height, width (int): the original image's size.

    Returns:
        tuple: (scale, shift), float64 arrays of 4 for [xmin, ymin, xmax, ymax]: a box ``b`` of
        the image is ``b * scale + shift`` on the steps' output; ``(b - shift) / scale`` maps back.

    Raises:
        RecipeError: a step moves pixels in a way that depends on chance or is not a scaling.

    Example:
        >>> from tinyms.vision._recipe import Step
        >>> box_affine([Step.make("letterbox", {"size": [300, 300]})], 150, 300)
        (array([1., 1., 1., 1.]), array([ 0., 75.,  0., 75.]))
    """
    sx = sy = 1.0
    tx = ty = 0.0
    for step in steps:
        params = step.kwargs()
        if step.op == "resize":
            out_h, out_w = _resized(height, width, params["size"])
            a, b, c, d = out_w / width, out_h / height, 0, 0
        elif step.op == "letterbox":
            new_h, new_w, top, left = letterbox_geometry(height, width, params["size"])
            a, b, c, d = new_w / width, new_h / height, left, top
            out_h, out_w = params["size"]
        elif OPS[step.op].boxes == "keep":
            continue
        else:
            raise RecipeError(f"op {step.op!r} cannot map boxes between an image and the network input; "
                              f"evaluation steps of a detection recipe use resize or letterbox")
        sx, sy, tx, ty = sx * a, sy * b, tx * a + c, ty * b + d
        height, width = out_h, out_w
    return np.array([sx, sy, sx, sy]), np.array([tx, ty, tx, ty])
