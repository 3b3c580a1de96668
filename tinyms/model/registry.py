"""The model registry: architectures (builders) and, for each, its pretrained weights by tag.

An entry is one architecture, e.g. ``resnet50``: a builder plus a map of *weight tags*
(``"imagenet"``, ``"mnist"``...). ``"name.tag"`` names one set of weights, as timm does; a bare
``"name"`` names the architecture, and ``pretrained=True`` picks its default tag. Every
architecture and every tag has its own :class:`ModelConfig` (input shape, labels, mean/std,
preprocessing recipe; for weights also file, URLs, digest, licence, accuracy), and a built
network carries the config it was built with as ``net.default_cfg``: the architecture's when
untrained, the weights' when pretrained, so inference preprocessing is read from the same place
as at training time and cannot drift.

Where entries come from:

- TinyMS's own zoo (``tinyms.model.zoo``) registers builders with :func:`register_model`.
- Every network of mindcv (MindSpore's vision model library) is listed and built through this
  registry too. mindcv is imported only when one of its names is listed or built, so
  ``import tinyms.model`` stays free of it. A TinyMS name wins over mindcv's same name.
- Weights: the hub's asset files (``tinyms/hub/assets/*.json``, e.g. ``lenet5.mnist``),
  mindcv's pretrained configurations (tag ``"imagenet"``) and :func:`register_weights`.

Layering: the registry sits in the model layer, below ``tinyms.hub``, and never imports it.
The hub's asset catalogue and its verified file cache are MindSpore-free modules below both
(``tinyms._hub_catalog``, ``tinyms._hub_store``): the registry reads weight tags from the one
and, for ``create_model(..., pretrained=True)``, obtains the verified file from the other.
``tinyms.hub`` builds on the registry; mindcv's entries (``_mindcv.py``) know nothing of it.
"""

import dataclasses
import fnmatch
import functools
import inspect
import re
import threading

from .._exit import release_networks_at_exit
from .._names import lookup
from ..errors import CheckpointError, UnknownNameError
from ._build_record import (DESCRIPTION_VERSION, BuildRecord, _builder_arguments, _record_build,  # noqa: F401
                            check_description, network_description)

__all__ = ["ModelConfig", "BuildRecord", "register_model", "register_weights", "list_models", "create_model",
           "model_config", "SOURCES"]

#: Where registry entries come from, as accepted by ``list_models(source=...)``.
SOURCES = ("tinyms", "mindcv")

