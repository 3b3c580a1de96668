"""Private: ``tinyms detect``, the objects a detection model finds, drawn on an image, a video or a camera's frames.

The model comes from a ``tinyms train`` run directory (``--run``), a serving folder
(``--servable``) or the zoo with pretrained weights (``--model``). Every frame goes through the
network's evaluation recipe (the detection preset :class:`tinyms.vision.VOCTransform`), the
network, then the post-processing ``VOCTransform.detections`` and detection servables share
(:mod:`tinyms.vision._detections`: each anchor named by its best class,
:func:`tinyms._boxes.detect_boxes` for the score threshold and per-class non-maximum
suppression, boxes mapped back through the recipe's resize or letterbox onto the frame's own
pixels); the boxes are drawn with their labels (:mod:`tinyms.vision._draw`).

- An image gives an annotated image of the same size (``photo.jpg`` -> ``photo_detected.jpg``)
  and the detections printed.
- A video gives an annotated video of the same size and frame count, plus a JSON-lines file
  with one line per frame: ``{"frame": i, "time": seconds, "detections": [{"box": [xmin, ymin,
  xmax, ymax], "label", "label_id", "score"}]}``, boxes in pixels of the frame. Frames stream
  one at a time (read, detect, draw, write): nothing is kept from one frame to the next, so
  memory stays flat over any length. Frames per second are printed at the end.
- ``--camera N`` shows the annotated frames of camera N in a window (tkinter), where a display
  exists.

Files are written under temporary names and renamed when complete, so an output is never half
written; an input file is never overwritten. This module sits at the command-line level: it
uses the model, vision and serving layers. OpenCV, MindSpore and onnxruntime are imported only
when used.
"""

import contextlib
import json
import os
import sys
import time

from .errors import CheckpointError, TinyMSError, UnknownNameError

__all__ = ["MediaError", "DisplayError", "DetectionModelError", "Detector", "load_detector", "detect",
           "add_parser", "run"]

#: Image file suffixes an annotated image can be written as, with their PIL format.
IMAGE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF"}
#: Video file suffixes an annotated video can be written as, with the OpenCV codec used.
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_MAX_DETECTIONS = 100
_FALLBACK_FPS = 25.0


class MediaError(TinyMSError, ValueError):
    """An input is not an image or video that can be read (or a camera cannot be opened), or an
    output cannot be written there; the message names the file and the fix."""


class DisplayError(TinyMSError, RuntimeError):
    """``--camera`` needs a window, and no display (or no tkinter) is available to open one."""


class DetectionModelError(TinyMSError, ValueError):
    """The model given to ``tinyms detect`` is not a detection network, or its outputs do not fit
    its labels or its recorded preprocessing."""


