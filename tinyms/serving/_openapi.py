"""The OpenAPI 3.1 description of the serving routes, served at ``GET /openapi.json``.

A servable's task (``GET /servables/{name}``: ``task``) decides what its predictions are: a
classifier's classes (``ClassificationResponse``), a detector's objects, boxes in pixels of
the image sent (``DetectionResponse``), or a text classifier's classes per text sent
(``TextClassificationResponse``: strings in, with a note for each text cut to its
``max_length`` tokens), or an image-to-image servable's picture (``ImageToImageResponse``: the
translated image as PNG, base64 in JSON, or the PNG itself on request).
"""

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
            "dtype": {"type": "string", "enum": ["float32", "int32"],
                      "description": "float32; a text servable takes int32 token ids (shape [max_length] or "
                                     "[N, max_length])."},
            "data": {"type": "string", "contentEncoding": "base64",
                     "description": "Base64 of the raw little-endian bytes, already preprocessed."},
        },
    },
    "PredictRequest": {
        "type": "object",
        "properties": {
            "image": {"type": "string", "contentEncoding": "base64", "description": "An encoded image file."},
            "text": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                                      "maxItems": 256}],
                     "description": "Text servables: one text, or a list of 1 to 256 texts (answered as a batch); "
                                    "each at most 100,000 bytes of UTF-8 (413 above, 400 for a non-string or text "
                                    "that is not valid Unicode). A text longer than the servable's max_length "
                                    "tokens is truncated as its tinyms.text transform truncates it, and the answer "
                                    "notes it."},
            "tensor": {"$ref": "#/components/schemas/Tensor"},
            "rows": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}, "minItems": 1,
                                                      "maxItems": 1024}],
                     "description": "Tabular servables: one row or a list of 1 to 1024 rows (answered as a batch), "
                                    "each an object of column name -> value (number, string or null). A column "
                                    "left out, null or \"\" is a missing value; a column the servable does not "
                                    "know, or a value of the wrong kind (a word in a numeric column), is a 400 "
                                    "naming it; the label column is ignored. The body may also be one row object "
                                    "itself. Nothing else goes with 'rows'."},
            "strategy": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS", "ALL_CLASSES"], "default": "TOP1_CLASS",
                         "description": "Classification: TOP1_CLASS or TOP5_CLASS. Detection: TOP1_CLASS (each box "
                                        "named by its best class) or ALL_CLASSES (a box once per class above the "
                                        "score threshold)."},
            "dataset": {"type": "string", "description": "Optional check: the dataset the servable must fit."},
            "score_threshold": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "Detection only: the lowest score kept (default: the servable's, "
                                               "GET /servables/{name} detection.score_threshold)."},
            "iou_threshold": {"type": "number", "minimum": 0, "maximum": 1,
                              "description": "Detection only: a box overlapping a better box of its class more "
                                             "than this (IoU) is dropped."},
            "max_detections": {"type": "integer", "minimum": 1, "maximum": 1000,
                               "description": "Detection only: most objects per image."},
            "output_size": {"type": "string", "enum": ["network", "original"], "default": "network",
                            "description": "Image-to-image only: the picture at the network's size (network) or "
                                           "resized (bilinear) to the size of the image sent (original; 400 for a "
                                           "tensor)."},
            "format": {"type": "string", "enum": ["json", "png"], "default": "json",
                       "description": "Image-to-image only: json (the picture base64 in an ImageToImageResponse) "
                                      "or png (the response body is the PNG file itself, Content-Type image/png; "
                                      "one image only). Without it, a request whose Accept header lists image/png "
                                      "first gets the PNG."},
        },
        "oneOf": [{"required": ["image"]}, {"required": ["tensor"]}, {"required": ["text"]}, {"required": ["rows"]}],
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
    "ClassificationResponse": {
        "type": "object",
        "properties": {"servable": {"type": "string"}, "strategy": {"type": "string"}, "batch": {"type": "boolean"},
                       "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}},
    },
    "Detection": {
        "type": "object", "required": ["box", "label", "label_id", "score"],
        "properties": {
            "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                    "description": "[xmin, ymin, xmax, ymax] in pixels of the image sent (for a tensor: of the "
                                   "network input), clipped to it; x to the right, y down from the top-left corner."},
            "label": {"type": "string", "description": "The object's class name."},
            "label_id": {"type": "integer", "description": "Its 0-based index in the servable's labels."},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
        },
    },
    "ImageDetections": {
        "type": "object", "required": ["image_size", "detections"],
        "properties": {
            "image_size": {"type": "object", "description": "The image's size in pixels (EXIF orientation "
                           "applied): the space of the boxes.",
                           "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}}},
            "detections": {"type": "array", "items": {"$ref": "#/components/schemas/Detection"},
                           "description": "The objects found, best score first."},
        },
    },
    "DetectionResponse": {
        "type": "object",
        "properties": {
            "servable": {"type": "string"}, "task": {"type": "string", "const": "detection"},
            "batch": {"type": "boolean"}, "strategy": {"type": "string"},
            "score_threshold": {"type": "number"}, "iou_threshold": {"type": "number"},
            "max_detections": {"type": "integer"},
            "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/ImageDetections"},
                            "description": "One entry per image (per row of a batch tensor)."},
        },
    },
    "TextPrediction": {
        "allOf": [{"$ref": "#/components/schemas/Prediction"}],
        "properties": {"truncated": {"type": "boolean", "description": "The text had more tokens than max_length; "
                                                                      "the extra ones were dropped."},
                       "dropped_tokens": {"type": "integer", "description": "How many (truncated texts only)."}},
    },
    "TextClassificationResponse": {
        "type": "object",
        "properties": {
            "servable": {"type": "string"}, "task": {"type": "string", "const": "text_classification"},
            "strategy": {"type": "string"},
            "batch": {"type": "boolean", "description": "True when a list of texts was sent."},
            "max_length": {"type": "integer", "description": "Tokens per text the network reads."},
            "notes": {"type": "array", "items": {"type": "string"},
                      "description": "One sentence per truncated text (empty when none was)."},
            "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/TextPrediction"},
                            "description": "One entry per text, in the order sent."},
        },
    },
    "TranslatedImage": {
        "type": "object", "required": ["image", "media_type", "width", "height"],
        "properties": {
            "image": {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png",
                      "description": "The translated picture, a PNG file: the network's output x in its "
                                     "output_range [low, high] (a tanh generator: [-1, 1]) as pixels "
                                     "(x - low) / (high - low) * 255, rounded."},
            "media_type": {"type": "string", "const": "image/png"},
            "width": {"type": "integer"}, "height": {"type": "integer"},
            "input_size": {"type": "object", "description": "The size of the image sent (absent for a tensor).",
                           "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}}},
        },
    },
    "ImageToImageResponse": {
        "type": "object",
        "properties": {
            "servable": {"type": "string"}, "task": {"type": "string", "const": "image_to_image"},
            "batch": {"type": "boolean"}, "output_size": {"type": "string", "enum": ["network", "original"]},
            "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/TranslatedImage"},
                            "description": "One picture per image (per row of a batch tensor)."},
        },
    },
    "TabularAnswer": {
        "type": "object",
        "properties": {
            "probability": {"type": "number", "description": "Binary: the probability of label_classes[1]."},
            "label": {"description": "Binary: label_classes[1] when probability >= 0.5, else label_classes[0]; "
                                     "multiclass: the most probable class (the label column's own values)."},
            "value": {"type": "number", "description": "Regression: the predicted value, in the label's units."},
            "probabilities": {"type": "object", "additionalProperties": {"type": "number"},
                              "description": "Multiclass: each class's probability, by class."},
        },
    },
    "TabularResponse": {
        "type": "object",
        "properties": {
            "servable": {"type": "string"}, "task": {"type": "string", "const": "tabular"},
            "objective": {"type": "string", "enum": ["binary", "regression", "multiclass"]},
            "batch": {"type": "boolean", "description": "True when a list of rows was sent."},
            "notes": {"type": "array", "items": {"type": "string"},
                      "description": "One sentence per categorical value never seen in training (read as the "
                                     "column's unknown value)."},
            "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/TabularAnswer"},
                            "description": "One answer per row, in the order sent."},
        },
    },
    "PredictResponse": {
        "oneOf": [{"$ref": "#/components/schemas/ClassificationResponse"},
                  {"$ref": "#/components/schemas/DetectionResponse"},
                  {"$ref": "#/components/schemas/TextClassificationResponse"},
                  {"$ref": "#/components/schemas/ImageToImageResponse"},
                  {"$ref": "#/components/schemas/TabularResponse"}],
        "description": "A classification servable's classes, a detection servable's objects (task "
                       "\"detection\"), a text servable's classes per text (task \"text_classification\"), an "
                       "image-to-image servable's pictures (task \"image_to_image\"), or a tabular servable's answer "
                       "per row (task \"tabular\").",
    },
    "Servable": {
        "type": "object",
        "properties": {
            "name": {"type": "string"}, "description": {"type": "string"}, "ready": {"type": "boolean"},
            "error": {"type": "string", "description": "Why the servable is not ready (ready false): it failed "
                      "to load, or its model process is down or not answering."},
            "model": {"type": "object", "description": "name, format, platform, class_num, input_shape, dataset, "
                      "transform, labels; file (relative to the serving folder) and sha256 (the digest it was "
                      "checked against, null when servable.json records none); unchecked: the servable's weights "
                      "files (relative to the serving folder) that servable.json records no digest for. A "
                      "detection servable's labels and class_num count the object classes (no background); "
                      "background says whether the network scores a background column first."},
            "inputs": {"type": "array", "items": {"type": "string"},
                       "description": "What POST /servables/{name} takes: image, tensor, text, rows."},
            "task": {"type": "string", "enum": ["classification", "detection", "text_classification",
                                                "image_to_image", "tabular"]},
            "tabular": {"type": "object", "description": "Tabular servables: objective, label, label_classes, "
                        "field_size, vocab_size, max_rows, and columns: each column's name and kind (numeric or "
                        "categorical; a categorical column also its vocabulary size and up to 50 choices, the "
                        "vocabulary's first values)."},
            "image_to_image": {"type": "object", "description": "Image-to-image servables: output_shape (one "
                               "picture's [channels, height, width]), output_range, and the values of the "
                               "request options output_size and format."},
            "detection": {"type": "object", "description": "Detection servables: the defaults of score_threshold, "
                          "iou_threshold and max_detections."},
            "text": {"type": "object", "description": "Text servables: max_length (tokens read per text), "
                     "truncation (right: the start is kept, left: the end), tokenizer (word, wordpiece, bpe), "
                     "lowercase, vocab_size, and the request limits max_texts and max_text_bytes."},
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
            "strategy": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS", "ALL_CLASSES"]},
            "dataset": {"type": "string"},
            "score_threshold": {"type": "number"}, "iou_threshold": {"type": "number"},
            "max_detections": {"type": "integer"},
            "output_size": {"type": "string", "enum": ["network", "original"]},
            "format": {"type": "string", "enum": ["json", "png"]}}}},
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "text/plain": {"schema": {"type": "string"},
                       "description": "Text servables: the body is one text, UTF-8 (400 when it is not)."},
    },
}
_STRATEGY_QUERY = {"name": "strategy", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["TOP1_CLASS", "TOP5_CLASS", "ALL_CLASSES"]},
                   "description": "Used when the body does not say (raw image bodies)."}
