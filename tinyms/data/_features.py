"""How a table's columns become model inputs: :class:`FeatureSpec` (MindSpore-free, numpy only).

Every row of a table becomes two aligned vectors over its ``F`` fields (the encoded form
DeepFM, Wide&Deep and the tabular MLP read): ``feat_ids`` (int32, one id per field, all fields
sharing one id space ``0..vocab_size-1``) and ``feat_vals`` (float32, the field's value). A
fitted spec is plain JSON (:meth:`FeatureSpec.to_dict`, :meth:`FeatureSpec.save`), saved with a
model so that serving and the edge runtime encode rows exactly as training did. This module
imports only numpy (pandas DataFrames are read through their own methods, never imported).

How each value is encoded:

- *Missing*: ``None``, NaN, +/-infinity, pandas' ``NA``/``NaT`` and the strings in
  :data:`MISSING_STRINGS` (any case, surrounding spaces ignored: ``""``, ``"NA"``, ``"N/A"``,
  ``"NaN"``, ``"null"``, ``"None"``...). A missing value gets the field's ``missing_id`` with
  value 1.0 (so the model learns what "missing" means for that field through the id's own
  weights; a value of 0.0 would multiply those weights away: on a table where 30% of a numeric
  column is missing and missing raises the logit by 1.5, DeepFM reached AUC 0.773 with 1.0, the
  generating model's own 0.773, and 0.760 with 0.0). A numeric field may say otherwise with
  the optional key ``"missing_value"``: Criteo's spec gives a missing integer the field's own id
  with value 0.0, TinyMS 0.3's layout, so 0.3's hard-coded ``vocab_size`` stays right.
- *Numeric field*: ints, floats, bools (1/0) and strings holding a number (``"3.5"``). Any other
  value is a :class:`~tinyms.errors.DatasetError` naming the column. ``t = v`` (transform
  ``"standard"``) or ``t = sign(v) * log1p(|v|)`` (``"log"``); value ``(t - mean) / scale``,
  id the field's ``id``.
- *Categorical field*: the value's key is its text: strings as written (surrounding spaces
  removed; ``"true"``/``"false"`` in any case become lower case), bools ``"true"``/``"false"``,
  ints and whole floats as integers (``12`` and ``12.0`` are ``"12"``), other floats as
  Python writes them (``0.5`` is ``"0.5"``); in a field fitted on numbers (``"numbers": true``)
  a string holding a number is keyed as that number (``"12.0"`` is ``"12"``). A key in the
  field's ``vocab`` at index ``i`` gets id ``offset + i``; any other key (a category never seen
  in training, or too rare to keep) gets the field's ``oov_id``. The value is 1.0. Lists, dicts
  and other objects are a DatasetError.
"""

import math
import os
from collections import Counter

import numpy as np

from ..errors import DatasetError

__all__ = ["FeatureSpec", "MISSING_STRINGS", "OBJECTIVES", "TRANSFORMS", "category_key",
           "FORMAT", "FORMAT_VERSION", "MAX_SPEC_BYTES"]

#: strings read as a missing value (compared in lower case, surrounding spaces removed)
MISSING_STRINGS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "nat"})
OBJECTIVES = ("binary", "regression", "multiclass")
TRANSFORMS = ("standard", "log")
FORMAT = "tinyms.feature_spec"
FORMAT_VERSION = 1
#: the largest feature-spec JSON file :meth:`FeatureSpec.load` reads (256 MiB)
MAX_SPEC_BYTES = 256 * 1024 * 1024

#: defaults of :meth:`FeatureSpec.fit`
DEFAULT_MIN_FREQ = 2
DEFAULT_MAX_CATEGORIES = 10000
#: numbers with at most this many distinct integer values are inferred categorical
FEW_INTEGERS = 20
#: labels with at most this many distinct integer values are multiclass (else regression)
FEW_CLASSES = 20
#: at least this many rows before a column with a distinct value per row is called ID-like
ID_MIN_ROWS = 20
#: sample skewness above which a non-negative numeric column is inferred "log"
LOG_SKEW = 2.0

_NA_TYPES = frozenset({"NAType", "NaTType"})
_SCALAR_TYPES = (str, bool, int, float, np.generic)
_STR_OR_NONE = frozenset({str, type(None)})
_BOOL_TYPES = frozenset({bool, np.bool_})
_FIX_TYPES = "pass numbers, strings, bools or null"


# --------------------------------------------------------------------------- one value
def category_key(value, numbers=False):
    """The categorical key of one value (its text), or None when the value is missing.

    Args:
        value: a str, bool, int, float (numpy scalars too), None or pandas' NA.
        numbers (bool): the column's categories are numbers (a field with ``"numbers": true``):
            a string holding a number is keyed as that number (``"12.0"`` and ``"012"`` are ``"12"``).

    Returns:
        str or None: ``"12"`` for ``12`` and ``12.0``, ``"0.5"`` for ``0.5``, ``"true"`` for
        ``True`` and ``" TRUE "``, the stripped string for other strings, None for a missing value.

    Raises:
        TypeError: the value is a list, dict or another object that is not a scalar.

    Example:
        >>> from tinyms.data._features import category_key
        >>> [category_key(v) for v in (12, 12.0, 0.5, True, " red ", "NA", None)]
        ['12', '12', '0.5', 'true', 'red', None, None]
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        lower = text.lower()
        if lower in MISSING_STRINGS:
            return None
        if numbers:
            try:
                value = float(text)
            except ValueError:
                return lower if lower in ("true", "false") else text
        else:
            return lower if lower in ("true", "false") else text
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    if type(value).__name__ in _NA_TYPES:
        return None
    raise TypeError(f"{type(value).__name__} is not a scalar")


def _label_key(value):
    """A label's key: as :func:`category_key`, a string holding a number keyed as that number."""
    return category_key(value, True)


def _number(value):
    """``value`` as a float (NaN when missing); ValueError/TypeError when it is not a number."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_STRINGS:
            return math.nan
        return float(text)
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return float(value)
    if type(value).__name__ in _NA_TYPES:
        return math.nan
    raise TypeError(f"{type(value).__name__} is not a number")


def _show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _json_scalar(value):
    """A label class as a plain JSON value (numpy scalars unwrapped, whole floats as ints)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value)


