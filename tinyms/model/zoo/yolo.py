"""YOLO detectors (YOLOv5, YOLOv8, YOLOX) built by mindyolo, behind TinyMS's detection contract.

mindyolo 0.5.0 (MindSpore's YOLO library) builds the layers from TinyMS's architecture files in
``yolo_configs/`` (its wheel ships none); TinyMS wraps the result in a :class:`YOLO` network:

- inference (``net.set_train(False)``): ``net(image)`` returns ``(boxes, scores)``: boxes
  (B, A, 4) as [ymin, xmin, ymax, xmax] in [0, 1] of the input, scores (B, A, C) class
  probabilities, objectness folded in for YOLOv5 and YOLOX. The decoding is part of the graph,
  so exported models carry it. ``tinyms._boxes.detect_boxes`` turns them into detections.
- training: ``net.with_loss()`` is the family's mindyolo loss over TinyMS's padded detection
  batch (``image``, ``bbox`` as [xmin, ymin, xmax, ymax] pixels, ``label`` with -1 padding).
  Train in GRAPH mode: mindyolo 0.5.0's losses fail under PyNative.
- parameters keep mindyolo's names (``model.model.0.conv.weight``...), so checkpoints of
  mindyolo's own networks, such as its published COCO weights (tag ``coco``), load by name.

Inputs are RGB pixels divided by 255 (mean 0, std 1), sides a multiple of 32. mindyolo is
imported only when a network is built.
"""

import dataclasses
import functools
import os
import warnings

import mindspore as ms
from mindspore import nn, ops

from ..._checks import positive_int
from ...errors import InputShapeError
from ..registry import register_model

__all__ = ["YOLO", "COCO_LABELS", "yolov5n", "yolov5s", "yolov8n", "yolov8s", "yolox_nano", "yolox_tiny",
           "yolox_s"]

#: The 80 COCO detection classes, in the order of the usual contiguous class ids 0..79.
COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush")

_CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "yolo_configs")
_WEIGHTS_HOST = "https://download.mindspore.cn/toolkits/mindyolo"
_EPS = 1e-6


# ---------------------------------------------------------------------------- configuration
@functools.lru_cache(maxsize=None)
def _family_file(family):
    """The parsed ``yolo_configs/<family>.yaml`` (read once; callers copy what they change)."""
    import yaml  # noqa: PLC0415 - read only when a YOLO is built

    with open(os.path.join(_CONFIG_DIR, f"{family}.yaml"), encoding="utf-8") as file:
        return yaml.safe_load(file)


def architecture(name, family):
    """mindyolo's network configuration of YOLO ``name`` (a dict), and the family's file.

    Args:
        name (str): a model of ``family``, e.g. ``"yolov8n"``.
        family (str): ``"yolov5"``, ``"yolov8"`` or ``"yolox"``: the file in ``yolo_configs``.

    Returns:
        tuple: ``(network, family_file)``: ``network`` holds what mindyolo's ``parse_model``
        reads (``stride``, ``depth_multiple``, ``width_multiple``, ``backbone``, ``head`` and,
        where the family has them, ``anchors``, ``reg_max``, ``max_channels``).
    """
    import copy  # noqa: PLC0415

    doc = _family_file(family)
    model = doc["models"][name]
    layers = doc["layers"][model["layers"]]
    network = {"model_name": doc["mindyolo_model"], "stride": list(doc["stride"]),
               "depth_multiple": model["depth_multiple"], "width_multiple": model["width_multiple"],
               "backbone": copy.deepcopy(layers["backbone"]), "head": copy.deepcopy(layers["head"])}
    for key in ("anchors", "reg_max", "max_channels"):
        if key in doc:
            network[key] = copy.deepcopy(doc[key])
    return network, doc


def _mindyolo():
    """``mindyolo.models`` and mindyolo's ``Config``, imported on first use."""
    try:
        with warnings.catch_warnings():  # mindyolo 0.5.0 imports pkg_resources (setuptools is pinned below 81)
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            import mindyolo.models  # noqa: PLC0415 - keep `import tinyms.model` free of mindyolo
            from mindyolo.utils.config import Config  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(f"the YOLO networks are built by mindyolo, which cannot be imported ({err}): "
                          f"pip install mindyolo==0.5.0 'opencv-python-headless<4.12' pycocotools") from err
    return mindyolo.models, Config


