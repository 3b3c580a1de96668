"""Published BERT checkpoints into TinyMS's BERT: read by tensor name, every tensor accounted for.

Readers (no PyTorch needed):

- safetensors files (``model.safetensors``), through the ``safetensors`` package's numpy API
  (a MindSpore dependency, pinned in TinyMS's own dependencies too);
- PyTorch state dicts (``pytorch_model.bin``), both the zip layout of ``torch.save`` since
  PyTorch 1.6 and the older single-stream layout, through a restricted unpickler: it builds
  only ``collections.OrderedDict``, the typed storages (``torch.FloatStorage``...) and the tensor
  rebuild functions of ``torch._utils``, maps every storage to a numpy array and refuses any
  other object with a :class:`~tinyms.errors.CheckpointError` (a pickle can run code; these
  files never need to).

Tensor names follow the Hugging Face BERT layout (``bert.embeddings.word_embeddings.weight``,
``bert.encoder.layer.0.attention.self.query.weight``..., ``bert.pooler.dense.weight``, optionally
``classifier.weight``), with or without the ``bert.`` prefix, LayerNorm as ``weight``/``bias`` or
the older ``gamma``/``beta``. :func:`load_bert_weights` maps each one to its parameter, checks
every shape before changing anything, loads, reads the values back and reports what it loaded,
what it ignored (the pre-training heads ``cls.*`` and the ``position_ids`` buffer are expected
there) and what it initialised fresh (the classifier when the file has none).

:func:`bert_pretrained` fetches Google's published checkpoints through the hub's verified
download (``$TINYMS_HOME/hub``, ``$TINYMS_HUB_MIRROR``, ``$TINYMS_OFFLINE``).
"""

import collections
import dataclasses
import io
import logging
import os
import pickle
import struct
import zipfile

import numpy as np

from ..errors import CheckpointError, UnknownNameError

__all__ = ["BertWeightsReport", "PretrainedBert", "PRETRAINED_BERT", "read_bert_checkpoint", "load_bert_weights",
           "bert_pretrained_files", "bert_pretrained"]

log = logging.getLogger("tinyms.model")

# ---------------------------------------------------------------- reading the files


class _Storage:
    """A torch storage: its dtype, element count and (once read) its bytes as a flat numpy array."""

    def __init__(self, dtype, numel, key):
        self.dtype, self.numel, self.key, self.array = dtype, numel, key, None


class _TensorRef:
    """A tensor view of a storage, materialised once every storage is read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self, name):
        flat = self.storage.array
        if not isinstance(flat, np.ndarray) or flat.ndim != 1:
            raise CheckpointError(f"tensor {name}: its storage was not read as data; the file is corrupted")
        shape, stride = self.size, self.stride
        if len(shape) != len(stride) or any(n < 0 for n in shape) or any(s < 0 for s in stride) or self.offset < 0:
            raise CheckpointError(f"tensor {name}: malformed size {shape} / stride {stride}")
        if 0 in shape:
            return np.zeros(shape, flat.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(shape, stride))
        if last >= flat.size:
            raise CheckpointError(f"tensor {name} reaches element {last} of a storage of {flat.size}: the file "
                                  f"is truncated or corrupted")
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], shape=shape,
                                               strides=tuple(s * flat.itemsize for s in stride))
        return np.array(view)


def _storage_types():
    import ml_dtypes  # noqa: PLC0415 - a TinyMS dependency; numpy has no bfloat16

    return {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
            "BFloat16Storage": ml_dtypes.bfloat16, "LongStorage": np.int64, "IntStorage": np.int32,
            "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


def _ints(values):
    return isinstance(values, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage) or not _ints([offset]) or not _ints(size) or not _ints(stride):
        raise pickle.UnpicklingError("a tensor is rebuilt from something that is not a storage, offset, size and "
                                     "stride")
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict into _TensorRef objects; refuses every other global."""

    def __init__(self, stream, storages, read_storage):
        super().__init__(stream)
        self._storages = storages
        self._read = read_storage
        self._types = _storage_types()

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in self._types:
            return self._types[name]
        raise pickle.UnpicklingError(f"the file asks to build {module}.{name}, which a state dict of tensors never "
                                     f"needs; TinyMS refuses it (a pickle can run code)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        dtype, key, numel = pid[1], str(pid[2]), pid[4]
        if dtype not in self._types.values() or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"unexpected storage {pid!r:.80}")
        if key not in self._storages:
            self._storages[key] = _Storage(np.dtype(dtype), numel, key)
            if self._read is not None:
                self._storages[key].array = self._read(self._storages[key])
        return self._storages[key]


