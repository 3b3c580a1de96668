"""Networks for tables: Wide & Deep and a plain MLP (DeepFM is in ``deepfm.py``), and what they share.

Every tabular network takes a table's rows in TinyMS's encoded form (``tinyms.data.FeatureSpec``):
two aligned (N, F) tensors over the table's F fields,

- ``feat_ids`` int32: one id per field, all fields sharing one id space ``0..vocab_size-1``
  (a categorical value's id, or a numeric field's own id);
- ``feat_vals`` float32: each field's value (the transformed number; 1.0 for a categorical value),

and every field contributes ``embedding[id] * value``. A network returns one tensor: logits
(N, 1) for ``objective="binary"``, values (N, 1) in the target's own units for
``"regression"`` (the last layer's output times ``target_scale`` plus ``target_mean``, so the
layers work on a standardised target), logits (N, classes) for ``"multiclass"``. Every network has
``field_size``, ``vocab_size``, ``objective``, ``l2_coef``, ``target_mean``, ``target_scale``,
and a ``default_cfg`` whose ``task`` is ``"tabular"`` (``tinyms.model.tasks``), which builds the
loss from the objective, so ``Model(net).compile(optimizer="adam")`` trains it.

They use only operators MindSpore exports to ONNX (Gather, Mul, ReduceSum, MatMul), so
``Model.export((feat_ids, feat_vals), path, "ONNX")`` works.
"""

import numbers

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from ..._checks import positive_int
from ..registry import register_model

__all__ = ["OBJECTIVES", "TabularNet", "WideDeep", "TabularMLP", "wide_deep", "tabular_mlp", "TABULAR_CFG"]

#: what a tabular network predicts
OBJECTIVES = ("binary", "regression", "multiclass")

#: ``register_model`` arguments of every tabular network; ``input_shape`` becomes ``(field_size,)``
TABULAR_CFG = dict(input_shape=(39,), mean=(), std=(), labels=(), dataset="", task="tabular",
                   mindcv_weights=False)


def check_objective(objective, allowed=OBJECTIVES, network="this network"):
    """``objective`` if it is one of ``allowed``, else a ValueError naming the choices."""
    if objective not in allowed:
        extra = "" if allowed == OBJECTIVES else "; for multiclass use tabular_mlp(objective='multiclass', num_outputs=C)"
        raise ValueError(f"objective must be one of {', '.join(map(repr, allowed))} for {network}, got "
                         f"{objective!r}{extra}")
    return objective


def check_keep_prob(keep_prob):
    """``keep_prob`` as a float in (0, 1], else a ValueError."""
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real) or not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must be a number in (0, 1] (the share of units dropout keeps), got {keep_prob!r}")
    return float(keep_prob)


def check_hidden(hidden):
    """``hidden`` as a tuple of positive ints (may be empty)."""
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    try:
        sizes = tuple(hidden)
    except TypeError:
        raise TypeError(f"hidden must be a tuple of layer widths, e.g. (256, 128), got {hidden!r}") from None
    return tuple(positive_int(h, "hidden sizes", 128) for h in sizes)


def _normal_table(rows, cols, std=0.01):
    """A (rows, cols) float32 Parameter value drawn from N(0, std) (MindSpore's seeded generator)."""
    from mindspore import float32  # noqa: PLC0415
    from mindspore.common.initializer import Normal, initializer  # noqa: PLC0415

    return initializer(Normal(sigma=std), (rows, cols), float32)


