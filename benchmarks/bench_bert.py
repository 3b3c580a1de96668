"""Benchmark 17b: BERT-Tiny training step through TinyMS ``Model.train`` vs MindSpore by hand (goal: ratio <= 1.03).

One process, GRAPH mode. Two networks built alike (``bert_tiny``: 2 layers, hidden 128, 2 heads,
the published vocabulary size 30522, seed 1), each with its own Adam (lr 1e-4) and mean sparse
softmax cross-entropy, over the same batches (``--batches`` batches of ``--batch`` random token-id
rows of length ``--length``, padded with 0 to random lengths, labels 0/1):

- ``tinyms``: ``Model(net).compile(loss_fn, optimizer).train(1, dataset, verbose=0)``, one epoch;
- ``by_hand``: ``nn.TrainOneStepCell(nn.WithLossCell(net, loss), optimizer)`` called on each batch of
  the same dataset's ``create_tuple_iterator(num_epochs=1)``.

Both are compiled by one untimed warm-up epoch first; then ``--rounds`` rounds, each timing one
epoch of each side (the order alternates between rounds). Time per step = epoch wall time / batches;
the ratio is the median of the per-round ratios. CPU time of the process and the 1-minute load
average are printed with each round (other engineers share the machine).

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_bert.py [--rounds 11] [--batches 10] [--batch 32] [--length 128]
"""

import argparse
import json
import os
import statistics
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--vocab", type=int, default=30522)
    args = p.parse_args()

    import numpy as np
    import mindspore as ms
    import mindspore.dataset as ds
    from mindspore import nn

    from tinyms.model import Model, bert_tiny

    ms.set_context(mode=ms.GRAPH_MODE)
    rng = np.random.default_rng(0)
    n = args.batches * args.batch
    ids = rng.integers(5, args.vocab, (n, args.length)).astype(np.int32)
    lengths = rng.integers(args.length // 4, args.length + 1, n)
    ids[np.arange(args.length)[None, :] >= lengths[:, None]] = 0
    ids[:, 0] = 2
    labels = (np.arange(n) % 2).astype(np.int32)

    def dataset():
        return ds.NumpySlicesDataset({"input_ids": ids, "label": labels}, shuffle=False).batch(args.batch)

    def build():
        ms.set_seed(1)
        net = bert_tiny(num_classes=2, vocab_size=args.vocab, max_length=args.length)
        return net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), \
            nn.Adam(net.trainable_params(), 1e-4)

    net, loss, opt = build()
    model = Model(net).compile(loss_fn=loss, optimizer=opt)
    hnet, hloss, hopt = build()
    step = nn.TrainOneStepCell(nn.WithLossCell(hnet, hloss), hopt)
    step.set_train(True)

    def tinyms_epoch():
        model.train(1, dataset(), verbose=0)

    def by_hand_epoch():
        for x, y in dataset().create_tuple_iterator(num_epochs=1):  # an endless iterator would keep prefetching
            step(x, y)

    sides = {"tinyms": tinyms_epoch, "by_hand": by_hand_epoch}
    for fn in sides.values():  # compile both graphs, untimed
        fn()
    per_step = {name: [] for name in sides}
    ratios = []
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        row = {"round": r, "load1_before": round(os.getloadavg()[0], 2)}
        for name in order:
            wall, cpu = time.perf_counter(), time.process_time()
            sides[name]()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            per_step[name].append(wall / args.batches)
            row[f"{name}_ms_per_step"] = round(1000 * wall / args.batches, 2)
            row[f"{name}_cpu_ms_per_step"] = round(1000 * cpu / args.batches, 2)
        ratios.append(row["tinyms_ms_per_step"] / row["by_hand_ms_per_step"])
        row["ratio"] = round(ratios[-1], 3)
        row["load1_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
    print(json.dumps({"bench": "bert_tiny_train_step", "batch": args.batch, "length": args.length,
                      "vocab": args.vocab, "batches_per_epoch": args.batches, "rounds": args.rounds,
                      "tinyms_ms_per_step_median": round(1000 * statistics.median(per_step["tinyms"]), 2),
                      "by_hand_ms_per_step_median": round(1000 * statistics.median(per_step["by_hand"]), 2),
                      "ratio_median": round(statistics.median(ratios), 3),
                      "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
                      # the least disturbed round of each side: the closest to an idle machine
                      "tinyms_ms_per_step_min": round(1000 * min(per_step["tinyms"]), 2),
                      "by_hand_ms_per_step_min": round(1000 * min(per_step["by_hand"]), 2)}), flush=True)


if __name__ == "__main__":
    main()
