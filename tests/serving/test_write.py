"""write_servable: weights and servable.json written atomically, ONNX equal to the network."""

import json
import os

import numpy as np
import pytest

from tinyms.serving import ServableConfigError, write_servable


def test_writes_weights_and_entry(tmp_path, lenet):
    entry = write_servable(str(tmp_path), "digits", lenet, "my digits")
    folder = tmp_path / "digits"
    assert sorted(os.listdir(folder)) == ["digits.ckpt", "digits.onnx"]  # no temporary files left
    assert entry["model"]["format"] == "ckpt"
    assert entry["model"]["files"] == {"ckpt": "digits.ckpt", "onnx": "digits.onnx"}
    assert entry["model"]["input_shape"] == [1, 32, 32] and entry["model"]["labels"] == [str(i) for i in range(10)]
    assert entry["model"]["transform"] == "mnist_transform" and entry["model"]["dataset"] == "mnist"
    assert json.loads((tmp_path / "servable.json").read_text()) == [entry]
    assert all(os.stat(folder / f).st_mode & 0o444 == 0o444 for f in os.listdir(folder))


def test_checkpoint_loads_back_into_the_zoo_network(tmp_path, lenet):
    import mindspore as ms
    from mindspore import Tensor
    from tinyms.model import create_model

    write_servable(str(tmp_path), "digits", lenet, formats=("ckpt",))
    net = create_model("lenet5", class_num=10)
    missing, _ = ms.load_param_into_net(net, ms.load_checkpoint(str(tmp_path / "digits" / "digits.ckpt")))
    assert missing == []
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32))
    assert np.array_equal(net(x).asnumpy(), lenet(x).asnumpy())


def test_onnx_export_has_a_dynamic_batch_and_matches(tmp_path, lenet):
    import onnxruntime as ort
    from mindspore import Tensor

    # Writing twice exports the same network object twice, which MindSpore alone cannot do.
    write_servable(str(tmp_path), "a", lenet, formats=("onnx",))
    write_servable(str(tmp_path), "b", lenet, formats=("onnx",))
    session = ort.InferenceSession(str(tmp_path / "b" / "b.onnx"), providers=["CPUExecutionProvider"])
    assert not isinstance(session.get_inputs()[0].shape[0], int)
    x = np.random.default_rng(1).standard_normal((5, 1, 32, 32)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(got - lenet(Tensor(x)).asnumpy()).max() < 1e-5


def test_rewriting_a_name_replaces_its_entry(tmp_path, lenet):
    write_servable(str(tmp_path), "a", lenet, formats=("ckpt",))
    write_servable(str(tmp_path), "b", lenet, formats=("ckpt",))
    write_servable(str(tmp_path), "a", lenet, "second", formats=("mindir", "ckpt"), max_batch_size=4)
    entries = json.loads((tmp_path / "servable.json").read_text())
    assert [e["name"] for e in entries] == ["b", "a"]
    assert entries[1]["description"] == "second" and entries[1]["model"]["format"] == "mindir"
    assert entries[1]["max_batch_size"] == 4
    assert (tmp_path / "a" / "a.mindir").is_file()


def test_bad_arguments_and_a_broken_file_are_errors(tmp_path, lenet):
    with pytest.raises(ServableConfigError, match="servable name"):
        write_servable(str(tmp_path), "bad name", lenet)
    with pytest.raises(ServableConfigError, match="formats"):
        write_servable(str(tmp_path), "x", lenet, formats=("pt",))
    with pytest.raises(ServableConfigError, match="max_batch_size"):
        write_servable(str(tmp_path), "x", lenet, max_batch_size=0)
    (tmp_path / "servable.json").write_text("[not json")
    with pytest.raises(ServableConfigError, match="not valid JSON"):
        write_servable(str(tmp_path), "x", lenet, formats=("ckpt",))
    assert (tmp_path / "servable.json").read_text() == "[not json"


class _NotExportable:
    """A network with an op MindSpore cannot export to ONNX (adaptive average pooling)."""

    @staticmethod
    def build():
        from mindspore import nn

        class Net(nn.Cell):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.flatten = nn.Flatten()
                self.fc = nn.Dense(4, 3)

            def construct(self, x):
                return self.fc(self.flatten(self.pool(self.conv(x))))
        return Net()


def test_a_format_that_cannot_be_exported_is_skipped_or_an_error(tmp_path, caplog):
    from tinyms.errors import ExportError

    net = _NotExportable.build()
    with caplog.at_level("WARNING", logger="tinyms.serving"):
        entry = write_servable(str(tmp_path), "custom", net, model_name="custom", input_shape=(1, 8, 8))
    assert entry["model"]["files"] == {"ckpt": "custom.ckpt"} and entry["model"]["class_num"] == 3
    assert "onnx export skipped" in caplog.text
    assert sorted(os.listdir(tmp_path / "custom")) == ["custom.ckpt"]
    with pytest.raises(ExportError, match="cannot write 'custom2' as onnx"):
        write_servable(str(tmp_path), "custom2", net, formats=("onnx",), input_shape=(1, 8, 8))
    assert [e["name"] for e in json.loads((tmp_path / "servable.json").read_text())] == ["custom"]
    with pytest.raises(ServableConfigError, match="model_name="):
        write_servable(str(tmp_path), "custom3", net, input_shape=(1, 8, 8))
