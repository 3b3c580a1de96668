"""Private: the two-optimizer training step of image-to-image models (CycleGAN, pix2pix).

One compiled cell runs a whole GAN step: the generators' losses and gradients, the generator
optimizer's update, the generated images through the discriminators' image pools, then the
discriminators' losses, gradients and update. It returns every loss as one vector, named by
the network's ``loss_names`` after ``loss`` (= loss_G + loss_D), which the training loop
records by name.
"""

import copy

from mindspore import Parameter, ParameterTuple, nn, ops

from ..errors import UnknownNameError

__all__ = ["GanOptimizers", "GanTrainStep", "STATE_PREFIX"]

#: names of state kept beside the network in checkpoints: the discriminator optimizer's
#: counters (which would clash with the generator optimizer's) and the image pools
STATE_PREFIX = "opt_state."


class GanOptimizers(nn.Cell):
    """The generator and discriminator optimizers of a GAN (and its image pools), as ``Model.optimizer``.

    It reads like one optimizer where TinyMS asks one: ``learning_rate`` and ``global_step`` are
    the generator optimizer's first (History's ``lr``), ``get_parameters()`` yields both
    optimizers' state and the pools' images for checkpoints. The discriminator optimizer's own
    counters and the pools are named ``opt_state.*`` so that nothing clashes.

    Args:
        generator (Optimizer): updates the generators.
        discriminator (Optimizer): updates the discriminators.
        pools (tuple): the network's image pools (:class:`~tinyms.model.zoo.cycle_gan.ImagePool`).
    """

    def __init__(self, generator, discriminator, pools=()):
        super().__init__(auto_prefix=False)
        self.generator = generator
        self.discriminator = discriminator
        self.pools = nn.CellList(list(pools), auto_prefix=False) if pools else None
        taken = {p.name for p in generator.get_parameters()}
        weights = {id(p) for p in discriminator.parameters}
        for param in discriminator.get_parameters():
            if id(param) not in weights and param.name in taken:
                param.name = f"{STATE_PREFIX}discriminator.{param.name}"
        for pool in pools:
            for param in pool.get_parameters():
                if not param.name.startswith(STATE_PREFIX):
                    param.name = STATE_PREFIX + param.name

    @property
    def learning_rate(self):
        """The generator's rate first (what History reports), then the discriminator's and the schedules' tables."""
        holders = [self.generator.learning_rate, self.discriminator.learning_rate]
        tables = []
        for holder in holders:
            if hasattr(holder, "get_parameters"):
                tables += list(holder.get_parameters())
        return holders + tables

    @property
    def global_step(self):
        return self.generator.global_step

    @property
    def dynamic_lr(self):
        return bool(self.generator.dynamic_lr and self.discriminator.dynamic_lr)

    @property
    def parameters(self):
        return ParameterTuple(list(self.generator.parameters) + list(self.discriminator.parameters))

    def construct(self, *grads):  # not called: the step calls each optimizer
        raise TypeError("GanOptimizers is not called; GanTrainStep calls its generator and discriminator")


def clone_optimizer(optimizer, params):
    """A new optimizer of ``optimizer``'s class and settings (MindSpore records them in
    ``init_args``) over ``params``, with the same learning rate or schedule.

    Raises:
        TypeError: the optimizer does not record its settings.
    """
    import numpy as np  # noqa: PLC0415

    cls = type(optimizer)
    recorded = getattr(optimizer, "init_args", None)
    if not isinstance(recorded, dict):
        raise TypeError(f"cannot make a discriminator optimizer like the given {cls.__name__} (it does not record "
                        f"its settings): pass two, compile(optimizer=(generator_optimizer, discriminator_optimizer))")
    kwargs = {k: v for k, v in recorded.items() if k not in ("kwargs", "params", "learning_rate")}
    kwargs.update(recorded.get("kwargs") or {})
    lr = optimizer.learning_rate
    inner = getattr(lr, "learning_rate", None)
    if type(lr).__name__ == "_IteratorLearningRate" and inner is not None:
        lr = ms_tensor(inner.asnumpy().copy())
    elif isinstance(lr, Parameter):
        lr = float(np.asarray(lr.asnumpy()).ravel()[0])
    elif isinstance(lr, nn.Cell):
        lr = copy.deepcopy(lr)  # a LearningRateSchedule: the same rule, its own cell
    return cls(params, learning_rate=lr, **kwargs)


def ms_tensor(array):
    from mindspore import Tensor  # noqa: PLC0415

    return Tensor(array)


def _build(spec, params, learning_rate, what):
    from .. import optimizers as _optimizers  # noqa: PLC0415

    if isinstance(spec, str):
        if spec.lower() == "adam":  # the GAN papers' Adam
            lr = 0.0002 if learning_rate is None else learning_rate
            return nn.Adam(params, learning_rate=lr, beta1=0.5, beta2=0.999)
        return _optimizers.get(spec, params, learning_rate)
    if isinstance(spec, nn.Optimizer):
        if learning_rate is not None:
            raise ValueError("learning_rate= applies to optimizers given by name; an optimizer instance has its own")
        own = {id(p) for p in spec.parameters}
        if own == {id(p) for p in params}:
            return spec
        return clone_optimizer(spec, params)
    raise TypeError(f"the {what} optimizer must be a name ('adam'...) or a MindSpore optimizer, "
                    f"got {type(spec).__name__}")


