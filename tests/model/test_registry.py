"""The registry: architectures and weight tags (name.tag), TinyMS's names and mindcv's, one config each."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinyms.errors import UnknownNameError
from tinyms.model import Model, create_model, list_models, model_config, register_weights
from tinyms.model import registry


@pytest.fixture(autouse=True)
def restore_registry(monkeypatch):
    registry._mindcv_table()
    for table in ("_REGISTRY", "_MINDCV", "_EXTRA_WEIGHTS", "_DEFAULT_TAGS"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))


def test_mindcv_is_imported_only_when_its_names_are_needed():
    code = textwrap.dedent("""
        import sys
        import mindcv.models as m
        from tinyms.model._mindcv import UNBUILDABLE
        expected = set(m.list_models()) - set(UNBUILDABLE)
        del m
        for name in [n for n in sys.modules if n.startswith("mindcv")]:
            del sys.modules[name]
        from tinyms.model import create_model, list_models
        tinyms_names = list_models(source="tinyms")
        create_model("lenet5", pretrained=True)
        assert not any(n.startswith("mindcv") for n in sys.modules), "mindcv imported"
        every = list_models()
        assert expected <= set(every) | set(tinyms_names), expected - set(every)
        assert len(every) == len(set(tinyms_names) | expected)
        print(len(every), len(expected))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[1]) == 275 - 8


@pytest.mark.parametrize("name", ["rexnet_10", "mae_b_16_224_pretrain", "ReXNet_20"])
def test_mindcv_networks_that_cannot_be_built_here_are_not_listed_and_say_why(name):
    assert name.lower() not in {n.lower() for n in list_models()}
    with pytest.raises(UnknownNameError, match=r"leaves out: .*(MindSpore 2\.10|not a classifier)"):
        create_model(name)


def test_sources_split_the_names_and_tinyms_names_win():
    ours, theirs = list_models(source="tinyms"), list_models(source="mindcv")
    assert "lenet5" in ours and "squeezenet1_0" in theirs and not set(ours) & set(theirs)
    assert list_models() == sorted(ours + theirs, key=lambda n: (n.lower(), n))

    @registry.register_model(**{k: v for k, v in vars(model_config("lenet5")).items()
                                if k in ("input_shape", "mean", "std", "labels")})
    def squeezenet1_0(class_num=10):
        return create_model("lenet5", class_num=class_num)

    assert "squeezenet1_0" in list_models(source="tinyms")
    assert "squeezenet1_0" not in list_models(source="mindcv")
    assert model_config("squeezenet1_0").source == "tinyms"
    with pytest.raises(ValueError, match="source must be one of 'tinyms', 'mindcv'"):
        list_models(source="timm")


def test_patterns_and_pretrained_filters():
    assert list_models("lenet*", source="tinyms") == ["lenet5"]
    assert "resnet18" in list_models("RESNET1*")
    with_weights = list_models(pretrained=True)
    without = list_models(pretrained=False)
    assert "lenet5" in with_weights and "resnet50" in with_weights
    assert not set(with_weights) & set(without) and sorted(with_weights + without, key=str.lower) == \
        sorted(list_models(), key=str.lower)


def test_mindcv_configs_come_from_its_pretrained_configuration():
    vit = model_config("vit_b_16_384")
    assert vit.input_shape == (3, 384, 384) and vit.source == "mindcv" and vit.dataset == "imagenet"
    assert [s.op for s in vit.recipe.eval][:2] == ["resize", "center_crop"]
    assert vit.recipe.eval[1].kwargs()["size"] == [384, 384]
    assert model_config("mobilenet_v1_100").labels[:2] == ("background", "tench")
    assert model_config("resnet18").labels[:2] == ("tench", "goldfish") or \
        model_config("resnet18").source == "tinyms"
    weights = model_config("resnet18.imagenet")
    assert weights.labels[:2] == ("tench", "goldfish") and len(weights.labels) == 1000
    assert (weights.hash_prefix, weights.file) == ("1e65cd21", "resnet18-1e65cd21.ckpt")
    assert weights.urls == ("https://download.mindspore.cn/toolkits/mindcv/resnet/resnet18-1e65cd21.ckpt",)
    assert weights.uid == "resnet18.imagenet" and weights.pretrained


