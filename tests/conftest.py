"""Suite-wide hook: in CI, a test skipped for something CI provides fails instead.

A test that cannot run without something `.ci/run` installs (Chromium and its driver, the DejaVu
fonts) or that CI keeps beside the clone (the official MNIST files in ../shared) skips with a
reason containing ``PROVIDED_IN_CI``. Locally that is a skip whose reason `make test` prints
(``-ra``); under ``TINYMS_CI=1``, which `.ci/run` sets, the same skip is a failure, so a CI run
never passes without running those tests.
"""

import os

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
