"""TinyMS 0.3's ``tinyms.data.utils``: image lists, image loading and saving for its GAN scripts.

``generate_image_list``, ``load_img``, ``load_resized_img``, ``save_image``, ``is_image`` and
``download_dataset`` keep 0.3's names and arguments; new code uses
:func:`tinyms.data.download_dataset`, :func:`tinyms.data.unaligned_dataset` and
:func:`tinyms.vision.to_image`.
"""

import os

from ..errors import ImageSaveError, InputShapeError
from . import _images
from .download import download_dataset
from .gan import image_list, load_rgb

__all__ = ["download_dataset", "generate_image_list", "load_resized_img", "load_img", "save_image", "is_image"]

#: The file endings :func:`is_image` and :func:`generate_image_list` take (any case).
IMG_EXTENSIONS = _images.IMAGE_EXTENSIONS


def is_image(filename):
    """True when ``filename`` ends in .jpg, .jpeg, .png or .bmp (any case).

    Example:
        >>> is_image("street.PNG"), is_image("notes.txt")
        (True, False)
    """
    return os.path.splitext(str(filename))[1].lower() in IMG_EXTENSIONS


def generate_image_list(dir_path, max_dataset_size=float("inf")):
    """The image files under ``dir_path`` (sub-folders too), sorted, at most ``max_dataset_size`` (0.3's name).

    Raises:
        DatasetError: ``dir_path`` is not a folder (0.3: AssertionError).
    """
    return image_list(dir_path, max_dataset_size)


def load_img(path):
    """The image at ``path`` as an RGB ``PIL.Image`` (0.3's name).

    Raises:
        DatasetError: the file is missing or cannot be decoded; the message names it.
    """
    from PIL import Image  # noqa: PLC0415

    return Image.fromarray(load_rgb(path))


def load_resized_img(path, width=256, height=256):
    """The image at ``path`` as an RGB ``PIL.Image`` resized (bilinear) to ``width`` x ``height`` (0.3's name)."""
    from PIL import Image  # noqa: PLC0415

    return load_img(path).resize((int(width), int(height)), Image.BILINEAR)


def save_image(img, img_path):
    """Save an image to ``img_path`` (the format follows its ending), written atomically (0.3's name).

    Args:
        img: a generator's output as a MindSpore Tensor or float array, (1, 3, H, W) or
            (3, H, W) normalised to [-1, 1] (its first image is saved, as in 0.3), or an
            (H, W, 3) / (H, W) uint8 array.
        img_path (str): the file to write; its folder must exist.

    Raises:
        InputShapeError: ``img`` is of another type or shape.
        ImageSaveError: the folder is missing or the file cannot be written.

    Example:
        >>> import numpy as np
        >>> from tinyms.data.utils import save_image, load_img
        >>> save_image(np.zeros((1, 3, 4, 6), np.float32), "grey.png")      # 0.0 is mid-grey
        >>> np.asarray(load_img("grey.png"))[0, 0].tolist()
        [128, 128, 128]
    """
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    from .._fileio import atomic_path  # noqa: PLC0415

    arr = img.asnumpy() if hasattr(img, "asnumpy") else img
    if not isinstance(arr, np.ndarray):
        raise InputShapeError(f"save_image takes a Tensor or numpy array, got {type(img).__name__}")
    if arr.dtype != np.uint8:
        from ..vision.gan import to_image  # noqa: PLC0415 - the normalisation lives with the transform

        arr = to_image(arr[:1] if arr.ndim == 4 else arr)
        arr = arr[0] if arr.ndim == 4 else arr
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise InputShapeError(f"save_image takes (H, W, 3) uint8 or (1, 3, H, W) normalised images, got shape "
                              f"{arr.shape}")
    path = os.path.abspath(os.fspath(img_path))
    if not os.path.isdir(os.path.dirname(path)):
        raise ImageSaveError(f"save_image: the folder {os.path.dirname(path)} does not exist; create it first "
                             f"(os.makedirs)")
    ext = os.path.splitext(path)[1] or ".png"
    try:
        with atomic_path(path, suffix=ext) as tmp:
            Image.fromarray(arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr).save(tmp)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageSaveError(f"save_image: cannot write {path} ({exc}); give a writable path ending in .png or "
                             f".jpg") from None
