"""Image-to-image datasets: two unpaired domains (CycleGAN) and aligned pairs (pix2pix).

Folder layouts (those of the published CycleGAN and pix2pix sets):

- **unpaired** (CycleGAN, ``download_dataset("horse2zebra")``): ``<root>/trainA``,
  ``<root>/trainB``, ``<root>/testA``, ``<root>/testB``, each a folder of images (sub-folders
  are searched too). Domain A and domain B may hold different numbers of images.
- **side by side** (pix2pix's published sets, e.g. ``facades.tar.gz``): ``<root>/train``,
  ``<root>/val``, ``<root>/test``, each image holding the pair as two halves, A on the left and
  B on the right (pix2pix's ``combine_A_and_B`` convention; a 512x256 facades JPEG is a 256x256
  photo on the left and its 256x256 label map on the right, and pix2pix trains facades and
  cityscapes labels -> photo, i.e. B -> A: pass ``direction="b2a"``).
- **two folders** of pairs: ``<root>/<usage>A`` and ``<root>/<usage>B`` (or ``<root>/A/<usage>``
  and ``<root>/B/<usage>``), partners having the same file name (``12.jpg`` and ``12.png``
  pair too: the extension is ignored, and so is a trailing ``_A`` / ``_B``).

Two APIs read them:

- TinyMS 0.3's random-access classes, for ``GeneratorDataset``: :class:`UnalignedDataset`
  (rows ``(image_A, image_B)``) and :class:`GanImageFolderDataset` (rows ``(image,
  image_name)``), with 0.3's arguments; :class:`DistributedSampler` is 0.3's sampler.
- MindSpore datasets with the columns the ``image_to_image`` task reads: :func:`unaligned_dataset`
  and :func:`paired_dataset` give ``image_a`` and ``image_b`` (HWC uint8 RGB), ready for
  ``tinyms.vision.cyclegan_transform.apply_ds``.

Every image is decoded once with Pillow before the first row is read (as
:func:`~tinyms.data.ImageFolderDataset` does), so a corrupt file is a DatasetError naming it.
"""

import math
import os
import threading

import numpy as np

from .._distributed import default_shards
from ..errors import DatasetError
from . import _images
from ._folders import existing_folder, reader_workers

__all__ = ["UnalignedDataset", "GanImageFolderDataset", "PairedDataset", "DistributedSampler",
           "unaligned_dataset", "paired_dataset", "image_list", "load_rgb", "DIRECTIONS"]

#: Which half of a pair becomes ``image_a`` (the network's input): ``"a2b"`` A (left / first
#: folder), ``"b2a"`` B (right / second folder).
DIRECTIONS = ("a2b", "b2a")

_FIX_UNALIGNED = ("pass the folder holding trainA/ and trainB/ (testA/ and testB/ for phase 'test'), "
                  "e.g. the folder download_dataset('horse2zebra') returns")
_FIX_IMAGE = "replace or delete the file (check_images=None skips this check)"


def _max_size(max_dataset_size):
    """None/inf -> None; a positive whole number -> int; anything else a DatasetError."""
    if max_dataset_size is None or (isinstance(max_dataset_size, float) and math.isinf(max_dataset_size)
                                    and max_dataset_size > 0):
        return None
    if isinstance(max_dataset_size, bool) or not isinstance(max_dataset_size, (int, np.integer, float)) \
            or max_dataset_size < 1 or int(max_dataset_size) != max_dataset_size:
        raise DatasetError(f"max_dataset_size must be a whole number >= 1 (or None / float('inf') for all "
                           f"images), got {max_dataset_size!r}")
    return int(max_dataset_size)


