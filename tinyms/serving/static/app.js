// TinyMS serving web page: choose a servable, send an image or a drawing, show the top 5 classes,
// or, for a detection servable, the objects found framed over the photo; a text servable gets a
// text box instead of the image drop zone, and its classes for the text typed; an image-to-image servable's
// picture is shown beside the photo sent; a tabular servable gets a form of its columns (built from its feature
// spec) and answers a probability, a value or each class's probability for the row.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const select = $("servable");
  const statusLine = $("status");
  const table = $("top5");
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  const detectionView = $("detection-view");
  const threshold = $("score-threshold");
  const textInput = $("text-input");
  const notesList = $("notes");
  // one colour per object class (by label id), readable with white text
  const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#e377c2", "#8c564b", "#17becf", "#bcbd22",
                   "#ff7f0e", "#7f7f7f"];
  let servables = {};
  let drawn = false;
  let lastUpload = null;  // {blob, type}: sent again when the minimum score changes

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "error" : "muted";
  }

  function current() {
    return servables[select.value];
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (e) { /* not JSON */ }
    return response.status + " " + response.statusText;
  }

  // Where answers come from: this server's routes, or, in a page written by `tinyms export --web`,
  // window.TinyMSBackend (web-local.js), which runs the models in the browser and answers alike.
  const httpBackend = {
    async list() {
      const response = await fetch("/servables", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(await readError(response));
      return response.json();
    },
    async predict(item, blob, contentType, options) {
      const response = await fetch("/servables/" + encodeURIComponent(item.name) + "?" + new URLSearchParams(options), {
        method: "POST",
        headers: { "Content-Type": contentType || "application/octet-stream" },
        body: blob,
      });
      if (!response.ok) throw new Error(await readError(response));
      return response.json();
    },
  };
  const backend = window.TinyMSBackend || httpBackend;

  async function loadServables() {
    let data;
    try {
      data = await backend.list();
    } catch (err) {
      setStatus("Cannot list servables: " + err.message, true);
      return;
    }
    select.textContent = "";
    const problems = $("problems");
    problems.textContent = "";
    for (const item of data.servables) {
      if (!item.ready) {
        const li = document.createElement("li");
        li.textContent = item.name + " is not available: " + (item.error || "not ready");
        problems.appendChild(li);
        continue;
      }
      servables[item.name] = item;
      const option = document.createElement("option");
      option.value = item.name;
      option.textContent = item.name;
      select.appendChild(option);
    }
    for (const text of data.problems || []) {
      const li = document.createElement("li");
      li.textContent = text;
      problems.appendChild(li);
    }
    problems.hidden = problems.childElementCount === 0;
    select.disabled = select.childElementCount === 0;
    if (select.disabled) {
      const option = document.createElement("option");
      option.textContent = "no servable available";
      select.appendChild(option);
      setStatus("This server has no servable ready.", true);
    }
    onServableChange();
    document.body.dataset.ready = "true";
  }

  function isDetector(item) {
    return !!item && item.task === "detection";
  }

  function isText(item) {
    return !!item && item.task === "text_classification";
  }

  function isImageToImage(item) {
    return !!item && item.task === "image_to_image";
  }

  function isTabular(item) {
    return !!item && item.task === "tabular" && !!item.tabular;
  }

  // One input per column: a number field for a numeric column, a text field with a short list of the values
  // seen in training for a categorical one (never the whole vocabulary: Criteo's has 100,000s of values).
  function buildTableForm(item) {
    const fields = $("table-fields");
    fields.textContent = "";
    item.tabular.columns.forEach((column, i) => {
      const label = document.createElement("label");
      label.htmlFor = "column-" + i;
      label.textContent = column.name;
      const kind = document.createElement("span");
      kind.className = "kind";
      const input = document.createElement("input");
      input.id = "column-" + i;
      input.dataset.column = column.name;
      input.dataset.kind = column.kind;
      if (column.kind === "numeric") {
        input.type = "number";
        input.step = "any";
        kind.textContent = "number";
      } else {
        input.type = "text";
        input.autocomplete = "off";
        kind.textContent = "category (" + column.vocabulary + " known)";
        if (column.choices && column.choices.length) {
          const list = document.createElement("datalist");
          list.id = "column-" + i + "-choices";
          for (const value of column.choices) {
            const option = document.createElement("option");
            option.value = value;
            list.appendChild(option);
          }
          input.setAttribute("list", list.id);
          label.appendChild(list);
        }
      }
      label.appendChild(kind);
      label.appendChild(input);
      fields.appendChild(label);
    });
  }

  // The form's row: empty fields are left out (the server reads them as missing values).
  function tableRow() {
    const row = {};
    for (const input of $("table-fields").querySelectorAll("input")) {
      if (input.value.trim() === "") continue;
      row[input.dataset.column] = input.dataset.kind === "numeric" ? Number(input.value) : input.value;
    }
    return row;
  }

  function clearResults() {
    table.hidden = true;
    detectionView.hidden = true;
    $("translation-view").hidden = true;
    $("tabular-view").hidden = true;
    notesList.hidden = true;
    notesList.textContent = "";
  }

  function showTextCount() {
    const item = current();
    const bytes = new TextEncoder().encode(textInput.value).length;
    const limit = isText(item) && item.text ? item.text.max_text_bytes : 0;
    $("text-count").textContent = bytes + " bytes" + (limit ? " (at most " + limit + ")" : "") +
      (isText(item) && item.text ? "; the model reads the first " + item.text.max_length + " tokens" : "");
  }

  function onServableChange() {
    const item = current();
    let text = "";
    if (isDetector(item)) {
      text = (item.description || "") + " (" + item.model.format + ", finds " + item.model.labels.length +
        " kinds of object: " + item.model.labels.join(", ") + ")";
    } else if (isImageToImage(item)) {
      const shape = item.image_to_image.output_shape;
      text = (item.description || "") + " (" + item.model.format + ", image to image: " + shape[2] + "x" +
        shape[1] + " pictures)";
    } else if (isTabular(item)) {
      const info = item.tabular;
      text = (item.description || "") + " (" + item.model.format + ", table: " + info.objective + ", predicts " +
        info.label + " from " + info.columns.length + " columns)";
    } else if (isText(item)) {
      text = (item.description || "") + " (" + item.model.format + ", text classifier: " +
        item.model.labels.join(", ") + ")";
    } else if (item) {
      text = (item.description || "") + " (" + item.model.format + ", " + item.model.class_num + " classes)";
    }
    $("servable-description").textContent = text;
    const drawable = !!item && item.inputs.includes("image") && item.model.dataset === "mnist";
    $("draw-panel").hidden = !drawable;
    $("drop-zone").hidden = isText(item) || isTabular(item);
    $("text-panel").hidden = !isText(item);
    $("table-panel").hidden = !isTabular(item);
    if (isTabular(item)) buildTableForm(item);
    if (isText(item)) showTextCount();
    $("threshold-row").hidden = !isDetector(item);
    $("output-size-row").hidden = !isImageToImage(item);
    if (isDetector(item)) {
      threshold.value = String(item.detection.score_threshold);
      showThreshold();
    }
    clearResults();
  }

  function showThreshold() {
    $("score-threshold-value").textContent = Math.round(Number(threshold.value) * 100) + "%";
  }

  function cell(tr, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    tr.appendChild(td);
  }

  // Boxes are placed in percent of the photo's size, so they follow the photo however it is scaled.
  function renderDetections(reply) {
    const found = reply.predictions[0];
    const width = found.image_size.width, height = found.image_size.height;
    const layer = $("boxes");
    layer.textContent = "";
    const rows = $("objects").querySelector("tbody");
    rows.textContent = "";
    found.detections.forEach((obj, i) => {
      const [x0, y0, x1, y1] = obj.box;
      const colour = PALETTE[obj.label_id % PALETTE.length];
      const percent = (obj.score * 100).toFixed(1) + "%";
      const box = document.createElement("div");
      box.className = "box" + (y0 / height < 0.06 ? " below" : "");
      box.style.left = (100 * x0 / width) + "%";
      box.style.top = (100 * y0 / height) + "%";
      box.style.width = (100 * (x1 - x0) / width) + "%";
      box.style.height = (100 * (y1 - y0) / height) + "%";
      box.style.borderColor = colour;
      box.dataset.label = obj.label;
      box.title = obj.label + " " + percent;
      const tag = document.createElement("span");
      tag.className = "box-label";
      tag.style.background = colour;
      tag.textContent = obj.label + " " + percent;
      box.appendChild(tag);
      layer.appendChild(box);
      const tr = document.createElement("tr");
      cell(tr, String(i + 1));
      cell(tr, obj.label, "label");
      cell(tr, percent, "score");
      cell(tr, obj.box.map((v) => Math.round(v)).join(", "));
      rows.appendChild(tr);
    });
    $("objects").hidden = found.detections.length === 0;
    detectionView.hidden = false;
    const count = found.detections.length;
    const floor = Math.round(reply.score_threshold * 100) + "%";
    setStatus(count ? count + (count === 1 ? " object" : " objects") + " found by " + reply.servable +
                      " (score above " + floor + ")"
                    : "No object scored above " + floor + " (" + reply.servable + ")", false);
  }

  // The photo sent and the picture the model made of it, side by side.
  function renderTranslation(reply) {
    const picture = reply.predictions[0];
    $("translation-input").src = $("photo").src;
    $("translation-output").src = "data:" + picture.media_type + ";base64," + picture.image;
    const sent = picture.input_size;
    $("translation-input-caption").textContent = sent ? "Photo sent (" + sent.width + "x" + sent.height + ")"
                                                      : "Photo sent";
    $("translation-output-caption").textContent = "Translation by " + reply.servable + " (" + picture.width + "x" +
      picture.height + ")";
    $("translation-view").hidden = false;
    setStatus("Translated by " + reply.servable + ": a " + picture.width + "x" + picture.height + " picture", false);
  }

  function renderNotes(notes) {
    notesList.textContent = "";
    for (const note of notes || []) {
      const li = document.createElement("li");
      li.textContent = note;
      notesList.appendChild(li);
    }
    notesList.hidden = notesList.childElementCount === 0;
  }

  // A tabular servable's answer for the row: the probability and label, the value, or each class's probability.
  function renderTabular(reply) {
    renderNotes(reply.notes);
    const answer = reply.predictions[0];
    const item = servables[reply.servable] || current();
    const target = item && item.tabular ? item.tabular.label : "the label";
    const line = $("tabular-answer");
    const classTable = $("class-probabilities");
    classTable.hidden = true;
    if (reply.objective === "regression") {
      line.textContent = target + " = " + Number(answer.value.toPrecision(6));
      setStatus("Predicted by " + reply.servable + ": " + target + " = " + Number(answer.value.toPrecision(6)), false);
    } else if (reply.objective === "binary") {
      const positive = item && item.tabular ? item.tabular.label_classes[1] : "1";
      const percent = (answer.probability * 100).toFixed(1) + "%";
      line.textContent = target + ": " + answer.label + " (probability of " + positive + ": " + percent + ")";
      setStatus("Predicted by " + reply.servable + ": " + answer.label, false);
    } else {
      line.textContent = target + ": " + answer.label;
      const body = classTable.querySelector("tbody");
      body.textContent = "";
      for (const [name, p] of Object.entries(answer.probabilities)) {
        const tr = document.createElement("tr");
        cell(tr, name, "label");
        cell(tr, (p * 100).toFixed(1) + "%", "score");
        const barCell = document.createElement("td");
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.style.width = Math.max(0, Math.min(100, p * 100)).toFixed(1) + "%";
        barCell.appendChild(bar);
        tr.appendChild(barCell);
        body.appendChild(tr);
      }
      classTable.hidden = false;
      setStatus("Predicted by " + reply.servable + ": " + answer.label, false);
    }
    $("tabular-view").hidden = false;
  }

  function render(reply) {
    window.tinymsLastReply = reply;  // the answer as received (tests compare its numbers)
    if (reply.task === "tabular") {
      renderTabular(reply);
      return;
    }
    if (reply.task === "detection") {
      renderDetections(reply);
      return;
    }
    if (reply.task === "image_to_image") {
      renderTranslation(reply);
      return;
    }
    renderNotes(reply.notes);
    const body = table.querySelector("tbody");
    body.textContent = "";
    const prediction = reply.predictions[0];
    prediction.top.forEach((entry, i) => {
      const tr = document.createElement("tr");
      const percent = (entry.score * 100).toFixed(1) + "%";
      const cells = [String(i + 1), entry.label, percent];
      cells.forEach((text, col) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (col === 1) td.className = "label";
        if (col === 2) td.className = "score";
        tr.appendChild(td);
      });
      const barCell = document.createElement("td");
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = Math.max(0, Math.min(100, entry.score * 100)).toFixed(1) + "%";
      barCell.appendChild(bar);
      tr.appendChild(barCell);
      body.appendChild(tr);
    });
    table.hidden = false;
    setStatus("Top " + prediction.top.length + " from " + reply.servable + ": " + prediction.label, false);
  }

  async function send(blob, contentType) {
    const item = current();
    if (!item) {
      setStatus("Choose a servable first.", true);
      return;
    }
    setStatus("Predicting…", false);
    clearResults();
    const options = isDetector(item) ? { score_threshold: threshold.value }
      : isImageToImage(item) ? { output_size: $("output-original").checked ? "original" : "network" }
      : isTabular(item) ? {}
      : { strategy: "TOP5_CLASS" };
    try {
      render(await backend.predict(item, blob, contentType, options));
    } catch (err) {
      setStatus("Prediction failed: " + err.message, true);
    }
  }

  function sendFile(file) {
    if (!file) return;
    const preview = $("preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    $("photo").src = preview.src;
    lastUpload = { blob: file, type: file.type || "application/octet-stream" };
    send(file, lastUpload.type);
  }

  threshold.addEventListener("input", showThreshold);
  $("output-original").addEventListener("change", () => {
    if (lastUpload && isImageToImage(current())) send(lastUpload.blob, lastUpload.type);
  });
  threshold.addEventListener("change", () => {
    if (lastUpload && isDetector(current())) send(lastUpload.blob, lastUpload.type);
  });

  // ---- text (text servables): the text box's content is sent as a text/plain body
  $("text-panel").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!textInput.value.trim()) {
      setStatus("Type a text first.", true);
      return;
    }
    send(new Blob([textInput.value], { type: "text/plain;charset=utf-8" }), "text/plain; charset=utf-8");
  });
  textInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("text-panel").requestSubmit();
  });
  textInput.addEventListener("input", showTextCount);

  // ---- table rows (tabular servables): the form's row is sent as {"rows": [row]}
  $("table-panel").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = JSON.stringify({ rows: [tableRow()] });
    send(new Blob([body], { type: "application/json" }), "application/json");
  });

  // ---- file picking and dropping
  $("file-input").addEventListener("change", (event) => {
    sendFile(event.target.files[0]);
    event.target.value = "";
  });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    sendFile(event.dataTransfer.files[0]);
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $("file-input").click();
  });

  // ---- drawing
  function clearCanvas() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width,
            (event.clientY - rect.top) * canvas.height / rect.height];
  }

  let last = null;
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(last[0], last[1], 11, 0, 2 * Math.PI);
    ctx.fill();
    drawn = true;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const p = point(event);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 22;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  });
  const stop = () => { last = null; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  // MNIST digits are white on black, scaled to fit a 20x20 box and placed so that their centre
  // of mass is at the centre of a 28x28 image: prepare drawings the same way.
  function drawingAsDigit() {
    const { width, height } = canvas;
    const pixels = ctx.getImageData(0, 0, width, height).data;
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (pixels[(y * width + x) * 4] > 32) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return null;
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    const scale = 20 / Math.max(w, h);
    const sw = w * scale, sh = h * scale;
    const place = (dx, dy) => {
      const small = document.createElement("canvas");
      small.width = 28;
      small.height = 28;
      const sctx = small.getContext("2d");
      sctx.fillStyle = "#000";
      sctx.fillRect(0, 0, 28, 28);
      sctx.imageSmoothingEnabled = true;
      sctx.imageSmoothingQuality = "high";
      sctx.drawImage(canvas, x0, y0, w, h, dx, dy, sw, sh);
      return small;
    };
    const first = place((28 - sw) / 2, (28 - sh) / 2);
    const data = first.getContext("2d").getImageData(0, 0, 28, 28).data;
    let mass = 0, mx = 0, my = 0;
    for (let i = 0; i < 28 * 28; i++) {
      const v = data[i * 4];
      mass += v;
      mx += v * (i % 28);
      my += v * Math.floor(i / 28);
    }
    if (mass === 0) return first;
    const shiftX = 13.5 - mx / mass, shiftY = 13.5 - my / mass;
    return place((28 - sw) / 2 + shiftX, (28 - sh) / 2 + shiftY);
  }

  $("clear").addEventListener("click", () => {
    clearCanvas();
    clearResults();
    setStatus("No prediction yet.", false);
  });
  $("predict-drawing").addEventListener("click", () => {
    const digit = drawn ? drawingAsDigit() : null;
    if (!digit) {
      setStatus("Draw a digit first.", true);
      return;
    }
    const preview = $("preview");
    preview.src = digit.toDataURL("image/png");
    preview.hidden = false;
    $("photo").src = preview.src;
    lastUpload = null;
    digit.toBlob((blob) => send(blob, "image/png"), "image/png");
  });

  select.addEventListener("change", onServableChange);
  clearCanvas();
  loadServables();
})();
