"""Benchmark 13: detectors through TinyMS against the same network driven by hand, and against torchvision.

1. Training step and inference time of ``ssd300_mobilenetv2`` (300x300, 21 classes) and
   ``yolov8n`` (``--yolo-size``, 20 classes), GRAPH_MODE, random images with 3 boxes each:

   - ``fit``: ``tinyms.model.Model(net).compile(optimizer=...)`` then ``model.train(1, ds)``
     over an in-memory dataset of ``--steps`` fixed batches of 8 (``NumpySlicesDataset`` whose
     rows are whole batches); the wall time of the call divided by the steps, so the per-call
     work (iterator start, first-batch checks, history) counts against TinyMS;
   - ``train_step``: ``model.train_step(image, bbox, label)`` ``--steps`` times on one batch;
   - ``by_hand``: ``nn.TrainOneStepCell(net.with_loss(), optimizer)`` called ``--steps``
     times on the same batch;
   - ``by_hand_B``: the same on a second network: an A/A control, what two identical sides
     differ by on this machine.

   Every side has its own network built from the same seed and its own
   ``nn.Momentum(lr 0.001, momentum 0.9)``, and all train the same steps on the same batch,
   so their weights stay equal: the first losses and every block's last loss agree across
   the sides (checked in the summary). Compilation is warm-up and not timed. Inference:
   ``model.predict(x)`` against ``net(x)`` and ``net_B(x)`` (the by-hand networks; the same
   Tensor in; all read their outputs back with ``asnumpy``) at batch 1 and 8, and the ONNX export
   (``Model.export(..., "ONNX")``) on onnxruntime (``intra_op_num_threads=2``) in a process
   of its own. After the timed rounds every TinyMS and by-hand side runs once more under
   cProfile, which splits its time into the compiled cell's ``__call__`` (MindSpore running
   the graph; synchronous on CPU) and the Python around it: TinyMS's own cost, measured
   rather than inferred from noisy differences.
2. Latency at batch 1 beside torchvision's ``ssdlite320_mobilenet_v3_large`` (random weights,
   ``num_classes`` 21 and 91) on PyTorch CPU, ``torch.set_num_threads(2)``, run by
   ``benchmarks/.venv-keras`` (``bash benchmarks/setup_keras_env.sh``). What is timed there is
   what TinyMS's ``net(x)`` computes: a normalised 320x320 batch through backbone, heads,
   anchor generation and box decoding to (boxes, softmax scores) for every anchor, without
   the per-class threshold and NMS (TinyMS does those in numpy after the network; and the
   local torchvision 0.28.0 wheel is a CUDA build whose C++ ops, NMS among them, cannot load
   beside the CPU torch, see ``torch_worker``). Two more torch workers run the 21-class model
   with ``OMP_WAIT_POLICY=PASSIVE`` and with 1 thread: on a machine busy with other work,
   2-thread OpenMP waits for a descheduled thread. MindSpore uses its default threads.

Each side lives in a long-running worker process (the model's MindSpore worker, its
onnxruntime worker, the torch workers); the sides take turns in blocks (each round rotates
which goes first and shuffles the rest with a fixed seed; a 0.5 s rest and one untimed call
before each block), for ``--train-rounds`` and ``--infer-rounds`` rounds, so a change of
machine load hits every side alike. Every block is printed as one JSON line with wall and
process CPU times (all the worker's threads) and ``os.getloadavg()`` before and after it; the
summary gives medians over the rounds, the ratio of the medians, the median of the per-round
(paired) ratios and the spread of the rounds.

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_detection.py [--models ssd300_mobilenetv2 yolov8n]
     [--train-rounds 6] [--infer-rounds 10] [--steps 3] [--calls 10] [--yolo-size 320] [--out FILE]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TORCH_PYTHON = HERE / ".venv-keras" / "bin" / "python"
MARK = "@@ "  # a worker's protocol lines start with this; anything else it prints is ignored
TRAIN_BATCH = 8
TRAIN_SIDES = ("fit", "train_step", "by_hand", "by_hand_B")
INFER_BATCHES = (1, 8)
MAX_BOXES = 10
THREADS = 2  # torch.set_num_threads and onnxruntime's intra-op threads
# torch workers: threads, extra environment. The 2-thread worker is the comparison asked for;
# the other two show how much of its time, on a machine busy with other work, is OpenMP
# waiting for a descheduled thread (libgomp spins by default; PASSIVE makes waiting threads sleep).
TORCH_WORKERS = {"2 threads": (THREADS, None), "2 threads, OMP passive": (THREADS, {"OMP_WAIT_POLICY": "PASSIVE"}),
                 "1 thread": (1, None)}
# torchvision sides: name -> (worker, classes)
TORCH_SIDES = {"torchvision_ssdlite_21": ("2 threads", 21), "torchvision_ssdlite_91": ("2 threads", 91),
               "torchvision_ssdlite_21_omp_passive": ("2 threads, OMP passive", 21),
               "torchvision_ssdlite_21_1_thread": ("1 thread", 21)}


# ----------------------------------------------------------------------------- workers
def _serve(handlers, info):
    """Worker loop: announce ``info``, then answer one JSON command per stdin line."""
    print(MARK + json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        print(MARK + json.dumps(handlers[cmd["op"]](**cmd.get("args", {}))), flush=True)


def _batch(size, batch, classes, seed=0):
    """Fixed random images (batch, 3, size, size), 3 boxes per image ([x0, y0, x1, y1] pixels), -1 padding."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    image = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    bbox = np.zeros((batch, MAX_BOXES, 4), np.float32)
    label = np.full((batch, MAX_BOXES), -1, np.int32)
    for i in range(batch):
        for j in range(3):
            x0, y0 = rng.uniform(0, 0.6 * size, 2)
            w, h = rng.uniform(0.1 * size, 0.4 * size, 2)
            bbox[i, j] = (x0, y0, x0 + w, y0 + h)
            label[i, j] = rng.integers(0, classes)
    return image, bbox, label


