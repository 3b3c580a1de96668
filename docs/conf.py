"""Sphinx configuration of the TinyMS documentation site (``make docs``; see docs/design.md).

The generated pages (model zoo, datasets, troubleshooting, API reference) are written into
docs/reference/ by scripts/gen_docs.py before Sphinx reads anything, so every build shows the
code as it is. A public name without a docstring stops that step, and ``-W`` makes every Sphinx
warning (a broken internal link, a malformed docstring) an error.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("TINYMS_ROOT") or os.path.dirname(HERE)   # tests build a copy of docs/ elsewhere
sys.path.insert(0, ROOT)
os.environ.setdefault("GLOG_v", "3")
os.environ.setdefault("TINYMS_OFFLINE", "1")   # nothing may be downloaded while building

if os.environ.get("TINYMS_DOCS_SKIP_GENERATED") == "1":   # tests/docs: a small site of its own
    pass
elif subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_docs.py"), os.path.join(HERE, "reference")],
                  check=False).returncode:
    raise SystemExit("scripts/gen_docs.py failed (see above): the site was not built")

project = "TinyMS"
author = "TinyMS contributors"
copyright = "TinyMS contributors, Apache-2.0"   # noqa: A001 - Sphinx's name

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "reference/routes.md", "reference/train_keys.md"]   # included by pages

myst_heading_anchors = 3           # [text](page.md#a-heading) links are checked like page links
myst_enable_extensions = ["colon_fence"]

napoleon_google_docstring = True   # Args / Returns / Raises / Example, as our docstrings are written
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"          # the docstrings say the types
autodoc_inherit_docstrings = False  # MindSpore's docstrings stay on MindSpore's pages
add_module_names = False
smartquotes = False                 # code-like text keeps its quotes and "..." as written

html_theme = "alabaster"
html_title = "TinyMS"
html_theme_options = {
    "description": "Data to trained model to service, in a few lines, on MindSpore",
    "fixed_sidebar": True,
    "page_width": "1320px",
    "sidebar_width": "250px",
    "show_relbars": True,
}
html_sidebars = {"**": ["about.html", "searchbox.html", "navigation.html"]}
html_show_sourcelink = False
html_copy_source = False
napoleon_use_ivar = True            # "Attributes:" as fields, so dataclass members are not described twice

# Our docstrings are written as plain text a terminal shows well; two habits of that text mean something
# else to reStructuredText, so they are escaped before napoleon reads them: a star starting a word that
# nothing closes on its line (``*args``, ``**kwargs``, ``(N, *shape)``), and bars around a quantity
# (``mean |G(a) - b|``), which reStructuredText takes for a substitution. Literal text (double
# backquotes), doctest lines and literal blocks (after ``::``) are left as written.
import re  # noqa: E402

_LITERAL = re.compile(r"(``.*?``)")
_STAR = re.compile(r"(?<![\w*\\`])(\*{1,2})(?=[\w(])")


def _escape_text(segment):
    out, pos = [], 0
    for match in _STAR.finditer(segment):
        stars = match.group(1)
        closer = re.compile(r"(?<=[\w.)])" + re.escape(stars) + r"(?![\w*])")
        if closer.search(segment, match.end()):
            continue
        out += [segment[pos:match.start()], "\\*" * len(stars)]
        pos = match.end()
    segment = "".join(out) + segment[pos:]
    return segment.replace("|", "\\|")


def _escape(lines):
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith((">>>", "...")) or stripped.startswith("|") or not stripped:
            continue
        parts = _LITERAL.split(line)
        lines[i] = "".join(p if p.startswith("``") else _escape_text(p) for p in parts)
        if stripped.endswith("::"):
            literal_indent = indent


_SECTION_NOTE = re.compile(r"^(\s*)(Args|Returns|Raises|Attributes|Example|Examples)\s+\([^)]*\):\s*$")


def _join_name_lists(lines):
    """``a, b, c,`` continued on a deeper line up to its ``:``: one parameter line, as napoleon reads it."""
    i = 0
    while i < len(lines) - 1:
        line, nxt = lines[i], lines[i + 1]
        indent = len(line) - len(line.lstrip())
        if (line.rstrip().endswith(",") and ":" not in line and nxt.strip()
                and len(nxt) - len(nxt.lstrip()) > indent and ":" in nxt):
            lines[i:i + 2] = [line.rstrip() + " " + nxt.strip()]
            continue
        i += 1


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = [_SECTION_NOTE.sub(r"\1\2:", line) for line in lines]   # "Raises (from every call):"
    _join_name_lists(lines)
    _escape(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring, priority=100)   # before napoleon (500)
