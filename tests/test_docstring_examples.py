"""Every example in the docstrings of TinyMS's public modules runs as a user would run it.

For each public module (the sub-packages ``import tinyms`` lists, and ``tinyms`` itself), the
module's own docstring and the docstring of every object in its ``__all__`` that TinyMS defines
(MindSpore's re-exported classes keep MindSpore's documentation) are run with doctest, each in
a fresh namespace: an example imports what it uses. They run in a scratch working directory with
their own TINYMS_HOME, offline. ``# doctest: +SKIP`` is left only on lines that need the
internet or a server on a fixed port; ``test_skipped_examples_are_only_those_that_cannot_run``
keeps that list from growing unnoticed.
"""

import doctest
import importlib
import io
import tempfile

import pytest

import tinyms

# the order decides under which module an object exported by several is tested
MODULES = ["tinyms", "tinyms.context", "tinyms.data", "tinyms.vision", "tinyms.model"] + sorted(
    f"tinyms.{name}" for name in tinyms._SUBMODULES - {"context", "data", "vision", "model"})


def _exported(module_name):
    """``(name, object)`` for each TinyMS object of ``module_name.__all__`` no earlier module exports."""
    earlier = set()
    for name in MODULES[:MODULES.index(module_name)]:
        module = importlib.import_module(name)
        earlier |= {id(getattr(module, n)) for n in module.__all__}
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        owner = getattr(obj, "__module__", None)
        if isinstance(owner, str) and owner.startswith("tinyms") and id(obj) not in earlier:
            yield name, obj


def _examples(module_name):
    """The doctests of ``module_name``: its docstring, then each TinyMS object it exports (an
    object exported by two modules, or a docstring shared by two names, is run once)."""
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = [t for t in finder.find(module, module_name, module=False, globs={}) if t.name == module_name]
    for name, obj in _exported(module_name):
        found += finder.find(obj, f"{module_name}.{name}", module=False, globs={})
    unique, seen = [], set()
    for test in found:
        if test.examples and test.docstring not in seen:
            seen.add(test.docstring)
            unique.append(test)
    return unique


def _skipped(test):
    return [e.source.strip() for e in test.examples if e.options.get(doctest.SKIP)]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A working directory, temporary folder and TINYMS_HOME of the test's own, offline; MindSpore's mode, TinyMS's
    context flags and the model registry as they were, afterwards."""
    import mindspore as ms

    from tinyms import context
    from tinyms.model import registry

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TINYMS_OFFLINE", "1")
    # examples that make a folder with tempfile.mkdtemp() make it here, removed with the test's tmp_path
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(registry, "_EXTRA_WEIGHTS", dict(registry._EXTRA_WEIGHTS))
    monkeypatch.setattr(registry, "_DEFAULT_TAGS", dict(registry._DEFAULT_TAGS))
    mode = ms.get_context("mode")
    flags = (context._user_chose_mode, context._defaults_applied)
    yield tmp_path
    ms.set_context(mode=mode)
    context._user_chose_mode, context._defaults_applied = flags


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name, scratch):
    tests = _examples(module_name)
    assert tests, f"{module_name} shows no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, report.getvalue()
    assert result.attempted > sum(len(_skipped(t)) for t in tests)   # some example really ran


# What may stay skipped: these examples download a dataset or weights, or talk to a server on a
# fixed port (the serving examples start one on port 0 instead, and run).
SKIPPED = {
    "tinyms.data.download_dataset": "downloads CIFAR-10 (170 MB)",
    "tinyms.data.FashionMnistDataset": "downloads Fashion-MNIST",
    "tinyms.data.Cifar10Dataset": "downloads CIFAR-10",
    "tinyms.data.Cifar100Dataset": "downloads CIFAR-100",
    "tinyms.data.VOCDataset": "downloads VOC2007 (911 MB)",
    **{f"tinyms.model.{name}": "initialises 40-140 million parameters (seconds); the config is shown"
       for name in ("alexnet", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
                    "vgg16_bn", "vgg19", "vgg19_bn")},
    "tinyms.hub.predict": "downloads ResNet-50's ImageNet weights",
    "tinyms.model.bert_pretrained": "downloads Google's BERT-Tiny checkpoint (tests/model/test_bert.py serves one)",
    "tinyms.model.bert_pretrained_files": "downloads Google's BERT-Tiny checkpoint",
    "tinyms.serving.export_web": "downloads ONNX Runtime Web (35 MB) from the npm registry",
    "tinyms.serving.quantize_servable": "needs a trained run folder (tests/serving/test_quantize.py runs it)",
    "tinyms.serving.start_server": "starts the detached server on port 5000",
    "tinyms.serving.predict": "asks the server on port 5000",
    "tinyms.serving.list_servables": "asks the server on port 5000",
    "tinyms.serving.server_started": "asks the server on port 5000",
    "tinyms.serving.shutdown": "stops the server on port 5000",
    "tinyms.serving.run_server": "serves on port 5000 until stopped",
    "tinyms.serving.Client.predict": "asks the server on port 5000",
    "tinyms.serving.Client.infer": "asks the server on port 5000",
    "tinyms.serving.Client.list_servables": "asks the server on port 5000",
    "tinyms.serving.Client.server_started": "asks the server on port 5000",
    "tinyms.serving.Client": "asks the server on port 5000",
}


def test_skipped_examples_are_only_those_that_cannot_run():
    skipped = {t.name for name in MODULES for t in _examples(name) if _skipped(t)}
    assert skipped == set(SKIPPED), (sorted(skipped - set(SKIPPED)), sorted(set(SKIPPED) - skipped))
