"""Images/s of TinyMS's CIFAR-10 and image-folder training pipelines, a plain PIL + numpy loop, and ResNet-50.

Issue 7 asks for ``cifar10_transform.apply_ds(is_training=True)`` and
``imagefolder_transform.apply_ds(is_training=True)`` with 1 and 2 workers to deliver at least
3x the images/s of a plain single-process PIL + numpy loop doing the same operations, and to
be fast enough that training ResNet-50 at 224x224 on this machine never waits for data.

Contenders, each in a fresh process, interleaved round by round (the machine is shared and
noisy, so every round runs every contender once, in the same order):

- ``cifar tinyms wN``: ``tinyms.data.Cifar10Dataset(folder, usage="train")`` over real-format,
  full-size ``data_batch_1..5.bin`` built here (5 x 10,000 records of 1 label byte + 3,072 CHW
  pixel bytes: one CIFAR-10 training epoch), then ``cifar10_transform.apply_ds(ds,
  batch_size=64, is_training=True, num_parallel_workers=N)``; the reader gets N workers too.
- ``cifar plain``: the same files read with numpy, then per image: pad 4, random 32x32 crop,
  random horizontal flip, float32 rescale + normalise, HWC->CHW; ``np.stack`` per batch of 64.
- ``jpeg tinyms wN``: ``mindspore.dataset.ImageFolderDataset(folder, decode=True,
  num_parallel_workers=N)`` over 224x224 JPEGs (quality 90, 4 class folders, smooth
  gradients + noise), then ``imagefolder_transform.apply_ds(ds, batch_size=32,
  is_training=True, num_parallel_workers=N)``.
- ``jpeg plain``: per file: PIL open + decode, random resized crop (8-100 % of the area,
  aspect 3/4-4/3) resized to 224x224 with PIL bilinear, random flip, float32 rescale +
  normalise, HWC->CHW; ``np.stack`` per batch of 32.
- ``resnet50``: one ``TrainOneStepCell`` step of mindcv's ResNet-50 (1000 classes, batch 32,
  224x224, GRAPH_MODE, Momentum), after the compiling first step; then the same steps fed by
  the ``jpeg tinyms w1`` pipeline, timing how long each step waits for its batch.

A pipeline's time runs from iterator creation to its last batch (``--cifar-passes`` /
``--passes`` passes; partial last batches dropped, as training does), consuming numpy arrays. CPU cores = process CPU time / wall time
over that pass (all threads).

The data are generated once into ``--cache`` (default: the system temp folder), not the repo.

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_pipeline_images.py [--rounds 3] [--images 2000]
     [--passes 2] [--cifar-images 50000] [--cifar-passes 1] [--workers 1 2] [--resnet-steps 2]
     [--resnet-batch 32] [--no-resnet] [--cache DIR]
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import median, run_json

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.247, 0.2435, 0.2616)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASSES = ("class_a", "class_b", "class_c", "class_d")
GOAL = 3.0


# ----------------------------------------------------------------------------- data
def _smooth_images(rng, n, size):
    """``n`` (size, size, 3) uint8 images: a coloured gradient, two soft blobs and sensor noise."""
    import numpy as np  # noqa: PLC0415

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        img = low + (high - low) * ramp[..., None]
        for _ in range(2):
            cy, cx, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.4)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius ** 2))
            img += blob[..., None] * rng.uniform(-80, 80, 3)
        img += rng.normal(0, 6, img.shape)
        out[i] = np.clip(img, 0, 255)
    return out


CIFAR_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))


def make_cifar(folder, records=10_000):
    """CIFAR-10 binary training files ``data_batch_1..5.bin``, full size (10,000 records each:
    MindSpore reads no other size), so the folder is what ``download_dataset`` gives."""
    import numpy as np  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for name in CIFAR_FILES:
        path = folder / name
        if path.exists() and path.stat().st_size == records * 3073:
            continue
        images = _smooth_images(rng, records, 32)
        raw = np.empty((records, 3073), np.uint8)
        raw[:, 0] = rng.integers(0, 10, records)
        raw[:, 1:] = images.transpose(0, 3, 1, 2).reshape(records, 3072)  # CHW planes
        tmp = path.with_suffix(".part")
        raw.tofile(tmp)
        tmp.replace(path)
    return folder


def make_jpegs(folder, count):
    """``count`` 224x224 JPEGs (quality 90) spread over four class folders; reused when complete."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(11)
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for start in range(0, count, 100):
        images = _smooth_images(rng, min(100, count - start), 224)
        for k, img in enumerate(images):
            i = start + k
            Image.fromarray(img).save(folder / CLASSES[i % 4] / f"img_{i:05d}.jpg", quality=90)
    done.write_text(str(count))
    return folder


