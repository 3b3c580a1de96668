"""CycleGAN training step: tinyms Model.train (the image_to_image task's step) vs the same networks by hand.

By hand is how a MindSpore user (and TinyMS 0.3's st/cycle_gan.py) drives a GAN: a
TrainOneStepCell-style generator step (the generators' loss cell, GradOperation, Adam), then a
discriminator step on the generated images, each its own compiled cell, called from Python. Two
variants:

- ``pool``: the image pool of 50. TinyMS keeps it in the graph; by hand it is 0.3's host-side
  GanImagePool (which reads the generated images back every step).
- ``nopool``: pool size 0 on both sides: the pure step machinery.

Both sides start from the same weights and see the same batches (one process, rounds
alternating, the first round of each side compiles and is not timed). Reports ms per step and
the ratio TinyMS / by hand (median over rounds), in wall time and in the process's CPU time.

    GLOG_v=3 python benchmarks/bench_gan.py [--size 64] [--batch 1] [--steps 30] [--rounds 3]
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
from tinyms.model import Model, create_model  # noqa: E402
from tinyms.model.zoo.cycle_gan import GanImagePool  # noqa: E402


def lsgan(scores, target):
    d = scores - target
    return (d * d).mean()


class GLoss(nn.Cell):
    """The generators' loss (LSGAN + cycle 10 + identity 0.5), and the generated images."""

    def __init__(self, g_a, g_b, d_a, d_b):
        super().__init__(auto_prefix=False)
        self.g_a, self.g_b, self.d_a, self.d_b = g_a, g_b, d_a, d_b

    def construct(self, a, b):
        fake_b = self.g_a(a)
        fake_a = self.g_b(b)
        loss = lsgan(self.d_b(fake_b), 1.0) + lsgan(self.d_a(fake_a), 1.0)
        loss = loss + ops.abs(self.g_b(fake_b) - a).mean() * 10.0 + ops.abs(self.g_a(fake_a) - b).mean() * 10.0
        loss = loss + (ops.abs(self.g_a(b) - b).mean() * 10.0 + ops.abs(self.g_b(a) - a).mean() * 10.0) * 0.5
        return loss, fake_a, fake_b


class LossOnly(nn.Cell):
    def __init__(self, net):
        super().__init__(auto_prefix=False)
        self.net = net

    def construct(self, a, b):
        loss, _, _ = self.net(a, b)
        return loss


class GStep(nn.Cell):
    """TinyMS 0.3's TrainOneStepG, written again: forward, gradients of the loss, Adam."""

    def __init__(self, g_loss, optimizer):
        super().__init__(auto_prefix=False)
        self.g_loss = g_loss
        self.net = LossOnly(g_loss)
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)

    def construct(self, a, b):
        loss, fake_a, fake_b = self.g_loss(a, b)
        sens = ops.fill(loss.dtype, loss.shape, 1.0)
        grads = self.grad(self.net, self.weights)(a, b, sens)
        return fake_a, fake_b, ops.depend(loss, self.optimizer(grads))


class DLoss(nn.Cell):
    def __init__(self, d_a, d_b):
        super().__init__(auto_prefix=False)
        self.d_a, self.d_b = d_a, d_b

    def construct(self, a, b, fake_a, fake_b):
        loss_a = (lsgan(self.d_a(a), 1.0) + lsgan(self.d_a(fake_a), 0.0)) * 0.5
        loss_b = (lsgan(self.d_b(b), 1.0) + lsgan(self.d_b(fake_b), 0.0)) * 0.5
        return loss_a + loss_b


class DStep(nn.Cell):
    def __init__(self, d_loss, optimizer):
        super().__init__(auto_prefix=False)
        self.d_loss = d_loss
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)

    def construct(self, a, b, fake_a, fake_b):
        loss = self.d_loss(a, b, fake_a, fake_b)
        sens = ops.fill(loss.dtype, loss.shape, 1.0)
        grads = self.grad(self.d_loss, self.weights)(a, b, fake_a, fake_b, sens)
        return ops.depend(loss, self.optimizer(grads))


