"""Writing a servable (weights + ``servable.json`` entry) from a trained network."""

import logging
import os

from .._fileio import atomic_path, locked, sha256_of, sweep_stale_temps, write_json_atomic
from .._text import first_sentence
from ._config import FORMATS, NAME_PATTERN, SERVABLE_FILE
from ._tasks import DEFAULT_OUTPUT_RANGE, OUTPUT_NAMES, TASKS, check_box_geometry, check_detection_settings, \
    input_dtype
from .errors import ServableConfigError

__all__ = ["write_servable"]

log = logging.getLogger("tinyms.serving")


def _export_onnx(net, input_shape, tmp, output_names=None, dtype="float32"):
    """Export ONNX through tinyms.model's one export path (dynamic batch when it verifies).

    With ``output_names`` the graph's outputs get those names, in order (MindSpore names them
    after internal nodes, e.g. ``"19-Default/Concat-op0"``). A text network (``dtype``
    ``"int32"``: token ids) is exported with a fixed batch of 1 and its fixed length.
    """
    import numpy as np
    import mindspore as ms

    from ..model._export import export_network

    export_network(net, ms.Tensor(np.zeros((1, *input_shape), dtype)), tmp, "ONNX", dynamic_batch=dtype == "float32")
    if output_names:
        _name_onnx_outputs(tmp, output_names)


