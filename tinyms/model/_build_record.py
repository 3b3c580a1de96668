"""Private: how a network was built, as checkpoints and servables record it.

:class:`BuildRecord` is what every registry builder attaches to the network it makes
(``net.build_record``); :func:`network_description` turns a network into the JSON-ready record a
checkpoint or servable stores, and :func:`check_description` checks one read back. The registry
(``registry.py``) rebuilds networks from records; checkpoint files (``_checkpoint.py``) only
write and read them, so this module imports neither.
"""

import dataclasses
import inspect
import math
import numbers

from ..errors import CheckpointError

__all__ = ["BuildRecord", "DESCRIPTION_VERSION", "network_description", "check_description"]


@dataclasses.dataclass(frozen=True)
class BuildRecord:
    """How a network was built: its registry name and its builder's arguments.

    Every network a registry builder or :func:`create_model` makes carries one as
    ``net.build_record``. Checkpoints and servables store it (with the trained input shape),
    so that ``tinyms.model.load`` and the serving executor rebuild the very same network.

    Attributes:
        model (str): the registry name, e.g. ``"lenet5"``.
        args (dict): the builder's arguments by name, its defaults filled in (``class_num``,
            ``num_channel``, ``width_mult``...), as JSON values (tuples become lists).
        unrecorded (tuple): names of arguments whose values JSON cannot hold (a layer class, a
            function...). A checkpoint of such a network cannot rebuild it: pass ``network=``
            to ``tinyms.model.load``.

    Example:
        >>> from tinyms.model import lenet5
        >>> lenet5(class_num=3, num_channel=3).build_record.args
        {'class_num': 3, 'num_channel': 3}
    """

    model: str
    args: dict
    unrecorded: tuple = ()


class _NotJSON(Exception):
    pass


def _json_value(value):
    """``value`` as a JSON value (numpy scalars become Python numbers, tuples lists), or _NotJSON."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise _NotJSON
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v) for k, v in value.items()}
    raise _NotJSON


def _builder_arguments(signature, args, kwargs):
    """``(arguments by name, names that cannot be passed by name)`` of one builder call, defaults filled in."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    named, positional_only = {}, []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                positional_only.append(f"*{name}")
        elif kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only.append(name)
        else:
            named[name] = value
    return named, positional_only


def _record_build(net, name, arguments, unrecorded=()):
    """Attach the :class:`BuildRecord` of ``net`` (arguments JSON cannot hold are named, not kept)."""
    args, skipped = {}, list(unrecorded)
    for key, value in arguments.items():
        try:
            args[key] = _json_value(value)
        except _NotJSON:
            skipped.append(key)
    try:
        net.build_record = BuildRecord(name, args, tuple(skipped))
    except (AttributeError, TypeError):  # a builder returning an object that takes no attributes
        pass
    return net


#: Version of the network description checkpoints and servables store (see network_description).
DESCRIPTION_VERSION = 1


def network_description(net):
    """What a checkpoint or servable records about ``net``: a JSON-ready dict, or None.

    ``{"version": 1, "model": name, "args": {builder arguments}, "input_shape": [...]}``, plus
    ``"unrecorded": [names]`` when some arguments could not be recorded. ``input_shape`` is the
    network's ``default_cfg.input_shape``, which says the trained size after training on another
    image size than the architecture's. A network whose ``build_record`` names another model
    than its config (or that has none) is described by its config alone: ``args`` then holds
    ``class_num`` only. None for a network without ``default_cfg``.
    """
    cfg = getattr(net, "default_cfg", None)
    if cfg is None or not getattr(cfg, "name", None):
        return None
    record = getattr(net, "build_record", None)
    description = {"version": DESCRIPTION_VERSION, "model": cfg.name}
    if isinstance(record, BuildRecord) and record.model == cfg.name:
        description["args"] = dict(record.args)
        if record.unrecorded:
            description["unrecorded"] = list(record.unrecorded)
    elif cfg.labels:
        description["args"] = {"class_num": len(cfg.labels) + cfg.background}
    if cfg.input_shape:
        description["input_shape"] = [int(n) for n in cfg.input_shape]
    return description


def _positive_ints(value):
    return (isinstance(value, list) and bool(value)
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value))


def check_description(description):
    """Raise CheckpointError unless ``description`` is one :func:`network_description` can have written."""
    if not isinstance(description, dict):
        raise CheckpointError(f"the network record must be a JSON object, got {type(description).__name__}")
    version = description.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"the network record has no valid version (got {version!r})")
    if version > DESCRIPTION_VERSION:
        raise CheckpointError(f"the network record is of version {version}, newer than this TinyMS reads "
                              f"({DESCRIPTION_VERSION}): upgrade TinyMS")
    if not isinstance(description.get("model"), str) or not description["model"]:
        raise CheckpointError("the network record names no model")
    args = description.get("args", {})
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise CheckpointError(f"the network record's args must map argument names to values, got {args!r}")
    unrecorded = description.get("unrecorded", [])
    if not isinstance(unrecorded, list) or not all(isinstance(n, str) for n in unrecorded):
        raise CheckpointError(f"the network record's unrecorded must list argument names, got {unrecorded!r}")
    shape = description.get("input_shape")
    if shape is not None and not _positive_ints(shape):
        raise CheckpointError(f"the network record's input_shape must be a list of positive integers, got {shape!r}")
