"""TinyMS routes over real HTTP: predictions, every kind of bad request, metrics, OpenAPI, page."""

import base64
import json

import numpy as np
import pytest
import requests

from .conftest import png_bytes


def _tensor(x):
    x = np.ascontiguousarray(x, dtype="<f4")
    return {"shape": list(x.shape), "dtype": "float32", "data": base64.b64encode(x.tobytes()).decode()}


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _assert_alive(server):
    assert requests.get(server.url + "/v2/health/ready", timeout=10).status_code == 200


def test_list_servables_reports_good_and_bad_entries(server):
    reply = requests.get(server.url + "/servables", timeout=10).json()
    by_name = {s["name"]: s for s in reply["servables"]}
    assert by_name["lenet5"]["ready"] and by_name["lenet5_onnx"]["ready"]
    assert by_name["lenet5"]["model"]["format"] == "ckpt" and by_name["lenet5"]["inputs"] == ["image", "tensor"]
    assert by_name["lenet5"]["description"] == "LeNet5 from a checkpoint"
    assert by_name["wrong_classes"]["ready"] is False
    assert "cannot load checkpoint" in by_name["wrong_classes"]["error"]
    problems = "\n".join(reply["problems"])
    assert "servable.json, entry 2 ('bad_format')" in problems and "model.format 'pt'" in problems
    assert "entry 3 ('no_weights')" in problems and "does not exist" in problems
    assert "entry 4: an entry must be a JSON object" in problems
    assert server.unavailable.keys() == {"wrong_classes"} and len(server.problems) == 3


@pytest.mark.parametrize("name", ["lenet5", "lenet5_onnx"])
def test_image_prediction_equals_in_process_prediction(server, digit_png, expected, name):
    want = _softmax(expected(digit_png))
    body = {"image": base64.b64encode(digit_png).decode(), "strategy": "TOP5_CLASS", "dataset": "mnist"}
    reply = requests.post(f"{server.url}/servables/{name}", json=body, timeout=30).json()
    assert reply["servable"] == name and reply["strategy"] == "TOP5_CLASS" and reply["batch"] is False
    (pred,) = reply["predictions"]
    order = np.argsort(-want, kind="stable")[:5]
    assert [t["label"] for t in pred["top"]] == [str(i) for i in order]
    assert [t["score"] for t in pred["top"]] == pytest.approx(want[order].tolist(), abs=1e-5)
    assert pred["label"] == pred["top"][0]["label"] and pred["score"] == pred["top"][0]["score"]


def test_raw_and_multipart_image_uploads(server, digit_png):
    raw = requests.post(f"{server.url}/servables/lenet5?strategy=TOP5_CLASS", data=digit_png,
                        headers={"Content-Type": "image/png"}, timeout=30).json()
    form = requests.post(f"{server.url}/servables/lenet5", files={"file": ("d.png", digit_png, "image/png")},
                         data={"strategy": "TOP5_CLASS"}, timeout=30).json()
    assert len(raw["predictions"][0]["top"]) == 5
    assert raw["predictions"] == form["predictions"]


def test_tensor_batch_prediction(server, expected, mnist_images):
    from tinyms.vision import mnist_transform

    pngs = [png_bytes(img) for img in mnist_images[:3]]
    x = np.stack([mnist_transform(p) for p in pngs])
    reply = requests.post(f"{server.url}/servables/lenet5", json={"tensor": _tensor(x)}, timeout=30).json()
    assert reply["batch"] is True and len(reply["predictions"]) == 3
    for png, pred in zip(pngs, reply["predictions"]):
        assert pred["label"] == str(int(np.argmax(expected(png))))


