"""Tabular servables end to end: write_servable(features=spec), the TinyMS and v2 routes, the page, Predictor.

A small generated table (two categorical columns, one of them with 80 values, two numeric ones)
gives a FeatureSpec; tiny ``tabular_mlp`` networks (binary, regression, multiclass) built from it
are written as ONNX (served on onnxruntime in the front end) and the binary one also as MindIR
(served by a MindSpore executor process: the packed ids and values cross its socket). Every served
answer is compared with ``Model(net).predict(spec.encode(rows))`` in this process.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import requests

ROWS = [{"city": "Lyon", "plan": "z17", "age": 31, "spend": 120.5},
        {"city": "Oslo", "age": 58.0, "spend": 3.25},  # plan left out: a missing value
        {"city": "Rome", "plan": "z3", "age": None, "spend": ""},  # null and "" are missing values too
        {"city": "Atlantis", "plan": "z40", "age": "44", "spend": 0, "clicked": 1}]  # unseen city; the label ignored


def _table(rows=240, seed=0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Oslo", "Rome", "Kyiv"], rows)
    plan = np.array([f"z{i % 80}" for i in range(rows)])  # 80 values: the page suggests 50 of them
    age = rng.normal(45, 12, rows).round(1)
    spend = rng.exponential(50, rows).round(2)
    score = (city == "Lyon") * 1.0 + (age - 45) / 12 + rng.normal(0, 0.5, rows)
    return {"city": city.tolist(), "plan": plan.tolist(), "age": age.tolist(), "spend": spend.tolist(),
            "clicked": (score > 0.3).astype(int).tolist(), "amount": (spend * 2 + age).tolist(),
            "tier": np.where(score > 1, "gold", np.where(score > 0, "silver", "bronze")).tolist()}


@pytest.fixture(scope="module")
def tables():
    """``{objective: (spec, network)}``: a binary, a regression and a multiclass tabular_mlp of the table."""
    import mindspore as ms

    from tinyms.data import FeatureSpec
    from tinyms.model import tabular_mlp

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(5)
    table = _table()
    out = {}
    for objective, label in (("binary", "clicked"), ("regression", "amount"), ("multiclass", "tier")):
        columns = {k: v for k, v in table.items() if k in ("city", "plan", "age", "spend", label)}
        spec = FeatureSpec.fit(columns, label=label, categorical=["city", "plan"], numeric=["age", "spend"],
                               objective=objective, min_freq=1, verbose=False)
        net = tabular_mlp(spec.field_size, spec.vocab_size, embed_size=4, hidden=(8,), keep_prob=1.0,
                          objective=objective, num_outputs=len(spec.label_classes) if objective == "multiclass"
                          else None, target_mean=spec.label_mean, target_scale=spec.label_scale)
        net.set_train(False)
        out[objective] = (spec, net)
    return out


def _expected(spec, net, rows):
    """The in-process answer: Model.predict on the rows the spec encodes, then the objective's link."""
    from tinyms.model import Model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Model(net).predict(spec.encode([{k: v for k, v in r.items() if k != spec.label} for r in rows]))
    out = np.asarray(out.asnumpy() if hasattr(out, "asnumpy") else out, np.float64)
    if spec.objective == "binary":
        return 1.0 / (1.0 + np.exp(-out[:, 0]))
    if spec.objective == "regression":
        return out[:, 0]
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def serving(tmp_path_factory, tables):
    from tinyms.serving import write_servable

    folder = str(tmp_path_factory.mktemp("tabular_serving"))
    spec, net = tables["binary"]
    write_servable(folder, "clicks", net, "clicks on onnxruntime", formats=("onnx", "ckpt"), features=spec)
    # as tinyms train passes it (transform=), served by a MindSpore executor from MindIR
    write_servable(folder, "clicks_ms", net, "clicks on MindSpore", formats=("mindir",), transform=spec,
                   max_batch_size=4)
    spec, net = tables["regression"]
    write_servable(folder, "amount", net, formats=("onnx",), features=spec.to_dict())  # the dict form
    spec, net = tables["multiclass"]
    path = os.path.join(folder, "tier_spec.json")
    spec.save(path)
    write_servable(folder, "tier", net, formats=("onnx",), features=path)  # the JSON file's path
    return folder


@pytest.fixture(scope="module")
def server(serving):
    from tinyms.serving import Server

    with Server(port=0, serving_path=serving, max_request_bytes=200_000) as srv:
        yield srv


def _post(server, name, **kwargs):
    return requests.post(f"{server.url}/servables/{name}", timeout=30, **kwargs)


