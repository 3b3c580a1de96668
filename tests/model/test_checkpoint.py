"""Checkpoints are never silently wrong: exact names, verified CRC, safe writes, every path."""

import os
import random

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
import pytest
from mindspore import train as ms_train

import tinyms as ts
from tinyms.callbacks import CheckpointConfig, ModelCheckpoint
from tinyms.errors import CheckpointError, NotCompiledError
from tinyms.model import Model, lenet5, load
from tinyms.model._checkpoint import read_checkpoint

from _stripes import stripe_digits as _data

OPTIMIZERS = ["momentum", "adam", "sgd"]


def _dataset(n=64, seed=0):
    images, labels = _data(n, seed)
    return ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(16)


def _compiled(optimizer):
    model = Model(lenet5())
    model.compile(loss_fn="cross_entropy", optimizer=optimizer, metrics=["accuracy"], learning_rate=0.01)
    return model


@pytest.fixture(scope="module", params=OPTIMIZERS)
def trained(request, tmp_path_factory):
    """A model trained with one optimizer, and the files each writer made of it."""
    folder = tmp_path_factory.mktemp(f"ckpt-{request.param}")
    ts.context.set_seed(1)
    model = _compiled(request.param)
    tiny_cb = ModelCheckpoint(prefix="tiny", directory=str(folder / "tiny"),
                              config=CheckpointConfig(save_checkpoint_steps=4, keep_checkpoint_max=1))
    ms_cb = ms_train.ModelCheckpoint(prefix="ms", directory=str(folder / "ms"),
                                     config=ms_train.CheckpointConfig(save_checkpoint_steps=4, keep_checkpoint_max=1))
    model.train(3, _dataset(), callbacks=[tiny_cb, ms_cb], verbose=0)
    files = {
        "save_checkpoint": model.save_checkpoint(folder / "saved.ckpt"),
        "tinyms.ModelCheckpoint": tiny_cb.latest_ckpt_file_name,
        "mindspore.ModelCheckpoint": ms_cb.latest_ckpt_file_name,
    }
    x = _data(8, seed=5)[0]
    return {"model": model, "files": files, "x": x, "y": model.predict(x).asnumpy(),
            "acc": model.eval(_dataset(seed=3))["accuracy"], "optimizer": request.param}


def _assert_same_model(loaded, trained):
    assert np.array_equal(loaded.predict(trained["x"]).asnumpy(), trained["y"])
    loaded.compile(metrics=["accuracy"]) if loaded.loss_fn is None else None
    assert loaded.eval(_dataset(seed=3))["accuracy"] == trained["acc"]


@pytest.mark.parametrize("writer", ["save_checkpoint", "tinyms.ModelCheckpoint", "mindspore.ModelCheckpoint"])
@pytest.mark.parametrize("loader_optimizer", [None] + OPTIMIZERS)
def test_weights_load_exactly_whatever_the_writer_and_the_loaders_optimizer(trained, writer, loader_optimizer):
    path = trained["files"][writer]
    fresh = _compiled(loader_optimizer) if loader_optimizer else Model(lenet5())
    fresh.load_checkpoint(path)
    _assert_same_model(fresh, trained)
    # the network's weights equal the file's weights entry by entry, never an optimizer slot
    params = read_checkpoint(path)
    for name, param in fresh.network.parameters_dict().items():
        assert np.array_equal(param.asnumpy(), params[name].asnumpy()), name


@pytest.mark.parametrize("writer", ["save_checkpoint", "tinyms.ModelCheckpoint", "mindspore.ModelCheckpoint"])
def test_tinyms_model_load_reads_every_writers_file(trained, writer):
    path = trained["files"][writer]
    if writer != "mindspore.ModelCheckpoint":
        loaded = load(path)  # TinyMS's writers record how the network was built
    else:
        with pytest.raises(CheckpointError, match="network="):
            load(path)
        loaded = load(path, network=lenet5())
    _assert_same_model(loaded, trained)


def test_model_checkpoint_files_carry_optimizer_state_that_loads_only_when_resuming(trained):
    path = trained["files"]["tinyms.ModelCheckpoint"]
    params = read_checkpoint(path)
    net_names = set(trained["model"].network.parameters_dict())
    state = [n for n in params if n not in net_names]
    assert state, "ModelCheckpoint should have saved optimizer state"
    fresh = _compiled(trained["optimizer"])
    before = {p.name: p.asnumpy().copy() for p in fresh.optimizer.get_parameters() if p.name not in net_names}
    fresh.load_checkpoint(path)
    after = {p.name: p.asnumpy() for p in fresh.optimizer.get_parameters() if p.name not in net_names}
    assert all(np.array_equal(before[n], after[n]) for n in before), "optimizer changed without resume"
    fresh.load_checkpoint(path, resume=True)
    for name, value in after.items():
        if name in params:
            assert np.allclose(fresh.optimizer.parameters_dict()[name].asnumpy(), params[name].asnumpy())
    _assert_same_model(fresh, trained)


