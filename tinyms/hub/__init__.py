"""Pretrained weights: found by name, downloaded once, verified, loaded by exact parameter name.

The hub is the weights layer on top of the model registry (``tinyms.model``): the registry says
which architectures exist and which weight tags each has (``"resnet50.imagenet"``,
``"lenet5.mnist"``); the hub obtains the file a tag describes and loads it::

    from tinyms import hub
    net = hub.load("lenet5_mnist")               # ships with TinyMS: works offline
    print(hub.predict("photo.jpg", "resnet50"))  # top-5 ImageNet labels (downloads once)

Where files come from and how they are checked:

- ``$TINYMS_HOME/hub`` (default ``~/.tinyms/hub``) is the persistent cache. Every file is
  checked against its SHA-256 before first use (mindcv's files, named ``<name>-<8 hex>.ckpt``,
  against the start of their SHA-256; the full digest is then recorded). A cached copy whose
  size or modification time changed is hashed again; one that no longer matches is removed
  and fetched again.
- ``TINYMS_HUB_MIRROR=http://host/folder``: files are fetched from ``<mirror>/<file name>``
  instead of their official URLs (a malformed URL is an error before any network access).
- ``TINYMS_OFFLINE=1``: only the cache is used; a missing file is a
  :class:`~tinyms.errors.HubError` saying how to get it.
- TLS certificates are always verified; downloads resume, retry and are bounded in size and
  time (``TINYMS_DOWNLOAD_TIMEOUT``; a source slower than ``TINYMS_DOWNLOAD_MIN_SPEED`` bytes/s
  over ``TINYMS_DOWNLOAD_SPEED_TIME`` s is abandoned for the next), exactly as dataset downloads.
- A checkpoint whose parameter names or shapes do not fit the network is refused, naming the
  first mismatch (:class:`~tinyms.errors.CheckpointError`).

Each asset TinyMS curates is described by a JSON file in ``tinyms/hub/assets`` (model, tag,
dataset, input size, preprocessing recipe, labels, measured accuracy, format, digest, URLs,
licence); ``lenet5_mnist`` is one, with its checkpoint bundled. mindcv's ImageNet weights are
described by the registry from mindcv's own configuration.

Importing this package loads neither MindSpore nor mindcv; :func:`load`, :func:`load_weights`,
:func:`list` and :func:`predict` do, when called.
"""

from .._hub_catalog import alias_of as _alias_of
from .._hub_store import MIRROR_ENV, OFFLINE_ENV, cache_dir, weights_file

# ``list`` is the hub's verb (hub.list()) but stays out of __all__: a star import must not
# replace the builtin.
__all__ = ["load", "load_weights", "predict", "info", "cache_dir", "weights_file", "MIRROR_ENV",
           "OFFLINE_ENV"]


def _name(uid):
    """Registry name (``"model"`` or ``"model.tag"``) for ``uid``, which may be an asset uid."""
    if not isinstance(uid, str) or not uid:
        from ..errors import UnknownNameError  # noqa: PLC0415

        raise UnknownNameError(f"a hub uid is a string such as 'lenet5_mnist', 'resnet50' or "
                               f"'resnet50.imagenet', got {uid!r}")
    return _alias_of(uid) or uid


def info(uid):
    """The :class:`~tinyms.model.ModelConfig` of the weights ``uid`` names (file, digest, accuracy...).

    Args:
        uid (str): an asset (``"lenet5_mnist"``), weights (``"resnet50.imagenet"``) or an
            architecture (``"resnet50"``: its default weights).

    Returns:
        ModelConfig: the weights' config.

    Raises:
        UnknownNameError: no such model, tag, or the model has no weights.

    Example:
        >>> from tinyms import hub
        >>> cfg = hub.info("lenet5_mnist")
        >>> cfg.uid, cfg.accuracy, cfg.evaluated_on
        ('lenet5.mnist', 0.9923, 'mnist test set, 10,000 images')
    """
    from ..model.registry import default_weights  # noqa: PLC0415

    return default_weights(_name(uid))


def load(uid, pretrained=True, **kwargs):
    """Build the network ``uid`` names, with its verified pretrained weights.

    Args:
        uid (str): ``"lenet5_mnist"`` (an asset), ``"resnet50.imagenet"`` (model.tag) or
            ``"resnet50"`` (its default weights).
        pretrained (bool): False builds the architecture untrained (with the weights'
            preprocessing and labels in ``default_cfg``).
        **kwargs: the builder's options (e.g. ``num_channel``); see ``create_model``.

    Returns:
        Layer: the network, ``default_cfg`` set to the weights' config.

    Raises:
        UnknownNameError: no such model or tag, or it has no weights.
        HubError: offline and not cached; DownloadError / ChecksumError: the file cannot be
            obtained or is not the expected one.
        CheckpointError: the file does not fit the network (the first mismatch is named).

    Example:
        >>> from tinyms import hub
        >>> net = hub.load("lenet5_mnist")
        >>> net.default_cfg.dataset
        'mnist'
    """
    from ..model.registry import create_model  # noqa: PLC0415

    return create_model(_name(uid), pretrained=bool(pretrained), **kwargs)


