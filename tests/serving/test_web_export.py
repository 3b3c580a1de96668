"""tinyms export --web: a static page that predicts in Chromium exactly as the server answers, with no server.

Servables: the bundled trained LeNet5 (MNIST, grey, frame_digit recipe), a 3-channel LeNet5 with the
image-folder recipe (resize of the shorter side, centre crop, ImageNet normalisation), and a small
real detector written as ONNX by hand (a 4x4 grid of anchors scoring colours, letterboxed input).
The page is opened from file:// and from a plain static server on 127.0.0.1; for each image its
answer must equal the ONNX server's answer for the same bytes (labels, scores to 1e-4, boxes).
ONNX Runtime Web comes from the npm registry at most once (the real TINYMS_HOME's cache); the fetch
itself is tested against a fake registry on 127.0.0.1.
"""

import base64
import functools
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading

import numpy as np
import pytest
import requests

from tinyms._home import tinyms_home

from .test_page import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 - the page tests' Chromium fixture

REAL_HOME = tinyms_home()  # read at import, before this package's conftest points TINYMS_HOME elsewhere
HAS_CHROMIUM = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="needs Debian's chromium and chromium-driver; "
                                                             "provided in CI by .ci/run")
SHAPE_LABELS = ["red", "green", "blue"]
COLOUR_LABELS = ["cat", "dog", "fox", "owl"]


# --------------------------------------------------------------------------- servables and images
@pytest.fixture(scope="module")
def ort_tarball(tinyms_home):
    """onnxruntime-web's verified tarball: downloaded into the real TINYMS_HOME's cache only if absent there."""
    from tinyms.serving._npm import cached_tarball_path, package_tarball

    patch = pytest.MonkeyPatch()
    patch.setenv("TINYMS_HOME", REAL_HOME)
    try:
        source = package_tarball(progress=False)
    finally:
        patch.undo()
    dest = cached_tarball_path()
    if not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.symlink(source, dest)
    return dest


