"""The seed's own import lines and one-image prediction run unchanged; namespaces are curated."""

import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

PUBLIC = ["tinyms", "tinyms.context", "tinyms.data", "tinyms.vision", "tinyms.text", "tinyms.model", "tinyms.callbacks", "tinyms.serving",
          "tinyms.layers", "tinyms.primitives", "tinyms.initializers", "tinyms.losses", "tinyms.metrics",
          "tinyms.optimizers", "tinyms.hub", "tinyms.errors"]


def test_seed_lines_run_as_written():
    from tinyms.data import MnistDataset, download_dataset  # noqa: F401
    from tinyms.vision import mnist_transform  # noqa: F401
    from tinyms.model import Model, lenet5  # noqa: F401
    from tinyms.losses import SoftmaxCrossEntropyWithLogits  # noqa: F401
    from tinyms.optimizers import Momentum  # noqa: F401
    from tinyms.metrics import Accuracy  # noqa: F401
    from tinyms.callbacks import ModelCheckpoint, LossMonitor  # noqa: F401
    import tinyms as ts  # noqa: F401
    from tinyms import context, Tensor, array  # noqa: F401
    from tinyms.vision import Resize  # noqa: F401
    from tinyms.initializers import Normal  # noqa: F401
    from tinyms.layers import Layer, Conv2d  # noqa: F401
    from tinyms.primitives import Add, tensor_add  # noqa: F401


def test_readme_one_image_prediction():
    import tinyms as ts
    from tinyms.model import Model, lenet5
    from tinyms.vision import mnist_transform

    model = Model(lenet5(class_num=10))
    img = np.zeros((28, 28), np.uint8)
    img[6:22, 13:15] = 255  # a "1"
    res = model.predict(ts.expand_dims(ts.array(mnist_transform(img)), 0)).asnumpy()
    assert res.shape == (1, 10)
    probs = np.exp(res[0] - res[0].max())
    probs /= probs.sum()
    preds = mnist_transform.postprocess(res)
    assert len(preds) == 1
    best = preds[0]
    assert best.label in mnist_transform.labels and best.label == str(int(res[0].argmax()))
    assert 0 < best.score <= 1 and best.score == pytest.approx(probs.max())
    assert str(preds) == f"{best.label} ({best.score * 100:.1f}%)"  # what print() shows
    assert preds == f"TOP1: {best.label}, score: {best.score:.5f}" == mnist_transform.postprocess(res, "TOP1_CLASS")
    top5 = mnist_transform.postprocess(res, "TOP5_CLASS", as_text=False)[0]
    assert top5.labels[0] == best.label and len(set(top5.labels)) == 5
    assert list(top5.scores) == sorted(top5.scores, reverse=True)
    np.testing.assert_allclose(top5.scores, probs[list(top5.indices)], rtol=1e-5)


def test_array_accepts_numpy_like_numpy_does():
    import tinyms as ts
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ts.array(a)
    assert isinstance(t, ts.Tensor) and t.shape == (2, 3) and t.dtype == ts.float32
    a[0, 0] = 100  # the Tensor owns a copy
    assert t.asnumpy()[0, 0] == 0
    assert ts.array([[1, 2]], dtype=ts.float32).dtype == ts.float32
    assert ts.expand_dims(ts.array(a), 0).shape == (1, 2, 3)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip()
    assert module.__all__, f"{name} has no curated __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing


def test_star_import_and_no_import_side_effects():
    code = textwrap.dedent("""
        import mindspore as ms
        seed_before, mode_before = ms.get_seed(), ms.get_context("mode")
        from tinyms import *
        import tinyms.model, tinyms.data, tinyms.vision
        assert ms.get_seed() == seed_before, "import seeded the RNG"
        assert ms.get_context("mode") == mode_before, "import changed the execution mode"
        assert Tensor is ms.Tensor and expand_dims(array([1.0, 2.0]), 0).shape == (1, 2)
        import os
        assert os.listdir(".") == [], "import wrote into the current directory"
        print("ok")
    """)
    import tempfile
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_graph_mode_is_the_default_for_models_but_the_user_can_choose():
    code = textwrap.dedent("""
        import numpy as np, mindspore as ms
        from tinyms import context
        from tinyms.model import Model, lenet5
        Model(lenet5()).predict(np.zeros((1, 1, 32, 32), np.float32))
        assert ms.get_context("mode") == ms.GRAPH_MODE
        context.set_context(mode=context.PYNATIVE_MODE)
        Model(lenet5()).predict(np.zeros((1, 1, 32, 32), np.float32))
        assert ms.get_context("mode") == ms.PYNATIVE_MODE
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
