"""Private: the image-to-image side of ``tinyms train`` and ``tinyms eval`` (CycleGAN, pix2pix).

Image-to-image data is a registered dataset name (``horse2zebra``, ``facades``, ``cityscapes``:
downloaded through :func:`tinyms.data.download_dataset`) or a folder in one of the published
layouts (see :mod:`tinyms.data.gan`): unpaired domains ``trainA/``, ``trainB/``, ``testA/``,
``testB/`` (CycleGAN's; the default model is then ``cycle_gan``), or aligned pairs as side-by-side
images in ``train/`` and ``val/`` or ``test/`` (pix2pix's; default ``pix2pix``).

A run keeps what every run keeps (config.yaml, history.csv with every loss by name, curves.png,
best.ckpt / last.ckpt holding all networks and both optimizers, run.json, a servable of the
A -> B generator) and, after every epoch, ``samples/samples_epoch_NNN.png``: the same test images
each epoch, as rows A | G_A(A) | G_B(G_A(A)) and B | G_B(B) | G_A(G_B(B)) (pix2pix: input | output
| target). best.ckpt is the epoch of the lowest ``val_error`` (the task's translation error on the
test images). The learning rate follows CycleGAN's schedule (``linear_decay``: constant for half
the epochs, then linearly down). ``tinyms eval`` counts every test image of each domain once: the
mean absolute cycle-consistency error per domain (pix2pix: the error of G(A) against B), and for
cityscapes (photos -> label maps) TinyMS 0.3's per-pixel and per-class accuracy and IoU after
mapping each pixel to the nearest class colour.

This module sits at the command-line level beside ``_train_cli`` (which calls it).
"""

import os

from .errors import ConfigError

__all__ = ["TASK", "NAMES", "MIN_SIZE", "MAX_SIZE", "SAMPLE_FOLDER", "is_i2i_data", "default_model",
           "check_config", "has_test_split", "i2i_data", "build_network", "sample_callback", "write_i2i_servable",
           "evaluate"]

TASK = "image_to_image"
#: registered image-to-image datasets tinyms train reads, all in CycleGAN's layout (trainA/, trainB/...)
NAMES = ("horse2zebra", "facades", "cityscapes")
#: of those, the sets whose A and B images are partners (same names), which pix2pix also trains on
PAIRED_NAMES = ("facades", "cityscapes")
#: sets pix2pix translates B -> A, as published (label map -> photo; A is the photo)
_B2A = ("facades", "cityscapes")
#: image sides --image-size accepts
MIN_SIZE, MAX_SIZE = 32, 256
#: run sub-folder of the per-epoch sample grids
SAMPLE_FOLDER = "samples"
#: test images of each domain shown in a sample grid
SAMPLE_COUNT = 4
_UNPAIRED_SPLITS = (("trainA", "trainB"), ("testA", "testB"))