def test_mindcv_network_built_with_class_num():
    net = create_model("mobilenet_v1_025", class_num=3)
    assert net.default_cfg.labels == ("0", "1", "2") and net.default_cfg.source == "mindcv"
    out = Model(net).predict(np.zeros((1, 3, 224, 224), np.float32))
    assert out.shape == (1, 3)
    with pytest.raises(TypeError, match="unknown argument.*num_classes.*takes: class_num, in_channels"):
        create_model("mobilenet_v1_025", num_classes=3)
    with pytest.raises(TypeError, match="unknown argument.*pretrained"):
        create_model("mobilenet_v1_025", pretrained_cfg=1, pretrained=False)


def test_unknown_names_tags_and_arguments_are_named():
    with pytest.raises(TypeError, match="unknown argument.*colour.*lenet5 takes: class_num, num_channel"):
        create_model("lenet5", colour=True)
    with pytest.raises(UnknownNameError, match="no weights tagged 'imagenet'; its tags are: mnist"):
        model_config("lenet5.imagenet")
    with pytest.raises(UnknownNameError, match="unknown model 'lenet6'.*lenet5"):
        create_model("lenet6")


def test_weights_config_and_untrained_build_with_a_tag():
    cfg = model_config("lenet5.mnist")
    assert (cfg.file.startswith("lenet5_mnist-"), len(cfg.sha256), cfg.license != "") == (True, 64, True)
    net = create_model("lenet5.mnist", pretrained=False)
    assert net.default_cfg == cfg.untrained() and not net.default_cfg.pretrained
    assert net.default_cfg.dataset == "mnist"
    resized = create_model("lenet5", class_num=4).default_cfg
    assert resized.labels == ("0", "1", "2", "3") and not resized.pretrained


def test_register_weights_checks_its_fields():
    with pytest.raises(ValueError, match="give sha256= .* or hash_prefix="):
        register_weights("lenet5", "mine", file="x.ckpt", urls=["https://example.org/x.ckpt"])
    with pytest.raises(ValueError, match="plain file name"):
        register_weights("lenet5", "mine", file="../x.ckpt", sha256="0" * 64, urls=["https://example.org/x"])
    with pytest.raises(ValueError, match="lenet5.mnist is already registered"):
        register_weights("lenet5", "mnist", file="x.ckpt", sha256="0" * 64, urls=["https://example.org/x"])
    with pytest.raises(TypeError, match="unknown field.*colour"):
        register_weights("lenet5", "mine", file="x.ckpt", sha256="0" * 64, urls=["https://e.org/x"], colour=1)
    cfg = register_weights("lenet5", "mine", default=True, file="x.ckpt", sha256="0" * 64,
                           urls=["https://example.org/x.ckpt"], accuracy=0.5)
    assert model_config("lenet5.mine") == cfg and registry.default_weights("lenet5") == cfg


@pytest.mark.parametrize("name, size", [("inception_v3", 299), ("inception_v4", 299), ("xception", 299),
                                        ("swinv2_tiny_window8", 256), ("swinv2_base_window16", 256)])
def test_input_sizes_mindcv_leaves_out_are_the_networks_own(name, size):
    cfg = model_config(name)
    assert cfg.input_shape == (3, size, size)
    assert cfg.recipe.eval[1].kwargs()["size"] == [size, size]   # preprocessing makes that size


def test_swinv2_runs_at_its_configured_size():
    # at the 224x224 TinyMS assumed before, SwinV2's window attention fails to reshape
    net = create_model("swinv2_tiny_window8", class_num=4)
    assert Model(net).predict(np.zeros((1, *net.default_cfg.input_shape), np.float32)).shape == (1, 4)