_REGISTRY = {}     # TinyMS-named entries: name -> _Entry
_MINDCV = {}       # mindcv entries not shadowed by a TinyMS name (filled on first use)
_EXTRA_WEIGHTS = {}  # (name, tag) -> ModelConfig from register_weights
_LOCK = threading.RLock()
_LOADED = {"mindcv": False, "hub": False}
_HEX = re.compile(r"[0-9a-f]+")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What a network expects and produces, and for pretrained weights where they come from.

    Attributes:
        name: registry name of the architecture, e.g. ``"resnet50"``.
        input_shape: one sample's shape, channels first, e.g. ``(3, 224, 224)``.
        mean, std: per-channel normalisation applied after rescaling pixels to [0, 1].
        labels: class names, index i names output i.
        dataset: the dataset the defaults (or the weights) fit (``"mnist"``, ``"imagenet"``...).
        transform: name of the ``tinyms.vision`` preset that prepares inputs.
        recipe: that preset's :class:`~tinyms.vision.Recipe` (training and evaluation steps), the
            value that travels into ``servable.json`` so serving prepares images as training did.
        tag: the weight tag (``"imagenet"``), empty for an architecture's own config.
        source: ``"tinyms"`` or ``"mindcv"``: who names (and builds) the network.
        file: the weights' file name (``resnet50-e0733ab8.ckpt``); empty when untrained.
        urls: where the file is downloaded from, in order (empty for a file shipped with TinyMS).
        sha256: the file's full SHA-256 (hex), when known.
        hash_prefix: the leading hex digits of its SHA-256 that the file name carries (mindcv
            names its files ``<name>-<first 8 hex digits>.ckpt``), used when ``sha256`` is not known.
        size: the file's size in bytes, when known.
        license: the licence the weights are published under.
        accuracy: measured top-1 accuracy (a fraction), when known.
        evaluated_on: what ``accuracy`` was measured on, e.g. ``"MNIST test set, 10,000 images"``.
        format: the weights' file format (``"ckpt"``).
        bundled: absolute path of the file when it ships inside the TinyMS package (never downloaded).
        task: what the network does, a name from ``tinyms.model.tasks.list_tasks()``
            (``"classification"``, ``"detection"``...); it decides the batch layout, the default
            loss and metrics, how outputs become predictions and what a servable returns.
        background: the network's ``class_num`` counts a background class at output 0 (SSD's
            convention) besides the classes ``labels`` names.
    """

    name: str
    input_shape: tuple
    mean: tuple
    std: tuple
    labels: tuple = dataclasses.field(repr=False)
    dataset: str = ""
    transform: str = ""
    recipe: object = None
    tag: str = ""
    source: str = "tinyms"
    file: str = ""
    urls: tuple = ()
    sha256: str = ""
    hash_prefix: str = ""
    size: int = None
    license: str = ""
    accuracy: float = None
    evaluated_on: str = ""
    format: str = "ckpt"
    bundled: str = ""
    task: str = "classification"
    background: bool = False

    @property
    def uid(self):
        """``"name.tag"`` for weights, ``"name"`` for an architecture."""
        return f"{self.name}.{self.tag}" if self.tag else self.name

    @property
    def pretrained(self):
        """True when this config describes a weights file."""
        return bool(self.file)

    def untrained(self):
        """This config without its weights (an architecture built with the weights' preprocessing)."""
        if not self.pretrained:
            return self
        return dataclasses.replace(self, tag="", file="", urls=(), sha256="", hash_prefix="", size=None,
                                   license="", accuracy=None, evaluated_on="", bundled="")

    def with_classes(self, class_num):
        """This config for a network with ``class_num`` outputs (labels become '0'...'n-1' if resized).

        A resized network no longer holds these weights: the weights fields are cleared.
        """
        named = class_num - 1 if self.background else class_num
        if named == len(self.labels):
            return self
        return dataclasses.replace(self.untrained(), labels=tuple(str(i) for i in range(named)))

    def with_channels(self, channels):
        """This config for a network taking ``channels`` input channels.

        With another channel count than the defaults were made for, the dataset statistics,
        preset, recipe and weights no longer apply and are cleared (pass your own transform).
        """
        if channels == self.input_shape[0]:
            return self
        return dataclasses.replace(self.untrained(), input_shape=(channels, *self.input_shape[1:]), mean=(),
                                   std=(), dataset="", transform="", recipe=None)


class _Entry:
    """One architecture: how to build it, its own config, and its weight tags."""

    def __init__(self, name, build, config, source, params, mindcv_weights=None, weights=None):
        self.name = name
        self.build = build          # build(class_num=None or int, **kwargs) -> network
        self.config = config
        self.source = source
        self.params = params        # keyword arguments the builder accepts (besides class_num)
        self.mindcv_weights = mindcv_weights  # mindcv name whose weights fit, or None
        self.own_weights = dict(weights or {})  # tag -> ModelConfig declared at registration

    def weights(self, mindcv=True):
        """tag -> ModelConfig declared for this architecture, the default tag first; ``mindcv=False``:
        without inherited mindcv weights (which would import mindcv). :func:`_weights` adds those of
        :func:`register_weights`."""
        found = {}
        for (name, tag), cfg in _hub_weights().items():
            if name == self.name:
                found[tag] = cfg
        found.update(self.own_weights)
        if self.mindcv_weights and mindcv:
            from . import _mindcv  # noqa: PLC0415

            cfg = _mindcv.weights_config(self.mindcv_weights, model_config=ModelConfig)
            if cfg is not None:
                found.setdefault(cfg.tag, dataclasses.replace(cfg, name=self.name, source=self.source))
        return found


def _weights(entry, mindcv=True):
    """tag -> ModelConfig of ``entry`` (a TinyMS or a mindcv entry), with what :func:`register_weights`
    added for it, which wins over a tag of the same name."""
    found = entry.weights(mindcv=mindcv)
    for (name, tag), cfg in _EXTRA_WEIGHTS.items():
        if name == entry.name:
            found[tag] = cfg
    return found


def _weights_fields(fields, base, name, tag):
    """A weights ModelConfig: the architecture's config ``base`` updated with ``fields``."""
    if isinstance(fields, ModelConfig):
        return dataclasses.replace(fields, name=name, tag=tag)
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(ModelConfig)})
    if unknown:
        raise TypeError(f"weights {name}.{tag}: unknown field(s) {', '.join(unknown)}; valid fields are "
                        f"those of tinyms.model.ModelConfig")
    cfg = dataclasses.replace(base, name=name, tag=tag, **fields)
    _check_weights(cfg)
    return cfg


