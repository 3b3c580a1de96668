"""Rows in for a tabular servable: checked, bounded, encoded by its feature spec (numpy only, no MindSpore).

A ``"tabular"`` servable's network takes two (N, F) inputs, ``feat_ids`` (int32) and
``feat_vals`` (float32), made from table rows by the :class:`tinyms.data.FeatureSpec` it was
trained with. ``write_servable(..., features=spec)`` writes that spec beside the weights as
``features.json`` and the entry records it in ``model.features``::

    "features": {"file": "features.json", "sha256": "9f2c...", "objective": "binary",
                 "label": "clicked", "label_classes": [0, 1], "field_size": 39, "vocab_size": 184965}

The file is checked against its SHA-256 whenever the entry is checked and again when a front end
loads it (a changed vocabulary would give the network other ids than it learned), and the front
end encodes each request's rows with ``FeatureSpec.encode``, the library's own code, so a served
answer equals the in-process one.

Requests (``POST /servables/<name>``, JSON): ``{"rows": [{"column": value, ...}, ...]}`` (a
batch), ``{"rows": {...}}`` or the row object itself as the body (one row). A column the spec
does not know is a 400 naming it (the label column is ignored: scoring rows of a file that still
has it is fine); a column left out, ``null`` or ``""`` is a missing value, which the spec encodes
as it encoded missing values in training; a categorical value never seen in training is read
as the spec's unknown value and the answer's ``notes`` say so (at most :data:`MAX_NOTES` sentences,
then one counting the rest). At most :data:`MAX_ROWS` rows.

Answers, one per row (``FeatureSpec.postprocess`` of the network's output): binary ``{"probability": p, "label": <label_classes[1] if p >= 0.5 else
label_classes[0]>}``; regression ``{"value": v}`` (the network's output, in the target's units);
multiclass ``{"label": ..., "probabilities": {"<class>": p, ...}}``.

The served model runs on one float32 array per batch, ``(N, 2, F)``: row 0 the ids (exact in
float32: ``write_servable`` refuses a vocabulary of more than 2**24 ids), row 1 the values; the
backends split it into the network's two inputs (:func:`pack_rows`, :func:`unpack_rows`), so
batching, the executor's socket and padding stay what every other task uses.

The entry check (:func:`check_features`) needs the standard library only (the supervisor runs
it); numpy and the feature spec are imported where rows are encoded.
"""

import hashlib
import json
import math
import numbers
import os
import re

__all__ = ["FEATURES_FILE", "MAX_ROWS", "MAX_CHOICES", "MAX_VOCAB", "OBJECTIVES", "TabularRecipe",
           "check_features", "pack_rows", "unpack_rows", "packed_shape", "output_columns", "row_texts"]

FEATURES_FILE = "features.json"
MAX_ROWS = 1024  # rows per request
MAX_NOTES = 20  # sentences about unseen categorical values per answer
MAX_CHOICES = 50  # categorical values the page suggests per column (the vocabulary's first ones)
MAX_VOCAB = 2 ** 24  # ids travel as float32 between front end and model: exact below this
MAX_FEATURES_BYTES = 256 * 1024 * 1024
OBJECTIVES = ("binary", "regression", "multiclass")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def packed_shape(field_size):
    """The shape of one packed row: (2, F), ids over values."""
    return (2, int(field_size))


def pack_rows(ids, vals):
    """``(N, F)`` ids and values -> one float32 ``(N, 2, F)`` array (ids exact below :data:`MAX_VOCAB`)."""
    import numpy as np

    return np.stack([np.asarray(ids, np.float32), np.asarray(vals, np.float32)], axis=1)


def unpack_rows(batch):
    """A packed ``(N, 2, F)`` batch -> ``(feat_ids int32 (N, F), feat_vals float32 (N, F))``."""
    import numpy as np

    batch = np.asarray(batch)
    return np.ascontiguousarray(batch[:, 0]).astype(np.int32), np.ascontiguousarray(batch[:, 1], np.float32)


def output_columns(objective, classes):
    """How many columns a network of ``objective`` outputs: 1, or one per class for multiclass."""
    return len(classes) if objective == "multiclass" else 1


def _plain_name(value, what):
    if not isinstance(value, str) or not value or os.path.basename(value) != value or value in (".", ".."):
        raise ValueError(f"{what} must be a file name in the servable's folder, got {value!r}")
    return value