def _checked_image_size(image_size, sizes, name):
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size not in sizes:
        raise ValueError(f"{name}: image_size must be one of {', '.join(map(str, sizes))} (the sizes its "
                         f"configuration supports), got {image_size!r}")
    return image_size


# ---------------------------------------------------------------------------- graph helpers
@ops.constexpr
def _check_input(shape, stride, loss_size):
    """Refuse (while compiling) an input the network or its loss cannot take, naming the fix."""
    if len(shape) != 4 or shape[1] != 3:
        raise InputShapeError(f"a YOLO network takes images of shape (batch, 3, height, width), got {tuple(shape)}")
    if shape[2] % stride or shape[3] % stride:
        raise InputShapeError(f"a YOLO network takes images whose height and width are multiples of {stride}, "
                              f"got {shape[2]}x{shape[3]}: resize or pad them")
    if loss_size and (shape[2] != loss_size or shape[3] != loss_size):
        raise InputShapeError(f"YOLOX's loss works only at the image size it is configured for, "
                              f"{loss_size}x{loss_size}, got {shape[2]}x{shape[3]}: train on "
                              f"{loss_size}x{loss_size} images or build the network with "
                              f"image_size={shape[2] if shape[2] == shape[3] else 'your size'}")
    return True


def _mindyolo_targets(bbox, label, shape):
    """TinyMS's padded batch as mindyolo's targets.

    Args:
        bbox: (B, M, 4) [xmin, ymin, xmax, ymax] in pixels of the input.
        label: (B, M) class ids, -1 for padding.
        shape: the image batch's shape (B, 3, H, W).

    Returns:
        Tensor (B, M, 6) float32: [image index, class, centre x, centre y, width, height],
        coordinates as fractions of the input; padding rows hold -1 after the image index, as
        mindyolo's own loader pads them.
    """
    height, width = shape[2], shape[3]
    bbox = bbox.astype(ms.float32)
    label = label.reshape(bbox.shape[:2]).astype(ms.float32)
    xmin, ymin, xmax, ymax = bbox[..., 0], bbox[..., 1], bbox[..., 2], bbox[..., 3]
    box = ops.stack(((xmin + xmax) / (2.0 * width), (ymin + ymax) / (2.0 * height),
                     (xmax - xmin) / width, (ymax - ymin) / height), -1)
    valid = label >= 0
    padding = ops.full_like(box, -1.0)
    box = ops.where(ops.broadcast_to(valid.expand_dims(-1), box.shape), box, padding)
    label = ops.where(valid, label, ops.full_like(label, -1.0))
    index = ops.broadcast_to(ops.arange(bbox.shape[0]).astype(ms.float32).reshape(-1, 1), label.shape)
    return ops.concat((index.expand_dims(-1), label.expand_dims(-1), box), -1)


