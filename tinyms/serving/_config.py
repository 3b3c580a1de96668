"""Reading and checking a serving directory's ``servable.json`` (no MindSpore).

The file is a JSON list with one entry per servable::

    [
      {
        "name": "lenet5",
        "description": "LeNet5 trained on MNIST",
        "model": {
          "name": "lenet5",            # zoo network to build (needed for "ckpt")
          "format": "ckpt",            # which weights to serve: "ckpt", "mindir" or "onnx"
          "class_num": 10,
          "build_args": {"class_num": 10, "num_channel": 1},  # the zoo builder's arguments (for "ckpt";
                                                             # without it: class_num only)
          "files": {"ckpt": "lenet5.ckpt", "onnx": "lenet5.onnx"},
          "input_shape": [1, 32, 32],  # optional for "ckpt" (read from the zoo) and "onnx" (read from the file)
          "dataset": "mnist", "transform": "mnist_transform",
          "labels": ["0", "1", ...], "mean": [0.1307], "std": [0.3081],
          "recipe": {"version": 1, "channels": 1, "train": [...],    # the preprocessing the model was
                     "eval": [["resize", {"size": [32, 32]}], ...]},  # trained with (tinyms.vision.Recipe)
          "sha256": {"ckpt": "9f2c...", "onnx": "41d0..."},  # each file's, by its format
          "task": "classification"     # optional: "classification" (default), "detection",
                                       # "text_classification", "image_to_image" or "tabular"
        },
        "max_batch_size": 16,          # optional, rows per model call (1 turns batching off)
        "max_delay_ms": 2,             # optional, longest wait for more rows to join a batch
        "warmup": true                 # optional, compile every batch size before serving (MindSpore)
      }
    ]

A detection servable (``"task": "detection"``) returns boxes: its ``labels`` name the object
classes (no background), ``"background": true`` says that score column 0 is the background
(``class_num`` then counts it, as SSD's does), its recipe must resize or letterbox (so that
boxes map back onto the photo), and ``"detection": {"score_threshold": 0.3, "iou_threshold":
0.5, "max_detections": 100}`` gives the answers' defaults (requests may override them).

An image-to-image servable (``"task": "image_to_image"``) takes a photo and answers a picture: its
network is one generator (float32 (1, C, S, S) prepared by the recipe in, (1, C, S, S) out), with
no labels or class count; ``"output_range": [-1, 1]`` (the default: tanh) says which output
values are black and white, and ``"generator": "a2b"`` (or ``"b2a"``) that a checkpoint holds
that generator of the zoo network ``model.name`` (a CycleGAN's ``generator("a2b")``), so the
checkpoint servable builds the whole network and serves that generator.

A text servable (``"task": "text_classification"``) takes strings: ``model.text`` is the recipe
of the ``tinyms.text.TextTransform`` it was trained with (``TextTransform.to_config``: tokenizer
kind and lower-casing, ``max_length``, truncation, labels, and ``tokenizer.files``: each vocabulary
file, a name in the servable's folder, with its SHA-256), and ``input_shape`` is ``[max_length]``.
The vocabulary files are checked against their SHA-256 whenever the entry is checked: a changed
vocabulary would give other token ids than the network learned, so the entry is refused.

A tabular servable (``"task": "tabular"``) takes table rows (JSON objects, column to value):
``model.features`` names the feature spec file beside the weights (``features.json``, the
:class:`tinyms.data.FeatureSpec` the network was trained with) with its SHA-256, and repeats the
spec's ``objective``, ``label``, ``label_classes``, ``field_size`` and ``vocab_size``;
``input_shape`` is ``[field_size]`` (the network takes ``feat_ids`` int32 and ``feat_vals``
float32, both (N, field_size)). The spec file is checked against its SHA-256 whenever the entry
is checked (see :mod:`tinyms.serving._tabular`).

Weights live in ``<serving_path>/<servable name>/``; the served file is ``model.file`` if given,
else ``model.files[format]``, else ``<servable name>.<format>``. Its real path (symlinks
followed) must lie inside that folder. When ``model.sha256`` records the file's SHA-256 (as
``write_servable`` does), the process that loads the weights checks it first and refuses a file
that does not match. The digest belongs to the entry's format, not to a file name, so a weights
file that was renamed or copied (with its entry) is still checked; entries of older TinyMS
versions key digests by file name, which is read too (and, for a renamed file, the one digest
recorded for a file of its format). Files with no digest are listed as ``unchecked``.

Each entry is checked on its own: a bad entry becomes a :class:`Problem` naming the file, the
entry and the reason, and the other entries are still served.
"""

