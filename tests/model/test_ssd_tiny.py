"""ssd_tiny, the default detector: its contract, anchors, registry entry, and training in GRAPH mode.

The network runs at 96x96 (772 anchors) except where the default 192x192 layout is the point.
One network is trained for the module on two synthetic photos (a white rectangle on black each)
and then asked to find its rectangles, through MindSpore, a TinyMS checkpoint and ONNX.
"""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

from _rectangles import Step, graph_mode, iou as _iou, rectangles  # noqa: F401 - graph_mode: autouse
from tinyms.losses import net_with_loss
from tinyms.model import Model, create_model, load, model_config, ssd_tiny
from tinyms.model.zoo.ssd import SSDWithLoss
from tinyms.model.zoo.ssd_tiny import SHAPES_LABELS, ssd_tiny_anchors

SIZE = 96


def test_default_network_at_192_gives_boxes_and_independent_class_probabilities():
    ms.set_seed(0)
    net = ssd_tiny(is_training=False)
    assert sum(int(np.prod(p.shape)) for p in net.trainable_params()) == 882032
    boxes, scores = net(ms.Tensor(np.random.default_rng(0).standard_normal((2, 3, 192, 192)).astype(np.float32)))
    boxes, scores = boxes.asnumpy(), scores.asnumpy()
    assert boxes.shape == (2, 3060, 4) and scores.shape == (2, 3060, 6)
    assert boxes.min() >= 0 and boxes.max() <= 1 and (boxes[..., 2:] >= boxes[..., :2]).all()
    # untrained: the focal-loss prior, background 0.99 and every object class 0.01
    assert 0.9 < scores[..., 0].mean() < 1 and scores[..., 1:].mean() < 0.1
    with pytest.raises(ValueError, match=r"built for 192x192 .* ssd_tiny\(image_size=\.\.\.\)"):
        net(ms.Tensor(np.zeros((1, 3, 96, 96), np.float32)))


