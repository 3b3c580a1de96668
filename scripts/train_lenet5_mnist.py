"""Train the LeNet-5 that TinyMS ships as the hub asset ``lenet5_mnist``, and describe it.

Usage::

    python scripts/train_lenet5_mnist.py [--data DIR] [--epochs 3] [--out tinyms/hub/assets]

``--data`` is a folder holding the four MNIST files (``train-images-idx3-ubyte.gz``...; ``.gz``
or not, flat or in ``train/`` and ``test/``); by default the repository's sibling
``../shared/datasets/mnist`` when it exists, else ``download_dataset("mnist")`` (which honours
``TINYMS_DATASET_MIRROR``).

What it does, with a fixed seed (1) for the weights' initialisation and the shuffling order:

1. trains ``lenet5(class_num=10)`` in GRAPH mode on all 60,000 training images with the
   quickstart's schedule (SGD, Nesterov momentum 0.9, batch 32, linear warm-up to 0.03 over
   the first 8 % of steps then cosine decay to 0);
2. evaluates it with ``Model.eval`` on all 10,000 test images;
3. writes ``<out>/lenet5_mnist-<first 8 hex digits of its SHA-256>.ckpt`` (removing an older
   ``lenet5_mnist-*.ckpt``) and ``<out>/lenet5_mnist.json``, the asset description the hub
   reads: file, full SHA-256, size, the measured accuracy, preprocessing and labels.
"""

import argparse
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_MNIST = os.path.join(os.path.dirname(REPO), "shared", "datasets", "mnist")
SEED = 1
PEAK_LR = 0.03
WARMUP_FRACTION = 0.08
BATCH_SIZE = 32


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with the four MNIST files")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument("--out", default=os.path.join(REPO, "tinyms", "hub", "assets"),
                        help="where the checkpoint and its JSON description go")
    return parser.parse_args(argv)


def main(argv=None):
    args = _arguments(argv)
    sys.path.insert(0, REPO)
    import mindspore as ms

    from tinyms import context
    from tinyms._fileio import sha256_of, write_json_atomic
    from tinyms.data import MnistDataset, dataset_info, download_dataset
    from tinyms.model import Model, lenet5
    from tinyms.model._checkpoint import save_checkpoint
    from tinyms.optimizers import Momentum, warmup_cosine_lr
    from tinyms.vision import mnist_transform

    folder = args.data or (SHARED_MNIST if os.path.isdir(SHARED_MNIST) else download_dataset("mnist"))
    context.set_context(mode=context.GRAPH_MODE)
    context.set_seed(SEED)
    ms.dataset.config.set_seed(SEED)

    train_ds = mnist_transform.apply_ds(MnistDataset(folder, usage="train", shuffle=False),
                                        batch_size=BATCH_SIZE, is_training=True)
    test_ds = mnist_transform.apply_ds(MnistDataset(folder, usage="test", shuffle=False),
                                       batch_size=250, is_training=False)
    steps = train_ds.get_dataset_size()
    total = steps * args.epochs
    net = lenet5(class_num=10)
    schedule = warmup_cosine_lr(PEAK_LR, total, warmup_steps=int(WARMUP_FRACTION * total))
    optimizer = Momentum(net.trainable_params(), learning_rate=schedule, momentum=0.9, use_nesterov=True)
    model = Model(net)
    model.compile(loss_fn="cross_entropy", optimizer=optimizer, metrics=["accuracy"])

    started = time.perf_counter()
    history = model.train(args.epochs, train_ds, verbose=1)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    accuracy = float(model.eval(test_ds)["accuracy"])
    eval_seconds = time.perf_counter() - started
    test_images = MnistDataset(folder, usage="test", shuffle=False).get_dataset_size()
    print(f"test accuracy {accuracy:.4f} on {test_images} images; training {train_seconds:.0f} s, "
          f"evaluation {eval_seconds:.1f} s; last loss {history.last('loss'):.4f}")

    os.makedirs(args.out, exist_ok=True)
    staging = save_checkpoint(net, os.path.join(args.out, ".staging-lenet5_mnist.ckpt"),
                              metadata={"model": "lenet5", "class_num": 10})
    digest = sha256_of(staging)
    file_name = f"lenet5_mnist-{digest[:8]}.ckpt"
    for old in glob.glob(os.path.join(args.out, "lenet5_mnist-*.ckpt")):
        os.unlink(old)
    final = os.path.join(args.out, file_name)
    os.replace(staging, final)
    info = dataset_info("mnist")
    asset = {
        "uid": "lenet5_mnist",
        "model": "lenet5",
        "tag": "mnist",
        "default": True,
        "dataset": "mnist",
        "input_shape": [1, 32, 32],
        "labels": list(info.labels),
        "mean": list(info.mean),
        "std": list(info.std),
        "preset": "mnist_transform",
        "recipe": mnist_transform.recipe.to_dict(),
        "format": "ckpt",
        "file": file_name,
        "sha256": digest,
        "size": os.path.getsize(final),
        "urls": [],
        "bundled": True,
        "license": "Apache-2.0 (weights trained by TinyMS on MNIST, CC BY-SA 3.0)",
        "accuracy": {"top1": round(accuracy, 4), "split": "test", "images": test_images},
        "training": {"script": "scripts/train_lenet5_mnist.py", "epochs": args.epochs, "seed": SEED,
                     "batch_size": BATCH_SIZE, "peak_lr": PEAK_LR, "mode": "GRAPH",
                     "seconds": round(train_seconds)},
    }
    write_json_atomic(os.path.join(args.out, "lenet5_mnist.json"), asset)
    print(json.dumps({k: asset[k] for k in ("file", "sha256", "size", "accuracy")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
