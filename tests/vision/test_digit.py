"""frame_digit: photos of digits on paper framed like MNIST digits; MNIST images left untouched.

The recognition test trains LeNet5 on MNIST and reads digits 0-9 rendered dark on light paper,
off-centre, at three sizes, on grey noisy paper, blurred and JPEG-compressed, and under uneven
lighting. Measured with DejaVu Sans on this machine (LeNet5, 1 epoch over the 60,000 MNIST
training images, 98.3% on the MNIST test set), digits recognised out of 10 per condition:

    condition              plain resize   frame_digit
    h30  on 100x100              1             10
    h80  on 300x200              1             10
    h200 on 600x400              1             10
    h30  on 600x400              1             10
    grey paper + noise           1             10
    blur + JPEG q50              3             10
    all + uneven light           2             10
    total                   10 / 70        70 / 70

"Plain resize" is what mnist_transform did before it framed photos (bilinear resize to 32x32,
normalise). Other fonts, framed (plain): DejaVu Sans ExtraLight, a thin pen, 70/70 (7/70);
DejaVu Sans Bold 68/70 (8/70); DejaVu Serif 68/70 (9/70); Liberation Sans 64/70 (9/70), its
'6' reads as 0; Pillow's built-in font 54/70 (8/70), its flagged '1' reads as 7 and its '6'
as 0: font shapes that MNIST handwriting lacks.
"""

import io
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tinyms.data import sample_dataset
from tinyms.errors import InputShapeError
from tinyms.vision import _digit
from tinyms.vision._digit import frame_digit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL_MNIST = os.path.join(REPO, "..", "shared", "datasets", "mnist")
FONTS = "/usr/share/fonts/truetype/dejavu"
SANS = os.path.join(FONTS, "DejaVuSans.ttf")
THIN = os.path.join(FONTS, "DejaVuSans-ExtraLight.ttf")

CONDITIONS = {
    "h30 on 100x100": dict(height=30, canvas=(100, 100), place=(0.2, 0.7)),
    "h80 on 300x200": dict(height=80, canvas=(300, 200), place=(0.85, 0.15)),
    "h200 on 600x400": dict(height=200, canvas=(600, 400), place=(0.3, 0.5)),
    "h30 on 600x400": dict(height=30, canvas=(600, 400), place=(0.9, 0.1)),
    "grey paper + noise": dict(height=80, canvas=(240, 240), paper=170, ink=60, noise=10, place=(0.1, 0.9)),
    "blur + jpeg": dict(height=60, canvas=(200, 160), blur=1.2, jpeg=50, place=(0.6, 0.4)),
    "all + uneven light": dict(height=120, canvas=(400, 300), paper=200, ink=40, noise=8, blur=1.0,
                               jpeg=60, shade=0.35, place=(0.7, 0.3)),
}


def render(digit, height, canvas, place=(0.5, 0.5), paper=235, ink=25, noise=0.0, blur=0.0,
           jpeg=None, shade=0.0, font=SANS, seed=0):
    """A photo-like grey uint8 (H, W) image of ``digit`` written dark on light paper.

    ``height`` is the glyph's height in pixels, ``place`` its position as fractions of the free
    room, ``shade`` dims the paper linearly from left to right (uneven light).
    """
    width, tall = canvas
    face = ImageFont.truetype(font, int(height * 1.35)) if os.path.exists(font) else \
        ImageFont.load_default(int(height * 1.35))
    page = Image.new("L", canvas, paper)
    draw = ImageDraw.Draw(page)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=face)
    x = int(place[0] * (width - (right - left))) - left
    y = int(place[1] * (tall - (bottom - top))) - top
    draw.text((x, y), str(digit), fill=ink, font=face)
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(page, np.float32) * (1.0 - shade * np.linspace(0.0, 1.0, width))[None, :]
    if noise:
        pixels = pixels + np.random.default_rng(seed).normal(0.0, noise, pixels.shape)
    page = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    if jpeg:
        buffer = io.BytesIO()
        page.save(buffer, "JPEG", quality=jpeg)
        page = Image.open(io.BytesIO(buffer.getvalue()))
    return np.asarray(page.convert("L"))


def read_idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28, 1)


# --------------------------------------------------------------------------- framing, no MindSpore
@pytest.mark.parametrize("split", ["train/train-images-idx3-ubyte", "test/t10k-images-idx3-ubyte"])
def test_every_sample_mnist_image_is_returned_unchanged(split):
    images = read_idx_images(os.path.join(sample_dataset("mnist"), split))
    changed = [i for i, img in enumerate(images) if not np.array_equal(frame_digit(img), img)]
    assert not changed, f"{len(changed)} of {len(images)} MNIST images changed, first {changed[:5]}"
    flat = frame_digit(images[0][:, :, 0])  # (H, W) input: same bytes, channel axis added
    assert flat.shape == (28, 28, 1) and flat.tobytes() == images[0].tobytes()


def _spy(monkeypatch, *names):
    """Record the shape of the first argument of each named step of frame_digit, in call order."""
    calls = []
    for name in names:
        original = getattr(_digit, name)

        def spy(arr, *args, _name=name, _original=original, **kwargs):
            calls.append((_name, np.shape(arr)))
            return _original(arr, *args, **kwargs)
        monkeypatch.setattr(_digit, name, spy)
    return calls