def test_anchors_cover_a_tenth_to_the_whole_image_on_four_maps():
    anchors = ssd_tiny_anchors(128)
    assert anchors.shape == ((16 * 16 + 8 * 8 + 4 * 4 + 2 * 2) * 4, 4)
    assert ssd_tiny_anchors(SIZE).shape == ((12 * 12 + 6 * 6 + 3 * 3 + 2 * 2) * 4, 4) == (772, 4)
    assert ssd_tiny_anchors(100).shape == ((13 * 13 + 7 * 7 + 4 * 4 + 2 * 2) * 4, 4)  # sides round up
    assert anchors.min() >= 0 and anchors.max() <= 1 and (anchors[:, 2:] > anchors[:, :2]).all()
    # the top-left location of the finest map (centre 1/32): a 0.1 square first, clipped at the border
    np.testing.assert_allclose(anchors[0], [0, 0, 0.08125, 0.08125], atol=1e-6)
    centre = anchors[(8 * 16 + 8) * 4:(8 * 16 + 8) * 4 + 4]  # row 8, column 8: centre 17/32
    np.testing.assert_allclose((centre[:, :2] + centre[:, 2:]) / 2, 17 / 32, atol=1e-6)
    sides = centre[:, 2:] - centre[:, :2]
    np.testing.assert_allclose(sides[0], [0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(sides[1], [np.sqrt(0.02)] * 2, atol=1e-6)
    np.testing.assert_allclose(sides[2, 1] / sides[2, 0], 2.0, rtol=1e-5)  # 1:2 then 2:1 (width / height)
    np.testing.assert_allclose(sides[3, 0] / sides[3, 1], 2.0, rtol=1e-5)
    last = anchors[-4:]
    assert (last[:, 2:] - last[:, :2]).max() > 0.69  # the coarsest map's boxes span most of the image
    with pytest.raises(ValueError, match="at least 64"):
        ssd_tiny_anchors(48)


def test_registry_entry_is_a_detector_built_for_its_size():
    cfg = model_config("ssd_tiny")
    assert cfg.task == "detection" and cfg.background and cfg.input_shape == (3, 192, 192)
    assert cfg.labels == SHAPES_LABELS and cfg.transform == "voc_transform"
    assert cfg.recipe.fixed_output_shape() == (3, 192, 192)
    net = create_model("ssd_tiny", class_num=3, image_size=SIZE, width=16)
    assert net.build_record.args == {"class_num": 3, "is_training": True, "image_size": SIZE, "width": 16}
    assert net.default_cfg.input_shape == (3, SIZE, SIZE) and net.default_cfg.recipe.fixed_output_shape() == (
        3, SIZE, SIZE)
    assert net.anchors.shape == (772, 4) and net.class_num == 3
    cell = net_with_loss(net)
    assert isinstance(cell, SSDWithLoss) and cell.network is net
    for bad, error, text in (({"class_num": 1}, ValueError, "counts the background"),
                             ({"image_size": 32}, ValueError, "at least 64"),
                             ({"width": 15}, ValueError, "width must be even"),
                             ({"is_training": "no"}, TypeError, "is_training")):
        with pytest.raises(error, match=text):
            ssd_tiny(**bad)


def test_it_learns_two_rectangles_and_keeps_them_through_checkpoint_and_onnx(tmp_path):
    ms.set_seed(0)
    net = ssd_tiny(class_num=3, image_size=SIZE)
    step = Step(net_with_loss(net), nn.Adam(net.trainable_params(), learning_rate=3e-3))
    step.set_train()
    batch = [ms.Tensor(a) for a in rectangles(SIZE, [[20, 24, 70, 60], [40, 10, 90, 50]], 1)]
    losses = [float(step(*batch).asnumpy()) for _ in range(40)]
    assert np.isfinite(losses).all() and np.mean(losses[-5:]) < 0.2 * np.mean(losses[:5]), losses

    # evaluate with the batch statistics of these very images (40 steps leave the running ones behind)
    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.BatchNorm2d):
            cell.bn_train = ops.BatchNorm(is_training=True, epsilon=cell.eps, momentum=1.0, data_format=cell.format)
    net.set_train(True)
    net(batch[0])
    net.set_train(False)
    boxes, scores = (t.asnumpy() for t in net(batch[0]))
    truth = batch[1].asnumpy()[:, 0][:, [1, 0, 3, 2]] / SIZE
    for i in range(2):
        best = int(scores[i, :, 1:].max(axis=1).argmax())
        assert scores[i, best, 1:].argmax() == 1 and scores[i, best, 2] > 0.5  # label 1 is column 2
        assert _iou(boxes[i, best][None], truth[i])[0] > 0.5

    rebuilt = load(Model(net).save_checkpoint(tmp_path / "model.ckpt")).network
    assert type(rebuilt).__name__ == "SSDTiny" and rebuilt.image_size == SIZE and rebuilt.class_num == 3
    assert rebuilt.training  # built as ssd_tiny(is_training=True) was
    rebuilt.set_train(False)
    again = [t.asnumpy() for t in rebuilt(batch[0])]
    np.testing.assert_allclose(again[0], boxes, atol=1e-5)
    np.testing.assert_allclose(again[1], scores, atol=1e-5)

    import onnxruntime as ort

    ms.export(net, batch[0], file_name=str(tmp_path / "tiny"), file_format="ONNX")
    session = ort.InferenceSession(str(tmp_path / "tiny.onnx"))
    exported = session.run(None, {session.get_inputs()[0].name: batch[0].asnumpy()})
    np.testing.assert_allclose(exported[0], boxes, atol=1e-3)
    np.testing.assert_allclose(exported[1], scores, atol=1e-3)


@pytest.mark.parametrize("fine, coarse", [(16, 8), (13, 7), (7, 4), (1, 1)])
def test_the_exportable_upsampling_equals_nearest_interpolation(fine, coarse):
    from tinyms.model.zoo.ssd_tiny import _add_upsampled

    low = ms.Tensor(np.random.default_rng(fine).standard_normal((2, 3, coarse, coarse)).astype(np.float32))
    base = ms.Tensor(np.zeros((2, 3, fine, fine), np.float32))
    expected = ops.interpolate(low, size=(fine, fine), mode="nearest").asnumpy()
    np.testing.assert_array_equal(_add_upsampled(base, low).asnumpy(), expected)
