"""Benchmark 2: TinyMS ``Model.train`` vs plain ``mindspore.train.Model.train`` (goal: ratio <= 1.03).

Same network (LeNet5), data (full MNIST train set through ``mnist_transform.apply_ds``, batch
32), optimizer (Momentum 0.01, 0.9), seed, GRAPH_MODE and environment; each run is a fresh
process timing one epoch of ``train`` only; the two sides alternate.

Run: .venv/bin/python benchmarks/bench_train_overhead.py [--rounds 3] [--data DIR]
"""

import argparse
import sys

from _common import MNIST, median, run_json

CHILD = r"""
import json, sys, time
import tinyms
import mindspore as ms
from mindspore import nn
from tinyms.data import MnistDataset
from tinyms.model import Model, lenet5
from tinyms.vision import mnist_transform
side, data = sys.argv[1], sys.argv[2]
ms.set_context(mode=ms.GRAPH_MODE)
ms.set_seed(1)
ds = mnist_transform.apply_ds(MnistDataset(data, usage="train"), batch_size=32)
net = lenet5()
loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
opt = nn.Momentum(net.trainable_params(), 0.01, 0.9)
if side == "tinyms":
    model = Model(net)
    model.compile(loss_fn=loss, optimizer=opt)
    start = time.perf_counter()
    history = model.train(1, ds)
    last = history.last("loss")
else:
    model = ms.train.Model(net, loss_fn=loss, optimizer=opt)
    start = time.perf_counter()
    model.train(1, ds, dataset_sink_mode=False)
    last = None
print(json.dumps({"side": side, "train_s": time.perf_counter() - start, "loss": last}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data", default=str(MNIST))
    args = p.parse_args()
    times = {"mindspore": [], "tinyms": []}
    for r in range(args.rounds):
        for side in ("mindspore", "tinyms") if r % 2 == 0 else ("tinyms", "mindspore"):
            _, result = run_json([sys.executable, "-c", CHILD, side, args.data])
            times[side].append(result["train_s"])
            print(f"round {r + 1}: {side:9s} train {result['train_s']:.2f}s", flush=True)
    ms_t, ts_t = median(times["mindspore"]), median(times["tinyms"])
    print(f"median train s: mindspore.train.Model {ms_t:.2f}, tinyms.model.Model {ts_t:.2f}")
    print(f"ratio tinyms / mindspore = {ts_t / ms_t:.3f} (goal <= 1.03)")


if __name__ == "__main__":
    main()
