"""Evaluation reads every sample exactly once, whatever pipeline the user built.

A training pipeline shuffles, may repeat, and usually drops the last partial batch. Scoring
such a pipeline evaluates a random subset (and a different one on every call). Before
evaluating, TinyMS copies the pipeline and, in the copy only:

- removes ``shuffle`` and ``repeat`` steps,
- turns random samplers of source datasets into sequential ones (same ``num_samples``),
- keeps the last partial batch (``drop_remainder=False``).

Everything else (maps, batch size, sharding, project/rename) is kept as the user built it.
"""

import copy
import logging

__all__ = ["exact_eval_pipeline"]

log = logging.getLogger("tinyms.model")


def exact_eval_pipeline(dataset):
    """Return a copy of ``dataset`` that yields each sample once, in a fixed order.

    Args:
        dataset: a ``mindspore.dataset`` pipeline (what ``tinyms.data`` loaders and
            ``tinyms.vision`` transforms build).

    Returns:
        the rewritten copy, or ``dataset`` itself when it needs no change or cannot be copied
        (a warning is logged in the latter case).
    """
    import mindspore.dataset as ds

    skip = (ds.ShuffleDataset, ds.RepeatDataset)
    if not _needs_rewrite(dataset, skip, ds):
        return dataset
    try:
        root = copy.deepcopy(dataset)
    except Exception as err:  # noqa: BLE001 - a pipeline MindSpore cannot copy is evaluated as is
        log.warning("cannot copy the evaluation pipeline (%s): it is evaluated as built, which may "
                    "shuffle or drop samples", err)
        return dataset
    while isinstance(root, skip):
        root = root.children[0]
    _rewrite(root, skip, ds)
    return root


def _nodes(node):
    yield node
    for child in getattr(node, "children", ()):
        yield from _nodes(child)


def _needs_rewrite(dataset, skip, ds):
    for node in _nodes(dataset):
        if isinstance(node, skip):
            return True
        if isinstance(node, ds.BatchDataset) and node.drop_remainder:
            return True
        if isinstance(getattr(node, "sampler", None), ds.RandomSampler):
            return True
    return False


def _rewrite(node, skip, ds):
    kids = []
    for child in node.children:
        while isinstance(child, skip):
            child = child.children[0]
        kids.append(child)
    node.children = kids
    for child in kids:
        _rewrite(child, skip, ds)
    if isinstance(node, ds.BatchDataset):
        node.drop_remainder = False
    sampler = getattr(node, "sampler", None)
    if isinstance(sampler, ds.RandomSampler):
        node.sampler = ds.SequentialSampler(num_samples=sampler.num_samples)
        if hasattr(node, "shuffle_flag"):
            node.shuffle_flag = False
