"""Numbers for image-to-image translation (numpy only; exported by :mod:`tinyms.metrics` and,
under TinyMS 0.3's names, by :mod:`tinyms.utils.eval`).

- Label-map directions (photo -> label map, e.g. CycleGAN's Cityscapes): every pixel of a
  generated and of a true label map is mapped to the nearest class colour (sum of absolute
  channel differences; ties go to the earlier class), the pixels are counted in a confusion
  matrix (:func:`fast_hist`) and scored (:func:`get_scores`): pixel accuracy, per-class
  accuracy and IoU and their means. :class:`LabelMapScores` accumulates images and reports;
  :class:`CityScapes` is TinyMS 0.3's helper with Cityscapes' 19 training classes and
  "unlabeled".
- Every direction: :class:`CycleConsistency` measures how well A -> B -> A (or B -> A -> B)
  gives back the input: mean absolute error in the normalised [-1, 1] units of the cycle
  loss and in 0..255 levels, and PSNR.
"""

import math

import numpy as np

__all__ = ["CITYSCAPES_COLORS", "CITYSCAPES_CLASSES", "CityScapes", "fast_hist", "get_scores",
           "nearest_class", "LabelMapScores", "CycleConsistency"]

#: Cityscapes' label colours (RGB), as its labels table publishes them, by label name.
CITYSCAPES_COLORS = {
    "unlabeled": (0, 0, 0), "ego vehicle": (0, 0, 0), "rectification border": (0, 0, 0),
    "out of roi": (0, 0, 0), "static": (0, 0, 0), "dynamic": (111, 74, 0), "ground": (81, 0, 81),
    "road": (128, 64, 128), "sidewalk": (244, 35, 232), "parking": (250, 170, 160),
    "rail track": (230, 150, 140), "building": (70, 70, 70), "wall": (102, 102, 156),
    "fence": (190, 153, 153), "guard rail": (180, 165, 180), "bridge": (150, 100, 100),
    "tunnel": (150, 120, 90), "pole": (153, 153, 153), "polegroup": (153, 153, 153),
    "traffic light": (250, 170, 30), "traffic sign": (220, 220, 0), "vegetation": (107, 142, 35),
    "terrain": (152, 251, 152), "sky": (70, 130, 180), "person": (220, 20, 60), "rider": (255, 0, 0),
    "car": (0, 0, 142), "truck": (0, 0, 70), "bus": (0, 60, 100), "caravan": (0, 0, 90),
    "trailer": (0, 0, 110), "train": (0, 80, 100), "motorcycle": (0, 0, 230), "bicycle": (119, 11, 32),
    "license plate": (0, 0, 142),
}

#: The classes scored on Cityscapes label maps (its 19 training classes, then "unlabeled"), as
#: TinyMS 0.3 and the CycleGAN/pix2pix evaluations score them.
CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
                      "bus", "train", "motorcycle", "bicycle", "unlabeled")

_CHUNK_PIXELS = 1 << 16  # pixels compared with every colour at once (bounds memory for big images)


def _as_image(image):
    if isinstance(image, str) or hasattr(image, "__fspath__"):
        from .data.gan import load_rgb  # noqa: PLC0415

        return load_rgb(image)
    arr = image.asnumpy() if hasattr(image, "asnumpy") else np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"a label-map image must be (H, W, 3) RGB, got shape {arr.shape}; give "
                         f"tinyms.vision.to_image(output) for a generator's output")
    return arr


def nearest_class(image, colors):
    """The index of the nearest colour of ``colors`` for every pixel of an RGB image.

    Args:
        image: (H, W, 3) RGB array (uint8 or 0..255 floats), or an image file path.
        colors: sequence of (R, G, B), one per class.

    Returns:
        numpy.ndarray: int64 (H, W) class ids; distance is the sum of absolute channel
        differences, ties go to the lower id.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import nearest_class
        >>> nearest_class(np.array([[[120, 60, 130], [5, 5, 5]]], np.uint8), [(0, 0, 0), (128, 64, 128)]).tolist()
        [[1, 0]]
    """
    arr = _as_image(image)
    table = np.asarray(colors, np.int32).reshape(-1, 3)
    flat = arr.reshape(-1, 3).astype(np.int32)
    ids = np.empty(len(flat), np.int64)
    for start in range(0, len(flat), _CHUNK_PIXELS):
        block = flat[start:start + _CHUNK_PIXELS]
        ids[start:start + len(block)] = np.abs(block[:, None, :] - table[None]).sum(-1).argmin(-1)
    return ids.reshape(arr.shape[:2])


