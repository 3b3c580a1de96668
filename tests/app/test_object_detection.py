"""tinyms.app: TinyMS 0.3's detection app (JSON config, ObjectDetector, draw, save) on TinyMS's own SSD.

The network is a small ``ssd300_mobilenetv2`` (96x96 input, classes "circle" and "square")
whose "circle" class bias is raised, so that every anchor scores about 0.8 for it: its
detections are known to exist only once its checkpoint is loaded (an untrained SSD scores about
0.01). The app's answer is checked against the same network driven by hand.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
ms = pytest.importorskip("mindspore")

from _memory import release_memory  # noqa: E402
from hub.conftest import server  # noqa: E402,F401 - tests/hub's 127.0.0.1 weights server, a fixture here too
from PIL import Image  # noqa: E402

from tinyms import _download, _hub_store  # noqa: E402
from tinyms.app import (ObjectDetector, draw_boxes_on_image, load_and_parse_config,  # noqa: E402
                        object_detection_predict, save_image, visualize_boxes_on_image)
from tinyms.app.object_detection.utils import config_util  # noqa: E402
from tinyms.errors import (CheckpointError, ConfigError, HubError, ImageSaveError, InputShapeError,  # noqa: E402
                           JSONInputError, UnknownNameError)
from tinyms.model import Model, registry, ssd300_mobilenetv2  # noqa: E402

LABELS = ["circle", "square"]
SIZE = 96
SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "tinyms", "app", "object_detection", "configs", "tinyms", "0.3")


def _photo(height=120, width=160):
    """A BGR picture whose channels differ (a red disc, a blue square, a gradient), as cv2.imread gives."""
    yy, xx = np.mgrid[:height, :width]
    bgr = np.zeros((height, width, 3), np.uint8)
    bgr[..., 1] = (xx * 255 // width).astype(np.uint8)
    bgr[(yy - 40) ** 2 + (xx - 50) ** 2 < 20 ** 2] = (0, 0, 230)
    bgr[70:110, 100:150] = (220, 30, 0)
    return bgr


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """``(folder, ssd300.ckpt, the network)``: the SSD with "circle" scoring high everywhere, saved by Model."""
    ms.set_seed(1)
    net = ssd300_mobilenetv2(class_num=len(LABELS) + 1, is_training=False, image_size=SIZE)
    for head in net.class_heads:
        bias = head[3].bias
        values = bias.asnumpy().reshape(-1, len(LABELS) + 1)
        values[:, 1] += 6.0  # sigmoid(logit(0.01) + 6) ~ 0.8 for "circle"
        bias.set_data(ms.Tensor(values.reshape(-1)))
    folder = tmp_path_factory.mktemp("weights")
    path = Model(net).save_checkpoint(str(folder / "ssd300.ckpt"))
    yield folder, path, net
    del net
    release_memory()


def _config(folder, **changes):
    """A config in TinyMS 0.3's format for the checkpoint, plus TinyMS's labels field."""
    config = {"model_net": "ssd300", "class_num": len(LABELS) + 1, "dataset": "shapes", "download_from_hub": False,
              "checkpoint_url": "", "sha256": "", "checkpoint_path": str(folder), "checkpoint_name": "ssd300.ckpt",
              "description": "two shapes", "labels": LABELS}
    config.update(changes)
    return {k: v for k, v in config.items() if v is not None}


def _write(path, config):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f)
    return str(path)


@pytest.fixture(scope="module")
def detector(checkpoint, tmp_path_factory):
    """The detector a 0.3 script makes from a config file."""
    path = _write(tmp_path_factory.mktemp("config") / "ssd300_shapes.json", _config(checkpoint[0]))
    made = ObjectDetector(config=load_and_parse_config(config_path=path))
    yield made
    made._models.clear()  # its compiled networks go before the module's memory is released


def _by_hand(net, bgr):
    """The detections the same network gives through TinyMS's detection preset and postprocess."""
    from tinyms.vision import VOCTransform

    transform = VOCTransform(size=SIZE, labels=LABELS, augment="none")
    output = Model(net).predict(transform(np.ascontiguousarray(bgr[..., ::-1]))[None])
    return transform.postprocess(output, bgr.shape[:2], score_threshold=0.3)


