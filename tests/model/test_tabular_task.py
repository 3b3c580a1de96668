"""The tabular task: Model(deepfm(...)).compile(optimizer=...) trains on (feat_ids, feat_vals, label) rows.

Tables are generated in the encoded form (``FeatureSpec.encode``'s output): F fields, each with
its own block of ids, labels drawn from a known logistic model, so that training has a signal.
"""

import numpy as np
import pytest
import mindspore as ms
import mindspore.dataset as ds
from sklearn.metrics import log_loss, roc_auc_score

import tinyms
from tinyms.callbacks import LoopCallback
from tinyms.errors import DatasetError, InputShapeError
from tinyms.model import Model, create_model, deepfm, tabular_mlp, wide_deep

F, PER_FIELD = 4, 8
V = F * PER_FIELD
N = 203  # not a multiple of any batch size used: the last batch is partial
WHOLE = 192  # whole batches only: one compiled shape per model keeps the other tests fast


def _table(n=WHOLE, seed=0, objective="binary"):
    rng = np.random.default_rng(seed)
    ids = (rng.integers(0, PER_FIELD, (n, F)) + np.arange(F) * PER_FIELD).astype(np.int32)
    vals = np.ones((n, F), np.float32)
    vals[:, 0] = rng.standard_normal(n)  # one numeric field (its id fixed, its value varying)
    ids[:, 0] = 0
    weights = np.random.default_rng(99).standard_normal(V) * 1.5
    score = (weights[ids] * vals).sum(axis=1)
    if objective == "binary":
        label = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(np.float32).reshape(-1, 1)
    elif objective == "regression":
        label = (100.0 + 20.0 * score).astype(np.float32).reshape(-1, 1)
    else:
        label = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int32)
    return ids, vals, label


def _dataset(columns, batch=32, shuffle=False):
    return ds.NumpySlicesDataset(columns, column_names=["feat_ids", "feat_vals", "label"],
                                 shuffle=shuffle).batch(batch)


def _small_deepfm(**kwargs):
    return deepfm(field_size=F, vocab_size=V, embed_size=4, hidden=(16,), **kwargs)


def test_deepfm_trains_without_a_loss_and_evaluates_every_row():
    tinyms.set_seed(0)
    ids, vals, label = _table(N)
    model = Model(_small_deepfm()).compile(optimizer="adam", learning_rate=0.02)
    history = model.train(4, _dataset((ids, vals, label)), verbose=0, valid_dataset=_dataset((ids, vals, label), 64))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_auc"][-1] > 0.75
    results = model.eval(_dataset((ids, vals, label), 64))
    assert sorted(results) == ["accuracy", "auc", "log_loss", "loss"]
    assert model.eval_samples == N
    probs = model.task.postprocess(model.network, model.predict((ids, vals)))
    assert probs.shape == (N,) and ((0 < probs) & (probs < 1)).all()
    assert abs(results["auc"] - roc_auc_score(label.ravel(), probs)) < 1e-6
    assert abs(results["log_loss"] - log_loss(label.ravel(), probs)) < 1e-5
    assert results["accuracy"] == pytest.approx(np.mean((probs > 0.5) == (label.ravel() > 0.5)))
    assert results["loss"] == pytest.approx(results["log_loss"])  # the data loss, without the L2 penalty


