"""Why ``import tinyms`` caps oneDNN at AVX2: LeNet5 conv and train-step time with and without.

Each configuration runs in a fresh process (the ISA is read when oneDNN starts), alternating.
The numbers only differ on CPUs that report AVX-512.

Run: .venv/bin/python benchmarks/bench_onednn_isa.py [--rounds 2]
"""

import argparse
import json
import os
import subprocess
import sys

from _common import median

CHILD = r"""
import json, os, time
import numpy as np
import mindspore as ms
from mindspore import nn
ms.set_context(mode=ms.GRAPH_MODE)
# LeNet5 built here from MindSpore alone: importing tinyms would set the cap in both runs
def LeNet5():
    return nn.SequentialCell([nn.Conv2d(1, 6, 5, pad_mode="valid"), nn.ReLU(), nn.MaxPool2d(2, 2),
                              nn.Conv2d(6, 16, 5, pad_mode="valid"), nn.ReLU(), nn.MaxPool2d(2, 2),
                              nn.Flatten(), nn.Dense(400, 120), nn.ReLU(), nn.Dense(120, 84), nn.ReLU(),
                              nn.Dense(84, 10)])

def per_call_ms(fn, *args, n=50):
    fn(*args).asnumpy()
    start = time.perf_counter()
    for _ in range(n):
        out = fn(*args)
    out.asnumpy()
    return (time.perf_counter() - start) / n * 1000

x = ms.Tensor(np.random.rand(32, 1, 32, 32).astype(np.float32))
y = ms.Tensor(np.random.randint(0, 10, 32).astype(np.int32))
net = LeNet5()
step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")),
                           nn.Momentum(net.trainable_params(), 0.01, 0.9))
step.set_train()
print(json.dumps({"conv_ms": per_call_ms(nn.Conv2d(1, 6, 5, pad_mode="valid"), x),
                  "train_step_ms": per_call_ms(step, x, y, n=100)}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    avx512 = "avx512f" in open("/proc/cpuinfo").read()
    print(f"CPU reports AVX-512: {avx512}")
    # the child never imports tinyms, so only the variable passed here decides the ISA
    env_default = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    results = {"oneDNN default ISA": [], "ONEDNN_MAX_CPU_ISA=AVX2": []}
    for _ in range(args.rounds):
        for name in results:
            env = dict(env_default, GLOG_v="3")
            if name.startswith("ONEDNN"):
                env["ONEDNN_MAX_CPU_ISA"] = "AVX2"
            out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=600)
            if out.returncode:
                raise RuntimeError(out.stderr[-2000:])
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for name, runs in results.items():
        print(f"{name:26s} conv(32x1x32x32 -> 6ch, 5x5) {median([r['conv_ms'] for r in runs]):7.2f} ms   "
              f"LeNet5 train step (batch 32) {median([r['train_step_ms'] for r in runs]):7.2f} ms")


if __name__ == "__main__":
    main()
