"""TinyMS 0.3's ``tinyms.utils.eval``: the Cityscapes label-map scores of its CycleGAN script.

``CityScapes().get_id(path)`` maps a label-map image to class ids by nearest colour,
:func:`fast_hist` counts a confusion matrix and :func:`get_scores` scores it. They live in
:mod:`tinyms.metrics` (with :class:`~tinyms.metrics.LabelMapScores`, which does all three
and counts the images); this package keeps 0.3's import paths.

Example:
    >>> import numpy as np
    >>> from tinyms.utils.eval import CityScapes, fast_hist, get_scores
    >>> cs = CityScapes()
    >>> truth = np.zeros((2, 2, 3), np.uint8); truth[:] = cs.color_list[0]      # all road
    >>> hist = fast_hist(cs.get_id(truth).flatten(), cs.get_id(truth).flatten(), cs.class_num)
    >>> get_scores(hist)[0]
    1.0
"""

from ..._i2i_metrics import CityScapes, fast_hist, get_scores

__all__ = ["CityScapes", "fast_hist", "get_scores"]