# --------------------------------------------------------------------------- columns
def _is_frame(data):
    return hasattr(data, "columns") and hasattr(data, "to_numpy") and not isinstance(data, dict)


def _columns_of(data, what="the rows"):
    """``(names, getter, num_rows, from_rows)`` of a DataFrame, a dict of columns, row dicts or one row dict."""
    if _is_frame(data):
        names = [str(c) for c in data.columns]
        by_name = {str(c): c for c in data.columns}
        return names, lambda name: data[by_name[name]].to_numpy(), len(data), False
    if isinstance(data, dict):
        values = list(data.values())
        if values and all(isinstance(v, _SCALAR_TYPES) or v is None for v in values):
            data = [data]  # one row
        else:
            lengths = {len(v) if hasattr(v, "__len__") and not isinstance(v, (str, bytes)) else -1
                       for v in values}
            if -1 in lengths or len(lengths) > 1:
                raise DatasetError(f"{what}: a dict must map each column name to a list of values of one "
                                   f"length (or to one value each, for a single row); got lengths "
                                   f"{sorted(lengths)}. Fix: pass equal-length columns, or a list of row dicts")
            names = [str(k) for k in data]
            keys = {str(k): k for k in data}
            return names, lambda name: data[keys[name]], (lengths.pop() if lengths else 0), False
    if isinstance(data, (list, tuple)):
        for i, row in enumerate(data):
            if not isinstance(row, dict):
                raise DatasetError(f"{what}: row {i} is a {type(row).__name__}, not an object of column "
                                   f"name -> value. Fix: pass rows such as {{\"age\": 31, \"city\": \"Lyon\"}}")
        names = []
        seen = set()
        for row in data:
            for key in row:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
        for key in names:
            if not isinstance(key, str):
                raise DatasetError(f"{what}: column name {_show(key)} is not a string. Fix: name columns with strings")
        return names, lambda name: [row.get(name) for row in data], len(data), True
    raise DatasetError(f"{what} must be a list of row dicts, a dict of columns or a pandas DataFrame, got "
                       f"{type(data).__name__}")


def _as_list(values):
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return list(values)


def _numbers(values, name):
    """A column as float64 with NaN for every missing (or non-finite) value; DatasetError for a non-number."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        out = values.astype(np.float64).ravel()
    else:
        items = _as_list(values)
        try:
            out = np.asarray(items, dtype=np.float64)
            if out.ndim != 1:
                raise ValueError("nested")
        except (ValueError, TypeError):
            out = np.empty(len(items), np.float64)
            for i, value in enumerate(items):
                try:
                    out[i] = _number(value)
                except (ValueError, TypeError):
                    raise DatasetError(f"column {name!r} is numeric, but row {i} holds {_show(value)}. "
                                       f"Fix: pass a number, a string holding one, or null for a missing "
                                       f"value") from None
    out[~np.isfinite(out)] = np.nan
    return out


def _keys(values, name, numbers=False, where=None):
    """A column as a list of category keys (None for missing); DatasetError for a value that is not a scalar."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and values.size:
        uniq, inverse = np.unique(values.ravel(), return_inverse=True)
        mapped = [category_key(v) for v in uniq.tolist()]
        return [mapped[i] for i in inverse.tolist()]
    items = _as_list(values)
    if set(map(type, items)) <= _STR_OR_NONE:  # the usual case (CSV cells): one key per distinct string
        memo = {value: category_key(value, numbers) for value in set(items)}
        return [memo[value] for value in items]
    out = []
    for i, value in enumerate(items):
        try:
            out.append(category_key(value, numbers))
        except TypeError:
            raise DatasetError(f"{where or f'column {name!r} is categorical'}, but row {i} holds a "
                               f"{type(value).__name__} ({_show(value)}). Fix: {_FIX_TYPES}") from None
    return out


# --------------------------------------------------------------------------- inference
class _Profile:
    """What fit learned about one column before choosing its kind."""

    def __init__(self, name, values, num_rows):
        self.name = name
        self.num_rows = num_rows
        self.numbers = None
        self.keys = None
        self.is_bool = False
        if isinstance(values, np.ndarray) and values.dtype.kind == "b":
            self.is_bool = True
        elif isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
            self.numbers = values.astype(np.float64).ravel()
            self.numbers[~np.isfinite(self.numbers)] = np.nan
        else:
            items = _as_list(values)
            types = set(map(type, items))
            self.is_bool = bool(types & _BOOL_TYPES) and types <= _BOOL_TYPES | {type(None)}
            if not types & _BOOL_TYPES:
                try:
                    self.numbers = _numbers(items, name)
                except DatasetError:
                    self.numbers = None
        if self.numbers is not None:
            present = self.numbers[~np.isnan(self.numbers)]
            self.missing = num_rows - present.size
            self.distinct_values = np.unique(present)
            self.distinct = int(self.distinct_values.size)
            self.integers = bool(present.size) and bool(np.all(present == np.round(present)))
        else:
            self.keys = _keys(values, name)
            present = [k for k in self.keys if k is not None]
            self.missing = num_rows - len(present)
            self.distinct = len(set(present))
            self.integers = False
            if not self.is_bool and present and set(present) <= {"true", "false"}:
                self.is_bool = True

    def get_keys(self):
        if self.keys is None:
            if self.numbers is None:
                raise AssertionError("no values")
            uniq, inverse = np.unique(self.numbers, return_inverse=True)
            mapped = [category_key(v) for v in uniq.tolist()]
            self.keys = [mapped[i] for i in inverse.tolist()]
        return self.keys

    def infer(self):
        """``(kind, note)``: kind "numeric", "categorical" or None (dropped, with the reason)."""
        present = self.num_rows - self.missing
        if present == 0:
            return None, "dropped: every value is missing"
        if self.distinct == 1 and self.missing == 0:
            return None, "dropped: one value in every row"
        if self.is_bool:
            return "categorical", ""
        if self.numbers is not None:
            if self.integers and self.distinct <= FEW_INTEGERS:
                return "categorical", f"few integers (<= {FEW_INTEGERS})"
            if (self.integers and self.distinct == present >= ID_MIN_ROWS
                    and self.distinct_values[-1] - self.distinct_values[0] + 1 == self.distinct):
                return None, "dropped: ID-like (consecutive integers, one per row); name it to keep it"
            return "numeric", ""
        if self.distinct == present >= ID_MIN_ROWS:
            return None, "dropped: ID-like (a distinct string per row); name it to keep it"
        return "categorical", ""