# ---------------------------------------------------------------------------- networks
class YOLO(nn.Cell):
    """A mindyolo YOLO network with TinyMS's detection outputs and loss.

    Build one with a registry builder (``yolov8n(...)``, ``create_model("yolox_nano")``); this
    class holds mindyolo's layers as ``model`` (so parameter names are mindyolo's) and adds the
    decoding to TinyMS's contract. Each family (YOLOv5, YOLOv8, YOLOX) is a subclass.

    Args:
        network (Cell): what ``mindyolo.models.create_model`` built.
        name (str): the registry name (``"yolov8n"``), kept as ``arch_name``.
        class_num (int): number of object classes (no background).
        image_size (int): the square input side the network is configured for.
        default_size (int): the architecture's default side (what its registry config says).
        family_file (dict): the family's configuration (strides, anchors, loss settings).

    Inputs:
        image: float32 Tensor (B, 3, H, W), RGB pixels / 255, H and W multiples of 32.

    Outputs:
        In inference mode, ``(boxes, scores)``: boxes (B, A, 4) [ymin, xmin, ymax, xmax] in
        [0, 1] of the input (clipped), scores (B, A, class_num) probabilities; A is the number
        of anchor points (and anchors) over the three output scales. In training mode, mindyolo's
        raw head outputs, which ``with_loss()`` consumes.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("yolov8n", class_num=3, image_size=320)
        >>> type(net).__name__, net.class_num, net.default_cfg.input_shape
        ('YOLOv8', 3, (3, 320, 320))
    """

    def __init__(self, network, name, class_num, image_size, default_size, family_file):
        super().__init__()
        self.model = network.model
        self.class_num = class_num
        self.image_size = image_size
        self.arch_name = name
        self.strides = tuple(int(s) for s in family_file["stride"])
        self.max_stride = max(self.strides)
        self._default_size = default_size
        self._loss_settings = dict(family_file["loss"])
        self._anchors = family_file.get("anchors")
        self._cfg = None

    @property
    def default_cfg(self):
        """The network's ModelConfig; its input shape follows ``image_size``."""
        return self._cfg

    @default_cfg.setter
    def default_cfg(self, cfg):
        # the registry attaches the architecture's config (default side); a network configured
        # for another image_size says its own side, any other recorded shape is kept
        default = (3, self._default_size, self._default_size)
        if cfg is not None and tuple(cfg.input_shape) == default and self.image_size != self._default_size:
            cfg = dataclasses.replace(cfg, input_shape=(3, self.image_size, self.image_size))
        self._cfg = cfg

    def construct(self, image):
        _check_input(image.shape, self.max_stride, 0)
        out = self.model(image)
        if self.training:
            return out
        xywh, scores = self.decode(out)
        return _contract_boxes(xywh, image.shape), scores

    def decode(self, out):
        """``(boxes (B, A, 4) centre x, centre y, width, height in pixels, scores (B, A, C))`` from
        mindyolo's inference output (YOLOv5's and YOLOX's layout: objectness, then the classes)."""
        rows = out[0]  # (B, A, 5 + C): centre/size in pixels, objectness, class probabilities
        return rows[..., :4], rows[..., 5:] * rows[..., 4:5]

    def train_outputs(self, image):
        """mindyolo's training-mode head outputs for ``image``, in either mode (the loss's input)."""
        out = self.model(image)
        if self.training:
            return out
        return out[1]  # YOLOv5 and YOLOv8 heads also return their raw outputs in inference mode

    def loss_arguments(self):
        """Keyword arguments of the family's mindyolo loss (besides its name)."""
        raise NotImplementedError

    def loss_size(self):
        """The only input side the loss accepts, or 0 when it takes any."""
        return 0

    def make_loss(self):
        """mindyolo's loss cell for this network's family."""
        models, _ = _mindyolo()
        settings = dict(self._loss_settings)
        return models.create_loss(settings.pop("name"), **settings, **self.loss_arguments())

    def with_loss(self):
        """This network with its family's mindyolo loss, for training in GRAPH mode.

        Returns:
            YOLOWithLoss: a Cell whose ``construct(image, bbox, label)`` returns the scalar loss
            of a batch in TinyMS's detection layout (bbox (B, M, 4) [xmin, ymin, xmax, ymax]
            pixels, label (B, M) class ids, -1 for padding). YOLOv5 and YOLOv8 losses are summed
            over the batch, as mindyolo (and Ultralytics) compute them; YOLOX's is averaged over
            the matched anchors.

        Raises:
            ImportError: mindyolo is not installed.

        Example:
            >>> import numpy as np, mindspore as ms
            >>> from tinyms.model import create_model
            >>> net = create_model("yolov8n", class_num=2, image_size=320)
            >>> loss = net.with_loss()
            >>> image = ms.Tensor(np.zeros((1, 3, 320, 320), np.float32))
            >>> bbox = ms.Tensor(np.array([[[40, 60, 200, 220], [0, 0, 0, 0]]], np.float32))
            >>> label = ms.Tensor(np.array([[1, -1]], np.int32))
            >>> float(loss(image, bbox, label)) > 0                 # doctest: +SKIP
            True
        """
        return YOLOWithLoss(self, self.make_loss())