def fast_hist(a, b, n):
    """Confusion matrix of class ids: ``hist[i, j]`` counts pixels of true class i predicted as j (0.3's name).

    Args:
        a: true class ids (any shape); values outside 0..n-1 are ignored (not counted).
        b: predicted class ids, same number of elements, each in 0..n-1.
        n (int): number of classes.

    Returns:
        numpy.ndarray: int64 (n, n).

    Raises:
        ValueError: sizes differ, or a prediction is outside 0..n-1 (TinyMS 0.3 silently
            returned 0 for the whole image then).

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import fast_hist
        >>> fast_hist(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2).tolist()
        [[1, 1], [0, 2]]
    """
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    n = int(n)
    if a.shape != b.shape:
        raise ValueError(f"fast_hist: {a.size} true and {b.size} predicted ids; give maps of the same size "
                         f"(resize the generated image to the true one's size)")
    keep = (a >= 0) & (a < n)
    a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    if b.size and (b.min() < 0 or b.max() >= n):
        raise ValueError(f"fast_hist: predicted ids must lie in 0..{n - 1}, got {int(b.min())}..{int(b.max())}")
    return np.bincount(n * a + b, minlength=n * n).reshape(n, n)


def get_scores(hist):
    """Scores of a confusion matrix (0.3's name and order).

    Per-class accuracy is ``hist[i, i] / (pixels of class i)``, per-class IoU
    ``hist[i, i] / (true i + predicted i - hist[i, i])``. A class with no true pixels has
    accuracy NaN, one with neither true nor predicted pixels IoU NaN; the means leave NaNs out.
    (TinyMS 0.3 counted such a class as 0 in both means, lowering them.)

    Args:
        hist: (n, n) confusion matrix, rows true classes, columns predicted.

    Returns:
        tuple: (pixel accuracy, mean class accuracy, mean class IoU, per-class accuracy array,
        per-class IoU array); the means are NaN when no pixel was counted.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import get_scores
        >>> acc, mean_acc, mean_iou, per_acc, per_iou = get_scores(np.array([[1, 1], [0, 2]]))
        >>> round(acc, 4), round(mean_acc, 4), round(mean_iou, 4), per_iou.round(4).tolist()
        (0.75, 0.75, 0.5833, [0.5, 0.6667])
    """
    hist = np.asarray(hist, np.float64)
    diag, true, predicted = np.diag(hist), hist.sum(1), hist.sum(0)
    total = hist.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_acc = np.where(true > 0, diag / np.where(true > 0, true, 1), np.nan)
        union = true + predicted - diag
        per_iou = np.where(union > 0, diag / np.where(union > 0, union, 1), np.nan)
    pixel_acc = float(diag.sum() / total) if total else math.nan
    mean = lambda values: float(np.nanmean(values)) if np.isfinite(values).any() else math.nan  # noqa: E731
    return pixel_acc, mean(per_acc), mean(per_iou), per_acc, per_iou


class LabelMapScores:
    """Pixel and per-class accuracy and IoU of generated label maps against true ones.

    Both maps of a pair are mapped to class ids by nearest colour (:func:`nearest_class`),
    then counted; ``eval`` scores all pixels counted so far (:func:`get_scores`) and says how
    many images and pixels that was.

    Args:
        colors: one (R, G, B) per class; default Cityscapes' for :data:`CITYSCAPES_CLASSES`.
        class_names: names of the classes, in the order of ``colors``.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import LabelMapScores
        >>> scores = LabelMapScores(colors=[(0, 0, 0), (255, 255, 255)], class_names=["ink", "paper"])
        >>> truth = np.zeros((2, 2, 3), np.uint8); truth[0] = 255
        >>> fake = np.full((2, 2, 3), 250, np.uint8)
        >>> scores.update(truth, fake)
        >>> result = scores.eval()
        >>> result["pixel_accuracy"], result["images"], result["per_class_iou"]
        (0.5, 1, {'ink': 0.0, 'paper': 0.5})
    """

    def __init__(self, colors=None, class_names=None):
        if colors is None:
            class_names = CITYSCAPES_CLASSES if class_names is None else class_names
            colors = [CITYSCAPES_COLORS[name] for name in CITYSCAPES_CLASSES]
        colors = [tuple(int(v) for v in c) for c in colors]
        names = tuple(str(n) for n in (class_names if class_names is not None else range(len(colors))))
        if len(names) != len(colors) or not colors:
            raise ValueError(f"LabelMapScores needs one class name per colour, got {len(names)} names for "
                             f"{len(colors)} colours")
        self.colors, self.class_names = colors, names
        self.clear()

    def clear(self):
        """Forget every image counted."""
        self.hist = np.zeros((len(self.colors),) * 2, np.int64)
        self.images = 0

    def update(self, truth, generated):
        """Count one pair: a true label map and a generated one (RGB arrays of one size, or file paths).

        Raises:
            ValueError: the images differ in size or are not RGB.
        """
        truth_ids = nearest_class(truth, self.colors)
        generated_ids = nearest_class(generated, self.colors)
        if truth_ids.shape != generated_ids.shape:
            raise ValueError(f"the true label map is {truth_ids.shape[1]}x{truth_ids.shape[0]} but the "
                             f"generated one {generated_ids.shape[1]}x{generated_ids.shape[0]}; resize the "
                             f"generated image to the true one's size")
        self.hist += fast_hist(truth_ids, generated_ids, len(self.colors))
        self.images += 1

    def eval(self):
        """The scores so far: a dict of pixel_accuracy, mean_class_accuracy, mean_class_iou,
        per_class_accuracy and per_class_iou (name -> value, NaN for a class never seen),
        images and pixels counted."""
        acc, mean_acc, mean_iou, per_acc, per_iou = get_scores(self.hist)
        return {"pixel_accuracy": acc, "mean_class_accuracy": mean_acc, "mean_class_iou": mean_iou,
                "per_class_accuracy": dict(zip(self.class_names, per_acc.tolist())),
                "per_class_iou": dict(zip(self.class_names, per_iou.tolist())),
                "images": self.images, "pixels": int(self.hist.sum())}

    def report(self):
        """The scores as a table: one line per class, then the means."""
        result = self.eval()
        width = max(15, *(len(n) for n in self.class_names))
        show = lambda v: "     -" if v != v else f"{v:6.4f}"  # noqa: E731 - NaN shows as '-'
        lines = [f"{'class':<{width}}  {'acc':>6}  {'iou':>6}"]
        lines += [f"{name:<{width}}  {show(result['per_class_accuracy'][name])}  "
                  f"{show(result['per_class_iou'][name])}" for name in self.class_names]
        lines.append(f"{result['images']} images, {result['pixels']} pixels: pixel accuracy "
                     f"{show(result['pixel_accuracy']).strip()}, mean class accuracy "
                     f"{show(result['mean_class_accuracy']).strip()}, mean class IoU "
                     f"{show(result['mean_class_iou']).strip()}")
        return "\n".join(lines)