def _name_onnx_outputs(path, names):
    """Rename the first ``len(names)`` graph outputs of the ONNX file at ``path``."""
    import onnx

    model = onnx.load(path)
    renamed = {out.name: new for out, new in zip(model.graph.output, names)}
    for node in model.graph.node:
        for field in (node.input, node.output):
            for i, value in enumerate(field):
                field[i] = renamed.get(value, value)
    for value in list(model.graph.output) + list(model.graph.value_info):
        value.name = renamed.get(value.name, value.name)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_servable(serving_path, name, net, description="", class_num=None, formats=("ckpt", "onnx"), *,
                   model_name=None, input_shape=None, labels=None, transform=None, text_transform=None,
                   max_batch_size=16, max_delay_ms=2.0, score_threshold=None, iou_threshold=None,
                   max_detections=None, direction=None, features=None):
    """Save a network as a servable: its weights and its entry in ``servable.json``.

    Writes ``<serving_path>/<name>/<name>.<format>`` for each format and adds (or replaces) the
    ``name`` entry of ``<serving_path>/servable.json``, with the SHA-256 of every weights file
    under its format (``model.sha256``, e.g. ``{"onnx": "41d0..."}``): a server checks the file
    it loads against it and refuses a file that changed, also after the file was renamed or
    copied with its entry. Checkpoints also carry MindSpore's CRC trailer. Every file is written under a
    temporary name, fsync'ed and renamed into place, and concurrent writers of the same
    ``servable.json`` are serialised, so a server never reads a half-written file.

    The entry records the network's task (``tinyms.model.tasks.task_of(net).name``). A
    detection network (its ``default_cfg.task`` is ``"detection"``: it returns ``(boxes,
    scores)``) becomes a servable that answers with each image's objects in pixels of the photo
    sent: the entry holds the object names (``labels``, no background), whether score column 0
    is the background (``background``, SSD's convention), the evaluation recipe (it must
    ``resize`` or ``letterbox``, so that boxes map back onto the photo) and the answers'
    defaults (``detection``: score and IoU thresholds, most objects per image). Its ONNX file
    has two outputs, ``boxes`` and ``scores``; a network MindSpore cannot export to ONNX is
    served from its checkpoint (or MindIR).

    A text network (``default_cfg.task`` is ``"text_classification"``: int32 token ids in,
    logits out) needs ``text_transform``, the :class:`tinyms.text.TextTransform` it was trained
    with: its vocabulary files are written into the servable's folder and the entry records
    its recipe (``model.text``, each file's SHA-256; a server refuses a vocabulary that changed),
    its labels and ``input_shape`` ``[max_length]``. The servable then takes strings and
    answers labels and scores, tokenized by the same code as ``transform(text)``. Its ONNX file
    takes int32 ids of a fixed batch of 1 and the transform's ``max_length``; a later format
    that cannot be exported is skipped, with the reason recorded in ``model.skipped``.

    An image-to-image network (``default_cfg.task`` is ``"image_to_image"``) is served as ONE
    generator: a whole model such as a CycleGAN gives its ``generator(direction)`` (``"a2b"`` by
    default), a bare generator Cell with an image_to_image ``default_cfg`` is taken as it is.
    The generator takes float32 (1, C, S, S) prepared by the recipe (the transform's, else the
    config's, else: resize to S x S, pixels to [0, 1], normalised with the config's mean and std,
    (0.5, 0.5) mapping them to [-1, 1]) and returns (1, C, S, S) in [-1, 1] (tanh). The entry
    records ``output_range`` [-1, 1] (a pixel is ``(x + 1) / 2 * 255``), no labels or class
    count, and for a whole model's generator ``generator`` (the direction), so that a
    checkpoint servable (which holds that generator's weights only) rebuilds the whole network
    from ``build_args`` and serves that generator. The servable answers a photo with a picture
    (PNG). ``class_num`` and ``labels`` are not used (``tinyms train`` passes the data's).

    A tabular network (``default_cfg.task`` is ``"tabular"``: ``construct(feat_ids, feat_vals)``,
    e.g. ``deepfm``, ``wide_deep``, ``tabular_mlp``) needs ``features``, the
    :class:`tinyms.data.FeatureSpec` its rows were encoded with: it is written beside the weights
    as ``features.json`` and the entry records its SHA-256 with the spec's objective, label,
    label classes, ``field_size`` and ``vocab_size`` (``model.features``), and ``input_shape``
    ``[field_size]``. A spec whose ``field_size`` or ``vocab_size`` differs from the network's,
    or whose objective or class count does not fit its output, is refused. The servable then
    takes rows (JSON objects, column to value) and answers a probability and label (binary), a
    value (regression) or a label and each class's probability (multiclass). Its ONNX file takes
    ``feat_ids`` int32 and ``feat_vals`` float32, both (batch, field_size), and returns ``output``.

    Args:
        serving_path (str): the serving directory (created if missing), e.g. the default
            ``tinyms.serving.default_serving_path()``.
        name (str): servable name used in URLs: letters, digits, ``_``, ``.``, ``-``.
        net (mindspore.nn.Cell): the trained network, e.g. from ``tinyms.model.create_model``;
            its ``default_cfg`` provides the zoo name, input shape (the trained one, after
            training on another image size), labels and preprocessing, and its
            ``build_record`` the builder's arguments (``class_num``, ``num_channel``...) that
            the entry records as ``model.build_args``, so that a checkpoint servable rebuilds
            the same network.
        description (str): free text shown by ``list_servables()``.
        class_num (int): number of classes (for a detector: score columns, the background
            included when it has one); default: the network's.
        formats (sequence of str): weights to write, among ``"ckpt"``, ``"onnx"``, ``"mindir"``.
            The first one is what the server runs (``"onnx"`` runs on onnxruntime without
            MindSpore). A later format that cannot be exported is skipped with a warning.
        model_name (str): zoo network name if ``net`` has no ``default_cfg``.
        input_shape (tuple): one sample's shape if ``net`` has no ``default_cfg``.
        labels (sequence of str): class names; default: the transform's, else the network's config.
        transform (tinyms.vision.DatasetTransform or Recipe): the preprocessing the network was
            trained with; its recipe is stored in the entry so the server accepts images for any
            model. Default: the network config's recipe (e.g. ``mnist_transform``'s for lenet5).
            A ``tinyms.text.TextTransform`` given here is taken as ``text_transform``.
        text_transform (tinyms.text.TextTransform): required for a text network, and only for
            one: the tokenizer, ``max_length`` and labels it was trained with.
        max_batch_size (int): rows per model call when batching requests (1 = no batching).
        max_delay_ms (float): longest wait for a batch to fill.
        score_threshold (float): detection only: the lowest score an answer keeps, 0..1
            (default 0.3); requests may ask for another.
        iou_threshold (float): detection only: boxes of one class overlapping a better one more
            than this are dropped (default 0.5).
        max_detections (int): detection only: most objects per image, 1..1000 (default 100).
        direction (str): image_to_image only: which generator of a whole model to serve,
            ``"a2b"`` (default) or ``"b2a"``.
        features (tinyms.data.FeatureSpec, dict or str): required for a tabular network, and
            only for one: its feature spec, the spec's ``to_dict()`` form, or the path of its JSON
            file (``FeatureSpec.save``; a run folder's ``feature_spec.json``). A FeatureSpec given
            as ``transform`` is taken as ``features``.

    Returns:
        dict: the ``servable.json`` entry written.

    Raises:
        ServableConfigError: a name, format or setting is invalid, the existing
            ``servable.json`` is broken (it is left untouched), a checkpoint is asked for of
            a network built with arguments JSON cannot record, the network's task is not one
            serving knows, a detector's labels or recipe do not fit it, or a text network comes
            without its ``text_transform`` (or a ``text_transform`` with another network), or a
            tabular network without its ``features`` (or with a spec that does not fit it).
        tinyms.errors.ExportError: the first format cannot be exported.

    Example:
        >>> from tinyms.model import create_model
        >>> from tinyms.serving import write_servable
        >>> net = create_model("lenet5", class_num=10)
        >>> entry = write_servable("/tmp/serving", "lenet5", net)      # doctest: +SKIP
        >>> entry["model"]["files"]                                      # doctest: +SKIP
        {'ckpt': 'lenet5.ckpt', 'onnx': 'lenet5.onnx'}
        >>> sorted(entry["model"]["sha256"])                             # doctest: +SKIP
        ['ckpt', 'onnx']
    """
    import mindspore as ms

    from ..errors import ExportError
    from ..model._checkpoint import network_metadata, save_checkpoint
    from ..model._export import export_network
    from ..model.registry import network_description
    from ..model.tasks import task_of

    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ServableConfigError(f"servable name {name!r} must be 1-64 letters, digits, '_', '.' or '-', "
                                  "starting with a letter or digit (it is used in URLs)")
    formats = tuple(str(f).lower() for f in ([formats] if isinstance(formats, str) else formats))
    bad = [f for f in formats if f not in FORMATS]
    if not formats or bad or len(set(formats)) != len(formats):
        raise ServableConfigError(f"formats must be distinct names among {', '.join(FORMATS)}, got {formats!r}")
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or not 1 <= max_batch_size <= 1024:
        raise ServableConfigError(f"max_batch_size must be an integer from 1 to 1024, got {max_batch_size!r}")
    if not 0 <= float(max_delay_ms) <= 1000:
        raise ServableConfigError(f"max_delay_ms must be from 0 to 1000, got {max_delay_ms!r}")
    if not isinstance(net, ms.nn.Cell):
        raise ServableConfigError(f"net must be a MindSpore network (nn.Cell), got {type(net).__name__}")
    cfg = getattr(net, "default_cfg", None)
    model_name = model_name or (cfg.name if cfg is not None else "")
    input_shape = tuple(input_shape or (cfg.input_shape if cfg is not None else ()))
    if "ckpt" in formats and not model_name:
        raise ServableConfigError("a checkpoint servable needs the zoo network name to rebuild the network; "
                                  "pass model_name=, e.g. model_name='lenet5'")
    task = _task_name(net, task_of)
    generator = None
    if task == "image_to_image":
        net, generator = _generator_of(net, direction)
    elif direction is not None:
        raise ServableConfigError(f"direction= is for image_to_image networks; {model_name or type(net).__name__} "
                                  f"is a {task} network")
    if task not in TASKS:
        raise ServableConfigError(f"{model_name or type(net).__name__} is a {task} network; servables serve "
                                  f"{', '.join(TASKS)} networks")
    transform, features = _features_of(transform, features, task, model_name or type(net).__name__)
    transform, text_transform = _text_transform_of(transform, text_transform, task, model_name or type(net).__name__)
    if text_transform is not None:
        input_shape = _text_input_shape(net, text_transform)
    if features is not None:
        input_shape = _check_features_fit(net, features, labels)
    if not input_shape:
        raise ServableConfigError("pass input_shape= (one sample's shape, e.g. (1, 32, 32)): the network "
                                  "has no default_cfg to read it from")
    settings = {key: value for key, value in (("score_threshold", score_threshold), ("iou_threshold", iou_threshold),
                                              ("max_detections", max_detections)) if value is not None}
    if settings and task != "detection":
        raise ServableConfigError(f"{', '.join(settings)} only apply to detection networks; "
                                  f"{model_name or type(net).__name__} is a {task} network")
    recipe = _recipe_of(transform, cfg, input_shape, task) if text_transform is None and features is None else None
    for given in (transform, text_transform):
        if labels is None and getattr(given, "labels", None):
            labels = given.labels
    given_labels = labels is not None
    if given_labels:
        labels = tuple(str(lab) for lab in labels)
    elif cfg is not None:
        labels = cfg.labels  # the zoo's labels; replaced by "0".."n-1" below if the class count differs
    background = False
    if task == "image_to_image":  # pictures out: no classes, no labels
        class_num, labels, given_labels = None, None, False
        _check_generator_output(net, input_shape)
    if task == "tabular":  # rows out: the classes are the feature spec's
        class_num, labels, given_labels = None, None, False
    if task == "detection":
        class_num, labels, background, settings = _detection_fields(net, cfg, class_num, labels, given_labels,
                                                                    input_shape, recipe, settings)
    if task not in ("image_to_image", "tabular"):
        class_num = class_num or getattr(net, "class_num", None) or (len(labels) if labels is not None else None)
        if class_num is None:  # ask the network itself, in inference mode
            class_num = int(_probe(net, input_shape, input_dtype(task))[0].shape[-1])
    # a generator's checkpoint is rebuilt from the whole network's record, then generator(direction)
    build_args = _build_args(generator[0] if generator else net, model_name, formats, class_num,
                             network_description)
    if labels is not None and class_num is not None and len(labels) != class_num - background:
        if given_labels:
            raise ServableConfigError(f"labels has {len(labels)} names but the network has {class_num} classes; "
                                      "give one label per class")
        labels = tuple(str(i) for i in range(class_num - background))

    folder = os.path.join(os.path.abspath(os.path.expanduser(os.fspath(serving_path))), name)
    os.makedirs(folder, exist_ok=True)
    sweep_stale_temps(folder)
    text = _write_vocabulary(text_transform, folder) if text_transform is not None else None
    tabular = _write_features(features, folder) if features is not None else None
    was_training = net.training
    net.set_train(False)
    files, digests, skipped = {}, {}, {}
    try:
        for fmt in formats:
            final = os.path.join(folder, f"{name}{FORMATS[fmt]}")
            try:
                if fmt == "ckpt":  # atomic, with MindSpore's CRC trailer and the network's build record
                    # (a generator alone has none: its record would rebuild the whole network)
                    save_checkpoint(net, final, metadata=None if generator else network_metadata(net) or None)
                    digest = sha256_of(final)
                else:
                    with atomic_path(final, suffix=FORMATS[fmt]) as tmp:
                        if tabular is not None:
                            _export_tabular(net, features, tmp, fmt)
                        elif fmt == "onnx":
                            _export_onnx(net, input_shape, tmp, OUTPUT_NAMES[task] if task in (
                                "detection", "image_to_image") else None, input_dtype(task))
                        else:
                            export_network(net, ms.Tensor(shape=[None, *input_shape],
                                                          dtype=getattr(ms, input_dtype(task))), tmp, "MINDIR")
                        digest = sha256_of(tmp)  # of the bytes renamed into place
            except Exception as err:  # noqa: BLE001 - MindSpore raises many types on export
                if fmt == formats[0]:
                    raise ExportError(f"cannot write {name!r} as {fmt}: {first_sentence(err)}") from err
                log.warning("servable %r: %s export skipped: %s", name, fmt, first_sentence(err))
                skipped[fmt] = first_sentence(err)
                continue
            files[fmt] = os.path.basename(final)
            digests[fmt] = digest  # by role: the check survives renaming or copying the file
    finally:
        net.set_train(was_training)

    model = {"name": model_name, "format": formats[0], "class_num": class_num, "files": files,
             "sha256": digests, "input_shape": list(input_shape), "task": task}
    if task == "tabular":
        del model["class_num"]
    if task == "image_to_image":
        del model["class_num"]
        model["output_range"] = list(DEFAULT_OUTPUT_RANGE)
        if generator:
            model["generator"] = generator[1]
    if task == "detection":
        model.update(background=background, detection=settings)
    if text is not None:
        model["text"] = text
    if tabular is not None:
        model["features"] = tabular
    if skipped:  # a later format MindSpore could not export: the reason stays with the entry
        model["skipped"] = skipped
    if build_args is not None:
        model["build_args"] = build_args
    if labels is not None:
        model["labels"] = [str(lab) for lab in labels]
    if cfg is not None:
        model.update(dataset=cfg.dataset, transform=cfg.transform)
        if cfg.mean and cfg.std:
            model.update(mean=list(cfg.mean), std=list(cfg.std))
    if recipe is not None:
        model["recipe"] = recipe.to_dict()
    if getattr(transform, "dataset", ""):  # a preset names the data it was made for
        model["dataset"] = transform.dataset
    entry = {"name": name, "description": description, "model": model,
             "max_batch_size": max_batch_size, "max_delay_ms": float(max_delay_ms)}
    root = os.path.dirname(folder)
    with locked(os.path.join(root, f".{SERVABLE_FILE}.lock")):
        path = os.path.join(root, SERVABLE_FILE)
        entries = []
        if os.path.exists(path):
            from ._config import read_entries
            entries = read_entries(root)
        entries = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)] + [entry]
        write_json_atomic(path, entries)
    return entry


