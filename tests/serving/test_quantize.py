"""int8 servables: `tinyms export RUN --quantize int8` and tinyms.serving.quantize_servable.

A LeNet5 trained for a few steps on the bundled MNIST sample is quantized from the command line
(auto: dynamic, dense layers) and from Python (static, calibrated on the run's training split,
and on a folder of PNGs). The int8 servables must be smaller, say how they were made, be
served by a real server beside the float one and give the float model's answers on most of a
labelled set; bad inputs are typed errors naming the fix.
"""

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from tests.serving.conftest import png_bytes

LABELLED = 60  # sample test images sent through the server to both servables


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _entries(folder):
    with open(os.path.join(folder, "servable.json"), encoding="utf-8") as f:
        return {e["name"]: e for e in json.load(f)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tinyms train run: LeNet5, one epoch of 1,600 sample images (100 steps of Adam)."""
    from tinyms import _train_cli

    out = str(tmp_path_factory.mktemp("quantize") / "run")
    _train_cli.train(None, {"model": "lenet5", "data": "mnist", "data_dir": "sample", "epochs": 1,
                            "num_samples": 1600, "batch_size": 16, "optimizer": "adam", "lr": 0.002,
                            "out": out}, say=lambda *a, **k: None)
    return out


@pytest.fixture(scope="module")
def labelled(mnist_images):
    """(PNG bytes, label) of the first LABELLED images of the bundled MNIST test sample."""
    import gzip

    from tinyms.data import sample_dataset

    folder = os.path.join(sample_dataset("mnist"), "test")
    name = next(n for n in os.listdir(folder) if n.startswith("t10k-labels"))
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    labels = np.frombuffer(data, np.uint8, offset=8)
    return [(png_bytes(mnist_images[i]), str(labels[i])) for i in range(LABELLED)]


@pytest.fixture(scope="module")
def exported(run_dir):
    """The run after `tinyms export RUN --quantize int8` (auto) and a static export from Python."""
    from tinyms.cli import main
    from tinyms.serving import quantize_servable

    serving = os.path.join(run_dir, "servable")
    float_file = os.path.join(serving, "lenet5", "lenet5.onnx")
    before = _sha256(float_file)
    assert main(["export", run_dir, "--quantize", "int8"]) == 0
    entry = quantize_servable(run_dir, method="static", out_name="lenet5_static", calibration_count=64)
    assert entry["name"] == "lenet5_static"
    return serving, before


def test_int8_servables_are_smaller_and_record_how_they_were_made(exported):
    serving, before = exported
    float_file = os.path.join(serving, "lenet5", "lenet5.onnx")
    assert _sha256(float_file) == before                          # the float servable is untouched
    entries = _entries(serving)
    assert set(entries) == {"lenet5", "lenet5_int8", "lenet5_static"}
    assert "quantization" not in entries["lenet5"]["model"]
    size = os.path.getsize(float_file)
    for name, method in (("lenet5_int8", "dynamic"), ("lenet5_static", "static")):
        model = entries[name]["model"]
        record = model["quantization"]
        path = os.path.join(serving, name, model["files"]["onnx"])
        assert os.path.getsize(path) < 0.35 * size, name           # dense weights are most of LeNet5
        assert model["format"] == "onnx" and model["sha256"] == {"onnx": _sha256(path)}
        assert record["method"] == method and record["dtype"] == "int8"
        assert record["source"] == {"servable": "lenet5", "file": "lenet5.onnx", "sha256": before}
        assert model["recipe"] == entries["lenet5"]["model"]["recipe"]
        assert model["labels"] == entries["lenet5"]["model"]["labels"]
    dynamic = entries["lenet5_int8"]["model"]["quantization"]
    assert dynamic["requested"] == "auto" and dynamic["calibration"] is None
    assert len(dynamic["layers_kept_float"]) == 2 and "channels" in dynamic["reason"]  # LeNet5's narrow convs
    static = entries["lenet5_static"]["model"]["quantization"]
    assert static["calibration"]["count"] == 64 and "mnist" in static["calibration"]["images"]
    assert static["format"] == "qdq" and 0.8 <= static["agreement"] <= 1.0


def test_the_server_serves_int8_beside_float_with_the_same_answers(exported, labelled):
    from tinyms.serving import Server

    serving, _ = exported
    with Server(port=0, serving_path=serving) as server:
        client = server.client()
        listed = {s["name"]: s for s in client.list_servables()}
        assert all(listed[n]["ready"] for n in ("lenet5", "lenet5_int8", "lenet5_static")), listed
        answers = {name: [client.predict(png, name).label for png, _ in labelled]
                   for name in ("lenet5", "lenet5_int8", "lenet5_static")}
    truth = [label for _, label in labelled]
    accuracy = {name: np.mean([a == t for a, t in zip(got, truth)]) for name, got in answers.items()}
    assert accuracy["lenet5"] >= 0.5, accuracy                        # the float model learnt something
    for name in ("lenet5_int8", "lenet5_static"):
        same = np.mean([a == b for a, b in zip(answers[name], answers["lenet5"])])
        assert same >= 0.9, (name, same)
        assert abs(accuracy[name] - accuracy["lenet5"]) <= 0.05, accuracy


def test_calibration_from_a_folder_of_images(exported, labelled, tmp_path):
    from tinyms.serving import quantize_servable

    serving, _ = exported
    folder = tmp_path / "calibration"
    folder.mkdir()
    for i, (png, _) in enumerate(labelled[:12]):
        (folder / f"{i:02d}.png").write_bytes(png)
    (folder / "notes.txt").write_text("not an image")
    entry = quantize_servable(serving, "lenet5", method="static", out_name="lenet5_folder",
                              calibration=str(folder), quant_format="qoperator")
    record = entry["model"]["quantization"]
    assert record["calibration"]["count"] == 12 and record["format"] == "qoperator"
    # run again under the same name: the quantized servable is replaced, nothing else changes
    again = quantize_servable(serving, "lenet5", method="static", out_name="lenet5_folder",
                              calibration=str(folder), calibration_count=5)
    assert again["model"]["quantization"]["calibration"]["count"] == 5
    assert list(_entries(serving)).count("lenet5_folder") == 1


def test_errors_are_typed_and_name_the_fix(exported, tmp_path, capsys):
    from tinyms.cli import main
    from tinyms.errors import DatasetError, ExportError, UnknownNameError
    from tinyms.serving import ServableConfigError, quantize_servable

    serving, _ = exported
    copy = tmp_path / "serving"
    shutil.copytree(serving, copy)
    # a serving folder outside any run: static needs calibration images
    with pytest.raises(DatasetError, match="--calibration-data FOLDER"):
        quantize_servable(str(copy), "lenet5", method="static")
    # the float servable is never overwritten, nor another float servable
    with pytest.raises(ServableConfigError, match="--name"):
        quantize_servable(str(copy), "lenet5", out_name="lenet5")
    with pytest.raises(UnknownNameError, match="already quantized"):
        quantize_servable(str(copy), "lenet5_int8")
    with pytest.raises(UnknownNameError, match="method"):
        quantize_servable(str(copy), "lenet5", method="fp4")
    # several float servables: which one must be said
    entries = json.loads((copy / "servable.json").read_text())
    twin = json.loads(json.dumps(entries[0]))
    twin["name"] = "twin"
    shutil.copytree(copy / "lenet5", copy / "twin")
    (copy / "servable.json").write_text(json.dumps(entries + [twin]))
    with pytest.raises(UnknownNameError, match="--servable NAME"):
        quantize_servable(str(copy))
    # a servable without an ONNX model (a network MindSpore could not export)
    ckpt_only = [dict(e, model=dict(e["model"], format="ckpt", files={"ckpt": "lenet5.ckpt"}))
                 if e["name"] == "twin" else e for e in entries + [twin]]
    (copy / "servable.json").write_text(json.dumps(ckpt_only))
    with pytest.raises(ExportError, match="no ONNX model.*formats=\\('onnx'"):
        quantize_servable(str(copy), "twin")
    # an ONNX file changed after it was written
    with open(copy / "lenet5" / "lenet5.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ExportError, match="SHA-256"):
        quantize_servable(str(copy), "lenet5")
    # the command line: one line, exit status 1
    assert main(["export", str(tmp_path / "nothing"), "--quantize", "int8"]) == 1
    assert main(["export", str(copy), "--servable", "lenet5", "--quantize", "int8"]) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 2 and "Traceback" not in err
    assert "no run directory or servable" in err and "SHA-256" in err


def _onnx_net(convs, dense=True):
    """A small ONNX graph: Conv layers of (in, out) channels, then optionally a Gemm."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev, channels = [], [], "x", convs[0][0] if convs else 4
    for i, (cin, cout) in enumerate(convs):
        inits.append(numpy_helper.from_array(np.ones((cout, cin, 3, 3), np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]))
        prev, channels = f"c{i}", cout
    if dense:
        nodes.append(helper.make_node("Flatten", [prev], ["f"], name="flat"))
        inits.append(numpy_helper.from_array(np.ones((channels * 16, 3), np.float32), "wd"))
        nodes.append(helper.make_node("Gemm", ["f", "wd"], ["y"], name="dense"))
        prev = "y"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4, 4, 4])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    return onnx.helper.make_model(graph)


def test_auto_picks_static_for_wide_convolutions_and_dynamic_otherwise():
    from tinyms.errors import ExportError
    from tinyms.serving._quantize import MIN_CONV_CHANNELS, _choose

    wide = MIN_CONV_CHANNELS
    method, kept, why = _choose(_onnx_net([(4, wide), (wide, wide), (wide, 8)]), "auto")
    assert (method, kept) == ("static", []) and "2 of 3" in why      # all convolutions, the narrow one too
    assert _choose(_onnx_net([(4, 6), (6, wide), (wide, 8)]), "auto")[:2] == ("dynamic", ["conv0", "conv1", "conv2"])
    assert _choose(_onnx_net([], dense=True), "auto")[:2] == ("dynamic", [])
    assert _choose(_onnx_net([(4, 6)]), "static")[:2] == ("static", [])     # the user's choice wins
    with pytest.raises(ExportError, match="static"):
        _choose(_onnx_net([(4, 6)], dense=False), "auto")
    with pytest.raises(ExportError, match="static"):
        _choose(_onnx_net([(4, wide)], dense=False), "dynamic")
