"""Private: the ``tinyms quickstart`` walkthrough, LeNet5 on MNIST from data to a servable model."""

import os
import time

import numpy as np

from .errors import DownloadError

# The recipe: SGD with Nesterov momentum 0.9; learning rate warmed up linearly over the first
# 8% of steps (150 of an MNIST epoch) to 0.03, then cosine-decayed to 0 by the last step. On
# full MNIST, one epoch: 98.7-98.8% test accuracy over two seeds, as good as Adam with the same
# schedule (98.6-98.8%) with a cheaper step (7.3 vs 9.0 ms); constant-rate Adam or momentum
# stayed at 98.0-98.3%. See benchmarks/RESULTS.md.
PEAK_LR = 0.03
WARMUP_FRACTION = 0.08
BATCH_SIZE = 32
SHOW = 8  # test digits predicted at the end
IMAGES_PER_RUN = 60_000  # default training length: one full MNIST epoch, or as many sample epochs


def find_mnist(data, say):
    """Return ``(folder, source)``: the user's folder, a download, or the bundled sample."""
    from .data import download_dataset, sample_dataset
    if data is not None:
        if not os.path.isdir(data):
            raise FileNotFoundError(f"--data {data!r} is not a folder; give the folder that holds "
                                    f"the four MNIST files (.gz or not), or its train/ and test/ parents")
        return os.fspath(data), f"MNIST from {data}"
    try:
        folder = download_dataset("mnist", progress=True)
        return folder, f"full MNIST at {folder}"
    except DownloadError as err:
        reason = str(err).splitlines()[0].rstrip(" :")
        say(f"MNIST download impossible ({reason}); using the bundled MNIST sample instead.")
        folder = sample_dataset("mnist")
        return folder, f"bundled MNIST sample at {folder}"


def run(data=None, epochs=None, out=None, verbose=1, say=print):
    """Run the walkthrough and return a dict of what it measured.

    Args:
        data (str): folder with the MNIST files; downloaded (or the bundled sample) when None.
        epochs (int): training epochs; by default as many as make 60,000 training images (one
            epoch of full MNIST, ten of the 6,000-image bundled sample).
        out (str): serving folder to write the trained model to (default: the serving path
            under ``TINYMS_HOME`` that ``tinyms serve`` and ``start_server()`` use).
        verbose (int): progress display level for training.
        say: where lines of output go.

    Returns:
        dict: accuracy, reloaded_accuracy, seconds per phase, paths, predictions.
    """
    from . import context
    from .data import MnistDataset
    from .model import Model, lenet5
    from .optimizers import Momentum, warmup_cosine_lr
    from .vision import mnist_transform

    timings = {}
    started = time.perf_counter()
    folder, source = find_mnist(data, say)
    train_ds = mnist_transform.apply_ds(MnistDataset(folder, usage="train", shuffle=False),
                                        batch_size=BATCH_SIZE, is_training=True)
    test_ds = mnist_transform.apply_ds(MnistDataset(folder, usage="test", shuffle=False),
                                       batch_size=256, is_training=False)
    steps = train_ds.get_dataset_size()
    if epochs is None:
        epochs = max(1, round(IMAGES_PER_RUN / (steps * BATCH_SIZE)))
    say(f"Data: {source} ({steps * BATCH_SIZE:,} training images, "
        f"{test_ds.get_dataset_size()} test batches); training {epochs} epoch(s)")
    timings["data"] = time.perf_counter() - started

    context.set_seed(1)
    net = lenet5(class_num=10)
    model = Model(net)
    total_steps = steps * epochs
    schedule = warmup_cosine_lr(PEAK_LR, total_steps, warmup_steps=int(WARMUP_FRACTION * total_steps))
    optimizer = Momentum(net.trainable_params(), learning_rate=schedule, momentum=0.9, use_nesterov=True)
    model.compile(loss_fn="cross_entropy", optimizer=optimizer, metrics=["accuracy"])

    t = time.perf_counter()
    history = model.train(epochs, train_ds, verbose=verbose)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    accuracy = model.eval(test_ds)["accuracy"]
    timings["eval"] = time.perf_counter() - t
    say(f"Test accuracy: {accuracy:.2%} (train loss {history.last('loss'):.4f})")

    t = time.perf_counter()
    out_dir, ckpt = save_servable(model, out)
    reloaded = Model(lenet5(class_num=10))
    reloaded.compile(metrics=["accuracy"])
    reloaded.load_checkpoint(ckpt)
    reloaded_accuracy = reloaded.eval(test_ds)["accuracy"]
    timings["save+reload"] = time.perf_counter() - t
    same = "same accuracy" if reloaded_accuracy == accuracy else "ACCURACY DIFFERS"
    say(f"Checkpoint {ckpt} reloaded into a fresh model: {reloaded_accuracy:.2%} ({same})")

    t = time.perf_counter()
    images, truths = [], []
    raw = MnistDataset(folder, usage="test", shuffle=False, num_samples=SHOW)
    for image, label in raw.create_tuple_iterator(output_numpy=True):
        images.append(mnist_transform(image))
        truths.append(str(int(label)))
    logits = reloaded.predict(np.stack(images)).asnumpy()
    predictions = mnist_transform.postprocess(logits)
    timings["predict"] = time.perf_counter() - t
    for i, (pred, truth) in enumerate(zip(predictions, truths)):
        mark = "ok" if pred.label == truth else "WRONG"
        say(f"  digit {i}: predicted {pred.label} (score {pred.score:.3f}), truth {truth}  {mark}")

    total = time.perf_counter() - started
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    say(f"Done: test accuracy {accuracy:.2%} on {source} | {phases} | total {total:.1f}s | "
        f"model written to {out_dir}")
    return {"accuracy": accuracy, "reloaded_accuracy": reloaded_accuracy, "seconds": timings,
            "total_seconds": total, "source": source, "data": folder, "serving_path": out_dir,
            "checkpoint": ckpt, "predictions": [(p.label, p.score, t) for p, t in zip(predictions, truths)],
            "history": history.history}


def save_servable(model, out):
    """Write the trained model where ``tinyms serve`` finds it; return (folder, checkpoint path)."""
    from .serving import default_serving_path, write_servable
    out_dir = os.path.abspath(os.fspath(out)) if out else default_serving_path()
    # served from the ONNX export (onnxruntime: no MindSpore in the server, 1,000-1,700 PNG
    # requests/s vs about 800 through MindSpore here); the checkpoint is kept beside it
    entry = write_servable(out_dir, "lenet5", model.network, class_num=10, formats=("onnx", "ckpt"),
                           description="LeNet5 trained on MNIST by tinyms quickstart")
    return out_dir, os.path.join(out_dir, "lenet5", entry["model"]["files"]["ckpt"])
