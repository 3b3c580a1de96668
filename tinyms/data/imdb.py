"""IMDB movie reviews (aclImdb v1): 25,000 training and 25,000 test reviews labelled neg/pos.

Two forms share the name :func:`ImdbDataset`: ``ImdbDataset(dataset_dir, usage)`` gives the
raw reviews as a MindSpore dataset of ``text``/``label`` rows, and TinyMS 0.3's
``ImdbDataset(imdb_path, glove_path, embed_size)`` gives an :class:`ImdbFeatures`: the reviews
as GloVe word ids padded to 500, written to MindRecord files by ``convert_to_mindrecord``.
"""

import collections
import os
import re
import shutil
import tempfile

import numpy as np

from .._fileio import FILE_MODE, TMP_PREFIX, atomic_file, fsync_path, sweep_stale_temps
from ..errors import DatasetError
from ._folders import check_usage
from .glove import GLOVE_6B, _read_vectors
from .text import MAX_FILE_BYTES, read_text_folder, text_dataset

__all__ = ["ImdbDataset", "ImdbFeatures", "IMDB_CLASSES"]

#: label 0 is a negative review, 1 a positive one
IMDB_CLASSES = ("neg", "pos")
_USAGES = ("train", "test", "all")
_SPLITS = ("train", "test")
_FIX = ("run tinyms.data.download_dataset('imdb') and pass the folder it returns, or the "
        "aclImdb folder holding train/neg, train/pos, test/neg and test/pos")
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_WRITE_ROWS = 2048


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


def _is_glove_argument(usage, embed_size, glove_path):
    """Whether a call is TinyMS 0.3's ``ImdbDataset(imdb_path, glove_path, embed_size)``."""
    if glove_path is not None or embed_size is not None:
        return True
    if usage in _USAGES or not isinstance(usage, (str, os.PathLike)):
        return False
    text = os.fspath(usage)
    return os.path.exists(os.path.expanduser(text)) or any(s in text for s in ("/", os.sep, "."))