# ------------------------------------------------------------------------------- the detector
class Detector:
    """A detection network with its evaluation recipe: an RGB frame in, its objects in pixels out.

    Args:
        predict (callable): ``predict(batch)`` for a (1, 3, H, W) float32 array, returning the
            network's ``(boxes, scores)`` (Tensors or arrays): boxes (1, A, 4) [ymin, xmin, ymax,
            xmax] in [0, 1] of the input, scores (1, A, C).
        transform (tinyms.vision.VOCTransform): prepares a frame (``transform(frame)``) and maps
            boxes back (``transform.boxes_to_image``).
        labels (sequence of str): the object class names, no background.
        background (bool or None): score column 0 is a background class (SSD). None: decided
            from the first output (C = len(labels) + 1 means a background column).
        name (str): what the model is, for messages.
        settings (dict): the model's own defaults for ``score_threshold``, ``iou_threshold`` and
            ``max_detections`` (a detection servable records them); TinyMS's otherwise.

    Attributes:
        frames (int): frames detected so far.
        network_seconds (float): time spent in ``predict``.
    """

    def __init__(self, predict, transform, labels, background, name, settings=None):
        self._predict = predict
        self.transform = transform
        self.labels = tuple(str(label) for label in labels)
        self.background = background
        self.name = name
        self.settings = {"score_threshold": DEFAULT_SCORE_THRESHOLD, "iou_threshold": 0.5,
                         "max_detections": DEFAULT_MAX_DETECTIONS, **(settings or {})}
        self.frames = 0
        self.network_seconds = 0.0
        self._checked = False

    def warm_up(self):
        """Run the network once on a blank input (compiles it, checks its outputs); return the seconds taken."""
        import numpy as np  # noqa: PLC0415 - `tinyms --help` and `tinyms train` must not load it (see cli)
        start = time.perf_counter()
        height, width = self.transform.size
        self._outputs(self._predict(np.zeros((1, 3, height, width), np.float32)))
        return time.perf_counter() - start

    def class_ids(self, names):
        """The class ids of ``names`` (class names or ids, e.g. from ``--classes dog,2``).

        Raises:
            UnknownNameError: a name is not one of :attr:`labels`; the message lists them.
        """
        ids = []
        for name in names:
            name = str(name).strip()
            if name in self.labels:
                ids.append(self.labels.index(name))
            elif name.isdigit() and int(name) < len(self.labels):
                ids.append(int(name))
            elif name:
                raise UnknownNameError(f"--classes: {name!r} is not a class of {self.name}; its classes are "
                                       f"{', '.join(self.labels)} (names, or ids 0 to {len(self.labels) - 1})")
        if not ids:
            raise UnknownNameError(f"--classes names no class; give some of {', '.join(self.labels)}, "
                                   f"separated by commas")
        return sorted(set(ids))

    def detect(self, frame, score_threshold=None, max_detections=None, classes=None, iou_threshold=None):
        """The objects in one frame, best score first.

        Post-processing is the one ``VOCTransform.detections`` and detection servables use:
        each anchor named by its best class, :func:`tinyms._boxes.detect_boxes` (threshold,
        per-class non-maximum suppression), boxes mapped back through the recipe's resize or
        letterbox onto the frame.

        Args:
            frame (numpy.ndarray): (H, W, 3) uint8 RGB pixels.
            score_threshold (float): lowest score kept (None: :attr:`settings`').
            max_detections (int): most objects kept (None: :attr:`settings`').
            classes (sequence of int): keep only these class ids (None: all).
            iou_threshold (float): non-maximum suppression's overlap threshold, per class
                (None: :attr:`settings`').

        Returns:
            list of dict: ``box`` [xmin, ymin, xmax, ymax] in pixels of ``frame`` (clipped to
            it), ``label``, ``label_id`` (0-based index into :attr:`labels`), ``score``.
        """
        import numpy as np  # noqa: PLC0415 - `tinyms --help` and `tinyms train` must not load it (see cli)
        from .vision._detections import best_class_only, objects_on_photos  # noqa: PLC0415

        given = {"score_threshold": score_threshold, "iou_threshold": iou_threshold, "max_detections": max_detections}
        options = {key: self.settings[key] if value is None else value for key, value in given.items()}
        batch = self.transform(frame)[None]
        start = time.perf_counter()
        boxes, scores = self._outputs(self._predict(batch))
        self.network_seconds += time.perf_counter() - start
        self.frames += 1
        if classes is not None:  # after each anchor is named by its best class: a dog never shows as a cat
            scores = best_class_only(scores, self.background)
            scores[..., np.setdiff1d(np.arange(len(self.labels)), classes) + int(self.background)] = 0.0
        [found] = objects_on_photos(boxes, scores, self.labels, self.background, self.transform.size,
                                    self.transform.recipe.eval, [frame.shape[:2]], **options)
        for item in found:  # JSON lines stay short
            item["box"] = [round(v, 2) for v in item["box"]]
            item["score"] = round(item["score"], 4)
        return found

    def _outputs(self, output):
        """``(boxes, scores)`` as float32 numpy arrays, checked against the labels the first time."""
        import numpy as np  # noqa: PLC0415 - `tinyms --help` and `tinyms train` must not load it (see cli)
        if not isinstance(output, (tuple, list)) or len(output) < 2:
            raise DetectionModelError(f"{self.name} returns {type(output).__name__} output; a detection network "
                                      f"returns (boxes, scores), as TinyMS's detection networks do")
        boxes, scores = (np.asarray(o.asnumpy() if hasattr(o, "asnumpy") else o, np.float32) for o in output[:2])
        if self._checked:
            return boxes, scores
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
            raise DetectionModelError(f"{self.name} returns boxes {boxes.shape} and scores {scores.shape}; a "
                                      f"detection network returns boxes (B, A, 4) and scores (B, A, C)")
        columns, named = scores.shape[-1], len(self.labels)
        if self.background is None:
            self.background = columns == named + 1
        if columns != named + int(self.background):
            extra = " plus a background column" if self.background else ""
            raise DetectionModelError(f"{self.name} scores {columns} classes but names {named} ({', '.join(self.labels)})"
                                      f"{extra}; the model's labels do not fit it (check the labels recorded with it)")
        self._checked = True
        return boxes, scores


