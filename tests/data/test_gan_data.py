"""Image-to-image data (issue 18): TinyMS 0.3's UnalignedDataset / GanImageFolderDataset rows, the
image_a/image_b loaders (unpaired and paired), cyclegan_transform, and the CycleGAN sets through
download_dataset from a 127.0.0.1 mirror (digests patched to the served mini archives)."""

import dataclasses
import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

import formats
from tinyms.data import (DistributedSampler, GanImageFolderDataset, GeneratorDataset, PairedDataset,
                         UnalignedDataset, _registry, dataset_spec, download, download_dataset, paired_dataset,
                         unaligned_dataset)
from tinyms.errors import ArchiveError, DatasetError
from tinyms.vision import CycleGanDatasetTransform, CycleGanTransform, Recipe, cyclegan_transform, to_image
from tinyms.vision import _np_engine

SIZE = 16
COUNTS = {"trainA": 3, "trainB": 5, "testA": 2, "testB": 3}


def solid(value, size=(SIZE, SIZE + 4)):
    """An image whose every pixel is ``value`` in R (so a row tells which file it came from)."""
    image = np.zeros((size[0], size[1], 3), np.uint8)
    image[..., 0], image[..., 1] = value, 7
    return image


def write_domains(root, counts=COUNTS):
    """trainA/ holds R = 10, 11, ...; trainB/ R = 100, 101, ...; testA/ 20..; testB/ 200.."""
    base = {"trainA": 10, "trainB": 100, "testA": 20, "testB": 200}
    for folder, count in counts.items():
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for i in range(count):
            Image.fromarray(solid(base[folder] + i)).save(os.path.join(root, folder, f"{i:02d}.png"))
    return str(root)


def red(image):
    return int(np.asarray(image)[0, 0, 0])


@pytest.fixture
def domains(tmp_path):
    return write_domains(tmp_path / "h2z")


# --------------------------------------------------------------------------- 0.3's classes
def test_unaligned_rows_layout_and_aligned_order(domains):
    ds = UnalignedDataset(domains, "train", shuffle=False)
    assert len(ds) == 5 and (ds.A_size, ds.B_size) == (3, 5)
    image_a, image_b = ds[0]
    assert image_a.shape == (SIZE, SIZE + 4, 3) and image_a.dtype == np.uint8
    assert [(red(a), red(b)) for a, b in (ds[i] for i in range(5))] == [(10, 100), (11, 101), (12, 102),
                                                                         (10, 103), (11, 104)]  # A wraps
    assert [red(a) for a, _ in UnalignedDataset(domains, "test", shuffle=False)] == [20, 21, 20]
    with pytest.raises(IndexError):
        ds[5]


def test_random_pairing_is_seeded_per_row_and_read(domains):
    first = UnalignedDataset(domains, "train", seed=7)
    second = UnalignedDataset(domains, "train", seed=7)
    reads = [[first.b_index(i) for _ in range(6)] for i in range(5)]
    # another order of reads gives each row the same sequence of partners
    backwards = {i: [second.b_index(i) for _ in range(6)] for i in reversed(range(5))}
    assert reads == [backwards[i] for i in range(5)]
    assert all(0 <= b < 5 for row in reads for b in row)
    assert len({b for row in reads for b in row}) > 2 and any(len(set(row)) > 1 for row in reads)  # pairings change
    other = UnalignedDataset(domains, "train", seed=8)
    assert [[other.b_index(i) for _ in range(6)] for i in range(5)] != reads
    image_a, image_b = UnalignedDataset(domains, "train", seed=7)[3]
    assert red(image_a) == 10 and red(image_b) == 100 + reads[3][0]


