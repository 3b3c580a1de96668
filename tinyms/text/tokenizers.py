"""Tokenizers on Hugging Face's ``tokenizers`` library: word-level, WordPiece (BERT) and BPE.

Each tokenizer turns one string into token ids, saves its vocabulary to plain files and is
rebuilt from them. The pipelines (normalizer, pre-tokenizer, model) are fixed here and rebuilt
from TinyMS's own settings when loaded; only the vocabulary itself comes from the files, so a
vocabulary file cannot change how text is split.

- :class:`WordTokenizer`: one id per word; the vocabulary is built from training texts
  (lower-casing, punctuation split off, a minimum frequency, a maximum size), ``<pad>`` = 0 and
  ``<unk>`` = 1.
- :class:`WordPieceTokenizer`: BERT's WordPiece from a ``vocab.txt``; ``[CLS] ... [SEP]`` around
  every input, ``[PAD]`` as padding.
- :class:`BPETokenizer`: byte-level BPE trained on the user's texts (any text round-trips).

``tokenizers`` is imported when a tokenizer is built, never by ``import tinyms``.
"""

import collections.abc
import json
import os

from .._fileio import atomic_file
from ..errors import DatasetError, RecipeError, UnknownNameError

__all__ = ["Tokenizer", "WordTokenizer", "WordPieceTokenizer", "BPETokenizer", "load_tokenizer",
           "TOKENIZER_KINDS", "MAX_VOCAB_FILE_BYTES"]

PAD, UNK = "<pad>", "<unk>"
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
MAX_VOCAB_FILE_BYTES = 64 * 1024 * 1024  # a vocabulary file larger than this is refused
MAX_TEXT_CHARS = 1_000_000  # longer inputs are cut to this many characters before tokenizing


def _lib():
    try:
        import tokenizers  # noqa: PLC0415 - keep `import tinyms` free of the Rust library
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise ImportError("tinyms.text needs the 'tokenizers' package: pip install 'tokenizers>=0.22,<0.24'") from exc
    return tokenizers