def _build_args(net, model_name, formats, class_num, describe):
    """The zoo builder's arguments a checkpoint servable rebuilds ``net`` with (None: not recorded).

    Raises:
        ServableConfigError: a checkpoint is asked for but some arguments cannot be recorded, or
            ``class_num`` contradicts the one the network was built with.
    """
    description = describe(net)
    if description is None or description["model"] != model_name or "args" not in description:
        return None
    args = description["args"]
    if "ckpt" in formats and description.get("unrecorded"):
        raise ServableConfigError(
            f"{model_name} was built with {', '.join(description['unrecorded'])}, which servable.json cannot "
            f"record (not JSON values), so a checkpoint servable could not rebuild it: write "
            f"formats=('onnx',) or ('mindir',), which hold the network itself")
    if args.get("class_num") is not None and class_num is not None and args["class_num"] != class_num:
        raise ServableConfigError(f"class_num={class_num} but the network was built with "
                                  f"class_num={args['class_num']}; leave class_num out (it is the network's)")
    return args


def _probe(net, input_shape, dtype="float32"):
    """The network's outputs (a tuple of numpy arrays) on one zero input, in inference mode."""
    import numpy as np
    import mindspore as ms

    was_training = net.training
    net.set_train(False)
    try:
        out = net(ms.Tensor(np.zeros((1, *input_shape), dtype)))
    finally:
        net.set_train(was_training)
    return tuple(o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else (out,)))


