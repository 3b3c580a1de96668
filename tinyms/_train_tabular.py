"""Private: the table side of ``tinyms train``, ``tinyms eval`` and ``tinyms predict --run`` (issue 19).

Tables are Criteo's display-advertising logs (the dataset names ``criteo`` and TinyMS 0.3's
``kaggle_display_advertising``, downloaded through :func:`tinyms.data.download_dataset`, which
honours ``TINYMS_DATASET_MIRROR``; their statistics and MindRecord conversion run once, then
every run trains from the MindRecord files) or your own ``.csv``/``.tsv``/``.parquet`` file with
one column to predict (``--label``). A folder holding ``train.<ext>`` and ``test.<ext>`` (or
``val.<ext>``) is a table with its own test rows.

Which ``.csv``/``.tsv`` files are tables of rows: :func:`is_table_of_rows` (``--label`` given
and no ``--text-column``); the others stay tables of documents (``tinyms._train_text``).

Every row becomes ``feat_ids``/``feat_vals`` through the run's :class:`tinyms.data.FeatureSpec`,
fitted on the training rows only (vocabularies, means, scales) and kept in the run directory
as ``feature_spec.json``, so ``tinyms eval RUN --data other.csv``, ``tinyms predict rows.csv
--run RUN`` and the servable encode rows exactly as training did. A table without test rows
holds out :data:`VALIDATION_FRACTION` of its rows, drawn with the run's seed.

This module sits at the command-line level beside ``_train_cli`` (which calls it).
"""

import csv
import os

from .errors import ConfigError

__all__ = ["TASK", "NAMES", "TABLE_EXTENSIONS", "SPEC_FILE", "VALIDATION_FRACTION", "DEFAULT_MODEL",
           "checked_table", "table_header", "is_table_of_rows", "is_tabular_data", "check_config",
           "tabular_data", "build_network", "save_spec", "saved_spec", "describe", "write_tabular_servable",
           "predict_file", "is_tabular_run"]

TASK = "tabular"
#: dataset names of tables tinyms train reads (0.3's name and its short one)
NAMES = ("criteo", "kaggle_display_advertising")
#: files read as tables of rows
TABLE_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq")
#: files that may also be tables of documents (text)
_TEXT_EXTENSIONS = (".csv", ".tsv")
#: the run directory's copy of the feature spec
SPEC_FILE = "feature_spec.json"
#: the share of a table's rows held out for validation when it has no test file
VALIDATION_FRACTION = 0.2
#: the network tinyms train trains on a binary table when no --model is given (see DEFAULT_MODEL_NOTE)
DEFAULT_MODEL = "deepfm"
#: networks for regression (DeepFM and Wide&Deep predict one value too) and for several classes
_MULTICLASS_MODEL = "tabular_mlp"
_TABLE_NAMES = ("train", "test", "val")
#: the largest header line read to tell what a table is
_HEADER_BYTES = 1 << 20


# ----------------------------------------------------------------------------- what the data is
def checked_table(data):
    """The absolute path of a .csv/.tsv/.parquet file given as data; None when ``data`` is no file.

    Raises:
        ConfigError: ``data`` is another kind of file.
    """
    path = os.path.abspath(os.path.expanduser(data))
    if not os.path.isfile(path):
        return None
    if os.path.splitext(path)[1].lower() not in TABLE_EXTENSIONS:
        raise ConfigError(f"data: {data!r} is a file, and the files tinyms train reads are .csv/.tsv tables of "
                          f"documents (a text and a label column) or .csv/.tsv/.parquet tables of rows (--label "
                          f"names the column to predict); give one, or a folder")
    return path


def table_header(path):
    """The column names of a table file (its first line; a Parquet file's schema).

    Raises:
        DatasetError: the file is empty, unreadable, or Parquet without pyarrow installed.
    """
    from .errors import DatasetError  # noqa: PLC0415

    with open(path, "rb") as f:
        sample = f.read(_HEADER_BYTES)
    if sample[:4] == b"PAR1":  # (recognised by its first bytes, as tinyms.data.tabular reads it)
        try:
            import pyarrow.parquet as pq  # noqa: PLC0415
        except ImportError:
            raise DatasetError(f"{os.path.basename(path)} is a Parquet file and reading it needs pyarrow: "
                               f"pip install pyarrow (or save the table as .csv)") from None
        try:
            return list(pq.read_schema(path).names)
        except Exception as err:  # noqa: BLE001 - pyarrow's errors name the problem
            raise DatasetError(f"{os.path.basename(path)} is not a readable Parquet file ({err})") from None
    from .data.text import _sniff_delimiter  # noqa: PLC0415

    text = sample.decode("utf-8-sig", errors="replace")
    line = text.split("\n", 1)[0]
    if not line.strip():
        raise DatasetError(f"{os.path.basename(path)} is empty: a table's first line names its columns")
    return [name.strip() for name in next(csv.reader([line], delimiter=_sniff_delimiter(path, text)))]


