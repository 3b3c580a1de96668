"""Decode image files one way everywhere (numpy + PIL, MindSpore-free).

Single images (``transform(path_or_bytes)``), datasets of encoded files (``apply_ds`` on an
``ImageFolderDataset``) and the serving front end all decode with :func:`decode`, so a photo
becomes the same pixels on every path:

- the EXIF orientation a camera records is applied (a portrait phone photo stands upright, as
  every image viewer shows it);
- colours are converted with PIL to grey (``L``, luma 0.299 R + 0.587 G + 0.114 B) or RGB; an
  alpha channel is dropped;
- the declared size is checked against a pixel limit before any pixel is decoded.
"""

import io
import os

import numpy as np
from PIL import Image, ImageOps

__all__ = ["decode", "to_array", "BadImage", "ImageTooLarge", "DatasetDecoder", "PIL_MODE"]

PIL_MODE = {1: "L", 3: "RGB"}
_ORIENTATION = 0x0112  # the EXIF tag


class BadImage(Exception):
    """The data is not a decodable image; ``reason`` says why in a few words."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class ImageTooLarge(BadImage):
    """The image has more pixels than allowed."""


def to_array(pil, channels, owned=False):
    """An open PIL image -> (H, W, channels) uint8, upright per its EXIF orientation.

    Args:
        pil: the image.
        channels: 1 (grey) or 3 (RGB).
        owned: the caller lets this function close ``pil``: each decoded intermediate is then
            released before the next copy is made, so a large image costs one decoded copy at
            a time (a caller's own image is never closed).

    Raises:
        BadImage: the image has no pixels.
    """
    orientation = pil.getexif().get(_ORIENTATION, 1) if hasattr(pil, "getexif") else 1
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        upright = ImageOps.exif_transpose(pil)
        if owned:
            pil.close()
        pil, owned = upright, True
    mode = PIL_MODE[channels]
    if pil.mode == mode:
        pil.load()
        image = pil
    else:
        image = pil.convert(mode)
        if owned:
            pil.close()  # free the decoded original before the pixels are copied out
    arr = np.asarray(image, dtype=np.uint8)
    if arr.size == 0:
        raise BadImage("the image is empty")
    return arr[:, :, None] if arr.ndim == 2 else arr


def decode(source, channels, max_pixels=None, formats=None):
    """Decode an image file to an (H, W, channels) uint8 array.

    Args:
        source: encoded bytes (bytes, bytearray, memoryview or a 1-D uint8 array) or a file path.
        channels (int): 1 (grey) or 3 (RGB).
        max_pixels (int): refuse images whose declared width x height is larger (None: PIL's
            own decompression-bomb limit only).
        formats (tuple of str): PIL formats to try (e.g. ``("PNG", "JPEG")``); None for all.

    Returns:
        numpy.ndarray: uint8 (H, W, channels).

    Raises:
        ImageTooLarge: more pixels than ``max_pixels`` (or than PIL's bomb limit).
        BadImage: not an image in one of ``formats``, truncated, or empty.
        OSError: the file cannot be read.

    Example:
        >>> import io
        >>> buf = io.BytesIO(); Image.new("RGB", (4, 3)).save(buf, "PNG")
        >>> decode(buf.getvalue(), 1).shape
        (3, 4, 1)
    """
    if isinstance(source, np.ndarray):
        source = source.tobytes()
    stream = source if isinstance(source, (str, os.PathLike)) else io.BytesIO(source)
    try:
        with Image.open(stream, formats=formats) as pil:
            width, height = pil.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageTooLarge(f"the image is {width}x{height} pixels, more than the limit of "
                                    f"{max_pixels:,}")
            return to_array(pil, channels, owned=True)
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"the image has too many pixels (limit {max_pixels or Image.MAX_IMAGE_PIXELS:,})") from None
    except Image.UnidentifiedImageError:
        raise BadImage("not an image format PIL recognises" if formats is None else
                       f"not an image in one of the formats {', '.join(formats)}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (OSError, ValueError, SyntaxError) as err:
        raise BadImage(str(err) or type(err).__name__) from None


class DatasetDecoder:
    """The dataset engine's decode step: encoded bytes in a dataset row -> (H, W, channels) uint8."""

    def __init__(self, channels):
        self.channels = channels

    def __call__(self, data):
        try:
            return decode(data, self.channels)
        except BadImage as err:
            raise ValueError(f"an image in the dataset cannot be decoded ({err.reason}); check the images "
                             f"with tinyms.data.ImageFolderDataset(..., check_images='decode')") from None
