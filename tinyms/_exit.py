"""Private: a quiet interpreter exit for scripts that keep MindSpore networks in module globals.

A script such as ``net = create_model("resnet18")`` at module level used to end with dozens of
``Exception ignored in: <function Cell.__del__ ...> AttributeError: 'NoneType' object has no
attribute 'total_instance_count'``. The cause is the order in which Python tears modules down
at exit: it wipes the globals of the modules still alive in the reverse of their order in
``sys.modules``. ``multiprocessing`` (which MindSpore's and TinyMS's data pipelines import)
registers the script's module a second time, as ``__mp_main__``, at the moment it is imported,
and other libraries (dill) keep it alive; so the script's globals are wiped at that second
entry's place, after the modules of MindSpore imported later. The networks they hold are then
freed with ``mindspore.nn.cell``'s globals already set to None, and ``Cell.__del__`` fails on
each cell.

:func:`release_networks_at_exit` registers (once per process) an ``atexit`` function that moves
the script's module (``__main__``, ``__mp_main__``) to the end of ``sys.modules``. Python then
wipes it first, while MindSpore is intact, and every network it holds is released normally.
MindSpore itself is not changed, and nothing happens before the interpreter exits.
"""

import atexit
import sys
import threading

__all__ = ["release_networks_at_exit"]

_MAIN_NAMES = ("__main__", "__mp_main__")
_REGISTERED = []
_LOCK = threading.Lock()


def _wipe_main_first():
    """Move the script's module entries to the end of ``sys.modules`` (wiped first at exit)."""
    modules = sys.modules
    for name in _MAIN_NAMES:
        module = modules.pop(name, None)
        if module is not None:
            modules[name] = module


def release_networks_at_exit():
    """Make networks held in the script's globals be freed before MindSpore is torn down at exit.

    Called by TinyMS wherever it builds, loads or wraps a network; registers its ``atexit``
    function once per process and returns at once afterwards.
    """
    if _REGISTERED:
        return
    with _LOCK:
        if not _REGISTERED:
            atexit.register(_wipe_main_first)
            _REGISTERED.append(True)
