"""Helpers of the documentation tests: where the docs are, how `make docs` builds them, the built site."""

import importlib.util
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")


def _load(name, relative):
    path = os.path.join(ROOT, relative)
    folder = os.path.dirname(path)
    if folder not in sys.path:  # its own helper modules (tests/data's _data_paths) import by name, as under pytest
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Site:
    """The built site: its folder, the build's output and how long it took."""

    def __init__(self, path, seconds, output):
        self.path, self.seconds, self.output = path, seconds, output

    def page(self, relative):
        with open(os.path.join(self.path, relative), encoding="utf-8") as f:
            return f.read()

    def text(self, relative):
        """The page's visible text, roughly: tags dropped, entities of the tables decoded."""
        import html

        body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", self.page(relative), flags=re.S)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def build(source, out, env=None):
    """``sphinx -W`` as ``make docs`` runs it; returns (exit status, output, seconds)."""
    started = time.time()
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", os.path.join(out, ".doctrees"), source, out],
                         capture_output=True, text=True, env=env, timeout=600)
    return run.returncode, run.stdout + run.stderr, time.time() - started


def offline_env(**extra):
    """The environment of a build that must not use the network: every proxy points nowhere."""
    env = dict(os.environ, GLOG_v="3", TINYMS_OFFLINE="1", TINYMS_ROOT=ROOT, **extra)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[var] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def load(name, relative):
    """A test module of another folder, loaded from its file (its fixtures are reused, not copied)."""
    return _load(name, relative)


def block(page, marker, language=None):
    """The fenced block (its text) that follows the first line of ``docs/<page>`` holding ``marker``."""
    with open(os.path.join(DOCS, page), encoding="utf-8") as f:
        text = f.read()
    after = text[text.index(marker):]
    match = re.search(r"^```(\w+)\n(.*?)^```$", after, re.S | re.M)
    assert language is None or match.group(1) == language, (page, marker, match.group(1))
    return match.group(2)


def commands(text):
    """A bash block's commands, comments dropped, each split into words."""
    import shlex

    return [shlex.split(line.split("#")[0]) for line in text.splitlines() if line.split("#")[0].strip()]
