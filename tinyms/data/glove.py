"""GloVe word vectors (glove.6B) as an embedding matrix for a vocabulary.

glove.6B (Wikipedia 2014 + Gigaword 5, 400,000 lower-cased words, 50/100/200/300
dimensions) is published by Stanford NLP as one zip archive, ``GLOVE_6B["url"]``. Stanford
publishes no checksum for it, and TinyMS's dataset registry accepts only files whose size
and SHA-256 are recorded, so ``download_dataset`` does not fetch it: download and unzip it
yourself, then point :func:`load_glove` at a ``glove.6B.<dim>d.txt`` file, or put the files
in ``$TINYMS_HOME/datasets/glove_6b/`` and pass the dimension. Every line the loader reads is
checked (dimensions, numbers, UTF-8), so a damaged file is an error, not wrong vectors.
"""

import collections
import os

import numpy as np

from .._home import tinyms_home
from ..errors import DatasetError

__all__ = ["load_glove", "GloveVectors", "GLOVE_6B", "glove_path"]

#: what Stanford publishes of glove.6B: the zip's URL, its text files by dimension, words per file
GLOVE_6B = {
    "url": "https://nlp.stanford.edu/data/glove.6B.zip",
    "homepage": "https://nlp.stanford.edu/projects/glove/",
    "license": "Public Domain Dedication and License v1.0",
    "files": {50: "glove.6B.50d.txt", 100: "glove.6B.100d.txt", 200: "glove.6B.200d.txt",
              300: "glove.6B.300d.txt"},
    "words": 400000,
}
_PAD_TOKENS = ("<pad>", "[PAD]")
_MAX_LINE = 1 << 20
_MAX_BYTES = 8 * 1024 ** 3

GloveVectors = collections.namedtuple("GloveVectors", ["weights", "hits"])
GloveVectors.__doc__ = """What :func:`load_glove` returns: ``(weights, hits)``.

Attributes:
    weights: float32 array (len(vocabulary), dim), row i the vector of token i.
    hits: how many tokens (padding not counted) were found in the GloVe file.
"""


def glove_path(dim):
    """Where :func:`load_glove` looks for glove.6B's ``dim``-dimensional file: ``$TINYMS_HOME/datasets/glove_6b/``."""
    if dim not in GLOVE_6B["files"]:
        raise DatasetError(f"glove.6B has 50, 100, 200 and 300 dimensions, not {dim!r}. Fix: pass "
                           f"one of these, or the path of a GloVe .txt file")
    return os.path.join(tinyms_home(), "datasets", "glove_6b", GLOVE_6B["files"][dim])


def _token_ids(vocabulary):
    """{token: id} with ids 0..n-1, from a sequence, a mapping or a tokenizer with get_vocab()."""
    if hasattr(vocabulary, "get_vocab") and callable(vocabulary.get_vocab):
        vocabulary = vocabulary.get_vocab()
    if isinstance(vocabulary, dict):
        ids = {str(t): int(i) for t, i in vocabulary.items()}
    elif isinstance(vocabulary, (list, tuple)):
        ids = {}
        for i, token in enumerate(vocabulary):
            ids.setdefault(str(token), i)
        if len(ids) != len(vocabulary):
            raise DatasetError("vocabulary holds a token twice. Fix: give each token once, in id order")
    else:
        raise DatasetError(f"vocabulary must be a list of tokens in id order, a dict token -> id or "
                           f"a tokenizer with get_vocab(), got {type(vocabulary).__name__}")
    if not ids:
        raise DatasetError("vocabulary is empty. Fix: build it from the training texts first")
    if sorted(ids.values()) != list(range(len(ids))):
        raise DatasetError(f"vocabulary ids must be 0..{len(ids) - 1}, each once. Fix: renumber them")
    return ids


def _resolve(path_or_dim, dim):
    if isinstance(path_or_dim, int) and not isinstance(path_or_dim, bool):
        path = glove_path(path_or_dim)
        if not os.path.isfile(path):
            raise DatasetError(
                f"{path} does not exist. Fix: download {GLOVE_6B['url']} (from "
                f"{GLOVE_6B['homepage']}), unzip it into {os.path.dirname(path)}, or pass the "
                f"path of a GloVe .txt file")
        return path, path_or_dim if dim is None else dim
    if not isinstance(path_or_dim, (str, os.PathLike)):
        raise DatasetError(f"load_glove takes a dimension (50, 100, 200, 300) or a file path, got "
                           f"{path_or_dim!r}")
    path = os.path.abspath(os.path.expanduser(os.fspath(path_or_dim)))
    if not os.path.isfile(path):
        raise DatasetError(f"GloVe file {path} does not exist. Fix: pass the path of an unzipped "
                           f"glove.6B.<dim>d.txt file (from {GLOVE_6B['url']})")
    return path, dim