def _contract_boxes(xywh, shape):
    """Centre/size boxes in pixels as [ymin, xmin, ymax, xmax] fractions of the input, clipped to [0, 1]."""
    height, width = shape[2], shape[3]
    cx, cy, half_w, half_h = xywh[..., 0], xywh[..., 1], xywh[..., 2] / 2.0, xywh[..., 3] / 2.0
    boxes = ops.stack(((cy - half_h) / height, (cx - half_w) / width, (cy + half_h) / height,
                       (cx + half_w) / width), -1)
    return ops.clamp(boxes, 0.0, 1.0)


class YOLOv5(YOLO):
    """YOLOv5: anchor boxes, an objectness score per anchor (folded into the class scores)."""

    def loss_arguments(self):
        return {"anchors": [list(a) for a in self._anchors], "stride": list(self.strides), "nc": self.class_num}

    def make_loss(self):
        """mindyolo's YOLOv5 loss, with the box term of a scale that no object is assigned to 0.

        mindyolo 0.5.0's ``YOLOv5Loss`` averages the box term of each output scale over the
        objects assigned to it and returns NaN (0 / 0) when a batch assigns none to one scale
        (a batch of large objects only, or of no object), which happens on small or sparse
        datasets; the subclass divides by at least 1, as mindyolo's own YOLOv3 loss does.
        """
        settings = dict(self._loss_settings)
        del settings["name"]
        return _guarded_yolov5_loss()(**settings, **self.loss_arguments())


class YOLOv8(YOLO):
    """YOLOv8: anchor-free, distribution focal loss; no objectness score."""

    def decode(self, out):
        rows = out[0]  # (B, A, 4 + C): centre/size in pixels, class probabilities
        return rows[..., :4], rows[..., 4:]

    def loss_arguments(self):
        return {"stride": list(self.strides), "nc": self.class_num}


class YOLOX(YOLO):
    """YOLOX: anchor-free with an objectness score (folded into the class scores), SimOTA loss."""

    def train_outputs(self, image):
        out = self.model(image)
        if self.training:
            return out
        # in inference mode mindyolo's head has applied the sigmoid to objectness and classes:
        # the loss takes logits
        rows = out[0]
        probs = ops.clamp(rows[..., 4:], _EPS, 1.0 - _EPS)
        return ops.concat((rows[..., :4], ops.log(probs) - ops.log(1.0 - probs)), -1)

    def loss_size(self):
        return self.image_size

    def loss_arguments(self):
        return {"input_size": [self.image_size, self.image_size], "strides": list(self.strides),
                "nc": self.class_num}


class YOLOWithLoss(nn.Cell):
    """A YOLO network with its family's mindyolo loss over TinyMS's detection batch.

    Made by :meth:`YOLO.with_loss`. Parameter names are the network's with the prefix
    ``network.``.

    Args:
        network (YOLO): the network.
        loss_fn (Cell): mindyolo's loss for the network's family.

    Inputs:
        image: float32 (B, 3, H, W). YOLOX: H = W = the network's ``image_size``.
        bbox: float32 (B, M, 4), [xmin, ymin, xmax, ymax] in pixels of the input.
        label: int32 (B, M), class ids, -1 for padding rows.

    Outputs:
        float32 scalar: the loss.

    Raises:
        InputShapeError: (while compiling) an image whose sides are not multiples of 32, or a
            YOLOX image of another size than the network's ``image_size``.
    """

    def __init__(self, network, loss_fn):
        super().__init__()
        self.network = network
        self.loss_fn = loss_fn
        self.max_stride = network.max_stride
        self.fixed_size = network.loss_size()

    def construct(self, image, bbox, label):
        _check_input(image.shape, self.max_stride, self.fixed_size)
        preds = self.network.train_outputs(image)
        targets = _mindyolo_targets(bbox, label, image.shape)
        loss, _ = self.loss_fn(preds, targets, image)
        return loss.reshape(())


