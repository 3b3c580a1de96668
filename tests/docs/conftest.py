"""Fixtures of the documentation tests: the site, built once per session from a copy of docs/, and the
machinery other tests already have (the 127.0.0.1 dataset mirror of tests/data, the headless Chromium of
tests/serving/test_page.py), loaded from their files rather than written again."""

import os
import shutil

import pytest

from _docs_site import DOCS, Site, build, load, offline_env

_data = load("_tinyms_data_fixtures", "tests/data/conftest.py")
_page = load("_tinyms_page_fixtures", "tests/serving/test_page.py")

server = _data.server                    # a threaded 127.0.0.1 file server with Range
sample_registry = _data.sample_registry  # 'mnist' expects the bundled sample's files
sample_mirror = _data.sample_mirror      # the server as an MNIST mirror of the sample
browser = _page.browser                  # headless Chromium through selenium (module scope)


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """tests/data's isolation for one test: its own TINYMS_HOME, no mirror, no proxy, fast retries."""
    from tinyms import _download
    from tinyms.data import _registry, download

    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(_download, "BACKOFF", 0.01)
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._table()))


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The whole site, built once from a copy of docs/ (as a clean clone has it: no generated pages)."""
    work = tmp_path_factory.mktemp("docs-build")
    source = os.path.join(work, "docs")
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("reference", "_build", "__pycache__"))
    status, output, seconds = build(source, os.path.join(work, "site"), offline_env())
    assert status == 0, output[-6000:]
    return Site(os.path.join(work, "site"), seconds, output)
