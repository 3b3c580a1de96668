"""Private: the per-epoch progress display of ``Model.train`` and ``Model.eval``."""

import sys


class EpochProgress:
    """Shows one epoch's progress.

    ``verbose=0``: nothing. ``verbose=1``: a tqdm bar with the running loss when stderr is a
    terminal, otherwise one plain line at the end of the epoch. ``verbose=2``: one plain line.
    """

    def __init__(self, verbose, epoch, epochs, steps, stream=None):
        self.verbose = verbose
        self.prefix = f"Epoch {epoch}/{epochs}" if epochs else "Eval"
        self.stream = stream or sys.stderr
        self.bar = None
        if verbose == 1 and _is_terminal(self.stream):
            from tqdm import tqdm
            self.bar = tqdm(total=steps, desc=self.prefix, unit="step", file=self.stream,
                            dynamic_ncols=True, leave=True, mininterval=0.2)

    def step(self, loss=None):
        """Count one step; ``loss`` (a Tensor) is read back only every 20 steps, for display."""
        if self.bar is not None:
            self.bar.update(1)
            if loss is not None and self.bar.n % 20 == 0:
                self.bar.set_postfix_str(f"loss={float(loss.asnumpy()):.4f}", refresh=False)

    def close(self, logs, seconds):
        # a learning rate such as 3e-05 would print as 0.0000 with four decimals
        text = " - ".join(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}" for k, v in logs.items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
        elif self.verbose:
            print(f"{self.prefix} - {seconds:.1f}s - {text}", file=self.stream, flush=True)


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
