"""BERT (Devlin et al., 2018) for sequence classification, written on MindSpore's own layers.

The encoder is the published BERT's: word + position + token-type embeddings with a LayerNorm,
``num_layers`` post-LN transformer layers (multi-head self-attention, a GELU feed-forward block),
a tanh pooler over the first token (``[CLS]``), then dropout and a dense classifier. The sizes of
``bert_tiny``/``bert_mini``/``bert_small``/``bert_base`` are those of Google's published
checkpoints (Turc et al., 2019 for the miniatures), so their weights load by name with
:func:`tinyms.model.load_bert_weights`.

Inputs are ``int32`` token ids ``(N, L)`` padded with id 0 (tinyms.text's pad id, BERT's
``[PAD]``); padded positions are masked out of attention, so padding never changes the logits.
"""

import dataclasses
import math

import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import TruncatedNormal, initializer

from ...errors import InputShapeError
from ..registry import register_model

__all__ = ["BertConfig", "BertClassifier", "BertEmbeddings", "BertLayer", "bert_tiny", "bert_mini", "bert_small",
           "bert_base", "BERT_SIZES"]

#: (layers, hidden size, attention heads) of Google's published BERT checkpoints.
BERT_SIZES = {
    "bert_tiny": (2, 128, 2),
    "bert_mini": (4, 256, 4),
    "bert_small": (4, 512, 8),
    "bert_base": (12, 768, 12),
}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The sizes and constants of a BERT encoder (the published checkpoints' ``config.json`` fields).

    Attributes:
        vocab_size: rows of the word embedding (30522 for the uncased English vocab.txt).
        hidden_size: width of every token's vector.
        num_layers: transformer layers.
        num_heads: attention heads per layer (``hidden_size`` must be a multiple).
        intermediate_size: width of the feed-forward block (4 x hidden in the published models).
        max_position: rows of the position embedding, the longest input (512).
        type_vocab_size: rows of the token-type (segment) embedding (2).
        dropout: dropout after embeddings, attention output, feed-forward and before the classifier.
        attention_dropout: dropout on the attention probabilities.
        layer_norm_eps: LayerNorm's epsilon (1e-12).
        initializer_range: standard deviation of the truncated-normal initial weights.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_position: int = 512
    type_vocab_size: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position",
                     "type_vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"BertConfig.hidden_size ({self.hidden_size}) must be a multiple of num_heads "
                             f"({self.num_heads})")
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {value!r}")

    @classmethod
    def sized(cls, name, **overrides):
        """The config of a published size (``"bert_tiny"``...), with ``overrides``.

        Example:
            >>> from tinyms.model.zoo.bert import BertConfig
            >>> BertConfig.sized("bert_tiny").intermediate_size
            512
        """
        layers, hidden, heads = BERT_SIZES[name]
        fields = dict(num_layers=layers, hidden_size=hidden, num_heads=heads, intermediate_size=4 * hidden)
        fields.update(overrides)
        return cls(**fields)


def _dense(cfg, fan_in, fan_out):
    return nn.Dense(fan_in, fan_out, weight_init=TruncatedNormal(cfg.initializer_range), bias_init="zeros")


def _norm(cfg):
    return nn.LayerNorm((cfg.hidden_size,), epsilon=cfg.layer_norm_eps)


def _table(cfg, rows, name):
    return ms.Parameter(initializer(TruncatedNormal(cfg.initializer_range), (rows, cfg.hidden_size), ms.float32),
                        name=name)


class BertEmbeddings(nn.Cell):
    """Token ids -> word + position + token-type (segment 0) vectors, normalised."""

    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = _table(cfg, cfg.vocab_size, "word_embeddings")
        self.position_embeddings = _table(cfg, cfg.max_position, "position_embeddings")
        self.token_type_embeddings = _table(cfg, cfg.type_vocab_size, "token_type_embeddings")
        self.norm = _norm(cfg)
        self.dropout = nn.Dropout(p=cfg.dropout)
        self.gather = ops.Gather()

    def construct(self, input_ids):
        length = input_ids.shape[1]
        words = self.gather(self.word_embeddings, input_ids, 0)
        x = words + self.position_embeddings[:length] + self.token_type_embeddings[0]
        return self.dropout(self.norm(x))


class ExactGELU(nn.Cell):
    """GELU with the error function, x * (1 + erf(x / sqrt(2))) / 2, from ops ONNX export supports.

    MindSpore cannot export its Erf op to ONNX, so erf is evaluated with Abramowitz and Stegun's
    rational approximation 7.1.26 (absolute error below 1.5e-7, under float32's resolution of
    GELU's output), the same in training, in MindSpore inference and in an exported ONNX file.
    """

    def __init__(self):
        super().__init__()
        self.coefficients = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)

    def construct(self, x):
        z = x * 0.7071067811865476
        a = ops.abs(z)
        t = ops.ones_like(a) / (1.0 + 0.3275911 * a)  # not 1.0 / ...: Reciprocal does not export to ONNX
        poly = self.coefficients[0]
        for c in self.coefficients[1:]:
            poly = poly * t + c
        erf_abs = 1.0 - poly * t * ops.exp(-a * a)
        erf = ops.select(z < 0, -erf_abs, erf_abs)
        return 0.5 * x * (1.0 + erf)