def _flat(data, storage, where):
    need = storage.numel * storage.dtype.itemsize
    if len(data) < need:
        raise CheckpointError(f"{where}: storage {storage.key} holds {len(data)} bytes, {need} expected: the file "
                              f"is truncated or corrupted")
    return np.frombuffer(data[:need], storage.dtype)


def _state_dict(obj, path):
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict of named tensors")
    out = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _TensorRef):
            raise CheckpointError(f"{path}: entry {name!r:.60} is not a named tensor; pass a file holding a model's "
                                  f"state dict (pytorch_model.bin)")
        out[name] = value.array(name)
    return out


def _read_torch_zip(path):
    try:
        with zipfile.ZipFile(path) as zf:
            pickles = [n for n in zf.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path} is a zip file but not a PyTorch checkpoint (no single data.pkl)")
            prefix = pickles[0][:-len("data.pkl")]

            def read(storage):
                return _flat(zf.read(f"{prefix}data/{storage.key}"), storage, path)

            obj = _TorchUnpickler(io.BytesIO(zf.read(pickles[0])), {}, read).load()
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, zipfile.LargeZipFile) as err:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({err}): the file is truncated or "
                              f"corrupted; download it again") from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: {err}") from None
    return _state_dict(obj, path)


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _read_torch_legacy(path):
    """PyTorch's layout before 1.6: pickles of magic, version, sys info, the object and storage keys, then data."""
    try:
        with open(path, "rb") as f:
            plain = _TorchUnpickler(f, {}, None)
            if plain.load() != _LEGACY_MAGIC:
                raise CheckpointError(f"{path} is a pickle but not a PyTorch checkpoint (no magic number)")
            plain.load()  # protocol version
            plain.load()  # sys info
            storages = {}
            obj = _TorchUnpickler(f, storages, None).load()
            keys = _TorchUnpickler(f, storages, None).load()
            if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
                raise CheckpointError(f"{path}: the storage list does not match the tensors")
            for key in map(str, keys):
                storage = storages[key]
                head = f.read(8)
                if len(head) != 8 or struct.unpack("<q", head)[0] != storage.numel:
                    raise CheckpointError(f"{path}: storage {key} is truncated or corrupted")
                storage.array = _flat(f.read(storage.numel * storage.dtype.itemsize), storage, path)
    except (EOFError, OSError, struct.error, ValueError, AttributeError, IndexError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}): the file is "
                              f"truncated or corrupted; download it again") from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: {err}") from None
    return _state_dict(obj, path)


def _read_safetensors(path):
    from safetensors import safe_open  # noqa: PLC0415

    out = {}
    try:
        with safe_open(path, framework="np") as f:
            for name in f.keys():
                out[name] = np.array(f.get_tensor(name))
    except Exception as err:  # noqa: BLE001 - safetensors raises its own SafetensorError and others
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(err).splitlines()[0][:160]}): the "
                              f"file is truncated or corrupted; download it again") from None
    return out


def _kind(path):
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as err:
        raise CheckpointError(f"cannot read {path}: {err.strerror or err}") from None
    if head[:4] == b"PK\x03\x04":
        return "pytorch"
    if head[:1] == b"\x80":
        return "pytorch-legacy"
    if len(head) == 9 and head[8:9] == b"{":  # 8-byte header length, then the JSON header
        return "safetensors"
    raise CheckpointError(f"{path} is neither a safetensors file nor a PyTorch state dict (pytorch_model.bin); "
                          f"pass the checkpoint file published with the model")