# ----------------------------------------------------------------------------- what the data is
def _root_with(path, has):
    """``path`` when ``has(path)``, else its single sub-folder when that has (an extracted archive), else None."""
    if has(path):
        return path
    try:
        inner = [e.path for e in os.scandir(path) if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return None
    return inner[0] if len(inner) == 1 and has(inner[0]) else None


def _has_unpaired(folder):
    return all(os.path.isdir(os.path.join(folder, d)) for d in _UNPAIRED_SPLITS[0])


def _has_side_by_side(folder):
    """True when ``folder/train`` holds images directly (class sub-folders would make it a classification set)."""
    from .data.gan import image_list  # noqa: PLC0415

    train = os.path.join(folder, "train")
    if not os.path.isdir(train):
        return False
    with os.scandir(train) as entries:
        if any(e.is_dir() for e in entries):
            return False
    return bool(image_list(train, 1))


def _unpaired_root(path):
    """The folder holding trainA/ and trainB/: ``path`` or its single sub-folder."""
    return _root_with(path, _has_unpaired)


def _paired_root(path):
    """The folder holding train/ of side-by-side pairs: ``path`` or its single sub-folder."""
    return _root_with(path, _has_side_by_side)


def is_i2i_data(data):
    """True when checked run data (a name or an absolute path) is image-to-image data."""
    if data in NAMES:
        return True
    if not (os.path.isabs(data) and os.path.isdir(data)):
        return False
    return _unpaired_root(data) is not None or _paired_root(data) is not None


def _is_paired(data):
    """True for side-by-side pairs (pix2pix's layout), False for CycleGAN's trainA/trainB folders."""
    return data not in NAMES and _unpaired_root(data) is None


def default_model(data):
    """``cycle_gan`` for unpaired data (trainA/trainB), ``pix2pix`` for aligned pairs."""
    return "pix2pix" if _is_paired(data) else "cycle_gan"


def check_config(cfg, given):
    """Image-to-image keys: a square size of 32 to 256; pix2pix needs paired data."""
    size = cfg["image_size"]
    if size is not None:
        height, width = size
        if height != width or not MIN_SIZE <= height <= MAX_SIZE:
            raise ConfigError(f"image_size: {cfg['model']} trains on square images of {MIN_SIZE} to {MAX_SIZE} "
                              f"pixels, got {height}x{width}; pass e.g. --image-size 128")
    if cfg["model"] == "pix2pix" and cfg["data"] in NAMES and cfg["data"] not in PAIRED_NAMES:
        raise ConfigError(f"pix2pix learns from aligned pairs and {cfg['data']} is unpaired; train cycle_gan on it "
                          f"(or give pix2pix a paired set such as facades)")
    if cfg["model"] == "cycle_gan" and _is_paired(cfg["data"]):
        raise ConfigError(f"{cfg['data']} holds side-by-side pairs (pix2pix's layout) and cycle_gan reads two "
                          f"folders, trainA/ and trainB/; train pix2pix on it (--model pix2pix)")


# ----------------------------------------------------------------------------- data
def _folder(cfg, dataset_folder):
    if cfg["data"] in NAMES:
        folder = dataset_folder()
    else:
        folder = cfg["data"]
    return _unpaired_root(folder) or _paired_root(folder) or folder


def _direction(cfg):
    return "b2a" if cfg["data"] in _B2A and cfg["model"] == "pix2pix" else "a2b"


def i2i_data(cfg, say, train, dataset_folder, data_class):
    """The run's datasets (columns image_a, image_b; float32 (N, 3, S, S) in [-1, 1]) as ``data_class``."""
    from .data import paired_dataset, unaligned_dataset  # noqa: PLC0415
    from .vision import CycleGanTransform  # noqa: PLC0415

    folder = _folder(cfg, dataset_folder)
    transform = CycleGanTransform(size=cfg["image_size"][0], augment=cfg.get("augment") or "light")
    paired = cfg["model"] == "pix2pix"
    if paired:
        def read(usage, shuffle, limit=None):
            return paired_dataset(folder, usage, direction=_direction(cfg), shuffle=shuffle, max_dataset_size=limit)
        test_usage = "val" if os.path.isdir(os.path.join(folder, "val")) else "test"
    else:
        def read(usage, shuffle, limit=None):
            return unaligned_dataset(folder, usage, shuffle=shuffle, max_dataset_size=limit, seed=cfg["seed"])
        test_usage = "test"
    train_ds = None
    if train:
        train_ds = transform.apply_ds(read("train", True, cfg["num_samples"]), batch_size=cfg["batch_size"])
    test_ds, note = None, f"no {test_usage} split in {folder}"
    if _has_split(folder, test_usage, paired):
        test_ds = transform.apply_ds(read(test_usage, False), batch_size=max(cfg["batch_size"], 16), phase="test")
        note = f"the {test_usage} images of {os.path.basename(folder.rstrip(os.sep))}"
    data = data_class(train_ds, test_ds, transform, (), 3, note)
    data.folder, data.paired, data.test_usage = folder, paired, test_usage
    return data


def _has_split(folder, usage, paired):
    if paired:
        return any(os.path.isdir(os.path.join(folder, d)) for d in (usage, usage + "A", os.path.join("A", usage)))
    return all(os.path.isdir(os.path.join(folder, usage + d)) for d in "AB")


def has_test_split(data, model):
    """True when the run's data has test images (a registered set always has)."""
    if data in NAMES:
        return True
    folder = _unpaired_root(data) or _paired_root(data) or data
    paired = model == "pix2pix"
    return _has_split(folder, "val", paired) or _has_split(folder, "test", paired)


def build_network(cfg):
    """The zoo network of the run (``cycle_gan`` or ``pix2pix``) for its image size."""
    from .model import create_model  # noqa: PLC0415

    return create_model(cfg["model"], image_size=cfg["image_size"][0])


# ----------------------------------------------------------------------------- per-epoch samples
def _test_rows(data, count=SAMPLE_COUNT):
    """Up to ``count`` prepared test (or, without a test split, training) rows: (image_a, image_b) arrays."""
    import numpy as np  # noqa: PLC0415

    source = data.test if data.test is not None else data.train
    a, b = [], []
    for row in source.create_dict_iterator(output_numpy=True, num_epochs=1):
        a.append(row["image_a"])
        b.append(row["image_b"])
        if sum(len(x) for x in a) >= count:
            break
    return np.concatenate(a)[:count], np.concatenate(b)[:count]


def sample_callback(run_dir, data):
    """The callback writing ``samples/samples_epoch_NNN.png`` at every epoch end: the same test images each time."""
    from .model.tasks.image_to_image import SampleGrid  # noqa: PLC0415

    return SampleGrid(os.path.join(run_dir, SAMPLE_FOLDER), samples=_test_rows(data), count=SAMPLE_COUNT)


# ----------------------------------------------------------------------------- servable
def write_i2i_servable(folder, cfg, model, data, description, say):
    """The servable of the A -> B generator (ONNX where it exports, else the checkpoint)."""
    from .errors import ExportError  # noqa: PLC0415
    from .serving import write_servable  # noqa: PLC0415

    net = model.network
    try:
        write_servable(folder, cfg["model"], net, description=description, formats=("onnx", "ckpt"),
                       transform=data.transform)
    except ExportError as err:
        say(f"ONNX export impossible ({err}); the servable runs the checkpoint on MindSpore")
        write_servable(folder, cfg["model"], net, description=description, formats=("ckpt",),
                       transform=data.transform)
    return folder


# ----------------------------------------------------------------------------- evaluation
def _cityscapes_target(cfg, data):
    """True when the run's target images (image_b) are Cityscapes label maps."""
    return cfg["data"] == "cityscapes" and _direction(cfg) == "a2b"


def _domain_batches(data, domain, batch_size=16):
    """Prepared batches (float32 (N, 3, S, S)) of every test image of one domain, each once."""
    from .data import GanImageFolderDataset, GeneratorDataset  # noqa: PLC0415

    source = GanImageFolderDataset(os.path.join(data.folder, data.test_usage + domain))
    rows = GeneratorDataset(source, column_names=["image", "image_name"], shuffle=False)
    for row in data.transform.apply_ds(rows, batch_size=batch_size, phase="test").create_dict_iterator(
            output_numpy=True, num_epochs=1):
        yield row["image"]


def _cycle_errors(network, data):
    """``{"cycle_error_a": ..., "cycle_error_b": ...}`` (mean |G_B(G_A(a)) - a| over every test image of A, and
    likewise for B, in [-1, 1] units) and the image counts of A and B."""
    import numpy as np  # noqa: PLC0415

    from . import Tensor  # noqa: PLC0415

    results, counts = {}, {}
    for domain, there, back in (("a", network.generator("a2b"), network.generator("b2a")),
                                ("b", network.generator("b2a"), network.generator("a2b"))):
        there.set_train(False)
        back.set_train(False)
        total, count = 0.0, 0
        for batch in _domain_batches(data, domain.upper()):
            rec = back(there(Tensor(batch))).asnumpy()
            total += float(np.abs(rec - batch).mean(axis=(1, 2, 3)).sum())
            count += len(batch)
        results[f"cycle_error_{domain}"] = total / count
        counts[domain] = count
    results["cycle_error"] = (results["cycle_error_a"] + results["cycle_error_b"]) / 2
    return results, counts


def evaluate(cfg, model, data, say, ckpt_name):
    """Count every test image once: cycle-consistency errors (pix2pix: the error to the target), label-map scores.

    Returns:
        dict: CycleGAN: ``cycle_error_a`` (mean |G_B(G_A(a)) - a| over every test image of A), ``cycle_error_b``,
        their mean ``cycle_error``, ``images_a``, ``images_b``; pix2pix: ``Model.eval``'s ``error`` (mean |G(a) - b|)
        and ``images``; values in [-1, 1] units (x 127.5: pixel levels). For Cityscapes label maps also
        ``pixel_accuracy``, ``mean_class_accuracy``, ``mean_class_iou``.

    Raises:
        ConfigError: the run's data has no test images.
    """
    if data.test is None:
        raise ConfigError(f"{cfg['data']} has {data.test_note}: nothing to evaluate on")
    if data.paired:
        results = dict(model.eval(data.test))
        results["images"] = int(getattr(model, "eval_samples", 0) or 0)
        counted = f"{results['images']:,} test pairs"
    else:
        results, counts = _cycle_errors(model.network, data)
        results.update(images_a=counts["a"], images_b=counts["b"])
        counted = f"{counts['a']:,} test images of A and {counts['b']:,} of B, each once"
    shown = "  ".join(f"{k}: {v:.4f} ({v * 127.5:.1f} levels)" for k, v in results.items() if isinstance(v, float))
    say(f"{shown}  (mean absolute error, images in [-1, 1]; {counted}: {data.test_note}; {ckpt_name})")
    if _cityscapes_target(cfg, data):
        results.update(_label_map_scores(model, data, say))
    return results


def _label_map_scores(model, data, say):
    """TinyMS 0.3's per-pixel and per-class accuracy and IoU of G(A) against B's label maps, every test image."""
    from . import Tensor  # noqa: PLC0415
    from .data import paired_dataset  # noqa: PLC0415
    from .metrics import LabelMapScores  # noqa: PLC0415
    from .vision import to_image  # noqa: PLC0415

    scores = LabelMapScores()
    generator = model.network.generator("a2b")
    generator.set_train(False)
    pairs = data.transform.apply_ds(paired_dataset(data.folder, data.test_usage, shuffle=False), batch_size=16,
                                    phase="test")  # photo and label map of the same scene, matched by name
    for row in pairs.create_dict_iterator(output_numpy=True, num_epochs=1):
        for truth, fake in zip(to_image(row["image_b"]), to_image(generator(Tensor(row["image_a"])).asnumpy())):
            scores.update(truth, fake)
    say("label maps (each pixel mapped to the nearest Cityscapes class colour):\n" + scores.report())
    result = scores.eval()
    return {k: result[k] for k in ("pixel_accuracy", "mean_class_accuracy", "mean_class_iou")}
