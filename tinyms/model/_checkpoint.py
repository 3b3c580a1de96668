"""Checkpoint files: written with an integrity check, read by exact name, never silently wrong.

What TinyMS guarantees for a ``.ckpt`` file, whichever path wrote or reads it
(``Model.save_checkpoint`` / ``Model.load_checkpoint``, ``tinyms.model.load``, the TinyMS
``ModelCheckpoint`` callback, the serving executor):

- Written to a temporary name in the target folder, fsync'ed, renamed into place, mode 0644;
  temporary files left by a process that died are removed on the next save there.
- Written with MindSpore's CRC-32 trailer; the CRC is verified on every read before any value
  is used. A file without a trailer (MindSpore's default writers) still loads, unverified.
- Every file TinyMS writes of a registry network records how to rebuild it (entry
  ``tinyms_network``: the model name, its builder's arguments and the trained input shape;
  see :func:`network_metadata`), beside the ``tinyms_model`` / ``tinyms_class_num`` entries
  that older TinyMS versions wrote and read. ``tinyms.model.load`` rebuilds from it; files
  with only the older entries load as before.
- Network weights load by exact name into the network only; every network parameter must be
  in the file with the same shape and dtype, and every other entry of the file must be
  optimizer state or TinyMS metadata. Optimizer state loads into optimizer slots only, and
  only when resuming. The first mismatch is a :class:`~tinyms.errors.CheckpointError`.
"""

import binascii
import contextlib
import json
import logging
import os
import re

import numpy as np

from .._fileio import atomic_path, sweep_stale_temps
from .._jsonread import loads
from .._text import first_line as _first_line
from ..errors import CheckpointError
from ._build_record import check_description, network_description

__all__ = ["save_checkpoint", "read_checkpoint", "load_weights", "load_optimizer_state",
           "optimizer_slots", "learning_rate_parameters", "checkpoint_path", "metadata", "network_metadata",
           "network_record", "META_PREFIX", "verify_crc"]

META_PREFIX = "tinyms_"  # metadata entries TinyMS adds to a file (model name, class count...)
NETWORK_KEY = "network"  # metadata entry (tinyms_network) recording how the network was built
_CRC_TAG = b"crc_num"
_log = logging.getLogger("tinyms.model")
_TRAILER = len(_CRC_TAG) + 10

# Scalar state an optimizer or training wrapper keeps beside per-parameter slots.
_OPTIMIZER_SCALARS = {"learning_rate", "momentum", "global_step", "beta1_power", "beta2_power",
                      "scale_sense", "current_iterator_step", "last_overflow_iterator_step",
                      "epoch_num", "step_num", "weight_decay", "loss_scale"}
# the learning rate of parameter group k > 0 (MindSpore names group 0's "learning_rate")
_GROUP_RATE = re.compile(r"learning_rate_group_\d+")


def checkpoint_path(path):
    """The absolute path :func:`save_checkpoint` writes for ``path`` (``.ckpt`` appended if missing)."""
    return _fix_path(path)


def _fix_path(path):
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path) or path.endswith(os.sep):
        raise CheckpointError(f"{path!r} is a folder; pass a file name inside it, e.g. "
                              f"{os.path.join(path, 'model.ckpt')!r}")
    if not path.endswith(".ckpt"):
        path += ".ckpt"
    if os.path.isdir(path):
        raise CheckpointError(f"{path!r} is a folder; pass a file name such as "
                              f"{os.path.join(path, 'model.ckpt')!r}")
    return path


