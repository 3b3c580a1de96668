"""DeepFM training step: tinyms Model.train (the tabular task's step) vs the same network by hand in MindSpore.

The network is DeepFM at TinyMS 0.3's Criteo sizes (39 fields, 184,965 ids, embeddings of 80, MLP
1024-512-256-128-1), batch 1000. By hand is how a MindSpore user trains it: a loss cell (mean
sigmoid cross-entropy + 0.5 * 1e-6 * the squared id tables, the loss the tabular task builds for
DeepFM), ``nn.TrainOneStepCell`` with ``nn.Adam`` (0.3's lr 5e-4, eps 5e-8), called on each batch
of a MindSpore dataset iterator. TinyMS trains a copy of the same weights with the same
optimizer through ``Model(net).compile(optimizer=adam).train(...)``.

One process, rounds alternating which side goes first; the first round of each side compiles
and is not timed. Reports ms per step and the ratio TinyMS / by hand (median over rounds), in
wall time and in CPU time of the process (all its threads): on a loaded machine the wall time
also counts waiting for a core, the CPU time only the work done.

    GLOG_v=3 python benchmarks/bench_deepfm.py [--batch 1000] [--steps 20] [--rounds 5] [--vocab 184965]
        [--embed 80] [--hidden 1024,512,256,128]
"""

import argparse
import copy
import os
import statistics
import time

import numpy as np

os.environ.setdefault("GLOG_v", "3")

import mindspore as ms  # noqa: E402
from mindspore import nn, ops  # noqa: E402

import tinyms  # noqa: E402
from tinyms.model import Model, deepfm  # noqa: E402


class HandLoss(nn.Cell):
    """Mean sigmoid cross-entropy plus DeepFM's L2 on its two id tables, written as a MindSpore user would."""

    def __init__(self, net, l2_coef=1e-6):
        super().__init__(auto_prefix=False)
        self.net = net
        self.l2_coef = l2_coef
        self.bce = ops.SigmoidCrossEntropyWithLogits()

    def construct(self, ids, vals, label):
        logits = self.net(ids, vals)
        loss = self.bce(logits, label).mean()
        l2 = (self.net.embedding * self.net.embedding).sum() + (self.net.fm_weight * self.net.fm_weight).sum()
        return loss + 0.5 * self.l2_coef * l2


class HandStep(nn.TrainOneStepCell):
    """TrainOneStepCell for three inputs (named, so the compiled graph can be freed)."""

    def construct(self, ids, vals, label):
        loss = self.network(ids, vals, label)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(ids, vals, label, sens)
        return ops.depend(loss, self.optimizer(grads))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fields", type=int, default=39)
    parser.add_argument("--vocab", type=int, default=184965)
    parser.add_argument("--embed", type=int, default=80)
    parser.add_argument("--hidden", default="1024,512,256,128", help="the MLP's hidden widths (a small network "
                        "shows the loop's own overhead per step)")
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    rng = np.random.default_rng(0)
    n = args.steps * args.batch
    ids = rng.integers(0, args.vocab, (n, args.fields)).astype(np.int32)
    vals = rng.random((n, args.fields)).astype(np.float32)
    label = rng.integers(0, 2, (n, 1)).astype(np.float32)

    def dataset():
        return ms.dataset.NumpySlicesDataset({"feat_ids": ids, "feat_vals": vals, "label": label},
                                             shuffle=False).batch(args.batch)

    tinyms.set_seed(0)
    net = deepfm(args.fields, args.vocab, args.embed, hidden=hidden)
    model = Model(net).compile(optimizer=nn.Adam(net.trainable_params(), learning_rate=5e-4, eps=5e-8))
    tinyms.set_seed(0)
    hand_net = deepfm(args.fields, args.vocab, args.embed, hidden=hidden)
    ms.load_param_into_net(hand_net, {k: copy.deepcopy(v) for k, v in net.parameters_dict().items()})
    step = HandStep(HandLoss(hand_net), nn.Adam(hand_net.trainable_params(), learning_rate=5e-4, eps=5e-8))
    step.set_train(True)
    params = sum(int(np.prod(p.shape)) for p in net.trainable_params())
    print(f"DeepFM {args.fields} fields, vocab {args.vocab}, embed {args.embed}, MLP {hidden}, "
          f"{params / 1e6:.1f} M parameters, "
          f"batch {args.batch}, {args.steps} steps per round, load {os.getloadavg()[0]:.1f}", flush=True)

    def by_hand():
        loss = None
        for x, v, y in dataset().create_tuple_iterator(num_epochs=1, do_copy=False):
            loss = step(x, v, y)
        loss.asnumpy()

    epoch = [0]

    def tinyms_train():
        model.train(epoch[0] + 1, dataset(), initial_epoch=epoch[0], verbose=0)
        epoch[0] += 1

    wall = {"tinyms": [], "hand": []}
    cpu = {"tinyms": [], "hand": []}
    for r in range(args.rounds + 1):
        order = (("tinyms", tinyms_train), ("hand", by_hand)) if r % 2 == 0 else \
            (("hand", by_hand), ("tinyms", tinyms_train))
        for name, fn in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            if r:
                wall[name].append((time.perf_counter() - start) / args.steps * 1000)
                cpu[name].append((time.process_time() - start_cpu) / args.steps * 1000)
    for what, timings in (("wall", wall), ("cpu", cpu)):
        ratios = [t / h for t, h in zip(timings["tinyms"], timings["hand"])]
        print(f"{what:4s} tinyms {statistics.median(timings['tinyms']):7.1f} ms/step "
              f"{[round(t, 1) for t in timings['tinyms']]}  by hand {statistics.median(timings['hand']):7.1f} ms/step "
              f"{[round(t, 1) for t in timings['hand']]}  ratio median {statistics.median(ratios):.3f} "
              f"{[round(x, 3) for x in ratios]}", flush=True)
    print(f"load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
