"""`tinyms train`'s augment key: validated like every key, recorded in config.yaml, kept on resume,
named in the run's first printed line, and run by the training pipeline (never by evaluation)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from tinyms import _train_cli
from tinyms.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "GLOG_v": "3"}


def _folder(root, per_class=6):
    """A tiny image folder of 32x32 'digits' (two classes) with train/ and test/."""
    from PIL import Image  # noqa: PLC0415

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for k, name in enumerate(("one", "seven")):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 60, (32, 32), dtype=np.uint8)
                pixels[6:26, 14 + 4 * k:18 + 4 * k] = 255
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


@pytest.mark.parametrize("data, expected", [("mnist", "none"), ("fashion_mnist", "none"), ("cifar10", "light"),
                                            ("cifar100", "light"), ("FOLDER", "light")])
def test_every_run_records_the_augmentation_it_trains_with(tmp_path, data, expected):
    folder = str(_folder(tmp_path / "digits")) if data == "FOLDER" else data
    cfg = _train_cli.resolve_config({"model": "lenet5", "data": folder})
    assert cfg["augment"] == expected
    assert list(cfg) == list(_train_cli.KEYS)


@pytest.mark.parametrize("given, recorded", [
    ("imagenet", "imagenet"),
    ("Light", "light"),
    ([["random_crop", {"size": 28, "padding": 2}]], [["random_crop", {"size": [28, 28], "padding": 2}]]),
    ("[[random_horizontal_flip, {prob: 1.0}]]", [["random_horizontal_flip", {"prob": 1.0}]]),  # --augment text
    ([], "none"),
])
def test_augment_values_are_checked_and_recorded_in_a_form_that_reads_back(tmp_path, given, recorded):
    cfg = _train_cli.resolve_config({"model": "lenet5", "data": "mnist", "augment": given})
    assert cfg["augment"] == recorded
    path = _train_cli.write_config(cfg, str(tmp_path / "run" / "config.yaml"))
    again = _train_cli.resolve_config(_train_cli.load_config_file(path))
    assert again["augment"] == recorded


def test_resuming_a_run_keeps_its_augmentation_and_a_flag_still_wins(tmp_path):
    run = tmp_path / "run"
    steps = [["random_crop", {"size": [28, 28], "padding": 3}]]
    cfg = _train_cli.resolve_config({"model": "lenet5", "data": "mnist", "augment": steps, "out": str(run)})
    _train_cli.write_config(cfg, str(run / "config.yaml"))
    (run / "last.ckpt").write_bytes(b"weights")
    resumed = _train_cli.config_from_args(None, {"resume": str(run), "epochs": 12})
    assert resumed["augment"] == steps and resumed["epochs"] == 12
    changed = _train_cli.config_from_args(None, {"resume": str(run), "augment": "none"})
    assert changed["augment"] == "none"


def test_a_folder_run_recorded_before_the_key_existed_resumes_with_the_augmentation_it_had(tmp_path):
    folder, mnist = tmp_path / "folder_run", tmp_path / "mnist_run"
    for run, data in ((folder, str(tmp_path / "photos")), (mnist, "mnist")):
        run.mkdir()
        (run / "config.yaml").write_text(f"model: resnet18\ndata: {data}\nepochs: 2\nout: {run}\n")
        (run / "last.ckpt").write_bytes(b"weights")
    # folders trained with ImageNet's crop and flip then; named datasets' defaults did not change
    assert _train_cli.config_from_args(None, {"resume": str(folder)})["augment"] == "imagenet"
    assert _train_cli.config_from_args(None, {"resume": str(mnist)})["augment"] == "none"
    assert _train_cli.config_from_args(None, {"resume": str(folder), "augment": "light"})["augment"] == "light"


@pytest.mark.parametrize("text, words", [
    ("augment: strong\n", ["augment: unknown augment 'strong'", "none, light, imagenet"]),
    ("augment: [[random_spin]]\n", ["augment: unknown recipe op 'random_spin'"]),
    ("augment: [[normalize, {mean: [0.5], std: [0.5]}]]\n", ["leave 'normalize' out"]),
    ("augment: 3\n", ["augment must be one of none, light, imagenet"]),
    ("augment: {random_crop: 2}\n", ["augment must be one of"]),
])
def test_a_bad_augment_is_one_line_naming_the_valid_ones(tmp_path, capsys, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text("model: lenet5\ndata: mnist\n" + text)
    assert main(["train", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    assert main(["train", "--model", "lenet5", "--data", "mnist", "--augment", "imagenet_v2"]) == 1
    assert "unknown augment 'imagenet_v2'" in capsys.readouterr().err


def test_build_data_trains_with_the_runs_augmentation_and_evaluates_without_it(tmp_path):
    folder = str(_folder(tmp_path / "digits"))
    flip = [["random_horizontal_flip", {"prob": 1.0}]]
    cfg = _train_cli.resolve_config({"model": "lenet5", "data": folder, "augment": flip, "batch_size": 12})
    data = _train_cli.build_data(cfg, say=lambda *a: None)
    assert data.transform.augment == flip
    trained = next(data.train.create_dict_iterator(output_numpy=True))
    tested = next(data.test.create_dict_iterator(output_numpy=True))
    plain = _train_cli.build_data({**cfg, "augment": "none"}, say=lambda *a: None, train=False)
    again = next(plain.test.create_dict_iterator(output_numpy=True))
    assert np.array_equal(tested["image"], again["image"])           # evaluation: the same, not mirrored
    # training images are the mirror images of what evaluation would make of them
    mirrored = {plain.transform(np.asarray(img)[:, ::-1]).tobytes() for img in _raw_images(folder)}
    assert all(image.tobytes() in mirrored for image in trained["image"])


def _raw_images(folder):
    from PIL import Image  # noqa: PLC0415

    for split in ("train",):
        for name in ("one", "seven"):
            for file in sorted(os.listdir(os.path.join(folder, split, name))):
                yield np.asarray(Image.open(os.path.join(folder, split, name, file)).convert("RGB"))


def test_the_first_line_of_tinyms_train_names_the_augmentation(tmp_path):
    folder = _folder(tmp_path / "digits")
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "tinyms", "train", "--model", "lenet5", "--data", str(folder),
                           "--image-size", "32", "--epochs", "1", "--batch-size", "4", "--augment", "light",
                           "--out", str(run)], capture_output=True, text=True, timeout=600, env=ENV, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    first = done.stdout.splitlines()[0]
    assert first.startswith("Training lenet5 on ") and "augment light" in first
    assert yaml.safe_load((run / "config.yaml").read_text())["augment"] == "light"
