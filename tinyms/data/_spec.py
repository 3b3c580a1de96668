"""Dataset specs: the one place that says what a dataset is.

A :class:`DatasetSpec` describes one dataset completely: where its files come from
(:class:`DatasetFile`: official name, size and SHA-256, or the publisher's MD5 and a size
bound, and what to do with it), the folder layout they produce, its class names, image shape
and normalisation statistics, the loader reading it, its licence and source page, and an
optional bundled sample. Specs are plain
values; ``_registry.py`` holds the registry they are added to (:func:`register_dataset`) and
``_catalog.py`` declares TinyMS's own.
"""

import dataclasses
import posixpath
import re
import types

__all__ = ["DatasetFile", "DatasetSpec"]

ACTIONS = ("keep", "gunzip", "extract")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


def _relative(path, what, allow_empty=False):
    """Check a "/"-separated relative path that cannot leave the dataset folder."""
    if not isinstance(path, str):
        raise TypeError(f"{what} must be a string, got {path!r}")
    if path in ("", ".") and allow_empty:
        return ""
    norm = posixpath.normpath(path)
    if (not path or path.startswith("/") or "\\" in path or norm == "." or norm.startswith("..")
            or any(part.startswith(".") for part in norm.split("/"))):
        raise ValueError(f"{what} must be a relative path inside the dataset folder, without "
                         f"'..' or hidden parts, e.g. 'train'; got {path!r}")
    return norm


def _digest(value, what, pattern=_SHA256, kind="a SHA-256 as 64"):
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value.lower()):
        raise ValueError(f"{what} must be {kind} hex digits, got {value!r}")
    return value.lower()


