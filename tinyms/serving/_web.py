"""A static web page that predicts in the browser: ``tinyms export RUN_DIR_OR_SERVABLE --web OUT_DIR`` (no MindSpore).

The folder written holds the serving page (``static/index.html``, ``app.js``, ``style.css``: the
same files the server sends, the HTML only pointed at local scripts), the recipe engine
(``web-recipe.js``: the servables' preprocessing and answers in JavaScript, equal to the numpy
executor's), the in-browser backend (``web-local.js``), ``servables.js`` (what ``GET /servables``
would say, plus each model's recipe steps, input, outputs and SHA-256), each servable's ONNX file
under ``models/`` and ONNX Runtime Web under ``ort/``, taken from the npm registry's tarball at
export time (pinned and verified, see :mod:`tinyms.serving._npm`). Nothing is fetched when the page
runs: open ``index.html`` from disk (``file://``) or put the folder on any static web server.

A browser page cannot read files next to it when opened from disk, so every binary file also has
a ``<file>.js`` twin holding it in base64, loaded by a ``<script>`` tag there (a static server
fetches the binary file itself).

Every step of a servable's recipe must be one the page runs (:data:`WEB_OPS`, the ops of
``web-recipe.js``): a servable whose recipe has another is refused at export time, as is one
without an ONNX file or without an image recipe (tensor-only). An image-to-image servable's
picture is made in the page as the server makes it (output to pixels, the resize back to the
photo's size), encoded to PNG by the browser's canvas. Text servables are refused too:
their tokenizer (Hugging Face ``tokenizers``, Rust) does not run in the page, and a tokenizer
rewritten in JavaScript could give other token ids than the network learned.
"""

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile

from .._fileio import fsync_path, sha256_of
from ..errors import ExportError
from ._config import SERVABLE_FILE, _check_entry, load_servables, read_entries
from ._npm import ORT_WEB, extract_files, package_tarball

__all__ = ["export_web", "WEB_OPS", "MANIFEST"]

#: The recipe steps web-recipe.js runs (its ``TinyMSRecipe.OPS``; a browser test keeps them equal).
WEB_OPS = ("frame_digit", "resize", "letterbox", "center_crop", "rescale", "normalize", "hwc2chw")
#: The file that marks a folder as a page written by this module (and describes it).
MANIFEST = "tinyms-web.json"
MAX_IMAGE_PIXELS = 4096 * 4096  # the server's default limit on a decoded image
_STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_PAGE_FILES = ("app.js", "style.css", "web-recipe.js", "web-local.js")
_RUNTIME = {"folder": "ort", "bundle": "ort/ort.wasm.min.js", "loader": "ort/ort-wasm-simd-threaded.mjs",
            "wasm": "ort/ort-wasm-simd-threaded.wasm"}


def export_web(source, out_dir, names=None, *, registry=None, progress=True):
    """Write a folder whose ``index.html`` predicts with a servable's ONNX model in the browser, no server.

    The page is the server's page with the same preprocessing (the servable's recipe) and the same
    answers (top 5 classes, or a detector's boxes drawn on the photo); models run on ONNX Runtime
    Web, downloaded once from the npm registry into ``$TINYMS_HOME/cache/npm`` (verified against the
    integrity TinyMS pins) and copied into the folder, so the page needs no network when it runs.
    Open ``OUT_DIR/index.html`` from disk or serve the folder with any static web server.

    Args:
        source (str): a ``tinyms train`` run directory, a serving folder (holding
            ``servable.json``) or one servable's folder in it.
        out_dir (str): the folder to write; it must not exist, be empty, or be a page written
            before by this function (it is then replaced, atomically).
        names (sequence of str): the servables to put in the page; default every servable with
            an ONNX file (the others are listed as skipped).
        registry (str): the npm registry's URL; default ``$TINYMS_NPM_REGISTRY``, else
            https://registry.npmjs.org.
        progress (bool): show a progress bar while downloading ONNX Runtime Web.

    Returns:
        dict: ``{"path": out_dir, "servables": [names], "skipped": {name: reason},
        "onnxruntime_web": version, "bytes": total size}``.

    Raises:
        ExportError: no servable can be put in the page (each reason is named), a servable
            named in ``names`` cannot (no ONNX file, no image recipe, a recipe step the page
            does not run), or ``out_dir`` holds other files.
        FileNotFoundError: ``source`` is not a run directory, serving folder or servable folder.
        tinyms.errors.DownloadError: ONNX Runtime Web is not cached and cannot be downloaded;
            :class:`~tinyms.errors.ChecksumError` when what the registry sent does not match.

    Example:
        >>> from tinyms.serving import export_web
        >>> export_web("runs/lenet5-mnist", "lenet5-page")["servables"]     # doctest: +SKIP
        ['lenet5']
    """
    root, wanted = _locate(source, names)
    out = os.path.abspath(os.path.expanduser(os.fspath(out_dir)))
    _check_out_dir(out)
    pages, skipped = _servables(root, wanted)
    tarball = package_tarball(ORT_WEB, registry=registry, progress=progress)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent)
    os.chmod(tmp, 0o755)  # a page folder is for web servers to read
    try:
        written = _write_folder(tmp, tarball, pages, skipped, root)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"path": out, "servables": [page["name"] for page in pages], "skipped": skipped,
            "onnxruntime_web": ORT_WEB.version, "bytes": sum(written.values())}


