"""Small files in the real dataset formats, built with numpy and Pillow for the tests."""

import functools
import gzip
import hashlib
import io
import struct
import tarfile

import numpy as np
from PIL import Image

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- IDX (MNIST family)
def idx_images(images):
    images = np.asarray(images, np.uint8)
    return struct.pack(">IIII", 2051, len(images), 28, 28) + images.tobytes()


def idx_labels(labels):
    return struct.pack(">II", 2049, len(labels)) + np.asarray(labels, np.uint8).tobytes()


def idx_dataset(n_train=60, n_test=20):
    """{official .gz name: gzip bytes} of a tiny MNIST-format dataset a network learns in a few steps.

    Image i has label i % 10 and is black with a white bar at rows 2 * label + 4 and the next
    (MNIST's dark border, so mnist_transform passes it through unframed).
    """
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.zeros((n, 28, 28), np.uint8)
        for row in range(2):
            images[np.arange(n), 2 * labels + 4 + row, 6:22] = 255
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx_images(images), mtime=0)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_labels(labels), mtime=0)
    return files


# --------------------------------------------------------------------------- CIFAR binary
# one colour per class (label % 10): a network tells them apart in a few steps, after any crop or flip
PALETTE = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
                    (255, 255, 255), (128, 0, 0), (0, 128, 0), (0, 0, 128)], np.uint8)


def cifar_records(n, label_bytes=1, classes=10, coloured=False):
    """``n`` CIFAR binary records; record i has label(s) i % classes and all pixels equal to 2 * label.

    With ``coloured``, record i is instead filled with the colour ``PALETTE[label % 10]``.
    """
    labels = np.arange(n) % classes
    record = np.empty((n, label_bytes + 3072), np.uint8)
    if label_bytes == 1:
        record[:, 0] = labels
    else:  # CIFAR-100: coarse label, then fine label
        record[:, 0], record[:, 1] = labels // 5, labels
    if coloured:  # channel-major, as CIFAR stores its 1024 red, then green, then blue values
        record[:, label_bytes:] = np.repeat(PALETTE[labels % 10], 1024, axis=1)
    else:
        record[:, label_bytes:] = (labels * 2)[:, None]
    return record.tobytes()


@functools.lru_cache(maxsize=None)
def cifar10_files(coloured=False):
    """{member name: bytes} of the official cifar-10-binary.tar.gz, at full record counts."""
    batch = cifar_records(10000, coloured=coloured)
    files = {f"cifar-10-batches-bin/data_batch_{i}.bin": batch for i in range(1, 6)}
    files["cifar-10-batches-bin/test_batch.bin"] = batch
    files["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\n" \
        b"frog\nhorse\nship\ntruck\n\n"
    files["cifar-10-batches-bin/readme.html"] = b"<meta HTTP-EQUIV=\"REFRESH\" content=\"0\">\n"
    return files


@functools.lru_cache(maxsize=None)
def cifar100_files():
    files = {"cifar-100-binary/train.bin": cifar_records(50000, 2, 100),
             "cifar-100-binary/test.bin": cifar_records(10000, 2, 100),
             "cifar-100-binary/fine_label_names.txt": b"apple\n",
             "cifar-100-binary/coarse_label_names.txt": b"aquatic_mammals\n"}
    return files


# --------------------------------------------------------------------------- images and VOC
def jpeg(value=128, size=(24, 16)):
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def png(value=128, size=(24, 16)):
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0]), value, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def voc_annotation(image_id, objects, size=(24, 16)):
    body = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
        f"<ymax>{y1}</ymax></bndbox></object>" for name, (x0, y0, x1, y1) in objects)
    return (f"<annotation><folder>VOC2007</folder><filename>{image_id}.jpg</filename><size>"
            f"<width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>{body}"
            f"</annotation>").encode()


def voc_files(ids, lists, prefix="VOCdevkit/VOC2007/"):
    """{member name: bytes} of a VOC folder: image i holds one object of class i % 20."""
    files = {}
    for i, image_id in enumerate(ids):
        name = VOC_CLASSES[i % 20]
        files[f"{prefix}Annotations/{image_id}.xml"] = voc_annotation(image_id, [(name, (2, 3, 20, 12))])
        files[f"{prefix}JPEGImages/{image_id}.jpg"] = jpeg(10 * (i % 20))
    for usage, listed in lists.items():
        files[f"{prefix}ImageSets/Main/{usage}.txt"] = "".join(f"{i}\n" for i in listed).encode()
    return files


# --------------------------------------------------------------------------- archives
def tar_bytes(files, gz=True, extra=()):
    """A tar (gzip-compressed when ``gz``) of ``files`` {name: bytes}, then ``extra`` TarInfos.

    Each extra item is (TarInfo, bytes or None), added as is, for hostile members.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w", format=tarfile.GNU_FORMAT,
                      **({"compresslevel": 1} if gz else {})) as tar:
        folders = sorted({name.rsplit("/", i)[0] for name in files for i in range(1, name.count("/") + 1)})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def member(name, kind=tarfile.REGTYPE, data=None, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if data is not None else 0
    return info, data


def serve_criteo(server, monkeypatch, source, lines, seed):
    """Serve a small stand-in for Criteo's archive (the real member names; ``lines`` synthetic lines of
    the real format in train.txt, written under the folder ``source``) from ``server`` as the dataset
    mirror, the registry entry's sizes set to it; returns the archive's URL path on the server."""
    import dataclasses  # noqa: PLC0415

    from tinyms.data import _registry, dataset_spec, download, write_synthetic_criteo  # noqa: PLC0415

    write_synthetic_criteo(str(source / "train.txt"), lines, seed=seed)
    members = {"train.txt": (source / "train.txt").read_bytes(), "test.txt": b"\t".join([b"1"] * 39) + b"\n",
               "readme.txt": b"a small stand-in for Criteo's archive\n"}
    archive = tar_bytes(members)
    spec = dataset_spec("kaggle_display_advertising")
    item = dataclasses.replace(spec.files[0], size=len(archive), unpacked_size=sum(map(len, members.values())))
    monkeypatch.setitem(_registry._table(), spec.name, dataclasses.replace(spec, files=(item,)))
    url = f"/{spec.name}/{item.name}"
    server.files[url] = archive
    monkeypatch.setenv(download.MIRROR_ENV, server.url)
    return url
