"""Your own text: a folder per class of ``.txt`` files, or a CSV/TSV table with a text and a label column.

Both loaders read and check every document before MindSpore sees it: a file that is binary
(holds NUL bytes), is not UTF-8, is empty (only white space) or is larger than
``max_file_bytes`` is a *bad file*. With ``bad_files="raise"`` (the default) the loader raises
one :class:`~tinyms.errors.DatasetError` naming every bad file (the first 20) and why; with
``bad_files="skip"`` they are left out, listed in one warning and in the dataset's
``bad_files`` attribute. Nothing bad reaches MindSpore, so no error surfaces later deep in a
pipeline. Documents are decoded once and held in memory (aclImdb's 25,000 training reviews
take about 33 MB).

Rows have two columns: ``text`` (a numpy ``str``, one document) and ``label`` (int32,
0-based); the dataset's ``class_names`` attribute names label ``i``.
"""

import csv
import io
import os
import warnings

import numpy as np

from .._distributed import default_shards
from ..errors import DatasetError
from ._folders import existing_folder

__all__ = ["TextFolderDataset", "CsvTextDataset", "is_text_folder", "MAX_FILE_BYTES", "MAX_TABLE_BYTES"]

#: the largest document file the folder loaders read by default (10 MiB)
MAX_FILE_BYTES = 10 * 1024 * 1024
#: the largest CSV/TSV file :func:`CsvTextDataset` reads by default (1 GiB)
MAX_TABLE_BYTES = 1024 * 1024 * 1024
TEXT_EXTENSIONS = (".txt",)
_BAD_FILES = ("raise", "skip")
_SHOWN = 20
_FIX_FOLDER = ("pass a folder holding one sub-folder per class, each with its .txt files, e.g. "
               "reviews/neg/1.txt, reviews/pos/2.txt (optionally under train/ and test/)")