def test_the_loss_is_cross_entropy_plus_deepfms_l2_on_its_tables():
    tinyms.set_seed(1)
    net = _small_deepfm(keep_prob=1.0, l2_coef=0.01)  # no dropout: the first step's loss is exact
    ids, vals, label = _table(64)
    probs = Model(net).task.postprocess(net, Model(net).predict((ids, vals)))
    penalty = 0.5 * 0.01 * (np.square(net.embedding.asnumpy()).sum() + np.square(net.fm_weight.asnumpy()).sum())
    expected = log_loss(label.ravel(), probs) + penalty
    model = Model(net).compile(optimizer="sgd")
    history = model.train(1, _dataset((ids, vals, label), 64), verbose=0)
    assert history.steps["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_a_given_loss_wins():
    tinyms.set_seed(2)
    ids, vals, label = _table(64)
    net = _small_deepfm(keep_prob=1.0)
    outputs = Model(net).predict((ids, vals)).asnumpy()
    model = Model(net).compile(loss_fn="mse", optimizer="sgd", learning_rate=1e-9)
    history = model.train(1, _dataset((ids, vals, label), 64), verbose=0)
    assert history.steps["loss"][0] == pytest.approx(np.mean((outputs - label) ** 2), rel=1e-5)
    assert model.eval(_dataset((ids, vals, label), 64))["loss"] == pytest.approx(history.steps["loss"][0], rel=1e-5)


def test_regression_loss_does_not_scale_with_the_targets_units():
    ids, vals, label = _table(objective="regression")
    runs = {}
    for unit in (1.0, 1000.0):
        tinyms.set_seed(3)
        y = label * unit
        net = tabular_mlp(F, V, embed_size=4, hidden=(16,), keep_prob=1.0, objective="regression",
                          target_mean=float(y.mean()), target_scale=float(y.std()))
        model = Model(net).compile(optimizer="adam", learning_rate=0.01)
        history = model.train(3, _dataset((ids, vals, y)), verbose=0)
        runs[unit] = history.history["loss"], model.eval(_dataset((ids, vals, y), 32))
    np.testing.assert_allclose(runs[1.0][0], runs[1000.0][0], rtol=1e-3)
    assert runs[1.0][0][-1] < 0.75 * runs[1.0][0][0]  # it learns
    assert sorted(runs[1.0][1]) == ["loss", "mae", "rmse"]
    assert runs[1000.0][1]["rmse"] == pytest.approx(1000 * runs[1.0][1]["rmse"], rel=1e-3)  # in the target's units


def test_multiclass_trains_and_predicts_classes_with_probabilities():
    tinyms.set_seed(4)
    ids, vals, label = _table(objective="multiclass")
    net = create_model("tabular_mlp", field_size=F, vocab_size=V, embed_size=4, hidden=(32,), objective="multiclass",
                       num_outputs=3)
    model = Model(net).compile(optimizer="adam", learning_rate=0.02)
    history = model.train(5, _dataset((ids, vals, label)), verbose=0)
    results = model.eval(_dataset((ids, vals, label), 32))
    assert sorted(results) == ["accuracy", "loss"] and results["accuracy"] > 0.6
    assert history.history["loss"][-1] < history.history["loss"][0]
    classes, probs = model.task.postprocess(net, model.predict((ids[:5], vals[:5])))
    assert classes.shape == (5,) and probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def _first_batch_error(columns, net=None):
    model = Model(net or _small_deepfm()).compile(optimizer="adam")
    names = ["feat_ids", "feat_vals", "label"][:len(columns)]
    return model, ds.NumpySlicesDataset(columns, column_names=names, shuffle=False).batch(16)


@pytest.mark.parametrize("change, error, message", [
    ("two_columns", DatasetError, "3 columns|three columns|2 column"),
    ("float_ids", DatasetError, "integer ids"),
    ("id_too_large", DatasetError, r"id 32, outside DeepFM's id space 0\.\.31.*vocab_size"),
    ("fields", InputShapeError, "built for 4 fields.*field_size=3"),
    ("label_2", DatasetError, "not 0 or 1"),
])
def test_first_batch_mistakes_are_named_with_the_fix(change, error, message):
    ids, vals, label = _table(32)
    if change == "two_columns":
        columns = (ids, vals)
    elif change == "float_ids":
        columns = (ids.astype(np.float32), vals, label)
    elif change == "id_too_large":
        ids[3, 2] = V
        columns = (ids, vals, label)
    elif change == "fields":
        columns = (ids[:, :3], vals[:, :3], label)
    else:
        label[5] = 2
        columns = (ids, vals, label)
    model, data = _first_batch_error(columns)
    with pytest.raises(error, match=message):
        model.train(1, data, verbose=0)


def test_an_id_outside_the_vocabulary_in_a_later_batch_stops_training():
    ids, vals, label = _table(64)
    ids[50, 1] = V + 7  # the fourth batch of 16
    model, data = _first_batch_error((ids, vals, label))
    with pytest.raises(DatasetError, match=f"id {V + 7}"):
        model.train(1, data, verbose=0)


def test_predict_takes_the_pair_and_says_what_it_needs():
    model = Model(wide_deep(F, V, embed_size=4, hidden=(8,)))
    ids, vals, _ = _table(3)
    assert model.predict((ids.astype(np.int64), vals.astype(np.float64))).shape == (3, 1)
    assert model.predict([ids, vals]).shape == (3, 1)
    with pytest.raises(InputShapeError, match=r"pair \(feat_ids, feat_vals\)"):
        model.predict(ids)
    with pytest.raises(InputShapeError, match="batch dimension"):
        model.predict((ids[0], vals[0]))
    with pytest.raises(DatasetError, match="vocab_size"):
        model.predict((ids + V, vals))


def _weights(model):
    return {p.name: p.asnumpy().copy() for p in model.network.get_parameters()}


def test_resume_ends_like_an_uninterrupted_run(tmp_path):
    ids, vals, label = _table()

    def run():  # without dropout: its masks come from kernel state MindSpore does not expose (README, resuming)
        tinyms.set_seed(5)
        return Model(_small_deepfm(keep_prob=1.0)).compile(optimizer="adam", learning_rate=0.01)

    def data():
        return _dataset((ids, vals, label), 32, shuffle=True)

    whole = run()
    whole.train(2, data(), verbose=0)
    first = run()
    first.train(1, data(), verbose=0)
    path = first.save_checkpoint(tmp_path / "epoch1.ckpt")
    resumed = run()
    resumed.train(2, data(), verbose=0, resume_from=path)
    expected, got = _weights(whole), _weights(resumed)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_lr_find_and_callbacks_run_on_tables():
    tinyms.set_seed(6)
    ids, vals, label = _table()
    model = Model(_small_deepfm()).compile(optimizer="adam")
    before = _weights(model)
    result = model.lr_find(_dataset((ids, vals, label)), num_steps=12)
    assert len(result.lrs) == 12 and result.valley in result.lrs
    after = _weights(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)

    class Rows(LoopCallback):
        rows = 0

        def on_step_begin(self, step, logs=None):
            Rows.rows += int(logs["data"][0].shape[0])
    model.train(1, _dataset((ids, vals, label)), callbacks=[Rows()], verbose=0)
    assert Rows.rows == WHOLE


def test_int64_ids_and_float64_values_train_as_int32_and_float32():
    tinyms.set_seed(7)
    ids, vals, label = _table(64)
    model = Model(_small_deepfm()).compile(optimizer="adam")
    history = model.train(1, _dataset((ids.astype(np.int64), vals.astype(np.float64), label.astype(np.float64))),
                          verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict((ms.Tensor(ids[:2]), ms.Tensor(vals[:2]))).dtype == ms.float32
