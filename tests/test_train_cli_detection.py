"""`tinyms train` on detection data: the task comes from the data, the default detector trains without
--model, validation reports mAP, `tinyms eval` prints it; a model of another task is refused."""

import os
import shutil
import subprocess
import sys

import pytest

from tinyms import _train_cli
from tinyms.data import sample_dataset
from tinyms.errors import DatasetError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "GLOG_v": "3"}


def _tinyms(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "tinyms", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=ROOT)


def test_detection_data_picks_the_default_detector_its_monitor_and_augmentation():
    cfg = _train_cli.resolve_config({"data": "shapes"})
    assert (cfg["model"], cfg["monitor"], cfg["augment"]) == ("ssd_tiny", "val_mAP50", "light")
    assert cfg["image_size"] == [192, 192] and cfg["epochs"] == 60
    # detection's measured training defaults, each overridable; classification keeps its own
    assert {k: cfg[k] for k in ("optimizer", "lr", "schedule", "warmup_epochs", "batch_size")} == {
        "optimizer": "adam", "lr": 0.005, "schedule": "cosine", "warmup_epochs": 1, "batch_size": 8}
    mine = _train_cli.resolve_config({"data": "shapes", "optimizer": "sgd", "epochs": 1, "augment": "ssd"})
    assert (mine["optimizer"], mine["warmup_epochs"], mine["augment"]) == ("sgd", 0, "ssd")
    assert mine["lr"] != 0.005                              # the optimizer you chose brings its usual rate
    plain = _train_cli.resolve_config({"data": "mnist", "model": "lenet5"})
    assert (plain["optimizer"], plain["schedule"], plain["batch_size"], plain["epochs"]) == (
        "momentum", "constant", 32, 10)
    assert _train_cli.resolve_config({"data": "voc"})["data"] == "voc2007"   # TinyMS 0.3's name


@pytest.mark.parametrize("values, words", [
    ({"data": "shapes", "model": "lenet5"}, "lenet5 is a classification model and shapes is detection data"),
    ({"data": "mnist", "model": "ssd300_mobilenetv2"}, "ssd300_mobilenetv2 is a detection model"),
    ({"data": "mnist"}, "no model given"),
    ({"data": "mnist", "model": "lenet5", "augment": "ssd"}, "'ssd' is not an augmentation for classification"),
    ({"data": "shapes", "augment": "imagenet"}, "'imagenet' is not an augmentation for detection"),
    ({"data": "mnist", "model": "lenet5", "max_boxes": 8}, "max_boxes is for object-detection data"),
])
def test_a_model_or_augmentation_of_another_task_is_refused(values, words):
    with pytest.raises(_train_cli.ConfigError, match=words):
        _train_cli.resolve_config(values)


def _box_rows(cfg):
    data = _train_cli._detection_data(cfg, lambda *_: None, True)
    return [next(ds.create_tuple_iterator(output_numpy=True))[1].shape[1] for ds in (data.train, data.test)]


def test_detection_batches_hold_as_many_box_rows_as_the_fullest_photo_or_max_boxes():
    assert _box_rows(_train_cli.resolve_config({"data": "shapes", "image_size": 64})) == [4, 4]
    assert _box_rows(_train_cli.resolve_config({"data": "shapes", "image_size": 64, "max_boxes": 9})) == [9, 9]
    with pytest.raises(DatasetError, match=r"has 4 objects, more than max_boxes=3.*--max-boxes 4"):
        _box_rows(_train_cli.resolve_config({"data": "shapes", "image_size": 64, "max_boxes": 3}))


def _own_voc_folder(dest, count=40):
    """A user's VOC folder without ImageSets lists: images and annotations only."""
    source = sample_dataset("shapes")
    ids = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(source, "Annotations")))[:count]
    for sub, ext in (("Annotations", ".xml"), ("JPEGImages", ".jpg")):
        os.makedirs(dest / sub)
        for i in ids:
            shutil.copy(os.path.join(source, sub, i + ext), dest / sub / (i + ext))
    return dest


def test_train_on_your_own_voc_folder_without_model_then_eval_prints_map(tmp_path):
    data = _own_voc_folder(tmp_path / "my_shapes")
    out = tmp_path / "run"
    done = _tinyms("train", "--data", str(data), "--image-size", "96", "--epochs", "1", "--batch-size", "8",
                   "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Training ssd_tiny on" in done.stdout
    assert "val_mAP50" in done.stdout
    config = _train_cli.load_config_file(out / "config.yaml")
    assert (config["model"], config["monitor"]) == ("ssd_tiny", "val_mAP50")
    with open(out / "history.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    assert {"val_mAP50", "val_mAP50_95", "val_voc07_mAP50"} <= set(header)
    assert os.path.isfile(out / "best.ckpt") and os.path.isfile(out / "servable" / "servable.json")
    shown = _tinyms("eval", str(out))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    # 40 images, 20 % held out by the seeded split
    assert "mAP50:" in shown.stdout and "8 images of the test split of my_shapes" in shown.stdout