def test_a_0_3_script_finds_draws_and_saves_the_objects(detector, checkpoint, tmp_path):
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), _photo())
    # the steps of TinyMS 0.3's opencv_image_app.py, with save_image instead of a window
    image_np = cv2.imread(str(photo))
    original = image_np.copy()
    found = object_detection_predict(image_np.copy(), detector, is_training=False)
    drawn = visualize_boxes_on_image(image_np, found, box_color=(0, 255, 0), box_thickness=3,
                                     text_font=cv2.FONT_HERSHEY_PLAIN, font_scale=2, text_color=(0, 0, 255),
                                     font_size=3, show_scores=True)
    path = save_image(drawn, save_dir=str(tmp_path), img_name="photo_detected", img_format="jpg")

    # 0.3's format: [x, y, w, h] in pixels of the photo, a score, the class name; best first
    assert found and len(found) <= 100
    height, width = original.shape[:2]
    for item in found:
        assert set(item) == {"bbox", "score", "category_id"}
        x, y, w, h = item["bbox"]
        assert all(isinstance(v, float) for v in item["bbox"])
        assert 0 <= x and 0 <= y and w >= 0 and h >= 0 and x + w <= width + 1e-3 and y + h <= height + 1e-3
        assert item["category_id"] == "circle" and 0.3 <= item["score"] <= 1
    assert [d["score"] for d in found] == sorted((d["score"] for d in found), reverse=True)
    # the same answer as the network driven by hand on the RGB photo: the checkpoint was loaded
    # (an untrained SSD finds nothing above 0.3) and the BGR image was turned into RGB
    expected = _by_hand(checkpoint[2], original)
    assert len(found) == len(expected)
    for got, want in zip(found, expected):
        assert got["category_id"] == want["category_id"] and got["score"] == pytest.approx(want["score"], abs=1e-5)
        assert got["bbox"] == pytest.approx(want["bbox"], abs=1e-2)

    # drawn into the image itself, in the colour asked (BGR green) along the best box's left side
    assert drawn is image_np and (drawn != original).any()
    x, y, w, h = (int(round(v)) for v in found[0]["bbox"])
    side = drawn[min(y + h // 2, height - 1), min(x + 1, width - 1)]
    assert side.tolist() == [0, 255, 0]
    # saved complete, the photo's size, nothing else left in the folder
    assert path == os.path.join(str(tmp_path), "photo_detected.jpg") and os.path.isfile(path)
    assert Image.open(path).size == (width, height)
    assert sorted(os.listdir(tmp_path)) == ["photo.jpg", "photo_detected.jpg"]
    # a second frame reuses the network and its weights (a camera loop compiles once)
    model = detector.model_build()
    assert object_detection_predict(original.copy(), detector) == found and detector.model_build() is model


def test_the_five_steps_keep_0_3s_contract(detector):
    image = _photo()
    image_shape, prepared = detector.data_preprocess(image)
    assert tuple(image_shape) == (120, 160) and prepared.shape == (3, SIZE, SIZE) and prepared.dtype == np.float32
    tensor = detector.convert2tensor(prepared)
    assert isinstance(tensor, ms.Tensor) and tensor.shape == (1, 3, SIZE, SIZE)
    model = detector.model_build(is_training=False)
    assert isinstance(model, Model)
    same, output = detector.model_load_and_predict(model, tensor)
    assert same is model and output[0].shape[-1] == 4 and output[1].shape[-1] == len(LABELS) + 1
    found = detector.data_postprocess(output, image_shape)
    assert found == object_detection_predict(image, detector)
    # 0.3 concatenated the two outputs into one array: that works too
    joined = np.concatenate([output[0].asnumpy(), output[1].asnumpy()], axis=-1)
    assert detector.data_postprocess(joined, image_shape) == found
    assert detector.labels == tuple(LABELS)
    # grey and BGRA camera frames are images too
    assert detector.data_preprocess(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))[1].shape == (3, SIZE, SIZE)
    assert np.array_equal(detector.data_preprocess(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))[1], prepared)
    # 0.3's type checks
    with pytest.raises(TypeError, match="numpy.ndarray"):
        detector.data_preprocess("photo.jpg")
    with pytest.raises(TypeError, match="numpy.ndarray"):
        detector.convert2tensor(list(prepared))
    with pytest.raises(TypeError, match="ObjectDetector"):
        object_detection_predict(image, {"model_net": "ssd300"})
    with pytest.raises(InputShapeError, match="uint8"):
        detector.data_preprocess(image.astype(np.float32))


