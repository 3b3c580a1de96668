"""Which servables an environment without MindSpore can run (the TinyMS runtime, ``tinyms-runtime``).

The runtime runs ONNX models on onnxruntime. A servable whose served format is a MindSpore one
(checkpoint or MindIR) is run from its ONNX model when its entry records one (``model.files``
has ``"onnx"``, as ``write_servable(..., formats=("onnx", "ckpt"))`` and ``tinyms train``
write it), checked like any entry; without one it is refused with
:class:`~tinyms.serving.errors.MindSporeRequiredError`, whose message names the export that
makes it servable. With MindSpore installed nothing changes.

Standard library only (the supervisor imports this module).
"""

import functools
import importlib.util
import os

from ._config import _check_entry, read_entries, servable_file
from .errors import MindSporeRequiredError

__all__ = ["mindspore_installed", "runnable_here", "runnable_spec", "onnx_export_hint"]


@functools.lru_cache(maxsize=None)
def mindspore_installed():
    """True when ``import mindspore`` can work in this environment (found, not imported)."""
    return importlib.util.find_spec("mindspore") is not None


def onnx_export_hint(name):
    """How to give servable ``name`` an ONNX model, as a sentence ending the refusal."""
    return (f"on the full TinyMS install (with MindSpore), write it with an ONNX model too: "
            f"tinyms.serving.write_servable(folder, {name!r}, net, formats=('onnx', 'ckpt')) "
            "(tinyms train and tinyms quickstart write one by default), then copy the folder here")


def _refusal(spec):
    kind = "checkpoint" if spec.format == "ckpt" else "MindIR"
    return (f"servable {spec.name!r} has only a MindSpore {kind} ({os.path.basename(spec.path)}) and this "
            f"environment has no MindSpore: the TinyMS runtime serves ONNX models only; "
            f"{onnx_export_hint(spec.name)}")


def _onnx_entry(entries, name):
    """The entry of servable ``name`` switched to its recorded ONNX model, or None."""
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            model = entry.get("model")
            files = model.get("files") if isinstance(model, dict) else None
            if isinstance(files, dict) and isinstance(files.get("onnx"), str):
                return dict(entry, model=dict(model, format="onnx", file=None))
            return None
    return None


def runnable_spec(spec, serving_path, entries=None):
    """``spec`` as this environment can run it.

    Args:
        spec (ServableSpec): a checked servable of ``serving_path``.
        serving_path (str): the serving directory holding its ``servable.json``.
        entries (list): that file's raw entries (read again when None).

    Returns:
        ServableSpec: ``spec`` itself when it is ONNX or MindSpore is installed, else the spec of
        the ONNX model its entry records.

    Raises:
        MindSporeRequiredError: MindSpore is not installed and the servable has no ONNX model.
        ValueError: the recorded ONNX model is missing or does not pass the entry's checks.
    """
    if not spec.needs_mindspore or mindspore_installed():
        return spec
    if entries is None:
        entries = read_entries(serving_path)
    entry = _onnx_entry(entries, spec.name)
    if entry is None:
        raise MindSporeRequiredError(_refusal(spec))
    return _check_entry(entry, os.path.dirname(servable_file(serving_path)))


def runnable_here(specs, serving_path):
    """Split ``specs`` into what this environment serves and what it refuses.

    Returns:
        tuple: ``(specs, refused)``: the specs to serve (MindSpore servables replaced by their
        ONNX model where MindSpore is missing) and ``{name: reason}`` for the others.
    """
    if mindspore_installed() or not any(spec.needs_mindspore for spec in specs):
        return list(specs), {}
    entries = read_entries(serving_path)
    kept, refused = [], {}
    for spec in specs:
        try:
            kept.append(runnable_spec(spec, serving_path, entries))
        except (MindSporeRequiredError, ValueError) as err:
            refused[spec.name] = str(err)
    return kept, refused
