"""Image-to-image servables (issue 18): a generator written, served over both routes, shown on the page.

The generator is a small real network (3x3 convolution, then tanh) with an image_to_image
``default_cfg``; a "pair" model holds two of them and gives one by ``generator(direction)``, as
a CycleGAN does. Every expected picture is computed here in-process: the recipe through
MindSpore's engine (``DatasetTransform``), the generator on MindSpore, ``(x + 1) / 2 * 255``
rounded; the server, the client, the Predictor, the page and ``tinyms predict`` must give it
(uint8 within 1: onnxruntime and MindSpore round differently).
"""

import base64
import io
import json
import os
import shutil

import numpy as np
import pytest
import requests

from .conftest import png_bytes

SIZE = 16
PHOTO_W, PHOTO_H = 40, 30


def _generator_class():
    from mindspore import Tensor, nn

    class TinyGenerator(nn.Cell):
        """A 3x3 convolution mixing the colours, then tanh: [-1, 1] in, [-1, 1] out."""

        def __init__(self, seed):
            super().__init__()
            rng = np.random.default_rng(seed)
            self.conv = nn.Conv2d(3, 3, 3, pad_mode="same", has_bias=True,
                                  weight_init=Tensor(rng.normal(0, 0.4, (3, 3, 3, 3)).astype(np.float32)),
                                  bias_init=Tensor(rng.normal(0, 0.2, (3,)).astype(np.float32)))
            self.tanh = nn.Tanh()

        def construct(self, x):
            return self.tanh(self.conv(x))

    return TinyGenerator


def _config(name="tiny_generator"):
    from tinyms.model.registry import ModelConfig

    return ModelConfig(name=name, input_shape=(3, SIZE, SIZE), mean=(0.5,) * 3, std=(0.5,) * 3, labels=(),
                       task="image_to_image")


def _pair_class():
    from mindspore import nn

    class TinyPair(nn.Cell):
        """Two generators, A->B and B->A; construct translates A->B (as a CycleGAN's does)."""

        def __init__(self):
            super().__init__()
            gen = _generator_class()
            self.G_A, self.G_B = gen(1), gen(2)

        def construct(self, image_a):
            return self.G_A(image_a)

        def generator(self, direction="a2b"):
            return {"a2b": self.G_A, "b2a": self.G_B}[direction]

    return TinyPair


