"""CIFAR-10 and CIFAR-100 loaders: MindSpore's readers with the binary files checked first.

MindSpore 2.10's ``Cifar10Dataset``/``Cifar100Dataset`` read only full-size files: exactly
10,000 records per CIFAR-10 file, 50,000 in CIFAR-100's ``train.bin`` and 10,000 in its
``test.bin``. A shorter file fails only when the pipeline runs, with a message from deep
inside the reader; a longer one is read silently *truncated*. They also read every file
whose name matches the split, so a stray copy would be read too. The loaders here check
names and sizes before building the dataset and say what to do.
"""

import dataclasses
import os

from .._distributed import default_shards
from ..errors import DatasetError
from ._folders import check_usage, download_fix, existing_folder, split_folder

__all__ = ["Cifar10Dataset", "Cifar100Dataset"]


@dataclasses.dataclass(frozen=True)
class _Format:
    name: str        # registered dataset name
    title: str       # shown in errors
    record: int      # bytes per record (label bytes + 3072 pixels)
    files: dict      # split -> {official file name: records}
    picks: dict      # split -> the name fragment MindSpore selects the split's files by


_CIFAR10 = _Format("cifar10", "CIFAR-10", 1 + 3072,
                   {"train": {f"data_batch_{i}.bin": 10000 for i in range(1, 6)},
                    "test": {"test_batch.bin": 10000}},
                   {"train": "data_batch", "test": "test_batch"})
_CIFAR100 = _Format("cifar100", "CIFAR-100", 2 + 3072,
                    {"train": {"train.bin": 50000}, "test": {"test.bin": 10000}},
                    {"train": "train", "test": "test"})


def Cifar10Dataset(dataset_dir, usage=None, num_samples=None, num_parallel_workers=None,  # noqa: N802
                   shuffle=None, sampler=None, num_shards=None, shard_id=None, **kwargs):
    """Check a CIFAR-10 (binary version) folder and return a ``mindspore.dataset.Cifar10Dataset``.

    ``dataset_dir`` may be the folder returned by ``download_dataset('cifar10')`` or the
    ``cifar-10-batches-bin`` folder inside it. Before MindSpore's reader is built, the split's
    files are checked: ``data_batch_1.bin`` ... ``data_batch_5.bin`` (train) and
    ``test_batch.bin`` (test) must be present and hold exactly 10,000 records of 3,073 bytes
    (30,730,000 bytes) each, the only size MindSpore 2.10 reads correctly (it fails lazily on
    a shorter file and silently drops records of a longer one); no other ``*.bin`` file whose
    name MindSpore would also read may be there.

    Args:
        dataset_dir: see above.
        usage: ``'train'`` (50,000 images), ``'test'`` (10,000), ``'all'`` or ``None``.
        num_samples, num_parallel_workers, shuffle, sampler, num_shards, shard_id: as for
            MindSpore's reader; other keyword arguments are passed on to it. Under ``msrun``
            (``tinyms train --nproc N``) a ``usage`` other than ``'test'`` is split into one
            shard per worker unless ``num_shards``, ``shard_id`` or ``sampler`` is given.

    Returns:
        mindspore.dataset.Cifar10Dataset: columns ``image`` (uint8, 32x32x3 HWC) and
        ``label`` (uint32, index into ``dataset_info('cifar10').labels``).

    Raises:
        DatasetError: the folder is missing or holds no CIFAR-10 files, a file is missing,
            truncated, too long or extra, or ``usage`` is invalid; the message names the file
            and the fix.

    Example:
        >>> from tinyms.data import download_dataset, Cifar10Dataset
        >>> path = download_dataset("cifar10")  # doctest: +SKIP
        >>> Cifar10Dataset(path, usage="train").get_dataset_size()  # doctest: +SKIP
        50000
    """
    return _load("Cifar10Dataset", _CIFAR10, dataset_dir, usage, num_samples=num_samples,
                 num_parallel_workers=num_parallel_workers, shuffle=shuffle, sampler=sampler,
                 num_shards=num_shards, shard_id=shard_id, **kwargs)


