"""Malformed input on every route: always a 4xx JSON error, never a 500, a traceback or a server path."""

import base64
import json
import random
import struct
import zlib

import numpy as np
import requests

PREDICT = "/servables/lenet5"
INFER = "/v2/models/lenet5/infer"
GOOD_INPUT = {"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [0.0] * 1024}


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width, height):
    """A small PNG file whose header declares ``width`` x ``height`` grey pixels (a decompression bomb)."""
    rows = zlib.compress(b"\0" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b""))


def _b64(data):
    return base64.b64encode(data).decode()


def _tensor(shape, data=None, dtype="float32"):
    raw = np.zeros(int(np.prod(shape)) if data is None else 0, "<f4").tobytes() if data is None else data
    return {"tensor": {"shape": shape, "dtype": dtype, "data": _b64(raw)}}


def _json(doc):
    return {"data": json.dumps(doc).encode(), "headers": {"Content-Type": "application/json"}}


def _raw(body, ctype="application/json"):
    return {"data": body, "headers": {"Content-Type": ctype}}


CASES = [
    # (route, request kwargs, expected status)
    (PREDICT, _raw(b"{"), 400),
    (PREDICT, _raw(b"\xff\xfe{}"), 400),
    (PREDICT, _raw(b"null"), 400),
    (PREDICT, _raw(b"[" * 100000 + b"]" * 100000), 400),
    (PREDICT, _raw(b'{"image": NaN}'), 400),
    (PREDICT, _json({"image": 5}), 400),
    (PREDICT, _json({"image": ["a"]}), 400),
    (PREDICT, _json({"image": "%%%"}), 400),
    (PREDICT, _json({"image": _b64(b"not an image at all")}), 400),
    (PREDICT, _json({"image": _b64(b"")}), 400),
    (PREDICT, _json({"tensor": "x"}), 400),
    (PREDICT, _json({"tensor": {"shape": "a", "dtype": "float32", "data": ""}}), 400),
    (PREDICT, _json({"tensor": {"shape": [10 ** 30, 1, 32, 32], "dtype": "float32", "data": ""}}), 400),
    (PREDICT, _json({"tensor": {"shape": [-1, 32, 32], "dtype": "float32", "data": ""}}), 400),
    (PREDICT, _json({"tensor": {"shape": [1, 32, 32], "dtype": None, "data": ""}}), 400),
    (PREDICT, _json({"tensor": {"shape": [1, 32, 32], "dtype": "float32", "data": 7}}), 400),
    (PREDICT, _json(_tensor([0, 1, 32, 32])), 400),
    (PREDICT, _json(_tensor([2, 2, 32, 32])), 400),
    (PREDICT, _json(dict(_tensor([1, 32, 32]), strategy=7)), 400),
    (PREDICT, _json(dict(_tensor([1, 32, 32]), dataset=[1])), 400),
    (PREDICT, _json(dict(_tensor([1, 32, 32]), strategy="x" * 100000)), 400),
    (PREDICT, _raw(b"GIF89a" + b"\0" * 50, "image/gif"), 400),
    (PREDICT, _raw(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "image/png"), 400),
    (PREDICT, _raw(png_declaring(20000, 20000), "image/png"), 413),
    (PREDICT, _raw(png_declaring(0, 5), "image/png"), 400),
    (PREDICT, _raw(b"x", "text/plain"), 415),
    (PREDICT, _raw(b"x", "application/xml"), 415),
    (PREDICT, _raw(b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx", "multipart/form-data; boundary=b"),
     400),
    (PREDICT, _raw(b"garbage", "multipart/form-data"), 400),
    (INFER, _raw(b"{"), 400),
    (INFER, _json({"inputs": "x"}), 400),
    (INFER, _json({"inputs": [5]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, shape=[10 ** 30, 1, 32, 32])]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, shape=[1, 1, 32, 32.5])]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, data=[[1, [2]], 3])]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, data={"a": 1})]}), 400),
    (INFER, _raw(json.dumps({"inputs": [dict(GOOD_INPUT, data=[0.0] * 1023)]})[:-3].encode()
                 + b", 1" + b"0" * 400 + b"]}]}"), 400),
    (INFER, _raw(b'{"inputs": [{"name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": ['
                 + b"1e999, " * 1023 + b"1]}]}"), 400),
    (INFER, _raw(json.dumps({"id": 1, "inputs": [GOOD_INPUT]}).encode()), 400),
    (INFER, _raw(json.dumps({"inputs": [GOOD_INPUT]}).replace('"inputs"', '"id": NaN, "inputs"').encode()), 400),
    (INFER, _json({"inputs": [GOOD_INPUT], "parameters": [1]}), None),
    (INFER, _json({"inputs": [GOOD_INPUT], "outputs": "logits"}), 400),
    (INFER, _json({"inputs": [GOOD_INPUT], "outputs": [{"name": ["x"]}]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, parameters={"binary_data_size": 4096})]}), 400),
    (INFER, _json({"inputs": [dict(GOOD_INPUT, parameters=7)]}), 400),
    (INFER, {"data": b'{"inputs": []}' + b"\0" * 10,
             "headers": {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "999"}}, 400),
    (INFER, {"data": b"{}", "headers": {"Inference-Header-Content-Length": "9" * 5000}}, 400),
    (INFER, {"data": b"{}", "headers": {"Inference-Header-Content-Length": "-3"}}, 400),
    ("/v2/models/" + "x" * 5000 + "/infer", _json({}), 404),
    ("/servables/%00%ff", _json({}), 404),
    ("/v2/models/lenet5/versions/" + "9" * 300 + "/infer", _json({}), 404),
]


