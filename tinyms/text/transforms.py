"""Text transforms: a tokenizer with a fixed length, for one string, for a dataset, and back from logits.

A :class:`TextTransform` runs the same code for a single string (``transform(text)``) and for
every row of a dataset (``apply_ds``), so training and prediction see the same ids. Its recipe
(``save``/``load``) is a JSON file beside the vocabulary files, each recorded with its SHA-256
and checked when loaded.
"""

import json
import multiprocessing
import os
import threading
import warnings

import numpy as np

from .._checks import positive_int
from .._fileio import sha256_of, write_json_atomic
from ..errors import DatasetError, JSONInputError, RecipeError, UnknownNameError
from ..vision.predictions import Prediction, Predictions, _as_logits
from . import tokenizers as _tk

__all__ = ["TextTransform", "text_transform", "TruncationWarning", "RECIPE_FILE", "TEXT_RECIPE_VERSION"]

RECIPE_FILE = "text_recipe.json"
TEXT_RECIPE_VERSION = 1
_PADDING = ("max_length",)
_TRUNCATION = ("right", "left")
_SHUFFLE_BUFFER = 10_000
_MAX_RECIPE_BYTES = 1024 * 1024


class TruncationWarning(UserWarning):
    """A text had more tokens than the transform's ``max_length``; the extra tokens were dropped."""


