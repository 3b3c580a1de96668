"""TinyMS 0.3's object detector: a JSON config in, the objects of an OpenCV image out.

:class:`ObjectDetector` keeps 0.3's five steps (``data_preprocess``, ``convert2tensor``,
``model_build``, ``model_load_and_predict``, ``data_postprocess``) and
:func:`object_detection_predict` runs them on one image. Underneath they are TinyMS's own
pieces, the ones ``tinyms detect`` uses: the network is :func:`tinyms.model.ssd300_mobilenetv2`
in a :class:`tinyms.model.Model`, images go through the detection preset
(:class:`tinyms.vision.VOCTransform`, or the recipe a ``tinyms train`` run recorded), and its
``postprocess`` turns the network's outputs into 0.3's list of ``{'bbox': [x, y, w, h],
'score', 'category_id'}`` in pixels of the image, ``category_id`` being the class name.

Unlike 0.3, the network is built and its checkpoint loaded once per detector, not once per
image, so a camera loop over :func:`object_detection_predict` compiles a single time.
"""

import copy
import dataclasses
import os

import numpy as np

from ...errors import CheckpointError, ConfigError, InputShapeError
from .utils.config_util import SHANSHUI_LABELS, check_config, find_weights

__all__ = ["ObjectDetector", "object_detection_predict"]


@dataclasses.dataclass(frozen=True)
class _Detection:
    """A config resolved against its weights: what every step needs."""

    settings: object
    weights: object
    labels: tuple
    image_size: int
    transform: object


def _recorded_network(file):
    """The network description a TinyMS checkpoint records (None for a file that records none)."""
    from ...model import _checkpoint  # noqa: PLC0415 - loads MindSpore

    return _checkpoint.network_record(_checkpoint.metadata(_checkpoint.read_checkpoint(file)), file)


def _image_size(settings, weights):
    """The network's input side: the checkpoint's own, checked against the config's model_net, class_num and image_size."""
    record = _recorded_network(weights.file)
    recorded = None
    if record is not None:
        args = record.get("args", {})
        if record["model"] != settings.network:
            raise ConfigError(f"model_net: {weights.file} holds a {record['model']} network, not {settings.network}; "
                              f"give a checkpoint of {settings.network}", field="model_net")
        if args.get("class_num", settings.class_num) != settings.class_num:
            raise ConfigError(f"class_num: the config says {settings.class_num} but {weights.file} holds a network "
                              f"of {args['class_num']} (background included); set \"class_num\": {args['class_num']}",
                              field="class_num")
        shape = record.get("input_shape") or [None, None]
        recorded = args.get("image_size") or shape[1]
    if recorded and settings.image_size and recorded != settings.image_size:
        raise ConfigError(f"image_size: the config says {settings.image_size} but {weights.file} was built for "
                          f"{recorded}x{recorded} inputs; set \"image_size\": {recorded} or leave it out",
                          field="image_size")
    hub_size = weights.hub.input_shape[1] if weights.hub is not None and weights.hub.input_shape else None
    return int(settings.image_size or recorded or hub_size or 300)


def _labels(settings, weights, recorded):
    """(class names, where they came from), checked against class_num."""
    from ...model import model_config  # noqa: PLC0415

    if settings.labels:
        labels, source = settings.labels, "the config's labels"
    elif recorded.get("labels"):
        labels, source = tuple(recorded["labels"]), f"the labels recorded in {weights.folder}"
    elif weights.hub is not None:
        labels, source = tuple(weights.hub.labels), f"the hub weights {weights.hub.uid}"
    elif settings.dataset == "voc":
        labels, source = tuple(model_config(settings.network).labels), "dataset 'voc'"
    elif settings.dataset == "shanshui":
        labels, source = SHANSHUI_LABELS, "dataset 'shanshui'"
    elif settings.dataset == "shapes":
        labels, source = tuple(model_config("ssd_tiny").labels), "dataset 'shapes'"
    else:
        raise ConfigError(f"dataset: {settings.dataset!r} names no class list this app knows ('voc', 'shanshui', "
                          f"'shapes'); "
                          f"add \"labels\": [\"name\", ...] with the class names (background excluded)", field="dataset")
    if len(labels) + 1 != settings.class_num:
        raise ConfigError(f"class_num: {settings.class_num} outputs per anchor, but {source} name {len(labels)} "
                          f"classes, which with the background make {len(labels) + 1}", field="class_num")
    return labels


