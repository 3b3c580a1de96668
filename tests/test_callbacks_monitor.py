"""Callbacks that watch what History records: EarlyStopping, ReduceLROnPlateau, best-k ModelCheckpoint.

Short real training runs of LeNet-5 on the bundled MNIST sample, in tinyms.model.Model and in
mindspore.train.Model.
"""

import os
import re

import numpy as np
import pytest
from mindspore import train as ms_train

import tinyms as ts
from tinyms.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import LearningRateError, UnknownNameError
from tinyms.losses import SoftmaxCrossEntropyWithLogits
from tinyms.model import Model, lenet5
from tinyms.model._checkpoint import read_checkpoint, verify_crc
from tinyms.optimizers import Momentum, warmup_cosine_lr
from tinyms.vision import mnist_transform


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("TINYMS_HOME")
    os.environ["TINYMS_HOME"] = str(home)
    try:
        path = sample_dataset("mnist")
    finally:
        if old is None:
            os.environ.pop("TINYMS_HOME", None)
        else:
            os.environ["TINYMS_HOME"] = old
    return path


def _data(mnist, split="train", n=320):
    ds = MnistDataset(os.path.join(mnist, split), shuffle=False, num_samples=n)
    return mnist_transform.apply_ds(ds, batch_size=32)


def _model(lr=0.01, optimizer="momentum"):
    ts.context.set_seed(0)
    net = lenet5()
    model = Model(net)
    if optimizer == "momentum":
        model.compile(loss_fn="cross_entropy", optimizer=Momentum(net.trainable_params(), learning_rate=lr, momentum=0.9),
                      metrics=["accuracy"])
    else:
        model.compile(loss_fn="cross_entropy", optimizer=optimizer, metrics=["accuracy"], learning_rate=lr)
    return model


def _weights(network):
    return {p.name: p.asnumpy().copy() for p in network.get_parameters()}


class _Snapshots(Callback):
    """Copies the network's weights at every epoch end; at ``boost_at`` raises the rate to ``boost``."""

    def __init__(self, network, optimizer=None, boost_at=None, boost=None):
        super().__init__()
        self.network, self.optimizer, self.boost_at, self.boost = network, optimizer, boost_at, boost
        self.weights = {}

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        self.weights[epoch] = _weights(self.network)
        if epoch == self.boost_at:
            self.optimizer.learning_rate.set_data(ts.Tensor(self.boost, ts.float32))


# ---------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("patience", [1, 2])
def test_early_stopping_stops_after_patience_when_nothing_can_improve(mnist, patience):
    model = _model(lr=0.0)  # a learning rate of 0: val_loss is the same every epoch
    stop = EarlyStopping(monitor="val_loss", patience=patience)
    history = model.train(8, _data(mnist), callbacks=[stop], valid_dataset=_data(mnist, "test", 160), verbose=0)
    assert history.epoch == list(range(1, patience + 2))
    assert history.stopped_early and stop.stopped_epoch == patience + 1
    assert stop.best_epoch == 1 and stop.best == history.history["val_loss"][0]
    assert len(set(history.history["val_loss"])) == 1


def test_early_stopping_runs_on_while_the_value_improves(mnist):
    model = _model(lr=0.01)
    stop = EarlyStopping("loss", 0.0, 1)  # MindSpore's positional order: monitor, min_delta, patience
    history = model.train(3, _data(mnist), callbacks=[stop], verbose=0)
    assert history.epoch == [1, 2, 3] and not history.stopped_early and stop.stopped_epoch is None
    assert stop.best_epoch == 3 and stop.best == history.history["loss"][-1]


def test_restore_best_weights_puts_back_the_best_epochs_exact_values(mnist):
    model = _model(lr=0.02)
    # after epoch 2 the rate jumps to 0.3, so the later epochs are worse than the best one
    snaps = _Snapshots(model.network, model.optimizer, boost_at=2, boost=0.3)
    stop = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    history = model.train(4, _data(mnist), callbacks=[snaps, stop], valid_dataset=_data(mnist, "test", 160), verbose=0)
    val = np.array(history.history["val_loss"])
    assert history.epoch == [1, 2, 3, 4]
    best = int(np.nanargmin(val)) + 1
    assert stop.best_epoch == best and best <= 2
    final = _weights(model.network)
    assert any(not np.array_equal(final[n], snaps.weights[4][n]) for n in final)
    for name, value in snaps.weights[best].items():
        assert np.array_equal(final[name], value), name
    # and the restored network scores what the best epoch scored
    assert model.eval(_data(mnist, "test", 160))["loss"] == pytest.approx(val[best - 1], rel=1e-6)


