"""Integrity of served weights: a file that changed after write_servable is refused, never served."""

import hashlib
import json
import os
import shutil

import pytest
import requests

from tinyms.serving import Server, write_servable


def _flip_bit(path, offset_fraction=0.5, bit=3):
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(int(size * offset_fraction))
        byte = f.read(1)[0]
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte ^ (1 << bit)]))


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_servable_records_the_sha256_of_every_file_under_its_role(tmp_path, lenet):
    entry = write_servable(str(tmp_path), "digits", lenet, formats=("ckpt", "onnx", "mindir"))
    folder = tmp_path / "digits"
    digests = {fmt: _sha256(folder / name) for fmt, name in entry["model"]["files"].items()}
    assert sorted(os.listdir(folder)) == ["digits.ckpt", "digits.mindir", "digits.onnx"]
    assert entry["model"]["sha256"] == digests and sorted(digests) == ["ckpt", "mindir", "onnx"]
    assert json.loads((tmp_path / "servable.json").read_text())[0]["model"]["sha256"] == digests


def _entries(folder):
    return json.loads((folder / "servable.json").read_text())


def _save(folder, entries):
    (folder / "servable.json").write_text(json.dumps(entries))


def test_renamed_or_copied_weights_keep_their_check(tmp_path, lenet):
    from tinyms.serving._config import load_servables

    write_servable(str(tmp_path), "digits", lenet, formats=("onnx", "ckpt"))
    digest = _sha256(tmp_path / "digits" / "digits.onnx")
    (entry,) = _entries(tmp_path)
    # renamed: the file and the entry's file name changed together
    os.rename(tmp_path / "digits" / "digits.onnx", tmp_path / "digits" / "digits-v2.onnx")
    entry["model"]["files"]["onnx"] = "digits-v2.onnx"
    # copied: the folder under another servable name, its file named after it (the default name)
    shutil.copytree(tmp_path / "digits", tmp_path / "copy")
    os.rename(tmp_path / "copy" / "digits-v2.onnx", tmp_path / "copy" / "copy.onnx")
    copy = json.loads(json.dumps(entry))
    copy["name"] = "copy"
    del copy["model"]["files"]
    # an entry of an older TinyMS, whose digests are keyed by the file name written
    shutil.copytree(tmp_path / "digits", tmp_path / "legacy")
    legacy = json.loads(json.dumps(entry))
    legacy["name"] = "legacy"
    legacy["model"]["sha256"] = {"digits.onnx": digest, "digits.ckpt": entry["model"]["sha256"]["ckpt"]}
    _save(tmp_path, [entry, copy, legacy])
    specs, problems = load_servables(str(tmp_path))
    assert problems == [] and [s.sha256 for s in specs] == [digest] * 3
    assert all(s.unchecked == () for s in specs)
    for spec in specs:
        assert spec.read_weights()  # the same bytes: they pass
        _flip_bit(spec.path)
        with pytest.raises(ValueError, match="does not match the SHA-256 recorded in servable.json"):
            spec.read_weights()


def test_files_without_a_recorded_digest_are_named_unchecked(tmp_path, lenet):
    from tinyms.serving._config import load_servables

    write_servable(str(tmp_path), "digits", lenet, formats=("onnx", "ckpt"))
    (entry,) = _entries(tmp_path)
    del entry["model"]["sha256"]["ckpt"]
    _save(tmp_path, [entry])
    (spec,), _ = load_servables(str(tmp_path))
    assert spec.sha256 is not None and spec.unchecked == ("digits/digits.ckpt",)
    del entry["model"]["sha256"]
    _save(tmp_path, [entry])
    (spec,), _ = load_servables(str(tmp_path))
    assert spec.sha256 is None and spec.unchecked == ("digits/digits.onnx", "digits/digits.ckpt")


