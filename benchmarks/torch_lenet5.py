"""LeNet-5 on the full MNIST in a plain PyTorch loop: the second reference for TinyMS's benchmark.

Set up the environment once, then run with its python:

    bash benchmarks/setup_keras_env.sh
    benchmarks/.venv-keras/bin/python benchmarks/torch_lenet5.py [--data DIR] [--epochs 1]

Same recipe as keras_lenet5.py (which imports load_mnist from here, so both preprocess alike).
Prints one JSON line with the phase timings (time.perf_counter) and the test accuracy.
"""

import argparse
import gzip
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MEAN, STD = 0.1307, 0.3081
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
RESIZE = "torch interpolate bilinear, align_corners=False, no antialias, rounded back to uint8"


def read_idx(path):
    """An IDX file (gzipped) as a numpy array: magic 0x0000TTNN, NN big-endian int32 dims, data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[:2] == b"\0\0" and raw[2] == 0x08, f"{path}: not an unsigned-byte IDX file"
    ndim = raw[3]
    shape = np.frombuffer(raw, ">i4", count=ndim, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def preprocess(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 32, 32), as TinyMS's mnist_transform does it.

    Resize to 32x32 bilinear on the uint8 image (so the result is rounded to uint8, as an
    OpenCV/MindSpore Resize of a uint8 image is), then x/255, then (x - 0.1307) / 0.3081.
    """
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=False)
    x = x.round().clamp(0, 255)
    return ((x / 255.0 - MEAN) / STD).numpy()


def load_mnist(folder):
    """(x_train, y_train, x_test, y_test): NCHW float32 images, int64 labels."""
    folder = Path(folder)
    out = []
    for split in ("train", "t10k"):
        images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz")
        out += [preprocess(images), labels.astype(np.int64)]
    return tuple(out)


def parse_args(framework, add_arguments=None):
    """The options both scripts share; add_arguments(parser) may add more."""
    p = argparse.ArgumentParser(description=f"LeNet-5 / MNIST benchmark ({framework})")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the four MNIST .gz files")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--eval-batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--optimizer", choices=("momentum", "adam"), default="momentum",
                   help="momentum: SGD(lr, momentum=0.9); adam: Adam(lr)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--schedule", choices=("constant", "warmup_cosine"), default="constant",
                   help="warmup_cosine: linear warm-up over --warmup steps to --lr, then cosine to 0 "
                        "(TinyMS quickstart's recipe)")
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (with --optimizer momentum)")
    if add_arguments:
        add_arguments(p)
    return p.parse_args()


class LeNet5(torch.nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(16 * 5 * 5, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    args = parse_args("pytorch-loop")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test = map(torch.from_numpy, load_mnist(args.data))
    t1 = time.perf_counter()

    net = LeNet5()
    if args.optimizer == "momentum":
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=args.nesterov)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    total = args.epochs * ((len(x_train) + args.batch - 1) // args.batch)
    sched = None
    if args.schedule == "warmup_cosine":
        def factor(step):
            if step < args.warmup:
                return (step + 1) / args.warmup
            return 0.5 * (1 + math.cos(math.pi * (step - args.warmup) / (total - args.warmup)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    net.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    t2 = time.perf_counter()

    net.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x_test), args.eval_batch):
            logits = net(x_test[i:i + args.eval_batch])
            correct += (logits.argmax(1) == y_test[i:i + args.eval_batch]).sum().item()
    t3 = time.perf_counter()

    print(json.dumps({
        "framework": "pytorch-loop", "torch": torch.__version__,
        "load_s": round(t1 - t0, 3), "train_s": round(t2 - t1, 3), "eval_s": round(t3 - t2, 3),
        "train_eval_s": round(t3 - t1, 3), "test_accuracy": round(correct / len(x_test), 4),
        "epochs": args.epochs, "batch": args.batch, "eval_batch": args.eval_batch,
        "optimizer": args.optimizer, "lr": args.lr, "schedule": args.schedule, "nesterov": args.nesterov, "threads": torch.get_num_threads(),
        "data_format": "channels_first", "resize": RESIZE,
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
    }))


if __name__ == "__main__":
    main()
