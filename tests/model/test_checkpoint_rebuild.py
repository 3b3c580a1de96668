"""A checkpoint records how its network was built, so it reads back as the same network.

TinyMS's networks are built with arguments other than their defaults (classes, input channels,
MobileNetV2's width) and given another input size than their architecture's, as training on
that size does; each checkpoint then comes back from ``tinyms.model.load`` and from a
checkpoint servable predicting exactly what the original predicted. A ResNet-18 trained on
32x32 images goes through the real path (``Model.train``, both loaders, a running server) in
tests/serving/test_rebuild.py.

Cost: the round trips run in PyNative mode (graph compilation of ResNet-152 and DenseNet took
5-8 s per prediction, PyNative 0.2-0.4 s) on a batch of one. Every network the registry names
gets a round trip except the siblings of a network built by the same code with other constants
(``SAME_BUILDER``): building a VGG means drawing 130-140 million random weights (5-10 s a
build), and ResNet-101 and -152 are ResNet-50's builder with more blocks. What their checkpoints
record is checked in tests/model/test_zoo.py, which builds, saves and reloads every network
anyway. Networks of more than 50 million parameters (AlexNet, VGG) skip the servable half of the
round trip, a second 0.25-0.5 GB file and build: the serving executor rebuilds with the same
``create_model(name, **build_args)`` call that the other networks' servables go through.
"""

import dataclasses
import gc
import json
import logging

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
import pytest

import tinyms as ts
from tinyms.callbacks import CheckpointConfig, ModelCheckpoint
from tinyms.errors import CheckpointError
from tinyms.model import Model, create_model, lenet5, list_models, load, model_config
from tinyms.model import _checkpoint
from tinyms.model.registry import BuildRecord, network_description, register_model
from tinyms.serving import ServableConfigError, write_servable
from tinyms.serving._config import load_servables
from tinyms.serving._executor import checkpoint_network

from _stripes import stripe_digits

# name -> the network built by the same builder code (other constants) that stands for it here
SAME_BUILDER = {"vgg11_bn": "vgg11", "vgg13": "vgg11", "vgg13_bn": "vgg11", "vgg16": "vgg11", "vgg16_bn": "vgg11",
                "vgg19": "vgg11", "vgg19_bn": "vgg11", "resnet34": "resnet18", "resnet101": "resnet50",
                "resnet152": "resnet50"}
TINYMS_NAMES = [n for n in list_models(source="tinyms") if model_config(n).task == "classification"]  # SSD: test_ssd.py
ROUND_TRIP = [n for n in TINYMS_NAMES if n not in SAME_BUILDER]

# A trained input size other than each architecture's own: LeNet-5 reads a fixed 16x5x5 map
# (32x32 only); AlexNet's and VGG's dense layers read a fixed map that 227 and 240 still give.
TRAINED_SIDE = {"lenet5": 32, "alexnet": 227, "densenet100": 40}


def _arguments(name):
    """Builder arguments unlike the defaults (the defaults are 1 channel for LeNet-5, 3 for the others)."""
    args = {"class_num": 3, "num_channel": 3 if name == "lenet5" else 1}
    if name == "mobilenetv2":
        args.update(width_mult=0.5, is_training=False)
    return args


def _side(name):
    return TRAINED_SIDE.get(name, 240 if name.startswith("vgg") else 32)


@pytest.fixture
def pynative():
    """PyNative mode for one round trip (TinyMS's GRAPH default applied first; the mode is restored)."""
    ts.context._apply_defaults()  # noqa: SLF001 - consume the once-only default so it does not switch back
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=mode)