class CityScapes:
    """TinyMS 0.3's Cityscapes helper: its 20 classes, their colours, and class ids of a label-map image.

    Attributes:
        classes (list of str): :data:`CITYSCAPES_CLASSES`.
        color_list (list of tuple): their colours.
        class_num (int): 20.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import CityScapes
        >>> cs = CityScapes()
        >>> cs.get_id(np.array([[[128, 64, 128], [70, 130, 180]]], np.uint8)).tolist()
        [[0, 10]]
    """

    def __init__(self):
        self.classes = list(CITYSCAPES_CLASSES)
        self.color_list = [CITYSCAPES_COLORS[name] for name in self.classes]
        self.class_num = len(self.classes)

    def get_id(self, img_path):
        """Class ids (H, W) of a label-map image (a file path or an (H, W, 3) RGB array), by nearest colour."""
        return nearest_class(img_path, self.color_list)


class CycleConsistency:
    """Cycle-consistency error: how far A -> B -> A (or B -> A -> B) lands from the input.

    ``update(real, reconstructed)`` takes batches normalised as the generators see them
    ((N, 3, H, W) or one (3, H, W), values in [-1, 1]); ``eval`` gives the mean absolute
    error over every value counted, in those units (the cycle loss's L1, 0 = perfect, 2 =
    opposite) and in 0..255 levels, the PSNR in dB of the mean squared error over [0, 255]
    images (inf when identical), and the numbers of images and values counted.

    Example:
        >>> import numpy as np
        >>> from tinyms.metrics import CycleConsistency
        >>> metric = CycleConsistency()
        >>> metric.update(np.zeros((2, 3, 4, 4)), np.full((2, 3, 4, 4), 0.1))
        >>> {k: round(v, 3) for k, v in metric.eval().items()}
        {'l1': 0.1, 'l1_levels': 12.75, 'psnr': 26.021, 'images': 2, 'values': 96}
    """

    def __init__(self):
        self.clear()

    def clear(self):
        """Forget every image counted."""
        self.abs_sum = self.sq_sum = 0.0
        self.values = self.images = 0

    def update(self, real, reconstructed):
        """Count a batch of inputs and their reconstructions (same shape).

        Raises:
            ValueError: shapes differ, or an array holds NaN/inf.
        """
        real = np.asarray(real.asnumpy() if hasattr(real, "asnumpy") else real, np.float64)
        rec = np.asarray(reconstructed.asnumpy() if hasattr(reconstructed, "asnumpy") else reconstructed,
                         np.float64)
        if real.shape != rec.shape or real.ndim not in (3, 4):
            raise ValueError(f"CycleConsistency.update takes two (N, C, H, W) batches of one shape, got "
                             f"{real.shape} and {rec.shape}")
        if not (np.isfinite(real).all() and np.isfinite(rec).all()):
            raise ValueError("CycleConsistency.update: the images hold NaN or infinite values")
        diff = real - rec
        self.abs_sum += float(np.abs(diff).sum())
        self.sq_sum += float(np.square(diff).sum())
        self.values += diff.size
        self.images += 1 if real.ndim == 3 else real.shape[0]

    def eval(self):
        """The error so far (see the class description); NaN values when nothing was counted."""
        if not self.values:
            return {"l1": math.nan, "l1_levels": math.nan, "psnr": math.nan, "images": 0, "values": 0}
        l1 = self.abs_sum / self.values
        mse_levels = self.sq_sum / self.values * (255.0 / 2) ** 2
        psnr = math.inf if mse_levels == 0 else 10 * math.log10(255.0 ** 2 / mse_levels)
        return {"l1": l1, "l1_levels": l1 * 255.0 / 2, "psnr": psnr, "images": self.images,
                "values": self.values}
