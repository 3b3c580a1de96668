"""One name, one thing: curated exports, no shadowed builtins, light imports."""

import builtins
import importlib
import itertools
import subprocess
import sys
import textwrap

import pytest

PUBLIC = ["tinyms", "tinyms.context", "tinyms.data", "tinyms.vision", "tinyms.model", "tinyms.callbacks",
          "tinyms.serving", "tinyms.layers", "tinyms.primitives", "tinyms.initializers", "tinyms.losses",
          "tinyms.metrics", "tinyms.optimizers", "tinyms.errors"]

# Modules that must never load MindSpore (serving front ends, downloads, the package itself).
MINDSPORE_FREE = ["tinyms", "tinyms.errors", "tinyms.data", "tinyms.data.download", "tinyms.serving", "tinyms.vision",
                  "tinyms.serving.client", "tinyms._home", "tinyms._fileio", "tinyms._checks", "tinyms._download",
                  "tinyms.vision._recipe", "tinyms.vision._np_engine", "tinyms.vision._presets",
                  "tinyms.vision._digit", "tinyms.vision.viewer", "tinyms.vision.transforms",
                  "tinyms.serving._preprocess", "tinyms.serving._config", "tinyms.hub", "tinyms._hub_catalog",
                  "tinyms._hub_store"]


def test_a_name_exported_by_two_public_modules_is_the_same_object():
    modules = {name: importlib.import_module(name) for name in PUBLIC}
    clashes = []
    for (a, ma), (b, mb) in itertools.combinations(modules.items(), 2):
        for name in set(ma.__all__) & set(mb.__all__):
            if getattr(ma, name) is not getattr(mb, name):
                clashes.append(f"{a}.{name} is not {b}.{name}")
    assert not clashes, clashes


def test_history_and_activations_are_one_class_each():
    from tinyms import callbacks, layers, model, primitives
    assert callbacks.History is model.History
    for name in ("ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"):
        assert getattr(primitives, name) is getattr(layers, name)


def test_star_export_never_shadows_a_builtin():
    namespace = {}
    exec("from tinyms import *", namespace)
    exported = set(namespace) - {"__builtins__"}
    assert {"Tensor", "array", "float32", "expand_dims"} <= exported
    shadowed = sorted(n for n in exported if hasattr(builtins, n))
    assert not shadowed
    import tinyms
    x = tinyms.array([1.0, 5.0, 2.0])  # still reachable by attribute, and NumPy-like
    assert float(tinyms.sum(x)) == 8.0 and float(tinyms.max(x)) == 5.0


def test_dir_lists_only_what_exists():
    import tinyms
    missing = [n for n in dir(tinyms) if not hasattr(tinyms, n)]
    assert not missing
    assert "hub" in dir(tinyms)
    assert "zoo" not in dir(tinyms)
    with pytest.raises(AttributeError):
        tinyms.zoo  # noqa: B018


@pytest.mark.parametrize("module", MINDSPORE_FREE)
def test_module_never_imports_mindspore(module):
    code = textwrap.dedent(f"""
        import sys
        import {module}
        assert "mindspore" not in sys.modules, "imported mindspore"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_touching_tensor_loads_mindspore_once_and_sets_defaults_first():
    code = textwrap.dedent("""
        import os, sys
        os.environ.pop("GLOG_v", None)
        import tinyms
        assert "mindspore" not in sys.modules
        assert os.environ["GLOG_v"] == "3" and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
        t = tinyms.Tensor([1.0])
        import mindspore
        assert tinyms.Tensor is mindspore.Tensor and tinyms.float32 is mindspore.float32
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
