"""Private helpers the loaders share: resolve a dataset folder, say how to get good files."""

import os

from .._checks import positive_int
from ..errors import DatasetError
from ._registry import dataset_spec


def download_fix(name):
    """The advice ending a loader's error for registered dataset ``name``."""
    return (f"run tinyms.data.download_dataset({name!r}) again (it re-downloads what is "
            f"missing or damaged) and pass the folder it returns")


def reader_workers(num_parallel_workers):
    """``num_parallel_workers`` for a MindSpore reader: None stays None, more than the CPUs become the CPUs.

    MindSpore refuses a count above the machine's CPUs; scripts written on bigger machines
    (TinyMS 0.3's pass 4) then still run, with as many threads as the machine has.
    """
    if num_parallel_workers is None:
        return None
    import multiprocessing  # noqa: PLC0415

    return min(positive_int(num_parallel_workers, "num_parallel_workers", 2), multiprocessing.cpu_count())


def existing_folder(dataset_dir, title, fix):
    """``dataset_dir`` as an absolute path if it is a folder, else a DatasetError."""
    if not isinstance(dataset_dir, (str, os.PathLike)):
        raise DatasetError(f"{title} dataset_dir must be a folder path, got {dataset_dir!r}. Fix: {fix}")
    root = os.path.abspath(os.path.expanduser(os.fspath(dataset_dir)))
    if not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "does not exist"
        raise DatasetError(f"{title} folder {root} {what}. Fix: {fix}")
    return root


def split_folder(root, name, usage):
    """The folder of split ``usage`` under a download root of dataset ``name``, if it exists."""
    layout = dataset_spec(name).layout
    sub = layout.get(usage) or next(iter(layout.values()))
    folder = os.path.join(root, *sub.split("/"))
    return folder if sub and os.path.isdir(folder) else None


def check_usage(usage, valid, title):
    if usage not in valid:
        shown = ", ".join(repr(v) for v in valid)
        raise DatasetError(f"{title} usage must be one of {shown}, got {usage!r}")
    return usage