def _photo():
    """A 40x30 RGB photo: smooth colour ramps and a bright square, so resizing and the convolution matter."""
    ys, xs = np.mgrid[0:PHOTO_H, 0:PHOTO_W]
    rgb = np.stack([xs * 255 // (PHOTO_W - 1), ys * 255 // (PHOTO_H - 1), (xs + ys) * 4 % 256], -1).astype(np.uint8)
    rgb[8:20, 10:22] = (250, 240, 30)
    return rgb


def _pixels(output):
    """A generator's (N, 3, H, W) output as (N, H, W, 3) uint8, by the formula alone."""
    return np.clip(np.rint((np.asarray(output, np.float64) + 1.0) / 2.0 * 255.0), 0, 255).astype(np.uint8) \
        .transpose(0, 2, 3, 1)


def _close(got, want, tol=1):
    got, want = np.asarray(got, np.int16), np.asarray(want, np.int16)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tol


@pytest.fixture(scope="module")
def i2i(tmp_path_factory):
    """The servables written, the photo, and the in-process answers."""
    import mindspore as ms

    from tinyms.serving import write_servable
    from tinyms.vision import DatasetTransform

    root = tmp_path_factory.mktemp("i2i")
    serving = str(root / "serving")
    gen = _generator_class()(0)
    gen.default_cfg = _config()
    gen.set_train(False)
    entry = write_servable(serving, "gen", gen, "a tiny generator", formats=("onnx", "mindir"))
    pair = _pair_class()()
    pair.default_cfg = _config("tiny_pair")
    pair.set_train(False)
    b2a = write_servable(serving, "pair_b2a", pair, "B to A", formats=("onnx",), direction="b2a")
    photo = str(root / "photo.png")
    with open(photo, "wb") as f:
        f.write(png_bytes(_photo()))
    transform = DatasetTransform(entry["model"]["recipe"])
    x = transform(photo)[None]
    raw = gen(ms.Tensor(x)).asnumpy()
    return {"root": root, "serving": serving, "entry": entry, "b2a": b2a, "photo": photo, "gen": gen,
            "pair": pair, "x": x, "raw": raw, "want": _pixels(raw)[0],
            "want_b2a": _pixels(pair.G_B(ms.Tensor(x)).asnumpy())[0]}


@pytest.fixture(scope="module")
def server(i2i):
    from tinyms.serving import Server

    srv = Server(port=0, serving_path=i2i["serving"], max_request_bytes=300_000, max_image_pixels=250_000)
    srv.start()
    yield srv
    srv.stop()


def _post(server, body, ctype="application/json", params=None, headers=None):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return requests.post(f"{server.url}/servables/gen", data=body, params=params,
                         headers={"Content-Type": ctype, **(headers or {})}, timeout=60)


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _decoded(png):
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        return np.asarray(img)


# ------------------------------------------------------------------------------------ writing
def test_the_entry_records_a_generator_with_its_recipe_and_output_range(i2i):
    import onnx

    model = i2i["entry"]["model"]
    assert model["task"] == "image_to_image" and model["input_shape"] == [3, SIZE, SIZE]
    assert model["output_range"] == [-1.0, 1.0] and "labels" not in model and "class_num" not in model
    steps = dict((op, params) for op, params in model["recipe"]["eval"])
    assert steps["resize"] == {"size": [SIZE, SIZE]}
    assert steps["normalize"] == {"mean": [0.5] * 3, "std": [0.5] * 3}
    graph = onnx.load(os.path.join(i2i["serving"], "gen", model["files"]["onnx"])).graph
    assert [o.name for o in graph.output] == ["output"]
    assert sorted(model["files"]) == ["mindir", "onnx"]
    # a whole model serves the generator it is asked for, and the entry says which
    assert i2i["b2a"]["model"]["generator"] == "b2a" and i2i["b2a"]["model"]["name"] == "tiny_pair"


def test_write_servable_refuses_what_is_no_image_to_image_generator(i2i, tmp_path):
    from mindspore import nn

    from tinyms.model import create_model
    from tinyms.serving import ServableConfigError, write_servable

    with pytest.raises(ServableConfigError, match="direction= is for image_to_image networks"):
        write_servable(str(tmp_path), "lenet", create_model("lenet5"), formats=("onnx",), direction="a2b")
    with pytest.raises(ServableConfigError, match="is a generator itself: leave direction out"):
        write_servable(str(tmp_path), "g", i2i["gen"], formats=("onnx",), direction="b2a")
    flat = nn.Flatten()  # an "image_to_image" network that returns no image
    flat.default_cfg = _config()
    with pytest.raises(ServableConfigError, match=r"returns images \(batch, channels, height, width\).*returns shape \(1, 768\)"):
        write_servable(str(tmp_path), "flat", flat, formats=("onnx",))


# ------------------------------------------------------------------------------------ the seed route
def test_served_picture_equals_the_generator_in_process(server, i2i):
    picture = server.client().predict(i2i["photo"], "gen")
    assert (picture.width, picture.height) == (SIZE, SIZE) and picture.input_size == (PHOTO_W, PHOTO_H)
    _close(picture.array, i2i["want"])
    assert np.array_equal(picture.array, np.asarray(picture.image))


def test_json_answer_holds_a_png_with_its_size(server, i2i):
    with open(i2i["photo"], "rb") as f:
        reply = _post(server, {"image": _b64(f.read())})
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["task"] == "image_to_image" and body["output_size"] == "network" and body["batch"] is False
    (item,) = body["predictions"]
    assert item["media_type"] == "image/png" and (item["width"], item["height"]) == (SIZE, SIZE)
    assert item["input_size"] == {"width": PHOTO_W, "height": PHOTO_H}
    _close(_decoded(base64.b64decode(item["image"])), i2i["want"])


@pytest.mark.parametrize("ask", ["query", "accept"])
def test_raw_png_on_request(server, i2i, ask):
    with open(i2i["photo"], "rb") as f:
        data = f.read()
    if ask == "query":
        reply = _post(server, data, "image/png", params={"format": "png"})
    else:
        reply = _post(server, data, "image/png", headers={"Accept": "image/png, application/json;q=0.5"})
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
    assert (reply.headers["X-Image-Width"], reply.headers["X-Image-Height"]) == (str(SIZE), str(SIZE))
    _close(_decoded(reply.content), i2i["want"])
    as_json = _post(server, data, "image/png")  # without asking: JSON, the same picture
    assert base64.b64decode(as_json.json()["predictions"][0]["image"]) == reply.content


def test_output_size_original_resizes_back_to_the_photo(server, i2i):
    from tinyms.vision import DatasetTransform

    with open(i2i["photo"], "rb") as f:
        reply = _post(server, f.read(), "image/png", params={"output_size": "original", "format": "png"})
    assert reply.status_code == 200
    got = _decoded(reply.content)
    # MindSpore's bilinear resize of the network-size picture, in-process
    want = DatasetTransform([["resize", {"size": [PHOTO_H, PHOTO_W]}]])(i2i["want"])
    assert got.shape == (PHOTO_H, PHOTO_W, 3)
    _close(got, want)
    picture = server.client().predict(i2i["photo"], "gen", output_size="original")
    assert (picture.width, picture.height) == (PHOTO_W, PHOTO_H) and np.array_equal(picture.array, got)


def test_a_batch_tensor_gets_one_picture_per_row(server, i2i):
    batch = np.concatenate([i2i["x"], -i2i["x"]]).astype(np.float32)
    pictures = server.client().predict(batch, "gen")
    import mindspore as ms

    want = _pixels(i2i["gen"](ms.Tensor(batch)).asnumpy())
    assert len(pictures) == 2 and all(p.input_size is None for p in pictures)
    for picture, expected in zip(pictures, want):
        _close(picture.array, expected)


def test_bad_requests_are_4xx_naming_the_problem(server, i2i):
    tensor = {"shape": [2, 3, SIZE, SIZE], "dtype": "float32",
              "data": _b64(np.zeros((2, 3, SIZE, SIZE), np.float32).tobytes())}
    with open(i2i["photo"], "rb") as f:
        photo = f.read()
    cases = [
        (_post(server, b"not an image at all", "image/png"), 400, "cannot decode"),
        (_post(server, photo, "image/png", params={"output_size": "huge"}), 400, "output_size must be one of"),
        (_post(server, photo, "image/png", params={"format": "gif"}), 400, "format must be one of"),
        (_post(server, {"tensor": tensor, "format": "png"}), 400, "a raw PNG answer holds one picture"),
        (_post(server, {"tensor": tensor, "output_size": "original"}), 400, "a tensor has no photo size"),
        (_post(server, {"tensor": {**tensor, "shape": [3, 8, 8]}}), 400, "does not fit servable"),
        (_post(server, {"text": "a horse"}), 400, "takes images or tensors, not text"),
        (_post(server, {"image": _b64(photo), "score_threshold": 0.5}), 400, "only apply to detection"),
        (_post(server, png_bytes(np.zeros((600, 600, 3), np.uint8)), "image/png"), 413, "send a smaller image"),
    ]
    for reply, status, words in cases:
        assert reply.status_code == status, (words, reply.status_code, reply.text)
        body = reply.json()
        assert words in body["error"], (words, body)
        assert "Traceback" not in reply.text and i2i["serving"] not in reply.text


# ------------------------------------------------------------------------------------ Open Inference Protocol
def test_v2_metadata_and_infer_from_encoded_images_and_pixels(server, i2i):
    meta = requests.get(f"{server.url}/v2/models/gen", timeout=30).json()
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [("input", "FP32"), ("image", "BYTES"),
                                                                   ("image", "UINT8")]
    assert [(o["name"], o["datatype"], o["shape"]) for o in meta["outputs"]] == [
        ("output", "FP32", [-1, 3, SIZE, SIZE]), ("png", "BYTES", [-1])]
    with open(i2i["photo"], "rb") as f:
        photo = f.read()
    pixels = _photo()
    requests_sent = {
        "bytes": {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [_b64(photo)]}]},
        "uint8": {"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, PHOTO_H, PHOTO_W, 3],
                              "data": pixels.reshape(-1).tolist()}]},
    }
    for kind, request in requests_sent.items():
        reply = requests.post(f"{server.url}/v2/models/gen/infer", json=request, timeout=60)
        assert reply.status_code == 200, reply.text
        outputs = {o["name"]: o for o in reply.json()["outputs"]}
        output = np.asarray(outputs["output"]["data"], np.float32).reshape(outputs["output"]["shape"])
        np.testing.assert_allclose(output, i2i["raw"], atol=1e-5, err_msg=kind)
        assert outputs["png"]["datatype"] == "BYTES" and outputs["png"]["shape"] == [1]
        _close(_decoded(base64.b64decode(outputs["png"]["data"][0])), i2i["want"])
    # binary in and out, the picture at the photo's size
    head = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, PHOTO_H, PHOTO_W, 3],
                                   "parameters": {"binary_data_size": pixels.size}}],
                       "parameters": {"binary_data_output": True, "output_size": "original"},
                       "outputs": [{"name": "png"}]}).encode()
    reply = requests.post(f"{server.url}/v2/models/gen/infer", data=head + pixels.tobytes(), timeout=60,
                          headers={"Content-Type": "application/octet-stream",
                                   "Inference-Header-Content-Length": str(len(head))})
    assert reply.status_code == 200, reply.text
    size = int(reply.headers["Inference-Header-Content-Length"])
    (out,) = json.loads(reply.content[:size])["outputs"]
    raw = reply.content[size:]
    assert out["name"] == "png" and int.from_bytes(raw[:4], "little") == len(raw) - 4
    assert _decoded(raw[4:]).shape == (PHOTO_H, PHOTO_W, 3)


