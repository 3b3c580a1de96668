"""TinyMS 0.3's ``tinyms.utils`` paths, kept so scripts written for it import unchanged.

Nothing is defined here: ``tinyms.utils.train`` re-exports what now lives in
:mod:`tinyms.callbacks`, :mod:`tinyms.optimizers` and MindSpore's loss scale managers.
"""
