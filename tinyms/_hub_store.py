"""Private, MindSpore-free: the hub's file cache, where every weights file is obtained and verified.

Below both the model registry (``create_model(..., pretrained=True)``) and ``tinyms.hub``: it
imports neither.

``weights_file(cfg)`` returns the path of a verified copy of the weights a
:class:`~tinyms.model.ModelConfig` describes:

- A file shipped inside the package (``cfg.bundled``) is hashed and compared with its SHA-256
  on every use, and never downloaded.
- Otherwise the cache is ``$TINYMS_HOME/hub/<file name>``. A verification record
  (``$TINYMS_HOME/hub/.tinyms-verified``: size, modification time and full SHA-256 of each
  file) makes a later use cheap; a file whose size or time differs from its record is hashed
  again, and a copy that no longer has its digest (corrupted, truncated, replaced) is removed
  and downloaded again.
- Downloads go through :func:`tinyms._download.fetch` (resume, retries, deadlines, size
  bound, TLS always verified), from ``$TINYMS_HUB_MIRROR/<file name>`` when that variable is
  set, else from the asset's own URLs. The file is checked before it is placed: against its
  full SHA-256 when known, else against the hash prefix its name carries, after which the
  full digest is recorded. A malformed mirror URL is an error before any network access.
- ``TINYMS_OFFLINE=1`` uses the cache only; an absent file is a :class:`~tinyms.errors.HubError`
  naming the asset and how to get it.
- Concurrent uses of one file (threads or processes) are serialised by a lock file, and
  every write is atomic (temporary name, fsync, rename).
"""

import contextlib
import logging
import os
import shutil

from . import _download
from ._fileio import atomic_path, locked, sha256_of, sweep_stale_temps
from ._home import tinyms_home
from .data import _files
from .errors import DownloadError, HubError

__all__ = ["MIRROR_ENV", "OFFLINE_ENV", "cache_dir", "weights_file", "offline", "mirror_url"]

#: Environment variable naming an http(s) folder to fetch weights files from instead of their official URLs.
MIRROR_ENV = "TINYMS_HUB_MIRROR"
#: Environment variable that, set to 1, forbids downloads: only cached or bundled weights are used.
OFFLINE_ENV = "TINYMS_OFFLINE"
MAX_UNKNOWN_SIZE = 2 << 30  # the largest file accepted when an asset does not state its size
_MIRROR_EXAMPLE = "http://127.0.0.1:8000/weights"

log = logging.getLogger("tinyms.hub")


def cache_dir():
    """The hub's cache folder, ``$TINYMS_HOME/hub`` (it may not exist yet)."""
    return os.path.join(tinyms_home(), "hub")


