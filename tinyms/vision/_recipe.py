"""A preprocessing recipe as a value: named steps with plain parameters, for training and for evaluation.

A :class:`Recipe` says *what* happens to an image (``("resize", {"size": [32, 32]})``...), never
*how*: two executors run it, MindSpore's dataset engine (:mod:`tinyms.vision._ms_engine`, for
datasets and single images in the training process) and a small numpy/PIL one
(:mod:`tinyms.vision._np_engine`, for the serving front end, which never loads MindSpore). A
recipe round-trips through JSON, so it travels in a model's config and in ``servable.json``.

This module is MindSpore-free. Each op is declared once in :data:`OPS` with its parameters;
both executors register one function per op, and a test runs every op through both.

Detection recipes also carry boxes: an op declares what it does to them (``boxes="move"``: it
moves pixels and has a box function in the numpy executor that moves the boxes the same way;
``"keep"``: it changes pixel values only). Ops without a declaration cannot run on images with
boxes.
"""

import dataclasses
import json
import math
import numbers

from .._jsonread import loads
from ..errors import RecipeError

__all__ = ["Recipe", "Step", "RecipeError", "OPS", "RECIPE_VERSION"]

RECIPE_VERSION = 1


# --------------------------------------------------------------------------- parameter checks
def _size(value, name):
    """An output size: one positive int (the shorter side) or [height, width]."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 1:
            raise RecipeError(f"{name} must be at least 1, got {value}")
        return int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value):
        return [int(value[0]), int(value[1])]
    raise RecipeError(f"{name} must be a positive int or [height, width] of positive ints, got {value!r}")


def _pair_size(value, name):
    value = _size(value, name)
    return [value, value] if isinstance(value, int) else value


def _number(value, name, low=-math.inf, high=math.inf, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise RecipeError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if value < low or value > high or (low_open and value == low):
        raise RecipeError(f"{name} must lie in {'(' if low_open else '['}{low:g}, {high:g}], got {value:g}")
    return value


def _numbers(value, name, positive=False):
    if not isinstance(value, (list, tuple)) or not value:
        raise RecipeError(f"{name} must be a non-empty list of numbers, got {value!r}")
    return [_number(v, name, 0.0 if positive else -math.inf, low_open=positive) for v in value]


def _range(value, name, low=0.0):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RecipeError(f"{name} must be [low, high], got {value!r}")
    lo, hi = (_number(v, name, low, low_open=True) for v in value)
    if lo > hi:
        raise RecipeError(f"{name} must be [low, high] with low <= high, got {value!r}")
    return [lo, hi]


def _min_ious(value, name):
    """The choices of a random IoU crop: numbers in [0, 1], or None for "keep the image whole"."""
    if not isinstance(value, (list, tuple)) or not value:
        raise RecipeError(f"{name} must be a non-empty list of numbers in [0, 1] or null, got {value!r}")
    return [None if v is None else _number(v, name, 0.0, 1.0) for v in value]


def _byte(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= 255:
        raise RecipeError(f"{name} must be a whole number from 0 to 255, got {value!r}")
    return int(value)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise RecipeError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _unit_range(value, name):
    lo, hi = _range(value, name)
    if hi > 1.0:
        raise RecipeError(f"{name} must be [low, high] within (0, 1] (fractions of the image's side), got {value!r}")
    return [lo, hi]


def _fraction(value, name, high=1.0):
    return _number(value, name, 0.0, high)


def _non_negative_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise RecipeError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class _OpSpec:
    """One op: its parameters (name -> (check, default or _REQUIRED)), whether it is random, and
    what it does to boxes ("move", "keep", or "" when it cannot carry boxes)."""

    params: dict
    random: bool = False
    doc: str = ""
    boxes: str = ""


_REQUIRED = object()

#: Every op a recipe may name. Images enter as HWC uint8 and stay HWC until ``hwc2chw``.
OPS = {
    "frame_digit": _OpSpec({}, doc="grey photo of a digit -> 28x28 MNIST-style framing "
                                   "(identity on MNIST images)"),
    "resize": _OpSpec({"size": (_size, _REQUIRED)}, boxes="move",
                      doc="bilinear resize to [h, w] (aspect not kept), or shorter side to an int"),
    "letterbox": _OpSpec({"size": (_pair_size, _REQUIRED), "fill": (_byte, 114)}, boxes="move",
                         doc="bilinear resize keeping the aspect ratio to fit [h, w], centred, the rest "
                             "filled with the grey level fill (YOLO's input)"),
    "center_crop": _OpSpec({"size": (_pair_size, _REQUIRED)}, doc="crop [h, w] from the centre"),
    "random_crop": _OpSpec({"size": (_pair_size, _REQUIRED), "padding": (_non_negative_int, 0)},
                           random=True, doc="zero-pad each side, then crop [h, w] at a random place"),
    "random_resized_crop": _OpSpec({"size": (_pair_size, _REQUIRED),
                                    "scale": (lambda v, n: _range(v, n), [0.08, 1.0]),
                                    "ratio": (lambda v, n: _range(v, n), [3 / 4, 4 / 3])},
                                   random=True,
                                   doc="crop a random area and aspect ratio, resize to [h, w]"),
    "random_iou_crop": _OpSpec({"min_ious": (_min_ious, [None, 0.1, 0.3, 0.5, 0.7, 0.9]),
                                "trials": (_positive_int, 50),
                                "scale": (_unit_range, [0.3, 1.0]),
                                "ratio": (lambda v, n: _range(v, n), [0.5, 2.0])},
                               random=True, boxes="move",
                               doc="SSD's crop: pick a minimum IoU from min_ious (null: keep the image "
                                   "whole), try up to `trials` crops (each side scale x the image's, "
                                   "width/height in ratio) for one overlapping an object at least that "
                                   "much; keep the boxes whose centres fall inside, clipped"),
    "random_horizontal_flip": _OpSpec({"prob": (lambda v, n: _number(v, n, 0.0, 1.0), 0.5)},
                                      random=True, boxes="move", doc="mirror left-right with probability prob"),
    "color_jitter": _OpSpec({"brightness": (_fraction, 0.2), "contrast": (_fraction, 0.5),
                             "saturation": (_fraction, 0.5), "hue": (lambda v, n: _fraction(v, n, 0.5), 0.05)},
                            random=True, boxes="keep",
                            doc="scale brightness, contrast and saturation by random factors in "
                                "[1 - x, 1 + x], rotate the hue by up to hue of a turn"),
    "rescale": _OpSpec({"scale": (_number, _REQUIRED), "shift": (_number, 0.0)}, boxes="keep",
                       doc="x * scale + shift, as float32"),
    "normalize": _OpSpec({"mean": (_numbers, _REQUIRED),
                          "std": (lambda v, n: _numbers(v, n, positive=True), _REQUIRED)}, boxes="keep",
                         doc="(x - mean) / std per channel"),
    "hwc2chw": _OpSpec({}, boxes="keep", doc="move channels first"),
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One op of a recipe with its checked parameters.

    Attributes:
        op: the op's name, a key of :data:`OPS`.
        params: the op's parameters, every default filled in (a tuple of (name, value) pairs,
            so steps are hashable; :meth:`kwargs` gives a dict).
    """

    op: str
    params: tuple = ()

    @classmethod
    def make(cls, op, params=None):
        """Check ``op`` and ``params`` and return the step with defaults filled in.

        Raises:
            RecipeError: the op is unknown, a parameter is missing, unknown or invalid.
        """
        spec = OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise RecipeError(f"unknown recipe op {op!r}; known ops: {', '.join(sorted(OPS))}")
        params = dict(params or {})
        unknown = sorted(set(params) - set(spec.params))
        if unknown:
            allowed = ", ".join(sorted(spec.params)) or "none"
            raise RecipeError(f"op {op!r} has no parameter {unknown[0]!r} (its parameters: {allowed})")
        checked = []
        for name, (check, default) in spec.params.items():
            if name not in params:
                if default is _REQUIRED:
                    raise RecipeError(f"op {op!r} needs the parameter {name!r}")
                value = default
            else:
                value = params[name]
            checked.append((name, _frozen(check(value, f"{op}.{name}"))))
        return cls(op, tuple(checked))

    @property
    def random(self):
        """True for augmentation ops, which only a training list may hold."""
        return OPS[self.op].random

    def kwargs(self):
        """The parameters as a dict of plain lists and numbers."""
        return {name: _thawed(value) for name, value in self.params}

    def to_json(self):
        """``[op, {params}]``, the JSON form of this step."""
        return [self.op, self.kwargs()]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs().items())
        return f"{self.op}({args})"


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _thawed(value):
    return [_thawed(v) for v in value] if isinstance(value, tuple) else value


