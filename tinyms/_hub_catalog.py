"""Private, MindSpore-free: the hub's asset files, one JSON file per pretrained asset.

Below both the model registry (which turns assets into weight tags) and ``tinyms.hub`` (which
resolves asset uids): it imports neither.

An asset file (``tinyms/hub/assets/<uid>.json``) describes one set of weights completely::

    uid          "lenet5_mnist"         the asset's own name (also loadable as "lenet5.mnist")
    model, tag   "lenet5", "mnist"      the registry architecture and the weight tag
    default      true                   the tag create_model(model, pretrained=True) picks
    dataset      "mnist"                what it was trained on
    input_shape  [1, 32, 32]            one sample, channels first
    labels       ["0", ...]             class names; or labels_file: a file next to the JSON
                                        ("imagenet" = TinyMS's ImageNet label list)
    mean, std    [0.1307], [0.3081]     normalisation after rescaling to [0, 1]
    preset       "mnist_transform"      the tinyms.vision preset
    recipe       {...}                  its Recipe as JSON (evaluation steps are what serving runs)
    format       "ckpt"
    file         "lenet5_mnist-54d24379.ckpt"
    sha256       64 hex digits          or hash_prefix: the leading hex digits in the file name
    size         247119                 bytes (optional)
    urls         [...]                  download sources; empty for a bundled file
    bundled      true                   the file ships next to the JSON, never downloaded
    license      text
    accuracy     {"top1": 0.9923, "split": "test", "images": 10000}
    task         "classification"       (optional, the default) or "detection"...: the registry's task
    background   false                  (optional) the network's class_num counts a background class at
                                        output 0 besides labels (SSD's convention): class_num = len(labels) + 1
    metrics      {"mAP50": 0.9, ...}    (optional) a detection asset's measured mAP50, mAP50_95, voc07_mAP50
                                        (fractions), with "split" and "images" as for accuracy
    build        {"class_num": 6, ...}  (optional) the builder's arguments the weights were trained with;
                                        class_num and image_size must agree with labels/background and
                                        input_shape (create_model builds the architecture's defaults)

Mirrors the style of ``tinyms.data``'s dataset specs: everything checked when read, a malformed
file is a :class:`~tinyms.errors.HubError` naming the file and the field.
"""

import functools
import os
import re

from ._jsonread import load_file
from .errors import HubError, UnknownNameError

