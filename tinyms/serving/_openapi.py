"""The OpenAPI 3.1 description of the serving routes, served at ``GET /openapi.json``."""

import copy

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "Servable name as listed by GET /servables."}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string", "enum": ["1"]},
            "description": "Model version; every servable has the single version \"1\"."}


def _json(ref, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _errors(*codes):
    return {str(code): _ERROR for code in codes}


_SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What is wrong and how to fix it."},
                       "type": {"type": "string", "description": "A short machine-readable error kind."}},
    },
    "Tensor": {
        "type": "object", "required": ["shape", "dtype", "data"],
        "properties": {
            "shape": {"type": "array", "items": {"type": "integer"},
                      "description": "One sample's shape (e.g. [1, 32, 32]) or a batch ([N, 1, 32, 32])."},
            "dtype": {"type": "string", "enum": ["float32"]},
            "data": {"type": "string", "contentEncoding": "base64",
                     "description": "Base64 of the raw little-endian bytes, already preprocessed."},
        },
    },
    "PredictRequest": {
        "type": "object",
        "properties": {
            "image": {"type": "string", "contentEncoding": "base64", "description": "An encoded image file."},
            "tensor": {"$ref": "#/components/schemas/Tensor"},
            "strategy": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS"], "default": "TOP1_CLASS"},
            "dataset": {"type": "string", "description": "Optional check: the dataset the servable must fit."},
        },
        "oneOf": [{"required": ["image"]}, {"required": ["tensor"]}],
    },
    "ClassScore": {
        "type": "object",
        "properties": {"label": {"type": "string"}, "score": {"type": "number"}, "index": {"type": "integer"}},
    },
    "Prediction": {
        "type": "object",
        "properties": {"label": {"type": "string"}, "score": {"type": "number"}, "index": {"type": "integer"},
                       "top": {"type": "array", "items": {"$ref": "#/components/schemas/ClassScore"}}},
    },
    "PredictResponse": {
        "type": "object",
        "properties": {"servable": {"type": "string"}, "strategy": {"type": "string"},
                       "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}},
    },
    "Servable": {
        "type": "object",
        "properties": {
            "name": {"type": "string"}, "description": {"type": "string"}, "ready": {"type": "boolean"},
            "error": {"type": "string", "description": "Why the servable is not ready (ready false): it failed "
                      "to load, or its model process is down or not answering."},
            "model": {"type": "object", "description": "name, format, platform, class_num, input_shape, dataset, "
                      "transform, labels; file (relative to the serving folder) and sha256 (the digest it was "
                      "checked against, null when servable.json records none)."},
            "inputs": {"type": "array", "items": {"type": "string"}},
            "max_batch_size": {"type": "integer"}, "max_delay_ms": {"type": "number"},
        },
    },
    "ServableList": {
        "type": "object",
        "properties": {"servables": {"type": "array", "items": {"$ref": "#/components/schemas/Servable"}},
                       "problems": {"type": "array", "items": {"type": "string"},
                                    "description": "servable.json entries that were rejected, with the reason."}},
    },
    "V2Tensor": {
        "type": "object", "required": ["name", "shape", "datatype"],
        "properties": {
            "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string"}, "parameters": {"type": "object"},
            "data": {"type": "array", "description": "Flat or nested numbers (omitted when sent as binary)."},
        },
    },
    "V2InferRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {"id": {"type": "string"}, "parameters": {"type": "object"},
                       "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}},
                       "outputs": {"type": "array", "items": {"type": "object",
                                                              "properties": {"name": {"type": "string"},
                                                                             "parameters": {"type": "object"}}}}},
    },
    "V2InferResponse": {
        "type": "object",
        "properties": {"model_name": {"type": "string"}, "model_version": {"type": "string"},
                       "id": {"type": "string"},
                       "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}}},
    },
    "V2ModelMetadata": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
                       "platform": {"type": "string"},
                       "inputs": {"type": "array", "items": {"type": "object"}},
                       "outputs": {"type": "array", "items": {"type": "object"}}},
    },
    "V2ServerMetadata": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                       "extensions": {"type": "array", "items": {"type": "string"}}},
    },
}

