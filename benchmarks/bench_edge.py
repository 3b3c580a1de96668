"""Benchmark 15: the TinyMS runtime on a small device: disk, a serving worker's memory, start to first answer.

The runtime is built from this checkout and installed into fresh environments with
``runtime/make_env.py`` (``python -m venv --without-pip`` + ``pip install --no-compile`` of the
wheel; once more with pip's default bytecode compilation, for its size only). This process, the
full install, writes two ONNX servables: LeNet5 (the hub's MNIST weights) and MobileNetV2
(1000 classes, 224x224, random weights: the size and speed do not depend on the values).

- Disk: the environment's folder (``du``: blocks used, MiB and MB), after install and after the
  measurements below ran in it (Python then has cached the bytecode of what it imported). The
  interpreter is a link to the system's Python 3.11, whose standard library is reported apart.
- Serving: ``ENV/bin/tinyms serve FOLDER`` (one worker), timed from the command's start to the
  first 200 answer to ``POST /servables/NAME`` with a PNG (polled every 5 ms); then 50 more
  requests, then the resident memory (VmRSS; peak VmHWM; USS, PSS) of the front-end worker,
  which holds the model, and of the supervisor. Round 1 runs right after the install (Python
  writes its bytecode cache then); the median is over the later rounds.
- In-process: ``ENV/bin/python -c 'Predictor(FOLDER)(png)'``: seconds to the answer, resident
  memory (and its peak).

Run: .venv/bin/python benchmarks/bench_edge.py [--rounds 5] [--work DIR]
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np
from _common import REPO, median

# (VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent, the full install)
PREDICT_CODE = """
import json, sys, time
t0 = time.perf_counter()
from tinyms.serving import Predictor
p = Predictor(sys.argv[1])
answer = p(open(sys.argv[2], "rb").read())
t1 = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if line.startswith("Vm"))
print(json.dumps({"import_to_answer_s": round(t1 - t0, 3), "label": answer.label,
                  "rss_mib": int(status["VmRSS"].split()[0]) / 1024, "peak_mib": int(status["VmHWM"].split()[0]) / 1024,
                  "mindspore_loaded": "mindspore" in sys.modules}))