def test_passthrough_does_no_framing_work_and_returns_a_copy(monkeypatch):
    # speed: benchmarks/bench_frame_digit.py; here what makes it cheap: no framing step runs
    images = read_idx_images(os.path.join(sample_dataset("mnist"), "test/t10k-images-idx3-ubyte"))[:200]
    calls = _spy(monkeypatch, "_reduce", "_ink_up", "_soft_ink", "_place")
    for img in images:
        out = frame_digit(img)
        assert out.tobytes() == img.tobytes()
        out[0, 0, 0] = 1
        assert img[0, 0, 0] == 0  # the caller's array is never written
    assert calls == []
    photo = render(3, height=40, canvas=(120, 90))
    frame_digit(photo)  # a photo goes through every step, so the spies do see work when there is some
    assert [name for name, _ in calls] == ["_reduce", "_ink_up", "_soft_ink", "_place"]


def _box(out):
    ys, xs = np.nonzero(out[:, :, 0])
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def _centre(out):
    plane = out[:, :, 0].astype(np.float64)
    return ((plane.sum(1) * np.arange(28)).sum() / plane.sum(),
            (plane.sum(0) * np.arange(28)).sum() / plane.sum())


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_photo_is_framed_like_mnist(name):
    out = frame_digit(render(2, **CONDITIONS[name]))
    assert out.shape == (28, 28, 1) and out.dtype == np.uint8
    top, bottom, left, right = _box(out)
    assert 19 <= max(bottom - top, right - left) <= 21  # longer side 20 (+ anti-aliased edge)
    assert out.max() == 255
    assert not out[0].any() and not out[-1].any() and not out[:, 0].any() and not out[:, -1].any()
    cy, cx = _centre(out)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    assert np.array_equal(frame_digit(out), out)  # framing twice changes nothing


def test_dark_paper_and_light_paper_give_the_same_digit():
    dark_on_light = render(4, height=80, canvas=(200, 200), place=(0.3, 0.6))
    light_on_dark = 255 - dark_on_light
    a, b = frame_digit(dark_on_light).astype(int), frame_digit(light_on_dark).astype(int)
    assert np.abs(a - b).max() <= 2


def test_wide_digit_keeps_its_aspect_ratio():
    page = np.full((100, 300), 240, np.uint8)
    page[40:60, 30:270] = 10  # a 240 x 20 bar
    top, bottom, left, right = _box(frame_digit(page))
    assert right - left == 20 and 1 <= bottom - top <= 3


def test_specks_and_paper_edges_are_ignored():
    clean = render(7, height=80, canvas=(300, 300), place=(0.5, 0.5))
    dirty = clean.copy()
    rng = np.random.default_rng(1)
    for y, x in rng.integers(5, 295, (40, 2)):
        dirty[y:y + 2, x:x + 2] = 30  # 2x2 dots of dust
    dirty[rng.random(dirty.shape) < 0.002] = 0  # salt and pepper
    a, b = frame_digit(clean).astype(int), frame_digit(dirty).astype(int)
    assert np.abs(a - b).mean() < 3


def test_uneven_lighting_is_flattened():
    even = frame_digit(render(5, height=100, canvas=(400, 300), place=(0.7, 0.4)))
    uneven = frame_digit(render(5, height=100, canvas=(400, 300), place=(0.7, 0.4), shade=0.6))
    assert _box(even) == _box(uneven)
    assert np.abs(even.astype(int) - uneven.astype(int)).mean() < 4


@pytest.mark.parametrize("img", [np.zeros((28, 28), np.uint8), np.full((28, 28, 1), 255, np.uint8),
                                 np.full((300, 200), 187, np.uint8),
                                 np.random.default_rng(0).normal(128, 3, (64, 64)).astype(np.uint8),
                                 np.zeros((1, 1), np.uint8), np.full((2, 3), 9, np.uint8)],
                         ids=["black", "white", "grey paper", "faint noise", "1x1", "2x3"])
def test_blank_images_give_a_black_field(img):
    out = frame_digit(img)
    assert out.shape == (28, 28, 1) and out.dtype == np.uint8 and not out.any()


def test_tiny_images():
    img = np.full((8, 6), 255, np.uint8)
    img[1:7, 2:4] = 0
    out = frame_digit(img)
    top, bottom, _, _ = _box(out)
    assert out.max() == 255 and 19 <= bottom - top <= 21
    for shape in [(1, 5), (3, 3), (5, 40)]:
        assert frame_digit(np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)).shape == (28, 28, 1)