def _text_transform_of(transform, text_transform, task, what):
    """``(transform, text_transform)`` checked: a text network has a TextTransform, no other network has one."""
    from ..text.transforms import TextTransform

    if isinstance(transform, TextTransform):
        if text_transform is not None:
            raise ServableConfigError("pass the tinyms.text transform once, as text_transform=")
        transform, text_transform = None, transform
    if task == "text_classification":
        if text_transform is None:
            raise ServableConfigError(f"{what} is a text_classification network: pass text_transform=, the "
                                      "tinyms.text transform it was trained with (e.g. text_transform('word', "
                                      "texts=train_texts, max_length=128)), so that the servable takes strings")
        if not isinstance(text_transform, TextTransform):
            raise ServableConfigError(f"text_transform must be a tinyms.text.TextTransform, got "
                                      f"{type(text_transform).__name__}")
        if transform is not None:
            raise ServableConfigError(f"{what} is a text network: it takes a text_transform, not an image transform")
    elif text_transform is not None:
        raise ServableConfigError(f"text_transform is for text_classification networks; {what} is a {task} network")
    return transform, text_transform


def _text_input_shape(net, text_transform):
    """``(max_length,)``: the ids a text servable feeds its network, within the network's ``max_positions``."""
    limit = getattr(net, "max_positions", None)
    if limit is not None and text_transform.max_length > limit:
        raise ServableConfigError(f"text_transform.max_length is {text_transform.max_length} but "
                                  f"{type(net).__name__} takes at most {limit} tokens; build the transform with "
                                  f"max_length={limit} or less")
    return (text_transform.max_length,)