class MLP(nn.Cell):
    """Dense + ReLU (+ dropout) layers of widths ``hidden``, then a linear Dense to ``out_dim``.

    Args:
        in_dim (int): input width.
        hidden (tuple of int): hidden layer widths (may be empty: one linear layer).
        out_dim (int): output width.
        keep_prob (float): share of each hidden layer's units kept by dropout in training.

    Inputs:
        x: float32 Tensor (N, in_dim).

    Outputs:
        float32 Tensor (N, out_dim).
    """

    def __init__(self, in_dim, hidden, out_dim, keep_prob=1.0):
        super().__init__()
        layers, width = [], in_dim
        for size in hidden:
            layers.append(nn.Dense(width, size, activation="relu"))
            if keep_prob < 1.0:
                layers.append(nn.Dropout(p=1.0 - keep_prob))
            width = size
        layers.append(nn.Dense(width, out_dim))
        self.layers = nn.SequentialCell(layers)

    def construct(self, x):
        return self.layers(x)


class TabularNet(nn.Cell):
    """What every tabular network shares: its sizes, objective, output head and config.

    Args:
        field_size (int): F, the fields per row.
        vocab_size (int): the size of the shared id space (``FeatureSpec.vocab_size``).
        objective (str): ``"binary"``, ``"regression"`` or ``"multiclass"``.
        num_outputs (int): the last layer's width (1, or the classes for multiclass).
        target_mean, target_scale (float): regression outputs are ``raw * target_scale +
            target_mean`` (the label's mean and spread, ``FeatureSpec.label_mean/label_scale``).
        l2_coef (float): the L2 penalty the tabular task's loss puts on the id tables.
    """

    #: the task (``tinyms.model.tasks``), also for a network built from its class (without a registry config)
    task = "tabular"

    def __init__(self, field_size, vocab_size, objective="binary", num_outputs=1, target_mean=0.0,
                 target_scale=1.0, l2_coef=0.0):
        super().__init__()
        self.field_size = positive_int(field_size, "field_size", 39)
        self.vocab_size = positive_int(vocab_size, "vocab_size", 184965)
        self.objective = check_objective(objective)
        self.num_outputs = positive_int(num_outputs, "num_outputs", 1)
        if self.objective == "multiclass" and self.num_outputs < 2:
            raise ValueError("a multiclass network needs num_outputs= the number of classes (2 or more)")
        if self.objective != "multiclass" and self.num_outputs != 1:
            raise ValueError(f"a {self.objective} network has one output; num_outputs={num_outputs} is for "
                             f"objective='multiclass'")
        if self.objective == "multiclass":
            self.class_num = self.num_outputs  # the registry names the labels '0'..'C-1'
        if not (isinstance(target_scale, numbers.Real) and np.isfinite(target_scale) and target_scale > 0):
            raise ValueError(f"target_scale must be a positive number (the target's spread), got {target_scale!r}")
        if not (isinstance(target_mean, numbers.Real) and np.isfinite(target_mean)):
            raise ValueError(f"target_mean must be a finite number, got {target_mean!r}")
        if not (isinstance(l2_coef, numbers.Real) and l2_coef >= 0):
            raise ValueError(f"l2_coef must be a number >= 0, got {l2_coef!r}")
        self.target_mean = float(target_mean)
        self.target_scale = float(target_scale)
        self.l2_coef = float(l2_coef)
        self.num_channel = self.field_size  # the registry sizes default_cfg.input_shape to (field_size,) from it
        self._regression = self.objective == "regression"
        self.sum = ops.ReduceSum()
        self.sum_keep = ops.ReduceSum(keep_dims=True)
        self.gather = ops.Gather()

    def l2_penalty(self):
        """The sum of squares of the id tables the task's L2 penalty (``l2_coef``) covers."""
        return self.sum(self.embedding * self.embedding)

    def head(self, out):
        """The network's output from the last layer's: target units for regression."""
        if self._regression:
            return out * self.target_scale + self.target_mean
        return out

    def embed(self, feat_ids, feat_vals, table):
        """``table[feat_ids] * feat_vals``: (N, F, width)."""
        vals = ops.reshape(feat_vals, (-1, self.field_size, 1))
        return self.gather(table, feat_ids, 0) * vals


