"""Integrity of served weights: a file that changed after write_servable is refused, never served."""

import hashlib
import json
import os

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


def test_write_servable_records_the_sha256_of_every_file(tmp_path, lenet):
    entry = write_servable(str(tmp_path), "digits", lenet, formats=("ckpt", "onnx", "mindir"))
    folder = tmp_path / "digits"
    digests = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in os.listdir(folder)}
    assert entry["model"]["sha256"] == digests
    assert sorted(digests) == ["digits.ckpt", "digits.mindir", "digits.onnx"]
    assert json.loads((tmp_path / "servable.json").read_text())[0]["model"]["sha256"] == digests


@pytest.fixture(scope="module")
def tampered_dir(tmp_path_factory, lenet):
    path = tmp_path_factory.mktemp("tampered")
    write_servable(str(path), "good", lenet, formats=("onnx",))
    write_servable(str(path), "onnx_flipped", lenet, formats=("onnx",))
    write_servable(str(path), "ckpt_flipped", lenet, formats=("ckpt",))
    write_servable(str(path), "ckpt_flipped_unrecorded", lenet, formats=("ckpt",))
    _flip_bit(path / "onnx_flipped" / "onnx_flipped.onnx")
    _flip_bit(path / "ckpt_flipped" / "ckpt_flipped.ckpt")
    _flip_bit(path / "ckpt_flipped_unrecorded" / "ckpt_flipped_unrecorded.ckpt")
    entries = json.loads((path / "servable.json").read_text())
    del entries[-1]["model"]["sha256"]  # no digest recorded: the checkpoint's own CRC must catch it
    (path / "servable.json").write_text(json.dumps(entries))
    return str(path)


def test_a_flipped_bit_in_served_weights_is_refused(tampered_dir, digit_png):
    with Server(port=0, serving_path=tampered_dir) as server:
        assert set(server.unavailable) == {"onnx_flipped", "ckpt_flipped", "ckpt_flipped_unrecorded"}
        listing = requests.get(server.url + "/servables", timeout=10)
        assert tampered_dir not in listing.text
        by_name = {s["name"]: s for s in listing.json()["servables"]}
        assert by_name["good"]["ready"] is True and len(by_name["good"]["model"]["sha256"]) == 64
        for name in ("onnx_flipped", "ckpt_flipped"):
            assert by_name[name]["ready"] is False
            assert f"{name}/{name}.{name[:4]} does not match the SHA-256 recorded in servable.json" \
                in by_name[name]["error"]
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
