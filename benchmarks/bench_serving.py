"""Benchmark TinyMS serving on 127.0.0.1 with LeNet5 on MNIST images.

Measures, with a bounded closed-loop load generator (``--clients`` keep-alive connections
sending a fixed number of single-image PNG requests, every answer checked against the label
predicted in-process):

- requests/s, p50 and p99 latency, failures, for the checkpoint (MindSpore) and the ONNX
  (onnxruntime) servable, with batching off (``max_batch_size=1``) and on;
- the ratio of served throughput to in-process ``Model.predict`` on the same images;
- server memory (RSS and PSS of the whole process tree) sampled over a ``--duration`` s run;
- start time and memory of an ONNX-only server against a checkpoint-based one.

Run:  GLOG_v=3 .venv/bin/python benchmarks/bench_serving.py [--quick]
Nothing is written outside a temporary directory, which is removed at the end.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serving_load import build_request, run_load  # noqa: E402


def _tree(pid):
    """``pid`` and all its descendants (psutil); just ``[pid]`` once it is gone."""
    import psutil
    try:
        return [pid] + [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return [pid]


def _memory_mib(pid):
    """(RSS, PSS) in MiB summed over the process tree of ``pid``."""
    rss = pss = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def _mnist_pngs(count):
    import gzip
    import io

    from PIL import Image
    from tinyms.data import sample_dataset

    folder = os.path.join(sample_dataset("mnist"), "test")
    name = next(n for n in os.listdir(folder) if n.startswith("t10k-images"))
    opener = gzip.open if name.endswith(".gz") else open
    with opener(os.path.join(folder, name), "rb") as f:
        data = f.read()
    images = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    pngs = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    return pngs


def _serving_dir(root, net):
    from tinyms.serving import write_servable

    write_servable(root, "ckpt_batched", net, formats=("ckpt",), max_batch_size=16, max_delay_ms=2)
    write_servable(root, "onnx_batched", net, formats=("onnx",), max_batch_size=16, max_delay_ms=2)
    write_servable(root, "ckpt_single", net, formats=("ckpt",), max_batch_size=1)
    write_servable(root, "onnx_single", net, formats=("onnx",), max_batch_size=1)
    onnx_only = os.path.join(root, "onnx_only")
    os.makedirs(onnx_only)
    write_servable(onnx_only, "lenet5", net, formats=("onnx",))
    ckpt_only = os.path.join(root, "ckpt_only")
    os.makedirs(ckpt_only)
    write_servable(ckpt_only, "lenet5", net, formats=("ckpt",))
    return onnx_only, ckpt_only


def _requests(port, servable, pngs, labels, kind="png"):
    """One pre-encoded request per image: a PNG to the TinyMS route, or a preprocessed tensor
    to the KServe v2 route (binary tensor data extension), with what its answer must contain."""
    from tinyms.vision import mnist_transform

    out = []
    for png, label in zip(pngs, labels):
        if kind == "png":
            req = build_request("127.0.0.1", port, "POST", f"/servables/{servable}", png, {"Content-Type": "image/png"})
            out.append((req, f'"label":"{label}"'.encode()))
            continue
        raw = mnist_transform(png)[None].astype("<f4").tobytes()
        head = json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32",
                                       "parameters": {"binary_data_size": len(raw)}}],
                           "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()
        req = build_request("127.0.0.1", port, "POST", f"/v2/models/{servable}/infer", head + raw,
                            {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": len(head)})
        out.append((req, b'"binary_data_size":40'))
    return out


def _load(port, servable, pngs, labels, total, clients, kind="png"):
    reqs = _requests(port, servable, pngs, labels, kind)
    return run_load("127.0.0.1", port, reqs, total, clients)


def in_process_rate(net, pngs, seconds=3.0):
    """Images/s of a single-threaded Model.predict loop (with and without mnist_transform)."""
    from tinyms.model import Model
    from tinyms.vision import mnist_transform

    model = Model(net)
    xs = [mnist_transform(p)[None] for p in pngs]
    for x in xs[:20]:
        model.predict(x)
    rates = {}
    for label, work in (("predict", lambda i: model.predict(xs[i % len(xs)]).asnumpy()),
                        ("transform+predict",
                         lambda i: model.predict(mnist_transform(pngs[i % len(pngs)])[None]).asnumpy())):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            work(count)
            count += 1
        rates[label] = count / (time.perf_counter() - start)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6000, help="requests per measured run")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the memory run")
    parser.add_argument("--configs", nargs="+", default=["1x4", "2x2"],
                        help="server configurations to try, as WORKERSxTHREADS (front ends x threads each)")
    parser.add_argument("--quick", action="store_true", help="small runs (smoke test of this script)")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.duration, args.configs = 600, 5.0, ["1x4"]
    args.configs = [tuple(int(v) for v in c.lower().split("x")) for c in args.configs]

    tmp = tempfile.mkdtemp(prefix="tinyms-bench-serving-")
    os.environ.setdefault("TINYMS_HOME", os.path.join(tmp, "home"))
    import tinyms  # noqa: F401 - sets MindSpore's environment defaults before it loads
    import mindspore as ms
    from mindspore import Tensor
    from tinyms.model import create_model
    from tinyms.serving import Server
    from tinyms.vision import mnist_transform

    ms.set_seed(0)
    net = create_model("lenet5", class_num=10)
    net.set_train(False)
    pngs = _mnist_pngs(200)
    labels = [str(int(np.argmax(net(Tensor(mnist_transform(p)[None])).asnumpy()))) for p in pngs]
    serving = os.path.join(tmp, "serving")
    os.makedirs(serving)
    onnx_only, ckpt_only = _serving_dir(serving, net)
    rows, notes = [], []
    print(f"load: {args.clients} clients, {args.requests} single-image PNG requests per run, "
          f"{os.cpu_count()} CPUs shared by server and load generator", flush=True)
    try:
        rates = in_process_rate(net, pngs)
        print(f"in-process Model.predict, batch 1: {rates['predict']:.0f} img/s; with mnist_transform: "
              f"{rates['transform+predict']:.0f} img/s", flush=True)
        for workers, threads in args.configs:
            with Server(port=0, serving_path=serving, workers=workers, threads=threads) as server:
                for kind in ("png", "v2"):
                    for name in ("ckpt_single", "ckpt_batched", "onnx_single", "onnx_batched"):
                        _load(server.port, name, pngs, labels, max(200, args.requests // 10), args.clients, kind)
                        result = _load(server.port, name, pngs, labels, args.requests, args.clients, kind)
                        rows.append((f"{workers}x{threads}", kind, name, result))
                        print(f"workers={workers} threads={threads} {kind:3s} {name:13s} {result.rps:7.0f} req/s  "
                              f"p50 {result.percentile(50) * 1e3:6.2f} ms  p99 {result.percentile(99) * 1e3:6.2f} ms  "
                              f"failed {result.failures}" + (f" ({result.first_error})" if result.first_error else ""),
                              flush=True)
                if (workers, threads) == args.configs[0]:
                    memory = _memory_run(server, pngs, labels, args)
        starts = _start_costs(onnx_only, ckpt_only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _report(rows, rates, memory, starts, args)


def _memory_run(server, pngs, labels, args):
    samples, stop = [], threading.Event()

    def sample():
        start = time.perf_counter()
        while not stop.is_set():
            samples.append((time.perf_counter() - start, *_memory_mib(server.pid)))
            stop.wait(2.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline = time.perf_counter() + args.duration
    done = failed = 0
    while time.perf_counter() < deadline:
        result = _load(server.port, "ckpt_batched", pngs, labels, 1000, args.clients)
        done += result.ok
        failed += result.failures
    stop.set()
    sampler.join()
    return {"samples": samples, "requests": done, "failed": failed}


def _start_costs(onnx_only, ckpt_only):
    from tinyms.serving import Server

    out = {}
    for label, path in (("ONNX only", onnx_only), ("checkpoint", ckpt_only)):
        times, mems = [], []
        for _ in range(3):
            start = time.perf_counter()
            with Server(port=0, serving_path=path) as server:
                times.append(time.perf_counter() - start)
                server.client().predict(np.zeros((1, 32, 32), np.float32), "lenet5")
                mems.append(_memory_mib(server.pid))
        out[label] = (float(np.median(times)), float(np.median([m[0] for m in mems])),
                      float(np.median([m[1] for m in mems])))
    return out


def _report(rows, rates, memory, starts, args):
    print("\n## Throughput and latency (one image per request: a PNG to POST /servables/<name>, or its "
          "preprocessed tensor to POST /v2/models/<name>/infer; "
          f"{args.clients} concurrent keep-alive clients, {args.requests} requests per run)\n")
    print("| front ends x threads | request | runtime | batching | req/s | p50 ms | p99 ms | failed "
          "| served / in-process |")
    print("|---|---|---|---|---|---|---|---|---|")
    for config, kind, name, r in rows:
        runtime = "MindSpore (ckpt)" if name.startswith("ckpt") else "onnxruntime"
        batching = "on (max 16, 2 ms)" if name.endswith("batched") else "off"
        request = "PNG, TinyMS route" if kind == "png" else "tensor, v2 binary"
        ratio = r.rps / rates["transform+predict" if kind == "png" else "predict"]
        print(f"| {config} | {request} | {runtime} | {batching} | {r.rps:.0f} | {r.percentile(50) * 1e3:.2f} | "
              f"{r.percentile(99) * 1e3:.2f} | {r.failures} | {ratio:.2f}x |")
    print(f"\nIn-process baseline (one thread, Model.predict batch 1, GRAPH_MODE): {rates['predict']:.0f} img/s "
          f"on preprocessed tensors (denominator for tensor requests), {rates['transform+predict']:.0f} img/s "
          "including mnist_transform (denominator for PNG requests).")
    samples = memory["samples"]
    rss = [s[1] for s in samples]
    pss = [s[2] for s in samples]
    print(f"\n## Memory over a {args.duration:.0f} s run (checkpoint servable, batching on, "
          f"{memory['requests']} requests, {memory['failed']} failed)\n")
    print("| t (s) | RSS MiB | PSS MiB |")
    print("|---|---|---|")
    shown = samples[:: max(1, len(samples) // 10)]
    for t, r, p in shown + ([samples[-1]] if shown[-1] is not samples[-1] else []):
        print(f"| {t:.0f} | {r:.1f} | {p:.1f} |")
    half = len(pss) // 2
    print(f"\nPSS first half mean {np.mean(pss[:half] or pss):.1f} MiB, second half {np.mean(pss[half:]):.1f} MiB, "
          f"max-min {max(pss) - min(pss):.1f} MiB (RSS max-min {max(rss) - min(rss):.1f} MiB)")
    print("\n## Server start (to health check answered) and memory after one prediction, median of 3\n")
    print("| servables | start s | RSS MiB | PSS MiB |")
    print("|---|---|---|---|")
    for label, (seconds, rss_mib, pss_mib) in starts.items():
        print(f"| {label} | {seconds:.2f} | {rss_mib:.0f} | {pss_mib:.0f} |")
    best = max(rows, key=lambda row: row[3].rps)
    print("\n## Goals\n")
    print(f"- >= 1,000 req/s with {args.clients} clients: best {best[3].rps:.0f} req/s "
          f"({best[2]}, {best[1]} requests, {best[0]})")
    print(f"- p99 < 50 ms: worst p99 {max(r.percentile(99) for *_, r in rows) * 1e3:.1f} ms")
    print(f"- zero failed requests: {sum(r.failures for *_, r in rows) + memory['failed']} failed")
    print(f"- memory flat: PSS max-min {max(pss) - min(pss):.1f} MiB over {args.duration:.0f} s")


if __name__ == "__main__":
    main()