def _detector_onnx():
    """(1, 3, 64, 64) -> boxes (1, 16, 4) yxyx of a 4x4 grid, scores (1, 16, 4): background, red, green, blue."""
    import onnx
    from onnx import TensorProto, helper

    ys, xs = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    anchors = (np.stack([ys, xs, ys + 1, xs + 1], -1).reshape(1, 16, 4) / 4).astype(np.float32)
    const = lambda name, value: helper.make_tensor(name, TensorProto.FLOAT if value.dtype == np.float32  # noqa: E731
                                                   else TensorProto.INT64, value.shape, value.ravel().tolist())
    nodes = [
        helper.make_node("AveragePool", ["x"], ["cells"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("Transpose", ["cells"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "shape"], ["flat"]),
        helper.make_node("Mul", ["flat", "gain"], ["scaled"]),
        helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
        helper.make_node("Sigmoid", ["shifted"], ["objects"]),
        helper.make_node("ReduceMax", ["objects"], ["best"], axes=[2], keepdims=1),
        helper.make_node("Sub", ["one", "best"], ["background"]),
        helper.make_node("Concat", ["background", "objects"], ["scores"], axis=2),
        helper.make_node("Identity", ["anchors"], ["boxes"]),
    ]
    inits = [const("shape", np.array([1, 16, 3], np.int64)), const("gain", np.array(4.0, np.float32)),
             const("offset", np.array(-2.0, np.float32)), const("one", np.array(1.0, np.float32)),
             const("anchors", anchors)]
    graph = helper.make_graph(nodes, "shapes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 16, 4]),
                               helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 16, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run-like folder: RUN/servable holds digits (trained LeNet5), colours (RGB LeNet5), shapes (detector)."""
    import mindspore as ms

    from tinyms import hub
    from tinyms.model import create_model
    from tinyms.serving import write_servable
    from tinyms.vision._presets import detection_recipe, imagefolder_recipe

    run = tmp_path_factory.mktemp("run")
    folder = run / "servable"
    write_servable(str(folder), "digits", hub.load("lenet5_mnist"), "LeNet5 on MNIST", formats=("onnx",))
    ms.set_seed(3)
    net = create_model("lenet5", class_num=4, num_channel=3)
    write_servable(str(folder), "colours", net, "an RGB classifier", formats=("onnx",), labels=COLOUR_LABELS,
                   transform=imagefolder_recipe(size=(32, 32)))
    (folder / "shapes").mkdir()
    model = _detector_onnx()
    (folder / "shapes" / "shapes.onnx").write_bytes(model)
    recipe = detection_recipe(size=(64, 64), mean=(0.5,) * 3, std=(0.5,) * 3, letterbox=True, augment="none")
    entries = json.loads((folder / "servable.json").read_text())
    entries.append({"name": "shapes", "description": "coloured shapes", "model": {
        "format": "onnx", "task": "detection", "background": True, "labels": SHAPE_LABELS, "class_num": 4,
        "files": {"onnx": "shapes.onnx"}, "sha256": {"onnx": hashlib.sha256(model).hexdigest()},
        "recipe": recipe.to_dict()}})
    (folder / "servable.json").write_text(json.dumps(entries))
    return run


@pytest.fixture(scope="module")
def page(run_dir, ort_tarball, tmp_path_factory):
    from tinyms.serving import export_web

    out = tmp_path_factory.mktemp("export") / "page"
    result = export_web(str(run_dir), str(out), progress=False)
    assert result["servables"] == ["digits", "colours", "shapes"] and result["skipped"] == {}
    return out


@pytest.fixture(scope="module")
def server(run_dir):
    from tinyms.serving import Server

    srv = Server(port=0, serving_path=str(run_dir / "servable"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def static_url(page):
    """The page folder behind a plain static file server on 127.0.0.1."""
    handler = functools.partial(_QuietFiles, directory=str(page))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _digit_photo(height, width, seed):
    """A dark pen stroke on unevenly lit, noisy paper: frame_digit's whole path (>512 px: also reduced)."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 215.0) + np.linspace(0, 30, width)[None, :] + rng.normal(0, 3, (height, width))
    t = np.linspace(0, 1, 600)
    for y, x in zip(height * (0.2 + 0.6 * t), width * (0.5 + 0.15 * np.sin(6 * t))):
        img[int(y) - 6:int(y) + 6, int(x) - 5:int(x) + 5] = 40
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images(tmp_path_factory, mnist_images):
    """(servable, image file) pairs: every recipe path the page runs, PNG and JPEG."""
    from PIL import Image, ImageDraw

    folder = tmp_path_factory.mktemp("web_images")
    rng = np.random.default_rng(0)
    smooth = lambda h, w: np.asarray(Image.fromarray(rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), np.uint8))  # noqa: E731
                                     .resize((w, h), Image.BICUBIC))
    shapes = Image.new("RGB", (120, 90), (128, 128, 128))
    draw = ImageDraw.Draw(shapes)
    draw.rectangle([0, 0, 59, 44], fill=(255, 0, 0))
    draw.rectangle([90, 68, 119, 89], fill=(0, 255, 0))
    draw.rectangle([60, 45, 79, 67], fill=(0, 0, 255))
    made = [("digits", "mnist.png", Image.fromarray(mnist_images[3])),
            ("digits", "photo.png", Image.fromarray(_digit_photo(700, 540, 1))),
            ("colours", "rgb.png", Image.fromarray(smooth(61, 97))),
            ("colours", "rgb.jpg", Image.fromarray(smooth(120, 160))),
            ("shapes", "shapes.png", shapes)]
    out = []
    for servable, name, img in made:
        img.save(folder / name, quality=90) if name.endswith(".jpg") else img.save(folder / name)
        out.append((servable, str(folder / name)))
    return out


# --------------------------------------------------------------------------- the page in Chromium
def _open(browser, url):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def _predict(browser, servable, path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    Select(browser.find_element(By.ID, "servable")).select_by_value(servable)
    browser.execute_script("window.tinymsLastReply = null")
    browser.find_element(By.ID, "file-input").send_keys(path)
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.tinymsLastReply")
                                     or "failed" in d.find_element(By.ID, "status").text)
    reply = browser.execute_script("return window.tinymsLastReply")
    assert reply, browser.find_element(By.ID, "status").text
    return reply


def _assert_same_answer(got, want):
    assert got["servable"] == want["servable"]
    if "task" in want:  # detection
        assert got["score_threshold"] == want["score_threshold"]
        (found,), (expected,) = got["predictions"], want["predictions"]
        assert found["image_size"] == expected["image_size"]
        assert [(d["label"], d["label_id"]) for d in found["detections"]] == \
               [(d["label"], d["label_id"]) for d in expected["detections"]]
        for d, e in zip(found["detections"], expected["detections"]):
            assert d["box"] == pytest.approx(e["box"], abs=1e-3) and d["score"] == pytest.approx(e["score"], abs=1e-4)
        return
    assert got["strategy"] == want["strategy"]
    (row,), (expected,) = got["predictions"], want["predictions"]
    assert [t["label"] for t in row["top"]] == [t["label"] for t in expected["top"]]
    assert [t["score"] for t in row["top"]] == pytest.approx([t["score"] for t in expected["top"]], abs=1e-4)


@needs_chromium
@pytest.mark.parametrize("where", ["file", "http"])
def test_the_page_answers_what_the_server_answers(browser, page, static_url, server, images, where):
    from selenium.webdriver.common.by import By

    url = (page / "index.html").as_uri() if where == "file" else static_url + "/index.html"
    _open(browser, url)
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#servable option")]
    assert options == ["digits", "colours", "shapes"]
    assert browser.find_element(By.ID, "draw-panel").is_displayed()  # the MNIST servable can be drawn on
    for servable, path in images:
        got = _predict(browser, servable, path)
        query = "score_threshold=0.3" if servable == "shapes" else "strategy=TOP5_CLASS"
        with open(path, "rb") as f:
            want = requests.post(f"{server.url}/servables/{servable}?{query}", data=f.read(), timeout=60).json()
        _assert_same_answer(got, want)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#boxes .box")) == len(want["predictions"][0]["detections"]) > 0
    if where == "http":  # everything the page loaded came from its own folder: no network at run time
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
        assert loaded and all(name.startswith(static_url + "/") or name.startswith("blob:") for name in loaded)


@needs_chromium
def test_a_drawn_digit_and_a_bad_file(browser, page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, (page / "index.html").as_uri())
    canvas = browser.find_element(By.ID, "canvas")
    (ActionChains(browser).move_to_element_with_offset(canvas, 0, -90).click_and_hold()
     .move_by_offset(0, 90).move_by_offset(0, 90).release().perform())
    browser.execute_script("window.tinymsLastReply = null")
    browser.find_element(By.ID, "predict-drawing").click()
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.tinymsLastReply"))
    top = browser.execute_script("return window.tinymsLastReply.predictions[0].top")
    assert len(top) == 5 and top[0]["label"] == "1"
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"definitely not a PNG")
    browser.find_element(By.ID, "file-input").send_keys(str(bad))
    WebDriverWait(browser, 30).until(lambda d: "Prediction failed" in d.find_element(By.ID, "status").text)
    assert "cannot decode" in browser.find_element(By.ID, "status").text


