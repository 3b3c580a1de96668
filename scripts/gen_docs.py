"""Write the generated pages of the documentation site into docs/reference/ (not kept in git).

Run by docs/conf.py before every Sphinx build (``make docs``), so the tables cannot drift from the
code: the model zoo from ``tinyms.model``'s registry, the datasets from ``tinyms.data``'s registry,
the troubleshooting page from the docstrings of ``tinyms.errors`` and ``tinyms.serving.errors``,
and one API page per public module from its ``__all__``.

It also checks that every public name has a docstring: a TinyMS class or function in a public
module's ``__all__`` without one, or a constant without a ``#:`` comment, stops the build (exit
status 1) with the list. Nothing here touches the network: parameter counts come from networks
built with MindSpore's weight initialisers turned off (the shapes are the same, no random numbers
are drawn), which takes seconds for the whole zoo.

Usage: python scripts/gen_docs.py [OUT_DIR]   (default docs/reference)
"""

import importlib
import inspect
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The public modules, in the order tests/test_docstring_examples.py runs their examples: an object
# exported by several is documented under the first.
FIRST = ["tinyms", "tinyms.context", "tinyms.data", "tinyms.vision", "tinyms.model"]

# What each network exports to beyond a TinyMS checkpoint, and the test that exports it and compares
# the outputs with MindSpore's. The build checks that each test file exists and names the network.
EXPORTS = [
    (("lenet5", "alexnet", "vgg", "resnet", "mobilenetv2", "densenet"), "MindIR, ONNX", "tests/model/test_zoo.py"),
    (("ssd_tiny",), "ONNX", "tests/model/test_ssd_tiny.py"),
    (("ssd300_mobilenetv2",), "ONNX", "tests/model/test_ssd.py"),
    (("text_cnn", "text_bow", "sentimentnet"), "ONNX", "tests/model/test_text_networks.py"),
    (("bert_",), "ONNX", "tests/model/test_bert.py"),
    (("cycle_gan",), "ONNX (a generator)", "tests/model/test_cycle_gan.py"),
    (("deepfm", "wide_deep", "tabular_mlp"), "ONNX", "tests/model/test_tabular_networks.py"),
]


def public_modules():
    import tinyms

    return FIRST + sorted(f"tinyms.{name}" for name in tinyms._SUBMODULES - {m.split(".")[-1] for m in FIRST})


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- the model zoo ---------------------------------------------------------------------------------

def _exports(name):
    for prefixes, formats, test in EXPORTS:
        if any(name.startswith(p) for p in prefixes):
            with open(os.path.join(ROOT, test), encoding="utf-8") as f:
                source = f.read()
            family = next(p for p in prefixes if name.startswith(p))
            if family.rstrip("_") not in source:
                raise SystemExit(f"gen_docs: {test} does not mention {family!r}; fix EXPORTS in scripts/gen_docs.py")
            return f"ckpt, {formats}", test
    return "ckpt", ""


def _count_parameters(name):
    """Trainable parameters of ``create_model(name)`` with default arguments, or the missing ones."""
    from tinyms.model import create_model

    try:
        net = create_model(name)
    except TypeError as err:
        text = str(err)
        if "required" in text and "argument" in text:
            return "set by " + ", ".join(f"`{a}`" for a in re.findall(r"'(\w+)'", text.split(":")[-1]))
        raise
    return f"{sum(int(p.size) for p in net.trainable_params()):,}"


def zoo_page():
    import mindspore.common.initializer as initializer

    from tinyms.model import list_models, model_config, registry

    # shapes only: no random numbers are drawn for weights nobody will use (VGG-16 builds in 0.04 s
    # instead of 5 s); the counts are those of the real networks
    initializer.Initializer.__call__ = lambda self, arr: None
    rows = []
    for name in list_models(source="tinyms"):
        cfg = model_config(name)
        exports, test = _exports(name)
        shape = "x".join(str(d) for d in cfg.input_shape) if cfg.input_shape else "any"
        tags = ", ".join(f"`{name}.{t}`" for t in registry.weights_tags(name)) or ""
        rows.append(f"| `{name}` | {cfg.task} | {_count_parameters(name)} | {shape} | {exports} | {tags} |")
    mindcv = list_models(source="mindcv")
    mindcv_weights = list_models(source="mindcv", pretrained=True)
    tested = sorted({t for _, _, t in EXPORTS})
    return "\n".join([
        "# Model zoo",
        "",
        "```{note}",
        "This page is generated from `tinyms.model`'s registry by `scripts/gen_docs.py` at every build.",
        "```",
        "",
        "Every network below is built with `tinyms.model.create_model(name)` (or its builder of the same name);",
        "`name.tag` loads a tag's pretrained weights (`create_model('lenet5.mnist')`). *Parameters* are the",
        "trainable parameters of the default build (ImageNet's 1000 classes unless the network is made for",
        "another dataset); a network whose size depends on your data says which argument sets it. *Input* is",
        "the configured input shape (channels x height x width, or the token count for text). *Export* lists",
        "what `Model.export` / `write_servable` are tested to write for it besides a checkpoint: "
        + ", ".join(f"`{t}`" for t in tested) + " export each and compare the outputs with MindSpore's.",
        "",
        "| name | task | parameters | input | export | pretrained tags |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Beside these, {len(mindcv)} networks of mindcv (MindSpore's vision model library) are in the registry",
        f"({len(mindcv_weights)} with ImageNet weights): `tinyms models` prints them and",
        "`list_models('resnet*', pretrained=True)` searches them (see [the classification guide](../guides/classification.md)).",
        "",
    ])


