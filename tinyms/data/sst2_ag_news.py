"""Two public text-classification benchmarks read from their official files.

- GLUE's SST-2 (``download_dataset("sst2")``): single movie-review sentences, negative 0 /
  positive 1; ``train.tsv`` and ``dev.tsv`` (``sentence``, ``label``) and an unlabelled
  ``test.tsv`` (``index``, ``sentence``).
- AG News (``download_dataset("ag_news")``): news titles and descriptions in four topics;
  ``train.csv`` and ``test.csv`` without a header (class index 1-4, title, description).

Both loaders check every row before MindSpore sees it, like :func:`CsvTextDataset`: a row with
the wrong number of fields, an empty text or an unknown label is a *bad row*, named as
``path:line`` in one :class:`~tinyms.errors.DatasetError` (default) or left out with one
warning (``bad_files="skip"``).
"""

import csv
import io
import os
import re

from ..errors import DatasetError
from ._folders import check_usage
from .text import (MAX_TABLE_BYTES, _check_bad_files, _max_bytes, read_text_file, report_bad,
                   text_dataset)

__all__ = ["Sst2Dataset", "AgNewsDataset", "SST2_CLASSES", "AG_NEWS_CLASSES", "UNLABELLED"]

#: SST-2's label 0 is a negative sentence, 1 a positive one
SST2_CLASSES = ("negative", "positive")
#: AG News' class indices 1-4 in order (its classes.txt), as labels 0-3
AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")
#: the label of rows that have none (SST-2's test split)
UNLABELLED = -1

_SST2_FIX = ("run tinyms.data.download_dataset('sst2') and pass the folder it returns, or the "
             "SST-2 folder holding train.tsv, dev.tsv and test.tsv")
_AG_FIX = ("run tinyms.data.download_dataset('ag_news') and pass the folder it returns, or a "
           "folder holding AG News' train.csv and test.csv")
_BACKSLASHES = re.compile(r"\s*\\+\s*")


def _root(dataset_dir, wanted, sub_folders, title, fix):
    """The folder holding one of the files ``wanted``: ``dataset_dir`` or one of its ``sub_folders``."""
    if not isinstance(dataset_dir, (str, os.PathLike)):
        raise DatasetError(f"{title} dataset_dir must be a folder path, got {dataset_dir!r}. Fix: {fix}")
    root = os.path.abspath(os.path.expanduser(os.fspath(dataset_dir)))
    for folder in [root] + [os.path.join(root, sub) for sub in sub_folders]:
        if any(os.path.isfile(os.path.join(folder, name)) for name in wanted):
            return folder
    what = f"holds no {' or '.join(wanted)}" if os.path.isdir(root) else "does not exist"
    raise DatasetError(f"{title} folder {root} {what}. Fix: {fix}")


def _rows(folder, name, title, fix, max_file_bytes, **csv_options):
    """``(path, csv reader)`` over the UTF-8 table ``folder/name``, read whole (at most ``max_file_bytes``)."""
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise DatasetError(f"{title} folder {folder} has no {name}. Fix: {fix}")
    content, why = read_text_file(path, max_file_bytes)
    if why is not None:
        raise DatasetError(f"{title} file {path} {why}. Fix: {fix}"
                           + (", or pass a larger max_file_bytes=" if "larger" in why else ""))
    return path, csv.reader(io.StringIO(content, newline=""), **csv_options)


def _parse(path, reader, parse_row, fix, bad_files):
    """Apply ``parse_row(row) -> (text, label) or why`` to every non-blank row; bad rows are
    reported as ``bad_files`` says. Returns texts, labels, bad rows."""
    texts, labels, bad = [], [], []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            parsed = parse_row(row)
            if isinstance(parsed, str):
                bad.append((f"{path}:{reader.line_num}", parsed))
            else:
                texts.append(parsed[0])
                labels.append(parsed[1])
    except csv.Error as exc:
        raise DatasetError(f"{path}:{reader.line_num} cannot be parsed ({exc}). Fix: {fix}") from None
    report_bad(bad, bad_files, path, "correct or delete these rows")
    return texts, labels, bad


