"""Tasks: what a network does, and everything in TinyMS that depends on it, in one place.

A task says how a batch splits into the network's inputs and the loss's targets, which loss and
metrics it trains and evaluates with, how the first batch is checked, what evaluation counts and
returns, how a raw output becomes a prediction, and what a servable takes and returns. ``Model``,
the training loop, ``tinyms train`` and serving ask the network's task instead of assuming image
classification; a new kind of problem (text, image-to-image, tables...) adds a task here.

Example:
    >>> from tinyms.model import lenet5
    >>> from tinyms.model.tasks import get_task, list_tasks, task_of
    >>> list_tasks()
    ['classification', 'detection', 'image_to_image', 'tabular', 'text_classification']
    >>> task_of(lenet5()).name, get_task("detection").columns
    ('classification', ('image', 'bbox', 'label'))
"""

from ...errors import UnknownNameError
from ._base import Evaluator, Task
from .classification import ClassificationTask
from .detection import DetectionTask
from .image_to_image import ImageToImageTask
from .tabular import TabularTask
from .text import TextClassificationTask

__all__ = ["Task", "Evaluator", "ClassificationTask", "DetectionTask", "TextClassificationTask", "ImageToImageTask",
           "TabularTask",
           "register_task", "get_task", "list_tasks",
           "task_of"]

_TASKS = {}


def register_task(task):
    """Make ``task`` (a :class:`Task` instance) known under its ``name``; returns it.

    Raises:
        TypeError: ``task`` is not a Task or has no name.
    """
    if not isinstance(task, Task) or not task.name:
        raise TypeError(f"register_task takes a named tinyms.model.tasks.Task instance, got {task!r}")
    _TASKS[task.name] = task
    return task


def list_tasks():
    """The names of the known tasks, sorted."""
    return sorted(_TASKS)


def get_task(name):
    """The task registered as ``name`` (a Task is returned as is).

    Raises:
        UnknownNameError: no task of that name; the message lists the known ones.
    """
    if isinstance(name, Task):
        return name
    try:
        return _TASKS[str(name).lower()]
    except KeyError:
        raise UnknownNameError(f"unknown task {name!r}; TinyMS knows {', '.join(list_tasks())}") from None


def task_of(network):
    """The task of ``network``: its ``task`` attribute, else its ``default_cfg.task``, else classification."""
    name = getattr(network, "task", None)
    if not isinstance(name, (str, Task)):
        name = getattr(getattr(network, "default_cfg", None), "task", None) or "classification"
    return get_task(name)


register_task(ClassificationTask())
register_task(DetectionTask())
register_task(TextClassificationTask())
register_task(ImageToImageTask())
register_task(TabularTask())