def ms_worker(name, size, steps):
    """The TinyMS side and the by-hand MindSpore side of one detector, in one process."""
    import numpy as np  # noqa: PLC0415

    import tinyms  # noqa: F401,PLC0415 - TinyMS's process settings apply to both sides alike
    import mindspore as ms  # noqa: PLC0415
    from mindspore import nn  # noqa: PLC0415
    from tinyms.data import NumpySlicesDataset  # noqa: PLC0415
    from tinyms.model import Model, create_model, list_models  # noqa: PLC0415

    if name not in list_models():
        _serve({}, {"error": f"{name} is not registered in this TinyMS"})
        return
    ms.set_context(mode=ms.GRAPH_MODE)
    kwargs = {"class_num": 21} if name.startswith("ssd") else {"class_num": 20, "image_size": size}
    objects = 20

    def build():
        ms.set_seed(1)
        return create_model(name, **kwargs)

    def momentum(net):
        return nn.Momentum(net.trainable_params(), learning_rate=0.001, momentum=0.9)

    image, bbox, label = _batch(size, TRAIN_BATCH, objects)
    batch = tuple(ms.Tensor(a) for a in (image, bbox, label))

    def rows(n):  # an in-memory dataset of n rows, each row the whole batch
        return NumpySlicesDataset(tuple(np.stack([a] * n) for a in (image, bbox, label)),
                                  column_names=["image", "bbox", "label"], shuffle=False)

    # Four networks from the same seed, each trained the same steps on the same batch, so their
    # weights stay equal (every block's last loss agrees across the sides) and no side runs a
    # graph on other values: fit and train_step (a TinyMS Model each), by_hand and by_hand_B,
    # a second by-hand network: by_hand_B / by_hand shows what two identical sides differ by.
    started = time.perf_counter()
    tnet, snet, hnet, bnet = build(), build(), build(), build()
    fit_model = Model(tnet).compile(optimizer=momentum(tnet))
    step_model = Model(snet).compile(optimizer=momentum(snet))
    hand, hand_b = (nn.TrainOneStepCell(net.with_loss(), momentum(net)) for net in (hnet, bnet))
    hand.set_train(True)
    hand_b.set_train(True)
    first = {"fit": fit_model.train(1, rows(2), verbose=0).steps["loss"][0]}  # two steps, compiling
    for side, step in (("train_step", step_model.train_step), ("by_hand", hand), ("by_hand_B", hand_b)):
        first[side] = float(step(*batch).asnumpy())  # compiles
        step(*batch).asnumpy()
    compile_train_s = time.perf_counter() - started
    dataset = rows(steps)

    def fit():
        t, c = time.perf_counter(), time.process_time()
        history = fit_model.train(1, dataset, verbose=0)
        return {"seconds": (time.perf_counter() - t) / steps, "cpu": (time.process_time() - c) / steps,
                "loss": history.steps["loss"][-1]}

    def loop(step):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(steps):
            loss = step(*batch)
        loss = float(loss.asnumpy())
        return {"seconds": (time.perf_counter() - t) / steps, "cpu": (time.process_time() - c) / steps, "loss": loss}

    train = {"fit": fit, "train_step": lambda: loop(step_model.train_step), "by_hand": lambda: loop(hand),
             "by_hand_B": lambda: loop(hand_b)}

    inputs = {b: ms.Tensor(_batch(size, b, objects, seed=1)[0]) for b in INFER_BATCHES}
    infer = {}

    def prepare_inference():
        for net in (tnet, hnet, bnet):
            net.set_train(False)
        for b, x in inputs.items():
            sides = (("predict", lambda x=x: fit_model.predict(x)), ("net(x)", lambda x=x: hnet(x)),
                     ("net_B(x)", lambda x=x: bnet(x)))
            for side, call in sides:
                for _ in range(2):  # compile, then one more
                    [o.asnumpy() for o in call()]
                infer[(side, b)] = call
        onnx = {}
        try:  # run by an onnxruntime worker of its own, so its threads' CPU time is not counted here
            path = fit_model.export(np.zeros((1, 3, size, size), np.float32),
                                os.path.join(tempfile.mkdtemp(prefix="bench_detection_"), name), "ONNX")
            onnx = {"onnx_path": path, "onnx_file_mb": round(os.path.getsize(path) / 2**20, 2)}
        except Exception as err:  # noqa: BLE001 - reported, the rest of the benchmark goes on
            onnx = {"onnx_error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
        return {"sides": sorted(f"{s}|{b}" for s, b in infer), **onnx}

    def run_infer(side, batch_size, calls):
        return _timed(infer[(side, batch_size)], calls, lambda out: [o.asnumpy() for o in out])

    def profiled(kind, side, batch_size=1, calls=1):
        """One block under cProfile: its wall time, and how much of it is spent inside ``Cell.__call__``
        of the compiled step or network (MindSpore running the graph, synchronously on CPU), per step or
        call. The rest is the Python around it (TinyMS, the data pipeline; inflated by the profiler)."""
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        work = (lambda: train[side]()) if kind == "train" else (lambda: run_infer(side, batch_size, calls))
        count = steps if kind == "train" else calls + 1  # run_infer makes one untimed call first
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        work()
        profiler.disable()
        total = time.perf_counter() - t
        stats = pstats.Stats(profiler).stats
        inside = sum(v[3] for k, v in stats.items()
                     if k[2] == "__call__" and k[0].replace("\\", "/").endswith("mindspore/nn/cell.py"))
        return {"seconds": total / count, "cpu": 0.0, "graph_ms": round(1000 * inside / count, 3),
                "outside_ms": round(1000 * (total - inside) / count, 3), "count": count}

    def params(net):
        return int(sum(p.size for p in net.trainable_params()))

    info = {"model": name, "input": [3, size, size], "class_num": kwargs["class_num"],
            "trainable_params": params(tnet), "first_loss": first, "compile_train_s": round(compile_train_s, 1)}
    _serve({"train": lambda side: train[side](), "prepare_inference": prepare_inference, "profile": profiled,
            "infer": run_infer, "anchors": lambda: {"anchors": int(hnet(inputs[1])[0].shape[1])}}, info)


def _timed(call, calls, finish):
    """Wall and process-CPU seconds of ``calls`` calls of ``call`` (``finish`` reads the outputs), after
    one untimed call (the switch from another side)."""
    finish(call())
    times, cpu = [], []
    for _ in range(calls):
        t, c = time.perf_counter(), time.process_time()
        finish(call())
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"seconds": times, "cpu": cpu}


