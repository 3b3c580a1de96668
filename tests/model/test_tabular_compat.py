"""TinyMS 0.3's DeepFM calling pattern (its st/deepfm.py) runs end to end on a tiny synthetic table."""

import numpy as np
import pytest
import mindspore.dataset as ds
from sklearn.metrics import roc_auc_score

import tinyms
from tinyms.callbacks import CheckpointConfig, LossTimeMonitorV2, ModelCheckpoint
from tinyms.errors import NotCompiledError
from tinyms.metrics import AUCMetric, Loss
from tinyms.model import DeepFM, DeepFMEvalModel, DeepFMTrainModel, DeepFMWithLoss, Model

F, V, N = 6, 60, 250  # 250 rows in batches of 32: the last batch has 26


def _criteo_like(seed=0):
    rng = np.random.default_rng(seed)
    ids = (rng.integers(0, 10, (N, F)) + np.arange(F) * 10).astype(np.int32)
    vals = np.ones((N, F), np.float32)
    w = np.random.default_rng(7).standard_normal(V) * 2
    label = (rng.random(N) < 1 / (1 + np.exp(-w[ids].sum(axis=1)))).astype(np.float32).reshape(-1, 1)
    return ids, vals, label


def _ds(columns):
    return ds.NumpySlicesDataset(columns, column_names=["feat_ids", "feat_vals", "label"], shuffle=False).batch(32)


def test_0_3_script_trains_and_evaluates_auc_over_every_row(capsys, tmp_path):
    tinyms.set_seed(0)
    columns = _criteo_like()
    net = DeepFM(field_size=F, vocab_size=V, embed_size=8, convert_dtype=True, hidden=(32, 16))
    train_net = DeepFMTrainModel(DeepFMWithLoss(net), learning_rate=0.01)
    eval_net = DeepFMEvalModel(net)
    model = Model(train_net)
    auc_metric = AUCMetric()
    model.compile(eval_network=eval_net, metrics={"auc_metric": auc_metric}, amp_level='O0')
    before = model.eval(_ds(columns))["auc_metric"]
    model_ckpt = ModelCheckpoint(prefix='deepfm', directory=str(tmp_path),
                                 config=CheckpointConfig(save_checkpoint_steps=8, keep_checkpoint_max=10))
    history = model.train(epoch=3, train_dataset=_ds(columns), callbacks=[LossTimeMonitorV2(), model_ckpt],
                          dataset_sink_mode=False)
    result = model.eval(_ds(columns))
    assert list(result) == ["auc_metric"] and model.eval_samples == N == auc_metric.rows
    assert result["auc_metric"] > max(before, 0.8)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the AUC is the network's over all 250 rows
    probs = 1 / (1 + np.exp(-Model(net).predict(columns[:2]).asnumpy().ravel()))
    assert abs(result["auc_metric"] - roc_auc_score(columns[2].ravel(), probs)) < 1e-6
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["deepfm-1_8.ckpt", "deepfm-2_8.ckpt", "deepfm-3_8.ckpt"]
    reloaded = DeepFM(field_size=F, vocab_size=V, embed_size=8, hidden=(32, 16))
    Model(reloaded).load_checkpoint(str(tmp_path / "deepfm-3_8.ckpt"))
    np.testing.assert_array_equal(reloaded.embedding.asnumpy(), net.embedding.asnumpy())
    out = capsys.readouterr().out
    assert "epoch 1/3, step 8/8: loss" in out and "epoch 3/3:" in out and "ms/step, mean loss" in out


def test_the_train_model_uses_its_own_adam_with_0_3s_defaults():
    net = DeepFM(field_size=F, vocab_size=V, embed_size=4, hidden=(8,))
    train_net = DeepFMTrainModel(DeepFMWithLoss(net))
    model = Model(train_net)
    model._check_trainable("train()")
    assert model.optimizer is train_net.optimizer
    assert float(train_net.optimizer.learning_rate.asnumpy()) == pytest.approx(0.0005)
    assert float(train_net.optimizer.eps.asnumpy()) == pytest.approx(5e-8) and train_net.sens == 1024.0


def test_eval_network_positional_and_eval_indexes():
    tinyms.set_seed(1)
    columns = _criteo_like(1)
    net = DeepFM(field_size=F, vocab_size=V, embed_size=4, hidden=(8,))
    # 0.3's positional compile(loss, optimizer, metrics, eval_network)
    model = Model(net).compile(None, None, {"auc": AUCMetric()}, DeepFMEvalModel(net))
    assert model.eval_network is not None and model.eval(_ds(columns))["auc"] > 0
    loss_net = DeepFMWithLoss(net)

    class WithLoss(DeepFMEvalModel):
        def construct(self, feat_ids, feat_vals, labels):
            logits = self.network(feat_ids, feat_vals)
            return loss_net(feat_ids, feat_vals, labels), logits, labels
    model = Model(net, eval_network=WithLoss(net), eval_indexes=[0, 1, 2], metrics={"loss": Loss(), "auc": AUCMetric()})
    result = model.eval(_ds(columns))
    assert result["loss"] > 0 and 0 < result["auc"] < 1
    with pytest.raises(NotCompiledError, match="needs metrics"):
        Model(net).compile(eval_network=DeepFMEvalModel(net)).eval(_ds(columns))
    with pytest.raises(ValueError, match="amp_level"):
        Model(net).compile(amp_level="O2")