def test_max_dataset_size(domains):
    ds = UnalignedDataset(domains, "train", max_dataset_size=2, shuffle=False)
    assert (ds.A_size, ds.B_size, len(ds)) == (2, 2, 2)
    assert len(UnalignedDataset(domains, "train", max_dataset_size=float("inf"))) == 5
    assert len(GanImageFolderDataset(os.path.join(domains, "trainB"), max_dataset_size=4)) == 4
    for bad in (0, 1.5, "3", True):
        with pytest.raises(DatasetError, match="max_dataset_size"):
            UnalignedDataset(domains, "train", max_dataset_size=bad)


def test_layout_errors_name_the_folder(domains, tmp_path):
    with pytest.raises(DatasetError, match=r"no valA/ folder for phase 'val' \(it has: testA, testB, trainA, trainB\)"):
        UnalignedDataset(domains, "val")
    os.makedirs(tmp_path / "empty" / "trainA")
    os.makedirs(tmp_path / "empty" / "trainB")
    with pytest.raises(DatasetError, match="trainA holds no images"):
        UnalignedDataset(tmp_path / "empty", "train")
    with pytest.raises(DatasetError, match="does not exist"):
        UnalignedDataset(tmp_path / "missing", "train")


def test_corrupt_image_is_named(domains):
    bad = os.path.join(domains, "trainB", "03.png")
    with open(bad, "r+b") as f:
        f.truncate(60)
    with pytest.raises(DatasetError, match=r"image .*trainB/03\.png is corrupt"):
        UnalignedDataset(domains, "train")
    ds = UnalignedDataset(domains, "train", check_images=None, shuffle=False)
    with pytest.raises(DatasetError, match=r"trainB/03\.png cannot be read"):
        ds[3]


def test_tinyms_0_3_pipeline_columns(domains):
    """0.3's script: GeneratorDataset(UnalignedDataset, ['image_A', 'image_B'], sampler=DistributedSampler),
    then cyclegan_transform.apply_ds(..., phase='train'); predict: GanImageFolderDataset rows (image, image_name)."""
    ds = UnalignedDataset(domains, "train", max_dataset_size=float("inf"), shuffle=True)
    sampler = DistributedSampler(len(ds), num_replicas=1, rank=0, shuffle=True)
    rows = GeneratorDataset(ds, column_names=["image_A", "image_B"], sampler=sampler, num_parallel_workers=1)
    rows = CycleGanTransform(size=SIZE).apply_ds(rows, repeat_size=1, batch_size=2, num_parallel_workers=1,
                                                 shuffle=True, phase="train")
    batches = list(rows.create_dict_iterator(output_numpy=True))
    assert len(batches) == 2  # 5 rows, batch 2: the partial batch is dropped in training
    for batch in batches:
        assert batch["image_A"].shape == batch["image_B"].shape == (2, 3, SIZE, SIZE)
        assert batch["image_A"].dtype == np.float32 and -1 <= batch["image_A"].min() <= batch["image_A"].max() <= 1

    folder = GanImageFolderDataset(os.path.join(domains, "testB"))
    image, name = folder[1]
    assert red(image) == 201 and str(name, encoding="utf-8") == "01.png"
    predict = GeneratorDataset(folder, column_names=["image", "image_name"], num_parallel_workers=1, shuffle=False)
    predict = CycleGanDatasetTransform(size=SIZE).apply_ds(predict, batch_size=2, phase="predict")
    rows = list(predict.create_dict_iterator(output_numpy=True))
    names = [str(n, encoding="utf-8") for row in rows for n in row["image_name"]]
    assert names == ["00.png", "01.png", "02.png"]  # every test image, the last batch partial
    assert rows[0]["image"].shape == (2, 3, SIZE, SIZE)
    assert to_image(rows[1]["image"])[0, 0, 0, 0] == 202


def test_distributed_sampler_shares():
    parts = [list(DistributedSampler(5, num_replicas=2, rank=r, shuffle=False)) for r in range(2)]
    assert parts == [[0, 2, 4], [1, 3, 0]] and len(DistributedSampler(5, 2, 1)) == 3
    sampler = DistributedSampler(6, shuffle=True)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(6)) and first != second  # a new order each epoch
    with pytest.raises(DatasetError):
        DistributedSampler(4, num_replicas=2, rank=2)