def save_checkpoint(save_obj, path, metadata=None):
    """Write ``save_obj`` (a network, or a list of ``{"name", "data"}``) to ``path`` safely.

    Args:
        save_obj: a ``Layer``/``nn.Cell`` or what ``mindspore.save_checkpoint`` accepts.
        path (str): the file; ``.ckpt`` is appended if missing; parent folders are created.
        metadata (dict): ``{key: str|int|float}`` stored as ``tinyms_<key>`` entries.

    Returns:
        str: the absolute path written.

    Raises:
        CheckpointError: ``path`` is a folder, or the file cannot be written.
    """
    import mindspore as ms

    path = _fix_path(path)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise CheckpointError(f"cannot create the folder for {path!r}: {err.strerror}") from err
    sweep_stale_temps(folder)
    append = {f"{META_PREFIX}{k}": v for k, v in (metadata or {}).items()} or None
    try:
        with atomic_path(path, suffix=".ckpt") as tmp:
            ms.save_checkpoint(save_obj, tmp, append_dict=append, crc_check=True)
    except OSError as err:
        raise CheckpointError(f"cannot write the checkpoint {path!r}: {err.strerror or err}") from err
    return path


def verify_crc(path):
    """Check the CRC-32 trailer of a ``.ckpt`` file.

    Returns:
        bool: True when the file carries a CRC and it matches; False when it has none.

    Raises:
        CheckpointError: the CRC does not match (the file is corrupt), or it cannot be read.
    """
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as err:
        raise CheckpointError(f"cannot read the checkpoint {path!r}: {err.strerror}") from err
    if len(content) < _TRAILER or content[-_TRAILER:-10] != _CRC_TAG:
        return False
    expected = int.from_bytes(content[-10:], "big")
    if binascii.crc32(content[:-_TRAILER], 0) != expected:
        raise CheckpointError(f"{path!r} is corrupt: its CRC-32 check failed (the file changed after "
                              f"it was written). Save, copy or download it again.")
    return True


@contextlib.contextmanager
def _quiet_mindspore_log():
    # MindSpore logs an ERROR line of its own before raising on a broken file; the
    # CheckpointError raised here says it better.
    logger = logging.getLogger("mindspore")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_checkpoint(path):
    """Read every entry of a checkpoint after verifying its CRC.

    Returns:
        dict: ``{name: Parameter or str/number}``.

    Raises:
        CheckpointError: the file is missing, empty, corrupt or not a checkpoint.
    """
    import mindspore as ms

    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path!r} is a folder, not a checkpoint file: pass the .ckpt file in it")
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint file at {path!r}: check the path, or write one with "
                              f"model.save_checkpoint(path)")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path!r} is empty (an interrupted save?): save or download it again")
    verify_crc(path)
    try:
        with _quiet_mindspore_log():
            params = ms.load_checkpoint(path)
    except (ValueError, RuntimeError, OSError, TypeError, MemoryError) as err:
        raise CheckpointError(f"{path!r} is not a readable MindSpore checkpoint (truncated or corrupt?): "
                              f"{_first_line(err)}. Save or download it again.") from err
    if not params:
        raise CheckpointError(f"{path!r} holds no parameters: save or download it again")
    return params


def metadata(params):
    """The TinyMS metadata stored in a checkpoint's entries (``tinyms_model`` -> ``model``...)."""
    out = {}
    for name, value in params.items():
        if name.startswith(META_PREFIX):
            out[name[len(META_PREFIX):]] = value.asnumpy().item() if hasattr(value, "asnumpy") else value
    return out


def network_metadata(network):
    """The metadata entries that let a reader rebuild ``network`` (empty for a network the registry did not build).

    ``model`` and ``class_num`` (what every TinyMS version reads) and ``network``: the JSON text
    of :func:`tinyms.model._build_record.network_description` (model, builder arguments, trained
    input shape). Arguments JSON cannot hold are named in it and logged as a warning: such a
    file loads only with ``network=``.

    Args:
        network (Layer): the network whose weights the file holds.

    Returns:
        dict: ``{key: str|int}`` for :func:`save_checkpoint`'s ``metadata``.
    """
    description = network_description(network)
    if description is None:
        return {}
    meta = {"model": description["model"], NETWORK_KEY: json.dumps(description, sort_keys=True)}
    class_num = description.get("args", {}).get("class_num")
    if isinstance(class_num, int) and not isinstance(class_num, bool):
        meta["class_num"] = class_num
    if description.get("unrecorded"):
        _log.warning("%s was built with %s, which a checkpoint cannot record (not JSON values): "
                     "tinyms.model.load will need network= to read the file",
                     description["model"], ", ".join(description["unrecorded"]))
    return meta