def offline():
    """True when ``$TINYMS_OFFLINE`` asks for no network access (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def mirror_url():
    """``$TINYMS_HUB_MIRROR`` without a trailing ``/``, checked, or None when unset.

    Raises:
        DownloadError: the variable is set but is not a usable http(s) base URL.
    """
    raw = os.environ.get(MIRROR_ENV, "")
    if not raw.strip():
        return None
    _download.check_url(raw, MIRROR_ENV, _MIRROR_EXAMPLE, base=True,
                        fix=f"set {MIRROR_ENV} to the http(s) folder serving the weights files, e.g. "
                            f"{_MIRROR_EXAMPLE} (<mirror>/<file name> is fetched), or unset it")
    return raw.rstrip("/")


def _how_to_get(cfg, dest):
    sources = f" from {cfg.urls[0]}" if cfg.urls else ""
    return (f"Fix: run once with network access (unset {OFFLINE_ENV}): python -c \"from tinyms import hub; "
            f"hub.load('{cfg.uid}')\", or copy {cfg.file}{sources} to {dest}")


def _bundled(cfg):
    path = cfg.bundled
    if not os.path.isfile(path):
        raise HubError(f"the weights of {cfg.uid} that ship with TinyMS are missing ({path}). Fix: reinstall tinyms")
    digest = sha256_of(path)
    if digest != cfg.sha256:
        raise HubError(f"the weights of {cfg.uid} that ship with TinyMS are damaged: {path} has SHA-256 {digest}, "
                       f"expected {cfg.sha256}. Fix: reinstall tinyms")
    return path


def _fits(cfg, digest):
    return digest == cfg.sha256 if cfg.sha256 else digest.startswith(cfg.hash_prefix)


def _cached(cfg, folder, dest):
    """True when ``dest`` is a verified copy; a copy that fails verification is removed."""
    if not os.path.isfile(dest):
        return False
    marker = _files.read_marker(folder)
    entry = marker.get(cfg.file)
    if isinstance(entry, dict) and entry.get("sha256") and _fits(cfg, entry["sha256"]) and \
            _files.matches_entry(dest, entry, entry.get("size"), entry["sha256"]):
        return True
    digest = sha256_of(dest)
    recorded = entry.get("sha256") if isinstance(entry, dict) else None
    if _fits(cfg, digest) and (recorded is None or recorded == digest):
        marker[cfg.file] = _files.stat_entry(dest, digest)
        _files.write_marker(folder, marker)
        return True
    log.warning("hub: cached %s does not have its SHA-256 any more (corrupted or replaced); fetching it again",
                dest)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(dest)
    marker.pop(cfg.file, None)
    _files.write_marker(folder, marker)
    return False


def _prefix_install(cfg, digests):
    """fetch(install=...) for a file known by the hash prefix in its name."""
    def install(part, dest):
        digest = sha256_of(part)
        if not digest.startswith(cfg.hash_prefix):
            return (f"checksum mismatch: got {os.path.getsize(part)} bytes with SHA-256 {digest}, which does "
                    f"not start with {cfg.hash_prefix} as the file name {cfg.file} says")
        try:
            with atomic_path(dest) as tmp:
                try:
                    os.replace(part, tmp)
                except OSError:
                    shutil.copyfile(part, tmp)
        except OSError as exc:
            raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}. Fix: free disk space") from exc
        digests.append(digest)
        return None
    return install


def weights_file(cfg, progress=True, timeout=None):
    """The path of a verified copy of the weights ``cfg`` describes, downloading it if needed.

    Args:
        cfg (ModelConfig): weights config (``cfg.file`` set), e.g. ``model_config("resnet50.imagenet")``.
        progress (bool): show a progress bar while downloading.
        timeout (float): seconds each source gets (default ``$TINYMS_DOWNLOAD_TIMEOUT`` or 900).

    Returns:
        str: absolute path of the verified file.

    Raises:
        HubError: offline and not cached (the message says how to get it), or a bundled file is damaged.
        DownloadError: ``$TINYMS_HUB_MIRROR`` is malformed (before any network access), or every
            source failed.
        ChecksumError: the downloaded file does not have the expected digest (it was removed).
    """
    if not cfg.file:
        raise HubError(f"{cfg.uid} describes no weights file (an untrained architecture)")
    if cfg.bundled:
        return _bundled(cfg)
    mirror = mirror_url()  # a malformed mirror fails here, before anything touches the network
    folder = cache_dir()
    dest = os.path.join(folder, cfg.file)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"cannot create the hub cache {folder}: {err.strerror}. Fix: set TINYMS_HOME to a "
                            f"folder you can write to") from err
    with locked(os.path.join(folder, f".{cfg.file}.lock")):
        if _cached(cfg, folder, dest):
            return dest
        if offline():
            raise HubError(f"the weights of {cfg.uid} ({cfg.file}) are not in the hub cache {folder} and "
                           f"{OFFLINE_ENV}=1 forbids downloading them. {_how_to_get(cfg, dest)}")
        sweep_stale_temps(folder)
        urls = [f"{mirror}/{cfg.file}"] if mirror else list(cfg.urls)
        if not urls:
            raise HubError(f"{cfg.uid} names no URL to download {cfg.file} from. Fix: set {MIRROR_ENV} to a "
                           f"server holding it, or copy it to {dest}")
        digests = []
        check = {"sha256": cfg.sha256} if cfg.sha256 else {"install": _prefix_install(cfg, digests)}
        where = f"{MIRROR_ENV} ({mirror})" if mirror else "the official source"
        _download.fetch(urls, dest, max_bytes=cfg.size or MAX_UNKNOWN_SIZE,
                        part=os.path.join(folder, ".partial", f"{cfg.file}.part"), timeout=timeout,
                        progress=progress, label=cfg.file, **check, what=f"the weights of {cfg.uid} ({cfg.file})",
                        fix=f"Fix: check the network connection and {where}, or copy {cfg.file} to {dest}",
                        checksum_fix=f"Fix: the source at {where} serves another file than {cfg.file}; "
                                     f"use the official one")
        digest = digests[0] if digests else cfg.sha256
        marker = _files.read_marker(folder)
        marker[cfg.file] = _files.stat_entry(dest, digest)
        _files.write_marker(folder, marker)
        return dest
