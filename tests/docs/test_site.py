"""The documentation site: it builds offline with no warning, its generated tables come from the code,
the build refuses a broken link and an undocumented public name, every code block of the guides is run
by a named test or marked on the page as needing the internet, and it works in a browser (headless
Chromium): the home page, a task guide, the API page of tinyms.model.Model, and search."""

import importlib
import os
import re
import sys
import threading

import pytest

from _docs_site import DOCS, ROOT, build, load, offline_env

sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import gen_docs  # noqa: E402


def test_the_site_builds_offline_without_a_warning_in_minutes(site):
    assert "WARNING" not in site.output and "ERROR" not in site.output, site.output[-4000:]
    assert site.seconds < 300, site.seconds   # `make docs` on a clean clone: under five minutes
    for page in ("index.html", "getting-started.html", "guides/classification.html", "guides/detection.html",
                 "guides/text.html", "guides/image-to-image.html", "training.html", "serving.html",
                 "migrating.html", "design.html", "reference/zoo.html", "reference/datasets.html",
                 "reference/troubleshooting.html", "reference/api/index.html", "search.html", "searchindex.js"):
        assert os.path.isfile(os.path.join(site.path, page)), page


def test_the_generated_tables_are_the_registries(site):
    from tinyms.data import dataset_spec, list_datasets
    from tinyms.model import list_models

    zoo = site.text("reference/zoo.html")
    for name in list_models(source="tinyms"):
        assert f" {name} " in zoo, name
    assert "lenet5 classification 61,684 1x32x32" in zoo          # LeNet-5's trainable parameters
    assert "resnet50 classification 25,557,032 3x224x224" in zoo  # as published for ResNet-50
    assert "lenet5.mnist" in zoo
    datasets = site.text("reference/datasets.html")
    for name in list_datasets():
        assert f" {name} " in datasets and dataset_spec(name).loader in datasets, name
    assert "train 60,000, test 10,000" in datasets
    import tinyms.errors
    import tinyms.serving.errors

    trouble = "".join(site.text("reference/troubleshooting.html").split())   # spaces around code spans vary
    for module in (tinyms.errors, tinyms.serving.errors):
        for name in module.__all__:
            first = "".join((getattr(module, name).__doc__ or "").replace("``", "").split())[:50]
            assert name in trouble and first in trouble, name
    serving = site.text("serving.html")
    assert "POST /v2/models/{name}/infer" in serving and "GET /openapi.json" in serving
    training = site.text("training.html")
    assert "warmup_epochs --warmup-epochs" in training


def test_the_api_reference_covers_every_module_whose_examples_ci_runs(site):
    examples = importlib.import_module("test_docstring_examples")
    assert gen_docs.public_modules() == examples.MODULES   # the same list, in the same order
    for module in examples.MODULES:
        text = site.text(f"reference/api/{module}.html")
        assert module in text
    model = site.page("reference/api/tinyms.model.html")
    for anchor in ("tinyms.model.Model", "tinyms.model.Model.compile", "tinyms.model.create_model"):
        assert f'id="{anchor}"' in model, anchor
    assert "&gt;&gt;&gt;" in model     # the Example: sections are shown as doctest blocks


def test_a_broken_link_fails_the_build(tmp_path):
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text(open(os.path.join(DOCS, "conf.py"), encoding="utf-8").read())
    (source / "index.md").write_text("# Home\n\nSee [the guide](guides/missing.md) and [a heading](#nowhere).\n")
    status, output, _ = build(str(source), str(tmp_path / "site"), offline_env(TINYMS_DOCS_SKIP_GENERATED="1"))
    assert status != 0
    assert "guides/missing.md" in output and "nowhere" in output


