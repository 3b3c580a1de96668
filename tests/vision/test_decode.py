"""Photos decode to the same upright pixels on every path: one image, a dataset of files, the server."""

import io

import numpy as np
import pytest
from PIL import Image

from tinyms.data import ImageFolderDataset
from tinyms.serving._preprocess import InputError, recipe_for
from tinyms.vision import ImageFolderTransform, mnist_transform
from tinyms.vision._decode import BadImage, ImageTooLarge, decode


def _upright():
    """A 40x60 (H x W) picture that is clearly not symmetric: a bright block top-left."""
    arr = np.full((40, 60, 3), 40, np.uint8)
    arr[2:12, 3:20] = (250, 200, 10)
    return arr


def _jpeg_with_orientation(orientation, quality=95):
    """A camera-style JPEG: pixels stored rotated, with the EXIF tag telling viewers to undo it."""
    stored = {1: lambda a: a, 3: lambda a: a[::-1, ::-1], 6: lambda a: np.rot90(a, 1),
              8: lambda a: np.rot90(a, -1)}[orientation](_upright())
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(stored)).save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied_so_photos_stand_upright(orientation):
    got = decode(_jpeg_with_orientation(orientation), 3)
    assert got.shape == (40, 60, 3)
    assert np.abs(got.astype(int) - _upright()).mean() < 4  # JPEG noise only
    assert got[5, 10, 0] > 200 and got[35, 55, 0] < 80     # the block is top-left


def test_one_image_a_dataset_of_files_and_the_server_agree_on_rotated_photos(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
    files = {}
    for i, orientation in enumerate((1, 6, 8, 3)):
        data = _jpeg_with_orientation(orientation)
        path = tmp_path / "ab"[i % 2] / f"{i}.jpg"
        path.write_bytes(data)
        files[str(path)] = data
    transform = ImageFolderTransform.for_folder(tmp_path, size=32)
    dataset = ImageFolderDataset(str(tmp_path), shuffle=False)
    rows = list(transform.apply_ds(dataset, batch_size=1, is_training=False).create_dict_iterator(output_numpy=True))
    assert len(rows) == 4
    serving = recipe_for(None, (3, 32, 32), recipe=transform.recipe.to_dict())
    ordered = sorted(files, key=lambda p: (p.split("/")[-2], p))  # the reader's order: class, then name
    for path, row in zip(ordered, rows):
        single = transform(path)
        assert np.array_equal(row["image"][0], single), path
        assert np.array_equal(transform(files[path]), single)
        assert np.abs(serving(files[path]) - single).max() <= 1e-5


def test_a_grey_preset_reads_colour_files_of_a_dataset_as_grey(tmp_path):
    (tmp_path / "seven").mkdir()
    img = np.zeros((28, 28, 3), np.uint8)
    img[5:23, 12:16] = (255, 255, 255)
    Image.fromarray(img).save(tmp_path / "seven" / "0.png")
    rows = list(mnist_transform.apply_ds(ImageFolderDataset(str(tmp_path)), is_training=False)
                .create_dict_iterator(output_numpy=True))
    assert rows[0]["image"].shape == (1, 1, 32, 32)
    assert np.array_equal(rows[0]["image"][0], mnist_transform(str(tmp_path / "seven" / "0.png")))


def test_bad_and_oversized_images_are_named():
    with pytest.raises(BadImage, match="not an image format"):
        decode(b"hello", 3)
    buf = io.BytesIO()
    Image.new("L", (300, 200)).save(buf, "PNG")
    with pytest.raises(ImageTooLarge, match="300x200 pixels, more than the limit of 10,000"):
        decode(buf.getvalue(), 1, max_pixels=10_000)
    truncated = _jpeg_with_orientation(1)[:200]
    with pytest.raises(BadImage):
        decode(truncated, 3)
    recipe = recipe_for("mnist_transform", (1, 32, 32), max_pixels=10_000)
    with pytest.raises(InputError) as err:
        recipe(buf.getvalue())
    assert err.value.status == 413