@functools.lru_cache(maxsize=None)
def _guarded_yolov5_loss():
    """A subclass of mindyolo's ``YOLOv5Loss`` whose per-scale box average divides by at least 1.

    It reuses mindyolo's target assignment (``build_targets``), criteria and gains, and sums the
    three YOLOv5 terms per output scale: box (1 - CIoU over the assigned predictions),
    objectness (BCE against the IoU at assigned cells, weighted per scale by ``balance``) and
    class (BCE, when there is more than one class).
    """
    models, _ = _mindyolo()
    from mindyolo.models.losses.iou_loss import bbox_iou  # noqa: PLC0415

    class GuardedYOLOv5Loss(models.YOLOv5Loss):
        def construct(self, p, targets, imgs):
            tcls, tbox, indices, anchors, tmasks = self.build_targets(p, targets)
            tcls, tbox = ops.stop_gradient(tcls), ops.stop_gradient(tbox)
            indices, anchors, tmasks = ops.stop_gradient(indices), ops.stop_gradient(anchors), ops.stop_gradient(tmasks)
            # three tensors (one class has no class term and must still stack), added out of place
            box_term, obj_term, cls_term = ops.zeros(3, ms.float32)
            for scale in range(self.nl):
                pred = ops.cast(p[scale], ms.float32)  # (B, anchors, h, w, 5 + C)
                assigned = tmasks[scale]
                weight = assigned.astype(ms.float32)
                where = indices[scale] * assigned[None, :]  # padding rows point at cell 0 with weight 0
                img, anchor, row, col = where[0], where[1], where[2], where[3]
                chosen = pred[img, anchor, row, col]  # (n, 5 + C)
                centre = ops.sigmoid(chosen[:, :2]) * 2.0 - 0.5
                size = (ops.sigmoid(chosen[:, 2:4]) * 2.0) ** 2 * anchors[scale]
                iou = bbox_iou(ops.concat((centre, size), 1), tbox[scale], CIoU=True).squeeze()
                box_term = box_term + ((1.0 - iou) * weight).sum() / ops.maximum(weight.sum(), 1.0)
                quality = ops.stop_gradient(iou).clip(0, None)
                quality = (1.0 - self.gr) + self.gr * quality
                objectness = ops.zeros(pred.shape[:4], pred.dtype)
                objectness[img, anchor, row, col] = quality * weight
                if self.nc > 1:
                    wanted = ops.fill(chosen.dtype, (chosen.shape[0], self.nc), self.cn)
                    wanted[ops.arange(chosen.shape[0]).astype(ms.int32), tcls[scale]] = self.cp
                    cls_term = cls_term + self.BCEcls(chosen[:, 5:], wanted, ops.tile(weight[:, None], (1, self.nc)))
                obj_term = obj_term + self.BCEobj(pred[..., 4], objectness) * self.balance[scale]
            box_term, obj_term, cls_term = box_term * self.hyp_box, obj_term * self.hyp_obj, cls_term * self.hyp_cls
            total = box_term + obj_term + cls_term
            return total * p[0].shape[0], ops.stop_gradient(ops.stack((total, box_term, obj_term, cls_term)))

    return GuardedYOLOv5Loss


_FAMILIES = {"yolov5": YOLOv5, "yolov8": YOLOv8, "yolox": YOLOX}


def _build(name, family, class_num, image_size, default_size):
    class_num = positive_int(class_num, "class_num", 80)
    network_cfg, doc = architecture(name, family)
    image_size = _checked_image_size(image_size, doc["image_sizes"], name)
    models, config = _mindyolo()
    built = models.create_model(model_name=network_cfg["model_name"], model_cfg=config(network_cfg),
                                num_classes=class_num)
    return _FAMILIES[family](built, name, class_num, image_size, default_size, doc)


# ---------------------------------------------------------------------------- registry
def _coco_weights(folder, file, mean_ap, size):
    """The ``coco`` weight tag: mindyolo's published checkpoint (Ascend-trained, 300-500 epochs)."""
    return {"coco": {"file": file, "urls": (f"{_WEIGHTS_HOST}/{folder}/{file}",),
                     "hash_prefix": file.rsplit("-", 1)[1].split(".")[0], "license": "Apache-2.0 (mindyolo)",
                     "accuracy": mean_ap, "dataset": "coco",
                     "evaluated_on": f"COCO val2017, 5,000 images: box mAP@[.5:.95] at {size}x{size} as "
                                     f"published by mindyolo (not measured by TinyMS)"}}


def _registered(default_size, folder, file, mean_ap):
    """``register_model`` arguments of a YOLO trained on COCO at ``default_size``."""
    return dict(input_shape=(3, default_size, default_size), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                labels=COCO_LABELS, dataset="coco", task="detection", background=False, mindcv_weights=False,
                weights=_coco_weights(folder, file, mean_ap, default_size))