def _key(keys, name):
    value = keys.get(name) if keys else None
    return value if value not in ("", None) else None


def is_table_of_rows(path, keys=None):
    """True when table file ``path`` is a table of rows to predict a column of, False for documents.

    The rule: a ``.parquet`` file is always a table of rows; a ``.csv``/``.tsv`` file is a table of
    documents (text) when ``text_column`` is given, and a table of rows when ``label`` (the column to
    predict) is given; with neither it is a table of documents (whose reader names the columns it lacks).
    """
    if os.path.splitext(path)[1].lower() not in _TEXT_EXTENSIONS:
        return True
    if _key(keys, "text_column") is not None:
        return False
    return _key(keys, "label") is not None


def _table_in(folder, name):
    for ext in TABLE_EXTENSIONS:
        path = os.path.join(folder, name + ext)
        if os.path.isfile(path):
            return path
    return None


def table_files(data):
    """``(training table, test table or None)`` of a table file or a folder of ``train``/``test`` tables."""
    if os.path.isfile(data):
        return data, None
    return _table_in(data, "train"), _table_in(data, "test") or _table_in(data, "val")


def is_tabular_data(data, keys=None):
    """True when checked run data (a name or an absolute path) is a table of rows (see :func:`is_table_of_rows`)."""
    if data in NAMES:
        return True
    if not os.path.isabs(data):
        return False
    if os.path.isfile(data):
        return os.path.splitext(data)[1].lower() in TABLE_EXTENSIONS and is_table_of_rows(data, keys)
    if os.path.isdir(data):
        train, test = table_files(data)
        return train is not None and test is not None and is_table_of_rows(train, keys)
    return False


# ----------------------------------------------------------------------------- configuration
#: Criteo's batch when none is given (0.3's script used 16,000 on accelerators)
CRITEO_BATCH = 1000
#: keys only tables take
TABLE_KEYS = ("label", "categorical", "numeric", "objective")
_IMAGE_KEYS = ("image_size", "augment")


def check_config(cfg, given, model_task):
    """Check a tabular run's keys and fill in its defaults (model, objective, monitor); ``model_task(name)``
    gives a zoo network's task."""
    for key in _IMAGE_KEYS:
        if cfg[key] is not None:
            raise ConfigError(f"{key} is for images, and {cfg['data']} is a table; leave it out")
    criteo = cfg["data"] in NAMES
    if criteo:
        for key in ("label", "categorical", "numeric"):
            if cfg[key] is not None:
                raise ConfigError(f"{key}: {cfg['data']} has fixed columns (label, I1-I13 numeric, C1-C26 "
                                  f"categorical); leave it out")
        if cfg["objective"] not in (None, "binary"):
            raise ConfigError(f"objective: {cfg['data']} is a binary click label; leave objective out")
        cfg["objective"] = "binary"
        if "batch_size" not in given:
            cfg["batch_size"] = CRITEO_BATCH
    else:
        train, _ = table_files(cfg["data"])
        if cfg["label"] is None:
            raise ConfigError(f"{os.path.basename(cfg['data'])} is a table of rows: name the column to predict "
                              f"with --label (or the YAML key label)")
        header = table_header(train)
        for key in ("label", "categorical", "numeric"):
            names = [cfg[key]] if key == "label" else (cfg[key] or [])
            for name in names:
                if name not in header:
                    raise ConfigError(f"{key}: {os.path.basename(train)} has no column {name!r} (its header: "
                                      f"{', '.join(header[:20])}{', ...' if len(header) > 20 else ''})")
        if cfg["objective"] is None:
            cfg["objective"] = _label_objective(train, cfg["label"])
    if cfg["model"] is None:
        cfg["model"] = DEFAULT_MODEL if cfg["objective"] == "binary" else _MULTICLASS_MODEL
    if model_task(cfg["model"]) != TASK:
        raise ConfigError(f"model: {cfg['model']} is a {model_task(cfg['model'])} model and {cfg['data']} is a "
                          f"table; pick a tabular model: deepfm, wide_deep or tabular_mlp")
    if cfg["objective"] == "multiclass" and cfg["model"] != _MULTICLASS_MODEL:
        raise ConfigError(f"model: the label {cfg['label']!r} has several classes, which {cfg['model']} does not "
                          f"predict; use --model tabular_mlp (or --objective regression for a number)")
    if cfg["monitor"] is None:
        cfg["monitor"] = {"binary": "val_auc", "regression": "val_rmse"}.get(cfg["objective"], "val_accuracy")