def jpeg_files(folder):
    return [(str(p), label) for label, name in enumerate(CLASSES)
            for p in sorted((Path(folder) / name).glob("*.jpg"))]


# ----------------------------------------------------------------------------- children
def _cpu():
    t = os.times()
    return t.user + t.system


def _drain(dataset):
    """One pass over a MindSpore dataset: (images, wall s, cpu s)."""
    images, wall, cpu, first = 0, time.perf_counter(), _cpu(), None
    for image, _label in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        images += image.shape[0]
        first = first or time.perf_counter() - wall
    return images, time.perf_counter() - wall, _cpu() - cpu, first


def child_cifar_tinyms(folder, workers, n, passes):
    from tinyms.data import Cifar10Dataset  # noqa: PLC0415
    from tinyms.vision import cifar10_transform  # noqa: PLC0415

    ds = Cifar10Dataset(folder, usage="train", num_samples=n, shuffle=False, num_parallel_workers=workers)
    ds = cifar10_transform.apply_ds(ds, repeat_size=passes, batch_size=64, is_training=True,
                                    num_parallel_workers=workers)
    return _drain(ds)


def child_jpeg_tinyms(folder, workers, n, passes, shuffle=1):
    import mindspore.dataset as mds  # noqa: PLC0415
    from tinyms.vision import imagefolder_transform  # noqa: PLC0415

    ds = mds.ImageFolderDataset(folder, decode=True, num_samples=n, num_parallel_workers=workers)
    # shuffle=0: the diagnostic rows, without apply_ds's shuffle buffer (the reader still
    # shuffles its file list, as ImageFolderDataset does by default)
    ds = imagefolder_transform.apply_ds(ds, repeat_size=passes, batch_size=32, is_training=True,
                                        num_parallel_workers=workers, shuffle=bool(shuffle))
    return _drain(ds)


def child_cifar_plain(folder, _workers, n, passes):
    """What a user would write: read the files with numpy, then one image at a time."""
    import numpy as np  # noqa: PLC0415

    wall, cpu, first = time.perf_counter(), _cpu(), None
    raw = np.concatenate([np.fromfile(Path(folder) / name, np.uint8).reshape(-1, 3073)
                          for name in CIFAR_FILES])[:n]
    labels = raw[:, 0].astype(np.int32)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # to HWC
    mean, std = np.array(CIFAR_MEAN, np.float32), np.array(CIFAR_STD, np.float32)
    done, batch_size = 0, 64
    for _ in range(passes):
        order = list(range(len(images)))
        random.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = []
            for i in order[start:start + batch_size]:
                padded = np.pad(images[i], ((4, 4), (4, 4), (0, 0)))
                top, left = random.randint(0, 8), random.randint(0, 8)
                img = padded[top:top + 32, left:left + 32]
                if random.random() < 0.5:
                    img = img[:, ::-1]
                img = (img.astype(np.float32) / 255.0 - mean) / std
                batch.append(img.transpose(2, 0, 1))
            x, y = np.stack(batch), labels[order[start:start + batch_size]]
            done += len(x)
            first = first or time.perf_counter() - wall
    return done, time.perf_counter() - wall, _cpu() - cpu, first