def test_v2_client_infer_returns_the_output_and_pictures(server, i2i):
    answer = server.client().infer("gen", i2i["x"])
    np.testing.assert_allclose(answer["output"], i2i["raw"], atol=1e-5)
    (picture,) = answer["png"]
    _close(picture.array, i2i["want"])
    json_answer = server.client().infer("gen", i2i["x"], binary=False)
    assert json_answer["png"][0].png == picture.png


def test_v2_bad_inputs_are_4xx(server):
    url = f"{server.url}/v2/models/gen/infer"
    cases = [
        ({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 4, 4, 3], "data": [300] * 48}]}, 400,
         "whole numbers from 0 to 255"),
        ({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 4, 4, 2], "data": [0] * 32}]}, 400,
         "must have shape [N, height, width, 3]"),
        ({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 600, 600, 3], "data": []}]}, 413,
         "send smaller images"),
        ({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 4, 4, 3], "data": [0] * 5}]}, 400,
         "needs 48"),
        ({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, SIZE, SIZE],
                      "data": [0.0] * (3 * SIZE * SIZE)}], "parameters": {"output_size": "original"}}, 400,
         "has no image size"),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [_b64(b"junk")]}]}, 400,
         "cannot decode"),
    ]
    for request, status, words in cases:
        reply = requests.post(url, json=request, timeout=30)
        assert reply.status_code == status and words in reply.json()["error"], (words, reply.text)