_BUILDER_DOC = """Build {title} for {default}x{default} RGB images (pixels / 255) and ``class_num`` classes.

    mindyolo builds the layers from ``yolo_configs/{family}.yaml``; {note}

    Args:
        class_num (int): number of object classes (no background). Default 80 (COCO).
        image_size (int): the square input side the network is configured for: 320, 416 or
            640; ``default_cfg.input_shape`` says it.{size_note} Default {default}.

    Returns:
        {cls}: an untrained network (``create_model("{name}.coco", pretrained=True)``: mindyolo's
        COCO weights, box mAP@[.5:.95] {mean_ap:.1%}); ``net.with_loss()`` trains it.

    Raises:
        TypeError, ValueError: a class_num that is not a positive integer, or another image_size.
        ImportError: mindyolo is not installed.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("{name}", class_num=3, image_size=320)
        >>> net.class_num, net.default_cfg.input_shape, net.default_cfg.task
        (3, (3, 320, 320), 'detection')
    """

_NOTES = {
    "yolov5": ("anchor boxes at strides 8, 16 and 32; scores are class probability x objectness.",
               " Inference runs at any side that is a multiple of 32, and so does the loss."),
    "yolov8": ("anchor-free, scores are class probabilities.",
               " Inference runs at any side that is a multiple of 32, and so does the loss."),
    "yolox": ("anchor-free, scores are class probability x objectness.",
              " Inference runs at any side that is a multiple of 32; the loss only at image_size."),
}


def _documented(title, family, default, mean_ap):
    def decorate(builder):
        note, size_note = _NOTES[family]
        builder.__doc__ = _BUILDER_DOC.format(title=title, default=default, family=family, note=note,
                                              size_note=size_note, cls=_FAMILIES[family].__name__,
                                              name=builder.__name__, mean_ap=mean_ap)
        return builder
    return decorate


# name: (family, default side, mindyolo's COCO checkpoint, its published box mAP, description)
_MODELS = {
    "yolov5n": ("yolov5", 640, "yolov5n_300e_mAP273-9b16bd7b.ckpt", 0.273, "a YOLOv5-n (1.9 M parameters)"),
    "yolov5s": ("yolov5", 640, "yolov5s_300e_mAP376-860bcf3b.ckpt", 0.376, "a YOLOv5-s (7.2 M parameters)"),
    "yolov8n": ("yolov8", 640, "yolov8-n_500e_mAP372-cc07f5bd.ckpt", 0.372, "a YOLOv8-n (3.2 M parameters)"),
    "yolov8s": ("yolov8", 640, "yolov8-s_500e_mAP446-3086f0c9.ckpt", 0.446, "a YOLOv8-s (11.2 M parameters)"),
    "yolox_nano": ("yolox", 416, "yolox-n_300e_map241-ec9815e3.ckpt", 0.241,
                   "a YOLOX-Nano (0.9 M parameters, depthwise convolutions)"),
    "yolox_tiny": ("yolox", 416, "yolox-tiny_300e_map333-e5ae3a2e.ckpt", 0.333, "a YOLOX-Tiny (5.1 M parameters)"),
    "yolox_s": ("yolox", 640, "yolox-s_300e_map407-0983e07f.ckpt", 0.407, "a YOLOX-S (9.0 M parameters)"),
}


def _registered_builder(name):
    """Registry builder ``name(class_num=80, image_size=<default side>)`` of a row of ``_MODELS``."""
    family, side, file, mean_ap, title = _MODELS[name]

    def builder(class_num=80, image_size=side):
        return _build(name, family, class_num, image_size, side)

    builder.__name__ = builder.__qualname__ = name
    registered = register_model(**_registered(side, family, file, mean_ap))(builder)
    return _documented(title, family, side, mean_ap)(registered)


yolov5n = _registered_builder("yolov5n")
yolov5s = _registered_builder("yolov5s")
yolov8n = _registered_builder("yolov8n")
yolov8s = _registered_builder("yolov8s")
yolox_nano = _registered_builder("yolox_nano")
yolox_tiny = _registered_builder("yolox_tiny")
yolox_s = _registered_builder("yolox_s")