# --------------------------------------------------------------------------- image_a / image_b loaders
def test_unaligned_dataset_columns_and_defaults(domains):
    train = unaligned_dataset(domains)
    assert train.get_col_names() == ["image_a", "image_b"] and train.get_dataset_size() == 5
    assert train.source.shuffle and not train.paired
    rows = list(unaligned_dataset(domains, usage="test").create_dict_iterator(output_numpy=True))
    assert [(red(r["image_a"]), red(r["image_b"])) for r in rows] == [(20, 200), (21, 201), (20, 202)]
    batch = next(CycleGanTransform(size=SIZE).apply_ds(train, batch_size=5).create_dict_iterator(output_numpy=True))
    assert batch["image_a"].shape == (5, 3, SIZE, SIZE) and batch["image_b"].dtype == np.float32


def side_by_side(path, left, right):
    Image.fromarray(np.concatenate([left, right], axis=1)).save(path)


def test_paired_side_by_side_halves_and_direction(tmp_path):
    os.makedirs(tmp_path / "facades" / "train")
    os.makedirs(tmp_path / "facades" / "test")
    for i in range(3):  # pix2pix's published facades: photo (A) on the left, label map (B) on the right
        side_by_side(tmp_path / "facades" / "train" / f"{i + 1}.png", solid(10 + i, (8, 8)), solid(100 + i, (8, 8)))
    side_by_side(tmp_path / "facades" / "test" / "1.png", solid(50, (8, 8)), solid(150, (8, 8)))
    a2b = PairedDataset(tmp_path / "facades", "train")
    assert a2b.layout == "side_by_side" and len(a2b) == 3
    assert [(red(a), red(b), a.shape) for a, b in (a2b[i] for i in range(3))] == [
        (10, 100, (8, 8, 3)), (11, 101, (8, 8, 3)), (12, 102, (8, 8, 3))]
    image_a, image_b = PairedDataset(tmp_path / "facades", "train", direction="b2a")[0]
    assert (red(image_a), red(image_b)) == (100, 10)  # labels -> photo, pix2pix's facades direction
    rows = list(paired_dataset(tmp_path / "facades", usage="test", direction="b2a")
                .create_dict_iterator(output_numpy=True))
    assert [(red(r["image_a"]), red(r["image_b"])) for r in rows] == [(150, 50)]
    assert len(PairedDataset(tmp_path / "facades" / "train", "whatever")) == 3  # a folder of pairs itself
    assert len(PairedDataset(tmp_path / "facades", "train", max_dataset_size=2)) == 2
    with pytest.raises(DatasetError, match="direction"):
        PairedDataset(tmp_path / "facades", direction="ab")


def test_paired_odd_width_and_two_folder_partners(tmp_path):
    os.makedirs(tmp_path / "odd" / "train")
    Image.fromarray(np.zeros((4, 9, 3), np.uint8)).save(tmp_path / "odd" / "train" / "7.png")
    with pytest.raises(DatasetError, match=r"7\.png is 9 pixels wide, an odd width"):
        PairedDataset(tmp_path / "odd")[0]

    root = tmp_path / "two"
    for folder in ("trainA", "trainB"):
        os.makedirs(root / folder)
    Image.fromarray(solid(1, (6, 6))).save(root / "trainA" / "1_A.jpg", quality=100)
    Image.fromarray(solid(201, (6, 6))).save(root / "trainB" / "1_B.jpg", quality=100)   # CycleGAN's naming
    Image.fromarray(solid(2, (6, 6))).save(root / "trainA" / "street.png")
    Image.fromarray(solid(202, (6, 6))).save(root / "trainB" / "street.bmp")            # same name, other type
    ds = PairedDataset(root, "train")
    assert ds.layout == "folders" and [(red(a), red(b)) for a, b in (ds[0], ds[1])] == [(1, 201), (2, 202)]
    Image.fromarray(solid(3, (6, 6))).save(root / "trainA" / "lonely.png")
    with pytest.raises(DatasetError, match=r"lonely\.png has no partner"):
        PairedDataset(root, "train")
    os.remove(root / "trainA" / "lonely.png")
    Image.fromarray(solid(3, (6, 8))).save(root / "trainB" / "extra.png")
    with pytest.raises(DatasetError, match=r"extra\.png has no partner"):
        PairedDataset(root, "train")
    os.remove(root / "trainB" / "extra.png")
    Image.fromarray(solid(3, (6, 8))).save(root / "trainB" / "street.bmp")
    with pytest.raises(DatasetError, match="differ in size"):
        PairedDataset(root, "train")[1]


