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