class BertLayer(nn.Cell):
    """Multi-head self-attention and a GELU feed-forward block, each added back and normalised (post-LN)."""

    def __init__(self, cfg):
        super().__init__()
        hidden = cfg.hidden_size
        self.heads = cfg.num_heads
        self.head_size = hidden // cfg.num_heads
        self.scale = 1.0 / math.sqrt(self.head_size)
        self.query = _dense(cfg, hidden, hidden)
        self.key = _dense(cfg, hidden, hidden)
        self.value = _dense(cfg, hidden, hidden)
        self.attn_out = _dense(cfg, hidden, hidden)
        self.attn_norm = _norm(cfg)
        self.ffn_in = _dense(cfg, hidden, cfg.intermediate_size)
        self.ffn_out = _dense(cfg, cfg.intermediate_size, hidden)
        self.ffn_norm = _norm(cfg)
        self.gelu = ExactGELU()
        self.attn_dropout = nn.Dropout(p=cfg.attention_dropout)
        self.dropout = nn.Dropout(p=cfg.dropout)
        self.scores = ops.BatchMatMul(transpose_b=True)
        self.mix = ops.BatchMatMul()
        self.softmax = nn.Softmax(axis=-1)

    def split(self, x):
        n, length = x.shape[0], x.shape[1]
        return ops.transpose(ops.reshape(x, (n, length, self.heads, self.head_size)), (0, 2, 1, 3))

    def construct(self, x, bias):
        n, length, hidden = x.shape
        q = self.split(self.query(x))
        k = self.split(self.key(x))
        v = self.split(self.value(x))
        probs = self.attn_dropout(self.softmax(self.scores(q, k) * self.scale + bias))
        mixed = ops.reshape(ops.transpose(self.mix(probs, v), (0, 2, 1, 3)), (n, length, hidden))
        x = self.attn_norm(x + self.dropout(self.attn_out(mixed)))
        return self.ffn_norm(x + self.dropout(self.ffn_out(self.gelu(self.ffn_in(x)))))


_MASKED = -1e9  # added to the attention scores of padded keys: exp() of it is exactly 0 in float32


class BertClassifier(nn.Cell):
    """BERT encoder + tanh pooler on ``[CLS]`` + dropout + dense classifier.

    Args:
        config (BertConfig): the encoder's sizes, e.g. ``BertConfig.sized("bert_tiny", vocab_size=1000)``.
        num_classes (int): classifier outputs. Default 2.
        max_length (int): the length ``default_cfg.input_shape`` records; inputs may be shorter or longer,
            up to ``config.max_position``. Default 128.

    Inputs:
        input_ids: int32 Tensor (N, L), L <= ``max_positions``, padded with 0 at the end.

    Outputs:
        float32 Tensor (N, num_classes): unnormalised class scores.

    Raises:
        ValueError: a bad ``num_classes`` or ``max_length``.
        InputShapeError: (when called) the input is not (N, L) or L exceeds ``max_positions``.

    Example:
        >>> from tinyms.model.zoo.bert import BertClassifier, BertConfig
        >>> net = BertClassifier(BertConfig.sized("bert_tiny", vocab_size=100), num_classes=3)
        >>> net.max_positions
        512
    """

    def __init__(self, config, num_classes=2, max_length=128):
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or \
                not 1 <= max_length <= config.max_position:
            raise ValueError(f"max_length must be an integer from 1 to {config.max_position}, got {max_length!r}")
        self.config = config
        self.class_num = num_classes
        self.num_classes = num_classes
        self.max_length = max_length
        self.max_positions = config.max_position
        self.embeddings = BertEmbeddings(config)
        self.layers = nn.CellList([BertLayer(config) for _ in range(config.num_layers)])
        self.pooler = _dense(config, config.hidden_size, config.hidden_size)
        self.tanh = nn.Tanh()
        self.dropout = nn.Dropout(p=config.dropout)
        self.classifier = _dense(config, config.hidden_size, num_classes)

    @property
    def default_cfg(self):
        """The registry's ModelConfig, its ``input_shape`` the ``(max_length,)`` this network was built for."""
        return self.__dict__.get("_default_cfg")

    @default_cfg.setter
    def default_cfg(self, cfg):
        if cfg is not None and tuple(cfg.input_shape) != (self.max_length,):
            cfg = dataclasses.replace(cfg, input_shape=(self.max_length,))
        self.__dict__["_default_cfg"] = cfg

    def __call__(self, *args, **kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        shape = getattr(ids, "shape", None)
        if shape is not None and len(shape) != 2:
            raise InputShapeError(f"BERT takes token ids of shape (N, length), got {tuple(shape)}")
        if shape is not None and shape[1] > self.max_positions:
            raise InputShapeError(
                f"BERT takes at most {self.max_positions} tokens per text, got {shape[1]}: encode the texts with "
                f"max_length <= {self.max_positions} (tinyms.text truncates longer ones with a warning)")
        return super().__call__(*args, **kwargs)

    def construct(self, input_ids):
        keep = ops.cast(input_ids != 0, ms.float32)
        bias = ops.reshape((1.0 - keep) * _MASKED, (input_ids.shape[0], 1, 1, input_ids.shape[1]))
        x = self.embeddings(input_ids)
        for layer in self.layers:
            x = layer(x, bias)
        pooled = self.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))


