"""Private: the text side of ``tinyms train``, ``tinyms eval`` and ``tinyms predict --run``.

Text data is the dataset name ``imdb`` (downloaded through :func:`tinyms.data.download_dataset`,
which honours ``TINYMS_DATASET_MIRROR``), a folder of class sub-folders of ``.txt`` files
(optionally split into ``train/`` and ``test/`` or ``val/``, aclImdb's layout; aclImdb's unlabelled
``unsup/`` reviews are left out), or a ``.csv``/``.tsv`` table with a text and a label column.
Every document is read and checked before training (bad files are named, see
:mod:`tinyms.data.text`).

The word tokenizer's vocabulary is learned from the training documents only; data without a
test split holds out :data:`VALIDATION_FRACTION` of each class (drawn with the run's seed) for
validation, and ``tinyms eval`` draws the same documents again. The run directory keeps the
text transform (``text_transform/``: recipe and vocabulary, SHA-256 checked when read), so
evaluation and prediction encode text exactly as training did.

This module sits at the command-line level beside ``_train_cli`` (which calls it).
"""

import dataclasses
import os

from .errors import ConfigError

__all__ = ["TASK", "NAMES", "TABLE_EXTENSIONS", "TRANSFORM_FOLDER", "VALIDATION_FRACTION", "is_text_data",
           "text_data", "build_network", "predict"]

TASK = "text_classification"
#: dataset names of text data tinyms train reads
NAMES = ("imdb",)
#: files read as a table of documents
TABLE_EXTENSIONS = (".csv", ".tsv")
#: the run directory's sub-folder holding the text transform
TRANSFORM_FOLDER = "text_transform"
#: the share of each class held out for validation when the data has no test split
VALIDATION_FRACTION = 0.2
#: class folders that are not classes: aclImdb's unlabelled reviews
_UNLABELLED = ("unsup",)
_SPLITS = (("train", "test"), ("train", "val"))


@dataclasses.dataclass
class Documents:
    """Decoded documents of one split: texts, 0-based labels, class names, and what they are."""

    texts: list
    labels: list
    names: tuple
    note: str


def _folder_root(path):
    """``path``, or the aclImdb folder inside it (the folder ``download_dataset('imdb')`` returns)."""
    from .data import is_text_folder  # noqa: PLC0415

    inner = os.path.join(path, "aclImdb")
    if not is_text_folder(path) and is_text_folder(inner):
        return inner
    return path


def is_text_data(data):
    """True when checked run data (a name or an absolute path) is text: ``imdb``, a table or a text folder."""
    if data in NAMES:
        return True
    if not os.path.isabs(data):
        return False
    if os.path.isfile(data):
        return os.path.splitext(data)[1].lower() in TABLE_EXTENSIONS
    if not os.path.isdir(data):
        return False
    from .data import is_text_folder  # noqa: PLC0415

    return is_text_folder(_folder_root(data))


# ----------------------------------------------------------------------------- reading documents
def _classes(folder):
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith(".")
                      and e.name not in _UNLABELLED)


def _split_folders(root):
    """``(train, test)`` sub-folders of a folder split by usage, or None for a plain folder of classes."""
    from .data import is_text_folder  # noqa: PLC0415

    for train, test in _SPLITS:
        a, b = os.path.join(root, train), os.path.join(root, test)
        if os.path.isdir(a) and os.path.isdir(b) and is_text_folder(b):
            return a, b
    return None


def _read_folder(folder, names, label):
    from .data.text import read_text_folder  # noqa: PLC0415

    texts, labels, names, _ = read_text_folder(folder, class_names=names, title=label)
    return texts, labels, tuple(names)


def _read_table(cfg):
    from .errors import DatasetError  # noqa: PLC0415
    from .data.text import read_text_table  # noqa: PLC0415

    text_column, label_column = cfg["text_column"] or "text", cfg["label_column"] or "label"
    try:
        texts, labels, names, _ = read_text_table(cfg["data"], text_column, label_column)
    except DatasetError as err:
        if "has no column" in str(err):  # name the flags that fix it
            raise DatasetError(f"{err} (tinyms train: --text-column / --label-column, or the YAML keys "
                               f"text_column / label_column; for a table of rows, --label COLUMN names the "
                               f"column to predict)") from None
        raise
    return texts, labels, tuple(names)