def _crop_box(width, height, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """A random box of ``scale`` of the area and an aspect ratio in ``ratio`` (log-uniform)."""
    import math  # noqa: PLC0415

    area = width * height
    for _ in range(10):
        target = area * random.uniform(*scale)
        aspect = math.exp(random.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            left, top = random.randint(0, width - w), random.randint(0, height - h)
            return left, top, left + w, top + h
    return 0, 0, width, height  # give up: the whole image


def child_jpeg_plain(folder, _workers, n, passes):
    """What a user would write: PIL per file, numpy per image, np.stack per batch."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    wall, cpu, first = time.perf_counter(), _cpu(), None
    files = jpeg_files(folder)[:n]
    mean, std = np.array(IMAGENET_MEAN, np.float32), np.array(IMAGENET_STD, np.float32)
    done, batch_size = 0, 32
    for _ in range(passes):
        random.shuffle(files)
        for start in range(0, len(files) - batch_size + 1, batch_size):
            batch, labels = [], []
            for path, label in files[start:start + batch_size]:
                with Image.open(path) as img:
                    img = img.convert("RGB")
                img = img.resize((224, 224), Image.BILINEAR, box=_crop_box(*img.size))
                if random.random() < 0.5:
                    img = img.transpose(Image.FLIP_LEFT_RIGHT)
                arr = (np.asarray(img, np.float32) / 255.0 - mean) / std
                batch.append(arr.transpose(2, 0, 1))
                labels.append(label)
            x, y = np.stack(batch), np.array(labels, np.int32)
            done += len(x)
            first = first or time.perf_counter() - wall
    return done, time.perf_counter() - wall, _cpu() - cpu, first


def child_resnet(folder, steps, batch):
    """ResNet-50 train steps: compile, ``steps`` on fixed tensors, ``steps`` fed by the JPEG pipeline."""
    import tinyms  # noqa: F401,PLC0415 - sets ONEDNN_MAX_CPU_ISA=AVX2, as a TinyMS user gets it
    import mindcv  # noqa: PLC0415
    import mindspore as ms  # noqa: PLC0415
    import mindspore.dataset as mds  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    from mindspore import nn  # noqa: PLC0415
    from tinyms.vision import imagefolder_transform  # noqa: PLC0415

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(1)
    net = mindcv.create_model("resnet50", num_classes=1000)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    step.set_train()
    rng = np.random.default_rng(1)
    x = ms.Tensor(rng.standard_normal((batch, 3, 224, 224), np.float32))
    y = ms.Tensor(rng.integers(0, 1000, batch).astype(np.int32))
    t = time.perf_counter()
    step(x, y).asnumpy()
    compile_s = time.perf_counter() - t
    fixed = []
    for _ in range(steps):
        t = time.perf_counter()
        step(x, y).asnumpy()
        fixed.append(time.perf_counter() - t)
    ds = mds.ImageFolderDataset(folder, decode=True, num_parallel_workers=1)
    ds = imagefolder_transform.apply_ds(ds, batch_size=batch, is_training=True, num_parallel_workers=1)
    it = ds.create_tuple_iterator(num_epochs=1)
    fed, waits = [], []
    for _ in range(steps):
        t = time.perf_counter()
        image, label = next(it)
        waited = time.perf_counter() - t
        step(image, label).asnumpy()
        waits.append(waited)
        fed.append(time.perf_counter() - t)
    return {"compile_s": compile_s, "fixed_s": fixed, "fed_s": fed, "wait_s": waits, "batch": batch}


CHILDREN = {"cifar tinyms": child_cifar_tinyms, "cifar plain": child_cifar_plain,
            "jpeg tinyms": child_jpeg_tinyms, "jpeg plain": child_jpeg_plain}


def run_child(argv):
    kind, folder, *numbers = argv
    if kind == "resnet50":
        print(json.dumps(child_resnet(folder, *map(int, numbers))))
        return
    import resource  # noqa: PLC0415

    images, wall, cpu, first = CHILDREN[kind](folder, *map(int, numbers))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images": images, "wall_s": wall, "cpu_s": cpu, "first_s": first, "rss_mib": rss}))


# ----------------------------------------------------------------------------- parent
def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--images", type=int, default=2000, help="JPEGs in the image folder")
    p.add_argument("--passes", type=int, default=2, help="passes over the JPEG folder per run")
    p.add_argument("--cifar-images", type=int, default=50_000, help="CIFAR records used (at most 50,000)")
    p.add_argument("--cifar-passes", type=int, default=1)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--resnet-steps", type=int, default=2, help="timed steps of each kind per round")
    p.add_argument("--resnet-batch", type=int, default=32)
    p.add_argument("--no-resnet", action="store_true")
    p.add_argument("--no-diagnostic", action="store_true",
                   help="skip the jpeg rows with apply_ds(..., shuffle=False)")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "tinyms-bench-images"))
    args = p.parse_args()

    cache = Path(args.cache)
    t = time.perf_counter()
    cifar = make_cifar(cache / "cifar10")
    jpegs = make_jpegs(cache / f"jpeg-{args.images}", args.images)
    size_kib = sum(os.path.getsize(f) for f, _ in jpeg_files(jpegs)) / args.images / 1024
    print(f"data in {cache} ({time.perf_counter() - t:.1f}s); mean JPEG {size_kib:.1f} KiB", flush=True)

    cifar_run = [str(min(args.cifar_images, 50_000)), str(args.cifar_passes)]
    jpeg_run = [str(args.images), str(args.passes)]
    contenders = []  # (row name, case, child argv)
    for w in args.workers:
        contenders.append((f"cifar tinyms w{w}", "cifar", ["cifar tinyms", str(cifar), str(w), *cifar_run]))
    contenders.append(("cifar plain", "cifar", ["cifar plain", str(cifar), "1", *cifar_run]))
    for w in args.workers:
        contenders.append((f"jpeg tinyms w{w}", "jpeg", ["jpeg tinyms", str(jpegs), str(w), *jpeg_run]))
    contenders.append(("jpeg plain", "jpeg", ["jpeg plain", str(jpegs), "1", *jpeg_run]))
    if not args.no_diagnostic:
        for w in args.workers:
            contenders.append((f"jpeg tinyms w{w} shuffle=False", "jpeg",
                               ["jpeg tinyms", str(jpegs), str(w), *jpeg_run, "0"]))
    if not args.no_resnet:
        contenders.append(("resnet50", "resnet", ["resnet50", str(jpegs), str(args.resnet_steps),
                                                  str(args.resnet_batch)]))

    env = {"GLOG_v": os.environ.get("GLOG_v", "3")}
    results = {name: [] for name, _, _ in contenders}
    for r in range(args.rounds):
        print(f"round {r + 1}: load average {os.getloadavg()[0]:.2f} (2 = both cores busy)", flush=True)
        for name, _case, argv in contenders:
            _, res = run_json([sys.executable, __file__, "--child", *argv], env=env)
            results[name].append(res)
            if name == "resnet50":
                print(f"round {r + 1}: resnet50 compile {res['compile_s']:.1f}s fixed "
                      f"{[round(s, 2) for s in res['fixed_s']]} fed {[round(s, 2) for s in res['fed_s']]} "
                      f"waits {[round(s, 3) for s in res['wait_s']]}", flush=True)
            else:
                print(f"round {r + 1}: {name} {res['images'] / res['wall_s']:.0f} img/s "
                      f"({res['images']} in {res['wall_s']:.2f}s, first batch after {res['first_s']:.3f}s, "
                      f"cpu {res['cpu_s']:.2f}s, peak RSS {res['rss_mib']:.0f} MiB)", flush=True)
    report(args, contenders, results)


def report(args, contenders, results):
    rate = {name: [res["images"] / res["wall_s"] for res in runs]
            for name, runs in results.items() if name != "resnet50"}
    print(f"\nmedians of {args.rounds} rounds; ratio = median over rounds of (row / plain loop of the same round)\n")
    print("| pipeline | workers | img/s per round | median img/s | CPU cores used | first batch s "
          "| peak RSS MiB | ratio to plain loop | >= 3x |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, case, argv in contenders:
        if case == "resnet":
            continue
        runs = results[name]
        cores = median([res["cpu_s"] / res["wall_s"] for res in runs])
        first = median([res["first_s"] for res in runs])
        rss = median([res["rss_mib"] for res in runs])
        ratios = [a / b for a, b in zip(rate[name], rate[f"{case} plain"])]
        plain = name.endswith("plain")
        label = {"cifar": "CIFAR-10 32x32 (crop+flip)", "jpeg": "JPEG 224x224 (resized crop+flip)"}[case]
        who = "plain PIL+numpy loop" if plain else "tinyms apply_ds"
        if name.endswith("shuffle=False"):
            who = "(diagnostic) tinyms apply_ds(..., shuffle=False)"
        print(f"| {label}, {who} | {'1 (single process)' if plain else argv[2]} | "
              f"{', '.join(f'{v:.0f}' for v in rate[name])} | **{median(rate[name]):.0f}** | {cores:.2f} | "
              f"{first:.2f} | {rss:.0f} | "
              f"{median(ratios):.2f} | {'' if plain or 'diagnostic' in who else ('yes' if median(ratios) >= GOAL else '**no**')} |")
    if "resnet50" not in results:
        return
    runs = results["resnet50"]
    batch = runs[0]["batch"]
    fixed = [s for res in runs for s in res["fixed_s"]]
    fed = [s for res in runs for s in res["fed_s"]]
    first_waits = ", ".join(f"{res['wait_s'][0]:.2f}" for res in runs)
    later_waits = [s for res in runs for s in res["wait_s"][1:]]
    train = batch / median(fixed)
    print(f"\n| ResNet-50 train step, batch {batch}, 224x224, GRAPH_MODE | value |")
    print("|---|---|")
    compiles = ", ".join(f"{res['compile_s']:.1f}" for res in runs)
    print(f"| first step (compile) s | {compiles} |")
    print(f"| step s, fixed tensors (median of {len(fixed)}) | {median(fixed):.2f} |")
    print(f"| **training img/s** | **{train:.2f}** |")
    print(f"| step s incl. fetch, fed by jpeg tinyms w1 (median of {len(fed)}) | {median(fed):.2f} |")
    print(f"| wait for the first batch s (pipeline start, per round) | {first_waits} |")
    if later_waits:
        print(f"| wait for a later batch s, max of {len(later_waits)} | {max(later_waits):.3f} |")
    for w in args.workers:
        name = f"jpeg tinyms w{w}"
        if name in rate:
            print(f"| {name} img/s / training img/s | {median(rate[name]) / train:.0f}x |")
    cpu_per_image = median([res["cpu_s"] / res["images"] for res in results.get("jpeg tinyms w1", [])])
    print(f"| CPU s the jpeg pipeline (w1) needs per image / training s per image | "
          f"{cpu_per_image * 1000:.2f} ms / {median(fixed) / batch * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