def read_bert_checkpoint(path):
    """The tensors of a published checkpoint file, by name, as float or integer numpy arrays.

    Args:
        path (str): a ``model.safetensors`` or ``pytorch_model.bin`` (zip or pre-1.6 layout).

    Returns:
        tuple: ``(tensors, format)``: ``{name: numpy array}`` and ``"safetensors"``, ``"pytorch"``
        or ``"pytorch-legacy"``.

    Raises:
        CheckpointError: unreadable, truncated or corrupted, another kind of file, or a pickle asking
            for anything but tensors.

    Example:
        >>> import numpy as np
        >>> from safetensors.numpy import save_file
        >>> from tinyms.model import read_bert_checkpoint
        >>> save_file({"bert.pooler.dense.bias": np.zeros(128, np.float32)}, "model.safetensors")
        >>> tensors, kind = read_bert_checkpoint("model.safetensors")
        >>> kind, tensors["bert.pooler.dense.bias"].shape
        ('safetensors', (128,))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint file at {path}")
    kind = _kind(path)
    reader = {"pytorch": _read_torch_zip, "pytorch-legacy": _read_torch_legacy, "safetensors": _read_safetensors}
    return reader[kind](path), kind


# ---------------------------------------------------------------- names


def _canonical(name):
    """A checkpoint name without the ``bert.`` prefix, LayerNorm gamma/beta as weight/bias."""
    if name.startswith("bert."):
        name = name[len("bert."):]
    if ".LayerNorm." in name or name.startswith("LayerNorm."):
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    return name


def _expected(num_layers):
    """Canonical checkpoint name -> TinyMS parameter name, for a network of ``num_layers`` layers."""
    table = {
        "embeddings.word_embeddings.weight": "embeddings.word_embeddings",
        "embeddings.position_embeddings.weight": "embeddings.position_embeddings",
        "embeddings.token_type_embeddings.weight": "embeddings.token_type_embeddings",
        "embeddings.LayerNorm.weight": "embeddings.norm.gamma",
        "embeddings.LayerNorm.bias": "embeddings.norm.beta",
        "pooler.dense.weight": "pooler.weight",
        "pooler.dense.bias": "pooler.bias",
        "classifier.weight": "classifier.weight",
        "classifier.bias": "classifier.bias",
    }
    parts = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
             "attention.output.dense": "attn_out", "intermediate.dense": "ffn_in", "output.dense": "ffn_out"}
    norms = {"attention.output.LayerNorm": "attn_norm", "output.LayerNorm": "ffn_norm"}
    for i in range(num_layers):
        for theirs, ours in parts.items():
            for leaf in ("weight", "bias"):
                table[f"encoder.layer.{i}.{theirs}.{leaf}"] = f"layers.{i}.{ours}.{leaf}"
        for theirs, ours in norms.items():
            table[f"encoder.layer.{i}.{theirs}.weight"] = f"layers.{i}.{ours}.gamma"
            table[f"encoder.layer.{i}.{theirs}.bias"] = f"layers.{i}.{ours}.beta"
    return table


def _expected_unused(canonical):
    """Why a tensor the classifier never uses is expected in a published file, or None."""
    if canonical.startswith("cls.predictions."):
        return "masked-language-model head (pre-training)"
    if canonical.startswith("cls.seq_relationship."):
        return "next-sentence head (pre-training)"
    if canonical == "embeddings.position_ids":
        return "position ids buffer (0..511, implied)"
    return None


@dataclasses.dataclass(frozen=True)
class BertWeightsReport:
    """What :func:`load_bert_weights` did with every tensor of the file and every parameter of the network.

    Attributes:
        path: the file read.
        format: ``"safetensors"``, ``"pytorch"`` or ``"pytorch-legacy"``.
        loaded: ``(tensor name, parameter name)`` pairs, one per network parameter loaded.
        ignored: ``(tensor name, reason)`` pairs: tensors of the file the classifier does not use.
        fresh: parameter names left at their fresh initialisation (the classifier when the file has none).
    """

    path: str
    format: str
    loaded: tuple
    ignored: tuple
    fresh: tuple

    def __str__(self):
        lines = [f"{self.path} ({self.format}): {len(self.loaded)} tensors loaded"]
        if self.ignored:
            lines.append(f"ignored {len(self.ignored)}: " + ", ".join(f"{n} ({why})" for n, why in self.ignored))
        if self.fresh:
            lines.append(f"initialised fresh (train them): {', '.join(self.fresh)}")
        return "\n".join(lines)


def load_bert_weights(network, path, *, classifier=True, strict=True):
    """Load a published BERT checkpoint into a TinyMS BERT network, by name, every tensor accounted for.

    Every shape is checked before any parameter changes; after loading, each parameter is read back
    and compared with the file's tensor.

    Args:
        network: a network built by ``bert_tiny``/``bert_mini``/``bert_small``/``bert_base`` (or
            ``BertClassifier``) with the checkpoint's sizes (vocabulary, layers, hidden size).
        path (str): ``model.safetensors`` or ``pytorch_model.bin`` (Hugging Face tensor names, with or
            without ``bert.``; LayerNorm ``weight``/``bias`` or ``gamma``/``beta``).
        classifier (bool): load the file's ``classifier.*`` tensors when it has them (a fine-tuned
            checkpoint). False keeps the network's fresh classifier and lists the file's as ignored.
        strict (bool): refuse tensors that belong to no parameter and are not the expected pre-training
            heads or buffers. Default True.

    Returns:
        BertWeightsReport: what was loaded, ignored (pre-training heads, buffers) and left fresh.

    Raises:
        CheckpointError: the file is unreadable, corrupted or not a BERT checkpoint; a tensor is missing
            (other than the classifier), has another shape than its parameter (the message names both and
            the fix), appears twice, holds non-finite values; or (strict) an unknown tensor.

    Example:
        >>> import numpy as np
        >>> from safetensors.numpy import save_file
        >>> from tinyms.model import bert_tiny, load_bert_weights
        >>> net = bert_tiny(num_classes=2, vocab_size=30)
        >>> save_file({"bert.embeddings.word_embeddings.weight": np.zeros((30, 128), np.float32)}, "part.safetensors")
        >>> load_bert_weights(net, "part.safetensors")    # a complete file loads; this one lacks most tensors
        Traceback (most recent call last):
        ...
        tinyms.errors.CheckpointError: part.safetensors lacks tensor embeddings.position_embeddings.weight ...
    """
    import mindspore as ms  # noqa: PLC0415

    config = getattr(network, "config", None)
    if config is None or not hasattr(config, "num_layers") or not hasattr(network, "embeddings"):
        raise CheckpointError(f"load_bert_weights loads into a TinyMS BERT network (bert_tiny, bert_mini...), not "
                              f"{type(network).__name__}")
    tensors, kind = read_bert_checkpoint(path)
    path = os.fspath(path)
    params = dict(network.parameters_and_names())
    expected = _expected(config.num_layers)
    missing_params = sorted(set(expected.values()) - set(params))
    if missing_params:
        raise CheckpointError(f"the network lacks parameter(s) {', '.join(missing_params[:4])}: build it with "
                              f"tinyms.model.bert_tiny (or another bert_* builder)")
    found, ignored, unknown = {}, [], []
    for name in tensors:
        canonical = _canonical(name)
        target = expected.get(canonical)
        if target is None:
            why = _expected_unused(canonical)
            if why:
                ignored.append((name, why))
            else:
                unknown.append(name)
            continue
        if target.startswith("classifier.") and not classifier:
            ignored.append((name, "classifier not requested (classifier=False)"))
            continue
        if target in found:
            raise CheckpointError(f"{path}: tensors {found[target]} and {name} both name parameter {target}; "
                                  f"pass a file with one of them")
        found[target] = name
    if unknown and strict:
        layers = sorted({n for n in unknown if _canonical(n).startswith("encoder.layer.")})
        hint = (f" The file has more encoder layers than this network's {config.num_layers}: build the size that "
                f"matches it (bert_tiny 2, bert_mini 4, bert_small 4, bert_base 12 layers).") if layers else ""
        raise CheckpointError(f"{path} has {len(unknown)} tensor(s) no BERT classifier parameter takes: "
                              f"{', '.join(unknown[:5])}{'...' if len(unknown) > 5 else ''}.{hint} Pass "
                              f"strict=False to ignore them")
    ignored.extend((name, "unknown, ignored (strict=False)") for name in unknown)
    absent = [(theirs, ours) for theirs, ours in expected.items() if ours not in found]
    fresh = sorted(ours for _, ours in absent if ours.startswith("classifier."))
    absent = [(theirs, ours) for theirs, ours in absent if not ours.startswith("classifier.")]
    if absent:
        theirs, ours = absent[0]
        raise CheckpointError(f"{path} lacks tensor {theirs} (or bert.{theirs}) for parameter {ours}"
                              f"{f' and {len(absent) - 1} more' if len(absent) > 1 else ''}: it is not a complete "
                              f"BERT checkpoint of this size ({config.num_layers} layers)")
    values = {}
    for target in (t for t in expected.values() if t in found):  # the published order: weight before bias
        name = found[target]
        value, param = tensors[name], params[target]
        if tuple(value.shape) != tuple(param.shape):
            raise CheckpointError(_shape_problem(path, name, value.shape, target, param.shape, config))
        value = np.asarray(value, np.float32)
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: tensor {name} holds NaN or infinite values; the file is corrupted")
        values[target] = value
    for target, value in values.items():
        params[target].set_data(ms.Tensor(value))
    for target, value in values.items():
        if not np.array_equal(params[target].asnumpy(), value):
            raise CheckpointError(f"parameter {target} does not hold the values of {found[target]} after loading")
    if fresh:
        log.warning("%s has no classifier tensors: %s initialised fresh (fine-tune them)", path, ", ".join(fresh))
    report = BertWeightsReport(path=path, format=kind, loaded=tuple(sorted((n, t) for t, n in found.items())),
                               ignored=tuple(ignored), fresh=tuple(fresh))
    log.info("%s", report)
    return report


def _shape_problem(path, name, theirs, target, ours, config):
    theirs, ours = tuple(theirs), tuple(ours)
    fix = "build the bert_* size the checkpoint was published at"
    if target == "embeddings.word_embeddings":
        fix = f"build the network with vocab_size={theirs[0]} (the checkpoint's vocab.txt)"
    elif target.startswith("classifier."):
        fix = (f"build it with num_classes={theirs[0]} to keep the file's classifier, or pass classifier=False to "
               f"start a fresh one")
    elif target == "embeddings.position_embeddings":
        fix = f"the network has {config.max_position} positions; use a checkpoint with {ours[0]}"
    return (f"{path}: tensor {name} has shape {theirs} but parameter {target} has {ours}: {fix}")


# ---------------------------------------------------------------- published checkpoints through the hub


@dataclasses.dataclass(frozen=True)
class PretrainedBert:
    """One published checkpoint: where its files are and what TinyMS knows of their digests.

    Attributes:
        name: the TinyMS builder (``"bert_tiny"``...).
        repo: the Hugging Face repository (``"google/bert_uncased_L-2_H-128_A-2"``).
        files: ``{role: file name in the repository}``; roles ``"weights"`` and ``"vocab"``.
        sha256: ``{role: SHA-256}`` for files whose published digest TinyMS checks; a role missing here is
            *unchecked*: verified against the digest recorded when it was first downloaded.
        lowercase: the vocabulary is uncased.
        license: the licence the weights are published under.
    """

    name: str
    repo: str
    files: dict
    sha256: dict
    lowercase: bool = True
    license: str = "Apache-2.0 (Google Research, BERT miniatures: Turc et al., 2019)"

    def url(self, role):
        return f"https://huggingface.co/{self.repo}/resolve/main/{self.files[role]}"

    def cache_name(self, role):
        """The file's name in the hub cache and on a mirror: ``<repository name>-<file name>``."""
        return f"{self.repo.split('/')[-1]}-{self.files[role]}"

    @property
    def unchecked(self):
        """The roles with no published digest TinyMS could verify."""
        return tuple(role for role in self.files if role not in self.sha256)


