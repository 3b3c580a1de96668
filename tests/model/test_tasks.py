"""The task layer: Model trains, evaluates, resumes and sweeps a detector with no task-specific user code.

A small stand-in detector (one square per image, predicted in a fixed slot) keeps these tests
fast; the real detectors (SSD, YOLO) have their own tests.
"""

import numpy as np
import pytest

import mindspore as ms
from mindspore import nn, ops

from tinyms.errors import DatasetError, NotCompiledError
from tinyms.model import Model
from tinyms.model.registry import ModelConfig
from tinyms.model.tasks import get_task, list_tasks, task_of

SIZE = 32
LABELS = ("square", "bar")


class _SlotLoss(nn.Cell):
    """L1 on the box of slot 0 plus cross-entropy on its class (column 0 is the background): the detector's own loss."""

    def __init__(self, net):
        super().__init__(auto_prefix=False)
        self.net = net
        self.ce = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")

    def construct(self, image, bbox, label):
        boxes, logits = self.net.raw(image)
        truth = bbox[:, 0, :] / SIZE
        truth = ops.stack([truth[:, 1], truth[:, 0], truth[:, 3], truth[:, 2]], axis=1)  # yxyx
        return ops.abs(boxes[:, 0, :] - truth).mean() + self.ce(logits[:, 0, :], label[:, 0] + 1)


class TinyDetector(nn.Cell):
    """(B, 3, 32, 32) -> one box and class scores per image, plus an empty second slot."""

    def __init__(self):
        super().__init__()
        self.features = nn.SequentialCell([nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2),
                                           nn.ReLU(), nn.Flatten(), nn.Dense(16 * 8 * 8, 64), nn.ReLU()])
        self.box = nn.Dense(64, 4)
        self.cls = nn.Dense(64, len(LABELS) + 1)
        self.default_cfg = ModelConfig(name="tiny_detector", input_shape=(3, SIZE, SIZE), mean=(), std=(),
                                       labels=LABELS, task="detection", background=True)

    def raw(self, image):
        h = self.features(image)
        box = ops.sigmoid(self.box(h))
        ymin, xmin = ops.minimum(box[:, 0], box[:, 2]), ops.minimum(box[:, 1], box[:, 3])
        ymax, xmax = ops.maximum(box[:, 0], box[:, 2]), ops.maximum(box[:, 1], box[:, 3])
        box = ops.stack([ymin, xmin, ymax, xmax], axis=1)
        boxes = ops.stack([box, ops.zeros_like(box)], axis=1)
        logits = self.cls(h)[:, None, :]
        return boxes, ops.concat([logits, ops.zeros_like(logits)], axis=1)

    def construct(self, image):
        boxes, logits = self.raw(image)
        return boxes, ops.softmax(logits, axis=-1)

    def with_loss(self):
        return _SlotLoss(self)


