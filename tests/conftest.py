"""Suite-wide hooks: CI skips fail, heavy tests take turns, and the suite leaves no temporary files.

**Skips in CI.** A test that cannot run without something `.ci/run` installs (Chromium and its driver, the DejaVu
fonts) or that CI keeps beside the clone (the official MNIST files in ../shared) skips with a
reason containing ``PROVIDED_IN_CI``. Locally that is a skip whose reason `make test` prints
(``-ra``); under ``TINYMS_CI=1``, which `.ci/run` sets, the same skip is a failure, so a CI run
never passes without running those tests.

**Heavy tests take turns.** ``make test`` runs two xdist workers. A test marked ``heavy_memory``
(its processes hold several GiB: the large zoo networks, the GAN and detection runs, the scripts
and servers run in child processes; ``HEAVY_TESTS`` lists them with what they measured) holds a
lock file shared by the workers from its setup to its teardown, so two of them never run at once
and the suite stays under its memory bound (tests/_memory.py).

**No temporary files left.** The session points ``TMPDIR`` at a folder of its own, inherited by
the workers and every process they start; a passing session that leaves anything there fails
and lists it (a test's own files belong in ``tmp_path``, which pytest removes when it passes).
"""

import fcntl
import os
import shutil
import tempfile

import pytest

# the peak-memory bound and the `released` fixture for network tests (tests/_memory.py)
pytest_plugins = ["_memory"]

CI_ENV = "TINYMS_CI"
PROVIDED_IN_CI = "provided in CI"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get(CI_ENV) == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if PROVIDED_IN_CI in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped under {CI_ENV}=1, where it must run: {reason}"
    return report


HEAVY_MARK = "heavy_memory"
#: what others' libraries write in TMPDIR and keep: onnxruntime's session id (one small file it rewrites)
_OTHERS_IN_TMP = {".ses"}
_LEFT_IN_TMP = []
_SUITE_TMP = None

#: tests marked heavy_memory here (node ids, or their beginnings): what the test's worker and the
#: processes it started held at most, measured in a two-worker run (tests/_memory.py's summary)
HEAVY_TESTS = (
    "tests/test_train_cli_i2i.py::test_a_gan_run_trains",                               # 6.6 GiB
    "tests/test_train_cli_i2i.py::test_side_by_side_pairs_train_pix2pix",               # 4.1
    "tests/model/test_compat_cycle_gan.py::test_the_cycle_gan_script_of_tinyms_03",     # 5.9, 4.4
    "tests/model/test_distributed.py::test_two_processes_match_one_process",            # 5.0
    "tests/model/test_compat_deepfm.py::test_the_deepfm_script_of_tinyms_03_converts",  # 4.8
    "tests/model/test_compat_sentimentnet.py::test_the_sentimentnet_script",            # 4.3
    "tests/model/test_zoo.py::test_network_predicts_trains_round_trips_and_exports[vgg",  # 4.0-4.6
    "tests/model/test_cyclegan_translates.py::",                                        # 3.7
    "tests/model/test_seed.py::test_same_seed_same_loss_curves_in_fresh_processes",     # 4.2
    "tests/serving/test_page.py::",                                                     # 4.7-5.2 with Chromium
    "tests/serving/test_web_export.py::",                                               # 4.6-4.9 with Chromium
    "tests/hub/test_demo.py::test_predict_prints_the_top5_imagenet_labels",             # 4.1
    "tests/data/test_walkthrough_switch.py::",                                          # 10.2 with the other worker
    "tests/test_train_cli_detection.py::test_train_on_your_own_voc_folder",             # 4.1
    "tests/test_clean_exit.py::",                                                       # 4.2
)


def pytest_configure(config):
    global _SUITE_TMP
    config.addinivalue_line("markers", f"{HEAVY_MARK}: the test's processes hold several GiB; two such "
                                       f"tests never run at the same time (tests/conftest.py)")
    if hasattr(config, "workerinput") or _SUITE_TMP is not None:
        return  # a worker inherits the controller's TMPDIR
    # pytest's own temporary folders stay where they were; everything else goes to the suite's folder
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    _SUITE_TMP = tempfile.mkdtemp(prefix="tinyms-suite-tmp-")
    os.environ["TMPDIR"] = _SUITE_TMP
    tempfile.tempdir = None  # read TMPDIR again


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(HEAVY_TESTS):
            item.add_marker(HEAVY_MARK)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if item.get_closest_marker(HEAVY_MARK) is None or not hasattr(item.config, "workerinput"):
        return (yield)
    # the workers' base folders (popen-gw0, popen-gw1) share their parent, the run's folder
    lock_path = item.config._tmp_path_factory.getbasetemp().parent / "heavy_memory.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return (yield)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_sessionfinish(session, exitstatus):
    if _SUITE_TMP is None or hasattr(session.config, "workerinput"):
        return
    _LEFT_IN_TMP[:] = sorted(set(os.listdir(_SUITE_TMP)) - _OTHERS_IN_TMP)
    if _LEFT_IN_TMP and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(_SUITE_TMP, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _LEFT_IN_TMP:
        terminalreporter.section("temporary files left behind", red=True, bold=True)
        terminalreporter.write_line(f"FAILED: the tests or the code they ran left {len(_LEFT_IN_TMP)} entries in "
                                    f"the session's TMPDIR (removed now): {', '.join(_LEFT_IN_TMP[:20])}",
                                    red=True, bold=True)