_PREDICT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "strategy": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS"]},
            "dataset": {"type": "string"}}}},
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
_STRATEGY_QUERY = {"name": "strategy", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS"]},
                   "description": "Used when the body does not say (raw image bodies)."}


def _model_paths(prefix, params):
    return {
        prefix: {"get": {"summary": "Model metadata: input and output names, datatypes and shapes.",
                         "tags": ["KServe v2"], "parameters": params,
                         "responses": {"200": _json("#/components/schemas/V2ModelMetadata"), **_errors(404, 503)}}},
        prefix + "/ready": {"get": {"summary": "Whether the model can take requests.", "tags": ["KServe v2"],
                                    "parameters": params,
                                    "responses": {"200": {"description": "Ready"}, **_errors(404, 503)}}},
        prefix + "/infer": {"post": {
            "summary": "Run the model on FP32 tensors (JSON data or the binary tensor data extension).",
            "tags": ["KServe v2"], "parameters": params,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/V2InferRequest"}},
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "JSON header (its length in the Inference-Header-Content-Length header), "
                                   "then the raw tensors."}}},
            "responses": {"200": _json("#/components/schemas/V2InferResponse"),
                          **_errors(400, 404, 405, 413, 500, 503, 504)}}},
    }


_PATHS = {
    "/": {"get": {"summary": "Web page: pick, drop or draw an image and see the top-5 classes.", "tags": ["Pages"],
                  "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}}}},
    "/servables": {"get": {"summary": "List the servables, with problems found in servable.json.",
                           "tags": ["TinyMS"], "responses": {"200": _json("#/components/schemas/ServableList")}}},
    "/servables/{name}": {
        "get": {"summary": "Describe one servable.", "tags": ["TinyMS"], "parameters": [_NAME],
                "responses": {"200": _json("#/components/schemas/Servable"), **_errors(404, 503)}},
        "post": {"summary": "Predict the classes of an image or a preprocessed tensor.", "tags": ["TinyMS"],
                 "parameters": [_NAME, _STRATEGY_QUERY], "requestBody": _PREDICT_BODY,
                 "responses": {"200": _json("#/components/schemas/PredictResponse"),
                               **_errors(400, 404, 405, 413, 415, 500, 503, 504)}},
    },
    "/v2": {"get": {"summary": "Server metadata.", "tags": ["KServe v2"],
                    "responses": {"200": _json("#/components/schemas/V2ServerMetadata")}}},
    "/v2/health/live": {"get": {"summary": "Liveness.", "tags": ["KServe v2"],
                                "responses": {"200": {"description": "Live"}}}},
    "/v2/health/ready": {"get": {"summary": "Readiness: 200 while every loaded model can answer, else 503 "
                                            "naming the ones that cannot.", "tags": ["KServe v2"],
                                 "responses": {"200": {"description": "Ready"}, **_errors(503)}}},
    **_model_paths("/v2/models/{name}", [_NAME]),
    **_model_paths("/v2/models/{name}/versions/{version}", [_NAME, _VERSION]),
    "/metrics": {"get": {"summary": "Prometheus metrics: requests, errors, latency, batch sizes.",
                         "tags": ["Operations"],
                         "responses": {"200": {"description": "Prometheus text format",
                                               "content": {"text/plain": {}}}}}},
    "/openapi.json": {"get": {"summary": "This document.", "tags": ["Operations"],
                              "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}},
}


def document(version):
    """The OpenAPI document (a fresh dict) for a server of TinyMS ``version``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "TinyMS model serving", "version": version,
                 "description": "TinyMS routes, Open Inference Protocol (KServe v2) REST routes, metrics and "
                                "a web page. Errors are JSON objects {error, type} with a 4xx/5xx status; besides the "
                                "statuses listed per route, any request may get 400 (malformed HTTP), 408 (not "
                                "received within the header or body deadline), 413, 429 (too many connections "
                                "from one address), 431 (headers too large) or 503 (too many connections)."},
        "paths": copy.deepcopy(_PATHS),
        "components": {"schemas": copy.deepcopy(_SCHEMAS)},
    }
