"""Text classifiers: SentimentNet (TinyMS 0.3's LSTM network) and two small networks trained from scratch.

Every network here takes ONE input, int32 token ids of shape (N, L) as a ``tinyms.text``
transform makes them (right-padded with the pad id 0), accepts any length L, and returns
logits (N, num_classes). Padding never changes the answer:

- :class:`SentimentNet` runs each LSTM direction only over a row's real tokens: the forward
  direction is causal, so its state at the last real token has seen no padding; the backward
  direction reads each row reversed *within its length* (``ReverseSequence``), so it starts at
  the last real token, and its outputs are put back in place the same way.
- :class:`TextBoW` averages the embeddings of real tokens only (mask ``ids != 0``).
- :class:`TextCNN` zeroes padded positions, pads every row with zeros on both sides and keeps,
  for the max over time, only the windows that overlap a real token.

All of them avoid operators MindSpore cannot export to ONNX (CumSum, Conv1d's squeeze), so
``mindspore.export(net, ids, file_format="ONNX")`` works at a fixed batch and length.
"""

import dataclasses

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from ..._checks import positive_int
from ...errors import InputShapeError
from ..registry import register_model

__all__ = ["SentimentNet", "sentimentnet", "TextBoW", "text_bow", "TextCNN", "text_cnn"]

#: the length 0.3's IMDB recipe used for SentimentNet (the network itself takes any length)
SENTIMENTNET_LENGTH = 500
#: the length the small classifiers are configured for by default
DEFAULT_LENGTH = 256
_LABELS = ("0", "1")
_TEXT_CFG = dict(input_shape=(DEFAULT_LENGTH,), mean=(), std=(), labels=_LABELS, dataset="",
                 task="text_classification", mindcv_weights=False)


def _classes(num_classes, class_num, default=2):
    """``num_classes`` (0.3's name) wins over ``class_num`` (the registry's), which ``create_model`` always passes."""
    value = num_classes if num_classes is not None else class_num
    return positive_int(default if value is None else value, "num_classes", default)


def _embedding_table(weight, vocab_size, embed_size):
    """``weight`` (Tensor or array (vocab_size, embed_size)) as a float32 Tensor, checked."""
    table = weight.asnumpy() if isinstance(weight, Tensor) else np.asarray(weight)
    if table.shape != (vocab_size, embed_size):
        raise InputShapeError(
            f"weight has shape {table.shape}, but the embedding needs (vocab_size, embed_size) = "
            f"({vocab_size}, {embed_size}): pass the table the vocabulary indexes (e.g. from "
            f"tinyms.data.load_glove) or build the network with its vocab_size and embed_size")
    if not np.issubdtype(table.dtype, np.floating) or not np.isfinite(table).all():
        raise InputShapeError("weight must hold finite floating-point numbers (an embedding table)")
    return Tensor(table.astype(np.float32))


class _TextNet(nn.Cell):
    """A text network: its ``default_cfg.input_shape`` is the length it was configured for."""

    max_length = None
    #: also when built from its class, which gives no default_cfg (TinyMS 0.3's scripts do)
    task = "text_classification"

    @property
    def default_cfg(self):
        return self.__dict__.get("_default_cfg")

    @default_cfg.setter
    def default_cfg(self, cfg):
        if cfg is not None and self.max_length is not None and tuple(cfg.input_shape) != (self.max_length,):
            cfg = dataclasses.replace(cfg, input_shape=(self.max_length,))
        self.__dict__["_default_cfg"] = cfg


def _lengths(input_ids):
    """int32 (N,): the number of non-pad ids of each row."""
    return ops.cast(ops.cast(input_ids != 0, mstype.float32).sum(1), mstype.int32)  # an int sum is int64


