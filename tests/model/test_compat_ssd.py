"""TinyMS 0.3's detection code against this TinyMS.

- tests/st/ssd300.py: its training branch (``Model(TrainingWrapper(net_with_loss(net), opt,
  loss_scale)); model.compile(); model.train(...)`` with ModelCheckpoint, LossMonitor and
  TimeMonitor) and its evaluation branch (``ssd300_mobilenetv2(is_training=False)``,
  ``model.load_checkpoint``, ``model.predict`` per image, ``coco_eval``), with the script's
  own arguments and the flags ``--epoch_size 1 --batch_size 2``, on a VOC folder of 8 small
  photos written here (VOC class names, 4 train steps).
- tests/ut: test_ssd300, test_ssd300_infer, test_voc_transform, test_voc_transform_postprocess.
- Files saved while training a train-step cell that renamed the weights it holds
  (``optimizer.conv1.weight``) load into the bare network.

The script's calls are written out here as it makes them (as tests/model/test_compat_scripts.py
does for 0.3's MobileNetV2 script); its train step is named after the batch columns instead of
``*args`` because MindSpore never frees a compiled ``*args`` cell (tests/_memory.py).
"""

import contextlib
import io
import json
import math
import os

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

import tinyms as ts
from tinyms import Tensor, context, layers
from tinyms import primitives as P
from tinyms.callbacks import CheckpointConfig, LossMonitor, ModelCheckpoint, TimeMonitor
from tinyms.data import VOCDataset
from tinyms.errors import CheckpointError
from tinyms.initializers import TruncatedNormal, initializer
from tinyms.losses import net_with_loss
from tinyms.model import Model, lenet5, ssd300_mobilenetv2
from tinyms.optimizers import Momentum
from tinyms.utils.train.lr_generator import mobilenetv2_lr
from tinyms.vision import coco_eval, voc_transform

from _memory import release_memory

WIDTH, HEIGHT = 96, 80  # not square: a height/width mix-up in evaluation would show
VOC_CLASSES = ["background", *voc_transform.labels]  # what 0.3's script scores against (21 columns)
# photo id -> objects (class, xmin, ymin, xmax, ymax) in VOC's 1-based pixels
PHOTOS = {f"{i:06d}": [(("dog", "cat", "person", "car")[(i + j) % 4], 6 + 44 * j, 9 + 3 * i, 40 + 44 * j, 48 + 3 * i)
                       for j in range(1 + i % 2)] for i in range(1, 9)}
TRAIN_IDS, VAL_IDS = list(PHOTOS), list(PHOTOS)[4:]


@pytest.fixture(scope="module", autouse=True)
def script_context():
    """The script's first call, GRAPH mode on CPU; the previous mode and the networks' memory come back after."""
    previous = context.get_context("mode")
    context.set_context(mode=context.GRAPH_MODE, device_target="CPU")
    try:
        yield
    finally:
        context.set_context(mode=previous)
        release_memory()


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    """A VOC folder: JPEGImages, Annotations, ImageSets/Main/{trainval,val}.txt."""
    root = tmp_path_factory.mktemp("voc")
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    for k, (image_id, objects) in enumerate(PHOTOS.items()):
        pixels = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
        for name, x0, y0, x1, y1 in objects:
            pixels[y0 - 1:y1, x0 - 1:x1] = (60 * VOC_CLASSES.index(name) % 256, 120 + 10 * k, 200)
        Image.fromarray(pixels).save(root / "JPEGImages" / f"{image_id}.jpg", quality=95)
        tags = "".join(f"<object><name>{n}</name><difficult>0</difficult><truncated>0</truncated><bndbox>"
                       f"<xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
                       for n, a, b, c, d in objects)
        (root / "Annotations" / f"{image_id}.xml").write_text(
            f"<annotation><filename>{image_id}.jpg</filename><size><width>{WIDTH}</width>"
            f"<height>{HEIGHT}</height><depth>3</depth></size>{tags}</annotation>")
    for usage, ids in (("trainval", TRAIN_IDS), ("val", VAL_IDS)):
        (root / "ImageSets" / "Main" / f"{usage}.txt").write_text("".join(i + "\n" for i in ids))
    return str(root)


def create_dataset(path, batch_size, is_training=True):
    """The script's loader: VOCDataset and voc_transform.apply_ds, 4 workers (more than this machine may have)."""
    usage = "trainval" if is_training else "val"
    data = VOCDataset(path, task="Detection", usage=usage, num_parallel_workers=4, shuffle=is_training,
                      decode=True)
    return voc_transform.apply_ds(data, repeat_size=1, batch_size=batch_size, num_parallel_workers=4,
                                  is_training=is_training)