def build(args, pool):
    tinyms.set_seed(0)
    return create_model("cycle_gan", image_size=args.size, ngf=args.ngf, ndf=args.ngf, n_blocks=args.blocks,
                        pool_size=pool)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="pool,nopool")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.steps * args.batch
    a = rng.uniform(-1, 1, (n, 3, args.size, args.size)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, 3, args.size, args.size)).astype(np.float32)

    def dataset():
        return ms.dataset.NumpySlicesDataset({"image_a": a, "image_b": b}, shuffle=False).batch(args.batch)

    print(f"CycleGAN {args.size}x{args.size}, ResNet generator {args.blocks} blocks, ngf=ndf={args.ngf}, "
          f"batch {args.batch}, {args.steps} steps per round, load {os.getloadavg()[0]:.1f}")
    for variant in args.variants.split(","):
        pool = 50 if variant == "pool" else 0
        model = Model(build(args, pool)).compile()
        hand_net = build(args, pool)
        ms.load_param_into_net(hand_net, {k: copy.deepcopy(v) for k, v in model.network.parameters_dict().items()})
        opt_g = nn.Adam(hand_net.generator_params(), 0.0002, beta1=0.5)
        opt_d = nn.Adam(hand_net.discriminator_params(), 0.0002, beta1=0.5)
        g_step = GStep(GLoss(hand_net.G_A, hand_net.G_B, hand_net.D_A, hand_net.D_B), opt_g)
        d_step = DStep(DLoss(hand_net.D_A, hand_net.D_B), opt_d)
        pools = (GanImagePool(pool, seed=0), GanImagePool(pool, seed=1))
        g_step.set_train(True)
        d_step.set_train(True)

        def by_hand():
            loss = None
            for x, y in dataset().create_tuple_iterator(num_epochs=1, do_copy=False):
                fake_a, fake_b, loss = g_step(x, y)
                if pool:
                    fake_a, fake_b = pools[0].query(fake_a), pools[1].query(fake_b)
                loss = d_step(x, y, fake_a, fake_b)
            loss.asnumpy()

        epoch = [0]

        def tinyms_train():
            model.train(epoch[0] + 1, dataset(), initial_epoch=epoch[0], verbose=0)
            epoch[0] += 1

        timings = {"tinyms": [], "hand": []}
        cpu = {"tinyms": [], "hand": []}
        for r in range(args.rounds + 1):
            for name, fn in (("tinyms", tinyms_train), ("hand", by_hand)) if r % 2 == 0 else \
                    (("hand", by_hand), ("tinyms", tinyms_train)):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                if r:
                    timings[name].append((time.perf_counter() - start) / args.steps * 1000)
                    cpu[name].append((time.process_time() - start_cpu) / args.steps * 1000)
        ratios = [t / h for t, h in zip(timings["tinyms"], timings["hand"])]
        cpu_ratios = [t / h for t, h in zip(cpu["tinyms"], cpu["hand"])]
        print(f"{variant:7s} tinyms {statistics.median(timings['tinyms']):7.1f} ms/step "
              f"{[round(t, 1) for t in timings['tinyms']]}  by hand {statistics.median(timings['hand']):7.1f} "
              f"ms/step {[round(t, 1) for t in timings['hand']]}  ratio median {statistics.median(ratios):.3f} "
              f"{[round(x, 3) for x in ratios]}  load {os.getloadavg()[0]:.1f}")
        # CPU time of the process (all threads) per step: on a loaded machine it counts the work, not the wait
        print(f"{variant:7s} cpu: tinyms {statistics.median(cpu['tinyms']):7.1f} ms/step  by hand "
              f"{statistics.median(cpu['hand']):7.1f} ms/step  ratio median {statistics.median(cpu_ratios):.3f} "
              f"{[round(x, 3) for x in cpu_ratios]}")


if __name__ == "__main__":
    main()
