"""Every registered zoo model builds, runs on its declared input shape, and carries its config."""

import numpy as np
import pytest

from tinyms.errors import UnknownNameError
from tinyms.model import Model, create_model, list_models, model_config


@pytest.mark.parametrize("name", list_models(source="tinyms"))
def test_every_model_runs_on_its_declared_input(name):
    cfg = model_config(name)
    net = create_model(name, class_num=len(cfg.labels))
    assert net.default_cfg == cfg
    out = Model(net).predict(np.zeros((2,) + tuple(cfg.input_shape), np.float32))
    assert out.shape == (2, len(cfg.labels))
    assert len(cfg.mean) == len(cfg.std) == cfg.input_shape[0]


def test_class_num_changes_outputs_and_labels():
    net = create_model("lenet5", class_num=3)
    assert net.default_cfg.labels == ("0", "1", "2")
    assert Model(net).predict(np.zeros((1, 1, 32, 32), np.float32)).shape == (1, 3)


def test_unknown_model_lists_the_zoo():
    with pytest.raises(UnknownNameError, match="lenet5"):
        create_model("lenet6")
