"""show_images / ImageViewer: grids of images with labels, predictions and boxes, saved or shown."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tinyms.errors import InputShapeError, TinyMSError
from tinyms.vision.predictions import top_k_predictions
from tinyms.vision.viewer import ImageSaveError, ImageViewer, show_images

GREEN, RED = "#1a7f37", "#cf222e"


@pytest.fixture
def digits():
    return np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)


def titles(fig):
    return [axes.get_title() for axes in fig.axes]


def test_png_has_the_grid_size_and_nothing_else_is_left(tmp_path, digits):
    path = tmp_path / "grid.png"
    fig = show_images(digits, labels=list(range(10)), path=path)
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (4 * 200, 3 * 200)  # 10 images: 4 x 3 cells
    assert len(fig.axes) == 10
    assert os.listdir(tmp_path) == ["grid.png"]
    viewer = ImageViewer(digits, columns=5, cell_inches=1.5, dpi=80)
    assert viewer.pixel_size == (5 * 120, 2 * 120)
    assert viewer.save(str(tmp_path / "small.png")) == str(tmp_path / "small.png")
    with Image.open(tmp_path / "small.png") as png:
        assert png.size == viewer.pixel_size


def test_titles_hold_labels_and_predictions_coloured_by_agreement(tmp_path, digits):
    fig = show_images(digits, labels=list(range(10)), predictions=[0, 1, 2, 3, 4, 5, 6, 7, 8, 3],
                      path=tmp_path / "g.png")
    assert titles(fig)[7] == "label: 7\npred: 7"
    assert titles(fig)[9] == "label: 9\npred: 3"
    colours = [axes.title.get_color() for axes in fig.axes]
    assert colours[:9] == [GREEN] * 9 and colours[9] == RED


def test_prediction_objects_strings_and_class_names(tmp_path):
    logits = np.eye(3, dtype=np.float32)[[0, 2, 1]] * 5  # predicts classes 0, 2, 1
    preds = top_k_predictions(logits, labels=("cat", "dog", "frog"))
    images = np.zeros((3, 8, 8, 3), np.uint8)
    fig = show_images(images, labels=[0, 1, 1], predictions=preds, class_names=["cat", "dog", "frog"],
                      path=tmp_path / "g.png")
    assert titles(fig)[0].startswith("label: cat\npred: cat (")
    assert titles(fig)[1].startswith("label: dog\npred: frog (") and titles(fig)[1].endswith("%)")
    assert [axes.title.get_color() for axes in fig.axes] == [GREEN, RED, GREEN]
    fig = show_images(images, predictions=["a", "b", preds[2]], path=tmp_path / "h.png")
    assert titles(fig)[:2] == ["pred: a", "pred: b"] and titles(fig)[2].startswith("pred: dog (")
    assert show_images([images[0]], labels="cat", path=tmp_path / "i.png").axes[0].get_title() == "label: cat"


def test_boxes_are_drawn_with_their_class_names(tmp_path):
    photo = Image.new("RGB", (300, 200), (90, 140, 200))
    boxes = [[(10, 20, 150, 180, "person"), (160, 30, 290, 100, 1)], [], np.array([[5, 5, 50, 40]])]
    fig = show_images([photo, photo, photo], boxes=boxes, class_names=["cat", "dog"], path=tmp_path / "g.png")
    assert [len(axes.patches) for axes in fig.axes] == [2, 0, 1]
    assert [t.get_text() for t in fig.axes[0].texts] == ["person", "dog"]
    x, y = fig.axes[0].patches[0].get_xy()
    assert (x, y) == (9.5, 19.5) and fig.axes[0].patches[0].get_width() == 140


@pytest.mark.parametrize("images, shape", [
    (np.zeros((2, 1, 32, 32), np.float32) - 0.4, (32, 32)),          # normalised CHW batch
    (np.zeros((2, 3, 32, 32), np.float32), (32, 32, 3)),              # CHW RGB in [0, 1]
    (np.zeros((2, 32, 32, 3), np.uint8), (32, 32, 3)),                 # HWC batch
    (np.zeros((2, 32, 32, 1), np.uint8), (32, 32)),                    # HWC grey
    ([np.zeros((1, 32, 32)), np.zeros((32, 32, 4))], (32, 32)),        # list of CHW / RGBA
    ([Image.new("L", (32, 32)), Image.new("P", (32, 32))], (32, 32)),  # PIL images
    (np.zeros((32, 32), np.uint16), (32, 32)),                         # one 2-D image
], ids=["chw-normalised", "chw-rgb", "nhwc", "nhwc-grey", "list", "pil", "2d"])
def test_accepted_image_forms(images, shape):
    viewer = ImageViewer(images)
    assert viewer.images[0].shape == shape
    for img in viewer.images:
        assert img.dtype == np.float32 and 0.0 <= img.min() and img.max() <= 1.0


def test_floats_outside_the_unit_range_are_stretched_per_image():
    img = np.array([[-2.0, 0.0], [1.0, 2.0]], np.float32)
    shown = ImageViewer([img, img * 0 + 0.5]).images
    assert shown[0].tolist() == [[0.0, 0.5], [0.75, 1.0]]
    assert shown[1].tolist() == [[0.5, 0.5], [0.5, 0.5]]  # already in [0, 1]: as it is


def test_large_sets_are_truncated_with_a_note(tmp_path):
    images = np.zeros((100, 8, 8), np.uint8)
    fig = show_images(images, labels=list(range(100)), path=tmp_path / "g.png", max_images=12, title="test")
    assert len(fig.axes) == 12 and titles(fig)[-1] == "label: 11"
    assert "first 12 of 100 images" in fig._suptitle.get_text()  # noqa: SLF001
    assert ImageViewer(images).truncated and len(ImageViewer(images).images) == 64


@pytest.mark.parametrize("kwargs, words", [
    ({"images": np.zeros((2, 2, 8, 8, 3))}, "shape (2, 2, 8, 8, 3)"),
    ({"images": [np.zeros((2, 8, 8, 3))]}, "image 0 has shape"),
    ({"images": [np.zeros((8, 8, 2))]}, "image 0 has shape"),
    ({"images": [np.zeros((0, 8))]}, "image 0 has shape"),
    ({"images": [np.full((8, 8), np.nan)]}, "NaN"),
    ({"images": [np.array([["a"]])]}, "dtype"),
    ({"images": 7}, "int"),
    ({"images": np.zeros((3, 8, 8)), "labels": [1, 2]}, "labels has 2 items but there are 3 images"),
    ({"images": np.zeros((3, 8, 8)), "predictions": 5}, "predictions must be a sequence"),
    ({"images": np.zeros((1, 8, 8)), "boxes": [[(5, 5, 1, 9)]]}, "box 0 of image 0"),
    ({"images": np.zeros((1, 8, 8)), "boxes": [[(1, 2, 3)]]}, "box 0 of image 0"),
    ({"images": np.zeros((1, 8, 8)), "boxes": [[("a", 2, 3, 4)]]}, "box 0 of image 0"),
    ({"images": np.zeros((1, 8, 8)), "max_images": 0}, "max_images"),
    ({"images": np.zeros((1, 8, 8)), "max_images": 10_000}, "max_images"),
    ({"images": np.zeros((1, 8, 8)), "columns": 0}, "columns"),
])
def test_bad_inputs_raise_input_shape_errors(kwargs, words):
    with pytest.raises(InputShapeError, match="Fix") as info:
        ImageViewer(**kwargs)
    assert words in str(info.value)


def test_failed_saves_leave_nothing_behind(tmp_path, digits, monkeypatch):
    with pytest.raises(ImageSaveError, match="does not exist. Fix") as info:
        show_images(digits, path=tmp_path / "missing" / "grid.png")
    assert isinstance(info.value, OSError) and isinstance(info.value, TinyMSError)
    with pytest.raises(ImageSaveError, match=r"end in \.png"):
        show_images(digits, path=tmp_path / "grid.jpg")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageSaveError, match="cannot write"):
        show_images(digits, path=tmp_path / "folder.png")
    assert os.listdir(tmp_path) == ["folder.png"] and not os.listdir(tmp_path / "folder.png")

    old = tmp_path / "old.png"
    old.write_bytes(b"previous grid")
    from matplotlib.figure import Figure

    def broken(self, f, **kwargs):
        f.write(b"half a png")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(ImageSaveError, match="No space left on device"):
        show_images(digits, path=old)
    assert old.read_bytes() == b"previous grid"
    assert sorted(os.listdir(tmp_path)) == ["folder.png", "old.png"]


def test_show_uses_pyplot_and_returns_the_figure(digits, monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    fig = show_images(digits[:3], labels=[1, 2, 3])
    try:
        assert shown == [True] and titles(fig) == ["label: 1", "label: 2", "label: 3"]
        assert plt.fignum_exists(fig.number)
    finally:
        plt.close(fig)


def test_saving_neither_loads_pyplot_nor_changes_the_backend(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        import tinyms.vision.viewer as viewer
        assert "matplotlib" not in sys.modules and "mindspore" not in sys.modules, "heavy import"
        import matplotlib
        matplotlib.use("svg")
        viewer.show_images(np.zeros((2, 8, 8), np.uint8), labels=[0, 1], path={str(tmp_path / 'g.png')!r})
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        assert "matplotlib.pyplot" not in sys.modules
        assert "mindspore" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert (tmp_path / "g.png").is_file()


def test_tinyms_03_form_one_image_and_its_label():
    chw = np.random.default_rng(0).uniform(0.0, 1.0, size=(3, 224, 224))
    viewer = ImageViewer(chw, 'cat')
    assert viewer.image is chw and viewer.label == 'cat'
    assert len(viewer.images) == 1 and viewer.images[0].shape[:2] == (224, 224)
    assert [ax.get_title() for ax in viewer.figure().axes if ax.get_title()] == ["label: cat"]
