"""A checkpoint servable rebuilds the network it was written from: the builder's arguments and the
trained input size travel in servable.json, and entries written before that still serve.

The network of every TinyMS name goes through ``write_servable`` -> the executor's rebuild in
tests/model/test_checkpoint_rebuild.py; here a ResNet-18 trained on 32x32 images goes the whole
way, through ``tinyms.model.load`` and through a running server.
"""

import json

import mindspore.dataset as ds
import numpy as np
import pytest

import tinyms as ts
from tinyms.errors import InputShapeError
from tinyms.model import Model, create_model, lenet5, load
from tinyms.serving import Client, Server, ServableConfigError, write_servable
from tinyms.serving._config import load_servables
from tinyms.serving._executor import checkpoint_network


def _images(n, seed):
    """n float32 (3, 32, 32) images of noise with a bright bar whose row is the class (10 classes)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.int32)
    images = rng.normal(0, 0.1, (n, 3, 32, 32)).astype(np.float32)
    for i, y in enumerate(labels):
        images[i, :, 3 * y:3 * y + 2, 4:28] += 2.0
    return images, labels


@pytest.fixture(scope="module")
def trained_resnet(tmp_path_factory):
    """ResNet-18 for CIFAR-10's classes trained one epoch (two steps) on 32x32 images, and its checkpoint."""
    ts.context.set_seed(3)
    images, labels = _images(8, seed=2)
    model = Model(create_model("resnet18", class_num=10))
    model.compile("cross_entropy", "momentum", learning_rate=0.01)
    model.train(1, ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(4), verbose=0)
    assert model.network.default_cfg.input_shape == (3, 32, 32)  # the trained size, adopted
    folder = tmp_path_factory.mktemp("resnet32")
    x = _images(2, seed=9)[0]
    return {"model": model, "x": x, "y": model.predict(x).asnumpy(),
            "path": model.save_checkpoint(folder / "resnet18.ckpt"), "folder": folder}


def test_a_resnet_trained_on_32x32_images_loads_and_predicts_32x32(trained_resnet):
    loaded = load(trained_resnet["path"])
    assert loaded.network.default_cfg.input_shape == (3, 32, 32)
    np.testing.assert_array_equal(loaded.predict(trained_resnet["x"]).asnumpy(), trained_resnet["y"])
    with pytest.raises(InputShapeError, match=r"\(N, 3, 32, 32\)"):
        loaded.predict(np.zeros((1, 3, 224, 224), np.float32))
    # a network passed in takes the trained size too
    given = load(trained_resnet["path"], network=create_model("resnet18", class_num=10))
    assert given.network.default_cfg.input_shape == (3, 32, 32)
    # and so does a model that loads the file into its own network
    own = Model(create_model("resnet18", class_num=10))
    own.load_checkpoint(trained_resnet["path"])
    assert own.network.default_cfg.input_shape == (3, 32, 32)
    np.testing.assert_array_equal(own.predict(trained_resnet["x"]).asnumpy(), trained_resnet["y"])


def test_a_resnet_trained_on_32x32_images_is_served_from_its_checkpoint(trained_resnet):
    from tinyms.vision import cifar10_transform

    serving = str(trained_resnet["folder"] / "serving")
    entry = write_servable(serving, "cifar_resnet", trained_resnet["model"].network, formats=("ckpt",),
                           transform=cifar10_transform, max_batch_size=2)
    assert entry["model"]["build_args"] == {"class_num": 10, "num_channel": 3}
    assert entry["model"]["input_shape"] == [3, 32, 32]
    with Server(port=0, serving_path=serving) as server:
        client = Client(port=server.port)
        (listed,) = client.list_servables()
        assert listed["ready"] is True, listed
        got = client.infer("cifar_resnet", trained_resnet["x"])
    expected = trained_resnet["y"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def _rgb_recipe():
    from tinyms.vision import Recipe

    steps = [["resize", {"size": [32, 32]}], ["rescale", {"scale": 1 / 255, "shift": 0.0}], ["hwc2chw"]]
    return Recipe(train=steps, eval=steps, channels=3)


def test_an_old_servable_entry_without_build_args_builds_from_its_class_count(tmp_path):
    write_servable(str(tmp_path), "gray", lenet5(class_num=6), formats=("ckpt",))
    write_servable(str(tmp_path), "rgb", lenet5(class_num=6, num_channel=3), formats=("ckpt",),
                   transform=_rgb_recipe())
    servable_json = tmp_path / "servable.json"
    entries = json.loads(servable_json.read_text())
    assert [e["model"]["build_args"] for e in entries] == [{"class_num": 6, "num_channel": 1},
                                                          {"class_num": 6, "num_channel": 3}]
    rgb, _ = checkpoint_network(load_servables(str(tmp_path))[0][1])
    assert rgb.build_record.args == {"class_num": 6, "num_channel": 3}
    for entry in entries:
        del entry["model"]["build_args"]  # as TinyMS wrote them before recording the arguments
    servable_json.write_text(json.dumps(entries))
    specs, problems = load_servables(str(tmp_path))
    assert problems == [] and [s.build_args for s in specs] == [None, None]
    gray, _ = checkpoint_network(specs[0])
    assert gray.build_record.args == {"class_num": 6, "num_channel": 1}
    with pytest.raises(ValueError, match="conv1.weight.*model.build_args"):
        checkpoint_network(specs[1])  # what the entry cannot say is refused, never guessed


def test_build_args_that_contradict_the_class_count_are_refused(tmp_path):
    write_servable(str(tmp_path), "digits", lenet5(class_num=6), formats=("ckpt",))
    servable_json = tmp_path / "servable.json"
    entries = json.loads(servable_json.read_text())
    entries[0]["model"]["class_num"] = 5
    servable_json.write_text(json.dumps(entries))
    specs, problems = load_servables(str(tmp_path))
    assert specs == [] and "class_num=6" in problems[0].reason
    with pytest.raises(ServableConfigError, match="class_num=5 but the network was built with class_num=6"):
        write_servable(str(tmp_path), "digits", lenet5(class_num=6), class_num=5, formats=("ckpt",))
