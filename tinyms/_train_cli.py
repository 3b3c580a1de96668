"""Private: ``tinyms train`` and ``tinyms eval``, one training run described by flags or a small YAML file.

A run is a flat set of keys (:data:`KEYS`): the zoo model, the dataset, the training budget and
where to write. ``tinyms train config.yaml --epochs 3`` reads the file and lets each flag override
it; every key left out takes its default, and the resolved set is written to the run directory as
``config.yaml``, so ``tinyms train RUN_DIR/config.yaml`` repeats the run exactly.

The run directory holds::

    config.yaml        every key, defaults filled in
    history.csv        one row per epoch (loss averaged over all workers, validation results, lr)
    curves.png         the training curves
    last.ckpt          the weights (and training state) after the last epoch or interruption
    best.ckpt          the weights of the best epoch by ``monitor``
    servable/          a serving folder: ``tinyms serve RUN_DIR/servable``
    msrun_log/         the worker logs of a multi-process run

With ``nproc`` > 1 (or ``nnodes`` > 1) the command starts itself again through MindSpore's
``msrun`` launcher; each worker reads one shard of the training data (the ``tinyms.data``
loaders shard by rank under msrun), gradients are averaged and only rank 0 writes files.

This module sits at the command-line level: it uses the data, vision, model and serving layers.
"""

import dataclasses
import datetime
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from . import _distributed
from ._jsonread import load_file
from .errors import ConfigError, TinyMSError

__all__ = ["KEYS", "ConfigError", "resolve_config", "load_config_file", "train", "evaluate", "launch_command"]


@dataclasses.dataclass(frozen=True)
class Key:
    """One configuration key: its default, what it takes, and its help line."""

    default: object
    kind: str       # "str", "int", "float", "bool", "path", "size"
    help: str
    minimum: float = None
    check: object = None   # a function value -> checked value (raising ConfigError) replacing the kind's check


_SCHEDULES = ("constant", "cosine", "step", "linear_decay")


def _checked_augment(value):
    """An ``augment`` value: a name, or a list of recipe steps (YAML list, or its text from the flag)."""
    from .errors import RecipeError, UnknownNameError  # noqa: PLC0415
    from .vision import _presets  # noqa: PLC0415

    if isinstance(value, str) and value.strip().startswith("["):  # --augment '[[random_horizontal_flip]]'
        import yaml  # noqa: PLC0415

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"augment: {value!r} is not a YAML list of recipe steps such as "
                              f"[[random_crop, {{size: 32, padding: 2}}]]") from None
    from .vision.gan import GAN_AUGMENTATIONS  # noqa: PLC0415

    names = tuple(dict.fromkeys(_presets.AUGMENTATIONS + _presets.DETECTION_AUGMENTATIONS + GAN_AUGMENTATIONS))
    try:
        return _presets.augment_config(value, names)
    except (UnknownNameError, RecipeError) as err:
        raise ConfigError(f"augment: {err.args[0] if err.args else err}") from None