# --------------------------------------------------------------------------- the servables
def _locate(source, names):
    """(serving folder, names wanted or None) for a run directory, serving folder or servable folder."""
    path = os.path.abspath(os.path.expanduser(os.fspath(source)))
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
    if os.path.isfile(os.path.join(path, "servable", SERVABLE_FILE)) and \
            not os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        return os.path.join(path, "servable"), names
    if os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        return path, names
    parent = os.path.dirname(path)
    if os.path.isdir(path) and os.path.isfile(os.path.join(parent, SERVABLE_FILE)):
        return parent, names or [os.path.basename(path)]
    raise FileNotFoundError(f"no run directory or servable at {source!r}: give a tinyms train run directory "
                            f"(holding servable/), a serving folder (holding {SERVABLE_FILE}) or a servable's "
                            "folder in one")


def _servables(root, wanted):
    """The pages' servable descriptions and {name: why it is not in the page}."""
    specs, problems = load_servables(root)
    by_name = {spec.name: spec for spec in specs}
    broken = {problem.servable: problem.reason for problem in problems if problem.servable}
    entries = {e.get("name"): e for e in read_entries(root) if isinstance(e, dict)}
    names = wanted if wanted is not None else [spec.name for spec in specs]
    pages, skipped = [], {}
    for name in names:
        try:
            if name not in by_name:
                raise ExportError(broken.get(name) or f"no servable {name!r} in {os.path.join(root, SERVABLE_FILE)}"
                                  f" (it has: {', '.join(sorted(by_name)) or 'none'})")
            pages.append(_page_servable(by_name[name], entries[name], root))
        except ExportError as err:
            skipped[name] = str(err)
    if wanted is not None and skipped:
        raise ExportError("; ".join(f"servable {n!r}: {r}" for n, r in skipped.items()))
    for name, reason in broken.items():
        if wanted is None:
            skipped.setdefault(name, reason)
    if not pages:
        reasons = "; ".join(f"{n!r}: {r}" for n, r in skipped.items()) or "servable.json lists none"
        raise ExportError(f"no servable of {root} can run in a browser page ({reasons})")
    return pages, skipped