def image_list(folder, max_dataset_size=None):
    """The image files under ``folder`` (sub-folders included), sorted by path, at most ``max_dataset_size``.

    Images are ``.jpg``, ``.jpeg``, ``.png`` and ``.bmp`` files in any case; hidden files and
    folders are skipped.

    Args:
        folder: the folder to search.
        max_dataset_size (int): keep only the first this many (in sorted order); None or
            ``float("inf")`` keeps all.

    Returns:
        list of str: absolute paths.

    Raises:
        DatasetError: ``folder`` is not a folder, or ``max_dataset_size`` is not a whole number >= 1.

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from tinyms.data.gan import image_list
        >>> os.makedirs("shots")
        >>> for name in ("b.png", "a.jpg", "notes.txt"):
        ...     Image.new("RGB", (4, 4)).save(os.path.join("shots", name)) if name[-3:] != "txt" else None
        >>> [os.path.basename(p) for p in image_list("shots")]
        ['a.jpg', 'b.png']
    """
    limit = _max_size(max_dataset_size)
    root = existing_folder(folder, "image", "pass a folder of .jpg/.jpeg/.png/.bmp images")
    found = []
    for parent, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(parent, n) for n in names
                  if not n.startswith(".") and os.path.splitext(n)[1].lower() in _images.IMAGE_EXTENSIONS]
    found.sort()
    return found if limit is None else found[:limit]


def load_rgb(path):
    """Decode the image file at ``path`` as an (H, W, 3) uint8 RGB array, upright by its EXIF orientation.

    Raises:
        DatasetError: the file is missing or cannot be decoded; the message names it.
    """
    from PIL import Image, ImageOps  # noqa: PLC0415 - Pillow only when images are read

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - any failure is the file's
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DatasetError(f"image {path} cannot be read ({why}). Fix: {_FIX_IMAGE}") from None


def _images_of(folder, max_dataset_size, check_images, title):
    paths = image_list(folder, max_dataset_size)
    if not paths:
        raise DatasetError(f"{title} folder {folder} holds no images (.jpg, .jpeg, .png, .bmp). Fix: add "
                           f"its images or pass the right folder")
    _images.check_images(folder, paths, check_images, fix=_FIX_IMAGE)
    return paths


def _index(index, size):
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset index must be an integer, got {type(index).__name__}")
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of range for a dataset of {size} rows")
    return index % size


def _descend(root, *probes):
    """``root``, or its one sub-folder holding a ``probes`` folder when ``root`` holds none itself.

    ``download_dataset("horse2zebra")`` returns the folder the archive's top folder
    ``horse2zebra/`` was extracted into; a zip unpacked by hand often nests one level too.
    """
    if any(os.path.isdir(os.path.join(root, p)) for p in probes):
        return root
    subs = [d for d in sorted(os.listdir(root)) if not d.startswith(".") and os.path.isdir(os.path.join(root, d))]
    inner = [d for d in subs if any(os.path.isdir(os.path.join(root, d, p)) for p in probes)]
    return os.path.join(root, inner[0]) if len(subs) == 1 and inner else root


def _seed(seed):
    if seed is None:
        from .._seed import get_seed  # noqa: PLC0415

        seed = get_seed()
    return 0 if seed is None else int(seed)


