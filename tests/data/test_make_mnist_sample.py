"""scripts/make_mnist_sample.py: regenerating the bundled sample."""

import filecmp
import importlib.util
import os

from _data_paths import REPO, SAMPLE_DIR


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_mnist_sample", os.path.join(REPO, "scripts", "make_mnist_sample.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_reproduces_the_bundled_sample_byte_for_byte(real_mnist_dir, tmp_path, capsys):
    script = load_script()
    assert script.main([real_mnist_dir, "--out", str(tmp_path)]) == 0
    assert "train: 6000 images" in capsys.readouterr().out
    for split, names in (("train", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
                         ("test", ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])):
        for name in names:
            assert filecmp.cmp(tmp_path / split / name, os.path.join(SAMPLE_DIR, split, name),
                               shallow=False), name
    assert not [f for f in os.listdir(tmp_path / "train") if f.startswith(".tmp")]


def test_sample_keeps_official_order(real_mnist_dir):
    import gzip

    import numpy as np

    def labels(path):
        with gzip.open(path) as f:
            return np.frombuffer(f.read(), np.uint8, offset=8)

    full = labels(os.path.join(real_mnist_dir, "t10k-labels-idx1-ubyte.gz"))
    sample = labels(os.path.join(SAMPLE_DIR, "test", "t10k-labels-idx1-ubyte.gz"))
    keep = np.zeros(len(full), bool)
    for digit in range(10):
        keep[np.flatnonzero(full == digit)[:100]] = True
    assert (sample == full[keep]).all()
