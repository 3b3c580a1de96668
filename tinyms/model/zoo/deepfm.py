"""DeepFM for click-through prediction (TinyMS 0.3's ``deepfm``), and 0.3's training and evaluation wrappers.

DeepFM (Guo et al., 2017) adds three terms over a row's fields ``(id_f, val_f)``:

- first order: ``sum_f w[id_f] * val_f`` (a weight per id, ``fm_weight``);
- second order: the factorisation machine's pairwise interactions ``sum_{f<g} <v_f, v_g>`` with
  ``v_f = embedding[id_f] * val_f``, computed as ``0.5 * sum_k((sum_f v_fk)^2 - sum_f v_fk^2)``;
- deep: an MLP over the concatenated ``v_f`` (0.3's published widths 1024-512-256-128, then 1).

Inputs and outputs follow every tabular network (``tinyms.model.zoo.tabular``): ``(feat_ids,
feat_vals)`` in, logits (N, 1) out (0.3's network also returned its two tables; its wrappers
here read them from the network instead).
"""

from mindspore import Parameter, ParameterTuple, nn, ops

from ..._checks import positive_int
from ..registry import register_model
from .tabular import MLP, TABULAR_CFG, TabularNet, _normal_table, check_hidden, check_keep_prob, check_objective

__all__ = ["DeepFM", "deepfm", "DeepFMWithLoss", "DeepFMTrainModel", "DeepFMEvalModel", "DEEPFM_HIDDEN"]

#: the deep part's hidden widths TinyMS 0.3 published for Criteo
DEEPFM_HIDDEN = (1024, 512, 256, 128)


class DeepFM(TabularNet):
    """DeepFM: first-order weights, factorisation-machine interactions and an MLP, summed into one logit.

    Args:
        field_size (int): fields per row (39 for Criteo). Default 39.
        vocab_size (int): size of the shared id space. Default 184965 (0.3's Criteo vocabulary).
        embed_size (int): embedding width. Default 80.
        keep_prob (float): dropout keep probability in the MLP. Default 0.9.
        convert_dtype (bool): 0.3's switch for float16 matrix products on Ascend/GPU; accepted for
            its scripts. TinyMS computes in float32 (CPU has no faster float16 path).
        hidden (tuple of int): the MLP's hidden widths. Default 0.3's (1024, 512, 256, 128); use
            smaller ones for small tables.
        objective (str): ``"binary"`` (default) or ``"regression"``.
        l2_coef (float): the L2 penalty on ``embedding`` and ``fm_weight`` the tabular task's loss
            adds (``0.5 * l2_coef * sum of squares``, 0.3's DeepFMWithLoss). Default 1e-6.
        target_mean, target_scale (float): regression's output scale (values in the target's units).

    Inputs:
        feat_ids (int32 (N, F)), feat_vals (float32 (N, F)).

    Outputs:
        float32 Tensor (N, 1): logits (binary) or values (regression).
    """

    def __init__(self, field_size=39, vocab_size=184965, embed_size=80, keep_prob=0.9, convert_dtype=False,
                 hidden=DEEPFM_HIDDEN, objective="binary", l2_coef=1e-6, target_mean=0.0, target_scale=1.0):
        check_objective(objective, ("binary", "regression"), "deepfm")
        super().__init__(field_size, vocab_size, objective, 1, target_mean, target_scale, l2_coef)
        self.embed_size = positive_int(embed_size, "embed_size", 80)
        self.keep_prob = check_keep_prob(keep_prob)
        self.convert_dtype = bool(convert_dtype)
        self.hidden = check_hidden(hidden)
        self.embedding = Parameter(_normal_table(self.vocab_size, self.embed_size), name="embedding")
        self.fm_weight = Parameter(_normal_table(self.vocab_size, 1), name="fm_weight")
        self.deep = MLP(self.field_size * self.embed_size, self.hidden, 1, self.keep_prob)

    def l2_penalty(self):
        return self.sum(self.embedding * self.embedding) + self.sum(self.fm_weight * self.fm_weight)

    def construct(self, feat_ids, feat_vals):
        first = self.sum(self.embed(feat_ids, feat_vals, self.fm_weight), 1)           # (N, 1)
        v = self.embed(feat_ids, feat_vals, self.embedding)                              # (N, F, E)
        summed = self.sum(v, 1)
        second = 0.5 * self.sum_keep(summed * summed - self.sum(v * v, 1), 1)
        deep = self.deep(ops.reshape(v, (-1, self.field_size * self.embed_size)))
        return self.head(first + second + deep)


