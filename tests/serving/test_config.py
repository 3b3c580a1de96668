"""servable.json: good entries are resolved, bad ones are reported with file, entry and reason."""

import json

import pytest

from tinyms.serving import ServableConfigError
from tinyms.serving._config import load_servables, read_entries


def _write(folder, entries):
    (folder / "servable.json").write_text(entries if isinstance(entries, str) else json.dumps(entries))


def test_good_entries_are_resolved_with_defaults(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "net.ckpt").write_bytes(b"weights")
    (tmp_path / "net2").mkdir()
    (tmp_path / "net2" / "sub").mkdir()
    (tmp_path / "net2" / "sub" / "other.onnx").write_bytes(b"onnx")
    _write(tmp_path, [
        {"name": "net", "model": {"name": "lenet5", "format": "ckpt", "class_num": 10}},
        {"name": "net2", "model": {"format": "onnx", "file": "sub/other.onnx", "dataset": "mnist"},
         "max_batch_size": 1, "max_delay_ms": 0},
    ])
    specs, problems = load_servables(str(tmp_path))
    assert problems == []
    first, second = specs
    assert first.path == str(tmp_path / "net" / "net.ckpt") and first.class_num == 10
    assert first.max_batch_size == 16 and first.needs_mindspore
    assert second.path == str(tmp_path / "net2" / "sub" / "other.onnx") and not second.needs_mindspore
    assert second.transform == "mnist_transform" and second.max_batch_size == 1


@pytest.mark.parametrize("entry, reason", [
    ({"name": "a b", "model": {}}, "'name' must be"),
    ({"name": "x", "model": {"name": "lenet5", "format": "pt"}}, "model.format 'pt' is not one of"),
    ({"name": "x", "model": {"name": "lenet5"}}, "does not exist"),
    ({"name": "x", "model": {"format": "ckpt"}}, "model.name is required"),
    ({"name": "x", "model": {"name": "lenet5", "file": "../../etc/passwd"}}, "resolves outside the servable's folder"),
    ({"name": "x", "model": {"name": "lenet5", "file": "../ok/ok.onnx"}}, "resolves outside the servable's folder"),
    ({"name": "x", "model": {"name": "lenet5", "class_num": 0}}, "class_num must be a positive integer"),
    ({"name": "x", "model": {"name": "lenet5"}, "max_batch_size": 0}, "max_batch_size must be"),
    ({"name": "x", "model": "lenet5"}, "'model' must be an object"),
    ("lenet5", "must be a JSON object"),
])
def test_each_bad_entry_is_reported_and_the_others_kept(tmp_path, entry, reason):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "ok.onnx").write_bytes(b"onnx")
    _write(tmp_path, [entry, {"name": "ok", "model": {"format": "onnx"}}])
    specs, problems = load_servables(str(tmp_path))
    assert [s.name for s in specs] == ["ok"]
    assert len(problems) == 1
    message = str(problems[0])
    assert reason in message
    assert str(tmp_path / "servable.json") in message and "entry 0" in message


def test_duplicate_names_are_reported(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "ok.onnx").write_bytes(b"onnx")
    _write(tmp_path, [{"name": "ok", "model": {"format": "onnx"}}] * 2)
    specs, problems = load_servables(str(tmp_path))
    assert len(specs) == 1 and "entry 1" in str(problems[0]) and "earlier entry" in str(problems[0])


def test_unusable_files_raise_with_the_fix(tmp_path):
    with pytest.raises(ServableConfigError, match="does not exist"):
        read_entries(str(tmp_path / "missing"))
    with pytest.raises(ServableConfigError, match="no servable.json"):
        read_entries(str(tmp_path))
    _write(tmp_path, '[{"name": "x",]')
    with pytest.raises(ServableConfigError, match="not valid JSON.*line 1"):
        read_entries(str(tmp_path))
    _write(tmp_path, '{"name": "x"}')
    with pytest.raises(ServableConfigError, match="must hold a JSON list"):
        read_entries(str(tmp_path))


def test_weights_are_resolved_through_symlinks_and_kept_in_their_folder(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.onnx").write_bytes(b"not yours")
    for name in ("inside", "escape", "linked_folder"):
        (tmp_path / name).mkdir() if name != "linked_folder" else None
    (tmp_path / "inside" / "real.onnx").write_bytes(b"onnx")
    (tmp_path / "inside" / "inside.onnx").symlink_to(tmp_path / "inside" / "real.onnx")
    (tmp_path / "escape" / "escape.onnx").symlink_to(outside / "secret.onnx")
    (tmp_path / "linked_folder").symlink_to(outside)
    (outside / "linked_folder.onnx").write_bytes(b"onnx")
    _write(tmp_path, [{"name": n, "model": {"format": "onnx"}} for n in ("inside", "escape", "linked_folder")])
    specs, problems = load_servables(str(tmp_path))
    assert [s.name for s in specs] == ["inside"]
    assert specs[0].path == str(tmp_path / "inside" / "real.onnx")  # the link's target is what is loaded
    assert [p.servable for p in problems] == ["escape", "linked_folder"]
    assert all("resolves outside the servable's folder" in p.reason for p in problems)


def test_recorded_digests_are_checked(tmp_path):
    import hashlib

    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "net.onnx").write_bytes(b"weights")
    good = hashlib.sha256(b"weights").hexdigest()
    _write(tmp_path, [{"name": "net", "model": {"format": "onnx", "sha256": {"net.onnx": good}}},
                      {"name": "bad", "model": {"format": "onnx", "sha256": {"bad.onnx": "xyz"}}}])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.onnx").write_bytes(b"w")
    (spec,), (problem,) = load_servables(str(tmp_path))
    assert spec.sha256 == good and spec.read_weights() == b"weights"
    assert "model.sha256 must map formats (or file names) to SHA-256 hex digests" in problem.reason
    (tmp_path / "net" / "net.onnx").write_bytes(b"weightz")
    with pytest.raises(ValueError, match="does not match the SHA-256 recorded in servable.json"):
        spec.read_weights()
    with pytest.raises(ValueError, match="does not match"):
        spec.verify_weights()


def _deep_servable_json(folder, depth=5000):
    """A servable.json nested ``depth`` levels deep (Python's own parser gives up near 1,000)."""
    folder.mkdir(exist_ok=True)
    _write(folder, '[{"name": "deep", "model": ' + "[" * depth + "]" * depth + "}]")
    return str(folder)


def test_a_deeply_nested_servable_json_is_a_typed_one_line_error(tmp_path):
    for depth in (5000, 200):  # past the parser's recursion limit, and past TinyMS's own bound
        folder = _deep_servable_json(tmp_path / str(depth), depth)
        with pytest.raises(ServableConfigError) as info:
            load_servables(folder)
        message = str(info.value)
        assert "\n" not in message and "nested" in message and "servable.json" in message
        assert len(message) < 400


def test_a_deeply_nested_servable_json_stops_the_server_start_with_one_line(tmp_path):
    import time

    from tinyms.serving import Server

    folder = _deep_servable_json(tmp_path / "serving")
    started = time.monotonic()
    with pytest.raises(ServableConfigError, match="nested") as info:
        Server(port=0, serving_path=folder).start()
    assert "\n" not in str(info.value) and time.monotonic() - started < 10


def test_tinyms_serve_on_a_deeply_nested_servable_json_exits_with_one_line(tmp_path):
    import subprocess
    import sys

    folder = _deep_servable_json(tmp_path / "serving")
    run = subprocess.run([sys.executable, "-m", "tinyms", "serve", folder, "--port", "0"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nested" in lines[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr
