"""Open Inference Protocol (KServe v2) REST routes, as a standard v2 client uses them."""

import json

import numpy as np
import pytest
import requests


def _batch(n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 32, 32)).astype(np.float32)


def test_server_health_and_metadata(server):
    meta = requests.get(server.url + "/v2", timeout=10).json()
    assert meta["name"] == "tinyms" and "binary_tensor_data" in meta["extensions"]
    assert requests.get(server.url + "/v2/health/live", timeout=10).status_code == 200
    assert requests.get(server.url + "/v2/health/ready", timeout=10).status_code == 200


@pytest.mark.parametrize("name, platform", [("lenet5", "mindspore_checkpoint"), ("lenet5_onnx", "onnxruntime_onnx")])
def test_model_metadata_and_readiness(server, name, platform):
    meta = requests.get(f"{server.url}/v2/models/{name}", timeout=10).json()
    assert meta == {"name": name, "versions": ["1"], "platform": platform,
                    "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 32, 32]}],
                    "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}]}
    assert requests.get(f"{server.url}/v2/models/{name}/versions/1", timeout=10).json() == meta
    ready = requests.get(f"{server.url}/v2/models/{name}/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert requests.get(f"{server.url}/v2/models/{name}/versions/7", timeout=10).status_code == 404
    assert requests.get(server.url + "/v2/models/nope/ready", timeout=10).status_code == 404
    assert requests.get(server.url + "/v2/models/wrong_classes/ready", timeout=10).status_code == 503


@pytest.mark.parametrize("name", ["lenet5", "lenet5_onnx"])
def test_json_infer_round_trip(server, lenet, name):
    from mindspore import Tensor

    x = _batch(3)
    request = {"id": "r-1", "inputs": [{"name": "input", "shape": [3, 1, 32, 32], "datatype": "FP32",
                                        "data": x.reshape(-1).tolist()}],
               "outputs": [{"name": "logits"}]}
    reply = requests.post(f"{server.url}/v2/models/{name}/infer", json=request, timeout=30).json()
    assert reply["model_name"] == name and reply["model_version"] == "1" and reply["id"] == "r-1"
    (out,) = reply["outputs"]
    assert out["name"] == "logits" and out["datatype"] == "FP32" and out["shape"] == [3, 10]
    got = np.asarray(out["data"], np.float32).reshape(3, 10)
    assert np.abs(got - lenet(Tensor(x)).asnumpy()).max() < 1e-5


def test_nested_data_and_versioned_route(server, lenet):
    from mindspore import Tensor

    x = _batch(1, seed=1)
    request = {"inputs": [{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": x.tolist()}]}
    reply = requests.post(server.url + "/v2/models/lenet5/versions/1/infer", json=request, timeout=30).json()
    assert "id" not in reply
    got = np.asarray(reply["outputs"][0]["data"], np.float32).reshape(1, 10)
    assert np.abs(got - lenet(Tensor(x)).asnumpy()).max() < 1e-5


def test_binary_tensor_data_extension(server, lenet):
    from mindspore import Tensor

    x = _batch(2, seed=2)
    raw = x.astype("<f4").tobytes()
    head = json.dumps({"inputs": [{"name": "input", "shape": [2, 1, 32, 32], "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(raw)}}],
                       "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()
    response = requests.post(server.url + "/v2/models/lenet5/infer", data=head + raw, timeout=30,
                             headers={"Content-Type": "application/octet-stream",
                                      "Inference-Header-Content-Length": str(len(head))})
    assert response.status_code == 200
    size = int(response.headers["Inference-Header-Content-Length"])
    meta = json.loads(response.content[:size])
    assert meta["outputs"][0]["parameters"]["binary_data_size"] == 2 * 10 * 4
    got = np.frombuffer(response.content[size:], "<f4").reshape(2, 10)
    assert np.abs(got - lenet(Tensor(x)).asnumpy()).max() < 1e-5


def test_client_infer_uses_both_encodings(client, lenet):
    from mindspore import Tensor

    x = _batch(4, seed=3)
    want = lenet(Tensor(x)).asnumpy()
    assert np.abs(client.infer("lenet5_onnx", x) - want).max() < 1e-5
    assert np.abs(client.infer("lenet5", x, binary=False) - want).max() < 1e-5


def _infer(server, inputs, **extra):
    return requests.post(server.url + "/v2/models/lenet5/infer", json=dict(inputs=inputs, **extra), timeout=30)


@pytest.mark.parametrize("inputs, extra, phrase", [
    ([{"name": "x", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [0.0] * 1024}], {}, "unknown input 'x'"),
    ([{"name": "input", "shape": [1, 1, 32, 32], "datatype": "INT8", "data": [0] * 1024}], {},
     "datatype 'INT8' is not supported"),
    ([{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [0.0] * 3072}], {}, "does not fit"),
    ([{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [0.0] * 10}], {}, "holds 10 values"),
    ([{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": ["a"] * 1024}], {}, "list of numbers"),
    ([{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32"}], {}, "lacks 'data'"),
    ([], {}, "'inputs' must be a list"),
    ([{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [0.0] * 1024}],
     {"outputs": [{"name": "probabilities"}]}, "unknown output 'probabilities'"),
])
def test_infer_errors(server, inputs, extra, phrase):
    response = _infer(server, inputs, **extra)
    assert response.status_code == 400 and phrase in response.json()["error"]
    assert requests.get(server.url + "/v2/health/live", timeout=10).status_code == 200