__all__ = ["ASSET_DIR", "assets", "read_asset", "model_configs", "alias_of"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
ASSET_DIR = os.path.join(_PACKAGE, "hub", "assets")
_IMAGENET_LABELS = os.path.join(_PACKAGE, "model", "zoo", "imagenet_labels.txt")
_REQUIRED = ("uid", "model", "tag", "dataset", "input_shape", "mean", "std", "format", "file", "license")
_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
_HEX = re.compile(r"[0-9a-f]+")


def _fail(path, message):
    raise HubError(f"hub asset file {path}: {message}. Fix: correct the file (or reinstall tinyms)")


def _labels(path, data):
    if "labels" in data:
        labels = data["labels"]
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            _fail(path, "labels must be a non-empty list of strings")
        return tuple(labels)
    ref = data.get("labels_file")
    if not isinstance(ref, str) or "/" in ref or ref.startswith("."):
        _fail(path, "give labels (a list) or labels_file (a file name next to the JSON, or 'imagenet')")
    where = _IMAGENET_LABELS if ref == "imagenet" else os.path.join(os.path.dirname(path), ref)
    try:
        with open(where, encoding="utf-8") as f:
            return tuple(line.rstrip("\n") for line in f if line.strip())
    except OSError as err:
        _fail(path, f"cannot read labels_file {ref!r}: {err.strerror}")


def read_asset(path):
    """Read and check one asset file; return its fields as a dict (labels resolved, recipe parsed).

    Raises:
        HubError: the file is unreadable or a field is malformed (the message names it).
    """
    from .vision._recipe import Recipe  # noqa: PLC0415 - MindSpore-free

    try:
        data = load_file(path, os.path.basename(path))
    except (OSError, ValueError) as err:
        _fail(path, f"unreadable ({err})")
    if not isinstance(data, dict):
        _fail(path, "the top level must be a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        _fail(path, f"missing field(s) {', '.join(missing)}")
    for key in ("uid", "model", "tag"):
        if not isinstance(data[key], str) or not _NAME.fullmatch(data[key]):
            _fail(path, f"{key} must be lower-case letters, digits and '_', got {data[key]!r}")
    file = data["file"]
    if not isinstance(file, str) or not file or "/" in file or "\\" in file or file.startswith("."):
        _fail(path, f"file must be a plain file name, got {file!r}")
    sha256 = str(data.get("sha256") or "").lower()
    prefix = str(data.get("hash_prefix") or "").lower()
    if sha256 and not (len(sha256) == 64 and _HEX.fullmatch(sha256)):
        _fail(path, f"sha256 must be 64 hex digits, got {data.get('sha256')!r}")
    if not sha256 and not (len(prefix) >= 8 and _HEX.fullmatch(prefix) and prefix in file):
        _fail(path, "give sha256 (64 hex digits) or hash_prefix (at least 8 hex digits, part of the file name)")
    urls = data.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        _fail(path, "urls must be a list of strings")
    bundled = bool(data.get("bundled"))
    if bundled and not os.path.isfile(os.path.join(os.path.dirname(path), file)):
        _fail(path, f"the bundled file {file} is missing next to it")
    if not bundled and not urls:
        _fail(path, "an asset that is not bundled needs urls")
    shape = data["input_shape"]
    if not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
        _fail(path, f"input_shape must be [channels, height, width], got {shape!r}")
    labels = _labels(path, data)
    recipe = None
    if data.get("recipe") is not None:
        try:
            recipe = Recipe.from_dict(data["recipe"])
        except (ValueError, TypeError) as err:
            _fail(path, f"recipe: {err}")
    task, background = _task(path, data, labels, shape)
    accuracy = data.get("accuracy") or {}
    top1 = accuracy.get("top1")
    if top1 is not None and not _fraction(top1):
        _fail(path, f"accuracy.top1 must be a fraction from 0 to 1, got {top1!r}")
    evaluated_on = _evaluated_on(data, accuracy) if top1 is not None else ""
    metrics = _metrics(path, data)
    if metrics and top1 is None:
        shown = ", ".join(f"{k} {metrics[k]:.3f}" for k in _METRICS if k in metrics)
        evaluated_on = f"{_evaluated_on(data, metrics)}: {shown}"
    return dict(data, sha256=sha256, hash_prefix=prefix if not sha256 else "", urls=tuple(urls),
                labels=labels, recipe=recipe, input_shape=tuple(shape), top1=top1, evaluated_on=evaluated_on,
                task=task, background=background, metrics=metrics,
                bundled=os.path.join(os.path.dirname(path), file) if bundled else "", path=path)


_METRICS = ("mAP50", "mAP50_95", "voc07_mAP50")


def _fraction(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _evaluated_on(data, measured):
    images = measured.get("images")
    return f"{data['dataset']} {measured.get('split', 'test')} set" + (
        f", {images:,} images" if isinstance(images, int) else "")


def _task(path, data, labels, shape):
    """``(task, background)`` of an asset, checked against its labels, input shape and build arguments."""
    task = data.get("task", "classification")
    if not isinstance(task, str) or not _NAME.fullmatch(task):
        _fail(path, f"task must be a task name such as 'classification' or 'detection', got {task!r}")
    background = data.get("background", False)
    if not isinstance(background, bool):
        _fail(path, f"background must be true or false, got {background!r}")
    build = data.get("build", {})
    if not isinstance(build, dict):
        _fail(path, f"build must be an object of the builder's arguments, got {build!r}")
    classes = len(labels) + background
    if "class_num" in build and build["class_num"] != classes:
        _fail(path, f"build.class_num is {build['class_num']!r} but {len(labels)} labels"
                    f"{' and the background' if background else ''} make {classes}")
    if "image_size" in build and [build["image_size"]] * 2 != list(shape[1:]):
        _fail(path, f"build.image_size is {build['image_size']!r} but input_shape is {shape!r}")
    return task, background


def _metrics(path, data):
    """A detection asset's measured metrics (``{}`` when it states none)."""
    metrics = data.get("metrics", {})
    if not isinstance(metrics, dict):
        _fail(path, f"metrics must be an object such as {{\"mAP50\": 0.9, \"split\": \"test\"}}, got {metrics!r}")
    for key in _METRICS:
        if key in metrics and not _fraction(metrics[key]):
            _fail(path, f"metrics.{key} must be a fraction from 0 to 1, got {metrics[key]!r}")
    return dict(metrics)


@functools.lru_cache(maxsize=1)
def assets():
    """uid -> checked asset dict, for every ``*.json`` in the hub's asset folder (read once)."""
    found = {}
    names = sorted(n for n in os.listdir(ASSET_DIR) if n.endswith(".json")) if os.path.isdir(ASSET_DIR) else []
    for name in names:
        asset = read_asset(os.path.join(ASSET_DIR, name))
        found[asset["uid"]] = asset
    return found


# TinyMS 0.3 named its hub assets "<provider>/<version>/<model>_<model version>_<dataset>".
# The weights behind those names were TinyMS 0.3's own downloads and are not carried over; a
# name is kept where this hub has the same network trained on the same data.
_V03_UIDS = {"tinyms/0.2/lenet5_v1_mnist": "lenet5_mnist"}


def alias_of(uid):
    """``"model.tag"`` for an asset uid such as ``"lenet5_mnist"`` (or TinyMS 0.3's uid of one), else None.

    Raises:
        UnknownNameError: a TinyMS 0.3 uid (``"tinyms/0.2/resnet50_v1_cifar10"``) this hub has no
            asset for.
    """
    key = str(uid).strip().lower()
    if key.count("/") == 2:
        if key not in _V03_UIDS:
            raise UnknownNameError(
                f"{uid!r} is a TinyMS 0.3 hub uid; its weights are not part of this hub. It has: "
                f"{', '.join(sorted(assets()))} (and {', '.join(sorted(_V03_UIDS))} under 0.3's names), plus "
                f"every tinyms.model.list_models(pretrained=True) name")
        key = _V03_UIDS[key]
    asset = assets().get(key)
    return f"{asset['model']}.{asset['tag']}" if asset else None


def model_configs(model_config):
    """(model, tag) -> ``model_config(...)`` for every asset; default tags first."""
    ordered = sorted(assets().values(), key=lambda a: (not a.get("default"), a["uid"]))
    out = {}
    for a in ordered:
        out[(a["model"], a["tag"])] = model_config(
            name=a["model"], input_shape=a["input_shape"], mean=tuple(a["mean"]), std=tuple(a["std"]),
            labels=a["labels"], dataset=a["dataset"], transform=a.get("preset", ""), recipe=a["recipe"],
            tag=a["tag"], source="tinyms", file=a["file"], urls=a["urls"], sha256=a["sha256"],
            hash_prefix=a["hash_prefix"], size=a.get("size"), license=a["license"], accuracy=a["top1"],
            evaluated_on=a["evaluated_on"], format=a["format"], bundled=a["bundled"], task=a["task"],
            background=a["background"])
    return out
