"""Image folders (one sub-folder per class): MindSpore's reader with the folder checked first."""

import os

from .._distributed import default_shards
from ..errors import DatasetError
from ._folders import existing_folder
from . import _images

__all__ = ["ImageFolderDataset", "class_names"]

_FIX_FOLDER = ("pass a folder holding one sub-folder per class, each with its images, e.g. "
               "photos/cat/1.jpg, photos/dog/2.jpg")


def class_names(folder):
    """The class names of an image folder: its non-hidden sub-folder names, sorted.

    Label ``i`` of :func:`ImageFolderDataset` (without ``class_indexing``) names class
    ``class_names(folder)[i]``; the vision presets take these as their labels.

    Args:
        folder: the image folder.

    Returns:
        tuple of str.

    Raises:
        DatasetError: ``folder`` does not exist or has no sub-folders.

    Example:
        >>> import os
        >>> from tinyms.data import class_names
        >>> for name in ("dog", "cat", ".ipynb_checkpoints"):
        ...     os.makedirs(os.path.join("pets", name))
        >>> class_names("pets")
        ('cat', 'dog')
    """
    root = existing_folder(folder, "image", _FIX_FOLDER)
    with os.scandir(root) as entries:
        names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    if not names:
        raise DatasetError(f"image folder {root} has no class sub-folders. Fix: {_FIX_FOLDER}")
    return tuple(names)


def ImageFolderDataset(dataset_dir, num_samples=None, num_parallel_workers=None,  # noqa: N802
                       shuffle=None, sampler=None, extensions=None, class_indexing=None,
                       decode=False, num_shards=None, shard_id=None, check_images="decode",
                       **kwargs):
    """Check a folder of class sub-folders and return a ``mindspore.dataset.ImageFolderDataset``.

    Each non-hidden sub-folder is a class (label = its index in :func:`class_names`, or
    ``class_indexing[name]``); its ``.jpg``/``.jpeg``/``.png``/``.bmp`` files (any case) are
    the images. Hidden folders (``.ipynb_checkpoints``...) and other files are ignored.

    Before MindSpore's reader is built, every image is decoded once with Pillow (JPEGs in
    draft mode), so a corrupt file is a DatasetError naming it now instead of a failure
    deep inside the pipeline later; MindSpore would also write a copy of it as
    ``abnormal_image.jpg`` into the current directory, or crash on a JPEG that holds only
    headers. Measured here (2 vCPUs), the check costs about 0.15 s per 1,000 224x224 JPEGs
    and 0.45 s per 1,000 500x375 JPEGs the first time; images that passed are remembered by
    size and modification time (under ``$TINYMS_HOME/cache/images``), so later calls only
    stat them. ``check_images="header"`` reads only headers (about 0.04 s per 1,000; misses
    truncated data); ``None`` skips the check.

    Args:
        dataset_dir: the folder of class sub-folders.
        num_samples, num_parallel_workers, shuffle, sampler, num_shards, shard_id: as for
            MindSpore's reader; other keyword arguments are passed on to it. Under ``msrun``
            (``tinyms train --nproc N``) the folder is split into one shard per worker unless
            ``num_shards``, ``shard_id`` or ``sampler`` is given: pass ``num_shards=1`` for a
            folder every worker must read whole (evaluation data).
        extensions: file extensions to read (default ``.jpg``, ``.jpeg``, ``.png``, ``.bmp``
            in lower and upper case).
        class_indexing: ``{class name: label}``; default: sorted sub-folder names, 0, 1, ...
        decode: decode the images (HWC uint8 RGB) instead of giving the file bytes.
        check_images: ``"decode"`` (default), ``"header"`` or None, see above.

    Returns:
        mindspore.dataset.ImageFolderDataset: columns ``image`` and ``label`` (int32). Its
        ``class_names`` attribute lists the class names in label order.

    Raises:
        DatasetError: the folder is missing or has no class sub-folders, a class folder holds
            no images, ``class_indexing`` names a missing folder, or an image is corrupt; the
            message names the folder or file.

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from tinyms.data import ImageFolderDataset
        >>> for name, colour in (("cat", "orange"), ("dog", "brown")):   # photos/cat/*.jpg, photos/dog/*.jpg
        ...     os.makedirs(os.path.join("photos", name))
        ...     for i in range(3):
        ...         Image.new("RGB", (64, 48), colour).save(os.path.join("photos", name, f"{i}.jpg"))
        >>> ds = ImageFolderDataset("photos", decode=True, shuffle=False)
        >>> ds.class_names, ds.get_dataset_size()
        (('cat', 'dog'), 6)
        >>> [(row["image"].shape, int(row["label"])) for row in ds.create_dict_iterator(output_numpy=True)][-1]
        ((48, 64, 3), 1)
    """
    root = existing_folder(dataset_dir, "image", _FIX_FOLDER)
    names = class_names(root)
    if class_indexing is None:
        class_indexing = {name: i for i, name in enumerate(names)}
    else:
        missing = sorted(set(class_indexing) - set(names))
        if missing:
            raise DatasetError(f"class_indexing names {missing[0]!r}, but {root} has no such "
                               f"sub-folder (it has: {', '.join(names)}). Fix: correct "
                               f"class_indexing or add the folder")
    ordered = tuple(sorted(class_indexing, key=lambda n: (class_indexing[n], n)))
    if extensions is None:
        extensions = [e for ext in _images.IMAGE_EXTENSIONS for e in (ext, ext.upper())]
    wanted = {e.lower() for e in extensions}
    images = []
    for name in ordered:
        folder = os.path.join(root, name)
        found = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                       if not f.startswith(".") and os.path.splitext(f)[1].lower() in wanted
                       and os.path.isfile(os.path.join(folder, f)))
        if not found:
            raise DatasetError(f"class folder {folder} holds no images ({', '.join(sorted(wanted))}). "
                               f"Fix: add its images, or remove the folder (a class without "
                               f"images cannot be learned)")
        images += found
    _images.check_images(root, images, check_images,
                 fix="replace or delete the file (check_images=None skips this check)")
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    num_shards, shard_id = default_shards(num_shards, shard_id, sampler)  # one shard per msrun worker
    dataset = ds.ImageFolderDataset(root, num_samples=num_samples,
                                    num_parallel_workers=num_parallel_workers, shuffle=shuffle,
                                    sampler=sampler, extensions=list(extensions),
                                    class_indexing=dict(class_indexing), decode=decode,
                                    num_shards=num_shards, shard_id=shard_id, **kwargs)
    dataset.class_names = ordered
    return dataset
