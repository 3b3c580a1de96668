#!/usr/bin/env bash
# Build benchmarks/.venv-keras: CPU PyTorch + Keras 3, the reference side of the LeNet-5 benchmark.
# It is NOT a TinyMS dependency and never touches the project's own .venv.
#
#   bash benchmarks/setup_keras_env.sh        # idempotent: does nothing if already set up
#   benchmarks/.venv-keras/bin/python benchmarks/keras_lenet5.py
#
# torch is pinned to the CPU build (2.13.0+cpu, a wheel on this machine's disk): an unpinned
# `torch` resolves to a multi-GB CUDA build. Keras 3 does not depend on torch, so it cannot pull one.
set -euo pipefail
export KERAS_BACKEND=torch   # keras imports TensorFlow by default

TORCH_SPEC="torch==2.13.0+cpu"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-keras"
PY="$VENV/bin/python"

if [ -x "$PY" ] && "$PY" - <<'EOF' 2>/dev/null
import torch, keras, numpy
assert torch.__version__.startswith("2.13.0") and torch.version.cuda is None
assert keras.__version__.split(".")[0] == "3"
EOF
then
    echo "$VENV already has CPU torch and Keras 3; nothing to do."
else
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet "$TORCH_SPEC"
    "$PY" -m pip install --quiet keras numpy
fi

"$PY" -c 'import torch, keras, numpy; print("torch", torch.__version__, "| keras", keras.__version__, "| numpy", numpy.__version__)'
du -sh "$VENV"