def _checked_columns(value):
    """A list of column names: a YAML list, or comma-separated names (the flag's form)."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError(f"column names must be a list or comma-separated names, got {value!r}")
    return [n.strip() for n in names]


def _checked_objective(value):
    if value not in ("binary", "regression", "multiclass"):
        raise ConfigError(f"objective must be binary, regression or multiclass, got {value!r}")
    return value


#: Every key a run takes, in the order ``config.yaml`` lists them.
KEYS = {
    "model": Key(None, "str", "zoo network name, as listed by `tinyms models` (lenet5, resnet18, densenet100, "
                              "ssd300_mobilenetv2...); default for detection data: ssd_tiny, for text: "
                              "text_cnn, for image-to-image: cycle_gan (pix2pix for side-by-side pairs), for tables: "
                              "deepfm (tabular_mlp for regression and several classes)"),
    "data": Key(None, "str", "dataset name (mnist, fashion_mnist, cifar10, cifar100; shapes, voc2007 for "
                             "detection; imdb for text; horse2zebra, facades, cityscapes for image-to-image) or "
                             "a folder: class sub-folders of images or of .txt documents (optionally split into "
                             "train/ and val/ or test/), an object-detection folder in VOC layout or COCO format, "
                             "trainA/ + trainB/ (+ testA/ + testB/) of unpaired pictures or train/ of side-by-side "
                             "pairs; or a .csv/.tsv file of documents; criteo (0.3's kaggle_display_advertising) "
                             "or a .csv/.tsv/.parquet table of rows with --label naming the column to predict (a "
                             "folder of train.csv and test.csv too)"),
    "data_dir": Key(None, "path", "folder already holding a named dataset's files (default: download it into "
                                  "the TinyMS cache); 'sample' means the bundled MNIST sample"),
    "epochs": Key(10, "int", "epochs to train (detection data: 60)", 1),
    "batch_size": Key(32, "int", "images (documents) per step and per process (the global batch is batch_size x "
                                 "processes)", 1),
    "lr": Key(None, "float", "(peak) learning rate; default: the optimizer's usual one"),
    "optimizer": Key("momentum", "str", "momentum, sgd, adam, adamw, rmsprop or adagrad"),
    "schedule": Key("constant", "str", "learning-rate schedule: constant, cosine (warm-up then cosine decay "
                                       "to 0), step (x0.1 at 50%% and 75%% of training) or linear_decay "
                                       "(constant for half the epochs, then linearly down: CycleGAN's, the "
                                       "default for image-to-image data)"),
    "warmup_epochs": Key(0, "float", "epochs of linear learning-rate warm-up (cosine and step schedules)", 0),
    "num_samples": Key(None, "int", "train on at most this many images (documents, rows) per process and epoch "
                                    "(a quick try)", 1),
    "image_size": Key(None, "size", "height and width the images are resized to; default: the model's input size"),
    "augment": Key(None, "str", "training augmentation: none, light (small shifts; CIFAR adds flips), imagenet "
                                "(random resized crop of 8-100%% of the area and a flip) or a list of recipe steps "
                                "such as [[random_crop, {size: 28, padding: 2}]]; default: light for image folders "
                                "and cifar10/100, none for mnist and fashion_mnist", check=_checked_augment),
    "pretrained": Key(None, "bool", "text, BERT models (bert_tiny...): fine-tune Google's published pre-trained "
                                    "weights (downloaded once through the hub; the tokenizer is then WordPiece "
                                    "from their vocab.txt) instead of training from scratch"),
    "max_length": Key(None, "int", "text: tokens per document (longer ones are truncated with a warning); "
                                   "default 256", 4),
    "text_column": Key(None, "str", "text in a .csv/.tsv file: the column holding the documents (default text)"),
    "label_column": Key(None, "str", "text in a .csv/.tsv file: the column holding the labels (default label)"),
    "label": Key(None, "str", "tables: the column to predict. A .csv/.tsv file with --label is a table of rows "
                              "(without it, a table of documents: see text_column); a .parquet file is always "
                              "one"),
    "categorical": Key(None, "str", "tables: the columns to read as categories, comma-separated (default: "
                                    "inferred, and printed)", check=_checked_columns),
    "numeric": Key(None, "str", "tables: the columns to read as numbers, comma-separated (default: inferred)",
                   check=_checked_columns),
    "objective": Key(None, "str", "tables: binary, regression or multiclass (default: inferred from the label "
                                  "column: two values binary, numbers regression, else multiclass)",
                     check=_checked_objective),
    "max_boxes": Key(None, "int", "detection: box rows per photo (default: as many as the photo with the most "
                                  "objects has, up to 64; a photo with more than 64 objects needs it)", 1),
    "monitor": Key(None, "str", "what best.ckpt is chosen by: a history column such as val_accuracy (default "
                                "when there is test data) or loss"),
    "seed": Key(1, "int", "random seed (weights, shuffling, augmentation)", 0),
    "out": Key(None, "path", "run directory (default: runs/<model>-<data>-<date>-<time>)"),
    "resume": Key(None, "path", "continue a run: its directory or a checkpoint file (with --epochs N, to epoch N "
                                "on the schedule of an N-epoch run)"),
    "nproc": Key(1, "int", "worker processes on this machine (data-parallel through msrun)", 1),
    "nnodes": Key(1, "int", "machines taking part (each runs the same command with its own --node-rank)", 1),
    "node_rank": Key(None, "int", "this machine's number, 0 to nnodes-1 (0 holds rank 0); default: msrun "
                                  "assigns one", 0),
    "master_addr": Key("127.0.0.1", "str", "address of machine 0, where msrun's scheduler listens"),
    "master_port": Key(8118, "int", "port of msrun's scheduler on machine 0", 1),
    "cluster_timeout": Key(600, "int", "seconds msrun waits for every worker to join", 1),
}

_FOLDER_SPLITS = (("train", "val"), ("train", "test"))
_CONFIG_NAME = "config.yaml"
_STATE_NAME = "run.json"


# ----------------------------------------------------------------------------- configuration
def load_config_file(path):
    """Read a run's YAML file into a dict of keys (names with ``-`` are taken as ``_``).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: not YAML, not a mapping of keys, or an unknown key (the message lists the valid ones).
    """
    import yaml  # noqa: PLC0415 - only the train command needs it

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no configuration file {path!r}; give a YAML file such as examples/train/mnist.yaml")
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold 'key: value' lines (a YAML mapping), not a {type(raw).__name__}")
    return _known_keys(raw, f"in {path}")


def _known_keys(raw, where):
    values = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in KEYS:
            raise ConfigError(f"unknown key {key!r} {where}; valid keys are: {', '.join(KEYS)}")
        values[name] = value
    return values


def resolve_config(file_values=None, overrides=None, *, now=None):
    """Merge defaults < file < flags, check every value and fill in every default.

    Args:
        file_values (dict): keys read from a YAML file.
        overrides (dict): keys given as flags (None values are ignored).
        now (datetime.datetime): the time naming a default run directory.

    Returns:
        dict: every key of :data:`KEYS`, in order, with its resolved value.

    Raises:
        ConfigError: a missing model or data, an unknown key or name, or a bad value.
    """
    merged = {name: key.default for name, key in KEYS.items()}
    given = dict(_known_keys(file_values or {}, "in the configuration"))
    given.update({k: v for k, v in _known_keys(overrides or {}, "given").items() if v is not None})
    merged.update(given)
    if merged["data"] is not None:  # the data's task brings its own training defaults (measured: see TASK_DEFAULTS)
        checked = _checked_data(_checked("data", merged["data"]))
        for key, value in TASK_DEFAULTS.get(data_task(checked, given), {}).items():
            if key not in given and not (key == "lr" and "optimizer" in given):  # your optimizer: its usual rate
                merged[key] = value
    cfg = {name: _checked(name, merged[name]) for name in KEYS}
    if cfg["data"] is None:
        raise ConfigError("no data given: set 'data:' in the file or pass --data")
    cfg["data"] = _checked_data(cfg["data"])
    task = data_task(cfg["data"], cfg)
    if task == TABULAR_TASK:  # the label column says the objective, the default model and the monitor
        from ._train_tabular import check_config  # noqa: PLC0415
        check_config(cfg, given, lambda name: _model_config(name).task)
    else:
        _check_no_table_keys(cfg, task)
    if cfg["model"] is None:
        if task not in DEFAULT_MODELS:
            raise ConfigError("no model given: set 'model:' in the file or pass --model")
        cfg["model"] = DEFAULT_MODELS[task]
        if task == "image_to_image":  # aligned pairs: pix2pix
            from ._train_i2i import default_model  # noqa: PLC0415
            cfg["model"] = default_model(cfg["data"])
    model_cfg = _model_config(cfg["model"])
    if model_cfg.task != task:
        raise ConfigError(f"model: {cfg['model']} is a {model_cfg.task} model and {cfg['data']} is {task} data; "
                          f"pick a {task} model (`tinyms models`)"
                          + (f", e.g. {DEFAULT_MODELS[task]}" if task in DEFAULT_MODELS else ""))
    if cfg["schedule"] not in _SCHEDULES:
        raise ConfigError(f"unknown schedule {cfg['schedule']!r}; valid schedules are: {', '.join(_SCHEDULES)}")
    from .optimizers import OPTIMIZERS  # noqa: PLC0415

    optimizer = cfg["optimizer"].lower().replace("-", "_")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {cfg['optimizer']!r}; valid optimizers are: {', '.join(OPTIMIZERS)}")
    cfg["optimizer"] = optimizer
    if cfg["lr"] is None:
        cfg["lr"] = OPTIMIZERS[optimizer][1]
    if cfg["lr"] <= 0:
        raise ConfigError(f"lr must be a positive number, got {cfg['lr']!r}")
    if cfg["warmup_epochs"] >= cfg["epochs"] and "warmup_epochs" not in given:
        cfg["warmup_epochs"] = 0  # a task's default warm-up in a run too short for it
    if cfg["warmup_epochs"] >= cfg["epochs"]:
        raise ConfigError(f"warmup_epochs ({cfg['warmup_epochs']}) must be less than epochs ({cfg['epochs']})")
    if task == TEXT_TASK:
        _check_text_keys(cfg, given)
    else:
        _check_no_text_keys(cfg, task)
    if cfg["image_size"] is None and task not in (TEXT_TASK, TABULAR_TASK):
        cfg["image_size"] = list(model_cfg.input_shape[1:])
    if task == "image_to_image":
        from ._train_i2i import check_config  # noqa: PLC0415
        check_config(cfg, given)
    if cfg["max_boxes"] is not None and task != "detection":
        raise ConfigError(f"max_boxes is for object-detection data, and {cfg['data']} is {task} data; leave it out")
    if cfg["augment"] is None and task == "detection":
        cfg["augment"] = DETECTION_AUGMENT
    _check_task_augment(cfg["augment"], task)
    if cfg["augment"] is None and task not in (TEXT_TASK, TABULAR_TASK):  # recorded by name, so the run repeats even if a default changes
        from .vision._presets import default_augment  # noqa: PLC0415

        cfg["augment"] = default_augment(None if os.path.isabs(cfg["data"]) else cfg["data"])
    if cfg["node_rank"] is not None and cfg["node_rank"] >= cfg["nnodes"]:
        raise ConfigError(f"node_rank ({cfg['node_rank']}) must be less than nnodes ({cfg['nnodes']})")
    if cfg["master_port"] > 65535:
        raise ConfigError(f"master_port must be a port number up to 65535, got {cfg['master_port']}")
    if cfg["monitor"] is None and task == "detection":  # detection folders always hold out a test split
        cfg["monitor"] = "val_mAP50"
    if cfg["monitor"] is None and task == "image_to_image":  # translation error on the test images, if any
        from ._train_i2i import has_test_split  # noqa: PLC0415
        cfg["monitor"] = "val_error" if has_test_split(cfg["data"], cfg["model"]) else "loss"
    if cfg["monitor"] is None and task == TEXT_TASK:  # text data without a test split holds documents out
        cfg["monitor"] = "val_accuracy"
    if cfg["monitor"] is None:  # a folder without a train/ + val/ (or test/) split has no validation
        held_out = not os.path.isdir(cfg["data"]) or _image_folders(cfg["data"])[1] is not None
        cfg["monitor"] = "val_accuracy" if held_out else "loss"
    if cfg["out"] is None:
        stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
        cfg["out"] = os.path.join("runs", f"{cfg['model']}-{_data_label(cfg['data'])}-{stamp}")
    cfg["out"] = os.path.abspath(os.path.expanduser(cfg["out"]))
    if cfg["data_dir"] not in (None, "sample"):
        cfg["data_dir"] = os.path.abspath(os.path.expanduser(cfg["data_dir"]))
    if cfg["resume"] is not None:
        cfg["resume"] = os.path.abspath(os.path.expanduser(cfg["resume"]))
    return cfg


def _checked(name, value):
    """``value`` converted to key ``name``'s kind, or ConfigError naming the key."""
    key = KEYS[name]
    if value is None:
        return None
    if key.check is not None:
        return key.check(value)
    bad = ConfigError(f"{name} must be {_kind_words(key)}, got {value!r}")
    if key.kind in ("str", "path"):
        if isinstance(value, (dict, list, bool)) or not str(value).strip():
            raise bad
        return str(value).strip()
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if key.kind == "size":
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 8 for v in value)):
            raise ConfigError(f"{name} must be a size in pixels (one number, or [height, width]), "
                              f"at least 8, got {value!r}")
        return [int(v) for v in value]
    if isinstance(value, bool):
        raise bad
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise bad from None
    if not isinstance(number, (int, float)) or not math.isfinite(number):
        raise bad
    if key.kind == "int":
        if int(number) != number:
            raise bad
        number = int(number)
    else:
        number = float(number)
    if key.minimum is not None and number < key.minimum:
        raise ConfigError(f"{name} must be at least {key.minimum}, got {value!r}")
    return number