def check_features(config, folder, input_shape=None):
    """Check a tabular servable's ``model.features`` and its file (no FeatureSpec is built).

    Args:
        config (dict): ``model.features``.
        folder (str): the servable's folder (``<serving path>/<name>``).
        input_shape (tuple): the entry's ``model.input_shape``, which must be ``(field_size,)``.

    Returns:
        dict: ``config``.

    Raises:
        ValueError: a key is missing or wrong, the file is missing, leads out of the folder or
            does not match its SHA-256.
    """
    if not isinstance(config, dict):
        raise ValueError("model.features must be an object {file, sha256, objective, label, label_classes, "
                         "field_size, vocab_size}; write the servable with write_servable(..., features=spec)")
    file = _plain_name(config.get("file"), "model.features.file")
    digest = config.get("sha256")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ValueError("model.features.sha256 must be the SHA-256 hex digest of the feature spec file")
    if config.get("objective") not in OBJECTIVES:
        raise ValueError(f"model.features.objective must be one of {', '.join(OBJECTIVES)}, got "
                         f"{config.get('objective')!r}")
    for key in ("field_size", "vocab_size"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"model.features.{key} must be a positive integer, got {value!r}")
    if config["vocab_size"] > MAX_VOCAB:
        raise ValueError(f"model.features.vocab_size {config['vocab_size']:,} is more than the {MAX_VOCAB:,} ids "
                         "serving carries exactly")
    classes = config.get("label_classes")
    wanted = {"binary": 2, "multiclass": None, "regression": 0}[config["objective"]]
    if config["objective"] != "regression" and (not isinstance(classes, list) or len(classes) < 2
                                                or (wanted and len(classes) != wanted)):
        raise ValueError(f"model.features.label_classes must list the {config['objective']} target's classes "
                         f"({'two' if wanted else 'two or more'}), got {classes!r}")
    if input_shape is not None and tuple(input_shape) != (config["field_size"],):
        raise ValueError(f"model.input_shape {list(input_shape)} does not fit model.features.field_size "
                         f"{config['field_size']}; a tabular servable takes [field_size]: write the servable again")
    base = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(base, file))
    if os.path.dirname(path) != base:
        raise ValueError(f"the feature spec {file} is a link leading out of its folder; keep it in the servable's "
                         "folder")
    if not os.path.isfile(path):
        raise ValueError(f"the feature spec {os.path.basename(folder)}/{file} does not exist; write the servable "
                         "again (tinyms.serving.write_servable(..., features=spec))")
    _check_digest(_file_digest(path), digest, file)
    return config


