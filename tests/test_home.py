"""tinyms.data._home: where TinyMS keeps its files."""

import os

from tinyms._home import tinyms_home


def test_defaults_to_dot_tinyms_in_the_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYMS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert tinyms_home() == os.path.join(str(tmp_path), ".tinyms")


def test_environment_variable_wins_and_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYMS_HOME", "relative/home")
    assert tinyms_home() == os.path.join(str(tmp_path), "relative", "home")
