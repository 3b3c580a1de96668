"""The table metrics give scikit-learn's numbers over every row, however the rows arrive in batches."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error, roc_auc_score

from tinyms import metrics
from tinyms.errors import InputShapeError
from tinyms.metrics import MAE, RMSE, AUCMetric, LogLoss


def _batches(n, sizes=(7, 64, 1, 100)):
    """Slices covering 0..n in batches of uneven sizes (a last partial batch included)."""
    start = 0
    for size in itertools.cycle(sizes):
        if start >= n:
            return
        yield slice(start, min(start + size, n))
        start += size


def _brute_force_auc(scores, labels):
    """The share of (positive, negative) pairs ranked right, ties counting half."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (pos.size * neg.size)


@pytest.mark.parametrize("decimals", [None, 1, 2])  # None: few ties; 1-2 decimals: many tied scores
def test_auc_matches_scikit_learn_over_batches_with_ties(decimals):
    rng = np.random.default_rng(decimals or 0)
    n = 1003
    labels = (rng.random(n) < 0.3).astype(np.float32)
    probs = np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1).astype(np.float32)
    if decimals is not None:
        probs = np.round(probs, decimals).astype(np.float32)
    metric = AUCMetric()
    for part in _batches(n):
        metric.update(probs[part].reshape(-1, 1), labels[part].reshape(-1, 1))
    assert metric.rows == n
    expected = roc_auc_score(labels, probs)
    assert abs(metric.eval() - expected) < 1e-6
    assert abs(metric.eval() - _brute_force_auc(probs, labels)) < 1e-9


def test_auc_takes_an_eval_networks_triple_and_clears():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200).astype(np.float32)
    probs = rng.random(200).astype(np.float32)
    logits = np.log(probs / (1 - probs))
    metric = AUCMetric()
    metric.update(logits[:150, None] * 100, probs[:150, None], labels[:150, None])  # 0.3's (logits, probs, labels)
    metric.update(logits[150:, None], probs[150:, None], labels[150:, None])
    assert abs(metric.eval() - roc_auc_score(labels, probs)) < 1e-6  # the probabilities are scored, not the logits
    metric.clear()
    with pytest.raises(RuntimeError, match="no rows"):
        metric.eval()


def test_auc_errors_name_the_problem(caplog):
    metric = AUCMetric()
    with pytest.raises(ValueError, match="binary labels 0 and 1, got 2"):
        metric.update(np.array([0.1, 0.2]), np.array([0, 2]))
    with pytest.raises(InputShapeError, match="3 scores for 2 labels"):
        metric.update(np.array([0.1, 0.2, 0.3]), np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        metric.update(np.array([np.nan, 0.2]), np.array([0, 1]))
    with pytest.raises(TypeError, match="got 4 values"):
        metric.update(1, 2, 3, 4)
    metric.update(np.array([0.1, 0.9]), np.array([1, 1]))
    assert np.isnan(metric.eval())  # undefined with one class, and said so
    assert "undefined" in caplog.text


def test_log_loss_matches_scikit_learn_including_clipped_extremes():
    rng = np.random.default_rng(5)
    n = 517
    labels = rng.integers(0, 2, n)
    probs = rng.random(n).astype(np.float32)
    probs[:5] = [0.0, 1.0, 1.0, 0.0, 0.5]  # clipped to the dtype's eps, as scikit-learn clips
    metric = LogLoss()
    for part in _batches(n):
        metric.update(probs[part], labels[part].astype(np.float32).reshape(-1, 1))
    assert metric.rows == n
    assert abs(metric.eval() - log_loss(labels, probs, labels=[0, 1])) < 1e-6


def test_rmse_and_mae_match_scikit_learn():
    rng = np.random.default_rng(6)
    n = 333
    truth = rng.normal(50, 20, n)
    pred = (truth + rng.normal(0, 3, n)).astype(np.float32)
    rmse, mae = RMSE(), MAE()
    for part in _batches(n):
        rmse.update(pred[part].reshape(-1, 1), truth[part])
        mae.update(pred[part].reshape(-1, 1), truth[part])
    assert rmse.rows == mae.rows == n
    assert abs(rmse.eval() - np.sqrt(mean_squared_error(truth, pred))) < 1e-6
    assert abs(mae.eval() - mean_absolute_error(truth, pred)) < 1e-6
    with pytest.raises(InputShapeError, match="2 predictions for 3 targets"):
        rmse.update(np.zeros(2), np.zeros(3))


def test_metrics_by_name():
    got = metrics.get(["auc", "log_loss", "rmse", "mae"])
    assert [type(m) for m in got.values()] == [AUCMetric, LogLoss, RMSE, MAE]
    assert list(got) == ["auc", "log_loss", "rmse", "mae"]
