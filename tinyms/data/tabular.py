"""Your own table: a CSV, TSV or Parquet file (or a DataFrame) with one column to predict.

:class:`TabularDataset` reads the file, checks it, fits a :class:`~tinyms.data.FeatureSpec` on
its rows (or takes a fitted one, e.g. a run's ``feature_spec.json``), encodes every row into
``feat_ids``/``feat_vals`` (what DeepFM, Wide&Deep and the tabular MLP read) and the label into
a target, and gives MindSpore datasets of batches with the columns ``("feat_ids", "feat_vals",
"label")``. :meth:`TabularDataset.split` holds out a seeded share of the rows for validation,
with the spec fitted on the training rows only.

Reading: CSV/TSV with Python's ``csv`` module (UTF-8, a header row, fields may be quoted; the
separator guessed among ``,`` tab ``;`` ``|`` unless ``sep=`` is given; ``.tsv`` files use
tab); Parquet with pyarrow (``pip install pyarrow``), recognised by its first bytes whatever
the file is called. The whole table is held in memory (cells as Python strings: about twelve
times the file's size while reading, e.g. 134 MB for an 11 MB CSV of 100,000 rows and 21
columns), so files are bounded by ``max_file_bytes`` (default :data:`MAX_TABLE_BYTES`); stream
larger data (as ``KaggleDisplayAdvertisingDataset`` does for Criteo). A file that is missing,
binary, not UTF-8, empty, without data rows, or whose rows do not match its header is a
:class:`~tinyms.errors.DatasetError` naming the file (and row) and the fix.
"""

import csv
import io
import math
import os

import numpy as np

from .._distributed import default_shards
from ..errors import DatasetError
from ._features import FeatureSpec
from .text import _max_bytes, _sniff_delimiter, decode_text

__all__ = ["TabularDataset", "read_table", "MAX_TABLE_BYTES", "TABLE_EXTENSIONS"]

#: the largest table file :class:`TabularDataset` reads by default (256 MiB)
MAX_TABLE_BYTES = 256 * 1024 * 1024
#: file names a folder's ``usage`` part is looked up with
TABLE_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq")
#: the rows columns of every dataset :class:`TabularDataset` gives
COLUMNS = ("feat_ids", "feat_vals", "label")
_PARQUET_MAGIC = b"PAR1"
_PYARROW_PIN = "pyarrow>=15"
_FIX_TABLE = ("pass a UTF-8 CSV/TSV file whose first line names the columns (e.g. age,city,clicked), or a "
              "Parquet file")


# --------------------------------------------------------------------------- reading
def _checked_path(path, max_file_bytes):
    _max_bytes(max_file_bytes, "max_file_bytes")
    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"a table must be a file path, got {type(path).__name__}. Fix: {_FIX_TABLE}, or use "
                           f"TabularDataset.from_frame for a DataFrame")
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise DatasetError(f"table {path} {'is a folder' if os.path.isdir(path) else 'does not exist'}. "
                           f"Fix: {_FIX_TABLE}")
    size = os.path.getsize(path)
    if size > max_file_bytes:
        raise DatasetError(f"table {path} has {size:,} bytes, more than max_file_bytes={max_file_bytes:,} (tables "
                           f"are held in memory, about twelve times their size). Fix: pass a larger "
                           f"max_file_bytes=, or read fewer rows")
    if size == 0:
        raise DatasetError(f"table {path} is empty. Fix: {_FIX_TABLE}")
    return path


def _unique_header(header, path):
    names, seen = [], set()
    for i, raw in enumerate(header):
        name = raw.strip() or f"unnamed_{i}"
        if name in seen:
            raise DatasetError(f"{path}: the header names column {name!r} twice. Fix: give every column its own name")
        seen.add(name)
        names.append(name)
    return names