def _features_of(transform, features, task, what):
    """``(transform, FeatureSpec or None)`` checked: a tabular network has a feature spec, no other network has one.

    ``features`` may be a FeatureSpec, its ``to_dict()`` form or the path of its JSON file; a
    FeatureSpec given as ``transform`` is taken as ``features``.
    """
    if features is None and task != "tabular" and type(transform).__name__ != "FeatureSpec":
        return transform, None  # (the feature spec's module is not needed)
    from ..data._features import FeatureSpec
    from ..errors import DatasetError

    if isinstance(transform, FeatureSpec):
        if features is not None:
            raise ServableConfigError("pass the feature spec once, as features=")
        transform, features = None, transform
    if features is None:
        if task == "tabular":
            raise ServableConfigError(f"{what} is a tabular network: pass features=, the tinyms.data.FeatureSpec its "
                                      "rows were encoded with (e.g. TabularDataset(...).spec, or the path of its "
                                      "feature_spec.json), so that the servable takes rows")
        return transform, None
    if task != "tabular":
        raise ServableConfigError(f"features= is for tabular networks; {what} is a {task} network")
    if transform is not None:
        raise ServableConfigError(f"{what} is a tabular network: it takes features=, not an image transform")
    try:
        if isinstance(features, (str, os.PathLike)):
            features = FeatureSpec.load(os.fspath(features))
        elif isinstance(features, dict):
            features = FeatureSpec.from_dict(features)
    except DatasetError as err:
        raise ServableConfigError(f"features: {err}") from None
    if not isinstance(features, FeatureSpec):
        raise ServableConfigError(f"features must be a tinyms.data.FeatureSpec, its dict form or the path of its "
                                  f"JSON file, got {type(features).__name__}")
    return None, features