def _label_objective(path, label):
    """The objective of a table's label column, as the feature spec infers it from the training rows."""
    from .data import FeatureSpec  # noqa: PLC0415

    return FeatureSpec.infer_objective(_read_columns(path, [label])[label], label)


def _read_columns(path, names):
    """``{name: list of values}`` of some columns of a table file (strings; None for an empty cell)."""
    from .data.tabular import read_table  # noqa: PLC0415

    return read_table(path, columns=names)


# ----------------------------------------------------------------------------- data
def saved_spec(run_dir):
    """The feature spec a run saved (``RUN_DIR/feature_spec.json``), or None."""
    path = os.path.join(run_dir, SPEC_FILE)
    if not os.path.isfile(path):
        return None
    from .data import FeatureSpec  # noqa: PLC0415

    return FeatureSpec.load(path)


def is_tabular_run(run_dir):
    """True when ``run_dir`` is a run trained on a table (it keeps ``feature_spec.json``)."""
    return os.path.isfile(os.path.join(run_dir, SPEC_FILE))


def save_spec(spec, run_dir):
    """Write the run's feature spec to ``RUN_DIR/feature_spec.json`` (atomically)."""
    return spec.save(os.path.join(run_dir, SPEC_FILE))


def _labels(spec):
    if spec.objective == "regression":
        return ()
    return tuple(str(c) for c in spec.label_classes)


def tabular_data(cfg, say, train, fetch, data_type, run_dir=None, eval_data=None):
    """The run's tabular ``_Data`` (``data_type``): datasets of ``feat_ids``/``feat_vals``/``label`` and the spec.

    ``run_dir``: a run whose saved feature spec is used (evaluating, resuming); ``eval_data``
    (``{"data": path}``): another table to evaluate on, encoded with that spec.
    """
    spec = saved_spec(run_dir) if run_dir else None
    batch = cfg["batch_size"]
    if eval_data is not None:  # (a Criteo run too: a table with its columns label, I1..I13, C1..C26)
        if spec is None:
            raise ConfigError("tinyms eval --data on a table needs the run's feature_spec.json; this run has none")
        test, note = _other_table(eval_data["data"], spec, say)
        return data_type(None, _batched(test, max(batch, 256), False), spec, _labels(spec), None, note)
    if cfg["data"] in NAMES:
        return _criteo_data(cfg, say, train, fetch, data_type, spec)
    from .data import TabularDataset  # noqa: PLC0415

    train_path, test_path = table_files(cfg["data"])
    kinds = {"categorical": cfg["categorical"], "numeric": cfg["numeric"]}
    name = os.path.basename(cfg["data"].rstrip(os.sep))
    if test_path is None:
        whole = TabularDataset(train_path, cfg["label"], objective=cfg["objective"], spec=spec, verbose=False,
                               **(kinds if spec is None else {}))
        train_part, test = whole.split(VALIDATION_FRACTION, seed=cfg["seed"], spec=spec,
                                       verbose=train and spec is None)
        note = f"the rows of {name} held out for validation ({VALIDATION_FRACTION:.0%}, seed {cfg['seed']})"
    else:
        train_part = TabularDataset(train_path, cfg["label"], objective=cfg["objective"], spec=spec,
                                    verbose=train and spec is None, **(kinds if spec is None else {}))
        test = TabularDataset(test_path, cfg["label"], spec=train_part.spec, verbose=False)
        note = f"the rows of {os.path.basename(test_path)}"
    spec = train_part.spec
    if train:
        say(f"Table: {train_part.num_rows:,} training rows, {spec.field_size} fields ({describe(spec)}), "
            f"predicting {spec.label!r} ({_objective_words(spec)}); validation: {test.num_rows:,} rows, {note}")
    train_ds = _batched(train_part, batch, True, cfg["num_samples"]) if train else None
    return data_type(train_ds, _batched(test, max(batch, 256), False), spec, _labels(spec), None, note)


def _objective_words(spec):
    if spec.objective == "regression":
        return "a number"
    if spec.objective == "binary":
        return f"binary: {spec.label_classes[1]!r} against {spec.label_classes[0]!r}"
    return f"{len(spec.label_classes)} classes"