def _read_csv(path, columns, sep, max_file_bytes):
    with open(path, "rb") as f:
        data = f.read(max_file_bytes + 1)
    text, why = decode_text(data, max_file_bytes)
    if why is not None:
        raise DatasetError(f"table {path} {why}. Fix: {_FIX_TABLE}")
    del data
    if sep is None:
        sep = _sniff_delimiter(path, text[:65536])
    elif not isinstance(sep, str) or len(sep) != 1:
        raise DatasetError(f"sep must be one character such as ',' or '\\t', got {sep!r}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = _unique_header(next(reader), path)
    except StopIteration:
        raise DatasetError(f"table {path} has no header row. Fix: {_FIX_TABLE}") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}:1 cannot be parsed ({exc}). Fix: {_FIX_TABLE}") from None
    if len(header) < 2:
        raise DatasetError(f"table {path} has a single column {header[0]!r} with separator {sep!r}: a table needs a "
                           f"label column and at least one other. Fix: {_FIX_TABLE}, or pass sep=")
    wanted = _wanted(header, columns, path)
    width = len(header)
    try:
        rows = [row for row in reader if row and (len(row) > 1 or row[0].strip())]  # blank lines left out
    except csv.Error as exc:
        raise DatasetError(f"{path}:{reader.line_num} cannot be parsed ({exc}). Fix: {_FIX_TABLE}") from None
    if any(len(row) != width for row in rows):
        index = next(i for i, row in enumerate(rows) if len(row) != width)
        raise DatasetError(f"{path}: data row {index + 1} has {len(rows[index])} fields, the header {width} "
                           f"(separator {sep!r}). Fix: quote fields holding the separator, or pass sep=")
    by_name = dict(zip(header, zip(*rows))) if rows else {name: () for name in header}
    return {name: [value or None for value in by_name[name]] for name in wanted}


def _wanted(header, columns, path):
    if columns is None:
        return list(header)
    missing = [c for c in columns if c not in header]
    if missing:
        raise DatasetError(f"table {path} has no column {missing[0]!r} (its columns: {', '.join(header[:30])}). "
                           f"Fix: correct the column name")
    return list(columns)


def _read_parquet(path, columns, max_file_bytes):
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional, only for Parquet files
    except ImportError:
        raise DatasetError(f"{path} is a Parquet file; reading it needs pyarrow. Fix: pip install "
                           f"'{_PYARROW_PIN}', or save the table as CSV") from None
    try:
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > 4 * max_file_bytes:
            raise DatasetError(f"table {path} unpacks to {unpacked:,} bytes, more than 4 x max_file_bytes="
                               f"{max_file_bytes:,}. Fix: pass a larger max_file_bytes=, or read fewer rows")
        header = _unique_header([str(n) for n in parquet.schema_arrow.names], path)
        wanted = _wanted(header, columns, path)
        table = parquet.read(columns=wanted)
    except DatasetError:
        raise
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError...
        raise DatasetError(f"table {path} cannot be read as Parquet ({type(exc).__name__}: {exc}). Fix: "
                           f"{_FIX_TABLE}") from None
    cells = {}
    for name in wanted:
        column = table.column(name)
        try:
            values = column.to_numpy(zero_copy_only=False)
        except Exception:  # noqa: BLE001 - nested or unusual types: plain Python values
            values = np.asarray(column.to_pylist(), dtype=object)
        if values.dtype.kind not in "biufUO":
            values = np.asarray(column.to_pylist(), dtype=object)
        cells[name] = values
    return cells