class UnalignedDataset:
    """Two unpaired image domains, ``<dataset_path>/<phase>A`` and ``<dataset_path>/<phase>B`` (TinyMS 0.3's class).

    Row ``i`` is ``(image_A, image_B)``: the i-th image of domain A (sorted by path; A wraps
    around when B is larger) and an image of domain B, both (H, W, 3) uint8 RGB arrays.
    With ``shuffle=True`` B is drawn at random for every read, from a generator seeded by
    ``(seed, i, how many times row i was read)``, so pairings change every epoch yet a run
    with the same seed reads the same pairs whatever order or thread asks for the rows;
    with ``shuffle=False`` row i pairs A[i mod |A|] with B[i mod |B|]. (0.3 reshuffled A in
    place; here the sampler decides the order of A, e.g. ``GeneratorDataset(...,
    shuffle=True)``.)

    Args:
        dataset_path (str): the folder holding ``trainA``, ``trainB``, ``testA``, ``testB``
            (or the folder whose one sub-folder holds them, as ``download_dataset`` returns).
        phase (str): the split prefix, ``"train"`` or ``"test"`` (any name whose ``A``/``B``
            folders exist).
        max_dataset_size (int): use at most this many images of each domain (the first in
            sorted order); None or ``float("inf")`` uses all.
        shuffle (bool): pair with random B images (see above).
        seed (int): seed of the random pairing; default ``tinyms.get_seed()``, else 0.
        check_images (str): ``"decode"`` (default), ``"header"`` or None, as for
            :func:`~tinyms.data.ImageFolderDataset`.

    Raises:
        DatasetError: a folder is missing or holds no images, or an image is corrupt (named).

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from tinyms.data import UnalignedDataset, GeneratorDataset
        >>> for domain, colour in (("trainA", "red"), ("trainB", "blue")):
        ...     os.makedirs(os.path.join("h2z", domain))
        ...     for i in range(3):
        ...         Image.new("RGB", (8, 6), colour).save(os.path.join("h2z", domain, f"{i}.png"))
        >>> ds = UnalignedDataset("h2z", "train", seed=1)
        >>> image_a, image_b = ds[0]
        >>> len(ds), image_a.shape, image_a.dtype, tuple(image_b[0, 0])
        (3, (6, 8, 3), dtype('uint8'), (0, 0, 255))
        >>> rows = GeneratorDataset(ds, column_names=["image_A", "image_B"], shuffle=False)
    """

    def __init__(self, dataset_path, phase="train", max_dataset_size=None, shuffle=True, seed=None,
                 check_images="decode"):
        phase = str(phase)
        root = _descend(existing_folder(dataset_path, "unaligned image", _FIX_UNALIGNED), phase + "A")
        self.dir_A = os.path.join(root, phase + "A")
        self.dir_B = os.path.join(root, phase + "B")
        for folder in (self.dir_A, self.dir_B):
            if not os.path.isdir(folder):
                have = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))
                              and not d.startswith("."))
                raise DatasetError(f"unaligned dataset {root} has no {os.path.basename(folder)}/ folder for "
                                   f"phase {phase!r} (it has: {', '.join(have) or 'no folders'}). Fix: "
                                   f"{_FIX_UNALIGNED}")
        self.A_paths = _images_of(self.dir_A, max_dataset_size, check_images, "domain A")
        self.B_paths = _images_of(self.dir_B, max_dataset_size, check_images, "domain B")
        self.A_size = len(self.A_paths)
        self.B_size = len(self.B_paths)
        self.shuffle = bool(shuffle)
        self.seed = _seed(seed)
        self._reads = {}
        self._lock = threading.Lock()

    def b_index(self, index):
        """The B image row ``index`` pairs with on this read (advances the row's read count when shuffling)."""
        index = _index(index, len(self))
        if not self.shuffle:
            return index % self.B_size
        with self._lock:
            reads = self._reads.get(index, 0)
            self._reads[index] = reads + 1
        return int(np.random.default_rng([self.seed, index, reads]).integers(self.B_size))

    def __getitem__(self, index):
        index = _index(index, len(self))
        b = self.b_index(index)
        return load_rgb(self.A_paths[index % self.A_size]), load_rgb(self.B_paths[b])

    def __len__(self):
        return max(self.A_size, self.B_size)


class GanImageFolderDataset:
    """One folder of images for translation, rows ``(image, image_name)`` (TinyMS 0.3's class).

    ``image`` is an (H, W, 3) uint8 RGB array and ``image_name`` the file's name as UTF-8
    bytes (a numpy bytes scalar, as 0.3's scripts decode it with ``str(name, "utf-8")``), so
    a translated image can be saved under its source's name.

    Args:
        dataset_path (str): the folder, e.g. ``<root>/testA``.
        max_dataset_size (int): at most this many images (first in sorted order); None or
            ``float("inf")``: all.
        check_images (str): ``"decode"`` (default), ``"header"`` or None.

    Raises:
        DatasetError: the folder is missing or empty, or an image is corrupt (named).

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from tinyms.data import GanImageFolderDataset
        >>> os.makedirs("testA")
        >>> Image.new("RGB", (8, 6)).save(os.path.join("testA", "street.png"))
        >>> image, name = GanImageFolderDataset("testA")[0]
        >>> image.shape, str(name, encoding="utf-8")
        ((6, 8, 3), 'street.png')
    """

    def __init__(self, dataset_path, max_dataset_size=None, check_images="decode"):
        root = existing_folder(dataset_path, "image", "pass a folder of images, e.g. <dataset>/testA")
        self.dataset_path = root
        self.paths = _images_of(root, max_dataset_size, check_images, "image")
        self.size = len(self.paths)

    def __getitem__(self, index):
        path = self.paths[_index(index, self.size)]
        return load_rgb(path), np.array(os.path.basename(path).encode("utf-8"))

    def __len__(self):
        return self.size