def load_weights(uid, network=None, progress=True):
    """The verified checkpoint of ``uid``: its parameters, or loaded into ``network``.

    Args:
        uid (str or ModelConfig): the weights, named as for :func:`load`, or their config.
        network (Layer): a network to load them into, by exact parameter name; every parameter
            must be in the file with the same shape and dtype.
        progress (bool): show a progress bar while downloading.

    Returns:
        dict or Layer: ``{name: Parameter}`` of the file when ``network`` is None, else ``network``.

    Raises:
        CheckpointError: the file does not fit ``network``; the message names the first
            mismatching parameter and the weights.
        HubError, DownloadError, ChecksumError, UnknownNameError: as for :func:`load`.

    Example:
        >>> from tinyms import hub
        >>> params = hub.load_weights("lenet5_mnist")
        >>> tuple(params["fc3.weight"].shape)
        (10, 84)
    """
    from ..model.registry import load_pretrained  # noqa: PLC0415

    return load_pretrained(uid if hasattr(uid, "file") else info(uid), network, progress=progress)


def list(pattern=None, *, source=None):  # noqa: A001 - the hub's verb, as torch.hub.list
    """Every set of pretrained weights, as ``"model.tag"``, sorted.

    Args:
        pattern (str): ``fnmatch`` pattern on the model name, e.g. ``"resnet*"``.
        source (str): keyword only; ``"tinyms"`` (TinyMS-named models only: mindcv is not
            imported) or ``"mindcv"``; default both.

    Returns:
        list of str: e.g. ``["lenet5.mnist", "resnet50.imagenet", ...]``.

    Example:
        >>> from tinyms import hub
        >>> "lenet5.mnist" in hub.list("lenet*", source="tinyms")
        True
    """
    from ..model.registry import list_models, weights_tags  # noqa: PLC0415

    return [f"{name}.{tag}" for name in list_models(pattern, pretrained=True, source=source)
            for tag in weights_tags(name)]


def predict(image, uid="resnet50", top=5):
    """Classify one image with pretrained weights: the best ``top`` labels and their probabilities.

    The image is prepared by the weights' own evaluation recipe (e.g. resize to 256, centre
    crop 224, ImageNet normalisation), exactly as the weights were evaluated.

    Args:
        image: a file path, encoded bytes, a PIL image or an HWC uint8 array.
        uid (str): the weights, named as for :func:`load`. Default ``"resnet50"`` (ImageNet).
        top (int): 1 or 5 (``"TOP1_CLASS"``/``"TOP5_CLASS"``).

    Returns:
        tinyms.vision.Prediction: ``labels``, ``scores`` (softmax, descending), ``indices``;
        ``print()`` shows one line per label.

    Example:
        >>> from PIL import Image
        >>> from tinyms import hub
        >>> from tinyms.data import MnistDataset, sample_dataset
        >>> image, label = next(MnistDataset(sample_dataset("mnist"), usage="test", shuffle=False)
        ...                     .create_tuple_iterator(output_numpy=True))
        >>> Image.fromarray(image[:, :, 0]).save("digit.png")
        >>> prediction = hub.predict("digit.png", "lenet5_mnist")      # the bundled weights
        >>> prediction.labels[0], int(label), len(prediction.labels)
        ('7', 7, 5)
        >>> print(hub.predict("photo.jpg", "resnet50"))     # doctest: +SKIP
    """
    import numpy as np  # noqa: PLC0415
    import mindspore as ms  # noqa: PLC0415

    from ..vision.transforms import DatasetTransform  # noqa: PLC0415

    if top not in (1, 5):
        raise ValueError(f"top must be 1 or 5, got {top!r}")
    net = load(uid)
    cfg = net.default_cfg
    transform = DatasetTransform(cfg.recipe, labels=cfg.labels)
    batch = np.asarray(transform(image), np.float32)[None]
    net.set_train(False)
    logits = net(ms.Tensor(batch))
    return transform.postprocess(logits, f"TOP{top}_CLASS", as_text=False)[0]


def __dir__():
    return sorted([*__all__, "list"])