def _file_digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _check_digest(got, recorded, file):
    if got != recorded:
        raise ValueError(f"the feature spec {file} has SHA-256 {got[:16]}... but the entry records "
                         f"{recorded[:16]}...: it was changed after the servable was written (a changed spec "
                         "gives the network other ids than it learned); write the servable again")


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class TabularRecipe:
    """Table rows (JSON objects) -> the packed (N, 2, F) float32 rows a tabular servable's model takes.

    Built from the entry's ``model.features``: the file's bytes are checked against the recorded
    SHA-256, then read by :meth:`tinyms.data.FeatureSpec.from_dict`.

    Args:
        config (dict): ``model.features``.
        folder (str): the servable's folder holding the spec file.

    Raises:
        ValueError: the file is missing, changed, or not a feature spec that fits the entry.
    """

    def __init__(self, config, folder):
        from .._jsonread import loads
        from ..data._features import FeatureSpec
        from ..errors import DatasetError, JSONInputError

        check_features(config, folder)
        path = os.path.join(os.path.realpath(folder), config["file"])
        with open(path, "rb") as f:
            data = f.read(MAX_FEATURES_BYTES + 1)
        if len(data) > MAX_FEATURES_BYTES:
            raise ValueError(f"the feature spec {config['file']} is larger than {MAX_FEATURES_BYTES:,} bytes")
        _check_digest(hashlib.sha256(data).hexdigest(), config["sha256"], config["file"])  # the bytes read
        try:
            self.spec = FeatureSpec.from_dict(loads(data, config["file"], max_depth=None))
        except (DatasetError, JSONInputError, ValueError, TypeError, KeyError) as err:
            raise ValueError(f"the feature spec {config['file']} cannot be read: {err}") from None
        for key in ("field_size", "vocab_size"):
            if int(getattr(self.spec, key)) != config[key]:
                raise ValueError(f"the feature spec {config['file']} has {key} {getattr(self.spec, key)} but the "
                                 f"entry records {config[key]}; write the servable again")
        self.objective = config["objective"]
        self.classes = list(config.get("label_classes") or [])
        self.label = config.get("label")
        self.fields = list(self.spec.fields)
        self.names = [f["name"] for f in self.fields]
        self._known = set(self.names)

    @property
    def field_size(self):
        return len(self.fields)

    def describe(self):
        """What the page builds its form from: each column's kind, and a few values of categorical ones."""
        columns = []
        for f in self.fields:
            item = {"name": f["name"], "kind": f["kind"]}
            if f["kind"] == "categorical":
                vocab = list(f.get("vocab") or [])
                item.update(vocabulary=len(vocab), choices=[str(v) for v in vocab[:MAX_CHOICES]])
            columns.append(item)
        return {"objective": self.objective, "label": self.label, "label_classes": list(self.classes),
                "field_size": self.field_size, "vocab_size": int(self.spec.vocab_size), "max_rows": MAX_ROWS,
                "columns": columns}

    def rows_of(self, value, field="rows"):
        """``(packed rows (N, 2, F) float32, batch, notes)`` of a request's row object or list of them.

        Raises:
            InputError: not rows (400), more than :data:`MAX_ROWS` (413), an unknown column, a
                value that is not a scalar or not of its column's kind (400); the message names
                the row and the column.
        """
        import numpy as np

        from ..errors import DatasetError
        from ._preprocess import InputError

        batch = isinstance(value, list)
        rows = value if batch else [value]
        if batch and not rows:
            raise InputError(400, f"'{field}' is an empty list; send one row object or a list of 1 to {MAX_ROWS}")
        if len(rows) > MAX_ROWS:
            raise InputError(413, f"'{field}' holds {len(rows):,} rows, more than the {MAX_ROWS} a request may carry; "
                                  "send them in several requests")
        filled = [self._row(row, f"{field}[{i}]" if batch else "the row") for i, row in enumerate(rows)]
        try:
            ids, vals = self.spec.encode(filled)
        except (DatasetError, ValueError, TypeError, OverflowError) as err:
            raise InputError(400, f"the rows cannot be encoded: {err}") from None
        ids, vals = np.asarray(ids), np.asarray(vals, np.float32)
        if ids.shape != (len(filled), self.field_size) or vals.shape != ids.shape or not np.isfinite(vals).all():
            raise InputError(400, "the rows' encoded values are not finite numbers; send finite numbers")
        return pack_rows(ids, vals), batch, self._notes(filled, ids, batch)

    def _row(self, row, where):
        """One row checked: an object of known columns and scalar values; absent columns become None."""
        from ..errors import DatasetError
        from ._preprocess import InputError

        if not isinstance(row, dict):
            kind = "null" if row is None else type(row).__name__
            raise InputError(400, f"{where} must be an object mapping column names to values, got {kind}; send "
                                  '{"rows": [{"column": value, ...}, ...]}')
        unknown = [key for key in row if key not in self._known and key != self.label]
        if unknown:
            shown = ", ".join(_shown(k) for k in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            columns = ", ".join(self.names[:20]) + (f" ... ({len(self.names)} in all)" if len(self.names) > 20 else "")
            raise InputError(400, f"{where} has column(s) this servable does not know: {shown}; its columns are "
                                  f"{columns} (check the spelling; leave out columns it does not use)")
        out = {}
        for f in self.fields:
            value = row.get(f["name"])
            if value is not None and not isinstance(value, (str, numbers.Real)):
                raise InputError(400, f"{where}: column {f['name']!r} holds a {type(value).__name__}; send a number, "
                                      "a string, or null for a missing value")
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                try:
                    finite = math.isfinite(float(value))
                except OverflowError:
                    finite = False
                if not finite:
                    raise InputError(400, f"{where}: column {f['name']!r} holds {_shown(value, 30)}, not a finite "
                                          "number; send a finite number, or null for a missing value")
            out[f["name"]] = value
        check = getattr(self.spec, "check_row", None)
        if check is not None:
            try:
                check(out)
            except (DatasetError, ValueError, TypeError) as err:
                raise InputError(400, f"{where}: {err}") from None
        return out

    def _notes(self, rows, ids, batch):
        """Sentences about categorical values never seen in training (read as the unknown value), row by row;
        at most :data:`MAX_NOTES`, then one counting the others."""
        import numpy as np

        oov = np.array([int(f["oov_id"]) if f["kind"] == "categorical" else -1 for f in self.fields])
        unseen = np.argwhere(ids == oov[None, :])
        notes = []
        for i, j in unseen[:MAX_NOTES].tolist():
            name = self.fields[j]["name"]
            which = f"row {i}" if batch else "the row"
            notes.append(f"{which}: {_shown(rows[i][name])} in column {name!r} was not seen in training; it was read "
                         "as an unknown value")
        if len(unseen) > MAX_NOTES:
            notes.append(f"and {len(unseen) - MAX_NOTES:,} more values never seen in training, read as unknown values")
        return notes

    def answers(self, output):
        """One answer per row of the network's output (N, K), by ``FeatureSpec.postprocess`` (sigmoid of a
        binary logit, softmax of multiclass logits, regression values as they are); a multiclass row's
        probabilities keyed by class."""
        rows = self.spec.postprocess(output, logits=self.objective != "regression")
        if self.objective == "multiclass":
            for row in rows:
                row["probabilities"] = {str(c): p for c, p in zip(self.classes, row["probabilities"])}
        return rows


def row_texts(items, where):
    """BYTES elements (JSON text or bytes of one row object each) -> row objects (InputError 400 if not JSON)."""
    from .._jsonread import loads
    from ..errors import JSONInputError
    from ._preprocess import InputError

    rows = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            rows.append(item)
            continue
        try:
            rows.append(loads(item, f"{where}[{i}]", max_depth=4, parse_constant=_reject_constant))
        except (JSONInputError, UnicodeDecodeError, ValueError, TypeError) as err:
            raise InputError(400, f"{where}[{i}] is not a JSON object ({str(err)[:200]}); send one row as JSON "
                                  'text each, e.g. "{\\"age\\": 39, \\"city\\": \\"Paris\\"}"') from None
    return rows


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def features_json(spec):
    """The JSON text of ``spec.to_dict()`` as written to ``features.json``."""
    return json.dumps(spec.to_dict(), indent=1, allow_nan=False, ensure_ascii=False) + "\n"
