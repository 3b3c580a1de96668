"""Private, MindSpore-free: the one way TinyMS reads JSON that comes from outside the process.

``servable.json``, recipes, hub asset files, run records, caches and markers, checkpoint
records, the server's run files, request bodies and server answers are all read with
:func:`loads` or :func:`load_file`, which bound the text's size and its nesting depth before
Python's parser sees it. Python's parser recurses once per level and raises
``RecursionError`` near 1,000 levels; anything nested more than :data:`MAX_DEPTH` levels (far
more than any TinyMS file needs) is refused first with a :class:`~tinyms.errors.JSONInputError`
naming the text, so that no later step (copying, re-encoding, validating) recurses deeply either.

Malformed JSON keeps Python's own :class:`json.JSONDecodeError` (a ``ValueError`` with line
and column); callers already turn it into their own errors.
"""

import json
import os
import re
import sys
from itertools import accumulate

from .errors import JSONInputError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "loads", "load_file"]

MAX_DEPTH = 100
MAX_FILE_BYTES = 64 * 1024 * 1024
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
#: nesting Python's parser may reach when no ``max_depth`` is scanned for (Python's own default limit)
_PARSER_DEPTH = 1000


def _too_deep(text, max_depth):
    """True when ``text`` nests arrays/objects more than ``max_depth`` levels (strings ignored)."""
    if text.count("[") + text.count("{") <= max_depth:  # cannot be deeper than its brackets
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return bool(brackets) and max(accumulate(map(_STEP.__getitem__, brackets))) > max_depth


def _nested_error(what, max_depth):
    return JSONInputError(f"{what} is nested more than {max_depth} levels deep, more than TinyMS reads; "
                          "flatten it (TinyMS's own files nest a few levels)")


def loads(text, what="the JSON text", *, max_bytes=None, max_depth=MAX_DEPTH, **kwargs):
    """Parse JSON ``text`` (str or UTF-8 bytes), refusing it when too large or too deeply nested.

    Args:
        text (str or bytes): the JSON text.
        what (str): how messages name the text, e.g. ``"servable.json"``.
        max_bytes (int): the most characters (bytes) read; None: no size bound here (the caller
            bounded what it read).
        max_depth (int): the most nested arrays/objects; None leaves only the parser's own
            recursion guard (for large dataset files whose readers never recurse).
        **kwargs: passed to :func:`json.loads` (e.g. ``parse_constant``).

    Returns:
        The parsed value.

    Raises:
        JSONInputError: the text is larger than ``max_bytes`` or nested more than ``max_depth``.
        json.JSONDecodeError: the text is not valid JSON.
        UnicodeDecodeError: bytes that are not UTF-8.
    """
    if max_bytes is not None and len(text) > max_bytes:
        raise JSONInputError(f"{what} has {len(text):,} bytes, more than the {max_bytes:,} TinyMS reads")
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8")
    if max_depth is not None and _too_deep(text, max_depth):
        raise _nested_error(what, max_depth)
    try:
        if max_depth is None:
            return _parse_within_default_recursion(text, **kwargs)
        return json.loads(text, **kwargs)
    except RecursionError:
        raise _nested_error(what, max_depth or _PARSER_DEPTH) from None


def _parse_within_default_recursion(text, **kwargs):
    """``json.loads`` allowed about :data:`_PARSER_DEPTH` levels beyond the caller's stack.

    Importing MindSpore raises Python's recursion limit to 10,000, which lets the parser build a
    value nested thousands of levels deep (that later code would recurse into); for the parse, the
    limit is lowered to what Python allows by default, then restored.
    """
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    kept = sys.getrecursionlimit()
    sys.setrecursionlimit(min(kept, depth + _PARSER_DEPTH))
    try:
        return json.loads(text, **kwargs)
    finally:
        sys.setrecursionlimit(kept)


def load_file(path, what=None, *, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH, **kwargs):
    """Read and parse the JSON file ``path`` (UTF-8, a BOM allowed) within the same bounds as :func:`loads`.

    Args:
        path (str): the file.
        what (str): how messages name it; default: its path.
        max_bytes (int): the largest file read.
        max_depth (int): the most nested arrays/objects (None: the parser's own guard only).
        **kwargs: passed to :func:`json.loads`.

    Returns:
        The parsed value.

    Raises:
        OSError: the file cannot be read.
        JSONInputError: the file is larger than ``max_bytes`` or nested more than ``max_depth``.
        json.JSONDecodeError: the file is not valid JSON.
        UnicodeDecodeError: the file is not UTF-8 text.
    """
    what = what or os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise JSONInputError(f"{what} has {max(size, len(data)):,} bytes, more than the {max_bytes:,} TinyMS reads")
    return loads(data.decode("utf-8-sig"), what, max_depth=max_depth, **kwargs)