def _size(value, what, required=False):
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive number of bytes, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset: its official name, checksums, and what to do with it.

    Args:
        name: the official file name; fetched from ``<base URL><name>`` (or
            ``<mirror>/<dataset>/<name>``).
        size: bytes of the file as downloaded (optional for ``gunzip`` when
            ``unpacked_sha256`` is given, which lets a mirror recompress it, and for a file
            checked by ``md5``).
        sha256: SHA-256 of the file as downloaded (same rule).
        md5: instead of ``size`` and ``sha256``, for a ``keep`` or ``extract`` file whose
            publisher gives only an MD5: the MD5 of the file as downloaded, 32 hex digits.
            The file is checked against it once, at install; its SHA-256 computed then is
            recorded and used by every later check.
        max_size: with ``md5``, required: the most bytes the download may have (a bound
            chosen above the true size, not a claim about it).
        size_only: for a ``keep`` or ``extract`` file whose publisher gives no digest at all:
            True checks the download by its exact ``size`` only (weaker than a digest: say so
            where the spec is declared); the SHA-256 computed at install is recorded and used
            by every later check, as for ``md5``.
        action: ``"keep"`` (store as is at ``path``), ``"gunzip"`` (decompress to ``path``)
            or ``"extract"`` (a ``.tar``, ``.tar.gz``, ``.tgz`` or ``.zip`` unpacked into the
            folder ``path``).
        path: where the result goes inside the dataset folder, "/"-separated. Default: the
            file name for ``keep``, the name without ``.gz`` for ``gunzip``; required for
            ``extract`` (one folder per archive, renamed into place only when complete).
        strip: for ``extract``: a member prefix removed from every member name, e.g.
            ``"VOCdevkit/VOC2007/"``. Members outside the prefix are refused.
        unpacked_size: for ``gunzip``: the exact decompressed size; for ``extract``: the
            most bytes the members may add up to (default ``size`` or ``max_size``, right
            for a plain ``.tar``; required for a compressed archive or a ``.zip``).
        unpacked_sha256: for ``gunzip``: SHA-256 of the decompressed content.
        max_members: for ``extract``: the most members the archive may hold.

    Raises:
        ValueError: a field is malformed; the message names it.

    Example:
        >>> from tinyms.data import DatasetFile
        >>> f = DatasetFile("t10k-labels-idx1-ubyte.gz", action="gunzip", path="test/t10k-labels-idx1-ubyte",
        ...                 unpacked_size=10008, unpacked_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")
        >>> f.path, f.max_download
        ('test/t10k-labels-idx1-ubyte', 75644)
    """

    name: str
    size: int = None
    sha256: str = None
    action: str = "keep"
    path: str = None
    strip: str = ""
    unpacked_size: int = None
    unpacked_sha256: str = None
    max_members: int = 100_000
    md5: str = None
    max_size: int = None
    size_only: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or "/" in self.name or \
                self.name.startswith(".") or self.name != self.name.strip():
            raise ValueError(f"DatasetFile name must be a plain file name, got {self.name!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"DatasetFile {self.name}: action must be one of {', '.join(ACTIONS)}, "
                             f"got {self.action!r}")
        set_ = object.__setattr__
        set_(self, "size", _size(self.size, f"{self.name}: size"))
        set_(self, "sha256", _digest(self.sha256, f"{self.name}: sha256"))
        set_(self, "unpacked_size", _size(self.unpacked_size, f"{self.name}: unpacked_size"))
        set_(self, "unpacked_sha256", _digest(self.unpacked_sha256, f"{self.name}: unpacked_sha256"))
        _size(self.max_members, f"{self.name}: max_members", required=True)
        set_(self, "md5", _digest(self.md5, f"{self.name}: md5", _MD5, "an MD5 as 32"))
        set_(self, "max_size", _size(self.max_size, f"{self.name}: max_size"))
        if self.size_only:
            if self.size is None or self.sha256 is not None or self.md5 is not None or self.action == "gunzip":
                raise ValueError(f"DatasetFile {self.name}: size_only is for a keep or extract file "
                                 f"with an exact size= and no published digest (no sha256 or md5)")
        elif self.md5 is not None:
            self._check_md5()
        elif self.max_size is not None:
            raise ValueError(f"DatasetFile {self.name}: max_size bounds a file checked by md5; "
                             f"with sha256 give its exact size=")
        elif (self.size is None) != (self.sha256 is None):
            raise ValueError(f"DatasetFile {self.name}: give size and sha256 together")
        if self.action == "gunzip":
            if self.sha256 is None and (self.unpacked_sha256 is None or self.unpacked_size is None):
                raise ValueError(f"DatasetFile {self.name}: a gunzip file needs size and sha256 of "
                                 f"the download, or unpacked_size and unpacked_sha256")
        elif self.sha256 is None and self.md5 is None and not self.size_only:
            raise ValueError(f"DatasetFile {self.name}: action {self.action!r} needs size and "
                             f"sha256 (or md5 and max_size when only an MD5 is published)")
        if self.action != "gunzip" and self.unpacked_sha256 is not None:
            raise ValueError(f"DatasetFile {self.name}: unpacked_sha256 is for gunzip files only")
        if self.action == "extract":
            if self.path is None:
                raise ValueError(f"DatasetFile {self.name}: an archive needs path=, the folder "
                                 f"it is extracted into (e.g. 'train')")
            compressed = not self.name.endswith(".tar")
            if compressed and self.unpacked_size is None:
                raise ValueError(f"DatasetFile {self.name}: a compressed archive needs "
                                 f"unpacked_size, the most bytes its members may add up to")
            if self.strip and not self.strip.endswith("/"):
                set_(self, "strip", self.strip + "/")
        elif self.strip:
            raise ValueError(f"DatasetFile {self.name}: strip is for archives only")
        default = self.name[:-3] if self.action == "gunzip" and self.name.endswith(".gz") else self.name
        set_(self, "path", _relative(self.path if self.path is not None else default,
                                     f"DatasetFile {self.name}: path"))

    def _check_md5(self):
        if self.size is not None or self.sha256 is not None:
            raise ValueError(f"DatasetFile {self.name}: give md5 (with max_size) or size and "
                             f"sha256, not both; md5 is for files whose publisher gives no SHA-256")
        if self.action == "gunzip":
            raise ValueError(f"DatasetFile {self.name}: md5 is for keep and extract files; a "
                             f"gunzip file needs unpacked_size and unpacked_sha256")
        if self.max_size is None:
            raise ValueError(f"DatasetFile {self.name}: a file checked by md5 needs max_size, the "
                             f"most bytes its download may have (a bound above its true size)")

    @property
    def max_download(self):
        """The most bytes a source may send for this file.

        ``size`` when known; ``max_size`` for a file checked by MD5; otherwise (a gunzip file
        checked after decompression, which a mirror may serve recompressed or raw) the
        decompressed size plus gzip's worst-case overhead: 5 bytes per 64 KiB stored block and
        a short header.
        """
        if self.size is not None:
            return self.size
        if self.max_size is not None:
            return self.max_size
        return self.unpacked_size + self.unpacked_size // 100 + 65536

    @property
    def max_unpacked(self):
        """The most bytes the result may hold: a decompressed file's ``unpacked_size`` (None:
        no bound, the download's SHA-256 fixes the content); an archive's members' total."""
        if self.unpacked_size is not None or self.action == "gunzip":
            return self.unpacked_size
        return self.max_download


def _mapping(value, what, check):
    try:
        items = dict(value).items()
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a mapping, got {value!r}") from None
    return types.MappingProxyType({str(k): check(v, f"{what}[{k!r}]") for k, v in items})


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative number of images, got {value!r}")
    return value


def _stats(value, what, channels):
    values = tuple(float(v) for v in (value if isinstance(value, (tuple, list)) else (value,)))
    if len(values) != channels:
        raise ValueError(f"{what} needs one value per channel ({channels}), got {value!r}")
    return values


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything TinyMS knows about one dataset, registered with :func:`register_dataset`.

    Args:
        name: lower-case name (letters, digits, ``_``), as given to ``download_dataset``.
        urls: base URLs tried in order; a file is fetched from ``<base><file name>``.
        files: the :class:`DatasetFile` entries, downloaded in this order.
        layout: split name -> folder (relative to the dataset folder) holding that split,
            e.g. ``{"train": "train", "test": "test"}``.
        labels: class names; label ``i`` names class ``i``.
        image_shape: one image as stored, (height, width, channels); None when it varies.
        mean, std: per-channel statistics of images rescaled to [0, 1].
        loader: name of the ``tinyms.data`` loader reading the dataset folder, e.g.
            ``"Cifar10Dataset"``.
        license: the licence the data is published under.
        homepage: the page describing the dataset.
        num_images: split name -> number of images.
        sample_files: files of a small bundled sample ("/"-separated paths, each stored
            gzip-compressed as ``<path>.gz`` under ``sample_folder``); empty for none.
        sample_folder: where the sample's ``.gz`` files are; default TinyMS's bundled
            ``tinyms/data/_sample/<name>``.

    Raises:
        ValueError, TypeError: a field is malformed; the message names it.

    Example:
        >>> from tinyms.data import DatasetSpec, DatasetFile
        >>> spec = DatasetSpec(
        ...     name="my_digits", urls=("http://127.0.0.1:8000/digits/",),
        ...     files=(DatasetFile("digits.tar.gz", size=1234, sha256="0" * 64, action="extract",
        ...                        path="train", unpacked_size=10_000),),
        ...     layout={"train": "train"}, labels=("0", "1"), image_shape=(28, 28, 1),
        ...     mean=0.5, std=0.25, loader="ImageFolderDataset", num_images={"train": 2})
        >>> spec.mean, spec.download_size
        ((0.5,), 1234)
    """

    name: str
    urls: tuple
    files: tuple
    layout: types.MappingProxyType
    labels: tuple
    image_shape: tuple = None
    mean: tuple = ()
    std: tuple = ()
    loader: str = None
    license: str = "unknown"
    homepage: str = ""
    num_images: types.MappingProxyType = None
    sample_files: tuple = ()
    sample_folder: str = None

    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"DatasetSpec name must be lower-case letters, digits and '_', "
                             f"e.g. 'my_photos'; got {self.name!r}")
        urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        for url in urls:
            if not isinstance(url, str) or not url.endswith("/"):
                raise ValueError(f"dataset {self.name}: each base URL must be a string ending in "
                                 f"'/', got {url!r}")
        set_(self, "urls", urls)
        files = tuple(self.files)
        if not files or not all(isinstance(f, DatasetFile) for f in files):
            raise TypeError(f"dataset {self.name}: files must be a non-empty sequence of DatasetFile")
        for what in ("name", "path"):
            seen = [getattr(f, what) for f in files]
            if len(set(seen)) != len(seen):
                raise ValueError(f"dataset {self.name}: two files share a {what}: {seen}")
        set_(self, "files", files)
        set_(self, "layout", _mapping(self.layout, f"dataset {self.name}: layout",
                                      lambda v, w: _relative(v, w, allow_empty=True)))
        set_(self, "labels", tuple(str(label) for label in self.labels))
        if self.image_shape is not None:
            set_(self, "image_shape", tuple(int(n) for n in self.image_shape))
        channels = self.image_shape[-1] if self.image_shape else len(tuple(
            self.mean if isinstance(self.mean, (tuple, list)) else (self.mean,)))
        set_(self, "mean", _stats(self.mean, f"dataset {self.name}: mean", channels))
        set_(self, "std", _stats(self.std, f"dataset {self.name}: std", channels))
        set_(self, "num_images", _mapping(self.num_images or {}, f"dataset {self.name}: num_images",
                                          _count))
        set_(self, "sample_files", tuple(_relative(p, f"dataset {self.name}: sample file")
                                         for p in self.sample_files))

    @property
    def download_size(self):
        """Bytes downloaded for the whole dataset (the most, for files checked after gunzip or
        by MD5)."""
        return sum(f.size if f.size is not None else f.max_size or f.unpacked_size
                   for f in self.files)

    @property
    def total_images(self):
        """Images in all splits together (0 when unknown)."""
        return sum(self.num_images.values())