def _predict(model, x):
    return model.predict(x).asnumpy()


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_every_network_comes_back_from_its_checkpoint_and_its_servable(name, tmp_path, pynative, released):
    args = _arguments(name)
    ms.set_seed(0)
    net = create_model(name, **args)
    side = _side(name)
    channels = args["num_channel"]
    assert net.default_cfg.input_shape != (channels, side, side) or name == "lenet5"
    # what Model.train does after training on another image size (tested for real below)
    net.default_cfg = dataclasses.replace(net.default_cfg, input_shape=(channels, side, side))
    x = np.random.default_rng(1).standard_normal((1, channels, side, side)).astype(np.float32)
    model = Model(net)
    expected = _predict(model, x)
    assert expected.shape == (1, 3)

    path = model.save_checkpoint(tmp_path / "net.ckpt")
    record = json.loads(_checkpoint.metadata(_checkpoint.read_checkpoint(path))["network"])
    assert record["model"] == name and record["input_shape"] == [channels, side, side]
    assert {k: record["args"][k] for k in args} == args

    loaded = load(path)
    assert loaded.network is not net and loaded.network.default_cfg.input_shape == (channels, side, side)
    np.testing.assert_array_equal(_predict(loaded, x), expected)
    del loaded
    gc.collect()

    if sum(int(np.prod(p.shape)) for p in net.get_parameters()) > 50_000_000:
        return  # see the module's docstring
    entry = write_servable(str(tmp_path / "serving"), "net", net, formats=("ckpt",), max_batch_size=1,
                           transform=_recipe_for(channels, side))
    assert {k: entry["model"]["build_args"][k] for k in args} == args
    assert entry["model"]["input_shape"] == [channels, side, side]
    (spec,), problems = load_servables(str(tmp_path / "serving"))
    assert problems == []
    served, cfg = checkpoint_network(spec)  # what the serving executor builds and loads
    assert cfg.input_shape == (channels, side, side)
    served.set_train(False)
    np.testing.assert_array_equal(served(ms.Tensor(x)).asnumpy(), expected)


def _recipe_for(channels, side):
    """A preprocessing recipe that makes the trained input (write_servable refuses one that does not)."""
    from tinyms.vision import Recipe

    steps = [["resize", {"size": [side, side]}], ["rescale", {"scale": 1 / 255, "shift": 0.0}], ["hwc2chw"]]
    return Recipe(train=steps, eval=steps, channels=channels)


# --------------------------------------------------------------------------- every writer
def _lenet_run(tmp_path, callbacks):
    ts.context.set_seed(5)
    images, labels = stripe_digits(16, seed=4, channels=3, classes=4)
    model = Model(lenet5(class_num=4, num_channel=3))
    model.compile("cross_entropy", "adam", ["accuracy"], learning_rate=0.01)
    model.train(2, ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(8),
                callbacks=callbacks, verbose=0,
                valid_dataset=ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(8))
    return model, images


def test_model_checkpoint_files_record_the_network_too(tmp_path):
    periodic = ModelCheckpoint(prefix="every", directory=str(tmp_path / "every"),
                               config=CheckpointConfig(save_checkpoint_steps=2, keep_checkpoint_max=1))
    best = ModelCheckpoint(prefix="best", directory=str(tmp_path / "best"), monitor="val_loss")
    model, images = _lenet_run(tmp_path, [periodic, best])
    expected = model.predict(images).asnumpy()
    for path in (periodic.latest_ckpt_file_name, best.best_checkpoint):
        loaded = load(path)  # lenet5(num_channel=3), rebuilt without being told
        assert loaded.network.build_record.args == {"class_num": 4, "num_channel": 3}
        if path == periodic.latest_ckpt_file_name:  # saved after the last step: the final weights
            np.testing.assert_array_equal(loaded.predict(images).asnumpy(), expected)
        else:
            assert loaded.predict(images).shape == (16, 4)


def test_a_servable_checkpoint_loads_with_tinyms_model_load(tmp_path):
    net = lenet5(class_num=5, num_channel=3)
    write_servable(str(tmp_path), "rgb", net, formats=("ckpt",), transform=_recipe_for(3, 32))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    loaded = load(str(tmp_path / "rgb" / "rgb.ckpt"))
    np.testing.assert_array_equal(loaded.predict(x).asnumpy(), Model(net).predict(x).asnumpy())


# ------------------------------------------------------------- files written before the record
def test_an_old_checkpoint_with_only_the_model_and_class_count_loads_as_before(tmp_path):
    net = lenet5(class_num=7)
    old = _checkpoint.save_checkpoint(net, tmp_path / "old.ckpt", metadata={"model": "lenet5", "class_num": 7})
    x = np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32)
    loaded = load(old)
    assert loaded.network.build_record.args == {"class_num": 7, "num_channel": 1}
    np.testing.assert_array_equal(loaded.predict(x).asnumpy(), Model(net).predict(x).asnumpy())
    # what such a file cannot say is still refused with the fix, never loaded wrong
    rgb = _checkpoint.save_checkpoint(lenet5(num_channel=3), tmp_path / "rgb.ckpt",
                                      metadata={"model": "lenet5", "class_num": 10})
    with pytest.raises(CheckpointError, match="conv1.weight"):
        load(rgb)
    assert load(rgb, network=lenet5(num_channel=3)).predict(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 10)


