"""Image preprocessing and postprocessing for the serving front end, in numpy and PIL only.

The front end never imports MindSpore. A servable's images are prepared by its recipe (the
evaluation steps of the ``tinyms.vision`` transform it was trained with, stored in
``servable.json``), run by the numpy executor :mod:`tinyms.vision._np_engine`, which a test
keeps equal to MindSpore's engine op by op. Servables written before recipes existed name a
preset (``"transform": "mnist_transform"``); its recipe is rebuilt from the name.

- :class:`ImageRecipe` decodes with :func:`tinyms.vision._decode.decode` (bounded pixel count,
  EXIF orientation applied, grey or RGB), as ``DatasetTransform.load_image`` does, then runs
  the recipe.
- :func:`top_k` is the softmax + ranking of ``tinyms.vision.predictions.top_k_predictions``,
  returning the same JSON shape as ``Prediction.to_dict()``.
"""


import numpy as np

from ..errors import RecipeError
from ..vision import _np_engine
from ..vision._decode import BadImage, ImageTooLarge, decode
from ..vision._np_engine import resize_bilinear_u8  # noqa: F401 - re-exported for the tests
from ..vision._presets import PRESET_NAMES, legacy_recipe
from ..vision._recipe import Recipe

__all__ = ["STRATEGIES", "InputError", "ImageRecipe", "recipe_for", "resize_bilinear_u8", "top_k"]

STRATEGIES = {"TOP1_CLASS": 1, "TOP5_CLASS": 5}
# Image formats a request may carry: common raster formats whose decoders PIL implements itself
# (no external programs such as Ghostscript for EPS).
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")


class InputError(Exception):
    """A request input is unusable; carries the HTTP status to answer with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class ImageRecipe:
    """Encoded image bytes -> the float32 network input a recipe's evaluation steps produce.

    Args:
        recipe (Recipe): the servable's preprocessing.
        max_pixels (int): largest accepted width x height of a decoded image.
    """

    def __init__(self, recipe, max_pixels=4096 * 4096):
        self.recipe = recipe
        self.channels = recipe.channels
        self.max_pixels = int(max_pixels)

    def decode(self, data):
        """Decode image bytes to an (H, W, C) uint8 array, converting colours with PIL.

        Only the formats in :data:`IMAGE_FORMATS` are opened, and an image whose declared size
        is over ``max_pixels`` is refused before any pixel is decoded.
        """
        try:
            return decode(data, self.channels, self.max_pixels, IMAGE_FORMATS)
        except ImageTooLarge as err:
            raise InputError(413, f"{err.reason}; send a smaller image") from None
        except BadImage as err:
            raise InputError(400, f"cannot decode the {len(data)} bytes sent as an image ({err.reason}); "
                                  "send the content of a PNG, JPEG or other common image file") from None

    def __call__(self, data):
        """Decode and preprocess one encoded image.

        Returns:
            numpy.ndarray: float32, e.g. of shape (channels, height, width).

        Raises:
            InputError: the bytes are not a decodable image (400) or it is too large (413).
        """
        return self.prepare(data)[0]

    def prepare(self, data):
        """Decode and preprocess one encoded image; also return the decoded image's size.

        Returns:
            tuple: (float32 network input, (height, width) of the decoded image, EXIF
            orientation applied), the size boxes are mapped back to.

        Raises:
            InputError: the bytes are not a decodable image (400) or it is too large (413).
        """
        image = self.decode(data)
        return self.run(image), image.shape[:2]

    def run(self, image):
        """The network input the recipe's evaluation steps make of an (H, W, C) uint8 picture (float32)."""
        return np.asarray(_np_engine.run(self.recipe.eval, np.ascontiguousarray(image)), np.float32)


def recipe_for(transform, input_shape, mean=None, std=None, max_pixels=4096 * 4096, recipe=None):
    """The :class:`ImageRecipe` of a servable, or None if its images cannot be preprocessed here.

    Args:
        transform (str): the servable's preset name, e.g. ``"mnist_transform"`` (used when it
            carries no recipe).
        input_shape (tuple): one sample's shape (C, H, W).
        mean, std: normalisation recorded with a preset-named servable; the preset's when None.
        max_pixels (int): the decoded-size limit.
        recipe (dict): the servable's own recipe (``Recipe.to_dict()`` form); wins over ``transform``.

    Raises:
        ValueError: the recipe is malformed, or what it produces is not ``input_shape``.
    """
    try:
        if recipe is not None:
            value = Recipe.from_dict(recipe)
        else:
            value = legacy_recipe(transform or "", input_shape, mean, std)
            if value is None:
                return None
        if input_shape is not None:
            value.check_serves(input_shape)
    except RecipeError as err:
        raise ValueError(f"model.recipe: {err}") from None
    return ImageRecipe(value, max_pixels)


def known_transforms():
    """Names of the presets whose images the front end can preprocess without a recipe."""
    return sorted(PRESET_NAMES)


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