def network_record(meta, path):
    """The network description a checkpoint's metadata holds (None when it has none).

    Raises:
        CheckpointError: the record is not JSON or not a description this TinyMS can read.
    """
    text = meta.get(NETWORK_KEY)
    if text is None:
        return None
    try:
        description = loads(text, "its network record") if isinstance(text, str) else None
        check_description(description)
    except (ValueError, CheckpointError) as err:
        raise CheckpointError(f"{path!r} records its network in a form this TinyMS cannot read "
                              f"({_first_line(err)}): pass network=") from err
    return description


def _is_optimizer_state(name, own):
    # opt_state.*: a second optimizer's counters and other training state (a GAN's, _gan.py)
    if name in _OPTIMIZER_SCALARS or _GROUP_RATE.fullmatch(name) or name.startswith("opt_state."):
        return True
    head, _, rest = name.partition(".")
    return bool(rest) and rest in own and head not in own


def _describe(value):
    return f"{tuple(value.shape)} {value.dtype}"


def _without_wrapper_prefix(params, own):
    """``params`` with the prefix a training wrapper gave every name removed, when unambiguous.

    A train-step cell written without ``auto_prefix=False`` renames the weights it holds
    (``optimizer.conv1.weight``), and ModelCheckpoint saves those names. When no network name
    is in the file as it is and exactly one prefix, once removed, leaves every network name in
    the file and every other entry optimizer state or metadata (no clash, nothing unknown),
    the file's names lose that prefix; otherwise ``params`` is returned as it is. Shapes and
    dtypes are still checked name by name afterwards.
    """
    if not own or any(name in params for name in own):
        return params
    first = next(iter(own))
    prefixes = {key[:-len(first)] for key in params if key.endswith("." + first) and key != "." + first}
    fitting = []
    for prefix in prefixes:
        renamed = {(key[len(prefix):] if key.startswith(prefix) else key): value for key, value in params.items()}
        if (len(renamed) == len(params) and all(name in renamed for name in own)
                and all(key in own or key.startswith(META_PREFIX) or _is_optimizer_state(key, own)
                        for key in renamed)):
            fitting.append(renamed)
    return fitting[0] if len(fitting) == 1 else params


def load_weights(network, path, params=None):
    """Load a checkpoint's weights into ``network`` by exact parameter name, verified.

    A file whose every name carries one training wrapper's prefix (``optimizer.conv1.weight``,
    written while training a train-step cell that renamed the weights) loads with the prefix
    removed, if that prefix is the only one that fits every network parameter.

    Args:
        network (Layer): the network whose parameters receive the weights.
        path (str): the ``.ckpt`` file (used for reading and in error messages).
        params (dict): entries already read with :func:`read_checkpoint` (optional).

    Returns:
        dict: the entries of the file (weights, optimizer state and metadata).

    Raises:
        CheckpointError: the file is corrupt, or a network parameter is missing from it or
            differs in shape or dtype, or the file holds an entry that is neither a network
            weight, optimizer state nor TinyMS metadata (the message names the first one and
            how many more there are).
    """
    import mindspore as ms

    path = os.fspath(path)
    if params is None:
        params = read_checkpoint(path)
    own = network.parameters_dict()
    params = _without_wrapper_prefix(params, own)
    problems = []
    for name, param in own.items():
        value = params.get(name)
        if value is None:
            problems.append(f"{name} is missing from the file")
        elif not hasattr(value, "shape") or tuple(value.shape) != tuple(param.shape):
            got = _describe(value) if hasattr(value, "shape") else type(value).__name__
            problems.append(f"{name} is {got} in the file but {_describe(param)} in the network")
        elif value.dtype != param.dtype:
            problems.append(f"{name} is {_describe(value)} in the file but {_describe(param)} in the network")
    unexpected = [n for n in params if n not in own and not n.startswith(META_PREFIX)
                  and not _is_optimizer_state(n, own)]
    problems += [f"{n} is in the file but not in the network" for n in unexpected]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(
            f"{path!r} does not match {type(network).__name__}: {problems[0]}{more}. Build the network "
            f"the checkpoint was trained with (same model and class_num) or pick the matching file.")
    weights = {name: params[name] for name in own}
    with _quiet_mindspore_log():
        not_loaded, _ = ms.load_param_into_net(network, weights, strict_load=True)
    if not_loaded:
        raise CheckpointError(f"{path!r}: MindSpore did not load {not_loaded[0]} into the network")
    for name, param in own.items():  # verify what was loaded, slot by slot
        if not np.array_equal(param.asnumpy(), weights[name].asnumpy()):
            raise CheckpointError(f"{path!r}: {name} did not load correctly into the network")
    return params