def _kind_words(key):
    return {"str": "a name", "path": "a path", "bool": "true or false", "int": "a whole number",
            "float": "a number", "size": "a size"}[key.kind]


def _model_config(name):
    from .errors import UnknownNameError  # noqa: PLC0415
    from .model import model_config  # noqa: PLC0415

    try:
        return model_config(name)
    except UnknownNameError as err:
        raise ConfigError(f"model: {err} (see `tinyms models`)") from None


def _classification_datasets():
    from .data._registry import registered_specs  # noqa: PLC0415

    return {spec.name: spec for spec in registered_specs() if spec.image_shape is not None}


def _looks_like_path(text):
    return os.sep in text or text.startswith((".", "~")) or (os.altsep and os.altsep in text)


#: the task of text data (``imdb``, folders of .txt documents, .csv/.tsv tables)
TEXT_TASK = "text_classification"
#: the task of tables (``criteo``, .csv/.tsv/.parquet files with --label)
TABULAR_TASK = "tabular"
#: the network ``tinyms train`` trains when the data says the task and no model is given
DEFAULT_MODELS = {"detection": "ssd_tiny", TEXT_TASK: "text_cnn", "image_to_image": "cycle_gan"}
#: the training augmentation of detection runs
DETECTION_AUGMENT = "light"
#: epochs of a detection run when none are given
DETECTION_EPOCHS = 60
#: keys whose default differs by task. Text (benchmarks/bench_text_defaults.py: text_cnn on 3,000 toy reviews, tested
#: on 1,000 others): Adam 0.001, batch 32, 256 tokens peaks at 0.928 in epoch 2 and stays at 0.92 to epoch 10 (0.003 or
#: batch 64 or 128 tokens: 0.924-0.929; cosine over 5 epochs 0.927; momentum 0.01 stays at chance, 0.52; TF-IDF +
#: logistic regression 0.872), so 5 epochs. Detection: ssd_tiny from scratch (192x192, batch 8: twice batch 16's steps
#: per epoch, ahead of it per epoch for ~10 % more seconds per epoch) with Adam at 0.005,
#: one warm-up epoch then cosine, flips + colour jitter; see benchmarks/RESULTS.md 14 for what it reaches per epoch
#: (SSD-MobileNetV2 from scratch at 160 had val mAP50 0.15 after 12 epochs with Adam 0.002)
TASK_DEFAULTS = {"detection": {"optimizer": "adam", "lr": 0.005, "schedule": "cosine", "warmup_epochs": 1,
                               "batch_size": 8, "augment": DETECTION_AUGMENT, "epochs": DETECTION_EPOCHS},
                 TEXT_TASK: {"optimizer": "adam", "lr": 0.001, "epochs": 5, "batch_size": 32, "max_length": 256},
                 # image-to-image: the CycleGAN and pix2pix papers' (and TinyMS 0.3's) Adam 0.0002 (beta1 0.5), batch 1,
                 # 200 epochs, constant for 100 then linearly down
                 "image_to_image": {"optimizer": "adam", "lr": 0.0002, "epochs": 200, "batch_size": 1,
                                    "schedule": "linear_decay", "augment": "light"},
                 # tables: DeepFM on make_ctr_table's 100,000 rows peaks after 4-6 epochs with Adam 0.003, batch 256
                 # (the same as 0.005 at batch 1024); see also _train_tabular.TABLE_SIZES. Criteo: batch 1,000
                 TABULAR_TASK: {"optimizer": "adam", "lr": 0.003, "epochs": 5, "batch_size": 256}}
#: keys only tables take
_TABLE_KEYS = ("label", "categorical", "numeric", "objective")
#: keys only text data takes
_TEXT_KEYS = ("max_length", "text_column", "label_column", "pretrained")
#: named detection data: the bundled sample and the registered detection datasets
_DETECTION_NAMES = ("shapes", "voc2007")


def _check_task_augment(augment, task):
    """ConfigError for an augmentation name of another task's (``ssd`` for classification...)."""
    if not isinstance(augment, str):
        return
    from .vision import _presets  # noqa: PLC0415

    names = _presets.DETECTION_AUGMENTATIONS if task == "detection" else _presets.AUGMENTATIONS
    if task == "image_to_image":
        from .vision.gan import GAN_AUGMENTATIONS as names  # noqa: PLC0415
    if augment not in names:
        raise ConfigError(f"augment: {augment!r} is not an augmentation for {task} data; choose one of "
                          f"{', '.join(names)} or a list of recipe steps")


def data_task(data, keys=None):
    """The task a run's (checked) data is for: ``"detection"``, ``"text_classification"``, ``"image_to_image"``,
    ``"tabular"`` or ``"classification"``.

    ``keys`` (the run's keys, or those given): a .csv/.tsv file is a table of rows (``"tabular"``) when ``label``
    is given and ``text_column`` is not, else a table of documents; a .parquet file is always a table of rows.
    """
    from . import _train_tabular, _train_text  # noqa: PLC0415

    if data in _DETECTION_NAMES:
        return "detection"
    if os.path.isabs(data) and os.path.exists(data):
        from .data import is_detection_folder  # noqa: PLC0415

        if os.path.isdir(data) and is_detection_folder(data):
            return "detection"
    from ._train_i2i import is_i2i_data  # noqa: PLC0415

    if is_i2i_data(data):
        return "image_to_image"
    if _train_tabular.is_tabular_data(data, keys):
        return TABULAR_TASK
    if _train_text.is_text_data(data):
        return TEXT_TASK
    return "classification"


def _check_text_keys(cfg, given):
    """Text data: no image keys; the column keys only for a table of documents."""
    for key in ("image_size", "augment"):
        if cfg[key] is not None:
            raise ConfigError(f"{key} is for images, and {cfg['data']} is text data; leave it out (text "
                              f"takes max_length)")
    if cfg["pretrained"] and not cfg["model"].startswith("bert_"):
        raise ConfigError(f"pretrained: tinyms train starts from published weights for the BERT models only "
                          f"(bert_tiny, bert_mini, bert_small, bert_base), not {cfg['model']}; leave it out")
    if not os.path.isfile(cfg["data"]):
        for key in ("text_column", "label_column"):
            if cfg[key] is not None:
                raise ConfigError(f"{key} names a column of a .csv/.tsv file, and {cfg['data']} is not one; "
                                  f"leave it out")


def _check_no_text_keys(cfg, task):
    for key in _TEXT_KEYS:
        if cfg[key] not in (None, False):
            raise ConfigError(f"{key} is for text data (imdb, a folder of .txt documents or a .csv/.tsv file), "
                              f"and {cfg['data']} is {task} data; leave it out")


def _check_no_table_keys(cfg, task):
    for key in _TABLE_KEYS:
        if cfg[key] is not None:
            raise ConfigError(f"{key} is for tables (criteo, or a .csv/.tsv/.parquet file with --label naming the "
                              f"column to predict), and {cfg['data']} is {task} data; leave it out")


