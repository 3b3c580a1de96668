"""MindSpore image ops are reachable under tinyms.vision names and run eagerly."""

import mindspore.dataset.transforms as ms_transforms
import mindspore.dataset.vision as ms_vision
import numpy as np
import pytest

import tinyms.vision as vision

VISION_OPS = ["Resize", "Rescale", "Normalize", "HWC2CHW", "CenterCrop", "RandomCrop",
              "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "Decode", "Pad",
              "Grayscale", "ToTensor", "Inter"]


@pytest.mark.parametrize("name", VISION_OPS)
def test_vision_ops_are_mindspore_ops(name):
    assert getattr(vision, name) is getattr(ms_vision, name)
    assert name in vision.__all__


@pytest.mark.parametrize("name", ["TypeCast", "Compose"])
def test_generic_transforms_are_reexported(name):
    assert getattr(vision, name) is getattr(ms_transforms, name)
    assert name in vision.__all__


def test_every_public_name_exists():
    for name in vision.__all__:
        assert hasattr(vision, name), name


def test_compose_runs_eagerly_on_one_image():
    from tinyms.vision import Compose, HWC2CHW, RandomHorizontalFlip, Resize
    pipeline = Compose([Resize((4, 4)), RandomHorizontalFlip(prob=1.0), HWC2CHW()])
    img = np.arange(16, dtype=np.uint8).reshape(4, 4, 1)
    np.testing.assert_array_equal(pipeline(img), img[:, ::-1].transpose(2, 0, 1))
