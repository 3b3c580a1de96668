"""Peak memory of ``Model.export`` to ONNX and MindIR, per network, beyond the built network.

For each network a fresh process builds it (``class_num=4``), predicts a batch of 2 at its
configured input size, then exports it; the growth of the process's peak RSS during the export
(Linux: peak reset through ``/proc/self/clear_refs``) is what exporting costs on top of holding
the network. ``--tinyms PATH`` runs another checkout of the ``tinyms`` package (e.g. one
extracted with ``git archive <commit> tinyms | tar -x -C PATH``) to compare before and after.

Run:  GLOG_v=3 .venv/bin/python benchmarks/bench_export_memory.py [--networks vgg11 resnet50] [--tinyms PATH]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, os, sys, tempfile
import numpy as np
from tinyms.model import Model, create_model


def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


name, fmt = sys.argv[1], sys.argv[2]
net = create_model(name, class_num=4)
x = np.random.default_rng(0).standard_normal((2, *net.default_cfg.input_shape)).astype(np.float32)
model = Model(net)
model.predict(x)
weights = sum(p.asnumpy().nbytes for p in net.get_parameters())
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
with tempfile.TemporaryDirectory() as tmp:
    path = model.export(x, os.path.join(tmp, "net"), fmt)
    size = os.path.getsize(path)
print(json.dumps({"weights": weights, "rss_before": before, "export_peak": status("VmHWM") - before, "file": size}))
"""

MIB = 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["lenet5", "resnet50", "vgg11", "vgg19_bn"])
    parser.add_argument("--formats", nargs="+", default=["ONNX", "MINDIR"])
    parser.add_argument("--tinyms", help="folder holding the tinyms package to measure (default: this checkout)")
    args = parser.parse_args()
    env = dict(os.environ, GLOG_v=os.environ.get("GLOG_v", "3"))
    if args.tinyms:
        env["PYTHONPATH"] = os.path.abspath(args.tinyms)
    import_check = subprocess.run([sys.executable, "-c", "import tinyms; print(tinyms.__file__)"], env=env,
                                  cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True)
    print(f"tinyms: {import_check.stdout.strip()}")
    print(f"{'network':<10} {'format':<7} {'weights MiB':>11} {'RSS before MiB':>14} {'export peak +MiB':>16} "
          f"{'x weights':>9}")
    for name in args.networks:
        for fmt in args.formats:
            # run outside this checkout, so that --tinyms decides which package is imported
            out = subprocess.run([sys.executable, "-c", _CHILD, name, fmt], capture_output=True, text=True,
                                 env=env, cwd=tempfile.gettempdir(), check=False)
            if out.returncode != 0:
                print(f"{name:<10} {fmt:<7} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{name:<10} {fmt:<7} {r['weights'] / MIB:>11.0f} {r['rss_before'] / MIB:>14.0f} "
                  f"{r['export_peak'] / MIB:>16.0f} {r['export_peak'] / r['weights']:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
