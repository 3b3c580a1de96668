"""The suite's own hooks, run in pytest sessions of their own.

The memory bound (tests/_memory.py) counts the whole process tree and fails a session that exceeds
it; heavy tests take turns across xdist workers, and a session that leaves files in its TMPDIR
fails (tests/conftest.py).
"""

import os
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))

SESSION = '''
import subprocess
import sys

KEPT = []


def test_keeps_100_mib():
    KEPT.append(b"x" * (100 * 2 ** 20))


def test_child_holds_400_mib():
    code = "import time; b = bytearray(400 * 2 ** 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(2.5)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_small():
    assert sum(range(10)) == 45
'''

# two files, so --dist loadfile gives one to each worker; each test waits (up to 20 s) to see the
# other one inside at the same time, and records whether it did
TURNS = '''
import os
import time

import pytest

SHARED = {shared!r}


{mark}
def test_{name}():
    mine = os.path.join(SHARED, "inside-{name}")
    open(mine, "w").close()
    deadline = time.monotonic() + {wait}
    together = False
    while time.monotonic() < deadline and not together:
        together = len([f for f in os.listdir(SHARED) if f.startswith("inside-")]) == 2
        time.sleep(0.05)
    os.remove(mine)
    with open(os.path.join(SHARED, "saw-{name}"), "w") as f:
        f.write("together" if together else "alone")
'''


def _pytest(tmp_path, bound, *args, extra_env=None):
    env = dict(os.environ, PYTHONPATH=TESTS, TINYMS_TEST_PEAK_RSS_GIB=bound, **(extra_env or {}))
    env.pop("TMPDIR", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--basetemp", str(tmp_path / "basetemp"), *args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)


def _memory_session(tmp_path, bound):
    (tmp_path / "test_session.py").write_text(SESSION)
    return _pytest(tmp_path, bound, "-p", "_memory")


def test_a_session_under_the_bound_passes_and_names_what_raised_the_peak(tmp_path):
    out = _memory_session(tmp_path, "100")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "peak resident memory of the test processes (pytest, its workers and their children)" in out.stdout
    assert "bound 100 GiB" in out.stdout
    # the child's 400 MiB count: the peak came while it ran, and it tops the ranking
    peak = float(out.stdout.split("their children): ")[1].split(" GiB")[0])
    assert peak >= 0.4, out.stdout
    at_peak = out.stdout.split("tests running at the peak:")[1].splitlines()[1]
    assert at_peak.strip().endswith("test_session.py::test_child_holds_400_mib")
    during = out.stdout.split("during which all the processes held most:")[1].splitlines()[1]
    assert during.strip().endswith("test_child_holds_400_mib")
    kept = out.stdout.split("after which a process kept more resident memory:")[1].splitlines()[1]
    assert kept.strip().endswith("test_session.py::test_keeps_100_mib")
    assert int(kept.split("+")[1].split("MiB")[0]) >= 95


def test_a_passing_session_over_the_bound_fails(tmp_path):
    out = _memory_session(tmp_path, "0.3")  # the child alone holds 0.39 GiB
    assert out.returncode == 1, out.stdout + out.stderr
    assert "3 passed" in out.stdout and "over the bound of 0.3 GiB (TINYMS_TEST_PEAK_RSS_GIB)" in out.stdout
    assert "FAILED: the suite must stay under" in out.stdout


def test_a_malformed_bound_is_a_usage_error(tmp_path):
    out = _memory_session(tmp_path, "lots")
    assert out.returncode == 4
    assert "TINYMS_TEST_PEAK_RSS_GIB='lots' must be a positive number of GiB" in out.stderr


def _turns_session(tmp_path, marked):
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "conftest.py").write_text(open(os.path.join(TESTS, "conftest.py")).read())
    for name in ("first", "second"):
        mark = "@pytest.mark.heavy_memory" if marked else ""
        (tmp_path / f"test_{name}.py").write_text(TURNS.format(shared=str(shared), mark=mark, name=name, wait=4))
    out = _pytest(tmp_path, "100", "-n", "2", "--dist", "loadfile")
    assert out.returncode == 0, out.stdout + out.stderr
    # the workers' own rankings reach the controller's summary
    own = out.stdout.split("tests whose worker and its children held most:")[1]
    assert "test_first.py::test_first" in own and "test_second.py::test_second" in own
    return {name: (shared / f"saw-{name}").read_text() for name in ("first", "second")}


def test_heavy_tests_on_two_workers_take_turns(tmp_path):
    assert _turns_session(tmp_path, marked=True) == {"first": "alone", "second": "alone"}


def test_unmarked_tests_on_two_workers_run_together(tmp_path):
    # what the lock prevents: without the mark the two workers' tests overlap
    assert _turns_session(tmp_path, marked=False) == {"first": "together", "second": "together"}


def test_a_session_that_leaves_a_file_in_tmpdir_fails_and_names_it(tmp_path):
    (tmp_path / "conftest.py").write_text(open(os.path.join(TESTS, "conftest.py")).read())
    (tmp_path / "test_leaks.py").write_text(
        "import tempfile\n\n\ndef test_leaks():\n    tempfile.mkdtemp(prefix='forgotten-')\n\n\n"
        "def test_cleans_up():\n    import shutil\n    shutil.rmtree(tempfile.mkdtemp(prefix='removed-'))\n")
    out = _pytest(tmp_path, "100")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    left = out.stdout.split("left 1 entries in the session's TMPDIR (removed now): ")[1].splitlines()[0]
    assert left.startswith("forgotten-") and "removed-" not in left
