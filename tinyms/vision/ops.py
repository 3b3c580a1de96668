"""MindSpore's image operations under TinyMS names.

Each op works both inside a dataset pipeline (``dataset.map([...], input_columns="image")``)
and eagerly on one numpy image (``Resize((32, 32))(img)``). Images are HWC unless an op says
otherwise; see the MindSpore documentation of ``mindspore.dataset.vision`` for every argument.
The names are listed once, in ``tinyms/vision/_op_names.py``.
"""

import importlib as _importlib

from ._op_names import OPS as _OPS

globals().update({name: getattr(_importlib.import_module(f"mindspore.dataset.{module}"), name)
                  for name, module in _OPS.items()})

__all__ = sorted(_OPS)