def _flag(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _texts(texts, column="text"):
    """Yield the strings of a list/iterable of str, or of a MindSpore dataset's ``column``."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list (or iterable) of strings, not one string; wrap it: [text]")
    if hasattr(texts, "create_dict_iterator") and hasattr(texts, "get_col_names"):
        if column not in texts.get_col_names():
            raise DatasetError(f"the dataset has columns {texts.get_col_names()} but no {column!r} column "
                               "to learn a vocabulary from; rename its text column to 'text'")
        texts = (row[column] for row in texts.create_dict_iterator(output_numpy=True, num_epochs=1))
    elif not isinstance(texts, collections.abc.Iterable):
        raise TypeError(f"texts must be a list of strings or a dataset with a 'text' column, got {type(texts).__name__}")
    for text in texts:
        yield as_str(text)[:MAX_TEXT_CHARS]


def as_str(text, what="a text"):
    """``text`` (str, UTF-8 bytes, or a 0-d numpy array of either, as a dataset row gives) as a str."""
    if hasattr(text, "ndim") and getattr(text, "ndim", None) == 0:
        text = text.item()
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                               "decode it yourself (e.g. bytes.decode('latin-1')) and pass a str") from None
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    return text


def _read_lines(path, what):
    """The lines of a UTF-8 vocabulary file (bounded size), as a list of tokens (line i = id i)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise RecipeError(f"the {what} {path} does not exist; pass the path of the vocabulary file")
    size = os.path.getsize(path)
    if size == 0 or size > MAX_VOCAB_FILE_BYTES:
        raise RecipeError(f"the {what} {path} has {size:,} bytes; a vocabulary file holds one token per "
                          f"line and is between 1 byte and {MAX_VOCAB_FILE_BYTES:,} bytes")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecipeError(f"the {what} {path} is not UTF-8 text; a vocabulary file holds one token per line") from None
    if "\x00" in text:
        raise RecipeError(f"the {what} {path} is a binary file, not a vocabulary (one token per line)")
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    tokens = [t[:-1] if t.endswith("\r") else t for t in tokens]
    seen = {}
    for i, token in enumerate(tokens):
        if token in seen:
            raise RecipeError(f"the {what} {path} lists {token!r} twice (lines {seen[token] + 1} and {i + 1}); "
                              "every token must appear once")
        seen[token] = i
    return tokens


def _write_lines(path, tokens):
    with atomic_file(path, "w", encoding="utf-8", newline="\n") as f:
        for token in tokens:
            f.write(token + "\n")


class Tokenizer:
    """Base of TinyMS's tokenizers: text -> token ids, with a vocabulary saved to files.

    Attributes:
        kind (str): ``"word"``, ``"wordpiece"`` or ``"bpe"``.
        lowercase (bool): whether text is lower-cased first.
        pad_id (int): the id used for padding.
        unk_id (int): the id of unknown tokens.
        vocab_size (int): number of tokens in the vocabulary.
    """

    kind = None
    files = ()  # the vocabulary files save() writes, by role

    def __init__(self, backend, lowercase):
        self._tok = backend
        self.lowercase = lowercase

    # ---------------------------------------------------------------- encoding
    def encode(self, text, max_length=None, direction="right"):
        """Token ids of one string, special tokens included, cut to ``max_length`` ids.

        Args:
            text (str): the text (UTF-8 bytes are decoded).
            max_length (int): keep at most this many ids (special tokens such as BERT's
                ``[CLS]``/``[SEP]`` are kept). Default: no limit.
            direction (str): ``"right"`` keeps the start of a long text, ``"left"`` its end.

        Returns:
            tuple: (list of int ids, int: how many ids were cut off, 0 if none).
        """
        text = as_str(text)
        cut = len(text) > MAX_TEXT_CHARS
        ids = self._tok.encode(text[:MAX_TEXT_CHARS], add_special_tokens=False).ids
        first, last = self._around()
        room = None if max_length is None else max_length - len(first) - len(last)
        dropped = 0
        if room is not None and len(ids) > room:
            dropped = len(ids) - max(room, 0)
            if room <= 0:
                ids = []
            else:
                ids = ids[:room] if direction == "right" else ids[len(ids) - room:]
        return first + list(ids) + last, dropped + (1 if cut and not dropped else 0)

    def _around(self):
        """The ids put before and after every input (BERT: [CLS] and [SEP])."""
        return [], []

    def tokenize(self, text):
        """The tokens (strings) of one text, special tokens included.

        Example:
            >>> from tinyms.text import WordTokenizer
            >>> WordTokenizer.train(["Hello, world!"]).tokenize("hello world!!")
            ['hello', 'world', '!', '!']
        """
        return list(self._tok.encode(as_str(text)[:MAX_TEXT_CHARS]).tokens)

    def __call__(self, text):
        """Token ids of one text (no length limit), see :meth:`encode`."""
        return self.encode(text)[0]

    def decode(self, ids, skip_special_tokens=True):
        """The text of a list of ids (padding and other special tokens left out by default)."""
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    @property
    def vocab_size(self):
        return self._tok.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token):
        """The id of ``token``, or None if it is not in the vocabulary."""
        return self._tok.token_to_id(token)

    def id_to_token(self, index):
        """The token of id ``index``, or None."""
        return self._tok.id_to_token(int(index))

    @property
    def pad_id(self):
        return self._tok.token_to_id(self._pad)

    @property
    def unk_id(self):
        return self._tok.token_to_id(self._unk)

    # ---------------------------------------------------------------- files
    def save(self, folder):
        """Write the vocabulary files into ``folder`` (created if needed; each file written atomically).

        Returns:
            dict: role -> the file's path, e.g. ``{"vocab": ".../vocab.txt"}``.
        """
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        paths = {role: os.path.join(folder, name) for role, name in self.files}
        self._save(paths)
        return paths

    def to_config(self):
        """The settings that rebuild this tokenizer with its files: ``{"kind", "lowercase"}``."""
        return {"kind": self.kind, "lowercase": self.lowercase}

    def __repr__(self):
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, lowercase={self.lowercase})"

    def __eq__(self, other):
        return (type(self) is type(other) and self.lowercase == other.lowercase
                and self._tok.get_vocab() == other._tok.get_vocab() and self._extra() == other._extra())

    __hash__ = None

    def _extra(self):
        return None


def _normalizer(lib, lowercase):
    norms = [lib.normalizers.NFC()]
    if lowercase:
        norms.append(lib.normalizers.Lowercase())
    return lib.normalizers.Sequence(norms)


def _check_texts_learned(tok, what):
    if tok.get_vocab_size() <= 2:
        raise DatasetError(f"no token of the training texts reached the minimum frequency, so the {what} "
                           "vocabulary is empty; pass more texts or a smaller min_freq")


