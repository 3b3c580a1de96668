"""tinyms.metrics.FID: streaming Fréchet distance, checked against a direct numpy/scipy reference
with a small seeded feature network (nothing downloaded)."""

import mindspore as ms
import numpy as np
import pytest
from scipy import linalg

from tinyms.metrics import FID


def _net():
    from mindspore import Tensor, nn, ops

    class ConvPool(nn.Cell):
        """Seeded conv + ReLU + global average pool: (N, 3, H, W) -> (N, 6)."""

        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            w = rng.normal(0, 0.5, (6, 3, 3, 3)).astype(np.float32)
            self.conv = nn.Conv2d(3, 6, 3, pad_mode="valid", has_bias=False, weight_init=Tensor(w))
            self.relu = nn.ReLU()

        def construct(self, x):
            return ops.mean(self.relu(self.conv(x)), axis=(2, 3))

    return ConvPool()


NET = _net()


def _images(n, shift=0.0, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.6, 0.6, (n, 3, 8, 8)) + shift
    return np.clip(x, -1, 1).astype(np.float32)


def _reference(real, fake):
    feats = [np.asarray(NET(ms.Tensor(x)).asnumpy(), np.float64) for x in (real, fake)]
    mu1, mu2 = feats[0].mean(0), feats[1].mean(0)
    s1, s2 = np.cov(feats[0], rowvar=False), np.cov(feats[1], rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)), float(np.trace(s1 + s2))


def test_same_set_scores_zero_and_a_shift_scores_more_the_larger_it_is():
    real = _images(64)
    fid = FID(NET, input_size=None)
    fid.update(real=real, fake=real)
    _, traces = _reference(real, real)
    assert abs(fid.eval()) < 1e-6 * traces
    scores = []
    for shift in (0.1, 0.2, 0.4):
        fid.clear()
        fid.update(real=real, fake=_images(64, shift, seed=2))
        scores.append(fid.eval())
    assert 0 < scores[0] < scores[1] < scores[2]


@pytest.mark.parametrize("sizes", [(64,), (1, 7, 56), (10, 10, 44)])
def test_equals_the_numpy_reference_whatever_the_update_batches(sizes):
    real, fake = _images(64), _images(64, 0.15, seed=3)
    expected, _ = _reference(real, fake)
    fid = FID(NET, input_size=None, batch_size=5)
    start = 0
    for n in sizes:
        fid.update(real=real[start:start + n])
        fid.update(fake=fake[start:start + n])
        start += n
    assert (fid.real_count, fid.fake_count) == (64, 64)
    assert fid.eval() == pytest.approx(expected, rel=1e-6)
    assert fid.imaginary < 1e-3 and fid.offset == 0.0


def test_uint8_hwc_batches_and_resizing():
    real = _images(40)
    as_uint8 = np.round((real.transpose(0, 2, 3, 1) + 1) * 127.5).astype(np.uint8)
    fid = FID(NET, input_size=None)
    fid.update(real=as_uint8, fake=as_uint8[0])  # one HWC image counts as one
    assert (fid.real_count, fid.fake_count) == (40, 1)
    fid.update(fake=(as_uint8[1:].astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1))
    assert abs(fid.eval()) < 1e-6
    resized = FID(NET, input_size=16)
    resized.update(real=real, fake=_images(40, 0.3, seed=4))
    assert resized.eval() > 0


def test_errors_name_the_problem():
    fid = FID(NET, input_size=None)
    with pytest.raises(RuntimeError, match="update"):
        fid.eval()
    fid.update(real=_images(4))
    with pytest.raises(RuntimeError, match="0 generated"):
        fid.eval()
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        fid.update(fake=_images(4) * 200)
    with pytest.raises(ValueError, match="real=.*fake="):
        fid.update()
    with pytest.raises(ValueError, match="shape"):
        fid.update(real=np.zeros((2, 8, 8, 3), np.float32))
    fid.clear()
    assert (fid.real_count, fid.fake_count) == (0, 0)


def test_default_network_is_mindcv_inception_v3_imagenet_at_299_without_downloading():
    from tinyms.model import model_config

    fid = FID()
    assert fid.feature_network is None  # built on the first update, not at construction
    assert (fid.feature_network_name, fid.input_size) == ("inception_v3.imagenet", 299)
    cfg = model_config(fid.feature_network_name)
    assert (cfg.name, cfg.tag, cfg.source, cfg.input_shape) == ("inception_v3", "imagenet", "mindcv", (3, 299, 299))
    assert cfg.file == "inception_v3-38f67890.ckpt" and cfg.hash_prefix == "38f67890"
    assert cfg.mean == (0.485, 0.456, 0.406) and cfg.std == (0.229, 0.224, 0.225)
    doc = FID.__doc__
    assert "inception_v3.imagenet" in doc and cfg.file in doc and "299x299" in doc and "pytorch-fid" in doc