def test_unknown_monitor_is_an_error_naming_the_recorded_values(mnist):
    model = _model()
    with pytest.raises(UnknownNameError, match=r"val_acuracy.*loss.*val_accuracy.*val_loss"):
        model.train(3, _data(mnist), callbacks=[EarlyStopping(monitor="val_acuracy")],
                    valid_dataset=_data(mnist, "test", 64), verbose=0)
    with pytest.raises(UnknownNameError, match="valid_dataset"):
        model.train(3, _data(mnist), callbacks=[EarlyStopping(monitor="val_loss")], verbose=0)


def test_mindspore_names_are_aliases_and_mode_auto_follows_the_name(mnist):
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("accuracy").mode == "max"
    assert EarlyStopping("val_loss").mode == "min" and EarlyStopping("eval_loss").mode == "min"
    assert ReduceLROnPlateau("val_mae").mode == "min"
    model = _model(lr=0.0)
    stop = EarlyStopping(monitor="eval_loss", patience=1)
    acc = EarlyStopping(monitor="accuracy", patience=1)
    history = model.train(5, _data(mnist), callbacks=[stop, acc], valid_dataset=_data(mnist, "test", 64), verbose=0)
    assert history.epoch == [1, 2]
    assert stop._key == "val_loss" and acc._key == "val_accuracy"


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-1)
    with pytest.raises(TypeError, match="monitor"):
        EarlyStopping(monitor=3)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="monitor="):
        ModelCheckpoint(save_best_k=2)


# ------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_lr_on_plateau_lowers_the_optimizers_rate(mnist):
    model = _model(lr=1e-9)  # so small that val_loss moves far less than min_delta
    plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=3e-10)
    model.train(4, _data(mnist), callbacks=[plateau], valid_dataset=_data(mnist, "test", 64), verbose=0)
    lr = float(model.optimizer.learning_rate.asnumpy())
    # epoch 1 sets the best; epochs 2, 3, 4 each miss once: 1e-9 -> 5e-10 -> 3e-10 (min_lr) -> stays
    assert lr == pytest.approx(3e-10, rel=1e-6)
    assert [e for e, _, _ in plateau.reductions] == [2, 3]
    assert plateau.reductions[0][1] == pytest.approx(1e-9, rel=1e-6)
    assert plateau.reductions[0][2] == pytest.approx(5e-10, rel=1e-6)


def test_reduce_lr_cooldown_and_improvement_keep_the_rate(mnist):
    model = _model(lr=1e-9)
    plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=1, cooldown=2)
    model.train(5, _data(mnist), callbacks=[plateau], valid_dataset=_data(mnist, "test", 64), verbose=0)
    # reduced at epoch 2, then epochs 3 and 4 are the cooldown, epoch 5 misses again
    assert [e for e, _, _ in plateau.reductions] == [2, 5]
    learning = _model(lr=0.01)
    keep = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.0)
    learning.train(3, _data(mnist), callbacks=[keep], verbose=0)
    assert keep.reductions == [] and float(learning.optimizer.learning_rate.asnumpy()) == pytest.approx(0.01)


def test_reduce_lr_refuses_a_per_step_schedule(mnist):
    ts.context.set_seed(0)
    net = lenet5()
    model = Model(net).compile(loss_fn="cross_entropy", optimizer=Momentum(
        net.trainable_params(), learning_rate=warmup_cosine_lr(0.01, 40), momentum=0.9))
    with pytest.raises(LearningRateError, match="per-step schedule.*constant learning rate"):
        model.train(1, _data(mnist), callbacks=[ReduceLROnPlateau(monitor="loss")], verbose=0)


# ------------------------------------------------------------ best-k ModelCheckpoint
@pytest.mark.parametrize("monitor, key, best_is_max", [("val_accuracy", "val_accuracy", True),
                                                        ("eval_loss", "val_loss", False)])
