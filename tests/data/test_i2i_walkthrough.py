"""The image-to-image guide's walkthrough (docs/guides/image-to-image.md), run as written against a 127.0.0.1 mirror serving a tiny
horse2zebra.zip in the published layout (the registry's digest patched to it): the Python block (32x32 images
and one epoch instead of 128 and five), then its commands through `tinyms train / eval / predict` (the `tinyms
serve` line: its servable answers through tinyms.serving.Predictor instead)."""

import functools
import json
import os
import re
import shlex

import numpy as np
from PIL import Image
from test_gan_data import serve, zip_bytes

from tinyms.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "tests/data/test_i2i_walkthrough.py runs this block"
COUNTS = {"trainA": 3, "trainB": 2, "testA": 2, "testB": 3}


def _picture(seed, colour):
    rng = np.random.default_rng(seed)
    image = np.zeros((40, 40, 3), np.uint8) + np.asarray(colour, np.uint8) // 3
    y, x = rng.integers(0, 28, 2)
    image[y:y + 12, x:x + 12] = colour
    return image


def _png(pixels):
    import io

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _horse2zebra_zip():
    files = {"horse2zebra/": b""}
    for folder, count in COUNTS.items():
        colour = (160, 110, 60) if folder.endswith("A") else (230, 230, 230)
        for i in range(count):
            files[f"horse2zebra/{folder}/{i}.png"] = _png(_picture(len(files), colour))
    return zip_bytes(files)


def _blocks():
    """The guide's Python block and its bash commands (comments dropped), split into words."""
    with open(os.path.join(ROOT, "docs", "guides", "image-to-image.md"), encoding="utf-8") as f:   # docs/guides/image-to-image.md
        section = f.read().split(MARKER, 1)[1]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return python, [shlex.split(line.split("#")[0]) for line in bash.splitlines() if line.split("#")[0].strip()]


def test_the_guide_image_to_image_walkthrough_runs_against_a_local_mirror(server, monkeypatch, tmp_path, capsys,
                                                                           released):
    serve(monkeypatch, server, "horse2zebra", _horse2zebra_zip())
    monkeypatch.chdir(tmp_path)
    # the walkthrough's CycleGAN, at 32x32 and narrow: the default widths (ngf 64, 9 blocks) compile to graphs that
    # took this pytest process 3.6 GiB higher (the suite must stay under 7 GiB); the recorded build arguments carry
    # the small sizes, so the servable and `tinyms predict` rebuild the same network
    from tinyms.model import registry

    entry = registry._entry("cycle_gan")
    monkeypatch.setattr(entry, "build", functools.partial(entry.build, ngf=8, ndf=8, n_blocks=1))
    python, commands = _blocks()
    assert "size=128" in python and "image_size=128" in python and "model.train(5," in python
    small = python.replace("size=128", "size=32").replace("model.train(5,", "model.train(1,")
    names = {}
    exec(compile(small, "docs/guides/image-to-image.md", "exec"), names)  # noqa: S102
    out = capsys.readouterr().out
    assert "cycle_error_a" in out and "cycle_error_b" in out
    assert names["model"].eval_samples == max(COUNTS["testA"], COUNTS["testB"])   # every test row
    with Image.open("zebra.png") as zebra:
        assert zebra.size == (32, 32) and np.asarray(zebra).std() > 0
    with open(os.path.join("serving", "servable.json"), encoding="utf-8") as f:
        assert json.load(f)[0]["model"]["task"] == "image_to_image"
    assert server.paths() == ["/horse2zebra/horse2zebra.zip"]

    assert [c[:2] for c in commands] == [["tinyms", "train"], ["tinyms", "eval"], ["tinyms", "predict"],
                                         ["tinyms", "serve"]]
    train = commands[0][1:]
    train[train.index("--image-size") + 1] = "32"
    train[train.index("--epochs") + 1] = "1"
    assert main(train) == 0
    said = capsys.readouterr().out
    assert "Training cycle_gan on horse2zebra" in said
    assert os.path.isfile(os.path.join("runs", "h2z", "samples", "samples_epoch_001.png"))
    assert main(commands[1][1:]) == 0
    assert f"{COUNTS['testA']} test images of A and {COUNTS['testB']} of B, each once" in capsys.readouterr().out
    Image.fromarray(_picture(99, (160, 110, 60))).save("horse.jpg")
    assert main(commands[2][1:]) == 0
    capsys.readouterr()
    with Image.open("horse_translated.png") as translated:
        written = np.asarray(translated.convert("RGB"))
    assert written.ndim == 3 and written.std() > 0
    from tinyms.serving import Predictor

    with Predictor(commands[3][2]) as predict:                 # what `tinyms serve` runs
        picture = predict("horse.jpg")
    assert predict.info["task"] == "image_to_image"
    assert np.abs(picture.array.astype(int) - written.astype(int)).max() <= 1   # the picture tinyms predict wrote
    assert len(server.paths()) == 2   # tinyms train downloads into the TinyMS cache, not ./horse2zebra
