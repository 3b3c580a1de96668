"""Speed of the numpy side of detection: detect_boxes (NMS) and MeanAveragePrecision.

    GLOG_v=3 .venv/bin/python benchmarks/bench_detection_numpy.py [--coco]

1. detect_boxes on one image of 2,000 anchors x 80 classes (+ background), for peaked
   (softmax) scores at the usual thresholds and for the worst cases (every anchor a candidate of
   every class; all anchors on one object so that nothing stops the visit early).
2. MeanAveragePrecision.update + eval over 5,000 images x 100 detections, 80 classes.
   ``--coco`` also times pycocotools' COCOeval (json in memory) on the same data and prints
   both results.
"""

import argparse
import contextlib
import io
import time

import numpy as np


def best_of(fn, rounds=3):
    best, out = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def bench_detect(anchors=2000, classes=80):
    from tinyms._boxes import detect_boxes

    rng = np.random.default_rng(0)
    cy, cx = rng.random((2, anchors))
    h, w = rng.uniform(0.02, 0.5, (2, anchors))
    boxes = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1).astype(np.float32)[None]
    logits = rng.normal(0, 1, (1, anchors, classes + 1))
    logits[0, rng.integers(0, anchors, 50), rng.integers(1, classes + 1, 50)] += 8
    peaked = np.exp(logits)
    peaked = (peaked / peaked.sum(-1, keepdims=True)).astype(np.float32)
    for threshold in (0.05, 0.01, 0.001):
        seconds, out = best_of(lambda: detect_boxes(boxes, peaked, background=True, score_threshold=threshold))
        print(f"detect_boxes softmax scores, threshold {threshold}: {seconds * 1000:.1f} ms "
              f"({int((peaked[0, :, 1:] > threshold).sum())} candidates, {len(out[0][0])} kept)")
    uniform = rng.random((1, anchors, classes)).astype(np.float32)
    one_object = (np.array([0.2, 0.2, 0.6, 0.6]) + rng.normal(0, 0.01, (anchors, 4))).astype(np.float32)[None]
    for name, case in (("uniform scores", boxes), ("uniform scores, one object", one_object)):
        for top_k in (1000, None):
            seconds, out = best_of(lambda: detect_boxes(case, uniform, pre_nms_top_k=top_k), rounds=1)
            print(f"detect_boxes {name}, pre_nms_top_k={top_k}: {seconds * 1000:.0f} ms ({len(out[0][0])} kept)")


def make_images(count=5000, classes=80, per_image=100, seed=0):
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        objects = int(rng.integers(1, 15))
        corner = rng.uniform(0, 500, (objects, 2))
        truth = np.c_[corner, corner + rng.uniform(10, 200, (objects, 2))]
        truth_labels = rng.integers(0, classes, objects)
        near = per_image * 3 // 5
        source = rng.integers(0, objects, near)  # detections around the objects, and stray ones
        found = truth[source] + rng.normal(0, 8, (near, 4))
        found[:, 2:] = np.maximum(found[:, 2:], found[:, :2] + 1)
        corner = rng.uniform(0, 500, (per_image - near, 2))
        stray = np.c_[corner, corner + rng.uniform(10, 200, (per_image - near, 2))]
        labels = np.r_[np.where(rng.random(near) < 0.8, truth_labels[source], rng.integers(0, classes, near)),
                       rng.integers(0, classes, per_image - near)]
        images.append((np.r_[found, stray], rng.random(per_image), labels, truth, truth_labels))
    return images


def bench_map(images, classes=80, coco=False):
    from tinyms.metrics import MeanAveragePrecision

    metric = MeanAveragePrecision(labels=classes)
    started = time.perf_counter()
    for i in range(0, len(images), 32):
        metric.update(*map(list, zip(*images[i:i + 32])))
    updated = time.perf_counter()
    result = metric.eval()
    done = time.perf_counter()
    print(f"MeanAveragePrecision, {metric.images} images x {len(images[0][0])} detections: update "
          f"{updated - started:.2f} s, eval {done - updated:.2f} s -> {result}")
    if coco:
        bench_pycocotools(images, classes, result)


def bench_pycocotools(images, classes, result):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    started = time.perf_counter()
    truth = {"images": [{"id": i + 1} for i in range(len(images))],
             "categories": [{"id": k + 1} for k in range(classes)], "annotations": []}
    found = []
    for i, (boxes, scores, labels, gt, gt_labels) in enumerate(images):
        for box, label in zip(gt, gt_labels):
            w, h = box[2] - box[0], box[3] - box[1]
            truth["annotations"].append({"id": len(truth["annotations"]) + 1, "image_id": i + 1, "iscrowd": 0,
                                         "category_id": int(label) + 1, "bbox": [*box[:2], w, h], "area": w * h})
        found += [{"image_id": i + 1, "category_id": int(label) + 1, "score": float(score),
                   "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]}
                  for box, score, label in zip(boxes, scores, labels)]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(found), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    print(f"pycocotools COCOeval: {time.perf_counter() - started:.1f} s -> mAP50_95 {evaluation.stats[0]:.6f}, "
          f"mAP50 {evaluation.stats[1]:.6f} (differences {abs(evaluation.stats[0] - result['mAP50_95']):.1e}, "
          f"{abs(evaluation.stats[1] - result['mAP50']):.1e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coco", action="store_true", help="also time pycocotools on the same images")
    args = parser.parse_args()
    bench_detect()
    bench_map(make_images(), coco=args.coco)


if __name__ == "__main__":
    main()
