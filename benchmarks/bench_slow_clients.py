"""Slow clients against a TinyMS server: do honest clients keep being served?

``--slow`` attacking connections each send one byte of an endless request header per second
(the "slowloris" pattern) and reconnect at once when the server closes them. They come from
``--attack-ips`` loopback source addresses (127.0.0.2, 127.0.0.3, ...), spread evenly, so that
both the per-address connection cap (one address) and the per-request deadlines (many
addresses, each under the cap) can be exercised. Meanwhile ``--honest`` clients on 127.0.0.1
send single-image PNG predictions to an ONNX LeNet5 servable, each on a new connection
(a keep-alive connection opened before the attack would hide a full accept queue), and
every answer is checked against the label predicted in-process.

Prints honest requests/s, p50/p99 latency and failures (no answer within ``--timeout`` s),
and what the attackers saw (connections opened, closed by the server, refused).

Run:  GLOG_v=3 .venv/bin/python benchmarks/bench_slow_clients.py [--slow 300] [--attack-ips 10]
Nothing is written outside a temporary directory, which is removed at the end.
"""

import argparse
import errno
import os
import selectors
import shutil
import socket
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serving_load import build_request, run_load  # noqa: E402

_HEADER = b"GET /servables HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100000


class SlowClients:
    """``count`` connections that each send one header byte per second, reconnecting when closed."""

    def __init__(self, port, count, source_ips):
        self.port, self.count, self.sources = port, count, source_ips
        self.selector = selectors.DefaultSelector()
        self.socks = {}  # socket -> bytes sent
        self.opened = self.closed_by_server = self.refused = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, index):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.sources[index % len(self.sources)], 0))
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            sock.close()
            self.refused += 1
            return
        self.socks[sock] = [index, 0]
        self.selector.register(sock, selectors.EVENT_READ)
        self.opened += 1

    def _drop(self, sock, by_server):
        self.selector.unregister(sock)
        index = self.socks.pop(sock)[0]
        sock.close()
        if by_server:
            self.closed_by_server += 1
        return index

    def start(self):
        for i in range(self.count):
            self._connect(i)
        self.thread.start()
        return self

    def _run(self):
        next_tick = time.monotonic()
        while not self.stop.is_set():
            timeout = max(0.0, next_tick - time.monotonic())
            for key, _ in self.selector.select(timeout):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # the server closed it (or answered and closed): come back at once
                    self._connect(self._drop(sock, True))
            if time.monotonic() >= next_tick:
                next_tick += 1.0
                for sock, state in list(self.socks.items()):
                    try:
                        sock.send(_HEADER[state[1]:state[1] + 1])
                        state[1] += 1
                    except BlockingIOError:
                        pass
                    except OSError as err:
                        if err.errno in (errno.ENOTCONN,):
                            continue
                        self._connect(self._drop(sock, True))
        for sock in list(self.socks):
            self._drop(sock, False)

    def close(self):
        self.stop.set()
        self.thread.join(10)

    @property
    def open_now(self):
        return len(self.socks)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=300, help="attacking connections")
    parser.add_argument("--attack-ips", type=int, nargs="+", default=[1, 10],
                        help="loopback source addresses the attackers are spread over (one run per value)")
    parser.add_argument("--honest", type=int, default=8, help="honest clients")
    parser.add_argument("--requests", type=int, default=4000, help="honest requests per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of attack before measuring")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds an honest client waits")
    parser.add_argument("--duration", type=float, default=60.0, help="longest measured run, seconds")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="tinyms-bench-slow-")
    os.environ.setdefault("TINYMS_HOME", os.path.join(tmp, "home"))
    import tinyms  # noqa: F401 - sets MindSpore's environment defaults before it loads
    import mindspore as ms
    from mindspore import Tensor
    from tinyms.model import create_model
    from tinyms.serving import Server, write_servable
    from tinyms.vision import mnist_transform

    from bench_serving import _mnist_pngs

    ms.set_seed(0)
    net = create_model("lenet5", class_num=10)
    net.set_train(False)
    pngs = _mnist_pngs(100)
    labels = [str(int(np.argmax(net(Tensor(mnist_transform(p)[None])).asnumpy()))) for p in pngs]
    serving = os.path.join(tmp, "serving")
    write_servable(serving, "lenet5", net, formats=("onnx",))
    rows = []
    try:
        with Server(port=0, serving_path=serving) as server:
            reqs = [(build_request("127.0.0.1", server.port, "POST", "/servables/lenet5", png,
                                   {"Content-Type": "image/png"}), f'"label":"{label}"'.encode())
                    for png, label in zip(pngs, labels)]
            run_load("127.0.0.1", server.port, reqs, 400, args.honest, fresh=True)
            base = run_load("127.0.0.1", server.port, reqs, args.requests, args.honest, fresh=True,
                            timeout=args.timeout)
            rows.append(("none", base, None))
            _print("no attack", base, None)
            for ips in args.attack_ips:
                sources = [f"127.0.0.{2 + i}" for i in range(ips)]
                attack = SlowClients(server.port, args.slow, sources).start()
                time.sleep(args.warmup)
                result = run_load("127.0.0.1", server.port, reqs, args.requests, args.honest, fresh=True,
                                  timeout=args.timeout, duration=args.duration)
                seen = dict(open_now=attack.open_now, opened=attack.opened, closed=attack.closed_by_server,
                            refused=attack.refused)
                attack.close()
                label = f"{args.slow} slow clients from {ips} address{'es' if ips > 1 else ''}"
                rows.append((label, result, seen))
                _print(label, result, seen)
                time.sleep(2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n| attack | honest req/s | p50 ms | p99 ms | honest failed | attackers: connections opened / "
          f"closed by server |")
    print("|---|---|---|---|---|---|")
    for label, r, seen in rows:
        extra = f"{seen['opened']} / {seen['closed']}" if seen else "-"
        print(f"| {label} | {r.rps:.0f} | {r.percentile(50) * 1e3:.1f} | {r.percentile(99) * 1e3:.1f} | "
              f"{r.failures} of {r.failures + r.ok} | {extra} |")


def _print(label, result, seen):
    print(f"{label}: {result.rps:.0f} req/s, p50 {result.percentile(50) * 1e3:.1f} ms, "
          f"p99 {result.percentile(99) * 1e3:.1f} ms, failed {result.failures}"
          + (f" ({result.first_error})" if result.first_error else "")
          + (f"; attackers {seen}" if seen else ""), flush=True)


if __name__ == "__main__":
    main()