@pytest.fixture(scope="module")
def tampered_dir(tmp_path_factory, lenet):
    path = tmp_path_factory.mktemp("tampered")
    write_servable(str(path), "good", lenet, formats=("onnx",))
    write_servable(str(path), "onnx_flipped", lenet, formats=("onnx",))
    write_servable(str(path), "ckpt_flipped", lenet, formats=("ckpt",))
    write_servable(str(path), "ckpt_flipped_unrecorded", lenet, formats=("ckpt",))
    write_servable(str(path), "onnx_renamed_flipped", lenet, formats=("onnx",))
    write_servable(str(path), "onnx_unrecorded", lenet, formats=("onnx",))
    _flip_bit(path / "onnx_flipped" / "onnx_flipped.onnx")
    _flip_bit(path / "ckpt_flipped" / "ckpt_flipped.ckpt")
    _flip_bit(path / "ckpt_flipped_unrecorded" / "ckpt_flipped_unrecorded.ckpt")
    renamed = path / "onnx_renamed_flipped" / "renamed.onnx"
    os.rename(path / "onnx_renamed_flipped" / "onnx_renamed_flipped.onnx", renamed)
    _flip_bit(renamed)
    entries = {e["name"]: e for e in json.loads((path / "servable.json").read_text())}
    # no digest recorded: the checkpoint's own CRC must catch it
    del entries["ckpt_flipped_unrecorded"]["model"]["sha256"]
    entries["onnx_renamed_flipped"]["model"]["files"] = {"onnx": "renamed.onnx"}
    del entries["onnx_unrecorded"]["model"]["sha256"]  # a hand-written entry: served, listed as unchecked
    (path / "servable.json").write_text(json.dumps(list(entries.values())))
    return str(path)


def test_a_flipped_bit_in_served_weights_is_refused(tampered_dir, digit_png):
    with Server(port=0, serving_path=tampered_dir) as server:
        assert set(server.unavailable) == {"onnx_flipped", "ckpt_flipped", "ckpt_flipped_unrecorded",
                                           "onnx_renamed_flipped"}
        listing = requests.get(server.url + "/servables", timeout=10)
        assert tampered_dir not in listing.text
        by_name = {s["name"]: s for s in listing.json()["servables"]}
        assert by_name["good"]["ready"] is True and len(by_name["good"]["model"]["sha256"]) == 64
        assert by_name["good"]["model"]["unchecked"] == []
        # served, and the listing says its file is not checked
        assert by_name["onnx_unrecorded"]["ready"] is True and by_name["onnx_unrecorded"]["model"]["sha256"] is None
        assert by_name["onnx_unrecorded"]["model"]["unchecked"] == ["onnx_unrecorded/onnx_unrecorded.onnx"]
        for name in ("onnx_flipped", "ckpt_flipped"):
            assert by_name[name]["ready"] is False
            assert f"{name}/{name}.{name[:4]} does not match the SHA-256 recorded in servable.json" \
                in by_name[name]["error"]
        assert "onnx_renamed_flipped/renamed.onnx does not match the SHA-256 recorded" \
            in by_name["onnx_renamed_flipped"]["error"]
        assert by_name["ckpt_flipped_unrecorded"]["ready"] is False
        assert "CRC-32 check failed" in by_name["ckpt_flipped_unrecorded"]["error"]
        for name in ("onnx_flipped", "ckpt_flipped", "ckpt_flipped_unrecorded"):
            ready = requests.get(f"{server.url}/v2/models/{name}/ready", timeout=10)
            assert ready.status_code == 503 and ready.headers["Content-Type"] == "application/json"
            answer = requests.post(f"{server.url}/servables/{name}", data=digit_png, timeout=30)
            assert answer.status_code == 503 and "is not available" in answer.json()["error"]
        assert requests.post(server.url + "/servables/good", data=digit_png, timeout=30).status_code == 200
        assert requests.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
    with open(server.log_path) as f:  # the server log names the file and the reason in full
        log = f.read()
    assert os.path.join(tampered_dir, "onnx_flipped", "onnx_flipped.onnx") in log
