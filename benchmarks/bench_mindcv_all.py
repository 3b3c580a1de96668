"""Benchmark 8b: build every mindcv network through TinyMS's registry; record build, train step, export.

For each of mindcv's networks (``list_models(source="mindcv")``), in a fresh process with a time
and memory limit: ``create_model(name, class_num=10)``; one forward pass at the smallest input tried
that the network accepts (64x64 first, then the size of its pretrained configuration); one
training step (PYNATIVE by default: a GRAPH step costs 15-40 s of compilation per network,
``--mode graph`` for it) (Momentum, batch 2, softmax cross-entropy) checking the loss is
finite; MindIR export through ``Model.export``; ONNX export through ``Model.export`` (which
compares onnxruntime's output with the network's). Results go, one JSON line per network, to
``--out`` (default ``benchmarks/mindcv_all.jsonl``); a network already in that file is skipped
unless ``--again``, so an interrupted run continues where it stopped. ``--table`` prints the
Markdown summary for RESULTS.md and ``benchmarks/MINDCV_NETWORKS.md``.

Run: .venv/bin/python benchmarks/bench_mindcv_all.py [--mode pynative] [--timeout 420] [--max-gib 8]
     [--only REGEX] [--table]
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, sys, tempfile, time
import numpy as np
name, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
row = {"name": name, "mode": mode}
def emit():
    with open(out, "w") as f:
        json.dump(row, f)
def stage(key, fn):
    t = time.perf_counter()
    try:
        value = fn()
        row[key] = "ok"
        return value
    except Exception as err:  # a benchmark records every failure instead of stopping
        row[key] = "fail"
        row[key + "_error"] = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}"
        return None
    finally:
        row[key + "_s"] = round(time.perf_counter() - t, 2)
        emit()
import mindspore as ms
from mindspore import nn, Tensor
ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
ms.set_seed(0)
from tinyms.model import Model, create_model, model_config
cfg = model_config(name)
net = stage("build", lambda: create_model(name, class_num=10))
if net is None:
    sys.exit(0)
row["params"] = int(sum(p.size for p in net.trainable_params()))
channels, size = cfg.input_shape[0], tuple(cfg.input_shape[1:])
def forward(hw):
    net.set_train(False)
    x = Tensor(np.random.default_rng(0).standard_normal((2, channels) + hw).astype(np.float32))
    y = net(x).asnumpy()
    if y.shape != (2, 10):
        raise ValueError(f"output shape {y.shape}, expected (2, 10)")
    return hw
hw = None
for candidate in ((64, 64), size):
    hw = stage("forward", lambda: forward(candidate))
    if hw is not None:
        break
if hw is None:
    sys.exit(0)
row["input"] = f"{channels}x{hw[0]}x{hw[1]}"
rng = np.random.default_rng(1)
x = Tensor(rng.standard_normal((2, channels) + hw).astype(np.float32))
label = Tensor(np.array([1, 7], np.int32))
def train_step():
    net.set_train(True)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.Momentum(net.trainable_params(), 0.01, 0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    value = float(step(x, label).asnumpy())
    if not np.isfinite(value):
        raise ValueError(f"loss {value}")
    row["loss"] = round(value, 4)
stage("train", train_step)
model = Model(net)
example = np.zeros((1, channels) + hw, np.float32)
with tempfile.TemporaryDirectory() as tmp:
    stage("mindir", lambda: model.export(example, os.path.join(tmp, "net"), "MINDIR"))
    stage("onnx", lambda: model.export(example, os.path.join(tmp, "net"), "ONNX"))
"""


def _done(path):
    rows = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["name"]] = row
    return rows


def _rss_gib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def _run(name, timeout, mode, max_gib):
    """One network in a child process, stopped past ``timeout`` seconds or ``max_gib`` GiB of RSS."""
    result = HERE / f".mindcv-{os.getpid()}.json"
    started = time.perf_counter()
    status = None
    with subprocess.Popen([sys.executable, "-c", CHILD, name, str(result), mode], cwd=HERE,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        while proc.poll() is None:
            if time.perf_counter() - started > timeout:
                status = f"time limit {timeout:g} s"
            elif _rss_gib(proc.pid) > max_gib:
                status = f"memory above {max_gib:g} GiB"
            if status:
                proc.kill()
                break
            time.sleep(0.2)
        proc.wait()
    if status is None and proc.returncode != 0:
        status = f"process exited {proc.returncode}"
    row = json.loads(result.read_text()) if result.exists() else {"name": name}
    result.unlink(missing_ok=True)
    if status:
        row["stopped"] = status
    row["wall_s"] = round(time.perf_counter() - started, 1)
    return row


def _cell(row, key):
    value = row.get(key)
    if value is None:
        return "—"
    return "yes" if value == "ok" else "**no**"


def table(rows):
    stages = ("build", "forward", "train", "mindir", "onnx")
    counts = {key: sum(1 for r in rows if r.get(key) == "ok") for key in stages}
    lines = [f"{len(rows)} mindcv networks tried: " + ", ".join(f"{key} {counts[key]}" for key in stages), ""]
    reasons = collections.Counter()
    for r in rows:
        for key in stages:
            if r.get(key) == "fail":
                text = re.sub(r"\d+", "N", r.get(key + "_error", ""))[:150]
                reasons[(key, text)] += 1
        if r.get("stopped"):
            reasons[("stopped", re.sub(r"\d+", "N", r["stopped"]))] += 1
    if reasons:
        lines += ["| stage | why (numbers as N) | networks |", "|---|---|---|"]
        lines += [f"| {k} | {t.replace('|', '/')} | {n} |" for (k, t), n in reasons.most_common()]
        lines.append("")
    lines += ["| network | params (10 classes) | input | build | forward | train step | MindIR | ONNX | wall s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["name"]):
        extra = f" ({r['stopped']})" if r.get("stopped") else ""
        lines.append(f"| {r['name']} | {r.get('params', '—')} | {r.get('input', '—')} | "
                     + " | ".join(_cell(r, k) for k in stages) + f" | {r.get('wall_s', '')}{extra} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(HERE / "mindcv_all.jsonl"))
    p.add_argument("--timeout", type=float, default=420)
    p.add_argument("--max-gib", type=float, default=8.0, help="memory limit per network (RSS, GiB)")
    p.add_argument("--mode", choices=("pynative", "graph"), default="pynative", help="mode of the train step")
    p.add_argument("--only", default=None, help="regular expression over network names")
    p.add_argument("--again", action="store_true", help="redo networks already in --out")
    p.add_argument("--table", action="store_true", help="print the Markdown table of --out and stop")
    args = p.parse_args()
    out = Path(args.out)
    if args.table:
        print(table(list(_done(out).values())))
        return
    from tinyms.model import list_models

    names = list_models(source="mindcv")
    if args.only:
        names = [n for n in names if re.search(args.only, n)]
    done = {} if args.again else _done(out)
    todo = [n for n in names if n not in done]
    print(f"{len(names)} networks, {len(todo)} to run", flush=True)
    for i, name in enumerate(todo, 1):
        row = _run(name, args.timeout, args.mode, args.max_gib)
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"[{i}/{len(todo)}] {name}: " + " ".join(f"{k}={row.get(k, '-')}" for k in
              ("build", "forward", "train", "mindir", "onnx")) + f" {row['wall_s']}s {row.get('stopped', '')}",
              flush=True)


if __name__ == "__main__":
    main()
