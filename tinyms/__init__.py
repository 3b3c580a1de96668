"""TinyMS: an easy-to-use deep-learning toolkit on MindSpore.

``import tinyms as ts`` gives Tensor, the dtypes and numpy-style functions (``ts.array``,
``ts.expand_dims``, ``ts.zeros``...). The workflow lives in sub-packages, imported on first
use so that ``import tinyms`` stays as light as ``import mindspore``:

- ``tinyms.data``: dataset download and loaders
- ``tinyms.vision``: image transforms
- ``tinyms.model``: the high-level ``Model`` and the model zoo
- ``tinyms.layers``, ``tinyms.primitives``, ``tinyms.initializers``, ``tinyms.losses``,
  ``tinyms.metrics``, ``tinyms.optimizers``, ``tinyms.callbacks``, ``tinyms.context``
- ``tinyms.serving``, ``tinyms.hub``

Two environment defaults are set before MindSpore loads, each only if the environment does not
set it already:

- ``GLOG_v=3``: MindSpore's WARNING lines off (errors still show).
- ``ONEDNN_MAX_CPU_ISA=AVX2``: on CPUs that report AVX-512 (the KVM guests TinyMS is tested
  on), oneDNN's AVX-512 convolution kernels ran a LeNet5 conv 40x slower (20 ms vs 0.5 ms)
  and a training step 9x slower; capping oneDNN at AVX2 fixes it and changes nothing on CPUs
  without AVX-512. See ``benchmarks/RESULTS.md``.
"""

import importlib as _importlib
import os as _os

_os.environ.setdefault("GLOG_v", "3")
_os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

from mindspore import Tensor, Parameter  # noqa: E402
from mindspore.common.dtype import (  # noqa: E402
    bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    float16, float32, float64, bfloat16, complex64, complex128,
)
from . import _numpy  # noqa: E402

__version__ = "0.1.0"

_numpy._export(globals())

_DTYPES = ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "bfloat16", "complex64", "complex128"]
__all__ = ["Tensor", "Parameter"] + _DTYPES + [n for n in _numpy.__all__ if n not in _DTYPES]

_SUBMODULES = {"context", "data", "vision", "model", "callbacks", "layers", "primitives",
               "initializers", "losses", "metrics", "optimizers", "serving", "hub", "errors"}


def __getattr__(name):
    if name in _SUBMODULES:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tinyms' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