class _BiLSTMLayer(nn.Cell):
    """One LSTM layer; bidirectional: the backward direction reads each row reversed within its length."""

    def __init__(self, input_size, hidden_size, bidirectional):
        super().__init__()
        self.bidirectional = bidirectional
        self.forward_lstm = nn.LSTM(input_size, hidden_size, 1, has_bias=True, batch_first=True)
        self.backward_lstm = (nn.LSTM(input_size, hidden_size, 1, has_bias=True, batch_first=True)
                              if bidirectional else None)

    def construct(self, x, lengths):
        out, _ = self.forward_lstm(x)
        if self.bidirectional:
            reverse = ops.ReverseSequence(seq_dim=1, batch_dim=0)
            back, _ = self.backward_lstm(reverse(x, lengths))
            out = ops.concat((out, reverse(back, lengths)), 2)
        return out


class SentimentNet(_TextNet):
    """TinyMS 0.3's sentiment network: embedding, stacked (bi)LSTM, and a Dense over first and last states.

    Works at any sequence length and ignores padding: the head reads the LSTM output at the
    first token and at each row's last real token (0.3 read positions 0 and 499 of 500), and
    the backward direction starts at the last real token (see the module docstring).

    Args:
        vocab_size (int): rows of the embedding (the vocabulary size, pad id 0 included).
        embed_size (int): embedding width.
        num_hiddens (int): LSTM hidden size per direction.
        num_layers (int): stacked LSTM layers.
        bidirectional (bool): add a backward direction to every layer.
        num_classes (int): outputs.
        weight (Tensor or numpy.ndarray): optional (vocab_size, embed_size) embedding table
            (e.g. GloVe vectors); when given it is frozen, as in 0.3. None: learned from random.
        batch_size (int): accepted for 0.3's signature; the initial LSTM states are built from
            each input's own batch, so any batch size works.

    Inputs:
        input_ids: int32 Tensor (N, L), pad id 0 at the end of each row.

    Outputs:
        float32 Tensor (N, num_classes): logits.

    Raises:
        InputShapeError: ``weight`` is not a finite (vocab_size, embed_size) table.
    """

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, bidirectional, num_classes, weight=None,
                 batch_size=None):
        super().__init__()
        vocab_size = positive_int(vocab_size, "vocab_size", 30000)
        embed_size = positive_int(embed_size, "embed_size", 100)
        num_hiddens = positive_int(num_hiddens, "num_hiddens", 100)
        self.num_layers = positive_int(num_layers, "num_layers", 2)
        self.bidirectional = bool(bidirectional)
        self.class_num = positive_int(num_classes, "num_classes", 2)
        self.batch_size = batch_size
        if weight is None:
            self.embedding = nn.Embedding(vocab_size, embed_size)
        else:
            self.embedding = nn.Embedding(vocab_size, embed_size,
                                          embedding_table=_embedding_table(weight, vocab_size, embed_size))
            self.embedding.embedding_table.requires_grad = False
        directions = 2 if self.bidirectional else 1
        self.encoder = nn.CellList([_BiLSTMLayer(embed_size if i == 0 else num_hiddens * directions, num_hiddens,
                                                 self.bidirectional) for i in range(self.num_layers)])
        self.decoder = nn.Dense(num_hiddens * directions * 2, self.class_num)

    def construct(self, input_ids):
        lengths = _lengths(input_ids)
        x = self.embedding(input_ids)
        for layer in self.encoder:
            x = layer(x, lengths)
        last = ops.maximum(lengths - 1, 0)
        positions = ops.arange(0, input_ids.shape[1], 1, dtype=mstype.int32)
        pick = ops.cast(ops.expand_dims(positions, 0) == ops.expand_dims(last, 1), x.dtype)
        last_state = (x * ops.expand_dims(pick, 2)).sum(1)
        return self.decoder(ops.concat((x[:, 0], last_state), 1))