def _infer_objective(profile):
    if profile.distinct == 2:
        return "binary"
    if profile.numbers is None:
        return "multiclass"
    if profile.integers and profile.distinct <= FEW_CLASSES:
        return "multiclass"
    return "regression"


def _skewness(values):
    if values.size < 3:
        return 0.0
    std = values.std()
    return 0.0 if std == 0 else float(np.mean(((values - values.mean()) / std) ** 3))


def _label_keys(values, name):
    """The label's keys (:func:`_label_key`); DatasetError naming missing or non-scalar labels."""
    keys = _keys(values, name, numbers=True, where=f"label column {name!r}")
    if None in keys:
        missing = keys.count(None)
        raise DatasetError(f"label column {name!r} is missing in {missing} row(s) (first: row "
                           f"{keys.index(None)}). Fix: fill in or drop those rows; a row without a label cannot "
                           f"be learned from")
    return keys


# --------------------------------------------------------------------------- the spec
class FeatureSpec:
    """How each column of a table is encoded into ``feat_ids``/``feat_vals``, and the label into targets.

    Build one with :meth:`fit` (from a table's rows: kinds inferred, vocabularies, means and
    scales learned) or :meth:`from_dict` / :meth:`load` (from its JSON form). It imports no
    MindSpore, so serving and the edge runtime encode rows with it too.

    Args:
        fields (list of dict): one dict per field, in column order. Numeric: ``{"name", "kind":
            "numeric", "transform": "standard"|"log", "mean", "scale", "id", "missing_id"}`` and
            optionally ``"missing_value"`` (the value a missing number encodes as, default 1.0);
            categorical: ``{"name", "kind": "categorical", "vocab": [str, ...], "offset",
            "oov_id", "missing_id"}`` (vocabulary entry ``i`` has id ``offset + i``).
        label (str): the label column's name.
        objective (str): ``"binary"``, ``"regression"`` or ``"multiclass"``.
        label_classes (list): binary/multiclass: the original label values in class order
            (binary: the value meaning 1 second). None for regression.
        label_mean (float): regression: the label's mean (the networks' ``target_mean``).
        label_scale (float): regression: the label's standard deviation (``target_scale``).

    Attributes:
        field_size (int): the number of fields ``F``.
        vocab_size (int): 1 + the largest id.
        fields (list of dict): the field dicts.
        columns (tuple of str): the field names.
        summary (str): the fitted columns as a table (empty for a spec built from a dict).

    Raises:
        DatasetError: a field dict or label setting is malformed (the message names it).

    Example:
        >>> from tinyms.data import FeatureSpec
        >>> rows = {"city": ["Lyon", "Oslo", "Lyon", "Rome"] * 5, "age": [31, 45, 52, 23] * 5,
        ...         "clicked": [1, 0, 1, 0] * 5}
        >>> spec = FeatureSpec.fit(rows, label="clicked", numeric=["age"], verbose=False)
        >>> spec.field_size, spec.objective, spec.label_classes
        (2, 'binary', [0, 1])
        >>> ids, vals = spec.encode([{"city": "Lyon", "age": 40}, {"city": "Paris", "age": None}])
        >>> ids.shape, vals.dtype.name
        ((2, 2), 'float32')
    """

    def __init__(self, fields, label, objective, label_classes=None, label_mean=0.0, label_scale=1.0):
        self.fields = [dict(f) for f in fields]
        self.label = label
        self.objective = objective
        self.label_classes = None if label_classes is None else [_json_scalar(c) for c in label_classes]
        self.label_mean = float(label_mean)
        self.label_scale = float(label_scale)
        self.summary = ""
        _validate(self)
        self._prepare()

    # ------------------------------------------------------------------ derived lookups
    def _prepare(self):
        self.field_size = len(self.fields)
        largest = -1
        self._luts = []
        for field in self.fields:
            if field["kind"] == "numeric":
                largest = max(largest, field["id"], field["missing_id"])
                self._luts.append(None)
            else:
                offset = field["offset"]
                largest = max(largest, field["oov_id"], field["missing_id"], offset + len(field["vocab"]) - 1)
                self._luts.append({v: offset + i for i, v in enumerate(field["vocab"])})
        self.vocab_size = largest + 1
        self.columns = tuple(f["name"] for f in self.fields)
        self._by_name = {f["name"]: i for i, f in enumerate(self.fields)}
        if self.label_classes is not None:
            self._class_ids = {_label_key(c): i for i, c in enumerate(self.label_classes)}

    def __repr__(self):
        kinds = [f["kind"][0].upper() for f in self.fields]
        return (f"FeatureSpec(label={self.label!r}, objective={self.objective!r}, fields={self.field_size} "
                f"({kinds.count('N')} numeric, {kinds.count('C')} categorical), vocab_size={self.vocab_size})")

    def __eq__(self, other):
        return isinstance(other, FeatureSpec) and self.to_dict() == other.to_dict()

    __hash__ = None

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, data, label, categorical=None, numeric=None, objective=None, *, min_freq=DEFAULT_MIN_FREQ,
            max_categories=DEFAULT_MAX_CATEGORIES, ignore=None, transforms=None, label_classes=None, verbose=True):
        """Learn a spec from a table: column kinds, vocabularies, means and scales, the label's classes.

        Column kinds, when not given: bools (and the strings true/false), strings, and numbers
        taking at most 20 distinct integer values are categorical; other numbers are numeric.
        A column with a distinct string per row (or consecutive integers, one per row: a row
        number), at least 20 rows, is ID-like and dropped; so are columns with one value in
        every row and columns with no value at all. A dropped column is kept when named in
        ``categorical`` or ``numeric``. When both lists are given only the named columns are
        used; when one or neither is, the other columns are inferred.

        Numeric columns are ``"log"``-transformed when every value is >= 0 and the values are
        strongly right-skewed (sample skewness > 2: counts, prices), else ``"standard"``; the
        mean and scale (standard deviation, 1 when 0) are those of the transformed values.
        Categorical vocabularies keep the ``max_categories`` most frequent values seen at least
        ``min_freq`` times (ties: by value); other values are out of vocabulary (``oov_id``).

        The objective, when not given: a label with 2 distinct values is ``"binary"``; strings,
        or at most 20 distinct integers, ``"multiclass"``; other numbers ``"regression"``.
        Classes are sorted (numerically when all numbers; binary: the second is class 1).

        Args:
            data: a dict of columns (lists or numpy arrays), a list of row dicts, or a pandas
                DataFrame; it includes the label column.
            label (str): the label column.
            categorical (list of str): columns to encode as categories.
            numeric (list of str): columns to encode as numbers.
            objective (str): ``"binary"``, ``"regression"`` or ``"multiclass"``; None infers it.
            min_freq (int): the fewest rows a category needs to get its own id (default 2; rarer
                ones share the out-of-vocabulary id, which so learns what "rare" means).
            max_categories (int): the most categories kept per column (default 10,000).
            ignore (list of str): columns left out.
            transforms (dict): ``{column: "standard"|"log"}`` overriding the inferred transform.
            label_classes (list): the label's classes in order (binary: the second is class 1),
                instead of the sorted distinct labels; every label must be one of them.
            verbose (bool): print the summary table (also kept in ``spec.summary``).

        Returns:
            FeatureSpec.

        Raises:
            DatasetError: the label column is missing or has missing values, a named column
                does not exist or holds values of the wrong type, no column is left, or the
                objective does not fit the label (e.g. binary with 3 classes).

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> spec = FeatureSpec.fit({"x": [0.5, 1.5, 2.0, 3.5], "y": ["a", "b", "a", "b"]}, label="y",
            ...                        verbose=False)
            >>> [(f["name"], f["kind"]) for f in spec.fields], spec.label_classes
            ([('x', 'numeric')], ['a', 'b'])
        """
        names, column, num_rows, _ = _columns_of(data, "the table")
        _check_int(min_freq, "min_freq", 1)
        _check_int(max_categories, "max_categories", 1)
        if objective is not None and objective not in OBJECTIVES:
            raise DatasetError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        if not isinstance(label, str) or label not in names:
            raise DatasetError(f"the table has no label column {label!r} (its columns: {_list(names)}). "
                               f"Fix: pass label= one of these names")
        if num_rows == 0:
            raise DatasetError("the table has no rows. Fix: pass a table with at least one row")
        categorical, numeric, ignore = (_name_list(categorical, "categorical"), _name_list(numeric, "numeric"),
                                        _name_list(ignore, "ignore"))
        transforms = dict(transforms or {})
        named = categorical + numeric
        unknown = [n for n in named + ignore + list(transforms) if n not in names]
        if unknown:
            raise DatasetError(f"the table has no column {unknown[0]!r} (its columns: {_list(names)}). "
                               f"Fix: correct categorical=/numeric=/ignore=/transforms=")
        both = sorted(set(categorical) & set(numeric))
        if both or label in named:
            raise DatasetError(f"column {(both or [label])[0]!r} is named twice (categorical, numeric or the "
                               f"label). Fix: name each column once")
        bad = {k: v for k, v in transforms.items() if v not in TRANSFORMS}
        if bad:
            raise DatasetError(f"transforms[{next(iter(bad))!r}] must be one of {', '.join(TRANSFORMS)}")
        explicit = bool(categorical) and bool(numeric)

        label_values = column(label)
        label_keys = _label_keys(label_values, label)
        if label_classes is not None:
            objective, classes = _given_classes(label_classes, label_keys, objective, label)
            label_mean, label_scale = 0.0, 1.0
        else:
            label_profile = _Profile(label, label_values, num_rows)
            objective = objective or _infer_objective(label_profile)
            classes, label_mean, label_scale = _fit_label(label_profile, label_values, label_keys, objective, label)

        fields, rows, next_id = [], [], 0
        for name in names:
            if name == label or name in ignore or (explicit and name not in named):
                if name != label:
                    rows.append((name, "-", "", "", "", "ignored" if name in ignore else "ignored (not named)"))
                continue
            profile = _Profile(name, column(name), num_rows)
            if name in categorical:
                kind, note = "categorical", "named"
            elif name in numeric:
                if profile.numbers is None:
                    _numbers(column(name), name)  # raises naming the bad value
                    raise DatasetError(f"column {name!r} is named numeric but holds non-numbers. Fix: name it "
                                       f"categorical")
                kind, note = "numeric", "named"
            else:
                kind, note = profile.infer()
            share = f"{100.0 * profile.missing / num_rows:.1f}%"
            if kind is None:
                rows.append((name, "-", profile.distinct, share, "", note))
                continue
            if kind == "numeric":
                field = _fit_numeric(profile, name, transforms.get(name), next_id)
                next_id = field["missing_id"] + 1
                kept = field["transform"]
            else:
                field, kept_note = _fit_categorical(profile, name, min_freq, max_categories, next_id)
                next_id = field["missing_id"] + 1
                kept = f"{len(field['vocab'])}"
                note = "; ".join(n for n in (note, kept_note) if n)
            fields.append(field)
            rows.append((name, kind, profile.distinct, share, kept, note))
        if not fields:
            raise DatasetError(f"no column is left to learn from (label {label!r}; the others were dropped: "
                               f"{_list([r[0] for r in rows])}). Fix: name the columns to use with "
                               f"categorical=/numeric=")
        spec = cls(fields, label, objective, classes, label_mean, label_scale)
        spec.summary = _summary_table(rows, label, objective, classes, num_rows, len(fields), spec.vocab_size)
        if verbose:
            print(spec.summary)
        return spec

    @staticmethod
    def infer_objective(values, name="label"):
        """The objective :meth:`fit` infers from a label column's values.

        Args:
            values: the label values (list or array).
            name (str): the column's name, for messages.

        Returns:
            str: ``"binary"`` (2 distinct values), ``"multiclass"`` (strings, bools, or at
            most 20 distinct integers) or ``"regression"`` (other numbers).

        Raises:
            DatasetError: a value is missing or not a scalar.

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> [FeatureSpec.infer_objective(v) for v in (["y", "n", "y"], [1, 2, 3], [0.5, 1.25, 7.0])]
            ['binary', 'multiclass', 'regression']
        """
        keys = _label_keys(values, name)
        return _infer_objective(_Profile(name, values, len(keys)))

    # ------------------------------------------------------------------ encoding
    def encode(self, rows):
        """Encode rows into ``(feat_ids, feat_vals)``.

        Args:
            rows: a list of row dicts (column -> value; a missing key is a missing value, the label
                key is ignored, any other unknown key is an error), one row dict, a dict of
                columns or a pandas DataFrame (other columns are ignored; each field's column must
                be there).

        Returns:
            tuple: ``feat_ids`` int32 ``(N, F)`` and ``feat_vals`` float32 ``(N, F)``.

        Raises:
            DatasetError: an unknown column in a row dict, a field's column missing from a table,
                or a value of the wrong type (the message names the column and the row).

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> spec = FeatureSpec.fit({"c": ["a", "b"] * 4, "y": [0, 1] * 4}, label="y", min_freq=1,
            ...                        verbose=False)
            >>> ids, vals = spec.encode([{"c": "b"}, {"c": "zzz"}, {"c": None}])
            >>> ids[:, 0].tolist() == [spec.fields[0]["offset"] + 1, spec.fields[0]["oov_id"],
            ...                        spec.fields[0]["missing_id"]]
            True
        """
        names, column, num_rows, from_rows = _columns_of(rows, "the rows")
        if from_rows:
            self._check_names(names)
        else:
            missing = [f["name"] for f in self.fields if f["name"] not in names]
            if missing:
                raise DatasetError(f"the table has no column {_list(missing)} that the feature spec needs "
                                   f"(its columns: {_list(names)}). Fix: add the column(s), or fit a new spec")
        ids = np.empty((num_rows, self.field_size), np.int32)
        vals = np.empty((num_rows, self.field_size), np.float32)
        for j, field in enumerate(self.fields):
            values = column(field["name"]) if (field["name"] in names or not from_rows) else [None] * num_rows
            if field["kind"] == "numeric":
                ids[:, j], vals[:, j] = self._encode_numeric(field, values)
            else:
                ids[:, j] = self._encode_categorical(field, self._luts[j], values)
                vals[:, j] = 1.0
        return ids, vals

    @staticmethod
    def _encode_numeric(field, values):
        numbers = _numbers(values, field["name"])
        missing = np.isnan(numbers)
        if field["transform"] == "log":
            numbers = np.sign(numbers) * np.log1p(np.abs(numbers))
        out = (numbers - field["mean"]) / field["scale"]
        out[missing] = field.get("missing_value", 1.0)
        return np.where(missing, field["missing_id"], field["id"]).astype(np.int32), out

    @staticmethod
    def _encode_categorical(field, lut, values):
        name, oov, missing, numbers = field["name"], field["oov_id"], field["missing_id"], field.get("numbers", False)
        if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and values.size:
            uniq, inverse = np.unique(values.ravel(), return_inverse=True)
            table = np.array([_key_id(category_key(v), lut, oov, missing) for v in uniq.tolist()], np.int32)
            return table[inverse]
        items = _as_list(values)
        if set(map(type, items)) <= _STR_OR_NONE:  # the usual case: one lookup per distinct string
            memo = {v: _key_id(category_key(v, numbers), lut, oov, missing) for v in set(items)}
            return np.array([memo[v] for v in items], np.int32)
        get = lut.get
        out = np.fromiter((get(v, -1) if type(v) is str else -1 for v in items), np.int32, len(items))
        slow = np.flatnonzero(out < 0)
        memo = {}
        for i in slow.tolist():
            value = items[i]
            if type(value) is str and value in memo:
                out[i] = memo[value]
                continue
            try:
                key = category_key(value, numbers)
            except TypeError:
                raise DatasetError(f"column {name!r} is categorical, but row {i} holds a {type(value).__name__} "
                                   f"({_show(value)}). Fix: {_FIX_TYPES}") from None
            out[i] = _key_id(key, lut, oov, missing)
            if type(value) is str:
                memo[value] = out[i]
        return out

    def encode_label(self, values):
        """Encode label values into training targets.

        Args:
            values: the label column (list or array of the original label values).

        Returns:
            numpy.ndarray: ``"binary"``: float32 ``(N, 1)`` of 0./1.; ``"regression"``: float32
            ``(N, 1)`` of the values themselves (the networks scale them); ``"multiclass"``:
            int32 ``(N,)`` class indices.

        Raises:
            DatasetError: a value is missing, not a number (regression), or not one of
                ``label_classes`` (the message names it).

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> spec = FeatureSpec.fit({"x": [1.5, 2.5, 3.5, 4.5], "y": ["no", "yes", "no", "yes"]}, label="y",
            ...                        verbose=False)
            >>> spec.encode_label(["yes", "no"]).ravel().tolist()
            [1.0, 0.0]
        """
        keys = _label_keys(values, self.label)
        if self.objective == "regression":
            return _numbers(values, self.label).astype(np.float32).reshape(-1, 1)
        get = self._class_ids.get
        out = np.fromiter((get(k, -1) for k in keys), np.int32, len(keys))
        if (out < 0).any():
            i = int(np.flatnonzero(out < 0)[0])
            raise DatasetError(f"label {_show(_as_list(values)[i])} (row {i}) is not one of the classes "
                               f"{_list(self.label_classes)} of column {self.label!r}. Fix: correct the "
                               f"row, or fit a spec on data holding that class")
        if self.objective == "binary":
            return out.astype(np.float32).reshape(-1, 1)
        return out

    def decode_label(self, outputs):
        """Turn model outputs into label values.

        Args:
            outputs: binary: probabilities of class 1, ``(N,)`` or ``(N, 1)`` (0.5 and above is
                class 1); multiclass: probabilities ``(N, C)`` or class indices ``(N,)``;
                regression: values ``(N,)`` or ``(N, 1)``.

        Returns:
            list: the original label values (regression: floats).
        """
        out = np.asarray(outputs, dtype=np.float64)
        if self.objective == "regression":
            return out.reshape(-1).tolist()
        if self.objective == "binary":
            return [self.label_classes[int(p >= 0.5)] for p in out.reshape(-1).tolist()]
        indices = out.argmax(axis=-1) if out.ndim == 2 else out.astype(np.int64)
        return [self.label_classes[int(i)] for i in indices.reshape(-1).tolist()]

    def postprocess(self, outputs, logits=False):
        """Turn model outputs into one JSON-ready answer per row.

        Args:
            outputs: binary: ``(N,)``/``(N, 1)`` probabilities of ``label_classes[1]``;
                multiclass: ``(N, C)`` probabilities; regression: ``(N,)``/``(N, 1)`` values.
            logits (bool): the outputs are logits (sigmoid / softmax applied first).

        Returns:
            list of dict: binary ``{"label": value, "probability": p}`` (``p`` the probability of
            ``label_classes[1]``); multiclass ``{"label": value, "probabilities": [p per class in
            label_classes order]}``; regression ``{"value": v}``.

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> spec = FeatureSpec.fit({"x": [1.5, 2.5, 3.5, 4.5], "y": ["no", "yes", "no", "yes"]}, label="y",
            ...                        verbose=False)
            >>> spec.postprocess([0.9, 0.2])
            [{'label': 'yes', 'probability': 0.9}, {'label': 'no', 'probability': 0.2}]
        """
        out = np.asarray(outputs, dtype=np.float64)
        if self.objective == "regression":
            return [{"value": v} for v in out.reshape(-1).tolist()]
        if self.objective == "binary":
            probs = out.reshape(-1)
            if logits:
                probs = 1.0 / (1.0 + np.exp(-probs))
            return [{"label": self.label_classes[int(p >= 0.5)], "probability": p} for p in probs.tolist()]
        if out.ndim != 2 or out.shape[1] != len(self.label_classes):
            raise DatasetError(f"multiclass outputs must have shape (N, {len(self.label_classes)}), got "
                               f"{out.shape}")
        if logits:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return [{"label": self.label_classes[int(np.argmax(p))], "probabilities": p.tolist()} for p in out]

    # ------------------------------------------------------------------ checking one row
    def _check_names(self, names):
        known = set(self._by_name) | {self.label}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DatasetError(f"unknown column {unknown[0]!r}: the model's columns are {_list(self.columns)}. "
                               f"Fix: remove it or correct its name")

    def check_row(self, row):
        """Check one row (a dict of column -> value) before encoding it.

        A column the spec does not know (other than the label) or a value of the wrong type
        (numeric column: not a number, a string holding one, a bool or null; categorical
        column: not a str, number, bool or null) is an error naming the column. A column left
        out is a missing value.

        Args:
            row (dict): one row.

        Raises:
            DatasetError: the row is not a dict, names an unknown column, or holds a wrong-typed value.

        Example:
            >>> from tinyms.data import FeatureSpec
            >>> spec = FeatureSpec.fit({"age": [20.5, 30.5, 41.0, 52.5], "y": [0, 1, 0, 1]}, label="y",
            ...                        verbose=False)
            >>> spec.check_row({"age": "old"})
            Traceback (most recent call last):
            ...
            tinyms.errors.DatasetError: column 'age' is numeric, but it holds 'old'. Fix: pass a number, ...
        """
        if not isinstance(row, dict):
            raise DatasetError(f"a row must be an object of column name -> value, got {type(row).__name__}")
        for name in row:
            if not isinstance(name, str):
                raise DatasetError(f"column name {_show(name)} is not a string")
        self._check_names(list(row))
        for name, value in row.items():
            if name == self.label and name not in self._by_name:
                continue
            field = self.fields[self._by_name[name]]
            if field["kind"] == "numeric":
                try:
                    _number(value)
                except (ValueError, TypeError):
                    raise DatasetError(f"column {name!r} is numeric, but it holds {_show(value)}. Fix: pass a "
                                       f"number, a string holding one, or null for a missing value") from None
            else:
                try:
                    category_key(value)
                except TypeError:
                    raise DatasetError(f"column {name!r} is categorical, but it holds a {type(value).__name__} "
                                       f"({_show(value)}). Fix: {_FIX_TYPES}") from None

    # ------------------------------------------------------------------ JSON
    def to_dict(self):
        """The spec as a JSON-ready dict (with ``format`` and ``version`` keys); :meth:`from_dict` reads it back."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "label": self.label, "objective": self.objective,
                "label_classes": None if self.label_classes is None else list(self.label_classes),
                "label_mean": self.label_mean, "label_scale": self.label_scale,
                "field_size": self.field_size, "vocab_size": self.vocab_size,
                "fields": [dict(f, vocab=list(f["vocab"])) if f["kind"] == "categorical" else dict(f)
                           for f in self.fields]}

    @classmethod
    def from_dict(cls, data):
        """Build a spec from its dict form, checking every key.

        Args:
            data (dict): what :meth:`to_dict` gave (``format``, ``version``, ``field_size`` and
                ``vocab_size`` are optional; when present they are checked).

        Returns:
            FeatureSpec.

        Raises:
            DatasetError: a key is missing, unknown or of the wrong type or value (named).
        """
        if not isinstance(data, dict):
            raise DatasetError(f"a feature spec must be a JSON object, got {type(data).__name__}")
        allowed = {"format", "version", "label", "objective", "label_classes", "label_mean", "label_scale",
                   "field_size", "vocab_size", "fields"}
        extra = sorted(set(data) - allowed)
        if extra:
            raise DatasetError(f"feature spec: unknown key {extra[0]!r} (known: {_list(sorted(allowed))})")
        if data.get("format", FORMAT) != FORMAT:
            raise DatasetError(f"feature spec: format is {data.get('format')!r}, not {FORMAT!r}")
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise DatasetError(f"feature spec: version {version!r} is not one this TinyMS reads ({FORMAT_VERSION}). "
                               f"Fix: upgrade TinyMS, or re-fit the spec")
        for key in ("label", "objective", "fields"):
            if key not in data:
                raise DatasetError(f"feature spec: key {key!r} is missing")
        spec = cls(data["fields"], data["label"], data["objective"], data.get("label_classes"),
                   _float(data.get("label_mean", 0.0), "label_mean"), _float(data.get("label_scale", 1.0),
                                                                              "label_scale"))
        for key in ("field_size", "vocab_size"):
            if key in data and data[key] != getattr(spec, key):
                raise DatasetError(f"feature spec: {key} is {data[key]!r} but its fields give {getattr(spec, key)}")
        return spec

    def save(self, path):
        """Write the spec as JSON to ``path`` (atomically: a temporary file renamed into place).

        Args:
            path (str): the file, e.g. ``run/feature_spec.json`` (folders are created).

        Returns:
            str: the absolute path written.
        """
        from .._fileio import write_json_atomic  # noqa: PLC0415 - MindSpore-free helper

        path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        write_json_atomic(path, self.to_dict(), indent=1)
        return path

    @classmethod
    def load(cls, path, max_bytes=MAX_SPEC_BYTES):
        """Read a spec written by :meth:`save`, checking every key.

        Args:
            path (str): the JSON file.
            max_bytes (int): the largest file read (default 256 MiB).

        Returns:
            FeatureSpec.

        Raises:
            DatasetError: the file is missing, too large, not JSON, or not a valid feature spec
                (the message names the file and what is wrong).
        """
        from .._jsonread import load_file  # noqa: PLC0415 - MindSpore-free helper
        from ..errors import JSONInputError  # noqa: PLC0415

        path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        try:
            data = load_file(path, "feature spec " + path, max_bytes=max_bytes)
        except FileNotFoundError:
            raise DatasetError(f"feature spec {path} does not exist. Fix: pass the feature_spec.json saved with "
                               f"the model") from None
        except (OSError, JSONInputError, ValueError) as exc:
            raise DatasetError(f"feature spec {path} cannot be read ({exc}). Fix: pass the feature_spec.json "
                               f"saved with the model") from None
        try:
            return cls.from_dict(data)
        except DatasetError as exc:
            raise DatasetError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------- helpers of fit
def _key_id(key, lut, oov, missing):
    if key is None:
        return missing
    return lut.get(key, oov)


def _fit_label(profile, values, keys, objective, name):
    if objective == "regression":
        if profile.numbers is None:
            raise DatasetError(f"label column {name!r} holds non-numbers, so it cannot be a regression target. "
                               f"Fix: pass objective='multiclass' or 'binary'")
        numbers = profile.numbers
        scale = float(numbers.std())
        return None, float(numbers.mean()), (scale if scale > 0 else 1.0)
    if profile.numbers is not None:
        classes = [_json_scalar(v) for v in profile.distinct_values.tolist()]
    else:
        first = {}
        for key, value in zip(keys, _as_list(values)):
            if key not in first:
                first[key] = value
        classes = [_json_scalar(first[k]) for k in sorted(first)]
    if objective == "binary" and len(classes) != 2:
        raise DatasetError(f"label column {name!r} has {len(classes)} distinct value(s) "
                           f"({_list(classes[:10])}), so it cannot be a binary target. Fix: pass "
                           f"objective='multiclass' or 'regression', or correct the label")
    if objective == "multiclass" and len(classes) < 2:
        raise DatasetError(f"label column {name!r} has one value only ({_list(classes)}). Fix: pass a table with "
                           f"at least two classes")
    return classes, 0.0, 1.0


def _given_classes(label_classes, keys, objective, name):
    classes = [_json_scalar(c) for c in label_classes] if isinstance(label_classes, (list, tuple)) else None
    if not classes or len(classes) < 2:
        raise DatasetError(f"label_classes must list at least two classes, got {_show(label_classes)}")
    objective = objective or ("binary" if len(classes) == 2 else "multiclass")
    if objective == "regression" or (objective == "binary" and len(classes) != 2):
        raise DatasetError(f"label_classes {_list(classes)} do not fit objective {objective!r}")
    known = {_label_key(c) for c in classes}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise DatasetError(f"label column {name!r} holds {unknown[0]!r}, which is not one of label_classes "
                           f"{_list(classes)}. Fix: add it, or correct the rows")
    return objective, classes


def _fit_numeric(profile, name, transform, next_id):
    present = profile.numbers[~np.isnan(profile.numbers)]
    if transform is None:
        transform = "log" if present.size and present.min() >= 0 and _skewness(present) > LOG_SKEW else "standard"
    if transform == "log":
        present = np.sign(present) * np.log1p(np.abs(present))
    mean = float(present.mean()) if present.size else 0.0
    scale = float(present.std()) if present.size else 0.0
    return {"name": name, "kind": "numeric", "transform": transform, "mean": mean,
            "scale": scale if scale > 0 else 1.0, "id": next_id, "missing_id": next_id + 1}


def _fit_categorical(profile, name, min_freq, max_categories, next_id):
    counts = Counter(profile.get_keys())
    counts.pop(None, None)
    frequent = sorted((k for k, c in counts.items() if c >= min_freq), key=lambda k: (-counts[k], k))
    vocab = frequent[:max_categories]
    notes = []
    rare = len(counts) - len(frequent)
    if rare:
        notes.append(f"{rare} seen < {min_freq}x -> OOV")
    if len(frequent) > max_categories:
        notes.append(f"high cardinality: kept the {max_categories} most frequent, {len(frequent) - max_categories} "
                     f"more -> OOV")
    size = len(vocab)
    field = {"name": name, "kind": "categorical", "vocab": vocab, "offset": next_id, "oov_id": next_id + size,
             "missing_id": next_id + size + 1}
    if profile.numbers is not None:
        field["numbers"] = True
    return field, "; ".join(notes)


def _summary_table(rows, label, objective, classes, num_rows, num_fields, vocab_size):
    head = ("column", "kind", "distinct", "missing", "kept", "note")
    table = [head] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + ("  " + r[-1] if r[-1] else "")
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    target = f"label {label!r}: {objective}" + (f", classes {_list(classes[:10])}" if classes else "")
    return (f"Feature spec from {num_rows:,} rows: {num_fields} field(s), vocab_size {vocab_size:,}; {target}\n"
            + "\n".join(line.rstrip() for line in lines)
            + "\n(kept: vocabulary size of a categorical column, transform of a numeric one)")


# --------------------------------------------------------------------------- validation
def _list(items):
    items = list(items)
    shown = ", ".join(repr(i) if isinstance(i, str) else str(i) for i in items[:30])
    return shown + (f" (and {len(items) - 30} more)" if len(items) > 30 else "") if items else "none"


def _name_list(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    value = list(value)
    for name in value:
        if not isinstance(name, str):
            raise DatasetError(f"{what} must be a list of column names, got {_show(name)}")
    return value


def _check_int(value, what, lowest):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
        raise DatasetError(f"{what} must be an integer >= {lowest}, got {value!r}")


def _float(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DatasetError(f"feature spec: {what} must be a finite number, got {_show(value)}")
    return float(value)


_NUMERIC_KEYS = {"name", "kind", "transform", "mean", "scale", "id", "missing_id"}
_CATEGORICAL_KEYS = {"name", "kind", "vocab", "offset", "oov_id", "missing_id"}
_OPTIONAL_KEYS = {"categorical": {"numbers"}, "numeric": {"missing_value"}}


def _validate(spec):
    if not isinstance(spec.label, str) or not spec.label:
        raise DatasetError(f"feature spec: label must be a column name, got {_show(spec.label)}")
    if spec.objective not in OBJECTIVES:
        raise DatasetError(f"feature spec: objective must be one of {', '.join(OBJECTIVES)}, got "
                           f"{_show(spec.objective)}")
    if spec.objective == "regression":
        if not (math.isfinite(spec.label_scale) and spec.label_scale > 0 and math.isfinite(spec.label_mean)):
            raise DatasetError("feature spec: label_scale must be a positive number and label_mean finite")
    else:
        classes = spec.label_classes
        if not isinstance(classes, list) or len(classes) < 2 or (spec.objective == "binary" and len(classes) != 2):
            count = "2" if spec.objective == "binary" else "2 or more"
            raise DatasetError(f"feature spec: label_classes must list the {count} "
                               f"classes of a {spec.objective} label, got {_show(classes)}")
        if len({_label_key(c) for c in classes}) != len(classes) or None in {_label_key(c) for c in classes}:
            raise DatasetError(f"feature spec: label_classes must be distinct, non-missing values, got "
                               f"{_show(classes)}")
    if not isinstance(spec.fields, list) or not spec.fields:
        raise DatasetError("feature spec: fields must be a non-empty list of field objects")
    names = set()
    for index, field in enumerate(spec.fields):
        where = f"feature spec: field {index}"
        name = field.get("name")
        if not isinstance(name, str) or not name:
            raise DatasetError(f"{where}: name must be a non-empty string, got {_show(name)}")
        where = f"feature spec: field {name!r}"
        if name in names or name == spec.label:
            raise DatasetError(f"{where} is named twice (or is the label)")
        names.add(name)
        kind = field.get("kind")
        keys = {"numeric": _NUMERIC_KEYS, "categorical": _CATEGORICAL_KEYS}.get(kind)
        if keys is None:
            raise DatasetError(f"{where}: kind must be 'numeric' or 'categorical', got {_show(kind)}")
        missing, extra = sorted(keys - set(field)), sorted(set(field) - keys - _OPTIONAL_KEYS.get(kind, set()))
        if missing or extra:
            wrong = f"missing key {missing[0]!r}" if missing else f"unknown key {extra[0]!r}"
            raise DatasetError(f"{where}: {wrong}")
        for key in ("id", "missing_id", "offset", "oov_id"):
            if key in field:
                value = field[key]
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 31 - 1:
                    raise DatasetError(f"{where}: {key} must be an integer id >= 0, got {_show(value)}")
        if kind == "numeric":
            if field["transform"] not in TRANSFORMS:
                raise DatasetError(f"{where}: transform must be one of {', '.join(TRANSFORMS)}, got "
                                   f"{_show(field['transform'])}")
            field["mean"] = _float(field["mean"], f"field {name!r} mean")
            field["scale"] = _float(field["scale"], f"field {name!r} scale")
            if field["scale"] <= 0:
                raise DatasetError(f"{where}: scale must be > 0, got {field['scale']}")
            if "missing_value" in field:
                field["missing_value"] = _float(field["missing_value"], f"field {name!r} missing_value")
        else:
            vocab = field["vocab"]
            numbers = field.get("numbers", False)
            if not isinstance(numbers, bool):
                raise DatasetError(f"{where}: numbers must be true or false, got {_show(numbers)}")
            if not isinstance(vocab, list):
                raise DatasetError(f"{where}: vocab must be a list of strings")
            for entry in vocab:
                if not isinstance(entry, str) or category_key(entry, numbers) != entry:
                    raise DatasetError(f"{where}: vocab entry {_show(entry)} is not a category key (a stripped, "
                                       f"non-missing string; true/false in lower case)")
            if len(set(vocab)) != len(vocab):
                raise DatasetError(f"{where}: vocab lists a value twice")
            if field["offset"] + len(vocab) >= 2 ** 31 - 1:
                raise DatasetError(f"{where}: ids beyond int32")
