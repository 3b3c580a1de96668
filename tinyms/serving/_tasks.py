"""What a servable returns, by task: classes or boxes (numpy only; no MindSpore, no ``tinyms.model``).

``servable.json`` names each servable's task (``model.task``, written by ``write_servable`` from
``tinyms.model.tasks.task_of(net).name``); the serving processes dispatch on that string, so an
ONNX servable is served without importing MindSpore or the model registry.

- ``"classification"``: one output, ``logits`` (N, classes).
- ``"text_classification"``: the same output, from int32 token ids (N, max_length) that the
  front end makes out of strings with the servable's ``tinyms.text`` recipe (``model.text``).
- ``"detection"``: two outputs, ``boxes`` (N, A, 4) as [ymin, xmin, ymax, xmax] in [0, 1] of the
  network input and ``scores`` (N, A, C) probabilities, column 0 the background when the entry
  says ``background``. :func:`detections` turns them into each image's objects in pixels of the
  photo sent, as ``tinyms.vision.VOCTransform.detections`` does (per-class non-maximum
  suppression by :func:`tinyms._boxes.detect_boxes`, boxes mapped back through the recipe).
- ``"image_to_image"``: one output, ``output`` (N, C, H, W) in ``model.output_range`` (a
  generator's tanh: [-1, 1]); :func:`translated_images` turns it into uint8 pictures
  (``(x - low) / (high - low) * 255``, rounded), at the network's size or resized back to each
  photo's own size, and :func:`png_bytes` encodes one.
- ``"tabular"``: one output, ``output`` (N, K): a binary network's logit (K 1), a regression
  network's value (K 1), a multiclass network's logits (K classes), from table rows that the
  front end encodes with the servable's feature spec (``model.features``; see
  :mod:`tinyms.serving._tabular`, which also turns the output into answers).
"""

import math
import numbers

from ..errors import RecipeError
from ..vision._detections import STRATEGIES as DETECTION_STRATEGIES
from ..vision._detections import objects_on_photos
from ..vision._np_engine import box_affine
from ._rows import class_labels

__all__ = ["TASKS", "OUTPUT_NAMES", "DETECTION_DEFAULTS", "MAX_DETECTIONS_LIMIT", "DETECTION_STRATEGIES",
           "check_task", "check_detection_settings", "detection_option", "model_facts", "check_box_geometry",
           "detections", "input_dtype", "IMAGE_OPTIONS", "image_option", "check_output_range", "translated_images",
           "png_bytes"]

TASKS = ("classification", "detection", "text_classification", "image_to_image", "tabular")
#: the model outputs each task reads, in the network's output order
OUTPUT_NAMES = {"classification": ("logits",), "detection": ("boxes", "scores"), "text_classification": ("logits",),
                "image_to_image": ("output",), "tabular": ("output",)}
#: the model input's dtype by task (float32 when not listed): text networks take int32 token ids
INPUT_DTYPES = {"text_classification": "int32"}
#: what a detection servable answers with when a request does not say (``model.detection`` overrides)
DETECTION_DEFAULTS = {"score_threshold": 0.3, "iou_threshold": 0.5, "max_detections": 100}
MAX_DETECTIONS_LIMIT = 1000
#: an image_to_image request's options and their values, the default first: ``output_size`` is the
#: network's size or the photo's own ("original"), ``format`` a JSON answer or the raw PNG bytes
IMAGE_OPTIONS = {"output_size": ("network", "original"), "format": ("json", "png")}
#: a generator's output range when ``model.output_range`` does not say (tanh)
DEFAULT_OUTPUT_RANGE = (-1.0, 1.0)


def check_task(name):
    """``name`` if serving knows the task, else ValueError naming the known ones."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"model.task {name!r} is not a task this server can serve; use one of {', '.join(TASKS)}")
    return name


def input_dtype(task):
    """The numpy dtype name of a ``task`` network's input: ``"int32"`` token ids for text, else ``"float32"``."""
    return INPUT_DTYPES.get(task, "float32")