def _checked_data(data):
    """A registered dataset's name (lower case), or a folder or .csv/.tsv/.parquet path (absolute)."""
    from . import _train_tabular, _train_text  # noqa: PLC0415
    from ._train_i2i import NAMES as I2I_NAMES  # noqa: PLC0415

    named = _classification_datasets()
    key = data.lower().replace("-", "_")
    if key == "voc":
        key = "voc2007"  # TinyMS 0.3's name
    names = _train_text.NAMES + I2I_NAMES + _train_tabular.NAMES
    if (key in named or key in _DETECTION_NAMES or key in names) and not _looks_like_path(data):
        return key
    from .data._registry import registered_specs  # noqa: PLC0415

    table = _train_tabular.checked_table(data)
    if table is not None:
        return table
    known = sorted(named) + list(_DETECTION_NAMES) + list(names)
    if key in {spec.name for spec in registered_specs()}:
        raise ConfigError(f"data: {data!r} is not a dataset tinyms train can train on; it trains on: "
                          f"{', '.join(known)}, a folder of class sub-folders, an object-detection folder, a "
                          f".csv/.tsv file of documents or a .csv/.tsv/.parquet table with --label")
    if _looks_like_path(data) or os.path.isdir(data):
        return os.path.abspath(os.path.expanduser(data))
    raise ConfigError(f"data: {data!r} is neither a dataset name ({', '.join(known)}) nor an existing "
                      f"folder (class sub-folders, or object detection in VOC layout or COCO format) or "
                      f".csv/.tsv/.parquet file")


def _data_label(data):
    return os.path.basename(data.rstrip(os.sep)) if os.path.isabs(data) else data


