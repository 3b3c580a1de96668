"""The detection app's JSON config (TinyMS 0.3's format): read, checked, and where its weights come from.

A config names the network, its class count, the dataset whose class names it predicts and its
checkpoint. TinyMS 0.3's two configs (``configs/tinyms/0.3/ssd300_voc.json`` and
``ssd300_shanshui.json`` beside this package) read as they are. Fields:

==================  ========  ====================================================================
field               required  meaning
==================  ========  ====================================================================
model_net           yes       ``"ssd300"`` (TinyMS's ``ssd300_mobilenetv2``; that name works too)
                              or ``"ssd_tiny"``
class_num           yes       outputs per anchor, background included (VOC: 21)
dataset             yes       ``"voc"``, ``"shanshui"`` or ``"shapes"`` (their class names), or any
                              name with ``labels``
download_from_hub   no        fetch the weights from TinyMS's hub when no local checkpoint exists
checkpoint_url      no        TinyMS 0.3's hub URL of the weights (names them; the file itself
                              comes from TinyMS's hub, verified against TinyMS's own digest)
sha256              no        64 hex digits (0.3's digest of that URL's file; checked for form only)
checkpoint_path     see note  a folder holding ``checkpoint_name``, a ``tinyms train`` run folder
                              (its best.ckpt, else last.ckpt) or a ``.ckpt`` file
checkpoint_name     no        the ``.ckpt`` file inside ``checkpoint_path``
description         no        free text
image_size          no        the network's input side (TinyMS; default: what the checkpoint
                              records, else the hub weights', else 300)
labels              no        the class names, background excluded (TinyMS; default: the run's
                              recorded names, the hub weights', else the dataset's)
score_threshold     no        lowest score kept, 0 to 1 (TinyMS; default 0.3, as ``tinyms detect``)
==================  ========  ====================================================================

``checkpoint_path`` is needed unless ``download_from_hub`` is true. Another field is an error (a
misspelt key would otherwise be ignored).

Errors are :class:`tinyms.errors.ConfigError` with ``field`` set to the key at fault; a missing
config file is also a ``FileNotFoundError`` and an unknown ``model_net`` a ``KeyError``, as
TinyMS 0.3 raised them.
"""

import dataclasses
import math
import os
import re
from urllib.parse import urlparse

from ....errors import CheckpointError, ConfigError, HubError, UnknownNameError

__all__ = ["load_and_parse_config"]

#: The largest config file read (0.3's configs are under 1 KB).
MAX_CONFIG_BYTES = 1 << 20
#: The ``model_net`` names the app builds -> the registry network.
MODEL_NETS = {"ssd300": "ssd300_mobilenetv2", "ssd300_mobilenetv2": "ssd300_mobilenetv2", "ssd_tiny": "ssd_tiny"}
#: Class names of TinyMS 0.3's Shanshui protected-animal dataset (background excluded), in label order.
SHANSHUI_LABELS = ("Bird_spp", "Blue_sheep", "Glovers_pika", "Gray_wolf", "Himalaya_marmot", "Red_fox",
                   "Snow_leopard", "Tibetan_snowcock", "Upland_Buzzard", "White-lipped_deer")
#: dataset -> the hub weight tag asked for when ``download_from_hub`` finds no local checkpoint.
HUB_TAGS = {"voc": "voc", "shanshui": "shanshui", "shapes": "shapes"}
#: Hosts of TinyMS 0.3's hub: a ``checkpoint_url`` there names weights TinyMS's hub provides instead.
HUB_HOSTS = ("tinyms-hub.obs.cn-north-4.myhuaweicloud.com",)
DEFAULT_SCORE_THRESHOLD = 0.3  # tinyms detect's

_FIELDS = ("model_net", "class_num", "dataset", "download_from_hub", "checkpoint_url", "sha256", "checkpoint_path",
           "checkpoint_name", "description", "image_size", "labels", "score_threshold")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class _MissingConfigFile(ConfigError, FileNotFoundError):
    """No config file at the path given (TinyMS 0.3 raised FileNotFoundError)."""


class _UnknownConfigName(ConfigError, UnknownNameError):
    """A config names a network this app does not build (TinyMS 0.3 raised KeyError)."""


class _MissingCheckpoint(CheckpointError, FileNotFoundError):
    """No checkpoint where the config says (TinyMS 0.3 raised FileNotFoundError)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """A checked config: the values the app uses, with TinyMS's defaults filled in."""

    network: str
    class_num: int
    dataset: str
    download_from_hub: bool = False
    checkpoint_url: str = ""
    sha256: str = ""
    checkpoint_path: str = ""
    checkpoint_name: str = ""
    image_size: int = None
    labels: tuple = None
    score_threshold: float = DEFAULT_SCORE_THRESHOLD


@dataclasses.dataclass(frozen=True)
class Weights:
    """Where a config's weights are: the checkpoint file, the run folder around it, or the hub's config."""

    file: str
    folder: str = None
    hub: object = None


