"""Suite-wide memory: a fixture that frees what a network test leaves, and a bound on the peak.

``make test`` runs pytest with two xdist workers on a 2-core CI machine that has 8 GB for the
suite. This plugin (loaded by tests/conftest.py) samples, twice a second, the resident memory of
the whole process tree: the pytest process, its workers and every child they start (``tinyms
train`` runs, servers, msrun workers). At the end of the session it prints how high the sum went,
which tests were running then, the tests during which it was highest, and the tests after which
a worker's own resident memory stayed higher (what a leak looks like); a passing session whose
peak exceeded ``TINYMS_TEST_PEAK_RSS_GIB`` (7.5 GiB unless set) fails. A test whose tree holds
several GiB takes the ``heavy_memory`` mark (tests/conftest.py): two such tests never run at the
same time, one per worker.

Measured causes of growth, and what each needs (docs/development.md):

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
import sys
import threading

import pytest

PEAK_ENV = "TINYMS_TEST_PEAK_RSS_GIB"
DEFAULT_PEAK_GIB = 7.5
SAMPLE_SECONDS = 0.5
_MIB = 2 ** 20
REPORTED_ENV = "TINYMS_TEST_MEMORY_REPORTED"  # tests listed per ranking in the summary (5 unless set)


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


def _current_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MIB
    except (OSError, ValueError, IndexError):
        return 0.0


def bound_gib():
    """The bound on the peak, in GiB: ``TINYMS_TEST_PEAK_RSS_GIB`` or 7.5.

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
        raise pytest.UsageError(f"{PEAK_ENV}={text!r} must be a positive number of GiB, e.g. {PEAK_ENV}=7.5")
    return value


def _is_worker(config):
    return hasattr(config, "workerinput")


class _TreeSampler:
    """Samples the resident memory of this process and all its descendants, and which tests run."""

    def __init__(self):
        import psutil

        self._psutil = psutil
        self._process = psutil.Process()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.running = set()
        self.peak = 0.0          # MiB, the highest sum seen
        self.at_peak = ()        # the tests running then
        self.by_test = {}        # nodeid -> the highest sum seen while it ran, MiB
        self.samples = 0
        self._thread = threading.Thread(target=self._loop, name="tinyms-memory-sampler", daemon=True)

    def start(self):
        self.sample()
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()

    def _tree_mib(self):
        total = 0
        try:
            procs = [self._process] + self._process.children(recursive=True)
        except self._psutil.Error:
            return 0.0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except self._psutil.Error:  # ended between listing and reading
                pass
        return total / _MIB

    def sample(self):
        total = self._tree_mib()
        with self._lock:
            running = tuple(sorted(self.running))
            self.samples += 1
            if total > self.peak:
                self.peak, self.at_peak = total, running
            for nodeid in running:
                if total > self.by_test.get(nodeid, 0.0):
                    self.by_test[nodeid] = total

    def _loop(self):
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def started(self, nodeid):
        with self._lock:
            self.running.add(nodeid)

    def finished(self, nodeid):
        with self._lock:
            self.running.discard(nodeid)


class _Retained:
    """Per process: how much higher resident memory stayed after each test."""

    def __init__(self):
        self.current = _current_mib()
        self.rows = []  # (MiB, nodeid)

    def after(self, nodeid):
        current = _current_mib()
        if current > self.current:
            self.rows.append((current - self.current, nodeid))
        self.current = current


_RETAINED = _Retained()
_SAMPLER = None
_WORKER_RETAINED = []  # the workers' rows, collected by the controller
_WORKER_OWN = []       # the workers' (MiB their own process tree held during a test, nodeid)


def _reported():
    try:
        return max(1, int(os.environ.get(REPORTED_ENV, "5")))
    except ValueError:
        return 5


def pytest_configure(config):
    global _SAMPLER
    bound_gib()  # a malformed bound is a usage error before any test runs
    if _SAMPLER is None:  # the controller samples the whole tree; a worker, its own part of it
        _SAMPLER = _TreeSampler()
        _SAMPLER.start()


def pytest_runtest_logstart(nodeid, location):
    if _SAMPLER is not None:  # in the controller, xdist relays the workers' starts and finishes
        _SAMPLER.started(nodeid)
        _SAMPLER.sample()


def pytest_runtest_logfinish(nodeid, location):
    if _SAMPLER is not None:
        _SAMPLER.sample()
        _SAMPLER.finished(nodeid)
    _RETAINED.after(nodeid)


def pytest_testnodedown(node, error):
    output = getattr(node, "workeroutput", {})
    _WORKER_RETAINED.extend((mib, nodeid) for mib, nodeid in output.get("tinyms_retained", []))
    _WORKER_OWN.extend((mib, nodeid) for mib, nodeid in output.get("tinyms_own", []))


def _over_bound(config):
    return _SAMPLER is not None and not _is_worker(config) and _SAMPLER.peak > bound_gib() * 1024


def pytest_sessionfinish(session, exitstatus):
    if _SAMPLER is not None:
        _SAMPLER.stop()
    if _is_worker(session.config):
        output = session.config.workeroutput
        output["tinyms_retained"] = sorted(_RETAINED.rows, reverse=True)[:_reported()]
        output["tinyms_own"] = sorted(((mib, nodeid) for nodeid, mib in _SAMPLER.by_test.items()),
                                      reverse=True)[:_reported()]
        return
    if _over_bound(session.config) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _SAMPLER is None or _is_worker(config):
        return
    peak, bound = _SAMPLER.peak, bound_gib()
    over = _over_bound(config)
    tr = terminalreporter
    tr.section("peak memory", red=over, bold=over)
    verdict = f"over the bound of {bound:g} GiB ({PEAK_ENV})" if over else f"bound {bound:g} GiB ({PEAK_ENV})"
    tr.write_line(f"peak resident memory of the test processes (pytest, its workers and their children): "
                  f"{peak / 1024:.2f} GiB, {verdict}; {_SAMPLER.samples} samples", red=over)
    if _SAMPLER.at_peak:
        tr.write_line("tests running at the peak:")
        for nodeid in _SAMPLER.at_peak:
            tr.write_line(f"  {nodeid}")
    everyone = sorted(((mib, nodeid) for nodeid, mib in _SAMPLER.by_test.items()), reverse=True)
    rankings = [("during which all the processes held most", everyone, "{:7.2f} GiB", 1024)]
    if _WORKER_OWN:  # under xdist: what each test's own worker and its children held
        rankings.append(("whose worker and its children held most", sorted(_WORKER_OWN, reverse=True),
                         "{:7.2f} GiB", 1024))
    rankings.append(("after which a process kept more resident memory",
                     sorted(_RETAINED.rows + _WORKER_RETAINED, reverse=True), "+{:5.0f} MiB", 1))
    for title, rows, fmt, scale in rankings:
        top = [(mib, nodeid) for mib, nodeid in rows[:_reported()] if mib >= 1]
        if top:
            tr.write_line(f"tests {title}:")
            for mib, nodeid in top:
                tr.write_line(f"  {fmt.format(mib / scale)}  {nodeid}")
    if over:
        tr.write_line(f"FAILED: the suite must stay under {bound:g} GiB on CI (8 GB for it); free what the "
                      f"tests above keep (the `released` fixture, tests/_memory.py), give a test that holds "
                      f"several GiB the `heavy_memory` mark, or run it in a subprocess", red=True, bold=True)
