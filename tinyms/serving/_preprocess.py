"""Image preprocessing and postprocessing for the serving front end, in numpy and PIL only.

The front end never imports MindSpore, so it cannot call ``tinyms.vision.mnist_transform``.
This module computes the same numbers without it:

- :func:`resize_bilinear_u8` reproduces, bit for bit, the fixed-point bilinear resize that
  MindSpore's ``Resize(..., Inter.LINEAR)`` runs on uint8 images (OpenCV's ``INTER_LINEAR``):
  11-bit coefficients, an exact integer horizontal pass, and a vertical pass that rounds the
  way the vectorised kernel does. The test suite checks it against MindSpore on random images.
- :class:`ImageRecipe` decodes, converts to grey or RGB with PIL (as ``load_image`` does),
  resizes, rescales to [0, 1], normalises and moves channels first.
- :func:`top_k` is the softmax + ranking of ``tinyms.vision.predictions.top_k_predictions``,
  returning the same JSON shape as ``Prediction.to_dict()``.
"""

import functools
import io

import numpy as np
from PIL import Image

__all__ = ["STRATEGIES", "InputError", "ImageRecipe", "recipe_for", "resize_bilinear_u8", "top_k"]

STRATEGIES = {"TOP1_CLASS": 1, "TOP5_CLASS": 5}
# Image formats a request may carry: common raster formats whose decoders PIL implements itself
# (no external programs such as Ghostscript for EPS).
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")

# Defaults of the recipes the front end knows, by transform name (numbers of tinyms.data.info).
_KNOWN_RECIPES = {
    "mnist_transform": {"channels": 1, "size": (32, 32), "mean": (0.1307,), "std": (0.3081,)},
}
_COEF_SCALE = 2048  # 11 fractional bits
_PIL_MODE = {1: "L", 3: "RGB"}


class InputError(Exception):
    """A request input is unusable; carries the HTTP status to answer with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


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


class ImageRecipe:
    """Encoded image bytes -> float32 (C, H, W) network input.

    Args:
        channels (int): 1 (grey) or 3 (RGB).
        size (tuple): output (height, width).
        mean, std (sequence of float): per-channel normalisation of pixels rescaled to [0, 1].
        max_pixels (int): largest accepted width x height of a decoded image.
    """

    def __init__(self, channels, size, mean, std, max_pixels=4096 * 4096):
        if channels not in _PIL_MODE:
            raise ValueError(f"image servables need 1 or 3 input channels, got {channels}")
        self.channels = channels
        self.size = (int(size[0]), int(size[1]))
        self.mean = np.asarray(mean, np.float32).reshape(-1)
        self.std = np.asarray(std, np.float32).reshape(-1)
        if self.mean.size not in (1, channels) or self.std.size not in (1, channels):
            raise ValueError(f"mean/std need 1 or {channels} values")
        self.max_pixels = int(max_pixels)
        self._mean = self.mean.reshape(-1, 1, 1)
        self._std = self.std.reshape(-1, 1, 1)

    def decode(self, data):
        """Decode image bytes to an (H, W, C) uint8 array, converting colours with PIL.

        Only the formats in :data:`IMAGE_FORMATS` are opened, and an image whose declared size
        is over ``max_pixels`` is refused before any pixel is decoded.
        """
        try:
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as pil:
                width, height = pil.size
                if width * height > self.max_pixels:
                    raise InputError(413, f"the image is {width}x{height} pixels, more than the server's "
                                          f"limit of {self.max_pixels:,}; send a smaller image")
                mode = _PIL_MODE[self.channels]
                if pil.mode == mode:
                    pil.load()
                    image = pil
                else:
                    image = pil.convert(mode)
                    pil.close()  # free the decoded original before copying the converted pixels out
                arr = np.asarray(image, dtype=np.uint8)
        except InputError:
            raise
        except Image.DecompressionBombError:
            raise InputError(413, f"the image has too many pixels (limit {self.max_pixels:,}); "
                                  "send a smaller image") from None
        except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as err:
            reason = "not an image format PIL recognises" if isinstance(err, Image.UnidentifiedImageError) \
                else (str(err) or type(err).__name__)
            raise InputError(400, f"cannot decode the {len(data)} bytes sent as an image ({reason}); "
                                  "send the content of a PNG, JPEG or other common image file") from None
        if arr.size == 0:
            raise InputError(400, "the image is empty; send an image with at least one pixel")
        return arr[:, :, None] if arr.ndim == 2 else arr

    def __call__(self, data):
        """Decode and preprocess one encoded image.

        Returns:
            numpy.ndarray: float32 array of shape (channels, height, width).

        Raises:
            InputError: the bytes are not a decodable image (400) or it is too large (413).
        """
        x = _resize_chw(self.decode(data), *self.size).astype(np.float32) * np.float32(1.0 / 255.0)
        return (x - self._mean) / self._std


def recipe_for(transform, input_shape, mean=None, std=None, max_pixels=4096 * 4096):
    """The :class:`ImageRecipe` of a servable, or None if its images cannot be preprocessed here.

    Args:
        transform (str): the servable's transform name, e.g. ``"mnist_transform"``.
        input_shape (tuple): one sample's shape (C, H, W).
        mean, std: normalisation; the recipe's defaults when None.
        max_pixels (int): the decoded-size limit.
    """
    defaults = _KNOWN_RECIPES.get(transform or "")
    if defaults is None or input_shape is None or len(input_shape) != 3:
        return None
    return ImageRecipe(channels=input_shape[0], size=input_shape[1:],
                       mean=mean if mean is not None else defaults["mean"],
                       std=std if std is not None else defaults["std"], max_pixels=max_pixels)


def known_transforms():
    """Names of the transforms whose images the front end can preprocess."""
    return sorted(_KNOWN_RECIPES)


def top_k(logits, labels, k):
    """Softmax each row of ``logits`` and keep its ``k`` best classes.

    Args:
        logits (numpy.ndarray): shape (N, C).
        labels (sequence of str): C class names.
        k (int): classes to keep per row (fewer if C < k).

    Returns:
        list: per row, ``{"label", "score", "index", "top": [{"label", "score", "index"}, ...]}``,
        the JSON form of ``tinyms.vision.Prediction``.
    """
    arr = np.asarray(logits, dtype=np.float64)
    shifted = arr - arr.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    k = min(k, arr.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    rows = []
    for row_probs, row_order in zip(probs, order):
        top = [{"label": labels[i], "score": float(row_probs[i]), "index": int(i)} for i in row_order]
        rows.append({"label": top[0]["label"], "score": top[0]["score"], "index": top[0]["index"], "top": top})
    return rows