def _detection_config(cfg, what, fix):
    """``cfg`` when it describes a detection network, else DetectionModelError naming what it is."""
    task = getattr(cfg, "task", None) or "classification"
    if task != "detection":
        name = f" ({cfg.name})" if getattr(cfg, "name", "") else ""
        raise DetectionModelError(f"{what} is a {task} network{name}, not a detection network: tinyms detect needs "
                                  f"one that finds boxes. {fix}")
    return cfg


def _transform_from_steps(steps, labels, input_shape, where):
    """The VOCTransform running exactly ``steps`` (a recorded evaluation recipe)."""
    from .vision import VOCTransform  # noqa: PLC0415

    geometry = next((s for s in steps if s.op in ("resize", "letterbox")), None)
    norm = next((s.kwargs() for s in steps if s.op == "normalize"), None)
    transform = None
    if geometry is not None and norm is not None:
        transform = VOCTransform(size=tuple(geometry.kwargs()["size"]), mean=tuple(norm["mean"]),
                                 std=tuple(norm["std"]), labels=labels, letterbox=geometry.op == "letterbox",
                                 augment="none")
    if transform is None or tuple(transform.recipe.eval) != tuple(steps):
        raise DetectionModelError(f"{where} prepares images with {list(steps)}; tinyms detect runs the detection "
                                  f"preset's evaluation steps (resize or letterbox, rescale, normalize, hwc2chw) and "
                                  f"cannot prepare frames exactly as this model expects")
    if input_shape and tuple(input_shape[1:]) != tuple(transform.size):
        raise DetectionModelError(f"{where}'s recipe makes {transform.size[0]}x{transform.size[1]} inputs but the "
                                  f"network takes {tuple(input_shape)}; write the servable again from the trained model")
    return transform


def _transform_from_config(cfg, labels):
    """The VOCTransform for a network's config: its input size, normalisation and geometry (resize or letterbox)."""
    from .vision import VOCTransform  # noqa: PLC0415

    steps = cfg.recipe.eval if cfg.recipe is not None else ()
    kwargs = {"mean": tuple(cfg.mean), "std": tuple(cfg.std)} if cfg.mean and cfg.std else {}
    return VOCTransform(size=tuple(cfg.input_shape[1:]), labels=labels, augment="none",
                        letterbox=any(s.op == "letterbox" for s in steps), **kwargs)


def _model_predict(network):
    from .model import Model  # noqa: PLC0415

    model = Model(network)
    return model.predict


def _run_checkpoint(path):
    """``(run directory, checkpoint)`` of ``--run``: a run directory (best.ckpt, else last.ckpt) or a .ckpt in one."""
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isfile(path):
        return os.path.dirname(path), path
    if os.path.isdir(path):
        for name in ("best.ckpt", "last.ckpt"):
            if os.path.isfile(os.path.join(path, name)):
                return path, os.path.join(path, name)
        raise CheckpointError(f"{path} holds no best.ckpt or last.ckpt: give the run directory tinyms train wrote "
                              f"(or one of its .ckpt files)")
    raise CheckpointError(f"no run directory or checkpoint at {path!r}: give the run directory tinyms train "
                          f"wrote (or one of its .ckpt files)")


def _run_servable_model(run_dir, model_name):
    """The ``model`` part of the run's own servable entry for ``model_name`` ({} when there is none)."""
    from .serving._config import read_entries  # noqa: PLC0415
    from .serving.errors import ServableConfigError  # noqa: PLC0415

    try:
        entries = read_entries(os.path.join(run_dir, "servable"))
    except ServableConfigError:
        return {}
    for entry in entries:
        model = entry.get("model") if isinstance(entry, dict) else None
        if isinstance(model, dict) and model.get("name") == model_name:
            return model
    return {}


def _from_run(path):
    from .model import load  # noqa: PLC0415
    from .vision._recipe import Recipe  # noqa: PLC0415

    run_dir, ckpt = _run_checkpoint(path)
    network = load(ckpt).network
    cfg = _detection_config(getattr(network, "default_cfg", None), f"the network of {ckpt}",
                            "Train a detector (tinyms train --data A_VOC_OR_COCO_FOLDER) and pass its run directory.")
    recorded = _run_servable_model(run_dir, cfg.name)
    labels = tuple(recorded.get("labels") or cfg.labels)
    if recorded.get("recipe"):
        transform = _transform_from_steps(Recipe.from_dict(recorded["recipe"]).eval, labels, cfg.input_shape,
                                          os.path.join(run_dir, "servable"))
    else:
        transform = _transform_from_config(cfg, labels)
    return Detector(_model_predict(network), transform, labels, cfg.background,
                    f"{cfg.name} from {os.path.relpath(ckpt)}")


