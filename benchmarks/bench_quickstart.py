"""Benchmark 1: ``tinyms quickstart`` on full MNIST (1 epoch) vs Keras 3 (PyTorch backend).

Side by side, alternating, each run a fresh process:
- tinyms: the quickstart walkthrough (its phase times and test accuracy);
- keras3-torch: the same LeNet5 and recipe (SGD, Nesterov momentum 0.9, warm-up to 0.03 then
  cosine to 0, batch 32) with
  ``fit``/``evaluate``, run with oneDNN at its default ISA and capped at AVX2 (as TinyMS does);
- pytorch-loop: the same recipe in a plain PyTorch loop.
Goals: tinyms test accuracy >= 98.5 %, tinyms train+eval <= Keras train+eval. The references
preprocess every image before training ("load"); TinyMS preprocesses inside its pipeline while
training, so load+train+eval is printed too.

Needs the reference environment: bash benchmarks/setup_keras_env.sh
Run: .venv/bin/python benchmarks/bench_quickstart.py [--rounds 2] [--data DIR]

With ``--framing`` only TinyMS runs, in three variants alternating (RESULTS section 1b): the
evaluation pipeline without ``frame_digit`` (as before photos were framed), with it row by row
(the fast path turned off), and as shipped (``frame_digit`` left out when every image of the IDX
files is already framed, checked with numpy first). ``--framing --eval-only`` skips training
(evaluation costs the same with untrained weights): each child builds the quickstart's test
pipeline and LeNet5 model and times its first evaluation (graph compile included, as in the
quickstart) and a second one, so more rounds fit in the same time.
"""

import argparse
import sys
import tempfile

from _common import MNIST, REPO, median, run_json

