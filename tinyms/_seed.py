"""One seed for every random number generator a training run uses.

:func:`set_seed` seeds Python's ``random``, NumPy's global generator, MindSpore (weight
initialisers, random operators and its default generator) and the dataset pipeline
(shuffling, samplers, random augmentations). The private helpers below capture and restore
the generator states a checkpoint carries, so a resumed run continues where the first stopped.
"""

import random

__all__ = ["set_seed", "get_seed"]

_seed = None  # the last seed given to set_seed in this process


def set_seed(seed):
    """Seed Python, NumPy, MindSpore and the dataset pipeline with one number.

    Call it before building the network and the datasets: weights are drawn when a network
    is built and the shuffle order is fixed when training starts. Two runs of the same
    script with the same seed then give the same weights, batches and losses on CPU.

    Args:
        seed (int): a number from 0 to 2**32 - 1.

    Returns:
        int: the seed.

    Raises:
        TypeError: ``seed`` is not an integer.
        ValueError: ``seed`` is negative or not below 2**32.

    Example:
        >>> import tinyms
        >>> tinyms.set_seed(42)
        42
    """
    global _seed
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1, got {seed}")
    import mindspore as ms
    import mindspore.dataset as ds

    ms.set_seed(seed)  # initialisers, operator seeds and numpy
    ms.manual_seed(seed)  # MindSpore's default generator
    ds.config.set_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    _seed = seed
    return seed


def get_seed():
    """The seed last given to :func:`set_seed` in this process, or None.

    Example:
        >>> import tinyms
        >>> _ = tinyms.set_seed(3)
        >>> tinyms.get_seed()
        3
    """
    return _seed


def dataset_seed():
    """The dataset pipeline's seed, or None when it is MindSpore's unset default (random)."""
    import mindspore.dataset as ds

    value = int(ds.config.get_seed())
    return None if value == _UNSET_DATASET_SEED else value


_UNSET_DATASET_SEED = 5489  # std::mt19937's default seed: MindSpore's "not set" marker


def rng_state():
    """The states of Python's, NumPy's and MindSpore's default generators, as plain JSON data."""
    import mindspore as ms
    import numpy as np

    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
             "seed": _seed}
    try:
        state["mindspore"] = ms.get_rng_state().asnumpy().tolist()
    except (AttributeError, RuntimeError, TypeError):
        state["mindspore"] = None
    return state


def set_rng_state(state):
    """Restore what :func:`rng_state` returned (missing parts are left as they are)."""
    global _seed
    import mindspore as ms
    import numpy as np

    if state.get("python"):
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if state.get("numpy"):
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if state.get("mindspore") is not None:
        try:
            ms.set_rng_state(ms.Tensor(np.asarray(state["mindspore"], np.uint8)))
        except (AttributeError, RuntimeError, TypeError, ValueError):
            pass
    if state.get("seed") is not None:
        _seed = int(state["seed"])
