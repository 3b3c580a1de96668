"""The tabular networks: registry entries, DeepFM's arithmetic, checkpoints, ONNX export matching onnxruntime.

Each runs at a small vocabulary (a few hundred ids) so that the file stays fast; DeepFM's
Criteo default is built once to check its published sizes.
"""

import numpy as np
import onnxruntime as ort
import pytest
import mindspore as ms

import tinyms
from tinyms.model import DeepFM, Model, create_model, deepfm, list_models, load, model_config

F, V = 5, 300


def _batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, (n, F)).astype(np.int32)
    vals = rng.standard_normal((n, F)).astype(np.float32)
    return ids, vals


SMALL = {
    "deepfm": dict(field_size=F, vocab_size=V, embed_size=4, hidden=(16, 8)),
    "wide_deep": dict(field_size=F, vocab_size=V, embed_size=4, hidden=(16,)),
    "tabular_mlp": dict(field_size=F, vocab_size=V, embed_size=4, hidden=(16,)),
    "tabular_mlp-regression": dict(field_size=F, vocab_size=V, embed_size=4, hidden=(16,), objective="regression",
                                   target_mean=30.0, target_scale=12.0),
    "tabular_mlp-multiclass": dict(field_size=F, vocab_size=V, embed_size=4, hidden=(16,), objective="multiclass",
                                   num_outputs=3),
}


def test_registry_lists_them_as_tabular():
    for name in ("deepfm", "wide_deep", "tabular_mlp"):
        assert name in list_models()
        assert model_config(name).task == "tabular"


@pytest.mark.parametrize("case", list(SMALL))
def test_builds_predicts_round_trips_and_exports_to_onnx(case, tmp_path):
    name = case.split("-")[0]
    tinyms.set_seed(1)
    net = create_model(name, **SMALL[case])
    outputs = 3 if case.endswith("multiclass") else 1
    assert net.default_cfg.task == "tabular" and net.default_cfg.input_shape == (F,)
    assert (net.field_size, net.vocab_size) == (F, V)
    model = Model(net)
    ids, vals = _batch()
    expected = model.predict((ids, vals)).asnumpy()
    assert expected.shape == (6, outputs) and np.isfinite(expected).all()
    if case.endswith("regression"):  # outputs are in the target's units: around its mean
        assert abs(float(expected.mean()) - 30.0) < 12.0

    # a checkpoint rebuilds the same network from its record
    path = model.save_checkpoint(tmp_path / "net.ckpt")
    np.testing.assert_array_equal(load(path).predict((ids, vals)).asnumpy(), expected)

    # ONNX: two named inputs, a dynamic batch, the network's outputs
    onnx_path = model.export((ids[:1], vals[:1]), tmp_path / "net", "ONNX")
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == ["feat_ids", "feat_vals"]
    got = session.run(None, {"feat_ids": ids, "feat_vals": vals})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_deepfm_is_first_order_plus_pairwise_interactions_plus_the_mlp():
    tinyms.set_seed(2)
    net = deepfm(field_size=F, vocab_size=V, embed_size=3, hidden=(8,))
    last = net.deep.layers[-1]  # silence the MLP: the output is then the factorisation machine alone
    last.weight.set_data(ms.Tensor(np.zeros(last.weight.shape, np.float32)))
    last.bias.set_data(ms.Tensor(np.zeros(last.bias.shape, np.float32)))
    ids, vals = _batch(4, seed=3)
    got = Model(net).predict((ids, vals)).asnumpy().reshape(-1)
    w, emb = net.fm_weight.asnumpy()[:, 0], net.embedding.asnumpy()
    expected = []
    for row_ids, row_vals in zip(ids, vals):
        v = emb[row_ids] * row_vals[:, None]
        pairs = sum(float(v[f] @ v[g]) for f in range(F) for g in range(f + 1, F))
        expected.append(float(w[row_ids] @ row_vals) + pairs)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_deepfm_defaults_are_0_3s_criteo_network():
    net = DeepFM()  # 39 fields, 184965 ids, 80 wide, MLP 1024-512-256-128-1, keep_prob 0.9
    assert (net.field_size, net.vocab_size, net.embed_size, net.keep_prob) == (39, 184965, 80, 0.9)
    assert net.embedding.shape == (184965, 80) and net.fm_weight.shape == (184965, 1)
    widths = [layer.weight.shape for layer in net.deep.layers if hasattr(layer, "weight")]
    assert widths == [(1024, 39 * 80), (512, 1024), (256, 512), (128, 256), (1, 128)]
    assert net.objective == "binary" and net.l2_coef == 1e-6
    net = deepfm(39, 184965, 80, 0.9, True)  # 0.3's positional call, convert_dtype accepted
    assert net.convert_dtype and net.default_cfg.task == "tabular"


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="tabular_mlp.*multiclass"):
        deepfm(field_size=3, vocab_size=10, objective="multiclass")
    with pytest.raises(ValueError, match="keep_prob"):
        deepfm(field_size=3, vocab_size=10, keep_prob=0)
    with pytest.raises(ValueError, match="num_outputs"):
        create_model("tabular_mlp", field_size=3, vocab_size=10, objective="multiclass")
    with pytest.raises(ValueError, match="target_scale"):
        create_model("tabular_mlp", field_size=3, vocab_size=10, objective="regression", target_scale=0)
    with pytest.raises(TypeError, match="field_size"):
        create_model("wide_deep", field_size=2.5, vocab_size=10)


def test_summary_runs_on_the_pair_of_inputs(capsys):
    net = deepfm(field_size=3, vocab_size=20, embed_size=4, hidden=(8,))
    text = Model(net).summary()
    total = sum(int(np.prod(p.shape)) for p in net.trainable_params())  # tables 20x4 + 20x1, MLP 12x8+8, 8+1
    assert total == 213 and f"Total params: {total}" in text and "Output shape: (N, 1)" in text
