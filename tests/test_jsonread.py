"""Every JSON TinyMS reads from outside goes through one bounded reader: deep or huge input is a
typed one-line error (or the "unreadable" answer a reader already gives), never a RecursionError."""

import json
import os

import pytest

from tinyms._jsonread import MAX_DEPTH, load_file, loads
from tinyms.errors import JSONInputError

DEEP = "[" * 5000 + "]" * 5000  # past Python's recursion limit
DEEPISH = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)  # parses, but past TinyMS's bound


def test_the_reader_refuses_deep_and_large_input_with_one_line():
    assert loads('{"a": [1, {"b": "[[[["}]}') == {"a": [1, {"b": "[[[["}]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads(b'{"x": 1}') == {"x": 1}
    for text in (DEEP, DEEPISH, '{"a": ' + DEEP + "}"):
        with pytest.raises(JSONInputError, match="nested more than") as info:
            loads(text, "the request body")
        assert "\n" not in str(info.value) and str(info.value).startswith("the request body")
    # brackets inside strings do not count
    assert loads(json.dumps({"name": "[" * 500})) == {"name": "[" * 500}
    with pytest.raises(JSONInputError, match="has 12 bytes, more than the 10 "):
        loads('{"x": 12345}', max_bytes=10)
    with pytest.raises(json.JSONDecodeError):
        loads('{"x": ')  # malformed JSON keeps its own error (a ValueError with line and column)
    assert isinstance(JSONInputError("x"), ValueError)


def test_the_reader_bounds_files(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"x": [1, 2]}')
    assert load_file(str(path)) == {"x": [1, 2]}
    with pytest.raises(JSONInputError, match="a.json has 13 bytes, more than the 5"):
        load_file(str(path), max_bytes=5)
    path.write_text(DEEP)
    with pytest.raises(JSONInputError, match="a.json is nested more than"):
        load_file(str(path))


def test_recipes_refuse_deep_json():
    from tinyms.errors import RecipeError
    from tinyms.vision._recipe import Recipe

    with pytest.raises(RecipeError, match="nested"):
        Recipe.from_json('{"version": 1, "eval": ' + DEEP + "}")


def test_hub_asset_files_refuse_deep_json(tmp_path):
    from tinyms._hub_catalog import read_asset
    from tinyms.errors import HubError

    path = tmp_path / "deep_asset.json"
    path.write_text(DEEP)
    with pytest.raises(HubError, match="nested"):
        read_asset(str(path))


def test_run_records_and_markers_read_as_unreadable(tmp_path, monkeypatch):
    from tinyms import _train_cli
    from tinyms.data import _files, _images

    (tmp_path / "run.json").write_text(DEEP)
    assert _train_cli._read_state(str(tmp_path)) == {}
    (tmp_path / _files.MARKER).write_text(DEEP)
    assert _files.read_marker(str(tmp_path)) == {}
    (tmp_path / "cache.json").write_text(DEEP)
    assert _images._load_cache(str(tmp_path / "cache.json")) == {}


def test_a_deep_run_file_of_a_detached_server_is_ignored(tmp_path, monkeypatch):
    from tinyms.serving import server

    monkeypatch.setenv("TINYMS_HOME", str(tmp_path))
    path = server._run_file("127.0.0.1", 1)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write(DEEP)
    assert server._stop_detached("127.0.0.1", 1, 1.0) is False


def test_coco_annotations_refuse_deep_json(tmp_path):
    from tinyms.errors import DatasetError
    from tinyms.vision._coco import _read_annotations

    path = tmp_path / "instances.json"
    path.write_text('{"images": ' + DEEP + "}")
    with pytest.raises(DatasetError, match="nested"):
        _read_annotations(str(path))


def test_checkpoint_records_refuse_deep_json():
    from tinyms.errors import CheckpointError
    from tinyms.model._checkpoint import NETWORK_KEY, network_record
    from tinyms.model._state import TrainState

    with pytest.raises(CheckpointError, match="nested"):
        network_record({NETWORK_KEY: DEEP}, "net.ckpt")
    with pytest.raises(JSONInputError, match="nested"):
        TrainState.from_json(DEEP)


def test_the_client_refuses_a_deep_answer():
    from tinyms.serving.client import Client

    client = Client("127.0.0.1", 1)
    client._call = lambda *args, **kwargs: ({}, DEEP.encode())
    with pytest.raises(JSONInputError, match="nested"):
        client.list_servables()


def test_coco_annotations_refuse_deep_json_after_mindspore_raised_the_recursion_limit(tmp_path):
    # importing MindSpore sets Python's recursion limit to 10,000: the parser would then build the value
    import sys

    from tinyms.errors import DatasetError
    from tinyms.vision._coco import _read_annotations

    path = tmp_path / "instances.json"
    path.write_text('{"images": ' + DEEP + "}")
    kept = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)
    try:
        with pytest.raises(DatasetError, match="nested"):
            _read_annotations(str(path))
        assert sys.getrecursionlimit() == 10000  # the reader gives the limit back
    finally:
        sys.setrecursionlimit(kept)
