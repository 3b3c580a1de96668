"""Private: mindcv's networks seen through TinyMS's registry (imported only when one is used).

mindcv 0.3 registers 275 ImageNet classifiers. Each becomes a registry entry named as in
mindcv, with a TinyMS :class:`~tinyms.model.ModelConfig` derived from mindcv's pretrained
configuration (``mindcv.models.registry.get_pretrained_cfg``): its input size (224x224 when it
gives none), its class count (the 1000 ImageNet labels; 1001 = a "background" class first, as
in mindcv's MobileNetV1 weights), ImageNet mean/std and the ``imagefolder_recipe`` at that size.
A network whose configuration has a URL gets the weight tag ``"imagenet"``: the file name is the
URL's last part, whose last 8 hex digits are the start of the file's SHA-256 (mindcv's naming).
The weights are downloaded by :mod:`tinyms.hub`, never by mindcv's own downloader.

TinyMS's ``class_num`` is passed as mindcv's ``num_classes``; ``num_classes`` and ``pretrained``
themselves are not accepted (weights come through the hub), ``in_channels`` is.

Eight of mindcv's 275 names are left out (``UNBUILDABLE``), found by building every network
(``benchmarks/bench_mindcv_all.py``): the three MAE pre-training networks are encoder-decoders
that reconstruct images (not classifiers) and mindcv 0.3 has no configuration for them, and
mindcv 0.3's five ReXNets fail while being built on MindSpore 2.10 (a parameter is set from an
uninitialised tensor). Asking for one of them names the reason.
"""

import functools
import inspect
import os
import re

__all__ = ["entries", "weights_config", "imagenet_labels", "unbuildable", "LICENSE", "UNBUILDABLE"]

LICENSE = "Apache-2.0 (mindcv pretrained weights)"
_LABELS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo", "imagenet_labels.txt")
_PREFIX = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")
_HIDDEN = ("pretrained", "num_classes")
_MAE = ("an MAE pre-training network (an encoder-decoder that reconstructs images, not a classifier) for "
        "which mindcv 0.3 has no configuration")
_REXNET = ("mindcv 0.3's ReXNet fails while being built on MindSpore 2.10 (it sets a parameter from an "
           "uninitialised tensor)")
UNBUILDABLE = {
    "mae_b_16_224_pretrain": _MAE, "mae_l_16_224_pretrain": _MAE, "mae_h_16_224_pretrain": _MAE,
    "rexnet_09": _REXNET, "rexnet_10": _REXNET, "rexnet_13": _REXNET, "rexnet_15": _REXNET, "rexnet_20": _REXNET,
}

# Input sizes mindcv 0.3's configurations leave out (TinyMS would otherwise assume 224): the
# Inception family and Xception are 299x299 networks (Inception-v3's auxiliary head cannot train
# at 224), and SwinV2's window attention needs 256x256 (a 224 input fails to reshape).
_INPUT_SIZES = {"inception_v3": 299, "inception_v4": 299, "xception": 299, "swinv2_tiny_window": 256,
                "swinv2_small_window": 256, "swinv2_base_window": 256}


def unbuildable(name):
    """Why mindcv's network ``name`` is left out of the registry, or None."""
    return UNBUILDABLE.get(str(name).lower())


@functools.lru_cache(maxsize=1)
def imagenet_labels():
    """The 1000 ImageNet class names, index order (``tinyms/model/zoo/imagenet_labels.txt``)."""
    with open(_LABELS_FILE, encoding="utf-8") as f:
        labels = tuple(line.rstrip("\n") for line in f if line.strip())
    if len(labels) != 1000:
        raise RuntimeError(f"{_LABELS_FILE} holds {len(labels)} labels, not 1000: reinstall tinyms")
    return labels


def _models():
    try:
        import mindcv.models  # noqa: PLC0415
        from mindcv.models import registry  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("mindcv's networks need mindcv: pip install mindcv==0.3.0") from err
    return mindcv.models, registry