# ---------------------------------------------------------------------------- writing
def test_entry_records_the_feature_spec_and_the_onnx_takes_ids_and_values(serving, tables):
    import onnxruntime as ort

    from tinyms._fileio import sha256_of
    from tinyms.data import FeatureSpec

    spec, _ = tables["binary"]
    with open(os.path.join(serving, "servable.json"), encoding="utf-8") as f:
        entries = {e["name"]: e for e in json.load(f)}
    model = entries["clicks"]["model"]
    assert model["task"] == "tabular" and model["input_shape"] == [4] and "labels" not in model
    features = model["features"]
    assert features["file"] == "features.json" and features["objective"] == "binary"
    assert features["label"] == "clicked" and features["label_classes"] == [0, 1]
    assert (features["field_size"], features["vocab_size"]) == (spec.field_size, spec.vocab_size)
    path = os.path.join(serving, "clicks", "features.json")
    assert sha256_of(path) == features["sha256"] and FeatureSpec.load(path) == spec
    assert model["build_args"]["field_size"] == 4 and sorted(model["files"]) == ["ckpt", "onnx"]
    session = ort.InferenceSession(os.path.join(serving, "clicks", model["files"]["onnx"]))
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [
        ("feat_ids", "tensor(int32)", ["batch", 4]), ("feat_vals", "tensor(float)", ["batch", 4])]
    assert [o.name for o in session.get_outputs()] == ["output"]
    assert entries["tier"]["model"]["features"]["label_classes"] == ["bronze", "gold", "silver"]
    assert entries["amount"]["model"]["features"]["objective"] == "regression"


def test_a_tabular_network_needs_a_spec_that_fits_it(tmp_path, tables):
    from tinyms.data import FeatureSpec
    from tinyms.model import create_model, tabular_mlp
    from tinyms.serving import ServableConfigError, write_servable

    spec, net = tables["binary"]
    with pytest.raises(ServableConfigError, match="tabular network: pass features="):
        write_servable(str(tmp_path), "bad", net, formats=("onnx",))
    with pytest.raises(ServableConfigError, match="features= is for tabular networks"):
        write_servable(str(tmp_path), "bad", create_model("lenet5", class_num=2), formats=("onnx",), features=spec)
    narrow = tabular_mlp(3, spec.vocab_size, embed_size=4, hidden=(8,))
    with pytest.raises(ServableConfigError, match=r"field_size 4 but TabularMLP was built with field_size=3"):
        write_servable(str(tmp_path), "bad", narrow, formats=("onnx",), features=spec)
    small = tabular_mlp(4, spec.vocab_size - 1, embed_size=4, hidden=(8,))
    with pytest.raises(ServableConfigError, match=f"vocab_size {spec.vocab_size} but TabularMLP was built with"):
        write_servable(str(tmp_path), "bad", small, formats=("onnx",), features=spec)
    regression, _ = tables["regression"]
    other = FeatureSpec.from_dict(dict(regression.to_dict(), fields=spec.to_dict()["fields"]))
    with pytest.raises(ServableConfigError, match="objective is 'regression' but TabularMLP was built for 'binary'"):
        write_servable(str(tmp_path), "bad", net, formats=("onnx",), features=other)
    with pytest.raises(ServableConfigError, match="features: feature spec: key 'fields' is missing"):
        write_servable(str(tmp_path), "bad", net, formats=("onnx",), features={"label": "y", "objective": "binary"})
    assert not os.path.exists(tmp_path / "servable.json")


# ---------------------------------------------------------------------------- the TinyMS route
@pytest.mark.parametrize("name", ["clicks", "clicks_ms"])
def test_rows_are_answered_as_in_process(server, tables, name):
    from tinyms.serving import UnseenValueWarning

    spec, net = tables["binary"]
    want = _expected(spec, net, ROWS)
    with pytest.warns(UnseenValueWarning, match="row 3: 'Atlantis' in column 'city' was not seen in training"):
        got = server.client().predict(ROWS, name)
    assert [round(g["probability"], 6) for g in got] == pytest.approx(want, abs=1e-5)
    assert [g["label"] for g in got] == [1 if p >= 0.5 else 0 for p in want]
    one = server.client().predict(ROWS[0], name)  # one row: one answer
    assert one["probability"] == pytest.approx(want[0], abs=1e-5) and set(one) == {"probability", "label"}
    body = _post(server, name, json=ROWS[1]).json()  # the body itself as the row
    assert body["batch"] is False and body["objective"] == "binary" and body["notes"] == []
    assert body["predictions"][0]["probability"] == pytest.approx(want[1], abs=1e-5)


