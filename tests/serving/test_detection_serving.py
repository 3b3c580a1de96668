"""Detection servables: written from a detector, served over both routes, boxes drawn on the page.

The detector is a small real network (``TinyDetector``): a 4x4 grid of anchors over a 64x64
input, each cell scoring red, green and blue by its mean colour (background first), so a photo
with coloured rectangles has known objects. Every expected answer is computed here from the
network's raw output (best class per anchor, threshold, greedy NMS, mapping back through the
resize or letterbox by hand), independently of the serving code.
"""

import base64
import io
import json
import threading

import numpy as np
import pytest
import requests

from .conftest import loads_mindspore, process_tree, role_of

LABELS = ("red", "green", "blue")
SIZE = 64
PHOTO_W, PHOTO_H = 120, 90


def _detector_class():
    from mindspore import Parameter, Tensor, nn, ops

    class TinyDetector(nn.Cell):
        """(boxes yxyx in [0, 1], sigmoid scores with a background column) from an image."""

        def __init__(self, cells=4):
            super().__init__()
            self.pool = nn.AvgPool2d(kernel_size=SIZE // cells, stride=SIZE // cells)
            self.anchor_count = cells * cells
            ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
            anchors = np.stack([ys, xs, ys + 1, xs + 1], -1).reshape(1, -1, 4) / cells
            self.anchors = Tensor(anchors.astype(np.float32))
            self.weight = Parameter(Tensor(np.float32(4.0)), name="weight")
            self.bias = Parameter(Tensor(np.float32(-2.0)), name="bias")

        def construct(self, x):
            cellwise = ops.transpose(self.pool(x), (0, 2, 3, 1)).reshape(-1, self.anchor_count, len(LABELS))
            objects = ops.sigmoid(cellwise * self.weight + self.bias)
            scores = ops.concat((1.0 - objects.max(axis=-1, keepdims=True), objects), axis=-1)
            boxes = self.anchors + x.mean(axis=(1, 2, 3), keep_dims=True).reshape(-1, 1, 1) * 0.0
            return boxes, scores

    return TinyDetector


def _transform(letterbox=False):
    from tinyms.vision import VOCTransform

    return VOCTransform(size=SIZE, mean=(0.5,) * 3, std=(0.5,) * 3, labels=LABELS, letterbox=letterbox,
                        augment="none")


@pytest.fixture(scope="module")
def detector():
    import mindspore as ms
    from tinyms.model.registry import ModelConfig

    ms.set_context(mode=ms.GRAPH_MODE)
    net = _detector_class()()
    net.set_train(False)
    net.default_cfg = ModelConfig(name="tiny_detector", input_shape=(3, SIZE, SIZE), mean=(0.5,) * 3,
                                  std=(0.5,) * 3, labels=LABELS, recipe=_transform().recipe, task="detection",
                                  background=True)
    return net


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    """A 120x90 PNG: red top-left quarter (4 cells), green bottom-right cell, blue over 2/3 of a cell."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (PHOTO_W, PHOTO_H), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 59, 44], fill=(255, 0, 0))
    draw.rectangle([90, 68, 119, 89], fill=(0, 255, 0))
    draw.rectangle([60, 45, 79, 67], fill=(0, 0, 255))
    path = tmp_path_factory.mktemp("photos") / "shapes.png"
    img.save(path, format="PNG")
    return str(path)


@pytest.fixture(scope="module")
def photo(photo_file):
    with open(photo_file, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def serving(tmp_path_factory, detector, lenet):
    from tinyms.serving import write_servable

    path = tmp_path_factory.mktemp("detection_serving")
    entries = {
        "det_onnx": write_servable(str(path), "det_onnx", detector, "shapes on onnxruntime", formats=("onnx",),
                                   transform=_transform()),
        "det_mindir": write_servable(str(path), "det_mindir", detector, "shapes on MindSpore", formats=("mindir",),
                                     transform=_transform(), max_batch_size=4),
        "det_letterbox": write_servable(str(path), "det_letterbox", detector, "letterboxed", formats=("onnx",),
                                        transform=_transform(letterbox=True), score_threshold=0.4,
                                        max_detections=3),
        "digits": write_servable(str(path), "digits", lenet, "a classifier", formats=("onnx",)),
    }
    return str(path), entries


@pytest.fixture(scope="module")
def server(serving):
    from tinyms.serving import Server

    with Server(port=0, serving_path=serving[0]) as srv:
        yield srv


def _network_output(net, photo_bytes, letterbox=False):
    """The network's raw (boxes, scores) for one photo, prepared by the library's own transform."""
    from mindspore import Tensor
    from PIL import Image

    x = _transform(letterbox)(np.asarray(Image.open(io.BytesIO(photo_bytes)).convert("RGB")))
    boxes, scores = net(Tensor(x[None]))
    return boxes.asnumpy()[0], scores.asnumpy()[0]


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def _expected(boxes, scores, width, height, letterbox=False, threshold=0.3, most=100):
    """Each object as (label_id, [xmin, ymin, xmax, ymax] in photo pixels, score), best first."""
    objects = scores[:, 1:]
    best, best_score = objects.argmax(1), objects.max(1)
    order = [a for a in np.argsort(-best_score, kind="stable") if best_score[a] > threshold]
    xyxy = boxes[:, [1, 0, 3, 2]].astype(np.float64) * SIZE
    chosen = []
    for a in order:
        if all(best[a] != best[b] or _iou(xyxy[a], xyxy[b]) <= 0.5 for b in chosen):
            chosen.append(a)
    if letterbox:  # the photo scaled to fit, centred on grey
        ratio = min(SIZE / height, SIZE / width)
        new_w, new_h = round(width * ratio), round(height * ratio)
        sx, sy, tx, ty = new_w / width, new_h / height, (SIZE - new_w) // 2, (SIZE - new_h) // 2
    else:  # stretched
        sx, sy, tx, ty = SIZE / width, SIZE / height, 0, 0
    out = []
    for a in chosen[:most]:
        x0, y0, x1, y1 = xyxy[a]
        box = [(x0 - tx) / sx, (y0 - ty) / sy, (x1 - tx) / sx, (y1 - ty) / sy]
        box = [min(max(v, 0.0), limit) for v, limit in zip(box, (width, height, width, height))]
        out.append((int(best[a]), box, float(best_score[a])))
    return out


def _assert_same(found, expected):
    """Served detections (dicts) equal the expected ones; ties in score may come in any order."""
    assert len(found) == len(expected)
    scores = [d["score"] for d in found]
    assert scores == sorted(scores, reverse=True)
    got = sorted((d["label_id"], d["box"], d["score"]) for d in found)
    want = sorted(expected)
    for (gid, gbox, gscore), (wid, wbox, wscore) in zip(got, want):
        assert gid == wid and gbox == pytest.approx(wbox, abs=2e-3) and gscore == pytest.approx(wscore, abs=1e-5)
    assert all(d["label"] == LABELS[d["label_id"]] for d in found)


def test_write_servable_records_a_detector(serving, detector):
    import onnxruntime as ort
    from mindspore import Tensor

    path, entries = serving
    model = entries["det_onnx"]["model"]
    assert model["task"] == "detection" and model["background"] is True
    assert model["labels"] == list(LABELS) and model["class_num"] == 4  # 3 objects + the background column
    assert model["detection"] == {"score_threshold": 0.3, "iou_threshold": 0.5, "max_detections": 100}
    assert model["recipe"]["eval"][0] == ["resize", {"size": [SIZE, SIZE]}]
    assert entries["det_letterbox"]["model"]["recipe"]["eval"][0][0] == "letterbox"
    assert entries["det_letterbox"]["model"]["detection"]["max_detections"] == 3
    assert entries["digits"]["model"]["task"] == "classification" and "detection" not in entries["digits"]["model"]
    session = ort.InferenceSession(f"{path}/det_onnx/det_onnx.onnx", providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores"]
    assert not isinstance(session.get_inputs()[0].shape[0], int)  # the batch is dynamic
    x = np.random.default_rng(0).standard_normal((3, 3, SIZE, SIZE)).astype(np.float32)
    for got, want in zip(session.run(None, {session.get_inputs()[0].name: x}), detector(Tensor(x))):
        assert np.abs(got - want.asnumpy()).max() < 1e-5


def test_write_servable_refuses_what_it_cannot_serve(tmp_path, detector, lenet):
    from tinyms.serving import ServableConfigError, write_servable
    from tinyms.vision import ImageFolderTransform

    cases = [
        (dict(net=detector, score_threshold=1.5), "score_threshold must be a number from 0 to 1"),
        (dict(net=detector, max_detections=0), "max_detections must be an integer from 1 to 1000"),
        (dict(net=detector, class_num=7), "class_num=7 (does not fit the network|but the network was built)"),
        (dict(net=detector, labels=["red", "green", "blue", "extra"]), "labels has 4 names but the network scores 4"),
        (dict(net=detector, transform=ImageFolderTransform(size=SIZE)), "must resize or letterbox"),
        (dict(net=lenet, score_threshold=0.5), "only apply to detection networks"),
    ]
    for kwargs, phrase in cases:
        net = kwargs.pop("net")
        with pytest.raises(ServableConfigError, match=phrase):
            write_servable(str(tmp_path), "x", net, formats=("onnx",), **kwargs)
    assert not (tmp_path / "servable.json").exists()


@pytest.mark.parametrize("name, letterbox, threshold", [("det_onnx", False, 0.3), ("det_mindir", False, 0.3),
                                                        ("det_letterbox", True, 0.4)])
def test_boxes_come_back_in_pixels_of_the_photo(server, detector, photo, name, letterbox, threshold):
    reply = requests.post(f"{server.url}/servables/{name}", data=photo, headers={"Content-Type": "image/png"},
                          timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert body["task"] == "detection" and body["servable"] == name and body["batch"] is False
    assert body["score_threshold"] == threshold
    (found,) = body["predictions"]
    assert found["image_size"] == {"width": PHOTO_W, "height": PHOTO_H}
    want = _expected(*_network_output(detector, photo, letterbox), PHOTO_W, PHOTO_H, letterbox, threshold,
                     most=3 if letterbox else 100)
    _assert_same(found["detections"], want)
    if not letterbox:  # the four red cells of the top-left quarter, the green bottom-right one, the blue one
        boxes = sorted((d["label"], d["box"]) for d in found["detections"])
        assert boxes == [("blue", [60.0, 45.0, 90.0, 67.5]), ("green", [90.0, 67.5, 120.0, 90.0]),
                         ("red", [0.0, 0.0, 30.0, 22.5]),
                         ("red", [0.0, 22.5, 30.0, 45.0]), ("red", [30.0, 0.0, 60.0, 22.5]),
                         ("red", [30.0, 22.5, 60.0, 45.0])]


def test_options_from_query_json_and_form(server, detector, photo):
    url = f"{server.url}/servables/det_onnx"
    raw = _network_output(detector, photo)
    high = requests.post(url + "?score_threshold=0.875", data=photo, headers={"Content-Type": "image/png"},
                         timeout=30).json()
    _assert_same(high["predictions"][0]["detections"], _expected(*raw, PHOTO_W, PHOTO_H, threshold=0.875))
    assert [d["label"] for d in high["predictions"][0]["detections"]] == ["red"] * 4  # green scores 0.873
    body = {"image": base64.b64encode(photo).decode(), "max_detections": 2, "score_threshold": 0.1}
    few = requests.post(url, json=body, timeout=30).json()
    assert few["max_detections"] == 2 and few["score_threshold"] == 0.1
    _assert_same(few["predictions"][0]["detections"], _expected(*raw, PHOTO_W, PHOTO_H, threshold=0.1, most=2))
    every = requests.post(url, files={"file": ("p.png", photo, "image/png")}, timeout=30,
                          data={"score_threshold": "0", "strategy": "ALL_CLASSES"}).json()
    assert every["strategy"] == "ALL_CLASSES"
    assert len(every["predictions"][0]["detections"]) == 16 * 3  # every cell, once per class (no overlaps)


@pytest.mark.parametrize("query, phrase", [
    ("score_threshold=1.5", "score_threshold must be a number from 0 to 1"),
    ("score_threshold=-0.1", "score_threshold must be a number from 0 to 1"),
    ("score_threshold=nan", "score_threshold must be a number from 0 to 1"),
    ("score_threshold=high", "score_threshold must be a number from 0 to 1"),
    ("iou_threshold=2", "iou_threshold must be a number from 0 to 1"),
    ("max_detections=0", "max_detections must be an integer from 1 to 1000"),
    ("max_detections=1001", "max_detections must be an integer from 1 to 1000"),
    ("max_detections=2.5", "max_detections must be an integer from 1 to 1000"),
    ("strategy=TOP5_CLASS", "unknown strategy 'TOP5_CLASS' for a detection servable"),
])
def test_bad_options_are_400(server, photo, query, phrase):
    reply = requests.post(f"{server.url}/servables/det_onnx?{query}", data=photo,
                          headers={"Content-Type": "image/png"}, timeout=30)
    assert reply.status_code == 400 and phrase in reply.json()["error"] and "Traceback" not in reply.text


def test_bad_json_options_and_classifier_options_are_400(server, photo):
    image = base64.b64encode(photo).decode()
    for body in ({"image": image, "score_threshold": True}, {"image": image, "max_detections": "many"},
                 {"image": image, "score_threshold": [0.5]}):
        reply = requests.post(f"{server.url}/servables/det_onnx", json=body, timeout=30)
        assert reply.status_code == 400 and reply.json()["type"] == "InvalidOption"
    reply = requests.post(f"{server.url}/servables/digits?score_threshold=0.5", data=photo,
                          headers={"Content-Type": "image/png"}, timeout=30)
    assert reply.status_code == 400 and "only apply to detection servables" in reply.json()["error"]
    assert requests.post(f"{server.url}/servables/digits", data=photo, timeout=30,
                         headers={"Content-Type": "image/png"}).json()["strategy"] == "TOP1_CLASS"


def test_batched_tensors_and_concurrent_requests(server, detector):
    from mindspore import Tensor
    from tinyms.serving import Detections

    client = server.client()
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, SIZE, SIZE)).astype(np.float32)
    boxes, scores = (o.asnumpy() for o in detector(Tensor(x)))
    for name in ("det_onnx", "det_mindir"):
        found = client.predict(x, name, score_threshold=0.2)
        assert isinstance(found, list) and len(found) == 3
        for row, objects in enumerate(found):
            assert isinstance(objects, Detections) and (objects.width, objects.height) == (SIZE, SIZE)
            _assert_same(objects.to_dict()["detections"], _expected(boxes[row], scores[row], SIZE, SIZE,
                                                                    threshold=0.2))
    results, threads = {}, []
    for row in range(3):  # single rows at once: the MindSpore servable batches them into one call
        def call(row=row):
            results[row] = server.client().predict(x[row], "det_mindir", score_threshold=0.2)
        threads.append(threading.Thread(target=call))
        threads[-1].start()
    for thread in threads:
        thread.join(30)
    for row in range(3):
        _assert_same(results[row].to_dict()["detections"], _expected(boxes[row], scores[row], SIZE, SIZE,
                                                                     threshold=0.2))


def test_client_returns_detections(server, photo_file, photo, detector):
    from tinyms.serving import Detection, Detections

    found = server.client().predict(photo_file, "det_mindir")
    assert isinstance(found, Detections) and (found.width, found.height) == (PHOTO_W, PHOTO_H)
    assert all(isinstance(d, Detection) for d in found) and len(found) == 6
    _assert_same(found.to_dict()["detections"], _expected(*_network_output(detector, photo), PHOTO_W, PHOTO_H))
    assert str(found).startswith(f"6 objects in a {PHOTO_W}x{PHOTO_H} image: red 88.1% at (")


def test_v2_metadata_and_image_input(server, photo, detector):
    meta = requests.get(f"{server.url}/v2/models/det_onnx", timeout=10).json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 3, SIZE, SIZE]},
                              {"name": "image", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "boxes", "datatype": "FP32", "shape": [-1, 16, 4]},
                               {"name": "scores", "datatype": "FP32", "shape": [-1, 16, 4]},
                               {"name": "detections", "datatype": "BYTES", "shape": [-1]}]
    want = _expected(*_network_output(detector, photo), PHOTO_W, PHOTO_H, threshold=0.5)
    image = base64.b64encode(photo).decode()
    request = {"id": "d1", "inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": [image, image]}],
               "parameters": {"score_threshold": 0.5}, "outputs": [{"name": "detections"}]}
    reply = requests.post(f"{server.url}/v2/models/det_onnx/infer", json=request, timeout=30).json()
    assert reply["id"] == "d1" and [o["name"] for o in reply["outputs"]] == ["detections"]
    out = reply["outputs"][0]
    assert out["datatype"] == "BYTES" and out["shape"] == [2]
    for text in out["data"]:
        item = json.loads(text)
        assert item["image_size"] == {"width": PHOTO_W, "height": PHOTO_H}
        _assert_same(item["detections"], want)
    # binary: the image as one length-prefixed BYTES element, every output back as raw bytes
    blob = len(photo).to_bytes(4, "little") + photo
    head = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                   "parameters": {"binary_data_size": len(blob)}}],
                       "parameters": {"binary_data_output": True, "score_threshold": 0.5}}).encode()
    response = requests.post(f"{server.url}/v2/models/det_onnx/infer", data=head + blob, timeout=30,
                             headers={"Content-Type": "application/octet-stream",
                                      "Inference-Header-Content-Length": str(len(head))})
    assert response.status_code == 200
    size = int(response.headers["Inference-Header-Content-Length"])
    outputs, rest = json.loads(response.content[:size])["outputs"], response.content[size:]
    values = {}
    for out in outputs:
        n = out["parameters"]["binary_data_size"]
        values[out["name"]], rest = rest[:n], rest[n:]
    boxes, scores = _network_output(detector, photo)
    assert np.abs(np.frombuffer(values["boxes"], "<f4").reshape(1, 16, 4)[0] - boxes).max() < 1e-5
    assert np.abs(np.frombuffer(values["scores"], "<f4").reshape(1, 16, 4)[0] - scores).max() < 1e-5
    text = values["detections"][4:4 + int.from_bytes(values["detections"][:4], "little")]
    _assert_same(json.loads(text)["detections"], want)


def test_v2_tensor_input_and_client_infer(server, detector):
    from mindspore import Tensor

    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, SIZE, SIZE)).astype(np.float32)
    boxes, scores = (o.asnumpy() for o in detector(Tensor(x)))
    for binary in (True, False):
        got = server.client().infer("det_mindir", x, binary=binary)
        assert sorted(got) == ["boxes", "detections", "scores"]
        assert np.abs(got["boxes"] - boxes).max() < 1e-5 and np.abs(got["scores"] - scores).max() < 1e-5
        for row in range(2):
            assert (got["detections"][row].width, got["detections"][row].height) == (SIZE, SIZE)
            _assert_same(got["detections"][row].to_dict()["detections"],
                         _expected(boxes[row], scores[row], SIZE, SIZE))


@pytest.mark.parametrize("tensor, extra, phrase", [
    ({"name": "image", "datatype": "BYTES", "shape": [1], "data": ["not base64!"]}, {}, "not valid base64"),
    ({"name": "image", "datatype": "BYTES", "shape": [1], "data": [base64.b64encode(b"junk").decode()]}, {},
     "cannot decode"),
    ({"name": "image", "datatype": "BYTES", "shape": [2], "data": [""]}, {}, "holds 1 image(s)"),
    ({"name": "image", "datatype": "FP32", "shape": [1], "data": [0.0]}, {}, "takes BYTES"),
    ({"name": "pixels", "datatype": "FP32", "shape": [1], "data": [0.0]}, {}, "unknown input 'pixels'"),
    ({"name": "input", "datatype": "FP32", "shape": [1, 3, SIZE, SIZE], "data": [0.0] * 3 * SIZE * SIZE},
     {"parameters": {"score_threshold": 3}}, "score_threshold must be a number from 0 to 1"),
    ({"name": "input", "datatype": "FP32", "shape": [1, 3, SIZE, SIZE], "data": [0.0] * 3 * SIZE * SIZE},
     {"outputs": [{"name": "logits"}]}, "unknown output 'logits'"),
])
def test_v2_errors(server, tensor, extra, phrase):
    reply = requests.post(f"{server.url}/v2/models/det_onnx/infer", json={"inputs": [tensor], **extra}, timeout=30)
    assert reply.status_code == 400 and phrase in reply.json()["error"]


def test_front_ends_answer_detections_without_mindspore(server):
    fronts = [p for p in process_tree(server.pid) if role_of(p) == "front"]
    executors = [p for p in process_tree(server.pid) if role_of(p) == "executor"]
    assert fronts and len(executors) == 1  # det_mindir's; the three ONNX servables run in the front end
    assert not any(loads_mindspore(p) for p in fronts)


def test_listing_and_openapi_describe_detection(server):
    items = {s["name"]: s for s in requests.get(server.url + "/servables", timeout=10).json()["servables"]}
    assert items["det_onnx"]["task"] == "detection" and items["digits"]["task"] == "classification"
    assert items["det_onnx"]["model"]["labels"] == list(LABELS) and items["det_onnx"]["model"]["background"] is True
    assert items["det_letterbox"]["detection"] == {"score_threshold": 0.4, "iou_threshold": 0.5, "max_detections": 3}
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    schemas = doc["components"]["schemas"]
    assert schemas["Detection"]["required"] == ["box", "label", "label_id", "score"]
    assert {"$ref": "#/components/schemas/DetectionResponse"} in schemas["PredictResponse"]["oneOf"]
    params = {p["name"] for p in doc["paths"]["/servables/{name}"]["post"]["parameters"]}
    assert {"score_threshold", "iou_threshold", "max_detections"} <= params


def test_a_servable_json_entry_is_checked(tmp_path, serving):
    import shutil

    from tinyms.serving._config import load_servables

    path, entries = serving
    folder = tmp_path / "serving"
    shutil.copytree(f"{path}/det_onnx", folder / "det_onnx")
    bad = []
    for i, change in enumerate([{"task": "segmentation"}, {"background": "yes"}, {"labels": ["a", "b"]},
                                {"detection": {"score_threshold": 2}}, {"detection": {"top_k": 3}}]):
        entry = json.loads(json.dumps(entries["det_onnx"]))
        entry["model"].update(change)
        bad.append(entry)
    (folder / "servable.json").write_text(json.dumps(bad))
    specs, problems = load_servables(str(folder))
    assert not specs and [p.entry for p in problems] == list(range(5))
    reasons = [p.reason for p in problems]
    assert "model.task 'segmentation' is not a task this server can serve" in reasons[0]
    assert "model.background must be true or false" in reasons[1]
    assert "model.labels has 2 names but model.class_num is 4" in reasons[2]
    assert "score_threshold must be a number from 0 to 1" in reasons[3]
    assert "model.detection has unknown keys ['top_k']" in reasons[4]


# ------------------------------------------------------------------------------------ the web page
from .test_page import CHROMEDRIVER, CHROMIUM, browser  # noqa: E402,F401 - the page tests' Chromium fixture


@pytest.mark.skipif(not (__import__("os").path.exists(CHROMIUM) and __import__("os").path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
                           "chromium-driver); provided in CI by .ci/run")
def test_the_page_draws_the_boxes_over_the_photo(browser, server, photo_file):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    Select(browser.find_element(By.ID, "servable")).select_by_value("det_onnx")
    assert browser.find_element(By.ID, "threshold-row").is_displayed()
    assert not browser.find_element(By.ID, "draw-panel").is_displayed()
    browser.find_element(By.ID, "file-input").send_keys(photo_file)
    want = server.client().predict(photo_file, "det_onnx")
    assert len(want) == 6
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#boxes .box")) == len(want)
                                     and d.execute_script("return document.getElementById('photo').complete"))
    assert "6 objects found by det_onnx" in browser.find_element(By.ID, "status").text
    photo = browser.find_element(By.ID, "photo").rect
    assert photo["width"] > PHOTO_W  # shown larger than its pixels: the boxes must scale with it
    drawn = sorted(((b.get_attribute("data-label"), b.rect) for b in browser.find_elements(By.CSS_SELECTOR,
                                                                                           "#boxes .box")),
                   key=lambda item: (item[0], item[1]["x"], item[1]["y"]))
    expected = sorted((d.label, d.box) for d in want)
    scale_x, scale_y = photo["width"] / PHOTO_W, photo["height"] / PHOTO_H
    for (label, rect), (want_label, (x0, y0, x1, y1)) in zip(drawn, expected):
        assert label == want_label
        assert rect["x"] - photo["x"] == pytest.approx(x0 * scale_x, abs=1.5)
        assert rect["y"] - photo["y"] == pytest.approx(y0 * scale_y, abs=1.5)
        assert rect["width"] == pytest.approx((x1 - x0) * scale_x, abs=1.5)
        assert rect["height"] == pytest.approx((y1 - y0) * scale_y, abs=1.5)
    labels = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#boxes .box-label")]
    assert sorted(labels) == sorted(f"{d.label} {d.score * 100:.1f}%" for d in want)
    rows = browser.find_elements(By.CSS_SELECTOR, "#objects tbody tr")
    assert len(rows) == 6
    # raising the minimum score sends the photo again: the red cells score 0.881, the green one 0.873
    slider = browser.find_element(By.ID, "score-threshold")
    browser.execute_script("arguments[0].value = '0.95'; arguments[0].dispatchEvent(new Event('input'));"
                           "arguments[0].dispatchEvent(new Event('change'));", slider)
    WebDriverWait(browser, 30).until(lambda d: "No object scored above 95%" in d.find_element(By.ID, "status").text)
    assert browser.find_elements(By.CSS_SELECTOR, "#boxes .box") == []


# ------------------------------------------------------------------------------------ the zoo's SSD
@pytest.fixture(scope="module")
def ssd_server(tmp_path_factory):
    """An SSD300-MobileNetV2 (5 classes, 160x160, untrained) served from its checkpoint and from ONNX."""
    import shutil

    import mindspore as ms
    from tinyms.model import create_model
    from tinyms.serving import Server, write_servable

    ms.set_seed(3)
    net = create_model("ssd300_mobilenetv2", class_num=6, image_size=160, is_training=False)
    transform = _ssd_transform()
    path = tmp_path_factory.mktemp("ssd_serving")
    # class_num=5 counts the object classes, as tinyms train passes it: the same network as its own 6
    entry = write_servable(str(path), "ssd", net, "SSD, untrained", class_num=5, formats=("ckpt", "onnx"),
                           transform=transform, max_batch_size=1, score_threshold=0.005, max_detections=10)
    # the same files served from the ONNX export (a copy of the entry, the file in its own folder)
    onnx_entry = json.loads(json.dumps(entry))
    onnx_entry["name"], onnx_entry["model"]["format"] = "ssd_onnx", "onnx"
    (path / "ssd_onnx").mkdir()
    shutil.copy(path / "ssd" / "ssd.onnx", path / "ssd_onnx" / "ssd.onnx")
    (path / "servable.json").write_text(json.dumps([entry, onnx_entry]))
    with Server(port=0, serving_path=str(path)) as srv:
        yield srv, net, entry


def _ssd_transform():
    from tinyms.vision import VOCTransform

    return VOCTransform(size=160, labels=("circle", "square", "triangle", "star", "cross"), augment="none")


def test_an_ssd_checkpoint_servable_answers_like_the_network(ssd_server, photo):
    from mindspore import Tensor
    from PIL import Image

    server, net, entry = ssd_server
    model = entry["model"]
    assert model["format"] == "ckpt" and model["task"] == "detection" and model["background"] is True
    assert model["class_num"] == 6 and model["labels"] == ["circle", "square", "triangle", "star", "cross"]
    assert model["build_args"]["class_num"] == 6 and model["build_args"]["image_size"] == 160
    found = server.client().predict(photo, "ssd")
    assert (found.width, found.height) == (PHOTO_W, PHOTO_H) and len(found) == 10
    transform = _ssd_transform()
    output = net(Tensor(transform(np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")))[None]))
    want = transform.detections(output, (PHOTO_H, PHOTO_W), score_threshold=0.005, max_detections=10)[0]
    assert [d.label for d in found] == [d["label"] for d in want]
    assert [d.score for d in found] == pytest.approx([d["score"] for d in want], abs=1e-5)
    assert np.asarray([d.box for d in found]) == pytest.approx(np.asarray([d["box"] for d in want]), abs=2e-3)


def test_an_ssd_onnx_servable_answers_from_its_own_outputs(ssd_server, photo):
    """Two photos through the v2 route: raw outputs equal to the network's, detections made from them."""
    from mindspore import Tensor
    from PIL import Image

    server, net, entry = ssd_server
    assert sorted(entry["model"]["files"]) == ["ckpt", "onnx"]
    image = base64.b64encode(photo).decode()
    request = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": [image, image]}]}
    reply = requests.post(f"{server.url}/v2/models/ssd_onnx/infer", json=request, timeout=60).json()
    outputs = {out["name"]: out for out in reply["outputs"]}
    boxes = np.asarray(outputs["boxes"]["data"], np.float32).reshape(outputs["boxes"]["shape"])
    scores = np.asarray(outputs["scores"]["data"], np.float32).reshape(outputs["scores"]["shape"])
    assert boxes.shape == (2, 540, 4) and scores.shape == (2, 540, 6)
    transform = _ssd_transform()
    x = transform(np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")))
    want_boxes, want_scores = (o.asnumpy()[0] for o in net(Tensor(x[None])))
    assert np.abs(boxes - want_boxes).max() < 1e-4 and np.abs(scores - want_scores).max() < 1e-4
    want = transform.detections((boxes, scores), [(PHOTO_H, PHOTO_W)] * 2, score_threshold=0.005,
                                max_detections=10)
    for text, expected in zip(outputs["detections"]["data"], want):
        got = json.loads(text)["detections"]
        assert [d["label"] for d in got] == [d["label"] for d in expected] and len(got) == 10
        assert [d["score"] for d in got] == pytest.approx([d["score"] for d in expected], abs=1e-6)
        assert np.asarray([d["box"] for d in got]) == pytest.approx(np.asarray([d["box"] for d in expected]),
                                                                    abs=2e-3)
