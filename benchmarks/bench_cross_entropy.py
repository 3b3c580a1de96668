"""Benchmark 10b: TinyMS's "cross_entropy" (dense kernel on one-hot targets, finite for any logits)
against MindSpore's sparse SoftmaxCrossEntropyWithLogits it replaced, training LeNet5.

Each round trains a fresh LeNet5 (same seed) for one warm-up epoch (graph compile) and two timed
epochs over the bundled 6,000-image MNIST sample, batch 32, in GRAPH mode; the two losses
alternate, and the script prints the median seconds of the timed epochs and the epoch losses.

Run: .venv/bin/python benchmarks/bench_cross_entropy.py [--rounds 3]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import mindspore as ms  # noqa: E402

import tinyms  # noqa: E402
from tinyms.data import MnistDataset, sample_dataset  # noqa: E402
from tinyms.model import Model, lenet5  # noqa: E402
from tinyms.vision import mnist_transform  # noqa: E402


def run(loss):
    tinyms.set_seed(0)
    train = mnist_transform.apply_ds(MnistDataset(sample_dataset("mnist"), usage="train"), batch_size=32)
    model = Model(lenet5()).compile(loss_fn=loss, optimizer="momentum", learning_rate=0.01)
    model.train(1, train, verbose=0)
    started = time.perf_counter()
    history = model.train(2, train, verbose=0)
    return time.perf_counter() - started, history.history["loss"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    sides = {"tinyms cross_entropy": lambda: "cross_entropy",
             "mindspore sparse kernel": lambda: ms.nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
             "mindspore CrossEntropyLoss": lambda: ms.nn.CrossEntropyLoss()}
    seconds = {name: [] for name in sides}
    losses = {}
    for _ in range(args.rounds):
        for name, make in sides.items():
            took, losses[name] = run(make())
            seconds[name].append(took)
    print("| loss | 2 epochs s (median) | runs | epoch losses |")
    print("|---|---|---|---|")
    for name in sides:
        runs = ", ".join(f"{s:.2f}" for s in seconds[name])
        print(f"| {name} | {statistics.median(seconds[name]):.2f} | {runs} | "
              f"{', '.join(f'{v:.5f}' for v in losses[name])} |")


if __name__ == "__main__":
    main()