def test_regression_and_multiclass_answers(server, tables):
    spec, net = tables["regression"]
    got = server.client().predict(ROWS[:3], "amount")
    assert [g["value"] for g in got] == pytest.approx(_expected(spec, net, ROWS[:3]), rel=1e-5, abs=1e-4)
    spec, net = tables["multiclass"]
    want = _expected(spec, net, ROWS[:3])
    body = _post(server, "tier", json={"rows": ROWS[:3]}).json()
    assert body["objective"] == "multiclass" and body["batch"] is True
    for answer, probs in zip(body["predictions"], want):
        assert list(answer["probabilities"]) == ["bronze", "gold", "silver"]
        assert list(answer["probabilities"].values()) == pytest.approx(probs, abs=1e-5)
        assert answer["label"] == ["bronze", "gold", "silver"][int(np.argmax(probs))]


def test_unseen_values_are_noted_row_by_row_and_the_notes_bounded(serving):
    from tinyms.serving import Predictor

    with Predictor(serving, "clicks") as predict:
        rows = [{"city": f"Nowhere{i}", "plan": "z1" if i % 2 else "unheard-of"} for i in range(25)]
        body = predict._request("POST", "/servables/clicks", {"rows": rows})
    assert len(body["predictions"]) == 25 and len(body["notes"]) == 21  # 20 sentences, then the count
    assert body["notes"][:3] == [
        "row 0: 'Nowhere0' in column 'city' was not seen in training; it was read as an unknown value",
        "row 0: 'unheard-of' in column 'plan' was not seen in training; it was read as an unknown value",
        "row 1: 'Nowhere1' in column 'city' was not seen in training; it was read as an unknown value"]
    assert body["notes"][-1] == "and 18 more values never seen in training, read as unknown values"