# --------------------------------------------------------------------------- SST-2
def _sst2_split(folder, split, max_file_bytes, bad_files):
    path, reader = _rows(folder, f"{split}.tsv", "SST-2", _SST2_FIX, max_file_bytes,
                         delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader, [])]
    needed = ("index", "sentence") if split == "test" else ("sentence", "label")
    if any(column not in header for column in needed):
        raise DatasetError(f"{path} does not start with SST-2's header ({chr(9).join(needed)!r} "
                           f"columns); its first line is {chr(9).join(header)[:80]!r}. Fix: {_SST2_FIX}")
    text_at = header.index("sentence")
    label_at = header.index("label") if split != "test" else None

    def parse_row(row):
        if len(row) != len(header):
            return f"has {len(row)} tab-separated fields, the header {len(header)}"
        text = row[text_at]
        if not text.strip():
            return "has an empty sentence"
        if label_at is None:
            return text, UNLABELLED
        label = row[label_at].strip()
        if label not in ("0", "1"):
            return f"has label {label[:20]!r}, not 0 (negative) or 1 (positive)"
        return text, int(label)

    return _parse(path, reader, parse_row, _SST2_FIX, bad_files)


def Sst2Dataset(dataset_dir, usage="train", *, shuffle=None, num_samples=None,  # noqa: N802
                num_shards=None, shard_id=None, num_parallel_workers=None, bad_files="raise",
                max_file_bytes=MAX_TABLE_BYTES):
    """Read GLUE's SST-2 sentences as rows of ``text`` and ``label`` (negative 0, positive 1).

    Reads ``<split>.tsv`` of the SST-2 folder (tab-separated, a header line, no quoting: a
    ``"`` is part of the sentence). The test split has no labels (GLUE scores it on its
    server): ``usage="test"`` yields every test sentence with label ``-1``
    (:data:`UNLABELLED`) and the dataset's ``labelled`` attribute is False, so it serves for
    prediction only; accuracy needs ``"dev"``. The ``original/`` files of the archive are
    not read.

    Args:
        dataset_dir: the folder :func:`download_dataset` returns for ``"sst2"``, or an
            ``SST-2`` folder holding ``train.tsv``, ``dev.tsv`` and ``test.tsv``.
        usage: ``"train"`` (default, 67,349 sentences), ``"dev"`` (872) or ``"test"``
            (1,821, unlabelled).
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset.
        bad_files: ``"raise"`` (default) or ``"skip"`` for bad rows (wrong number of fields,
            empty sentence, label other than 0 or 1).
        max_file_bytes: the largest ``.tsv`` file accepted (default 1 GiB).

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32), with
        attributes ``class_names`` ``("negative", "positive")``, ``labelled`` and
        ``bad_files`` (``path:line`` of rows skipped).

    Raises:
        DatasetError: the folder or the split's file is missing, binary, not UTF-8 or too
            large, its header is not SST-2's, ``usage`` is unknown, or a row is bad (with
            ``bad_files="raise"``); the message names it and the fix.

    Example:
        >>> import os
        >>> from tinyms.data import Sst2Dataset
        >>> # path = tinyms.data.download_dataset("sst2") gives the whole SST-2; a two-row copy:
        >>> os.makedirs(os.path.join("sst2", "SST-2"))
        >>> with open(os.path.join("sst2", "SST-2", "dev.tsv"), "w") as f:
        ...     _ = f.write("sentence\\tlabel\\na gorgeous film \\t1\\ntedious \\t0\\n")
        >>> ds = Sst2Dataset("sst2", usage="dev", shuffle=False)
        >>> ds.class_names, [(str(r["text"]), int(r["label"])) for r in ds.create_dict_iterator(output_numpy=True)]
        (('negative', 'positive'), [('a gorgeous film ', 1), ('tedious ', 0)])
    """
    check_usage(usage, ("train", "dev", "test"), "SST-2")
    _check_bad_files(bad_files)
    _max_bytes(max_file_bytes, "max_file_bytes")
    folder = _root(dataset_dir, ("train.tsv", "dev.tsv", "test.tsv"), ("SST-2",), "SST-2", _SST2_FIX)
    texts, labels, bad = _sst2_split(folder, usage, max_file_bytes, bad_files)
    dataset = text_dataset(texts, labels, SST2_CLASSES, bad, shuffle=shuffle,
                           num_samples=num_samples, num_shards=num_shards, shard_id=shard_id,
                           num_parallel_workers=num_parallel_workers)
    dataset.labelled = usage != "test"
    return dataset


