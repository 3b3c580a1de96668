"""Benchmark 8: every TinyMS-named network, TinyMS against the same network driven directly on MindSpore.

For each network of ``list_models(source="tinyms")`` at its natural input size
(``model_config(name).input_shape``; 32x32 for LeNet5 and DenseNet-100, 224x224 for the rest),
in one fresh process per network, GRAPH_MODE, random data (the data pipeline is not measured
here; see benchmark 7):

- training images/s at batch 32: ``tinyms.model.Model.train`` against
  ``mindspore.train.Model.train(dataset_sink_mode=False)``, same network, loss
  (softmax cross-entropy), optimizer (Momentum 0.001, 0.9: at 0.01 VGG-16-BN reaches a NaN loss on
  the random data, which stops TinyMS's side) and batches. Each side first trains
  one step (graph compilation, not timed); then ``--rounds`` epochs of ``--steps`` batches per
  side, alternating which side goes first; the wall time of each ``train`` call is timed,
  so TinyMS's per-epoch work (history, progress line) counts against it.
- batch-1 prediction latency, numpy image in, numpy logits out: ``Model.predict`` against
  ``mindspore.train.Model.predict`` (median of ``--calls`` calls per side after warm-up, interleaved in blocks of 5).
- batch-1 latency of the ONNX export (``Model.export(..., "ONNX")``) on onnxruntime (median of
  ``--calls``), where the network exports to ONNX.

Run: .venv/bin/python benchmarks/bench_zoo.py [--only REGEX] [--steps 3] [--rounds 2] [--calls 20]
Prints one JSON line per network, then the Markdown table for RESULTS.md.
"""

import argparse
import json
import re
import subprocess
import sys

from _common import run_json

CHILD = r"""
import json, os, statistics, sys, tempfile, time
import numpy as np
import mindspore as ms
import mindspore.dataset as msds
from mindspore import nn, Tensor
name, steps, rounds, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms.set_context(mode=ms.GRAPH_MODE)
ms.set_seed(0)
from tinyms.model import Model, create_model, model_config
cfg = model_config(name)
shape, classes, batch = tuple(cfg.input_shape), len(cfg.labels), 32
net = create_model(name)
rng = np.random.default_rng(0)
x = rng.standard_normal((steps * batch,) + shape).astype(np.float32)
y = rng.integers(0, classes, steps * batch).astype(np.int32)
def dataset(n):
    return msds.NumpySlicesDataset((x[:n], y[:n]), column_names=["image", "label"], shuffle=False).batch(batch)
loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
opt = nn.Momentum(net.trainable_params(), 0.001, 0.9)
tinyms_model = Model(net)
tinyms_model.compile(loss_fn=loss, optimizer=opt)
ms_model = ms.train.Model(net, loss_fn=loss, optimizer=opt)
train = {"tinyms": lambda ds: tinyms_model.train(1, ds),
         "mindspore": lambda ds: ms_model.train(1, ds, dataset_sink_mode=False)}
for side in ("tinyms", "mindspore"):
    train[side](dataset(batch))  # compile
seconds = {"tinyms": [], "mindspore": []}
timed = dataset(steps * batch)
for r in range(rounds):
    for side in (("tinyms", "mindspore") if r % 2 == 0 else ("mindspore", "tinyms")):
        t = time.perf_counter()
        train[side](timed)
        seconds[side].append(time.perf_counter() - t)
row = {"name": name, "input": "x".join(map(str, shape)), "params": int(sum(p.size for p in net.trainable_params()))}
for side in seconds:
    row[f"train_{side}_img_s"] = round(steps * batch * len(seconds[side]) / sum(seconds[side]), 3)
row["train_ratio"] = round(row["train_tinyms_img_s"] / row["train_mindspore_img_s"], 3)
net.set_train(False)
one = rng.standard_normal((1,) + shape).astype(np.float32)
ms_predict = ms.train.Model(net)
# both sides start from the numpy image a user holds and end with the numpy logits (MindSpore's
# Model.predict takes only Tensors, so its side converts)
predict = {"tinyms": lambda: tinyms_model.predict(one).asnumpy(),
           "mindspore": lambda: ms_predict.predict(Tensor(one)).asnumpy()}
for side in predict:
    for _ in range(3):
        predict[side]()
lat = {"tinyms": [], "mindspore": []}
for block in range(max(calls // 5, 1)):
    for side in (("tinyms", "mindspore") if block % 2 == 0 else ("mindspore", "tinyms")):
        for _ in range(5):
            t = time.perf_counter()
            predict[side]()
            lat[side].append(time.perf_counter() - t)
for side in lat:
    row[f"predict_{side}_ms"] = round(1000 * statistics.median(lat[side]), 3)
row["predict_ratio"] = round(row["predict_tinyms_ms"] / row["predict_mindspore_ms"], 3)
try:
    import onnxruntime as ort
    with tempfile.TemporaryDirectory() as tmp:
        path = tinyms_model.export(one, os.path.join(tmp, name), "ONNX")
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: one}
        for _ in range(3):
            session.run(None, feed)
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - t)
        row["onnx_ms"] = round(1000 * statistics.median(times), 3)
except Exception as err:  # recorded, not fatal: the table says which network has no ONNX export
    row["onnx_ms"] = None
    row["onnx_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
print(json.dumps(row), flush=True)
"""


def table(rows):
    lines = ["| network | input | train img/s TinyMS | train img/s MindSpore | ratio | predict b1 ms TinyMS | "
             "predict b1 ms MindSpore | ratio | ONNX b1 ms (onnxruntime) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | | failed: {r['error']} | | | | | | |")
            continue
        onnx = f"{r['onnx_ms']:.2f}" if r.get("onnx_ms") is not None else "no ONNX export"
        lines.append(f"| {r['name']} | {r['input']} | {r['train_tinyms_img_s']:.2f} | {r['train_mindspore_img_s']:.2f} | "
                     f"{r['train_ratio']:.3f} | {r['predict_tinyms_ms']:.2f} | {r['predict_mindspore_ms']:.2f} | "
                     f"{r['predict_ratio']:.3f} | {onnx} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, help="regular expression over network names")
    p.add_argument("--steps", type=int, default=3, help="timed batches per epoch")
    p.add_argument("--rounds", type=int, default=2, help="timed epochs per side")
    p.add_argument("--calls", type=int, default=20, help="timed batch-1 predictions per side")
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = p.parse_args()
    from tinyms.model import list_models

    names = [n for n in list_models(source="tinyms") if not args.only or re.search(args.only, n)]
    rows = []
    for name in names:
        try:
            _, row = run_json([sys.executable, "-c", CHILD, name, str(args.steps), str(args.rounds), str(args.calls)],
                              env={"GLOG_v": "3"}, timeout=3600)
        except (RuntimeError, subprocess.TimeoutExpired) as err:  # one network's failure is a row, not the end
            last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            row = {"name": name, "error": last[:200]}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
