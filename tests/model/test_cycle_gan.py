"""Image-to-image networks and GAN training (issue 18): CycleGAN, pix2pix, the image_to_image task.

Small on purpose: 32x32 images, widths of 8, a few dozen steps. The toy problem: domain A is
smooth dark colour patterns, domain B the same patterns colour-inverted (x -> -x in [-1, 1]).
"""

import os

import numpy as np
import pytest

import mindspore as ms
from mindspore import nn

import tinyms

from tinyms.errors import InputShapeError, UnknownNameError
from tinyms.model import Model, create_model, cycle_gan, cycle_gan_infer, cyclegan_lr, load, pix2pix
from tinyms.model.tasks import get_task, task_of
from tinyms.model.tasks.image_to_image import SampleGrid
from tinyms.model.zoo.cycle_gan import GanImagePool, ImagePool, get_generator_discriminator

SIZE = 32
SMALL = dict(image_size=SIZE, ngf=8, ndf=8)


def toy_images(count, seed=0):
    """Dark smooth colour patterns in [-1, 1] (domain A) and their inversions (domain B)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    images = []
    for _ in range(count):
        fx, fy, phase = rng.uniform(0.5, 2.5, 2).tolist() + [rng.uniform(0, 6.3)]
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
        colour = rng.uniform(0.2, 1.0, 3)
        images.append(np.stack([-1 + 0.9 * wave * c for c in colour]))
    a = np.asarray(images, np.float32)
    return a, -a


def dataset(a, b, batch=4, shuffle=False):
    ds = ms.dataset.NumpySlicesDataset({"image_a": a, "image_b": b}, shuffle=shuffle)
    return ds.batch(batch)


def weights(net):
    return {k: v.asnumpy().copy() for k, v in net.parameters_dict().items()}


# ------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("name,kwargs", [("cycle_gan", dict(n_blocks=2)), ("cycle_gan", dict(n_blocks=6)),
                                         ("cycle_gan", dict(generator="unet", norm="batch")), ("pix2pix", {})])
def test_builders_translate_to_images_in_range(name, kwargs):
    net = create_model(name, **SMALL, **kwargs)
    assert task_of(net).name == "image_to_image" and get_task("image_to_image").output == "image"
    assert net.default_cfg.input_shape == (3, SIZE, SIZE) and net.default_cfg.mean == (0.5,) * 3
    out = Model(net).predict(toy_images(2)[0]).asnumpy()
    assert out.shape == (2, 3, SIZE, SIZE) and out.dtype == np.float32
    assert np.all(np.abs(out) <= 1.0) and np.std(out) > 0
    g = net.generator("a2b")
    assert g is (net.G_A if name == "cycle_gan" else net.G)
    if name == "cycle_gan":
        assert net.generator("b2a") is net.G_B
        assert sum(int(np.prod(p.shape)) for p in net.D_A.trainable_params()) > 0


def test_bad_options_are_errors_naming_the_choices():
    with pytest.raises(ValueError, match="power of two"):
        create_model("cycle_gan", image_size=48)
    with pytest.raises(ValueError, match="power of two"):
        create_model("pix2pix", image_size=512)
    with pytest.raises(ValueError, match="'instance' or 'batch'"):
        create_model("cycle_gan", image_size=SIZE, norm="layer")
    with pytest.raises(ValueError, match="'resnet' or 'unet'"):
        create_model("cycle_gan", image_size=SIZE, generator="vgg")
    with pytest.raises(ValueError, match="a2b"):
        create_model("pix2pix", **SMALL).generator("b2a")


def test_tinyms_0_3_names():
    g_a, g_b = cycle_gan_infer("unet", image_size=SIZE)
    x = ms.Tensor(toy_images(1)[0])
    assert g_a(x).shape == (1, 3, SIZE, SIZE)
    net = cycle_gan(g_a, g_b)  # 0.3: wraps two generators; inference only
    assert net.G_A is g_a and net.G_B is g_b and net.D_A is None
    assert net(x).shape == (1, 3, SIZE, SIZE)
    with pytest.raises(TypeError, match="discriminators"):
        Model(net).compile()
    with pytest.raises(NotImplementedError):
        cycle_gan_infer("vgg")
    with pytest.raises(NotImplementedError):
        get_generator_discriminator("vgg")


def test_cyclegan_lr_is_0_3_schedule():
    rates = cyclegan_lr(4, 2, 3).asnumpy()
    assert rates.shape == (12,)
    np.testing.assert_allclose(rates, [2e-4] * 6 + [2e-4] * 3 + [1e-4] * 3, rtol=1e-6)
    np.testing.assert_allclose(cyclegan_lr(3, 0, 1, base_lr=0.3).asnumpy(), [0.3, 0.2, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="n_epoch"):
        cyclegan_lr(2, 3, 1)


# ------------------------------------------------------------------------------ pools
def test_image_pool_stores_then_swaps_half():
    pool = ImagePool(3, (1, 2, 2), "test_pool")
    images = lambda v: ms.Tensor(np.full((2, 1, 2, 2), v, np.float32) + np.arange(2, dtype=np.float32)[:, None, None, None])
    u = np.array([0.9, 0.1], np.float32)
    j = np.array([0, 1], np.int32)
    first = pool.query(images(10.0), u, j).asnumpy()     # room for all: passed on and stored
    np.testing.assert_array_equal(first[:, 0, 0, 0], [10, 11])
    second = pool.query(images(20.0), u, j).asnumpy()    # one slot left: 20 stored; then full: 21 (u=0.1) kept
    np.testing.assert_array_equal(second[:, 0, 0, 0], [20, 21])
    np.testing.assert_array_equal(pool.images.asnumpy()[:, 0, 0, 0], [10, 11, 20])
    third = pool.query(images(30.0), u, np.array([1, 2], np.int32)).asnumpy()
    # full: image 0 (u=0.9) swapped with slot 1 (11 comes out, 30 stored); image 1 (u=0.1) passed on
    np.testing.assert_array_equal(third[:, 0, 0, 0], [11, 31])
    np.testing.assert_array_equal(pool.images.asnumpy()[:, 0, 0, 0], [10, 30, 20])
    assert int(pool.count.asnumpy()[0]) == 3


class _Scripted:
    """Stands in for GanImagePool's random.Random: returns given u (uniform) and j (randint) in turn."""

    def __init__(self):
        self.draws = []

    def uniform(self, low, high):
        self.u, self.j = self.draws.pop(0)
        return self.u

    def randint(self, low, high):
        assert low <= self.j <= high
        return self.j


