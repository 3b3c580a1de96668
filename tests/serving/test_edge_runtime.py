"""The TinyMS runtime (``runtime/pyproject.toml``) built from this checkout, installed and used without MindSpore.

``runtime/make_env.py`` builds the wheel from a copy of ``runtime/`` and ``tinyms/`` (the
checkout is left as it is) and installs it with pip into a fresh ``python -m venv --without-pip``
environment under the test's temporary folder (pip's cache there too; the dependencies come
from the package index).
Meanwhile this process, the full install, trains a LeNet5 a few steps and writes it as
servables: ONNX served (as ``tinyms train`` writes it), checkpoint served with an ONNX copy,
checkpoint only; plus a small detector, a small image-to-image generator and a tabular network (rows encoded
by its feature spec) as ONNX. In the runtime, ``import mindspore`` fails,
``tinyms serve`` serves the folder and the ``Predictor`` and client answer as the full install
does (same labels, class ids and boxes; scores to float32 precision: the runtime's onnxruntime
release may differ from the full install's), and the checkpoint-only servable is refused with
``MindSporeRequiredError`` naming the export that makes it servable.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from .conftest import free_port, png_bytes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGES = 4  # MNIST test digits sent as PNG files

# Run inside the runtime's environment: every answer as plain JSON on stdout.
EDGE_SCRIPT = textwrap.dedent("""
    import json, sys
    try:
        import mindspore  # noqa: F401
        absent = False
    except ModuleNotFoundError:
        absent = True
    import numpy as np
    from tinyms.serving import Client, Detections, MindSporeRequiredError, Predictor, ServableConfigError, TranslatedImage

    def plain(result):
        if isinstance(result, (Detections, TranslatedImage)):
            return result.to_dict()
        if isinstance(result, list):
            return [plain(r) for r in result]
        return {"labels": list(result.labels), "scores": list(result.scores), "indices": list(result.indices)}

    args = json.loads(sys.argv[1])
    out = {"mindspore_absent": absent, "predictor": {}, "http": {}}
    client = Client("127.0.0.1", args["port"])
    for name, files in args["inputs"].items():
        predict = Predictor(args["serving"], name)
        out["predictor"][name] = [plain(predict(path, strategy="TOP5_CLASS" if name != "shapes" else "TOP1_CLASS"))
                                  for path in files]
        out["http"][name] = [plain(client.predict(path, name, strategy="TOP5_CLASS" if name != "shapes"
                                                  else "TOP1_CLASS")) for path in files]
    import warnings
    with warnings.catch_warnings():  # a category never seen in training is answered with a warning
        warnings.simplefilter("ignore")
        out["tabular"] = {"predictor": Predictor(args["serving"], "clicks")(args["rows"]),
                          "http": client.predict(args["rows"], "clicks")}
    batch = np.load(args["batch"])
    out["batch"] = plain(Predictor(args["serving"], "lenet5")(batch))
    try:
        Predictor(args["serving"], "lenet5_ckpt_only")
        out["refusal"] = None
    except MindSporeRequiredError as err:
        out["refusal"] = str(err)
    try:  # a text servable, in a runtime installed without its text extra (tokenizers)
        Predictor(args["serving"], "reviews")
        out["text_refusal"] = None
    except ServableConfigError as err:
        out["text_refusal"] = str(err)
    out["listing"] = {s["name"]: [s["ready"], s.get("error", ""), s.get("model", {}).get("format")]
                      for s in client.list_servables()}
    out["mindspore_loaded"] = "mindspore" in sys.modules
    print(json.dumps(out))
""")


def _start_install(root):
    """``runtime/make_env.py`` in the background: the wheel built, ``root/env`` made; returns (Popen, log path)."""
    log = os.path.join(root, "install.log")
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, os.path.join(REPO, "runtime", "make_env.py"), os.path.join(root, "env"),
                                 "--work", os.path.join(root, "build")], stdout=f, stderr=subprocess.STDOUT, cwd=root,
                                env=_clean_env(root))
    return proc, log


def _clean_env(root):
    """The environment for the runtime's processes: nothing pointing back at the full install."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["TINYMS_HOME"] = os.path.join(root, "home")
    return env


def _train_lenet():
    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.model import Model, lenet5
    from tinyms.vision import mnist_transform

    train_ds = mnist_transform.apply_ds(MnistDataset(sample_dataset("mnist"), usage="train", num_samples=128))
    model = Model(lenet5(class_num=10)).compile("cross_entropy", "adam", learning_rate=0.01)
    history = model.train(1, train_ds, verbose=0)
    assert len(history.steps["loss"]) == 4  # 128 images, batch 32
    return model.network