def read_table(path, columns=None, *, sep=None, max_file_bytes=MAX_TABLE_BYTES):
    """Read a CSV, TSV or Parquet file into columns.

    Args:
        path (str): the file. Parquet is recognised by its first bytes; any other file is read
            as UTF-8 CSV/TSV with a header row.
        columns (list of str): the columns to return (default: all, in file order).
        sep (str): the CSV separator; None guesses it (``.tsv``: tab; else from the first
            64 KiB among ``,`` tab ``;`` ``|``).
        max_file_bytes (int): the largest file read (default 256 MiB).

    Returns:
        dict: column name -> values. CSV/TSV: a list of strings, None for an empty cell (the
        feature spec reads numbers and missing markers such as ``NA`` from them); Parquet: a
        numpy array (numbers with NaN for null, or objects with None).

    Raises:
        DatasetError: the file is missing, too large, empty, binary, not UTF-8, has no header
            or a single column, a row's field count differs from the header's (the line is
            named), a named column is missing, or Parquet cannot be read (pyarrow missing).

    Example:
        >>> from tinyms.data.tabular import read_table
        >>> with open("t.csv", "w") as f:
        ...     _ = f.write("age,city\\n31,Lyon\\n,Oslo\\n")
        >>> read_table("t.csv")
        {'age': ['31', None], 'city': ['Lyon', 'Oslo']}
    """
    path = _checked_path(path, max_file_bytes)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == _PARQUET_MAGIC:
        return _read_parquet(path, columns, max_file_bytes)
    return _read_csv(path, columns, sep, max_file_bytes)


