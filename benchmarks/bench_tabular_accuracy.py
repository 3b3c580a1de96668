"""DeepFM, Wide&Deep and the tabular MLP on a generated click-through table whose generating model is known
(issue 19): how close each gets to the best possible AUC, the generating model's own.

The table is tinyms.data.make_ctr_table (6 Zipf-like categorical columns, three pairs of them interacting
through rank-4 vectors, 4 numeric columns with linear and non-linear effects, 3% missing cells in three
columns, about 20% clicks). Rows are split 80/20 by the table's seed; the feature spec is fitted on the
training rows only (TabularDataset.split). Every network is trained through the user API (Model(...)
.compile(optimizer='adam'), Model.train, Model.eval counting every test row); its test AUC is compared with
the AUC of the true probabilities on the same test rows. A scikit-learn logistic regression on one-hot
categories + the standardised numbers (no interactions) is the baseline.

    GLOG_v=3 .venv/bin/python benchmarks/bench_tabular_accuracy.py [--rows 200000] [--epochs 3] [--json out.json]

Prints one line per model and a JSON line; the numbers are in benchmarks/RESULTS.md, "Issue 19: generated
click-through table". tests/model/test_tabular_accuracy.py runs the small version.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: the networks compared and their sizes (the accuracy test's DeepFM is the first)
NETWORKS = {
    "deepfm": {"embed_size": 16, "hidden": (64, 32), "keep_prob": 1.0},
    "wide_deep": {"embed_size": 16, "hidden": (64, 32), "keep_prob": 1.0},
    "tabular_mlp": {"embed_size": 16, "hidden": (64, 32), "keep_prob": 1.0},
}


def tables(rows, seed, **kwargs):
    """(train TabularDataset, test TabularDataset, true probabilities of the test rows): a seeded 80/20 split,
    the spec fitted on the training rows only."""
    from tinyms.data import TabularDataset, make_ctr_table

    table, probs = make_ctr_table(rows, seed=seed, **kwargs)
    order = np.random.default_rng(seed).permutation(rows)
    test_rows, train_rows = np.sort(order[:rows // 5]), np.sort(order[rows // 5:])
    train = TabularDataset.from_frame({k: v[train_rows] for k, v in table.items()}, "clicked", verbose=False)
    test = TabularDataset.from_frame({k: v[test_rows] for k, v in table.items()}, "clicked", spec=train.spec,
                                     verbose=False)
    return train, test, probs[test_rows]


def oracle_auc(test, probs):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(test.labels.reshape(-1), probs))


def train_network(name, train, test, epochs, batch, lr, sizes):
    """Train one network through Model; return (test AUC, log loss, seconds, rows)."""
    from tinyms.model import Model, create_model

    spec = train.spec
    net = create_model(name, field_size=spec.field_size, vocab_size=spec.vocab_size, **sizes)
    model = Model(net)
    model.compile(optimizer="adam", learning_rate=lr)
    started = time.perf_counter()
    model.train(epochs, train.batch(batch, shuffle=True), verbose=0)
    seconds = time.perf_counter() - started
    result = model.eval(test.batch(4096, shuffle=False))
    return result["auc"], result["log_loss"], seconds, model.eval_samples


def baseline(train, test):
    """Logistic regression on one-hot ids (feat_ids) weighted by feat_vals: no interactions."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    def design(table):
        ids, vals, _ = table.arrays()
        n, f = ids.shape
        return csr_matrix((vals.reshape(-1), ids.reshape(-1), np.arange(0, n * f + 1, f)),
                          shape=(n, train.spec.vocab_size))

    started = time.perf_counter()
    clf = LogisticRegression(max_iter=1000, C=1.0).fit(design(train), train.labels.reshape(-1))
    seconds = time.perf_counter() - started
    return float(roc_auc_score(test.labels.reshape(-1), clf.predict_proba(design(test))[:, 1])), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument("--base-rate", type=float, default=0.2, help="make_ctr_table's share of clicks")
    parser.add_argument("--interaction-scale", type=float, default=0.6, help="make_ctr_table's interaction spread")
    parser.add_argument("--embed", type=int, default=None, help="embedding width of every network")
    parser.add_argument("--hidden", default=None, help="hidden widths of every network, e.g. 64,32")
    parser.add_argument("--l2", type=float, default=None, help="l2_coef of every network")
    parser.add_argument("--keep-prob", type=float, default=None, help="dropout keep probability of every network")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    import tinyms

    tinyms.set_seed(args.seed)
    started = time.perf_counter()
    for sizes in NETWORKS.values():
        if args.embed:
            sizes["embed_size"] = args.embed
        if args.hidden:
            sizes["hidden"] = tuple(int(h) for h in args.hidden.split(","))
        if args.l2 is not None:
            sizes["l2_coef"] = args.l2
        if args.keep_prob is not None:
            sizes["keep_prob"] = args.keep_prob
    train, test, probs = tables(args.rows, args.seed, base_rate=args.base_rate,
                                interaction_scale=args.interaction_scale)
    best = oracle_auc(test, probs)
    results = {"rows": args.rows, "train_rows": train.num_rows, "test_rows": test.num_rows,
               "vocab_size": train.spec.vocab_size, "fields": train.spec.field_size, "epochs": args.epochs,
               "batch": args.batch, "lr": args.lr, "base_rate": args.base_rate,
               "interaction_scale": args.interaction_scale, "generating_model_auc": best,
               "table_seconds": time.perf_counter() - started, "models": {}}
    print(f"{args.rows:,} rows ({train.num_rows:,} train / {test.num_rows:,} test), {train.spec.field_size} fields, "
          f"vocabulary {train.spec.vocab_size:,}; generating model's test AUC {best:.4f}", flush=True)
    try:
        auc, seconds = baseline(train, test)
        results["models"]["logistic_regression"] = {"auc": auc, "seconds": seconds}
        print(f"  logistic regression (scikit-learn, no interactions): AUC {auc:.4f} (gap {best - auc:+.4f}), "
              f"{seconds:.1f} s", flush=True)
    except ImportError:
        print("  (scikit-learn not installed: no logistic-regression baseline)")
    for name in args.models.split(","):
        tinyms.set_seed(args.seed)
        auc, loss, seconds, rows = train_network(name, train, test, args.epochs, args.batch, args.lr, NETWORKS[name])
        results["models"][name] = {"auc": auc, "log_loss": loss, "train_seconds": seconds, "eval_rows": rows,
                                   "sizes": {k: list(v) if isinstance(v, tuple) else v
                                             for k, v in NETWORKS[name].items()}}
        print(f"  {name}: AUC {auc:.4f} (gap {best - auc:+.4f}), log loss {loss:.4f}, {args.epochs} epoch(s) in "
              f"{seconds:.1f} s, {rows:,} test rows counted", flush=True)
    line = json.dumps(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