def _google(name, repo):
    # No digest is recorded: none could be confirmed from a published source when these entries were
    # written, and TinyMS never invents one. Each file is therefore unchecked (trust on first download).
    return PretrainedBert(name=name, repo=f"google/{repo}",
                          files={"weights": "pytorch_model.bin", "vocab": "vocab.txt"}, sha256={})


#: Google's published uncased English BERT checkpoints, by TinyMS builder name.
PRETRAINED_BERT = {
    "bert_tiny": _google("bert_tiny", "bert_uncased_L-2_H-128_A-2"),
    "bert_mini": _google("bert_mini", "bert_uncased_L-4_H-256_A-4"),
    "bert_small": _google("bert_small", "bert_uncased_L-4_H-512_A-8"),
    "bert_base": _google("bert_base", "bert_uncased_L-12_H-768_A-12"),
}


@dataclasses.dataclass(frozen=True)
class _HubFile:
    """What ``tinyms._hub_store.weights_file`` needs to fetch and verify one file."""

    uid: str
    file: str
    urls: tuple
    sha256: str = ""
    hash_prefix: str = ""
    size: int = None
    bundled: str = ""


def _source(name):
    key = str(name).replace("-", "_").lower()
    if key not in PRETRAINED_BERT:
        raise UnknownNameError(f"no published BERT checkpoint named {name!r}; there are: "
                               f"{', '.join(sorted(PRETRAINED_BERT))}")
    return PRETRAINED_BERT[key]