def test_a_public_name_without_a_docstring_stops_the_build(tmp_path, monkeypatch):
    import types

    module = types.ModuleType("tinyms._docs_probe")
    module.__doc__ = "A module."
    exec("def shown():\n    '''Documented.'''\n\ndef bare():\n    return 1\n\nLIMIT = 3\n", module.__dict__)  # noqa: S102
    module.shown.__module__ = module.bare.__module__ = "tinyms._docs_probe"
    module.__all__ = ["shown", "bare", "LIMIT"]
    monkeypatch.setitem(sys.modules, "tinyms._docs_probe", module)
    monkeypatch.setattr(gen_docs, "public_modules", lambda: ["tinyms._docs_probe"])
    missing = gen_docs.api_pages(str(tmp_path))
    assert missing == ["tinyms._docs_probe.bare", "tinyms._docs_probe.LIMIT (constant: add a '#:' comment above it)"]


def test_make_docs_runs_every_docstring_example_before_it_builds():
    """`make docs` stops at a failing Example: before Sphinx runs (make -n prints what it would run)."""
    import subprocess

    out = subprocess.run(["make", "-n", "docs"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = [line for line in out.stdout.splitlines() if "pytest" in line or "sphinx" in line]
    assert out.returncode == 0 and len(lines) == 2, out.stdout + out.stderr
    assert "tests/test_docstring_examples.py" in lines[0] and "-m sphinx -W" in lines[1]


# --- every code block of the guides --------------------------------------------------------------------

# Blocks that cannot run offline, as their pages say ("Needs internet"): page -> first lines of the blocks.
NEEDS_INTERNET = {
    "index.md": ["make quickstart          # install (needs internet once), train LeNet5 on MNIST, write a servable"],
    "getting-started.md": ["make quickstart   # creates .venv, installs TinyMS and its pinned dependencies, runs `tinyms quickstart`"],
    "guides/classification.md": ["from tinyms.data import DatasetSpec, DatasetFile, register_dataset, download_dataset, ImageFolderDataset",
                                 "from tinyms.model import list_models, create_model, model_config",
                                 "tinyms predict photo.jpg --model resnet50       # prints the top-5 ImageNet labels",
                                 "from tinyms import hub"],
    "serving.md": ["pip install --no-compile ./runtime           # tinyms-runtime: numpy, Pillow, onnxruntime, waitress..."],
}
# Blocks no test runs although they need no internet: page -> first lines, and why.
NOT_RUN = {
    "training.md": ["tinyms train examples/train/cifar10.yaml --nproc 2                     # one machine, 2 processes"],
}
MARKER = re.compile(r"<!--((?:(?!<!--).)*?)-->\s*\Z", re.S)


def guide_blocks():
    """(page, the block, the comment just above it, the page's text before it) for each fenced block."""
    found = []
    for folder, _, files in os.walk(DOCS):
        if os.path.relpath(folder, DOCS).split(os.sep)[0] in ("reference", "_build"):
            continue
        for name in files:
            if not name.endswith(".md"):
                continue
            page = os.path.relpath(os.path.join(folder, name), DOCS).replace(os.sep, "/")
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            for match in re.finditer(r"^```(\w+)\n(.*?)^```$", text, re.S | re.M):
                before = text[:match.start()]
                marker = MARKER.search(before)
                found.append((page, match.group(2), marker.group(1).strip() if marker else "", before))
    return found


def test_every_code_block_of_the_guides_is_run_by_a_test_or_marked():
    blocks = guide_blocks()
    assert len(blocks) >= 15
    internet, not_run = {}, {}
    for page, code, marker, before in blocks:
        first = code.splitlines()[0]
        where = f"{page}: {first}"
        assert marker, f"{where}: no comment above it naming the test that runs it"
        if marker.startswith("needs internet"):
            internet.setdefault(page, []).append(first)
            section = before[before.rfind("\n#"):]
            assert "Needs internet" in section or page == "index.md", f"{where}: the page does not say so"
            continue
        if marker.startswith("not run"):
            not_run.setdefault(page, []).append(first)
            assert "Not run by the tests" in before[before.rfind("\n#"):], f"{where}: the page does not say so"
            continue
        test_file = re.match(r"(tests/[\w/]+\.py)", marker)
        assert test_file, f"{where}: {marker!r} names no test file"
        path = os.path.join(ROOT, test_file.group(1))
        assert os.path.isfile(path), f"{where}: {test_file.group(1)} does not exist"
        source = open(path, encoding="utf-8").read()
        name = re.search(r"::(\w+)", marker)
        if name:
            assert f"def {name.group(1)}(" in source, f"{where}: {test_file.group(1)} has no {name.group(1)}"
        assert f"docs/{page}" in source or f'"{page}"' in source, f"{where}: {test_file.group(1)} does not read it"
    # blocks in the lines with the internet or not run are listed here, like the skipped docstring examples
    assert internet == NEEDS_INTERNET
    assert not_run == NOT_RUN


# --- in a browser ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site_url(site):
    """The built site over HTTP on 127.0.0.1, as `make docs-serve` serves it."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=site.path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@load("_tinyms_page_skip", "tests/serving/test_page.py").pytestmark   # no Chromium: skipped, saying how to get it
def test_the_site_in_headless_chromium(browser, site_url, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site_url + "/index.html")
    assert browser.title.startswith("TinyMS")
    assert browser.find_element(By.CSS_SELECTOR, "div.body h1").text.startswith("TinyMS")
    links = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "div.sphinxsidebar a")}
    assert {"Getting started", "Image classification", "Object detection"} <= links, links

    browser.get(site_url + "/guides/classification.html")
    assert browser.find_element(By.CSS_SELECTOR, "div.body h1").text.startswith("Image classification")
    code = browser.find_elements(By.CSS_SELECTOR, "div.highlight-python pre")
    assert code and "download_dataset('mnist'" in code[0].text and code[0].is_displayed()

    browser.get(site_url + "/reference/api/tinyms.model.html#tinyms.model.Model")
    model = browser.find_element(By.ID, "tinyms.model.Model")
    assert model.is_displayed() and "Model" in model.text
    assert browser.find_element(By.ID, "tinyms.model.Model.compile").is_displayed()

    # the search box of the sidebar, as a visitor uses it
    browser.get(site_url + "/index.html")
    box = browser.find_element(By.CSS_SELECTOR, "div.sphinxsidebar input[name=q]")
    box.send_keys("create_model", Keys.ENTER)
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "ul.search li a"))
    hits = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "ul.search li a")]
    assert any(h.endswith("reference/api/tinyms.model.html#tinyms.model.create_model") for h in hits), hits


README_NEEDS_INTERNET = ["make quickstart          # creates .venv, installs TinyMS (MindSpore: about 800 MB, once), "
                         "runs `tinyms quickstart`"]


def test_the_readme_is_short_and_its_blocks_are_blocks_of_the_guides():
    """The README is the first screen: under 150 lines, linking into the site. Each of its code blocks is one
    of the guides' (so the test that runs the guide's block runs it) or marked as needing the internet."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert len(readme.splitlines()) < 150
    for page in ("docs/getting-started.md", "docs/guides/classification.md", "docs/guides/detection.md",
                 "docs/guides/text.md", "docs/guides/image-to-image.md", "docs/guides/tables.md", "docs/training.md",
                 "docs/serving.md", "docs/migrating.md"):
        assert f"]({page}" in readme, page
    guides = {code for _, code, _, _ in guide_blocks()}
    internet = []
    for match in re.finditer(r"^```(\w+)\n(.*?)^```$", readme, re.S | re.M):
        code, marker = match.group(2), MARKER.search(readme[:match.start()])
        assert marker, f"README block {code.splitlines()[0]!r}: no comment above it"
        if marker.group(1).strip().startswith("needs internet"):
            internet.append(code.splitlines()[0])
        else:
            assert code in guides, f"README block {code.splitlines()[0]!r} is not a block of docs/"
    assert internet == README_NEEDS_INTERNET
