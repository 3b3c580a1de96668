"""TinyMS: an easy-to-use deep-learning toolkit on MindSpore.

``import tinyms as ts`` gives Tensor, the dtypes and numpy-style functions (``ts.array``,
``ts.expand_dims``, ``ts.zeros``...). ``import tinyms`` itself loads nothing heavy: MindSpore is
imported the first time one of those names is used, and each sub-package on first use:

- ``tinyms.data``: dataset download and loaders
- ``tinyms.vision``: image transforms
- ``tinyms.text``: tokenizers and text transforms
- ``tinyms.model``: the high-level ``Model`` and the model zoo
- ``tinyms.layers``, ``tinyms.primitives``, ``tinyms.initializers``, ``tinyms.losses``,
  ``tinyms.metrics``, ``tinyms.optimizers``, ``tinyms.callbacks``, ``tinyms.context``
- ``tinyms.hub``: pretrained weights, downloaded once and verified
- ``tinyms.serving``, ``tinyms.errors``

Two environment defaults are set before MindSpore loads, each only if the environment does not
set it already:

- ``GLOG_v=3``: MindSpore's WARNING lines off (errors still show).
- ``MS_OM_PATH=$TINYMS_HOME/debug``: MindSpore's graph-compile debug files (``analyze_fail.ir``)
  go there instead of into the current directory.
- ``ONEDNN_MAX_CPU_ISA=AVX2``: on CPUs that report AVX-512 (the KVM guests TinyMS is tested
  on), oneDNN's AVX-512 convolution kernels ran a LeNet5 conv 40x slower (20 ms vs 0.5 ms)
  and a training step 9x slower; capping oneDNN at AVX2 fixes it and changes nothing on CPUs
  without AVX-512. See ``benchmarks/RESULTS.md``.
"""

import builtins as _builtins
import importlib as _importlib
import os as _os

from ._home import tinyms_home as _tinyms_home

_os.environ.setdefault("GLOG_v", "3")
_os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
# MindSpore writes rank_0/om/analyze_fail.ir into the current directory when a graph fails to
# compile; send such debug files to TinyMS's home instead of the user's working directory.
_os.environ.setdefault("MS_OM_PATH", _os.path.join(_tinyms_home(), "debug"))

__version__ = "0.1.0"

_DTYPES = ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "bfloat16", "complex64", "complex128")

# MindSpore's classes under TinyMS's name (ParameterTuple: TinyMS 0.3's scripts build train steps with it).
_MINDSPORE_CLASSES = ("Tensor", "Parameter", "ParameterTuple")

# Sub-packages and modules that exist; each is imported on first attribute access.
_SUBMODULES = frozenset({"context", "data", "vision", "model", "callbacks", "layers", "primitives",
                         "initializers", "losses", "metrics", "optimizers", "serving", "errors", "hub", "text"})


# ``tinyms.set_seed(seed)`` seeds Python, NumPy, MindSpore and the data pipeline (see _seed.py).
_SEED_NAMES = ("set_seed", "get_seed")


def _numpy_names():
    """The numpy-style function names (reading them imports MindSpore)."""
    return _importlib.import_module("._numpy", __name__).__all__


def _star_names():
    # The curated star export: Tensor, Parameter(Tuple), the dtypes and the numpy-style functions,
    # minus any name that would shadow a Python builtin (``sum``, ``max``, ``abs``...): those
    # stay reachable as ``tinyms.sum`` but never replace a builtin on ``from tinyms import *``.
    names = [*_MINDSPORE_CLASSES, *_DTYPES]
    names += [n for n in _numpy_names() if n not in _DTYPES and not hasattr(_builtins, n)]
    return names


def _load_mindspore_names(name):
    """Resolve ``Tensor``, ``Parameter``, ``ParameterTuple``, a dtype or a numpy-style function (loads MindSpore)."""
    import mindspore
    from mindspore.common import dtype as _dtype
    if name in _MINDSPORE_CLASSES:
        return getattr(mindspore, name)
    if name in _DTYPES:
        return getattr(_dtype, name)
    return _importlib.import_module("._numpy", __name__).function(name)


def _is_module_file(name):
    """True for a module or package of this folder that is not loaded yet (checked without loading MindSpore)."""
    import os as _os  # noqa: PLC0415

    here = _os.path.dirname(__file__)
    return _os.path.isfile(_os.path.join(here, name + ".py")) or _os.path.isfile(
        _os.path.join(here, name, "__init__.py"))


def __getattr__(name):
    if name.startswith("_") and name != "__all__":
        raise AttributeError(f"module 'tinyms' has no attribute {name!r}")
    if name in _SUBMODULES:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _SEED_NAMES:
        value = getattr(_importlib.import_module("._seed", __name__), name)
    elif name == "__all__":
        value = _star_names()
    elif _is_module_file(name):  # `from tinyms import cli`: the import system loads the module itself
        raise AttributeError(f"module 'tinyms' has no attribute {name!r}")
    elif name in _MINDSPORE_CLASSES or name in _DTYPES or name in _numpy_names():
        value = _load_mindspore_names(name)
    else:
        raise AttributeError(f"module 'tinyms' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    names = set(globals()) | _SUBMODULES | {*_MINDSPORE_CLASSES, *_DTYPES, *_SEED_NAMES}
    return sorted(n for n in names if not n.startswith("_") or n in ("__version__",))
