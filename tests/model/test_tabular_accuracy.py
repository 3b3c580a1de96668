"""DeepFM gets within 0.02 AUC of the best possible on a generated click-through table (issue 19).

tinyms.data.make_ctr_table draws a click log from a known model (categorical main effects, three pairs of
interacting columns through rank-4 vectors, numeric effects, missing cells), so the best AUC any model can
reach on the test rows is that of the generating model's own probabilities. DeepFM is trained through the
user API only: TabularDataset (spec fitted on the training rows) -> Model(create_model('deepfm', ...))
.compile(optimizer='adam') -> train -> eval, which counts every test row. The larger comparison (Wide&Deep,
the MLP, a logistic regression) is benchmarks/bench_tabular_accuracy.py; numbers in benchmarks/RESULTS.md,
"Issue 19: generated click-through table".
"""

import numpy as np
from sklearn.metrics import roc_auc_score

import tinyms
from tinyms.data import TabularDataset, make_ctr_table
from tinyms.model import Model, create_model

ROWS = 300_000          # 240,000 training rows: at 80,000 DeepFM stays about 0.025 below the generating model
TEST_SHARE = 0.2


def test_deepfm_reaches_the_generating_models_auc_within_0_02():
    tinyms.set_seed(0)
    table, probs = make_ctr_table(ROWS, seed=0)
    order = np.random.default_rng(0).permutation(ROWS)
    test_rows, train_rows = np.sort(order[:int(ROWS * TEST_SHARE)]), np.sort(order[int(ROWS * TEST_SHARE):])
    train = TabularDataset.from_frame({k: v[train_rows] for k, v in table.items()}, "clicked", verbose=False)
    test = TabularDataset.from_frame({k: v[test_rows] for k, v in table.items()}, "clicked", spec=train.spec,
                                     verbose=False)
    spec = train.spec
    assert spec.objective == "binary" and spec.field_size == 10

    model = Model(create_model("deepfm", field_size=spec.field_size, vocab_size=spec.vocab_size, embed_size=16,
                               hidden=(64, 32), keep_prob=1.0))
    model.compile(optimizer="adam", learning_rate=0.005)
    model.train(3, train.batch(1024, shuffle=True), verbose=0)
    result = model.eval(test.batch(8192, shuffle=False))

    assert model.eval_samples == len(test_rows)                                  # every test row, once
    best = roc_auc_score(table["clicked"][test_rows], probs[test_rows])        # the generating model's own
    assert best > 0.8
    assert best - 0.02 <= result["auc"] <= best + 0.005, (result["auc"], best)  # measured: 0.8198 vs 0.8356