def _from_zoo(name):
    from .model import create_model, model_config  # noqa: PLC0415

    cfg = _detection_config(model_config(name), f"the zoo model {name!r}",
                            "List the detection models with `tinyms models`.")
    network = create_model(name, pretrained=True)
    cfg = network.default_cfg
    labels = tuple(cfg.labels)
    return Detector(_model_predict(network), _transform_from_config(cfg, labels), labels, cfg.background,
                    f"{cfg.uid} from the model zoo")


# ------------------------------------------------------------------------------- servables
def _servable_folder(path):
    """``(serving folder, servable name or None)`` of ``--servable``: a serving folder, or one servable's folder in it."""
    from .serving._config import SERVABLE_FILE  # noqa: PLC0415
    from .serving.errors import ServableConfigError  # noqa: PLC0415

    path = os.path.abspath(os.path.expanduser(os.fspath(path))).rstrip(os.sep) or os.sep
    if os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        return path, None
    parent, name = os.path.split(path)
    if os.path.isfile(os.path.join(parent, SERVABLE_FILE)):
        return parent, name
    raise ServableConfigError(f"no {SERVABLE_FILE} in {path}: give a serving folder (tinyms train writes one as "
                              f"RUN_DIR/servable; tinyms.serving.write_servable writes others), or one servable's "
                              f"folder inside it")


def _pick_servable(folder, name):
    """The :class:`~tinyms.serving._config.ServableSpec` of the detection servable to run."""
    from .serving._config import load_servables  # noqa: PLC0415
    from .serving.errors import ServableConfigError  # noqa: PLC0415

    specs, problems = load_servables(folder)
    if name is not None:
        problem = next((p for p in problems if p.servable == name), None)
        if problem is not None:
            raise ServableConfigError(f"servable {name!r} cannot be loaded: {problem.reason}")
        chosen = [s for s in specs if s.name == name]
        if not chosen:
            raise ServableConfigError(f"{folder} has no servable {name!r}; it has "
                                      f"{', '.join(s.name for s in specs) or 'none that loads'}")
    else:
        chosen = [s for s in specs if s.task == "detection"]
        if len(chosen) > 1:
            raise ServableConfigError(f"{folder} holds several detection servables ({', '.join(s.name for s in chosen)}); "
                                      f"pick one: --servable {os.path.join(folder, chosen[0].name)}")
    if not chosen or chosen[0].task != "detection":
        others = ", ".join(f"{s.name} ({s.task})" for s in specs)
        broken = "".join(f"; {p}" for p in problems)
        raise DetectionModelError(f"{folder} holds no detection servable{f' {name!r}' if name else ''} (it has "
                                  f"{others or 'none that loads'}{broken}); tinyms detect needs one that finds boxes")
    return chosen[0]


def _servable_runner(spec):
    """The serving layer's in-process runner of ``spec``: onnxruntime, or MindSpore for a checkpoint or MindIR."""
    import dataclasses  # noqa: PLC0415

    from .serving.errors import ServableConfigError  # noqa: PLC0415

    try:
        if spec.format == "onnx":
            from .serving._backends import OnnxBackend  # noqa: PLC0415

            return OnnxBackend(spec, threads=os.cpu_count() or 1)
        from .serving._executor import MindSporeRunner  # noqa: PLC0415

        # one frame at a time: compile batch 1 only; threads=0 keeps MindSpore's own thread count
        return MindSporeRunner(dataclasses.replace(spec, max_batch_size=1, warmup=False), threads=0)
    except ValueError as err:
        raise ServableConfigError(f"servable {spec.name!r} cannot be loaded: {err}") from None


def _from_servable(path):
    from .vision._recipe import Recipe  # noqa: PLC0415

    folder, name = _servable_folder(path)
    spec = _pick_servable(folder, name)
    runner = _servable_runner(spec)
    meta = runner.meta
    where = f"servable {spec.name!r}"
    if not meta.get("recipe"):
        raise DetectionModelError(f"{where} records no preprocessing recipe (model.recipe in servable.json); write "
                                  f"it again with tinyms.serving.write_servable(..., transform=the training preset)")
    labels = tuple(meta["labels"])
    transform = _transform_from_steps(Recipe.from_dict(meta["recipe"]).eval, labels, meta["input_shape"], where)
    return Detector(runner.run, transform, labels, bool(meta.get("background")), f"servable {spec.name} ({spec.format})",
                    settings=spec.detection)


