"""Readable, JSON-friendly results of turning a network's logits into class predictions.

Besides the structured form, every result has the one-line text form of TinyMS 0.3's
``postprocess`` (``.text``), and compares equal to that text, so code written for 0.3 such as
``assert mnist_transform.postprocess(x) == "TOP1: 5, score: 0.99964"`` keeps working.
"""

import dataclasses

import numpy as np

from ..errors import InputShapeError, UnknownNameError

__all__ = ["Prediction", "Predictions", "STRATEGIES", "top_k_predictions"]

# Strategy name -> how many classes each result row keeps.
STRATEGIES = {"TOP1_CLASS": 1, "TOP5_CLASS": 5}


def _percent(score):
    return f"{score * 100:.1f}%"


def _text(labels, scores, strategy):
    """The TinyMS 0.3 text of one row: TOP1 with 5 decimals; TOP5 with 7, each entry + tab."""
    if strategy == "TOP1_CLASS":
        return f"TOP1: {labels[0]}, score: {scores[0]:.5f}"
    return "".join(f"TOP{rank}: {lab}, score: {sc:.7f}\t"
                   for rank, (lab, sc) in enumerate(zip(labels, scores), start=1))


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The best classes for one input, most likely first.

    A prediction compares equal to another with the same labels, scores and indices, and to
    the string of its TinyMS 0.3 text form (see :meth:`to_text`), e.g.
    ``Prediction(("5",), (0.9996444,), (5,)) == "TOP1: 5, score: 0.99964"``. ``str()`` gives
    the short readable form instead, e.g. ``"5 (100.0%)"``.

    Attributes:
        labels (tuple of str): class names, most likely first.
        scores (tuple of float): softmax probabilities matching ``labels``, descending.
        indices (tuple of int): output positions (class ids) matching ``labels``.
        label (str): the most likely class name (``labels[0]``).
        score (float): its probability (``scores[0]``).
        index (int): its class id (``indices[0]``).

    Example:
        >>> from tinyms.vision import Prediction
        >>> p = Prediction(labels=("7", "1"), scores=(0.9, 0.1), indices=(7, 1))
        >>> str(p.label), p.score
        ('7', 0.9)
    """

    labels: tuple
    scores: tuple
    indices: tuple

    @property
    def label(self):
        """The most likely class name."""
        return self.labels[0]

    @property
    def score(self):
        """The probability of the most likely class."""
        return self.scores[0]

    @property
    def index(self):
        """The class id of the most likely class."""
        return self.indices[0]

    def to_dict(self):
        """This result as plain Python types, ready for ``json.dumps``.

        Returns:
            dict: ``{"label", "score", "index", "top": [{"label", "score", "index"}, ...]}``;
            ``top`` lists every kept class, most likely first.
        """
        return {
            "label": self.label,
            "score": self.score,
            "index": self.index,
            "top": [{"label": lab, "score": sc, "index": idx}
                    for lab, sc, idx in zip(self.labels, self.scores, self.indices)],
        }

    def to_text(self, strategy=None):
        """This result in the text form of TinyMS 0.3's ``postprocess``.

        ``"TOP1_CLASS"`` gives ``"TOP1: <label>, score: <probability, 5 decimals>"``;
        ``"TOP5_CLASS"`` gives one ``"TOP<rank>: <label>, score: <probability, 7 decimals>"``
        entry per kept class, each followed by a tab.

        Args:
            strategy (str): ``"TOP1_CLASS"`` or ``"TOP5_CLASS"`` (case-insensitive). Default:
                ``"TOP1_CLASS"`` if one class is kept, else ``"TOP5_CLASS"``.

        Returns:
            str: the text.

        Raises:
            UnknownNameError: ``strategy`` is unknown; the message lists the valid ones.

        Example:
            >>> from tinyms.vision import Prediction
            >>> Prediction(labels=("5", "0"), scores=(0.9996444, 0.0003353), indices=(5, 0)).to_text()
            'TOP1: 5, score: 0.9996444\\tTOP2: 0, score: 0.0003353\\t'
        """
        if strategy is None:
            strategy = "TOP1_CLASS" if len(self.labels) == 1 else "TOP5_CLASS"
        else:
            strategy, _ = _strategy_k(strategy)
        return _text(self.labels, self.scores, strategy)

    @property
    def text(self):
        """The TinyMS 0.3 text form, as :meth:`to_text` gives it by default."""
        return self.to_text()

    def __eq__(self, other):
        if isinstance(other, str):
            return self.text == other
        if isinstance(other, Prediction):
            return (self.labels, self.scores, self.indices) == (other.labels, other.scores, other.indices)
        return NotImplemented

    def __hash__(self):
        # Equal predictions have equal texts, and a prediction equals its text: hash the text.
        return hash(self.text)

    def __str__(self):
        if len(self.labels) == 1:
            return f"{self.label} ({_percent(self.score)})"
        width = max(len("label"), *(len(lab) for lab in self.labels))
        lines = [f"{'label':<{width}}  {'score':>6}"]
        lines += [f"{lab:<{width}}  {_percent(sc):>6}" for lab, sc in zip(self.labels, self.scores)]
        return "\n".join(lines)


class Predictions(list):
    """A list of :class:`Prediction`, one per input row, plus the strategy that made it.

    Compatibility with TinyMS 0.3: ``.text`` is the text 0.3's ``postprocess`` returned for the
    strategy, one line per row joined by ``"\\n"`` (0.3 itself only described row 0), and the
    list compares equal to that string, so ``postprocess(x) == "TOP1: 5, score: 0.99964"``
    holds for a single-row ``x``. Compared with anything but a string it is an ordinary list.

    Attributes:
        strategy (str): ``"TOP1_CLASS"`` or ``"TOP5_CLASS"``.

    Example:
        >>> from tinyms.vision.predictions import top_k_predictions
        >>> preds = top_k_predictions([[0.0, 3.0], [2.0, 0.0]], labels=("cat", "dog"))
        >>> [p.label for p in preds]
        ['dog', 'cat']
    """

    def __init__(self, rows=(), strategy="TOP1_CLASS"):
        super().__init__(rows)
        self.strategy = strategy

    def to_dict(self):
        """All results as plain Python types, ready for ``json.dumps``.

        Returns:
            dict: ``{"strategy": str, "predictions": [Prediction.to_dict(), ...]}``.
        """
        return {"strategy": self.strategy, "predictions": [row.to_dict() for row in self]}

    def to_text(self):
        """Every row in the text form of TinyMS 0.3's ``postprocess`` for :attr:`strategy`.

        Returns:
            str: one line per row (see :meth:`Prediction.to_text`), joined by ``"\\n"``.

        Example:
            >>> from tinyms.vision.predictions import top_k_predictions
            >>> top_k_predictions([[0.0, 3.0], [2.0, 0.0]], labels=("cat", "dog")).to_text()
            'TOP1: dog, score: 0.95257\\nTOP1: cat, score: 0.88080'
        """
        return "\n".join(row.to_text(self.strategy) for row in self)

    @property
    def text(self):
        """The TinyMS 0.3 text form of every row (see :meth:`to_text`)."""
        return self.to_text()

    def __eq__(self, other):
        if isinstance(other, str):
            return self.to_text() == other
        return list.__eq__(self, other)

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # a mutable list

    def __str__(self):
        if len(self) == 1:
            return str(self[0])
        if all(len(row.labels) == 1 for row in self):
            return "\n".join(f"[{i}] {row}" for i, row in enumerate(self))
        return "\n\n".join(f"[{i}]\n{row}" for i, row in enumerate(self))

    def __repr__(self):
        return f"Predictions({list.__repr__(self)}, strategy={self.strategy!r})"


def _strategy_k(strategy):
    key = str(strategy).upper()
    if key not in STRATEGIES:
        valid = ", ".join(sorted(STRATEGIES))
        raise UnknownNameError(f"unknown postprocess strategy {strategy!r}; valid strategies are: {valid}")
    return key, STRATEGIES[key]


def _as_logits(logits):
    if hasattr(logits, "asnumpy"):  # mindspore Tensor
        logits = logits.asnumpy()
    try:
        arr = np.asarray(logits)
        # a network's float32 scores are turned into probabilities in float32, as TinyMS 0.3 did (its
        # texts, e.g. 'score: 0.9996444', then match digit for digit); anything else in float64
        arr = arr.astype(np.float32 if arr.dtype in (np.float32, np.float16) else np.float64)
    except (TypeError, ValueError) as err:
        raise InputShapeError(
            f"logits must be numbers shaped (N, classes) or (classes,); could not read them ({err})"
        ) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InputShapeError(
            f"logits must have shape (N, classes) or (classes,), got shape {tuple(np.shape(logits))}; "
            "pass the network's output for a batch or for one image"
        )
    return arr


def top_k_predictions(logits, labels, strategy="TOP1_CLASS"):
    """Softmax ``logits`` and keep the best classes of every row.

    Args:
        logits: Tensor or array-like of shape (N, C) or (C,): unnormalised class scores.
        labels (sequence of str): C class names; label i names output i.
        strategy (str): ``"TOP1_CLASS"`` keeps the best class, ``"TOP5_CLASS"`` the best five
            (every class if there are fewer than five). Case-insensitive.

    Returns:
        Predictions: one :class:`Prediction` per row (a 1-D input gives one row).

    Raises:
        UnknownNameError: ``strategy`` is not a known strategy.
        InputShapeError: ``logits`` is not 1-D/2-D or its class count differs from ``len(labels)``.

    Example:
        >>> from tinyms.vision.predictions import top_k_predictions
        >>> top_k_predictions([[0.0, 3.0]], labels=("cat", "dog"))[0].label
        'dog'
    """
    strategy, k = _strategy_k(strategy)
    arr = _as_logits(logits)
    labels = tuple(str(lab) for lab in labels)
    if arr.shape[1] != len(labels):
        raise InputShapeError(
            f"logits have {arr.shape[1]} classes but there are {len(labels)} labels; "
            "pass labels= with one name per network output"
        )
    shifted = arr - arr.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    k = min(k, arr.shape[1])
    # Stable sort on the negated probabilities: ties keep the lower class id first.
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    rows = []
    for row_probs, row_order in zip(probs, order):
        rows.append(Prediction(
            labels=tuple(labels[i] for i in row_order),
            scores=tuple(float(row_probs[i]) for i in row_order),
            indices=tuple(int(i) for i in row_order),
        ))
    return Predictions(rows, strategy=strategy)