def onnx_worker(path, size):
    """The exported ONNX file on onnxruntime's CPU provider, ``intra_op_num_threads=2``."""
    import onnxruntime as ort  # noqa: PLC0415

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0].name
    runs, notes = {}, {}
    for b in INFER_BATCHES:
        arr = _batch(size, b, 20, seed=1)[0]  # the images the MindSpore sides get
        try:
            sess.run(None, {feed: arr})
        except Exception as err:  # noqa: BLE001 - a fixed-batch file: that batch is left out
            notes[f"b{b}"] = str(err).splitlines()[0][:160]
            continue
        runs[b] = lambda arr=arr: sess.run(None, {feed: arr})
    info = {"onnxruntime": ort.__version__, "intra_op_threads": THREADS, "batches": sorted(runs), "notes": notes}
    _serve({"infer": lambda batch_size, calls: _timed(runs[batch_size], calls, lambda out: out)}, info)


def torch_worker(threads):
    """torchvision's SSDlite320-MobileNetV3-Large at 21 and 91 classes, PyTorch CPU, ``threads`` threads."""
    import types  # noqa: PLC0415

    # torchvision 0.28.0 (the release for torch 2.13) is on this machine only as PyPI's CUDA
    # build: its C++ ops (_C.so) need libtorch_cuda.so, which the CPU torch lacks, and its
    # fake-tensor registrations then fail at import ("operator torchvision::nms does not
    # exist"). Those registrations serve torch.compile only; skipping them lets the Python
    # models import. Nothing timed here calls a torchvision C++ op.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch  # noqa: PLC0415
    import torchvision  # noqa: PLC0415
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large  # noqa: PLC0415
    from torchvision.models.detection.image_list import ImageList  # noqa: PLC0415
    from torchvision.ops import boxes as box_ops  # noqa: PLC0415

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    side = 320
    nets = {nc: ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=nc).eval()
            for nc in (21, 91)}
    x = torch.randn(1, 3, side, side)

    def network(net):
        """Normalised image -> (boxes [x0, y0, x1, y1] pixels clipped, softmax scores) per anchor."""
        with torch.inference_mode():
            features = list(net.backbone(x).values())
            head = net.head(features)
            anchors = net.anchor_generator(ImageList(x, [(side, side)]), features)
            boxes = box_ops.clip_boxes_to_image(net.box_coder.decode_single(head["bbox_regression"][0], anchors[0]),
                                                (side, side))
            scores = torch.softmax(head["cls_logits"], -1)
        return boxes, scores

    shapes = {}
    for nc, net in nets.items():
        for _ in range(3):
            boxes, scores = network(net)
        shapes[nc] = [list(boxes.shape), list(scores.shape)]

    def run(classes, calls):
        return _timed(lambda: network(nets[classes]), calls, lambda out: out)

    info = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "interop_threads": torch.get_num_interop_threads(), "input": [3, side, side],
            "trainable_params": {str(nc): int(sum(p.numel() for p in net.parameters() if p.requires_grad))
                                 for nc, net in nets.items()},
            "output_shapes": {str(k): v for k, v in shapes.items()}}
    _serve({"infer": run}, info)


