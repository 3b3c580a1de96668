"""The recipes of TinyMS's preset transforms, as values (MindSpore-free).

Each preset is written once, here, from the dataset facts in :mod:`tinyms.data.info` (labels,
mean, std): ``tinyms.vision``'s transform objects run these recipes in MindSpore, and the
serving front end runs the same recipes with numpy when a servable names a preset instead of
carrying its own recipe (servables written before recipes existed).
"""

from ..data.info import dataset_info
from ._recipe import Recipe

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "digit_recipe", "cifar_recipe", "imagefolder_recipe",
           "detection_recipe", "AUGMENTATIONS", "DETECTION_AUGMENTATIONS", "FOLDER_AUGMENT", "checked_augment",
           "augment_config", "augment_words", "default_augment", "preset", "PRESET_NAMES", "legacy_recipe"]

#: The classes of TinyMS 0.3's image-folder example (nine mushroom genera): the labels its
#: ``imagefolder_transform`` carried, kept so that 0.3 code naming its predictions still runs.
MUSHROOM_LABELS = (
    "Agaricus双孢蘑菇,伞菌目,蘑菇科,蘑菇属,广泛分布于北半球温带,无毒",
    "Amanita毒蝇伞,伞菌目,鹅膏菌科,鹅膏菌属,主要分布于我国黑龙江、吉林、四川、西藏、云南等地,有毒",
    "Boletus丽柄牛肝菌,伞菌目,牛肝菌科,牛肝菌属,分布于云南、陕西、甘肃、西藏等地,有毒",
    "Cortinarius掷丝膜菌,伞菌目,丝膜菌科,丝膜菌属,分布于湖南等地(夏秋季在山毛等阔叶林地上生长)",
    "Entoloma霍氏粉褶菌,伞菌目,粉褶菌科,粉褶菌属,主要分布于新西兰北岛和南岛西部,有毒",
    "Hygrocybe浅黄褐湿伞,伞菌目,蜡伞科,湿伞属,分布于香港(见于松仔园),有毒",
    "Lactarius松乳菇,红菇目,红菇科,乳菇属,广泛分布于亚热带松林地,无毒",
    "Russula褪色红菇,伞菌目,红菇科,红菇属,分布于河北、吉林、四川、江苏、西藏等地,无毒",
    "Suillus乳牛肝菌,牛肝菌目,乳牛肝菌科,乳牛肝菌属,分布于吉林、辽宁、山西、安徽、江西、浙江、湖南、四川、贵州等地,无毒",
)

#: The ImageNet statistics most pretrained vision networks were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _finish(mean, std):
    """Pixels to [0, 1], normalised per channel, channels first."""
    return [("rescale", {"scale": 1.0 / 255.0, "shift": 0.0}),
            ("normalize", {"mean": list(mean), "std": list(std)}),
            ("hwc2chw", {})]


def _resize(size, native):
    return [] if tuple(size) == tuple(native) else [("resize", {"size": list(size)})]


# --------------------------------------------------------------------------- training augmentation
#: The named training augmentations every classification preset takes (``augment=``), besides a
#: list of recipe steps of one's own:
#:
#: - ``"none"``: training prepares images exactly as evaluation does.
#: - ``"light"``: small random shifts (about 1/8 of the side) at the evaluation's scale; a
#:   horizontal flip only where the dataset's classes are known to survive mirroring (CIFAR).
#: - ``"imagenet"``: a random resized crop of 8 %-100 % of the area (aspect 3/4-4/3) and a
#:   horizontal flip, as ImageNet networks are trained.
AUGMENTATIONS = ("none", "light", "imagenet")

#: The augmentation an image folder gets unless told otherwise, chosen from measurements on digit
#: folders and photo-like folders (benchmarks/bench_augment_default.py, benchmarks/RESULTS.md):
#: from the 6th epoch on "light" was ahead of "none" on both at all but one epoch, and
#: "imagenet" was 14-53 points behind on digits and behind "light" on photos.
FOLDER_AUGMENT = "light"

