"""IMDB movie reviews (aclImdb v1): 25,000 training and 25,000 test reviews labelled neg/pos."""

import os

from ..errors import DatasetError
from ._folders import check_usage
from .text import MAX_FILE_BYTES, read_text_folder, text_dataset

__all__ = ["ImdbDataset", "IMDB_CLASSES"]

#: label 0 is a negative review, 1 a positive one
IMDB_CLASSES = ("neg", "pos")
_USAGES = ("train", "test", "all")
_FIX = ("run tinyms.data.download_dataset('imdb') and pass the folder it returns, or the "
        "aclImdb folder holding train/neg, train/pos, test/neg and test/pos")


def _imdb_root(dataset_dir):
    """The folder holding train/ and test/: ``dataset_dir`` itself or its ``aclImdb/``."""
    if not isinstance(dataset_dir, (str, os.PathLike)):
        raise DatasetError(f"IMDB dataset_dir must be a folder path, got {dataset_dir!r}. Fix: {_FIX}")
    root = os.path.abspath(os.path.expanduser(os.fspath(dataset_dir)))
    for folder in (root, os.path.join(root, "aclImdb")):
        if os.path.isdir(os.path.join(folder, "train")) or os.path.isdir(os.path.join(folder, "test")):
            return folder
    what = "has no train/ or test/ folder" if os.path.isdir(root) else "does not exist"
    raise DatasetError(f"IMDB folder {root} {what}. Fix: {_FIX}")


def ImdbDataset(dataset_dir, usage="train", *, shuffle=None, num_samples=None,  # noqa: N802
                num_shards=None, shard_id=None, num_parallel_workers=None, bad_files="raise",
                max_file_bytes=MAX_FILE_BYTES):
    """Read the IMDB reviews of aclImdb v1 as rows of ``text`` and ``label`` (neg 0, pos 1).

    Reads ``<split>/neg/*.txt`` and ``<split>/pos/*.txt``; the unlabelled ``train/unsup/``
    reviews, the bag-of-words files and the vocabulary are ignored. Every review is checked
    as :func:`TextFolderDataset` checks documents (bad files raise one DatasetError naming
    them, or are skipped with ``bad_files="skip"``).

    TinyMS 0.3's ``ImdbDataset(imdb_path, glove_path, embed_size)`` tokenized, padded to 500
    words and wrote MindRecord files in one go; here the dataset yields raw text, which
    ``tinyms.text`` transforms turn into ids, and :func:`load_glove` builds the embedding
    matrix for any vocabulary.

    Args:
        dataset_dir: the folder :func:`download_dataset` returns for ``"imdb"``, or an
            ``aclImdb`` folder.
        usage: ``"train"`` (default), ``"test"`` or ``"all"`` (train then test).
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset.
        bad_files: ``"raise"`` (default) or ``"skip"``.
        max_file_bytes: the largest review file accepted (default 10 MiB).

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32),
        attribute ``class_names`` ``("neg", "pos")``.

    Raises:
        DatasetError: the folder, a split or a class folder is missing, ``usage`` is unknown,
            or a review file is bad; the message names it and the fix.

    Example:
        >>> import os
        >>> from tinyms.data import ImdbDataset
        >>> # path = tinyms.data.download_dataset("imdb") gives the full aclImdb; a two-review copy:
        >>> for label, words in (("neg", "Dull."), ("pos", "A delight.")):
        ...     os.makedirs(os.path.join("imdb", "aclImdb", "test", label))
        ...     with open(os.path.join("imdb", "aclImdb", "test", label, "0_5.txt"), "w") as f:
        ...         _ = f.write(words)
        >>> ds = ImdbDataset("imdb", usage="test", shuffle=False)
        >>> ds.class_names, [(str(r["text"]), int(r["label"])) for r in ds.create_dict_iterator(output_numpy=True)]
        (('neg', 'pos'), [('Dull.', 0), ('A delight.', 1)])
    """
    check_usage(usage, _USAGES, "IMDB")
    root = _imdb_root(dataset_dir)
    texts, labels, bad = [], [], []
    for split in (("train", "test") if usage == "all" else (usage,)):
        if not os.path.isdir(os.path.join(root, split)):
            raise DatasetError(f"IMDB folder {root} has no {split}/ folder. Fix: {_FIX}")
        part = read_text_folder(root, split, IMDB_CLASSES, bad_files=bad_files,
                                max_file_bytes=max_file_bytes, title="IMDB")
        texts += part[0]
        labels += part[1]
        bad += part[3]
    return text_dataset(texts, labels, IMDB_CLASSES, bad, shuffle=shuffle, num_samples=num_samples,
                        num_shards=num_shards, shard_id=shard_id,
                        num_parallel_workers=num_parallel_workers)