def Cifar100Dataset(dataset_dir, usage=None, num_samples=None, num_parallel_workers=None,  # noqa: N802
                    shuffle=None, sampler=None, num_shards=None, shard_id=None, **kwargs):
    """Check a CIFAR-100 (binary version) folder and return a ``mindspore.dataset.Cifar100Dataset``.

    ``dataset_dir`` may be the folder returned by ``download_dataset('cifar100')`` or the
    ``cifar-100-binary`` folder inside it. Before MindSpore's reader is built, ``train.bin``
    must hold exactly 50,000 records of 3,074 bytes (153,700,000 bytes) and ``test.bin``
    exactly 10,000 (30,740,000 bytes): MindSpore 2.10 reads no other size correctly.

    Args:
        dataset_dir: see above.
        usage, num_samples, num_parallel_workers, shuffle, sampler, num_shards, shard_id,
            **kwargs: as for :func:`Cifar10Dataset` (also 50,000 train and 10,000 test images).

    Returns:
        mindspore.dataset.Cifar100Dataset: columns ``image`` (uint8, 32x32x3 HWC),
        ``coarse_label`` and ``fine_label`` (uint32; ``fine_label`` indexes
        ``dataset_info('cifar100').labels``).

    Raises:
        DatasetError: as for :func:`Cifar10Dataset`.

    Example:
        >>> from tinyms.data import download_dataset, Cifar100Dataset
        >>> test = Cifar100Dataset(download_dataset("cifar100"), usage="test")  # doctest: +SKIP
        >>> test.get_col_names(), test.get_dataset_size()  # doctest: +SKIP
        (['image', 'coarse_label', 'fine_label'], 10000)
    """
    return _load("Cifar100Dataset", _CIFAR100, dataset_dir, usage, num_samples=num_samples,
                 num_parallel_workers=num_parallel_workers, shuffle=shuffle, sampler=sampler,
                 num_shards=num_shards, shard_id=shard_id, **kwargs)


def _load(reader, fmt, dataset_dir, usage, **options):
    folder, usage = _prepare(dataset_dir, usage, fmt)
    if usage != "test":  # training data: one shard per msrun worker unless chosen
        options["num_shards"], options["shard_id"] = default_shards(
            options["num_shards"], options["shard_id"], options["sampler"])
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    return getattr(ds, reader)(folder, usage=usage, **options)


def _prepare(dataset_dir, usage, fmt):
    """Check the files; return (folder holding the .bin files, MindSpore usage)."""
    fix = download_fix(fmt.name)
    usage = check_usage("all" if usage is None else usage, ("train", "test", "all"), fmt.title)
    root = existing_folder(dataset_dir, fmt.title, fix)
    expected = {n for split in fmt.files.values() for n in split}
    folder = root
    if not expected & set(os.listdir(root)):
        folder = split_folder(root, fmt.name, "train") or root
    present = set(os.listdir(folder))
    splits = [usage] if usage != "all" else ["train", "test"]
    if not expected & present:
        hint = ""
        if any(n.endswith("-py") or n.startswith("data_batch_") and not n.endswith(".bin")
               or n in ("train", "test") for n in present):
            hint = (" It looks like the Python (pickle) version; MindSpore reads the binary "
                    "version.")
        wanted = ", ".join(n for s in splits for n in fmt.files[s])
        raise DatasetError(f"no {fmt.title} files in {folder}: expected {wanted} (the binary "
                           f"version).{hint} Fix: {fix}")
    for split in splits:
        for name, records in fmt.files[split].items():
            _check_file(os.path.join(folder, name), records, fmt, fix)
        extra = sorted(n for n in present if n.endswith(".bin") and fmt.picks[split] in n
                       and n not in fmt.files[split])
        if extra:
            raise DatasetError(
                f"{os.path.join(folder, extra[0])} is not a {fmt.title} file, but MindSpore "
                f"would read it as part of the {split} split (its name contains "
                f"{fmt.picks[split]!r}). Fix: move it out of {folder}")
    return folder, usage


def _check_file(path, records, fmt, fix):
    want = records * fmt.record
    try:
        size = os.path.getsize(path)
    except OSError:
        raise DatasetError(f"{fmt.title} file {path} is missing. Fix: {fix}") from None
    if size == want:
        return
    if size % fmt.record == 0:
        why = (f"holds {size // fmt.record:,} records, but MindSpore 2.10 reads only files of "
               f"exactly {records:,} records ({want:,} bytes)"
               + (": it would silently skip the extra records" if size > want else ""))
    else:
        why = (f"has {size:,} bytes, not a whole number of {fmt.record}-byte records: it is "
               f"truncated or not a {fmt.title} binary file (expected {want:,} bytes)")
    raise DatasetError(f"{fmt.title} file {path} {why}. Fix: {fix}")
