"""`make test` prints every skipped test with its reason; under TINYMS_CI=1 (.ci/run) a skip for
something CI provides is a failure, and every such skip in the suite says so."""

import ast
import os
import re
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")

SAMPLE = textwrap.dedent("""
    import pytest

    def test_needs_a_browser():
        pytest.skip("needs chromium; provided in CI by .ci/run")

    def test_needs_another_platform():
        pytest.skip("only on Windows")

    @pytest.mark.skipif(True, reason="needs a font; provided in CI by .ci/run")
    def test_marked():
        pass

    def test_runs():
        assert sorted([3, 1, 2]) == [1, 2, 3]
""")


def _pytest(tmp_path, ci):
    """The repository's pytest configuration (pyproject.toml, as `make test` uses) with the suite's
    conftest hook, run on SAMPLE in a scratch folder."""
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "TINYMS_CI"}
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    if ci:
        env["TINYMS_CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                           "-c", os.path.join(ROOT, "pyproject.toml"), "--rootdir", str(tmp_path),
                           str(tmp_path / "test_sample.py")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def test_make_test_lists_each_skip_with_its_reason(tmp_path):
    out = _pytest(tmp_path, ci=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 3 skipped" in out.stdout
    for reason in ("needs chromium; provided in CI by .ci/run", "only on Windows",
                   "needs a font; provided in CI by .ci/run"):
        assert re.search(r"SKIPPED \[1\] .*test_sample.py:\d+: " + re.escape(reason), out.stdout), out.stdout


def test_in_ci_a_skip_for_what_ci_provides_fails(tmp_path):
    out = _pytest(tmp_path, ci=True)
    assert out.returncode == 1, out.stdout + out.stderr
    # a skip in the test body fails it; a skipif mark (decided at setup) makes it an error
    assert "1 failed, 1 passed, 1 skipped, 1 error" in out.stdout
    assert "FAILED test_sample.py::test_needs_a_browser" in out.stdout
    assert "ERROR test_sample.py::test_marked" in out.stdout
    assert "skipped under TINYMS_CI=1, where it must run: needs chromium" in out.stdout
    assert re.search(r"SKIPPED \[1\] .*: only on Windows", out.stdout)


def test_ci_run_sets_the_flag_and_installs_what_the_skips_name():
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        script = f.read()
    assert "export TINYMS_CI=1" in script
    for package in ("chromium", "chromium-driver", "fonts-dejavu-core", "fonts-dejavu-extra"):
        assert re.search(rf"apt-get install .*\b{re.escape(package)}\b", script), package


def test_every_skip_for_a_ci_dependency_is_marked_as_provided_in_ci():
    # the suite's skips that name chromium, the DejaVu fonts or the MNIST files all carry the phrase
    named = {"chromium": 0, "DejaVu": 0, "MNIST": 0}
    for folder, _, files in os.walk(TESTS):
        for name in sorted(f for f in files if f.endswith(".py") and f != "test_ci_skips.py"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("skip", "skipif"):
                    call = ast.get_source_segment(text, node)
                    for word in named:
                        if word in call:
                            named[word] += 1
                            assert "provided in CI" in call, (name, call)
    assert all(named.values()), named
