"""Private, MindSpore-free argument checks shared by every package."""

import numbers

__all__ = ["positive_int", "non_negative_int"]


def _integer(value, name, example, minimum, wanted):
    hint = f"; pass e.g. {name}={example}" if example is not None else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, got {value!r}{hint}")
    if value < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value!r}{hint}")
    return int(value)


def positive_int(value, name, example=None):
    """Return ``value`` as an int if it is a positive integer (not a bool), else raise.

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: ``value`` is an integer below 1.
    """
    return _integer(value, name, example, 1, "a positive integer")


def non_negative_int(value, name, example=None):
    """Like :func:`positive_int` but 0 is allowed."""
    return _integer(value, name, example, 0, "an integer of 0 or more")
