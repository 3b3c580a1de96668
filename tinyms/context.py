"""Execution context: graph (compiled) or eager mode, device, seeds.

TinyMS defaults to ``GRAPH_MODE`` for training and prediction because on CPU it measured
about 7x faster than ``PYNATIVE_MODE`` (see ``benchmarks/RESULTS.md``). The default is applied
the first time a :class:`tinyms.model.Model` runs, never at import. Choose the mode yourself with
:func:`set_context` and TinyMS leaves it alone.

Example:
    >>> from tinyms import context
    >>> context.set_context(mode=context.PYNATIVE_MODE)   # eager, easier to debug
    >>> context.get_context("mode") == context.PYNATIVE_MODE
    True
"""

import mindspore as _ms
from mindspore import GRAPH_MODE as _GRAPH_MODE, PYNATIVE_MODE as _PYNATIVE_MODE

#: Compiled execution (MindSpore's graph mode), TinyMS's default: ``set_context(mode=GRAPH_MODE)``.
GRAPH_MODE = _GRAPH_MODE
#: Eager execution, line by line (MindSpore's PyNative mode): slower, easier to debug.
PYNATIVE_MODE = _PYNATIVE_MODE

# TinyMS's seed, not MindSpore's: it also seeds Python's and NumPy's generators and the data pipeline
from ._seed import get_seed, set_seed

__all__ = ["GRAPH_MODE", "PYNATIVE_MODE", "set_context", "get_context", "set_seed", "get_seed"]

_user_chose_mode = False


def set_context(**kwargs):
    """Set MindSpore context options (``mode``, ``device_target``, ...).

    Args:
        **kwargs: options of ``mindspore.set_context``. ``device_target`` is routed to
            ``mindspore.set_device`` (the non-deprecated call).

    Raises:
        ValueError: an option or value MindSpore does not accept.

    Example:
        >>> from tinyms import context
        >>> context.set_context(mode=context.GRAPH_MODE)
    """
    global _user_chose_mode
    if "mode" in kwargs:
        if kwargs["mode"] not in (GRAPH_MODE, PYNATIVE_MODE):
            raise ValueError(f"mode must be context.GRAPH_MODE ({GRAPH_MODE}) or "
                             f"context.PYNATIVE_MODE ({PYNATIVE_MODE}), got {kwargs['mode']!r}")
        _user_chose_mode = True
    device = kwargs.pop("device_target", None)
    if device is not None:
        try:
            _ms.set_device(device)
        except RuntimeError as err:  # MindSpore takes the device only before its runtime starts
            current = str(_ms.get_context("device_target"))
            if current.lower() != str(device).lower():
                raise ValueError(f"device_target={device!r} must be set before anything runs (this process already "
                                 f"runs on {current}): call set_context(device_target=...) first") from err
            # asking again for the device already in use (every TinyMS 0.3 script starts so) changes nothing
    if kwargs:
        _ms.set_context(**kwargs)


def get_context(key):
    """Return the value of one context option, e.g. ``get_context("mode")``."""
    return _ms.get_context(key)


_defaults_applied = False


def _apply_defaults():
    """Switch to GRAPH_MODE when a Model first runs, unless the user picked a mode through :func:`set_context`.

    Once only: a mode set later (also through MindSpore directly) is left alone, and every
    later call costs a flag test instead of a context read (~0.035 ms of a 0.7 ms prediction).
    """
    global _defaults_applied
    if _defaults_applied:
        return
    if not _user_chose_mode and _ms.get_context("mode") != GRAPH_MODE:
        _ms.set_context(mode=GRAPH_MODE)
    _defaults_applied = True