@pytest.mark.parametrize("send, status, words", [
    ({"json": {"rows": [{"city": "Lyon", "agee": 30, "colour": 1}]}}, 400,
     ["rows[0] has column(s) this servable does not know: 'agee', 'colour'", "city, plan, age, spend"]),
    ({"json": {"city": "Lyon", "age": "old"}}, 400, ["column 'age' is numeric, but it holds 'old'"]),
    ({"json": {"rows": [{"city": ["Lyon"]}]}}, 400, ["rows[0]: column 'city' holds a list"]),
    ({"data": b'{"rows": [{"age": 1e400}]}', "headers": {"Content-Type": "application/json"}}, 400,
     ["column 'age' holds inf, not a finite number"]),
    ({"json": {"rows": [{"city": "Lyon"}, 7]}}, 400, ["rows[1] must be an object", "got int"]),
    ({"json": {"rows": []}}, 400, ["'rows' is an empty list"]),
    ({"json": {"rows": [{"age": 1}] * 1025}}, 413, ["1,025 rows, more than the 1024"]),
    ({"json": {"rows": [{"age": 1}], "strategy": "TOP5_CLASS"}}, 400, ["remove 'strategy'"]),
    ({"data": b"city=Lyon", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415,
     ["takes table rows as application/json"]),
    ({"data": b'{"rows": [{"age": NaN}]}', "headers": {"Content-Type": "application/json"}}, 400,
     ["NaN is not a JSON number"]),
    ({"json": {"rows": [{"plan": "x" * 300_000}]}}, 413, ["more than this server's limit of 200,000"]),
])
def test_bad_rows_get_a_4xx_naming_the_column(server, serving, send, status, words):
    reply = _post(server, "clicks", **send)
    assert reply.status_code == status, reply.text
    message = reply.json()["error"]
    for word in words:
        assert word in message, message
    assert serving not in reply.text and "Traceback" not in reply.text


def test_rows_sent_to_another_servable_are_refused(tmp_path):
    from tinyms.model import create_model
    from tinyms.serving import ClientError, Predictor, write_servable

    write_servable(str(tmp_path), "digits", create_model("lenet5", class_num=10), formats=("onnx",))
    predict = Predictor(str(tmp_path / "digits"))
    with pytest.raises(TypeError, match="to a classification servable: rows .* are for tabular servables"):
        predict([{"age": 3}])
    with pytest.raises(ClientError, match="classification servable: it takes images or tensors, not table rows"):
        predict._request("POST", "/servables/digits", {"rows": [{"age": 3}]})


def test_servable_description_openapi_and_the_browser_export(server, serving, tmp_path):
    from tinyms.errors import ExportError
    from tinyms.serving import export_web

    item = requests.get(f"{server.url}/servables/clicks", timeout=30).json()
    assert item["task"] == "tabular" and item["inputs"] == ["rows"]
    info = item["tabular"]
    assert info["objective"] == "binary" and info["label"] == "clicked" and info["label_classes"] == [0, 1]
    assert info["max_rows"] == 1024 and [c["name"] for c in info["columns"]] == ["city", "plan", "age", "spend"]
    city, plan, age = info["columns"][:3]
    assert age == {"name": "age", "kind": "numeric"}
    assert city["vocabulary"] == 4 and sorted(city["choices"]) == ["Kyiv", "Lyon", "Oslo", "Rome"]
    assert plan["vocabulary"] == 80 and len(plan["choices"]) == 50  # bounded: never the whole vocabulary
    doc = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    assert "rows" in doc["components"]["schemas"]["PredictRequest"]["properties"]
    assert doc["components"]["schemas"]["TabularResponse"]["properties"]["task"]["const"] == "tabular"
    with pytest.raises(ExportError, match="takes table rows, which the browser page cannot encode"):
        export_web(serving, str(tmp_path / "page"), names=["clicks"])


# ---------------------------------------------------------------------------- Open Inference Protocol
@pytest.mark.parametrize("name", ["clicks", "clicks_ms"])
def test_oip_rows_round_trip(server, tables, name):
    spec, net = tables["binary"]
    want = _expected(spec, net, ROWS)
    meta = requests.get(f"{server.url}/v2/models/{name}", timeout=30).json()
    assert meta["inputs"] == [{"name": "rows", "datatype": "BYTES", "shape": [-1]}]
    assert [(o["name"], o["datatype"]) for o in meta["outputs"]] == [("output", "FP32"), ("predictions", "BYTES")]
    reply = requests.post(f"{server.url}/v2/models/{name}/infer", timeout=30, json={
        "id": "t1", "inputs": [{"name": "rows", "datatype": "BYTES", "shape": [len(ROWS)],
                                "data": [json.dumps(r) for r in ROWS]}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["id"] == "t1" and "'Atlantis'" in body["parameters"]["notes"][0]
    out = {o["name"]: o for o in body["outputs"]}
    assert out["output"]["shape"] == [len(ROWS), 1]
    logits = np.asarray(out["output"]["data"], np.float64)
    assert 1.0 / (1.0 + np.exp(-logits)) == pytest.approx(want, abs=1e-5)
    assert [json.loads(p)["label"] for p in out["predictions"]["data"]] == [int(p >= 0.5) for p in want]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = server.client().infer(name, ROWS)  # binary: length-prefixed UTF-8 JSON per row
    assert [a["probability"] for a in answer["predictions"]] == pytest.approx(want, abs=1e-5)


def test_oip_refuses_bad_rows(server):
    url = f"{server.url}/v2/models/clicks/infer"
    for tensor, words in [
            ({"name": "rows", "datatype": "BYTES", "shape": [2], "data": ["{}"]}, "holds 1 row(s)"),
            ({"name": "rows", "datatype": "BYTES", "shape": [1], "data": ["{not json"]}, "rows[0] is not a JSON"),
            ({"name": "rows", "datatype": "BYTES", "shape": [1], "data": ['{"size": 3}']}, "'size'"),
            ({"name": "rows", "datatype": "FP32", "shape": [1], "data": [1.0]}, "takes BYTES"),
            ({"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [0, 0, 0, 0]}, "one input named 'rows'"),
            ({"name": "rows", "datatype": "BYTES", "shape": [1025], "data": ["{}"] * 1025}, "1,025 rows")]:
        reply = requests.post(url, json={"inputs": [tensor]}, timeout=30)
        assert 400 <= reply.status_code < 500 and words in reply.json()["error"], reply.text


# ---------------------------------------------------------------------------- loading, Predictor, no MindSpore
def test_a_changed_feature_spec_is_refused_at_load(tmp_path, serving):
    from tinyms.serving import Predictor, ServableConfigError
    from tinyms.serving._config import load_servables
    from tinyms.serving._front import Servable

    folder = tmp_path / "copy"
    shutil.copytree(serving, folder)
    path = folder / "clicks" / "features.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec["fields"][0]["vocab"].reverse()  # the cities swap ids: the network would read the wrong rows
    path.write_text(json.dumps(spec), encoding="utf-8")
    specs, problems = load_servables(str(folder))
    assert [p.servable for p in problems] == ["clicks"]
    assert "the feature spec features.json has SHA-256" in problems[0].reason and "changed" in problems[0].reason
    with pytest.raises(ServableConfigError, match="it was changed after the servable was written"):
        Predictor(str(folder / "clicks"))
    # the front end checks again when it reads the spec (a file changed after the entry was checked)
    entry = next(s for s in load_servables(serving)[0] if s.name == "clicks")
    entry.root = str(folder)
    with pytest.raises(ValueError, match="was changed after the servable was written"):
        Servable(entry, {"input_shape": [4], "labels": [], "task": "tabular"}, None, 1, None)


def test_a_deepfm_checkpoint_servable_is_rebuilt_and_answers(tmp_path, tables):
    from tinyms.model import deepfm
    from tinyms.serving import Predictor, write_servable

    spec, _ = tables["binary"]
    net = deepfm(field_size=spec.field_size, vocab_size=spec.vocab_size, embed_size=4)
    net.set_train(False)
    entry = write_servable(str(tmp_path), "deepfm", net, formats=("ckpt",), features=spec)
    assert entry["model"]["build_args"]["vocab_size"] == spec.vocab_size
    with Predictor(str(tmp_path), "deepfm") as predict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = predict(ROWS)
    assert [g["probability"] for g in got] == pytest.approx(_expected(spec, net, ROWS), abs=1e-5)


NO_MINDSPORE = textwrap.dedent("""
    import json, sys, warnings
    sys.modules["mindspore"] = None  # any import of MindSpore fails
    from tinyms.serving import Predictor
    predict = Predictor(sys.argv[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = predict(json.loads(sys.argv[2]))
    print(json.dumps({"answers": answers, "warnings": [type(w.message).__name__ for w in caught],
                      "modules": sorted(m for m, mod in sys.modules.items()
                                  if mod is not None and m.startswith(("mindspore", "tinyms.model")))}))
""")


def test_tabular_serving_imports_no_mindspore(serving, tables):
    """The ONNX servable as the edge runtime runs it: rows encoded by tinyms.data's FeatureSpec, no MindSpore."""
    spec, net = tables["binary"]
    run = subprocess.run([sys.executable, "-c", NO_MINDSPORE, os.path.join(serving, "clicks"), json.dumps(ROWS)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, GLOG_v="3"))
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert [a["probability"] for a in got["answers"]] == pytest.approx(_expected(spec, net, ROWS), abs=1e-5)
    assert got["warnings"] == ["UnseenValueWarning"] and got["modules"] == []


# ---------------------------------------------------------------------------- the web page in Chromium
from .test_page import CHROMEDRIVER, CHROMIUM, browser  # noqa: E402,F401 - the page tests' headless Chromium


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver; provided in CI by .ci/run")
def test_the_page_has_a_form_for_a_tabular_servable(browser, server, tables):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    spec, net = tables["binary"]
    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    Select(browser.find_element(By.ID, "servable")).select_by_value("clicks")
    assert browser.find_element(By.ID, "table-panel").is_displayed()
    assert not browser.find_element(By.ID, "drop-zone").is_displayed()
    inputs = {i.get_attribute("data-column"): i for i in browser.find_elements(By.CSS_SELECTOR, "#table-fields input")}
    assert list(inputs) == ["city", "plan", "age", "spend"]
    assert inputs["age"].get_attribute("type") == "number" and inputs["city"].get_attribute("type") == "text"
    plan_choices = browser.find_elements(By.CSS_SELECTOR, f"#{inputs['plan'].get_attribute('list')} option")
    assert len(plan_choices) == 50  # of 80 known values

    def predict(row):
        for name, field in inputs.items():
            field.clear()
            if row.get(name) is not None:
                field.send_keys(str(row[name]))
        browser.execute_script("window.tinymsLastReply = null")
        browser.find_element(By.ID, "predict-row").click()
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window.tinymsLastReply !== null"))
        return browser.execute_script("return window.tinymsLastReply")

    reply = predict(ROWS[0])
    (want,) = _expected(spec, net, ROWS[:1])
    assert reply["predictions"][0]["probability"] == pytest.approx(want, abs=1e-5)
    label = int(want >= 0.5)
    shown = browser.find_element(By.ID, "tabular-answer").text
    assert shown == f"clicked: {label} (probability of 1: {want * 100:.1f}%)", shown
    assert f"Predicted by clicks: {label}" in browser.find_element(By.ID, "status").text
    assert not browser.find_element(By.ID, "notes").is_displayed()
    # a city never seen in training is answered, and the page says how it was read; an empty field is missing
    row = {"city": "Atlantis", "age": 44}
    reply = predict(row)
    assert reply["predictions"][0]["probability"] == pytest.approx(_expected(spec, net, [row])[0], abs=1e-5)
    notes = browser.find_element(By.ID, "notes")
    assert notes.is_displayed() and "'Atlantis' in column 'city' was not seen in training" in notes.text
