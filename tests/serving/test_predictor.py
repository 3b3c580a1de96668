"""tinyms.serving.Predictor in the full install: the server's answers in-process, its folders and its errors.

The runtime without MindSpore is tested for real in test_edge_runtime.py; here MindSpore's
absence is simulated (``_edge.mindspore_installed``) to check which file a servable is run from.
"""

import json
import os
import shutil

import numpy as np
import pytest

from tinyms.serving import ClientError, MindSporeRequiredError, Predictor, ServableConfigError
from tinyms.serving import _edge


def test_predictor_answers_as_the_server(server, client, serving_dir, digit_png, expected):
    predict = Predictor(serving_dir, "lenet5_onnx")
    mine, theirs = predict(digit_png, strategy="TOP5_CLASS"), client.predict(digit_png, "lenet5_onnx",
                                                                             strategy="TOP5_CLASS")
    assert mine == theirs and len(mine.labels) == 5
    assert mine.index == int(np.argmax(expected(digit_png)))
    batch = np.random.default_rng(0).standard_normal((3, 1, 32, 32)).astype(np.float32)
    assert predict(batch) == client.predict(batch, "lenet5_onnx")
    assert predict.info == next(s for s in client.list_servables() if s["name"] == "lenet5_onnx")
    # the checkpoint servable runs on MindSpore in this process, as the server's executor does
    ckpt = Predictor(serving_dir, "lenet5")(digit_png, strategy="TOP5_CLASS")
    served = client.predict(digit_png, "lenet5", strategy="TOP5_CLASS")
    assert ckpt.labels == served.labels and np.allclose(ckpt.scores, served.scores, rtol=1e-5)


def test_predictor_finds_the_servable_from_its_folder_or_a_run(onnx_dir, tmp_path, digit_png):
    by_folder = Predictor(onnx_dir)(digit_png)  # the folder's only servable
    assert Predictor(os.path.join(onnx_dir, "lenet5"))(digit_png) == by_folder
    run = tmp_path / "run"
    shutil.copytree(onnx_dir, run / "servable")
    with Predictor(str(run)) as predict:  # a tinyms train run directory
        assert predict(digit_png) == by_folder and predict.name == "lenet5"


def test_predictor_errors_name_the_problem(serving_dir, onnx_dir, tmp_path):
    with pytest.raises(ServableConfigError, match="pass name= to choose one"):
        Predictor(serving_dir)
    with pytest.raises(ServableConfigError, match="servable 'bad_format' cannot be used: model.format 'pt'"):
        Predictor(serving_dir, "bad_format")
    with pytest.raises(ServableConfigError, match="no servable named 'nope'"):
        Predictor(serving_dir, "nope")
    with pytest.raises(ServableConfigError, match="holds no servable.json"):
        Predictor(str(tmp_path))
    predict = Predictor(onnx_dir)
    with pytest.raises(ClientError, match="cannot decode the 4 bytes") as err:
        predict(b"junk")
    assert err.value.status == 400
    with pytest.raises(ValueError, match="unknown strategy"):
        predict(b"junk", strategy="BEST")


def test_without_mindspore_a_servable_runs_from_its_onnx_model_or_is_refused(serving_dir, lenet, tmp_path,
                                                                           digit_png, monkeypatch):
    from tinyms.serving import write_servable

    write_servable(str(tmp_path), "ckpt_only", lenet, formats=("ckpt",))
    monkeypatch.setattr(_edge, "mindspore_installed", lambda: False)
    predict = Predictor(serving_dir, "lenet5")  # checkpoint served, ONNX copy recorded
    assert predict.info["model"]["format"] == "onnx" and predict.info["model"]["file"] == "lenet5/lenet5.onnx"
    assert predict(digit_png) == Predictor(serving_dir, "lenet5_onnx")(digit_png)
    with pytest.raises(MindSporeRequiredError) as err:
        Predictor(str(tmp_path), "ckpt_only")
    assert str(err.value).startswith("servable 'ckpt_only' has only a MindSpore checkpoint (ckpt_only.ckpt) and "
                                     "this environment has no MindSpore")
    assert "write_servable(folder, 'ckpt_only', net, formats=('onnx', 'ckpt'))" in str(err.value)
    specs, refused = _edge.runnable_here(*_specs(str(tmp_path)))
    assert specs == [] and refused == {"ckpt_only": str(err.value)}


def test_a_recorded_onnx_copy_is_checked_like_any_weights(tmp_path, lenet, monkeypatch):
    from tinyms.serving import write_servable

    write_servable(str(tmp_path), "lenet5", lenet, formats=("ckpt", "onnx"))
    with open(tmp_path / "lenet5" / "lenet5.onnx", "ab") as f:
        f.write(b"\0")  # changed after it was written
    monkeypatch.setattr(_edge, "mindspore_installed", lambda: False)
    with pytest.raises(ServableConfigError, match="does not match the SHA-256 recorded"):
        Predictor(str(tmp_path))
    entries = json.loads((tmp_path / "servable.json").read_text())
    assert entries[0]["model"]["format"] == "ckpt"  # nothing written


def _specs(folder):
    from tinyms.serving._config import load_servables

    return load_servables(folder)[0], folder
