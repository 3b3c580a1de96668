"""TinyMS 0.3's ``tinyms.utils.eval.cityscape_util`` path: see :mod:`tinyms.utils.eval`."""

from ..._i2i_metrics import CITYSCAPES_COLORS as label2color  # noqa: N811 - 0.3's name
from ..._i2i_metrics import CityScapes, fast_hist, get_scores

__all__ = ["CityScapes", "fast_hist", "get_scores", "label2color"]
