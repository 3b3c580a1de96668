"""TinyMS 0.3's tests/st/cycle_gan.py runs unchanged against this TinyMS: train, predict and eval.

The script is vendored as third-party test data in tests/model/tinyms_0_3/ (Apache-2.0, its
header kept; see the README there) and run as a program on a tiny trainA/trainB/testA/testB
folder written here. One thing differs from a user's run, to keep the test short: the script's
``cyclegan_transform`` (256x256, as in 0.3) is replaced, before the script starts, by one of
32x32 built with TinyMS's own ``CycleGanDatasetTransform``; the script itself, its 9-block
ResNet generators and its training loop run as written.
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tinyms_0_3", "cycle_gan.py")
REPO = os.path.dirname(os.path.dirname(HERE))
ORIGINAL = "/work/.mirror/tinyms-ai+tinyms/repo"   # a bare clone of github:tinyms-ai/tinyms, where present
SIZE = 32
#: runs the script as ``python cycle_gan.py ARGS`` would, with a 32x32 cyclegan_transform
BOOT = ("import runpy, sys; import tinyms.vision as v; "
        f"v.cyclegan_transform = v.CycleGanDatasetTransform(size={SIZE}); "
        "sys.argv = ['cycle_gan.py'] + sys.argv[1:]; runpy.run_path('cycle_gan.py', run_name='__main__')")


def run_script(cwd, *args, timeout=600):
    env = dict(os.environ, GLOG_v="3", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-c", BOOT, *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout + run.stderr


def write_images(folder, count, seed, colour):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = np.zeros((40, 40, 3), np.uint8) + np.array(colour, np.uint8)
        y, x = rng.integers(0, 28, 2)
        image[y:y + 12, x:x + 12] = 255 - np.array(colour, np.uint8)
        Image.fromarray(image).save(os.path.join(folder, f"{i:03d}.png"))


@pytest.fixture()
def data(tmp_path):
    root = tmp_path / "data"
    write_images(root / "trainA", 3, 1, (200, 40, 40))
    write_images(root / "trainB", 2, 2, (40, 40, 200))
    write_images(root / "testA", 2, 3, (200, 40, 40))
    write_images(root / "testB", 2, 4, (40, 40, 200))
    shutil.copy(SCRIPT, tmp_path / "cycle_gan.py")
    return root


def test_the_cycle_gan_script_of_tinyms_03_trains_then_predicts(tmp_path, data):
    out = run_script(tmp_path, "--dataset_path", str(data), "--max_epoch", "1", "--n_epoch", "1",
                     "--save_checkpoint_epochs", "1", "--outputs_dir", "outputs")
    assert "==========start training===============" in out and "==========end training===============" in out
    epoch = re.search(r"Epoch \[1\] total cost: [0-9.]+ ms, per step: [0-9.]+ ms, G_loss: ([0-9.]+), "
                      r"D_loss: ([0-9.]+)", out)
    assert epoch, out[-3000:]
    assert all(np.isfinite(float(v)) and float(v) > 0 for v in epoch.groups())
    outputs = tmp_path / "outputs"
    ckpts = sorted(os.listdir(outputs / "ckpt"))
    assert ckpts == ["D_A_1.ckpt", "D_B_1.ckpt", "G_A_1.ckpt", "G_B_1.ckpt"]
    # the last step of the epoch (3 = max(3 A images, 2 B images)) saved the images it saw and made
    for name in ("img_A", "img_B", "fake_A", "fake_B"):
        with Image.open(outputs / "imgs" / f"1_{name}.jpg") as image:
            assert image.size == (SIZE, SIZE)
    logs = os.listdir(outputs / "log")
    assert logs and "--> dataset_path:" in (outputs / "log" / logs[0]).read_text()

    out = run_script(tmp_path, "--phase", "predict", "--dataset_path", str(data), "--outputs_dir", "outputs",
                     "--G_A_ckpt", str(outputs / "ckpt" / "G_A_1.ckpt"),
                     "--G_B_ckpt", str(outputs / "ckpt" / "G_B_1.ckpt"))
    assert "start predict testA_to_fakeB" in out and "start predict testB_to_fakeA" in out
    for fake, test in (("fake_B", "testA"), ("fake_A", "testB")):
        written = sorted(os.listdir(outputs / "predict" / fake))
        assert written == sorted(os.listdir(data / test))        # one translation per test image, same name
        with Image.open(outputs / "predict" / fake / written[0]) as image:
            pixels = np.asarray(image.convert("RGB"))
        assert pixels.shape == (SIZE, SIZE, 3) and pixels.std() > 0


def test_the_cycle_gan_script_of_tinyms_03_evaluates_label_maps(tmp_path):
    from tinyms.utils.eval import CityScapes

    shutil.copy(SCRIPT, tmp_path / "cycle_gan.py")
    cs = CityScapes()
    colours = np.asarray(cs.color_list)
    truth_dir, fake_dir = tmp_path / "labels", tmp_path / "fakes"
    truth_dir.mkdir()
    fake_dir.mkdir()
    # two 16x16 label maps: class 0 and class 1 halves; the 'generated' maps get a quarter of class 0 wrong
    truth = np.zeros((16, 16), np.int64)
    truth[:, 8:] = 1
    fake = truth.copy()
    fake[:8, :4] = 1
    for i in range(2):
        Image.fromarray(colours[truth].astype(np.uint8)).save(truth_dir / f"{i}.png")
        Image.fromarray(colours[fake].astype(np.uint8)).save(fake_dir / f"{i}.png")
    out = run_script(tmp_path, "--phase", "eval", "--cityscapes_dir", str(truth_dir), "--result_dir", str(fake_dir))
    found = re.search(r"mean_pixel_acc:([0-9.]+), mean_class_acc:([0-9.]+), mean_class_iou: ([0-9.]+)", out)
    assert found, out[-3000:]
    pixel_acc, class_acc, class_iou = map(float, found.groups())
    assert pixel_acc == pytest.approx(224 / 256)                   # 32 of 256 pixels per map are wrong
    assert class_acc == pytest.approx((96 / 128 + 1.0) / 2)        # class 0: 96 of 128 right; class 1: all
    assert class_iou == pytest.approx((96 / 128 + 128 / 160) / 2)
    assert len(re.findall(r"acc = .*, iou = ", out)) == cs.class_num   # a line per class


def test_the_vendored_script_is_the_original():
    if not os.path.isdir(ORIGINAL):
        pytest.skip("no clone of the original TinyMS on this machine")
    original = subprocess.run(["git", "-C", ORIGINAL, "rev-parse", "HEAD:tests/st/cycle_gan.py"],
                              capture_output=True, text=True, timeout=60)
    if original.returncode != 0:
        pytest.skip("the clone of the original TinyMS has no tests/st/cycle_gan.py")
    vendored = subprocess.run(["git", "hash-object", SCRIPT], capture_output=True, text=True, timeout=60)
    assert vendored.stdout.strip() == original.stdout.strip()       # the same blob, byte for byte