def load_detector(run=None, servable=None, model=None):
    """The :class:`Detector` of exactly one model source.

    Args:
        run (str): a ``tinyms train`` run directory (its best.ckpt, else last.ckpt; labels and
            recipe from its servable when it has one) or a checkpoint inside one.
        servable (str): a serving folder holding one detection servable, or one servable's folder in it.
        model (str): a zoo name (``name`` or ``name.tag``) with pretrained weights.

    Returns:
        Detector: ready (compiled and checked on a blank input).

    Raises:
        ValueError: not exactly one source given.
        DetectionModelError: the model is not a detection network or does not fit its labels.
        CheckpointError, ServableConfigError, UnknownNameError, HubError: the source cannot be loaded.
    """
    given = [(kind, value) for kind, value in (("run", run), ("servable", servable), ("model", model)) if value]
    if len(given) != 1:
        raise ValueError("give exactly one model: --run RUN_DIR, --servable DIR or --model NAME[.TAG]")
    kind, value = given[0]
    detector = {"run": _from_run, "servable": _from_servable, "model": _from_zoo}[kind](value)
    detector.warm_up()
    return detector


# ------------------------------------------------------------------------------- inputs and outputs
def _cv2():
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # our own messages say what failed
    import cv2  # noqa: PLC0415

    return cv2


def _input_kind(path):
    """``"image"`` or ``"video"``, by the file's content."""
    from PIL import Image  # noqa: PLC0415

    if not os.path.isfile(path):
        what = "a folder" if os.path.isdir(path) else "no file"
        raise MediaError(f"{path} is {what}: give an image file (JPEG, PNG...) or a video file (MP4, AVI...)")
    try:
        with Image.open(path) as img:
            if img.format:
                return "image"
    except Exception:  # noqa: BLE001 - PIL raises many types for files it cannot identify
        pass
    cv2 = _cv2()
    capture = cv2.VideoCapture(path)
    try:
        if capture.isOpened():
            return "video"
    finally:
        capture.release()
    if os.path.splitext(path)[1].lower() in VIDEO_CODECS:
        raise MediaError(f"OpenCV cannot open {path} as a video: the file is damaged or truncated (e.g. a recording "
                         f"that was not finished), or its codec is not supported; re-encode or re-record it")
    raise MediaError(f"{path} is neither an image nor a video OpenCV can read: give a JPEG, PNG, BMP, WEBP or TIFF "
                     f"image, or an MP4, AVI, MOV or MKV video")


def _output_path(out, source, kind):
    """Where the annotated file goes: ``out`` (a file, or a folder for the default name), never ``source``."""
    stem, suffix = os.path.splitext(os.path.basename(source)) if source else ("camera", "")
    known = IMAGE_FORMATS if kind == "image" else VIDEO_CODECS
    default = f"{stem}_detected{suffix if suffix.lower() in known else ('.png' if kind == 'image' else '.mp4')}"
    if out is None:
        path = os.path.join(os.path.dirname(os.path.abspath(source)) if source else os.getcwd(), default)
    else:
        path = os.path.abspath(os.path.expanduser(os.fspath(out)))
        if os.path.isdir(path):
            path = os.path.join(path, default)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in known:
        raise MediaError(f"--out {path}: an annotated {kind} is written as {', '.join(sorted(known))}; give a path "
                         f"ending in one of them")
    if not os.path.isdir(os.path.dirname(path)):
        raise MediaError(f"--out {path}: the folder {os.path.dirname(path)} does not exist; create it first")
    if kind == "video" and source and os.path.exists(_jsonl_path(path)) and os.path.samefile(_jsonl_path(path), source):
        raise MediaError(f"--out {path} would write {_jsonl_path(path)}, which is the input; choose another path")
    if source and os.path.exists(path) and os.path.samefile(path, source):
        raise MediaError(f"--out {path} is the input file; tinyms detect never overwrites its input: choose another "
                         f"path (the default is {default} beside it)")
    return path


def _jsonl_path(video_path):
    return os.path.splitext(video_path)[0] + ".jsonl"


def _save_image(pixels, path):
    from PIL import Image  # noqa: PLC0415

    from ._fileio import atomic_file  # noqa: PLC0415

    fmt = IMAGE_FORMATS[os.path.splitext(path)[1].lower()]
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    try:
        with atomic_file(path, "wb") as f:
            Image.fromarray(pixels).save(f, format=fmt, **options)
    except OSError as err:
        raise MediaError(f"cannot write {path}: {err.strerror or err}; choose a writable path with free space") from err