# --- datasets --------------------------------------------------------------------------------------

def _size(spec):
    sizes = [f.size or f.max_size for f in spec.files]
    if all(sizes):
        return f"{sum(sizes) / 1e6:,.1f} MB"
    known = [s for s in sizes if s]
    return f"{sum(known) / 1e6:,.1f} MB + unstated" if known else "not stated"


def datasets_page():
    from tinyms.data import dataset_spec, list_datasets

    table = list_datasets()
    listing = {line.split()[0]: line for line in repr(table).splitlines()[1:] if line.strip()}
    rows = []
    for name in list(table):
        spec = dataset_spec(name)
        line = listing.get(name, "")
        download = line[len(name):].strip().split("  ")[0] if line else _size(spec)
        splits = ", ".join(f"`{split}` {count:,}" if count else f"`{split}`"
                           for split, count in ((s, (spec.num_images or {}).get(s)) for s in spec.layout))
        classes = len(spec.labels) if spec.labels else ""
        rows.append(f"| `{name}` | {download} | {splits} | {classes} | `{spec.loader}` | {_cell(spec.license)} |"
                    f" <{spec.homepage}> |" if spec.homepage else
                    f"| `{name}` | {download} | {splits} | {classes} | `{spec.loader}` | {_cell(spec.license)} | |")
    return "\n".join([
        "# Datasets",
        "",
        "```{note}",
        "This page is generated from `tinyms.data`'s dataset registry by `scripts/gen_docs.py` at every build.",
        "```",
        "",
        "`download_dataset(name)` fetches a dataset once into `$TINYMS_HOME/datasets/<name>` (or `local_path=`),",
        "checks every file's digest and returns the folder; the loader named below reads it with `usage=` one",
        "of the splits. *Samples* per split are the published counts the loaders check against.",
        "",
        "| name | download | splits (samples) | classes | loader | licence | source |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "`print(tinyms.data.list_datasets())` prints the same table in Python; `dataset_spec(name)` returns a",
        "dataset's full description (files, digests, layout) and `dataset_info(name)` its image shape, labels",
        "and mean/std. Your own data: see [Datasets in the classification guide](../guides/classification.md#download-datasets).",
        "",
    ])


# --- troubleshooting -------------------------------------------------------------------------------

def _markdown(text):
    """A docstring's reStructuredText roles as Markdown code: :class:`~a.B` -> `B`."""
    return re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1] if m.group(0)[m.group(0).index('`') + 1] == '~' else m.group(1)}`", text)


def _first_paragraph(doc):
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n")[0].split())


def errors_page():
    import tinyms.errors as errors
    import tinyms.serving.errors as serving_errors

    out = ["# Troubleshooting: TinyMS's errors", "",
           "```{note}",
           "This page is generated from the docstrings of `tinyms.errors` and `tinyms.serving.errors` by",
           "`scripts/gen_docs.py` at every build.",
           "```", "",
           "Every error (and warning) TinyMS raises on purpose is one of these classes. The message itself names the file,",
           "key or value at fault and what to do; the sections below say what each class means, what to try,",
           "and which built-in exception it also is (so `except ValueError:` keeps working).", ""]
    for module in (errors, serving_errors):
        out += [f"## `{module.__name__}`", ""]
        for name in module.__all__:
            cls = getattr(module, name)
            bases = ", ".join(f"`{b.__name__}`" for b in cls.__mro__[1:] if b not in (object, BaseException, Exception))
            doc = inspect.cleandoc(cls.__doc__ or "")
            parts = doc.split("\n\n")
            meaning = _markdown(" ".join(parts[0].split()))
            fix = _markdown(next((" ".join(p.split()[1:]) for p in parts if p.startswith("Fix:")), ""))
            out += [f"### {name}", "", meaning, ""]
            if fix:
                out += [f"**Fix:** {fix}", ""]
            if bases:
                out += [f"Is also: {bases}.", ""]
    return "\n".join(out)


# --- serving routes --------------------------------------------------------------------------------

def routes_table():
    """The server's routes from the OpenAPI document it serves at ``GET /openapi.json``."""
    from tinyms.serving import _openapi

    rows = []
    for path, operations in _openapi.document("docs")["paths"].items():
        for method, op in operations.items():
            if isinstance(op, dict) and "responses" in op:
                codes = ", ".join(sorted(op["responses"]))
                rows.append(f"| `{method.upper()} {path}` | {_cell(op.get('summary', ''))} | {codes} |")
    return "\n".join(["| route | what it does | statuses |", "|---|---|---|", *rows, ""])


# --- tinyms train's keys ---------------------------------------------------------------------------