class WideDeep(TabularNet):
    """Wide & Deep: a linear model over the ids (wide) plus an MLP over their embeddings (deep).

    The output is ``sum_f w[id_f] * val_f + b + MLP(concat_f(embedding[id_f] * val_f))``.

    Args:
        field_size (int): fields per row.
        vocab_size (int): size of the id space.
        embed_size (int): embedding width.
        hidden (tuple of int): the deep part's hidden widths.
        keep_prob (float): dropout keep probability in the deep part.
        objective (str): ``"binary"`` or ``"regression"``.
        target_mean, target_scale (float): regression's output scale (see :class:`TabularNet`).
        l2_coef (float): L2 on the wide weights and the embeddings in the task's loss.

    Inputs:
        feat_ids (int32 (N, F)), feat_vals (float32 (N, F)).

    Outputs:
        float32 Tensor (N, 1): logits (binary) or values (regression).
    """

    def __init__(self, field_size, vocab_size, embed_size=32, hidden=(256, 128), keep_prob=0.9,
                 objective="binary", target_mean=0.0, target_scale=1.0, l2_coef=0.0):
        check_objective(objective, ("binary", "regression"), "wide_deep")
        super().__init__(field_size, vocab_size, objective, 1, target_mean, target_scale, l2_coef)
        self.embed_size = positive_int(embed_size, "embed_size", 32)
        self.hidden = check_hidden(hidden)
        self.keep_prob = check_keep_prob(keep_prob)
        self.wide_weight = Parameter(_normal_table(self.vocab_size, 1), name="wide_weight")
        self.wide_bias = Parameter(Tensor(np.zeros((1,), np.float32)), name="wide_bias")
        self.embedding = Parameter(_normal_table(self.vocab_size, self.embed_size), name="embedding")
        self.deep = MLP(self.field_size * self.embed_size, self.hidden, 1, self.keep_prob)

    def l2_penalty(self):
        return self.sum(self.wide_weight * self.wide_weight) + self.sum(self.embedding * self.embedding)

    def construct(self, feat_ids, feat_vals):
        wide = self.sum(self.embed(feat_ids, feat_vals, self.wide_weight), 1) + self.wide_bias
        deep_in = ops.reshape(self.embed(feat_ids, feat_vals, self.embedding), (-1, self.field_size * self.embed_size))
        return self.head(wide + self.deep(deep_in))


class TabularMLP(TabularNet):
    """A plain MLP over the fields' embeddings, for binary, regression or multiclass targets.

    Args:
        field_size (int): fields per row.
        vocab_size (int): size of the id space.
        embed_size (int): embedding width.
        hidden (tuple of int): hidden widths.
        keep_prob (float): dropout keep probability.
        num_outputs (int): 1, or the number of classes for multiclass.
        objective (str): ``"binary"``, ``"regression"`` or ``"multiclass"``.
        target_mean, target_scale (float): regression's output scale (see :class:`TabularNet`).
        l2_coef (float): L2 on the embeddings in the task's loss.

    Inputs:
        feat_ids (int32 (N, F)), feat_vals (float32 (N, F)).

    Outputs:
        float32 Tensor (N, num_outputs): logits, or values in the target's units (regression).
    """

    def __init__(self, field_size, vocab_size, embed_size=16, hidden=(256, 128), keep_prob=0.9, num_outputs=1,
                 objective="binary", target_mean=0.0, target_scale=1.0, l2_coef=0.0):
        super().__init__(field_size, vocab_size, objective, num_outputs, target_mean, target_scale, l2_coef)
        self.embed_size = positive_int(embed_size, "embed_size", 16)
        self.hidden = check_hidden(hidden)
        self.keep_prob = check_keep_prob(keep_prob)
        self.embedding = Parameter(_normal_table(self.vocab_size, self.embed_size), name="embedding")
        self.mlp = MLP(self.field_size * self.embed_size, self.hidden, self.num_outputs, self.keep_prob)

    def construct(self, feat_ids, feat_vals):
        x = ops.reshape(self.embed(feat_ids, feat_vals, self.embedding), (-1, self.field_size * self.embed_size))
        return self.head(self.mlp(x))