# Ops that end a recipe (float, channels first): the preset adds them after the user's steps.
_FINISHING_OPS = ("rescale", "normalize", "hwc2chw")


def checked_augment(augment, names=AUGMENTATIONS):
    """An ``augment`` value in its checked form: a name of ``names`` or a tuple of steps.

    Args:
        augment: a name (case-insensitive), or a list of recipe steps (``[op, {params}]``, a
            ``Step`` or an op name) run on the decoded image, before the preset's resizing and
            normalisation. An empty list means ``"none"``.
        names: the valid names: :data:`AUGMENTATIONS` (classification presets, the default) or
            :data:`DETECTION_AUGMENTATIONS`.

    Returns:
        str or tuple: the name in lower case, or the steps with every default filled in.

    Raises:
        UnknownNameError: an unknown name (the message lists the valid ones).
        RecipeError: a malformed step list, or one holding rescale, normalize or hwc2chw (the
            preset adds those itself).

    Example:
        >>> checked_augment("Light")
        'light'
        >>> checked_augment([["random_horizontal_flip"]])
        (random_horizontal_flip(prob=0.5),)
    """
    from ..errors import RecipeError, UnknownNameError  # noqa: PLC0415
    from ._recipe import _steps  # noqa: PLC0415

    valid = ", ".join(names)
    if isinstance(augment, str):
        name = augment.strip().lower()
        if name not in names:
            raise UnknownNameError(f"unknown augment {augment!r}; valid augments are: {valid}, or a list of "
                                   f"recipe steps such as [['random_crop', {{'size': 28, 'padding': 2}}]]")
        return name
    if isinstance(augment, (bytes, dict)) or not isinstance(augment, (list, tuple)):
        raise RecipeError(f"augment must be one of {valid} or a list of recipe steps, got {augment!r:.80}")
    steps = _steps(augment, "augment")
    finishing = [step.op for step in steps if step.op in _FINISHING_OPS]
    if finishing:
        raise RecipeError(f"augment steps work on the decoded uint8 image; leave {finishing[0]!r} out (the "
                          f"preset rescales, normalises and moves channels first after your steps)")
    return steps if steps else "none"


def augment_words(augment):
    """How an augment value reads in a message: its name, or its steps."""
    augment = checked_augment(augment, tuple(dict.fromkeys(AUGMENTATIONS + DETECTION_AUGMENTATIONS)))
    return augment if isinstance(augment, str) else "[" + ", ".join(repr(step) for step in augment) + "]"


def augment_config(augment, names=AUGMENTATIONS):
    """The JSON/YAML-ready form of an augment value: its name, or a list of ``[op, {params}]``."""
    augment = checked_augment(augment, names)
    return augment if isinstance(augment, str) else [step.to_json() for step in augment]


def default_augment(dataset=None):
    """The augmentation a preset trains with by default: a named dataset's, or an image folder's (None)."""
    return {"cifar10": "light", "cifar100": "light"}.get(dataset, "none" if dataset else FOLDER_AUGMENT)


def _fixes_size(steps, size):
    """True when ``steps`` give every image exactly ``size`` (height, width)."""
    out = None  # None: the image's own size
    for step in steps:
        params = step.kwargs()
        if step.op == "resize":
            out = tuple(params["size"]) if isinstance(params["size"], list) else None
        elif step.op in ("center_crop", "random_crop", "random_resized_crop", "letterbox"):
            out = tuple(params["size"])
        elif step.op == "frame_digit":
            out = (28, 28)
    return out == tuple(size)


def _training_steps(augment, size, plain, light, imagenet, after_own=None):
    """The geometric training steps of ``augment``: ``plain`` (the evaluation's), ``light`` or ``imagenet``.

    The user's own steps run first; ``after_own`` (default ``plain``, the evaluation's
    geometry) then brings the result to ``size``, unless the user's steps already do.
    """
    augment = checked_augment(augment)
    if not isinstance(augment, str):
        return list(augment) + ([] if _fixes_size(augment, size) else (plain if after_own is None else after_own))
    return {"none": plain, "light": light, "imagenet": imagenet}[augment]


