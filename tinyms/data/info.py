"""Facts about the datasets TinyMS knows: image shape, class names, normalisation statistics.

The model zoo and the vision transforms both read these, so the numbers used at training
and at inference come from one place.
"""

import dataclasses

from .._names import lookup

__all__ = ["DatasetInfo", "dataset_info"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What one dataset's samples look like.

    Attributes:
        name: the dataset's name, as given to ``download_dataset``.
        image_shape: one image as stored, (height, width, channels).
        labels: class names; label i names class i.
        mean, std: per-channel statistics of the training images rescaled to [0, 1].
    """

    name: str
    image_shape: tuple
    labels: tuple
    mean: tuple
    std: tuple


_INFO = {
    "mnist": DatasetInfo(
        name="mnist",
        image_shape=(28, 28, 1),
        labels=tuple(str(i) for i in range(10)),
        mean=(0.1307,),
        std=(0.3081,),
    ),
}


def dataset_info(name):
    """Return the :class:`DatasetInfo` of dataset ``name``.

    Raises:
        UnknownNameError: ``name`` is unknown; the message lists the known datasets.

    Example:
        >>> from tinyms.data.info import dataset_info
        >>> dataset_info("mnist").labels[:3]
        ('0', '1', '2')
    """
    return lookup(_INFO, name, "dataset")
