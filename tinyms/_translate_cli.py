"""``tinyms predict IMAGE --run RUN_DIR`` / ``--servable DIR`` with a servable: answer as the server does.

For an image_to_image servable (a CycleGAN or pix2pix run) the translated picture is written
to ``--out`` (a file, or a folder to put it in), by default next to the image as
``NAME_translated.png``, and the path is printed; other servables print their answer (classes,
objects). The servable runs in this process through :class:`tinyms.serving.Predictor` (ONNX on
onnxruntime, no MindSpore needed; a checkpoint-only servable on MindSpore).
"""

import os

__all__ = ["is_picture_run", "run"]


def _serving_folder(run_dir):
    return os.path.join(os.path.abspath(os.path.expanduser(os.fspath(run_dir))), "servable")


def is_picture_run(run_dir):
    """True when the run directory's servable (``RUN_DIR/servable``) is an image_to_image one."""
    from ._jsonread import load_file
    from .errors import JSONInputError

    path = os.path.join(_serving_folder(run_dir), "servable.json")
    if not os.path.isfile(path):
        return False
    try:
        entries = load_file(path)
    except (JSONInputError, ValueError, OSError):
        return False  # the caller's own path reports a broken run
    return isinstance(entries, list) and any(
        isinstance(e, dict) and isinstance(e.get("model"), dict) and e["model"].get("task") == "image_to_image"
        for e in entries)


def output_path(image, out=None):
    """Where the picture made of ``image`` goes: ``out`` (a file, or an existing folder), else
    ``NAME_translated.png`` next to ``image``."""
    stem = os.path.splitext(os.path.basename(image))[0] + "_translated.png"
    if out is None:
        return os.path.join(os.path.dirname(os.path.abspath(image)), stem)
    out = os.path.abspath(os.path.expanduser(out))
    return os.path.join(out, stem) if os.path.isdir(out) else out


def run(image, source, out=None, output_size=None, say=print):
    """Predict ``image`` with the servable of ``source`` (a run directory or a serving/servable folder).

    Returns:
        str or object: the path written for an image_to_image servable, else the answer.

    Raises:
        FileNotFoundError: no image file at ``image``.
        tinyms.errors.ConfigError: ``--out``/``--output-size`` given for a servable that answers no
            picture, or ``--out`` names the input image.
        ServableConfigError: ``source`` holds no usable servable (the message says why).
    """
    from .errors import ConfigError
    from .serving import Predictor, TranslatedImage

    if not os.path.isfile(image):
        raise FileNotFoundError(f"no image file {image!r}; give the path of a JPEG/PNG/BMP file")
    with Predictor(source) as predict:
        picture = predict.info.get("task") == "image_to_image"
        if not picture and (out is not None or output_size is not None):
            raise ConfigError(f"--out and --output-size are for image_to_image servables; {predict.name!r} is a "
                              f"{predict.info.get('task')} servable")
        path = output_path(image, out) if picture else None
        if path is not None and os.path.realpath(path) == os.path.realpath(image):
            raise ConfigError(f"--out {out!r} is the input image; give another file name")
        answer = predict(image, output_size=output_size) if picture else predict(image)
    if not isinstance(answer, TranslatedImage):
        say(f"{image}: {answer}")
        return answer
    answer.save(path)
    size = f" ({answer.input_size[0]}x{answer.input_size[1]} photo)" if answer.input_size else ""
    say(f"wrote {path}: {answer.width}x{answer.height} picture{size} by servable {predict.name!r}")
    return path