def _check_weights(cfg):
    if not cfg.file or "/" in cfg.file or cfg.file.startswith("."):
        raise ValueError(f"weights {cfg.uid}: file must be a plain file name such as 'model-1a2b3c4d.ckpt', "
                         f"got {cfg.file!r}")
    if cfg.sha256 and not (len(cfg.sha256) == 64 and _HEX.fullmatch(cfg.sha256)):
        raise ValueError(f"weights {cfg.uid}: sha256 must be 64 lower-case hex digits, got {cfg.sha256!r}")
    if not cfg.sha256 and not (cfg.hash_prefix and len(cfg.hash_prefix) >= 8 and _HEX.fullmatch(cfg.hash_prefix)):
        raise ValueError(f"weights {cfg.uid}: give sha256= (64 hex digits) or hash_prefix= (at least 8 hex "
                         f"digits of the SHA-256, as in the file name)")
    if not cfg.urls and not cfg.bundled:
        raise ValueError(f"weights {cfg.uid}: give urls= (where to download {cfg.file})")


def _keyword_params(fn):
    sig = inspect.signature(fn)
    return tuple(p.name for p in sig.parameters.values()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "class_num")


def register_model(*, mindcv_weights=None, weights=None, **cfg):
    """Decorator registering a builder ``fn(class_num=..., ...) -> Layer`` under ``fn.__name__``.

    The decorated function stays a plain builder: calling it builds an untrained network whose
    ``default_cfg`` is the architecture's :class:`ModelConfig` (labels resized to the network's
    ``class_num``, statistics cleared for another ``num_channel``) and whose ``build_record``
    (a :class:`BuildRecord`) holds the arguments it was called with, defaults filled in, so that
    checkpoints can rebuild it.

    Args:
        input_shape, mean, std, labels, dataset, transform, recipe: the architecture's
            :class:`ModelConfig` fields (what its defaults fit).
        mindcv_weights (str or bool): the mindcv network whose pretrained weights fit this
            architecture parameter for parameter. Default (None): mindcv's network of the same
            name, if there is one; ``False``: none. Its weights become tag ``"imagenet"``.
        weights (dict): ``{tag: {field: value}}`` more weight tags, each a set of
            :class:`ModelConfig` fields (``file``, ``urls``, ``sha256`` or ``hash_prefix``,
            ``size``, ``license``, ``accuracy``...) over the architecture's config.

    Returns:
        callable: the builder, registered.

    Raises:
        TypeError: an unknown ModelConfig field.
        ValueError: a weights entry without a file name, digest or source.

    Example:
        >>> from tinyms.model.registry import register_model
        >>> @register_model(input_shape=(1, 28, 28), mean=(0.5,), std=(0.5,), labels=("no", "yes"))
        ... def tiny(class_num=2):               # doctest: +SKIP
        ...     ...
    """
    def decorate(fn):
        config = ModelConfig(name=fn.__name__, **cfg)
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args, **kwargs):
            net = fn(*args, **kwargs)
            _attach(net, config)
            _record_build(net, fn.__name__, *_builder_arguments(signature, args, kwargs))
            return net

        own = {tag: _weights_fields(fields, config, fn.__name__, tag) for tag, fields in (weights or {}).items()}
        inherit = fn.__name__ if mindcv_weights is None else (mindcv_weights or None)
        build.default_cfg = config
        with _LOCK:
            _REGISTRY[fn.__name__] = _Entry(fn.__name__, build, config, "tinyms", _keyword_params(fn),
                                            mindcv_weights=inherit, weights=own)
            _MINDCV.pop(fn.__name__, None)
        return build
    return decorate


