"""Weight initialisers, passed as ``weight_init=`` to layers or used with :func:`initializer`.

Example:
    >>> from tinyms.initializers import Normal, initializer
    >>> w = initializer(Normal(sigma=0.02), [3, 4])
    >>> tuple(w.shape)
    (3, 4)
"""

from mindspore.common import initializer as _init

_NAMES = ["Initializer", "initializer", "TruncatedNormal", "Normal", "Uniform", "HeUniform",
          "HeNormal", "XavierUniform", "XavierNormal", "One", "Zero", "Constant",
          "Sparse", "Dirac", "Orthogonal", "VarianceScaling"]

globals().update({name: getattr(_init, name) for name in _NAMES})

__all__ = list(_NAMES)
