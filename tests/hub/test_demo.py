"""The one-minute demos: `tinyms predict photo.jpg --model resnet50` with ImageNet weights laid out as
mindcv's (served from 127.0.0.1 as TINYMS_HUB_MIRROR), and `tinyms serve --model lenet5_mnist`."""

import hashlib
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tinyms import cli, hub
from tinyms.model import create_model, register_weights
from tinyms.model._mindcv import imagenet_labels


@pytest.fixture(scope="module")
def resnet50_checkpoint(tmp_path_factory):
    """A checkpoint of mindcv's own ResNet-50 (random weights), named like mindcv's files."""
    import mindcv.models
    import mindspore as ms

    from tinyms.model._checkpoint import save_checkpoint

    ms.set_seed(3)
    net = mindcv.models.create_model("resnet50", num_classes=1000, pretrained=False)
    path = save_checkpoint(net, str(tmp_path_factory.mktemp("r50") / "resnet50"))
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    return f"resnet50-{digest[:8]}.ckpt", digest, data


def test_predict_prints_the_top5_imagenet_labels(server, resnet50_checkpoint, monkeypatch, tmp_path, capsys):
    file, digest, data = resnet50_checkpoint
    server.files[f"/mirror/{file}"] = data
    official = hub.info("resnet50")
    assert official.urls[0].startswith("https://download.mindspore.cn/") and official.hash_prefix == "e0733ab8"
    register_weights("resnet50", "imagenet", overwrite=True, file=file, hash_prefix=digest[:8],
                     urls=[f"https://download.mindspore.cn/toolkits/mindcv/resnet/{file}"])
    monkeypatch.setenv(hub.MIRROR_ENV, f"{server.url}/mirror")
    photo = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(photo)

    assert cli.main(["predict", str(photo), "--model", "resnet50"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert server.requests == [f"/mirror/{file}"]   # downloaded through the mirror, verified
    assert lines[0] == f"{photo}: resnet50.imagenet" and len(lines) == 6
    rows = [re.fullmatch(r"\s+(\d)\. (.+?)\s+(\d+\.\d\d)%", line) for line in lines[1:]]
    assert [int(r[1]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(r[2] in imagenet_labels() for r in rows)
    scores = [float(r[3]) for r in rows]
    assert scores == sorted(scores, reverse=True)

    # The Python equivalent gives the same answer, from the cache this time.
    top5 = hub.predict(str(photo), "resnet50")
    assert [label for label in top5.labels] == [r[2] for r in rows] and len(server.requests) == 1
    # and the weights are mindcv's layout loaded into TinyMS's resnet50 by exact name
    net = create_model("resnet50", pretrained=True)
    assert net.default_cfg.labels == imagenet_labels() and net.default_cfg.recipe.eval[0].op == "resize"


def test_predict_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path / "missing.jpg")]) == 1
    assert "no image file" in capsys.readouterr().err


def test_serve_model_serves_the_shipped_lenet5_out_of_the_box(tmp_path):
    import requests

    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.serving import Client

    image, label = next(MnistDataset(sample_dataset("mnist"), usage="test", shuffle=False)
                        .create_tuple_iterator(output_numpy=True))
    digit = tmp_path / "digit.png"
    Image.fromarray(image.squeeze()).save(digit)
    serving = tmp_path / "serving"
    env = {**os.environ, "TINYMS_HOME": str(tmp_path / "home"), "TINYMS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tinyms", "serve", str(serving), "--model", "lenet5_mnist",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = None
        for line in proc.stderr:
            found = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None
        assert requests.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=30).status_code == 200
        prediction = Client(port=port).predict(str(digit), "lenet5_mnist", "mnist")
        assert prediction.label == str(int(label)) and prediction.score > 0.9
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
