"""Train the ssd_tiny detector that TinyMS ships as the hub asset ``ssd_tiny_shapes``, and describe it.

Usage::

    GLOG_v=3 python scripts/train_ssd_tiny_shapes.py [--epochs 60] [--lr 0.005] [--alpha 0.75]
                                                     [--out tinyms/hub/assets]

The data is the generated detection sample bundled with TinyMS, ``sample_dataset("shapes")``:
480 training and 120 test photos of 160x160 pixels with 1 to 4 circles, crosses, squares, stars
and triangles each, in VOC layout. Nothing is downloaded.

What it does, with a fixed seed (1) for the weights' initialisation, the shuffling order and the
augmentation:

1. trains ``ssd_tiny(class_num=6, image_size=160)`` (5 classes and the background) in GRAPH mode
   on the 480 training photos through the detection preset at 160x160 with light augmentation
   (flips, colour jitter), batch 16, Adam with a linear warm-up to ``--lr`` over the first epoch
   then cosine decay to 0, and the network's own loss (sigmoid focal loss with ``--alpha``, and
   smooth-L1 on the boxes);
2. evaluates it with ``Model.eval`` on all 120 test photos: COCO's mAP50 and mAP50_95 and VOC
   2007's 11-point mAP50;
3. writes ``<out>/ssd_tiny_shapes-<first 8 hex digits of its SHA-256>.ckpt`` (weights and the
   network's build record; written to a temporary name, then renamed; an older
   ``ssd_tiny_shapes-*.ckpt`` is removed) and ``<out>/ssd_tiny_shapes.json``, the asset
   description the hub reads: file, full SHA-256, size, task, labels, preprocessing, the
   measured mAP and how it was trained.

The two CPU cores of a shared machine take tens of minutes for the default 60 epochs; a few
epochs (``--epochs 3``) check the plumbing, and ``--out`` elsewhere keeps such a run out of the
package.
"""