def load_glove(path_or_dim, vocabulary, *, dim=None, oov="random", seed=0, padding_idx=None,
               lower=True, max_bytes=_MAX_BYTES):
    """Build an embedding matrix for ``vocabulary`` from a GloVe text file.

    Row ``i`` is the GloVe vector of token ``i``. A token missing from the file is looked up
    lower-cased too (``lower=True``; glove.6B is lower-cased). Tokens not found at all (out
    of vocabulary) get, with ``oov="random"`` (default), numbers drawn from a normal
    distribution with mean 0 and the standard deviation of the vectors found, from
    ``numpy.random.default_rng(seed)`` (the same vocabulary and seed give the same rows); with
    ``oov="zeros"``, zeros. The padding row is always zeros: ``padding_idx``, by default the id
    of ``<pad>`` or ``[PAD]`` when the vocabulary has one.

    The file is read once, line by line (``word v1 v2 ... vD``, space-separated, UTF-8); only
    the vectors of the vocabulary's tokens are kept. Every line must have the same number of
    values (``dim`` when given). A first line of two integers (word2vec's header, which
    gensim-based code such as TinyMS 0.3 had users add) is skipped.

    Args:
        path_or_dim: a GloVe ``.txt`` file, or 50/100/200/300 for
            ``$TINYMS_HOME/datasets/glove_6b/glove.6B.<dim>d.txt``.
        vocabulary: tokens in id order (list/tuple), a dict token -> id (ids 0..n-1), or a
            tokenizer with ``get_vocab()``.
        dim: the dimension expected (checked against the file).
        oov: ``"random"`` or ``"zeros"``.
        seed: the seed of the random out-of-vocabulary rows.
        padding_idx: the id whose row is zeros; None: ``<pad>``/``[PAD]`` if present.
        lower: also look tokens up lower-cased.
        max_bytes: the largest file accepted (default 8 GiB).

    Returns:
        GloveVectors: ``(weights, hits)``: float32 (len(vocabulary), dim) and the number of
        tokens found (padding not counted).

    Raises:
        DatasetError: the file is missing, too large, not UTF-8, has a line with another
            number of values than ``dim`` or the first line, a value that is not a number, or
            no vectors; the vocabulary is malformed; ``oov`` is unknown. The message names
            the file and line.

    Example:
        >>> from tinyms.data import load_glove
        >>> with open("tiny.glove.txt", "w") as f:
        ...     _ = f.write("the 0.5 -1.0 2.0\\nmovie 1.0 0.0 -0.5\\n")
        >>> weights, hits = load_glove("tiny.glove.txt", ["<pad>", "The", "movie", "zzz"], oov="zeros")
        >>> weights.shape, weights.dtype, hits
        ((4, 3), dtype('float32'), 2)
        >>> weights[1].tolist(), weights[0].tolist(), weights[3].tolist()
        ([0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    """
    if oov not in ("random", "zeros"):
        raise DatasetError(f"oov must be 'random' or 'zeros', got {oov!r}")
    path, dim = _resolve(path_or_dim, dim)
    ids = _token_ids(vocabulary)
    if padding_idx is None:
        padding_idx = next((ids[t] for t in _PAD_TOKENS if t in ids), None)
    elif not 0 <= int(padding_idx) < len(ids):
        raise DatasetError(f"padding_idx {padding_idx} is not an id of the vocabulary (0..{len(ids) - 1})")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise DatasetError(f"{path} is larger than {max_bytes:,} bytes. Fix: pass a larger max_bytes=")
    wanted = {}
    for token, i in ids.items():
        wanted.setdefault(token, []).append(i)
    if lower:
        for token, i in ids.items():
            if token.lower() != token and token.lower() not in ids:
                wanted.setdefault(token.lower(), []).append(i)
    vectors = _read_vectors(path, wanted, dim)
    if not vectors:
        raise DatasetError(f"{path} holds no vectors. Fix: pass an unzipped GloVe .txt file")
    dim = len(next(iter(vectors.values())))
    found = {}  # id -> vector; an exact match beats a lower-cased one
    for word, vector in vectors.items():
        for i in wanted[word]:
            if i not in found or word in ids:
                found[i] = vector
    weights = np.zeros((len(ids), dim), np.float32)
    if found:
        rows = np.array(list(found.keys()))
        weights[rows] = np.stack(list(found.values()))
    if oov == "random":
        missing = np.array(sorted(set(range(len(ids))) - set(found)), dtype=np.int64)
        std = float(weights[rows].std()) if found else 1.0
        rng = np.random.default_rng(seed)
        weights[missing] = rng.normal(0.0, std, (len(missing), dim)).astype(np.float32)
    if padding_idx is not None:
        weights[int(padding_idx)] = 0
        found.pop(int(padding_idx), None)
    return GloveVectors(weights, len(found))


def _read_vectors(path, wanted, dim):
    """{word: float32 vector} for the words of ``wanted``, every line of the file checked."""
    vectors = {}
    width = dim
    with open(path, "rb") as f:
        for number, raw in enumerate(iter(lambda: f.readline(_MAX_LINE), b""), start=1):
            if len(raw) >= _MAX_LINE and not raw.endswith(b"\n"):
                raise DatasetError(f"{path}:{number} is longer than {_MAX_LINE:,} bytes; this is not "
                                   f"a GloVe text file. Fix: pass an unzipped glove.6B.<dim>d.txt file")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise DatasetError(f"{path}:{number} is not UTF-8; this is not a GloVe text file (a "
                                   f"zip?). Fix: unzip it and pass a .txt file") from None
            if not line.strip():
                continue
            fields = line.rstrip(" ").split(" ")
            if number == 1 and len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                continue  # word2vec's "<words> <dim>" header, which gensim needed
            word, values = fields[0], fields[1:]
            if width is None:
                width = len(values)
            if len(values) != width:
                expected = f"dim={dim}" if dim is not None else "the first line"
                raise DatasetError(f"{path}:{number} has {len(values)} values, {expected} says "
                                   f"{width}. Fix: pass the right dim=, or a complete GloVe file")
            if word in wanted and word not in vectors:
                try:
                    vectors[word] = np.array(values, dtype=np.float32)
                except ValueError:
                    raise DatasetError(f"{path}:{number}: the vector of {word!r} holds a value that is "
                                       f"not a number. Fix: pass an undamaged GloVe file") from None
    return vectors