def gan_optimizers(network, optimizer=None, learning_rate=None):
    """The :class:`GanOptimizers` for ``network`` from what ``Model.compile`` was given.

    - None: Adam (``learning_rate`` or 0.0002, beta1 0.5) for the generators and another for
      the discriminators, the GAN papers' choice.
    - A name: two optimizers of that name (``"adam"`` means the papers' Adam, beta1 0.5).
    - One optimizer instance: used for the generators when built over exactly their parameters
      (else rebuilt over them with its settings), and a copy with the same settings for the
      discriminators.
    - Two (a tuple/list, or a dict with keys ``"generator"`` / ``"discriminator"``): each as above.
    """
    if isinstance(optimizer, GanOptimizers):
        return optimizer
    g_params, d_params = network.generator_params(), network.discriminator_params()
    if isinstance(optimizer, dict):
        unknown = set(optimizer) - {"generator", "discriminator"}
        if unknown or len(optimizer) != 2:
            raise UnknownNameError(f"compile(optimizer={{...}}) takes the keys 'generator' and 'discriminator', "
                                   f"got {sorted(optimizer)}")
        optimizer = (optimizer["generator"], optimizer["discriminator"])
    if isinstance(optimizer, (tuple, list)):
        if len(optimizer) != 2:
            raise ValueError(f"a GAN takes two optimizers (generator, discriminator), got {len(optimizer)}")
        g_spec, d_spec = optimizer
    else:
        g_spec = d_spec = "adam" if optimizer is None else optimizer
    g_opt = _build(g_spec, g_params, learning_rate, "generator")
    if d_spec is g_spec and isinstance(g_spec, nn.Optimizer):
        d_opt = clone_optimizer(g_opt, d_params)
    else:
        d_opt = _build(d_spec, d_params, learning_rate, "discriminator")
    return GanOptimizers(g_opt, d_opt, network.pools())


class _GeneratorLoss(nn.Cell):
    def __init__(self, network):
        super().__init__(auto_prefix=False)
        self.network = network

    def construct(self, image_a, image_b):
        return self.network.generator_losses(image_a, image_b)


class _DiscriminatorLoss(nn.Cell):
    def __init__(self, network):
        super().__init__(auto_prefix=False)
        self.network = network

    def construct(self, image_a, image_b, fakes):
        return self.network.discriminator_losses(image_a, image_b, *fakes)


class GanTrainStep(nn.Cell):
    """One GAN training step: update the generators, then the discriminators (on pooled fakes).

    Args:
        network (CycleGAN or Pix2Pix): the model.
        optimizers (GanOptimizers): its optimizers and pools.

    Returns:
        Tensor: from ``step(image_a, image_b, pool_plans)``: float32 (1 + len(loss_names),),
        ``loss`` (loss_G + loss_D) then the network's ``loss_names`` in order. ``pool_plans``
        is a tuple of 4 int32 Tensors per pool, :meth:`ImagePool.plan`'s arrays (empty
        without pools).
    """

    def __init__(self, network, optimizers):
        super().__init__(auto_prefix=False)
        self.network = network
        self.optimizers = optimizers
        self.opt_g = optimizers.generator
        self.opt_d = optimizers.discriminator
        self.pools = optimizers.pools
        self.n_pools = len(optimizers.pools) if optimizers.pools is not None else 0
        self.g_loss = _GeneratorLoss(network)
        self.d_loss = _DiscriminatorLoss(network)
        self.g_grad = ops.value_and_grad(self.g_loss, None, self.opt_g.parameters, has_aux=True)
        self.d_grad = ops.value_and_grad(self.d_loss, None, self.opt_d.parameters, has_aux=True)
        self.loss_names = ("loss",) + tuple(network.loss_names)

    def construct(self, image_a, image_b, pool_plans):
        (loss_g, g_parts, fakes), g_grads = self.g_grad(image_a, image_b)
        g_done = self.opt_g(g_grads)
        pooled = ()
        for k in range(len(fakes)):
            fake = ops.depend(ops.stop_gradient(fakes[k]), g_done)
            if k < self.n_pools:
                fake = self.pools[k](fake, pool_plans[4 * k], pool_plans[4 * k + 1], pool_plans[4 * k + 2],
                                     pool_plans[4 * k + 3])
            pooled = pooled + (fake,)
        (loss_d, d_parts), d_grads = self.d_grad(image_a, image_b, pooled)
        d_done = self.opt_d(d_grads)
        losses = ops.stack((loss_g + loss_d, loss_g, loss_d) + g_parts + d_parts)
        return ops.depend(losses, d_done)
