"""Benchmark 18: a CycleGAN trained through TinyMS demonstrably translates MNIST digits between two styles.

Domain A is MNIST as published (white strokes on black, 28x28 padded to 32x32, three equal
channels); domain B is *other* MNIST digits rendered in another style, generated here: dark
crimson strokes on light paper that fades from yellow at the top to pale green at the bottom (a
classifier of one style reads the other at about chance: 0.17 and 0.21). The CycleGAN sees the
two sets unpaired (no image of A has its B counterpart in the data) and never sees a label.

The measure: a LeNet-5 trained through TinyMS only on style-B digits reads G_A(test A), and a
LeNet-5 trained only on style-A digits reads G_B(test B); each must name the right digit in at
least 90 % of the test images (issue 18, "It must demonstrably translate"). Every test image of
each half is counted (the bundled sample's 1,000 test digits: 500 per direction).

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_cyclegan_mnist.py [--minutes 5] [--per-domain 3000]
The last stdout line is a JSON object with the accuracies, the training time and the load.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STROKE = np.array([150, 20, 60], np.float32)      # dark crimson ink
TOP = np.array([250, 225, 120], np.float32)       # on light yellow paper, fading to
BOTTOM = np.array([170, 220, 200], np.float32)    # pale green


def read_idx(path, labels=False):
    """The arrays of an MNIST IDX file (images (N, 28, 28) uint8 or labels (N,) uint8)."""
    with open(path, "rb") as f:
        data = f.read()
    if labels:
        return np.frombuffer(data, np.uint8, offset=8).copy()
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28).copy()


def mnist(split, folder=None):
    """(images, labels) of the bundled MNIST sample (6,000 train / 1,000 test) or of ``folder``."""
    from tinyms.data import sample_dataset
    root = folder or sample_dataset("mnist")
    prefix = "train" if split == "train" else "t10k"
    sub = os.path.join(root, split)
    return (read_idx(os.path.join(sub, f"{prefix}-images-idx3-ubyte")),
            read_idx(os.path.join(sub, f"{prefix}-labels-idx1-ubyte"), labels=True))


def style_a(digits):
    """Domain A: the digits as published, padded to 32x32, three channels; uint8 (N, 32, 32, 3)."""
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[..., None], 3, axis=-1)


def style_b(digits):
    """Domain B: the same kind of digits as coloured strokes on a graded coloured background."""
    ink = np.pad(digits, ((0, 0), (2, 2), (2, 2))).astype(np.float32)[..., None] / 255.0
    rows = np.linspace(0.0, 1.0, 32, dtype=np.float32)[:, None, None]
    background = TOP * (1 - rows) + BOTTOM * rows                        # (32, 1, 3)
    picture = background[None] * (1 - ink) + STROKE * ink
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def to_input(images):
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1], the image_to_image task's batches."""
    return (images.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0).astype(np.float32)