@pytest.mark.parametrize("size,batch", [(4, 1), (4, 3), (3, 5)])
def test_image_pool_moves_images_exactly_as_0_3s_pool(size, batch):
    # the same random numbers through 0.3's host pool (GanImagePool's code) and the in-graph pool: the
    # same images out and the same pool after every batch, with swaps of one slot twice in a batch and
    # batches larger than the pool
    rng = np.random.default_rng(size * 10 + batch)
    pool = ImagePool(size, (1, 1, 2), f"pool_{size}_{batch}")
    host = GanImagePool(size)
    host._random = _Scripted()
    seen = 0
    for step in range(12):
        images = (step * 10 + np.arange(batch, dtype=np.float32))[:, None, None, None] * np.ones((1, 1, 1, 2), np.float32)
        u = rng.random(batch, dtype=np.float32)
        j = rng.integers(0, 2 if step % 3 else size, batch).astype(np.int32)    # small j: repeated slots
        host._random.draws = [(float(u[i]), int(j[i])) for i in range(batch) if seen + i >= size]
        expected = host.query(images).asnumpy()
        got = pool.query(images, u, j).asnumpy()
        seen += batch
        np.testing.assert_array_equal(got, expected)
        stored = np.stack(host.images)
        np.testing.assert_array_equal(pool.images.asnumpy()[:len(stored)], stored)
        assert int(pool.count.asnumpy()[0]) == host.num_imgs == min(seen, size)
    assert not host._random.draws


def test_gan_image_pool_0_3_semantics_seeded():
    runs = []
    for _ in range(2):
        pool = GanImagePool(4, seed=3)
        outs = [pool.query(np.full((2, 1, 1, 1), k, np.float32)).asnumpy().ravel() for k in range(20)]
        runs.append(np.concatenate(outs))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0][:4].tolist() == [0, 0, 1, 1]                          # filling: passed on
    later = runs[0][4:].reshape(-1, 2)
    older = later < np.arange(2, 20)[:, None]
    assert 0.25 < older.mean() < 0.75                                    # about half come from the pool
    assert GanImagePool(0).query(np.ones((1, 1, 1, 1), np.float32)).shape == (1, 1, 1, 1)