class WordTokenizer(Tokenizer):
    """One id per word: text is lower-cased (optional), split on white space, punctuation split off.

    Build one from training texts with :meth:`train` or from a saved ``vocab.txt`` (one token per
    line, line i has id i) with :meth:`from_file`. Id 0 is ``<pad>``, 1 is ``<unk>`` (any word not
    in the vocabulary).

    Example:
        >>> from tinyms.text import WordTokenizer
        >>> tok = WordTokenizer.train(["A good film.", "A bad film!", "good"], min_freq=2)
        >>> tok.tokenize("A GOOD film?")
        ['a', 'good', 'film', '<unk>']
        >>> tok("A GOOD film?")          # '?' was never seen: <unk> = 1
        [2, 4, 3, 1]
    """

    kind = "word"
    files = (("vocab", "vocab.txt"),)
    _pad, _unk = PAD, UNK

    def __init__(self, tokens, lowercase=True):
        lib = _lib()
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise RecipeError(f"a word vocabulary starts with {PAD!r} (id 0) and {UNK!r} (id 1), this one starts "
                              f"with {tokens[:2]}; build it with WordTokenizer.train or fix the file's first lines")
        tok = lib.Tokenizer(lib.models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token=UNK))
        tok.normalizer = _normalizer(lib, _flag(lowercase, "lowercase"))
        tok.pre_tokenizer = lib.pre_tokenizers.Sequence(
            [lib.pre_tokenizers.WhitespaceSplit(), lib.pre_tokenizers.Punctuation("isolated")])
        tok.add_special_tokens([PAD, UNK])
        tok.decoder = lib.decoders.WordPiece(prefix="##", cleanup=True)  # joins words with spaces
        super().__init__(tok, lowercase)

    @classmethod
    def train(cls, texts, min_freq=1, max_size=30000, lowercase=True):
        """Learn a vocabulary from training texts.

        Words are counted after lower-casing and splitting; a word enters the vocabulary when
        it occurs at least ``min_freq`` times; the most frequent come first (ties in code point
        order) and the vocabulary stops at ``max_size`` tokens, ``<pad>`` and ``<unk>`` included.

        Args:
            texts: a list (or iterable) of str, or a dataset with a ``text`` column.
            min_freq (int): the fewest occurrences a word needs. Default 1.
            max_size (int): the most tokens, the two special ones included (at least 3). Default 30000.
            lowercase (bool): lower-case text first. Default True.

        Returns:
            WordTokenizer: the tokenizer.

        Raises:
            DatasetError: no word reaches ``min_freq`` (or the texts are empty).
            TypeError, ValueError: a bad argument.
        """
        from .._checks import positive_int  # noqa: PLC0415

        min_freq = positive_int(min_freq, "min_freq", 2)
        max_size = positive_int(max_size, "max_size", 30000)
        if max_size < 3:
            raise ValueError(f"max_size counts <pad> and <unk> too, so it must be at least 3, got {max_size}")
        lib = _lib()
        tok = cls([PAD, UNK], lowercase)._tok
        trainer = lib.trainers.WordLevelTrainer(vocab_size=max_size, min_frequency=min_freq,
                                                special_tokens=[PAD, UNK], show_progress=False)
        tok.train_from_iterator(_texts(texts), trainer=trainer)
        _check_texts_learned(tok, "word")
        vocab = tok.get_vocab()
        return cls(sorted(vocab, key=vocab.get), lowercase)

    @classmethod
    def from_file(cls, path, lowercase=True):
        """Load a vocabulary saved by :meth:`save` (``vocab.txt``: line i is the token of id i)."""
        return cls(_read_lines(path, "word vocabulary file"), lowercase)

    def _save(self, paths):
        vocab = self._tok.get_vocab()
        _write_lines(paths["vocab"], sorted(vocab, key=vocab.get))


