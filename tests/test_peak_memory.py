"""The suite's memory bound (tests/_memory.py) reports the peak and fails a session that exceeds it."""

import os
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))

SESSION = '''
KEPT = []


def test_keeps_100_mib():
    KEPT.append(b"x" * (100 * 2 ** 20))


def test_small():
    assert sum(range(10)) == 45
'''


def _pytest(tmp_path, bound):
    (tmp_path / "test_session.py").write_text(SESSION)
    env = dict(os.environ, PYTHONPATH=TESTS, TINYMS_TEST_PEAK_RSS_GIB=bound)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "_memory", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_session_under_the_bound_passes_and_names_what_raised_the_peak(tmp_path):
    out = _pytest(tmp_path, "100")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "peak resident memory of this pytest process" in out.stdout and "bound 100 GiB" in out.stdout
    kept = out.stdout.split("left resident memory higher after them:")[1].splitlines()[1]
    assert kept.strip().endswith("test_session.py::test_keeps_100_mib")
    assert int(kept.split("+")[1].split("MiB")[0]) >= 95


def test_a_passing_session_over_the_bound_fails(tmp_path):
    out = _pytest(tmp_path, "0.05")  # 51 MiB: below what the interpreter and pytest take
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 passed" in out.stdout and "over the bound of 0.05 GiB (TINYMS_TEST_PEAK_RSS_GIB)" in out.stdout
    assert "FAILED: the suite must stay under" in out.stdout


def test_a_malformed_bound_is_a_usage_error(tmp_path):
    out = _pytest(tmp_path, "lots")
    assert out.returncode == 4
    assert "TINYMS_TEST_PEAK_RSS_GIB='lots' must be a positive number of GiB" in out.stderr