# ------------------------------------------------------------------------------------ listing, OpenAPI
def test_listing_and_openapi_describe_image_to_image(server):
    item = requests.get(f"{server.url}/servables/gen", timeout=30).json()
    assert item["task"] == "image_to_image" and item["inputs"] == ["image", "tensor"]
    assert item["image_to_image"] == {"output_shape": [3, SIZE, SIZE], "output_range": [-1.0, 1.0],
                                      "output_size": ["network", "original"], "format": ["json", "png"]}
    doc = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]
    assert {"$ref": "#/components/schemas/ImageToImageResponse"} in schemas["PredictResponse"]["oneOf"]
    assert set(schemas["PredictRequest"]["properties"]) >= {"output_size", "format"}
    post = doc["paths"]["/servables/{name}"]["post"]
    assert "image/png" in post["responses"]["200"]["content"]
    assert {p["name"] for p in post["parameters"]} >= {"output_size", "format"}


def test_bad_image_to_image_entries_are_refused(i2i, tmp_path):
    from tinyms.serving._config import load_servables

    folder = tmp_path / "serving"
    shutil.copytree(os.path.join(i2i["serving"], "gen"), folder / "gen")
    entry = json.loads(json.dumps(i2i["entry"]))
    broken = []
    for key, value in (("output_range", [1, -1]), ("labels", ["a"]), ("generator", "c2d"),
                       ("task", "classification")):  # the last keeps its output_range
        bad = json.loads(json.dumps(entry))
        bad["name"] = f"bad_{key}"
        bad["model"][key] = value
        (folder / bad["name"]).mkdir()
        shutil.copy(folder / "gen" / "gen.onnx", folder / bad["name"] / "gen.onnx")
        bad["model"]["files"] = {"onnx": "gen.onnx"}
        broken.append(bad)
    (folder / "servable.json").write_text(json.dumps([entry, *broken]))
    specs, problems = load_servables(str(folder))
    assert [s.name for s in specs] == ["gen"] and specs[0].output_range == (-1.0, 1.0)
    reasons = {p.servable: p.reason for p in problems}
    assert "low < high" in reasons["bad_output_range"]
    assert "answers pictures: remove it" in reasons["bad_labels"]
    assert "\"a2b\" or \"b2a\"" in reasons["bad_generator"]
    assert "model.output_range is for image_to_image servables" in reasons["bad_task"]