class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece from a ``vocab.txt``, with ``[CLS]`` first and ``[SEP]`` last in every input.

    Text is cleaned as BERT does (control characters dropped, CJK characters split, accents
    stripped when lower-casing), split on white space and punctuation, and each word is split
    into the longest pieces of the vocabulary (later pieces start with ``##``); a word with no
    such split becomes ``[UNK]``. The vocabulary must hold ``[PAD]``, ``[UNK]``, ``[CLS]`` and
    ``[SEP]``. Truncation keeps ``[CLS]`` and ``[SEP]``.

    Args:
        vocab (str): path of a BERT ``vocab.txt`` (one token per line, line i = id i).
        lowercase (bool): True for uncased BERT checkpoints, False for cased ones. Default True.

    Raises:
        RecipeError: the file is missing, empty, binary, not UTF-8, lists a token twice or lacks
            one of BERT's special tokens.

    Example:
        >>> import os, tempfile
        >>> from tinyms.text import WordPieceTokenizer
        >>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "!"]))
        >>> tok = WordPieceTokenizer(path)
        >>> tok.tokenize("Unaffable!")
        ['[CLS]', 'un', '##aff', '##able', '!', '[SEP]']
        >>> tok("Unaffable!")
        [2, 4, 5, 6, 7, 3]
    """

    kind = "wordpiece"
    files = (("vocab", "vocab.txt"),)
    _pad, _unk = "[PAD]", "[UNK]"

    def __init__(self, vocab, lowercase=True):
        lib = _lib()
        tokens = vocab if isinstance(vocab, list) else _read_lines(vocab, "WordPiece vocabulary file")
        ids = {t: i for i, t in enumerate(tokens)}
        missing = [t for t in BERT_SPECIALS if t not in ids]
        if missing:
            raise RecipeError(f"the WordPiece vocabulary {vocab if isinstance(vocab, str) else ''} lacks "
                              f"{', '.join(missing)}; use the vocab.txt published with the BERT checkpoint")
        tok = lib.Tokenizer(lib.models.WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = lib.normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                         strip_accents=None, lowercase=_flag(lowercase, "lowercase"))
        tok.pre_tokenizer = lib.pre_tokenizers.BertPreTokenizer()
        tok.post_processor = lib.processors.BertProcessing(("[SEP]", ids["[SEP]"]), ("[CLS]", ids["[CLS]"]))
        tok.decoder = lib.decoders.WordPiece(prefix="##")
        tok.add_special_tokens(list(BERT_SPECIALS))
        super().__init__(tok, lowercase)

    @classmethod
    def from_file(cls, path, lowercase=True):
        """The same as ``WordPieceTokenizer(path, lowercase)``."""
        return cls(path, lowercase)

    def _around(self):
        return [self._tok.token_to_id("[CLS]")], [self._tok.token_to_id("[SEP]")]

    def _save(self, paths):
        vocab = self._tok.get_vocab()
        _write_lines(paths["vocab"], sorted(vocab, key=vocab.get))


class BPETokenizer(Tokenizer):
    """Byte-level BPE learned from the user's texts: no unknown tokens, and ``decode`` gives the text back.

    Text is lower-cased (optional) and split GPT-2 style into words and punctuation, each as
    UTF-8 bytes; training learns merges of frequent byte pairs until the vocabulary has
    ``vocab_size`` tokens. Id 0 is ``<pad>``, 1 is ``<unk>`` (kept for uniformity; byte-level
    BPE never needs it). Saved as ``vocab.json`` and ``merges.txt``.

    Example:
        >>> from tinyms.text import BPETokenizer
        >>> tok = BPETokenizer.train(["low lower lowest", "newer newest"] * 10, vocab_size=280)
        >>> tok.decode(tok("Lowest newer"))
        'lowest newer'
    """

    kind = "bpe"
    files = (("vocab", "vocab.json"), ("merges", "merges.txt"))
    _pad, _unk = PAD, UNK

    def __init__(self, vocab, merges, lowercase=True):
        lib = _lib()
        if vocab.get(PAD) != 0 or vocab.get(UNK) != 1:
            raise RecipeError(f"a BPE vocabulary has {PAD!r} as id 0 and {UNK!r} as id 1; build it with "
                              "BPETokenizer.train")
        tok = lib.Tokenizer(lib.models.BPE(vocab, merges, unk_token=UNK))
        self._setup(lib, tok, _flag(lowercase, "lowercase"))
        super().__init__(tok, lowercase)

    @staticmethod
    def _setup(lib, tok, lowercase):
        tok.normalizer = _normalizer(lib, lowercase)
        tok.pre_tokenizer = lib.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = lib.decoders.ByteLevel()
        tok.add_special_tokens([PAD, UNK])

    @classmethod
    def train(cls, texts, vocab_size=8000, min_freq=2, lowercase=True):
        """Learn byte-pair merges from training texts.

        Args:
            texts: a list (or iterable) of str, or a dataset with a ``text`` column.
            vocab_size (int): the most tokens, the 256 bytes and ``<pad>``/``<unk>`` included
                (at least 259). Default 8000.
            min_freq (int): the fewest occurrences a pair needs to be merged. Default 2.
            lowercase (bool): lower-case text first. Default True.

        Returns:
            BPETokenizer: the tokenizer.
        """
        from .._checks import positive_int  # noqa: PLC0415

        vocab_size = positive_int(vocab_size, "vocab_size", 8000)
        if vocab_size < 259:
            raise ValueError(f"vocab_size counts the 256 byte tokens and <pad>/<unk>, so it must be at least 259, "
                             f"got {vocab_size}")
        min_freq = positive_int(min_freq, "min_freq", 2)
        lib = _lib()
        tok = lib.Tokenizer(lib.models.BPE(unk_token=UNK))
        cls._setup(lib, tok, _flag(lowercase, "lowercase"))
        trainer = lib.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_freq, special_tokens=[PAD, UNK],
                                          initial_alphabet=lib.pre_tokenizers.ByteLevel.alphabet(),
                                          show_progress=False)
        tok.train_from_iterator(_texts(texts), trainer=trainer)
        model = json.loads(tok.to_str())["model"]
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        return cls(model["vocab"], merges, lowercase)

    @classmethod
    def from_files(cls, vocab, merges, lowercase=True):
        """Load ``vocab.json`` and ``merges.txt`` written by :meth:`save`."""
        from .._jsonread import load_file  # noqa: PLC0415

        if not os.path.isfile(vocab) or not os.path.isfile(merges):
            raise RecipeError(f"a BPE tokenizer needs both {vocab} and {merges}; one of them does not exist")
        try:
            table = load_file(vocab, max_bytes=MAX_VOCAB_FILE_BYTES)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecipeError(f"the BPE vocabulary {vocab} is not a JSON object of token -> id ({exc})") from None
        if not isinstance(table, dict) or not all(isinstance(v, int) for v in table.values()):
            raise RecipeError(f"the BPE vocabulary {vocab} is not a JSON object of token -> id")
        pairs = []
        for i, line in enumerate(_read_lines(merges, "BPE merges file")):
            if i == 0 and line.startswith("#version"):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise RecipeError(f"line {i + 1} of {merges} is not two tokens separated by a space")
            pairs.append(tuple(parts))
        return cls(table, pairs, lowercase)

    def _extra(self):
        return json.loads(self._tok.to_str())["model"]["merges"]

    def _save(self, paths):
        model = json.loads(self._tok.to_str())["model"]
        with atomic_file(paths["vocab"], "w", encoding="utf-8") as f:
            json.dump(model["vocab"], f, ensure_ascii=False)
        merges = [" ".join(m) if not isinstance(m, str) else m for m in model["merges"]]
        _write_lines(paths["merges"], ["#version: 0.2", *merges])


TOKENIZER_KINDS = {"word": WordTokenizer, "wordpiece": WordPieceTokenizer, "bpe": BPETokenizer}


def load_tokenizer(kind, files, lowercase=True):
    """Rebuild a tokenizer from its kind and its files, as :meth:`Tokenizer.save` wrote them.

    Args:
        kind (str): ``"word"``, ``"wordpiece"`` or ``"bpe"``.
        files (dict): role -> path: ``{"vocab": ...}``, plus ``"merges"`` for BPE.
        lowercase (bool): whether text is lower-cased first. Default True.

    Returns:
        Tokenizer: the tokenizer.

    Raises:
        UnknownNameError: ``kind`` is not one of the three.
        RecipeError: a file is missing or malformed.
    """
    if kind not in TOKENIZER_KINDS:
        raise UnknownNameError(f"unknown tokenizer kind {kind!r}; use one of {sorted(TOKENIZER_KINDS)}")
    cls = TOKENIZER_KINDS[kind]
    roles = [role for role, _ in cls.files]
    missing = [role for role in roles if role not in files]
    if missing:
        raise RecipeError(f"a {kind} tokenizer needs the files {roles}; {missing} not given")
    if cls is BPETokenizer:
        return cls.from_files(files["vocab"], files["merges"], lowercase)
    return cls.from_file(files["vocab"], lowercase)