class _VideoOutput:
    """The annotated video and its JSON lines, written under temporary names and renamed once complete.

    The video writer opens on the first frame, at that frame's size; later frames of another
    size are scaled to it (a container can hold one size only).
    """

    def __init__(self, path, fps):
        self.path, self.jsonl, self.fps = path, _jsonl_path(path), fps
        self._stack = contextlib.ExitStack()
        self._writer = self._size = None

    def __enter__(self):
        from ._fileio import atomic_file, atomic_path  # noqa: PLC0415

        self._video = self._stack.enter_context(atomic_path(self.path, suffix=os.path.splitext(self.path)[1]))
        self._lines = self._stack.enter_context(atomic_file(self.jsonl, "w", encoding="utf-8"))
        return self

    def write(self, index, seconds, rgb, found):
        cv2 = _cv2()
        if self._writer is None:
            self._size = (rgb.shape[1], rgb.shape[0])
            codec = VIDEO_CODECS[os.path.splitext(self.path)[1].lower()]
            self._writer = cv2.VideoWriter(self._video, cv2.VideoWriter_fourcc(*codec), self.fps, self._size)
            if not self._writer.isOpened():
                raise MediaError(f"OpenCV cannot write a {codec} video to {self.path}; give --out a path ending in "
                                 f".mp4 or .avi")
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if (bgr.shape[1], bgr.shape[0]) != self._size:
            bgr = cv2.resize(bgr, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(bgr)
        self._lines.write(json.dumps({"frame": index, "time": round(seconds, 3), "detections": found}) + "\n")

    def __exit__(self, *exc):
        if self._writer is not None:
            self._writer.release()
        return self._stack.__exit__(*exc)


def _frames(capture, fps):
    """``(index, seconds, BGR frame)`` of each frame a capture decodes, until the first it cannot."""
    cv2 = _cv2()
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            return
        millis = capture.get(cv2.CAP_PROP_POS_MSEC)
        seconds = millis / 1000.0 if millis > 0 or index == 0 else index / fps
        yield index, seconds, frame
        index += 1


def _progress(total):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total or None, unit="frame", file=sys.stderr, dynamic_ncols=True, mininterval=0.5, leave=False)


def _stream(frames, detector, options, sinks, total=None):
    """Frames through detection and drawing into ``sinks``, one at a time.

    Returns:
        tuple: ``(frames done, seconds, interrupted)``; a Ctrl-C ends the stream, keeping what was written.
    """
    from .vision._draw import draw_detections  # noqa: PLC0415

    cv2 = _cv2()
    bar = _progress(total)
    count, interrupted = 0, False
    start = time.perf_counter()
    try:
        for index, seconds, bgr in frames:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            found = detector.detect(rgb, **options)
            drawn = draw_detections(rgb, found)
            if not all(sink(index, seconds, drawn, found) is not False for sink in sinks):
                break
            count += 1
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    return count, time.perf_counter() - start, interrupted


def _speed(count, seconds, detector):
    network = f", network {detector.network_seconds / max(detector.frames, 1) * 1000:.1f} ms/frame"
    return f"{count} frame(s) in {seconds:.1f} s: {count / max(seconds, 1e-9):.1f} frames/s{network}"


def _detect_image(detector, path, out, options, say):
    from .vision._decode import BadImage, decode  # noqa: PLC0415
    from .vision._draw import draw_detections  # noqa: PLC0415

    try:
        rgb = decode(path, 3)
    except (BadImage, OSError) as err:
        raise MediaError(f"cannot decode {path} as an image ({getattr(err, 'reason', err)}); give a JPEG, PNG, BMP, "
                         f"WEBP or TIFF file") from None
    found = detector.detect(rgb, **options)
    _save_image(draw_detections(rgb, found), out)
    for item in found:
        box = ", ".join(f"{v:.0f}" for v in item["box"])
        say(f"  {item['label']:<16} {item['score']:.2f}  [{box}]")
    say(f"{len(found)} object(s) found in {path} by {detector.name}; annotated image: {out}")
    return {"kind": "image", "out": out, "detections": found}


def _warn(text):
    print(f"warning: {text}", file=sys.stderr)


def _fps(capture, what):
    """The frame rate a capture records (a made-up 25 with a warning when it records none)."""
    import numpy as np  # noqa: PLC0415 - `tinyms --help` and `tinyms train` must not load it (see cli)
    fps = capture.get(_cv2().CAP_PROP_FPS)
    if not fps or not np.isfinite(fps) or fps <= 0:
        _warn(f"{what} records no frame rate; the annotated video plays at {_FALLBACK_FPS:g} frames/s")
        return _FALLBACK_FPS
    return fps


