"""int8 servables (``tinyms export ... --quantize int8``) against their float servables.

    python benchmarks/bench_quantize.py make-data DIR        # the CIFAR-10-style data set (see below)
    python benchmarks/bench_quantize.py run RUN_DIR [RUN_DIR ...] [--rounds 9]

``run`` quantizes each ``tinyms train`` run directory's servable with ``tinyms export RUN
--quantize int8`` (the automatic method, then the other method forced, for comparison), then,
in one process and interleaved (float, int8 variants, float... in every round), measures on
onnxruntime (1 intra-op thread, as a serving worker runs it):

- the ONNX file sizes and their ratio;
- latency at batch 1 and at batch 32, median over rounds of the mean of ``--seconds`` of calls,
  as CPU time of the calling thread (the model's own work, robust to other processes) and wall
  time;
- accuracy of both on the run's whole test split, every image prepared by the servable's
  recipe (the server's numpy preprocessing), counted.

CIFAR-10 itself cannot be downloaded here (no network). ``make-data`` writes a CIFAR-10-style
stand-in in CIFAR-10's binary format (``data_batch_1..5.bin``, ``test_batch.bin``: 50,000 and
10,000 32x32 RGB images, 10 classes) that ``tinyms train --data cifar10 --data-dir DIR`` reads
like the real thing: the MNIST digits (train images 0-49,999; test images as they are), each
scaled to 18-28 pixels, put at a random place, in a random colour (its luminance at least 50
from the background's mean) on a random two-colour gradient background, with Gaussian noise
(sigma 16). Labels are the digits (the preset still names them airplane..truck).
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import MNIST, REPO, median  # noqa: E402


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _colour_digits(images, rng):
    import cv2

    n = len(images)
    out = np.empty((n, 32, 32, 3), np.float32)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 31.0
    for i in range(n):
        size = int(rng.integers(18, 29))
        digit = cv2.resize(images[i], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        alpha = np.zeros((32, 32), np.float32)
        top, left = rng.integers(0, 32 - size + 1, 2)
        alpha[top:top + size, left:left + size] = digit
        c0, c1 = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * xx + np.sin(angle) * yy)
        ramp = (ramp - ramp.min()) / max(1e-6, float(ramp.max() - ramp.min()))
        background = c0 + (c1 - c0) * ramp[..., None]
        mean_luma = float(background.mean(axis=(0, 1)) @ np.array([0.299, 0.587, 0.114], np.float32))
        while True:  # a digit colour that stands out from the background's average
            fg = rng.uniform(0, 255, 3).astype(np.float32)
            if abs(float(fg @ np.array([0.299, 0.587, 0.114], np.float32)) - mean_luma) > 50:
                break
        out[i] = background * (1 - alpha[..., None]) + fg * alpha[..., None]
    out += rng.normal(0, 16, out.shape).astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _write_cifar(path, images, labels):
    records = np.empty((len(images), 1 + 3072), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # R, G, B planes
    with open(path, "wb") as f:
        f.write(records.tobytes())


def make_colour_digits(folder):
    """Write the CIFAR-10-style stand-in (see the module docstring) into ``folder``."""
    rng = np.random.default_rng(2024)
    os.makedirs(folder, exist_ok=True)
    train_x, train_y = _idx(MNIST / "train-images-idx3-ubyte.gz"), _idx(MNIST / "train-labels-idx1-ubyte.gz")
    test_x, test_y = _idx(MNIST / "t10k-images-idx3-ubyte.gz"), _idx(MNIST / "t10k-labels-idx1-ubyte.gz")
    train = _colour_digits(train_x[:50000], rng)
    for b in range(5):
        part = slice(10000 * b, 10000 * (b + 1))
        _write_cifar(os.path.join(folder, f"data_batch_{b + 1}.bin"), train[part], train_y[part])
    _write_cifar(os.path.join(folder, "test_batch.bin"), _colour_digits(test_x, rng), test_y)
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("".join(f"{d}\n" for d in range(10)))
    return folder


def _test_split(run_dir, entry):
    """The run's whole test split prepared by the servable's recipe: (float32 inputs, labels)."""
    import yaml

    from tinyms import data as tdata
    from tinyms.data._registry import dataset_spec
    from tinyms.vision import _np_engine
    from tinyms.vision._recipe import Recipe

    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    recipe = Recipe.from_dict(entry["model"]["recipe"])
    loader = getattr(tdata, dataset_spec(cfg["data"]).loader)
    xs, ys = [], []
    for image, label in loader(cfg["data_dir"], usage="test", shuffle=False).create_tuple_iterator(
            output_numpy=True, num_epochs=1):
        xs.append(np.asarray(_np_engine.run(recipe.eval, image), np.float32))
        ys.append(int(label))
    return np.stack(xs), np.array(ys), cfg


def _session(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as a serving worker runs it (OnnxBackend threads=1)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _mean_call_us(session, name, x, seconds):
    """(wall, CPU) microseconds per call, averaged over ``seconds`` of calls.

    With one intra-op thread onnxruntime computes on the calling thread, so the thread's CPU
    time is the model's own work; wall time also counts the waits for a core on a loaded machine.
    """
    session.run(None, {name: x})
    calls, started, cpu = 0, time.perf_counter(), time.thread_time()
    while True:
        session.run(None, {name: x})
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 5:
            return elapsed / calls * 1e6, (time.thread_time() - cpu) / calls * 1e6


def _accuracy(session, name, x, y):
    predicted = np.concatenate([session.run(None, {name: x[i:i + 500]})[0].argmax(-1) for i in range(0, len(x), 500)])
    return int((predicted == y).sum()), predicted


def measure(run_dir, methods, rounds, seconds, batch):
    """Export each method's int8 servable of ``run_dir`` and measure it against the float one."""
    import subprocess

    serving = os.path.join(run_dir, "servable")
    with open(os.path.join(serving, "servable.json"), encoding="utf-8") as f:
        entries = {e["name"]: e for e in json.load(f)}
    name = next(n for n, e in entries.items() if not e["model"].get("quantization"))
    variants, chosen = {}, None
    for method in methods:
        if method == chosen:
            continue  # auto already made this one
        out = f"{name}_int8" if method == "auto" else f"{name}_int8_{method}"
        argv = [sys.executable, "-m", "tinyms", "export", run_dir, "--quantize", "int8", "--method", method,
                "--name", out]
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "GLOG_v": "3"})
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        print(f"{' '.join(argv[1:])}  ({time.perf_counter() - started:.1f} s)\n  {done.stdout.strip()}",
              file=sys.stderr)
        variants[out] = method
        if method == "auto":
            with open(os.path.join(serving, "servable.json"), encoding="utf-8") as f:
                chosen = next(e for e in json.load(f) if e["name"] == out)["model"]["quantization"]["method"]
    with open(os.path.join(serving, "servable.json"), encoding="utf-8") as f:
        entries = {e["name"]: e for e in json.load(f)}
    x, y, cfg = _test_split(run_dir, entries[name])
    paths = {n: os.path.join(serving, n, entries[n]["model"]["files"]["onnx"]) for n in [name, *variants]}
    sessions = {n: _session(p) for n, p in paths.items()}
    input_name = sessions[name].get_inputs()[0].name
    timings = {n: {k: [] for k in ("b1", f"b{batch}", "b1_cpu", f"b{batch}_cpu")} for n in sessions}
    load = [os.getloadavg()[0]]
    for _ in range(rounds):  # interleaved: float, int8 variants, float... in every round
        for n, s in sessions.items():
            for size in (1, batch):
                wall, cpu = _mean_call_us(s, input_name, x[:size], seconds)
                timings[n][f"b{size}"].append(wall)
                timings[n][f"b{size}_cpu"].append(cpu)
        load.append(os.getloadavg()[0])
    correct, predicted = {}, {}
    for n, s in sessions.items():
        correct[n], predicted[n] = _accuracy(s, input_name, x, y)
    rows = []
    base = {k: median(v) for k, v in timings[name].items()}
    for n in sessions:
        record = entries[n]["model"].get("quantization") or {}
        med = {k: median(v) for k, v in timings[n].items()}
        rows.append({"run": os.path.basename(run_dir.rstrip("/")), "model": cfg["model"], "data": cfg["data"],
                     "servable": n, "method": record.get("method", "float32"),
                     "kept_float": len(record.get("layers_kept_float", [])),
                     "bytes": os.path.getsize(paths[n]), "size_ratio": os.path.getsize(paths[n]) / os.path.getsize(
                         paths[name]),
                     **{f"{k}_us": v for k, v in med.items()}, **{f"{k}_ratio": v / base[k] for k, v in med.items()},
                     "correct": correct[n], "images": len(y), "accuracy": correct[n] / len(y),
                     "same_top1_as_float": float(np.mean(predicted[n] == predicted[name])),
                     "rounds": rounds, "load_min_max": [min(load), max(load)]})
    return rows


