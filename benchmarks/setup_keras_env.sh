#!/usr/bin/env bash
# Build benchmarks/.venv-keras: CPU PyTorch + torchvision + Keras 3, the reference side of the
# LeNet-5 benchmark (keras_lenet5.py, torch_lenet5.py) and of the detection benchmark's
# torchvision SSDlite (bench_detection.py). It is NOT a TinyMS dependency and never touches
# the project's own .venv.
#
#   bash benchmarks/setup_keras_env.sh        # idempotent: does nothing if already set up
#   benchmarks/.venv-keras/bin/python benchmarks/keras_lenet5.py
#
# torch is pinned to the CPU build (2.13.0+cpu, a wheel on this machine's disk): an unpinned
# `torch` resolves to a multi-GB CUDA build. Keras 3 does not depend on torch, so it cannot pull one.
# torchvision is pinned to 0.28.0, the release built for torch 2.13 (its wheel requires
# torch==2.13.0, which 2.13.0+cpu satisfies; 0.29.x require torch 2.14 and would replace it).
# Both are installed in one pip call so pip never swaps the CPU torch for another build.
# The only torchvision 0.28.0 wheel here is PyPI's CUDA build: its Python models work on the CPU
# torch, its C++ ops (NMS, RoIAlign...) cannot load (they need libtorch_cuda.so), and a plain
# `import torchvision` fails on them; bench_detection.py imports it past that (see torch_worker).
set -euo pipefail
export KERAS_BACKEND=torch   # keras imports TensorFlow by default

TORCH_SPEC="torch==2.13.0+cpu"
TORCHVISION_SPEC="torchvision==0.28.0"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-keras"
PY="$VENV/bin/python"

if [ -x "$PY" ] && "$PY" - <<'EOF' 2>/dev/null
import torch, keras, numpy
from importlib.metadata import version
assert torch.__version__.startswith("2.13.0") and torch.version.cuda is None
assert version("torchvision") == "0.28.0"
assert keras.__version__.split(".")[0] == "3"
EOF
then
    echo "$VENV already has CPU torch, torchvision and Keras 3; nothing to do."
else
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet "$TORCH_SPEC" "$TORCHVISION_SPEC"
    "$PY" -m pip install --quiet keras numpy
fi

"$PY" -c 'import torch, keras, numpy; from importlib.metadata import version; print("torch", torch.__version__, "| torchvision", version("torchvision"), "| keras", keras.__version__, "| numpy", numpy.__version__)'
du -sh "$VENV"