@register_model(**{**_TEXT_CFG, "input_shape": (SENTIMENTNET_LENGTH,)})
def sentimentnet(vocab_size, embed_size=100, num_hiddens=100, num_layers=2, bidirectional=True, num_classes=None,
                 weight=None, batch_size=64, class_num=None):
    """Build TinyMS 0.3's SentimentNet (same arguments, same order), for any sequence length.

    Args:
        vocab_size (int): the vocabulary size (``transform.tokenizer.vocab_size``).
        embed_size (int): embedding width; GloVe's 50/100/200/300 with ``weight``. Default 100.
        num_hiddens (int): LSTM hidden size per direction. Default 100.
        num_layers (int): stacked LSTM layers. Default 2.
        bidirectional (bool): bidirectional LSTM. Default True.
        num_classes (int): outputs. Default 2 (or ``class_num``).
        weight (Tensor or numpy.ndarray): optional frozen (vocab_size, embed_size) embedding table.
        batch_size (int): 0.3's argument, kept for its scripts; any batch size works.
        class_num (int): the registry's name for ``num_classes`` (used when that is not given).

    Returns:
        SentimentNet: an untrained network; ``default_cfg.task`` is ``"text_classification"``.

    Example:
        >>> from tinyms.model import sentimentnet
        >>> net = sentimentnet(5000, 100, 100, 2, True, 2, None, 64)
        >>> net.default_cfg.task
        'text_classification'
    """
    return SentimentNet(vocab_size, embed_size, num_hiddens, num_layers, bidirectional,
                        _classes(num_classes, class_num), weight, batch_size)


def _bigram_ids(input_ids, vocab_size, buckets):
    """Hashed ids (N, L-1) of adjacent token pairs in ``[vocab_size, vocab_size + buckets)``, 0 next to a pad.

    The key ``(a mod 4093) * 4091 + (b mod 4091)`` stays below 2**24: exact in int32 and in the
    float32 arithmetic MindSpore's ONNX export turns FloorMod into. It is then reduced modulo
    ``buckets``. (The two moduli differ: the exporter names a shared constant's cast twice.)
    """
    first, second = input_ids[:, :-1], input_ids[:, 1:]
    key = ops.floor_mod(first, 4093) * 4091 + ops.floor_mod(second, 4091)
    hashed = ops.floor_mod(key, buckets) + vocab_size
    both = ops.cast(first != 0, mstype.int32) * ops.cast(second != 0, mstype.int32)
    return hashed * both


class TextBoW(_TextNet):
    """fastText-style classifier: the mean of the real tokens' embeddings (and hashed bigrams), then a Dense.

    Args:
        vocab_size (int): the vocabulary size (pad id 0 included).
        num_classes (int): outputs.
        embed_size (int): embedding width.
        bigram_buckets (int): hashed bigram embeddings added to the average (0: words only).
        hidden_size (int): a ReLU layer between the average and the output (0: none, linear as fastText).
        dropout (float): dropout on the average while training.
        max_length (int): the length the text transform should use (``default_cfg.input_shape``);
            the network takes any length.
        weight (Tensor or numpy.ndarray): optional (vocab_size, embed_size) table for the word
            embeddings (trained further, not frozen).

    Inputs:
        input_ids: int32 Tensor (N, L), pad id 0.

    Outputs:
        float32 Tensor (N, num_classes): logits.
    """

    def __init__(self, vocab_size, num_classes=2, embed_size=64, bigram_buckets=0, hidden_size=0, dropout=0.2,
                 max_length=DEFAULT_LENGTH, weight=None):
        super().__init__()
        self.vocab_size = positive_int(vocab_size, "vocab_size", 30000)
        self.class_num = positive_int(num_classes, "num_classes", 2)
        embed_size = positive_int(embed_size, "embed_size", 64)
        self.bigram_buckets = int(bigram_buckets or 0)
        self.max_length = positive_int(max_length, "max_length", DEFAULT_LENGTH)
        rows = self.vocab_size + self.bigram_buckets
        if weight is None:
            table = "normal"
        else:
            words = _embedding_table(weight, self.vocab_size, embed_size).asnumpy()
            extra = np.random.normal(0.0, 0.01, (self.bigram_buckets, embed_size)).astype(np.float32)
            table = Tensor(np.concatenate([words, extra]))
        self.embedding = nn.Embedding(rows, embed_size, embedding_table=table)
        self.dropout = nn.Dropout(p=float(dropout)) if dropout else nn.Identity()
        hidden_size = int(hidden_size or 0)
        self.hidden = (nn.SequentialCell([nn.Dense(embed_size, hidden_size), nn.ReLU()]) if hidden_size
                       else nn.Identity())
        self.classifier = nn.Dense(hidden_size or embed_size, self.class_num)

    def construct(self, input_ids):
        ids = input_ids
        if self.bigram_buckets > 0:
            ids = ops.concat((input_ids, _bigram_ids(input_ids, self.vocab_size, self.bigram_buckets)), 1)
        mask = ops.cast(ids != 0, mstype.float32)
        total = (self.embedding(ids) * ops.expand_dims(mask, 2)).sum(1)
        count = ops.maximum(mask.sum(1, keepdims=True), 1.0)
        return self.classifier(self.hidden(self.dropout(total / count)))