def _classes(num_classes, class_num):
    """``num_classes`` (the text networks' name) or its alias ``class_num`` (tinyms train's), default 2."""
    if num_classes is not None:
        return num_classes
    return 2 if class_num is None else class_num


def _build(name, num_classes, class_num, vocab_size, max_length, dropout, attention_dropout):
    cfg = BertConfig.sized(name, vocab_size=vocab_size, dropout=dropout,
                           attention_dropout=dropout if attention_dropout is None else attention_dropout)
    return BertClassifier(cfg, num_classes=_classes(num_classes, class_num), max_length=max_length)


_TEXT = dict(input_shape=(128,), mean=(), std=(), labels=("0", "1"), dataset="", task="text_classification")

_DOC = """Build {title} ({layers} layers, hidden size {hidden}, {heads} heads) for sequence classification.

    The sizes are those of Google's published ``{google}`` checkpoint, whose weights
    :func:`tinyms.model.load_bert_weights` loads (``tinyms.model.bert_pretrained("{name}")`` downloads them
    through the hub).

    Args:
        num_classes (int): classifier outputs. Default 2 (``class_num``, tinyms train's name, is an alias;
            ``num_classes`` wins when both are given).
        vocab_size (int): rows of the word embedding. Default 30522 (the uncased vocab.txt).
        max_length (int): the length the network is configured for (``default_cfg.input_shape``); any
            input up to 512 tokens is accepted. Default 128.
        dropout (float): hidden dropout (embeddings, attention output, feed-forward, before the classifier).
            Default 0.1.
        class_num (int): alias of ``num_classes``.
        attention_dropout (float): dropout on attention probabilities; default ``dropout``.

    Returns:
        nn.Cell: an untrained network: ``(N, L)`` int32 ids, 0 = padding -> ``(N, num_classes)`` logits;
        ``max_positions`` is 512.

    Example:
        >>> from tinyms.model import {name}
        >>> net = {name}(num_classes=2, vocab_size=1000, max_length=64)
        >>> net.default_cfg.task, net.default_cfg.input_shape
        ('text_classification', (64,))
    """


def _doc(name, title, google):
    layers, hidden, heads = BERT_SIZES[name]
    return _DOC.format(name=name, title=title, layers=layers, hidden=hidden, heads=heads, google=google)


def _builder(name, title, google):
    """The registered builder ``name`` (one per published size; the registry names it by ``__name__``)."""
    def build(num_classes=None, vocab_size=30522, max_length=128, dropout=0.1, class_num=None,
              attention_dropout=None):
        return _build(name, num_classes, class_num, vocab_size, max_length, dropout, attention_dropout)

    def load_pretrained(num_classes=None, class_num=None, max_length=128, dropout=0.1, vocab_size=None,
                        attention_dropout=None):
        """``create_model(name, pretrained=True)``: Google's encoder through :func:`bert_pretrained`."""
        from .._bert_weights import bert_pretrained  # noqa: PLC0415

        if vocab_size is not None or attention_dropout is not None:
            raise ValueError(f"{name} with pretrained=True takes the published checkpoint's vocabulary and "
                             "dropout: drop vocab_size= and attention_dropout=")
        return bert_pretrained(name, num_classes=_classes(num_classes, class_num), max_length=max_length,
                               dropout=dropout)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = _doc(name, title, google)
    build.load_pretrained = load_pretrained
    return register_model(**_TEXT)(build)


bert_tiny = _builder("bert_tiny", "BERT-Tiny", "bert_uncased_L-2_H-128_A-2")
bert_mini = _builder("bert_mini", "BERT-Mini", "bert_uncased_L-4_H-256_A-4")
bert_small = _builder("bert_small", "BERT-Small", "bert_uncased_L-4_H-512_A-8")
bert_base = _builder("bert_base", "BERT-Base", "bert_uncased_L-12_H-768_A-12")