def _page_servable(spec, entry, root):
    """What the page needs of one servable, read through the server's own ONNX backend."""
    from ._backends import OnnxBackend
    from ._preprocess import recipe_for

    if spec.task == "tabular":
        raise ExportError(f"servable {spec.name!r} takes table rows, which the browser page cannot encode (its "
                          "feature spec runs in Python, not in the page); serve it with tinyms serve, whose page has "
                          "a form for its columns, or predict with tinyms.serving.Predictor")
    if spec.task == "text_classification":
        raise ExportError(f"servable {spec.name!r} classifies text, which the browser page cannot tokenize (its "
                          "tokenizer runs in Python, not in the page); serve it with tinyms serve, whose page has a "
                          "text box, or predict with tinyms.serving.Predictor")
    if spec.format != "onnx":
        files = (entry.get("model") or {}).get("files") or {}
        if "onnx" not in files:
            raise ExportError(f"servable {spec.name!r} has no ONNX file (only {spec.format}); the page runs ONNX "
                              "models: write it with tinyms.serving.write_servable(..., formats=('onnx', "
                              f"'{spec.format}')) or train it with tinyms train, which writes ONNX when it can")
        onnx_entry = json.loads(json.dumps(entry))
        onnx_entry["model"]["format"] = "onnx"
        onnx_entry["model"].pop("file", None)
        try:
            spec = _check_entry(onnx_entry, root)
        except ValueError as err:
            raise ExportError(str(err)) from None
    try:
        model = spec.read_weights()
        backend = OnnxBackend(spec)
    except ValueError as err:
        raise ExportError(str(err)) from None
    meta = backend.meta
    recipe = recipe_for(meta.get("transform"), tuple(meta["input_shape"]), meta.get("mean"), meta.get("std"),
                        MAX_IMAGE_PIXELS, recipe=meta.get("recipe"))
    if recipe is None:
        raise ExportError(f"servable {spec.name!r} takes tensors only (it has no image recipe); the page sends "
                          "images: write the servable with the transform it was trained with")
    steps = [step.to_json() for step in recipe.recipe.eval]
    unknown = [op for op, _ in steps if op not in WEB_OPS]
    if unknown:
        raise ExportError(f"servable {spec.name!r}: the recipe step {unknown[0]!r} cannot run in the browser page "
                          f"(it runs {', '.join(WEB_OPS)}); serve this model with tinyms serve instead")
    task = meta.get("task", spec.task)
    if task == "detection":
        from ._tasks import check_box_geometry
        try:
            check_box_geometry(recipe.recipe.eval, meta["input_shape"])
        except ValueError as err:
            raise ExportError(str(err)) from None
    labels = list(meta["labels"])
    file = f"models/{spec.name}.onnx"
    item = {"name": spec.name, "description": spec.description, "ready": True,
            "model": {"name": spec.model_name, "format": "onnx", "platform": "onnxruntime_web",
                      "class_num": len(labels), "input_shape": list(meta["input_shape"]),
                      "dataset": (meta.get("dataset") or "").lower(), "transform": meta.get("transform") or "",
                      "labels": labels, "file": file, "sha256": hashlib.sha256(model).hexdigest()},
            "inputs": ["image"], "task": task}
    browser = {"file": file, "sha256": item["model"]["sha256"], "task": task, "steps": steps,
               "channels": recipe.recipe.channels, "input_shape": list(meta["input_shape"]), "labels": labels,
               "input_name": backend.input_name, "output_names": list(backend.output_names),
               "fixed_batch": backend.fixed_batch, "max_pixels": MAX_IMAGE_PIXELS}
    if task == "image_to_image":
        item["image_to_image"] = {"output_shape": list(meta["output_shape"]),
                                  "output_range": list(spec.output_range or (-1.0, 1.0)),
                                  "output_size": ["network", "original"], "format": ["json"]}
        browser["output_range"] = item["image_to_image"]["output_range"]
    if task == "detection":
        item["model"]["background"] = bool(meta.get("background"))
        item["detection"] = dict(spec.detection or {})
        browser.update(background=bool(meta.get("background")), detection=item["detection"])
    backend.close()
    return {"name": spec.name, "item": item, "browser": browser, "model": model}


# --------------------------------------------------------------------------- the folder
def _check_out_dir(out):
    if os.path.isfile(out) or (os.path.isdir(out) and os.listdir(out)
                               and not os.path.isfile(os.path.join(out, MANIFEST))):
        raise ExportError(f"{out} exists and is not a page written by tinyms export --web; choose a new or empty "
                          "folder (an earlier page is replaced)")


