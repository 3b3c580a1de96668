"""``tinyms detect``: an image or a video in, the objects drawn (and a JSON line per frame) out.

The detector here is a stand-in whose answer is known: it boxes the bright pixels of the frame
(class "square"), so every test can check that boxes land where the square is, after the frame
went through the detection preset (640x480 -> 96x96, stretched) and back. It is a registry
network saved with ``Model.save_checkpoint`` into a run folder, as ``tinyms train`` saves one.
The committed SSD300-MobileNetV2 (untrained) goes through the app once, for its real outputs.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
psutil = pytest.importorskip("psutil")
ms = pytest.importorskip("mindspore")

from mindspore import nn, ops  # noqa: E402
from PIL import Image  # noqa: E402

from tinyms.cli import main  # noqa: E402
from tinyms.model import Model, create_model, registry  # noqa: E402
from tinyms.vision._presets import IMAGENET_MEAN, IMAGENET_STD, detection_recipe  # noqa: E402

_NAME = "test_square_finder"
_LABELS = ("square", "circle")
_SIZE = 96


class _SquareFinder(nn.Cell):
    """Boxes the pixels brighter than mid-grey: class 0 ("square") at 0.9 when there are any.

    Outputs (boxes (B, 2, 4) [ymin, xmin, ymax, xmax] in [0, 1], scores (B, 2, 3) with the
    background first): anchor 0 is the bright region, anchor 1 an empty box that is background.
    """

    def __init__(self, class_num=3):
        super().__init__()
        self.class_num = class_num
        self.gain = ms.Parameter(ms.Tensor(np.ones(1, np.float32)), name="gain")

    def construct(self, x):
        bright = (x.mean(axis=1) > 0.0).astype(ms.float32)  # the preset normalises mid-grey to about 0
        rows, cols = bright.max(axis=2), bright.max(axis=1)
        height, width = x.shape[2], x.shape[3]
        ymin = ops.argmax(rows, dim=1).astype(ms.float32) / height
        ymax = (height - ops.argmax(ops.flip(rows, (1,)), dim=1).astype(ms.float32)) / height
        xmin = ops.argmax(cols, dim=1).astype(ms.float32) / width
        xmax = (width - ops.argmax(ops.flip(cols, (1,)), dim=1).astype(ms.float32)) / width
        found = rows.max(axis=1) * self.gain
        box = ops.stack((ymin, xmin, ymax, xmax), -1)  # tuples, not lists: ONNX export has no make_list
        zero = ops.zeros_like(found)
        scores = ops.stack((ops.stack((1 - 0.9 * found, 0.9 * found, zero), -1),
                            ops.stack((zero + 1, zero, zero), -1)), 1)
        return ops.stack((box, ops.zeros_like(box)), 1), scores


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding the stand-in detector's best.ckpt (its network registered while the module runs)."""
    def test_square_finder(class_num=3):
        return _SquareFinder(class_num)

    registry.register_model(task="detection", background=True, input_shape=(3, _SIZE, _SIZE), mean=IMAGENET_MEAN,
                            std=IMAGENET_STD, labels=_LABELS, dataset="", transform="voc_transform",
                            recipe=detection_recipe(size=(_SIZE, _SIZE)), mindcv_weights=False)(test_square_finder)
    folder = tmp_path_factory.mktemp("run")
    Model(create_model(_NAME)).save_checkpoint(str(folder / "best.ckpt"))
    yield folder
    with registry._LOCK:  # noqa: SLF001
        registry._REGISTRY.pop(_NAME, None)  # noqa: SLF001


def _square(frame, box):
    xmin, ymin, xmax, ymax = box
    frame[ymin:ymax, xmin:xmax] = 255
    return frame


