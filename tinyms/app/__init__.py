"""Applications on top of TinyMS's models: today object detection, with TinyMS 0.3's names.

TinyMS 0.3's detection scripts run unchanged: a JSON config in, the objects of an OpenCV image
out, drawn and saved::

    import cv2
    from tinyms.app import (ObjectDetector, load_and_parse_config, object_detection_predict,
                            save_image, visualize_boxes_on_image)

    detector = ObjectDetector(config=load_and_parse_config("my_ssd.json"))
    image = cv2.imread("photo.jpg")
    found = object_detection_predict(image.copy(), detector)
    save_image(visualize_boxes_on_image(image, found), "out", "photo")

The config's ``checkpoint_path`` may be a ``tinyms train`` run folder (its class names and
preprocessing come with it); ``download_from_hub`` weights come from :mod:`tinyms.hub`. For a
command line, a video or a camera window, ``tinyms detect`` does the same with TinyMS's own
options. This package sits above the model and vision layers, beside the command line: nothing
in TinyMS imports it. Importing it loads neither MindSpore nor OpenCV.
"""

from . import object_detection
from .object_detection import (ObjectDetector, draw_boxes_on_image, load_and_parse_config, object_detection_predict,
                               save_image, visualize_boxes_on_image)

__all__ = ["object_detection", "ObjectDetector", "object_detection_predict", "load_and_parse_config",
           "visualize_boxes_on_image", "draw_boxes_on_image", "save_image"]
