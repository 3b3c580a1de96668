"""Frame a photo of a handwritten digit the way MNIST digits are framed (numpy + PIL only).

MNIST digits are light ink on a black field: each NIST scan was cropped to the ink, scaled with
anti-aliasing so that its longer side is 20 pixels, and pasted into a 28x28 field with the
ink's centre of mass at the field's centre. A photo of a digit written on paper is the
opposite (dark ink on grey-white paper, anywhere in the picture, at any size), so a network
trained on MNIST does not recognise it after a plain resize. :func:`frame_digit` rebuilds the
MNIST framing from such a photo, and leaves images that are already framed untouched.

This module must not import MindSpore: it runs in the serving front end as well as inside
MindSpore's dataset pipeline.
"""

import numpy as np
from PIL import Image, ImageFilter

from ..errors import InputShapeError

__all__ = ["frame_digit", "framed", "FIELD", "BOX"]

FIELD = 28            # side of the output field (MNIST)
BOX = 20              # longer side of the digit inside the field (MNIST)
_CENTRE = 14.0        # mean centre of mass of MNIST digits, in pixel indices (rows and columns)
_WORK_SIDE = 512      # larger images are first reduced to this longer side: bounded work
_BG_SIDE = 64         # the paper's shading is estimated on an image this small
_MIN_CONTRAST = 12.0  # ink less than this many grey levels from the paper counts as no ink
_MIN_STRONG = 16      # a digit has at least this many clearly inked pixels (fewer: noise)
_KEEP_FRACTION = 0.05  # an ink blob smaller than this share of the largest one is a speck
_MAX_RUNS = 50_000    # beyond this many ink runs, fall back to a box from ink quantiles
_PEN = 2.0           # median stroke width of MNIST digits, in output pixels (2 x area / outline)
_THIN = 1.4           # strokes thinner than this (output pixels) are thickened to about _PEN


def frame_digit(img):
    """Frame a grey image of one digit the way MNIST digits are framed.

    The result is light ink on a black background (the image is inverted when its border
    shows a light background), cropped to the ink (specks ignored), scaled with
    anti-aliasing so that the longer side of the ink is 20 pixels, placed in a 28x28 field
    with the ink's centre of mass at the centre, and stretched so that the ink reaches 255
    and the background is 0. Uneven lighting is flattened first and thin pen strokes are
    thickened to MNIST's stroke width. An image that is already framed (28x28 with a dark
    border, as every MNIST image) is returned unchanged, byte for byte; a blank image gives
    an all-black field. Images larger than 512 pixels are reduced first, so the work is
    bounded. Deterministic.

    Args:
        img (numpy.ndarray): uint8 grey image, shape (H, W) or (H, W, 1).

    Returns:
        numpy.ndarray: uint8 array of shape (28, 28, 1).

    Raises:
        InputShapeError: ``img`` is not a 2-D or single-channel 3-D uint8 array, or is empty.

    Example:
        >>> import numpy as np
        >>> from tinyms.vision import frame_digit
        >>> paper = np.full((120, 90), 230, np.uint8)
        >>> paper[30:90, 50:56] = 20                     # a dark "1" right of centre
        >>> out = frame_digit(paper)
        >>> out.shape, int(out.max()), int(out[0].max())
        ((28, 28, 1), 255, 0)
    """
    grey = _as_grey(img)
    if grey.shape == (FIELD, FIELD) and framed(grey[None])[0]:
        return grey.reshape(FIELD, FIELD, 1).copy()
    ink = _ink_up(_reduce(grey))
    if ink is None:
        return np.zeros((FIELD, FIELD, 1), np.uint8)
    soft, mask = _soft_ink(ink)
    if mask is None:
        return np.zeros((FIELD, FIELD, 1), np.uint8)
    return _place(soft, mask)