def _video(path, boxes, size=(640, 480), codec="mp4v", fps=30.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert writer.isOpened()
    for box in boxes:
        writer.write(_square(np.zeros((size[1], size[0], 3), np.uint8), box))
    writer.release()
    return path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_image_gets_its_boxes_drawn_where_the_objects_are(run_dir, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    pixels = _square(np.zeros((480, 640, 3), np.uint8), (300, 100, 460, 220))
    Image.fromarray(pixels).save(photo)
    assert main(["detect", str(photo), "--run", str(run_dir)]) == 0
    out = capsys.readouterr().out
    # the square, found on the 96x96 input and mapped back onto the 640x480 photo
    line = next(l for l in out.splitlines() if l.strip().startswith("square"))
    box = [float(v) for v in line.split("[")[1].rstrip("]").split(",")]
    assert np.allclose(box, [300, 100, 460, 220], atol=7), line
    assert "0.90" in line and "1 object(s)" in out
    drawn = np.asarray(Image.open(tmp_path / "photo_detected.png").convert("RGB"))
    assert drawn.shape == pixels.shape  # same size as the photo
    changed = (drawn != pixels).any(axis=2)
    assert changed[110:210, 295:306].any(axis=1).all() and changed[110:210, 455:466].any(axis=1).all()  # its sides
    assert changed[85:99, 300:340].any()  # its label above it
    assert not changed[300:, :].any() and not changed[:, :250].any()  # nothing drawn elsewhere
    # --classes keeps only the classes named: no circle here, so nothing is drawn
    assert main(["detect", str(photo), "--run", str(run_dir), "--classes", "circle", "--out",
                 str(tmp_path / "circles.jpg")]) == 0
    assert "0 object(s)" in capsys.readouterr().out
    assert Image.open(tmp_path / "circles.jpg").size == (640, 480)


def test_a_video_gives_an_annotated_video_and_one_json_line_per_frame(run_dir, tmp_path, capsys):
    boxes = [(40 + 10 * i, 100 + 5 * i, 200 + 10 * i, 200 + 5 * i) for i in range(30)]
    clip = _video(tmp_path / "clip.mp4", boxes)
    before = _digest(clip)
    assert main(["detect", str(clip), "--run", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "30 frame(s) in" in out and "frames/s" in out
    assert _digest(clip) == before  # the input is never touched
    annotated = cv2.VideoCapture(str(tmp_path / "clip_detected.mp4"))
    frames = 0
    while annotated.read()[0]:
        frames += 1
    assert frames == 30
    assert (annotated.get(cv2.CAP_PROP_FRAME_WIDTH), annotated.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640, 480)
    annotated.release()
    lines = [json.loads(l) for l in (tmp_path / "clip_detected.jsonl").read_text().splitlines()]
    assert [l["frame"] for l in lines] == list(range(30))
    assert np.allclose([l["time"] for l in lines], np.arange(30) / 30.0, atol=0.002)
    for line, box in zip(lines, boxes):
        [found] = line["detections"]
        assert found["label"] == "square" and found["label_id"] == 0 and found["score"] == pytest.approx(0.9)
        assert np.allclose(found["box"], box, atol=8), (line, box)  # mp4v blurs the edges a little


def test_memory_stays_flat_over_a_long_video(run_dir, tmp_path, capsys):
    size = (320, 240)
    boxes = [((7 * i) % 200, 40, (7 * i) % 200 + 80, 120) for i in range(300)]
    long_clip = _video(tmp_path / "long.avi", boxes, size=size, codec="MJPG")
    short_clip = _video(tmp_path / "short.avi", boxes[:10], size=size, codec="MJPG")
    assert main(["detect", str(short_clip), "--run", str(run_dir)]) == 0  # warm: libraries and graphs loaded
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak, done = [baseline], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        assert main(["detect", str(long_clip), "--run", str(run_dir)]) == 0
    finally:
        done.set()
        sampler.join()
    assert "300 frame(s) in" in capsys.readouterr().out
    assert len((tmp_path / "long_detected.jsonl").read_text().splitlines()) == 300
    growth = (peak[0] - baseline) / 2 ** 20
    kept_copy = 300 * size[0] * size[1] * 3 / 2 ** 20  # 66 MiB: what keeping the frames would cost
    assert growth < kept_copy / 3, f"resident memory grew {growth:.1f} MiB over 300 frames"


def test_the_camera_without_a_display_is_a_clear_error(run_dir, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["detect", "--camera", "0", "--run", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --camera") and "no display" in err and "INPUT" in err


def test_the_camera_window_gets_the_annotated_frames_and_can_record_them(run_dir, tmp_path, monkeypatch, capsys):
    # no camera or display here: camera 0 plays a video file, and the window is a stand-in closed after 5 frames
    from tinyms import _detect_cli
    from tinyms.vision._draw import box_colour

    boxes = [(100 + 10 * i, 100, 260 + 10 * i, 220) for i in range(20)]
    clip = _video(tmp_path / "camera.avi", boxes, codec="MJPG")
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda source: real_capture(str(clip) if source == 0 else source))
    shown = []

    class Window:
        def __init__(self, title):
            self.title = title

        def show(self, index, seconds, rgb, found):
            if len(shown) == 5:
                return False  # the user closed the window
            shown.append((rgb, found))
            return True

        def close(self):
            pass

    monkeypatch.setattr(_detect_cli, "_Window", Window)
    record = tmp_path / "record.mp4"
    assert main(["detect", "--camera", "0", "--run", str(run_dir), "--out", str(record)]) == 0
    assert "5 frame(s) in" in capsys.readouterr().out
    colour = box_colour("square")
    for (rgb, found), box in zip(shown, boxes):
        assert rgb.shape == (480, 640, 3) and [d["label"] for d in found] == ["square"]
        assert np.allclose(found[0]["box"], box, atol=8)
        left_side = rgb[110:210, box[0] - 8:box[0] + 8]
        assert (left_side == colour).all(axis=2).any(axis=1).all()  # the box drawn on the frame shown
    lines = (tmp_path / "record.jsonl").read_text().splitlines()
    assert [json.loads(l)["frame"] for l in lines] == [0, 1, 2, 3, 4]
    recorded = cv2.VideoCapture(str(record))
    assert recorded.get(cv2.CAP_PROP_FRAME_COUNT) == 5
    recorded.release()


def test_inputs_that_are_not_images_or_videos_are_clear_errors(run_dir, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    assert main(["detect", str(notes), "--run", str(run_dir)]) == 1
    assert f"error: {notes} is neither an image nor a video" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "missing.mp4"), "--run", str(run_dir)]) == 1
    assert "missing.mp4 is no file" in capsys.readouterr().err
    # a video whose container opens but none of whose frames decode: MJPG frames overwritten with zeros
    clip = _video(tmp_path / "broken.avi", [(10, 10, 50, 50)] * 5, size=(160, 120), codec="MJPG")
    data = bytearray(clip.read_bytes())
    start, end = data.find(b"movi") + 4, data.find(b"idx1")
    data[start:end] = bytes(end - start)
    clip.write_bytes(bytes(data))
    assert main(["detect", str(clip), "--run", str(run_dir)]) == 1
    assert "no frame of" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.avi", "notes.txt"]  # nothing half-written left
    # a video cut short (an unfinished recording): the frames that decode, and a warning saying so
    clip = _video(tmp_path / "cut.avi", [(10 + 5 * i, 10, 60 + 5 * i, 60) for i in range(10)], size=(160, 120),
                  codec="MJPG")
    clip.write_bytes(clip.read_bytes()[:clip.stat().st_size // 2])
    assert main(["detect", str(clip), "--run", str(run_dir)]) == 0
    captured = capsys.readouterr()
    done = int(captured.out.split(" frame(s) in")[0].split()[-1])
    assert 0 < done < 10 and f"declares 10 frames but only the first {done} could be decoded" in captured.err
    assert len((tmp_path / "cut_detected.jsonl").read_text().splitlines()) == done
    # the output may not be the input
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(photo)
    before = _digest(photo)
    assert main(["detect", str(photo), "--run", str(run_dir), "--out", str(photo)]) == 1
    assert "never overwrites its input" in capsys.readouterr().err and _digest(photo) == before
    # from a shell: exit status 1, one line, no traceback (the input is checked before any model loads)
    proc = subprocess.run([sys.executable, "-m", "tinyms", "detect", str(notes), "--run", str(run_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {notes} is neither an image nor a video")


def test_a_classification_model_is_refused_with_the_reason(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(photo)
    assert main(["detect", str(photo), "--model", "lenet5"]) == 1
    assert "is a classification network (lenet5), not a detection network" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    Model(create_model("lenet5")).save_checkpoint(str(run / "last.ckpt"))
    assert main(["detect", str(photo), "--run", str(run)]) == 1
    assert "last.ckpt is a classification network (lenet5)" in capsys.readouterr().err
    assert main(["detect", str(photo), "--run", str(tmp_path)]) == 1
    assert "holds no best.ckpt or last.ckpt" in capsys.readouterr().err


def test_detection_servables_run_in_process_on_mindspore_and_onnxruntime(run_dir, tmp_path, capsys):
    from tinyms.serving import write_servable

    serving = tmp_path / "serving"
    write_servable(str(serving), "squares", create_model(_NAME), formats=("ckpt",))
    write_servable(str(serving), "squares_onnx", create_model(_NAME), formats=("onnx",))
    photo = tmp_path / "photo.jpg"
    Image.fromarray(_square(np.zeros((300, 400, 3), np.uint8), (20, 150, 120, 290))).save(photo)
    for name, runtime in (("squares", "ckpt"), ("squares_onnx", "onnx")):
        out = tmp_path / f"{name}.jpg"
        assert main(["detect", str(photo), "--servable", str(serving / name), "--out", str(out)]) == 0
        text = capsys.readouterr().out
        line = next(l for l in text.splitlines() if l.strip().startswith("square"))
        box = [float(v) for v in line.split("[")[1].rstrip("]").split(",")]
        assert np.allclose(box, [20, 150, 120, 290], atol=6), line
        assert f"servable {name} ({runtime})" in text and Image.open(out).size == (400, 300)
    # two detection servables in the folder: the message says how to pick one
    assert main(["detect", str(photo), "--servable", str(serving)]) == 1
    assert "several detection servables (squares, squares_onnx)" in capsys.readouterr().err


def test_the_committed_ssd_runs_through_the_app(tmp_path, capsys, released):
    # ssd300_mobilenetv2 as `tinyms train` saves it for 5 classes at 160x160 (untrained: every class
    # scores about its 0.01 prior, so a threshold below that keeps the 5 best anchors)
    from tinyms.model import ssd300_mobilenetv2

    run = tmp_path / "run"
    run.mkdir()
    Model(ssd300_mobilenetv2(class_num=6, image_size=160)).save_checkpoint(str(run / "best.ckpt"))
    photo = tmp_path / "street.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(photo)
    assert main(["detect", str(photo), "--run", str(run), "--score-threshold", "0.005", "--max-detections", "5"]) == 0
    out = capsys.readouterr().out
    assert "5 object(s) found" in out and "ssd300_mobilenetv2 from" in out
    for line in [l for l in out.splitlines() if l.startswith("  ")]:
        xmin, ymin, xmax, ymax = (float(v) for v in line.split("[")[1].rstrip("]").split(","))
        assert 0 <= xmin <= xmax <= 320 and 0 <= ymin <= ymax <= 240, line
    assert Image.open(tmp_path / "street_detected.jpg").size == (320, 240)
