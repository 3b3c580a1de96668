// Predictions without a server, for the folder `tinyms export --web` writes.
//
// window.TINYMS_EXPORT (servables.js, written at export time) lists the servables the way the
// server's GET /servables does, plus what the browser needs to answer for each: its ONNX file and
// SHA-256, the recipe's evaluation steps, labels and the model's input and outputs. Images go through
// web-recipe.js, models run on ONNX Runtime Web (ort/, vendored at export time, one thread: no worker,
// no cross-origin isolation needed), and the answers have the server's JSON shape, so the serving
// page's app.js renders them unchanged: it uses window.TinyMSBackend in place of HTTP.
//
// From a static server the model and the WebAssembly binary are fetched; from file://, where a page
// may not fetch files, the same bytes come from a script next to each file (<file>.js, base64).
"use strict";

(function () {
  const EXPORT = window.TINYMS_EXPORT;
  const R = window.TinyMSRecipe;
  const fromFile = window.location.protocol === "file:";
  const sessions = new Map();
  let runtime = null;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => { script.remove(); resolve(); };
      script.onerror = () => { script.remove(); reject(new Error("cannot load " + src)); };
      document.head.appendChild(script);
    });
  }

  function fromBase64(text) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  // The bytes of a file of the exported folder (a path relative to the page).
  async function fileBytes(path) {
    if (fromFile) {
      const blobs = (window.TINYMS_BLOBS = window.TINYMS_BLOBS || {});
      if (!(path in blobs)) await loadScript(path + ".js");
      const text = blobs[path];
      delete blobs[path];
      if (typeof text !== "string") throw new Error(path + ".js does not hold " + path);
      return fromBase64(text);
    }
    const response = await fetch(path);
    if (!response.ok) throw new Error("cannot load " + path + " (" + response.status + " " + response.statusText + ")");
    return new Uint8Array(await response.arrayBuffer());
  }

  async function checkDigest(bytes, sha256, path) {
    const subtle = window.crypto && window.crypto.subtle;
    if (!subtle || !sha256) return;  // plain http on another host: no Web Crypto
    const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== sha256) {
      throw new Error(path + " does not match the SHA-256 recorded at export (it changed since); export the " +
                      "page again");
    }
  }

  function startRuntime() {
    if (!runtime) {
      runtime = (async () => {
        const wasm = ort.env.wasm;
        wasm.numThreads = 1;
        wasm.proxy = false;
        const files = EXPORT.runtime.files;
        if (fromFile) {
          wasm.wasmBinary = await fileBytes(files.wasm);
          const loader = await fileBytes(files.loader);
          wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([loader], { type: "text/javascript" })) };
        } else {
          wasm.wasmPaths = new URL(files.folder + "/", window.location.href).href;
        }
      })();
      runtime.catch(() => { runtime = null; });
    }
    return runtime;
  }

  function session(name) {
    if (!sessions.has(name)) {
      const spec = EXPORT.models[name];
      const created = (async () => {
        const bytes = await fileBytes(spec.file);
        await checkDigest(bytes, spec.sha256, spec.file);
        await startRuntime();
        return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      })();
      created.catch(() => sessions.delete(name));
      sessions.set(name, created);
    }
    return sessions.get(name);
  }

  // An image-to-image answer as the server gives it: the output (1, C, H, W) as pixels
  // (x - low) / (high - low) * 255 rounded half to even, resized back to the photo on request,
  // a PNG drawn by a canvas (base64).
  function picture(item, spec, output, image, options) {
    const size = String(options.output_size || "network").toLowerCase();
    if (size !== "network" && size !== "original") throw new Error("output_size must be one of 'network', 'original'");
    const [channels, height, width] = output.dims.slice(1);
    const [low, high] = spec.output_range;
    const scale = 255 / (high - low);
    const plane = height * width;
    let pic = { height, width, channels, data: new Uint8Array(plane * channels) };
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < channels; c++) {
        const value = R._internals.rint((output.data[c * plane + i] - low) * scale);
        pic.data[i * channels + c] = Math.min(255, Math.max(0, value));
      }
    }
    if (size === "original") pic = R.resizeBilinearU8(pic, image.height, image.width);
    const canvas = document.createElement("canvas");
    canvas.width = pic.width;
    canvas.height = pic.height;
    const context = canvas.getContext("2d");
    const rgba = context.createImageData(pic.width, pic.height);
    for (let i = 0; i < pic.width * pic.height; i++) {
      for (let c = 0; c < 3; c++) rgba.data[i * 4 + c] = pic.data[i * pic.channels + (pic.channels === 1 ? 0 : c)];
      rgba.data[i * 4 + 3] = 255;
    }
    context.putImageData(rgba, 0, 0);
    const png = canvas.toDataURL("image/png").split(",", 2)[1];
    return { servable: item.name, task: "image_to_image", batch: false, output_size: size,
             predictions: [{ image: png, media_type: "image/png", width: pic.width, height: pic.height,
                             input_size: { width: image.width, height: image.height } }] };
  }

  async function predict(item, blob, contentType, options) {
    const spec = EXPORT.models[item.name];
    if (!spec) throw new Error("no servable named " + item.name + " in this page");
    const image = await R.decode(blob, spec.channels, spec.max_pixels);
    const prepared = R.run(spec.steps, image);
    const shape = R.shapeOf(prepared);
    if (shape.join(",") !== spec.input_shape.join(",")) {
      throw new Error("the recipe made an input of shape [" + shape + "] but the model takes [" + spec.input_shape + "]");
    }
    const model = await session(item.name);
    const batch = spec.fixed_batch || 1;  // a model exported for a fixed batch gets zero rows after the image
    const input = new Float32Array(batch * prepared.data.length);
    input.set(prepared.data);
    const results = await model.run({ [spec.input_name]: new ort.Tensor("float32", input, [batch, ...spec.input_shape]) });
    const outputs = spec.output_names.map((name) => results[name]);
    for (const out of outputs) {
      if (!out.data.every(Number.isFinite)) {
        throw new Error("servable '" + item.name + "' produced non-finite outputs (NaN or inf) for this input");
      }
    }
    if (spec.task === "detection") {
      const [boxes, scores] = outputs;
      const anchors = boxes.dims[1], classes = scores.dims[2];
      const settings = { strategy: (options.strategy || "TOP1_CLASS").toUpperCase() };
      for (const key of ["score_threshold", "iou_threshold", "max_detections"]) {
        const value = options[key] !== undefined ? Number(options[key]) : spec.detection[key];
        if (!Number.isFinite(value) || value < 0 || (key !== "max_detections" && value > 1)) {
          throw new Error(key + " must be a number from 0 to 1");
        }
        settings[key] = value;
      }
      const found = R.detections(boxes.data.subarray(0, anchors * 4), scores.data.subarray(0, anchors * classes),
                                 anchors, classes, spec.labels, spec.background, spec.input_shape.slice(1),
                                 spec.steps, [image.height, image.width], settings);
      return { servable: item.name, task: "detection", batch: false, ...settings,
               predictions: [{ image_size: { width: image.width, height: image.height }, detections: found }] };
    }
    if (spec.task === "image_to_image") return picture(item, spec, outputs[0], image, options);
    const strategy = (options.strategy || "TOP1_CLASS").toUpperCase();
    const k = { TOP1_CLASS: 1, TOP5_CLASS: 5 }[strategy];
    if (!k) throw new Error("unknown strategy '" + strategy + "'; valid strategies are TOP1_CLASS, TOP5_CLASS");
    const logits = outputs[0].data.subarray(0, outputs[0].dims[1]);
    return { servable: item.name, strategy, batch: false, predictions: R.topK([logits], spec.labels, k) };
  }

  window.TinyMSBackend = {
    list: async () => ({ servables: EXPORT.servables, problems: EXPORT.problems }),
    predict,
    session,
  };
})();