def test_large_photo_is_reduced_first_and_deterministic(monkeypatch):
    # bounded work: only the reduction sees the 4000x3000 photo, every later step 512 pixels at most
    # (the time it takes is measured in benchmarks/bench_frame_digit.py)
    photo = render(3, height=1500, canvas=(4000, 3000), place=(0.4, 0.6), noise=8)
    calls = _spy(monkeypatch, "_reduce", "_ink_up", "_soft_ink", "_shading", "_keep_blobs", "_place")
    out = frame_digit(photo)
    assert calls[0] == ("_reduce", (3000, 4000))
    assert {name for name, _ in calls[1:]} == {"_ink_up", "_shading", "_soft_ink", "_keep_blobs", "_place"}
    assert max(max(shape) for _, shape in calls[1:]) == 512
    assert np.array_equal(out, frame_digit(photo))
    small = frame_digit(np.asarray(Image.fromarray(photo).resize((400, 300), Image.BOX)))
    assert np.abs(out.astype(int) - small.astype(int)).mean() < 4


@pytest.mark.parametrize("img", [np.zeros((28, 28, 3), np.uint8), np.zeros((28, 28), np.float32),
                                 np.zeros((0, 5), np.uint8), np.zeros((2, 28, 28), np.uint8),
                                 np.zeros(28, np.uint8)],
                         ids=["rgb", "float", "empty", "batch", "1-d"])
def test_bad_input_raises_a_typed_error(img):
    with pytest.raises(InputShapeError, match="uint8 grey image.*Fix"):
        frame_digit(img)


def test_module_never_imports_mindspore():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from tinyms.vision._digit import frame_digit
        frame_digit(np.full((50, 40), 200, np.uint8))
        assert "mindspore" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --------------------------------------------------------------------------- recognition by LeNet5
def _mnist_folder(tmp):
    """A folder with the four MNIST files: the full set if present, else the bundled sample."""
    if os.path.isdir(FULL_MNIST) and len(os.listdir(FULL_MNIST)) >= 4:
        for name in os.listdir(FULL_MNIST):  # links: the .gz cache is written here, not there
            os.symlink(os.path.abspath(os.path.join(FULL_MNIST, name)), os.path.join(tmp, name))
        return tmp, 1
    sample = sample_dataset("mnist")
    for split in ("train", "test"):
        for name in os.listdir(os.path.join(sample, split)):
            shutil.copy(os.path.join(sample, split, name), tmp)
    return tmp, 8  # 6,000 images: more epochs


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """LeNet5 trained on MNIST in GRAPH mode (about 20 s on the full set here)."""
    if not os.path.exists(SANS):
        pytest.skip(f"the recognition numbers were measured with DejaVu Sans, not found at {SANS} "
                    f"(apt-get install -y fonts-dejavu-core fonts-dejavu-extra); provided in CI by .ci/run")
    import tinyms as ts
    from tinyms.data import MnistDataset
    from tinyms.model import Model, lenet5
    from tinyms.vision import mnist_transform

    folder, epochs = _mnist_folder(str(tmp_path_factory.mktemp("mnist")))
    ts.context.set_seed(0)
    train = mnist_transform.apply_ds(MnistDataset(folder, usage="train"), batch_size=64)
    test = mnist_transform.apply_ds(MnistDataset(folder, usage="test"), is_training=False)
    model = Model(lenet5(class_num=10))
    model.compile(loss_fn="cross_entropy", optimizer="adam", metrics=["accuracy"], learning_rate=0.002)
    model.train(epochs, train, verbose=0)
    accuracy = model.eval(test)["accuracy"]
    assert accuracy > 0.95, f"LeNet5 reached only {accuracy:.3f} on the MNIST test images"
    return model.network


def _plain(img):
    """What mnist_transform did before it framed photos: bilinear resize to 32x32, normalise."""
    from mindspore.dataset.vision import Inter, Resize

    from tinyms.data.info import dataset_info
    info = dataset_info("mnist")
    x = Resize((32, 32), Inter.LINEAR)(img[:, :, None]).astype(np.float32) / 255.0
    return ((x - info.mean[0]) / info.std[0]).transpose(2, 0, 1)


def _recognised(net, inputs):
    from tinyms import Tensor
    logits = net(Tensor(np.stack(inputs).astype(np.float32))).asnumpy()
    return int((logits.argmax(axis=1) == np.arange(10)).sum())


@pytest.mark.parametrize("font", [SANS, THIN], ids=["sans", "thin pen"])
def test_lenet5_reads_photos_once_framed(lenet, font):
    from tinyms.vision import mnist_transform

    if not os.path.exists(font):  # render() would fall back to Pillow's font, which the numbers are not for
        pytest.skip(f"the recognition numbers were measured with {os.path.basename(font)}, not found at {font} "
                    f"(apt-get install -y fonts-dejavu-core fonts-dejavu-extra); provided in CI by .ci/run")

    framed, plain = {}, {}
    for name, condition in CONDITIONS.items():
        photos = [render(d, font=font, seed=d, **condition) for d in range(10)]
        framed[name] = _recognised(lenet, [mnist_transform(frame_digit(p)) for p in photos])
        plain[name] = _recognised(lenet, [_plain(p) for p in photos])
    report = ", ".join(f"{n}: {framed[n]}/10 (plain {plain[n]}/10)" for n in CONDITIONS)
    assert min(framed.values()) >= 9, report  # at least 9 of 10 in every condition
    assert sum(plain.values()) <= 0.3 * 10 * len(CONDITIONS), report  # measured 10/70 and 7/70