def detection_option(name, value):
    """One detection setting checked: thresholds are numbers in [0, 1], max_detections 1..1000.

    Text (a query string or form field) is read as a number first.

    Raises:
        ValueError: the value is not of the right kind or outside its range; the message says
            what is accepted.
    """
    if isinstance(value, str):
        try:
            value = float(value) if name != "max_detections" else int(value.strip())
        except ValueError:
            value = None
    if name == "max_detections":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or not 1 <= value <= MAX_DETECTIONS_LIMIT:
            raise ValueError(f"max_detections must be an integer from 1 to {MAX_DETECTIONS_LIMIT}")
        return int(value)
    if name not in ("score_threshold", "iou_threshold"):
        raise ValueError(f"unknown detection setting {name!r}; use {', '.join(DETECTION_DEFAULTS)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1")
    return float(value)


def image_option(name, value):
    """One image_to_image request option checked (case-insensitive); returns its lower-case value.

    Raises:
        ValueError: an unknown option or value; the message lists the accepted ones.
    """
    if name not in IMAGE_OPTIONS:
        raise ValueError(f"unknown image_to_image option {name!r}; use {', '.join(IMAGE_OPTIONS)}")
    allowed = IMAGE_OPTIONS[name]
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}")
    return value.lower()


def check_output_range(value):
    """``model.output_range`` as a (low, high) tuple of floats, low < high (default (-1, 1)).

    Raises:
        ValueError: not two finite numbers with low < high.
    """
    if value is None:
        return DEFAULT_OUTPUT_RANGE
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value) \
            or not value[0] < value[1]:
        raise ValueError(f"model.output_range must be [low, high], two numbers with low < high (a tanh generator: "
                         f"[-1, 1]), got {value!r}")
    return float(value[0]), float(value[1])