@needs_chromium
def test_the_recipe_engine_equals_numpy(browser, page):
    """web-recipe.js gives the numpy executor's network input bit for bit (float32), frame_digit included."""
    from tinyms.serving._web import WEB_OPS
    from tinyms.vision import _np_engine
    from tinyms.vision._presets import cifar_recipe, detection_recipe, digit_recipe, imagefolder_recipe

    _open(browser, (page / "index.html").as_uri())
    assert sorted(browser.execute_script("return TinyMSRecipe.OPS")) == sorted(WEB_OPS)
    rng = np.random.default_rng(7)
    recipes = [digit_recipe(), cifar_recipe(), imagefolder_recipe(size=(40, 48)),
               detection_recipe(size=(48, 64), letterbox=True, augment="none")]
    cases = []
    for recipe in recipes:
        for height, width in rng.integers(5, 300, (3, 2)):
            cases.append((recipe, rng.integers(0, 256, (height, width, recipe.channels), np.uint8)))
    for seed, (height, width) in enumerate([(90, 70), (300, 420), (1100, 800)]):
        cases.append((digit_recipe(), _digit_photo(height, width, seed)[:, :, None]))
    script = """
        const [steps, h, w, c, data] = arguments;
        const raw = atob(data), bytes = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        const out = TinyMSRecipe.run(steps, {height: h, width: w, channels: c, data: bytes});
        const b = new Uint8Array(out.data.buffer);
        let s = ""; for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
        return [TinyMSRecipe.shapeOf(out), btoa(s)];"""
    for recipe, img in cases:
        steps = [step.to_json() for step in recipe.eval]
        shape, data = browser.execute_script(script, steps, *map(int, img.shape), base64.b64encode(img.tobytes()).decode())
        want = np.asarray(_np_engine.run(recipe.eval, img), np.float32)
        got = np.frombuffer(base64.b64decode(data), np.float32).reshape(shape)
        assert got.shape == want.shape and np.array_equal(got, want), (steps[0], img.shape)