def _batched(table, batch_size, training, num_samples=None):
    """The MindSpore dataset of ``table``'s rows in batches (training: shuffled, this worker's shard)."""
    if training:
        return table.batch(batch_size, shuffle=True, num_samples=num_samples)
    return table.batch(batch_size, shuffle=False, num_shards=1, shard_id=0)  # every worker, every row


def _other_table(path, spec, say):
    """Another table (``tinyms eval RUN --data other.csv``) encoded with the run's spec, and what it is."""
    from .data import TabularDataset  # noqa: PLC0415
    from .errors import DatasetError  # noqa: PLC0415

    if os.path.isdir(path):
        train, test = table_files(path)
        path = test or train
        if path is None:
            raise ConfigError(f"{path} holds no train/test .csv/.tsv/.parquet table to evaluate on")
    header = table_header(path)
    if spec.label not in header:
        raise DatasetError(f"{os.path.basename(path)} has no column {spec.label!r}, the label the run was trained "
                           f"to predict (its header: {', '.join(header[:20])}); evaluating needs the true labels "
                           f"(to predict without them: tinyms predict {os.path.basename(path)} --run RUN_DIR)")
    used = {f["name"] for f in spec.fields} | {spec.label}
    extra = [c for c in header if c not in used]
    if extra:
        say(f"Note: {os.path.basename(path)}'s columns {', '.join(extra[:10])}{', ...' if len(extra) > 10 else ''} "
            f"are not features of the run and are ignored")
    missing = [f["name"] for f in spec.fields if f["name"] not in header]
    if missing:
        raise DatasetError(f"{os.path.basename(path)} lacks the run's feature column(s) "
                           f"{', '.join(missing[:10])}: it must have the columns the run trained on")
    return TabularDataset(path, spec.label, spec=spec, verbose=False), f"every row of {os.path.basename(path)}"