BAD_REQUESTS = [
    # (description, kwargs for requests.post, status, phrase in the error)
    ("malformed JSON", dict(data=b"{oops", headers={"Content-Type": "application/json"}), 400, "not valid JSON"),
    ("JSON not an object", dict(json=[1, 2]), 400, "must be an object"),
    ("no image or tensor", dict(json={"strategy": "TOP1_CLASS"}), 400, "needs an 'image' field"),
    ("tensor lacks fields", dict(json={"tensor": {"shape": [1, 32, 32]}}), 400, "lacks dtype, data"),
    ("wrong shape", dict(json={"tensor": _tensor(np.zeros((3, 28, 28)))}), 400, "does not fit"),
    ("wrong dtype", dict(json={"tensor": dict(_tensor(np.zeros((1, 32, 32))), dtype="int8")}), 400,
     "dtype 'int8' is not supported"),
    ("data size", dict(json={"tensor": dict(_tensor(np.zeros((1, 32, 32))), shape=[2, 1, 32, 32])}), 400,
     "needs 8192"),
    ("nested list data", dict(json={"tensor": {"shape": [1], "dtype": "float32", "data": [1.0]}}), 400,
     "not a JSON list"),
    ("bad base64", dict(json={"image": "***not base64***"}), 400, "not valid base64"),
    ("undecodable image", dict(data=b"GIF89a garbage", headers={"Content-Type": "image/gif"}), 400,
     "cannot decode"),
    ("empty body", dict(data=b"", headers={"Content-Type": "image/png"}), 400, "body is empty"),
    ("unknown strategy", dict(json={"image": "", "strategy": "TOP3"}), 400, "unknown strategy"),
    ("dataset mismatch", dict(json={"tensor": _tensor(np.zeros((1, 32, 32))), "dataset": "cifar10"}), 400,
     "takes mnist inputs, not cifar10"),
    ("non-finite tensor", dict(json={"tensor": _tensor(np.full((1, 32, 32), np.nan))}), 400, "NaN"),
    ("unsupported type", dict(data=b"x", headers={"Content-Type": "text/plain"}), 415, "not supported"),
    ("oversized body", dict(data=b"\0" * 400_000, headers={"Content-Type": "image/png"}), 413,
     "more than this server's limit of 300,000"),
    ("oversized image", dict(data=png_bytes(np.zeros((1200, 1000), np.uint8)), headers={"Content-Type": "image/png"}),
     413, "1000x1200 pixels"),
]


@pytest.mark.parametrize("what, kwargs, status, phrase", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(server, what, kwargs, status, phrase):
    response = requests.post(server.url + "/servables/lenet5", timeout=30, **kwargs)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert phrase in body["error"] and body["type"]
    assert "Traceback" not in response.text
    _assert_alive(server)


def test_unknown_servable_route_and_method(server):
    missing = requests.post(server.url + "/servables/nope", json={}, timeout=10)
    assert missing.status_code == 404 and "no servable named 'nope'" in missing.json()["error"]
    assert "lenet5" in missing.json()["error"]
    broken = requests.post(server.url + "/servables/wrong_classes", json={}, timeout=10)
    assert broken.status_code == 503 and "is not available" in broken.json()["error"]
    route = requests.get(server.url + "/nowhere", timeout=10)
    assert route.status_code == 404 and route.json()["error"].startswith("no route /nowhere")
    method = requests.delete(server.url + "/servables/lenet5", timeout=10)
    assert method.status_code == 405 and method.headers["Allow"] == "GET, HEAD, POST"
    assert "DELETE is not allowed" in method.json()["error"]
    assert requests.put(server.url + "/v2/models/lenet5/infer", timeout=10).status_code == 405
    _assert_alive(server)


def test_metrics_count_requests_errors_latency_and_batches(server, digit_png):
    requests.post(server.url + "/servables/lenet5", data=digit_png, headers={"Content-Type": "image/png"}, timeout=30)
    requests.post(server.url + "/servables/nope", json={}, timeout=10)
    response = requests.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    assert 'tinyms_http_requests_total{method="POST",route="predict",status="200"}' in text
    assert 'tinyms_http_errors_total{route="predict",status="404"}' in text
    assert 'tinyms_http_request_duration_seconds_bucket{le="0.05",route="predict"}' in text
    assert 'tinyms_batch_size_count{servable="lenet5"}' in text
    assert 'tinyms_model_batch_size_count{servable="lenet5"}' in text  # from the MindSpore executor process
    assert 'tinyms_predictions_total{servable="lenet5"}' in text


def test_openapi_describes_every_route(server):
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    for path in ["/", "/servables", "/servables/{name}", "/v2", "/v2/health/live", "/v2/health/ready",
                 "/v2/models/{name}", "/v2/models/{name}/ready", "/v2/models/{name}/infer", "/metrics",
                 "/openapi.json"]:
        assert path in doc["paths"], path
    assert set(doc["paths"]["/servables/{name}"]) == {"get", "post"}
    json.dumps(doc)


def test_web_page_and_static_files(server):
    page = requests.get(server.url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<canvas id="canvas"' in page.text and 'type="file"' in page.text
    script = requests.get(server.url + "/static/app.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert requests.get(server.url + "/static/../servable.json", timeout=10).status_code == 404
    head = requests.head(server.url + "/servables", timeout=10)
    assert head.status_code == 200 and head.content == b""