def _resolve(settings):
    """Find the weights, the input size, the class names and the preprocessing of a checked config."""
    from ..._detect_cli import _run_servable_model, _transform_from_steps  # noqa: PLC0415
    from ...model import model_config  # noqa: PLC0415
    from ...vision import VOCTransform  # noqa: PLC0415
    from ...vision._recipe import Recipe  # noqa: PLC0415

    weights = find_weights(settings)
    size = _image_size(settings, weights)
    recorded = _run_servable_model(weights.folder, settings.network) if weights.folder else {}
    labels = _labels(settings, weights, recorded)
    if recorded.get("recipe"):
        transform = _transform_from_steps(Recipe.from_dict(recorded["recipe"]).eval, labels, (3, size, size),
                                          f"the run recorded in {weights.folder}")
    else:
        base = weights.hub if weights.hub is not None else model_config(settings.network)
        transform = VOCTransform(size=size, mean=base.mean, std=base.std, labels=labels, augment="none")
    return _Detection(settings, weights, labels, size, transform)


def _stamp(file):
    """What identifies one version of a file: a rewritten checkpoint is loaded again."""
    stat = os.stat(file)
    return file, stat.st_mtime_ns, stat.st_size


def _rgb(image):
    """An OpenCV image (BGR, BGRA or grey, uint8) as (H, W, 3) RGB."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"the input must be a numpy.ndarray image, e.g. cv2.imread(path), got {type(image).__name__}")
    pixels = image[..., None] if image.ndim == 2 else image
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4) or 0 in pixels.shape or pixels.dtype != np.uint8:
        raise InputShapeError(f"the input must be an (H, W, 3) uint8 BGR image as cv2.imread gives (grey and BGRA "
                              f"work too), got shape {image.shape} {image.dtype}")
    if pixels.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(pixels, 3, axis=2))
    return np.ascontiguousarray(pixels[..., 2::-1])


class ObjectDetector:
    """Detect objects in OpenCV images with the network and weights a detection config names.

    The steps are TinyMS 0.3's; :func:`object_detection_predict` runs them in order. The
    config is checked when the detector is made; its weights are found (and the network's
    input size and class names read from them) on first use.

    Args:
        config (dict): the fields of a detection config, as :func:`load_and_parse_config`
            returns them (see :mod:`tinyms.app.object_detection.utils.config_util`).

    Raises:
        ConfigError: a field is unknown, missing or wrong (``err.field`` names it).

    Example:
        >>> import cv2                                              # doctest: +SKIP
        >>> from tinyms.app import ObjectDetector, load_and_parse_config, object_detection_predict
        >>> detector = ObjectDetector(config=load_and_parse_config("my_ssd.json"))   # doctest: +SKIP
        >>> object_detection_predict(cv2.imread("photo.jpg"), detector)              # doctest: +SKIP
        [{'bbox': [48.2, 30.0, 120.5, 96.1], 'score': 0.91, 'category_id': 'dog'}]
    """

    def __init__(self, config=None):
        self.config = config
        self._checked = None   # (the config as checked, its Settings)
        self._detection = None
        self._models = {}      # is_training -> the Model model_build made
        self._holds = {}       # id(Model) -> the checkpoint version loaded into it
        if config is not None:
            self._settings()

    def _settings(self):
        """The checked settings of ``self.config`` (checked again, and everything reset, when it changed)."""
        if self._checked is None or self._checked[0] != self.config:
            settings = check_config(self.config)
            self._checked = (copy.deepcopy(self.config), settings)
            self._detection, self._models, self._holds = None, {}, {}
        return self._checked[1]

    def _resolved(self):
        settings = self._settings()
        if self._detection is None:
            self._detection = _resolve(settings)
        return self._detection

    @property
    def labels(self):
        """tuple of str: the class names the detector reports (background excluded)."""
        return self._resolved().labels

    def data_preprocess(self, input):  # noqa: A002 - TinyMS 0.3's argument name
        """Prepare an OpenCV image for the network.

        Args:
            input (numpy.ndarray): (H, W, 3) uint8 BGR pixels, as ``cv2.imread`` or a camera
                gives them (grey and BGRA are accepted too).

        Returns:
            tuple: ``(image_shape, transform_input)``: the image's ``(height, width)`` and a
            float32 (3, S, S) array (RGB, resized to the network's input, normalised).

        Raises:
            TypeError: ``input`` is not a numpy array.
            InputShapeError: it is not an 8-bit image.
        """
        pixels = _rgb(input)
        return pixels.shape[:2], np.asarray(self._resolved().transform(pixels), np.float32)

    def convert2tensor(self, transform_input):
        """A prepared image as the network's input Tensor.

        Args:
            transform_input (numpy.ndarray): (3, S, S) from :meth:`data_preprocess` (or a
                batch, (N, 3, S, S)).

        Returns:
            Tensor: float32 (1, 3, S, S).

        Raises:
            TypeError: not a numpy array.
            InputShapeError: neither (3, S, S) nor (N, 3, S, S).
        """
        import mindspore as ms  # noqa: PLC0415

        if not isinstance(transform_input, np.ndarray):
            raise TypeError(f"transform_input must be the numpy.ndarray data_preprocess returns, got "
                            f"{type(transform_input).__name__}")
        batch = transform_input[None] if transform_input.ndim == 3 else transform_input
        if batch.ndim != 4:
            raise InputShapeError(f"transform_input must be (3, S, S) or (N, 3, S, S), got {transform_input.shape}")
        return ms.Tensor(np.ascontiguousarray(batch, np.float32))

    def model_build(self, is_training=False):
        """The detection network in a :class:`tinyms.model.Model` (built once per detector, then reused).

        Args:
            is_training (bool): the network's initial mode; ``Model.predict`` predicts in
                inference mode either way. Default: False.

        Returns:
            tinyms.model.Model: the untrained network, sized as the config's weights need;
            :meth:`model_load_and_predict` loads them.

        Raises:
            TypeError: ``is_training`` is not a bool.
            ConfigError, CheckpointError, HubError: the config's weights cannot be found or
                do not match its fields.
        """
        from ...model import Model, create_model  # noqa: PLC0415

        if not isinstance(is_training, bool):
            raise TypeError(f"is_training must be True or False, got {is_training!r}")
        detection = self._resolved()
        model = self._models.get(is_training)
        if model is None:
            network = create_model(detection.settings.network, class_num=detection.settings.class_num,
                                   is_training=is_training, image_size=detection.image_size)
            model = self._models[is_training] = Model(network)
        return model

    def model_load_and_predict(self, serve_model, input_tensor):
        """Load the config's checkpoint into ``serve_model`` and predict ``input_tensor``.

        A model from :meth:`model_build` keeps its weights: the checkpoint is read again only
        when its file changed.

        Args:
            serve_model (tinyms.model.Model): from :meth:`model_build`.
            input_tensor (Tensor): from :meth:`convert2tensor`.

        Returns:
            tuple: ``(serve_model, predictions_output)``, the output being the network's
            ``(boxes, scores)`` Tensors.

        Raises:
            CheckpointError: the checkpoint is missing, corrupt or holds another network (the
                message names the first parameter that differs); a missing file is also a
                FileNotFoundError.
        """
        detection = self._resolved()
        file = detection.weights.file
        stamp = _stamp(file)
        if self._holds.get(id(serve_model)) != stamp:
            try:
                serve_model.load_checkpoint(file)
            except CheckpointError as err:
                settings = detection.settings
                raise CheckpointError(f"{file} does not fit the network the config describes ({settings.network}, "
                                      f"class_num {settings.class_num}, image_size {detection.image_size}): {err}") \
                    from err
            if any(model is serve_model for model in self._models.values()):
                self._holds[id(serve_model)] = stamp
        return serve_model, serve_model.predict(input_tensor)

    def data_postprocess(self, predictions_output, image_shape):
        """The objects found, in TinyMS 0.3's format, best score first.

        Boxes scoring below the config's ``score_threshold`` (default 0.3) are dropped, and of
        boxes of one class overlapping more than 0.5 (IoU) only the best is kept.

        Args:
            predictions_output: the network's ``(boxes, scores)`` (or 0.3's single
                concatenated array).
            image_shape (tuple): the image's ``(height, width)``, from :meth:`data_preprocess`.

        Returns:
            list of dict: ``{'bbox': [x, y, width, height], 'score': float, 'category_id':
            class name}``, the box in pixels of the image.
        """
        detection = self._resolved()
        return detection.transform.postprocess(predictions_output, image_shape,
                                               score_threshold=detection.settings.score_threshold)


def object_detection_predict(input, object_detector, is_training=False):  # noqa: A002 - TinyMS 0.3's names
    """Detect the objects in one OpenCV image: :class:`ObjectDetector`'s five steps in order.

    Args:
        input (numpy.ndarray): (H, W, 3) uint8 BGR pixels (``cv2.imread``, a camera frame).
        object_detector (ObjectDetector): the detector.
        is_training (bool): passed to :meth:`ObjectDetector.model_build`. Default: False.

    Returns:
        list of dict: ``{'bbox': [x, y, width, height], 'score', 'category_id'}`` per object,
        in pixels of ``input``, best score first (``category_id`` is the class name).

    Raises:
        TypeError: ``object_detector`` is not an ObjectDetector, or ``input`` not an array.
        InputShapeError, ConfigError, CheckpointError, HubError: see the steps.

    Example:
        >>> import cv2                                              # doctest: +SKIP
        >>> from tinyms.app import ObjectDetector, load_and_parse_config, object_detection_predict
        >>> detector = ObjectDetector(load_and_parse_config("my_ssd.json"))         # doctest: +SKIP
        >>> boxes = object_detection_predict(cv2.imread("photo.jpg"), detector)     # doctest: +SKIP
    """
    if not isinstance(object_detector, ObjectDetector):
        raise TypeError(f"object_detector must be an ObjectDetector, got {type(object_detector).__name__}")
    image_shape, prepared = object_detector.data_preprocess(input)
    tensor = object_detector.convert2tensor(prepared)
    model = object_detector.model_build(is_training=is_training)
    _, output = object_detector.model_load_and_predict(model, tensor)
    return object_detector.data_postprocess(output, image_shape)