# ------------------------------------------------------------------------------------ in process
def test_predictor_answers_as_the_server(i2i, server):
    from tinyms.serving import Predictor

    with Predictor(i2i["serving"], "gen") as predict:
        picture = predict(i2i["photo"])
        assert predict.info["task"] == "image_to_image"
        _close(picture.array, i2i["want"])
        assert picture.png == server.client().predict(i2i["photo"], "gen").png
        assert predict(_photo(), output_size="original").array.shape == (PHOTO_H, PHOTO_W, 3)
    with Predictor(i2i["serving"], "pair_b2a") as predict:  # the B->A generator of the pair
        _close(predict(i2i["photo"]).array, i2i["want_b2a"])
        assert not np.array_equal(i2i["want_b2a"], i2i["want"])


def test_the_mindir_twin_answers_the_same_picture(i2i, tmp_path):
    """The same servable run from its MindIR on MindSpore (in-process) gives the same picture."""
    from tinyms.serving import Predictor

    folder = tmp_path / "serving"
    shutil.copytree(os.path.join(i2i["serving"], "gen"), folder / "gen")
    entry = json.loads(json.dumps(i2i["entry"]))
    entry["model"]["format"] = "mindir"
    (folder / "servable.json").write_text(json.dumps([entry]))
    with Predictor(str(folder), "gen") as predict:
        assert predict.info["model"]["format"] == "mindir"
        _close(predict(i2i["photo"]).array, i2i["want"])