@pytest.fixture(scope="module")
def edge(tmp_path_factory, mnist_images):
    """Servables the full install wrote, their full-install answers, and the runtime's environment."""
    root = str(tmp_path_factory.mktemp("edge"))
    started = time.monotonic()
    install, log = _start_install(root)
    try:
        from tinyms.serving import Predictor, write_servable

        from .test_detection_serving import LABELS, SIZE, _detector_class, _transform

        serving = os.path.join(root, "serving")
        net = _train_lenet()
        write_servable(serving, "lenet5", net, "trained a few steps", formats=("onnx", "ckpt"))
        write_servable(serving, "lenet5_ms", net, "served from its checkpoint", formats=("ckpt", "onnx"))
        write_servable(serving, "lenet5_ckpt_only", net, "no ONNX model", formats=("ckpt",))
        from tinyms.model.registry import ModelConfig

        detector = _detector_class()()
        detector.set_train(False)
        detector.default_cfg = ModelConfig(name="tiny_detector", input_shape=(3, SIZE, SIZE), mean=(0.5,) * 3,
                                           std=(0.5,) * 3, labels=LABELS, recipe=_transform().recipe,
                                           task="detection", background=True)
        write_servable(serving, "shapes", detector, "a tiny detector", formats=("onnx",), transform=_transform())
        from tinyms.text import text_transform

        from .test_text_serving import MAX_LENGTH, NEG, POS, _network

        texts = text_transform("word", texts=POS + NEG, max_length=MAX_LENGTH, labels=["neg", "pos"])
        write_servable(serving, "reviews", _network(texts.tokenizer.vocab_size), formats=("onnx",),
                       text_transform=texts)
        from .test_i2i_serving import _config, _generator_class

        generator = _generator_class()(0)
        generator.default_cfg = _config()
        write_servable(serving, "translate", generator, "a tiny generator", formats=("onnx",))
        from tinyms.data import FeatureSpec
        from tinyms.model import tabular_mlp

        from .test_tabular_serving import ROWS, _table

        table = {k: v for k, v in _table().items() if k in ("city", "plan", "age", "spend", "clicked")}
        spec = FeatureSpec.fit(table, label="clicked", categorical=["city", "plan"], min_freq=1, verbose=False)
        clicks = tabular_mlp(spec.field_size, spec.vocab_size, embed_size=4, hidden=(8,), keep_prob=1.0)
        write_servable(serving, "clicks", clicks, "a tiny tabular network", formats=("onnx",), features=spec)
        images = os.path.join(root, "images")
        os.makedirs(images)
        digits = []
        for i in range(IMAGES):
            digits.append(os.path.join(images, f"digit{i}.png"))
            with open(digits[-1], "wb") as f:
                f.write(png_bytes(mnist_images[i]))
        photo = os.path.join(images, "shapes.png")
        rgb = np.full((90, 120, 3), 128, np.uint8)
        rgb[:45, :60] = (255, 0, 0)
        rgb[68:, 90:] = (0, 255, 0)
        with open(photo, "wb") as f:
            f.write(png_bytes(rgb))
        batch = os.path.join(images, "batch.npy")
        np.save(batch, np.random.default_rng(0).standard_normal((3, 1, 32, 32)).astype(np.float32))
        inputs = {"lenet5": digits, "lenet5_ms": digits, "shapes": [photo], "translate": [photo]}
        full = {name: [Predictor(serving, name)(path, strategy="TOP1_CLASS" if name == "shapes" else "TOP5_CLASS")
                       for path in files] for name, files in inputs.items()}
        full_batch = Predictor(serving, "lenet5")(np.load(batch))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full_rows = Predictor(serving, "clicks")(ROWS)
    except BaseException:
        install.kill()
        install.wait()
        raise
    try:
        code = install.wait(timeout=600)
    except subprocess.TimeoutExpired:
        install.kill()
        install.wait()
        code = "timeout"
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    assert code == 0, f"building or installing the runtime failed ({code}):\n{text[-3000:]}"
    print(f"runtime built and installed, full-install servables written, in {time.monotonic() - started:.1f} s")
    dist = os.path.join(root, "build", "dist")
    return {"root": root, "serving": serving, "wheel": os.path.join(dist, os.listdir(dist)[0]), "inputs": inputs, "batch": batch, "full": full,
            "full_batch": full_batch, "rows": ROWS, "full_rows": full_rows, "python": os.path.join(root, "env", "bin", "python"),
            "tinyms": os.path.join(root, "env", "bin", "tinyms"), "env": _clean_env(root)}


