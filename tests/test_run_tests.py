"""scripts/run_tests.py, what `make test` runs: every test file in exactly one part, statuses combined."""

import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def runner():
    spec = importlib.util.spec_from_file_location("run_tests", os.path.join(ROOT, "scripts", "run_tests.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_test_file_of_the_repository_is_in_exactly_one_part(runner):
    parts = runner.check_parts()
    assert len(parts) == len(runner.PARTS) >= 2
    every = runner._files(["tests"])
    listed = [f for paths in parts for f in runner._files(paths)]
    assert sorted(listed) == sorted(every) and len(every) > 100


def test_a_file_in_no_part_or_in_two_is_named(runner, tmp_path, monkeypatch):
    (tmp_path / "tests" / "a").mkdir(parents=True)
    (tmp_path / "tests" / "test_top.py").write_text("")
    (tmp_path / "tests" / "a" / "test_one.py").write_text("")
    monkeypatch.setattr(runner, "ROOT", str(tmp_path))
    monkeypatch.setattr(runner, "PARTS", [("a", ["tests/a"])])
    with pytest.raises(SystemExit, match=r"test files in no part of PARTS: tests/test_top\.py"):
        runner.check_parts()
    monkeypatch.setattr(runner, "PARTS", [("a", ["tests/a"]), ("top", ["tests/test_*.py"]), ("again", ["tests/a"])])
    with pytest.raises(SystemExit, match=r"tests/a/test_one\.py is in two parts \('a' and 'again'\)"):
        runner.check_parts()


@pytest.mark.parametrize("statuses, expected", [([0, 0], 0), ([0, 1], 1), ([5, 0], 1), ([2, 1], 2)])
def test_the_run_fails_when_a_part_fails_or_collects_nothing(runner, monkeypatch, statuses, expected):
    calls = []

    def call(cmd, cwd):
        calls.append(cmd)
        return statuses[len(calls) - 1]
    monkeypatch.setattr(runner, "check_parts", lambda: [["x"], ["y"]])
    monkeypatch.setattr(runner, "PARTS", [("x", ["x"]), ("y", ["y"])])
    monkeypatch.setattr(runner.subprocess, "call", call)
    assert runner.main(["--workers", "2", "-k", "name"]) == expected
    assert [c[c.index("-n"):] for c in calls] == [["-n", "2", "--dist", "loadfile", "-k", "name", "x"],
                                                  ["-n", "2", "--dist", "loadfile", "-k", "name", "y"]]
    assert all(c[:3] == [sys.executable, "-m", "pytest"] for c in calls)


def test_every_heavy_test_entry_names_tests_that_exist():
    # a renamed test would silently lose its turn-taking and let two heavy tests overlap again
    import subprocess

    # by path: under the name "conftest" a session may hold another folder's conftest.py
    spec = importlib.util.spec_from_file_location("suite_conftest", os.path.join(ROOT, "tests", "conftest.py"))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    ids = [line.strip() for line in out.stdout.splitlines() if "::" in line]
    assert len(ids) > 1000, out.stdout[-2000:] + out.stderr[-2000:]
    stale = [entry for entry in conftest.HEAVY_TESTS if not any(i.startswith(entry) for i in ids)]
    assert stale == []