def _attach(net, config):
    release_networks_at_exit()  # a network kept in a script's globals is freed quietly at exit
    cfg = config.with_classes(getattr(net, "class_num", len(config.labels) + config.background))
    net.default_cfg = cfg.with_channels(getattr(net, "num_channel", cfg.input_shape[0]))
    return net


def _call_text(name, args):
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def build_from_description(description):
    """Build the network ``description`` records, with its recorded input shape.

    Args:
        description (dict): as :func:`network_description` returns it.

    Returns:
        Layer: the untrained network, built with exactly the recorded arguments; its
        ``default_cfg.input_shape`` is the recorded one.

    Raises:
        CheckpointError: the record is malformed, names arguments it could not record, or the
            network cannot be built with its arguments (an unknown model or argument, a bad
            value); the message names the problem and the fix (pass ``network=``).
    """
    check_description(description)
    name, args = description["model"], dict(description.get("args", {}))
    if description.get("unrecorded"):
        raise CheckpointError(
            f"{name} was built with argument(s) {', '.join(description['unrecorded'])} whose values a file "
            f"cannot record (not JSON values): build the network yourself and pass it, "
            f"e.g. tinyms.model.load(path, network={name}(...))")
    try:
        net = create_model(name, **args)
    except (UnknownNameError, TypeError, ValueError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"the network is recorded as {_call_text(name, args)}, which this TinyMS cannot "
                              f"build ({text}): build it yourself and pass network=") from err
    restore_input_shape(net, description)
    return net


def restore_input_shape(net, description):
    """Make ``net.default_cfg.input_shape`` the recorded one (when ``net`` is the recorded model)."""
    shape = description.get("input_shape")
    cfg = getattr(net, "default_cfg", None)
    if shape is None or cfg is None or cfg.name != description.get("model"):
        return net
    if tuple(cfg.input_shape) != tuple(shape):
        net.default_cfg = dataclasses.replace(cfg, input_shape=tuple(int(n) for n in shape))
    return net


def register_weights(name, tag, *, default=False, overwrite=False, **fields):
    """Register (more) pretrained weights for architecture ``name`` under ``tag``.

    The weights are described by :class:`ModelConfig` fields over the architecture's own config
    (over the replaced tag's config when ``overwrite`` replaces one):
    at least ``file`` (a plain file name), ``urls`` (or ``bundled``) and ``sha256`` or
    ``hash_prefix``; optionally ``labels``, ``dataset``, ``size``, ``license``, ``accuracy``...
    ``create_model("name.tag", pretrained=True)`` and ``tinyms.hub.load("name.tag")`` then
    download them through the hub, verified.

    Args:
        name (str): a registered architecture (TinyMS's or mindcv's).
        tag (str): the weight tag: lower-case letters, digits and ``_``.
        default (bool): make it the tag ``pretrained=True`` picks.
        overwrite (bool): replace a tag registered before.
        **fields: the weights' ModelConfig fields.

    Returns:
        ModelConfig: the weights' config.

    Raises:
        UnknownNameError: ``name`` is not registered.
        ValueError: a malformed tag or field, or the tag exists and ``overwrite`` is False.

    Example:
        >>> from tinyms.model import model_config, register_weights
        >>> cfg = register_weights("resnet50", "mine", file="resnet50-1a2b3c4d.ckpt", hash_prefix="1a2b3c4d",
        ...                        urls=["https://example.org/resnet50-1a2b3c4d.ckpt"])
        >>> cfg.uid, cfg.input_shape       # create_model("resnet50.mine", pretrained=True) downloads it
        ('resnet50.mine', (3, 224, 224))
        >>> model_config("resnet50.mine") == cfg
        True
    """
    entry = _entry(name)
    if not isinstance(tag, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_]*", tag):
        raise ValueError(f"weight tag must be lower-case letters, digits and '_', e.g. 'imagenet'; got {tag!r}")
    existing = _weights(entry)
    if not overwrite and tag in existing:
        raise ValueError(f"{entry.name}.{tag} is already registered; pass overwrite=True to replace it")
    # a replaced tag keeps what the new fields do not say (labels, recipe...); a new one starts
    # from the architecture's config
    base = existing[tag].untrained() if tag in existing else entry.config
    cfg = _weights_fields(fields, base, entry.name, tag)
    cfg = dataclasses.replace(cfg, source=entry.source)
    with _LOCK:
        _EXTRA_WEIGHTS[(entry.name, tag)] = cfg
        if default:
            _DEFAULT_TAGS[entry.name] = tag
    return cfg


