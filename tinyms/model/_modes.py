"""Private: look at a network without changing it.

Counting a network's classes, tracing its output shapes, exporting it or sweeping learning rates
runs it, and running it in inference mode flips every layer's ``training`` flag. MindSpore
compiles a graph with the flags it finds, so a flag left flipped before the first training step
makes BatchNorm and Dropout train in inference mode for as long as that graph is reused.
:func:`untouched` puts every layer's flag, and the network's ``default_cfg``, back as they were.
"""

import contextlib

__all__ = ["untouched", "layer_modes"]

_MISSING = object()


def layer_modes(network):
    """``{qualified layer name: training flag}`` for the network and every layer inside it."""
    return {name or "(root)": bool(getattr(cell, "training", False)) for name, cell in network.cells_and_names()}


@contextlib.contextmanager
def untouched(network):
    """Run the block, then restore each layer's training flag and the network's ``default_cfg``.

    Flags are restored layer by layer (not with one ``set_train``), so a network whose layers
    were in different modes (e.g. frozen BatchNorm layers kept in inference mode while the rest
    trains) comes back exactly as it was. The ``default_cfg`` attribute is put back as the same
    object, or removed again when the network had none.

    Args:
        network (Layer): the network to inspect.

    Yields:
        Layer: ``network``.
    """
    cells, seen = [], set()
    for _, cell in network.cells_and_names():
        if id(cell) not in seen:
            seen.add(id(cell))
            cells.append((cell, bool(getattr(cell, "training", False)), getattr(cell, "phase", None)))
    cfg = network.__dict__.get("default_cfg", _MISSING)
    try:
        yield network
    finally:
        for cell, training, phase in cells:
            if bool(getattr(cell, "training", False)) != training:
                cell.add_flags(training=training)
            if phase is not None and getattr(cell, "phase", None) != phase:
                cell.phase = phase
        if cfg is _MISSING:
            network.__dict__.pop("default_cfg", None)
        elif network.__dict__.get("default_cfg", _MISSING) is not cfg:
            network.default_cfg = cfg