_DETECTION_QUERY = [
    {"name": "score_threshold", "in": "query", "required": False,
     "schema": {"type": "number", "minimum": 0, "maximum": 1},
     "description": "Detection servables: the lowest score kept (400 outside 0..1)."},
    {"name": "iou_threshold", "in": "query", "required": False,
     "schema": {"type": "number", "minimum": 0, "maximum": 1},
     "description": "Detection servables: non-maximum suppression's overlap limit (400 outside 0..1)."},
    {"name": "max_detections", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
     "description": "Detection servables: most objects per image (400 outside 1..1000)."},
]
_IMAGE_QUERY = [
    {"name": "output_size", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["network", "original"]},
     "description": "Image-to-image servables: the picture at the network's size or the photo's own (original)."},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "png"]},
     "description": "Image-to-image servables: png answers the PNG file itself (also: Accept: image/png first)."},
]


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
            "description": "Classification servables: input 'input' (FP32), output 'logits'. Detection servables "
                           "take 'input' (FP32, preprocessed) or 'image' (BYTES, shape [N]: encoded image files, "
                           "base64 strings in JSON, 4-byte little-endian length + bytes per element in binary) "
                           "and have outputs 'boxes' (FP32 [N, anchors, 4]: [ymin, xmin, ymax, xmax] in 0..1 "
                           "of the network input), 'scores' (FP32 [N, anchors, classes]) and 'detections' "
                           "(BYTES [N]: per image, the JSON text of an ImageDetections object, boxes in pixels "
                           "of the image sent); without 'outputs' all three are returned. Request parameters "
                           "score_threshold, iou_threshold, max_detections and strategy tune 'detections'. "
                           "Text servables take 'text' (BYTES, shape [N], 1 to 256 strings: JSON strings, or in "
                           "binary a 4-byte little-endian length + UTF-8 bytes per element; 400 when not UTF-8) or "
                           "'input' (INT32 token ids [N, max_length]) and have outputs 'logits' (FP32 [N, "
                           "classes]) and 'predictions' (BYTES [N]: per text, the JSON text of a TextPrediction); "
                           "the request parameter strategy (TOP1_CLASS, TOP5_CLASS) sets how many classes each "
                           "holds, and the response's parameters.notes names each truncated text. Image-to-image "
                           "servables take 'input' (FP32, preprocessed [N, C, S, S]), 'image' as BYTES (encoded "
                           "image files, as for detection) or 'image' as UINT8 pixels [N, height, width, channels] "
                           "(run through the servable's recipe like a decoded photo) and have outputs 'output' "
                           "(FP32 [N, C, S, S], the network's values, in its output_range) and 'png' (BYTES [N]: "
                           "PNG files, base64 strings in JSON, raw in binary); the request parameter output_size "
                           "(network, original: each image's own size) sizes 'png'. Tabular servables take 'rows' "
                           "(BYTES, shape [N], 1 to 1024 rows: per element the JSON text of one row object, column "
                           "name -> value, as JSON strings, or in binary a 4-byte little-endian length + UTF-8 "
                           "bytes) and have outputs 'output' (FP32 [N, K]: the network's logit, logits per class, "
                           "or value) and 'predictions' (BYTES [N]: per row, the JSON text of a TabularAnswer); "
                           "the response's parameters.notes names each categorical value never seen in training.",
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
    "/": {"get": {"summary": "Web page: pick, drop or draw an image and see the top-5 classes, or the objects "
                             "a detector finds framed over the photo, or an image-to-image servable's picture "
                             "beside the photo; type a text for a text servable.",
                  "tags": ["Pages"],
                  "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}}}},
    "/servables": {"get": {"summary": "List the servables, with problems found in servable.json.",
                           "tags": ["TinyMS"], "responses": {"200": _json("#/components/schemas/ServableList")}}},
    "/servables/{name}": {
        "get": {"summary": "Describe one servable.", "tags": ["TinyMS"], "parameters": [_NAME],
                "responses": {"200": _json("#/components/schemas/Servable"), **_errors(404, 503)}},
        "post": {"summary": "Predict the classes of an image or a preprocessed tensor, or (detection servables) "
                            "the objects in it: boxes in pixels of the image sent, labels and scores; a text "
                            "servable classifies a text or a list of texts; an image-to-image servable answers "
                            "the translated picture (PNG).",
                 "tags": ["TinyMS"],
                 "parameters": [_NAME, _STRATEGY_QUERY, *_DETECTION_QUERY, *_IMAGE_QUERY],
                 "requestBody": _PREDICT_BODY,
                 "responses": {"200": {"description": "OK", "content": {
                     "application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}},
                     "image/png": {"schema": {"type": "string", "format": "binary"},
                                   "description": "Image-to-image servables asked for format png (or Accept: "
                                                  "image/png): the translated picture; X-Image-Width and "
                                                  "X-Image-Height give its size."}}},
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