def optimizer_slots(optimizer, network):
    """``{name: Parameter}`` of the optimizer's own state (moments, ``global_step``, learning
    rate...), without the network's weights it also holds."""
    own_ids = {id(p) for p in network.get_parameters()}
    own_names = {p.name for p in network.get_parameters()}
    return {p.name: p for p in optimizer.get_parameters()
            if id(p) not in own_ids and p.name not in own_names}


def learning_rate_parameters(optimizer):
    """The Parameters holding ``optimizer``'s learning rate: one constant per parameter group, or
    the per-step table of a list schedule (a ``LearningRateSchedule`` cell usually holds none)."""
    from mindspore import Parameter

    holder = getattr(optimizer, "learning_rate", None)
    if holder is None:
        return []
    if isinstance(holder, Parameter):
        return [holder]
    if hasattr(holder, "get_parameters"):  # a schedule cell, or a CellList of them (parameter groups)
        return list(holder.get_parameters())
    try:
        return [p for p in holder if isinstance(p, Parameter)]  # constants of parameter groups
    except TypeError:
        return []


def load_optimizer_state(optimizer, network, path, params):
    """Load optimizer slots (``moments.*``, ``global_step``...) from ``params`` into ``optimizer``.

    Only the optimizer's own state is touched; the network's weights (which the optimizer also
    holds) are never written from here. The learning rate follows one rule:

    - A per-step schedule (a list of rates, or a ``LearningRateSchedule``) is the optimizer's
      own: it is configuration, never loaded from the file. With the restored step count,
      step ``s`` of the continued run takes entry ``s`` of the optimizer's schedule, so an
      optimizer built for another total number of steps (a run extended or shortened) follows
      its own schedule from the current step on.
    - A constant rate is state (``ReduceLROnPlateau`` lowers it during training): it is loaded
      from the file, unless the file followed a per-step schedule, in which case the
      optimizer's constant applies.

    Returns:
        list[str]: the names of the slots loaded, sorted.

    Raises:
        CheckpointError: the file lacks some of the optimizer's state or it differs in shape.
    """
    import mindspore as ms

    slots = optimizer_slots(optimizer, network)
    rates = {id(p) for p in learning_rate_parameters(optimizer)}
    dynamic = bool(getattr(optimizer, "dynamic_lr", False))
    problems, load = [], {}
    for name, slot in slots.items():
        value = params.get(name)
        if id(slot) in rates:
            if not dynamic and value is not None and tuple(value.shape) == tuple(slot.shape):
                load[name] = slot
            continue
        if value is None:
            problems.append(f"{name} is missing from the file")
        elif tuple(value.shape) != tuple(slot.shape):
            problems.append(f"{name} is {_describe(value)} in the file but {_describe(slot)} in the optimizer")
        else:
            load[name] = slot
    if problems:
        raise CheckpointError(
            f"{path!r} cannot resume {type(optimizer).__name__}: {problems[0]}. Resume with the optimizer "
            f"the checkpoint was trained with, or load only the weights (resume=False).")
    for name, slot in load.items():
        slot.set_data(ms.Tensor(params[name].asnumpy(), slot.dtype))
    return sorted(load)
