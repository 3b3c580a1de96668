"""Text preprocessing: tokenizers, ready text transforms, and MindSpore's text ops.

A tokenizer turns a string into token ids (:class:`WordTokenizer` learns its vocabulary from
your texts, :class:`WordPieceTokenizer` reads a BERT ``vocab.txt``, :class:`BPETokenizer`
learns byte-pair merges). A :class:`TextTransform` adds a fixed length with padding and
truncation: called on one string it gives the int32 ids a network takes, ``apply_ds`` gives
the same ids for a whole dataset of ``text``/``label`` rows, and ``postprocess`` turns logits
into named predictions. Its recipe (a JSON file beside the vocabulary, whose SHA-256 it
records) travels with a trained model.

MindSpore's text ops that TinyMS 0.3 re-exported (``Lookup``, ``Vocab``, ``Ngram``,
``TypeCast``, ``PadEnd``...) are reachable here too, loaded on first use.

Example:
    >>> from tinyms.text import text_transform
    >>> transform = text_transform("word", texts=["a good film", "a bad film"], max_length=6,
    ...                            labels=["neg", "pos"])
    >>> transform("A good, good film!")
    array([2, 5, 1, 5, 3, 1], dtype=int32)
    >>> transform.postprocess([[0.2, 1.5]])[0].label
    'pos'
"""

import importlib as _importlib

# TinyMS 0.3's tinyms.text names that MindSpore 2.10 still has, and where they live there.
_MS_TEXT = ("Lookup", "JiebaTokenizer", "UnicodeCharTokenizer", "Ngram", "WordpieceTokenizer",
            "TruncateSequencePair", "ToNumber", "SlidingWindow", "SentencePieceTokenizer", "PythonTokenizer",
            "to_str", "to_bytes", "Vocab", "SentencePieceVocab", "SentencePieceModel", "SPieceTokenizerOutType",
            "SPieceTokenizerLoadType")
_MS_COMMON = ("Compose", "Concatenate", "Duplicate", "Fill", "Mask", "OneHot", "PadEnd", "RandomApply",
              "RandomChoice", "Slice", "TypeCast", "Unique")

_FROM_TOKENIZERS = ("Tokenizer", "WordTokenizer", "WordPieceTokenizer", "BPETokenizer", "load_tokenizer")
_FROM_TRANSFORMS = ("TextTransform", "text_transform", "TruncationWarning")

__all__ = [*_FROM_TOKENIZERS, *_FROM_TRANSFORMS, *_MS_TEXT, *_MS_COMMON]


def __getattr__(name):
    if name in _FROM_TOKENIZERS:
        module = _importlib.import_module(".tokenizers", __name__)
    elif name in _FROM_TRANSFORMS:
        module = _importlib.import_module(".transforms", __name__)
    elif name in _MS_TEXT:
        module = _importlib.import_module("mindspore.dataset.text")
    elif name in _MS_COMMON:
        module = _importlib.import_module("mindspore.dataset.transforms")
    else:
        raise AttributeError(f"module 'tinyms.text' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