def _imagenet(size):
    return [("random_resized_crop", {"size": list(size)}), ("random_horizontal_flip", {"prob": 0.5})]


def digit_recipe(dataset="mnist", size=(32, 32), photos=True, augment="none"):
    """MNIST-style grey images: (optionally) frame photos like MNIST digits, resize, normalise.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``: whose mean and std normalise.
        size: network input (height, width).
        photos: evaluation starts with ``frame_digit``, which turns a photo of a digit on paper
            into an MNIST-style image and leaves MNIST images untouched.
        augment: training augmentation (see :data:`AUGMENTATIONS`); ``"light"`` shifts the
            28x28 image by up to 2 pixels (zero padding), never flips (a mirrored digit is
            another symbol).
    """
    info = dataset_info(dataset)
    resize = [("resize", {"size": list(size)})]
    light = [("random_crop", {"size": [28, 28], "padding": 2})] + resize
    train = _training_steps(augment, size, resize, light, _imagenet(size))
    return Recipe(train=train + _finish(info.mean, info.std),
                  eval=([("frame_digit", {})] if photos else []) + resize + _finish(info.mean, info.std),
                  channels=1)


def cifar_recipe(dataset="cifar10", size=(32, 32), padding=4, augment="light"):
    """CIFAR images; ``augment="light"`` (the default) is CIFAR's standard augmentation.

    ``"light"``: zero-pad ``padding`` pixels on each side, crop 32x32 at a random place, flip
    left-right with probability 0.5 (CIFAR's classes survive mirroring).
    """
    info = dataset_info(dataset)
    native = info.image_shape[:2]
    light = [("random_crop", {"size": list(native), "padding": padding}),
             ("random_horizontal_flip", {"prob": 0.5})] + _resize(size, native)
    # Evaluation always resizes (a no-op on CIFAR's own 32x32 images), so a photo of any size
    # given to transform(img) or to a server becomes the network's input size.
    resize = [("resize", {"size": list(size)})]
    train = _training_steps(augment, size, _resize(size, native), light, _imagenet(size), after_own=resize)
    return Recipe(train=train + _finish(info.mean, info.std),
                  eval=resize + _finish(info.mean, info.std), channels=3)


def imagefolder_recipe(size=(224, 224), resize=None, mean=IMAGENET_MEAN, std=IMAGENET_STD, augment=FOLDER_AUGMENT):
    """Photos of any size.

    Evaluation: resize the shorter side to ``resize`` (default ``size`` x 8/7, 256 for 224) and
    crop ``size`` from the centre. Training, by ``augment``: ``"none"`` as evaluation;
    ``"light"`` the same resize, then a crop of ``size`` at a random place instead of the
    centre (a shift of up to 1/14 of the side each way), no flip (a folder's classes may not
    survive mirroring: digits, text, left/right signs); ``"imagenet"`` a random resized crop
    (8 %-100 % of the area, aspect 3/4-4/3) to ``size`` and a horizontal flip.
    """
    size = [int(size), int(size)] if isinstance(size, int) else [int(s) for s in size]
    resize = resize if resize is not None else int(round(min(size) * 8 / 7))
    plain = [("resize", {"size": resize}), ("center_crop", {"size": size})]
    light = [("resize", {"size": resize}), ("random_crop", {"size": size})]
    return Recipe(train=_training_steps(augment, size, plain, light, _imagenet(size)) + _finish(mean, std),
                  eval=plain + _finish(mean, std), channels=3)


#: The training augmentations of the detection preset (``VOCTransform(augment=...)``), besides a
#: list of recipe steps of one's own (ops that move boxes with the image or keep them):
#:
#: - ``"none"``: training prepares images exactly as evaluation does.
#: - ``"light"``: a horizontal flip (probability 0.5) and colour jitter.
#: - ``"ssd"``: SSD's: a random IoU crop (``random_iou_crop``), a horizontal flip and colour jitter.
DETECTION_AUGMENTATIONS = ("none", "light", "ssd")


