"""Data-parallel training under ``msrun`` for :class:`~tinyms.model.Model` (see :mod:`tinyms._distributed`).

The implementation lives below every layer (``tinyms._distributed``) because the
``tinyms.data`` loaders also need it to shard training data by rank; this module is the name the
model layer uses. ``setup()`` is called at the top of ``Model.train``.
"""

from .._distributed import (LAUNCH_VARIABLES, all_mean, default_shards, group_size, is_distributed, is_main,
                            launched, rank, setup)

__all__ = ["LAUNCH_VARIABLES", "launched", "setup", "is_distributed", "rank", "group_size", "is_main",
           "all_mean", "default_shards"]