_DEFAULT_TAGS = {}


def _hub_weights():
    """(name, tag) -> ModelConfig of the hub's bundled/curated asset files (read once)."""
    if not _LOADED["hub"]:
        with _LOCK:
            if not _LOADED["hub"]:
                from .._hub_catalog import model_configs  # noqa: PLC0415 - reads JSON files on first use

                _HUB_CACHE.update(model_configs(ModelConfig))
                _LOADED["hub"] = True
    return _HUB_CACHE


_HUB_CACHE = {}


def _mindcv_table():
    """mindcv's entries (imports mindcv on first use)."""
    if not _LOADED["mindcv"]:
        with _LOCK:
            if not _LOADED["mindcv"]:
                from . import _mindcv  # noqa: PLC0415

                for name, entry in _mindcv.entries(ModelConfig, _attach).items():
                    if name not in _REGISTRY:
                        _MINDCV[name] = entry
                _LOADED["mindcv"] = True
    return _MINDCV


def _split(name):
    if not isinstance(name, str) or not name:
        raise UnknownNameError(f"model name must be a non-empty string such as 'resnet50' or "
                               f"'resnet50.imagenet', got {name!r}")
    base, _, tag = name.partition(".")
    return base, tag


def _entry(name):
    key = str(name).replace("-", "_")
    for candidate in (key, key.lower()):
        if candidate in _REGISTRY:
            return _REGISTRY[candidate]
    table = _mindcv_table()
    if key in table:
        return table[key]
    folded = {n.lower(): n for n in table}
    if key.lower() in folded:
        return table[folded[key.lower()]]
    from . import _mindcv  # noqa: PLC0415 - already imported by _mindcv_table

    reason = _mindcv.unbuildable(key)
    if reason:
        raise UnknownNameError(f"{name!r} is one of mindcv's networks that TinyMS leaves out: {reason}. "
                               f"See tinyms.model.list_models() for the networks it offers")
    close = sorted(n for n in list(_REGISTRY) + list(table) if key.lower()[:4] in n.lower())[:8]
    hint = f"; similar names: {', '.join(close)}" if close else ""
    raise UnknownNameError(f"unknown model {name!r}{hint}. See tinyms.model.list_models() for every name "
                           f"(list_models(source='tinyms') for TinyMS's own)")


def _tag_config(entry, tag):
    weights = _weights(entry, mindcv=False) if isinstance(entry, _Entry) else {}
    wanted = tag or _DEFAULT_TAGS.get(entry.name)
    if (wanted and wanted in weights) or (not wanted and weights):
        return weights[wanted or next(iter(weights))]  # found without importing mindcv
    weights = _weights(entry)
    if not weights:
        raise UnknownNameError(f"{entry.name} has no pretrained weights. Models with weights: "
                               f"tinyms.model.list_models(pretrained=True)")
    if not tag:
        tag = _DEFAULT_TAGS.get(entry.name) or next(iter(weights))
    if tag not in weights:
        raise UnknownNameError(f"{entry.name} has no weights tagged {tag!r}; its tags are: "
                               f"{', '.join(sorted(weights))}")
    return weights[tag]