def test_a_cycle_gan_serves_its_generator_from_onnx_and_from_its_checkpoint(i2i, tmp_path):
    """create_model('cycle_gan'): the ONNX file holds generator(direction); the checkpoint servable
    rebuilds the whole CycleGAN from build_args and serves that generator with the same picture."""
    import mindspore as ms

    from tinyms.model import create_model
    from tinyms.serving import Predictor, write_servable
    from tinyms.vision import DatasetTransform

    net = create_model("cycle_gan", image_size=32, ngf=4, ndf=4, n_blocks=1)
    net.set_train(False)
    folder = str(tmp_path / "serving")
    for direction in ("a2b", "b2a"):
        entry = write_servable(folder, f"cg_{direction}", net, formats=("onnx", "ckpt"), direction=direction)
        assert entry["model"]["generator"] == direction and entry["model"]["build_args"]["image_size"] == 32
        x = DatasetTransform(entry["model"]["recipe"])(i2i["photo"])[None]
        want = _pixels(net.generator(direction)(ms.Tensor(x)).asnumpy())[0]
        ckpt_entry = json.loads(json.dumps(entry))
        ckpt_entry.update(name=f"cg_{direction}_ckpt")
        ckpt_entry["model"]["format"] = "ckpt"
        shutil.copytree(os.path.join(folder, f"cg_{direction}"), os.path.join(folder, ckpt_entry["name"]))
        entries = json.loads(open(os.path.join(folder, "servable.json")).read())
        with open(os.path.join(folder, "servable.json"), "w") as f:
            json.dump(entries + [ckpt_entry], f)
        for name in (f"cg_{direction}", ckpt_entry["name"]):
            with Predictor(folder, name) as predict:
                assert predict.info["model"]["format"] == ("ckpt" if name.endswith("ckpt") else "onnx")
                picture = predict(i2i["photo"])
            assert (picture.width, picture.height) == (32, 32)
            _close(picture.array, want)


def test_saved_picture_is_the_png_answered(i2i, tmp_path):
    from tinyms.serving import Predictor

    with Predictor(i2i["serving"], "gen") as predict:
        picture = predict(i2i["photo"])
    path = picture.save(str(tmp_path / "out.png"))
    assert open(path, "rb").read() == picture.png
    jpeg = picture.save(str(tmp_path / "out.jpg"))
    from PIL import Image

    with Image.open(jpeg) as img:
        assert img.format == "JPEG" and img.size == (SIZE, SIZE)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary files left


# ------------------------------------------------------------------------------------ tinyms predict
def _fake_run(i2i, tmp_path):
    """A run directory as tinyms train leaves it: its servable in RUN_DIR/servable."""
    run = tmp_path / "run"
    (run / "servable").mkdir(parents=True)
    shutil.copytree(os.path.join(i2i["serving"], "gen"), run / "servable" / "gen")
    (run / "servable" / "servable.json").write_text(json.dumps([i2i["entry"]]))
    return run


def test_tinyms_predict_run_writes_the_translated_image(i2i, tmp_path, capsys):
    from tinyms.cli import main

    run = _fake_run(i2i, tmp_path)
    photo = tmp_path / "horse.png"
    shutil.copy(i2i["photo"], photo)
    assert main(["predict", str(photo), "--run", str(run)]) in (0, None)
    written = tmp_path / "horse_translated.png"
    assert f"wrote {written}" in capsys.readouterr().out
    _close(_decoded(written.read_bytes()), i2i["want"])
    # --out as a file, at the photo's size; --servable names the servable's folder
    out = tmp_path / "zebra.png"
    assert main(["predict", str(photo), "--servable", os.path.join(i2i["serving"], "gen"), "--out", str(out),
                 "--output-size", "original"]) in (0, None)
    assert _decoded(out.read_bytes()).shape == (PHOTO_H, PHOTO_W, 3) and str(out) in capsys.readouterr().out
    # --out as a folder
    folder = tmp_path / "pictures"
    folder.mkdir()
    assert main(["predict", str(photo), "--run", str(run), "--out", str(folder)]) in (0, None)
    assert (folder / "horse_translated.png").is_file()


def test_tinyms_predict_refuses_in_one_line(i2i, tmp_path, capsys):
    from tinyms.cli import main

    run = _fake_run(i2i, tmp_path)
    photo = tmp_path / "horse.png"
    shutil.copy(i2i["photo"], photo)
    assert main(["predict", str(photo), "--run", str(run), "--out", str(photo)]) == 1
    assert "is the input image" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing.png"), "--run", str(run)]) == 1
    assert "no image file" in capsys.readouterr().err
    assert main(["predict", str(photo), "--model", "lenet5_mnist", "--out", str(tmp_path / "x.png")]) == 1
    assert "--out and --output-size are for image_to_image servables" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------------------------------ the web page
