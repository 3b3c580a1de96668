"""Files of one pinned npm package, fetched once from the npm registry and verified (no MindSpore).

The browser page that ``tinyms export --web`` writes runs its model with ``onnxruntime-web``,
vendored into the page's folder at export time so that the page needs no network when it runs.
This module gets that package:

- the version is pinned (:data:`ORT_WEB`) together with the Subresource-Integrity digest
  (``sha512-...``) its tarball had when TinyMS was tested with it;
- the registry's document for that version (``<registry>/<name>/<version>``) must publish the
  same integrity; its ``dist.tarball`` is downloaded with :func:`tinyms._download.fetch`
  (bounded size and time, resumable) and checked against the integrity and the published
  ``shasum`` (SHA-1) before it is placed in the cache, ``$TINYMS_HOME/cache/npm/``, atomically;
  a download that does not match is removed and is a :class:`~tinyms.errors.ChecksumError`;
- a cached tarball is checked again each time it is used, so the registry is asked once;
- only the named regular files are read out of the tarball, into paths this module chooses
  (a member's own path is never used to write), each bounded in size: a link, a device or a
  missing member is an :class:`~tinyms.errors.ArchiveError`.

``$TINYMS_NPM_REGISTRY`` names another registry (a mirror); ``TINYMS_OFFLINE=1`` uses the cache
only.
"""

import base64
import dataclasses
import hashlib
import json
import os
import tarfile

from .. import _download
from .._fileio import atomic_file
from .._home import tinyms_home
from ..errors import ArchiveError, ChecksumError, DownloadError

__all__ = ["NpmPin", "ORT_WEB", "REGISTRY_ENV", "DEFAULT_REGISTRY", "package_tarball", "extract_files",
           "cached_tarball_path"]

REGISTRY_ENV = "TINYMS_NPM_REGISTRY"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
OFFLINE_ENV = "TINYMS_OFFLINE"
MAX_DOCUMENT_BYTES = 4 << 20     # a version document is a few kB
MAX_TARBALL_BYTES = 256 << 20    # onnxruntime-web 1.31.1's tarball is 35 MB
MAX_MEMBER_BYTES = 64 << 20      # its largest file read here (the wasm) is 15 MB
_EXAMPLE = "https://registry.npmjs.org"


@dataclasses.dataclass(frozen=True)
class NpmPin:
    """One npm package version and the files a TinyMS export takes from it.

    Attributes:
        name: the package name, e.g. ``"onnxruntime-web"``.
        version: the exact version.
        integrity: the tarball's Subresource-Integrity string (``"sha512-<base64>"``), as the
            registry publishes it in ``dist.integrity``.
        files: paths inside the tarball (``package/...``) of the files to take.
        license: the package's license, for the notice written beside the files.
    """

    name: str
    version: str
    integrity: str
    files: tuple
    license: str = ""

    @property
    def tarball_name(self):
        """The cache file's name, ``<name>-<version>.tgz``."""
        return f"{self.name.replace('/', '-').lstrip('@')}-{self.version}.tgz"


#: ONNX Runtime Web, the WebAssembly build only: the classic-script bundle (``ort`` global), the
#: Emscripten loader it imports (an ES module) and the single SIMD WebAssembly binary (threads
#: unused: the page sets one thread, so no worker and no cross-origin isolation are needed).
ORT_WEB = NpmPin(
    name="onnxruntime-web", version="1.31.1",
    integrity="sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw==",
    files=("package/dist/ort.wasm.min.js", "package/dist/ort-wasm-simd-threaded.mjs",
           "package/dist/ort-wasm-simd-threaded.wasm"),
    license="MIT (Copyright (c) Microsoft Corporation)")


def _registry(registry):
    url = registry if registry is not None else (os.environ.get(REGISTRY_ENV, "").strip() or DEFAULT_REGISTRY)
    name = "registry=" if registry is not None else REGISTRY_ENV
    _download.check_url(url, name, _EXAMPLE, base=True)
    return url.rstrip("/")


def cached_tarball_path(pin=ORT_WEB):
    """Where the verified tarball of ``pin`` is kept: ``$TINYMS_HOME/cache/npm/<name>-<version>.tgz``."""
    return os.path.join(tinyms_home(), "cache", "npm", pin.tarball_name)