def _problem(response, expected, server_dir):
    """Why ``response`` is not a proper answer to a malformed request (None when it is)."""
    text = response.text
    if response.status_code >= 500:
        return f"status {response.status_code}: {text[:200]}"
    if expected is not None and response.status_code != expected:
        return f"status {response.status_code}, expected {expected}: {text[:200]}"
    if response.status_code >= 400:
        if response.headers.get("Content-Type") != "application/json":
            return f"Content-Type {response.headers.get('Content-Type')}: {text[:200]}"
        try:
            body = response.json()
        except ValueError:
            return f"not JSON: {text[:200]}"
        if set(body) != {"error", "type"} or not body["error"]:
            return f"not an error object: {text[:200]}"
        if len(text) >= 2000:
            return f"{len(text)}-character error (echoed input not cut short)"
    for leak in ("Traceback", "File \"", server_dir, "/tmp/", "site-packages", ".cc:", "C++"):
        if leak in text:
            return f"leaks {leak!r}: {text[:300]}"
    return None


def _image_variants(digit_png):
    rng = random.Random(11)
    bodies = [digit_png[:n] for n in (8, 20, 33, len(digit_png) // 2, len(digit_png) - 5)]
    for _ in range(40):
        data = bytearray(digit_png)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        bodies.append(bytes(data))
    return bodies


def _mutated_json(digit_png):
    rng = random.Random(5)
    seeds = [json.dumps({"image": _b64(digit_png), "strategy": "TOP5_CLASS"}).encode(),
             json.dumps({"id": "a", "inputs": [dict(GOOD_INPUT, data=[0.5] * 1024)]}).encode()]
    alphabet = b'{}[]",:0123456789.-eE tfnulraNIy\\\x00\xff'
    for i in range(120):
        data = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            action = rng.randrange(3)
            if action == 0:
                data[pos] = rng.choice(alphabet)
            elif action == 1:
                del data[pos:pos + rng.randint(1, 20)]
            else:
                data[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        yield (PREDICT if i % 2 == 0 else INFER), bytes(data)


JUNK_PATHS = ["/servables/" + "%2e" * 50, "/v2/models/../../etc/passwd", "/static/..%2fservable.json",
              "/v2/models/nope/ready", "/v2/models/lenet5/versions/2/ready", "/openapi.json/x", "/" + "a" * 10000]


def test_malformed_requests_on_every_route_get_4xx_json(server, serving_dir, digit_png):
    """Malformed JSON, wrong types, huge numbers, wrong shapes, bad base64, non-image bytes,
    truncated or bit-flipped PNGs, a PNG declaring 20000x20000 pixels, wrong content types,
    mutated bodies and junk paths: never a 5xx, never plain text, never a traceback or a path."""
    problems = []
    for index, (route, kwargs, status) in enumerate(CASES):
        response = requests.post(server.url + route, timeout=30, **kwargs)
        problems.append((f"case {index} {route[:40]}", _problem(response, status, serving_dir)))
    for index, body in enumerate(_image_variants(digit_png)):  # 200 if PIL copes with the flip, else 4xx
        response = requests.post(server.url + PREDICT, data=body, headers={"Content-Type": "image/png"}, timeout=30)
        problems.append((f"image variant {index}", _problem(response, None, serving_dir)))
    for index, (route, body) in enumerate(_mutated_json(digit_png)):
        response = requests.post(server.url + route, data=body, headers={"Content-Type": "application/json"},
                                 timeout=30)
        problems.append((f"mutated JSON {index}", _problem(response, None, serving_dir)))
    for path in JUNK_PATHS:
        response = requests.get(server.url + path, timeout=10)
        problems.append((f"GET {path[:40]}", _problem(response, 404, serving_dir)))
    failed = [f"{what}: {why}" for what, why in problems if why]
    assert not failed, "\n".join(failed)
    assert requests.get(server.url + "/v2/health/ready", timeout=10).status_code == 200


def test_listing_and_errors_carry_no_server_path(server, serving_dir):
    listing = requests.get(server.url + "/servables", timeout=10)
    text = listing.text
    assert listing.status_code == 200 and serving_dir not in text and "/tmp/" not in text
    by_name = {s["name"]: s for s in listing.json()["servables"]}
    assert "lenet5.ckpt" in by_name["wrong_classes"]["error"]  # named relative to the serving folder
    assert by_name["lenet5"]["model"]["file"] == "lenet5/lenet5.ckpt"
    assert any(p.startswith("servable.json, entry 2") for p in listing.json()["problems"])