def _labels(class_num):
    names = imagenet_labels()
    if class_num == len(names):
        return names
    if class_num == len(names) + 1:
        return ("background",) + names
    return tuple(str(i) for i in range(class_num))


def _pretrained_cfg(name):
    _, registry = _models()
    return dict(registry.get_pretrained_cfg(name) or {})


def architecture_config(name, model_config):
    """The ModelConfig of mindcv network ``name`` (untrained), from its pretrained configuration."""
    from ..vision._presets import IMAGENET_MEAN, IMAGENET_STD, imagefolder_recipe  # noqa: PLC0415

    pcfg = _pretrained_cfg(name)
    size = _INPUT_SIZES.get(name) or _INPUT_SIZES.get(name.rsplit("_window", 1)[0] + "_window")
    input_shape = tuple(int(n) for n in (pcfg.get("input_size") or (3, size or 224, size or 224)))
    class_num = int(pcfg.get("num_classes") or _default_classes(name))
    return model_config(name=name, input_shape=input_shape, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                        labels=_labels(class_num), dataset="imagenet", transform="imagefolder_transform",
                        recipe=imagefolder_recipe(size=input_shape[1:], augment="imagenet"), source="mindcv")


def _default_classes(name):
    _, registry = _models()
    param = inspect.signature(registry.model_entrypoint(name)).parameters.get("num_classes")
    return param.default if param is not None and isinstance(param.default, int) else 1000


def weights_config(name, base=None, model_config=None):
    """The ``"imagenet"`` weights of mindcv network ``name``, or None without a URL (or no such network).

    ``base`` is the config they extend; default mindcv's own architecture config of ``name``
    (built with ``model_config``), whose labels and recipe are ImageNet's.
    """
    import dataclasses  # noqa: PLC0415

    _, registry = _models()
    if name not in registry.list_models():
        return None
    if base is None:
        base = architecture_config(name, model_config)
    url = _pretrained_cfg(name).get("url")
    if not url:
        return None
    file = url.rsplit("/", 1)[-1]
    match = _PREFIX.search(file)
    if match is None:
        return None  # no digest to verify against: not offered
    return dataclasses.replace(base, tag="imagenet", file=file, urls=(url,), hash_prefix=match[1],
                               license=LICENSE, evaluated_on="", format="ckpt")


def _accepted(fn):
    sig = inspect.signature(fn)
    return tuple(p.name for p in sig.parameters.values()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in _HIDDEN)


def entries(model_config, attach):
    """name -> registry entry for every mindcv network."""
    models, registry = _models()
    table = {}
    for name in models.list_models():
        if name in UNBUILDABLE:
            continue
        fn = registry.model_entrypoint(name)
        table[name] = _LazyEntry(name, fn, model_config, attach)
    return table


class _LazyEntry:
    """A registry entry whose config is derived on first use (275 of them are listed at once)."""

    source = "mindcv"

    def __init__(self, name, fn, model_config, attach):
        self.name = name
        self._fn = fn
        self._model_config = model_config
        self._attach = attach
        self.params = _accepted(fn)
        self.mindcv_weights = name

    @functools.cached_property
    def config(self):
        return architecture_config(self.name, self._model_config)

    def weights(self, mindcv=True):  # noqa: ARG002 - same signature as registry._Entry.weights
        """tag -> ModelConfig of mindcv's own weights (the registry adds those registered later)."""
        cfg = weights_config(self.name, self.config)
        return {} if cfg is None else {cfg.tag: cfg}

    def build(self, class_num=None, **kwargs):
        class_num = len(self.config.labels) if class_num is None else class_num
        net = self._fn(pretrained=False, num_classes=class_num, **kwargs)
        net.class_num = class_num
        net.num_channel = kwargs.get("in_channels", self.config.input_shape[0])
        return self._attach(net, self.config)