# --------------------------------------------------------------------------- AG News
def ag_news_text(title, description):
    """One AG News document: ``title + " " + description``, line breaks turned into spaces.

    The CSV files mark a line break inside a field with a backslash (their readme says
    ``\\n``; the files mostly hold a lone ``\\``, e.g. ``dwindling\\band`` for "dwindling" /
    "band"), so every run of backslashes with the white space around it becomes one space.
    """
    return _BACKSLASHES.sub(" ", f"{title.strip()} {description.strip()}").strip()


def _ag_news_split(folder, split, max_file_bytes, bad_files):
    path, reader = _rows(folder, f"{split}.csv", "AG News", _AG_FIX, max_file_bytes)
    indices = {str(i + 1): i for i in range(len(AG_NEWS_CLASSES))}

    def parse_row(row):
        if len(row) != 3:
            return f"has {len(row)} fields, not 3 (class index, title, description)"
        label = row[0].strip()
        if label not in indices:
            return f"has class index {label[:20]!r}, not 1-{len(indices)}"
        text = ag_news_text(row[1], row[2])
        if not text:
            return "has an empty title and description"
        return text, indices[label]

    return _parse(path, reader, parse_row, _AG_FIX, bad_files)


def AgNewsDataset(dataset_dir, usage="train", *, shuffle=None, num_samples=None,  # noqa: N802
                  num_shards=None, shard_id=None, num_parallel_workers=None, bad_files="raise",
                  max_file_bytes=MAX_TABLE_BYTES):
    """Read AG News as rows of ``text`` (title and description) and ``label`` (topic 0-3).

    Reads ``train.csv`` or ``test.csv`` (no header; quoted fields: class index 1-4, title,
    description). Label ``i`` is class index ``i + 1``: World, Sports, Business, Sci/Tech
    (the order of AG News' ``classes.txt``). The text is the title, a space and the
    description, with the files' backslash line breaks turned into spaces
    (:func:`ag_news_text`); HTML remnants such as ``#36;`` are left as they are.

    Args:
        dataset_dir: the folder :func:`download_dataset` returns for ``"ag_news"``, or a
            folder (e.g. ``ag_news_csv``) holding ``train.csv`` and ``test.csv``.
        usage: ``"train"`` (default, 120,000 articles) or ``"test"`` (7,600).
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset.
        bad_files: ``"raise"`` (default) or ``"skip"`` for bad rows (not 3 fields, a class
            index other than 1-4, an empty text).
        max_file_bytes: the largest ``.csv`` file accepted (default 1 GiB).

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32), with
        attributes ``class_names`` ``("World", "Sports", "Business", "Sci/Tech")`` and
        ``bad_files`` (``path:line`` of rows skipped).

    Raises:
        DatasetError: the folder or the split's file is missing, binary, not UTF-8, too large
            or unparsable, ``usage`` is unknown, or a row is bad (with ``bad_files="raise"``);
            the message names it and the fix.

    Example:
        >>> import os
        >>> from tinyms.data import AgNewsDataset
        >>> # path = tinyms.data.download_dataset("ag_news") gives all 127,600 articles; a two-row copy:
        >>> os.makedirs("ag_news")
        >>> with open(os.path.join("ag_news", "test.csv"), "w") as f:
        ...     _ = f.write('"2","Late goal","A header in the\\\\last minute."\\n"4","New chip","Faster, cooler."\\n')
        >>> ds = AgNewsDataset("ag_news", usage="test", shuffle=False)
        >>> [(str(r["text"]), int(r["label"])) for r in ds.create_dict_iterator(output_numpy=True)]
        [('Late goal A header in the last minute.', 1), ('New chip Faster, cooler.', 3)]
        >>> ds.class_names[3]
        'Sci/Tech'
    """
    check_usage(usage, ("train", "test"), "AG News")
    _check_bad_files(bad_files)
    _max_bytes(max_file_bytes, "max_file_bytes")
    folder = _root(dataset_dir, ("train.csv", "test.csv"), ("ag_news_csv",), "AG News", _AG_FIX)
    texts, labels, bad = _ag_news_split(folder, usage, max_file_bytes, bad_files)
    return text_dataset(texts, labels, AG_NEWS_CLASSES, bad, shuffle=shuffle,
                        num_samples=num_samples, num_shards=num_shards, shard_id=shard_id,
                        num_parallel_workers=num_parallel_workers)
