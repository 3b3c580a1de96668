"""Shared fixtures: a serving directory written by ``write_servable`` and one running server.

The server is started once per test session on a free port of 127.0.0.1 and stopped at the
end; tests that need other settings start their own (mostly ONNX-only, which start fast).
"""

import io
import json
import os
import shutil
import socket

import numpy as np
import pytest

MNIST_LABELS = [str(i) for i in range(10)]


@pytest.fixture(scope="session", autouse=True)
def tinyms_home(tmp_path_factory):
    """Every serving test writes logs and run files under a temporary TINYMS_HOME."""
    home = tmp_path_factory.mktemp("tinyms_home")
    patch = pytest.MonkeyPatch()
    patch.setenv("TINYMS_HOME", str(home))
    yield home
    patch.undo()


@pytest.fixture(scope="session")
def lenet():
    import mindspore as ms
    from tinyms.model import create_model

    ms.set_seed(7)
    net = create_model("lenet5", class_num=10)
    net.set_train(False)
    return net


def _read_idx(path):
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)


@pytest.fixture(scope="session")
def mnist_images():
    """The bundled MNIST test images, (1000, 28, 28) uint8."""
    from tinyms.data import sample_dataset

    folder = os.path.join(sample_dataset("mnist"), "test")
    name = next(n for n in os.listdir(folder) if n.startswith("t10k-images"))
    return _read_idx(os.path.join(folder, name))


def png_bytes(array):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def digit_png(mnist_images):
    return png_bytes(mnist_images[0])


@pytest.fixture(scope="session")
def digit_file(tmp_path_factory, digit_png):
    path = tmp_path_factory.mktemp("images") / "digit.png"
    path.write_bytes(digit_png)
    return str(path)


@pytest.fixture(scope="session")
def expected(lenet):
    """``expected(png) -> logits`` computed in this process with tinyms.vision + the network."""
    from mindspore import Tensor
    from tinyms.vision import mnist_transform

    def logits(png):
        return lenet(Tensor(mnist_transform(png)[None])).asnumpy()[0]
    return logits


BAD_ENTRIES = [
    {"name": "bad_format", "model": {"name": "lenet5", "format": "pt"}},
    {"name": "no_weights", "model": {"name": "lenet5", "format": "ckpt"}},
    42,
    {"name": "wrong_classes", "description": "a 10-class checkpoint served as 5 classes",
     "model": {"name": "lenet5", "format": "ckpt", "class_num": 5, "file": "lenet5.ckpt"}},
]


@pytest.fixture(scope="session")
def serving_dir(tmp_path_factory, lenet):
    """lenet5 (checkpoint, ONNX too), lenet5_onnx (ONNX, no batching), and four bad entries."""
    from tinyms.serving import write_servable

    path = tmp_path_factory.mktemp("serving")
    write_servable(str(path), "lenet5", lenet, "LeNet5 from a checkpoint", max_batch_size=8)
    write_servable(str(path), "lenet5_onnx", lenet, "LeNet5 on onnxruntime", formats=("onnx",), max_batch_size=1)
    (path / "wrong_classes").mkdir()
    shutil.copy(path / "lenet5" / "lenet5.ckpt", path / "wrong_classes" / "lenet5.ckpt")
    servable_json = path / "servable.json"
    entries = json.loads(servable_json.read_text())
    servable_json.write_text(json.dumps(entries + BAD_ENTRIES, indent=2))
    return str(path)


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory, lenet):
    """A serving directory with one ONNX servable only."""
    from tinyms.serving import write_servable

    path = tmp_path_factory.mktemp("serving_onnx")
    write_servable(str(path), "lenet5", lenet, "LeNet5 on onnxruntime", formats=("onnx",))
    return str(path)


@pytest.fixture(scope="session")
def server(serving_dir):
    from tinyms.serving import Server

    srv = Server(port=0, serving_path=serving_dir, max_request_bytes=300_000, max_image_pixels=1_000_000)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server):
    return server.client()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid):
    """``pid`` and all its descendants (psutil); just ``[pid]`` once it is gone."""
    import psutil
    try:
        return [pid] + [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return [pid]


def role_of(pid):
    """'supervisor', 'front' or 'executor' for a serving process, else None."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return None
    for i, arg in enumerate(argv):
        if arg.endswith(b"_boot.py") and i + 1 < len(argv):
            return argv[i + 1].decode()
    return None


def loads_mindspore(pid):
    """True if the process has MindSpore's native library mapped."""
    with open(f"/proc/{pid}/maps") as f:
        return "_c_expression" in f.read()