def _flag(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


class _Encoder:
    """text -> int32 ids (max_length,), warning once (per single call or per dataset) about truncation."""

    def __init__(self, transform, where):
        self.transform, self.where = transform, where
        self.truncated = 0
        self._lock = threading.Lock()

    def __call__(self, text):
        ids, dropped = self.transform._ids(text)
        if dropped:
            with self._lock:
                self.truncated += 1
                first = self.truncated == 1
            if first:
                t = self.transform
                warnings.warn(
                    f"{self.where}: a text had {dropped} more tokens than max_length={t.max_length}; they were "
                    f"dropped (truncation={t.truncation!r} keeps the {'start' if t.truncation == 'right' else 'end'}). "
                    "Later truncations here are not reported; raise max_length to keep more of long texts",
                    TruncationWarning, stacklevel=3)
        return ids


class TextTransform:
    """Tokenize text to a fixed number of int32 ids, padded and truncated, and name a network's outputs.

    Args:
        tokenizer (Tokenizer): a :class:`~tinyms.text.WordTokenizer`, :class:`~tinyms.text.WordPieceTokenizer`
            or :class:`~tinyms.text.BPETokenizer`.
        max_length (int): ids per text (BERT's ``[CLS]``/``[SEP]`` included). Default 256.
        labels (sequence of str): class names, class id i is ``labels[i]``. Default: none
            (classes are named by their index).
        padding (str): ``"max_length"``: every text gives exactly ``max_length`` ids, the
            tokenizer's pad id (0) filling the end.
        truncation (str): ``"right"`` keeps the start of a long text, ``"left"`` its end. Either
            way a warning (:class:`TruncationWarning`) says once per call or dataset that tokens
            were dropped.
        text_column (str): the dataset column holding the text. Default ``"text"``.
        label_column (str): the dataset column holding the class id. Default ``"label"``.

    Raises:
        TypeError, ValueError, UnknownNameError: a bad argument.

    Example:
        >>> from tinyms.text import TextTransform, WordTokenizer
        >>> tok = WordTokenizer.train(["the cat sat", "the dog ran"])
        >>> transform = TextTransform(tok, max_length=4, labels=["cat", "dog"])
        >>> transform("The dog sat")
        array([2, 4, 6, 0], dtype=int32)
    """

    def __init__(self, tokenizer, max_length=256, labels=(), padding="max_length", truncation="right",
                 text_column="text", label_column="label"):
        if not isinstance(tokenizer, _tk.Tokenizer):
            raise TypeError(f"tokenizer must be a tinyms.text tokenizer (WordTokenizer, WordPieceTokenizer, "
                            f"BPETokenizer), got {type(tokenizer).__name__}")
        self.tokenizer = tokenizer
        self.max_length = positive_int(max_length, "max_length", 256)
        least = len(sum(tokenizer._around(), [])) + 1
        if self.max_length < least:
            raise ValueError(f"max_length must leave room for a token besides the {least - 1} special ones, "
                             f"got {max_length}; pass e.g. max_length=128")
        if padding not in _PADDING:
            raise UnknownNameError(f"unknown padding {padding!r}; use one of {list(_PADDING)}")
        if truncation not in _TRUNCATION:
            raise UnknownNameError(f"unknown truncation {truncation!r}; use 'right' (keep the start) or "
                                   "'left' (keep the end)")
        self.padding, self.truncation = padding, truncation
        if isinstance(labels, str):
            raise TypeError("labels must be a sequence of class names, not one string")
        self.labels = tuple(str(label) for label in labels)
        self.text_column, self.label_column = text_column, label_column

    # ---------------------------------------------------------------- one text
    def _ids(self, text):
        ids, dropped = self.tokenizer.encode(text, self.max_length, self.truncation)
        out = np.full(self.max_length, self.tokenizer.pad_id, np.int32)
        out[:len(ids)] = ids
        return out, dropped

    def __call__(self, text):
        """The int32 ids of one text, shape ``(max_length,)``, or of a list of texts, ``(N, max_length)``.

        Args:
            text (str or list of str): the text(s); UTF-8 bytes are decoded.

        Returns:
            numpy.ndarray: int32 ids, padded with the tokenizer's pad id.

        Raises:
            DatasetError: bytes that are not UTF-8.
            TypeError: not a string.
        """
        encoder = _Encoder(self, "TextTransform")
        if isinstance(text, (list, tuple)):
            return np.stack([encoder(t) for t in text]) if text else np.zeros((0, self.max_length), np.int32)
        return encoder(text)

    # ---------------------------------------------------------------- datasets
    def apply_ds(self, dataset, repeat_size=1, batch_size=32, num_parallel_workers=None, is_training=True, *,
                 shuffle=None, drop_remainder=None):
        """Tokenize a dataset's text column, cast its labels to int32, then shuffle and batch.

        The positional order is TinyMS 0.3's. Training (``is_training=True``) shuffles rows and
        drops a last partial batch; evaluation keeps the order and every row.

        Args:
            dataset (mindspore.dataset.Dataset): rows with a ``text`` column (str) and optionally
                a ``label`` column (class id), e.g. a ``GeneratorDataset``.
            repeat_size (int): how many times the batched dataset is repeated. Default 1.
            batch_size (int): rows per batch. Default 32.
            num_parallel_workers (int): tokenizing threads. Default: half the CPUs (at least 1).
            is_training (bool): training (True, default) or evaluation (False) behaviour.
            shuffle (bool): keyword only; overrides the shuffling ``is_training`` chose.
            drop_remainder (bool): keyword only; overrides whether a partial last batch is dropped.

        Returns:
            mindspore.dataset.Dataset: columns ``input_ids`` (int32, (batch, max_length)), equal
            to ``self(text)`` for each row, and ``label`` (int32, (batch,)) when the dataset has one.

        Raises:
            DatasetError: not a MindSpore dataset, or no text column.

        Example:
            >>> import mindspore.dataset as ds
            >>> from tinyms.text import text_transform
            >>> rows = [("a fine film", 1), ("a dull film", 0), ("fine", 1)]
            >>> data = ds.GeneratorDataset(rows, ["text", "label"], shuffle=False)
            >>> transform = text_transform("word", texts=[t for t, _ in rows], max_length=5)
            >>> batch = next(transform.apply_ds(data, batch_size=3, is_training=False).create_dict_iterator(
            ...     output_numpy=True))
            >>> batch["input_ids"].shape, batch["input_ids"].dtype, batch["label"].tolist()
            ((3, 5), dtype('int32'), [1, 0, 1])
        """
        import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.text` light
        from mindspore import dtype as mstype  # noqa: PLC0415

        if not isinstance(dataset, ds.Dataset):
            raise DatasetError(f"apply_ds needs a mindspore.dataset Dataset, got a {type(dataset).__name__}; wrap "
                               "texts with mindspore.dataset.GeneratorDataset(rows, ['text', 'label'])")
        repeat_size = positive_int(repeat_size, "repeat_size", 1)
        batch_size = positive_int(batch_size, "batch_size", 32)
        is_training = _flag(is_training, "is_training")
        shuffle = is_training if shuffle is None else _flag(shuffle, "shuffle")
        drop_remainder = is_training if drop_remainder is None else _flag(drop_remainder, "drop_remainder")
        cpus = multiprocessing.cpu_count()
        workers = (max(1, cpus // 2) if num_parallel_workers is None
                   else min(positive_int(num_parallel_workers, "num_parallel_workers", 2), cpus))
        columns = dataset.get_col_names()
        if self.text_column not in columns:
            raise DatasetError(f"the dataset has columns {columns} but no {self.text_column!r} column; rename its "
                               "text column with dataset.rename(...), or build the transform with text_column=")
        if shuffle:
            try:
                size = dataset.get_dataset_size()
            except (RuntimeError, ValueError):
                size = None
            dataset = dataset.shuffle(max(2, min(size or _SHUFFLE_BUFFER, _SHUFFLE_BUFFER)))
        dataset = dataset.map(operations=_Encoder(self, "apply_ds"), input_columns=self.text_column,
                              output_columns="input_ids", num_parallel_workers=workers)
        keep = ["input_ids"]
        if self.label_column in columns:
            dataset = dataset.map(operations=ds.transforms.TypeCast(mstype.int32), input_columns=self.label_column,
                                  num_parallel_workers=workers)
            keep.append(self.label_column)
        dataset = dataset.project(keep)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        if repeat_size > 1:
            dataset = dataset.repeat(repeat_size)
        return dataset

    # ---------------------------------------------------------------- predictions
    def postprocess(self, logits, top_k=1, labels=None):
        """Turn a text classifier's logits into named, ranked predictions.

        Args:
            logits: Tensor or array of shape (N, C) or (C,).
            top_k (int): classes kept per row, most likely first (at most C). Default 1.
            labels (sequence of str): class names instead of ``self.labels``.

        Returns:
            Predictions: one :class:`~tinyms.vision.Prediction` per row with ``label``, ``score``
            (softmax probability), ``labels``/``scores``/``indices`` of the kept classes.

        Raises:
            InputShapeError: ``logits`` is not 1-D/2-D or has a different class count than labels.

        Example:
            >>> from tinyms.text import TextTransform, WordTokenizer
            >>> transform = TextTransform(WordTokenizer.train(["ok"]), labels=["neg", "pos"])
            >>> p = transform.postprocess([[0.0, 2.0]])[0]
            >>> p.label, round(p.score, 3)
            ('pos', 0.881)
        """
        from ..errors import InputShapeError  # noqa: PLC0415

        arr = _as_logits(logits)
        classes = arr.shape[1]
        names = self.labels if labels is None else tuple(str(n) for n in labels)
        if not names:
            names = tuple(str(i) for i in range(classes))
        if len(names) != classes:
            raise InputShapeError(f"logits have {classes} classes but there are {len(names)} labels; "
                                  "pass labels= with one name per network output")
        k = min(positive_int(top_k, "top_k", 1), classes)
        probs = np.exp(arr - arr.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        rows = [Prediction(labels=tuple(names[i] for i in row), scores=tuple(float(p[i]) for i in row),
                           indices=tuple(int(i) for i in row)) for p, row in zip(probs, order)]
        return Predictions(rows, "TOP1_CLASS" if k == 1 else "TOP5_CLASS")

    # ---------------------------------------------------------------- recipe
    def to_config(self, files=None):
        """The recipe as a JSON-ready dict; ``files`` (role -> path) adds each file's name and SHA-256."""
        tokenizer = self.tokenizer.to_config()
        if files is not None:
            tokenizer["files"] = {role: {"path": os.path.basename(path), "sha256": sha256_of(path)}
                                  for role, path in files.items()}
        return {"format": "tinyms.text", "version": TEXT_RECIPE_VERSION, "tokenizer": tokenizer,
                "max_length": self.max_length, "padding": self.padding, "truncation": self.truncation,
                "labels": list(self.labels), "text_column": self.text_column, "label_column": self.label_column}

    def save(self, folder):
        """Write the vocabulary files and ``text_recipe.json`` (recording their SHA-256) into ``folder``.

        Every file is written atomically (temporary name, fsync, rename). A servable carries
        the folder's files.

        Returns:
            str: the recipe file's path.

        Example:
            >>> import tempfile
            >>> from tinyms.text import TextTransform, text_transform
            >>> transform = text_transform("word", texts=["a b c"], max_length=8)
            >>> path = transform.save(tempfile.mkdtemp())
            >>> TextTransform.load(path)("c b a").tolist() == transform("c b a").tolist()
            True
        """
        folder = os.fspath(folder)
        files = self.tokenizer.save(folder)
        path = os.path.join(folder, RECIPE_FILE)
        write_json_atomic(path, self.to_config(files))
        return path

    @classmethod
    def load(cls, path):
        """Rebuild a transform from ``text_recipe.json`` (or the folder holding it) and its files.

        Args:
            path (str): the recipe file, or the folder ``save`` wrote.

        Returns:
            TextTransform: the transform.

        Raises:
            RecipeError: the recipe is malformed, a file is missing or outside the recipe's
                folder, or a file's SHA-256 differs from the recorded one (the file was changed
                after the recipe was written).
            UnknownNameError: an unknown tokenizer kind.
        """
        from .._jsonread import load_file  # noqa: PLC0415

        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, RECIPE_FILE)
        if not os.path.isfile(path):
            raise RecipeError(f"no text recipe at {path}; pass the text_recipe.json that TextTransform.save wrote")
        try:
            config = load_file(path, max_bytes=_MAX_RECIPE_BYTES)
        except (JSONInputError, ValueError, UnicodeDecodeError) as exc:
            raise RecipeError(f"the text recipe {path} is not valid JSON ({exc})") from None
        return cls.from_config(config, os.path.dirname(os.path.abspath(path)), where=path)

    @classmethod
    def from_config(cls, config, folder, where="the text recipe"):
        """Rebuild a transform from a recipe dict whose files lie in ``folder`` (each file's SHA-256 checked)."""
        files = recipe_files(config, folder, where)
        tok = config["tokenizer"]
        lowercase = tok.get("lowercase", True)
        if not isinstance(lowercase, bool):
            raise RecipeError(f"{where}: tokenizer 'lowercase' must be true or false, got {lowercase!r}")
        tokenizer = _tk.load_tokenizer(tok.get("kind"), files, lowercase)
        labels = config.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise RecipeError(f"{where}: 'labels' must be a list of class names")
        try:
            return cls(tokenizer, config.get("max_length"), labels, config.get("padding", "max_length"),
                       config.get("truncation", "right"), config.get("text_column", "text"),
                       config.get("label_column", "label"))
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{where}: {exc}") from None

    def __repr__(self):
        return (f"TextTransform({self.tokenizer!r}, max_length={self.max_length}, truncation={self.truncation!r}, "
                f"classes={len(self.labels)})")

    def __eq__(self, other):
        return isinstance(other, TextTransform) and json.dumps(self.to_config()) == json.dumps(other.to_config()) \
            and self.tokenizer == other.tokenizer

    __hash__ = None


def recipe_files(config, folder, where="the text recipe"):
    """The vocabulary files of a text recipe, checked: ``{role: path}``.

    Each file must be a plain name whose real path (symlinks followed) lies in ``folder``, and
    its SHA-256 must be the one the recipe records. Serving checks a servable's vocabulary with
    this before it builds any tokenizer.

    Raises:
        RecipeError: the recipe is not a tinyms.text recipe of this version, or a file is
            missing, outside ``folder`` or changed since the recipe was written.
    """
    if not isinstance(config, dict) or config.get("format") != "tinyms.text":
        raise RecipeError(f"{where} is not a tinyms.text recipe (its 'format' must be 'tinyms.text')")
    if config.get("version") != TEXT_RECIPE_VERSION:
        raise RecipeError(f"{where} has version {config.get('version')!r}; this TinyMS reads version "
                          f"{TEXT_RECIPE_VERSION}: upgrade TinyMS or write the recipe again")
    tok = config.get("tokenizer")
    if not isinstance(tok, dict) or not isinstance(tok.get("files"), dict):
        raise RecipeError(f"{where} has no 'tokenizer' with 'files'; write it with TextTransform.save")
    files = {}
    for role, entry in tok["files"].items():
        name = entry.get("path") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
            raise RecipeError(f"{where}: tokenizer file {role!r} must be a file name beside the recipe, "
                              f"got {name!r}")
        if not isinstance(digest, str) or len(digest) != 64:
            raise RecipeError(f"{where}: tokenizer file {role!r} has no SHA-256; write the recipe with "
                              "TextTransform.save")
        file = os.path.join(folder, name)
        if not os.path.isfile(file):
            raise RecipeError(f"{where} needs {file} ({role}), which does not exist; copy the files "
                              "TextTransform.save wrote together")
        if os.path.dirname(os.path.realpath(file)) != os.path.realpath(folder):
            raise RecipeError(f"{where}: tokenizer file {file} ({role}) is a link leading out of its folder; "
                              "keep the vocabulary files beside the recipe")
        actual = sha256_of(file)
        if actual != digest:
            raise RecipeError(f"{file} has SHA-256 {actual}, but {where} recorded {digest}: the {role} file "
                              "was changed after the recipe was written; restore it or save the transform again")
        files[role] = file
    return files


def text_transform(tokenizer="word", texts=None, *, vocab=None, max_length=256, labels=None, lowercase=True,
                   truncation="right", min_freq=1, max_size=30000, vocab_size=8000):
    """A ready :class:`TextTransform`: build or load the tokenizer, then fix the length.

    Args:
        tokenizer (str or Tokenizer): ``"word"`` (vocabulary learned from ``texts``),
            ``"bpe"`` (merges learned from ``texts``), ``"wordpiece"`` (BERT, from ``vocab``), or
            a tokenizer already built.
        texts: training texts for ``"word"``/``"bpe"``: a list of str or a dataset with a
            ``text`` column (its ``class_names``, if any, become the labels).
        vocab (str): keyword only; a BERT ``vocab.txt`` for ``"wordpiece"``.
        max_length (int): ids per text. Default 256.
        labels (sequence of str): class names. Default: ``texts.class_names`` if it has them.
        lowercase (bool): lower-case text first (False for cased BERT vocabularies). Default True.
        truncation (str): ``"right"`` keeps the start of long texts, ``"left"`` the end.
        min_freq (int): ``"word"``: fewest occurrences for a word; ``"bpe"``: for a merge
            (BPE's default is 2 when this is left at 1).
        max_size (int): ``"word"``: the most tokens, ``<pad>``/``<unk>`` included. Default 30000.
        vocab_size (int): ``"bpe"``: the most tokens. Default 8000.

    Returns:
        TextTransform: the transform.

    Raises:
        UnknownNameError: an unknown tokenizer kind.
        ValueError: ``texts`` or ``vocab`` missing for the kind.

    Example:
        >>> from tinyms.text import text_transform
        >>> t = text_transform("word", texts=["Great movie!", "Awful movie."], max_length=4)
        >>> t.tokenizer.tokenize("great MOVIE!"), t("great MOVIE!").tolist()
        (['great', 'movie', '!'], [6, 2, 3, 0])
    """
    if isinstance(tokenizer, _tk.Tokenizer):
        tok = tokenizer
    elif tokenizer == "wordpiece":
        if vocab is None:
            raise ValueError("a wordpiece tokenizer reads a BERT vocab.txt: pass vocab='path/to/vocab.txt'")
        tok = _tk.WordPieceTokenizer(vocab, lowercase)
    elif tokenizer in ("word", "bpe"):
        if texts is None:
            raise ValueError(f"a {tokenizer} tokenizer learns from training texts: pass texts=[...] or a dataset "
                             "with a 'text' column")
        if tokenizer == "word":
            tok = _tk.WordTokenizer.train(texts, min_freq, max_size, lowercase)
        else:
            tok = _tk.BPETokenizer.train(texts, vocab_size, max(min_freq, 2) if min_freq == 1 else min_freq,
                                         lowercase)
    else:
        raise UnknownNameError(f"unknown tokenizer {tokenizer!r}; use 'word', 'bpe', 'wordpiece' or a "
                               "tinyms.text tokenizer object")
    if labels is None:
        labels = tuple(getattr(texts, "class_names", None) or ())
    return TextTransform(tok, max_length, labels, truncation=truncation)