# -------------------------------------------------------------------- records that cannot rebuild
def _with_record(tmp_path, record, net=None):
    net = net if net is not None else lenet5()
    return _checkpoint.save_checkpoint(net, tmp_path / "recorded.ckpt", metadata={
        "model": "lenet5", "class_num": 10, "network": record if isinstance(record, str) else json.dumps(record)})


@pytest.mark.parametrize("record, phrase", [
    ({"version": 1, "model": "lenet9", "args": {"class_num": 10}}, r"lenet9\(class_num=10\).*unknown model.*network="),
    ({"version": 1, "model": "lenet5", "args": {"class_num": 10, "depth": 5}}, r"depth.*network="),
    ({"version": 1, "model": "lenet5", "args": {"class_num": 0}}, r"class_num=0.*network="),
    ({"version": 2, "model": "lenet5", "args": {}}, r"version 2.*upgrade TinyMS"),
    ({"version": 1, "model": "lenet5", "args": {}, "input_shape": [1, -32, 32]}, r"input_shape.*network="),
    ("{not json", r"cannot read.*network="),
])
def test_records_that_cannot_be_rebuilt_name_the_problem_and_the_fix(tmp_path, record, phrase):
    path = _with_record(tmp_path, record)
    with pytest.raises(CheckpointError, match=phrase):
        load(path)


_CUSTOM = "rebuild_test_activation_net"


@pytest.fixture
def custom_builder():
    """A registered builder taking a layer class, which no file can record (unregistered afterwards)."""
    from mindspore import nn
    from tinyms.model import registry

    class Tiny(nn.Cell):
        def __init__(self, class_num, activation):
            super().__init__()
            self.class_num, self.num_channel = class_num, 1
            self.flatten = nn.Flatten()
            self.dense = nn.Dense(16, class_num)
            self.activation = activation()

        def construct(self, x):
            return self.activation(self.dense(self.flatten(x)))

    def build(class_num=2, activation=nn.ReLU):
        return Tiny(class_num, activation)

    build.__name__ = _CUSTOM
    builder = register_model(input_shape=(1, 4, 4), mean=(0.5,), std=(0.5,), labels=("a", "b"))(build)
    yield builder, nn
    with registry._LOCK:  # noqa: SLF001
        registry._REGISTRY.pop(_CUSTOM, None)  # noqa: SLF001


def test_arguments_no_file_can_record_are_named_and_refused_not_guessed(tmp_path, custom_builder, caplog):
    builder, nn = custom_builder
    net = builder(activation=nn.Sigmoid)  # the same weights as the default ReLU: a guess would load
    assert net.build_record == BuildRecord(_CUSTOM, {"class_num": 2}, ("activation",))
    assert network_description(net)["unrecorded"] == ["activation"]
    with caplog.at_level(logging.WARNING, logger="tinyms.model"):
        path = Model(net).save_checkpoint(tmp_path / "tiny.ckpt")
    assert "activation" in caplog.text and "network=" in caplog.text
    with pytest.raises(CheckpointError, match=r"activation.*network="):
        load(path)
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    given = load(path, network=builder(activation=nn.Sigmoid))
    np.testing.assert_array_equal(given.predict(x).asnumpy(), Model(net).predict(x).asnumpy())
    with pytest.raises(ServableConfigError, match=r"activation.*formats=\('onnx',\)"):
        write_servable(str(tmp_path / "serving"), "tiny", net, formats=("ckpt",))


def test_numpy_arguments_are_recorded_as_json_numbers(tmp_path):
    net = create_model("resnet18", class_num=np.int64(4), num_channel=np.int32(2))
    assert net.build_record.args == {"class_num": 4, "num_channel": 2}
    path = Model(net).save_checkpoint(tmp_path / "r.ckpt")
    assert load(path).network.build_record == net.build_record