@register_model(**TABULAR_CFG)
def wide_deep(field_size, vocab_size, embed_size=32, hidden=(256, 128), keep_prob=0.9, objective="binary",
              target_mean=0.0, target_scale=1.0, l2_coef=0.0, class_num=None):
    """Build a Wide & Deep network for a table of ``field_size`` fields over ``vocab_size`` ids.

    Args:
        field_size (int): fields per row (``FeatureSpec.field_size``).
        vocab_size (int): size of the shared id space (``FeatureSpec.vocab_size``).
        embed_size (int): embedding width. Default 32.
        hidden (tuple of int): the deep part's hidden widths. Default (256, 128).
        keep_prob (float): dropout keep probability. Default 0.9.
        objective (str): ``"binary"`` (default) or ``"regression"``.
        target_mean, target_scale (float): for regression, the target's mean and spread
            (``FeatureSpec.label_mean``/``label_scale``): outputs are in the target's units.
        l2_coef (float): L2 penalty on the id tables in the task's loss. Default 0.
        class_num (int): ignored (the registry passes it to every builder).

    Returns:
        WideDeep: an untrained network; ``default_cfg.task`` is ``"tabular"``.

    Raises:
        TypeError, ValueError: a size, probability or objective out of range.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, wide_deep
        >>> net = wide_deep(field_size=3, vocab_size=20, embed_size=4, hidden=(8,))
        >>> ids = np.array([[0, 5, 12], [1, 7, 19]], np.int32)
        >>> vals = np.array([[0.3, 1.0, 1.0], [-1.2, 1.0, 1.0]], np.float32)
        >>> Model(net).predict((ids, vals)).shape, net.default_cfg.task
        ((2, 1), 'tabular')
    """
    return WideDeep(field_size, vocab_size, embed_size, hidden, keep_prob, objective, target_mean, target_scale,
                    l2_coef)


@register_model(**TABULAR_CFG)
def tabular_mlp(field_size, vocab_size, embed_size=16, hidden=(256, 128), keep_prob=0.9, num_outputs=None,
                objective="binary", target_mean=0.0, target_scale=1.0, l2_coef=0.0, class_num=None):
    """Build an MLP over a table's field embeddings: binary, regression or multiclass.

    Args:
        field_size (int): fields per row (``FeatureSpec.field_size``).
        vocab_size (int): size of the shared id space (``FeatureSpec.vocab_size``).
        embed_size (int): embedding width. Default 16.
        hidden (tuple of int): hidden widths. Default (256, 128).
        keep_prob (float): dropout keep probability. Default 0.9.
        num_outputs (int): the number of classes for multiclass (or ``class_num``); 1 otherwise.
        objective (str): ``"binary"`` (default), ``"regression"`` or ``"multiclass"``.
        target_mean, target_scale (float): for regression, the target's mean and spread: outputs
            are in the target's units.
        l2_coef (float): L2 penalty on the embeddings in the task's loss. Default 0.
        class_num (int): the registry's name for ``num_outputs`` (multiclass only).

    Returns:
        TabularMLP: an untrained network; ``default_cfg.task`` is ``"tabular"``.

    Raises:
        TypeError, ValueError: a size, probability or objective out of range, or multiclass
            without a class count.

    Example:
        >>> import numpy as np
        >>> from tinyms.model import Model, tabular_mlp
        >>> net = tabular_mlp(field_size=2, vocab_size=10, hidden=(8,), objective="multiclass", num_outputs=3)
        >>> ids, vals = np.array([[0, 4]], np.int32), np.array([[0.5, 1.0]], np.float32)
        >>> Model(net).predict((ids, vals)).shape
        (1, 3)
    """
    if num_outputs is None:
        num_outputs = class_num if objective == "multiclass" and class_num else 1
    return TabularMLP(field_size, vocab_size, embed_size, hidden, keep_prob, num_outputs, objective, target_mean,
                      target_scale, l2_coef)