"""


def disk_usage(path, skip=()):
    """(bytes of blocks used, apparent bytes) of everything under ``path`` (links not followed)."""
    used = apparent = 0
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files + [folder]:
            st = os.lstat(os.path.join(folder, name) if name != folder else folder)
            used += st.st_blocks * 512
            apparent += st.st_size
    return used, apparent


def top_entries(site, count=6):
    sizes = {name: disk_usage(os.path.join(site, name))[0] for name in os.listdir(site)}
    return {name: round(size / 2**20, 1) for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:count]}


def proc_memory(pid):
    """VmRSS, VmHWM (MiB) from /proc, USS and PSS (MiB) from psutil."""
    import psutil

    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    full = psutil.Process(pid).memory_full_info()
    return {"rss": round(fields["VmRSS"], 1), "peak": round(fields["VmHWM"], 1),
            "uss": round(full.uss / 2**20, 1), "pss": round(full.pss / 2**20, 1)}


def role_pids(pid):
    import psutil

    roles = {"supervisor": pid}
    for child in psutil.Process(pid).children(recursive=True):
        cmd = child.cmdline()
        for i, arg in enumerate(cmd):
            if arg.endswith("_boot.py") and i + 1 < len(cmd):
                roles[cmd[i + 1]] = child.pid
    return roles


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(array):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def write_servables(root):
    """LeNet5 (hub weights) and MobileNetV2, ONNX, each in its own serving folder; (folder, name, png) per model."""
    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.model import create_model
    from tinyms.serving import write_servable

    digit, _ = next(MnistDataset(sample_dataset("mnist"), usage="test", shuffle=False)
                    .create_tuple_iterator(output_numpy=True))
    rng = np.random.default_rng(0)
    photo = np.clip(rng.normal(128, 40, (240, 320, 3)), 0, 255).astype(np.uint8)
    out = []
    for name, net, image in (("lenet5", create_model("lenet5", pretrained=True), png(digit.squeeze())),
                             ("mobilenetv2", create_model("mobilenetv2"), png(photo))):
        folder = os.path.join(root, f"serving_{name}")
        write_servable(folder, name, net, formats=("onnx",))
        model_file = os.path.join(folder, name, f"{name}.onnx")
        out.append({"folder": folder, "name": name, "png": image, "onnx_mb": os.path.getsize(model_file) / 1e6})
    return out


def serve_round(tinyms, servable, env, cwd, requests=50):
    port = free_port()
    url = f"http://127.0.0.1:{port}/servables/{servable['name']}"
    started = time.perf_counter()
    proc = subprocess.Popen([tinyms, "serve", servable["folder"], "--port", str(port)], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                req = urllib.request.Request(url, data=servable["png"], headers={"Content-Type": "image/png"})
                with urllib.request.urlopen(req, timeout=5) as answer:
                    body = json.loads(answer.read())
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError(f"tinyms serve {servable['folder']} did not answer") from None
                time.sleep(0.005)
        first = time.perf_counter() - started
        warm = time.perf_counter()
        for _ in range(requests):
            req = urllib.request.Request(url, data=servable["png"], headers={"Content-Type": "image/png"})
            with urllib.request.urlopen(req, timeout=30) as answer:
                answer.read()
        per_request = (time.perf_counter() - warm) / requests
        memory = {role: proc_memory(pid) for role, pid in role_pids(proc.pid).items()}
    finally:
        proc.terminate()
        proc.wait(30)
    return {"first_answer_s": round(first, 3), "label": body["predictions"][0]["label"], "memory": memory,
            "request_ms": round(per_request * 1000, 2)}


def predictor_round(python, servable, env, work):
    image = os.path.join(work, f"{servable['name']}.png")
    with open(image, "wb") as f:
        f.write(servable["png"])
    started = time.perf_counter()
    run = subprocess.run([python, "-c", PREDICT_CODE, servable["folder"], image], env=env, cwd=work,
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    out = json.loads(run.stdout.strip().splitlines()[-1])
    out["process_to_answer_s"] = round(time.perf_counter() - started, 3)
    return out


def make_env(env_dir, work, compile_all=False):
    cmd = [sys.executable, str(REPO / "runtime" / "make_env.py"), env_dir, "--work", work]
    out = subprocess.run(cmd + (["--compile"] if compile_all else []), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", default=None, help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="tinyms-bench-edge-")
    load = [os.getloadavg()[0]]
    env_dir = os.path.join(work, "env")
    facts = make_env(env_dir, os.path.join(work, "build"))
    compiled = make_env(os.path.join(work, "env-compiled"), os.path.join(work, "build-compiled"), compile_all=True)
    site = os.path.join(env_dir, "lib", "python3.11", "site-packages")
    packages = subprocess.run([facts["python"], "-c", "import importlib.metadata as m; print(sorted("
                               "f'{d.metadata[\"Name\"]}=={d.version}' for d in m.distributions()))"],
                              capture_output=True, text=True, check=True, cwd=work).stdout.strip()
    sizes = {"installed": disk_usage(env_dir), "pip_default_compiled": disk_usage(os.path.join(work, "env-compiled"))}
    stdlib = disk_usage(os.path.join(sys.base_prefix, "lib", "python3.11"), skip=("site-packages", "test"))[0]
    servables = write_servables(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["TINYMS_HOME"] = os.path.join(work, "home")
    tinyms = os.path.join(env_dir, "bin", "tinyms")
    results = {}
    for servable in servables:
        rounds = [serve_round(tinyms, servable, env, work) for _ in range(args.rounds)]
        later = rounds[1:] or rounds
        front = [r["memory"]["front"] for r in later]
        results[servable["name"]] = {
            "onnx_mb": round(servable["onnx_mb"], 1),
            "first_answer_s_round1": rounds[0]["first_answer_s"],
            "first_answer_s_median": round(median([r["first_answer_s"] for r in later]), 3),
            "first_answer_s_max": max(r["first_answer_s"] for r in later),
            "front_rss_mib_median": round(median([m["rss"] for m in front]), 1),
            "front_peak_mib_max": max(m["peak"] for m in front),
            "front_uss_mib_median": round(median([m["uss"] for m in front]), 1),
            "front_pss_mib_median": round(median([m["pss"] for m in front]), 1),
            "supervisor_rss_mib_median": round(median([r["memory"]["supervisor"]["rss"] for r in later]), 1),
            "request_ms_median": round(median([r["request_ms"] for r in later]), 1),
            "predictor": [predictor_round(facts["python"], servable, env, work) for _ in range(3)][-1],
        }
        load.append(os.getloadavg()[0])
    sizes["after_use"] = disk_usage(env_dir)
    report = {
        "packages": packages,
        "env_mib": {k: round(v[0] / 2**20, 1) for k, v in sizes.items()},
        "env_mb": {k: round(v[0] / 1e6, 1) for k, v in sizes.items()},
        "env_apparent_mb": {k: round(v[1] / 1e6, 1) for k, v in sizes.items()},
        "largest_in_site_packages_mib": top_entries(site),
        "python_stdlib_mib_not_counted": round(stdlib / 2**20, 1),  # its site-packages and tests left out
        "build_install_s": {k: round(v, 1) for k, v in facts["seconds"].items()},
        "compiled_build_install_s": {k: round(v, 1) for k, v in compiled["seconds"].items()},
        "servables": results,
        "load_1min": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