def bert_pretrained_files(name="bert_tiny", progress=True):
    """The verified local copies of a published BERT checkpoint's files, downloading them once.

    Files go through the hub's cache (``$TINYMS_HOME/hub``, named ``<repository>-<file>``), its mirror
    (``$TINYMS_HUB_MIRROR/<repository>-<file>``) and offline rule. A file with a published digest is
    checked against it; an *unchecked* one (see ``PRETRAINED_BERT[name].unchecked``) is checked against
    the SHA-256 recorded at its first download, and a warning says so.

    Args:
        name (str): ``"bert_tiny"``, ``"bert_mini"``, ``"bert_small"`` or ``"bert_base"``.
        progress (bool): show a progress bar while downloading.

    Returns:
        dict: ``{"weights": path, "vocab": path}``.

    Raises:
        UnknownNameError: no such checkpoint.
        HubError, DownloadError, ChecksumError: a file cannot be obtained or is not the expected one.

    Example:
        >>> from tinyms.model._bert_weights import PRETRAINED_BERT
        >>> PRETRAINED_BERT["bert_tiny"].url("weights")
        'https://huggingface.co/google/bert_uncased_L-2_H-128_A-2/resolve/main/pytorch_model.bin'
        >>> from tinyms.model import bert_pretrained_files
        >>> files = bert_pretrained_files("bert_tiny")      # doctest: +SKIP
    """
    from .._hub_store import weights_file  # noqa: PLC0415

    source = _source(name)
    paths = {}
    for role in source.files:
        spec = _HubFile(uid=f"{source.name}.{role}", file=source.cache_name(role), urls=(source.url(role),),
                        sha256=source.sha256.get(role, ""))
        paths[role] = weights_file(spec, progress=progress)
        if role in source.unchecked:
            log.warning("%s (%s of %s) is unchecked: no published SHA-256 is known to TinyMS, so it is verified "
                        "against the digest recorded at its first download", paths[role], role, source.repo)
    return paths