def test_a_run_folder_or_a_checkpoint_file_works_offline(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv(_hub_store.OFFLINE_ENV, "1")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(checkpoint[1], run / "best.ckpt")
    for path in (run, run / "best.ckpt"):
        detector = ObjectDetector(config=_config(path, checkpoint_name=None, download_from_hub=True))
        assert detector.data_preprocess(_photo())[1].shape == (3, SIZE, SIZE)  # the size the checkpoint records
        assert detector.labels == tuple(LABELS)


@pytest.fixture
def weights_server(server, tmp_path, monkeypatch):
    """tests/hub's 127.0.0.1 file server, with TinyMS's hub cache and registry isolated for the test."""
    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    for var in (_hub_store.MIRROR_ENV, _hub_store.OFFLINE_ENV, "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(_download, "BACKOFF", 0.01)
    monkeypatch.setattr(registry, "_EXTRA_WEIGHTS", dict(registry._EXTRA_WEIGHTS))
    return server


def test_download_from_hub_goes_through_tinyms_hub(checkpoint, weights_server, tmp_path, monkeypatch):
    url, files, asked = weights_server.url, weights_server.files, weights_server.requests
    with open(checkpoint[1], "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    files["/ssd/ssd300_shapes.ckpt"] = data
    registry.register_weights("ssd300_mobilenetv2", "voc", overwrite=True, file="ssd300_shapes.ckpt", sha256=digest,
                              urls=[f"{url}/ssd/ssd300_shapes.ckpt"], labels=tuple(LABELS),
                              input_shape=(3, SIZE, SIZE))
    # TinyMS 0.3's own VOC config, its class count made the test network's and no local file
    with open(os.path.join(SHIPPED, "ssd300_voc.json"), encoding="utf-8") as f:
        shipped = json.load(f)
    path = _write(tmp_path / "voc.json", {**shipped, "class_num": len(LABELS) + 1,
                                         "checkpoint_path": str(tmp_path / "none")})
    config = load_and_parse_config(path)       # downloads here, as 0.3 did, from TinyMS's hub
    assert asked == ["/ssd/ssd300_shapes.ckpt"] and config["checkpoint_url"] == shipped["checkpoint_url"]
    detector = ObjectDetector(config)
    assert detector.labels == tuple(LABELS)   # the hub weights' class names
    assert detector.data_preprocess(_photo())[1].shape == (3, SIZE, SIZE)
    monkeypatch.setenv(_hub_store.OFFLINE_ENV, "1")   # cached and verified: no second download
    assert ObjectDetector(load_and_parse_config(path)).labels == tuple(LABELS) and len(asked) == 1

    # weights the hub does not have, and a URL that is not TinyMS 0.3's hub, are typed errors
    monkeypatch.setitem(config_util.HUB_TAGS, "voc", "not_shipped")
    with pytest.raises(HubError, match="download_from_hub: TinyMS's hub has no ssd300_mobilenetv2 weights"):
        load_and_parse_config(path)
    _write(tmp_path / "voc.json", {**shipped, "checkpoint_url": f"{url}/ssd/ssd300_shapes.ckpt",
                                   "checkpoint_path": str(tmp_path / "none")})
    with pytest.raises(ConfigError, match="checkpoint_url: .* is not on TinyMS's hub") as err:
        load_and_parse_config(path)
    assert err.value.field == "checkpoint_url"


BAD_FIELDS = [
    ({"class_num": "21"}, "class_num", "whole number"),
    ({"class_num": 1}, "class_num", "at least 2"),
    ({"class_num": None}, "class_num", "missing"),
    ({"model_net": "yolov3"}, "model_net", "unknown network"),
    ({"dataset": None}, "dataset", "missing"),
    ({"download_from_hub": "yes"}, "download_from_hub", "true or false"),
    ({"checkpoint_name": "ssd300.pth"}, "checkpoint_name", ".ckpt"),
    ({"sha256": "abc"}, "sha256", "64 hexadecimal"),
    ({"image_size": 32}, "image_size", "at least 64"),
    ({"labels": "circle,square"}, "labels", "list of class names"),
    ({"score_threshold": 2}, "score_threshold", "from 0 to 1"),
    ({"class_nums": 3}, "class_nums", "not a field"),
    ({"checkpoint_path": None}, "checkpoint_path", "missing"),
]


@pytest.mark.parametrize("change, field, words", BAD_FIELDS, ids=[f for _, f, _ in BAD_FIELDS])
def test_a_bad_field_is_a_config_error_naming_it(change, field, words, tmp_path):
    path = _write(tmp_path / "bad.json", _config(tmp_path, **change))
    with pytest.raises(ConfigError, match=f"^{field}: .*{words}") as err:
        load_and_parse_config(path)
    assert err.value.field == field and isinstance(err.value, ValueError)
    if field == "model_net":
        assert isinstance(err.value, KeyError)   # as 0.3 raised it


def test_bad_files_and_configs_that_do_not_fit_their_checkpoint(checkpoint, tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as err:
        load_and_parse_config(str(tmp_path / "missing.json"))
    assert isinstance(err.value, FileNotFoundError)
    (tmp_path / "broken.json").write_text('{"model_net": "ssd300",')
    with pytest.raises(ConfigError, match="not valid JSON.*line 1"):
        load_and_parse_config(str(tmp_path / "broken.json"))
    with pytest.raises(ConfigError, match="one JSON object"):
        load_and_parse_config(_write(tmp_path / "list.json", [1, 2]))
    with pytest.raises(JSONInputError, match="more than the 1,048,576 TinyMS reads"):   # bounded before parsing
        load_and_parse_config(_write(tmp_path / "big.json", {"description": "x" * (1 << 20)}))
    with pytest.raises(ConfigError, match="must be a dict"):
        ObjectDetector(config=[("model_net", "ssd300")])
    # TinyMS 0.3's configs read as they are
    for name, classes in (("ssd300_voc.json", 21), ("ssd300_shanshui.json", 11)):
        with open(os.path.join(SHIPPED, name), encoding="utf-8") as f:
            assert ObjectDetector(json.load(f)).config["class_num"] == classes

    folder = checkpoint[0]
    mismatches = [({"class_num": 21, "labels": None, "dataset": "voc"}, "class_num", "holds a network of 3"),
                  ({"image_size": 128}, "image_size", "built for 96x96"),
                  ({"labels": ["a", "b", "c"]}, "class_num", "name 3 classes"),
                  ({"labels": None, "dataset": "my_boxes"}, "dataset", "'my_boxes' names no class list")]
    for change, field, words in mismatches:
        detector = ObjectDetector(_config(folder, **change))   # found on first use, when the weights are read
        with pytest.raises(ConfigError, match=f"^{field}: .*{words}") as err:
            detector.data_preprocess(_photo())
        assert err.value.field == field
    missing = ObjectDetector(_config(tmp_path / "nowhere"))
    with pytest.raises(CheckpointError, match="checkpoint_path: no checkpoint at .*nowhere") as err:
        object_detection_predict(_photo(), missing)
    assert isinstance(err.value, FileNotFoundError)
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="checkpoint_path: .*holds no best.ckpt or last.ckpt"):
        ObjectDetector(_config(empty, checkpoint_name=None)).model_build()


def test_drawing_and_saving_opencv_images(tmp_path):
    img = np.zeros((120, 160, 3), np.uint8)
    out = draw_boxes_on_image(img, [20.0, 40.0, 100.0, 60.0], 0.912, "cat", box_color=(255, 0, 0), box_thickness=2,
                              font_scale=1, text_color=(0, 0, 255), show_scores=False)
    assert out is img
    assert img[70, 20].tolist() == [255, 0, 0] and img[70, 119].tolist() == [255, 0, 0]   # both sides, BGR blue
    assert not img[45:95, 25:115].any()      # inside the box: nothing
    assert (img[:, :, 2] == 255).any()        # the label, in BGR red
    untouched = np.full((50, 60, 3), 7, np.uint8)
    assert visualize_boxes_on_image(untouched, []) is untouched and (untouched == 7).all()
    with pytest.raises(InputShapeError, match=r"\[x, y, width, height\]"):
        draw_boxes_on_image(img, [1, 2, 3], 0.5, "cat")
    with pytest.raises(InputShapeError, match="'bbox', 'score' and 'category_id'"):
        visualize_boxes_on_image(img, [{"box": [0, 0, 5, 5]}])
    with pytest.raises(ValueError, match="box_color"):
        draw_boxes_on_image(img, [0, 0, 5, 5], 0.5, "cat", box_color=(0, 300, 0))
    with pytest.raises(InputShapeError, match="uint8 BGR"):
        visualize_boxes_on_image(img.astype(np.float32), [])

    photo = _photo()
    path = save_image(photo, str(tmp_path), "exact", "PNG")   # lossless: cv2 reads back the same BGR pixels
    assert path.endswith("exact.PNG") and np.array_equal(cv2.imread(path), photo)
    assert save_image(photo, str(tmp_path)) == os.path.join(str(tmp_path), "no_name.jpg")
    with pytest.raises(UnknownNameError, match="img_format: save_image writes jpg, jpeg, png"):
        save_image(photo, str(tmp_path), "x", "bmp")
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_image(photo, str(tmp_path / "missing"), "x")
    assert sorted(os.listdir(tmp_path)) == ["exact.PNG", "no_name.jpg"]


def test_importing_the_app_loads_neither_mindspore_nor_opencv():
    code = ("import sys, tinyms.app, tinyms.app.object_detection.utils.view_util; "
            "print(sorted(m for m in ('mindspore', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