import argparse
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UID, MODEL, TAG = "ssd_tiny_shapes", "ssd_tiny", "shapes"
SEED = 1
IMAGE_SIZE = 160  # the sample's own size
BATCH_SIZE = 16
WARMUP_EPOCHS = 1
TEST_IMAGES = 120  # the bundled sample's test split
DEFAULT_ALPHA = 0.75  # SSDWithLoss's own


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    parser.add_argument("--lr", type=float, default=0.005, help="Adam's peak learning rate (default 0.005)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"focal loss weight of the positive targets (default {DEFAULT_ALPHA})")
    parser.add_argument("--out", default=os.path.join(REPO, "tinyms", "hub", "assets"),
                        help="where the checkpoint and its JSON description go")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.lr <= 0 or not 0 <= args.alpha <= 1:
        parser.error("--epochs must be at least 1, --lr above 0 and --alpha from 0 to 1")
    return args


def _datasets(labels):
    """The sample's training pipeline (augmented, shuffled) and test pipeline, and the transform."""
    from tinyms.data import detection_dataset, sample_dataset
    from tinyms.vision import VOCTransform

    folder = sample_dataset("shapes")
    train_raw = detection_dataset(folder, usage="train", shuffle=True, decode=True, class_names=labels)
    test_raw = detection_dataset(folder, usage="test", shuffle=False, decode=True, class_names=labels)
    if test_raw.get_dataset_size() != TEST_IMAGES:
        raise SystemExit(f"the shapes sample's test split has {test_raw.get_dataset_size()} images, "
                         f"not {TEST_IMAGES}: regenerate it (python scripts/make_shapes_sample.py --bundled)")
    transform = VOCTransform(size=IMAGE_SIZE, labels=labels, augment="light")
    return (transform.apply_ds(train_raw, batch_size=BATCH_SIZE),
            transform.apply_ds(test_raw, batch_size=BATCH_SIZE, is_training=False), transform)


def _write_checkpoint(model, out):
    """Save the weights as ``<out>/ssd_tiny_shapes-<sha8>.ckpt``; return (file name, SHA-256, size)."""
    from tinyms._fileio import sha256_of

    os.makedirs(out, exist_ok=True)
    staging = model.save_checkpoint(os.path.join(out, f".staging-{UID}.ckpt"), weights_only=True)
    digest = sha256_of(staging)
    file_name = f"{UID}-{digest[:8]}.ckpt"
    final = os.path.join(out, file_name)
    for old in glob.glob(os.path.join(out, f"{UID}-*.ckpt")):
        if old != final:
            os.unlink(old)
    os.replace(staging, final)  # same folder: atomic
    return file_name, digest, os.path.getsize(final)


def main(argv=None):
    args = _arguments(argv)
    sys.path.insert(0, REPO)
    import functools

    from tinyms import context
    from tinyms._fileio import write_json_atomic
    from tinyms.model import Model, ssd_tiny
    from tinyms.optimizers import Adam, warmup_cosine_lr

    context.set_context(mode=context.GRAPH_MODE)
    context.set_seed(SEED)
    net = ssd_tiny(class_num=6, is_training=True, image_size=IMAGE_SIZE)
    cfg = net.default_cfg
    labels = tuple(cfg.labels)
    train_ds, test_ds, transform = _datasets(labels)
    if tuple(transform.recipe.eval) != tuple(cfg.recipe.eval):
        raise SystemExit(f"the preset's evaluation steps {list(transform.recipe.eval)} differ from the ones "
                         f"{MODEL}'s config records {list(cfg.recipe.eval)}: serving would prepare images differently")
    if args.alpha != DEFAULT_ALPHA:  # the task trains through net.with_loss(): give it this alpha
        net.with_loss = functools.partial(type(net).with_loss, net, alpha=args.alpha)

    steps = train_ds.get_dataset_size()
    total = steps * args.epochs
    schedule = warmup_cosine_lr(args.lr, total, warmup_steps=min(total - 1, WARMUP_EPOCHS * steps))
    model = Model(net).compile(optimizer=Adam(net.trainable_params(), schedule))
    started = time.perf_counter()
    history = model.train(args.epochs, train_ds, verbose=1)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    results = model.eval(test_ds)
    eval_seconds = time.perf_counter() - started
    if model.eval_samples != TEST_IMAGES:
        raise SystemExit(f"evaluation counted {model.eval_samples} images, not the {TEST_IMAGES} of the test split")
    metrics = {key: round(float(results[key]), 4) for key in ("mAP50", "mAP50_95", "voc07_mAP50")}
    print(f"test mAP50 {metrics['mAP50']:.4f}, mAP50_95 {metrics['mAP50_95']:.4f}, VOC07 mAP50 "
          f"{metrics['voc07_mAP50']:.4f} on {model.eval_samples} images; training {train_seconds:.0f} s, "
          f"evaluation {eval_seconds:.1f} s; last loss {history.last('loss'):.4f}; "
          f"load average {os.getloadavg()[0]:.1f}")

    file_name, digest, size = _write_checkpoint(model, args.out)
    asset = {
        "uid": UID,
        "model": MODEL,
        "tag": TAG,
        "default": True,
        "task": "detection",
        "background": True,
        "dataset": TAG,
        "input_shape": list(cfg.input_shape),
        "labels": list(labels),
        "mean": list(cfg.mean),
        "std": list(cfg.std),
        "preset": cfg.transform,
        "recipe": cfg.recipe.to_dict(),
        "build": dict(net.build_record.args),
        "format": "ckpt",
        "file": file_name,
        "sha256": digest,
        "size": size,
        "urls": [],
        "bundled": True,
        "license": "Apache-2.0 (weights trained by TinyMS on its generated shapes sample)",
        "metrics": {**metrics, "split": "test", "images": model.eval_samples},
        "training": {"script": "scripts/train_ssd_tiny_shapes.py", "epochs": args.epochs, "seed": SEED,
                     "batch_size": BATCH_SIZE, "peak_lr": args.lr, "warmup_epochs": WARMUP_EPOCHS,
                     "optimizer": "adam", "schedule": "warmup_cosine", "augment": "light",
                     "focal_alpha": args.alpha, "mode": "GRAPH", "seconds": round(train_seconds)},
    }
    write_json_atomic(os.path.join(args.out, f"{UID}.json"), asset)
    print(json.dumps({k: asset[k] for k in ("file", "sha256", "size", "metrics")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