# --------------------------------------------------------------------------- batches for MindSpore
class _Batches:
    """Random-access batches of one shard of the rows, re-shuffled at each epoch's first batch."""

    def __init__(self, arrays, batch_size, shuffle, drop_remainder, num_samples, num_shards, shard_id, seed):
        self.arrays = arrays
        self.num_rows = len(arrays[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_shards = num_shards or 1
        self.shard_id = shard_id or 0
        per = math.ceil(self.num_rows / self.num_shards)
        self.count = per if num_samples is None else min(per, num_samples)
        self.length = self.count // batch_size if drop_remainder else math.ceil(self.count / batch_size)
        self.rng = np.random.default_rng(seed)
        self.order = None
        self.last = None

    def _epoch_order(self):
        order = self.rng.permutation(self.num_rows) if self.shuffle else np.arange(self.num_rows)
        picks = (np.arange(self.count) * self.num_shards + self.shard_id) % self.num_rows  # equal shards
        return order[picks]

    def __getitem__(self, index):
        if self.order is None or (index == 0 and self.last == self.length - 1):
            self.order = self._epoch_order()
        self.last = index
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return tuple(a[rows] for a in self.arrays)

    def __len__(self):
        return self.length


# --------------------------------------------------------------------------- the dataset
def _frame_columns(frame, what):
    """``{name: values}`` of a DataFrame or a dict of equal-length columns."""
    if hasattr(frame, "columns") and hasattr(frame, "to_numpy") and not isinstance(frame, dict):
        return {str(c): frame[c].to_numpy() for c in frame.columns}
    if isinstance(frame, dict):
        lengths = {len(v) for v in frame.values() if hasattr(v, "__len__") and not isinstance(v, (str, bytes))}
        if len(lengths) != 1 or any(isinstance(v, (str, bytes)) or not hasattr(v, "__len__") for v in frame.values()):
            raise DatasetError(f"{what} must map column names to equal-length lists or arrays")
        return {str(k): v for k, v in frame.items()}
    raise DatasetError(f"{what} must be a pandas DataFrame or a dict of columns, got {type(frame).__name__}")


def _column_array(values):
    if isinstance(values, np.ndarray):
        return values.ravel()
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


class TabularDataset:
    """A table with one column to predict, encoded for DeepFM, Wide&Deep or the tabular MLP.

    Reads a CSV/TSV or Parquet file, fits a :class:`~tinyms.data.FeatureSpec` on its rows (or
    checks the columns against a given one), prints a summary of the columns (kind, distinct
    values, missing share, kept vocabulary) and encodes every row. How kinds, missing values,
    unseen and rare categories and the objective are handled: :meth:`FeatureSpec.fit`. In short:
    bools, strings and numbers with at most 20 distinct integer values are categorical, other
    numbers numeric; ID-like columns (a distinct string per row, or a row number) are dropped
    unless named; a label with 2 values is binary, strings or few integers multiclass, other
    numbers regression.

    Args:
        path (str): a ``.csv``/``.tsv``/``.parquet`` file, or a folder holding
            ``<usage>.csv`` (``.tsv``, ``.parquet``, ``.pq``) with ``usage``.
        label (str): the column to predict. Rows whose label is missing are an error.
        categorical (list of str): columns to encode as categories.
        numeric (list of str): columns to encode as numbers (when both lists are given, only
            they are used; else the other columns are inferred).
        spec (FeatureSpec or str): a fitted spec (or the path of its JSON file) to encode with
            instead of fitting one, e.g. the training table's for a test file. Every one of its
            columns must be in the table.
        sep (str): the CSV separator (default: guessed).
        objective (str): ``"binary"``, ``"regression"`` or ``"multiclass"`` (default: inferred).
        min_freq (int): the fewest rows a category needs to get its own id (default 2).
        max_categories (int): the most categories kept per column (default 10,000; the rest
            share the out-of-vocabulary id and the summary says so).
        ignore (list of str): columns left out.
        label_classes (list): the label's classes in order (binary: the second is class 1).
        usage (str): with a folder: the file name (without extension) to read, e.g. ``"train"``.
        shuffle (bool): whether :meth:`batch` shuffles by default (default True).
        verbose (bool): print the fitted spec's summary (default True).
        max_file_bytes (int): the largest file read (default 256 MiB).

    Attributes:
        spec (FeatureSpec): the spec the rows were encoded with.
        num_rows (int): the number of rows.
        columns (tuple): the dataset's columns, ``("feat_ids", "feat_vals", "label")``.
        feature_columns (tuple): the table columns used as fields (``spec.columns``).
        path (str or None): the file read (None for :meth:`from_frame`).

    Raises:
        DatasetError: the file is bad (see :func:`read_table`), the label column is missing or
            has missing values, the spec's columns are missing from the table, or a value has
            the wrong type; the message names the file and column and the fix.

    Example:
        >>> from tinyms.data import TabularDataset
        >>> with open("visits.csv", "w") as f:
        ...     _ = f.write("city,minutes,clicked\\n" + "Lyon,3.5,1\\nOslo,12.25,0\\nRome,0.5,1\\n" * 10)
        >>> table = TabularDataset("visits.csv", label="clicked", verbose=False)
        >>> table.num_rows, table.spec.objective, table.feature_columns
        (30, 'binary', ('city', 'minutes'))
        >>> train, valid = table.split(0.2, seed=0, verbose=False)
        >>> ids, vals, label = next(train.batch(8).create_tuple_iterator(output_numpy=True))
        >>> ids.shape, vals.dtype.name, label.shape
        ((8, 2), 'float32', (8, 1))
    """

    columns = COLUMNS

    def __init__(self, path, label, categorical=None, numeric=None, spec=None, *, sep=None, objective=None,
                 min_freq=2, max_categories=10000, ignore=None, label_classes=None, usage=None, shuffle=True,
                 verbose=True, max_file_bytes=MAX_TABLE_BYTES):
        path = _table_file(path, usage)
        table = read_table(path, sep=sep, max_file_bytes=max_file_bytes)
        self._build(table, path, label, spec, shuffle, verbose,
                    dict(categorical=categorical, numeric=numeric, objective=objective, min_freq=min_freq,
                         max_categories=max_categories, ignore=ignore, label_classes=label_classes))

    @classmethod
    def from_frame(cls, frame, label, categorical=None, numeric=None, spec=None, *, objective=None, min_freq=2,
                   max_categories=10000, ignore=None, label_classes=None, shuffle=True, verbose=True):
        """A TabularDataset from a pandas DataFrame or a dict of columns (lists or numpy arrays).

        Args:
            frame: the table, the label column included.
            label, categorical, numeric, spec, objective, min_freq, max_categories, ignore,
                label_classes, shuffle, verbose: as for :class:`TabularDataset`.

        Returns:
            TabularDataset.

        Example:
            >>> from tinyms.data import TabularDataset
            >>> t = TabularDataset.from_frame({"x": [0.5, 1.5, 2.5, 3.5], "y": ["a", "b", "a", "b"]}, "y",
            ...                               verbose=False)
            >>> t.num_rows, t.spec.label_classes
            (4, ['a', 'b'])
        """
        self = cls.__new__(cls)
        self._build(_frame_columns(frame, "frame"), None, label, spec, shuffle, verbose,
                    dict(categorical=categorical, numeric=numeric, objective=objective, min_freq=min_freq,
                         max_categories=max_categories, ignore=ignore, label_classes=label_classes))
        return self

    # ------------------------------------------------------------------ building
    def _build(self, table, path, label, spec, shuffle, verbose, fit_args, where=None):
        self.path = path
        self.shuffle = bool(shuffle)
        self._fit_args = fit_args
        self._where = where or (path if path is not None else "the frame")
        names = list(table)
        if not isinstance(label, str) or label not in names:
            raise DatasetError(f"{self._where} has no label column {label!r} (its columns: {', '.join(names[:30])}). "
                               f"Fix: pass label= one of these names")
        self._table = {name: _column_array(values) for name, values in table.items()}
        self.num_rows = len(self._table[label])
        if self.num_rows == 0:
            raise DatasetError(f"{self._where} has a header but no rows. Fix: pass a table with rows")
        self._given_spec = spec is not None
        if spec is not None:
            spec = self._checked_spec(spec, label, names)
        else:
            spec = self._wrapped(lambda: FeatureSpec.fit(self._table, label, verbose=verbose, **fit_args))
        self.spec = spec
        self.label = label
        self.feature_columns = spec.columns
        self.feat_ids, self.feat_vals = self._wrapped(lambda: spec.encode(self._table))
        self.labels = self._wrapped(lambda: spec.encode_label(self._table[label]))
        self._table = {name: self._table[name] for name in spec.columns + (label,)}  # what split refits on

    def _wrapped(self, call):
        try:
            return call()
        except DatasetError as err:
            rows = " (rows count from 0, the first after the header)" if self.path and "row " in str(err) else ""
            raise DatasetError(f"{self._where}: {err}{rows}") from None

    def _checked_spec(self, spec, label, names):
        if isinstance(spec, (str, os.PathLike)):
            spec = FeatureSpec.load(spec)
        elif isinstance(spec, dict):
            spec = FeatureSpec.from_dict(spec)
        elif not isinstance(spec, FeatureSpec):
            raise DatasetError(f"spec must be a FeatureSpec or the path of its JSON file, got {type(spec).__name__}")
        if spec.label != label:
            raise DatasetError(f"the spec predicts column {spec.label!r}, not label={label!r}. Fix: pass "
                               f"label={spec.label!r}, or fit a new spec")
        missing = [c for c in spec.columns if c not in names]
        if missing:
            raise DatasetError(f"{self._where} lacks the spec's column(s) {', '.join(map(repr, missing[:20]))} (its "
                               f"columns: {', '.join(names[:30])}). Fix: add them; a spec encodes the columns it "
                               f"was fitted on")
        return spec

    def __len__(self):
        return self.num_rows

    def __repr__(self):
        return (f"TabularDataset({self._where!s}, rows={self.num_rows:,}, label={self.label!r}, "
                f"objective={self.spec.objective!r}, fields={self.spec.field_size})")

    def arrays(self):
        """The encoded rows as numpy arrays.

        Returns:
            tuple: ``feat_ids`` int32 ``(N, F)``, ``feat_vals`` float32 ``(N, F)`` and the
            labels (float32 ``(N, 1)``; int32 ``(N,)`` for multiclass).
        """
        return self.feat_ids, self.feat_vals, self.labels

    # ------------------------------------------------------------------ splitting
    def split(self, fraction=0.2, seed=0, *, spec=None, verbose=None):
        """Hold out a seeded share of the rows for validation.

        When this table's spec was fitted here (no ``spec=``), the training part gets a spec
        fitted on its rows only (the same columns, kinds and transforms; vocabularies, means
        and scales from the training rows; the label's classes kept), and the validation
        part is encoded with it: a category seen only in validation rows is out of
        vocabulary there, as it would be for new data.

        Args:
            fraction (float): the share of rows held out, between 0 and 1 (default 0.2; at
                least one row in each part).
            seed (int): the seed of the random choice (the same seed, the same split).
            spec (FeatureSpec or str): encode both parts with this spec instead.
            verbose (bool): print the training spec's summary (default: as the table did).

        Returns:
            tuple: ``(train, valid)`` TabularDatasets.

        Raises:
            DatasetError: ``fraction`` leaves a part without rows.
        """
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise DatasetError(f"fraction must be a number between 0 and 1, got {fraction!r}")
        held = int(round(self.num_rows * fraction))
        if not 1 <= held <= self.num_rows - 1:
            empty = "no validation" if held < 1 else "no training"
            raise DatasetError(f"fraction={fraction} of {self.num_rows} rows leaves {empty} "
                               f"row. Fix: pass another fraction, or more rows")
        order = np.random.default_rng(seed).permutation(self.num_rows)
        valid_rows, train_rows = np.sort(order[:held]), np.sort(order[held:])
        train_table = {k: v[train_rows] for k, v in self._table.items()}
        valid_table = {k: v[valid_rows] for k, v in self._table.items()}
        if spec is None:
            spec = self.spec if self._given_spec else None
        if verbose is None:
            verbose = bool(self.spec.summary)
        train = type(self).__new__(type(self))
        valid = type(self).__new__(type(self))
        where = f"{self._where} (training part)"
        if spec is None:
            train_spec = train._refit(train_table, self.spec, self._fit_args, where, verbose)
        else:
            train_spec = spec
        train._build(train_table, self.path, self.label, train_spec, self.shuffle, verbose, self._fit_args, where)
        valid._build(valid_table, self.path, self.label, train.spec, self.shuffle, verbose, self._fit_args,
                     f"{self._where} (validation part)")
        train._given_spec = valid._given_spec = spec is not None
        return train, valid

    def _refit(self, table, whole, fit_args, where, verbose):
        self._where, self.path = where, None
        kinds = {"categorical": [f["name"] for f in whole.fields if f["kind"] == "categorical"],
                 "numeric": [f["name"] for f in whole.fields if f["kind"] == "numeric"]}
        if not kinds["categorical"] or not kinds["numeric"]:
            ignored = [n for n in table if n != whole.label and n not in whole.columns]
        else:
            ignored = []
        transforms = {f["name"]: f["transform"] for f in whole.fields if f["kind"] == "numeric"}
        return self._wrapped(lambda: FeatureSpec.fit(
            table, whole.label, categorical=kinds["categorical"] or None, numeric=kinds["numeric"] or None,
            objective=whole.objective, min_freq=fit_args["min_freq"], max_categories=fit_args["max_categories"],
            ignore=ignored, transforms=transforms, label_classes=whole.label_classes, verbose=verbose))

    # ------------------------------------------------------------------ MindSpore datasets
    def batch(self, batch_size=32, shuffle=None, *, drop_remainder=False, num_samples=None, num_shards=None,
              shard_id=None, seed=None):
        """A MindSpore dataset of batches with the columns ``("feat_ids", "feat_vals", "label")``.

        Batches are cut in numpy (no per-row pipeline step), about a million rows a second.
        With ``shuffle``, the rows are drawn in a new order each epoch.

        Args:
            batch_size (int): rows per batch (default 32).
            shuffle (bool): shuffle the rows each epoch (default: the table's ``shuffle``).
            drop_remainder (bool): leave out a last, smaller batch.
            num_samples (int): read at most this many rows per epoch (of this shard).
            num_shards, shard_id: read one shard of the rows (all shards the same size: a few
                rows repeat when the rows do not divide evenly). Under ``msrun`` each worker
                reads its own shard unless they are given.
            seed (int): the shuffling seed (default: MindSpore's dataset seed, which
                ``tinyms.set_seed`` sets, so every worker draws the same order).

        Returns:
            mindspore.dataset.GeneratorDataset: batches ``(N, F)`` int32, ``(N, F)`` float32 and
            ``(N, 1)`` float32 labels (``(N,)`` int32 for multiclass); attribute ``spec``.

        Raises:
            DatasetError: a bad batch size, sample count or shard.

        Example:
            >>> from tinyms.data import TabularDataset
            >>> t = TabularDataset.from_frame({"x": [0.5, 1.5, 2.5] * 4, "y": [0, 1, 1] * 4}, "y", verbose=False)
            >>> t.batch(5, shuffle=False).get_dataset_size()
            3
        """
        import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

        for value, what in ((batch_size, "batch_size"), (num_samples, "num_samples")):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise DatasetError(f"{what} must be a positive integer, got {value!r}")
        num_shards, shard_id = default_shards(num_shards, shard_id)
        if (num_shards is None) != (shard_id is None) or (
                num_shards is not None and not 0 <= shard_id < num_shards):
            raise DatasetError(f"num_shards and shard_id go together, with 0 <= shard_id < num_shards; got "
                               f"{num_shards!r} and {shard_id!r}")
        if seed is None:
            seed = int(ds.config.get_seed())
        shuffle = self.shuffle if shuffle is None else bool(shuffle)
        source = _Batches(self.arrays(), batch_size, shuffle, drop_remainder, num_samples, num_shards, shard_id, seed)
        if len(source) == 0:
            raise DatasetError(f"{self._where}: {source.count} row(s) make no batch of {batch_size} with "
                               f"drop_remainder=True. Fix: a smaller batch_size")
        dataset = ds.GeneratorDataset(source, list(COLUMNS), shuffle=False, num_parallel_workers=1,
                                      python_multiprocessing=False)
        dataset.spec = self.spec
        return dataset

    def apply_ds(self, batch_size=32, is_training=True, **kwargs):
        """:meth:`batch` with TinyMS's transform-style arguments: shuffled when ``is_training``.

        Args:
            batch_size (int): rows per batch.
            is_training (bool): shuffle (and drop a last smaller batch) for training.
            **kwargs: passed to :meth:`batch`.

        Returns:
            mindspore.dataset.GeneratorDataset: as :meth:`batch`.
        """
        kwargs.setdefault("drop_remainder", bool(is_training) and self.num_rows >= batch_size)
        return self.batch(batch_size, shuffle=bool(is_training), **kwargs)


def _table_file(path, usage):
    if usage is None:
        return path
    if not isinstance(usage, str) or not usage or os.sep in usage or usage.startswith("."):
        raise DatasetError(f"usage must be a file name such as 'train', got {usage!r}")
    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        raise DatasetError(f"usage={usage!r} needs a folder holding {usage}.csv (or .tsv/.parquet), got {path!r}")
    folder = os.path.abspath(os.fspath(path))
    for ext in TABLE_EXTENSIONS:
        candidate = os.path.join(folder, usage + ext)
        if os.path.isfile(candidate):
            return candidate
    raise DatasetError(f"{folder} has no {usage}{'/'.join(TABLE_EXTENSIONS)} file (it holds: "
                       f"{', '.join(sorted(os.listdir(folder))[:20]) or 'nothing'}). Fix: pass usage= one of its "
                       f"tables' names")
