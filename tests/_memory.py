"""Suite-wide memory: a fixture that frees what a network test leaves, and a bound on the peak.

``make test`` runs in one pytest process on a 2-core CI machine that has 8 GB for it. This
plugin (loaded by tests/conftest.py) reads the process's high-water mark of resident memory
(``ru_maxrss``) after every test, prints at the end of the session how high it went and which
tests raised it most, and turns a passing session into a failing one when the peak exceeded
``TINYMS_TEST_PEAK_RSS_GIB`` (7 GiB unless set; tests/model/test_zoo.py, the heaviest file,
peaked at 5.2 GiB alone and at 4.9 GiB after the other heavy files in one process). A failure
names the tests to look at: those that raised the peak most, and those after which resident
memory stayed higher (what a leak looks like). Child processes (``tinyms train`` runs, servers,
msrun workers) are not counted: each holds one small network while the suite waits for it.

Measured causes of growth, and what each needs (README, "Development"):

- A compiled cell whose graph reaches a ``*args`` method is never freed by MindSpore 2.10:
  fixed for TinyMS's own train step (tinyms/model/_train_step.py); tests write their own
  gradient cells with named arguments (tests/model/test_zoo.py).
- MindSpore keeps the parameters of the last cell it compiled until it compiles another one,
  its memory pools until ``ms_memory_recycle()``, and glibc keeps freed memory in per-thread
  arenas: :func:`release_memory` drops all three after a network test.
"""

import ctypes
import gc
import os
import resource
import sys

import pytest

PEAK_ENV = "TINYMS_TEST_PEAK_RSS_GIB"
DEFAULT_PEAK_GIB = 7.0
_MIB = 2 ** 20
_REPORTED = 5  # tests listed per ranking in the summary


def release_memory():
    """Give back what a finished network test left: MindSpore's caches and the allocator's free memory.

    Returns:
        None.

    Example:
        >>> release_memory()  # after a test built, trained and exported a network
    """
    gc.collect()
    if "mindspore" not in sys.modules:
        return
    import mindspore as ms
    from mindspore.common.api import _cell_graph_executor

    ms.ms_memory_recycle()
    # MindSpore 2.10 hands a cell's parameters to its graph executor before compiling and keeps
    # them until the next compile: after a VGG test, 0.5 GB of weights of a network nobody holds
    executor = getattr(_cell_graph_executor, "_graph_executor", None)
    if hasattr(executor, "set_weights_values"):
        executor.set_weights_values({})
    gc.collect()
    _malloc_trim()


def _malloc_trim():
    """Return glibc's free heap pages to the system (MindSpore's threads each fill their own arena)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


@pytest.fixture
def released():
    """Run a test that builds a large network, then free what it compiled and allocated.

    Without it, a VGG test's memory (about 1.5 GB of compiled graphs, copies and freed pages)
    stayed with the process into the next test.
    """
    yield
    release_memory()


def _peak_mib():
    """This process's high-water mark of resident memory, in MiB (0 where unknown)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _current_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MIB
    except (OSError, ValueError, IndexError):
        return 0.0


def bound_gib():
    """The bound on the peak, in GiB: ``TINYMS_TEST_PEAK_RSS_GIB`` or 7.

    Raises:
        pytest.UsageError: the variable is not a positive number.
    """
    text = os.environ.get(PEAK_ENV, "").strip()
    if not text:
        return DEFAULT_PEAK_GIB
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise pytest.UsageError(f"{PEAK_ENV}={text!r} must be a positive number of GiB, e.g. {PEAK_ENV}=7")
    return value


class _PeakRecorder:
    def __init__(self):
        self.peak = _peak_mib()
        self.current = _current_mib()
        self.raised = []    # (MiB the high-water mark rose during the test, nodeid)
        self.retained = []  # (MiB resident memory stayed higher after the test, nodeid)

    def after(self, nodeid):
        peak, current = _peak_mib(), _current_mib()
        if peak > self.peak:
            self.raised.append((peak - self.peak, nodeid))
        if current > self.current:
            self.retained.append((current - self.current, nodeid))
        self.peak, self.current = peak, current


_RECORDER = _PeakRecorder()


def pytest_configure(config):
    bound_gib()  # a malformed bound is a usage error before any test runs


def pytest_runtest_logfinish(nodeid, location):
    _RECORDER.after(nodeid)


def _over_bound():
    return _peak_mib() > bound_gib() * 1024


def pytest_sessionfinish(session, exitstatus):
    if _over_bound() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    peak, bound = _peak_mib(), bound_gib()
    over = _over_bound()
    tr = terminalreporter
    tr.section("peak memory", red=over, bold=over)
    verdict = f"over the bound of {bound:g} GiB ({PEAK_ENV})" if over else f"bound {bound:g} GiB ({PEAK_ENV})"
    tr.write_line(f"peak resident memory of this pytest process: {peak / 1024:.2f} GiB, {verdict}", red=over)
    for title, rows in (("raised the peak most", _RECORDER.raised),
                        ("left resident memory higher after them", _RECORDER.retained)):
        top = [(mib, nodeid) for mib, nodeid in sorted(rows, reverse=True)[:_REPORTED] if mib >= 1]
        if top:
            tr.write_line(f"tests that {title}:")
            for mib, nodeid in top:
                tr.write_line(f"  +{mib:5.0f} MiB  {nodeid}")
    if over:
        tr.write_line(f"FAILED: the suite must stay under {bound:g} GiB on CI (8 GB machine); free what the "
                      f"tests above keep (the `released` fixture, tests/_memory.py) or run them in a subprocess",
                      red=True, bold=True)
