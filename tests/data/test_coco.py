"""tinyms.data.CocoDataset: COCO JSON as CVAT, Label Studio, Roboflow and COCO export it, checked."""

import json
import os
import re

import numpy as np
import pytest

import formats
from tinyms.data import CocoDataset
from tinyms.errors import DatasetError

SIZE = (64, 48)  # width, height of every test image
CATEGORIES = [{"id": 7, "name": "person"}, {"id": 2, "name": "car"}, {"id": 5, "name": "dog"}]


def coco_dict():
    """Three images: two objects (one a crowd), one object, none; categories with unordered ids."""
    images = [{"id": 10 + i, "file_name": name, "width": SIZE[0], "height": SIZE[1]}
              for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg"))]
    annotations = [
        {"id": 1, "image_id": 10, "category_id": 7, "bbox": [4, 5, 20, 30], "iscrowd": 0},
        {"id": 2, "image_id": 10, "category_id": 2, "bbox": [30.5, 10, 12.25, 8], "iscrowd": 1},
        {"id": 3, "image_id": 11, "category_id": 5, "bbox": [1, 2, 3, 4]},
    ]
    return {"info": {"description": "test"}, "licenses": [], "images": images,
            "annotations": annotations, "categories": [dict(c) for c in CATEGORIES]}


def write(root, data, json_rel="result.json", image_dir="images"):
    """Write ``data`` as ``root/json_rel`` and a JPEG for every image under ``root/image_dir``."""
    path = root / json_rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    for image in data["images"]:
        target = root / image_dir / image["file_name"].replace("\\", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(formats.jpeg(40 * (image["id"] % 5), size=SIZE))
    return path


def rows(dataset):
    return list(dataset.create_dict_iterator(output_numpy=True))


def test_rows_have_voc_columns_labels_in_category_id_order_and_crowd_as_difficult(tmp_path):
    write(tmp_path, coco_dict())
    dataset = CocoDataset(tmp_path, decode=True, shuffle=False)
    assert dataset.class_names == ("car", "dog", "person")   # category ids 2, 5, 7
    assert dataset.get_col_names() == ["image", "bbox", "label", "difficult", "truncate"]
    a, b, c = rows(dataset)
    assert a["image"].shape == (48, 64, 3) and a["image"].dtype == np.uint8
    assert a["bbox"].dtype == np.float32 and a["bbox"].tolist() == [[4, 5, 20, 30], [30.5, 10, 12.25, 8]]
    assert a["label"].dtype == np.uint32 and a["label"].tolist() == [[2], [0]]
    assert a["difficult"].tolist() == [[0], [1]] and a["truncate"].tolist() == [[0], [0]]
    assert b["label"].tolist() == [[1]]
    assert c["bbox"].shape == (0, 4) and c["label"].shape == (0, 1)   # kept, without objects
    raw = rows(CocoDataset(tmp_path, shuffle=False))[0]["image"]
    assert raw.ndim == 1 and raw.tobytes() == (tmp_path / "images" / "a.jpg").read_bytes()


def test_class_names_argument_sets_the_label_order(tmp_path):
    write(tmp_path, coco_dict())
    dataset = CocoDataset(tmp_path, shuffle=False, class_names=["person", "car", "dog", "cat"])
    assert dataset.class_names == ("person", "car", "dog", "cat")
    assert rows(dataset)[0]["label"].tolist() == [[0], [1]]
    with pytest.raises(DatasetError, match=r"annotations\[2\] \(id 3\) is a 'dog', which class_names"):
        CocoDataset(tmp_path, class_names=["person", "car"])


def test_overshoot_up_to_a_pixel_is_clipped(tmp_path):
    data = coco_dict()
    data["annotations"][0]["bbox"] = [-0.75, 40, 20, 8.5]        # 0.75 left and 0.5 below the image
    write(tmp_path, data)
    box = rows(CocoDataset(tmp_path, shuffle=False))[0]["bbox"][0]
    assert box.tolist() == [0, 40, 19.25, 8]


@pytest.mark.parametrize("layout", ["cvat", "label_studio", "coco", "roboflow", "subfolders"])
def test_image_folder_found_in_common_export_layouts(tmp_path, layout):
    data = coco_dict()
    if layout == "cvat":          # annotations/instances_default.json + images/
        json_path = write(tmp_path, data, "annotations/instances_default.json", "images")
    elif layout == "label_studio":  # result.json + images/, file_name "images/<name>"
        for image in data["images"]:
            image["file_name"] = "images/" + image["file_name"]
        json_path = write(tmp_path, data, "result.json", ".")
    elif layout == "coco":        # annotations/instances_val2017.json + val2017/
        json_path = write(tmp_path, data, "annotations/instances_val2017.json", "val2017")
    elif layout == "roboflow":    # train/_annotations.coco.json beside its images
        json_path = write(tmp_path, data, "train/_annotations.coco.json", "train")
    else:                         # file names with sub-folders (and Windows separators)
        for image, sub in zip(data["images"], ("day\\", "night/", "")):
            image["file_name"] = sub + image["file_name"]
        json_path = write(tmp_path, data, "labels.json", "images")
    for source in (json_path, json_path.parent):
        dataset = CocoDataset(source, shuffle=False)
        assert dataset.get_dataset_size() == 3
        assert rows(dataset)[0]["bbox"].shape == (2, 4)


def test_explicit_image_dir(tmp_path):
    data = coco_dict()
    json_path = write(tmp_path / "labels", data, "coco.json", "../photos")
    with pytest.raises(DatasetError, match=r"image 'a.jpg' is in none of the folders .*image_dir="):
        CocoDataset(json_path)
    assert CocoDataset(json_path, image_dir=tmp_path / "photos").get_dataset_size() == 3


def test_usage_picks_the_json_of_a_split(tmp_path):
    train, val = coco_dict(), coco_dict()
    val["images"] = val["images"][:1]
    val["annotations"] = val["annotations"][:2]
    write(tmp_path, train, "annotations/instances_train2017.json", "train2017")
    write(tmp_path, val, "annotations/instances_val2017.json", "val2017")
    (tmp_path / "annotations" / "captions_val2017.json").write_text("{}")
    assert CocoDataset(tmp_path, usage="train").get_dataset_size() == 3
    assert CocoDataset(tmp_path, usage="val").get_dataset_size() == 1
    with pytest.raises(DatasetError, match=r"holds 3 .json files .*usage="):
        CocoDataset(tmp_path)
    with pytest.raises(DatasetError, match=r"no .json file\(s\) named for usage 'test'"):
        CocoDataset(tmp_path, usage="test")


def _set(path, value):
    """A change to the COCO dict: ``path`` like "annotations.0.bbox"."""
    def change(data):
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
        return data
    return change


def _delete_image_file(name):
    def damage(root):
        os.remove(root / "images" / name)
    return damage


# (change to the JSON dict, change to the folder, message pattern)
BROKEN = {
    "missing-image": (None, _delete_image_file("b.jpg"), r"images\[1\] \(id 11\) is .*b.jpg, which does not exist"),
    "empty-box": (_set("annotations.1.bbox", [30, 10, 0, 8]), None,
                  r"annotations\[1\] \(id 2\) on b?a.jpg: the box .* is empty"),
    "negative-height": (_set("annotations.0.bbox", [4, 5, 20, -3]), None, r"annotations\[0\].*is empty"),
    "box-outside": (_set("annotations.0.bbox", [50, 5, 20, 30]), None,
                    r"annotations\[0\] \(id 1\) on a.jpg: the box .* reaches outside the 64x48 image"),
    "box-left-of-image": (_set("annotations.0.bbox", [-1.5, 5, 20, 30]), None, r"reaches outside"),
    "box-not-numbers": (_set("annotations.0.bbox", [4, 5, "20", 30]), None, r"bbox \[4, 5, '20', 30\]"),
    "box-three-numbers": (_set("annotations.0.bbox", [4, 5, 20]), None, r"it must be \[x, y, width, height\]"),
    "box-nan": (_set("annotations.0.bbox", [4, 5, float("nan"), 30]), None, r"4\s+finite numbers"),
    "unknown-image": (_set("annotations.2.image_id", 99), None,
                      r"annotations\[2\] \(id 3\) points at image_id 99, which no entry of 'images' has"),
    "unknown-category": (_set("annotations.2.category_id", 1), None,
                         r"annotations\[2\] \(id 3\) points at category_id 1, which no entry"),
    "duplicate-image-id": (_set("images.2.id", 10), None, r"images\[0\] and images\[2\] share image id 10"),
    "duplicate-annotation-id": (_set("annotations.2.id", 1), None,
                                r"annotations\[0\] and annotations\[2\] share annotation id 1"),
    "duplicate-category-id": (_set("categories.2.id", 7), None, r"categories\[0\] and categories\[2\] share"),
    "duplicate-category-name": (_set("categories.2.name", "car"), None, r"both named 'car'"),
    "duplicate-file": (_set("images.2.file_name", "a.jpg"), None, r"images\[0\] and images\[2\] are both 'a.jpg'"),
    "string-id": (_set("images.0.id", "10"), None, r"images\[0\] has id '10'; ids must be integers"),
    "dot-dot": (_set("images.0.file_name", "../secret.jpg"), None, r"file_name '../secret.jpg', which leaves"),
    "absolute": (_set("images.0.file_name", "/etc/a.jpg"), None, r"file_name '/etc/a.jpg', which leaves"),
    "windows-absolute": (_set("images.0.file_name", "C:\\data\\a.jpg"), None, r"which leaves the image folder"),
    "no-file-name": (_set("images.0.file_name", ""), None, r"images\[0\] has file_name ''"),
    "size-differs": (_set("images.0.width", 640), None, r"says image .*a.jpg is 640x48 pixels, but the file is 64x48"),
    "size-swapped": (lambda d: _set("images.0.height", 64)(_set("images.0.width", 48)(d)), None,
                     r"width and height swapped.*EXIF"),
    "bad-size": (_set("images.0.width", 0), None, r"width/height \(0, 48\); they must be positive"),
    "crowd-2": (_set("annotations.0.iscrowd", 2), None, r"iscrowd 2; it must be 0 or 1"),
    "no-categories-key": (lambda d: {k: v for k, v in d.items() if k != "categories"}, None, r"no 'categories' list"),
    "annotations-not-list": (_set("annotations", {"1": 2}), None, r"'annotations' must be a list of objects"),
    "no-images": (lambda d: dict(d, images=[], annotations=[]), None, r"lists no images"),
    "label-studio-json": (lambda d: [{"id": 1, "data": {"image": "a.jpg"}}], None,
                          r"holds a list, not an object .*Label Studio"),
    "corrupt-image": (None, lambda root: (root / "images" / "c.jpg").write_bytes(
        formats.jpeg(size=(64, 48))[:300]), r"image .*c.jpg (is corrupt|cannot be read)"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_annotations_are_named_with_the_fix(tmp_path, monkeypatch, case):
    change, damage, why = BROKEN[case]
    json_path = write(tmp_path, coco_dict())   # the images of the good dict, then the changed JSON
    if change:
        json_path.write_text(json.dumps(change(coco_dict())))
    if damage:
        damage(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match=why) as info:
        CocoDataset(json_path, decode=True)
    message = str(info.value)
    assert "Fix:" in message and (str(json_path) in message or case == "corrupt-image"), message
    assert not os.path.exists(tmp_path / "abnormal_image.jpg")


def test_unreadable_and_oversized_json(tmp_path):
    json_path = write(tmp_path, coco_dict())
    with pytest.raises(DatasetError, match=re.escape(str(json_path)) + r" is 0.0 MB, more than .*max_json_bytes"):
        CocoDataset(json_path, max_json_bytes=100)
    json_path.write_text('{"images": [1, 2,\n  ]}')
    with pytest.raises(DatasetError, match=r"result.json is not valid JSON \(.* line 2, column 3\)"):
        CocoDataset(json_path)
    json_path.write_bytes(b'{"images": "\xff"}')
    with pytest.raises(DatasetError, match=r"result.json is not UTF-8 text"):
        CocoDataset(json_path)
    with pytest.raises(DatasetError, match=r"usage='train' picks a .json file inside a folder"):
        CocoDataset(json_path, usage="train")
    with pytest.raises(DatasetError, match=r"COCO folder .*empty does not exist"):
        CocoDataset(tmp_path / "empty")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match=r"holds no .json file"):
        CocoDataset(tmp_path / "nothing")


def test_check_images_none_trusts_the_recorded_size(tmp_path):
    data = coco_dict()
    write(tmp_path, data)
    (tmp_path / "images" / "c.jpg").write_bytes(b"not an image")
    # no image is opened: the JSON's width/height bound the boxes
    assert CocoDataset(tmp_path, check_images=None).get_dataset_size() == 3
