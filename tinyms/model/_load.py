"""Private: rebuilding the network a checkpoint records (used by ``load`` and ``Model.load_checkpoint``)."""

from .._text import first_line as _first_line
from ..errors import CheckpointError, UnknownNameError
from . import _checkpoint

__all__ = ["take_recorded_shape", "recorded_network"]


def take_recorded_shape(network, params, path):
    """After its weights loaded: a network of the model a checkpoint records takes the input
    shape the file was trained on (a ResNet trained on 32x32 then predicts 32x32 images)."""
    from .registry import restore_input_shape

    try:
        record = _checkpoint.network_record(_checkpoint.metadata(params), path)
    except CheckpointError:
        return  # a record this TinyMS cannot read: the weights loaded, the network keeps its own config
    if record is not None:
        restore_input_shape(network, record)


def recorded_network(path, meta, record):
    """The network a checkpoint records: rebuilt from its builder arguments, or (older files) its name and class count."""
    from .registry import build_from_description, create_model

    if record is not None:
        try:
            return build_from_description(record)
        except CheckpointError as err:
            raise CheckpointError(f"{path!r}: {err}") from err
    if "model" not in meta:
        raise CheckpointError(f"{path!r} does not record which network it belongs to: pass it, "
                              f"e.g. tinyms.model.load(path, network=lenet5(class_num=10))")
    try:
        return create_model(str(meta["model"]), class_num=int(meta.get("class_num", 10)))
    except (UnknownNameError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path!r} records the network {meta['model']!r}, which this TinyMS "
                              f"cannot build ({_first_line(err)}): pass network=") from err