def test_resume_needs_the_matching_optimizer(trained, tmp_path):
    path = trained["files"]["tinyms.ModelCheckpoint"]
    with pytest.raises(NotCompiledError):
        Model(lenet5()).load_checkpoint(path, resume=True)
    other = {"momentum": "adam", "adam": "momentum", "sgd": "adam"}[trained["optimizer"]]
    with pytest.raises(CheckpointError, match="cannot resume"):
        _compiled(other).load_checkpoint(path, resume=True)
    # a weights-only file cannot resume either
    weights = trained["model"].save_checkpoint(tmp_path / "weights.ckpt", weights_only=True)
    with pytest.raises(CheckpointError, match="cannot resume"):
        _compiled(trained["optimizer"]).load_checkpoint(weights, resume=True)


@pytest.mark.parametrize("writer", ["save_checkpoint", "tinyms.ModelCheckpoint"])
def test_every_flipped_bit_is_a_checkpoint_error(trained, writer, tmp_path):
    data = open(trained["files"][writer], "rb").read()
    rng = random.Random(7)
    for i in range(25):
        bad = bytearray(data)
        pos = rng.randrange(len(bad))
        bad[pos] ^= 1 << rng.randrange(8)
        path = tmp_path / f"flip{i}.ckpt"
        path.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match="corrupt"):
            Model(lenet5()).load_checkpoint(path)
        with pytest.raises(CheckpointError):
            load(str(path), network=lenet5())


def test_flipping_a_weight_bit_in_the_middle_is_caught(trained, tmp_path):
    data = bytearray(open(trained["files"]["save_checkpoint"], "rb").read())
    data[len(data) // 2] ^= 0x40  # inside fc1.weight's values
    path = tmp_path / "bad.ckpt"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC"):
        Model(lenet5()).load_checkpoint(path)


def test_unknown_entries_and_missing_weights_are_errors(tmp_path):
    net = lenet5()
    entries = [{"name": n, "data": p} for n, p in net.parameters_dict().items()]
    extra = tmp_path / "extra.ckpt"
    ms.save_checkpoint(entries + [{"name": "head.weight", "data": ms.Tensor(np.zeros((2, 2), np.float32))}],
                       str(extra))
    with pytest.raises(CheckpointError, match="head.weight is in the file but not in the network"):
        Model(lenet5()).load_checkpoint(extra)
    missing = tmp_path / "missing.ckpt"
    ms.save_checkpoint([e for e in entries if e["name"] != "fc2.bias"], str(missing))
    with pytest.raises(CheckpointError, match="fc2.bias is missing from the file"):
        Model(lenet5()).load_checkpoint(missing)
    half = tmp_path / "half.ckpt"
    ms.save_checkpoint([{"name": e["name"], "data": ms.Tensor(e["data"].asnumpy().astype(np.float16))}
                        for e in entries], str(half))
    with pytest.raises(CheckpointError, match="Float16 in the file"):
        Model(lenet5()).load_checkpoint(half)


def test_saving_to_a_folder_is_an_error(tmp_path):
    model = Model(lenet5())
    with pytest.raises(CheckpointError, match="is a folder"):
        model.save_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="is a folder"):
        model.save_checkpoint(str(tmp_path) + os.sep)
    assert not os.path.exists(str(tmp_path) + ".ckpt")
    (tmp_path / "net.ckpt").mkdir()
    with pytest.raises(CheckpointError, match="is a folder"):
        model.save_checkpoint(tmp_path / "net")


def test_saved_files_are_0644_and_a_crashed_save_leaves_nothing_behind(tmp_path):
    model = Model(lenet5())
    # what a process killed mid-save leaves: a temporary file named after its (dead) pid
    stale = tmp_path / ".tmp-999999999-abcd.ckpt"
    stale.write_bytes(b"partial")
    path = model.save_checkpoint(tmp_path / "net.ckpt")
    assert sorted(os.listdir(tmp_path)) == ["net.ckpt"]
    assert os.stat(path).st_mode & 0o777 == 0o644
    model.save_checkpoint(path)  # overwriting works (MindSpore's own files are 0400)
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_model_checkpoint_callback_files_are_crc_checked_and_0644(tmp_path):
    model = _compiled("momentum")
    cb = ModelCheckpoint(prefix="net", directory=str(tmp_path))
    model.train(1, _dataset(), callbacks=[cb], verbose=0)
    path = cb.latest_ckpt_file_name
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert open(path, "rb").read()[-17:-10] == b"crc_num"