# ------------------------------------------------------------------------------ training
def test_cycle_gan_trains_records_losses_evaluates_every_sample(tmp_path):
    a, b = toy_images(18)
    net = create_model("cycle_gan", n_blocks=2, **SMALL)
    model = Model(net).compile()  # the default: Adam(0.0002, beta1 0.5) for G and D
    opt = model.optimizer
    assert type(opt.generator).__name__ == "Adam" and type(opt.discriminator).__name__ == "Adam"
    assert float(opt.discriminator.beta1.asnumpy()) == pytest.approx(0.5)
    before = model.eval(dataset(a, b))
    assert model.eval_samples == 18                                      # 4 + 4 + 4 + 4 + 2
    grid = SampleGrid(tmp_path / "samples", count=2)
    history = model.train(4, dataset(a, b), callbacks=[grid], verbose=0)
    names = {"loss", "lr", "loss_G", "loss_D", "loss_G_A", "loss_G_B", "loss_cycle", "loss_idt", "loss_D_A",
             "loss_D_B"}
    assert names <= set(history.history) and names <= set(history.steps)
    h = history.history
    assert len(history.steps["loss_cycle"]) == 4 * 5
    np.testing.assert_allclose(h["loss"], np.add(h["loss_G"], h["loss_D"]), rtol=1e-5)
    np.testing.assert_allclose(h["loss_G"], np.sum([h[k] for k in ("loss_G_A", "loss_G_B", "loss_cycle", "loss_idt")],
                                                   axis=0), rtol=1e-4)
    assert h["loss_cycle"][-1] < 0.7 * h["loss_cycle"][0] and h["loss_G"][-1] < h["loss_G"][0]
    after = model.eval(dataset(a, b, batch=5))
    assert model.eval_samples == 18 and set(after) >= {"error", "cycle_error", "cycle_error_a", "cycle_error_b"}
    assert after["cycle_error"] < 0.7 * before["cycle_error"]
    assert after["error"] == pytest.approx((after["cycle_error_a"] + after["cycle_error_b"]) / 2)
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == [f"samples_epoch_{e:03d}.png" for e in range(1, 5)]
    from PIL import Image
    with Image.open(tmp_path / "samples" / files[-1]) as im:
        assert im.size == (3 * SIZE + 4, 4 * SIZE + 6)                     # 2 samples x (A row, B row), 3 columns
    # the whole model's checkpoint rebuilds and translates the same
    path = model.save_checkpoint(tmp_path / "gan.ckpt")
    x = a[:2]
    np.testing.assert_array_equal(load(path).predict(x).asnumpy(), model.predict(x).asnumpy())


def test_pix2pix_learns_the_inversion(tmp_path):
    a, b = toy_images(16, seed=1)
    model = Model(create_model("pix2pix", **SMALL)).compile(optimizer="adam", learning_rate=0.002)
    start = model.eval(dataset(a, b))["l1_error"]
    history = model.train(8, dataset(a, b), verbose=0)
    assert {"loss_G_gan", "loss_l1", "loss_D"} <= set(history.history)
    end = model.eval(dataset(a, b))
    assert end["error"] == end["l1_error"] and end["l1_error"] < 0.4 * start
    assert history.history["loss_l1"][-1] < 0.4 * history.history["loss_l1"][0]


def test_resume_is_exact_with_both_optimizers_pools_and_schedule(tmp_path):
    a, b = toy_images(12, seed=2)

    def build():
        tinyms.set_seed(7)  # the same initial weights in every run
        net = create_model("cycle_gan", n_blocks=1, pool_size=5, **SMALL)
        g = nn.Adam(net.generator_params(), cyclegan_lr(3, 1, 3, base_lr=0.001), beta1=0.5)
        return Model(net).compile(optimizer=g)           # the discriminators get a copy of g's settings

    whole = build()
    rates = whole.train(3, dataset(a, b), verbose=0).history["lr"]
    np.testing.assert_allclose(rates, [0.001, 0.001, 0.0005], rtol=1e-6)
    part = build()
    part.train(1, dataset(a, b), verbose=0)
    path = part.save_checkpoint(tmp_path / "one.ckpt")
    resumed = build()
    resumed.train(3, dataset(a, b), verbose=0, resume_from=path)
    w1, w2 = weights(whole.network), weights(resumed.network)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    s1 = {p.name: p.asnumpy() for p in whole.optimizer.get_parameters()}
    s2 = {p.name: p.asnumpy() for p in resumed.optimizer.get_parameters()}
    assert "opt_state.image_pool_a.images" in s1 and "opt_state.discriminator.global_step" in s1
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    assert np.abs(s1["opt_state.image_pool_b.images"]).sum() > 0        # the pool was used