def _check_features_fit(net, spec, labels):
    """``(field_size,)``, the input shape of a tabular servable, once ``spec`` is checked against ``net``."""
    from ._tabular import MAX_VOCAB, output_columns

    what = type(net).__name__
    if labels is not None:
        raise ServableConfigError("labels= is not used by a tabular servable: its classes are the feature spec's "
                                  "label_classes; leave labels out")
    for key in ("field_size", "vocab_size"):
        mine, its = int(getattr(spec, key)), getattr(net, key, None)
        if its is not None and int(its) != mine:
            raise ServableConfigError(f"the feature spec has {key} {mine:,} but {what} was built with {key}="
                                      f"{int(its):,}; build the network from the spec ({key}=spec.{key}) or pass "
                                      "the spec it was trained with")
    if spec.vocab_size > MAX_VOCAB:
        raise ServableConfigError(f"the feature spec has {spec.vocab_size:,} ids, more than the {MAX_VOCAB:,} "
                                  "serving carries exactly; keep fewer categories (a higher frequency threshold)")
    objective = getattr(net, "objective", None)
    if objective is not None and objective != spec.objective:
        raise ServableConfigError(f"the feature spec's objective is {spec.objective!r} but {what} was built for "
                                  f"{objective!r}; build the network with objective={spec.objective!r}")
    out = _probe_tabular(net, spec.field_size, spec.vocab_size)
    wanted = output_columns(spec.objective, spec.label_classes or [])
    if out.ndim != 2 or out.shape[1] != wanted:
        raise ServableConfigError(f"{what} returns shape {list(out.shape)} for one row, but a {spec.objective} "
                                  f"servable of this spec needs (1, {wanted}) (one "
                                  f"{'logit per class' if spec.objective == 'multiclass' else 'output'})")
    return (spec.field_size,)


def _tabular_examples(field_size, vocab_size, rows, seed=0):
    """``rows`` random encoded rows for a tabular network: ids in ``0..vocab_size-1``, values ~ N(0, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.integers(0, vocab_size, (rows, field_size)).astype(np.int32),
            rng.standard_normal((rows, field_size)).astype(np.float32))


def _probe_tabular(net, field_size, vocab_size):
    """A tabular network's output on one row, in inference mode."""
    import mindspore as ms

    ids, vals = _tabular_examples(field_size, vocab_size, 1)
    was_training = net.training
    net.set_train(False)
    try:
        out = net(ms.Tensor(ids), ms.Tensor(vals))
    except Exception as err:  # noqa: BLE001 - MindSpore raises many types on a bad network
        raise ServableConfigError(f"the tabular network cannot run on feat_ids/feat_vals of shape [1, {field_size}]: "
                                  f"{first_sentence(err)}") from None
    finally:
        net.set_train(was_training)
    out = out[0] if isinstance(out, (tuple, list)) else out
    return out.asnumpy()


