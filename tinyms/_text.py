"""Private: short error texts. Pure Python, so processes that must not load MindSpore can use it."""

import re

# Where MindSpore's detail starts in an error message: a "----" rule, its C++ call stack, the
# traceback of the network's construct code, or the pointer to its analyze_fail.ir dump.
_FRAMEWORK_DETAIL = re.compile(r"\n\s*-{4,}|- C\+\+ Call Stack|The Traceback of Net Construct Code|"
                               r"\(See file '[^']*analyze_fail|analyze_fail\.ir")
# The end of a sentence: . ! or ? followed by the end, or by a space and a capital or an opening bracket.
_SENTENCE_END = re.compile(r"[.!?](?=$|\s+[A-Z(\[])")


def first_line(err, limit=500):
    """The first informative line of an exception's message (MindSpore's ``----`` rules skipped).

    Example:
        >>> first_line(ValueError("\\n----\\nbad shape\\ndetails"))
        'bad shape'
    """
    for line in str(err).strip().splitlines():
        line = line.strip()
        if line and not line.startswith("-"):
            return line[:limit]
    return type(err).__name__


def has_framework_detail(err):
    """True when the message of ``err`` (an exception or a string) carries MindSpore's detail.

    Example:
        >>> has_framework_detail("bad\\n- C++ Call Stack: (For framework developers)")
        True
    """
    return _FRAMEWORK_DETAIL.search(str(err)) is not None


def first_sentence(err, limit=300):
    """The first sentence of an error message: what went wrong, MindSpore's detail dropped.

    The one place that turns a MindSpore error into text TinyMS reports (serving answers, its
    logs, the command line): everything from MindSpore's C++ call stack, its traceback of the
    network's ``construct`` code or its ``analyze_fail.ir`` pointer on is dropped, then the first
    informative line is cut after its first sentence.

    Args:
        err (Exception or str): the error.
        limit (int): the most characters kept.

    Returns:
        str: the sentence (the exception's type name when the message is empty).

    Example:
        >>> first_sentence(RuntimeError("Failed to read a.ckpt. The file may be corrupted."))
        'Failed to read a.ckpt.'
    """
    lines = str(err).strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("-")):  # leading rules
        del lines[0]
    text = "\n".join(lines)
    detail = _FRAMEWORK_DETAIL.search(text)
    line = text[:detail.start() if detail is not None else len(text)].strip().split("\n", 1)[0].strip()
    if not line:
        return type(err).__name__ if isinstance(err, BaseException) else ""
    end = _SENTENCE_END.search(line)
    return (line[:end.end()] if end else line)[:limit]