def translated_images(output, output_range=DEFAULT_OUTPUT_RANGE, sizes=None):
    """An image_to_image network's output as pictures: one (H, W, C) uint8 array per row.

    Args:
        output (numpy.ndarray): the network's output, (N, C, H, W) with C 1 or 3.
        output_range (tuple): the values that mean black and white, ``(low, high)``; a pixel is
            ``(x - low) / (high - low) * 255``, rounded half to even and clipped to 0..255.
        sizes (list of (height, width)): resize each picture to this size (the photo's own),
            bilinear as MindSpore's ``Resize`` (the numpy executor's); None keeps the network's.

    Returns:
        list of numpy.ndarray: uint8 (H, W, C).
    """
    import numpy as np

    from ..vision._np_engine import resize_bilinear_u8

    low, high = output_range
    values = (np.asarray(output, np.float64) - low) * (255.0 / (high - low))
    pixels = np.clip(np.rint(values), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    images = [np.ascontiguousarray(p) for p in pixels]
    if sizes is not None:
        images = [img if img.shape[:2] == tuple(size) else resize_bilinear_u8(img, int(size[0]), int(size[1]))
                  for img, size in zip(images, sizes)]
    return images


def png_bytes(image):
    """The PNG file of an (H, W, C) uint8 picture (C 1: grey, 3: RGB)."""
    import io

    from PIL import Image

    arr = image[:, :, 0] if image.shape[2] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def check_detection_settings(settings):
    """``DETECTION_DEFAULTS`` updated with ``settings`` (a dict or None), each value checked.

    Raises:
        ValueError: an unknown key or a value out of range.
    """
    if settings is None:
        return dict(DETECTION_DEFAULTS)
    if not isinstance(settings, dict):
        raise ValueError(f"model.detection must be an object with {', '.join(DETECTION_DEFAULTS)}")
    unknown = sorted(set(settings) - set(DETECTION_DEFAULTS))
    if unknown:
        raise ValueError(f"model.detection has unknown keys {unknown}; it takes {', '.join(DETECTION_DEFAULTS)}")
    out = dict(DETECTION_DEFAULTS)
    for key, value in settings.items():
        out[key] = detection_option(key, value)
    return out


def model_facts(task, outputs, labels=None, fallback_labels=None, background=False):
    """What a loaded model's outputs on one zero input say, as the front ends need it.

    Args:
        task (str): the servable's task.
        outputs (sequence of numpy.ndarray): the model's outputs for a batch of one.
        labels (sequence of str): the names ``servable.json`` gives.
        fallback_labels (sequence of str): names to use when none are given and they fit.
        background (bool): for detection, score column 0 is the background class.

    Returns:
        dict: ``task``, ``classes`` (output columns), ``labels``; for detection also
        ``background`` and ``anchors``.

    Raises:
        ValueError: the outputs do not have the task's shapes, or the labels do not fit them.
    """
    names = OUTPUT_NAMES[check_task(task)]
    if len(outputs) < len(names):
        raise ValueError(f"a {task} servable needs {len(names)} model output(s) ({', '.join(names)}); the model "
                         f"has {len(outputs)}")
    if task in ("classification", "text_classification"):
        out = outputs[0]
        if out.ndim != 2:
            raise ValueError(f"the network returns an output of shape {out.shape}; serving needs (batch, classes)")
        classes = int(out.shape[1])
        return {"task": task, "classes": classes, "labels": list(class_labels(classes, labels, fallback_labels))}
    if task == "image_to_image":
        out = outputs[0]
        if out.ndim != 4 or out.shape[1] not in (1, 3):
            raise ValueError(f"an image_to_image network returns images (batch, channels, height, width) with 1 "
                             f"or 3 channels; this one returns shape {out.shape}")
        return {"task": task, "classes": 0, "labels": [], "output_shape": [int(d) for d in out.shape[1:]]}
    if task == "tabular":
        out = outputs[0]
        if out.ndim != 2:
            raise ValueError(f"a tabular network returns (batch, outputs): one logit or value per row, or one "
                             f"logit per class; this one returns shape {out.shape}")
        return {"task": task, "classes": int(out.shape[1]), "labels": []}
    boxes, scores = outputs[:2]
    if boxes.ndim != 3 or boxes.shape[2] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
        raise ValueError(f"a detection network returns boxes (batch, anchors, 4) and scores (batch, anchors, "
                         f"classes); this one returns shapes {boxes.shape} and {scores.shape}")
    classes = int(scores.shape[2])
    named = classes - (1 if background else 0)
    if named < 1:
        raise ValueError(f"the network scores {classes} class(es), background included; it needs at least one "
                         "object class")
    try:
        names = class_labels(named, labels, fallback_labels)
    except ValueError:
        raise ValueError(f"model.labels has {len(labels)} names but the network scores {named} object classes"
                         f"{' besides the background' if background else ''}; give one name per object class "
                         "(no background)") from None
    return {"task": task, "classes": classes, "labels": list(names), "background": bool(background),
            "anchors": int(boxes.shape[1])}


def check_box_geometry(steps, input_shape):
    """Raise ValueError unless boxes on the network input can be mapped back through ``steps``."""
    try:
        box_affine(steps, int(input_shape[-2]) * 2, int(input_shape[-1]) * 3)
    except RecipeError as err:
        raise ValueError(f"model.recipe: {err}") from None


def detections(boxes, scores, labels, background, input_shape, settings, steps=None, image_sizes=None):
    """Each image's objects, best first, in pixels of the image sent.

    The same computation as ``tinyms.vision.VOCTransform.detections``
    (:func:`tinyms.vision._detections.objects_on_photos`), so a served detector answers as the
    library does in-process.

    Args:
        boxes, scores (numpy.ndarray): the model's outputs, (N, A, 4) and (N, A, C).
        labels (sequence of str): the object class names (no background).
        background (bool): score column 0 is the background class.
        input_shape (tuple): one network input's shape (C, H, W).
        settings (dict): ``score_threshold``, ``iou_threshold``, ``max_detections`` and
            ``strategy`` (one of :data:`DETECTION_STRATEGIES`).
        steps: the recipe's evaluation steps the images went through (None: tensors were sent).
        image_sizes (list of (height, width)): each photo's size before those steps; None when
            tensors were sent (boxes are then in pixels of the network input).

    Returns:
        list: per image ``{"image_size": {"width", "height"}, "detections": [{"box": [xmin, ymin,
        xmax, ymax], "label", "label_id", "score"}, ...]}``, boxes clipped to the image.
    """
    size = (int(input_shape[-2]), int(input_shape[-1]))
    found = objects_on_photos(boxes, scores, labels, background, size, steps, image_sizes,
                              score_threshold=settings["score_threshold"], iou_threshold=settings["iou_threshold"],
                              max_detections=settings["max_detections"],
                              strategy=settings.get("strategy", "TOP1_CLASS"))
    sizes = image_sizes if image_sizes is not None else [size] * len(found)
    return [{"image_size": {"width": int(w), "height": int(h)}, "detections": objects}
            for objects, (h, w) in zip(found, sizes)]