def write_config(cfg, path):
    """Write a resolved configuration as YAML, atomically, with a comment per key."""
    import yaml  # noqa: PLC0415
    from ._fileio import atomic_file  # noqa: PLC0415

    lines = ["# tinyms train: every key of this run (repeat it with `tinyms train <this file>`)"]
    for name, key in KEYS.items():
        value = yaml.safe_dump({name: cfg[name] if name != "resume" else None}, default_flow_style=True, width=1000).strip()
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1]
        lines.append(f"{value:<40} # {key.help.replace('%%', '%')}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def config_from_args(config_file, overrides, *, now=None):
    """The resolved configuration of ``tinyms train [config_file] [flags]`` (``--resume`` included)."""
    file_values = load_config_file(config_file) if config_file else {}
    resume = overrides.get("resume") or (file_values.get("resume") if not overrides.get("resume") else None)
    if resume:
        run_dir, _ = _resume_paths(resume)
        run_config = os.path.join(run_dir, _CONFIG_NAME) if run_dir else None
        if not config_file and run_config and os.path.isfile(run_config):
            file_values = load_config_file(run_config)   # the run continues with its own settings
            file_values.pop("resume", None)
            if "augment" not in file_values and _looks_like_path(str(file_values.get("data", ""))):
                # a folder run recorded before the key existed trained with ImageNet's augmentation
                file_values["augment"] = "imagenet"
        if run_dir and not overrides.get("out"):
            overrides = {**overrides, "out": run_dir}
    return resolve_config(file_values, overrides, now=now)


def _resume_paths(resume):
    """``(run directory or None, checkpoint)`` of a ``resume`` value (a run directory or a .ckpt)."""
    resume = os.path.abspath(os.path.expanduser(resume))
    if os.path.isdir(resume):
        ckpt = os.path.join(resume, "last.ckpt")
        if not os.path.isfile(ckpt):
            raise FileNotFoundError(f"{resume} holds no last.ckpt to resume from; give a run directory of "
                                    f"tinyms train or a checkpoint file")
        return resume, ckpt
    if not os.path.isfile(resume):
        raise FileNotFoundError(f"nothing to resume at {resume!r}: give a run directory or a .ckpt file")
    folder = os.path.dirname(resume)
    return (folder if os.path.isfile(os.path.join(folder, _CONFIG_NAME)) else None), resume


# ----------------------------------------------------------------------------- data and network
@dataclasses.dataclass
class _Data:
    train: object          # batched training dataset (this worker's shard)
    test: object           # batched test dataset (whole, on every worker) or None
    transform: object      # the tinyms.vision preset used
    labels: tuple
    channels: int          # None for text
    test_note: str         # what the test data is, for messages


def _dataset_folder(cfg, say):
    from .data import download_dataset, sample_dataset  # noqa: PLC0415

    if cfg["data_dir"] == "sample":
        try:
            return sample_dataset(cfg["data"])
        except TinyMSError as err:
            raise ConfigError(f"data_dir: 'sample' — {err}") from None
    if cfg["data_dir"] is not None:
        if not os.path.isdir(cfg["data_dir"]):
            raise FileNotFoundError(f"data_dir {cfg['data_dir']!r} is not a folder; give the folder holding the "
                                    f"{cfg['data']} files, or leave data_dir out to download them")
        return cfg["data_dir"]
    say(f"Getting {cfg['data']} (downloaded once into the TinyMS cache)...")
    return download_dataset(cfg["data"], progress=_distributed.is_main())


def _image_folders(root):
    """``(train folder, test folder or None)`` of an image folder."""
    from .data import class_names  # noqa: PLC0415

    if not os.path.isdir(root):
        raise FileNotFoundError(f"data {root!r} is not a folder; give a dataset name (mnist, cifar10...) or a "
                                f"folder of class sub-folders")
    for train_name, test_name in _FOLDER_SPLITS:
        train, test = os.path.join(root, train_name), os.path.join(root, test_name)
        if os.path.isdir(train) and os.path.isdir(test):
            try:
                class_names(train)
                class_names(test)
            except TinyMSError:
                continue
            return train, test
    return root, None


def build_data(cfg, say=print, train=True, *, run_dir=None, eval_data=None):
    """The run's datasets and preset (training set only when ``train``; the test set always).

    Text data only: ``run_dir`` is a run whose saved text transform is used (evaluating, resuming),
    ``eval_data`` (``{"data": ..., "text_column": ..., "label_column": ...}``) other documents to evaluate
    on instead of the run's test documents.
    """
    from . import data as tdata  # noqa: PLC0415
    from . import vision  # noqa: PLC0415

    if data_task(cfg["data"], cfg) == TABULAR_TASK:
        from . import _train_tabular  # noqa: PLC0415

        return _train_tabular.tabular_data(cfg, say, train, lambda: _dataset_folder(cfg, say), _Data, run_dir,
                                           eval_data)
    if data_task(cfg["data"], cfg) == TEXT_TASK:
        from . import _train_text  # noqa: PLC0415

        return _train_text.text_data(cfg, say, train, lambda: _dataset_folder(cfg, say), _Data, run_dir, eval_data)
    size = tuple(cfg["image_size"])
    batch = cfg["batch_size"]
    if data_task(cfg["data"], cfg) == "detection":
        return _detection_data(cfg, say, train)
    if data_task(cfg["data"], cfg) == "image_to_image":
        from ._train_i2i import i2i_data  # noqa: PLC0415
        return i2i_data(cfg, say, train, lambda: _dataset_folder(cfg, say), _Data)
    named = _classification_datasets()
    if cfg["data"] in named:
        spec = named[cfg["data"]]
        folder = _dataset_folder(cfg, say)
        loader = getattr(tdata, spec.loader)
        preset = vision.get_transform(f"{spec.name}_transform")
        transform = type(preset)(size=size, augment=cfg.get("augment"))
        train_ds = None
        if train:
            raw = loader(folder, usage="train", num_samples=cfg["num_samples"], shuffle=True)
            train_ds = transform.apply_ds(raw, batch_size=batch)
        test_ds = transform.apply_ds(loader(folder, usage="test", shuffle=False),
                                     batch_size=max(batch, 256), is_training=False)
        return _Data(train_ds, test_ds, transform, tuple(spec.labels), transform.channels,
                     f"the {spec.name} test set")
    train_folder, test_folder = _image_folders(cfg["data"])
    names = tdata.class_names(train_folder)
    transform = vision.ImageFolderTransform(size=size, labels=names, augment=cfg.get("augment"))
    indexing = {name: i for i, name in enumerate(names)}
    train_ds = None
    if train:
        raw = tdata.ImageFolderDataset(train_folder, num_samples=cfg["num_samples"], shuffle=True,
                                       class_indexing=indexing)
        train_ds = transform.apply_ds(raw, batch_size=batch)
    test_ds, note = None, "no held-out images (the folder has no train/ and val/ or test/ split)"
    if test_folder is not None:
        extra = tdata.class_names(test_folder)
        unknown = sorted(set(extra) - set(names))
        if unknown:
            raise ConfigError(f"{test_folder} has class {unknown[0]!r}, which {train_folder} has not")
        # every worker evaluates the whole test folder, so all take the same decisions
        raw = tdata.ImageFolderDataset(test_folder, shuffle=False, class_indexing=indexing,
                                       num_shards=1, shard_id=0)
        test_ds = transform.apply_ds(raw, batch_size=max(batch, 64), is_training=False)
        note = f"the images of {test_folder}"
    return _Data(train_ds, test_ds, transform, tuple(names), transform.channels, note)


def _detection_data(cfg, say, train):
    """The run's detection datasets: the bundled shapes sample, VOC 2007, or the user's VOC/COCO folder."""
    from . import data as tdata  # noqa: PLC0415
    from . import vision  # noqa: PLC0415

    if cfg["data"] == "shapes":
        folder = tdata.sample_dataset("shapes")
    elif cfg["data"] == "voc2007":
        folder = _dataset_folder(cfg, say)
    else:
        folder = cfg["data"]
    splits = ("train", "test")
    if cfg["data"] == "voc2007":
        splits = ("trainval", "test")
    test_raw = tdata.detection_dataset(folder, usage=splits[1], shuffle=False, decode=True)
    names = tuple(test_raw.class_names)
    train_ds = None
    transform = vision.VOCTransform(size=tuple(cfg["image_size"]), labels=names, augment=cfg.get("augment"),
                                    max_boxes=cfg.get("max_boxes"))
    if train:
        raw = tdata.detection_dataset(folder, usage=splits[0], shuffle=True, decode=True,
                                      num_samples=cfg["num_samples"], class_names=names)
        train_ds = transform.apply_ds(raw, batch_size=cfg["batch_size"])
    test_ds = transform.apply_ds(test_raw, batch_size=cfg["batch_size"], is_training=False)
    return _Data(train_ds, test_ds, transform, names, 3, f"the {splits[1]} split of {_data_label(cfg['data'])}")


def _augment_words(transform):
    if hasattr(transform, "field_size"):  # a table's feature spec
        from ._train_tabular import describe  # noqa: PLC0415

        return f"none; {describe(transform)}"
    if not hasattr(transform, "augment"):  # a text transform
        from ._train_text import describe  # noqa: PLC0415

        return f"none; {describe(transform)}"
    from .vision._presets import augment_words  # noqa: PLC0415

    return augment_words(transform.augment)


def build_network(cfg, labels, channels):
    """The zoo network for ``labels`` classes of ``channels``-channel images at the run's size (text data:
    ``channels`` is the run's text transform, whose vocabulary size the network is built for)."""
    from .model import create_model  # noqa: PLC0415
    from .model.registry import _entry  # noqa: PLC0415

    if data_task(cfg["data"], cfg) == TABULAR_TASK:  # (channels: the run's feature spec)
        from . import _train_tabular  # noqa: PLC0415

        return _train_tabular.build_network(cfg, channels)
    if data_task(cfg["data"], cfg) == TEXT_TASK:
        from . import _train_text  # noqa: PLC0415

        return _train_text.build_network(cfg, labels, channels)
    if data_task(cfg["data"], cfg) == "image_to_image":
        from ._train_i2i import build_network as i2i_network  # noqa: PLC0415
        return i2i_network(cfg)
    params = _entry(cfg["model"]).params
    kwargs = {}
    model_cfg = _model_config(cfg["model"])
    if channels != model_cfg.input_shape[0]:
        if "num_channel" not in params:
            raise ConfigError(f"{cfg['model']} takes {model_cfg.input_shape[0]}-channel images and cannot be built "
                              f"for {cfg['data']}'s {channels}-channel images; pick another model")
        kwargs["num_channel"] = channels
    if "image_size" in params:  # detectors build their anchors for the run's input size
        kwargs["image_size"] = _square_size(cfg)
    net = create_model(cfg["model"], class_num=len(labels) + int(model_cfg.background), **kwargs)
    shape = (channels, *cfg["image_size"])
    cfg_now = getattr(net, "default_cfg", None)
    if cfg_now is not None and tuple(cfg_now.input_shape) != shape:
        net.default_cfg = dataclasses.replace(cfg_now, input_shape=shape)
    return net


def _square_size(cfg):
    height, width = cfg["image_size"]
    if height != width:
        raise ConfigError(f"{cfg['model']} takes square images; give image_size as one number, got "
                          f"{cfg['image_size']}")
    return height


def _schedule(cfg, steps_per_epoch):
    if cfg["schedule"] == "constant":
        return cfg["lr"]
    from .optimizers import step_decay_lr, warmup_cosine_lr  # noqa: PLC0415

    total = steps_per_epoch * cfg["epochs"]
    warmup = int(round(cfg["warmup_epochs"] * steps_per_epoch))
    warmup = min(warmup, total - 1)
    if cfg["schedule"] == "cosine":
        return warmup_cosine_lr(cfg["lr"], total, warmup_steps=warmup)
    if cfg["schedule"] == "linear_decay":
        from .model.zoo.cycle_gan import cyclegan_lr  # noqa: PLC0415
        return cyclegan_lr(cfg["epochs"], cfg["epochs"] // 2, steps_per_epoch, cfg["lr"])
    milestones = sorted({m for m in (int(total * 0.5), int(total * 0.75)) if warmup < m < total})
    return step_decay_lr(cfg["lr"], total, milestones, warmup_steps=warmup)


def build_model(cfg, data, steps_per_epoch=None):
    """A compiled :class:`~tinyms.model.Model` for the run (optimizer and schedule only when training)."""
    from .model import Model  # noqa: PLC0415
    from .optimizers import OPTIMIZERS  # noqa: PLC0415

    if steps_per_epoch is None and cfg.get("pretrained"):
        cfg = dict(cfg, pretrained=False)  # the checkpoint loaded next holds every weight
    net = build_network(cfg, data.labels, data.transform if data.channels is None else data.channels)
    model = Model(net)
    task = model.task
    metrics_for = getattr(task, "metrics_for", None)  # (a table's metrics follow its objective)
    loss, metrics = task.default_loss, list(metrics_for(net) if metrics_for else task.default_metrics) or None
    if steps_per_epoch is None:  # (evaluating a checkpoint: no pretrained weights to fetch first)
        return model.compile(loss_fn=loss, metrics=metrics)
    if task.name == "image_to_image":  # the task builds the generators' and the discriminators' optimizers
        return model.compile(optimizer=cfg["optimizer"], learning_rate=_schedule(cfg, steps_per_epoch))
    optimizer = OPTIMIZERS[cfg["optimizer"]][0](net.trainable_params(), _schedule(cfg, steps_per_epoch))
    return model.compile(loss_fn=loss, optimizer=optimizer, metrics=metrics)


# ----------------------------------------------------------------------------- callbacks
def _callback_base():
    from mindspore.train import Callback  # noqa: PLC0415

    return Callback


class _StopOnInterrupt:
    """Ctrl-C (SIGINT) asks training to stop at the end of the current step; a second one aborts.

    A run killed at any moment (a second Ctrl-C, or any other death) stays resumable: see
    :func:`_run_callback` for the order in which an epoch's files are written.

    MindSpore's graph runtime installs its own SIGINT handler, which terminates the process,
    every time it runs a graph. So SIGINT is blocked in this process's threads (the ones
    MindSpore starts later inherit the mask) and one watcher thread takes it with ``sigwait``:
    MindSpore's handler never sees it. :meth:`start` must run before MindSpore starts threads.
    """

    _STEP_NOTE = "stopping at the end of this step and saving last.ckpt"

    def __init__(self):
        self.say = print
        self.requested = False
        self.active = False
        self.note = self._STEP_NOTE  # what the first Ctrl-C does now
        self._thread = None

    def start(self):
        if (threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask")
                or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
            return
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        self.active, self.requested, self.note = True, False, self._STEP_NOTE
        if self._thread is None:  # one watcher for the process, however many runs it starts
            self._thread = threading.Thread(target=self._wait, name="tinyms-ctrl-c", daemon=True)
            self._thread.start()

    def stop(self):
        if self.active:
            self.active = False
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def _wait(self):
        while True:
            signal.sigwait({signal.SIGINT})
            if not self.active:
                continue
            if self.requested:
                self.say("\nSecond Ctrl-C: aborting now (last.ckpt holds the last epoch end saved; "
                         "tinyms train --resume continues from it)")
                os._exit(130)
            self.requested = True
            self.say(f"\nCtrl-C: {self.note} (Ctrl-C again to abort)")


_INTERRUPT = _StopOnInterrupt()


def _run_callback(model, run_dir, record, cfg, stopper, say, resuming=False):
    """The callback writing the run directory at every epoch end (rank 0) and honouring Ctrl-C.

    ``last.ckpt`` is the run's record: it carries the training state (epochs and steps done),
    and a resume reads how far the run went from it alone. At an epoch end (or a Ctrl-C stop)
    the files are written in an order that keeps a run killed between any two of them
    resumable and consistent: ``history.csv``, ``best.ckpt`` (whole epochs only), ``last.ckpt``
    (one atomic rename), then ``run.json``, written from the state ``last.ckpt`` now holds. A
    resume keeps only the history rows of the epochs ``last.ckpt`` holds and rewrites
    ``run.json`` from it, so an epoch written to ``history.csv`` but not to ``last.ckpt`` is
    trained again, not counted twice.
    """

    base = _callback_base()
    main = _distributed.is_main()
    monitor = cfg["monitor"]
    lower_is_better = any(word in monitor for word in ("loss", "error", "rmse", "mae"))

    class RunFiles(base):
        def __init__(self):
            super().__init__()
            self.best = None
            self.started = None

        def on_train_begin(self, run_context):
            if resuming and cfg["schedule"] == "constant":
                _set_constant_lr(run_context.original_args().optimizer, cfg["lr"], say)

        def on_train_epoch_begin(self, run_context):
            self.started = time.perf_counter()

        def on_train_step_end(self, run_context):
            if stopper.requested:
                run_context.request_stop()

        def on_train_epoch_end(self, run_context):
            params = run_context.original_args()
            # TinyMS's loop hands over the epoch's logs, the loss already averaged over the workers
            logs = dict(params.logs)
            epoch = int(params.cur_epoch_num)
            seconds = time.perf_counter() - self.started if self.started else float("nan")
            if stopper.requested:  # Ctrl-C during validation: stop here, not one step into the next epoch
                run_context.request_stop()
            if not main:
                return
            state = model.train_state  # what last.ckpt will hold: epochs and steps done
            record._record(epoch, logs, seconds)
            record.to_csv(os.path.join(run_dir, "history.csv"))
            value = logs.get(monitor)
            if state.step_in_epoch == 0 and value is not None and math.isfinite(value) and (
                    self.best is None or (value < self.best if lower_is_better else value > self.best)):
                self.best = value
                model.save_checkpoint(os.path.join(run_dir, "best.ckpt"))
            model.save_checkpoint(os.path.join(run_dir, "last.ckpt"))
            _write_state(run_dir, **_progress_fields(state), best={monitor: self.best},
                         status="interrupted" if stopper.requested else "running")

    callback = RunFiles()
    if record.epoch and monitor in record.history:
        finite = [v for v in record.history[monitor] if math.isfinite(v)]
        if finite:
            callback.best = min(finite) if lower_is_better else max(finite)
    return callback


def _set_constant_lr(optimizer, lr, say):
    """Resuming with a constant schedule: the run's configured rate applies (a checkpoint restores
    the rate it was saved with, which ``--lr`` may have changed since)."""
    from . import _monitor  # noqa: PLC0415

    params = _monitor.lr_parameters(optimizer, "tinyms train")
    old = _monitor.get_lr(params[0])
    if not math.isclose(old, lr, rel_tol=1e-6):
        say(f"Learning rate {lr:g} from here on (the run trained at {old:g} so far)")
    for param in params:
        _monitor.set_lr(param, lr)


def _progress_fields(state):
    """``run.json``'s record of how far a run went, from the TrainState its last.ckpt holds."""
    return {"epochs_done": state.epoch, "step_in_epoch": state.step_in_epoch or None}


def _progress_words(state):
    words = f"{state.epoch} epoch(s)"
    if state.step_in_epoch:
        words += f" and {state.step_in_epoch} of the {state.steps_per_epoch} steps of epoch {state.epoch + 1}"
    return words


def _resume_point(resume):
    """``(checkpoint path, TrainState)`` of a ``resume`` value, read from the checkpoint itself."""
    from .errors import CheckpointError  # noqa: PLC0415
    from .model._checkpoint import read_checkpoint  # noqa: PLC0415
    from .model._state import state_from_entries  # noqa: PLC0415

    _, ckpt = _resume_paths(resume)
    state = state_from_entries(read_checkpoint(ckpt))
    if state is None:
        raise CheckpointError(f"{ckpt} does not record how far training went (a weights-only file?): resume "
                              f"from the last.ckpt of a tinyms train run")
    return ckpt, state


def _servable_current(run_dir, epochs):
    """True when ``run_dir/servable`` was written, completely, after ``epochs`` epochs."""
    record = _read_state(run_dir)
    written = record.get("servable_epochs")
    if written is None and record.get("status") == "finished":  # written before servable_epochs existed
        written = record.get("epochs_done")
    return written == epochs and os.path.isfile(os.path.join(run_dir, "servable", "servable.json"))


def _already_trained(cfg, ckpt, state, say):
    """Resuming a run whose checkpoint holds every epoch asked: one line, and the servable if missing."""
    run_dir, done, asked = cfg["out"], state.epoch, cfg["epochs"]
    folder = os.path.join(run_dir, "servable")
    held = f"{done} epoch(s)" + (f", more than the {asked} asked" if done > asked else "")
    if not _distributed.is_main():
        return 0
    if _servable_current(run_dir, done):
        say(f"{ckpt} already holds {held}: nothing to train; the servable is {folder} (pass --epochs N "
            f"above {done} to train further)")
        return 0
    data = build_data(cfg, _silent, train=False, run_dir=run_dir)
    model = build_model(cfg, data)
    model.load_checkpoint(ckpt)
    _write_servable(cfg, model, data, run_dir, say)
    _write_state(run_dir, status="finished", **_progress_fields(state), servable_epochs=done)
    say(f"{ckpt} already holds {held}: nothing to train; servable written to {folder} (pass --epochs N "
        f"above {done} to train further)")
    return 0


def _read_history(path, keep_epochs):
    """The run's earlier history (epochs up to ``keep_epochs``) when resuming, else an empty one."""
    from .model import History  # noqa: PLC0415

    if not os.path.isfile(path) or keep_epochs <= 0:
        return History()
    old = History.from_csv(path)
    record = History()
    for i, epoch in enumerate(old.epoch):
        if epoch <= keep_epochs:
            record._record(epoch, {k: v[i] for k, v in old.history.items()}, old.seconds[i])
    return record


def _write_state(run_dir, replace=False, **state):
    """Update ``run.json`` with ``state`` (``replace``: start it afresh), atomically."""
    from ._fileio import write_json_atomic  # noqa: PLC0415

    old = {} if replace else _read_state(run_dir)
    old.update(state)
    write_json_atomic(os.path.join(run_dir, _STATE_NAME), old)


def _read_state(run_dir):
    """``run.json`` as a dict ({} when missing or unreadable: it is only a view of last.ckpt)."""
    try:
        state = load_file(os.path.join(run_dir, _STATE_NAME))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


# ----------------------------------------------------------------------------- msrun
_MSRUN_BOOT = ("import sys; from mindspore.parallel.cluster.run import main; "
               "sys.argv[0] = 'msrun'; sys.exit(main())")


def launch_command(cfg, config_path):
    """``(argv, env)`` that run this training through msrun (one machine's share of it).

    msrun starts ``python`` from ``PATH`` (not this interpreter), so the interpreter's own
    ``bin`` folder goes first on ``PATH``; TinyMS's parent folder goes on ``PYTHONPATH`` so the
    workers import this very TinyMS.
    """
    run_dir = cfg["out"]
    entry = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_msrun_entry.py")
    argv = [sys.executable, "-c", _MSRUN_BOOT,
            f"--worker_num={cfg['nproc'] * cfg['nnodes']}", f"--local_worker_num={cfg['nproc']}",
            f"--master_addr={cfg['master_addr']}", f"--master_port={cfg['master_port']}",
            f"--log_dir={os.path.join(run_dir, 'msrun_log')}", "--join=True",
            f"--cluster_time_out={cfg['cluster_timeout']}", "--tail_worker_log=0"]
    if cfg["node_rank"] is not None:
        argv.append(f"--node_rank={cfg['node_rank']}")
    argv += [entry, "train", config_path, "--out", run_dir]
    if cfg["resume"]:
        argv += ["--resume", cfg["resume"]]
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return argv, env


def _launch(cfg, config_path, say):
    if cfg["nnodes"] == 1 and cfg["master_addr"] in ("127.0.0.1", "localhost"):
        with socket.socket() as s:  # msrun's scheduler would fail later with a less clear message
            try:
                s.bind((cfg["master_addr"], cfg["master_port"]))
            except OSError:
                raise ConfigError(f"master_port {cfg['master_port']} is in use on {cfg['master_addr']}; pass "
                                  f"--master-port with a free port") from None
    argv, env = launch_command(cfg, config_path)
    say(f"Starting {cfg['nproc']} worker process(es) through msrun (logs: {os.path.join(cfg['out'], 'msrun_log')})")
    code = subprocess.call(argv, env=env)
    if code == 0:
        say(f"Run directory: {cfg['out']}")
    else:
        say(f"msrun exited with status {code}; the workers' logs are in {os.path.join(cfg['out'], 'msrun_log')}")
    return code


# ----------------------------------------------------------------------------- train / eval
def train(config_file=None, overrides=None, say=print):
    """Run ``tinyms train``; return the process exit status (0 done, 130 interrupted)."""
    stopper = _INTERRUPT
    stopper.say = say
    if not _distributed.launched():  # (msrun's workers are stopped by msrun itself)
        stopper.start()
    try:
        return _train(config_file, overrides, say, stopper)
    finally:
        stopper.stop()


def _train(config_file, overrides, say, stopper):
    if _distributed.launched():
        _distributed.setup()  # msrun's scheduler process stays in here until the workers are done
    overrides = dict(overrides or {})
    cfg = config_from_args(config_file, overrides)
    run_dir = cfg["out"]
    main = _distributed.is_main()
    resume_ckpt, resume_state = _resume_point(cfg["resume"]) if cfg["resume"] else (None, None)
    if resume_state is not None and resume_state.steps_per_epoch and resume_state.epoch >= cfg["epochs"]:
        return _already_trained(cfg, resume_ckpt, resume_state, say if main else _silent)
    distributed_run = cfg["nproc"] > 1 or cfg["nnodes"] > 1
    if distributed_run and not _distributed.launched():
        os.makedirs(run_dir, exist_ok=True)
        stopper.stop()  # msrun and its workers take Ctrl-C themselves
        return _launch(cfg, write_config(cfg, os.path.join(run_dir, _CONFIG_NAME)), say)
    if not main:
        say = _silent
    os.makedirs(run_dir, exist_ok=True)
    if main and not _distributed.launched():
        write_config(cfg, os.path.join(run_dir, _CONFIG_NAME))
    _seed(cfg["seed"])

    data = build_data(cfg, say, run_dir=run_dir if resume_ckpt else None)
    if data_task(cfg["data"], cfg) == TABULAR_TASK and main:  # tables: the spec every later run encodes with
        from ._train_tabular import save_spec  # noqa: PLC0415

        save_spec(data.transform, run_dir)
    elif data.channels is None and main:  # text: the transform evaluation, prediction and resuming encode with
        from ._train_text import save_transform  # noqa: PLC0415

        save_transform(data.transform, run_dir)
    steps = data.train.get_dataset_size()
    if not steps:
        raise ConfigError(f"batch_size {cfg['batch_size']} is larger than this process's share of the training "
                          f"images; lower batch_size (or raise num_samples)")
    if resume_state is not None and not resume_state.steps_per_epoch:
        resume_state.steps_per_epoch = steps  # (a MindSpore file: Model.train counts its steps so too)
        if resume_state.epoch >= cfg["epochs"]:
            return _already_trained(cfg, resume_ckpt, resume_state, say)
    model = build_model(cfg, data, steps)
    # the epochs done are the checkpoint's: history rows past them were written by an epoch whose
    # last.ckpt never was, and that epoch is trained again
    record = _read_history(os.path.join(run_dir, "history.csv"), resume_state.epoch) if resume_ckpt else None
    if record is None:
        from .model import History  # noqa: PLC0415
        record = History()
    callback = _run_callback(model, run_dir, record, cfg, stopper, say, resuming=resume_ckpt is not None)
    workers = _distributed.group_size()
    say(f"Training {cfg['model']} on {cfg['data']}: {cfg['epochs']} epoch(s) of {steps} step(s), batch "
        f"{cfg['batch_size']}{f' x {workers} workers' if workers > 1 else ''}, {cfg['optimizer']} lr {cfg['lr']:g} "
        f"({cfg['schedule']}), augment {_augment_words(data.transform)}; run directory {run_dir}")
    kwargs = {"callbacks": [callback], "verbose": 1 if main else 0, "valid_dataset": data.test}
    if data_task(cfg["data"], cfg) == "image_to_image":  # a picture of the translations after every epoch
        from ._train_i2i import sample_callback  # noqa: PLC0415
        kwargs["callbacks"].append(sample_callback(run_dir, data))
    if resume_ckpt:
        kwargs["resume_from"] = resume_ckpt
        schedule = "" if cfg["schedule"] == "constant" else (
            f"; the {cfg['schedule']} schedule is that of {cfg['epochs']} epoch(s), from step {resume_state.step + 1}")
        say(f"Resuming from {resume_ckpt} after {_progress_words(resume_state)}{schedule}")
    if main:  # a new run starts its record afresh; a resumed one takes its progress from the checkpoint
        progress = _progress_fields(resume_state) if resume_state is not None else {"epochs_done": 0}
        _write_state(run_dir, replace=resume_state is None, status="running", epochs_asked=cfg["epochs"],
                     servable_epochs=None, **progress)
    model.train(cfg["epochs"], data.train, **kwargs)
    if not main:
        return 0
    if record.epoch:
        record.plot(os.path.join(run_dir, "curves.png"))
    state = model.train_state  # as last.ckpt holds it
    if stopper.requested:
        if state.epoch >= cfg["epochs"]:
            say(f"Interrupted after the last epoch, before writing the servable: last.ckpt in {run_dir} holds "
                f"all {state.epoch} epoch(s). Write the servable with: tinyms train --resume {run_dir}")
        else:
            say(f"Interrupted: last.ckpt in {run_dir} holds {_progress_words(state)}. Continue with: "
                f"tinyms train --resume {run_dir}")
        return 130
    stopper.note = "finishing the servable first (tinyms train --resume writes it again if you abort)"
    servable = _write_servable(cfg, model, data, run_dir, say)
    _write_state(run_dir, status="finished", **_progress_fields(state), servable_epochs=state.epoch)
    final = ", ".join(f"{k} {v[-1]:.4f}" for k, v in record.history.items() if k in ("loss", "val_loss",
                                                                                        "val_accuracy",
                                                                                        "val_mAP50", "val_error",
                                                                                        "val_auc", "val_rmse"))
    say(f"Done: {final}. Run directory {run_dir} (serve it: tinyms serve {servable})")
    return 0


def _write_servable(cfg, model, data, run_dir, say):
    from .errors import ExportError  # noqa: PLC0415
    from .serving import write_servable  # noqa: PLC0415

    best = os.path.join(run_dir, "best.ckpt")
    if os.path.isfile(best):
        model.load_checkpoint(best)
    folder = os.path.join(run_dir, "servable")
    description = f"{cfg['model']} trained on {_data_label(cfg['data'])} by tinyms train"
    if data_task(cfg["data"], cfg) == TABULAR_TASK:
        from ._train_tabular import write_tabular_servable  # noqa: PLC0415
        return write_tabular_servable(folder, cfg["model"], model.network, data.transform, description, say)
    if data.channels is None:  # text
        from ._train_text import write_text_servable  # noqa: PLC0415

        return write_text_servable(folder, cfg["model"], model.network, description, data, say)
    if data_task(cfg["data"], cfg) == "image_to_image":
        from ._train_i2i import write_i2i_servable  # noqa: PLC0415
        return write_i2i_servable(folder, cfg, model, data, description, say)
    class_num = len(data.labels) + int(bool(getattr(getattr(model.network, "default_cfg", None), "background", False)))
    try:
        write_servable(folder, cfg["model"], model.network, description=description, class_num=class_num,
                       formats=("onnx", "ckpt"), transform=data.transform, labels=list(data.labels))
    except ExportError as err:
        say(f"ONNX export impossible ({err}); the servable runs the checkpoint on MindSpore")
        write_servable(folder, cfg["model"], model.network, description=description, class_num=class_num,
                       formats=("ckpt",), transform=data.transform, labels=list(data.labels))
    return folder


def _seed(seed):
    import tinyms  # noqa: PLC0415

    try:
        set_seed = tinyms.set_seed
    except AttributeError:
        from .context import set_seed  # noqa: PLC0415
    set_seed(seed)


def _silent(*args, **kwargs):
    pass


def _run_target(target, command, what):
    """``(run directory, checkpoint, configuration values)`` of a run directory or a checkpoint inside one."""
    target = os.path.abspath(os.path.expanduser(os.fspath(target)))
    if os.path.isdir(target):
        run_dir = target
        ckpt = next((os.path.join(run_dir, n) for n in ("best.ckpt", "last.ckpt")
                     if os.path.isfile(os.path.join(run_dir, n))), None)
        if ckpt is None:
            raise FileNotFoundError(f"{run_dir} holds no best.ckpt or last.ckpt; give a run directory of "
                                    f"tinyms train (or one of its checkpoints)")
    elif os.path.isfile(target):
        run_dir, ckpt = os.path.dirname(target), target
    else:
        raise FileNotFoundError(f"no run directory or checkpoint at {target!r}")
    config_path = os.path.join(run_dir, _CONFIG_NAME)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"no {_CONFIG_NAME} in {run_dir}: {command} reads the run's configuration "
                                f"there to rebuild {what}")
    values = load_config_file(config_path)
    values.pop("resume", None)
    return run_dir, ckpt, values


def predict(target, texts, top=1):
    """``tinyms predict TEXT --run RUN_DIR``: the predictions of a text run's model for ``texts``.

    Returns:
        Predictions: one per text (label, score; ``top`` classes each).
    """
    from . import _train_text  # noqa: PLC0415

    run_dir, ckpt, values = _run_target(target, "tinyms predict --run", "its network")
    return _train_text.predict_run(run_dir, ckpt, values.get("model"), texts, top)


def predict_table(target, rows, out=None, say=print):
    """``tinyms predict ROWS.csv --run RUN_DIR``: write the predictions of a table run's model for a file of rows.

    Returns:
        str: the CSV file written (the rows, then the prediction columns).
    """
    from . import _train_tabular  # noqa: PLC0415

    run_dir, ckpt, values = _run_target(target, "tinyms predict --run", "its network")
    cfg = resolve_config(values)
    return _train_tabular.predict_file(run_dir, ckpt, cfg, rows, out, say)


def is_table_run(target):
    """True when ``target`` (a run directory or a checkpoint inside one) is a run trained on a table."""
    from ._train_tabular import is_tabular_run  # noqa: PLC0415

    target = os.path.abspath(os.path.expanduser(os.fspath(target)))
    return is_tabular_run(target if os.path.isdir(target) else os.path.dirname(target))


def evaluate(target, overrides=None, say=print, data=None, columns=(None, None)):
    """Run ``tinyms eval RUN_DIR_OR_CHECKPOINT``; return the metrics dict.

    ``data`` (text runs): other documents to evaluate on (a name, folder or .csv/.tsv file) instead of
    the run's test (or held-out) documents; ``columns``: its text and label columns when it is a table.
    """
    run_dir, ckpt, values = _run_target(target, "tinyms eval", "its network and test data")
    cfg = resolve_config(values, overrides)
    text = data_task(cfg["data"], cfg) == TEXT_TASK
    table = data_task(cfg["data"], cfg) == TABULAR_TASK
    if data is not None and not (text or table):
        raise ConfigError("--data is for runs trained on text or on a table; an image run is evaluated on its own "
                          "test data (--data-dir says where its files are now)")
    if table and data is not None:  # another table, encoded with the run's feature spec
        from ._train_tabular import checked_eval_table  # noqa: PLC0415
        if any(columns):
            raise ConfigError("--text-column and --label-column are for text runs; a table run scores the column "
                              "it was trained to predict")
        data, table = None, {"data": checked_eval_table(data)}
    eval_data = _checked_data(data) if data is not None else None
    if any(columns) and (eval_data is None or not os.path.isfile(eval_data)):
        raise ConfigError("--text-column and --label-column name the columns of a .csv/.tsv file given as --data")
    if eval_data is not None and data_task(eval_data) != TEXT_TASK:
        raise ConfigError(f"{data} is not text data (imdb, a folder of .txt documents or a .csv/.tsv file)")
    if eval_data is not None:
        eval_data = {"data": eval_data, **{k: v for k, v in zip(("text_column", "label_column"), columns) if v}}
    data = build_data(cfg, say, train=False, run_dir=run_dir, eval_data=table if isinstance(table, dict) else eval_data)
    if data.test is None:
        raise ConfigError(f"{cfg['data']} has {data.test_note}: nothing to evaluate on. Split it into train/ and "
                          f"val/ (or test/) sub-folders")
    model = build_model(cfg, data)
    model.load_checkpoint(ckpt)
    if data_task(cfg["data"], cfg) == "image_to_image":
        from ._train_i2i import evaluate as i2i_evaluate  # noqa: PLC0415
        return i2i_evaluate(cfg, model, data, say, os.path.basename(ckpt))
    results = model.eval(data.test)
    count = getattr(model, "eval_samples", None)
    shown = "  ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in results.items())
    counted = (f"{count:,} documents, " if text else f"{count:,} rows, " if table else f"{count:,} images of ") \
        if count else ""
    say(f"{shown}  ({counted}{data.test_note}; {os.path.basename(ckpt)})")
    return results