def list_models(pattern=None, pretrained=None, *, source=None):
    """Names of the registered architectures, sorted.

    Args:
        pattern (str): an ``fnmatch`` pattern such as ``"resnet*"``; default every name.
        pretrained (bool): True: only architectures with pretrained weights; False: only those
            without; None (default): all.
        source (str): keyword only. ``"tinyms"``: only the networks TinyMS names itself (its zoo;
            mindcv is not imported); ``"mindcv"``: only mindcv's networks not shadowed by a TinyMS
            name; None (default): both.

    Returns:
        list of str: architecture names; ``create_model(name)`` builds each. The weight tags of a
        name are listed by ``tinyms.hub.list()`` as ``"name.tag"``.

    Raises:
        ValueError: ``source`` is not one of ``"tinyms"``, ``"mindcv"`` or None.

    Example:
        >>> from tinyms.model import list_models
        >>> "lenet5" in list_models(source="tinyms")
        True
        >>> list_models("lenet*", pretrained=True, source="tinyms")
        ['lenet5']
    """
    if source not in (None, *SOURCES):
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))} or None, got {source!r}")
    entries = dict(_REGISTRY) if source in (None, "tinyms") else {}
    if source in (None, "mindcv"):
        entries.update(_mindcv_table())
    names = sorted(entries, key=lambda n: (n.lower(), n))
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n.lower(), str(pattern).lower())]
    if pretrained is not None:
        names = [n for n in names if bool(_weights(entries[n])) == bool(pretrained)]
    return names


def _check_kwargs(entry, kwargs):
    unknown = sorted(k for k in kwargs if k not in entry.params)
    if unknown:
        valid = ", ".join(("class_num",) + tuple(entry.params)) or "class_num"
        raise TypeError(f"create_model({entry.name!r}) got unknown argument(s) {', '.join(unknown)}; "
                        f"{entry.name} takes: {valid}")


def create_model(name, class_num=None, pretrained=None, **kwargs):
    """Build network ``name``, untrained or with its pretrained weights.

    Args:
        name (str): an architecture (``"resnet50"``) or one set of its weights
            (``"resnet50.imagenet"``); a tag implies ``pretrained=True`` unless
            ``pretrained=False`` is given, which builds the architecture with that tag's
            preprocessing and labels but no weights.
        class_num (int): number of output classes; default the architecture's (or the weights').
            TinyMS's ``class_num`` is mindcv's ``num_classes``.
        pretrained (bool): load the default (or named) weights through :mod:`tinyms.hub`:
            downloaded once into ``$TINYMS_HOME/hub``, SHA-256 verified, loaded by exact
            parameter name. Default: False for a bare name, True for ``"name.tag"``.
        **kwargs: the builder's own options (``num_channel``, ``width_mult``...).

    Returns:
        Layer: the network; ``net.default_cfg`` is the :class:`ModelConfig` of the weights
        loaded (or of the architecture when untrained), ``net.build_record`` the
        :class:`BuildRecord` of its arguments, which checkpoints and servables record.

    Raises:
        UnknownNameError: ``name`` or its tag is not registered, or it has no weights.
        TypeError: an argument the builder does not take (the message names it and the valid ones).
        CheckpointError: pretrained weights with another ``class_num`` were asked for, or the
            weights file does not fit the network (the first mismatching parameter is named).
        tinyms.errors.DownloadError, ChecksumError, HubError: the weights cannot be obtained.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("lenet5", class_num=10)
        >>> net = create_model("lenet5", pretrained=True)       # the bundled MNIST weights
        >>> net.default_cfg.uid, net.default_cfg.accuracy
        ('lenet5.mnist', 0.9923)
    """
    base, tag = _split(name)
    entry = _entry(base)
    _check_kwargs(entry, kwargs)
    want_weights = bool(tag) if pretrained is None else bool(pretrained)
    loader = getattr(entry.build, "load_pretrained", None)
    if want_weights and not tag and loader is not None:  # weights published in another layout (BERT's)
        return loader(class_num=class_num, **kwargs)
    cfg = _tag_config(entry, tag) if (want_weights or tag) else entry.config
    if not want_weights:
        cfg = cfg.untrained()
    if want_weights:
        weights_classes = len(cfg.labels) + cfg.background
        if class_num is not None and class_num != weights_classes:
            raise CheckpointError(
                f"{cfg.uid} was trained with {weights_classes} classes, not class_num={class_num}. Build "
                f"create_model({entry.name!r}, class_num={class_num}) and train it (fine-tune), or drop class_num")
        class_num = weights_classes
        side = cfg.input_shape[1] if len(cfg.input_shape) == 3 and cfg.input_shape[1] == cfg.input_shape[2] else None
        if "image_size" in entry.params and "image_size" not in kwargs and side is not None:
            kwargs["image_size"] = side  # a detector's anchors are laid out for the size its weights learned
    elif class_num is None:
        class_num = len(cfg.labels) + cfg.background
    net = entry.build(class_num=class_num, **kwargs)
    record = getattr(net, "build_record", None)
    if not isinstance(record, BuildRecord) or record.model != entry.name:  # mindcv's builders record nothing
        _record_build(net, entry.name, {"class_num": class_num, **kwargs})
    if want_weights:
        load_pretrained(cfg, net)
        net.default_cfg = cfg
    elif cfg is not entry.config:
        _attach(net, cfg)
    return net


