"""Strings in for a text servable: checked, bounded, tokenized by its ``tinyms.text`` recipe (no MindSpore).

A ``"text_classification"`` servable's entry carries the recipe of the
:class:`tinyms.text.TextTransform` it was trained with (``model.text``: tokenizer kind,
lower-casing, ``max_length``, truncation, labels, and each vocabulary file beside the weights
with its SHA-256). The front end rebuilds that transform and turns each string into the same
int32 ids (max_length,) as ``transform(text)`` does in-process, so a served answer equals
``transform.postprocess(model.predict(texts, transform))``. A text longer than ``max_length``
tokens is truncated as the transform truncates it, and the answer says so (never an error).

Requests are bounded: at most :data:`MAX_TEXTS` strings, each at most :data:`MAX_TEXT_BYTES`
bytes of UTF-8; anything else is an :class:`~tinyms.serving._preprocess.InputError` (4xx)
naming the problem.
"""

import numpy as np

from ._preprocess import InputError

__all__ = ["MAX_TEXTS", "MAX_TEXT_BYTES", "TextRecipe", "check_text_files", "texts_of", "utf8_size",
           "decode_utf8"]

MAX_TEXTS = 256  # strings per request
MAX_TEXT_BYTES = 100_000  # UTF-8 bytes per string


def check_text_files(config, folder):
    """Check a servable's ``model.text`` recipe and its vocabulary files (no tokenizer is built).

    The check is :func:`tinyms.text.transforms.recipe_files`'s: each file a plain name whose
    real path (symlinks followed) lies in the servable's folder, with the SHA-256 recorded.

    Args:
        config (dict): ``model.text`` (``TextTransform.to_config`` with ``files``).
        folder (str): the servable's folder (``<serving path>/<name>``).

    Returns:
        dict: ``config``.

    Raises:
        ValueError: the recipe is malformed, a file is missing, outside the folder, or changed.
    """
    from ..errors import RecipeError
    from ..text.transforms import recipe_files

    try:
        recipe_files(config, folder, where="model.text")
    except RecipeError as err:
        raise ValueError(f"{err} (a changed vocabulary gives the network other token ids than it learned; a "
                         "servable is written again with tinyms.serving.write_servable)") from None
    return config


class TextRecipe:
    """Strings -> the int32 ids (N, max_length) a text servable's network takes.

    Built from the entry's ``model.text`` by :meth:`tinyms.text.TextTransform.from_config`
    (the vocabulary's SHA-256 checked again), so the ids are the library's.

    Args:
        config (dict): ``model.text``.
        folder (str): the servable's folder holding the vocabulary files.

    Raises:
        ValueError: the recipe cannot be rebuilt (the message says why).
    """

    def __init__(self, config, folder):
        from ..errors import RecipeError, UnknownNameError
        from ..text.transforms import TextTransform

        try:
            self.transform = TextTransform.from_config(config, folder, where="model.text")
        except (RecipeError, UnknownNameError) as err:
            raise ValueError(str(err)) from None
        except ImportError:  # the TinyMS runtime installed without its text extra
            raise ValueError("a text servable needs the 'tokenizers' package, which this environment lacks: "
                             "pip install 'tokenizers>=0.22,<0.24' (the TinyMS runtime: pip install "
                             "\"./runtime[text]\")") from None
        self.max_length = self.transform.max_length
        self.labels = self.transform.labels
        self.truncation = self.transform.truncation

    def prepare(self, texts):
        """``(ids int32 (N, max_length), notes)``; ``notes`` maps a text's index to the tokens it lost.

        Raises:
            InputError: a text cannot be tokenized (400).
        """
        rows, notes = [], {}
        for i, text in enumerate(texts):
            try:
                ids, dropped = self.transform._ids(text)
            except (TypeError, ValueError) as err:
                raise InputError(400, f"text {i} cannot be tokenized: {err}") from None
            rows.append(ids)
            if dropped:
                notes[i] = int(dropped)
        return np.stack(rows).astype(np.int32, copy=False), notes

    def note(self, index, dropped, batch):
        """The sentence an answer carries about a truncated text."""
        which = f"text {index}" if batch else "the text"
        kept = "start" if self.truncation == "right" else "end"
        return (f"{which} had {dropped} more token{'s' if dropped != 1 else ''} than this servable's "
                f"max_length={self.max_length}; they were dropped (its {kept} was kept)")


def texts_of(value, field="text"):
    """The strings of a request: one string or a list of strings, bounded and UTF-8 checked.

    Args:
        value: what the request's ``text`` field holds.
        field (str): the field's name, for messages.

    Returns:
        tuple: ``(list of str, batch)``; ``batch`` is True when a list was sent.

    Raises:
        InputError: not a string or list of strings (400), no string, more than :data:`MAX_TEXTS`
            strings, or a string over :data:`MAX_TEXT_BYTES` bytes (413), text that is not
            valid Unicode (400).
    """
    batch = isinstance(value, list)
    items = value if batch else [value]
    if batch and not items:
        raise InputError(400, f"'{field}' is an empty list; send one string or a list of 1 to {MAX_TEXTS} strings")
    if len(items) > MAX_TEXTS:
        raise InputError(413, f"'{field}' holds {len(items)} strings, more than the {MAX_TEXTS} a request may "
                              "carry; send them in several requests")
    for i, item in enumerate(items):
        where = f"{field}[{i}]" if batch else field
        if not isinstance(item, str):
            kind = "null" if item is None else type(item).__name__
            raise InputError(400, f"'{where}' must be a string, got {kind}; send "
                                  f"{{\"{field}\": \"a text\"}} or {{\"{field}\": [\"a text\", ...]}}")
        size = utf8_size(item, where)
        if size > MAX_TEXT_BYTES:
            raise InputError(413, f"'{where}' has {size:,} bytes of UTF-8, more than the {MAX_TEXT_BYTES:,} a text "
                                  "may have; send a shorter text (only its first max_length tokens are read)")
    return list(items), batch


def utf8_size(text, where):
    """The UTF-8 size of ``text``; InputError (400) for a lone surrogate (not valid Unicode text)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise InputError(400, f"'{where}' is not valid Unicode text (a lone surrogate at character {err.start}); "
                              "send UTF-8 text") from None


def decode_utf8(data, where):
    """``data`` (bytes) decoded as UTF-8; InputError (400) naming the first bad byte."""
    if len(data) > MAX_TEXT_BYTES:
        raise InputError(413, f"'{where}' has {len(data):,} bytes, more than the {MAX_TEXT_BYTES:,} a text may "
                              "have; send a shorter text")
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(400, f"'{where}' is not UTF-8 text (byte {err.start} is invalid: {err.reason}); "
                              "encode the text as UTF-8") from None
