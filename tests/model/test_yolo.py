"""The YOLO detectors (built by mindyolo) follow TinyMS's detection contract.

Small on purpose: 320x320 inputs, batches of 1-2, 1-3 classes to train. Compiling a YOLO graph
takes 10-40 s on a 2-core machine, so four graphs are compiled: YOLOv8-n's inference and its
training through ``Model`` (8 steps, the loss must fall, then an mAP evaluation), and one training
step each for YOLOv5-n and YOLOX-Nano. The other checks run in PyNative mode (mindyolo's inference
works there; its losses do not).
"""

import contextlib
import subprocess
import sys

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
import pytest
from mindspore import nn

import tinyms as ts
from tinyms.errors import InputShapeError
from tinyms.model import Model, create_model, list_models, load, model_config
from tinyms.model._train_step import train_step_for
from tinyms.model.zoo.yolo import COCO_LABELS

YOLOS = ("yolov5n", "yolov5s", "yolov8n", "yolov8s", "yolox_nano", "yolox_tiny", "yolox_s")
SIDE = 320
CELLS = sum((SIDE // s) ** 2 for s in (8, 16, 32))  # anchor points over the three scales: 2100
ANCHORS_PER_CELL = {"yolov5": 3, "yolov8": 1, "yolox": 1}
# trainable parameters at 80 classes: what mindyolo builds from its repository's configs for each
# model, parameter for parameter (names and shapes checked once against TinyMS's yolo_configs)
PARAMS_80 = {"yolov5n": 1_872_157, "yolov5s": 7_235_389, "yolov8n": 3_157_184, "yolov8s": 11_166_544,
             "yolox_nano": 912_159, "yolox_tiny": 5_055_855, "yolox_s": 8_968_255}


def _family(name):
    return "yolox" if name.startswith("yolox") else name[:6]


@contextlib.contextmanager
def _mode(mode):
    """MindSpore's ``mode`` for one test (TinyMS's once-only GRAPH default applied first, so it
    does not switch back later); the mode before is restored."""
    ts.context._apply_defaults()  # noqa: SLF001
    before = ms.get_context("mode")
    ms.set_context(mode=mode)
    try:
        yield
    finally:
        ms.set_context(mode=before)


@pytest.fixture
def pynative():
    with _mode(ms.PYNATIVE_MODE):
        yield


@pytest.fixture
def graph():
    with _mode(ms.GRAPH_MODE):
        yield


def _images(batch, side=SIDE, seed=0):
    return ms.Tensor(np.random.default_rng(seed).random((batch, 3, side, side), dtype=np.float32))


def _batch():
    """Two images: three objects and one, padded to four rows (bbox xyxy pixels, label -1)."""
    bbox = np.zeros((2, 4, 4), np.float32)
    label = np.full((2, 4), -1, np.int32)
    bbox[0, :3] = [[20, 30, 60, 80], [100, 90, 220, 250], [200, 10, 300, 70]]
    label[0, :3] = [0, 1, 1]
    bbox[1, 0] = [40, 40, 280, 200]
    label[1, 0] = 0
    return ms.Tensor(bbox), ms.Tensor(label)


def test_import_tinyms_model_does_not_import_mindyolo():
    code = "import sys, tinyms, tinyms.model; print('mindyolo' in sys.modules, 'yolov8n' in tinyms.model.list_models())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_every_yolo_is_registered_as_a_coco_detector_with_its_published_weights():
    assert set(YOLOS) <= set(list_models("yolo*", source="tinyms"))
    for name in YOLOS:
        cfg = model_config(name)
        side = 416 if name in ("yolox_nano", "yolox_tiny") else 640
        assert (cfg.task, cfg.background, cfg.labels) == ("detection", False, COCO_LABELS)
        assert cfg.input_shape == (3, side, side) and cfg.mean == (0, 0, 0) and cfg.std == (1, 1, 1)
        weights = model_config(f"{name}.coco")
        assert weights.urls[0].startswith("https://download.mindspore.cn/toolkits/mindyolo/")
        assert weights.urls[0].endswith(weights.file) and weights.file.endswith(f"-{weights.hash_prefix}.ckpt")
        assert len(weights.hash_prefix) == 8 and 0.2 < weights.accuracy < 0.5
    assert len(COCO_LABELS) == 80 and COCO_LABELS[0] == "person" and COCO_LABELS[-1] == "toothbrush"


@pytest.mark.parametrize("name", YOLOS)
def test_every_yolo_builds_and_predicts_boxes_and_scores_of_the_contract(name, pynative, released):
    ms.set_seed(0)
    net = create_model(name, image_size=SIDE)
    assert net.class_num == 80 and net.default_cfg.labels == COCO_LABELS
    assert net.default_cfg.input_shape == (3, SIDE, SIDE) and net.default_cfg.task == "detection"
    assert sum(p.size for p in net.trainable_params()) == PARAMS_80[name]
    assert all(n.startswith("model.model.") for n in net.parameters_dict())  # mindyolo's names
    net.set_train(False)
    boxes, scores = (t.asnumpy() for t in net(_images(1)))
    anchors = CELLS * ANCHORS_PER_CELL[_family(name)]
    assert boxes.shape == (1, anchors, 4) and scores.shape == (1, anchors, 80)
    assert boxes.dtype == scores.dtype == np.float32
    assert 0 <= boxes.min() and boxes.max() <= 1 and 0 <= scores.min() and scores.max() <= 1
    assert (boxes[..., 2] >= boxes[..., 0]).all() and (boxes[..., 3] >= boxes[..., 1]).all()


@pytest.mark.parametrize("name", ["yolov5n", "yolov8n", "yolox_nano"])
def test_the_boxes_are_mindyolos_predictions_in_tinyms_order_and_scale(name, pynative, released):
    """Each family's conversion: mindyolo's centre/size pixel boxes become [ymin, xmin, ymax, xmax]
    fractions (clipped), its objectness multiplies the class probabilities."""
    ms.set_seed(0)
    net = create_model(name, class_num=2, image_size=SIDE)
    assert net.class_num == 2 and net.default_cfg.labels == ("0", "1")
    net.set_train(False)
    x = _images(1, side=256)  # any multiple of 32, not only image_size
    boxes, scores = (t.asnumpy() for t in net(x))
    raw = net.model(x)[0].asnumpy()[0]  # mindyolo's own inference rows
    cx, cy, w, h = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
    expected = np.clip(np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1) / 256, 0, 1)
    np.testing.assert_allclose(boxes[0], expected, atol=1e-6)
    if name == "yolov8n":
        np.testing.assert_allclose(scores[0], raw[:, 4:], atol=1e-7)
    else:
        np.testing.assert_allclose(scores[0], raw[:, 5:] * raw[:, 4:5], atol=1e-7)


def test_image_size_and_input_shape_are_checked_with_the_fix_named(pynative):
    with pytest.raises(ValueError, match="image_size must be one of 320, 416, 640"):
        create_model("yolov8n", image_size=300)
    with pytest.raises(ValueError, match="class_num"):
        create_model("yolox_nano", class_num=0)
    net = create_model("yolov8n", class_num=2, image_size=SIDE)
    net.set_train(False)
    with pytest.raises(InputShapeError, match="multiples of 32, got 300x320"):
        net(_images(1)[:, :, :300])


def _train_step(loss_net):
    """One step of TinyMS's detection training step (Adam) on :func:`_batch`; the loss."""
    optimizer = nn.Adam(loss_net.trainable_params(), learning_rate=1e-3)
    step = train_step_for(loss_net, optimizer, sens=1.0, columns=3)
    step.set_train(True)
    image, (bbox, label) = _images(2), _batch()
    return float(step(image, bbox, label).asnumpy())


def test_yolov8n_predicts_trains_and_evaluates_through_model_in_graph_mode(graph, released):
    ms.set_seed(0)
    net = create_model("yolov8n", class_num=2, image_size=SIDE)
    net.set_train(False)
    boxes, scores = net(_images(2))
    assert boxes.shape == (2, CELLS, 4) and scores.shape == (2, CELLS, 2)
    before = net.model.model[0].conv.weight.asnumpy().copy()
    image, (bbox, label) = _images(2), _batch()
    data = ds.NumpySlicesDataset({"image": image.asnumpy(), "bbox": bbox.asnumpy(), "label": label.asnumpy()},
                                 shuffle=False).batch(2)
    model = Model(net).compile(optimizer="adam", learning_rate=1e-3)  # detection: the network's own loss
    losses = model.train(8, data, verbose=0).steps["loss"]  # measured: 22.7 -> 8.2
    assert len(losses) == 8 and np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses
    assert not np.array_equal(before, net.model.model[0].conv.weight.asnumpy())  # the network's own weights trained
    result = model.eval(data)
    assert set(result) >= {"mAP50", "mAP50_95"} and all(0 <= result[k] <= 1 for k in ("mAP50", "mAP50_95"))


@pytest.mark.parametrize("name", ["yolov5n", "yolox_nano"])
def test_a_graph_training_step_of_yolov5_and_yolox_gives_a_finite_loss(name, graph, released):
    # one class: mindyolo 0.5.0's YOLOv5 loss cannot stack its terms then, and returns NaN when a
    # batch assigns no object to one output scale (this batch's small objects leave P5 empty)
    ms.set_seed(0)
    net = create_model(name, class_num=1, image_size=SIDE)
    loss = _train_step(net.with_loss())
    assert np.isfinite(loss) and loss > 0


def test_yolox_refuses_to_train_at_another_size_than_it_is_configured_for(graph):
    loss_net = create_model("yolox_nano", class_num=2, image_size=SIDE).with_loss()
    bbox, label = _batch()
    with pytest.raises(InputShapeError, match="only at the image size it is configured for, 320x320, got 416x416.*"
                                              "image_size=416"):
        loss_net(_images(2, side=416), bbox, label)


def test_a_checkpoint_rebuilds_the_same_yolo_and_mindyolos_own_checkpoints_load(tmp_path, pynative, released):
    ms.set_seed(0)
    net = create_model("yolov5n", class_num=3, image_size=SIDE)
    path = Model(net).save_checkpoint(tmp_path / "yolo.ckpt")
    loaded = load(path).network
    assert type(loaded).__name__ == "YOLOv5" and loaded is not net
    assert (loaded.class_num, loaded.image_size, loaded.default_cfg.input_shape) == (3, SIDE, (3, SIDE, SIDE))
    mine, theirs = net.parameters_dict(), loaded.parameters_dict()
    assert list(mine) == list(theirs)
    for key in mine:
        np.testing.assert_array_equal(mine[key].asnumpy(), theirs[key].asnumpy(), err_msg=key)

    # a checkpoint of mindyolo's own network (how its published COCO weights were saved) loads by name
    import mindyolo.models
    from mindyolo.utils.config import Config

    from tinyms.model.zoo.yolo import architecture

    cfg, _ = architecture("yolov5n", "yolov5")
    theirs = mindyolo.models.create_model("yolov5", model_cfg=Config(cfg), num_classes=3)
    ms.save_checkpoint(theirs, str(tmp_path / "mindyolo.ckpt"))
    into = load(str(tmp_path / "mindyolo.ckpt"), network=create_model("yolov5n", class_num=3, image_size=SIDE)).network
    for key, value in theirs.parameters_dict().items():
        np.testing.assert_array_equal(into.parameters_dict()[key].asnumpy(), value.asnumpy(), err_msg=key)


def test_yolov8n_exports_to_onnx_with_a_fixed_batch_that_serving_runs_row_by_row(tmp_path, graph, capfd):
    from tinyms.serving import write_servable
    from tinyms.serving._backends import OnnxBackend
    from tinyms.serving._config import load_servables

    ms.set_seed(0)
    net = create_model("yolov8n", class_num=2, image_size=SIDE)
    net.set_train(False)
    write_servable(str(tmp_path), "yolo", net, "a YOLO on onnxruntime", formats=("onnx",))
    # the export tried a symbolic batch (mindyolo's graph reshapes to batch 1) quietly, and kept batch 1
    assert "onnxruntime" not in capfd.readouterr().err
    specs, problems = load_servables(str(tmp_path))
    assert not problems and [s.format for s in specs] == ["onnx"]
    backend = OnnxBackend(specs[0])
    assert backend.fixed_batch == 1
    images = _images(3, seed=5)
    boxes, scores = backend.run(images.asnumpy())        # three rows through a batch-1 file
    want_boxes, want_scores = net(images)
    assert boxes.shape == (3, CELLS, 4) and scores.shape == (3, CELLS, 2)
    np.testing.assert_allclose(boxes, want_boxes.asnumpy(), atol=1e-5)   # fractions of the image
    np.testing.assert_allclose(scores, want_scores.asnumpy(), atol=1e-5)
