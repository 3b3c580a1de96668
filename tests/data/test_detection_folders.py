"""A user's own detection folder: detection_dataset, is_detection_folder, and VOC <-> COCO agreeing."""

import json
import os

import numpy as np
import pytest

import formats
from tinyms.data import CocoDataset, VOCDataset, detection_dataset, is_detection_folder
from tinyms.errors import DatasetError

SIZE = (64, 48)
# image id -> objects (class, (xmin, ymin, xmax, ymax), difficult); VOC's rule: coordinates > 0
OBJECTS = {
    "000001": [("dog", (1, 2, 30, 40), 0), ("cat", (35.5, 4, 60, 20.25), 1)],
    "000002": [("mug", (10, 10, 20, 47), 0)],
    "000003": [("cat", (5, 5, 64, 48), 0), ("cat", (2, 30, 12, 40), 0), ("dog", (40, 1, 50, 9), 0)],
}


def voc_xml(image_id, objects, size=SIZE, filename=None):
    body = "".join(
        f"<object><name>{name}</name><truncated>0</truncated><difficult>{hard}</difficult><bndbox>"
        f"<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for name, (x0, y0, x1, y1), hard in objects)
    return (f"<annotation><filename>{filename or image_id + '.jpg'}</filename><size><width>{size[0]}"
            f"</width><height>{size[1]}</height><depth>3</depth></size>{body}</annotation>")


def voc_folder(root, objects=OBJECTS, lists=None):
    """A VOC folder of ``objects``; ``lists`` {usage: ids} become ImageSets/Main/<usage>.txt."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for i, (image_id, objs) in enumerate(objects.items()):
        (root / "Annotations" / f"{image_id}.xml").write_text(voc_xml(image_id, objs))
        (root / "JPEGImages" / f"{image_id}.jpg").write_bytes(formats.jpeg(30 * i, size=SIZE))
    for usage, ids in (lists or {}).items():
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Main" / f"{usage}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def coco_of(voc_root, objects=OBJECTS, image_folder="JPEGImages"):
    """The COCO dict describing the same images and objects (categories with arbitrary ids)."""
    ids = {"cat": 17, "dog": 3, "mug": 9}
    images = [{"id": 100 + i, "file_name": f"{image_folder}/{image_id}.jpg", "width": SIZE[0], "height": SIZE[1]}
              for i, image_id in enumerate(objects)]
    annotations = [{"id": len(images) + k, "image_id": 100 + i, "category_id": ids[name], "iscrowd": hard,
                    "bbox": [x0, y0, x1 - x0, y1 - y0]}
                   for i, objs in enumerate(objects.values())
                   for k, (name, (x0, y0, x1, y1), hard) in enumerate(objs, start=10 * i)]
    # category ids order the classes dog, mug, cat: class_names gives the sorted order VOC uses
    categories = [{"id": ids[n], "name": n} for n in sorted(ids)]
    return {"images": images, "annotations": annotations, "categories": categories}


def rows(dataset):
    return list(dataset.create_dict_iterator(output_numpy=True))


def same_rows(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert sorted(x) == sorted(y)
        for key in x:
            assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key]), key


def test_voc_folder_and_coco_json_give_the_same_rows(tmp_path):
    root = voc_folder(tmp_path / "voc", lists={"train": list(OBJECTS)})
    (root / "coco.json").write_text(json.dumps(coco_of(root)))
    official = VOCDataset(root, usage="train", shuffle=False)                 # MindSpore's reader
    own = detection_dataset(root, usage="train", shuffle=False)
    names = ("cat", "dog", "mug")
    from_coco = CocoDataset(root / "coco.json", shuffle=False, class_names=names)
    assert official.class_names == own.class_names == from_coco.class_names == names
    expected = rows(official)
    assert [r["label"].ravel().tolist() for r in expected] == [[1, 0], [2], [0, 0, 1]]
    assert expected[0]["bbox"].tolist() == [[1, 2, 29, 38], [35.5, 4, 24.5, 16.25]]
    same_rows(expected, rows(own))
    same_rows(expected, rows(from_coco))
    decoded = rows(detection_dataset(root, usage="train", shuffle=False, decode=True))
    same_rows(rows(VOCDataset(root, usage="train", shuffle=False, decode=True)), decoded)


def test_class_names_come_from_every_annotation_not_a_builtin_list(tmp_path):
    root = voc_folder(tmp_path / "voc", lists={"train": ["000002"], "test": ["000001", "000003"]})
    train = detection_dataset(root, usage="train")
    test = detection_dataset(root, usage="test")
    # train holds only a mug: its labels still count cat and dog, as test's do
    assert train.class_names == test.class_names == ("cat", "dog", "mug")
    assert rows(train)[0]["label"].tolist() == [[2]]
    pinned = detection_dataset(root, usage="train", class_names=["mug", "cat", "dog"])
    assert rows(pinned)[0]["label"].tolist() == [[0]]
    with pytest.raises(DatasetError, match=r"000002.xml has an object of class 'mug', which class_names"):
        detection_dataset(root, usage="train", class_names=["cat", "dog"])


def test_without_id_lists_usage_none_reads_all_and_train_test_are_a_seeded_split(tmp_path):
    objects = {f"{i:06d}": [("cat" if i % 2 else "dog", (2, 2, 20 + i, 30), 0)] for i in range(1, 21)}
    root = voc_folder(tmp_path / "voc", objects)
    keys = lambda ds: sorted(int(r["bbox"][0, 2]) - 18 for r in rows(ds))   # noqa: E731 - image number
    everything = keys(detection_dataset(root, usage=None))
    train, test = keys(detection_dataset(root, usage="train")), keys(detection_dataset(root, usage="test"))
    assert everything == list(range(1, 21))
    assert len(test) == 4 and sorted(train + test) == everything            # 20 % held out, disjoint
    assert keys(detection_dataset(root, usage="val")) == test
    assert keys(detection_dataset(root, usage="trainval")) == train
    assert keys(detection_dataset(root, usage="train")) == train            # the same every time
    other = keys(detection_dataset(root, usage="test", seed=1, test_fraction=0.5))
    assert len(other) == 10 and other != test
    with pytest.raises(DatasetError, match=r"no list or file for usage 'holdout'"):
        detection_dataset(root, usage="holdout")
    # once the folder has id lists, a usage without one is an error, not a guess
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("000001\n")
    (root / "ImageSets" / "Main" / "cat_train.txt").write_text("000001  1\n")
    with pytest.raises(DatasetError, match=r"has the id lists train in .*none named test.txt"):
        detection_dataset(root, usage="test")


def test_images_without_objects_png_and_filename_are_kept(tmp_path):
    objects = dict(OBJECTS, **{"000004": []})
    root = voc_folder(tmp_path / "voc", objects, lists={"train": list(objects)})
    os.remove(root / "JPEGImages" / "000002.jpg")
    (root / "JPEGImages" / "000002.png").write_bytes(formats.png(size=SIZE))
    (root / "Annotations" / "000003.xml").write_text(voc_xml("000003", OBJECTS["000003"], filename="scan 3.JPG"))
    os.rename(root / "JPEGImages" / "000003.jpg", root / "JPEGImages" / "scan 3.JPG")
    got = rows(detection_dataset(root, shuffle=False, decode=True))
    assert [r["bbox"].shape[0] for r in got] == [2, 1, 3, 0]
    assert got[1]["image"].shape == (48, 64, 3)
    # MindSpore's reader cannot read an image without objects: named before it fails mid-epoch
    os.remove(root / "JPEGImages" / "000002.png")
    (root / "JPEGImages" / "000002.jpg").write_bytes(formats.jpeg(size=SIZE))
    (root / "JPEGImages" / "000003.jpg").write_bytes(formats.jpeg(size=SIZE))
    with pytest.raises(DatasetError, match=r"000004.xml has no <object>.*Fix: remove '000004' from .*train.txt"):
        VOCDataset(root, usage="train")


def test_voc_dataset_names_boxes_mindspore_refuses(tmp_path):
    root = voc_folder(tmp_path / "voc", {"000001": [("dog", (0, 2, 30, 40), 0)]}, lists={"train": ["000001"]})
    with pytest.raises(DatasetError, match=r"000001.xml: object 'dog' has the box xmin=0, .*0 < xmin < xmax"):
        VOCDataset(root, usage="train")
    assert rows(detection_dataset(root, usage="train"))[0]["bbox"].tolist() == [[0, 2, 30, 38]]


@pytest.mark.parametrize("objects, why", [
    ({"000001": [("dog", (10, 2, 10, 40), 0)]}, r"000001.xml, object 'dog': the box .* is empty"),
    ({"000001": [("dog", (10, 2, 70, 40), 0)]}, r"000001.xml, object 'dog': the box .* reaches outside the 64x48"),
    ({"000001": [("dog", (10, 2, 64.9, 48.5), 0)]}, None),          # within a pixel: clipped
])
def test_voc_boxes_are_checked_against_the_image(tmp_path, objects, why):
    root = voc_folder(tmp_path / "voc", objects)
    if why is None:
        assert rows(detection_dataset(root, usage=None))[0]["bbox"].tolist() == [[10, 2, 54, 46]]
        return
    with pytest.raises(DatasetError, match=why) as info:
        detection_dataset(root, usage=None)
    assert "Fix:" in str(info.value)


def test_voc_annotation_made_on_another_image_size_is_refused(tmp_path):
    root = voc_folder(tmp_path / "voc", {"000001": [("dog", (1, 2, 30, 40), 0)]})
    (root / "Annotations" / "000001.xml").write_text(voc_xml("000001", [("dog", (1, 2, 30, 40), 0)], size=(48, 64)))
    with pytest.raises(DatasetError, match=r"000001.xml says image .*000001.jpg is 48x64 .*file is 64x48 .*EXIF"):
        detection_dataset(root, usage=None)
    os.remove(root / "JPEGImages" / "000001.jpg")
    with pytest.raises(DatasetError, match=r"000001.xml has no image: .*000001.jpg .* is missing"):
        detection_dataset(root, usage=None)


def test_split_folders_voc_download_layout_and_roboflow_coco(tmp_path):
    # download_dataset("voc2007")'s layout: trainval/ and test/, each with its lists
    ids = list(OBJECTS)
    voc_folder(tmp_path / "voc" / "trainval", {k: OBJECTS[k] for k in ids[:2]},
               lists={"train": ids[:1], "val": ids[1:2], "trainval": ids[:2]})
    voc_folder(tmp_path / "voc" / "test", {ids[2]: OBJECTS[ids[2]]}, lists={"test": ids[2:]})
    assert is_detection_folder(tmp_path / "voc") == "voc"
    sizes = {u: detection_dataset(tmp_path / "voc", usage=u).get_dataset_size()
             for u in ("train", "val", "trainval", "test")}
    assert sizes == {"train": 1, "val": 1, "trainval": 2, "test": 1}
    assert detection_dataset(tmp_path / "voc", usage="train").class_names == ("cat", "dog", "mug")
    # Roboflow: train/ valid/ test/, each with _annotations.coco.json beside its images
    for split, keep in (("train", ids[:2]), ("valid", ids[2:]), ("test", ids[2:])):
        objs = {k: OBJECTS[k] for k in keep}
        folder = voc_folder(tmp_path / "rf" / split, objs)
        (folder / "_annotations.coco.json").write_text(json.dumps(coco_of(folder, objs)))
        os.rename(folder / "Annotations", folder / "xml")  # COCO only
    assert is_detection_folder(tmp_path / "rf") == "coco"
    assert detection_dataset(tmp_path / "rf", usage="train").get_dataset_size() == 2
    assert detection_dataset(tmp_path / "rf", usage="val").get_dataset_size() == 1
    with pytest.raises(DatasetError, match=r"split folders test/, train/, valid/, none for usage 'extra'"):
        detection_dataset(tmp_path / "rf", usage="extra")
    with pytest.raises(DatasetError, match=r"usage=None cannot pick one"):
        detection_dataset(tmp_path / "rf", usage=None)


def test_one_coco_file_is_split_by_seed_unless_it_names_a_split(tmp_path):
    objects = {f"{i:06d}": [("cat", (2, 2, 20, 30), 0)] for i in range(1, 11)}
    root = voc_folder(tmp_path / "export", objects)
    os.rename(root / "Annotations", root / "xml")
    (root / "result.json").write_text(json.dumps(coco_of(root, objects)))
    assert is_detection_folder(root) == "coco" and is_detection_folder(root / "result.json") == "coco"
    train = detection_dataset(root, usage="train").get_dataset_size()
    test = detection_dataset(root / "result.json", usage="test").get_dataset_size()
    assert (train, test) == (8, 2)
    assert detection_dataset(root, usage=None).get_dataset_size() == 10
    os.rename(root / "result.json", root / "instances_val.json")
    assert detection_dataset(root / "instances_val.json", usage="val").get_dataset_size() == 10
    with pytest.raises(DatasetError, match=r"instances_val.json is named for another split than usage 'train'"):
        detection_dataset(root / "instances_val.json", usage="train")


def test_other_folders_are_not_detection_data(tmp_path):
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    (tmp_path / "photos" / "cat" / "1.jpg").write_bytes(formats.jpeg())
    (tmp_path / "photos" / "labels.json").write_text(json.dumps({"cat": 0, "images": []}))
    (tmp_path / "list.json").write_text(json.dumps([{"images": [], "annotations": [], "categories": []}]))
    for path in (tmp_path / "photos", tmp_path / "missing", tmp_path / "list.json", tmp_path / "photos" / "cat" / "1.jpg"):
        assert is_detection_folder(path) is None
    with pytest.raises(DatasetError, match=r"holds no object-detection data .*Fix: pass a VOC folder"):
        detection_dataset(tmp_path / "photos")
    with pytest.raises(DatasetError, match=r"missing does not exist"):
        detection_dataset(tmp_path / "missing")


def test_voc_is_tinyms_0_3s_name_of_voc2007(tmp_path, monkeypatch):
    from tinyms.data import dataset_info, dataset_spec, download, download_dataset

    assert dataset_spec("voc") is dataset_spec("VOC2007") and dataset_info("voc").labels[0] == "aeroplane"
    monkeypatch.setattr(download, "_verify_existing", lambda dest, files: True)  # as if downloaded already
    assert download_dataset("voc", tmp_path) == str(tmp_path / "voc2007")