@pytest.fixture(scope="module")
def edge_answers(edge):
    """Start ``tinyms serve`` in the runtime, then run EDGE_SCRIPT there against it and the folder."""
    port = free_port()
    server = subprocess.Popen([edge["tinyms"], "serve", edge["serving"], "--port", str(port)], cwd=edge["root"],
                              env=edge["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        from tinyms.serving import Client

        client, deadline = Client("127.0.0.1", port, timeout=5), time.monotonic() + 60
        while not client.server_started():
            assert server.poll() is None, f"tinyms serve exited: {server.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "tinyms serve did not answer within 60 s"
            time.sleep(0.05)
        args = {"serving": edge["serving"], "port": port, "inputs": edge["inputs"], "batch": edge["batch"],
                "rows": edge["rows"]}
        run = subprocess.run([edge["python"], "-c", EDGE_SCRIPT, json.dumps(args)], cwd=edge["root"],
                             env=edge["env"], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        return json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def _same_classes(edge_rows, full_rows):
    """Labels and class ids equal, scores equal to float32 precision."""
    assert len(edge_rows) == len(full_rows)
    for got, want in zip(edge_rows, full_rows):
        assert got["labels"] == list(want.labels) and got["indices"] == list(want.indices)
        np.testing.assert_allclose(got["scores"], want.scores, rtol=1e-5, atol=1e-7)


def test_runtime_environment_has_no_mindspore(edge, edge_answers):
    check = subprocess.run([edge["python"], "-c", "import mindspore"], cwd=edge["root"], env=edge["env"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode != 0 and "No module named 'mindspore'" in check.stderr
    assert edge_answers["mindspore_absent"] and not edge_answers["mindspore_loaded"]
    site = subprocess.run([edge["python"], "-c", "import tinyms, numpy; print(tinyms.__file__)"], cwd=edge["root"],
                          env=edge["env"], capture_output=True, text=True, timeout=60)
    assert site.stdout.startswith(os.path.join(edge["root"], "env")), site.stdout  # the installed copy


@pytest.mark.parametrize("route", ["predictor", "http"])
@pytest.mark.parametrize("name", ["lenet5", "lenet5_ms"])
def test_runtime_classifies_as_the_full_install(edge, edge_answers, route, name):
    # lenet5_ms: the full install answers from the checkpoint on MindSpore, the runtime from its ONNX copy
    _same_classes(edge_answers[route][name], edge["full"][name])


def test_runtime_batch_tensor_as_the_full_install(edge, edge_answers):
    _same_classes(edge_answers["batch"], edge["full_batch"])


@pytest.mark.parametrize("route", ["predictor", "http"])
def test_runtime_detects_as_the_full_install(edge, edge_answers, route):
    (got,), (want,) = edge_answers[route]["shapes"], edge["full"]["shapes"]
    want = want.to_dict()
    assert got["image_size"] == want["image_size"] == {"width": 120, "height": 90}
    assert [d["label"] for d in got["detections"]] == [d["label"] for d in want["detections"]]
    assert {d["label"] for d in got["detections"]} == {"red", "green"}
    for g, w in zip(got["detections"], want["detections"]):
        np.testing.assert_allclose(g["box"], w["box"], atol=1e-3)
        assert g["score"] == pytest.approx(w["score"], rel=1e-5)


@pytest.mark.parametrize("route", ["predictor", "http"])
def test_runtime_translates_images_as_the_full_install(edge, edge_answers, route):
    import base64
    import io

    from PIL import Image

    (got,), (want,) = edge_answers[route]["translate"], edge["full"]["translate"]
    assert (got["width"], got["height"]) == (want.width, want.height) == (16, 16)
    assert got["input_size"] == {"width": 120, "height": 90}
    with Image.open(io.BytesIO(base64.b64decode(got["image"]))) as img:
        pixels = np.asarray(img, np.int16)
    assert np.abs(pixels - want.array.astype(np.int16)).max() <= 1  # onnxruntime releases may round apart


@pytest.mark.parametrize("route", ["predictor", "http"])
def test_runtime_answers_table_rows_as_the_full_install(edge, edge_answers, route):
    """Rows encoded by tinyms.data's FeatureSpec (numpy only) and run on onnxruntime, as the full install does."""
    got, want = edge_answers["tabular"][route], edge["full_rows"]
    assert [g["label"] for g in got] == [w["label"] for w in want] and len(got) == len(edge["rows"])
    assert [g["probability"] for g in got] == pytest.approx([w["probability"] for w in want], abs=1e-5)
    assert edge_answers["listing"]["clicks"] == [True, "", "onnx"]


def test_runtime_refuses_a_checkpoint_only_servable_naming_the_export(edge, edge_answers):
    refusal = edge_answers["refusal"]
    assert refusal is not None and "lenet5_ckpt_only" in refusal and "no MindSpore" in refusal
    assert "write_servable(" in refusal and "formats=('onnx', 'ckpt')" in refusal
    listing = edge_answers["listing"]
    assert listing["lenet5_ckpt_only"][:2] == [False, refusal]
    # served where they run: the ONNX servable, and the checkpoint servable from its ONNX copy
    assert listing["lenet5"] == [True, "", "onnx"] and listing["lenet5_ms"] == [True, "", "onnx"]
    folder = os.path.join(edge["root"], "ckpt_only")
    os.makedirs(folder)
    shutil.copytree(os.path.join(edge["serving"], "lenet5_ckpt_only"), os.path.join(folder, "lenet5_ckpt_only"))
    with open(os.path.join(edge["serving"], "servable.json"), encoding="utf-8") as f:
        entries = [e for e in json.load(f) if e["name"] == "lenet5_ckpt_only"]
    with open(os.path.join(folder, "servable.json"), "w", encoding="utf-8") as f:
        json.dump(entries, f)
    run = subprocess.run([edge["tinyms"], "serve", folder, "--port", str(free_port())], cwd=edge["root"],
                         env=edge["env"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: {refusal}"


def test_runtime_without_its_text_extra_refuses_text_servables_naming_it(edge_answers):
    refusal = edge_answers["text_refusal"]
    assert refusal is not None and "'reviews'" in refusal and "needs the 'tokenizers' package" in refusal
    assert 'pip install "./runtime[text]"' in refusal
    ready, error, _ = edge_answers["listing"]["reviews"]
    assert not ready and "needs the 'tokenizers' package" in error and "Traceback" not in error


def test_runtime_with_its_text_extra_classifies_text_as_the_full_install(edge, edge_answers):
    """After ``pip install "tinyms-runtime[text]"`` the same environment serves the text servable from ONNX."""
    from tinyms.serving import Predictor

    cache = os.path.join(edge["root"], "build", "pip-cache")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", edge["python"], "install", "--quiet",
                              "--no-compile", "--cache-dir", cache, "--find-links", os.path.dirname(edge["wheel"]),
                              "tinyms-runtime[text]"], cwd=edge["root"], env=edge["env"], capture_output=True,
                             text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    texts = ["a good good story", "dull and boring acting", "i loved the film " * 20]  # the last is truncated
    script = ("import json, sys, warnings; from tinyms.serving import Predictor\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n"
              "    answers = Predictor(sys.argv[1], 'reviews')(json.loads(sys.argv[2]))\n"
              "print(json.dumps({'answers': [[p.label, p.score] for p in answers],\n"
              "                  'warnings': [type(w.message).__name__ for w in caught],\n"
              "                  'mindspore': 'mindspore' in sys.modules}))\n")
    run = subprocess.run([edge["python"], "-c", script, edge["serving"], json.dumps(texts)], cwd=edge["root"],
                         env=edge["env"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        want = Predictor(edge["serving"], "reviews")(texts)
    assert [label for label, _ in got["answers"]] == [p.label for p in want] and len(want) == 3
    for (_, score), p in zip(got["answers"], want):
        assert score == pytest.approx(p.score, rel=1e-5)
    assert got["warnings"] == ["TruncationWarning"] and not got["mindspore"]


def test_runtime_carries_every_module_of_the_checkout(edge):
    """A new task (or any module) is in the runtime without a change to runtime/: every .py file and the page."""
    import zipfile

    names = set(zipfile.ZipFile(edge["wheel"]).namelist())
    package = os.path.join(REPO, "tinyms")
    wanted = {os.path.relpath(os.path.join(folder, f), REPO).replace(os.sep, "/")
              for folder, dirs, files in os.walk(package) if "__pycache__" not in folder
              for f in files if f.endswith(".py") or os.path.basename(folder) == "static"}
    assert wanted and not wanted - names
    assert not [n for n in names if "_sample/" in n or n.endswith(".ckpt")]  # no data sets, no MindSpore weights


def test_runtime_commands_that_need_mindspore_say_so(edge):
    run = subprocess.run([edge["tinyms"], "models"], cwd=edge["root"], env=edge["env"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.startswith("error: tinyms models needs the full TinyMS install") and "Traceback" not in run.stderr