# ----------------------------------------------------------------------------- parent
class Worker:
    """A worker process spoken to by JSON lines."""

    def __init__(self, argv, label, env=None):
        self.label = label
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True, bufsize=1, cwd=REPO, env={**os.environ, "GLOG_v": "3", **(env or {})})
        self.info = self._read()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        self.err.seek(0)
        raise RuntimeError(f"the {self.label} worker ended ({self.proc.wait()}):\n{self.err.read()[-4000:]}")

    def ask(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=120)
        self.err.close()


def _load():
    return round(os.getloadavg()[0], 2)


class Recorder:
    """Prints and keeps one JSON line per measured block."""

    def __init__(self, out, pause):
        self.rows = []
        self.pause = pause
        self.out = open(out, "a", encoding="utf-8") if out else None

    def block(self, run, **fields):
        time.sleep(self.pause)  # spinning threads of the previous side (OpenMP, onnxruntime) go idle first
        before = _load()
        result = run()
        row = {"bench": "detection", **fields, "load1_before": before, "load1_after": _load(), **result}
        for key, name in (("seconds", "ms"), ("cpu", "cpu_ms")):
            if isinstance(row.get(key), list):
                row[name] = round(1000 * statistics.median(row[key]), 3)
                row[name + "_each"] = [round(1000 * s, 3) for s in row.pop(key)]
            else:
                row[name] = round(1000 * row.pop(key), 3)
        line = json.dumps(row)
        print(line, flush=True)
        if self.out:
            self.out.write(line + "\n")
            self.out.flush()
        self.rows.append(row)
        return row