def _write_features(spec, folder):
    """Write ``spec`` as ``features.json`` in ``folder``; return ``model.features`` (its SHA-256 and summary)."""
    from .._fileio import atomic_file
    from ._tabular import FEATURES_FILE, features_json

    path = os.path.join(folder, FEATURES_FILE)
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(features_json(spec))
    return {"file": FEATURES_FILE, "sha256": sha256_of(path), "objective": spec.objective, "label": spec.label,
            "label_classes": None if spec.label_classes is None else list(spec.label_classes),
            "field_size": int(spec.field_size), "vocab_size": int(spec.vocab_size)}


def _export_tabular(net, spec, tmp, fmt):
    """Export a tabular network (inputs ``feat_ids`` int32 and ``feat_vals`` float32, (N, F)) to ``tmp``.

    MindIR gets a dynamic batch; ONNX (through ``tinyms.model``'s one export path: dynamic batch
    when onnxruntime then agrees with the network, checked either way) names its output ``output``.
    """
    import mindspore as ms

    from ..model._export import export_network

    fields = spec.field_size
    if fmt == "mindir":
        export_network(net, (ms.Tensor(shape=[None, fields], dtype=ms.int32),
                             ms.Tensor(shape=[None, fields], dtype=ms.float32)), tmp, "MINDIR")
        return
    ids, vals = _tabular_examples(fields, spec.vocab_size, 1)
    export_network(net, (ms.Tensor(ids), ms.Tensor(vals)), tmp, "ONNX")
    _name_onnx_outputs(tmp, OUTPUT_NAMES["tabular"])


def _write_vocabulary(text_transform, folder):
    """Write the transform's vocabulary files and recipe into ``folder``; return the recipe (``model.text``)."""
    from .._jsonread import load_file

    return load_file(text_transform.save(folder))


def _detection_fields(net, cfg, class_num, labels, given_labels, input_shape, recipe, settings):
    """``(class_num, labels, background, settings)`` of a detection servable, checked.

    ``class_num`` is what the network scores: its ``class_num`` (the background's column too),
    else what its output shows. A ``class_num`` given that counts the object classes only
    (``tinyms train`` passes the dataset's) is taken as naming the same network. ``background``
    comes from the network's config, else from the labels given (one name fewer than the
    columns).
    """
    columns = getattr(net, "class_num", None) or class_num
    if columns is None:  # ask the network itself
        outputs = _probe(net, input_shape)
        if len(outputs) < 2 or outputs[1].ndim != 3:
            raise ServableConfigError(f"a detection network returns (boxes, scores) with scores (batch, anchors, "
                                      f"classes); {type(net).__name__} returns shapes "
                                      f"{[o.shape for o in outputs]}")
        columns = int(outputs[1].shape[-1])
    if cfg is not None:
        background = bool(getattr(cfg, "background", False))
    else:
        background = bool(getattr(net, "background", given_labels and len(labels) == columns - 1))
    if class_num is not None and class_num != columns and not (background and class_num == columns - 1):
        extra = " (the background first)" if background else ""
        raise ServableConfigError(f"class_num={class_num} does not fit the network, which scores {columns} "
                                  f"classes{extra}; leave class_num out")
    class_num = columns
    if given_labels and len(labels) != class_num - int(background):
        extra = ", and column 0 is the background" if background else ""
        raise ServableConfigError(f"labels has {len(labels)} names but the network scores {class_num} classes"
                                  f"{extra}; give one name per object class (no background)")
    if recipe is not None:
        try:
            check_box_geometry(recipe.eval, input_shape)
        except ValueError as err:
            raise ServableConfigError(f"transform: a detection servable maps boxes back onto the photo, so its "
                                      f"evaluation steps must resize or letterbox: {err}") from None
    try:
        settings = check_detection_settings(settings)
    except ValueError as err:
        raise ServableConfigError(str(err)) from None
    return class_num, labels, background, settings


