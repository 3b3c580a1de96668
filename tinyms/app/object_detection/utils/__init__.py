"""The detection app's helpers: its JSON config (:mod:`.config_util`) and drawing and saving images (:mod:`.view_util`)."""

from . import config_util, view_util
from .config_util import load_and_parse_config
from .view_util import draw_boxes_on_image, save_image, visualize_boxes_on_image

__all__ = ["load_and_parse_config", "draw_boxes_on_image", "save_image", "visualize_boxes_on_image"]