def test_optimizer_forms():
    net = create_model("cycle_gan", n_blocks=1, **SMALL)
    g = nn.Adam(net.generator_params(), 0.001, beta1=0.3)
    d = nn.SGD(net.discriminator_params(), 0.01)
    for given in ((g, d), {"generator": g, "discriminator": d}):
        opt = Model(net).compile(optimizer=given).optimizer
        assert opt.generator is g and opt.discriminator is d
    opt = Model(net).compile(optimizer=g).optimizer
    assert opt.generator is g and type(opt.discriminator) is nn.Adam
    assert float(opt.discriminator.beta1.asnumpy()) == pytest.approx(0.3)
    assert len(opt.discriminator.parameters) == len(net.discriminator_params())
    opt = Model(net).compile(optimizer="momentum", learning_rate=0.05).optimizer
    assert type(opt.generator) is nn.Momentum and type(opt.discriminator) is nn.Momentum
    with pytest.raises(UnknownNameError, match="generator"):
        Model(net).compile(optimizer={"G": g, "D": d})
    with pytest.raises(ValueError, match="two optimizers"):
        Model(net).compile(optimizer=(g,))


def test_wrong_batches_are_named():
    a, _ = toy_images(4)
    model = Model(create_model("pix2pix", **SMALL)).compile()
    small = np.zeros((4, 3, 16, 16), np.float32)
    with pytest.raises(InputShapeError, match="image_size"):
        model.train(1, dataset(small, small), verbose=0)


def test_generator_exports_to_onnx_equal_to_mindspore(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = create_model("cycle_gan", n_blocks=2, **SMALL)
    x = toy_images(1, seed=5)[0]
    model = Model(net)  # the whole model exports its A -> B generator
    path = model.export(x, tmp_path / "g", "ONNX")
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x).asnumpy(), atol=1e-4)
    path = Model(net.generator("b2a")).export(x, tmp_path / "g_b", "ONNX")
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, net.G_B(ms.Tensor(x)).asnumpy(), atol=1e-4)


def test_pix2pix_generator_exports_to_onnx_equal_to_mindspore(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = create_model("pix2pix", **SMALL)             # the U-Net generator: skip connections, 2x upsampling
    x = toy_images(2, seed=6)[0]
    model = Model(net)
    path = model.export(x, tmp_path / "p2p", "ONNX")
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = model.predict(x).asnumpy()
    assert got.shape == want.shape == x.shape and np.abs(want).max() > 0.01
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_the_03_package_path_does_not_shadow_the_builder():
    """``import tinyms.model.cycle_gan.cycle_gan`` (0.3's scripts) leaves ``tinyms.model.cycle_gan`` the function."""
    import importlib  # noqa: PLC0415

    import tinyms.model  # noqa: PLC0415

    package = importlib.import_module("tinyms.model.cycle_gan.cycle_gan")
    assert callable(tinyms.model.cycle_gan) and not isinstance(tinyms.model.cycle_gan, type(package))
    from tinyms.model import cycle_gan  # noqa: PLC0415

    assert cycle_gan is importlib.import_module("tinyms.model.zoo.cycle_gan").cycle_gan


def test_eval_counts_each_image_of_each_domain_once_when_unpaired_rows_repeat_one():
    """unaligned_dataset(usage='test') repeats the smaller domain (row i: B[i mod |B|]): a repeat counts once."""
    a, b = toy_images(6, seed=3)
    model = Model(create_model("cycle_gan", n_blocks=1, **SMALL)).compile()
    repeated = model.eval(dataset(a, np.concatenate([b[:2]] * 3), batch=4))    # 6 rows, 2 distinct B images
    assert model.eval_samples == 6
    once = model.eval(dataset(a[:2], b[:2], batch=2))                            # those 2 B images, once each
    assert repeated["cycle_error_b"] == pytest.approx(once["cycle_error_b"], rel=1e-6)
    weighted = model.eval(dataset(a[:6], np.concatenate([b[:1]] * 5 + [b[1:2]]), batch=3))  # 5 x B0, 1 x B1
    assert weighted["cycle_error_b"] == pytest.approx(once["cycle_error_b"], rel=1e-6)
    all_a = model.eval(dataset(a, a[::-1], batch=6))
    assert repeated["cycle_error_a"] == pytest.approx(all_a["cycle_error_a"], rel=1e-6)