def test_paired_rows_are_augmented_alike(tmp_path):
    """Random crop and flip hit both images of a pair the same way (a pair of equal halves stays equal),
    batch after batch, whatever the dataset seed (earlier tests set one)."""
    os.makedirs(tmp_path / "pairs" / "train")
    rng = np.random.default_rng(0)
    for i in range(6):
        half = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        side_by_side(tmp_path / "pairs" / "train" / f"{i}.png", half, half)
    transform = CycleGanTransform(size=SIZE)  # resize to 18, random 16x16 crop, random flip
    paired = transform.apply_ds(paired_dataset(tmp_path / "pairs"), batch_size=6)
    batch = next(paired.create_dict_iterator(output_numpy=True))
    assert batch["image_a"].shape == (6, 3, SIZE, SIZE)
    np.testing.assert_array_equal(batch["image_a"], batch["image_b"])
    for batch in paired.create_dict_iterator(output_numpy=True, num_epochs=1):  # a new epoch, new crops: still alike
        np.testing.assert_array_equal(batch["image_a"], batch["image_b"])


# --------------------------------------------------------------------------- the transform
def test_transform_recipe_range_and_round_trip():
    transform = CycleGanTransform(size=32)
    assert [s.op for s in transform.recipe.eval] == ["resize", "rescale", "normalize", "hwc2chw"]
    assert [s.op for s in transform.recipe.train][:3] == ["resize", "random_crop", "random_horizontal_flip"]
    assert transform.recipe.train[0].kwargs()["size"] == [36, 36]  # 32 x 286 / 256
    assert [s.op for s in CycleGanTransform(32, augment="resized_crop").recipe.train][:2] == [
        "random_resized_crop", "random_horizontal_flip"]
    assert Recipe.from_json(transform.recipe.to_json()) == transform.recipe  # travels in servable.json
    transform.recipe.check_serves((3, 32, 32))

    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    image[0, 0], image[0, 1] = 0, 255
    x = transform(image)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and (x.min(), x.max()) == (-1.0, 1.0)
    back = to_image(x[None])
    assert back.shape == (1, 32, 32, 3) and back.dtype == np.uint8
    assert np.abs(back[0].astype(int) - image).max() <= 1      # within 1/255 after the test resize
    assert np.array_equal(transform.to_image(x), transform.postprocess(x[None])[0])
    # the serving front end's numpy executor prepares the same numbers from the same recipe
    served = _np_engine.run(transform.recipe.eval, np.asarray(Image.fromarray(image).resize((48, 40))))
    assert np.abs(served - transform(np.asarray(Image.fromarray(image).resize((48, 40))))).max() < 1e-5
    with pytest.raises(Exception, match="to_image takes generator outputs"):
        to_image(np.zeros((2, 32, 32, 3), np.float32))
    assert cyclegan_transform.size == (256, 256) and cyclegan_transform(image).shape == (3, 256, 256)