from .test_page import CHROMEDRIVER, CHROMIUM, browser  # noqa: E402,F401 - the page tests' Chromium
from .test_web_export import ort_tarball  # noqa: E402,F401 - ONNX Runtime Web, fetched once


def _open(browser, server, url=None):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url or server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver; provided in CI by .ci/run")
def test_the_page_shows_the_photo_and_its_translation_side_by_side(browser, server, i2i):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _open(browser, server)
    Select(browser.find_element(By.ID, "servable")).select_by_value("gen")
    assert browser.find_element(By.ID, "output-size-row").is_displayed()
    assert not browser.find_element(By.ID, "draw-panel").is_displayed()
    browser.find_element(By.ID, "file-input").send_keys(i2i["photo"])
    loaded = "const i = document.getElementById(arguments[0]); return i.complete && i.naturalWidth > 0;"
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "translation-view").is_displayed()
                                     and d.execute_script(loaded, "translation-input")
                                     and d.execute_script(loaded, "translation-output"))
    sizes = browser.execute_script("return ['translation-input', 'translation-output'].map((id) => "
                                   "[document.getElementById(id).naturalWidth, document.getElementById(id).naturalHeight])")
    assert sizes == [[PHOTO_W, PHOTO_H], [SIZE, SIZE]]
    source = browser.find_element(By.ID, "translation-output").get_attribute("src")
    assert source.startswith("data:image/png;base64,")
    _close(_decoded(base64.b64decode(source.split(",", 1)[1])), i2i["want"])
    left = browser.find_element(By.ID, "translation-input").rect
    right = browser.find_element(By.ID, "translation-output").rect
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2  # side by side
    assert "Translated by gen" in browser.find_element(By.ID, "status").text
    # at the photo's size on request: the page asks again
    browser.find_element(By.ID, "output-original").click()
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const i = document.getElementById('translation-output'); return i.complete && i.naturalWidth === "
        f"{PHOTO_W} && i.naturalHeight === {PHOTO_H};"))


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver; provided in CI by .ci/run")
@pytest.mark.parametrize("output_size", ["network", "original"])
def test_the_exported_browser_page_translates_as_the_server(browser, server, i2i, ort_tarball, tmp_path,
                                                            output_size):
    """export_web: the generator runs on ONNX Runtime Web with the recipe, from file://, no server."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tinyms.serving import export_web

    page = tmp_path / "page"
    result = export_web(i2i["serving"], str(page), progress=False)
    assert result["servables"] == ["gen", "pair_b2a"] and result["skipped"] == {}
    _open(browser, server, (page / "index.html").as_uri())
    Select(browser.find_element(By.ID, "servable")).select_by_value("gen")
    if output_size == "original":
        browser.find_element(By.ID, "output-original").click()
    browser.execute_script("window.tinymsLastReply = null")
    browser.find_element(By.ID, "file-input").send_keys(i2i["photo"])
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.tinymsLastReply")
                                     or "failed" in d.find_element(By.ID, "status").text)
    got = browser.execute_script("return window.tinymsLastReply")
    assert got, browser.find_element(By.ID, "status").text
    with open(i2i["photo"], "rb") as f:
        want = _post(server, f.read(), "image/png", params={"output_size": output_size}).json()
    (item,), (expected,) = got["predictions"], want["predictions"]
    assert got["task"] == "image_to_image" and got["output_size"] == output_size
    assert {k: item[k] for k in ("width", "height", "input_size")} == \
        {k: expected[k] for k in ("width", "height", "input_size")}
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(item["image"]))) as img:  # a canvas PNG: RGBA, opaque
        rgba = np.asarray(img.convert("RGBA"))
    assert (rgba[:, :, 3] == 255).all()
    _close(rgba[:, :, :3], _decoded(base64.b64decode(expected["image"])))
    assert browser.find_element(By.ID, "translation-view").is_displayed()