def held_out(labels, seed, fraction=VALIDATION_FRACTION):
    """``(train indices, validation indices)``: ``fraction`` of each class (at least one document of a class
    holding two or more), drawn with ``seed``, both in document order."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    train, valid = [], []
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        rng.shuffle(where)
        count = min(max(int(round(len(where) * fraction)), 1), len(where) - 1) if len(where) > 1 else 0
        valid += where[:count].tolist()
        train += where[count:].tolist()
    return sorted(train), sorted(valid)


def _pick(texts, labels, index):
    return [texts[i] for i in index], [labels[i] for i in index]


def read_documents(cfg, fetch):
    """``(train Documents, test Documents)`` of the run's data; ``fetch()`` gives a named dataset's folder."""
    data = cfg["data"]
    label = os.path.basename(data.rstrip(os.sep)) if os.path.isabs(data) else data
    if data == "imdb":
        root = _folder_root(fetch())
        from .data.imdb import IMDB_CLASSES  # noqa: PLC0415

        train = _read_folder(os.path.join(root, "train"), IMDB_CLASSES, "IMDB")
        test = _read_folder(os.path.join(root, "test"), IMDB_CLASSES, "IMDB")
        return (Documents(*train, "the IMDB training reviews"),
                Documents(*test, "the IMDB test reviews"))
    if os.path.isfile(data):
        texts, labels, names = _read_table(cfg)
        return _held_out_split(texts, labels, names, cfg["seed"], os.path.basename(data))
    root = _folder_root(data)
    split = _split_folders(root)
    if split is None:
        texts, labels, names = _read_folder(root, _classes(root), "text")
        return _held_out_split(texts, labels, names, cfg["seed"], label)
    train_names, test_names = _classes(split[0]), _classes(split[1])
    unknown = sorted(set(test_names) - set(train_names))
    if unknown:
        raise ConfigError(f"{split[1]} has class {unknown[0]!r}, which {split[0]} has not; every test class must "
                          f"be trained on")
    train = _read_folder(split[0], train_names, "text")
    test = _read_folder(split[1], test_names, "text")
    index = {name: i for i, name in enumerate(train_names)}
    test_labels = [index[test[2][j]] for j in test[1]]  # the test folder's labels in the training order
    return (Documents(*train, f"the documents of {split[0]}"),
            Documents(test[0], test_labels, train[2], f"the test folder {split[1]}"))


def _held_out_split(texts, labels, names, seed, label):
    train, valid = held_out(labels, seed)
    if not valid:
        raise ConfigError(f"{label} has too few documents to hold any out for validation (each class needs two or "
                          f"more); add documents")
    share = f"{VALIDATION_FRACTION:.0%} of each class, seed {seed}"
    return (Documents(*_pick(texts, labels, train), names, f"the training documents of {label}"),
            Documents(*_pick(texts, labels, valid), names,
                      f"those of {label} held out for validation ({share})"))


def other_documents(cfg, other, names, fetch):
    """The documents of ``other["data"]`` (not the run's) to evaluate on, labelled in the run's class order.

    Its test split when it has one, else every document (nothing is held out: the run never trained on it).
    ``other`` may also name a table's ``text_column`` and ``label_column``.
    """
    other = dict(cfg, **other)
    data = other["data"]
    if data == "imdb":
        docs = read_documents(other, fetch)[1]
    elif os.path.isfile(data):
        docs = Documents(*_read_table(other), f"every document of {os.path.basename(data)}")
    else:
        root = _folder_root(data)
        split = _split_folders(root)
        folder = split[1] if split else root
        docs = Documents(*_read_folder(folder, _classes(folder), "text"),
                         f"the test folder {folder}" if split else f"every document of {folder}")
    unknown = sorted(set(docs.names) - set(names))
    if unknown:
        raise ConfigError(f"{data} has class {unknown[0]!r}, which the run was not trained on (its classes: "
                          f"{', '.join(names)})")
    index = {name: i for i, name in enumerate(names)}
    labels = [index[docs.names[j]] for j in docs.labels]
    return Documents(docs.texts, labels, tuple(names), docs.note)


# ----------------------------------------------------------------------------- transform, datasets, network
def build_transform(cfg, train):
    """The run's text transform: a word tokenizer learned from the training documents only."""
    from .text import text_transform  # noqa: PLC0415

    if cfg.get("pretrained"):  # BERT's own vocabulary: the published weights' ids
        from .model import bert_pretrained_files  # noqa: PLC0415

        vocab = bert_pretrained_files(cfg["model"])["vocab"]
        return text_transform("wordpiece", vocab=vocab, max_length=cfg["max_length"], labels=train.names)
    return text_transform("word", texts=train.texts, max_length=cfg["max_length"], labels=train.names)


def saved_transform(run_dir):
    """The text transform a run saved (``RUN_DIR/text_transform``), or None."""
    folder = os.path.join(run_dir, TRANSFORM_FOLDER)
    if not os.path.isdir(folder):
        return None
    from .text import TextTransform  # noqa: PLC0415

    return TextTransform.load(folder)


def save_transform(transform, run_dir):
    return transform.save(os.path.join(run_dir, TRANSFORM_FOLDER))


def dataset(docs, transform, batch_size, training, num_samples=None):
    """Batches of ``input_ids``/``label`` of ``docs`` (training: shuffled, this worker's shard)."""
    from .data.text import text_dataset  # noqa: PLC0415

    if training:
        raw = text_dataset(docs.texts, docs.labels, docs.names, [], shuffle=True, num_samples=num_samples)
        return transform.apply_ds(raw, batch_size=batch_size)
    # every worker evaluates every document, so all take the same decisions
    raw = text_dataset(docs.texts, docs.labels, docs.names, [], shuffle=False, num_shards=1, shard_id=0)
    return transform.apply_ds(raw, batch_size=batch_size, is_training=False)


def text_data(cfg, say, train, fetch, data_type, run_dir=None, eval_data=None):
    """The run's text ``_Data`` (``data_type``): datasets and the transform (the run's saved one when there is one).

    ``eval_data`` (``{"data": ..., "text_column": ..., "label_column": ...}``): other documents to test on.
    """
    transform = saved_transform(run_dir) if run_dir else None
    batch = cfg["batch_size"]
    if eval_data is not None and transform is not None and not train:  # the run's own data is not needed
        test_docs = other_documents(cfg, eval_data, transform.labels, fetch)
        test_ds = dataset(test_docs, transform, max(batch, 64), False)
        return data_type(None, test_ds, transform, tuple(transform.labels), None, test_docs.note)
    train_docs, test_docs = read_documents(cfg, fetch)
    if transform is None:
        transform = build_transform(cfg, train_docs)
    elif tuple(transform.labels) != tuple(train_docs.names):
        raise ConfigError(f"the run's text transform names the classes {', '.join(transform.labels)}, but "
                          f"{cfg['data']} has {', '.join(train_docs.names)}: the data changed since the run")
    if eval_data is not None:
        test_docs = other_documents(cfg, eval_data, transform.labels, fetch)
    train_ds = dataset(train_docs, transform, batch, True, cfg["num_samples"]) if train else None
    if train:
        say(f"Text: {len(train_docs.texts):,} training documents, {len(train_docs.names)} classes "
            f"({', '.join(train_docs.names[:10])}{', ...' if len(train_docs.names) > 10 else ''}); "
            f"validation: {len(test_docs.texts):,} documents, {test_docs.note}; "
            + (f"WordPiece vocabulary of {transform.tokenizer.vocab_size:,} tokens from the published vocab.txt"
               if cfg.get("pretrained") else f"word vocabulary of {transform.tokenizer.vocab_size:,} tokens "
                                             f"learned from the training documents")
            + f", {transform.max_length} tokens per document")
    test_ds = dataset(test_docs, transform, max(batch, 64), False)
    return data_type(train_ds, test_ds, transform, tuple(transform.labels), None, test_docs.note)


def build_network(cfg, labels, transform):
    """The zoo text network for the run's vocabulary and classes, its config saying the length it takes."""
    from .model import create_model  # noqa: PLC0415
    from .model.registry import _entry  # noqa: PLC0415

    kwargs = {"vocab_size": transform.tokenizer.vocab_size}
    if "max_length" in _entry(cfg["model"]).params:  # (BERT sizes its position table for it)
        kwargs["max_length"] = transform.max_length
    if cfg.get("pretrained"):
        from .model import bert_pretrained  # noqa: PLC0415

        net = bert_pretrained(cfg["model"], num_classes=len(labels), max_length=transform.max_length)
    else:
        net = create_model(cfg["model"], class_num=len(labels), **kwargs)
    config = getattr(net, "default_cfg", None)
    if config is not None:
        net.default_cfg = dataclasses.replace(config, input_shape=(transform.max_length,), labels=tuple(labels))
    return net


def describe(transform):
    """The words of ``tinyms train``'s first line about the text transform."""
    return f"{transform.max_length} tokens per document, vocabulary {transform.tokenizer.vocab_size:,}"


# ----------------------------------------------------------------------------- prediction
def predict(model, transform, texts, top=1):
    """Predictions (labels, scores) of ``texts`` by a trained text ``model``."""
    import numpy as np  # noqa: PLC0415

    ids = transform(list(texts))
    logits = model.predict(ids)
    logits = logits.asnumpy() if hasattr(logits, "asnumpy") else np.asarray(logits)
    return transform.postprocess(logits, top_k=top)


def predict_run(run_dir, ckpt, model_name, texts, top=1):
    """Predictions of ``texts`` by the text run in ``run_dir`` (its checkpoint ``ckpt`` and saved transform)."""
    from .model import Model  # noqa: PLC0415

    transform = saved_transform(run_dir)
    if transform is None:
        raise ConfigError(f"{run_dir} is not a run trained on text (it has no {TRANSFORM_FOLDER}/ folder); "
                          f"tinyms predict --run takes text runs. Images: tinyms predict IMAGE --model NAME, or "
                          f"serve the run's servable")
    if not isinstance(model_name, str) or not model_name:
        raise ConfigError(f"{run_dir}'s config.yaml names no model; it is not a complete tinyms train run")
    model = Model(build_network({"model": model_name}, transform.labels, transform))
    model.compile()
    model.load_checkpoint(ckpt)
    return predict(model, transform, texts, top)


def write_text_servable(folder, name, net, description, data, say):
    """Write the run's text servable (network and text transform, ONNX when it exports); return its folder."""
    from .errors import ExportError  # noqa: PLC0415
    from .serving import write_servable  # noqa: PLC0415

    kwargs = {"description": description, "class_num": len(data.labels), "labels": list(data.labels),
              "text_transform": data.transform}
    try:
        write_servable(folder, name, net, formats=("onnx", "ckpt"), **kwargs)
    except ExportError as err:
        say(f"ONNX export impossible ({err}); the servable runs the checkpoint on MindSpore")
        write_servable(folder, name, net, formats=("ckpt",), **kwargs)
    return folder
