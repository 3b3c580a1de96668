"""Serving load at several client counts: an ONNX servable and a checkpoint (MindSpore executor) one.

One server (default settings: one front end with 4 threads, batching on: max 16 rows, 2 ms)
serves LeNet5 twice: ``onnx`` runs on onnxruntime in the front end, ``ckpt`` in a MindSpore
executor process. For each servable and each ``--clients`` count, that many keep-alive
clients send ``--requests`` single-image PNG predictions (after a warm-up run) and every
answer is checked against the label predicted in-process. Client and server share the
machine's cores.

Run:  GLOG_v=3 .venv/bin/python benchmarks/bench_serving_clients.py [--clients 8 32] [--requests 6000]
Nothing is written outside a temporary directory, which is removed at the end.
"""

import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_serving import _mnist_pngs  # noqa: E402
from serving_load import build_request, run_load  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--requests", type=int, default=6000, help="requests per measured run")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="tinyms-bench-clients-")
    os.environ.setdefault("TINYMS_HOME", os.path.join(tmp, "home"))
    import tinyms  # noqa: F401 - sets MindSpore's environment defaults before it loads
    import mindspore as ms
    from mindspore import Tensor
    from tinyms.model import create_model
    from tinyms.serving import Server, write_servable
    from tinyms.vision import mnist_transform

    ms.set_seed(0)
    net = create_model("lenet5", class_num=10)
    net.set_train(False)
    pngs = _mnist_pngs(200)
    labels = [str(int(np.argmax(net(Tensor(mnist_transform(p)[None])).asnumpy()))) for p in pngs]
    serving = os.path.join(tmp, "serving")
    write_servable(serving, "onnx", net, formats=("onnx",))
    write_servable(serving, "ckpt", net, formats=("ckpt",))
    rows = []
    print(f"{os.cpu_count()} CPUs shared by the server and the load generator", flush=True)
    try:
        with Server(port=0, serving_path=serving) as server:
            for name in ("onnx", "ckpt"):
                reqs = [(build_request("127.0.0.1", server.port, "POST", f"/servables/{name}", png,
                                       {"Content-Type": "image/png"}), f'"label":"{label}"'.encode())
                        for png, label in zip(pngs, labels)]
                for clients in args.clients:
                    run_load("127.0.0.1", server.port, reqs, max(400, args.requests // 10), clients)
                    result = run_load("127.0.0.1", server.port, reqs, args.requests, clients)
                    rows.append((name, clients, result))
                    print(f"{name} {clients:3d} clients: {result.rps:6.0f} req/s, p50 {result.percentile(50) * 1e3:6.2f} "
                          f"ms, p99 {result.percentile(99) * 1e3:6.2f} ms, errors {result.failures}"
                          + (f" ({result.first_error})" if result.first_error else ""), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n| servable | clients | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|")
    for name, clients, r in rows:
        runtime = "ONNX (onnxruntime)" if name == "onnx" else "checkpoint (MindSpore executor)"
        print(f"| {runtime} | {clients} | {r.rps:.0f} | {r.percentile(50) * 1e3:.1f} | {r.percentile(99) * 1e3:.1f} | "
              f"{r.failures} of {r.failures + r.ok} |")


if __name__ == "__main__":
    main()