def _detect_video(detector, path, out, options, say):
    cv2 = _cv2()
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise MediaError(f"OpenCV cannot open {path} as a video; give an MP4, AVI, MOV or MKV file")
    try:
        fps = _fps(capture, path)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        with _VideoOutput(out, fps) as output:
            count, seconds, interrupted = _stream(_frames(capture, fps), detector, options, [output.write],
                                                  total=declared)
            if count == 0 and interrupted:
                raise KeyboardInterrupt  # nothing to keep: no file is written
            if count == 0:
                raise MediaError(f"no frame of {path} could be decoded (an unsupported codec, or a damaged file); "
                                 f"re-encode it, e.g. ffmpeg -i {os.path.basename(path)} -c:v libx264 fixed.mp4")
    finally:
        capture.release()
    if interrupted:
        say(f"Interrupted after {count} frame(s); {out} and {_jsonl_path(out)} hold them")
        raise KeyboardInterrupt
    if declared > count:
        _warn(f"{path} declares {declared} frames but only the first {count} could be decoded (a truncated or "
              f"damaged file?); the outputs hold those {count}")
    say(_speed(count, seconds, detector))
    say(f"annotated video: {out}\ndetections (one JSON line per frame): {_jsonl_path(out)}")
    return {"kind": "video", "out": out, "jsonl": _jsonl_path(out), "frames": count, "seconds": seconds,
            "fps": count / max(seconds, 1e-9), "declared_frames": declared}


class _Window:
    """A tkinter window showing RGB frames; closed by its close button, Escape or q."""

    def __init__(self, title):
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise DisplayError("--camera shows the annotated frames in a window, but there is no display here "
                               "(DISPLAY is not set): run it in a desktop session (or ssh -X), or record the camera "
                               "to a video file and pass that file as INPUT")
        try:
            import tkinter  # noqa: PLC0415

            from PIL import ImageTk  # noqa: PLC0415
        except ImportError as err:
            raise DisplayError(f"--camera needs Python's tkinter to open a window ({err}); install it, e.g. "
                               f"apt install python3-tk") from None
        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as err:
            raise DisplayError(f"--camera cannot open a window on display {os.environ.get('DISPLAY', '')!r} ({err}); "
                               f"run it in a desktop session, or pass a video file as INPUT") from None
        self._photo_class = ImageTk.PhotoImage
        self.root.title(title)
        self.label = tkinter.Label(self.root)
        self.label.pack()
        self.open = True
        self.root.protocol("WM_DELETE_WINDOW", self.close)
        for key in ("<Escape>", "q"):
            self.root.bind(key, lambda event: self.close())

    def show(self, index, seconds, rgb, found):
        from PIL import Image  # noqa: PLC0415

        if not self.open:
            return False
        photo = self._photo_class(Image.fromarray(rgb))
        self.label.configure(image=photo)
        self.label.image = photo  # tkinter keeps no reference of its own
        self.root.update()
        return self.open

    def close(self):
        if self.open:
            self.open = False
            self.root.destroy()


def _detect_camera(detector_source, index, out, options, say):
    window = _Window(f"tinyms detect: camera {index} (Esc or q to quit)")
    cv2 = _cv2()
    capture = cv2.VideoCapture(index)
    try:
        if not capture.isOpened():
            raise MediaError(f"camera {index} cannot be opened: is it connected, and free (not used by another "
                             f"program)? Try another number, e.g. --camera {index + 1}")
        detector = detector_source()
        say(f"{detector.name}: showing camera {index}; close the window (or press q) to stop")
        fps = _fps(capture, f"camera {index}")
        sinks = [window.show]
        with contextlib.ExitStack() as stack:
            if out is not None:
                sinks.append(stack.enter_context(_VideoOutput(out, fps)).write)
            count, seconds, _ = _stream(_frames(capture, fps), detector, options, sinks)
    finally:
        capture.release()
        window.close()
    say(_speed(count, seconds, detector))
    if out is not None:
        say(f"recorded: {out} and {_jsonl_path(out)}")
    return {"kind": "camera", "out": out, "frames": count, "seconds": seconds, "fps": count / max(seconds, 1e-9)}