def _order(items, r):
    """Round ``r``'s order of the sides: rotated (each side goes first in turn), then the rest shuffled
    with a fixed seed, so no side always follows the same other side."""
    items = list(items)
    items = items[r % len(items):] + items[:r % len(items)]
    rest = items[1:]
    random.Random(r).shuffle(rest)
    return items[:1] + rest


def _stats(rows, side, **where):
    picked = [r for r in rows if r["side"] == side and all(r.get(k) == v for k, v in where.items())]
    return picked


def _summary_line(rows, model, phase, side, ref, **where):
    """Median wall and CPU ms of ``side`` and ``ref`` over rounds, ratios of the medians, median of
    the per-round (paired) wall ratios, and the wall times' spread."""
    picked = {s: {r["round"]: r for r in _stats(rows, s, model=model, phase=phase, **where)} for s in (side, ref)}
    a, b = picked[side], picked[ref]
    if not a or not b:
        return None

    def med(d, key):
        return statistics.median(r[key] for r in d.values())

    paired = [a[k]["ms"] / b[k]["ms"] for k in a if k in b]
    ma, mb, ca, cb = med(a, "ms"), med(b, "ms"), med(a, "cpu_ms"), med(b, "cpu_ms")
    spread = max(_rel_spread([r["ms"] for r in a.values()]), _rel_spread([r["ms"] for r in b.values()]))
    cpu_spread = max(_rel_spread([r["cpu_ms"] for r in a.values()]), _rel_spread([r["cpu_ms"] for r in b.values()]))
    return {"model": model, "phase": phase, **where, "side": side, "ref": ref, "rounds": len(paired),
            "ms": round(ma, 2), "ref_ms": round(mb, 2), "ratio_of_medians": round(ma / mb, 3),
            "fastest_round_ms": round(min(r["ms"] for r in a.values()), 2),
            "ref_fastest_round_ms": round(min(r["ms"] for r in b.values()), 2),
            "median_paired_ratio": round(statistics.median(paired), 3),
            "paired_ratios": [round(p, 3) for p in paired], "spread": round(spread, 3),
            "cpu_ms": round(ca, 2), "ref_cpu_ms": round(cb, 2), "cpu_ratio": round(ca / cb, 3),
            "cpu_spread": round(cpu_spread, 3)}


def _loss_disagreement(rows, model):
    """The largest relative difference between the training sides' last losses of a round (the sides'
    networks train in lockstep, so this is float noise unless a side trains something else)."""
    worst = 0.0
    for r in {row["round"] for row in rows if row["model"] == model and row["phase"] == "train"}:
        losses = [row["loss"] for row in rows if row["model"] == model and row["phase"] == "train"
                  and row["round"] == r]
        worst = max(worst, (max(losses) - min(losses)) / abs(statistics.median(losses)))
    return round(worst, 6)


def _rel_spread(values):
    """(max - min) / median of a side's per-round values: above ~0.15 the numbers are noisy."""
    values = sorted(values)
    return (values[-1] - values[0]) / statistics.median(values)