@register_model(**TABULAR_CFG)
def deepfm(field_size=39, vocab_size=184965, embed_size=80, keep_prob=0.9, convert_dtype=False, hidden=DEEPFM_HIDDEN,
           objective="binary", l2_coef=1e-6, target_mean=0.0, target_scale=1.0, class_num=None):
    """Build DeepFM (TinyMS 0.3's signature first; Criteo's sizes by default).

    Args:
        field_size (int): fields per row (``FeatureSpec.field_size``). Default 39 (Criteo).
        vocab_size (int): size of the shared id space (``FeatureSpec.vocab_size``). Default 184965.
            The embedding table holds ``vocab_size * embed_size`` float32 numbers (59 MB by default).
        embed_size (int): embedding width. Default 80.
        keep_prob (float): dropout keep probability in the MLP. Default 0.9.
        convert_dtype (bool): accepted for 0.3's scripts (float32 is used on CPU).
        hidden (tuple of int): the MLP's hidden widths. Default (1024, 512, 256, 128).
        objective (str): ``"binary"`` (default) or ``"regression"``.
        l2_coef (float): L2 on ``embedding`` and ``fm_weight`` in the task's loss. Default 1e-6.
        target_mean, target_scale (float): for regression, outputs in the target's units.
        class_num (int): ignored (the registry passes it to every builder).

    Returns:
        DeepFM: an untrained network; ``default_cfg.task`` is ``"tabular"``.

    Raises:
        TypeError, ValueError: a size, probability or objective out of range.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, deepfm
        >>> net = deepfm(field_size=3, vocab_size=50, embed_size=4, hidden=(16, 8))
        >>> ids = np.array([[0, 10, 40], [1, 11, 49]], np.int32)
        >>> vals = np.array([[0.5, 1.0, 1.0], [-0.3, 1.0, 1.0]], np.float32)
        >>> logits = Model(net).predict((ids, vals))
        >>> logits.shape, net.objective, net.default_cfg.input_shape
        ((2, 1), 'binary', (3,))
    """
    return DeepFM(field_size, vocab_size, embed_size, keep_prob, convert_dtype, hidden, objective, l2_coef,
                  target_mean, target_scale)


# ------------------------------------------------------------------------------------------- 0.3's wrappers
class DeepFMWithLoss(nn.Cell):
    """DeepFM's training loss (TinyMS 0.3's name): mean sigmoid cross-entropy plus L2 on the id tables.

    ``loss = mean(BCE(logits, labels)) + 0.5 * l2_coef * (sum(embedding^2) + sum(fm_weight^2))``.

    Args:
        network (DeepFM): the network (any tabular network: its ``l2_penalty()`` is what is penalised).
        l2_coef (float): the L2 coefficient. Default 1e-6.

    Inputs:
        feat_ids (int32 (N, F)), feat_vals (float32 (N, F)), labels (float32 (N, 1) of 0/1).

    Outputs:
        float32 scalar Tensor: the loss.

    Example:
        >>> from tinyms.model import DeepFMWithLoss, deepfm
        >>> loss_net = DeepFMWithLoss(deepfm(field_size=3, vocab_size=50, embed_size=4, hidden=(8,)))
    """

    def __init__(self, network, l2_coef=1e-6):
        super().__init__(auto_prefix=False)
        self.network = network
        self.l2_coef = float(l2_coef)
        self.penalised = hasattr(network, "l2_penalty") and self.l2_coef > 0
        self.bce = ops.SigmoidCrossEntropyWithLogits()

    def construct(self, feat_ids, feat_vals, labels):
        logits = self.network(feat_ids, feat_vals)
        labels = ops.reshape(ops.cast(labels, logits.dtype), ops.shape(logits))
        loss = ops.reduce_mean(self.bce(logits, labels))
        if self.penalised:
            loss = loss + 0.5 * self.l2_coef * self.network.l2_penalty()
        return loss