# --------------------------------------------------------------------------- export checks (no browser)
def test_export_refuses_what_the_page_cannot_run(run_dir, ort_tarball, tmp_path, monkeypatch):
    from tinyms.errors import ExportError
    from tinyms.serving import _web, export_web, write_servable
    from tinyms.model import create_model

    monkeypatch.setattr(_web, "WEB_OPS", tuple(op for op in _web.WEB_OPS if op != "frame_digit"))
    with pytest.raises(ExportError, match="recipe step 'frame_digit' cannot run in the browser page"):
        export_web(str(run_dir), str(tmp_path / "p1"), names=["digits"], progress=False)
    assert not (tmp_path / "p1").exists()
    result = export_web(str(run_dir / "servable" / "colours"), str(tmp_path / "p2"), progress=False)
    assert result["servables"] == ["colours"]  # a servable's own folder: that servable only
    result = export_web(str(run_dir), str(tmp_path / "p2"), progress=False)  # an earlier page is replaced
    assert result["servables"] == ["colours", "shapes"] and "frame_digit" in result["skipped"]["digits"]
    assert "digits is not in this page" in (tmp_path / "p2" / "servables.js").read_text()
    manifest = json.loads((tmp_path / "p2" / "tinyms-web.json").read_text())
    assert "models/digits.onnx" not in manifest["files"] and "models/colours.onnx" in manifest["files"]

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="is not a page written by tinyms export"):
        export_web(str(run_dir), str(tmp_path / "mine"), progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    write_servable(str(tmp_path / "ckpt"), "weights", create_model("lenet5", class_num=10), formats=("ckpt",))
    with pytest.raises(ExportError, match="has no ONNX file"):
        export_web(str(tmp_path / "ckpt"), str(tmp_path / "p3"), progress=False)
    with pytest.raises(FileNotFoundError, match="no run directory or servable"):
        export_web(str(tmp_path / "nowhere"), str(tmp_path / "p4"), progress=False)


def test_the_cli_writes_the_page(run_dir, ort_tarball, tmp_path, capsys):
    from tinyms.cli import main

    out = tmp_path / "cli-page"
    assert main(["export", str(run_dir), "--web", str(out), "--servable", "colours"]) == 0
    said = capsys.readouterr().out
    assert f"web page written to {out} (colours;" in said and "index.html" in said
    assert "colours" in (out / "servables.js").read_text() and (out / "models" / "colours.onnx").is_file()
    assert main(["export", str(run_dir), "--web", str(tmp_path / "x"), "--quantize", "int8"]) == 1
    assert "one thing at a time" in capsys.readouterr().err and not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- the npm fetch
class _Registry:
    """A fake npm registry on 127.0.0.1: a folder of files (a version document, a tarball), requests recorded."""

    def __init__(self, folder, name, version, tarball, published=None):
        self.requests = []
        record = self.requests.append

        class Handler(_QuietFiles):
            def log_request(self, code="-", size="-"):
                record(self.path)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.folder, self.name, self.version, self.published = folder, name, version, published
        os.makedirs(os.path.join(folder, name, "-"), exist_ok=True)
        self.serve(tarball)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, tarball):
        """Publish ``tarball`` (its own integrity and SHA-1 in the document, unless ``published`` says another)."""
        name, version = self.name, self.version
        with open(os.path.join(self.folder, name, version), "w") as f:
            json.dump({"name": name, "version": version, "dist": {
                "integrity": self.published or _integrity(tarball), "shasum": hashlib.sha1(tarball).hexdigest(),
                "tarball": f"{self.url}/{name}/-/{name}-{version}.tgz"}}, f)
        with open(os.path.join(self.folder, name, "-", f"{name}-{version}.tgz"), "wb") as f:
            f.write(tarball)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _integrity(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _tarball(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, str):  # a symbolic link
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_the_npm_fetch_verifies_and_caches(tmp_path, monkeypatch):
    from tinyms.errors import ArchiveError, ChecksumError
    from tinyms.serving._npm import NpmPin, cached_tarball_path, extract_files, package_tarball

    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    files = {"package/dist/a.js": b"console.log(1)", "package/dist/b.wasm": b"\0asm" + bytes(300)}
    good = _tarball({**files, "package/README.md": b"hi"})
    pin = NpmPin("fake-web", "1.0.0", _integrity(good), tuple(files))
    cache = os.path.dirname(cached_tarball_path(pin))

    # what the registry sends does not match its integrity: typed error, nothing cached, nothing half-written
    registry = _Registry(str(tmp_path / "r1"), "fake-web", "1.0.0", good[:-1] + b"x", published=pin.integrity)
    registry.published = None  # from now on the document describes what is served
    with pytest.raises(ChecksumError, match="integrity mismatch"):
        package_tarball(pin, registry=registry.url, progress=False)
    assert os.listdir(cache) == []
    # the registry publishes another integrity for the pinned version: refused before any download
    other = _Registry(str(tmp_path / "r2"), "fake-web", "1.0.0", good, published=_integrity(b"another"))
    with pytest.raises(ChecksumError, match="serves another package"):
        package_tarball(pin, registry=other.url, progress=False)
    assert other.requests == ["/fake-web/1.0.0"] and os.listdir(cache) == []
    other.close()

    registry.serve(good)
    path = package_tarball(pin, registry=registry.url, progress=False)
    assert path == cached_tarball_path(pin) and open(path, "rb").read() == good
    registry.close()  # cached and checked again: the registry is not asked
    assert package_tarball(pin, registry=registry.url, progress=False) == path
    out = extract_files(path, pin, str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == ["a.js", "b.wasm"]
    assert {name: open(file, "rb").read() for name, file in out.items()} == files

    linked = _tarball({"package/dist/a.js": "/etc/passwd", "package/dist/b.wasm": b"x"})
    link_pin = NpmPin("fake-web", "1.0.0", _integrity(linked), tuple(files))
    (tmp_path / "linked.tgz").write_bytes(linked)
    with pytest.raises(ArchiveError, match="not a regular file"):
        extract_files(str(tmp_path / "linked.tgz"), link_pin, str(tmp_path / "out2"))
    with pytest.raises(ArchiveError, match="has no package/dist/b.wasm"):
        (tmp_path / "short.tgz").write_bytes(_tarball({"package/dist/a.js": b"x"}))
        extract_files(str(tmp_path / "short.tgz"), pin, str(tmp_path / "out3"))