def test_apply_ds_needs_image_columns():
    import mindspore.dataset as ds

    rows = ds.NumpySlicesDataset({"picture": np.zeros((2, 8, 8, 3), np.uint8)}, shuffle=False)
    with pytest.raises(DatasetError, match="none of image_a, image_b"):
        cyclegan_transform.apply_ds(rows)
    with pytest.raises(DatasetError, match="mindspore.dataset Dataset"):
        cyclegan_transform.apply_ds([np.zeros((8, 8, 3), np.uint8)])


# --------------------------------------------------------------------------- downloads
def zip_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def png(value):
    buffer = io.BytesIO()
    Image.fromarray(solid(value, (8, 8))).save(buffer, format="PNG")
    return buffer.getvalue()


def mini_cyclegan_zip(name):
    files = {f"{name}/": b""}
    for folder, base in (("trainA", 10), ("trainB", 100), ("testA", 20), ("testB", 200)):
        files[f"{name}/{folder}/"] = b""
        for i in range(2):
            files[f"{name}/{folder}/{i}_{folder[-1]}.png"] = png(base + i)
    return zip_bytes(files)


def serve(monkeypatch, server, name, payload):
    spec = dataset_spec(name)
    item = dataclasses.replace(spec.files[0], size=len(payload), sha256=formats.sha256(payload))
    monkeypatch.setitem(_registry._table(), name, dataclasses.replace(spec, files=(item,)))
    server.files[f"/{name}/{item.name}"] = payload
    monkeypatch.setenv(download.MIRROR_ENV, server.url)


def test_specs_record_the_published_files():
    """Sizes and SHA-256 as TensorFlow Datasets recorded them (url_checksums/cycle_gan.txt)."""
    expected = {"horse2zebra": (116867962, "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1"),
                "cityscapes": (279601602, "d2f6910fd056c1ee9873777ae838e7ac4a2c833598ae62a04188e5ab2f4ea036"),
                "facades": (35135868, "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0")}
    for name, (size, sha256) in expected.items():
        spec = dataset_spec(name)
        item = spec.files[0]
        assert (item.name, item.size, item.sha256, item.strip) == (f"{name}.zip", size, sha256, f"{name}/")
        assert download._source_urls(spec, None)[item.name] == [
            f"https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip",
            f"https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip"]
        assert spec.loader == "UnalignedDataset" and spec.mean == (0.5, 0.5, 0.5)
    assert dict(dataset_spec("horse2zebra").num_images) == {"train": 2401, "test": 260}


def test_horse2zebra_downloads_from_mirror_and_loads(server, monkeypatch, tmp_path):
    serve(monkeypatch, server, "horse2zebra", mini_cyclegan_zip("horse2zebra"))
    path = download_dataset("horse2zebra", tmp_path, progress=False)
    assert server.paths() == ["/horse2zebra/horse2zebra.zip"]
    assert sorted(os.listdir(os.path.join(path, "horse2zebra"))) == ["testA", "testB", "trainA", "trainB"]
    ds = UnalignedDataset(path, "train", shuffle=False)   # the download folder itself is accepted
    assert [(red(a), red(b)) for a, b in (ds[0], ds[1])] == [(10, 100), (11, 101)]
    pairs = PairedDataset(path, "test")                    # CycleGAN's N_A / N_B names pair up
    assert [(red(a), red(b)) for a, b in (pairs[0], pairs[1])] == [(20, 200), (21, 201)]
    assert download_dataset("horse2zebra", tmp_path, progress=False) == path
    assert len(server.requests) == 1


def test_hostile_archive_is_refused(server, monkeypatch, tmp_path):
    payload = zip_bytes({"cityscapes/trainA/1.png": png(1), "cityscapes/../../evil.png": png(2)})
    serve(monkeypatch, server, "cityscapes", payload)
    with pytest.raises(ArchiveError, match=r"contains '\.\.'"):
        download_dataset("cityscapes", tmp_path, progress=False)
    assert not os.path.exists(tmp_path / "evil.png") and not os.path.exists(tmp_path / "cityscapes" / "cityscapes")
