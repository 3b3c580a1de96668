"""SSD300-MobileNetV2: the detection network contract, anchor matching and training in GRAPH mode.

The networks here run at 160x160 (540 anchors) except where the 300x300 layout itself is the
point (1,917 anchors). One 160x160 network is trained once for the module on a fixed batch of
two synthetic photos (a white rectangle on black each) and then asked to find its rectangles.
"""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

import tinyms as ts
from _rectangles import Step, graph_mode, iou as _iou, rectangles  # noqa: F401 - graph_mode: autouse
from tinyms.data import dataset_info
from tinyms.losses import net_with_loss
from tinyms.model import Model, create_model, lenet5, load, model_config, ssd300_mobilenetv2
from tinyms.model.zoo.ssd import SSDWithLoss, decode_boxes, encode_boxes, ssd_anchors

SIZE = 160


def _count(net):
    return sum(int(np.prod(p.shape)) for p in net.trainable_params())


def _check_contract(boxes, scores, batch, anchors, classes):
    boxes, scores = boxes.asnumpy(), scores.asnumpy()
    assert boxes.shape == (batch, anchors, 4) and scores.shape == (batch, anchors, classes)
    assert boxes.dtype == scores.dtype == np.float32
    assert boxes.min() >= 0 and boxes.max() <= 1
    assert (boxes[..., 2] >= boxes[..., 0]).all() and (boxes[..., 3] >= boxes[..., 1]).all()
    assert scores.min() > 0 and scores.max() < 1  # independent sigmoids, not a softmax
    assert not np.allclose(scores.sum(-1), 1)


@pytest.fixture(scope="module")
def net300():
    ms.set_seed(0)
    return ssd300_mobilenetv2(is_training=False)


def test_inference_at_300_returns_decoded_boxes_and_class_probabilities(net300):
    assert not net300.training and net300.class_num == 21
    assert net300.feature_sizes == (19, 10, 5, 3, 2, 1) and net300.anchors.shape == (1917, 4)
    x = np.random.default_rng(0).standard_normal((1, 3, 300, 300)).astype(np.float32)
    boxes, scores = net300(ms.Tensor(x))
    _check_contract(boxes, scores, 1, 1917, 21)
    # untrained: the class biases start at 0.99 for background and 0.01 for each object class
    assert np.median(scores.asnumpy()[..., 0]) > 0.9 and np.median(scores.asnumpy()[..., 1:]) < 0.1
    # TinyMS 0.3's way of running it
    out = Model(net300).predict(ts.ones((1, 3, 300, 300)))
    assert isinstance(out, tuple) and len(out) == 2
    _check_contract(*out, 1, 1917, 21)


def test_parameters_are_ssdlite_sized_and_the_backbone_keeps_mindcvs_names(net300):
    count = _count(net300)
    print(f"ssd300_mobilenetv2 (21 classes): {count:,} trainable parameters")
    assert 3_000_000 < count < 5_000_000
    import mindcv.models

    backbone = mindcv.models.create_model("mobilenet_v2_100", num_classes=1000)
    theirs = {p.name: p.shape for p in backbone.get_parameters() if p.name.startswith("features.")}
    ours = {p.name: p.shape for p in net300.get_parameters() if p.name.startswith("features.")}
    assert ours == theirs  # mindcv's ImageNet checkpoint fits the backbone by name


