"""tinyms.data.transforms: the generic transforms TinyMS 0.3 scripts import from there."""

import mindspore.dataset.transforms as ms_transforms
import numpy as np

import tinyms as ts


def test_tinyms_03_import_path_gives_mindspore_transforms():
    from tinyms.data import transforms
    from tinyms.data.transforms import TypeCast

    assert TypeCast is ms_transforms.TypeCast
    assert all(getattr(transforms, name) is getattr(ms_transforms, name) for name in transforms.__all__)
    assert TypeCast(ts.int32)(np.array([1.0, 2.0])).dtype == np.int32