def test_model_checkpoint_keeps_exactly_the_best_k(mnist, tmp_path, monitor, key, best_is_max):
    model = _model(lr=0.01)
    valid = _data(mnist, "test", 160)
    ckpt = ModelCheckpoint(prefix="lenet", directory=str(tmp_path), monitor=monitor, save_best_k=2)
    history = model.train(5, _data(mnist), callbacks=[ckpt], valid_dataset=valid, verbose=0)
    values = history.history[key]
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".ckpt"))
    assert len(files) == 2 and len(ckpt.best_k) == 2
    assert sorted(os.path.basename(r.path) for r in ckpt.best_k) == files
    assert not [f for f in os.listdir(tmp_path) if not f.endswith(".ckpt")]  # no temporary files left
    ranked = sorted(values, reverse=best_is_max)
    assert [r.value for r in ckpt.best_k] == pytest.approx(ranked[:2], rel=1e-12)
    assert ckpt.best_checkpoint == ckpt.best_k[0].path
    for rank in ckpt.best_k:
        assert values[rank.epoch - 1] == pytest.approx(rank.value, rel=1e-12)
        name = os.path.basename(rank.path)
        assert re.fullmatch(rf"lenet-best-epoch{rank.epoch}-{key}=[0-9.e+-]+\.ckpt", name), name
        assert verify_crc(rank.path) and (os.stat(rank.path).st_mode & 0o777) == 0o644
        assert any(n.startswith("moment") for n in read_checkpoint(rank.path))  # optimizer state too
        # the file holds that epoch's weights: loaded, they score what the epoch scored
        fresh = Model(lenet5()).compile(loss_fn="cross_entropy", metrics=["accuracy"])
        fresh.load_checkpoint(rank.path)
        result = fresh.eval(valid)
        assert result[key[len("val_"):]] == pytest.approx(rank.value, rel=1e-6)


def test_model_checkpoint_without_monitor_keeps_saving_periodically(mnist, tmp_path):
    model = _model()
    ckpt = ModelCheckpoint(prefix="lenet", directory=str(tmp_path))
    model.train(1, _data(mnist), callbacks=[ckpt], verbose=0)
    assert ckpt.monitor is None and ckpt.best_k == [] and ckpt.best_checkpoint is None
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".ckpt"))
    # MindSpore's periodic files: every step, the last 5 kept (CheckpointConfig's defaults)
    assert files == sorted(f"lenet-1_{s}.ckpt" for s in range(6, 11))


# ----------------------------------------------------------- mindspore.train.Model
def _ms_model(lr):
    ts.context.set_seed(0)
    net = lenet5()
    opt = Momentum(net.trainable_params(), learning_rate=lr, momentum=0.9)
    loss = SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    return net, opt, ms_train.Model(net, loss_fn=loss, optimizer=opt, metrics={"accuracy"})


def test_callbacks_work_under_mindspore_train_model(mnist, tmp_path):
    net, opt, model = _ms_model(lr=0.0)
    stop = EarlyStopping(monitor="val_loss", patience=1)
    loss_stop = EarlyStopping(monitor="loss", patience=5)
    plateau = ReduceLROnPlateau(monitor="eval_loss", factor=0.5, patience=1)
    best = ModelCheckpoint(prefix="ms", directory=str(tmp_path), monitor="val_accuracy")
    counter = _Snapshots(net)
    model.fit(6, _data(mnist), valid_dataset=_data(mnist, "test", 64), callbacks=[counter, stop, loss_stop, plateau, best])
    assert sorted(counter.weights) == [1, 2] and stop.stopped_epoch == 2
    assert stop._key == "val_loss" and loss_stop._key == "loss" and np.isfinite(loss_stop.best)
    assert plateau.reductions == []  # lr 0 cannot be lowered further
    assert len(best.best_k) == 1 and os.listdir(tmp_path) == [os.path.basename(best.best_checkpoint)]
    assert best.best_k[0].epoch == 1  # later epochs tie, and a tie does not replace the kept file


def test_reduce_lr_and_training_loss_under_mindspore_train_model(mnist):
    _, opt, model = _ms_model(lr=1e-9)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    stop = EarlyStopping(monitor="loss", min_delta=1e-3, patience=2)
    model.train(6, _data(mnist), callbacks=[plateau, stop], dataset_sink_mode=False)
    assert stop.stopped_epoch == 3
    assert [e for e, _, _ in plateau.reductions] == [2, 3]
    assert float(opt.learning_rate.asnumpy()) == pytest.approx(2.5e-10, rel=1e-6)