class TrainingWrapper(layers.Layer):
    """The script's train step: loss, gradients scaled by ``sens`` and the optimizer's update."""

    def __init__(self, network, optimizer, sens=1.0):
        super().__init__(auto_prefix=False)
        self.network = network
        self.network.set_grad()
        self.weights = ts.ParameterTuple(network.trainable_params())
        self.optimizer = optimizer
        self.grad = P.GradOperation(get_by_list=True, sens_param=True)
        self.sens = sens
        self.hyper_map = P.HyperMap()

    def construct(self, image, bbox, label):
        loss = self.network(image, bbox, label)
        sens = P.Fill()(P.DType()(loss), P.Shape()(loss), self.sens)
        grads = self.grad(self.network, self.weights)(image, bbox, label, sens)
        return P.depend(loss, self.optimizer(grads))


def coco_annotations(voc_root, path):
    """The COCO json of the val photos as the script's evaluation scores them: image id = place in
    val.txt, category id = index into ['background', *VOC classes], boxes in 0-based pixels."""
    images, annotations = [], []
    for index, image_id in enumerate(VAL_IDS):
        images.append({"id": index, "file_name": f"{image_id}.jpg", "width": WIDTH, "height": HEIGHT})
        for name, x0, y0, x1, y1 in PHOTOS[image_id]:
            annotations.append({"id": len(annotations) + 1, "image_id": index, "iscrowd": 0, "ignore": 0,
                                "category_id": VOC_CLASSES.index(name), "area": (x1 - x0) * (y1 - y0),
                                "bbox": [x0 - 1, y0 - 1, x1 - x0, y1 - y0], "segmentation": []})
    categories = [{"id": i, "name": name, "supercategory": "none"} for i, name in enumerate(VOC_CLASSES)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f)
    return path


@pytest.fixture(scope="module")
def trained(voc, tmp_path_factory):
    """The script's training branch, run in a folder of its own; returns what it made and printed."""
    workdir = tmp_path_factory.mktemp("run")
    ts.set_seed(0)
    train_ds = create_dataset(voc, batch_size=2)
    dataset_size = train_ds.get_dataset_size()
    net = ssd300_mobilenetv2(class_num=21)
    loss_net = net_with_loss(net)
    for p in loss_net.trainable_params():  # the script's init_net_param
        if "beta" not in p.name and "gamma" not in p.name and "bias" not in p.name:
            p.set_data(initializer(TruncatedNormal(0.02), p.data.shape, p.data.dtype))
    # --epoch_size 1 with the script's 2 warm-up epochs: TinyMS 0.3 gave a rising schedule
    lr = mobilenetv2_lr(global_step=0, lr_init=0.001, lr_end=0.001 * 0.01, lr_max=0.01, warmup_epochs=2,
                        total_epochs=1, steps_per_epoch=dataset_size)
    opt = Momentum(filter(lambda x: x.requires_grad, loss_net.get_parameters()), lr, 0.9, 1.5e-4, 1.0)
    model = Model(TrainingWrapper(loss_net, opt, 1.0))
    model.compile()
    cwd = os.getcwd()
    os.chdir(workdir)  # ModelCheckpoint without a folder writes where the script runs
    try:
        checkpoint = ModelCheckpoint(prefix="ssd300", config=CheckpointConfig(
            save_checkpoint_steps=10 * dataset_size, keep_checkpoint_max=10))
        callbacks = [checkpoint, LossMonitor(), TimeMonitor(data_size=dataset_size)]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            history = model.train(1, train_ds, callbacks=callbacks, dataset_sink_mode=False)
    finally:
        os.chdir(cwd)
    return {"net": net, "workdir": workdir, "history": history, "printed": printed.getvalue(),
            "dataset_size": dataset_size, "lr": lr.asnumpy()}


@pytest.fixture(scope="module")
def evaluated(voc, trained, tmp_path_factory):
    """The script's evaluation branch on the checkpoint the training wrote."""
    eval_ds = create_dataset(voc, batch_size=1, is_training=False)
    model = Model(ssd300_mobilenetv2(class_num=21, is_training=False))
    rows = list(eval_ds.create_dict_iterator(output_numpy=True))
    before = model.predict(Tensor(rows[0]["image"]))[0].asnumpy()  # boxes from its own random weights
    model.load_checkpoint(str(trained["workdir"] / "ssd300-1_4.ckpt"))
    pred_data = []
    for row in rows:
        output = model.predict(Tensor(row["image"]))
        for b in range(row["image"].shape[0]):
            pred_data.append({"boxes": output[0].asnumpy()[b], "box_scores": output[1].asnumpy()[b],
                              "img_id": len(pred_data), "image_shape": row["image_shape"][b]})
    anno_file = coco_annotations(voc, str(tmp_path_factory.mktemp("anno") / "annotation.json"))
    return {"rows": rows, "pred_data": pred_data, "anno_file": anno_file, "before": before, "network": model.network,
            "mAP": coco_eval(pred_data, anno_file)}


