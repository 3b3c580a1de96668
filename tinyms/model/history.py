"""What :meth:`tinyms.model.Model.train` returns: per-epoch loss and metrics."""

__all__ = ["History"]


class History:
    """Per-epoch training record, Keras style.

    Attributes:
        epoch (list[int]): the epochs run, 1-based.
        history (dict[str, list[float]]): ``"loss"`` (mean training loss of each epoch) and,
            when a validation dataset was given, ``"val_loss"`` and ``"val_<metric>"``.
        seconds (list[float]): wall time of each epoch.
        stopped_early (bool): a callback asked training to stop before the last epoch.

    Example:
        >>> h = History()
        >>> h._record(1, {"loss": 0.5}, 2.0)
        >>> h.history["loss"], h.last("loss")
        ([0.5], 0.5)
    """

    def __init__(self):
        self.epoch = []
        self.history = {}
        self.seconds = []
        self.stopped_early = False

    def _record(self, epoch, logs, seconds):
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def last(self, key):
        """The value of ``key`` after the last epoch (``KeyError`` names the keys there are)."""
        if key not in self.history:
            raise KeyError(f"no {key!r} in this history; it has: {', '.join(self.history) or 'nothing'}")
        return self.history[key][-1]

    def __repr__(self):
        if not self.epoch:
            return "History(no epochs)"
        last = ", ".join(f"{k}={v[-1]:.4f}" for k, v in self.history.items())
        return f"History(epochs={len(self.epoch)}, {last})"