def _rows(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        image = rng.normal(0, 0.1, (3, SIZE, SIZE)).astype(np.float32)
        label = int(rng.integers(0, 2))
        x0, y0 = rng.integers(0, 14, 2)
        w, h = (12, 12) if label == 0 else (16, 6)
        image[:, y0:y0 + h, x0:x0 + w] += 1.0 if label == 0 else -1.0
        yield (image, np.array([[x0, y0, x0 + w, y0 + h]], np.float32), np.array([label], np.int32))


def _dataset(count, seed, batch=16, extra_column=False):
    import mindspore.dataset as ds

    rows = list(_rows(count, seed))
    if extra_column:
        rows = [r + (np.array([SIZE, SIZE], np.float32),) for r in rows]
    names = ["image", "bbox", "label"] + (["image_shape"] if extra_column else [])
    return ds.GeneratorDataset(rows, column_names=names, shuffle=False).batch(batch)


def test_tasks_are_registered_and_the_network_names_its_own():
    assert {"classification", "detection", "text_classification"} <= set(list_tasks())
    assert task_of(TinyDetector()).name == "detection"
    from tinyms.model import lenet5
    assert task_of(lenet5()).name == "classification"
    assert Model(TinyDetector()).task is get_task("detection")


def test_a_detector_with_its_own_loss_trains_from_an_optimizer_alone_and_evaluates_to_map():
    ms.set_seed(0)
    model = Model(TinyDetector()).compile(optimizer="adam", learning_rate=3e-3)
    before = model.eval(_dataset(48, seed=2, extra_column=True))
    assert set(before) == {"mAP50", "mAP50_95", "voc07_mAP50"}
    assert model.eval_samples == 48
    history = model.train(12, _dataset(192, seed=1), verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    after = model.eval(_dataset(48, seed=2, extra_column=True), report=True)
    assert model.eval_samples == 48
    assert after["mAP50"] > before["mAP50"] + 0.3, (before, after)
    assert 0.0 <= after["mAP50_95"] <= after["mAP50"] <= 1.0
    report = after["report"]
    assert "square" in str(report) and "bar" in str(report)


def test_validation_between_epochs_records_map_in_the_history():
    ms.set_seed(0)
    model = Model(TinyDetector()).compile(optimizer="adam", learning_rate=3e-3)
    history = model.train(2, _dataset(64, seed=1), verbose=0, valid_dataset=_dataset(32, seed=2))
    assert {"loss", "val_mAP50", "val_mAP50_95", "val_voc07_mAP50"} <= set(history.history)
    assert len(history.history["val_mAP50"]) == 2


def test_training_needs_an_optimizer_and_names_the_fix():
    with pytest.raises(NotCompiledError, match=r"compile\(optimizer="):
        Model(TinyDetector()).compile().train(1, _dataset(16, seed=1), verbose=0)


def test_a_classification_batch_given_to_a_detector_is_refused_with_the_layout():
    import mindspore.dataset as ds

    rows = [(np.zeros((3, SIZE, SIZE), np.float32), np.int32(0))] * 4
    data = ds.GeneratorDataset(rows, column_names=["image", "label"]).batch(2)
    model = Model(TinyDetector()).compile(optimizer="adam")
    with pytest.raises(DatasetError, match=r"\(image, bbox, label\)"):
        model.train(1, data, verbose=0)


def test_an_object_class_the_network_does_not_have_is_named():
    import mindspore.dataset as ds

    rows = [(np.zeros((3, SIZE, SIZE), np.float32), np.array([[1, 1, 9, 9]], np.float32), np.array([5], np.int32))]
    data = ds.GeneratorDataset(rows * 4, column_names=["image", "bbox", "label"]).batch(2)
    with pytest.raises(DatasetError, match="object class 5 is outside the network's 2 classes"):
        Model(TinyDetector()).compile(optimizer="adam").train(1, data, verbose=0)


def test_a_compiled_loss_with_several_targets_trains_a_detector_without_its_own():
    class NoOwnLoss(TinyDetector):
        with_loss = None

    class BoxL1(nn.Cell):
        def construct(self, outputs, bbox, label):
            boxes = outputs[0]
            truth = bbox[:, 0, :] / SIZE
            truth = ops.stack([truth[:, 1], truth[:, 0], truth[:, 3], truth[:, 2]], axis=1)
            return ops.abs(boxes[:, 0, :] - truth).mean()

    ms.set_seed(0)
    model = Model(NoOwnLoss()).compile(loss_fn=BoxL1(), optimizer="adam", learning_rate=3e-3)
    history = model.train(6, _dataset(96, seed=1), verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]


def test_resume_and_lr_find_work_for_a_detector(tmp_path):
    ms.set_seed(0)
    model = Model(TinyDetector()).compile(optimizer="adam", learning_rate=1e-3)
    found = model.lr_find(_dataset(64, seed=1), end_lr=0.1, num_steps=8)
    assert len(found.lrs) == 8 and all(np.isfinite(found.losses))
    assert found.losses[-1] < found.losses[0]  # the sweep trained the detector
    model.train(1, _dataset(64, seed=1), verbose=0)
    path = model.save_checkpoint(str(tmp_path / "det.ckpt"))
    again = Model(TinyDetector()).compile(optimizer="adam", learning_rate=1e-3)
    history = again.train(2, _dataset(64, seed=1), verbose=0, resume_from=path)
    assert history.epoch == [2]


def test_tinyms_03_style_training_wrapper_trains_from_a_bare_compile():
    """TinyMS 0.3's SSD script: Model(TrainingWrapper(net_with_loss(net), opt)); model.compile(); model.train()."""

    class TrainingWrapper(nn.Cell):  # the script's own step cell, written as users did
        def __init__(self, network, optimizer):
            super().__init__(auto_prefix=False)
            self.network = network
            self.weights = optimizer.parameters
            self.optimizer = optimizer
            self.grad = ops.GradOperation(get_by_list=True)

        def construct(self, image, bbox, label):
            loss = self.network(image, bbox, label)
            grads = self.grad(self.network, self.weights)(image, bbox, label)
            return ops.depend(loss, self.optimizer(grads))

    ms.set_seed(0)
    net = TinyDetector()
    loss_net = net.with_loss()
    opt = nn.Adam(net.trainable_params(), 3e-3)
    model = Model(TrainingWrapper(loss_net, opt))
    model.compile()
    history = model.train(6, _dataset(96, seed=1), verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
