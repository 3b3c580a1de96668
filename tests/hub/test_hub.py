"""tinyms.hub: the shipped LeNet5, and weights fetched through the real download/verify/load code
from a 127.0.0.1 server (official URL and TINYMS_HUB_MIRROR), cached, refetched, offline."""

import concurrent.futures
import dataclasses
import hashlib
import json
import os

import numpy as np
import pytest

from tinyms import hub
from tinyms.errors import CheckpointError, ChecksumError, DownloadError, HubError, UnknownNameError
from tinyms.model import Model, create_model, model_config, register_weights


def _cache(*parts):
    return os.path.join(os.environ["TINYMS_HOME"], "hub", *parts)


def _visible_cache_files():
    folder = _cache()
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) if os.path.isdir(folder) else []


# --------------------------------------------------------------------------- the shipped asset
def test_shipped_lenet5_has_the_accuracy_it_states_on_the_10000_mnist_test_images(monkeypatch, official_mnist):
    import gzip

    from tinyms.data import MnistDataset
    from tinyms.vision import mnist_transform

    monkeypatch.setenv(hub.OFFLINE_ENV, "1")
    net = hub.load("lenet5_mnist")
    cfg = net.default_cfg
    assert (cfg.uid, cfg.dataset, cfg.input_shape) == ("lenet5.mnist", "mnist", (1, 32, 32))
    assert cfg.evaluated_on == "mnist test set, 10,000 images"
    with gzip.open(os.path.join(official_mnist, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    test = mnist_transform.apply_ds(MnistDataset(official_mnist, usage="test", shuffle=False),
                                    batch_size=500, is_training=False)
    model = Model(net)
    model.compile(loss_fn="cross_entropy", metrics=["accuracy"])
    measured = model.eval(test)["accuracy"]
    assert model.eval_samples == len(labels) == 10000              # every test image, once
    assert round(measured, 4) == cfg.accuracy == hub.info("lenet5_mnist").accuracy, measured
    assert not os.path.exists(_cache())          # bundled: nothing was downloaded or copied


def test_asset_file_describes_the_shipped_checkpoint():
    folder = os.path.join(os.path.dirname(hub.__file__), "assets")
    with open(os.path.join(folder, "lenet5_mnist.json"), encoding="utf-8") as f:
        asset = json.load(f)
    path = os.path.join(folder, asset["file"])
    with open(path, "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == asset["sha256"] and len(data) == asset["size"]
    assert asset["file"] == f"lenet5_mnist-{asset['sha256'][:8]}.ckpt"
    assert asset["accuracy"]["images"] == 10000 and asset["training"]["script"] == "scripts/train_lenet5_mnist.py"
    assert model_config("lenet5.mnist").recipe == model_config("lenet5").recipe  # trained with the zoo's recipe


def test_pretrained_create_model_equals_hub_load_weights():
    net = create_model("lenet5", pretrained=True)
    params = hub.load_weights("lenet5_mnist")
    assert net.default_cfg == model_config("lenet5.mnist")
    for name, param in net.parameters_dict().items():
        np.testing.assert_array_equal(param.asnumpy(), params[name].asnumpy())
    assert create_model("lenet5").default_cfg == model_config("lenet5")  # untrained: the architecture's


def test_tinyms_03_uids_name_the_same_weights_or_say_they_are_not_here(monkeypatch):
    monkeypatch.setenv(hub.OFFLINE_ENV, "1")
    old = hub.load("tinyms/0.2/lenet5_v1_mnist", class_num=10)   # 0.3's uid and call, offline
    new = hub.load("lenet5_mnist")
    for name, param in new.parameters_dict().items():
        np.testing.assert_array_equal(old.parameters_dict()[name].asnumpy(), param.asnumpy())
    assert set(hub.load_weights("tinyms/0.2/lenet5_v1_mnist")) == set(hub.load_weights("lenet5_mnist"))
    with pytest.raises(UnknownNameError, match=r"TinyMS 0.3 hub uid.*lenet5_mnist"):
        hub.load("tinyms/0.2/resnet50_v1_cifar10")


def test_damaged_bundled_copy_is_refused(tmp_path):
    cfg = model_config("lenet5.mnist")
    damaged = tmp_path / cfg.file
    data = bytearray(open(cfg.bundled, "rb").read())
    data[1000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(HubError, match="damaged.*reinstall tinyms"):
        hub.load_weights(dataclasses.replace(cfg, bundled=str(damaged)))


def test_list_and_info():
    assert "lenet5.mnist" in hub.list(source="tinyms")
    assert hub.list("lenet*", source="tinyms") == ["lenet5.mnist"]
    assert hub.info("lenet5_mnist") == hub.info("lenet5") == hub.info("lenet5.mnist")
    with pytest.raises(UnknownNameError, match="no weights tagged 'cifar10'.*mnist"):
        hub.load("lenet5.cifar10")
    with pytest.raises(UnknownNameError, match="cait_s24_224 has no pretrained weights"):
        hub.load("cait_s24_224")   # a mindcv network published without weights


# --------------------------------------------------------------------------- downloaded assets
def test_good_asset_is_downloaded_once_verified_and_then_read_from_the_cache(server, lenet5_asset):
    net = hub.load(lenet5_asset.uid)
    assert server.asked(lenet5_asset.file) == [f"/official/{lenet5_asset.file}"]
    assert _visible_cache_files() == [lenet5_asset.file]
    with open(_cache(".tinyms-verified"), encoding="utf-8") as f:
        assert json.load(f)[lenet5_asset.file]["sha256"] == lenet5_asset.sha256  # full digest recorded
    again = hub.load(lenet5_asset.uid)
    assert len(server.requests) == 1
    assert net.default_cfg.uid == again.default_cfg.uid == "lenet5.local"
    np.testing.assert_array_equal(net.fc3.weight.asnumpy(), again.fc3.weight.asnumpy())


def test_mirror_replaces_the_official_host(server, lenet5_asset, monkeypatch):
    monkeypatch.setenv(hub.MIRROR_ENV, f"{server.url}/mirror/")
    hub.load_weights(lenet5_asset.uid)
    assert server.requests == [f"/mirror/{lenet5_asset.file}"]


def test_wrong_content_is_a_checksum_error_and_leaves_nothing(server, lenet5_asset):
    server.files[f"/official/{lenet5_asset.file}"] = lenet5_asset.data[:-1] + b"\0"
    with pytest.raises(ChecksumError, match=f"does not start with {lenet5_asset.sha256[:8]}"):
        hub.load(lenet5_asset.uid)
    assert _visible_cache_files() == [] and not os.listdir(_cache(".partial"))


def test_full_sha256_is_checked_when_the_asset_gives_it(server, lenet5_asset):
    register_weights("lenet5", "pinned", file=lenet5_asset.file, sha256="0" * 64,
                     urls=[f"{server.url}/official/{lenet5_asset.file}"])
    with pytest.raises(ChecksumError, match="expected SHA-256 0000"):
        hub.load("lenet5.pinned")
    assert _visible_cache_files() == []


def test_corrupted_cached_file_is_detected_and_fetched_again(server, lenet5_asset):
    hub.load(lenet5_asset.uid)
    path = _cache(lenet5_asset.file)
    with open(path, "r+b") as f:
        f.seek(2000)
        f.write(b"\x00\x01\x02\x03")
    net = hub.load(lenet5_asset.uid)
    assert len(server.asked(lenet5_asset.file)) == 2
    with open(path, "rb") as f:
        assert f.read() == lenet5_asset.data
    assert net.default_cfg.uid == "lenet5.local"


def test_offline_without_cache_names_the_asset_and_the_fix(server, lenet5_asset, monkeypatch):
    monkeypatch.setenv(hub.OFFLINE_ENV, "1")
    with pytest.raises(HubError) as err:
        hub.load(lenet5_asset.uid)
    text = str(err.value)
    assert "lenet5.local" in text and lenet5_asset.file in text and "TINYMS_OFFLINE=1" in text
    assert "hub.load('lenet5.local')" in text and _cache(lenet5_asset.file) in text
    assert server.requests == []


def test_offline_with_cache_uses_it(server, lenet5_asset, monkeypatch):
    hub.load(lenet5_asset.uid)
    monkeypatch.setenv(hub.OFFLINE_ENV, "1")
    assert hub.load(lenet5_asset.uid).default_cfg.uid == "lenet5.local"
    assert len(server.requests) == 1


def test_malformed_mirror_fails_before_any_network_access(server, lenet5_asset, monkeypatch):
    monkeypatch.setenv(hub.MIRROR_ENV, "ftp://127.0.0.1/weights")
    with pytest.raises(DownloadError, match="TINYMS_HUB_MIRROR='ftp://127.0.0.1/weights' is not a usable"):
        hub.load(lenet5_asset.uid)
    assert server.requests == []


def test_checkpoint_that_does_not_fit_is_refused_naming_the_parameter(server, lenet5_asset, five_class_checkpoint):
    digest = hashlib.sha256(five_class_checkpoint).hexdigest()
    file = f"lenet5five-{digest[:8]}.ckpt"
    server.files[f"/official/{file}"] = five_class_checkpoint
    register_weights("lenet5", "five", file=file, hash_prefix=digest[:8], urls=[f"{server.url}/official/{file}"])
    with pytest.raises(CheckpointError, match=r"lenet5\.five do not fit.*fc3\.weight is \(5, 84\)"):
        hub.load("lenet5.five")
    with pytest.raises(CheckpointError, match=r"conv1\.weight is \(6, 1, 5, 5\).*\(6, 3, 5, 5\)"):
        hub.load_weights(lenet5_asset.uid, create_model("lenet5", num_channel=3))


def test_pretrained_with_another_class_count_is_refused_before_downloading(server, lenet5_asset):
    with pytest.raises(CheckpointError, match="trained with 10 classes, not class_num=3"):
        create_model("lenet5.local", class_num=3)
    assert server.requests == []


def test_concurrent_loads_of_one_asset_download_it_once(server, lenet5_asset):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: hub.weights_file(model_config(lenet5_asset.uid), progress=False), range(4)))
    assert len(set(paths)) == 1 and len(server.requests) == 1