def _sri(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest


def _integrity_problem(path, integrity, shasum=None):
    """Why the file at ``path`` is not the tarball ``integrity`` (and ``shasum``) describe, or None."""
    algorithm, _, expected = integrity.partition("-")
    got = base64.b64encode(_sri(path, algorithm).digest()).decode("ascii")
    if got != expected:
        return (f"integrity mismatch: got {os.path.getsize(path)} bytes with {algorithm}-{got[:24]}..., "
                f"expected {integrity[:31]}...")
    if shasum is not None and _sri(path, "sha1").hexdigest() != shasum.lower():
        return f"shasum mismatch: the SHA-1 is not the published {shasum}"
    return None


def _check_integrity_text(integrity, what):
    algorithm, _, value = str(integrity).partition("-")
    if algorithm not in ("sha512", "sha384", "sha256") or not value:
        raise ChecksumError(f"{what} {integrity!r:.60} is not a Subresource-Integrity digest (sha512-<base64>)")


def package_tarball(pin=ORT_WEB, registry=None, progress=True, timeout=None):
    """The path of ``pin``'s verified tarball in the cache, downloaded from the registry if needed.

    Args:
        pin (NpmPin): the package version and its tarball's integrity.
        registry (str): the registry's base URL; default ``$TINYMS_NPM_REGISTRY``, else
            ``https://registry.npmjs.org``.
        progress (bool): show a progress bar while downloading.
        timeout (float): seconds each download may take; default ``$TINYMS_DOWNLOAD_TIMEOUT``.

    Returns:
        str: the cached ``.tgz`` file (its integrity checked on this call).

    Raises:
        ChecksumError: the registry publishes another integrity for this version, or what it
            sent does not match the integrity (or the published SHA-1); nothing was cached.
        DownloadError: the registry cannot be reached or answered no usable document, or
            ``TINYMS_OFFLINE=1`` and the tarball is not cached.

    Example:
        >>> package_tarball()  # doctest: +SKIP
        '/home/me/.tinyms/cache/npm/onnxruntime-web-1.31.1.tgz'
    """
    _check_integrity_text(pin.integrity, f"the pinned integrity of {pin.name} {pin.version}")
    dest = cached_tarball_path(pin)
    if os.path.isfile(dest):
        if _integrity_problem(dest, pin.integrity) is None:
            return dest
        os.unlink(dest)  # damaged or replaced: fetch it again
    if os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        raise DownloadError(f"{pin.name} {pin.version} is not in the cache ({dest}) and {OFFLINE_ENV} forbids "
                            f"downloading it. Fix: unset {OFFLINE_ENV} once, or copy the package's tarball "
                            f"({pin.tarball_name}) to that path")
    base = _registry(registry)
    dist = _version_dist(pin, base, timeout)
    published = dist.get("integrity")
    if published != pin.integrity:
        raise ChecksumError(
            f"the registry {base} publishes the integrity {str(published)[:40]!r}... for {pin.name} {pin.version}, "
            f"but TinyMS was tested with {pin.integrity[:40]}...; it serves another package under that version. "
            f"Nothing was downloaded. Fix: use the official registry (unset {REGISTRY_ENV}) or a faithful mirror")
    shasum = dist.get("shasum")
    if shasum is not None and not (isinstance(shasum, str) and len(shasum) == 40):
        raise DownloadError(f"the registry {base} publishes a malformed shasum for {pin.name} {pin.version}")
    tarball = _download.check_url(dist.get("tarball"), "dist.tarball", f"{_EXAMPLE}/{pin.name}/-/x.tgz")

    def install(part, final):
        problem = _integrity_problem(part, pin.integrity, shasum)
        if problem is not None:
            return problem
        with open(part, "rb") as src, atomic_file(final) as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                out.write(block)
        return None

    return _download.fetch([tarball], dest, max_bytes=MAX_TARBALL_BYTES, install=install, timeout=timeout,
                           progress=progress, label=pin.tarball_name, what=f"{pin.name} {pin.version}",
                           checksum_fix=f"Fix: try again; if it persists, the registry {base} (or a proxy) "
                                        "alters the package")


def _version_dist(pin, base, timeout):
    """The ``dist`` object of the registry's document for ``pin``'s version."""
    url = f"{base}/{pin.name}/{pin.version}"
    found = {}

    def install(part, final):
        with open(part, "rb") as f:
            raw = f.read(MAX_DOCUMENT_BYTES + 1)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return "the answer is not a JSON document"
        dist = doc.get("dist") if isinstance(doc, dict) else None
        if not isinstance(dist, dict) or doc.get("version") != pin.version:
            return f"the answer is not the registry's document of {pin.name} {pin.version}"
        found["dist"] = dist
        return None

    meta = os.path.join(os.path.dirname(cached_tarball_path(pin)), f".{pin.tarball_name}.json")
    try:
        _download.fetch([url], meta, max_bytes=MAX_DOCUMENT_BYTES, install=install, timeout=timeout,
                        progress=False, what=f"the registry's document of {pin.name} {pin.version}")
    except ChecksumError as err:  # a wrong document is a registry problem, not a damaged download
        raise DownloadError(str(err)) from None
    return found["dist"]


def extract_files(tarball, pin, folder):
    """Copy ``pin.files`` out of ``tarball`` into ``folder`` (flat: each under its base name).

    Only regular-file members whose path is exactly one of ``pin.files`` are read, each at
    most ``MAX_MEMBER_BYTES``; the member's path is never used to write.

    Returns:
        dict: tarball path -> written file path.

    Raises:
        ArchiveError: the tarball cannot be read, a wanted file is missing, appears twice, is
            not a regular file (a link, a device) or is too large.
    """
    wanted = set(pin.files)
    written = {}
    os.makedirs(folder, exist_ok=True)
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                if member.name not in wanted:
                    continue
                if member.name in written:
                    raise ArchiveError(f"{os.path.basename(tarball)} holds {member.name} twice; refusing it")
                if not member.isreg():
                    raise ArchiveError(f"{member.name} in {os.path.basename(tarball)} is not a regular file "
                                       "(a link or a device); refusing it")
                if member.size > MAX_MEMBER_BYTES:
                    raise ArchiveError(f"{member.name} in {os.path.basename(tarball)} is {member.size:,} bytes, "
                                       f"more than {MAX_MEMBER_BYTES:,}")
                path = os.path.join(folder, os.path.basename(member.name))
                source = archive.extractfile(member)
                with atomic_file(path) as out:
                    out.write(source.read(MAX_MEMBER_BYTES + 1)[:member.size])
                written[member.name] = path
    except (tarfile.TarError, EOFError, OSError) as err:
        if isinstance(err, DownloadError):
            raise
        raise ArchiveError(f"cannot read {os.path.basename(tarball)}: {err}") from None
    missing = sorted(wanted - set(written))
    if missing:
        raise ArchiveError(f"{os.path.basename(tarball)} has no {missing[0]}; it is not {pin.name} {pin.version}")
    return written