def model_config(name):
    """The :class:`ModelConfig` of architecture ``name`` or of weights ``"name.tag"``.

    Args:
        name (str): ``"lenet5"`` (what ``create_model("lenet5")`` carries) or ``"lenet5.mnist"``
            (the weights' config: file, digest, accuracy...).

    Returns:
        ModelConfig: the config.

    Raises:
        UnknownNameError: the name or tag is not registered.

    Example:
        >>> from tinyms.model import model_config
        >>> model_config("lenet5").input_shape
        (1, 32, 32)
        >>> model_config("lenet5.mnist").dataset
        'mnist'
    """
    base, tag = _split(name)
    entry = _entry(base)
    return _tag_config(entry, tag) if tag else entry.config


def default_weights(name):
    """The ModelConfig of the weights ``pretrained=True`` loads for ``name`` (or ``name.tag``)."""
    base, tag = _split(name)
    return _tag_config(_entry(base), tag)


def model_source(name):
    """``"tinyms"`` or ``"mindcv"``: who names architecture ``name``."""
    return _entry(_split(name)[0]).source


def weights_tags(name):
    """The weight tags of architecture ``name``, the default first."""
    entry = _entry(_split(name)[0])
    tags = list(_weights(entry))
    default = _DEFAULT_TAGS.get(entry.name)
    if default in tags:
        tags.remove(default)
        tags.insert(0, default)
    return tags


def load_pretrained(cfg, network=None, progress=True):
    """The verified weights file ``cfg`` describes: its parameters, or loaded into ``network``.

    The file comes from the hub's cache (downloaded once, SHA-256 verified; see ``tinyms.hub``);
    ``tinyms.hub.load_weights`` and ``create_model(..., pretrained=True)`` both load through here.

    Args:
        cfg (ModelConfig): a weights config (``cfg.file`` set).
        network (Layer): a network to load them into, by exact parameter name.
        progress (bool): show a progress bar while downloading.

    Returns:
        dict or Layer: ``{name: Parameter}`` of the file when ``network`` is None, else ``network``.

    Raises:
        CheckpointError: the file does not fit ``network``; the message names the weights and the
            first mismatching parameter.
        HubError, DownloadError, ChecksumError: the file cannot be obtained.
    """
    from .._hub_store import weights_file  # noqa: PLC0415
    from . import _checkpoint  # noqa: PLC0415

    path = weights_file(cfg, progress=progress)
    params = _checkpoint.read_checkpoint(path)
    if network is None:
        return params
    try:
        _checkpoint.load_weights(network, path, params)
    except CheckpointError as err:
        raise CheckpointError(f"the weights {cfg.uid} do not fit this network: {err}") from None
    return network