def framed(images):
    """For a stack of 28x28 grey images, True where :func:`frame_digit` returns the image unchanged.

    An image is already framed when the median of its border (as :func:`frame_digit` takes it)
    is dark. One vectorised pass, so whole files can be checked at once.

    Args:
        images (numpy.ndarray): uint8 array of shape (N, 28, 28).

    Returns:
        numpy.ndarray: bool array of shape (N,).

    Example:
        >>> import numpy as np
        >>> field = np.zeros((2, 28, 28), np.uint8)
        >>> field[1] = 230                                 # a light page: not MNIST's framing
        >>> framed(field).tolist()
        [True, False]
    """
    images = np.asarray(images)
    count = images.shape[0]
    width = max(1, FIELD // 20)  # as _border takes it for a 28x28 image
    ring = [images[:, :width], images[:, -width:], images[:, width:-width, :width], images[:, width:-width, -width:]]
    border = np.concatenate([part.reshape(count, -1) for part in ring], axis=1)
    return np.median(border, axis=1) < 128


# --------------------------------------------------------------------------- input
def _as_grey(img):
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2 or arr.dtype != np.uint8 or arr.size == 0:
        raise InputShapeError(
            f"frame_digit takes a non-empty uint8 grey image of shape (H, W) or (H, W, 1), got "
            f"dtype {arr.dtype} and shape {arr.shape}. Fix: convert the image to grey uint8 "
            f"first, e.g. numpy.asarray(PIL.Image.open(path).convert('L')).")
    return arr


def _border(arr):
    """The pixels of the outer ring of ``arr`` (about 1/20 of the side wide), flattened."""
    width = max(1, min(arr.shape) // 20)
    return np.concatenate([arr[:width].ravel(), arr[-width:].ravel(),
                           arr[width:-width, :width].ravel(), arr[width:-width, -width:].ravel()])


def _reduce(grey):
    """``grey`` shrunk (area averaging) so that its longer side is at most ``_WORK_SIDE``."""
    height, width = grey.shape
    if max(height, width) <= _WORK_SIDE:
        return grey
    scale = _WORK_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(grey).resize(size, Image.BOX, reducing_gap=2.0))


# --------------------------------------------------------------------------- ink
def _ink_up(grey):
    """Ink as float32 values rising above a background near zero, or None when there is no ink.

    The background is light when the border's median is nearer the image's brightest than its
    darkest level (both taken on a 3x3-blurred copy, so single noisy pixels do not count).
    The paper's shading is a morphological opening of the ink-bright image on a small copy,
    which removes strokes narrower than a third of the image and keeps slow changes of light.
    """
    blurred = np.asarray(Image.fromarray(grey).filter(ImageFilter.BoxBlur(1)))
    low, high = float(blurred.min()), float(blurred.max())
    if high - low < _MIN_CONTRAST:
        return None
    work = grey.astype(np.float32)
    paper = float(np.median(_border(grey)))
    if high - paper < paper - low:
        work = 255.0 - work
    return work - _shading(work)


def _shading(work):
    height, width = work.shape
    if min(height, width) < 16:
        return np.float32(np.median(_border(work)))
    scale = min(1.0, _BG_SIDE / max(height, width))
    small_size = (max(4, round(width * scale)), max(4, round(height * scale)))
    small = np.asarray(Image.fromarray(work).resize(small_size, Image.BOX))
    k = max(3, (min(small.shape) // 3) | 1)
    opened = _filter(_filter(small, k, np.min), k, np.max)
    smooth = _filter(opened, k, np.mean)
    return np.asarray(Image.fromarray(smooth.astype(np.float32)).resize((width, height), Image.BILINEAR))


def _filter(arr, k, reduce):
    """A k x k sliding-window ``reduce`` (min, max or mean) of 2-D ``arr``, edges replicated."""
    half = k // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(arr, pad, mode="edge"), k, axis=axis)
        arr = reduce(windows, axis=-1)
    return arr


def _soft_ink(ink):
    """(soft ink in [0, 1], boolean mask of the digit's ink), or (None, None) without ink.

    Half way between the paper and the ink's typical level is the threshold (the half-maximum
    of a blurred stroke); a linear ramp a quarter of the contrast wide on either side keeps the
    anti-aliased edges. Blobs far smaller than the largest one are specks and are left out of
    the mask (and :func:`_place` keeps soft ink only next to the mask).
    """
    paper = float(np.median(ink))
    spread = 1.4826 * float(np.median(np.abs(ink - paper)))
    strong = _despeckle(ink > paper + max(4.0 * spread, _MIN_CONTRAST))  # noise alone: isolated
    if strong.sum() < min(_MIN_STRONG, 0.005 * strong.size):
        return None, None
    level = float(np.percentile(ink[strong], 75))
    contrast = level - paper
    if contrast < _MIN_CONTRAST:
        return None, None
    mask = _despeckle(ink > paper + contrast / 2)
    if not mask.any():
        return None, None
    mask = _keep_blobs(mask)
    return np.clip((ink - paper - contrast / 4) / (contrast / 2), 0.0, 1.0), mask


def _despeckle(mask):
    """``mask`` without pixels that have fewer than two set neighbours (salt noise)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    height, width = mask.shape
    neighbours = sum(padded[dy:dy + height, dx:dx + width]
                     for dy in range(3) for dx in range(3)) - mask
    return mask & (neighbours >= 2)


def _keep_blobs(mask):
    """``mask`` with its 8-connected blobs smaller than ``_KEEP_FRACTION`` of the largest removed.

    Blobs are found on horizontal runs with a union-find, which is fast for the few hundred
    runs a digit has; a mask with too many runs (heavy noise) keeps the central 98% of its
    pixels along each axis instead.
    """
    runs = _runs(mask)
    if len(runs) > _MAX_RUNS:
        return _quantile_box(mask)
    parent = list(range(len(runs)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_row = {}
    for index, (row, _, _) in enumerate(runs):
        by_row.setdefault(row, []).append(index)
    for row, current in by_row.items():
        above = by_row.get(row - 1, ())
        first = 0
        for index in current:
            _, start, stop = runs[index]
            while first < len(above) and runs[above[first]][2] < start:
                first += 1
            other = first
            # 8-connected: a run above touches if it overlaps [start - 1, stop] (stop exclusive)
            while other < len(above) and runs[above[other]][1] <= stop:
                parent[root(index)] = root(above[other])
                other += 1
    area = {}
    for index, (_, start, stop) in enumerate(runs):
        r = root(index)
        area[r] = area.get(r, 0) + stop - start
    largest = max(area.values())
    kept = np.zeros_like(mask)
    for index, (row, start, stop) in enumerate(runs):
        if area[root(index)] >= _KEEP_FRACTION * largest:
            kept[row, start:stop] = True
    return kept


def _runs(mask):
    """Horizontal runs of set pixels as (row, start, stop) with ``stop`` exclusive."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)
    return list(zip(rows.tolist(), starts.tolist(), stops.tolist()))


def _quantile_box(mask):
    """``mask`` restricted to the box holding the central 98% of its pixels along each axis."""
    rows, cols = np.nonzero(mask)
    top, bottom = np.percentile(rows, (1, 99)).round().astype(int)
    left, right = np.percentile(cols, (1, 99)).round().astype(int)
    kept = np.zeros_like(mask)
    kept[top:bottom + 1, left:right + 1] = mask[top:bottom + 1, left:right + 1]
    return kept


# --------------------------------------------------------------------------- framing
def _place(soft, mask):
    """Crop to the mask's box, scale the longer side to 20, centre the mass in 28x28, stretch."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    near = _filter(mask[top:bottom, left:right].astype(np.uint8), 5, np.max) > 0  # drop specks' ramps
    crop = np.where(near, soft[top:bottom, left:right], 0.0).astype(np.float32)
    height, width = crop.shape
    scale = BOX / max(height, width)
    crop = _pen_width(crop, mask[top:bottom, left:right], scale)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.clip(np.asarray(Image.fromarray(crop).resize(size, Image.BILINEAR)), 0.0, None)
    total = float(digit.sum())
    if total <= 0:
        return np.zeros((FIELD, FIELD, 1), np.uint8)
    centre_y = float((digit.sum(axis=1) * np.arange(size[1])).sum()) / total
    centre_x = float((digit.sum(axis=0) * np.arange(size[0])).sum()) / total
    top = int(np.clip(round(_CENTRE - centre_y), 0, FIELD - size[1]))
    left = int(np.clip(round(_CENTRE - centre_x), 0, FIELD - size[0]))
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top:top + size[1], left:left + size[0]] = digit / float(digit.max())
    return np.round(field * 255.0).astype(np.uint8).reshape(FIELD, FIELD, 1)


def _pen_width(crop, mask, scale):
    """``crop`` with its strokes widened when, scaled by ``scale``, they would be thinner than a pen's.

    The stroke width is estimated as twice the ink's area over its outline length (2.0 output
    pixels for the median MNIST digit); strokes thinner than ``_THIN`` are widened with a
    sliding maximum to about ``_PEN``.
    """
    area = int(mask.sum())
    outline = int(np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1]))
    if outline == 0:
        return crop
    stroke = 2.0 * area / outline * scale
    if stroke >= _THIN:
        return crop
    k = 2 * int(round((_PEN - stroke) / scale / 2)) + 1
    return crop if k < 3 else _filter(crop, k, np.max)
