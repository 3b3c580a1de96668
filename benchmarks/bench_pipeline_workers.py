"""Why ``apply_ds`` defaults to half the CPUs for its image workers: one MNIST epoch of LeNet5.

Fresh process per run, alternating worker counts; the quickstart's recipe (Nesterov
momentum, warm-up + cosine); only ``Model.train`` is timed.

Run: .venv/bin/python benchmarks/bench_pipeline_workers.py [--rounds 2] [--workers 1 2] [--data DIR]
"""

import argparse
import sys

from _common import MNIST, median, run_json

CHILD = r"""
import json, sys, time
import mindspore as ms
from tinyms.data import MnistDataset
from tinyms.model import Model, lenet5
from tinyms.optimizers import Momentum, warmup_cosine_lr
from tinyms.vision import mnist_transform
workers, data = int(sys.argv[1]), sys.argv[2]
ms.set_seed(1)
ds = mnist_transform.apply_ds(MnistDataset(data, usage="train"), num_parallel_workers=workers)
net = lenet5()
opt = Momentum(net.trainable_params(), warmup_cosine_lr(0.03, 1875, 150), momentum=0.9, use_nesterov=True)
model = Model(net).compile("cross_entropy", opt)
start = time.perf_counter()
model.train(1, ds, verbose=0)
print(json.dumps({"train_s": time.perf_counter() - start}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--data", default=str(MNIST))
    args = p.parse_args()
    times = {w: [] for w in args.workers}
    for r in range(args.rounds):
        for w in args.workers:
            _, res = run_json([sys.executable, "-c", CHILD, str(w), args.data])
            times[w].append(res["train_s"])
            print(f"round {r + 1}: {w} worker(s) train {res['train_s']:.2f}s", flush=True)
    base = median(times[args.workers[0]])
    for w, values in times.items():
        print(f"{w} worker(s): median train {median(values):.2f}s  ratio to {args.workers[0]}: {median(values) / base:.3f}")


if __name__ == "__main__":
    main()