def _bad(field, message):
    return ConfigError(f"{field}: {message}", field=field)


def _text(config, field, required=False):
    value = config.get(field)
    if value is None or value == "":
        if required:
            raise _bad(field, "missing; " + {
                "model_net": "give the network, e.g. \"model_net\": \"ssd300\"",
                "dataset": "give the dataset whose class names the network predicts, e.g. \"voc\", or any name "
                           "together with \"labels\"",
                "checkpoint_path": "give a folder holding checkpoint_name, a tinyms train run folder or a .ckpt "
                                   "file (or set download_from_hub to true)"}[field])
        return ""
    if not isinstance(value, str):
        raise _bad(field, f"must be a string, got {value!r:.80}")
    return value


def _integer(config, field, low, required=False):
    value = config.get(field)
    if value is None:
        if required:
            raise _bad(field, "missing; give the outputs per anchor, background included, e.g. \"class_num\": 21 "
                              "for VOC's 20 classes")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, f"must be a whole number, got {value!r:.80}")
    if value < low:
        what = {"class_num": "one class and the background", "image_size": "the smallest SSD input side"}[field]
        raise _bad(field, f"must be at least {low} ({what}), got {value}")
    return value


def _flag(config, field):
    value = config.get(field, False)
    if not isinstance(value, bool):
        raise _bad(field, f"must be true or false, got {value!r:.80}")
    return value


def _labels(config):
    value = config.get("labels")
    if value is None:
        return None
    if (not isinstance(value, list) or not value
            or not all(isinstance(name, str) and name.strip() for name in value)):
        raise _bad("labels", f"must be a list of class names (background excluded), e.g. [\"cat\", \"dog\"], "
                             f"got {value!r:.80}")
    if len(set(value)) != len(value):
        raise _bad("labels", f"names a class twice: {sorted({n for n in value if value.count(n) > 1})}")
    return tuple(value)