import dataclasses
import hashlib
import json
import math
import os
import re

from .._checks import positive_int
from .._fileio import sha256_of
from .._jsonread import load_file
from .._text import first_sentence, has_framework_detail
from ..errors import JSONInputError, RecipeError
from ..vision._recipe import Recipe
from ._tasks import check_detection_settings, check_output_range, check_task
from .errors import ServableConfigError

SERVABLE_FILE = "servable.json"
FORMATS = {"ckpt": ".ckpt", "mindir": ".mindir", "onnx": ".onnx"}
MINDSPORE_FORMATS = ("ckpt", "mindir")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_MAX_BATCH_SIZE = 16
DEFAULT_MAX_DELAY_MS = 2.0
MAX_BATCH_LIMIT = 1024
MAX_SERVABLE_FILE_BYTES = 16 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# An absolute path inside a message: a '/' that starts a token, then at least two components.
_ABS_PATH = re.compile(r"(?<![\w.:/-])/(?:[^\s'\"/:,;()\[\]<>]+/)+([^\s'\"/:,;()\[\]<>]*)")


@dataclasses.dataclass
class ServableSpec:
    """One valid servable entry, with every path resolved and every default filled in.

    Fields that only the model can tell (``input_shape``, ``labels``...) may still be ``None``
    here; the process that loads the model fills them in.
    """

    name: str
    description: str
    format: str
    model_name: str
    path: str
    class_num: int = None
    build_args: dict = None
    input_shape: tuple = None
    labels: tuple = None
    dataset: str = ""
    transform: str = ""
    mean: tuple = None
    std: tuple = None
    recipe: dict = None
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_delay_ms: float = DEFAULT_MAX_DELAY_MS
    warmup: bool = True
    sha256: str = None
    root: str = ""
    task: str = "classification"
    background: bool = False
    detection: dict = None
    unchecked: tuple = ()
    text: dict = None
    output_range: tuple = None
    generator: str = None
    features: dict = None

    @property
    def shown_path(self):
        """The weights file relative to the serving directory, as messages to clients show it."""
        return os.path.relpath(self.path, self.root) if self.root else os.path.basename(self.path)

    def read_weights(self):
        """The bytes of the weights file, checked against ``sha256`` when one is recorded.

        Raises:
            ValueError: the file cannot be read or does not match its recorded SHA-256.
        """
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise ValueError(f"cannot read weights file {self.path}: {err.strerror}") from None
        self._check_digest(hashlib.sha256(data).hexdigest())
        return data

    def verify_weights(self):
        """Check the weights file against ``sha256`` (no-op when none is recorded).

        Raises:
            ValueError: the file cannot be read or does not match its recorded SHA-256.
        """
        if self.sha256 is None:
            return
        try:
            digest = sha256_of(self.path)
        except OSError as err:
            raise ValueError(f"cannot read weights file {self.path}: {err.strerror}") from None
        self._check_digest(digest)

    def _check_digest(self, digest):
        if self.sha256 is not None and digest != self.sha256:
            raise ValueError(f"weights file {self.path} does not match the SHA-256 recorded in {SERVABLE_FILE} "
                             f"(recorded {self.sha256[:16]}..., the file has {digest[:16]}...): it changed after "
                             "it was written; write the servable again (tinyms.serving.write_servable)")

    @property
    def needs_mindspore(self):
        """True when this servable runs on MindSpore (checkpoint or MindIR), not onnxruntime."""
        return self.format in MINDSPORE_FORMATS

    def to_dict(self):
        """Plain JSON-ready form (tuples become lists)."""
        out = dataclasses.asdict(self)
        for key in ("input_shape", "labels", "mean", "std", "unchecked", "output_range"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("input_shape", "labels", "mean", "std", "unchecked", "output_range"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclasses.dataclass
class Problem:
    """Why one entry of ``servable.json`` is not served."""

    file: str
    entry: int
    servable: str
    reason: str

    def __str__(self):
        name = f" ({self.servable!r})" if self.servable else ""
        return f"{self.file}, entry {self.entry}{name}: {self.reason}"

    def to_dict(self):
        return {"file": self.file, "entry": self.entry, "servable": self.servable,
                "reason": self.reason, "message": str(self)}


def servable_file(serving_path):
    """Path of ``servable.json`` inside ``serving_path``."""
    return os.path.join(os.path.abspath(os.path.expanduser(os.fspath(serving_path))), SERVABLE_FILE)


def read_entries(serving_path):
    """Return the raw list of entries of ``<serving_path>/servable.json``.

    Raises:
        ServableConfigError: the folder or file is missing, is not valid JSON, or is not a list.
    """
    path = servable_file(serving_path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ServableConfigError(
            f"serving directory {folder} does not exist; train and save a model first "
            "(`tinyms quickstart`, or tinyms.serving.write_servable(...)), or pass the directory "
            "that holds servable.json")
    if not os.path.isfile(path):
        raise ServableConfigError(
            f"no {SERVABLE_FILE} in {folder}; write one with tinyms.serving.write_servable(...) "
            "or `tinyms quickstart --out DIR`")
    try:
        data = load_file(path, max_bytes=MAX_SERVABLE_FILE_BYTES)
    except JSONInputError as err:
        raise ServableConfigError(str(err)) from None
    except UnicodeDecodeError as err:
        raise ServableConfigError(f"{path} is not UTF-8 text ({err}); rewrite it as UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise ServableConfigError(
            f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}; "
            "fix the file (it must hold a list of servable entries)") from None
    except OSError as err:
        raise ServableConfigError(f"cannot read {path}: {err.strerror}; check its permissions") from None
    if isinstance(data, dict) and isinstance(data.get("servables"), list):
        data = data["servables"]
    if not isinstance(data, list):
        raise ServableConfigError(
            f"{path} must hold a JSON list of servable entries, got a {type(data).__name__}; "
            'write e.g. [{"name": "lenet5", "model": {"name": "lenet5", "format": "ckpt", "class_num": 10}}]')
    return data


def load_servables(serving_path):
    """Check every entry of ``<serving_path>/servable.json``.

    Args:
        serving_path (str): the serving directory.

    Returns:
        tuple: ``(specs, problems)``: a list of :class:`ServableSpec` for the valid entries and a
        list of :class:`Problem` for the others.

    Raises:
        ServableConfigError: the file as a whole cannot be used (see :func:`read_entries`).
    """
    path = servable_file(serving_path)
    folder = os.path.dirname(path)
    specs, problems, seen = [], [], set()
    for index, entry in enumerate(read_entries(serving_path)):
        name = entry.get("name") if isinstance(entry, dict) else None
        try:
            spec = _check_entry(entry, folder)
            if spec.name in seen:
                raise ValueError(f"the name {spec.name!r} is used by an earlier entry; give each servable its own name")
            seen.add(spec.name)
            specs.append(spec)
        except ValueError as err:
            problems.append(Problem(path, index, name if isinstance(name, str) else None, str(err)))
    return specs, problems


def _check_entry(entry, folder):
    if not isinstance(entry, dict):
        raise ValueError(f"an entry must be a JSON object, got {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(
            f"'name' must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit), "
            f"got {name!r}")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise ValueError("'description' must be a string")
    model = entry.get("model")
    if not isinstance(model, dict):
        raise ValueError("'model' must be an object such as "
                         '{"name": "lenet5", "format": "ckpt", "class_num": 10}')
    fmt = str(model.get("format", "ckpt")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"model.format {model.get('format')!r} is not one of {', '.join(FORMATS)}")
    model_name = model.get("name", "")
    if not isinstance(model_name, str):
        raise ValueError("model.name must be a string naming a zoo network, e.g. \"lenet5\"")
    if fmt == "ckpt" and not model_name:
        raise ValueError("model.name is required for checkpoints: it names the zoo network to build, e.g. \"lenet5\"")
    class_num = model.get("class_num")
    if class_num is not None:
        try:
            class_num = positive_int(class_num, "model.class_num")
        except TypeError as err:  # a problem with this entry, like every other
            raise ValueError(str(err)) from None
    build_args = _build_args(model.get("build_args"), class_num)
    input_shape = _int_tuple(model.get("input_shape"), "model.input_shape")
    task = check_task(model.get("task", "classification"))
    background = model.get("background", False)
    if not isinstance(background, bool) or (background and task != "detection"):
        raise ValueError("model.background must be true or false, and true only for a detection servable")
    detection = check_detection_settings(model.get("detection")) if task == "detection" else None
    if task != "detection" and model.get("detection") is not None:
        raise ValueError("model.detection is for detection servables (\"task\": \"detection\")")
    labels = model.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not labels:
            raise ValueError("model.labels must be a non-empty list of class names")
        labels = tuple(str(lab) for lab in labels)
        if class_num is not None and len(labels) != class_num - int(background):
            extra = " besides the background" if background else ""
            raise ValueError(f"model.labels has {len(labels)} names but model.class_num is {class_num}; "
                             f"give one label per class{extra}")
    mean = _float_tuple(model.get("mean"), "model.mean")
    std = _float_tuple(model.get("std"), "model.std")
    if std is not None and any(s <= 0 for s in std):
        raise ValueError("model.std values must be positive")
    dataset = model.get("dataset", "") or ""
    transform = model.get("transform", "") or ""
    if not isinstance(dataset, str) or not isinstance(transform, str):
        raise ValueError("model.dataset and model.transform must be strings")
    if not transform and dataset:
        transform = f"{dataset.lower()}_transform"
    recipe = model.get("recipe")
    if recipe is not None:
        try:
            recipe = Recipe.from_dict(recipe).to_dict()
        except RecipeError as err:
            raise ValueError(f"model.recipe: {err}") from None
    max_batch = entry.get("max_batch_size", DEFAULT_MAX_BATCH_SIZE)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or not 1 <= max_batch <= MAX_BATCH_LIMIT:
        raise ValueError(f"max_batch_size must be an integer from 1 (no batching) to {MAX_BATCH_LIMIT}, "
                         f"got {max_batch!r}")
    max_delay = entry.get("max_delay_ms", DEFAULT_MAX_DELAY_MS)
    if isinstance(max_delay, bool) or not isinstance(max_delay, (int, float)) or not 0 <= max_delay <= 1000 \
            or not math.isfinite(max_delay):
        raise ValueError(f"max_delay_ms must be a number from 0 to 1000, got {max_delay!r}")
    warmup = entry.get("warmup", True)
    if not isinstance(warmup, bool):
        raise ValueError("warmup must be true or false")
    rel, path = _weights_path(folder, name, model, fmt)
    digest, unchecked = _digests(model, fmt, rel, name)
    text = _text_recipe(model, task, input_shape, folder, name)
    output_range, generator = _image_fields(model, task, labels)
    features = _tabular_features(model, task, input_shape, labels, folder, name)
    return ServableSpec(
        name=name, description=description, format=fmt, model_name=model_name, path=path,
        class_num=class_num, build_args=build_args, input_shape=input_shape, labels=labels, dataset=dataset.lower(),
        transform=transform, mean=mean, std=std, recipe=recipe, max_batch_size=max_batch,
        max_delay_ms=float(max_delay), warmup=warmup, sha256=digest, root=os.path.realpath(folder),
        task=task, background=background, detection=detection, unchecked=unchecked, text=text,
        output_range=output_range, generator=generator, features=features)


def _tabular_features(model, task, input_shape, labels, folder, name):
    """``model.features`` of a tabular servable, its feature spec file checked; None for other tasks."""
    features = model.get("features")
    if task != "tabular":
        if features is not None:
            raise ValueError('model.features is for tabular servables ("task": "tabular")')
        return None
    if features is None:
        raise ValueError("a tabular servable needs model.features, the feature spec its network was trained with; "
                         "write it with tinyms.serving.write_servable(folder, name, net, features=spec)")
    if labels is not None:
        raise ValueError("model.labels is for classifiers and detectors; a tabular servable's classes are "
                         "model.features.label_classes: remove it")
    from ._tabular import check_features

    return check_features(features, os.path.join(os.path.realpath(folder), name), input_shape)


def _image_fields(model, task, labels):
    """``(output_range, generator)`` of an image_to_image entry (None, None for other tasks), checked."""
    given = [key for key in ("output_range", "generator") if model.get(key) is not None]
    if task != "image_to_image":
        if given:
            raise ValueError(f"model.{given[0]} is for image_to_image servables (\"task\": \"image_to_image\")")
        return None, None
    if labels is not None:
        raise ValueError("model.labels is for classifiers and detectors; an image_to_image servable answers "
                         "pictures: remove it")
    generator = model.get("generator")
    if generator is not None and generator not in ("a2b", "b2a"):
        raise ValueError(f"model.generator must be \"a2b\" or \"b2a\" (which generator of model.name the "
                         f"checkpoint holds), got {generator!r}")
    return check_output_range(model.get("output_range")), generator


def _text_recipe(model, task, input_shape, folder, name):
    """``model.text`` of a text servable, its vocabulary checked; None for other tasks."""
    text = model.get("text")
    if task != "text_classification":
        if text is not None:
            raise ValueError('model.text is for text servables ("task": "text_classification")')
        return None
    if text is None:
        raise ValueError("a text_classification servable needs model.text, the recipe of the tinyms.text "
                         "transform it was trained with; write it with tinyms.serving.write_servable(folder, "
                         "name, net, text_transform=transform)")
    from ._textinput import check_text_files

    check_text_files(text, os.path.join(os.path.realpath(folder), name))
    length = text.get("max_length")
    if input_shape is not None and input_shape != (length,):
        raise ValueError(f"model.input_shape {list(input_shape)} does not fit model.text's max_length {length!r}; "
                         "a text servable takes [max_length] token ids: write the servable again")
    return text


def _build_args(value, class_num):
    """``model.build_args`` checked: a JSON object of argument names, agreeing with ``model.class_num``."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ValueError('model.build_args must map the zoo builder\'s argument names to values, e.g. '
                         '{"class_num": 10, "num_channel": 3}')
    recorded = value.get("class_num")
    if class_num is not None and recorded is not None and recorded != class_num:
        raise ValueError(f"model.class_num is {class_num} but model.build_args builds the network with "
                         f"class_num={recorded!r}; make them agree (write the servable again)")
    return dict(value)


def _weights_path(folder, name, model, fmt):
    files = model.get("files") or {}
    if not isinstance(files, dict):
        raise ValueError('model.files must map formats to file names, e.g. {"ckpt": "lenet5.ckpt"}')
    rel = model.get("file") or files.get(fmt) or f"{name}{FORMATS[fmt]}"
    if not isinstance(rel, str):
        raise ValueError("model.file must be a file name")
    # The servable's folder as named (a symlinked folder is refused like any link leading out).
    base = os.path.join(os.path.realpath(folder), name)
    path = os.path.realpath(os.path.join(base, rel))
    if os.path.commonpath([path, base]) != base or path == base:
        raise ValueError(f"model file {rel!r} resolves outside the servable's folder {name}/ (symlinks are "
                         "followed); keep the weights inside it")
    if not os.path.isfile(path):
        raise ValueError(f"weights file {os.path.join(name, rel)} does not exist; save the model there "
                         "(tinyms.serving.write_servable does it) or fix model.file/model.format")
    if os.path.getsize(path) == 0:
        raise ValueError(f"weights file {os.path.join(name, rel)} is empty; save the model again")
    return rel, path


def _digests(model, fmt, rel, name):
    """``(digest of the served file or None, the entry's weights files that have no digest)``.

    A digest is found by the file's format (``model.sha256["onnx"]``, what ``write_servable``
    records), else by its file name (older entries), else, for a renamed file, the one
    file-name digest recorded for a file of its format.
    """
    digests = model.get("sha256")
    if digests is None:
        digests = {}
    elif not isinstance(digests, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _SHA256.match(v) for k, v in digests.items()):
        raise ValueError('model.sha256 must map formats (or file names) to SHA-256 hex digests, e.g. '
                         '{"onnx": "41d0..."}')
    files = dict(model.get("files") or {})
    files[fmt] = rel
    found, unchecked = None, []
    for role, file in files.items():
        if not isinstance(file, str):
            continue
        same_kind = [v for k, v in digests.items() if role in FORMATS and k.endswith(FORMATS[role])]
        digest = digests.get(role) or digests.get(file) or (same_kind[0] if len(same_kind) == 1 else None)
        if role == fmt:
            found = digest
        if digest is None:
            unchecked.append(f"{name}/{file}")
    return found, tuple(unchecked)


def public_text(message, root=None):
    """``message`` as a client may see it: no server paths, none of MindSpore's detail.

    Paths inside the serving directory ``root`` become relative to it; any other absolute path
    is cut to its last component. A message carrying MindSpore's C++ stack, construct traceback
    or analyze_fail pointer is cut to its first sentence (:func:`tinyms._text.first_sentence`).

    Example:
        >>> public_text("cannot read /srv/models/lenet5/lenet5.onnx", "/srv/models")
        'cannot read lenet5/lenet5.onnx'
    """
    text = first_sentence(message) if has_framework_detail(message) else str(message)
    if root:
        prefix = os.path.join(os.path.abspath(root), "")
        text = text.replace(prefix, "")
        real = os.path.join(os.path.realpath(root), "")
        if real != prefix:
            text = text.replace(real, "")
    return _ABS_PATH.sub(lambda m: m.group(1) or "(path)", text)


def _int_tuple(value, what):
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ValueError(f"{what} must be a list of positive integers such as [1, 32, 32], got {value!r}")
    return tuple(value)


def _float_tuple(value, what):
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise ValueError(f"{what} must be a list of numbers, got {value!r}")
    return tuple(float(v) for v in value)
