"""tinyms.vision.coco_eval: TinyMS 0.3's SSD evaluation with pycocotools, without files or prints."""

import json
import os

import numpy as np
import pytest

from tinyms.errors import DatasetError, InputShapeError
from tinyms.metrics import MeanAveragePrecision
from tinyms.vision import coco_eval

NAMES = ["background", "cat", "dog", "person"]  # category id = index, as in TinyMS 0.3's files
IMAGES = {1: (375, 500), 2: (480, 640), 3: (300, 300)}  # id: (height, width)
OBJECTS = [  # image id, category id, [x, y, width, height] in pixels, iscrowd
    (1, 1, [50, 40, 200, 150], 0), (1, 3, [300, 100, 120, 250], 0),
    (2, 2, [10, 20, 300, 200], 0), (2, 2, [350, 250, 200, 180], 0), (2, 3, [0, 0, 640, 200], 1),
    (3, 3, [100, 50, 80, 200], 0),
]


@pytest.fixture
def anno_file(tmp_path):
    data = {"images": [{"id": i, "height": h, "width": w, "file_name": f"{i}.jpg"} for i, (h, w) in IMAGES.items()],
            "categories": [{"id": k, "name": name} for k, name in enumerate(NAMES)],
            "annotations": [{"id": n, "image_id": i, "category_id": c, "bbox": box, "area": box[2] * box[3],
                             "iscrowd": crowd} for n, (i, c, box, crowd) in enumerate(OBJECTS, 1)]}
    path = tmp_path / "annotations" / "instances_val.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _pred_data(shift=0.0, noise_anchors=30, column_of=None, seed=0):
    """SSD-style outputs whose confident anchors are the objects' boxes (moved right by ``shift`` of
    the box width), plus background anchors."""
    rng = np.random.default_rng(seed)
    data = []
    for img_id, (h, w) in IMAGES.items():
        boxes, scores = [], []
        for i, category, (x, y, bw, bh), crowd in OBJECTS:
            if i != img_id or crowd:
                continue
            x += shift * bw
            boxes.append([y / h, x / w, (y + bh) / h, (x + bw) / w])  # [ymin, xmin, ymax, xmax] normalised
            row = np.full(len(NAMES), 0.001)
            row[(column_of or {}).get(category, category)] = 0.9
            row[0] = 1 - row[1:].sum()
            scores.append(row)
        for _ in range(noise_anchors):
            y0, x0 = rng.uniform(0, 0.7, 2)
            boxes.append([y0, x0, y0 + 0.3, x0 + 0.3])
            scores.append([0.997, 0.001, 0.001, 0.001])  # background: below every threshold
        data.append({"boxes": np.array(boxes, np.float32), "box_scores": np.array(scores, np.float32),
                     "img_id": img_id, "image_shape": np.array(IMAGES[img_id], np.float32)})
    return data


def test_exact_boxes_score_one_and_nothing_is_written_or_printed(anno_file, workdir, capsys):
    assert coco_eval(_pred_data(), anno_file) == pytest.approx(1.0, abs=1e-6)
    assert os.listdir(workdir) == []  # TinyMS 0.3 left predictions.json here
    assert os.listdir(os.path.dirname(anno_file)) == ["instances_val.json"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_shifted_boxes_score_lower_as_pycocotools_and_the_metric_agree(anno_file, workdir):
    exact = coco_eval(_pred_data(), anno_file)
    slightly = coco_eval(_pred_data(shift=0.05), anno_file)
    badly = coco_eval(_pred_data(shift=0.4), anno_file)
    assert exact > slightly > badly >= 0.0
    assert badly < 0.3
    # the same detections through MeanAveragePrecision (category = score column, pixels, crowd ignored)
    metric = MeanAveragePrecision(labels=NAMES[1:])
    for sample in _pred_data(shift=0.05):
        h, w = sample["image_shape"]
        truth = [(c - 1, [x, y, x + bw, y + bh], crowd) for i, c, (x, y, bw, bh), crowd in OBJECTS
                 if i == sample["img_id"]]
        confident = sample["box_scores"][:, 1:].max(axis=1) > 0.01
        yx = sample["boxes"][confident].astype(np.float64) * [h, w, h, w]
        metric.update(yx[:, [1, 0, 3, 2]], sample["box_scores"][confident, 1:].max(axis=1),
                      sample["box_scores"][confident, 1:].argmax(axis=1),
                      [t[1] for t in truth], [t[0] for t in truth], [bool(t[2]) for t in truth])
    assert metric.eval()["mAP50_95"] == pytest.approx(slightly, abs=1e-4)


def test_only_the_predicted_images_are_scored(anno_file, workdir):
    # image 1 alone, predicted exactly: the objects of images 2 and 3 are not missed detections
    assert coco_eval(_pred_data()[:1], anno_file) == pytest.approx(1.0, abs=1e-6)
    one = dict(_pred_data()[0], img_id=np.array([1]))  # 0.3's pipelines gave ids as arrays
    assert coco_eval([one], anno_file) == pytest.approx(1.0, abs=1e-6)


def test_the_category_is_the_score_column(anno_file, workdir):
    # cats scored in the dog column and dogs in the cat column are all wrong
    swapped = coco_eval(_pred_data(column_of={1: 2, 2: 1}), anno_file)
    assert swapped == pytest.approx(1 / 3, abs=1e-6)  # AP(person) = 1, AP(cat) = AP(dog) = 0
    assert coco_eval(_pred_data(column_of={1: 2, 2: 1})[2:], anno_file) == pytest.approx(1.0, abs=1e-6)


def test_no_detection_at_all_scores_zero(anno_file, workdir):
    data = _pred_data()
    for sample in data:
        sample["box_scores"][:] = [0.997, 0.001, 0.001, 0.001]
    assert coco_eval(data, anno_file) == 0.0


def test_errors_name_the_problem(anno_file, workdir, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        coco_eval(_pred_data(), str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DatasetError, match="not readable JSON"):
        coco_eval(_pred_data(), str(broken))
    broken.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetError, match="COCO format"):
        coco_eval(_pred_data(), str(broken))
    with pytest.raises(DatasetError, match="image 9"):
        coco_eval([dict(_pred_data()[0], img_id=9)], anno_file)
    with pytest.raises(ValueError, match="twice"):
        coco_eval(_pred_data()[:1] * 2, anno_file)
    with pytest.raises(ValueError, match="image_shape"):
        coco_eval([{"boxes": np.zeros((1, 4)), "box_scores": np.zeros((1, 4)), "img_id": 1}], anno_file)
    wide = dict(_pred_data()[0], box_scores=np.zeros((32, 6)))  # 5 classes, the file names 3
    with pytest.raises(DatasetError, match=r"no categories \[4, 5\]"):
        coco_eval([wide], anno_file)
    with pytest.raises(InputShapeError):
        coco_eval([dict(_pred_data()[0], boxes=np.zeros((5, 4)))], anno_file)
    assert os.listdir(workdir) == []
