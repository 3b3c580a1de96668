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
"""

import functools
import math

import numpy as np

from ..errors import RecipeError
from ._recipe import OPS, _resized

__all__ = ["run", "resize_bilinear_u8", "FUNCTIONS"]

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
    return resize_bilinear_u8(img, height, width)


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


#: op name -> function(img, rng, **params); one per op of the recipe vocabulary.
FUNCTIONS = {
    "frame_digit": _frame_digit,
    "resize": _resize,
    "center_crop": _center_crop,
    "random_crop": _random_crop,
    "random_resized_crop": _random_resized_crop,
    "random_horizontal_flip": _random_horizontal_flip,
    "rescale": _rescale,
    "normalize": _normalize,
    "hwc2chw": _hwc2chw,
}
assert set(FUNCTIONS) == set(OPS), "every recipe op needs a numpy function"


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