def _score(config):
    value = config.get("score_threshold", DEFAULT_SCORE_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise _bad("score_threshold", f"must be a number from 0 to 1, got {value!r:.80}")
    return float(value)


def check_config(config):
    """The :class:`Settings` of a config dict, or ConfigError naming the first bad field.

    Raises:
        ConfigError: not a dict, an unknown or missing field, or a value of the wrong type or range.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a dict of fields (what load_and_parse_config returns), got "
                          f"{type(config).__name__}")
    unknown = sorted(set(config) - set(_FIELDS), key=str)
    if unknown:
        raise _bad(str(unknown[0]), f"not a field of a detection config; the fields are {', '.join(_FIELDS)}")
    model_net = _text(config, "model_net", required=True)
    if model_net not in MODEL_NETS:
        raise _UnknownConfigName(f"model_net: unknown network {model_net!r}; this app builds "
                                 f"{', '.join(sorted(MODEL_NETS))}", field="model_net")
    checkpoint_name = _text(config, "checkpoint_name")
    if checkpoint_name and (not checkpoint_name.endswith(".ckpt") or os.sep in checkpoint_name):
        raise _bad("checkpoint_name", f"must be the name of a .ckpt file inside checkpoint_path, got "
                                      f"{checkpoint_name!r}")
    sha256 = _text(config, "sha256")
    if sha256 and not _SHA256.fullmatch(sha256):
        raise _bad("sha256", f"must be 64 hexadecimal digits, got {sha256!r:.80}")
    download = _flag(config, "download_from_hub")
    settings = Settings(
        network=MODEL_NETS[model_net], class_num=_integer(config, "class_num", 2, required=True),
        dataset=_text(config, "dataset", required=True), download_from_hub=download,
        checkpoint_url=_text(config, "checkpoint_url"), sha256=sha256,
        checkpoint_path=_text(config, "checkpoint_path", required=not download), checkpoint_name=checkpoint_name,
        image_size=_integer(config, "image_size", 64), labels=_labels(config), score_threshold=_score(config))
    _text(config, "description")
    return settings


# ------------------------------------------------------------------------------- the weights
def _local_weights(settings):
    """The :class:`Weights` found at ``checkpoint_path`` (None when it holds no ``checkpoint_name``)."""
    from ...._detect_cli import _run_checkpoint  # noqa: PLC0415 - a run folder is found as tinyms detect finds it

    if not settings.checkpoint_path:
        return None
    path = os.path.abspath(os.path.expanduser(settings.checkpoint_path))
    if settings.checkpoint_name:
        file = os.path.join(path, settings.checkpoint_name)
        return Weights(file, folder=path) if os.path.isfile(file) else None
    if not os.path.exists(path):
        return None
    try:
        folder, file = _run_checkpoint(path)
    except CheckpointError as err:
        if settings.download_from_hub:
            return None  # an empty folder: the hub provides the weights
        raise CheckpointError(f"checkpoint_path: {err}") from None
    return Weights(file, folder=folder)


def _hub_weights(settings):
    """The :class:`Weights` TinyMS's hub provides for the config's network and dataset (downloaded once, verified)."""
    from .... import hub  # noqa: PLC0415

    url = settings.checkpoint_url
    if url and urlparse(url).hostname not in HUB_HOSTS:
        raise _bad("checkpoint_url", f"{url} is not on TinyMS's hub; TinyMS downloads weights through its hub only. "
                                     f"Fix: download the file yourself and set checkpoint_path to it (download_from_hub "
                                     f"false), or register it with tinyms.model.register_weights")
    tag = HUB_TAGS.get(settings.dataset)
    uid = f"{settings.network}.{tag}" if tag else None
    try:
        if uid is None:
            raise UnknownNameError(uid)
        cfg = hub.info(uid)
    except UnknownNameError:
        raise HubError(f"download_from_hub: TinyMS's hub has no {settings.network} weights for dataset "
                       f"{settings.dataset!r}{f' (no {uid})' if uid else ''}; TinyMS 0.3's checkpoint does not load "
                       f"into TinyMS's SSD300 (another layout). Fix: train one (tinyms train --data FOLDER) and "
                       f"set checkpoint_path to its run folder with download_from_hub false") from None
    return Weights(hub.weights_file(cfg), hub=cfg)


def find_weights(settings):
    """Where a config's weights are: ``checkpoint_path`` first (works offline), else TinyMS's hub.

    Returns:
        Weights: the checkpoint file, with its folder (a run folder may record labels and
        preprocessing) or the hub weights' config.

    Raises:
        CheckpointError: nothing at ``checkpoint_path`` and ``download_from_hub`` is false (also
            a FileNotFoundError), or a folder without the checkpoint.
        ConfigError: ``checkpoint_url`` is not TinyMS 0.3's hub.
        HubError, DownloadError, ChecksumError: the hub cannot provide the weights.
    """
    found = _local_weights(settings)
    if found is not None:
        return found
    if settings.download_from_hub:
        return _hub_weights(settings)
    where = os.path.join(settings.checkpoint_path, settings.checkpoint_name) if settings.checkpoint_name \
        else settings.checkpoint_path
    hint = " (or drop checkpoint_name to use a tinyms train run folder's best.ckpt)" if settings.checkpoint_name else ""
    raise _MissingCheckpoint(f"checkpoint_path: no checkpoint at {where}; give a folder holding checkpoint_name, a "
                             f"tinyms train run folder or a .ckpt file{hint}, or set download_from_hub to true")


# ------------------------------------------------------------------------------- the file
def _read_json(config_path):
    import json  # noqa: PLC0415

    from ...._jsonread import load_file  # noqa: PLC0415

    path = os.fspath(config_path)
    if not os.path.isfile(path):
        what = "is a folder" if os.path.isdir(path) else "does not exist"
        raise _MissingConfigFile(f"the config file {path} {what}; give the path of a JSON config such as "
                                 f"tinyms/app/object_detection/configs/tinyms/0.3/ssd300_voc.json")
    try:
        config = load_file(path, max_bytes=MAX_CONFIG_BYTES)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from None
    except OSError as err:
        raise ConfigError(f"cannot read the config file {path}: {err.strerror or err}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold one JSON object of fields ({{\"model_net\": ...}}), not a "
                          f"{type(config).__name__}")
    return config


def load_and_parse_config(config_path):
    """Read a detection app's JSON config, check every field and make sure its weights can be had.

    As in TinyMS 0.3, weights named by ``download_from_hub`` are fetched here, so a missing
    file shows before any image is read; they come from TinyMS's hub (cached, SHA-256
    verified). A checkpoint at ``checkpoint_path`` is used first and needs no network.

    Args:
        config_path (str): the JSON file, e.g. ``configs/tinyms/0.3/ssd300_voc.json`` beside
            this package, or one of your own (fields: see this module's description).

    Returns:
        dict: the config's fields, as in the file (pass it to ``ObjectDetector(config=...)``).

    Raises:
        ConfigError: the file is missing (also a FileNotFoundError), not a JSON object, or a
            field is unknown, missing or wrong; ``err.field`` names it.
        JSONInputError: the file is larger than 1 MB or nested too deeply.
        CheckpointError: ``checkpoint_path`` is a folder without a checkpoint.
        HubError, DownloadError, ChecksumError: ``download_from_hub`` weights cannot be had.

    Example:
        >>> import json
        >>> from tinyms.app import load_and_parse_config
        >>> with open("bad.json", "w") as f:
        ...     json.dump({"model_net": "ssd300", "class_num": "21", "dataset": "voc"}, f)
        >>> try:
        ...     load_and_parse_config("bad.json")
        ... except ValueError as err:
        ...     print(type(err).__name__, err.field)
        ConfigError class_num
    """
    config = _read_json(config_path)
    settings = check_config(config)
    if settings.download_from_hub:
        find_weights(settings)
    return config