def _criteo_data(cfg, say, train, fetch, data_type, spec):
    """Criteo: statistics and MindRecord conversion once (resumable), then the MindRecord splits."""
    from .data import KaggleDisplayAdvertisingDataset  # noqa: PLC0415

    source = KaggleDisplayAdvertisingDataset(fetch(), shuffle=train)
    source.stats_data()          # (each runs once: a later run finds them done, a killed one resumes)
    source.convert_to_mindrecord()
    if spec is None:
        spec = source.feature_spec
    elif spec != source.feature_spec:
        raise ConfigError(f"the run's feature_spec.json differs from the statistics in {source.data_dir} now (the "
                          f"data changed since the run); evaluate with the data it was trained on")
    batch = cfg["batch_size"]
    train_ds = None
    if train:
        train_ds = source.load_mindrecord_dataset(usage="train", batch_size=batch)
        if cfg["num_samples"]:
            train_ds = train_ds.take(max(1, cfg["num_samples"] // batch))
        say(f"Criteo: {spec.field_size} fields ({describe(spec)}) from the statistics of the training lines; "
            f"{train_ds.get_dataset_size():,} training batches of {batch}; validation: the held-out test split")
    test_ds = source.load_mindrecord_dataset(usage="test", batch_size=max(batch, 1000))
    return data_type(train_ds, test_ds, spec, _labels(spec), None, f"the held-out test lines of {cfg['data']}")


def describe(spec):
    """The words of ``tinyms train``'s first line about the feature spec."""
    kinds = [f["kind"] for f in spec.fields]
    return (f"{kinds.count('numeric')} numeric, {kinds.count('categorical')} categorical, "
            f"{spec.vocab_size:,} ids")


# ----------------------------------------------------------------------------- network
#: the network sizes tinyms train builds for a user's table (Criteo: the builders' own, 0.3's). Measured on
#: make_ctr_table's 300,000 rows (benchmarks/bench_tabular_accuracy.py): DeepFM embed 16, hidden (64, 32), no
#: dropout reaches the same test AUC after 3 epochs as hidden (256, 128) with keep_prob 0.8 (0.820 / 0.821,
#: the generating model 0.836) in a quarter of the time
TABLE_SIZES = {name: {"embed_size": 16, "hidden": (64, 32), "keep_prob": 1.0}
               for name in ("deepfm", "wide_deep", "tabular_mlp")}


def build_network(cfg, spec):
    """The zoo network of the run for its feature spec (field count, id space, objective, target scale)."""
    from .model import create_model  # noqa: PLC0415
    from .model.registry import _entry  # noqa: PLC0415

    params = _entry(cfg["model"]).params
    kwargs = {"field_size": spec.field_size, "vocab_size": spec.vocab_size}
    if cfg["data"] not in NAMES:
        kwargs.update({k: v for k, v in TABLE_SIZES.get(cfg["model"], {}).items() if k in params})
    if "objective" in params:
        kwargs["objective"] = spec.objective
    if spec.objective == "regression":
        kwargs.update(target_mean=spec.label_mean, target_scale=spec.label_scale)
    if spec.objective == "multiclass":
        kwargs["num_outputs"] = len(spec.label_classes)
    return create_model(cfg["model"], **kwargs)


def write_tabular_servable(folder, name, net, spec, description, say):
    """Write the run's tabular servable (network and feature spec, ONNX when it exports); return its folder."""
    from .errors import ExportError  # noqa: PLC0415
    from .serving import write_servable  # noqa: PLC0415

    try:
        write_servable(folder, name, net, description=description, formats=("onnx", "ckpt"), features=spec)
    except ExportError as err:
        say(f"ONNX export impossible ({err}); the servable runs the checkpoint on MindSpore")
        write_servable(folder, name, net, description=description, formats=("ckpt",), features=spec)
    return folder


# ----------------------------------------------------------------------------- prediction
def predict_file(run_dir, ckpt, cfg, rows_path, out=None, say=print):
    """``tinyms predict ROWS --run RUN_DIR``: write ``rows_path``'s rows with the run's prediction per row.

    Binary runs add ``probability`` (of the label's second class) and ``predicted`` (the class), multiclass
    runs ``predicted`` and ``probability`` (of that class), regression runs ``predicted`` (the value). The
    file written is ``out`` or ``<rows name>_predictions.csv`` next to the rows; returns its path.
    """
    import numpy as np  # noqa: PLC0415

    from ._fileio import atomic_file  # noqa: PLC0415
    from .model import Model  # noqa: PLC0415

    spec = saved_spec(run_dir)
    header = table_header(rows_path)
    missing = [f["name"] for f in spec.fields if f["name"] not in header]
    if missing:
        raise ConfigError(f"{os.path.basename(rows_path)} lacks the run's feature column(s) {', '.join(missing[:10])}")
    columns = _read_columns(rows_path, header)
    count = len(columns[header[0]]) if header else 0
    rows = {name: columns[name] for name in header}
    model = Model(build_network(cfg, spec))
    model.compile()
    model.load_checkpoint(ckpt)
    outputs = []
    step = 4096
    for start in range(0, count, step):
        part = {name: values[start:start + step] for name, values in rows.items() if name != spec.label}
        ids, vals = spec.encode(part)
        out_b = model.predict((ids, vals))
        outputs.append(out_b.asnumpy() if hasattr(out_b, "asnumpy") else np.asarray(out_b))
    raw = np.concatenate(outputs) if outputs else np.zeros((0, 1), np.float32)
    results = spec.postprocess(raw, logits=True)
    if out is None:
        out = os.path.splitext(rows_path)[0] + "_predictions.csv"
    added = _prediction_columns(spec)
    with atomic_file(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header + added)
        for i, result in enumerate(results):
            writer.writerow([_cell(columns[name][i]) for name in header] + _prediction_cells(spec, result))
    say(f"{count:,} row(s) predicted with {os.path.basename(ckpt)}: {out}")
    return out


def _prediction_columns(spec):
    if spec.objective == "regression":
        return ["predicted"]
    return ["predicted", "probability"]


def _prediction_cells(spec, result):
    if spec.objective == "regression":
        return [f"{float(result['value']):.6g}"]
    probability = result["probability"] if spec.objective == "binary" else max(result["probabilities"])
    return [result["label"], f"{float(probability):.6f}"]


def _cell(value):
    return "" if value is None else value


def checked_eval_table(data):
    """The absolute path of a table given to ``tinyms eval RUN --data`` (a file, or a folder of train/test tables).

    Raises:
        ConfigError: no such file or folder, or not a table.
    """
    path = os.path.abspath(os.path.expanduser(data))
    if os.path.isdir(path):
        if table_files(path)[0] is None and _table_in(path, "test") is None:
            raise ConfigError(f"{data} holds no test.csv/.tsv/.parquet (or train) table to evaluate on")
        return path
    if not os.path.isfile(path):
        raise ConfigError(f"no table file {data!r} to evaluate on")
    if checked_table(path) is None:  # (checked_table raises for other kinds of file)
        raise ConfigError(f"no table file {data!r} to evaluate on")
    return path