class DeepFMTrainModel(nn.Cell):
    """A whole DeepFM training step with its own Adam (TinyMS 0.3's name): ``Model(DeepFMTrainModel(...))`` trains it.

    The loss's gradient is multiplied by ``loss_scale`` and the optimizer divides it back (0.3's
    fixed loss scale; in float32 it changes nothing but rounding).

    Args:
        network (Cell): the network with its loss, e.g. ``DeepFMWithLoss(deepfm())``, called as
            ``network(feat_ids, feat_vals, labels)``.
        learning_rate (float): Adam's learning rate. Default 0.0005.
        eps (float): Adam's epsilon. Default 5e-8.
        loss_scale (float): the fixed loss scale. Default 1024.0.

    Inputs:
        feat_ids, feat_vals, labels: one batch.

    Outputs:
        float32 scalar Tensor: the step's loss (before the update).

    Example:
        >>> from tinyms.model import DeepFMTrainModel, DeepFMWithLoss, Model, deepfm
        >>> net = deepfm(field_size=3, vocab_size=50, embed_size=4, hidden=(8,))
        >>> model = Model(DeepFMTrainModel(DeepFMWithLoss(net)))
    """

    def __init__(self, network, learning_rate=0.0005, eps=5e-8, loss_scale=1024.0):
        super().__init__(auto_prefix=False)
        self.network = network
        self.network.set_train()
        self.weights = ParameterTuple(network.trainable_params())
        self.optimizer = nn.Adam(self.weights, learning_rate=learning_rate, eps=eps, loss_scale=loss_scale)
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.sens = float(loss_scale)
        self.grad_reducer = _grad_reducer(self.optimizer.parameters)
        self.reduce = self.grad_reducer is not None

    def construct(self, feat_ids, feat_vals, labels):
        loss = self.network(feat_ids, feat_vals, labels)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(feat_ids, feat_vals, labels, sens)
        if self.reduce:
            grads = self.grad_reducer(grads)
        return ops.depend(loss, self.optimizer(grads))


def _grad_reducer(parameters):
    """The cell averaging gradients across data-parallel workers (under msrun), or None."""
    from mindspore import context  # noqa: PLC0415
    from mindspore.context import ParallelMode  # noqa: PLC0415

    if context.get_auto_parallel_context("parallel_mode") in (ParallelMode.DATA_PARALLEL,
                                                               ParallelMode.HYBRID_PARALLEL):
        from mindspore.communication import get_group_size  # noqa: PLC0415

        mean = context.get_auto_parallel_context("gradients_mean")
        return nn.DistributedGradReducer(parameters, mean, get_group_size())
    return None


class DeepFMEvalModel(nn.Cell):
    """DeepFM's evaluation network (TinyMS 0.3's name): ``(logits, probabilities, labels)`` for a batch.

    Give it to ``Model.compile(eval_network=...)``: each batch's outputs go to every metric, e.g.
    ``tinyms.metrics.AUCMetric``, which reads the probabilities and labels.

    Args:
        network (DeepFM): the (binary) network.

    Inputs:
        feat_ids, feat_vals, labels: one batch.

    Outputs:
        tuple: logits (N, 1), sigmoid probabilities (N, 1), the labels as given.

    Example:
        >>> from tinyms.model import DeepFMEvalModel, deepfm
        >>> eval_net = DeepFMEvalModel(deepfm(field_size=3, vocab_size=50, embed_size=4, hidden=(8,)))
    """

    def __init__(self, network):
        super().__init__(auto_prefix=False)
        self.network = network

    def construct(self, feat_ids, feat_vals, labels):
        logits = self.network(feat_ids, feat_vals)
        return logits, ops.sigmoid(logits), labels