def test_anchors_follow_the_feature_maps_of_each_size():
    assert ssd_anchors(300).shape == (1917, 4)
    assert ssd_anchors(224).shape == (14 * 14 * 3 + (7 * 7 + 4 * 4 + 2 * 2 + 1 + 1) * 6, 4)
    anchors = ssd_anchors(SIZE)
    assert anchors.shape == (10 * 10 * 3 + (5 * 5 + 3 * 3 + 2 * 2 + 1 + 1) * 6, 4) == (540, 4)
    assert anchors.min() >= 0 and anchors.max() <= 1 and (anchors[:, 2:] > anchors[:, :2]).all()
    # the first map: 3 anchors per location, row by row, the small square first
    np.testing.assert_allclose(anchors[0], [0, 0, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose((anchors[3, :2] + anchors[3, 2:]) / 2, [0.05, 0.15], atol=1e-6)
    np.testing.assert_allclose((anchors[30, :2] + anchors[30, 2:]) / 2, [0.15, 0.05], atol=1e-6)


def test_registry_builds_it_with_its_config_and_records_the_build():
    net = create_model("ssd300_mobilenetv2", image_size=SIZE)
    cfg = net.default_cfg
    assert net.build_record.model == "ssd300_mobilenetv2"
    assert net.build_record.args == {"class_num": 21, "is_training": True, "image_size": SIZE}
    assert net.training and net.class_num == 21
    assert cfg.task == "detection" and cfg.background and cfg.input_shape == (3, SIZE, SIZE)
    assert cfg.labels == dataset_info("voc2007").labels and len(cfg.labels) == 20
    assert cfg.dataset == "voc2007" and cfg.transform == "voc_transform"
    assert cfg.mean == (0.485, 0.456, 0.406) and cfg.std == (0.229, 0.224, 0.225)
    assert model_config("ssd300_mobilenetv2").input_shape == (3, 300, 300)
    three = create_model("ssd300_mobilenetv2", class_num=3, image_size=SIZE)
    assert three.class_num == 3 and three.default_cfg.labels == ("0", "1")
    with pytest.raises(ValueError, match="image_size must be at least 64"):
        ssd300_mobilenetv2(image_size=32)
    with pytest.raises(ValueError, match="counts the background"):
        ssd300_mobilenetv2(class_num=1)
    with pytest.raises(TypeError, match="is_training"):
        ssd300_mobilenetv2(is_training="no")


def test_net_with_loss_returns_the_networks_own_loss_cell():
    net = ssd300_mobilenetv2(image_size=SIZE)
    cell = net_with_loss(net)
    assert isinstance(cell, SSDWithLoss) and cell.network is net
    assert [p.name for p in cell.trainable_params()] == [p.name for p in net.trainable_params()]
    with pytest.raises(TypeError, match=r"LeNet5 has no loss of its own .*compile\(loss_fn="):
        net_with_loss(lenet5())


def test_matching_encodes_what_decoding_gives_back_and_padding_never_matches():
    net = ssd300_mobilenetv2(image_size=SIZE)
    anchors = net.anchors
    exact = 123                                   # a first-map anchor away from the borders
    thin = np.array([0.40, 0.05, 0.45, 0.95])     # wide and flat: below 0.5 IoU with every anchor
    far = 297                                     # the bottom-right corner's small square
    boxes = np.zeros((2, 4, 4), np.float32)
    labels = np.full((2, 4), -1, np.int32)
    boxes[0, 0], labels[0, 0] = anchors[exact], 4
    boxes[0, 1], labels[0, 1] = thin, 11
    boxes[0, 2] = anchors[far]                    # a padding row (label -1) that covers an anchor
    boxes[1, 0] = anchors[exact]                  # image 1 holds only padding
    offsets, classes = net.with_loss().matcher(ms.Tensor(boxes), ms.Tensor(labels))
    offsets, classes = offsets.asnumpy(), classes.asnumpy()

    assert classes[0, exact] == 5 and classes[0, far] == 0 and (classes[1] == 0).all()
    np.testing.assert_allclose(offsets[0, exact], 0, atol=1e-5)
    assert _iou(anchors, thin.astype(np.float32)).max() < 0.5
    forced = np.flatnonzero(classes[0] == 12)
    assert forced.tolist() == [int(_iou(anchors, thin.astype(np.float32)).argmax())]
    matched = np.flatnonzero(classes[0] == 5)
    assert exact in matched and (_iou(anchors[matched], anchors[exact]) >= 0.5).all()
    # the targets are the standard encoding, and decoding them gives the boxes back, in numpy and in the graph
    np.testing.assert_allclose(offsets[0, matched], encode_boxes(np.tile(anchors[exact], (len(matched), 1)),
                                                                 anchors[matched]), atol=1e-4)
    in_graph = net.decoder(ms.Tensor(offsets)).asnumpy()
    np.testing.assert_allclose(in_graph, decode_boxes(offsets, anchors), atol=1e-5)
    np.testing.assert_allclose(in_graph[0, exact], anchors[exact], atol=1e-6)
    np.testing.assert_allclose(in_graph[0, matched], np.tile(anchors[exact], (len(matched), 1)), atol=1e-5)
    np.testing.assert_allclose(in_graph[0, forced[0]], thin, atol=1e-5)


def _rectangles():
    """Two 160x160 photos, each a white rectangle on black; their boxes in pixels and labels (padded)."""
    return rectangles(SIZE, [[32, 40, 112, 96], [64, 16, 144, 80]], 6)  # xmin, ymin, xmax, ymax


def _match_by_hand(boxes, labels, anchors, threshold=0.5):
    """SSD matching of one photo in numpy, box by box: the reference the graph's matcher must equal."""
    classes = np.zeros(len(anchors), np.int64)
    owner = np.zeros(len(anchors), np.int64)
    best = np.full(len(anchors), -np.inf)
    for m, (box, label) in enumerate(zip(np.clip(boxes, 0, 1), labels)):
        if label < 0 or box[2] <= box[0] or box[3] <= box[1]:
            continue
        overlap = _iou(anchors, box)
        overlap[overlap.argmax()] += 2.0          # each box keeps its best anchor, whatever its IoU
        better = overlap > best                   # the first box wins a tie, as argmax does
        best[better], owner[better] = overlap[better], m
    matched = best >= threshold
    classes[matched] = labels[owner[matched]] + 1
    return classes, owner, matched


def test_matching_equals_matching_box_by_box_on_random_photos():
    anchors = create_model("ssd_tiny", class_num=6, image_size=128).anchors
    rng = np.random.default_rng(7)
    batch, rows = 4, 9
    centre, side = rng.uniform(0.1, 0.9, (batch, rows, 2)), rng.uniform(0.05, 0.7, (batch, rows, 2))
    boxes = np.concatenate([centre - side / 2, centre + side / 2], -1).astype(np.float32)  # some cross the border
    labels = rng.integers(0, 5, (batch, rows)).astype(np.int32)
    labels[:, 6:] = -1                            # padding rows (their boxes still cover anchors)
    boxes[0, 2, 2] = boxes[0, 2, 0]               # zero height: never matched
    boxes[1, :3] = boxes[1, 3]                    # one box four times over
    offsets, classes = SSDWithLoss(create_model("ssd_tiny", class_num=6, image_size=128)).matcher(
        ms.Tensor(boxes), ms.Tensor(labels))
    offsets, classes = offsets.asnumpy(), classes.asnumpy()
    clipped = np.clip(boxes, 0, 1)
    for i in range(batch):
        want, owner, matched = _match_by_hand(boxes[i], labels[i], anchors)
        assert (classes[i] == want).all(), f"photo {i}: {np.flatnonzero(classes[i] != want)[:10]}"
        assert matched.sum() >= 4                 # the photo has boxes to match
        np.testing.assert_allclose(offsets[i, matched], encode_boxes(clipped[i, owner[matched]], anchors[matched]),
                                   atol=1e-4)
        if i == 0:                                # the zero-height box owns no anchor
            assert 2 not in owner[matched]


def _precise_batch_norm(net, image):
    """Set every batch norm's running statistics to those of ``image`` (one forward pass).

    After 30 fast steps the running statistics (MindSpore's momentum 0.9: each update keeps 90 %)
    still hold part of their start, variance 1, and lag weights that moved: measured, evaluating
    then gave the rectangle 0.07 (40 refreshing passes in training mode: 0.07, 100 passes: 0.94).
    A pass whose update keeps nothing of the old statistics ("precise BN") gives the 100-pass
    result at once; the layers' own update is restored afterwards.
    """
    kept = {}
    for name, cell in net.cells_and_names():
        if isinstance(cell, nn.BatchNorm2d):
            kept[name] = cell.bn_train
            cell.bn_train = ops.BatchNorm(is_training=True, epsilon=cell.eps, momentum=1.0, data_format=cell.format)
    net.set_train(True)
    net(image)
    for name, cell in net.cells_and_names():
        if name in kept:
            cell.bn_train = kept[name]


@pytest.fixture(scope="module")
def trained():
    """A 160x160 SSD after 30 GRAPH-mode steps on the two rectangles; its losses."""
    ms.set_seed(0)
    net = ssd300_mobilenetv2(image_size=SIZE)
    step = Step(net_with_loss(net), nn.Adam(net.trainable_params(), learning_rate=1e-3))
    step.set_train()
    batch = [ms.Tensor(a) for a in _rectangles()]
    losses = [float(step(*batch).asnumpy()) for _ in range(30)]
    return net, losses, batch


def test_loss_falls_in_graph_mode(trained):
    _, losses, _ = trained
    assert ms.get_context("mode") == ms.GRAPH_MODE
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.2 * np.mean(losses[:5]), losses


def test_trained_network_puts_its_best_box_on_the_rectangle(trained, tmp_path):
    net, _, (image, bbox, label) = trained
    _precise_batch_norm(net, image)
    net.set_train(False)
    boxes, scores = net(image)
    _check_contract(boxes, scores, 2, 540, 21)
    np.testing.assert_array_equal(net.anchors, ssd_anchors(SIZE))
    boxes, scores = boxes.asnumpy(), scores.asnumpy()
    truth = bbox.asnumpy()[:, 0][:, [1, 0, 3, 2]] / SIZE       # [ymin, xmin, ymax, xmax] fractions
    for i in range(2):
        objects = scores[i, :, 1:]
        best = int(objects.max(axis=1).argmax())
        assert objects[best].argmax() == label.asnumpy()[i, 0]  # column 0 is background
        assert objects[best].max() > 0.5
        assert _iou(boxes[i, best][None], truth[i])[0] > 0.5

    with pytest.raises(ValueError, match="built for 160x160"):
        net(ms.Tensor(np.zeros((1, 3, 192, 192), np.float32)))

    # the decoding is part of the graph: an ONNX export gives the same boxes and scores
    import onnxruntime as ort

    ms.export(net, image, file_name=str(tmp_path / "ssd"), file_format="ONNX")
    session = ort.InferenceSession(str(tmp_path / "ssd.onnx"))
    exported = session.run(None, {session.get_inputs()[0].name: image.asnumpy()})
    np.testing.assert_allclose(exported[0], boxes, atol=1e-3)  # onnxruntime's kernels: 1e-4 apart
    np.testing.assert_allclose(exported[1], scores, atol=1e-3)

    # a checkpoint of the trained network loads, name for name, into one built for inference
    path = str(tmp_path / "ssd.ckpt")
    ms.save_checkpoint(net, path)
    fresh = ssd300_mobilenetv2(image_size=SIZE, is_training=False)
    assert ms.load_param_into_net(fresh, ms.load_checkpoint(path), strict_load=True) == ([], [])
    for mine, loaded in zip(net.get_parameters(), fresh.get_parameters()):
        assert mine.name == loaded.name
        np.testing.assert_array_equal(mine.asnumpy(), loaded.asnumpy())
    # and a TinyMS checkpoint rebuilds the network it came from, at its size
    rebuilt = load(Model(net).save_checkpoint(tmp_path / "model.ckpt")).network
    assert rebuilt.image_size == SIZE and rebuilt.default_cfg.input_shape == (3, SIZE, SIZE)
    np.testing.assert_array_equal(rebuilt.class_heads[0][3].bias.asnumpy(), net.class_heads[0][3].bias.asnumpy())


def test_the_preprocessing_that_travels_with_the_network_makes_its_input_size():
    net = ssd300_mobilenetv2(class_num=6, image_size=160)
    assert net.default_cfg.recipe.fixed_output_shape() == (3, 160, 160) == tuple(net.default_cfg.input_shape)