def _write_folder(folder, tarball, pages, skipped, root):
    """Write every file of the page into ``folder``; return {relative path: size}."""
    written = {}

    def put(rel, data, twin=False):
        path = os.path.join(folder, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        fsync_path(path)
        written[rel] = len(data)
        if twin:
            put_twin(rel, data)

    def put_twin(rel, data):  # for file:// pages, which may load scripts but not fetch files
        text = base64.b64encode(data).decode("ascii")
        put(rel + ".js", f"(window.TINYMS_BLOBS = window.TINYMS_BLOBS || {{}})[{json.dumps(rel)}] = "
                         f"\"{text}\";\n".encode("ascii"))

    for name in _PAGE_FILES:
        with open(os.path.join(_STATIC, name), "rb") as f:
            put(name, f.read())
    put("index.html", _page_html().encode("utf-8"))
    runtime_dir = os.path.join(folder, "ort")
    extracted = extract_files(tarball, ORT_WEB, runtime_dir)
    for path in extracted.values():
        rel = "ort/" + os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        written[rel] = len(data)
        if rel != _RUNTIME["bundle"]:
            put_twin(rel, data)
    put("ort/NOTICE.txt", (f"{ORT_WEB.name} {ORT_WEB.version} from the npm registry ({ORT_WEB.integrity}), "
                           f"license {ORT_WEB.license}: https://github.com/microsoft/onnxruntime\n").encode("utf-8"))
    for page in pages:
        put(page["browser"]["file"], page["model"], twin=True)
    problems = [f"{name} is not in this page: {reason}" for name, reason in skipped.items()]
    export = {"servables": [page["item"] for page in pages], "problems": problems,
              "models": {page["name"]: page["browser"] for page in pages},
              "runtime": {"name": ORT_WEB.name, "version": ORT_WEB.version, "files": _RUNTIME}}
    put("servables.js", ("window.TINYMS_EXPORT = " + json.dumps(export, indent=1) + ";\n").encode("utf-8"))
    manifest = {"format": "tinyms-web", "version": 1, "source": os.path.basename(os.path.normpath(root)),
                "servables": [page["name"] for page in pages], "skipped": skipped,
                "onnxruntime_web": {"version": ORT_WEB.version, "integrity": ORT_WEB.integrity},
                "files": {rel: sha256_of(os.path.join(folder, *rel.split("/"))) for rel in sorted(written)}}
    put(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    put("README.txt", _README.format(version=ORT_WEB.version).encode("utf-8"))
    for path in (folder, runtime_dir, os.path.join(folder, "models")):
        fsync_path(path)
    return written


def _page_html():
    """The server's index.html pointed at the page's local scripts (each change checked, never silent)."""
    with open(os.path.join(_STATIC, "index.html"), encoding="utf-8") as f:
        html = f.read()
    scripts = "\n  ".join(f'<script src="{src}"></script>' for src in
                          (_RUNTIME["bundle"], "servables.js", "web-recipe.js", "web-local.js"))
    changes = [
        ('href="/static/style.css"', 'href="style.css"'),
        ('<script src="/static/app.js" defer></script>', scripts + '\n  <script src="app.js" defer></script>'),
        ("<title>TinyMS serving</title>", "<title>TinyMS in the browser</title>"),
        ("<h1>TinyMS serving</h1>", "<h1>TinyMS in the browser</h1>"),
    ]
    for old, new in changes:
        if html.count(old) != 1:
            raise ExportError(f"the serving page (tinyms/serving/static/index.html) no longer contains {old!r} "
                              "once; update tinyms/serving/_web.py with it")
        html = html.replace(old, new)
    footer = re.compile(r"<footer\b.*?</footer>", re.S)
    if len(footer.findall(html)) != 1:
        raise ExportError("the serving page (tinyms/serving/static/index.html) no longer has one <footer>; update "
                          "tinyms/serving/_web.py with it")
    return footer.sub(f'<footer class="muted">Predictions run in this browser with ONNX Runtime Web '
                      f'{ORT_WEB.version}: nothing is sent anywhere.</footer>', html)


def _replace(tmp, out):
    """Put the finished folder ``tmp`` at ``out``, replacing an earlier page in one rename."""
    old = None
    if os.path.isdir(out):
        if os.listdir(out):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old-", dir=os.path.dirname(out))
            os.rmdir(old)
            os.rename(out, old)
        else:
            os.rmdir(out)
    try:
        os.rename(tmp, out)
    except OSError:
        if old is not None:
            os.rename(old, out)
        raise
    fsync_path(os.path.dirname(out))
    if old is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)


_README = """This folder is a web page that runs a TinyMS model in the browser (written by tinyms export --web).

Open index.html in a browser (double-click it), or put the folder on any static web server. Nothing is
downloaded or sent when it runs: the model is models/*.onnx, run by ONNX Runtime Web {version} (ort/).
Files ending in .js next to a binary file hold the same bytes in base64, for pages opened from disk.
tinyms-web.json lists every file with its SHA-256.
"""
