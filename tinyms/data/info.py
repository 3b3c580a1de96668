"""Facts about a registered dataset: image shape, class names, normalisation statistics.

The model zoo and the vision transforms both read these, so the numbers used at training
and at inference come from one place: the dataset's :class:`DatasetSpec`.
"""

import dataclasses

from ._registry import dataset_spec

__all__ = ["DatasetInfo", "dataset_info"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What one dataset's samples look like.

    Attributes:
        name: the dataset's name, as given to ``download_dataset``.
        image_shape: one image as stored, (height, width, channels); None when it varies.
        labels: class names; label i names class i.
        mean, std: per-channel statistics of the training images rescaled to [0, 1].
    """

    name: str
    image_shape: tuple
    labels: tuple
    mean: tuple
    std: tuple


def dataset_info(name):
    """Return the :class:`DatasetInfo` of registered dataset ``name``, read from its spec.

    Args:
        name: a name from :func:`list_datasets` (case-insensitive).

    Returns:
        DatasetInfo: name, image_shape (None when images vary in size), labels, mean, std.

    Raises:
        UnknownNameError: ``name`` is unknown; the message lists the known datasets.

    Example:
        >>> from tinyms.data import dataset_info
        >>> dataset_info("mnist").labels[:3]
        ('0', '1', '2')
        >>> dataset_info("cifar10").mean
        (0.4914, 0.4822, 0.4465)
    """
    spec = dataset_spec(name)
    return DatasetInfo(name=spec.name, image_shape=spec.image_shape, labels=spec.labels,
                       mean=spec.mean, std=spec.std)