def ImdbDataset(dataset_dir=None, usage="train", embed_size=None, *, glove_path=None,  # noqa: N802
                imdb_path=None, shuffle=None, num_samples=None, num_shards=None, shard_id=None,
                num_parallel_workers=None, bad_files="raise", max_file_bytes=MAX_FILE_BYTES,
                max_length=500, oov_words="unknown"):
    """Read the IMDB reviews of aclImdb v1: raw rows, or TinyMS 0.3's GloVe word ids.

    ``ImdbDataset(dataset_dir, usage)`` reads ``<split>/neg/*.txt`` and ``<split>/pos/*.txt``
    as rows of ``text`` and ``label`` (neg 0, pos 1); the unlabelled ``train/unsup/`` reviews,
    the bag-of-words files and the vocabulary are ignored. Every review is checked as
    :func:`TextFolderDataset` checks documents (bad files raise one DatasetError naming them,
    or are skipped with ``bad_files="skip"``). ``tinyms.text`` transforms turn the text into
    ids and :func:`load_glove` builds an embedding matrix for any vocabulary.

    TinyMS 0.3's form ``ImdbDataset(imdb_path, glove_path, embed_size=300)`` (recognised by a
    second argument that is an existing file or folder or a path rather than a usage name, or
    by ``glove_path=``/``embed_size=``) returns an :class:`ImdbFeatures` instead: both splits
    as int32 word ids padded to ``max_length`` with the GloVe embedding table of the training
    vocabulary, with 0.3's ``parse()``, ``get_datas(seg)`` and
    ``convert_to_mindrecord(preprocess_path)``. It needs no gensim.

    Args:
        dataset_dir: the folder :func:`download_dataset` returns for ``"imdb"``, or an
            ``aclImdb`` folder (0.3's ``imdb_path``, also accepted as ``imdb_path=``).
        usage: ``"train"`` (default), ``"test"`` or ``"all"`` (train then test); in 0.3's
            form, the GloVe folder (holding ``glove.6B.<embed_size>d.txt``) or file.
        embed_size: 0.3's form only: the GloVe dimension (default 300).
        glove_path: 0.3's form only: the GloVe folder or file, as a keyword.
        shuffle, num_samples, num_shards, shard_id, num_parallel_workers: as for MindSpore's
            GeneratorDataset (raw rows only).
        bad_files: ``"raise"`` (default) or ``"skip"``.
        max_file_bytes: the largest review file accepted (default 10 MiB).
        max_length: 0.3's form only: the number of ids per review (default 500, 0.3's).
        oov_words: 0.3's form only, see :class:`ImdbFeatures`.

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``text`` (str) and ``label`` (int32),
        attribute ``class_names`` ``("neg", "pos")``; in 0.3's form an :class:`ImdbFeatures`.

    Raises:
        DatasetError: the folder, a split or a class folder is missing, ``usage`` is unknown,
            a review file is bad, or (0.3's form) the GloVe file is missing or has another
            dimension than ``embed_size``; the message names it and the fix.

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
    if imdb_path is not None:
        if dataset_dir is not None:
            raise DatasetError("ImdbDataset got both dataset_dir and imdb_path. Fix: pass one of them")
        dataset_dir = imdb_path
    if dataset_dir is None:
        raise DatasetError(f"ImdbDataset needs the IMDB folder. Fix: {_FIX}")
    if _is_glove_argument(usage, embed_size, glove_path):
        if glove_path is not None and usage != "train":
            raise DatasetError("ImdbDataset got a GloVe path both as the second argument and as "
                               "glove_path=. Fix: pass it once")
        glove = glove_path if glove_path is not None else (None if usage == "train" else usage)
        if glove is None:
            raise DatasetError("ImdbDataset got embed_size= but no GloVe path. Fix: call "
                               "ImdbDataset(imdb_path, glove_path, embed_size)")
        return ImdbFeatures(dataset_dir, glove, 300 if embed_size is None else embed_size,
                            max_length=max_length, oov_words=oov_words, bad_files=bad_files,
                            max_file_bytes=max_file_bytes)
    if usage not in _USAGES and isinstance(usage, str):
        raise DatasetError(f"IMDB usage must be one of 'train', 'test', 'all', or (TinyMS 0.3's "
                           f"form) the GloVe folder, got {usage!r}, which is neither. Fix: pass a "
                           f"usage name, or the path of the folder holding glove.6B.<dim>d.txt")
    check_usage(usage, _USAGES, "IMDB")
    root = _imdb_root(dataset_dir)
    texts, labels, bad = [], [], []
    for split in (_SPLITS if usage == "all" else (usage,)):
        part = _read_split(root, split, bad_files, max_file_bytes)
        texts += part[0]
        labels += part[1]
        bad += part[3]
    return text_dataset(texts, labels, IMDB_CLASSES, bad, shuffle=shuffle, num_samples=num_samples,
                        num_shards=num_shards, shard_id=shard_id,
                        num_parallel_workers=num_parallel_workers)


def _read_split(root, split, bad_files, max_file_bytes):
    if not os.path.isdir(os.path.join(root, split)):
        raise DatasetError(f"IMDB folder {root} has no {split}/ folder. Fix: {_FIX}")
    return read_text_folder(root, split, IMDB_CLASSES, bad_files=bad_files,
                            max_file_bytes=max_file_bytes, title="IMDB")


def review_words(text):
    """The words of a review as TinyMS 0.3 saw them: lower-cased, split at white space.

    aclImdb marks line breaks with ``<br />``; they are word breaks here (0.3 glued them to
    the neighbouring words, which made both unknown).
    """
    return _LINE_BREAK.sub(" ", text).lower().split()


def _glove_file(glove_path, embed_size):
    """The GloVe text file of ``glove_path`` (a file, or a folder holding glove.6B.<dim>d.txt)."""
    if not isinstance(glove_path, (str, os.PathLike)):
        raise DatasetError(f"glove_path must be a folder or file path, got {glove_path!r}")
    path = os.path.abspath(os.path.expanduser(os.fspath(glove_path)))
    name = f"glove.6B.{embed_size}d.txt"
    fix = (f"download {GLOVE_6B['url']} (from {GLOVE_6B['homepage']}), unzip it and pass the folder "
           f"holding {name}, or the path of a GloVe .txt file (no header line is needed)")
    if os.path.isdir(path):
        path = os.path.join(path, name)
        if not os.path.isfile(path):
            others = sorted(n for n in os.listdir(os.path.dirname(path)) if n.endswith(".txt"))
            seen = f" (it holds {', '.join(others[:5])}: pass the matching embed_size)" if others else ""
            raise DatasetError(f"GloVe file {path} does not exist{seen}. Fix: {fix}")
    elif not os.path.isfile(path):
        raise DatasetError(f"GloVe folder or file {path} does not exist. Fix: {fix}")
    return path


def _glove_width(path):
    """The number of values per vector in a GloVe file (a word2vec header line is skipped)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(iter(lambda: f.readline(1 << 20), b""), start=1):
            fields = raw.rstrip(b"\r\n").rstrip(b" ").split(b" ")
            if fields == [b""]:
                continue
            if number == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                continue
            return len(fields) - 1
    raise DatasetError(f"GloVe file {path} holds no vectors. Fix: pass an unzipped glove.6B.<dim>d.txt file")