def _pair(row, key, unit, fmt):
    return f"{row[key + '_cpu' + unit]:{fmt}} ({row[key + unit]:{fmt}})"


def _table(rows, batch):
    lines = [f"| run | servable | method | size (bytes) | size ratio | batch 1 CPU us (wall) | ratio CPU (wall) "
             f"| batch {batch} CPU us (wall) | ratio CPU (wall) | accuracy (correct / images) | change (points) "
             f"| same top-1 as float |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {}
    for r in rows:
        if r["method"] == "float32":
            base[r["run"]] = r["accuracy"]
        change = (r["accuracy"] - base[r["run"]]) * 100
        lines.append(f"| {r['model']} / {r['data']} | {r['servable']} | {r['method']} | {r['bytes']:,} | "
                     f"{r['size_ratio']:.3f} | {_pair(r, 'b1', '_us', '.0f')} | {_pair(r, 'b1', '_ratio', '.2f')} | "
                     f"{_pair(r, f'b{batch}', '_us', '.0f')} | {_pair(r, f'b{batch}', '_ratio', '.2f')} | "
                     f"{r['accuracy']:.2%} ({r['correct']:,} / {r['images']:,}) | "
                     f"{change:+.2f} | {r['same_top1_as_float']:.2%} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make-data")
    mk.add_argument("folder")
    rn = sub.add_parser("run")
    rn.add_argument("runs", nargs="+", metavar="RUN_DIR")
    rn.add_argument("--methods", default="auto,static,dynamic", help="comma-separated: auto, static, dynamic")
    rn.add_argument("--rounds", type=int, default=9)
    rn.add_argument("--seconds", type=float, default=0.3, help="seconds of calls per timing")
    rn.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if args.command == "make-data":
        print(make_colour_digits(args.folder))
        return
    rows = []
    for run_dir in args.runs:
        rows += measure(os.path.abspath(run_dir), args.methods.split(","), args.rounds, args.seconds, args.batch)
    print(_table(rows, args.batch))
    print(json.dumps({"rows": rows, "onnxruntime": __import__("onnxruntime").__version__, "cpus": os.cpu_count(),
                      "repo": str(REPO)}))


if __name__ == "__main__":
    main()