def train_keys_table():
    """Every key of a ``tinyms train`` YAML file with its flag and help, from the command's own parser."""
    from tinyms.cli import _build_parser

    parser = _build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    rows = []
    for action in commands["train"]._actions:
        if action.option_strings and action.dest != "help":
            flag = max(action.option_strings, key=len)
            text = (action.help or "").replace("%%", "%")
            rows.append(f"| `{action.dest}` | `{flag}` | {_cell(text)} |")
    return "\n".join(["| YAML key | flag | what it sets |", "|---|---|---|", *rows, ""])


# --- API reference ---------------------------------------------------------------------------------

def _attr_doc(module_name, name, obj):
    """The ``#:`` comment documenting constant ``name``, looked for in the modules that hold it."""
    from sphinx.pycode import ModuleAnalyzer

    candidates = [module_name] + sorted(m for m, mod in list(sys.modules.items())
                                        if m.startswith("tinyms") and getattr(mod, name, None) is obj)
    for candidate in candidates:
        try:
            docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module without source
            continue
        if ("", name) in docs:
            return candidate, " ".join(docs[("", name)]).strip()
    return None, ""


def api_pages(out_dir):
    """One reStructuredText page per public module; returns the names without a docstring."""
    modules = public_modules()
    documented, missing, index = {}, [], []
    for module_name in modules:
        module = importlib.import_module(module_name)
        own, again, mindspore, constants = [], [], [], []
        for name in module.__all__:
            obj = getattr(module, name)
            owner = getattr(obj, "__module__", None)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)) and not isinstance(owner, str):
                where, doc = _attr_doc(module_name, name, obj)
                if not doc:
                    missing.append(f"{module_name}.{name} (constant: add a '#:' comment above it)")
                constants.append((name, where))
            elif isinstance(owner, str) and owner.startswith("tinyms"):
                if id(obj) in documented:
                    again.append((name, documented[id(obj)]))
                    continue
                if not (obj.__doc__ or "").strip():
                    missing.append(f"{module_name}.{name}")
                documented[id(obj)] = f"{module_name}.{name}"
                own.append((name, obj))
            else:
                mindspore.append((name, f"{owner}.{getattr(obj, '__qualname__', name)}" if owner else name))
        title = f"``{module_name}``"
        lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", ""]
        classes = [(n, o) for n, o in own if inspect.isclass(o)]
        functions = [(n, o) for n, o in own if not inspect.isclass(o)]
        for heading, items, directive in (("Classes", classes, "autoclass"), ("Functions", functions, "autofunction")):
            if items:
                lines += [heading, "-" * len(heading), ""]
                for name, obj in items:
                    lines += [f".. {directive}:: {module_name}.{name}"]
                    if directive == "autoclass":
                        lines += ["   :members:", "   :show-inheritance:"]
                    lines += [""]
        if constants:
            lines += ["Constants", "---------", ""]
            for name, where in constants:
                lines += [f".. autodata:: {where or module_name}.{name}", "   :no-value:"]
                lines += ["   :no-index:", ""] if where and where != module_name else [""]
        if again:
            lines += ["Also here", "---------", "", "Exported by this module too, documented where first listed:", ""]
            lines += [f"- ``{name}``: :py:obj:`{target}`" for name, target in again] + [""]
        if mindspore:
            lines += ["From MindSpore", "--------------", "",
                      "Re-exported unchanged under these names; see MindSpore 2.10's documentation of each.", "",
                      ".. list-table::", "   :header-rows: 1", "", "   * - name", "     - MindSpore object"]
            for name, target in mindspore:
                lines += [f"   * - ``{name}``", f"     - ``{target}``"]
            lines += [""]
        _write(os.path.join(out_dir, "api", f"{module_name}.rst"), "\n".join(lines))
        first = _first_paragraph(module.__doc__).split(". ")[0].rstrip(".")
        index.append(f"| [`{module_name}`]({module_name}.rst) | {_cell(first)} | {len(own)} | {len(mindspore)} |")
    _write(os.path.join(out_dir, "api", "index.md"), "\n".join([
        "# API reference", "",
        "One page per public module, generated from the docstrings (Google style: Args, Returns, Raises,",
        "Example). The examples are run by `tests/test_docstring_examples.py` for every module listed here.", "",
        "| module | what it holds | TinyMS objects | from MindSpore |", "|---|---|---|---|", *index, "",
        "```{toctree}", ":hidden:", "", *modules, "```", ""]))
    return missing


def main(out_dir):
    started = time.time()
    sys.path.insert(0, ROOT)
    os.environ.setdefault("GLOG_v", "3")
    missing = api_pages(out_dir)
    if missing:
        print("gen_docs: public names without a docstring:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    _write(os.path.join(out_dir, "datasets.md"), datasets_page())
    _write(os.path.join(out_dir, "troubleshooting.md"), errors_page())
    _write(os.path.join(out_dir, "routes.md"), routes_table())
    _write(os.path.join(out_dir, "train_keys.md"), train_keys_table())
    _write(os.path.join(out_dir, "zoo.md"), zoo_page())   # last: it switches MindSpore's initialisers off
    print(f"gen_docs: wrote {out_dir} in {time.time() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "reference")))