# --------------------------------------------------------------------------- reading one document
def decode_text(data, max_bytes=None):
    """``(text, None)`` for good UTF-8 document bytes, ``(None, why)`` for a bad document.

    A UTF-8 byte-order mark is dropped. Bad: more than ``max_bytes`` bytes, a NUL byte
    (a binary file), invalid UTF-8, or nothing but white space.
    """
    if max_bytes is not None and len(data) > max_bytes:
        return None, f"is larger than {max_bytes:,} bytes"
    if b"\x00" in data:
        return None, "is binary (holds NUL bytes), not text"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, (f"is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                      f"re-save it as UTF-8")
    if not text.strip():
        return None, "is empty"
    return text, None


def read_text_file(path, max_bytes):
    """``(text, None)`` or ``(None, why)`` for the document file ``path``, reading at most ``max_bytes + 1`` bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    return decode_text(data, max_bytes)


def _check_bad_files(bad_files):
    if bad_files not in _BAD_FILES:
        raise DatasetError(f"bad_files must be 'raise' or 'skip', got {bad_files!r}")


def _max_bytes(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DatasetError(f"{what} must be a positive number of bytes, got {value!r}")
    return value


def report_bad(bad, bad_files, where, fix):
    """Raise one DatasetError naming ``bad`` ([(name, why)]), or warn once (``bad_files="skip"``)."""
    if not bad:
        return
    shown = "; ".join(f"{name} {why}" for name, why in bad[:_SHOWN])
    more = f" (and {len(bad) - _SHOWN} more)" if len(bad) > _SHOWN else ""
    if bad_files == "raise":
        raise DatasetError(f"{len(bad)} bad document(s) in {where}: {shown}{more}. Fix: {fix}, or "
                           f"pass bad_files='skip' to leave them out with a warning")
    warnings.warn(f"skipped {len(bad)} bad document(s) in {where}: {shown}{more}", stacklevel=3)


# --------------------------------------------------------------------------- the MindSpore dataset
class _Rows:
    """Random-access rows (text, label) for MindSpore's GeneratorDataset."""

    def __init__(self, texts, labels):
        self.texts = texts
        self.labels = labels

    def __getitem__(self, index):
        return np.array(self.texts[index]), np.int32(self.labels[index])

    def __len__(self):
        return len(self.texts)


def text_dataset(texts, labels, class_names, bad, *, shuffle=None, num_samples=None,
                 num_shards=None, shard_id=None, num_parallel_workers=None, sampler=None):
    """A GeneratorDataset of columns ``text``/``label`` with ``class_names`` and ``bad_files`` set."""
    if not texts:
        raise DatasetError("no documents left to read (every one was bad). Fix: check the files")
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    num_shards, shard_id = default_shards(num_shards, shard_id, sampler)
    dataset = ds.GeneratorDataset(_Rows(texts, labels), ["text", "label"], shuffle=shuffle,
                                  num_samples=num_samples, num_shards=num_shards, shard_id=shard_id,
                                  sampler=sampler, num_parallel_workers=num_parallel_workers or 1,
                                  python_multiprocessing=False)
    dataset.class_names = tuple(class_names)
    dataset.bad_files = tuple(name for name, _ in bad)
    return dataset


# --------------------------------------------------------------------------- folders
def _sub_folders(folder):
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def _text_files(folder, extensions):
    with os.scandir(folder) as entries:
        return sorted(e.path for e in entries if not e.name.startswith(".") and e.is_file()
                      and os.path.splitext(e.name)[1].lower() in extensions)


def read_text_folder(dataset_dir, usage=None, class_names=None, *, extensions=TEXT_EXTENSIONS,
                     bad_files="raise", max_file_bytes=MAX_FILE_BYTES, title="text"):
    """Read a folder per class of text files: ``(texts, labels, class_names, bad)``."""
    _check_bad_files(bad_files)
    _max_bytes(max_file_bytes, "max_file_bytes")
    root = existing_folder(dataset_dir, title, _FIX_FOLDER)
    if usage is not None:
        if not isinstance(usage, str) or not usage or os.sep in usage or usage.startswith("."):
            raise DatasetError(f"usage must be the name of a sub-folder such as 'train', got {usage!r}")
        root = existing_folder(os.path.join(root, usage), f"{title} {usage!r}", _FIX_FOLDER)
    found = _sub_folders(root)
    if class_names is None:
        names = tuple(found)
        if not names:
            raise DatasetError(f"{title} folder {root} has no class sub-folders. Fix: {_FIX_FOLDER}")
    else:
        names = tuple(str(n) for n in class_names)
        missing = [n for n in names if n not in found]
        if missing or len(set(names)) != len(names):
            raise DatasetError(f"class_names names {missing[0] if missing else 'a class twice'!r}, but "
                               f"{root} has the sub-folders: {', '.join(found) or 'none'}. Fix: "
                               f"correct class_names or add the folder")
    wanted = {e.lower() for e in extensions}
    texts, labels, bad = [], [], []
    for label, name in enumerate(names):
        folder = os.path.join(root, name)
        files = _text_files(folder, wanted)
        if not files:
            raise DatasetError(f"class folder {folder} holds no {'/'.join(sorted(wanted))} files. Fix: add "
                               f"its documents, or remove the folder (a class without documents "
                               f"cannot be learned)")
        for path in files:
            text, why = read_text_file(path, max_file_bytes)
            if why is not None:
                bad.append((path, why))
                continue
            texts.append(text)
            labels.append(label)
    report_bad(bad, bad_files, root, "fix or delete these files")
    return texts, labels, names, bad


def TextFolderDataset(dataset_dir, usage=None, class_names=None, *, shuffle=None,  # noqa: N802
                      num_samples=None, num_shards=None, shard_id=None, num_parallel_workers=None,
                      extensions=TEXT_EXTENSIONS, bad_files="raise", max_file_bytes=MAX_FILE_BYTES):
    """Read a folder holding one sub-folder per class of ``.txt`` documents.

    aclImdb's ``train/`` (``neg/``, ``pos/``) is one such folder. Each non-hidden sub-folder is
    a class; label ``i`` is the ``i``-th of the sorted sub-folder names, or of ``class_names``
    when given (sub-folders it does not name are then ignored, like aclImdb's ``unsup/``).
    Each non-hidden ``.txt`` file (any case) of a class folder is one document, read as UTF-8.

    Bad files (binary, not UTF-8, empty, larger than ``max_file_bytes``) raise one
    DatasetError naming them all, or are skipped with one warning (``bad_files="skip"``).

    Args:
        dataset_dir: the folder of class sub-folders, or of split folders with ``usage``.
        usage: a split sub-folder to read, e.g. ``"train"`` for ``reviews/train/<class>/``;
            None reads ``dataset_dir`` itself.
        class_names: the classes in label order (default: sorted sub-folder names).
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset (whose shards all have the same size: when the documents do not
            divide evenly, a few are read twice). Under ``msrun`` each worker reads its own
            shard unless ``num_shards``/``shard_id`` are given.
        extensions: file extensions read (default ``(".txt",)``).
        bad_files: ``"raise"`` (default) or ``"skip"``.
        max_file_bytes: the largest document file accepted (default 10 MiB).

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32), with
        attributes ``class_names`` (label order) and ``bad_files`` (paths skipped).

    Raises:
        DatasetError: the folder or a split is missing, there are no class sub-folders,
            ``class_names`` names a missing folder, a class folder holds no documents, or a
            document is bad (with ``bad_files="raise"``); the message names the folder or files.

    Example:
        >>> import os
        >>> from tinyms.data import TextFolderDataset
        >>> for name, words in (("neg", "dull and far too long"), ("pos", "a delight")):
        ...     os.makedirs(os.path.join("reviews", "train", name))
        ...     with open(os.path.join("reviews", "train", name, "1.txt"), "w") as f:
        ...         _ = f.write(words)
        >>> ds = TextFolderDataset("reviews", usage="train", shuffle=False)
        >>> ds.class_names, ds.get_dataset_size()
        (('neg', 'pos'), 2)
        >>> [(str(r["text"]), int(r["label"])) for r in ds.create_dict_iterator(output_numpy=True)]
        [('dull and far too long', 0), ('a delight', 1)]
    """
    texts, labels, names, bad = read_text_folder(
        dataset_dir, usage, class_names, extensions=extensions, bad_files=bad_files,
        max_file_bytes=max_file_bytes)
    return text_dataset(texts, labels, names, bad, shuffle=shuffle, num_samples=num_samples,
                        num_shards=num_shards, shard_id=shard_id,
                        num_parallel_workers=num_parallel_workers)


def is_text_folder(path, extensions=TEXT_EXTENSIONS, usages=("train",)):
    """True when ``path`` is a folder of class sub-folders holding text documents.

    Either ``path/<class>/*.txt`` or, for a folder split by usage, ``path/train/<class>/*.txt``
    (aclImdb's layout). Every class sub-folder must hold at least one text file; a folder
    whose class folders hold images is an image folder, not a text folder. Only names are
    looked at (no file is read), at most a few hundred per class folder.

    Args:
        path: any path.
        extensions: text file extensions (default ``(".txt",)``).
        usages: split sub-folders also looked into (default ``("train",)``).

    Returns:
        bool.

    Example:
        >>> import os
        >>> from tinyms.data import is_text_folder
        >>> os.makedirs(os.path.join("tickets", "billing"))
        >>> with open(os.path.join("tickets", "billing", "1.txt"), "w") as f:
        ...     _ = f.write("I was charged twice")
        >>> is_text_folder("tickets"), is_text_folder(os.path.join("tickets", "billing"))
        (True, False)
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    root = os.path.abspath(os.path.expanduser(os.fspath(path)))
    wanted = {e.lower() for e in extensions}
    candidates = [root] + [os.path.join(root, u) for u in usages]
    for folder in candidates:
        try:
            classes = _sub_folders(folder)
        except OSError:
            continue
        if classes and all(_holds_text(os.path.join(folder, c), wanted) for c in classes):
            return True
    return False


def _holds_text(folder, wanted, limit=500):
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= limit:
                    return False
                if (not entry.name.startswith(".") and os.path.splitext(entry.name)[1].lower() in wanted
                        and entry.is_file()):
                    return True
    except OSError:
        return False
    return False


# --------------------------------------------------------------------------- CSV / TSV
def _column(header, column, what, path):
    if isinstance(column, int) and not isinstance(column, bool):
        if not 0 <= column < len(header):
            raise DatasetError(f"{what} {column} is out of range: {path} has {len(header)} columns "
                               f"({', '.join(header)}). Fix: pass a column name or index")
        return column
    if column not in header:
        raise DatasetError(f"{path} has no column {column!r} (its header: {', '.join(header)}). Fix: "
                           f"pass {what}= one of these names (or a 0-based index)")
    return header.index(column)


def _sniff_delimiter(path, sample):
    if path.lower().endswith(".tsv"):
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if "\t" in sample.split("\n", 1)[0] else ","


def _label_order(values):
    """Sorted label names; numerically when every one is an integer ("2" before "10")."""
    unique = set(values)
    try:
        return tuple(sorted(unique, key=int))
    except ValueError:
        return tuple(sorted(unique))


def read_text_table(path, text_column="text", label_column="label", delimiter=None, class_names=None,
                    *, bad_files="raise", max_file_bytes=MAX_TABLE_BYTES):
    """Read a CSV/TSV table: ``(texts, labels, class_names, bad)``; ``bad`` names rows as ``path:line``."""
    _check_bad_files(bad_files)
    _max_bytes(max_file_bytes, "max_file_bytes")
    fix = ("pass a UTF-8 CSV or TSV file with a header row, e.g. text,label then one document "
           "per row")
    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"CSV/TSV path must be a file path, got {path!r}. Fix: {fix}")
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise DatasetError(f"text table {path} {'is a folder' if os.path.isdir(path) else 'does not exist'}. "
                           f"Fix: {fix}")
    if os.path.getsize(path) > max_file_bytes:
        raise DatasetError(f"{path} is larger than {max_file_bytes:,} bytes. Fix: split it, or pass a "
                           f"larger max_file_bytes=")
    with open(path, "rb") as f:
        data = f.read(max_file_bytes + 1)
    content, why = decode_text(data, max_file_bytes)
    if why is not None:
        raise DatasetError(f"{path} {why}. Fix: {fix}")
    if delimiter is None:
        delimiter = _sniff_delimiter(path, content[:65536])
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
        t_col = _column(header, text_column, "text_column", path)
        l_col = _column(header, label_column, "label_column", path)
        texts, names, bad = [], [], []
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) != len(header):
                raise DatasetError(f"{path}:{line} has {len(row)} fields, the header {len(header)} "
                                   f"(delimiter {delimiter!r}). Fix: quote fields holding the "
                                   f"delimiter, or pass delimiter=")
            text, label = row[t_col], row[l_col].strip()
            if not text.strip():
                bad.append((f"{path}:{line}", "has an empty text"))
            elif not label:
                bad.append((f"{path}:{line}", "has an empty label"))
            else:
                texts.append(text)
                names.append(label)
    except csv.Error as exc:
        raise DatasetError(f"{path}:{reader.line_num} cannot be parsed ({exc}). Fix: {fix}") from None
    except StopIteration:
        raise DatasetError(f"{path} has no header row. Fix: {fix}") from None
    order = _label_order(names) if class_names is None else tuple(str(n) for n in class_names)
    ids = {name: i for i, name in enumerate(order)}
    unknown = sorted(set(names) - set(ids))
    if unknown:
        raise DatasetError(f"{path}: label {unknown[0]!r} is not one of class_names ({', '.join(order)}). "
                           f"Fix: add it to class_names, or correct the rows")
    report_bad(bad, bad_files, path, "fill in or delete these rows")
    return texts, [ids[n] for n in names], order, bad


def CsvTextDataset(path, text_column="text", label_column="label", delimiter=None,  # noqa: N802
                   class_names=None, *, shuffle=None, num_samples=None, num_shards=None,
                   shard_id=None, num_parallel_workers=None, bad_files="raise",
                   max_file_bytes=MAX_TABLE_BYTES):
    """Read a CSV or TSV file with a header row naming a text column and a label column.

    Labels are class names (any text): label ``i`` is the ``i``-th of the sorted distinct
    names (numerically sorted when all are integers, so ``"2"`` comes before ``"10"``), or of
    ``class_names`` when given. Fields may be quoted and span lines (Python's ``csv``).

    Args:
        path: the ``.csv``/``.tsv`` file, UTF-8.
        text_column, label_column: column names from the header (or 0-based indices).
        delimiter: the field separator; None guesses it (``.tsv`` files: tab; else from the
            first 64 KiB among ``,`` tab ``;`` ``|``).
        class_names: the classes in label order (default: sorted distinct labels).
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset.
        bad_files: ``"raise"`` (default) or ``"skip"`` for rows with an empty text or label.
        max_file_bytes: the largest file accepted (default 1 GiB).

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32), with
        attributes ``class_names`` and ``bad_files`` (``path:line`` of rows skipped).

    Raises:
        DatasetError: the file is missing, binary, not UTF-8, too large or malformed (the
            line is named), a column is missing, a label is not in ``class_names``, or a row
            is bad (with ``bad_files="raise"``).

    Example:
        >>> from tinyms.data import CsvTextDataset
        >>> with open("tickets.csv", "w") as f:
        ...     _ = f.write('body,team\\n"Refund, please",billing\\nApp crashes on start,tech\\n')
        >>> ds = CsvTextDataset("tickets.csv", text_column="body", label_column="team", shuffle=False)
        >>> ds.class_names
        ('billing', 'tech')
        >>> [(str(r["text"]), int(r["label"])) for r in ds.create_dict_iterator(output_numpy=True)]
        [('Refund, please', 0), ('App crashes on start', 1)]
    """
    texts, labels, names, bad = read_text_table(
        path, text_column, label_column, delimiter, class_names, bad_files=bad_files,
        max_file_bytes=max_file_bytes)
    return text_dataset(texts, labels, names, bad, shuffle=shuffle, num_samples=num_samples,
                        num_shards=num_shards, shard_id=shard_id,
                        num_parallel_workers=num_parallel_workers)