def test_ssd300_script_trains_one_epoch_and_writes_its_checkpoint(trained, voc):
    assert trained["dataset_size"] == 4  # 8 photos at batch 2, read with 4 workers on any machine
    losses = trained["history"].history["loss"]
    assert len(losses) == 1 and math.isfinite(losses[0]) and losses[0] > 0
    lines = [line for line in trained["printed"].splitlines() if line.startswith("epoch: 1 step: ")]
    assert len(lines) == 4  # LossMonitor: one line per step
    assert "per step time" in trained["printed"]  # TimeMonitor
    # every step of the 1-epoch run is in the 2-epoch warm-up: the rate rises from lr_init
    np.testing.assert_allclose(trained["lr"], 0.001 + (0.01 - 0.001) * np.arange(4) / 8, rtol=1e-6)
    # the checkpoint is written at the end of training even though 10 epochs were asked between saves
    assert sorted(p.name for p in trained["workdir"].glob("*.ckpt")) == ["ssd300-1_4.ckpt"]
    saved = ms.load_checkpoint(str(trained["workdir"] / "ssd300-1_4.ckpt"))
    for p in trained["net"].trainable_params():
        np.testing.assert_array_equal(saved[p.name].asnumpy(), p.asnumpy())


def test_ssd300_script_evaluates_the_checkpoint_with_the_trained_weights(trained, evaluated):
    rows, pred_data = evaluated["rows"], evaluated["pred_data"]
    assert len(rows) == len(pred_data) == len(VAL_IDS)
    for row in rows:
        assert row["image"].shape == (1, 3, 300, 300)
        np.testing.assert_array_equal(row["image_shape"], [[HEIGHT, WIDTH]])
    # the loaded inference network predicts what the trained network predicts, and not what it did before
    net = trained["net"]
    net.set_train(False)
    boxes, scores = Model(net).predict(Tensor(rows[0]["image"]))
    np.testing.assert_allclose(boxes.asnumpy()[0], pred_data[0]["boxes"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.asnumpy()[0], pred_data[0]["box_scores"], rtol=1e-5, atol=1e-6)
    # (the script's small TruncatedNormal init keeps the heads' outputs close to the anchors: differences are small)
    assert np.abs(evaluated["before"][0] - pred_data[0]["boxes"]).max() > 1e-4
    trained_weights = net.parameters_dict()
    for name, param in evaluated["network"].parameters_dict().items():
        np.testing.assert_array_equal(param.asnumpy(), trained_weights[name].asnumpy(), err_msg=name)
    assert pred_data[0]["boxes"].shape == (1917, 4) and pred_data[0]["box_scores"].shape == (1917, 21)
    assert 0.0 <= evaluated["mAP"] <= 1.0


def test_the_script_evaluation_scores_the_true_boxes_1(evaluated):
    """The same pred_data layout with each photo's true objects as detections: a perfect mAP, which
    needs the pipeline's image_shape (height, width) and the image ids in val.txt order."""
    perfect = []
    for entry, image_id in zip(evaluated["pred_data"], VAL_IDS):
        height, width = entry["image_shape"]
        boxes = np.zeros((10, 4), np.float32)
        scores = np.zeros((10, 21), np.float32)
        for k, (name, x0, y0, x1, y1) in enumerate(PHOTOS[image_id]):
            boxes[k] = [(y0 - 1) / height, (x0 - 1) / width, (y1 - 1) / height, (x1 - 1) / width]
            scores[k, VOC_CLASSES.index(name)] = 0.9
        perfect.append({**entry, "boxes": boxes, "box_scores": scores})
    assert coco_eval(perfect, evaluated["anno_file"]) == pytest.approx(1.0)


@pytest.mark.parametrize("is_training", [True, False], ids=["test_ssd300", "test_ssd300_infer"])
def test_ut_ssd300_predicts_boxes_and_scores(is_training):
    model = Model(ssd300_mobilenetv2() if is_training else ssd300_mobilenetv2(is_training=False))
    model.compile()
    loc, score = model.predict(ts.ones((1, 3, 300, 300)))
    assert loc.shape == (1, 1917, 4) and score.shape == (1, 1917, 21)
    loc, score = loc.asnumpy(), score.asnumpy()
    assert loc.min() >= 0 and loc.max() <= 1 and score.min() > 0 and score.max() < 1


def test_ut_voc_transform():
    img = voc_transform(np.ones((1080, 1080, 3)))
    assert img.shape == (3, 300, 300) and img.dtype == np.float32
    # a float photo is read in [0, 1]: all ones is the white photo
    np.testing.assert_allclose(img, voc_transform(np.full((1080, 1080, 3), 255, np.uint8)), atol=1e-5)
    np.testing.assert_allclose(img[:, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225],
                               rtol=1e-5)


def test_ut_voc_transform_postprocess(evaluated):
    """0.3's postprocess of one image's output: [{'bbox': [x, y, w, h], 'score', 'category_id': name}]."""
    entry = evaluated["pred_data"][0]
    output = np.concatenate([entry["boxes"], entry["box_scores"]], axis=-1)[None]  # 0.3's (1, A, 4 + C)
    found = voc_transform.postprocess(output, entry["image_shape"], score_threshold=0.01)
    expected = voc_transform.detections((entry["boxes"][None], entry["box_scores"][None]), entry["image_shape"],
                                        score_threshold=0.01)[0]
    assert len(found) == len(expected) > 0
    for result, detection in zip(found, expected):
        assert set(result) == {"bbox", "score", "category_id"}
        x, y, w, h = result["bbox"]
        assert 0 <= x and 0 <= y and w >= 0 and h >= 0 and x + w <= WIDTH + 1e-3 and y + h <= HEIGHT + 1e-3
        assert result["category_id"] == detection["label"] in voc_transform.labels
        assert result["score"] == detection["score"]


class _PrefixingStep(layers.Layer):
    """A train step written without ``auto_prefix=False``: its optimizer attribute renames the weights."""

    def __init__(self, loss_net, optimizer):
        super().__init__()
        self.network = loss_net
        self.weights = optimizer.parameters
        self.optimizer = optimizer
        self.grad = P.GradOperation(get_by_list=True)

    def construct(self, image, label):
        loss = self.network(image, label)
        return P.depend(loss, self.optimizer(self.grad(self.network, self.weights)(image, label)))


def test_a_checkpoint_of_a_prefixing_train_step_loads_into_the_bare_network(tmp_path):
    import mindspore.dataset as ds
    from mindspore import nn

    ms.set_seed(0)
    net = lenet5()
    loss_net = nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))
    model = Model(_PrefixingStep(loss_net, Momentum(net.trainable_params(), 0.01, 0.9)))
    model.compile()
    images = np.random.default_rng(0).random((8, 1, 32, 32)).astype(np.float32)
    data = ds.NumpySlicesDataset({"image": images, "label": np.arange(8, dtype=np.int32)}, shuffle=False).batch(4)
    model.train(1, data, callbacks=[ModelCheckpoint(prefix="step", directory=str(tmp_path))], verbose=0)
    path = str(tmp_path / "step-1_2.ckpt")
    names = set(ms.load_checkpoint(path))
    assert "optimizer.conv1.weight" in names and "optimizer.moments.conv1.weight" in names
    assert "conv1.weight" not in names
    bare = Model(lenet5())
    bare.load_checkpoint(path)
    trained = {p.name.split("optimizer.")[-1]: p.asnumpy() for p in net.trainable_params()}
    for p in bare.network.trainable_params():
        np.testing.assert_array_equal(p.asnumpy(), trained[p.name])
    # two prefixes that each fit every weight: which one is meant cannot be told, nothing loads
    weights = [{"name": f"{head}.{p.name}", "data": p} for head in ("a", "b") for p in lenet5().trainable_params()]
    ms.save_checkpoint(weights, str(tmp_path / "two.ckpt"))
    with pytest.raises(CheckpointError, match="conv1.weight is missing from the file"):
        Model(lenet5()).load_checkpoint(str(tmp_path / "two.ckpt"))
    # one prefix, but a weight of another shape under it: refused by name and shape as always
    other = [{"name": f"a.{p.name}", "data": p} for p in lenet5(class_num=5).trainable_params()]
    ms.save_checkpoint(other, str(tmp_path / "other.ckpt"))
    with pytest.raises(CheckpointError, match=r"fc3.weight is \(5, 84\)"):
        Model(lenet5()).load_checkpoint(str(tmp_path / "other.ckpt"))


def test_voc_readers_take_more_workers_than_the_machine_has(voc):
    data = VOCDataset(voc, usage="val", num_parallel_workers=(os.cpu_count() or 1) + 3, shuffle=False)
    assert data.get_dataset_size() == len(VAL_IDS)
    with pytest.raises(ValueError, match="num_parallel_workers"):
        VOCDataset(voc, usage="val", num_parallel_workers=0)