def _steps(items, where):
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise RecipeError(f"{where} must be a list of steps, got {items!r}")
    steps = []
    for item in items:
        if isinstance(item, Step):
            steps.append(Step.make(item.op, item.kwargs()))
        elif isinstance(item, (list, tuple)) and len(item) in (1, 2) and isinstance(item[0], str):
            params = item[1] if len(item) == 2 else {}
            if not isinstance(params, dict):
                raise RecipeError(f"the parameters of step {item[0]!r} in {where} must be an object")
            steps.append(Step.make(item[0], params))
        elif isinstance(item, str):
            steps.append(Step.make(item))
        else:
            raise RecipeError(f"a step in {where} must be [op, {{params}}], got {item!r}")
    return tuple(steps)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How images are prepared for a network, for training and for evaluation.

    A recipe is an immutable value: build a new one to change it. The evaluation list may not
    hold random ops, so evaluation and inference are deterministic.

    Args:
        train: steps for training (may include augmentation), each ``[op, {params}]``, a
            :class:`Step`, or an op name without parameters.
        eval: steps for evaluation and inference.
        channels: 1 (grey) or 3 (RGB): what single images are converted to before the steps.

    Raises:
        RecipeError: a step is malformed, the evaluation list holds a random op, or
            ``channels`` is not 1 or 3.

    Example:
        >>> from tinyms.vision import Recipe
        >>> r = Recipe(train=[["random_crop", {"size": 32, "padding": 4}], ["hwc2chw"]],
        ...            eval=[["hwc2chw"]], channels=3)
        >>> Recipe.from_json(r.to_json()) == r
        True
    """

    train: tuple
    eval: tuple
    channels: int = 3

    def __post_init__(self):
        object.__setattr__(self, "train", _steps(self.train, "recipe.train"))
        object.__setattr__(self, "eval", _steps(self.eval, "recipe.eval"))
        if self.channels not in (1, 3) or isinstance(self.channels, bool):
            raise RecipeError(f"recipe.channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")
        randoms = [step.op for step in self.eval if step.random]
        if randoms:
            raise RecipeError(f"the evaluation steps hold the random op {randoms[0]!r}; augmentation "
                              f"belongs in the training steps only")

    def steps(self, is_training):
        """The training or the evaluation steps."""
        return self.train if is_training else self.eval

    def to_dict(self):
        """The JSON-ready form: ``{"version", "channels", "train": [...], "eval": [...]}``."""
        return {"version": RECIPE_VERSION, "channels": self.channels,
                "train": [s.to_json() for s in self.train], "eval": [s.to_json() for s in self.eval]}

    def to_json(self):
        """This recipe as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Rebuild a recipe from :meth:`to_dict`'s form.

        Raises:
            RecipeError: the data is not a recipe of a version this TinyMS reads.
        """
        if isinstance(data, Recipe):
            return data
        if not isinstance(data, dict):
            raise RecipeError(f"a recipe must be an object with train, eval and channels, got {data!r:.80}")
        version = data.get("version", RECIPE_VERSION)
        if version != RECIPE_VERSION:
            raise RecipeError(f"recipe version {version!r} is not supported (this TinyMS reads version "
                              f"{RECIPE_VERSION}); upgrade TinyMS or re-export the model")
        unknown = sorted(set(data) - {"version", "channels", "train", "eval"})
        if unknown:
            raise RecipeError(f"a recipe has no field {unknown[0]!r} (fields: version, channels, train, eval)")
        if "eval" not in data:
            raise RecipeError("a recipe needs an 'eval' list of steps")
        return cls(train=data.get("train", data["eval"]), eval=data["eval"],
                   channels=data.get("channels", 3))

    @classmethod
    def from_json(cls, text):
        """Rebuild a recipe from :meth:`to_json`'s string."""
        try:
            data = loads(text, "the recipe")
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"a recipe must be JSON text: {exc}") from None
        return cls.from_dict(data)

    def fixed_output_shape(self):
        """The shape the evaluation steps give every image, or None when it depends on the image's size."""
        shape = self.output_shape(64, 48)
        return shape if shape == self.output_shape(17, 93) else None

    def check_serves(self, input_shape):
        """Raise RecipeError unless the evaluation steps turn an image of any size into ``input_shape``.

        A served model gets images of every size, so its recipe must fix the output size, and
        that size must be the network's input.
        """
        produced = self.fixed_output_shape()
        if produced is None:
            raise RecipeError("the recipe's evaluation steps keep each image's own size, so images of other "
                              "sizes could not be served; add a resize step")
        if tuple(produced) != tuple(input_shape):
            raise RecipeError(f"the recipe produces inputs of shape {list(produced)} but the network takes "
                              f"{list(input_shape)}; use the transform the network was trained with")

    def output_shape(self, height, width):
        """The (C, H, W) or (H, W, C) shape this recipe's evaluation steps give a height x width image."""
        shape = [height, width, self.channels]
        for step in self.eval:
            p = step.kwargs()
            if step.op == "frame_digit":
                shape[0:2] = [28, 28]
            elif step.op == "resize":
                shape[0:2] = _resized(shape[0], shape[1], p["size"])
            elif step.op in ("center_crop", "letterbox"):
                shape[0:2] = p["size"]
            elif step.op == "hwc2chw":
                shape = [shape[2], shape[0], shape[1]]
        return tuple(shape)


def _resized(height, width, size):
    """Output (h, w) of ``resize``: [h, w] as given, or the shorter side set to an int (floor)."""
    if isinstance(size, (list, tuple)):
        return [int(size[0]), int(size[1])]
    if height <= width:
        return [size, max(1, size * width // height)]
    return [max(1, size * height // width), size]