def bench_model(name, args, rec, torch_workers):
    size = 300 if name.startswith("ssd") else args.yolo_size
    worker = Worker([sys.executable, str(Path(__file__).resolve()), "--worker", "ms", "--model", name,
                     "--size", str(size), "--steps", str(args.steps)], name)
    onnx, prepared = None, {}
    try:
        info = worker.info
        print(json.dumps({"bench": "detection", "setup": info}), flush=True)
        if "error" in info:
            return {"model": name, "error": info["error"]}
        for r in range(args.train_rounds):
            for side in _order(TRAIN_SIDES, r):
                rec.block(lambda side=side: worker.ask("train", side=side), model=name, phase="train", side=side,
                          batch=TRAIN_BATCH, round=r, steps=args.steps)
        for side in TRAIN_SIDES:
            rec.block(lambda side=side: worker.ask("profile", kind="train", side=side), model=name, phase="profile",
                      side=side, batch=TRAIN_BATCH, round=0, steps=args.steps)
        prepared = worker.ask("prepare_inference")
        info.update(prepared, **worker.ask("anchors"))
        sides = [tuple(s.split("|")) for s in prepared["sides"]]
        if "onnx_path" in prepared:
            onnx = Worker([sys.executable, str(Path(__file__).resolve()), "--worker", "onnx", "--onnx",
                           prepared["onnx_path"], "--size", str(size)], f"{name} onnxruntime")
            info["onnx"] = onnx.info
            sides += [("onnxruntime", str(b)) for b in onnx.info["batches"]]
        print(json.dumps({"bench": "detection", "inference_setup": info}), flush=True)
        for r in range(args.infer_rounds):
            for b in INFER_BATCHES:
                blocks = [(s, b) for s, bb in sides if int(bb) == b]
                if b == 1 and name.startswith("ssd"):
                    blocks += [(side, 1) for side in TORCH_SIDES if TORCH_SIDES[side][0] in torch_workers]
                calls = args.calls if b == 1 else max(2, args.calls // 3)
                for side, bsz in _order(blocks, r):
                    if side in TORCH_SIDES:
                        key, classes = TORCH_SIDES[side]
                        run = lambda w=torch_workers[key], classes=classes: w.ask("infer", classes=classes, calls=calls)
                    elif side == "onnxruntime":
                        run = lambda bsz=bsz: onnx.ask("infer", batch_size=bsz, calls=calls)
                    else:
                        run = lambda side=side, bsz=bsz: worker.ask("infer", side=side, batch_size=bsz, calls=calls)
                    rec.block(run, model=name, phase="infer", side=side, batch=bsz, round=r, calls=calls)
        for b in INFER_BATCHES:
            for side in ("predict", "net(x)", "net_B(x)"):
                rec.block(lambda side=side, b=b: worker.ask("profile", kind="infer", side=side, batch_size=b,
                                                            calls=args.calls),
                          model=name, phase="profile", side=side, batch=b, round=0)
        return info
    finally:
        if onnx is not None:
            onnx.close()
            shutil.rmtree(os.path.dirname(prepared["onnx_path"]), ignore_errors=True)
        worker.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["ssd300_mobilenetv2", "yolov8n"])
    p.add_argument("--train-rounds", type=int, default=6)
    p.add_argument("--infer-rounds", type=int, default=10)
    p.add_argument("--steps", type=int, default=3, help="training steps per timed block")
    p.add_argument("--calls", type=int, default=10, help="batch-1 inference calls per block (batch 8: a third)")
    p.add_argument("--yolo-size", type=int, default=320)
    p.add_argument("--no-torch", action="store_true", help="leave out torchvision")
    p.add_argument("--pause", type=float, default=0.5, help="seconds of rest before each block")
    p.add_argument("--out", help="also append the JSON lines to this file")
    p.add_argument("--worker", choices=("ms", "torch", "onnx"), help=argparse.SUPPRESS)
    p.add_argument("--onnx", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "ms":
        return ms_worker(args.model, args.size, args.steps)
    if args.worker == "torch":
        return torch_worker(args.threads)
    if args.worker == "onnx":
        return onnx_worker(args.onnx, args.size)

    head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True,
                          text=True).stdout.strip()[:100]
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--short", "--", "tinyms"], capture_output=True,
                           text=True).stdout.split("\n")
    print(json.dumps({"bench": "detection", "argv": sys.argv, "commit": head, "cpus": os.cpu_count(),
                      "uncommitted_tinyms_files": sorted(line[3:] for line in dirty if line.strip()),
                      "load1": _load()}), flush=True)
    rec = Recorder(args.out, args.pause)
    torch_workers = {}
    infos = []
    try:
        if not args.no_torch and any(name.startswith("ssd") for name in args.models):
            if not TORCH_PYTHON.exists():
                sys.exit(f"{TORCH_PYTHON} is missing: run `bash benchmarks/setup_keras_env.sh`, or pass --no-torch")
            for key, (threads, env) in TORCH_WORKERS.items():
                torch_workers[key] = Worker([str(TORCH_PYTHON), str(Path(__file__).resolve()), "--worker", "torch",
                                             "--threads", str(threads)], f"torch {key}", env)
                print(json.dumps({"bench": "detection", "setup": {"worker": key, **torch_workers[key].info}}),
                      flush=True)
        for name in args.models:
            infos.append(bench_model(name, args, rec, torch_workers))
    finally:
        for worker in torch_workers.values():
            worker.close()

    rows = rec.rows
    summary = []
    for info in infos:
        name = info["model"]
        if "error" in info:
            print(f"{name}: {info['error']}")
            continue
        for side in ("fit", "train_step", "by_hand_B"):
            summary.append(_summary_line(rows, name, "train", side, "by_hand", batch=TRAIN_BATCH))
        for b in INFER_BATCHES:
            for side in ("predict", "net_B(x)", "onnxruntime"):
                summary.append(_summary_line(rows, name, "infer", side, "net(x)", batch=b))
        info["loss_disagreement"] = _loss_disagreement(rows, name)
        if name.startswith("ssd"):
            for side in TORCH_SIDES:
                summary.append(_summary_line(rows, name, "infer", side, "net(x)", batch=1))
    summary = [s for s in summary if s]
    print("\nSummary: wall ms = median over rounds of each block's time per step (training) or median call "
          "(inference); ratio = side / ref (ratio of medians, then median of the per-round ratios); spread = "
          "(max - min) / median over rounds, the worse side's; cpu = the worker's CPU time (all its threads) "
          "likewise")
    for s in summary:
        print(f"{s['model']:18s} {s['phase']:5s} b{s['batch']} {s['side']:34s} {s['ms']:8.1f} vs {s['ref']:8s} "
              f"{s['ref_ms']:8.1f} wall ms: ratio {s['ratio_of_medians']:.3f} paired {s['median_paired_ratio']:.3f} "
              f"spread {s['spread']:.2f} fastest round {s['fastest_round_ms']:.1f} vs {s['ref_fastest_round_ms']:.1f} "
              f"| cpu {s['cpu_ms']:8.1f} vs {s['ref_cpu_ms']:8.1f} ms: ratio {s['cpu_ratio']:.3f} "
              f"spread {s['cpu_spread']:.2f}")
    for info in infos:
        if "error" not in info:
            print(f"{info['model']}: first losses {info['first_loss']}; the sides' block losses differ by at most "
                  f"{info['loss_disagreement']:.2e} (relative)")
    profiles = [r for r in rows if r["phase"] == "profile"]
    if profiles:
        print("\nUnder cProfile, once per side (per step or call): wall ms, inside the compiled cell's __call__ "
              "(MindSpore running the graph), and the Python around it (TinyMS's work, the data pipeline for fit; "
              "the profiler inflates this part)")
    for r in profiles:
        print(f"{r['model']:18s} b{r['batch']} {r['side']:10s} {r['ms']:9.1f} ms = graph {r['graph_ms']:9.1f} + "
              f"around {r['outside_ms']:7.3f} ms ({100 * r['outside_ms'] / r['ms']:.2f} %)")
    loads = [r["load1_before"] for r in rows] + [r["load1_after"] for r in rows]
    if loads:
        print(f"load average (1 min) over the blocks: min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
              f"max {max(loads):.2f} on {os.cpu_count()} CPUs (this benchmark's own work counts about 2)")
    print(json.dumps({"bench": "detection", "summary": summary, "models": infos,
                      "torch": {k: w.info for k, w in torch_workers.items()}}), flush=True)
    return None


if __name__ == "__main__":
    main()