class TextCNN(_TextNet):
    """Convolutions of several widths over the word embeddings, max over time of real windows, then a Dense.

    Padded positions are zeroed and each row is zero-padded by ``width - 1`` on both sides;
    only the windows that overlap a real token enter the max, so trailing pads change nothing
    and texts shorter than a window still count.

    Args:
        vocab_size (int): the vocabulary size (pad id 0 included).
        num_classes (int): outputs.
        embed_size (int): embedding width.
        num_filters (int): filters per window width.
        kernel_sizes (tuple of int): window widths in tokens.
        dropout (float): dropout on the pooled features while training.
        max_length (int): the length the text transform should use (``default_cfg.input_shape``);
            the network takes any length.
        weight (Tensor or numpy.ndarray): optional (vocab_size, embed_size) embedding table
            (trained further, not frozen).

    Inputs:
        input_ids: int32 Tensor (N, L), pad id 0 at the end of each row.

    Outputs:
        float32 Tensor (N, num_classes): logits.
    """

    def __init__(self, vocab_size, num_classes=2, embed_size=64, num_filters=64, kernel_sizes=(2, 3, 4),
                 dropout=0.3, max_length=DEFAULT_LENGTH, weight=None):
        super().__init__()
        vocab_size = positive_int(vocab_size, "vocab_size", 30000)
        self.class_num = positive_int(num_classes, "num_classes", 2)
        embed_size = positive_int(embed_size, "embed_size", 64)
        num_filters = positive_int(num_filters, "num_filters", 64)
        self.kernel_sizes = tuple(positive_int(k, "kernel_sizes", 3) for k in kernel_sizes)
        if not self.kernel_sizes:
            raise ValueError("kernel_sizes needs at least one window width, e.g. (2, 3, 4)")
        self.max_length = positive_int(max_length, "max_length", DEFAULT_LENGTH)
        table = "normal" if weight is None else _embedding_table(weight, vocab_size, embed_size)
        self.embedding = nn.Embedding(vocab_size, embed_size, embedding_table=table)
        # Conv2d over (N, E, L, 1) after an explicit Pad: MindSpore's Conv1d, and Conv2d's own
        # asymmetric padding, export to ONNX with shapes onnxruntime rejects
        self.pads = [ops.Pad(((0, 0), (0, 0), (k - 1, k - 1), (0, 0))) for k in self.kernel_sizes]
        self.convs = nn.CellList([nn.Conv2d(embed_size, num_filters, (k, 1), pad_mode="valid", has_bias=True)
                                  for k in self.kernel_sizes])
        self.dropout = nn.Dropout(p=float(dropout)) if dropout else nn.Identity()
        self.classifier = nn.Dense(num_filters * len(self.kernel_sizes), self.class_num)

    def construct(self, input_ids):
        mask = ops.cast(input_ids != 0, mstype.float32)
        lengths = mask.sum(1, keepdims=True)
        x = self.embedding(input_ids) * ops.expand_dims(mask, 2)
        x = ops.expand_dims(ops.transpose(x, (0, 2, 1)), 3)
        pooled = ()
        for pad, conv in zip(self.pads, self.convs):
            h = ops.relu(conv(pad(x))).squeeze(3)
            width = h.shape[2] - input_ids.shape[1] + 1
            positions = ops.arange(0, h.shape[2], 1, dtype=mstype.float32)
            # window j covers tokens j-width+1..j: it overlaps a real token iff j < length + width - 1
            real = ops.cast(ops.expand_dims(positions, 0) < lengths + (width - 1), mstype.float32)
            pooled += ((h * ops.expand_dims(real, 1)).max(2),)
        return self.classifier(self.dropout(ops.concat(pooled, 1)))


