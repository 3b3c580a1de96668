"""The guides' code blocks no other test runs, read from the pages and run as written, offline: MNIST from a
127.0.0.1 mirror of the bundled sample (tests/data's fixtures), the server on a free port instead of 5000.
The other blocks are run by the tests their pages name (tests/docs/test_site.py checks every block has one)."""

import functools
import os
import re
import shutil

import yaml
from PIL import Image

from _docs_site import ROOT, block, commands

# The one command of the training page that needs the internet (the page says so): it downloads MNIST.
NEEDS_INTERNET = [["tinyms", "train", "--model", "lenet5", "--data", "mnist", "--epochs", "5", "--lr", "0.03",
                   "--schedule", "cosine"]]


def _seven(path):
    """A 7 of the bundled MNIST sample's test split, saved as a PNG."""
    from tinyms.data import MnistDataset, sample_dataset

    rows = MnistDataset(os.path.join(sample_dataset("mnist"), "test"), shuffle=False)
    for image, label in rows.create_tuple_iterator(output_numpy=True):
        if int(label) == 7:
            Image.fromarray(image[:, :, 0]).save(path)
            return path
    raise AssertionError("the sample has no 7")


def test_the_classification_walkthrough(sample_mirror, isolated_data, tmp_path, monkeypatch, capsys):
    from tinyms.data import download

    monkeypatch.setenv(download.MIRROR_ENV, sample_mirror.url)
    monkeypatch.chdir(tmp_path)
    code = block("guides/classification.md", "test_the_classification_walkthrough", "python")
    scope = {}
    exec(compile(code, "docs/guides/classification.md", "exec"), scope)  # noqa: S102 - the guide's own code
    out = capsys.readouterr().out
    assert sorted(p for p, _ in sample_mirror.requests) == sorted(sample_mirror.files)   # from the mirror, once
    assert "'accuracy'" in out
    rows = sum(1 for _ in scope["MnistDataset"](scope["path"], usage="test").create_tuple_iterator())
    assert scope["model"].eval_samples == rows                           # every test image, once
    assert os.path.isfile("lenet5.ckpt") and len(scope["history"].history["loss"]) == 1
    assert out.strip().splitlines()[-1].split()[0] in [str(d) for d in range(10)]   # '7 (99.6%)'


def test_the_yaml_example_is_the_example_file():
    shown = yaml.safe_load(block("training.md", "test_the_yaml_example_is_the_example_file", "yaml"))
    with open(os.path.join(ROOT, "examples", "train", "mnist.yaml"), encoding="utf-8") as f:
        assert shown == yaml.safe_load(f)   # the same keys and values (the page explains them in comments)


def test_the_training_commands(tmp_path, monkeypatch, capsys):
    """The training page's commands through `tinyms` itself (128 images, one epoch each), then the serving
    page's Predictor block on the run they wrote."""
    from tinyms.cli import main
    from tinyms.serving import Predictor

    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    os.makedirs("examples/train")
    shutil.copy(os.path.join(ROOT, "examples", "train", "mnist.yaml"), "examples/train/mnist.yaml")
    run = commands(block("training.md", "test_the_training_commands", "bash"))
    assert run[:1] == NEEDS_INTERNET and [c[:2] for c in run[1:]] == [
        ["tinyms", "train"], ["tinyms", "train"], ["tinyms", "eval"], ["tinyms", "serve"]]
    quick = ["--num-samples", "128"]
    assert main(run[1][1:] + quick) == 0                                  # the bundled sample, offline
    yaml_run = [("1" if word == "2" else word) for word in run[2][1:]]    # one epoch instead of two
    assert main(yaml_run + quick) == 0
    said = capsys.readouterr().out
    assert said.count("Training lenet5 on mnist") == 2
    assert os.path.isfile(os.path.join("runs", "lenet5-mnist", "best.ckpt"))   # the YAML file's `out`
    assert main(run[3][1:]) == 0
    assert "accuracy" in capsys.readouterr().out
    _seven("7.png")
    with Predictor(run[4][2]) as served:                                   # what `tinyms serve` serves
        answer = served("7.png")
    assert answer.label in [str(d) for d in range(10)]

    code = block("serving.md", "test_the_training_commands runs this block", "python")
    scope = {}
    exec(compile(code, "docs/serving.md", "exec"), scope)  # noqa: S102 - the page's own code
    printed = capsys.readouterr().out.strip()
    assert printed == str(answer)                           # the same answer as the served run's


def test_the_serving_block(tmp_path, monkeypatch, capsys):
    """The serving page's first block after `make quickstart`: the quick start's servable in the default
    serving folder, the server started, asked and stopped; on a free port instead of 5000."""
    import socket

    import tinyms.serving as serving
    from tinyms import _quickstart, hub
    from tinyms.model import Model

    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    _quickstart.save_servable(Model(hub.load("lenet5_mnist")), None)   # what the quick start writes
    _seven("7.png")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in ("start_server", "list_servables", "server_started", "predict", "shutdown"):
        monkeypatch.setattr(serving, name, functools.partial(getattr(serving, name), port=port))
    code = block("serving.md", "test_the_serving_block", "python")
    try:
        exec(compile(code, "docs/serving.md", "exec"), {})  # noqa: S102 - the page's own code
    finally:
        if serving.server_started():
            serving.shutdown()
    out = capsys.readouterr().out.splitlines()
    assert "lenet5" in out[0]                                   # list_servables()
    assert re.fullmatch(r"7 \(\d+\.\d%\)", out[1]), out     # the bundled weights read the 7: '7 (100.0%)'