def _task_name(net, task_of):
    """The network's task name; image_to_image and tabular networks are known even before their task is registered."""
    from ..errors import UnknownNameError

    try:
        return task_of(net).name
    except UnknownNameError:
        name = getattr(net, "task", None)
        if not isinstance(name, str):
            name = getattr(getattr(net, "default_cfg", None), "task", None)
        if name in ("image_to_image", "tabular"):
            return name
        raise


def _generator_of(net, direction):
    """``(the generator Cell to serve, (whole network, direction) or None)`` of an image_to_image network.

    A network with a ``generator(direction)`` method (a CycleGAN or pix2pix model) gives that
    generator; a bare generator is served as it is (``direction`` must then be left out).
    """
    import mindspore as ms

    make = getattr(net, "generator", None)
    if not callable(make):
        if direction is not None:
            raise ServableConfigError(f"direction={direction!r} picks a generator of a whole image_to_image model "
                                      f"(e.g. a CycleGAN); {type(net).__name__} is a generator itself: leave "
                                      "direction out")
        return net, None
    direction = "a2b" if direction is None else direction
    if direction not in ("a2b", "b2a"):
        raise ServableConfigError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
    gen = make(direction)
    if not isinstance(gen, ms.nn.Cell):
        raise ServableConfigError(f"{type(net).__name__}.generator({direction!r}) returned "
                                  f"{type(gen).__name__}, not a network (nn.Cell)")
    return gen, (net, direction)


def _check_generator_output(net, input_shape):
    """Raise ServableConfigError unless the generator maps one (C, H, W) image to one image."""
    if len(input_shape) != 3 or input_shape[0] not in (1, 3):
        raise ServableConfigError(f"an image_to_image network takes images (channels, height, width) with 1 or 3 "
                                  f"channels; its input_shape is {list(input_shape)}")
    try:
        out = _probe(net, input_shape)[0]
    except Exception as err:  # noqa: BLE001 - MindSpore raises many types on a bad network
        raise ServableConfigError(f"the image_to_image network cannot run on a {[1, *input_shape]} input: "
                                  f"{first_sentence(err)}") from None
    if out.ndim != 4 or out.shape[0] != 1 or out.shape[1] not in (1, 3):
        raise ServableConfigError(f"an image_to_image generator returns images (batch, channels, height, width) "
                                  f"with 1 or 3 channels; {type(net).__name__} returns shape {out.shape}")


def _image_to_image_recipe(cfg, input_shape):
    """The default recipe of an image_to_image network: resize to its size, [0, 1], its mean and std (0.5)."""
    from ..vision._recipe import Recipe

    channels, height, width = input_shape
    mean = tuple(getattr(cfg, "mean", None) or (0.5,) * channels)
    std = tuple(getattr(cfg, "std", None) or (0.5,) * channels)
    steps = [["resize", {"size": [int(height), int(width)]}], ["rescale", {"scale": 1.0 / 255.0, "shift": 0.0}],
             ["normalize", {"mean": list(mean), "std": list(std)}], ["hwc2chw", {}]]
    return Recipe(train=steps, eval=steps, channels=int(channels))


def _recipe_of(transform, cfg, input_shape, task=None):
    """The recipe to store: the transform's, else the config's; checked against the input shape."""
    from ..errors import RecipeError
    from ..vision._recipe import Recipe

    if transform is None:
        recipe = getattr(cfg, "recipe", None)
        if recipe is None and task == "image_to_image" and len(input_shape) == 3:
            recipe = _image_to_image_recipe(cfg, input_shape)
    elif isinstance(transform, Recipe):
        recipe = transform
    elif isinstance(getattr(transform, "recipe", None), Recipe):
        recipe = transform.recipe
    else:
        raise ServableConfigError(f"transform must be a tinyms.vision transform (e.g. cifar10_transform) or a "
                                  f"Recipe, got {type(transform).__name__}")
    if recipe is not None and input_shape:
        try:
            recipe.check_serves(input_shape)
        except RecipeError as err:
            raise ServableConfigError(f"transform: {err}") from None
    return recipe