def to_uint8(batch):
    """float32 (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3)."""
    return np.clip(np.rint((np.asarray(batch).transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def train_classifier(images, labels, epochs=8, seed=1):
    """A LeNet-5 (three input channels) trained through TinyMS on ``images`` (uint8 NHWC)."""
    from tinyms.data import NumpySlicesDataset
    from tinyms.model import Model, lenet5
    import mindspore as ms
    ms.set_seed(seed)
    data = NumpySlicesDataset({"image": to_input(images), "label": labels.astype(np.int32)},
                              shuffle=True).batch(64, drop_remainder=True)
    model = Model(lenet5(class_num=10, num_channel=3)).compile("cross_entropy", "adam", ["accuracy"],
                                                                learning_rate=2e-3)
    model.train(epochs, data, verbose=0)
    return model


def classify(model, batch):
    """Predicted digits of float32 (N, 3, 32, 32) inputs."""
    from tinyms import Tensor
    out = []
    for start in range(0, len(batch), 250):
        logits = model.predict(Tensor(batch[start:start + 250])).asnumpy()
        out.append(logits.argmax(axis=1))
    return np.concatenate(out)


def translate(generator, batch):
    """Run a generator Cell over float32 (N, 3, H, W) in chunks; float32 (N, 3, H, W)."""
    from tinyms import Tensor
    generator.set_train(False)
    return np.concatenate([generator(Tensor(batch[i:i + 100])).asnumpy() for i in range(0, len(batch), 100)])


def build_data(per_domain, folder=None):
    """The unpaired training sets, the test sets and the classifiers' training sets."""
    x, y = mnist("train", folder)
    tx, ty = mnist("test", folder)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    half = len(x) // 2
    a_idx, b_idx = order[:half][:per_domain], order[half:][:per_domain]   # disjoint digits
    t_half = len(tx) // 2
    return {
        "train_a": style_a(x[a_idx]), "train_b": style_b(x[b_idx]),
        "test_a": style_a(tx[:t_half]), "test_a_labels": ty[:t_half],
        "test_b": style_b(tx[t_half:]), "test_b_labels": ty[t_half:],
        "clf_a": (style_a(x), y), "clf_b": (style_b(x), y),               # classifiers: one style each
    }


def train_cyclegan(train_a, train_b, seconds, batch_size=4, seed=1, **options):
    """A CycleGAN from TinyMS's zoo trained through ``Model``: whole epochs until ``seconds`` have passed.

    Returns (network, epochs run, seconds spent, history).
    """
    from tinyms.data import NumpySlicesDataset
    from tinyms.model import Model, create_model
    import mindspore as ms
    ms.set_seed(seed)
    count = min(len(train_a), len(train_b))
    rng = np.random.default_rng(seed)
    b_order = rng.permutation(len(train_b))[:count]                     # unpaired: B in its own order
    data = NumpySlicesDataset({"image_a": to_input(train_a[:count]), "image_b": to_input(train_b[b_order])},
                              shuffle=True).batch(batch_size, drop_remainder=True)
    net = create_model("cycle_gan", image_size=32, **options)
    model = Model(net).compile()
    started = time.perf_counter()
    epochs, history = 0, []
    while epochs == 0 or time.perf_counter() - started < seconds:   # at least one epoch
        epochs += 1
        h = model.train(epochs, data, initial_epoch=epochs - 1, verbose=0)
        history.append({k: float(v[-1]) for k, v in h.history.items()})
        print(f"epoch {epochs}: {history[-1]} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return net, epochs, time.perf_counter() - started, history


def measure(net, data, clf_a, clf_b):
    """Accuracy of classifier B on G_A(test A) and of classifier A on G_B(test B), every test image."""
    fake_b = translate(net.generator("a2b"), to_input(data["test_a"]))
    fake_a = translate(net.generator("b2a"), to_input(data["test_b"]))
    a2b = float(np.mean(classify(clf_b, fake_b) == data["test_a_labels"]))
    b2a = float(np.mean(classify(clf_a, fake_a) == data["test_b_labels"]))
    return {"a2b_accuracy": a2b, "b2a_accuracy": b2a, "a2b_count": len(fake_b), "b2a_count": len(fake_a),
            "fake_b": fake_b, "fake_a": fake_a}


def save_grid(path, rows):
    """Write rows of uint8 (N, 32, 32, 3) images as one PNG."""
    from PIL import Image
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    Image.fromarray(grid).save(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="CycleGAN training time budget")
    p.add_argument("--per-domain", type=int, default=3000, help="training images per domain")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--mnist", default=None, help="an MNIST folder (train/, test/) instead of the bundled sample")
    p.add_argument("--grid", default=None, help="write a PNG of test A, G_A(A), test B, G_B(B)")
    p.add_argument("--options", default="{}", help="JSON keyword arguments for create_model('cycle_gan')")
    args = p.parse_args()

    load_before = os.getloadavg()
    data = build_data(args.per_domain, args.mnist)
    started = time.perf_counter()
    clf_a = train_classifier(*data["clf_a"])
    clf_b = train_classifier(*data["clf_b"])
    clf_seconds = time.perf_counter() - started
    own_a = float(np.mean(classify(clf_a, to_input(data["test_a"])) == data["test_a_labels"]))
    own_b = float(np.mean(classify(clf_b, to_input(data["test_b"])) == data["test_b_labels"]))
    cross = float(np.mean(classify(clf_b, to_input(data["test_a"])) == data["test_a_labels"]))
    cross_b = float(np.mean(classify(clf_a, to_input(data["test_b"])) == data["test_b_labels"]))
    print(f"classifiers: A on test A {own_a:.4f}, B on test B {own_b:.4f}, B on untranslated A {cross:.4f}, "
          f"A on untranslated B {cross_b:.4f} ({clf_seconds:.0f} s)", file=sys.stderr)

    net, epochs, seconds, history = train_cyclegan(data["train_a"], data["train_b"], args.minutes * 60,
                                                   args.batch_size, **json.loads(args.options))
    result = measure(net, data, clf_a, clf_b)
    if args.grid:
        save_grid(args.grid, [data["test_a"][:12], to_uint8(result["fake_b"][:12]),
                              data["test_b"][:12], to_uint8(result["fake_a"][:12])])
    print(json.dumps({
        "a2b_accuracy": result["a2b_accuracy"], "b2a_accuracy": result["b2a_accuracy"],
        "a2b_count": result["a2b_count"], "b2a_count": result["b2a_count"],
        "classifier_a_on_a": own_a, "classifier_b_on_b": own_b, "classifier_b_on_untranslated_a": cross,
        "classifier_a_on_untranslated_b": cross_b, "classifier_seconds": round(clf_seconds, 1),
        "train_seconds": round(seconds, 1), "epochs": epochs, "per_domain": args.per_domain,
        "batch_size": args.batch_size, "options": json.loads(args.options), "last_losses": history[-1],
        "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
