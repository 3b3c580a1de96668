"""Client: every input form, structured predictions, typed errors (never an exit)."""

import numpy as np
import pytest

from tinyms.serving import Client, ClientError, ServerNotRunning, list_servables, predict
from tinyms.vision import Prediction, Predictions

from .conftest import free_port, png_bytes


def test_predict_accepts_paths_bytes_pil_and_arrays(client, digit_file, digit_png, mnist_images, expected):
    from PIL import Image

    want = str(int(np.argmax(expected(digit_png))))
    results = [
        client.predict(digit_file, "lenet5", "mnist"),
        client.predict(digit_png, "lenet5"),
        client.predict(Image.fromarray(mnist_images[0]), "lenet5"),
        client.predict(mnist_images[0], "lenet5_onnx"),
        client.predict(mnist_images[0].astype(np.float32) / 255.0, "lenet5"),
    ]
    for res in results:
        assert isinstance(res, Prediction) and res.label == want and 0 < res.score <= 1
        assert len(res.labels) == 1
    top5 = client.predict(digit_file, "lenet5", strategy="top5_class")
    assert len(top5.labels) == 5 and list(top5.scores) == sorted(top5.scores, reverse=True)
    assert top5.label == want and "%" in str(top5)


def test_predict_on_preprocessed_tensors(client, mnist_images, expected):
    from tinyms.vision import mnist_transform

    pngs = [png_bytes(img) for img in mnist_images[:4]]
    batch = np.stack([mnist_transform(p) for p in pngs])
    single = client.predict(batch[0], "lenet5")
    assert isinstance(single, Prediction) and single.label == str(int(np.argmax(expected(pngs[0]))))
    many = client.predict(batch, "lenet5", strategy="TOP5_CLASS")
    assert isinstance(many, Predictions) and len(many) == 4 and many.strategy == "TOP5_CLASS"
    assert [p.label for p in many] == [str(int(np.argmax(expected(p)))) for p in pngs]


def test_module_level_functions(server, digit_file, digit_png, expected):
    names = [s["name"] for s in list_servables(port=server.port)]
    assert names[:2] == ["lenet5", "lenet5_onnx"]
    logits = expected(digit_png).astype(np.float64)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    result = predict(digit_file, "lenet5", "mnist", port=server.port)
    assert isinstance(result, Prediction) and result.label == str(int(np.argmax(logits)))
    assert result.score == pytest.approx(probs.max(), rel=1e-4)


def test_http_errors_become_client_errors(client, digit_png):
    with pytest.raises(ClientError) as missing:
        client.predict(digit_png, "nope")
    assert missing.value.status == 404 and "no servable named 'nope'" in missing.value.message
    assert isinstance(missing.value, ValueError)
    with pytest.raises(ClientError) as wrong:
        client.predict(digit_png, "lenet5", dataset_name="cifar10")
    assert wrong.value.status == 400 and "not cifar10" in str(wrong.value)
    with pytest.raises(ClientError) as big:
        client.predict(b"\0" * 400_000, "lenet5")
    assert big.value.status == 413


def test_local_input_mistakes(client):
    with pytest.raises(FileNotFoundError, match="no image file at 'missing.png'"):
        client.predict("missing.png", "lenet5")
    with pytest.raises(ValueError, match="unknown strategy"):
        client.predict(b"x", "lenet5", strategy="TOP3")
    with pytest.raises(TypeError, match="cannot send an object of type dict"):
        client.predict({"a": 1}, "lenet5")


def test_server_down_is_a_typed_error_not_an_exit():
    client = Client("127.0.0.1", free_port(), timeout=2)
    assert client.server_started() is False
    with pytest.raises(ServerNotRunning, match="no TinyMS server answers at http://127.0.0.1"):
        client.list_servables()
    with pytest.raises(ConnectionError):
        client.predict(b"x", "lenet5")
