"""The object-detection guide's walkthrough (docs/guides/detection.md), run as written (one epoch of 64 photos instead of twelve of 480), and
`tinyms quickstart --task detection` end to end on the bundled sample."""

import os
import subprocess
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _guide_block(marker):
    text = open(os.path.join(ROOT, "docs", "guides", "detection.md"), encoding="utf-8").read()   # docs/guides/detection.md
    after = text[text.index(marker):]
    start = after.index("```python\n") + len("```python\n")
    return after[start:after.index("```", start)]


def test_the_guide_detection_walkthrough_runs_and_scores_every_test_photo(tmp_path, monkeypatch, capsys):
    import tinyms.data

    real = tinyms.data.detection_dataset

    def fewer_training_photos(path, usage="train", **kwargs):  # 64 of the 480: the test times the code, not SSD
        if usage == "train":
            kwargs["num_samples"] = 64
        return real(path, usage=usage, **kwargs)

    monkeypatch.setattr(tinyms.data, "detection_dataset", fewer_training_photos)
    monkeypatch.chdir(tmp_path)
    code = _guide_block("tests/test_walkthrough_detection.py runs this block")
    assert "model.train(30," in code
    code = code.replace("model.train(30,", "model.train(1,")   # the one change: a short run
    names = {}
    exec(compile(code, "docs/guides/detection.md", "exec"), names)  # noqa: S102 - the guide's own code
    out = capsys.readouterr().out
    assert "mAP50" in out and "mAP50_95" in out and "voc07_mAP50" in out
    assert names["model"].eval_samples == 120                       # the sample's whole test split
    assert isinstance(names["found"], list)
    for found in names["found"]:
        assert set(found) == {"box", "label", "label_id", "score"} and found["label"] in names["transform"].labels
    assert Image.open("boxes.png").format == "PNG"


def test_quickstart_detection_trains_evaluates_draws_and_writes_a_servable(tmp_path, monkeypatch, capsys):
    import json

    from tinyms import _quickstart_detection
    from tinyms.cli import main

    monkeypatch.setattr(_quickstart_detection, "IMAGE_SIZE", 96)   # a quick run; the command uses 128
    assert main(["quickstart", "--task", "detection", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Test mAP50" in out and "over 120 images" in out and "Boxes drawn on 8 test photos" in out
    assert Image.open(tmp_path / "detections.png").format == "PNG"
    with open(tmp_path / "servable" / "servable.json", encoding="utf-8") as f:
        servable = json.load(f)
    text = json.dumps(servable)
    assert '"detection"' in text and "circle" in text