def detection_recipe(size=(300, 300), mean=IMAGENET_MEAN, std=IMAGENET_STD, letterbox=False, augment="ssd",
                     fill=114):
    """Detection photos (VOC, COCO, a folder of photos with boxes).

    Evaluation: ``resize`` to ``size`` (aspect not kept, SSD's input) or, with ``letterbox``,
    ``letterbox`` to ``size`` (aspect kept, grey ``fill`` around, YOLO's input); then
    normalise. Training: the ``augment`` steps (see :data:`DETECTION_AUGMENTATIONS`) around the
    same geometry: crops and flips before it, colour jitter after it (on the smaller image).
    Every step moves the boxes with the image or leaves them alone (see ``VOCTransform``).

    Raises:
        UnknownNameError: ``augment`` is an unknown name.
        RecipeError: ``augment`` holds a step that cannot move boxes, or a finishing step.
    """
    from ._np_engine import check_box_steps  # noqa: PLC0415

    size = list(size)
    geometry = [("letterbox", {"size": size, "fill": fill})] if letterbox else [("resize", {"size": size})]
    augment = checked_augment(augment, DETECTION_AUGMENTATIONS)
    if isinstance(augment, str):
        flip, jitter = [("random_horizontal_flip", {"prob": 0.5})], [("color_jitter", {})]
        before, after = {"none": ([], []), "light": (flip, jitter),
                         "ssd": ([("random_iou_crop", {})] + flip, jitter)}[augment]
        train = before + geometry + after
    else:
        check_box_steps(augment)
        train = list(augment) + ([] if _fixes_size(augment, size) else geometry)
    return Recipe(train=train + _finish(mean, std), eval=geometry + _finish(mean, std), channels=3)


# preset name -> (dataset whose labels it carries, recipe factory)
_PRESETS = {
    "mnist_transform": ("mnist", lambda: digit_recipe("mnist")),
    "fashion_mnist_transform": ("fashion_mnist", lambda: digit_recipe("fashion_mnist", photos=False)),
    "cifar10_transform": ("cifar10", lambda: cifar_recipe("cifar10")),
    "cifar100_transform": ("cifar100", lambda: cifar_recipe("cifar100")),
    "imagefolder_transform": (None, imagefolder_recipe),
    "voc_transform": ("voc2007", detection_recipe),
}
PRESET_NAMES = tuple(_PRESETS)


def preset(name):
    """(recipe, labels) of preset ``name`` (``imagefolder_transform``: TinyMS 0.3's example labels).

    Raises:
        UnknownNameError: ``name`` is not a preset.
    """
    from .._names import lookup

    dataset, factory = lookup(_PRESETS, name, "transform")
    return factory(), (dataset_info(dataset).labels if dataset else MUSHROOM_LABELS)


def legacy_recipe(transform, input_shape, mean=None, std=None):
    """The recipe a servable that names only a preset (no recipe of its own) was trained with.

    Args:
        transform: the preset's name, e.g. ``"mnist_transform"``.
        input_shape: the network's (C, H, W) input.
        mean, std: normalisation recorded with the servable, replacing the preset's.

    Returns:
        Recipe or None: None when ``transform`` is not a preset or the shape is not an image's.
    """
    if transform not in _PRESETS or input_shape is None or len(input_shape) != 3:
        return None
    recipe, _ = preset(transform)
    steps = []
    for step in recipe.eval:
        params = step.kwargs()
        if step.op == "resize" and not isinstance(params["size"], int):
            params["size"] = list(input_shape[1:])
        elif step.op == "center_crop":
            params["size"] = list(input_shape[1:])
        elif step.op == "normalize":
            params["mean"] = list(mean) if mean is not None else params["mean"]
            params["std"] = list(std) if std is not None else params["std"]
        steps.append((step.op, params))
    if not any(op == "resize" for op, _ in steps) and tuple(input_shape[1:]) != (32, 32):
        steps.insert(0, ("resize", {"size": list(input_shape[1:])}))
    return Recipe(train=steps, eval=steps, channels=int(input_shape[0]))