def bert_pretrained(name="bert_tiny", num_classes=2, max_length=128, dropout=0.1, progress=True):
    """A BERT classifier with Google's published pre-trained encoder, ready to fine-tune.

    Downloads (once, through the hub) the checkpoint and its ``vocab.txt``, builds ``name`` with the
    checkpoint's sizes, loads every encoder tensor by name (the pre-training heads are listed as ignored,
    the classifier starts fresh) and attaches the vocabulary for ``tinyms.text``'s WordPiece tokenizer.

    Args:
        name (str): ``"bert_tiny"``, ``"bert_mini"``, ``"bert_small"`` or ``"bert_base"``.
        num_classes (int): classifier outputs. Default 2.
        max_length (int): the token length the network is configured for. Default 128.
        dropout (float): hidden dropout while fine-tuning. Default 0.1.
        progress (bool): show a progress bar while downloading.

    Returns:
        nn.Cell: the network; ``net.weights_report`` is the :class:`BertWeightsReport`, ``net.vocab_file``
        the checkpoint's vocabulary (``tinyms.text.text_transform("wordpiece", vocab=net.vocab_file)``).

    Raises:
        UnknownNameError, HubError, DownloadError, ChecksumError, CheckpointError: as for
            :func:`bert_pretrained_files` and :func:`load_bert_weights`.

    Example:
        >>> from tinyms.model import bert_pretrained
        >>> from tinyms.text import text_transform
        >>> net = bert_pretrained("bert_tiny", num_classes=2)     # doctest: +SKIP
        >>> transform = text_transform("wordpiece", vocab=net.vocab_file, max_length=128)   # doctest: +SKIP
    """
    from .registry import create_model  # noqa: PLC0415

    source = _source(name)
    files = bert_pretrained_files(source.name, progress=progress)
    with open(files["vocab"], "rb") as f:
        vocab_size = sum(1 for _ in f)
    net = create_model(source.name, num_classes=num_classes, vocab_size=vocab_size, max_length=max_length,
                       dropout=dropout)
    net.weights_report = load_bert_weights(net, files["weights"])
    net.vocab_file = files["vocab"]
    return net
