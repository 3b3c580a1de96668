"""Private: short error texts. Pure Python, so processes that must not load MindSpore can use it."""


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