class ImdbFeatures:
    """aclImdb as GloVe word ids and labels, with TinyMS 0.3's preprocessing API (no gensim).

    What ``ImdbDataset(imdb_path, glove_path, embed_size)`` returns. Each review (``train``
    and ``test``, ``neg`` 0 and ``pos`` 1) becomes ``max_length`` int32 word ids: lower-cased,
    split at white space, truncated after ``max_length`` words or padded with 0; id 0 is also
    every word outside the vocabulary. The vocabulary is built from the training reviews only;
    row ``i`` of ``weight`` is the GloVe vector of word ``i`` and row 0 is zeros.

    Differences from 0.3, where its output was silently wrong or needlessly large:

    - Ids are deterministic: words are numbered by descending training frequency, ties in
      alphabetical order, and files are read in sorted order (0.3 numbered a Python ``set``,
      so ids and ``weight.txt`` changed from run to run, and a checkpoint trained in one run
      did not match the ids of the next).
    - ``get_datas("test")`` returns the training vocabulary's weight, which the test ids index
      (0.3 returned a table built from the test reviews' own vocabulary, not matching them).
    - Words are split at any white space and ``<br />`` is a break (0.3 split at single
      spaces, so double spaces made an empty word, and deleted newlines, gluing words).
    - ``oov_words="unknown"`` (default): training words without a GloVe vector get id 0. 0.3
      gave each its own all-zero row, which its SentimentNet never trains (the embedding is
      frozen): the same predictions, with a table and ``weight.txt`` several times larger.
      ``oov_words="keep"`` numbers them as 0.3 did (zero rows).
    - ``convert_to_mindrecord`` writes every file under a temporary name, fsyncs it and
      renames it into place (0.3 could leave half-written files), replacing older output.
    - The GloVe file needs no word2vec header line (gensim needed one); one line with two
      integers at the top is skipped.

    Memory: the reviews of one split (about 33 MB for aclImdb) and the int32 ids
    (25,000 x 500 x 4 bytes = 50 MB per split); of GloVe only the vocabulary's vectors.

    Args:
        imdb_path: the aclImdb folder (or the folder holding it).
        glove_path: a folder holding ``glove.6B.<embed_size>d.txt``, or a GloVe text file.
        embed_size: the GloVe dimension (default 300, 0.3's), checked against the file.
        max_length: ids per review (default 500, 0.3's).
        oov_words: ``"unknown"`` (default) or ``"keep"``, see above.
        bad_files: ``"raise"`` (default) or ``"skip"`` for unreadable reviews.
        max_file_bytes: the largest review file accepted (default 10 MiB).

    Attributes:
        vocabulary: the words in id order; ``vocabulary[0]`` is ``"<unk>"``.
        word_to_id: dict word -> id (0 for ``"<unk>"``).
        glove_file: the GloVe file read.

    Raises:
        DatasetError: the aclImdb folder or a split/class folder is missing, a review file is
            bad, the GloVe file is missing, damaged or of another dimension than
            ``embed_size``; the message names the path and the fix.

    Example:
        >>> import os
        >>> from tinyms.data import ImdbDataset
        >>> for split in ("train", "test"):
        ...     for label, words in (("neg", "a dull film"), ("pos", "a fine film")):
        ...         os.makedirs(os.path.join("aclImdb", split, label))
        ...         with open(os.path.join("aclImdb", split, label, "0_5.txt"), "w") as f:
        ...             _ = f.write(words)
        >>> os.makedirs("glove")
        >>> with open(os.path.join("glove", "glove.6B.2d.txt"), "w") as f:
        ...     _ = f.write("film 0.5 1\\nfine 1 0\\ndull -1 0\\n")
        >>> imdb = ImdbDataset("aclImdb", "glove", embed_size=2)
        >>> imdb.vocabulary  # "a" has no GloVe vector: it is unknown (id 0)
        ['<unk>', 'film', 'dull', 'fine']
        >>> features, labels, weight = imdb.get_datas("train")
        >>> features.shape, features[:, :4].tolist(), labels.tolist()
        ((2, 500), [[0, 2, 1, 0], [0, 3, 1, 0]], [0, 1])
        >>> weight.shape, weight[1].tolist(), weight[0].tolist()
        ((4, 2), [0.5, 1.0], [0.0, 0.0])
    """

    def __init__(self, imdb_path, glove_path, embed_size=300, *, max_length=500, oov_words="unknown",
                 bad_files="raise", max_file_bytes=MAX_FILE_BYTES):
        if isinstance(embed_size, bool) or not isinstance(embed_size, (int, np.integer)) or embed_size < 1:
            raise DatasetError(f"embed_size must be a positive integer (50, 100, 200 or 300 for "
                               f"glove.6B), got {embed_size!r}")
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 1:
            raise DatasetError(f"max_length must be a positive integer, got {max_length!r}")
        if oov_words not in ("unknown", "keep"):
            raise DatasetError(f"oov_words must be 'unknown' or 'keep', got {oov_words!r}")
        self._root = _imdb_root(imdb_path)
        for split in _SPLITS:
            for label in IMDB_CLASSES:
                folder = os.path.join(self._root, split, label)
                if not os.path.isdir(folder):
                    raise DatasetError(f"IMDB folder {folder} does not exist. Fix: {_FIX}")
        self.embed_size = int(embed_size)
        self.max_length = int(max_length)
        self.glove_file = _glove_file(glove_path, self.embed_size)
        width = _glove_width(self.glove_file)
        if width != self.embed_size:
            raise DatasetError(f"GloVe file {self.glove_file} holds {width}-dimensional vectors, but "
                               f"embed_size is {self.embed_size}. Fix: pass embed_size={width} "
                               f"(--embed_size {width}), or the glove.6B.{self.embed_size}d.txt file")
        self._oov_words = oov_words
        self._bad_files = bad_files
        self._max_file_bytes = max_file_bytes
        self.vocabulary = None
        self.word_to_id = None
        self._features, self._labels, self._weight = {}, {}, None
        self.parse()

    def parse(self):
        """Read both splits and the GloVe vectors of the training vocabulary (called by the constructor).

        Raises:
            DatasetError: a review file is bad or the GloVe file is damaged.
        """
        texts, labels = _read_split(self._root, "train", self._bad_files, self._max_file_bytes)[:2]
        counts = collections.Counter()
        for text in texts:
            counts.update(review_words(text))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        vectors = _read_vectors(self.glove_file, dict.fromkeys(ranked), self.embed_size)
        if self._oov_words == "unknown":
            ranked = [w for w in ranked if w in vectors]
        self.vocabulary = ["<unk>"] + [w for w in ranked if w != "<unk>"]
        self.word_to_id = {w: i for i, w in enumerate(self.vocabulary)}
        weight = np.zeros((len(self.vocabulary), self.embed_size), np.float32)
        for word, i in self.word_to_id.items():
            if i and word in vectors:
                weight[i] = vectors[word]
        self._weight = weight
        del vectors, counts
        self._features["train"], self._labels["train"] = self._encode(texts, labels)
        del texts
        texts, labels = _read_split(self._root, "test", self._bad_files, self._max_file_bytes)[:2]
        self._features["test"], self._labels["test"] = self._encode(texts, labels)

    def _encode(self, texts, labels):
        ids = np.zeros((len(texts), self.max_length), np.int32)
        lookup = self.word_to_id.get
        for row, text in enumerate(texts):
            words = review_words(text)[:self.max_length]
            ids[row, :len(words)] = [lookup(w, 0) for w in words]
        return ids, np.asarray(labels, np.int32)

    def get_datas(self, seg):
        """Return the ids, labels and embedding table of a split.

        Args:
            seg: ``"train"`` or ``"test"``.

        Returns:
            tuple: ``(features, labels, weight)``: int32 (N, max_length), int32 (N,), float32
            (len(vocabulary), embed_size). ``weight`` is the training vocabulary's table for
            both splits (the ids of both index it).

        Raises:
            DatasetError: ``seg`` is not ``"train"`` or ``"test"``.
        """
        if seg not in _SPLITS:
            raise DatasetError(f"seg must be 'train' or 'test', got {seg!r}")
        return self._features[seg], self._labels[seg], self._weight

    def convert_to_mindrecord(self, preprocess_path, shard_num=1):
        """Write ``aclImdb_train.mindrecord``, ``aclImdb_test.mindrecord`` and ``weight.txt``.

        The MindRecord files (read them with :func:`tinyms.data.MindDataset`) have the columns
        ``id`` and ``label`` (int32) and ``feature`` (int32, ``max_length`` ids); with
        ``shard_num`` > 1 each is written as ``<name>0``, ``<name>1``, ... (MindSpore's names).
        ``weight.txt`` is the embedding table as ``numpy.savetxt`` text (float32 values written
        with 9 significant digits, exact when read back as float32). Every file is written under
        a temporary name, fsync'ed and renamed into place (``weight.txt`` last), replacing
        files of the same name; after a failure nothing half-written is left.

        Args:
            preprocess_path: the folder to write to (created if needed).
            shard_num: MindRecord files per split (1 to 1000, default 1).

        Returns:
            list: the paths written.

        Raises:
            DatasetError: ``shard_num`` is out of range, or the folder cannot be written.
        """
        if isinstance(shard_num, bool) or not isinstance(shard_num, (int, np.integer)) or not 1 <= shard_num <= 1000:
            raise DatasetError(f"shard_num must be an integer from 1 to 1000, got {shard_num!r}")
        folder = os.path.abspath(os.path.expanduser(os.fspath(preprocess_path)))
        try:
            os.makedirs(folder, exist_ok=True)
            sweep_stale_temps(folder, folders=True)
            work = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=folder)
        except OSError as exc:
            raise DatasetError(f"cannot write to {folder} ({exc.strerror or exc}). Fix: pass a "
                               f"writable preprocess_path") from exc
        try:
            names = []
            for split in _SPLITS:
                names += self._write_mindrecord(os.path.join(work, f"aclImdb_{split}.mindrecord"),
                                                split, int(shard_num))
            written = []
            for name in names:  # an index before its data file: a data file is never without one
                os.chmod(os.path.join(work, name), FILE_MODE)
                os.replace(os.path.join(work, name), os.path.join(folder, name))
                written.append(os.path.join(folder, name))
            weight_path = os.path.join(folder, "weight.txt")
            with atomic_file(weight_path, "w", encoding="ascii") as f:
                np.savetxt(f, self._weight, fmt="%.9g")
            written.append(weight_path)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return [p for p in written if not p.endswith(".db")]

    def _write_mindrecord(self, path, split, shard_num):
        """Write one split into ``path`` (a temporary folder); the file names, indexes first."""
        from mindspore.mindrecord import FileWriter  # noqa: PLC0415 - keep `import tinyms` light

        features, labels = self._features[split], self._labels[split]
        writer = FileWriter(path, shard_num=shard_num)
        small = features.nbytes < (4 << 20)  # MindSpore's default pages take 48 MB even for a few rows
        writer.set_page_size(1 << 16 if small else 1 << 20)
        writer.set_header_size(1 << 16 if small else 1 << 20)
        writer.add_schema({"id": {"type": "int32"}, "label": {"type": "int32"},
                           "feature": {"type": "int32", "shape": [-1]}}, "aclImdb")
        writer.add_index(["id", "label"])
        for start in range(0, len(labels), _WRITE_ROWS):
            writer.write_raw_data([{"id": i, "label": int(labels[i]), "feature": features[i]}
                                   for i in range(start, min(start + _WRITE_ROWS, len(labels)))])
        writer.commit()
        base = os.path.basename(path)
        data = [base] if shard_num == 1 else [f"{base}{i}" for i in range(shard_num)]
        for name in data:
            for file in (name + ".db", name):
                fsync_path(os.path.join(os.path.dirname(path), file))
        return [f for name in data for f in (name + ".db", name)]