class DistributedSampler:
    """TinyMS 0.3's sampler: the row indices of one worker's share, reshuffled every epoch.

    Each pass gives ``ceil(dataset_size / num_replicas)`` indices: a permutation seeded by
    the epoch number (0, 1, ...) when ``shuffle``, else 0..n-1, padded with its own first
    indices to a multiple of ``num_replicas``, of which worker ``rank`` takes every
    ``num_replicas``-th from position ``rank``.

    Args:
        dataset_size (int): rows of the dataset.
        num_replicas (int): workers sharing it; default 1.
        rank (int): this worker, 0 <= rank < num_replicas; default 0.
        shuffle (bool): a new permutation every epoch.

    Example:
        >>> from tinyms.data import DistributedSampler
        >>> list(DistributedSampler(5, num_replicas=2, rank=1, shuffle=False))
        [1, 3, 0]
    """

    def __init__(self, dataset_size, num_replicas=None, rank=None, shuffle=True):
        num_replicas = 1 if num_replicas is None else int(num_replicas)
        rank = 0 if rank is None else int(rank)
        if int(dataset_size) < 1 or num_replicas < 1 or not 0 <= rank < num_replicas:
            raise DatasetError(f"DistributedSampler needs dataset_size >= 1, num_replicas >= 1 and 0 <= rank < "
                               f"num_replicas; got {dataset_size}, {num_replicas}, {rank}")
        self.dataset_size = int(dataset_size)
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.num_samples = -(-self.dataset_size // num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = bool(shuffle)

    def __iter__(self):
        if self.shuffle:
            order = np.random.RandomState(self.epoch).permutation(self.dataset_size).tolist()
            self.epoch += 1
        else:
            order = list(range(self.dataset_size))
        while len(order) < self.total_size:
            order += order[:self.total_size - len(order)]
        return iter(order[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples


def _partner_key(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem[:-2] if stem.endswith(("_A", "_B", "_a", "_b")) else stem


class PairedDataset:
    """Aligned image pairs for pix2pix: side-by-side images or two folders (random access).

    Row ``i`` is ``(image_a, image_b)``, (H, W, 3) uint8 RGB arrays of the same size: the
    network's input and its target. See the module's description for the layouts; by
    ``direction``, ``image_a`` is A (the left half / the ``A`` folder, ``"a2b"``) or B
    (``"b2a"``).

    Args:
        dataset_path (str): the dataset folder (holding ``train/``, ``val/``, ``test/`` of
            side-by-side images, or ``trainA/`` + ``trainB/``...), or directly a folder of
            side-by-side images.
        usage (str): the split, e.g. ``"train"``, ``"val"``, ``"test"``.
        direction (str): ``"a2b"`` (default) or ``"b2a"``.
        max_dataset_size (int): at most this many pairs (first in sorted order).
        check_images (str): ``"decode"`` (default), ``"header"`` or None.

    Raises:
        DatasetError: no split folder, an empty folder, an image without its partner, a
            side-by-side image of odd width, partners of different sizes, or a corrupt image;
            the message names the file.

    Example:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> from tinyms.data import PairedDataset
        >>> os.makedirs(os.path.join("facades", "train"))
        >>> pair = np.zeros((4, 8, 3), np.uint8); pair[:, 4:] = 255     # A black | B white
        >>> Image.fromarray(pair).save(os.path.join("facades", "train", "1.png"))
        >>> a, b = PairedDataset("facades", "train", direction="b2a")[0]
        >>> a.shape, int(a.max()), int(b.max())
        ((4, 4, 3), 255, 0)
    """

    def __init__(self, dataset_path, usage="train", direction="a2b", max_dataset_size=None,
                 check_images="decode"):
        if direction not in DIRECTIONS:
            raise DatasetError(f"direction must be 'a2b' (image_a = A, the left half) or 'b2a' (image_a = B, "
                               f"the right half), got {direction!r}")
        fix = ("pass a folder holding <usage>/ of side-by-side A|B images (pix2pix's layout), or "
               "<usage>A/ and <usage>B/ with partners of the same name")
        self.direction, self.usage = direction, str(usage)
        root = _descend(existing_folder(dataset_path, "paired image", fix), self.usage, self.usage + "A")
        pairs = [(os.path.join(root, self.usage + "A"), os.path.join(root, self.usage + "B")),
                 (os.path.join(root, "A", self.usage), os.path.join(root, "B", self.usage))]
        two = next(((a, b) for a, b in pairs if os.path.isdir(a) and os.path.isdir(b)), None)
        if two is not None:
            self.layout = "folders"
            a_paths = _images_of(two[0], None, check_images, "domain A")
            b_paths = _images_of(two[1], None, check_images, "domain B")
            self.pairs = self._match(a_paths, b_paths, two)
            limit = _max_size(max_dataset_size)
            self.pairs = self.pairs if limit is None else self.pairs[:limit]
        else:
            folder = os.path.join(root, self.usage)
            if not os.path.isdir(folder):
                if not image_list(root):
                    have = sorted(d for d in os.listdir(root) if not d.startswith("."))
                    raise DatasetError(f"paired dataset {root} has no {self.usage}/ folder (it has: "
                                       f"{', '.join(have) or 'nothing'}). Fix: {fix}")
                folder = root
            self.layout = "side_by_side"
            self.pairs = [(p, None) for p in _images_of(folder, max_dataset_size, check_images, "paired image")]

    @staticmethod
    def _match(a_paths, b_paths, folders):
        by_key = {}
        for path in b_paths:
            by_key.setdefault(_partner_key(path), []).append(path)
        pairs, used = [], set()
        for path in a_paths:
            found = by_key.get(_partner_key(path), [])
            if len(found) != 1:
                why = "has no partner" if not found else f"has {len(found)} candidate partners"
                raise DatasetError(f"image {path} {why} in {folders[1]} (partners share the file name, "
                                   f"extension and a trailing _A/_B aside). Fix: add or rename its partner, "
                                   f"or move it out")
            pairs.append((path, found[0]))
            used.add(found[0])
        extra = sorted(set(b_paths) - used)
        if extra:
            raise DatasetError(f"image {extra[0]} has no partner in {folders[0]}. Fix: add or rename its "
                               f"partner, or move it out")
        return pairs

    def __getitem__(self, index):
        first, second = self.pairs[_index(index, len(self.pairs))]
        if second is None:
            image = load_rgb(first)
            height, width = image.shape[:2]
            if width % 2:
                raise DatasetError(f"image {first} is {width} pixels wide, an odd width, so it is not two "
                                   f"side-by-side halves A|B. Fix: replace it with its pair image, or use "
                                   f"two folders <usage>A/ and <usage>B/")
            a, b = image[:, :width // 2], image[:, width // 2:]
        else:
            a, b = load_rgb(first), load_rgb(second)
            if a.shape != b.shape:
                raise DatasetError(f"images {first} ({a.shape[1]}x{a.shape[0]}) and {second} "
                                   f"({b.shape[1]}x{b.shape[0]}) form a pair but differ in size. Fix: resize "
                                   f"one to the other's size")
        if self.direction == "b2a":
            a, b = b, a
        return np.ascontiguousarray(a), np.ascontiguousarray(b)

    def __len__(self):
        return len(self.pairs)


def _generator(source, columns, shuffle, num_parallel_workers, num_shards, shard_id, paired):
    from .generic import GeneratorDataset  # noqa: PLC0415

    num_shards, shard_id = default_shards(num_shards, shard_id)
    dataset = GeneratorDataset(source, column_names=list(columns), shuffle=bool(shuffle),
                               num_parallel_workers=reader_workers(num_parallel_workers) or 1,
                               python_multiprocessing=False, num_shards=num_shards, shard_id=shard_id)
    dataset.source = source
    dataset.paired = paired
    return dataset


def unaligned_dataset(dataset_dir, usage="train", max_dataset_size=None, shuffle=None, seed=None,
                      num_parallel_workers=None, num_shards=None, shard_id=None, check_images="decode"):
    """Unpaired domains A and B as a MindSpore dataset with columns ``image_a`` and ``image_b``.

    The rows are :class:`UnalignedDataset`'s (``<dataset_dir>/<usage>A`` and ``.../<usage>B``):
    ``max(|A|, |B|)`` rows of (H, W, 3) uint8 RGB images; for training, each A image meets
    a random B image, drawn anew every epoch (seeded, see :class:`UnalignedDataset`).

    Args:
        dataset_dir (str): the folder holding ``trainA/``, ``trainB/``, ``testA/``, ``testB/``.
        usage (str): ``"train"`` or ``"test"``.
        max_dataset_size (int): at most this many images per domain.
        shuffle (bool): shuffle the rows and pair at random; default True for ``"train"``,
            False otherwise (row i then pairs A[i] with B[i mod |B|]).
        seed (int): seed of the random pairing (default ``tinyms.get_seed()``, else 0); the
            row order follows MindSpore's dataset seed (``tinyms.set_seed``).
        num_parallel_workers (int): reader threads (default 1).
        num_shards, shard_id: read one shard (under ``msrun`` one per worker by default).
        check_images (str): ``"decode"`` (default), ``"header"`` or None.

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``image_a``, ``image_b``; its ``source``
        attribute is the :class:`UnalignedDataset`.

    Raises:
        DatasetError: see :class:`UnalignedDataset`.

    Example:
        >>> import os
        >>> from PIL import Image
        >>> from tinyms.data import unaligned_dataset
        >>> for domain in ("trainA", "trainB"):
        ...     os.makedirs(os.path.join("photos2art", domain))
        ...     for i in range(2):
        ...         Image.new("RGB", (8, 8)).save(os.path.join("photos2art", domain, f"{i}.jpg"))
        >>> ds = unaligned_dataset("photos2art", usage="train")
        >>> ds.get_col_names(), ds.get_dataset_size()
        (['image_a', 'image_b'], 2)
    """
    shuffle = (usage == "train") if shuffle is None else bool(shuffle)
    source = UnalignedDataset(dataset_dir, usage, max_dataset_size, shuffle=shuffle, seed=seed,
                              check_images=check_images)
    return _generator(source, ("image_a", "image_b"), shuffle, num_parallel_workers, num_shards, shard_id,
                      paired=False)


def paired_dataset(dataset_dir, usage="train", direction="a2b", max_dataset_size=None, shuffle=None,
                   num_parallel_workers=None, num_shards=None, shard_id=None, check_images="decode"):
    """Aligned pairs (pix2pix) as a MindSpore dataset with columns ``image_a`` (input) and ``image_b`` (target).

    Reads :class:`PairedDataset`'s layouts: side-by-side A|B images (pix2pix's published sets:
    ``<dataset_dir>/train``, ``val``, ``test``) or two folders of partners. For pix2pix's
    facades and cityscapes (photo on the left, label map on the right) the published
    direction is labels -> photo: ``direction="b2a"``.

    The returned dataset is marked ``paired``: ``cyclegan_transform.apply_ds`` then crops and
    flips both images of a row alike, so pairs stay aligned.

    Args:
        dataset_dir (str): the dataset folder, or a folder of side-by-side images.
        usage (str): the split (``"train"``, ``"val"``, ``"test"``).
        direction (str): ``"a2b"`` (image_a = A, default) or ``"b2a"``.
        max_dataset_size (int): at most this many pairs.
        shuffle (bool): default True for ``"train"``, False otherwise.
        num_parallel_workers (int): reader threads (default 1).
        num_shards, shard_id: read one shard (under ``msrun`` one per worker by default).
        check_images (str): ``"decode"`` (default), ``"header"`` or None.

    Returns:
        mindspore.dataset.GeneratorDataset: columns ``image_a``, ``image_b`` (HWC uint8 RGB);
        ``source`` is the :class:`PairedDataset`, ``paired`` is True.

    Raises:
        DatasetError: see :class:`PairedDataset`.

    Example:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> from tinyms.data import paired_dataset
        >>> os.makedirs(os.path.join("pairs", "train"))
        >>> Image.fromarray(np.zeros((4, 8, 3), np.uint8)).save(os.path.join("pairs", "train", "1.png"))
        >>> row = next(paired_dataset("pairs").create_dict_iterator(output_numpy=True))
        >>> row["image_a"].shape, row["image_b"].shape
        ((4, 4, 3), (4, 4, 3))
    """
    shuffle = (usage == "train") if shuffle is None else bool(shuffle)
    source = PairedDataset(dataset_dir, usage, direction, max_dataset_size, check_images=check_images)
    return _generator(source, ("image_a", "image_b"), shuffle, num_parallel_workers, num_shards, shard_id,
                      paired=True)
