"""`tinyms train` on image-to-image data (issue 18): a trainA/trainB/testA/testB folder trains cycle_gan without
--model, the run folder holds what other runs hold plus a sample grid written every epoch and an image-to-image
servable, a run resumes, `tinyms eval` counts every test image of each domain once; bad settings are named."""

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from tinyms import _train_cli
from tinyms.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "GLOG_v": "3"}
SIZE = 32


def _tinyms(*args, timeout=600):
    run = subprocess.run([sys.executable, "-m", "tinyms", *args], capture_output=True, text=True, timeout=timeout,
                         env=ENV, cwd=ROOT)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def write_domains(root, counts, size=40):
    """Red squares on dark red (A) and blue on dark blue (B), ``counts`` images per split folder."""
    rng = np.random.default_rng(0)
    for split, n in counts.items():
        os.makedirs(os.path.join(root, split))
        colour = np.array([200, 30, 30] if split.endswith("A") else [30, 30, 200], np.uint8)
        for i in range(n):
            image = np.zeros((size, size, 3), np.uint8) + colour // 3
            y, x = rng.integers(0, size - 12, 2)
            image[y:y + 12, x:x + 12] = colour
            Image.fromarray(image).save(os.path.join(root, split, f"{i}.png"))
    return root


@pytest.fixture(scope="module")
def horses(tmp_path_factory):
    return write_domains(str(tmp_path_factory.mktemp("i2i") / "horses"),
                         {"trainA": 4, "trainB": 3, "testA": 2, "testB": 3})


def test_a_gan_run_trains_writes_samples_every_epoch_resumes_and_evaluates(horses, tmp_path):
    run = str(tmp_path / "run")
    out = _tinyms("train", "--data", horses, "--epochs", "1", "--image-size", str(SIZE), "--batch-size", "2",
                  "--out", run)
    assert "Training cycle_gan" in out and "linear_decay" in out
    cfg = yaml.safe_load(open(os.path.join(run, "config.yaml")))
    assert (cfg["model"], cfg["image_size"], cfg["optimizer"], cfg["lr"]) == ("cycle_gan", [SIZE, SIZE], "adam",
                                                                             0.0002)
    assert cfg["monitor"] == "val_error"
    for name in ("best.ckpt", "last.ckpt", "curves.png", "run.json", "samples/samples_epoch_001.png"):
        assert os.path.isfile(os.path.join(run, name)), name
    servable = json.load(open(os.path.join(run, "servable", "servable.json")))[0]["model"]
    assert servable["task"] == "image_to_image" and servable["input_shape"] == [3, SIZE, SIZE]

    out = _tinyms("train", "--resume", run, "--epochs", "2")
    assert "Resuming" in out
    with open(os.path.join(run, "history.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for column in ("loss_G", "loss_D", "loss_cycle", "loss_idt", "val_error"):   # every loss, by name
        assert all(np.isfinite(float(r[column])) for r in rows), column
    assert json.load(open(os.path.join(run, "run.json")))["epochs_done"] == 2
    # the grid of epoch 2: the 3 test rows (max of 2 A, 3 B) x (A row, B row), 3 columns: input | there | back
    with Image.open(os.path.join(run, "samples", "samples_epoch_002.png")) as grid:
        assert grid.size == (3 * SIZE + 2 * 2, 6 * SIZE + 5 * 2)

    out = _tinyms("eval", run)
    assert "2 test images of A and 3 of B, each once" in out
    values = {k: float(v) for k, v in re.findall(r"(cycle_error\w*): ([0-9.]+) \(", out)}
    assert 0 < values["cycle_error_a"] < 2 and 0 < values["cycle_error_b"] < 2
    assert values["cycle_error"] == pytest.approx((values["cycle_error_a"] + values["cycle_error_b"]) / 2,
                                                  abs=1e-4)


def test_image_to_image_settings_are_checked(horses, tmp_path):
    cfg = _train_cli.resolve_config({}, {"data": horses})
    assert (cfg["model"], cfg["schedule"], cfg["batch_size"], cfg["augment"]) == ("cycle_gan", "linear_decay", 1,
                                                                                  "light")
    with pytest.raises(ConfigError, match="32 to 256"):
        _train_cli.resolve_config({}, {"data": horses, "image_size": 16})
    with pytest.raises(ConfigError, match="pix2pix learns from aligned pairs"):
        _train_cli.resolve_config({}, {"data": "horse2zebra", "model": "pix2pix"})
    with pytest.raises(ConfigError, match="image_to_image model"):
        _train_cli.resolve_config({}, {"data": horses, "model": "lenet5"})
    side = tmp_path / "pairs" / "train"
    side.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(side / "1.png")
    assert _train_cli.resolve_config({}, {"data": str(tmp_path / "pairs")})["model"] == "pix2pix"
    with pytest.raises(ConfigError, match="--model pix2pix"):
        _train_cli.resolve_config({}, {"data": str(tmp_path / "pairs"), "model": "cycle_gan"})


def test_side_by_side_pairs_train_pix2pix_and_eval_counts_every_pair(tmp_path):
    rng = np.random.default_rng(1)
    for split, count in (("train", 3), ("val", 2)):
        os.makedirs(tmp_path / "pairs" / split)
        for i in range(count):
            a = np.zeros((40, 40, 3), np.uint8)
            y, x = rng.integers(0, 28, 2)
            a[y:y + 12, x:x + 12] = 255
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(tmp_path / "pairs" / split / f"{i}.png")
    run = str(tmp_path / "run")
    assert "Training pix2pix" in _tinyms("train", "--data", str(tmp_path / "pairs"), "--epochs", "1",
                                         "--image-size", str(SIZE), "--out", run)
    assert "2 test pairs: the val images of pairs" in _tinyms("eval", run)


def test_label_map_scores_count_every_test_pair_by_nearest_class_colour(tmp_path):
    """cityscapes (photos -> label maps): G(photo) is scored against the label map of the same name."""
    from mindspore import nn

    from tinyms import _train_i2i
    from tinyms.metrics import CityScapes
    from tinyms.vision import CycleGanTransform

    colours = np.asarray(CityScapes().color_list, np.uint8)
    truth = np.zeros((SIZE, SIZE), np.int64)
    truth[:, SIZE // 2:] = 10                        # road | sky
    made = truth.copy()
    made[:SIZE // 2, :SIZE // 4] = 10                # a quarter of the road drawn as sky
    for split, ids in (("testA", made), ("testB", truth)):
        os.makedirs(tmp_path / split)
        for i in range(2):
            Image.fromarray(colours[ids]).save(tmp_path / split / f"{i}_{split[-1]}.png")

    class Copy(nn.Cell):                             # a 'generator' whose output is its input
        def construct(self, x):
            return x

    class Net:
        network = type("N", (), {"generator": staticmethod(lambda direction: Copy())})()

    data = type("D", (), {"folder": str(tmp_path), "test_usage": "test",
                          "transform": CycleGanTransform(size=SIZE, augment="none")})()
    said = []
    scores = _train_i2i._label_map_scores(Net(), data, said.append)
    road = SIZE * SIZE // 2
    assert scores["pixel_accuracy"] == pytest.approx((2 * SIZE * SIZE - 2 * road // 4) / (2 * SIZE * SIZE))
    assert scores["mean_class_accuracy"] == pytest.approx((0.75 + 1.0) / 2)     # classes never seen: not counted
    assert scores["mean_class_iou"] == pytest.approx((0.75 + road / (road + road // 4)) / 2)
    assert "2 images" in said[0]