@register_model(**_TEXT_CFG)
def text_bow(vocab_size, num_classes=None, embed_size=64, bigram_buckets=0, hidden_size=0, dropout=0.2,
             max_length=DEFAULT_LENGTH, weight=None, class_num=None):
    """Build a bag-of-embeddings (fastText-style) text classifier, small and fast to train from scratch.

    Args:
        vocab_size (int): the vocabulary size (``transform.tokenizer.vocab_size``).
        num_classes (int): outputs. Default 2 (or ``class_num``).
        embed_size (int): embedding width. Default 64.
        bigram_buckets (int): hashed word-pair embeddings (0: words only). Default 0.
        hidden_size (int): a hidden ReLU layer (0: a linear classifier over the average). Default 0.
        dropout (float): dropout on the average while training. Default 0.2.
        max_length (int): the transform's length this network is configured for. Default 256.
        weight (Tensor or numpy.ndarray): optional initial (vocab_size, embed_size) word table.
        class_num (int): the registry's name for ``num_classes``.

    Returns:
        TextBoW: an untrained network.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("text_bow", vocab_size=1000, num_classes=4)
        >>> net.default_cfg.task, net.default_cfg.input_shape
        ('text_classification', (256,))
    """
    return TextBoW(vocab_size, _classes(num_classes, class_num), embed_size, bigram_buckets, hidden_size, dropout,
                   max_length, weight)


@register_model(**_TEXT_CFG)
def text_cnn(vocab_size, num_classes=None, embed_size=64, num_filters=64, kernel_sizes=(2, 3, 4), dropout=0.3,
             max_length=DEFAULT_LENGTH, weight=None, class_num=None):
    """Build a convolutional text classifier (window widths 2, 3, 4 by default), trained from scratch.

    Args:
        vocab_size (int): the vocabulary size (``transform.tokenizer.vocab_size``).
        num_classes (int): outputs. Default 2 (or ``class_num``).
        embed_size (int): embedding width. Default 64.
        num_filters (int): filters per window width. Default 64.
        kernel_sizes (tuple of int): window widths in tokens. Default (2, 3, 4).
        dropout (float): dropout on the pooled features while training. Default 0.3.
        max_length (int): the transform's length this network is configured for. Default 256.
        weight (Tensor or numpy.ndarray): optional initial (vocab_size, embed_size) table.
        class_num (int): the registry's name for ``num_classes``.

    Returns:
        TextCNN: an untrained network.

    Example:
        >>> from tinyms.model import create_model
        >>> net = create_model("text_cnn", vocab_size=1000, class_num=3)
        >>> net.class_num, net.default_cfg.labels
        (3, ('0', '1', '2'))
    """
    return TextCNN(vocab_size, _classes(num_classes, class_num), embed_size, num_filters, kernel_sizes, dropout,
                   max_length, weight)
