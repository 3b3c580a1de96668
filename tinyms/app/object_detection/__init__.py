"""Object detection on OpenCV images and camera frames, as TinyMS 0.3's app did it.

A JSON config names the network and its weights (:func:`load_and_parse_config`),
:class:`ObjectDetector` and :func:`object_detection_predict` find the objects of an image, and
:func:`visualize_boxes_on_image` and :func:`save_image` draw and keep them. TinyMS 0.3's own
configs are in ``configs/tinyms/0.3`` beside this package.
"""

from . import object_detector, utils
from .object_detector import ObjectDetector, object_detection_predict
from .utils import draw_boxes_on_image, load_and_parse_config, save_image, visualize_boxes_on_image

__all__ = ["ObjectDetector", "object_detection_predict", "load_and_parse_config", "visualize_boxes_on_image",
           "draw_boxes_on_image", "save_image"]