# ------------------------------------------------------------------------------- the command
def detect(source=None, *, camera=None, run=None, servable=None, model=None, out=None,
           score_threshold=None, max_detections=None, classes=None, say=print):
    """Run ``tinyms detect``: find objects in an image, a video or a camera's frames and draw them.

    Args:
        source (str): an image or video file (or None with ``camera``).
        camera (int): a camera number, shown in a window.
        run, servable, model: the model, exactly one (see :func:`load_detector`).
        out (str): the annotated file (a folder: the default name in it). Default beside the
            input: ``NAME_detected.EXT``; a video's JSON lines go to the same name with ``.jsonl``.
            With ``camera``, also record the annotated frames there (default: no recording).
        score_threshold (float): lowest score drawn. Default: the servable's own setting, else 0.3.
        max_detections (int): most objects per frame. Default: the servable's own setting, else 100.
        classes (sequence of str): class names or ids to keep (None: all).
        say (callable): where lines for the user go.

    Returns:
        dict: ``kind`` ("image", "video", "camera"), ``out`` and, for a video, ``jsonl``, ``frames``,
        ``seconds`` and ``fps``; for an image, its ``detections``.

    Raises:
        MediaError: the input cannot be read or the output written (the message names the file).
        DisplayError: ``camera`` without a display.
        DetectionModelError, CheckpointError, ServableConfigError, UnknownNameError...: the model.
    """
    if (source is None) == (camera is None):
        raise MediaError("give an image or video file as INPUT, or --camera N")
    options = {"score_threshold": score_threshold, "max_detections": max_detections}

    def loaded():
        detector = load_detector(run=run, servable=servable, model=model)
        if classes:
            options["classes"] = detector.class_ids(classes)
        return detector

    if camera is not None:
        path = _output_path(out, None, "video") if out is not None else None
        return _detect_camera(loaded, int(camera), path, options, say)
    source = os.path.abspath(os.path.expanduser(os.fspath(source)))
    kind = _input_kind(source)
    path = _output_path(out, source, kind)
    detector = loaded()
    return (_detect_image if kind == "image" else _detect_video)(detector, source, path, options, say)


def _setting(name):
    """An argparse type checking detection setting ``name`` as serving checks it (same ranges, same words)."""
    def check(text):
        import argparse  # noqa: PLC0415

        from .serving._tasks import detection_option  # noqa: PLC0415

        try:
            return detection_option(name, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return check


def _camera_number(text):
    import argparse  # noqa: PLC0415

    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"a camera number is 0 (the first camera), 1, 2..., got {text!r}")
    return int(text)


def add_parser(sub):
    """Add ``tinyms detect`` to the command line's subparsers."""
    parser = sub.add_parser(
        "detect", help="find objects with a detection model: annotated image, video (+ JSON lines) or camera window",
        description="Draw the objects a detection model finds on an image (annotated image out), a video "
                    "(annotated video plus one JSON line of boxes per frame; frames stream, memory stays flat) "
                    "or a camera's frames (a window). The model: a tinyms train run, a servable, or a zoo name.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("input", nargs="?", metavar="INPUT", help="image or video file")
    what.add_argument("--camera", type=_camera_number, metavar="N",
                      help="camera number (0: the first), shown in a window")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", metavar="RUN_DIR", help="a tinyms train run directory (or a .ckpt in one)")
    source.add_argument("--servable", metavar="DIR", help="a serving folder with a detection servable "
                        "(e.g. RUN_DIR/servable), or one servable's folder in it")
    source.add_argument("--model", metavar="NAME[.TAG]", help="a zoo detection model with pretrained weights")
    parser.add_argument("--out", metavar="PATH", help="the annotated image or video (a folder: default name in it; "
                        "default NAME_detected.EXT beside INPUT; a video's JSON lines: PATH with .jsonl); with "
                        "--camera, record to PATH")
    parser.add_argument("--score-threshold", dest="score_threshold", type=_setting("score_threshold"), metavar="S",
                        help=f"lowest score shown (default: the servable's setting, else {DEFAULT_SCORE_THRESHOLD})")
    parser.add_argument("--max-detections", dest="max_detections", type=_setting("max_detections"), metavar="N",
                        help=f"most objects per frame (default: the servable's setting, else {DEFAULT_MAX_DETECTIONS})")
    parser.add_argument("--classes", metavar="NAMES", help="only these classes: names or ids, comma-separated")
    return parser


def run(args, say=print):
    """``tinyms detect`` from parsed arguments (see :func:`add_parser`); returns the exit status."""
    detect(args.input, camera=args.camera, run=args.run, servable=args.servable, model=args.model, out=args.out,
           score_threshold=args.score_threshold, max_detections=args.max_detections,
           classes=args.classes.split(",") if args.classes else None, say=say)
    return 0
