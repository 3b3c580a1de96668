"""Private: ``tinyms quickstart --task detection``, SSD on the bundled shapes sample, offline, end to end.

Data (the generated VOC-layout sample that ships with TinyMS: 480 training and 120 test images of
five shapes on cluttered backgrounds) -> the detection preset (flips, colour jitter) ->
``ssd_tiny`` (TinyMS's small detector) at the sample's own 160x160 -> train with ``compile(optimizer=...)`` alone
-> mAP over every test image -> boxes drawn on test photos -> a servable ``tinyms serve`` answers.
"""

import os
import time

import numpy as np

IMAGE_SIZE = 160   # the sample's own size (ssd_tiny's default is 192)
BATCH_SIZE = 16
PEAK_LR = 0.005    # Adam, cosine after one warm-up epoch, flips and colour jitter: tinyms train's
WARMUP_EPOCHS = 1  # detection defaults (benchmarks/RESULTS.md 14)
EPOCHS = 30
SHOW = 8           # test photos drawn with their boxes


def run(epochs=None, out=None, verbose=1, say=print):
    """Run the detection walkthrough; return a dict of what it measured.

    Args:
        epochs (int): training epochs (default 30).
        out (str): folder for the drawn predictions and the servable (default:
            ``$TINYMS_HOME/quickstart-detection``).
        verbose (int): progress display level for training.
        say: where lines of output go.

    Returns:
        dict: the evaluation results (``mAP50``...), images evaluated, seconds per phase, paths.
    """
    from . import context
    from ._home import tinyms_home
    from .data import detection_dataset, sample_dataset
    from .model import Model, ssd_tiny
    from .optimizers import Adam, warmup_cosine_lr
    from .vision import VOCTransform, show_images

    epochs = EPOCHS if epochs is None else int(epochs)
    out = os.path.abspath(os.fspath(out)) if out else os.path.join(tinyms_home(), "quickstart-detection")
    os.makedirs(out, exist_ok=True)
    timings, started = {}, time.perf_counter()
    folder = sample_dataset("shapes")
    test_raw = detection_dataset(folder, usage="test", shuffle=False, decode=True)
    names = tuple(test_raw.class_names)
    train_raw = detection_dataset(folder, usage="train", shuffle=True, decode=True, class_names=names)
    transform = VOCTransform(size=IMAGE_SIZE, labels=names, augment="light")
    train_ds = transform.apply_ds(train_raw, batch_size=BATCH_SIZE)
    test_ds = transform.apply_ds(test_raw, batch_size=BATCH_SIZE, is_training=False)
    steps = train_ds.get_dataset_size()
    say(f"Data: the bundled shapes sample at {folder} ({train_raw.get_dataset_size()} training and "
        f"{test_raw.get_dataset_size()} test images; classes {', '.join(names)}); training {epochs} epoch(s)")
    timings["data"] = time.perf_counter() - started

    context.set_seed(1)
    net = ssd_tiny(class_num=len(names) + 1, image_size=IMAGE_SIZE)
    total = steps * epochs
    schedule = warmup_cosine_lr(PEAK_LR, total, warmup_steps=min(total - 1, WARMUP_EPOCHS * steps))
    model = Model(net).compile(optimizer=Adam(net.trainable_params(), schedule))
    t = time.perf_counter()
    history = model.train(epochs, train_ds, verbose=verbose)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    results = model.eval(test_ds, report=True)
    timings["eval"] = time.perf_counter() - t
    say(f"Test mAP50 {results['mAP50']:.3f}, mAP50_95 {results['mAP50_95']:.3f}, VOC07 mAP50 "
        f"{results['voc07_mAP50']:.3f} over {model.eval_samples} images (train loss {history.last('loss'):.3f})")
    say(str(results["report"]))

    t = time.perf_counter()
    photos, shapes = [], []
    for row in test_raw.create_dict_iterator(output_numpy=True, num_epochs=1):
        photos.append(row["image"])
        shapes.append(row["image"].shape[:2])
        if len(photos) == SHOW:
            break
    output = model.predict(np.stack([transform(p) for p in photos]))
    found = transform.detections(output, np.array(shapes, np.float32))
    drawn = [[(*d["box"], d["label"]) for d in objects] for objects in found]
    picture = os.path.join(out, "detections.png")
    show_images(photos, boxes=drawn, path=picture, title="ssd_tiny on the shapes test photos")
    timings["predict"] = time.perf_counter() - t
    say(f"Boxes drawn on {len(photos)} test photos: {picture}")

    servable = _write_servable(model, transform, names, out, say)
    total_s = time.perf_counter() - started
    say(f"Done: mAP50 {results['mAP50']:.3f} | " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + f" | total {total_s:.1f}s" + (f" | serve it: tinyms serve {servable}" if servable else ""))
    return {"results": {k: v for k, v in results.items() if k != "report"}, "images": model.eval_samples,
            "seconds": timings, "total_seconds": total_s, "picture": picture, "serving_path": servable,
            "detections": found, "history": history.history}


def _write_servable(model, transform, names, out, say):
    from .errors import ExportError, TinyMSError
    from .serving import write_servable

    folder = os.path.join(out, "servable")
    for formats in (("onnx", "ckpt"), ("ckpt",)):
        try:
            write_servable(folder, "ssd_tiny", model.network, class_num=len(names) + 1,
                           formats=formats, transform=transform, labels=list(names),
                           description="ssd_tiny trained on the shapes sample by tinyms quickstart")
            return folder
        except ExportError as err:
            say(f"ONNX export impossible ({err}); the servable runs the checkpoint on MindSpore")
        except TinyMSError as err:  # a servable is a bonus here: the walkthrough's result stands
            say(f"No servable written: {err}")
            return None
    return None