TINYMS = r"""
import json, sys
from tinyms import _quickstart
r = _quickstart.run(data=sys.argv[1], epochs=1, out=sys.argv[2], verbose=0, say=lambda *a: None)
s = r["seconds"]
print(json.dumps({"train_s": s["train"], "eval_s": s["eval"], "train_eval_s": s["train"] + s["eval"],
                  "load_s": s["data"], "total_s": r["total_seconds"], "test_accuracy": r["accuracy"]}))
"""
FRAMING = {  # variant -> how the child changes the shipped code before running the quickstart
    "no frame_digit": "from tinyms.vision import _framed; _framed.all_framed = lambda dataset: True",
    "frame row by row": "from tinyms.vision import _framed; _framed.FAST_PATH = False",
    "fast path": "",
}
EVAL_ONLY = r"""
import json, sys, time
from tinyms.data import MnistDataset
from tinyms.model import Model, lenet5
from tinyms.optimizers import Momentum
from tinyms.vision import mnist_transform
from tinyms import context
context.set_seed(1)
t = time.perf_counter()
test_ds = mnist_transform.apply_ds(MnistDataset(sys.argv[1], usage="test", shuffle=False), batch_size=256,
                                   is_training=False)
load = time.perf_counter() - t
net = lenet5(class_num=10)
model = Model(net)
model.compile(loss_fn="cross_entropy", optimizer=Momentum(net.trainable_params(), 0.01, 0.9), metrics=["accuracy"])
seconds, cpu = [], []
for _ in range(2):
    t, c = time.perf_counter(), time.process_time()
    accuracy = model.eval(test_ds)["accuracy"]
    seconds.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
print(json.dumps({"load_s": load, "train_s": 0.0, "eval_s": seconds[0], "eval2_s": seconds[1],
                  "eval_cpu_s": cpu[0], "eval2_cpu_s": cpu[1], "test_accuracy": accuracy}))
"""
REF_PY = REPO / "benchmarks" / ".venv-keras" / "bin" / "python"
RECIPE = ["--optimizer", "momentum", "--nesterov", "--lr", "0.03", "--schedule", "warmup_cosine", "--warmup", "150"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--data", default=str(MNIST))
    p.add_argument("--framing", action="store_true", help="TinyMS only: evaluation with and without frame_digit")
    p.add_argument("--eval-only", action="store_true", help="with --framing: no training, two evaluations per run")
    args = p.parse_args()
    if args.framing:
        return framing(args)
    sides = {
        "tinyms": ([sys.executable, "-c", TINYMS, args.data], {}),
        "keras3-torch": ([str(REF_PY), str(REPO / "benchmarks/keras_lenet5.py"), "--data", args.data] + RECIPE,
                         {"KERAS_BACKEND": "torch"}),
        "keras3-torch AVX2": ([str(REF_PY), str(REPO / "benchmarks/keras_lenet5.py"), "--data", args.data] + RECIPE,
                              {"KERAS_BACKEND": "torch", "ONEDNN_MAX_CPU_ISA": "AVX2"}),
        "pytorch-loop": ([str(REF_PY), str(REPO / "benchmarks/torch_lenet5.py"), "--data", args.data] + RECIPE, {}),
    }
    if not REF_PY.exists():
        print("reference venv missing: run `bash benchmarks/setup_keras_env.sh`; measuring tinyms only")
        sides = {"tinyms": sides["tinyms"]}
    results = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as out:
        for r in range(args.rounds):
            for name, (argv, env) in sides.items():
                if name == "tinyms":
                    argv = argv + [out]
                _, res = run_json(argv, env=env)
                results[name].append(res)
                print(f"round {r + 1} {name:18s} train {res['train_s']:6.2f}s eval {res['eval_s']:5.2f}s "
                      f"acc {res['test_accuracy']:.4f}", flush=True)
    print(f"\n{'side':18s} {'load s':>7s} {'train s':>8s} {'eval s':>7s} {'train+eval s':>13s} "
          f"{'load+train+eval s':>18s} {'accuracy':>9s}")
    med = {}
    for name, runs in results.items():
        med[name] = {k: median([x[k] for x in runs]) for k in ("load_s", "train_s", "eval_s", "train_eval_s", "test_accuracy")}
        med[name]["all_s"] = median([x["load_s"] + x["train_eval_s"] for x in runs])
        m = med[name]
        print(f"{name:18s} {m['load_s']:7.2f} {m['train_s']:8.2f} {m['eval_s']:7.2f} {m['train_eval_s']:13.2f} "
              f"{m['all_s']:18.2f} {m['test_accuracy']:9.4f}")
    for ref in ("keras3-torch", "keras3-torch AVX2", "pytorch-loop"):
        if ref in med:
            print(f"ratio tinyms / {ref}: train+eval {med['tinyms']['train_eval_s'] / med[ref]['train_eval_s']:.3f}, "
                  f"load+train+eval {med['tinyms']['all_s'] / med[ref]['all_s']:.3f}")


def framing(args):
    results = {name: [] for name in FRAMING}
    with tempfile.TemporaryDirectory() as out:
        for r in range(args.rounds):
            for name, patch in FRAMING.items():
                _, res = run_json([sys.executable, "-c", patch + "\n" + (EVAL_ONLY if args.eval_only else TINYMS),
                                   args.data, out])
                results[name].append(res)
                again = (f" (again {res['eval2_s']:5.2f}s; CPU {res['eval_cpu_s']:5.2f}s, {res['eval2_cpu_s']:5.2f}s)"
                         if args.eval_only else "")
                print(f"round {r + 1} {name:18s} train {res['train_s']:6.2f}s eval {res['eval_s']:5.2f}s{again} "
                      f"acc {res['test_accuracy']:.4f}", flush=True)
    keys = ("eval_s", "eval2_s", "eval_cpu_s", "eval2_cpu_s") if args.eval_only else ("eval_s",)
    print(f"\nmedians; ratio = to 'no frame_digit'\n{'variant':18s} {'train s':>8s}" +
          "".join(f" {k:>12s} {'ratio':>6s}" for k in keys) + f" {'accuracy':>9s}")
    base = {k: median([x[k] for x in results["no frame_digit"]]) for k in keys}
    for name, runs in results.items():
        m = {k: median([x[k] for x in runs]) for k in keys + ("train_s", "test_accuracy")}
        print(f"{name:18s} {m['train_s']:8.2f}" + "".join(f" {m[k]:12.2f} {m[k] / base[k]:6.3f}" for k in keys) +
              f" {m['test_accuracy']:9.4f}")


if __name__ == "__main__":
    main()
