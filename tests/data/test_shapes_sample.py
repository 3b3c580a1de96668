"""The bundled "shapes" detection sample and scripts/make_shapes_sample.py, which generates it."""

import fnmatch
import io
import os
import re
import runpy
import types

import numpy as np
import pytest
from PIL import Image

from tinyms.data import VOCDataset, detection_dataset, is_detection_folder, sample_dataset
from tinyms.errors import DatasetError

from _data_paths import REPO, visible_files

BUNDLED = os.path.join(REPO, "tinyms", "data", "_sample", "shapes")
CLASSES = ("circle", "cross", "square", "star", "triangle")


def load_script():
    """scripts/make_shapes_sample.py's functions (the script is not a package module)."""
    return types.SimpleNamespace(**runpy.run_path(os.path.join(REPO, "scripts", "make_shapes_sample.py")))


def test_sample_is_a_voc_folder_with_five_classes(tmp_path):
    path = sample_dataset("shapes")
    assert path == os.path.join(str(tmp_path / "home"), "samples", "shapes")
    assert is_detection_folder(path) == "voc"
    train = VOCDataset(path, usage="train", shuffle=False)
    test = VOCDataset(path, usage="test", shuffle=False, decode=True)
    assert train.class_names == test.class_names == CLASSES
    assert (train.get_dataset_size(), test.get_dataset_size()) == (480, 120)
    counts = np.zeros(len(CLASSES), int)
    for row in test.create_dict_iterator(output_numpy=True):
        assert row["image"].shape == (160, 160, 3)
        boxes = row["bbox"]
        assert 1 <= len(boxes) <= 4
        assert (boxes[:, :2] >= 1).all() and (boxes[:, :2] + boxes[:, 2:] <= 159).all()
        assert (boxes[:, 2:] >= 8).all()           # the smallest objects are ~0.16 of the side
        counts += np.bincount(row["label"].ravel(), minlength=len(CLASSES))
    assert counts.min() >= 30                       # every class well represented in test
    own = detection_dataset(path, usage="test", shuffle=False)
    assert own.class_names == CLASSES and own.get_dataset_size() == 120


def test_sample_call_is_cheap_and_repairs_damage():
    path = sample_dataset("shapes")
    image = os.path.join(path, "JPEGImages", "000007.jpg")
    good = open(image, "rb").read()
    before = os.stat(image).st_mtime_ns
    assert sample_dataset("Shapes") == path and os.stat(image).st_mtime_ns == before
    with open(image, "r+b") as f:
        f.write(b"\0\0\0\0")
    os.remove(os.path.join(path, "Annotations", "000010.xml"))
    sample_dataset("shapes")
    assert open(image, "rb").read() == good and os.path.isfile(os.path.join(path, "Annotations", "000010.xml"))


def test_script_reproduces_the_bundled_sample(tmp_path, capsys):
    script = load_script()
    assert script.main(["--bundled", "--out", str(tmp_path / "shapes")]) == 0
    assert "480 train + 120 test images (160x160)" in capsys.readouterr().out
    made = visible_files(tmp_path / "shapes")
    assert made == visible_files(BUNDLED) and len(made) == 3 + 2 * 600
    for rel in made:
        ours, shipped = (open(os.path.join(root, rel), "rb").read() for root in (tmp_path / "shapes", BUNDLED))
        if rel.endswith(".jpg") and ours != shipped:  # another libjpeg may encode differently
            a, b = (np.asarray(Image.open(io.BytesIO(data)), np.int16) for data in (ours, shipped))
            assert np.abs(a - b).mean() < 1.0, rel
        else:
            assert ours == shipped, rel


def test_script_writes_the_benchmark_size_and_refuses_other_folders(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "bench"
    assert script.main(["--count", "10", "--size", "300", "--seed", "3", "--out", str(out)]) == 0
    assert "8 train + 2 test images (300x300)" in capsys.readouterr().out
    test = VOCDataset(out, usage="test", decode=True, shuffle=False)
    assert test.class_names == CLASSES or set(test.class_names) < set(CLASSES)
    assert [r["image"].shape for r in test.create_dict_iterator(output_numpy=True)] == [(300, 300, 3)] * 2
    assert (out / "ImageSets" / "Main" / "trainval.txt").read_text() == (out / "ImageSets" / "Main" / "train.txt").read_text()
    assert script.main(["--count", "4", "--size", "300", "--out", str(out)]) == 0  # replaces an earlier run
    assert len(os.listdir(out / "JPEGImages")) == 4
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="holds other files"):
        script.main(["--count", "4", "--out", str(tmp_path / "mine")])
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


def test_wheel_package_data_covers_every_sample_file():
    text = open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8").read()
    line = re.search(r'^"tinyms.data" = \[(.*)\]$', text, re.M).group(1)
    patterns = re.findall(r'"([^"]+)"', line)

    def included(rel):  # setuptools' glob: "*" never crosses "/"
        parts = rel.split("/")
        return any(len(p.split("/")) == len(parts) and all(fnmatch.fnmatchcase(a, b) for a, b in
                                                           zip(parts, p.split("/"))) for p in patterns)

    files = ["_sample/shapes/" + rel for rel in visible_files(BUNDLED)]
    assert files and all(included(rel) for rel in files), [rel for rel in files if not included(rel)][:3]
    size = sum(os.path.getsize(os.path.join(BUNDLED, *rel.split("/")[2:])) for rel in files)
    assert size < 2_500_000


def test_unknown_sample_lists_shapes():
    with pytest.raises(Exception, match="mnist, shapes"):
        sample_dataset("cifar10")


def test_incomplete_installation_is_named(monkeypatch, tmp_path):
    from tinyms.data import sample

    monkeypatch.setattr(sample, "_PACKAGE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match=r"bundled shapes sample .* is incomplete.*make_shapes_sample.py --bundled"):
        sample_dataset("shapes")
