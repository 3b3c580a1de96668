// TinyMS preprocessing recipes and answers in the browser, for the page `tinyms export --web` writes.
//
// A servable's recipe (tinyms/vision/_recipe.py) names its evaluation steps; this file runs them on
// decoded pixels with the arithmetic of TinyMS's numpy executor (tinyms/vision/_np_engine.py, which
// MindSpore's engine is tested against) and of frame_digit (tinyms/vision/_digit.py), so that the page
// gets the network input the server gets: integer fixed-point bilinear resizes, float32 rescaling and
// normalisation (every float32 step is rounded with Math.fround), numpy's summation orders and
// rounding (half to even) where the result depends on them. It also turns outputs into answers of the
// server's JSON shape: softmax + top k (serving/_preprocess.top_k) and, for detectors, per-class
// non-maximum suppression with boxes mapped back onto the photo (vision/_detections.objects_on_photos).
//
// Images are {height, width, channels, data} with data an HWC Uint8Array (pixels) or Float32Array
// (after rescale/normalize); hwc2chw marks the result {chw: true}. No DOM is needed except by decode().
"use strict";

(function (root) {
  const f32 = Math.fround;

  // ------------------------------------------------------------------ numbers as numpy and Python
  // Round half to even (numpy.rint, numpy.round, Python round).
  function rint(x) {
    const low = Math.floor(x);
    const diff = x - low;
    if (diff < 0.5) return low;
    if (diff > 0.5) return low + 1;
    return low % 2 === 0 ? low : low + 1;
  }

  // numpy's float32 sum of a contiguous run (pairwise: blocks of 128 summed with 8 accumulators).
  function pairwiseF32(values, start, count) {
    if (count < 8) {
      let sum = -0;
      for (let i = 0; i < count; i++) sum = f32(sum + values[start + i]);
      return sum;
    }
    if (count <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(values[start + j]);
      let i = 8;
      for (; i < count - (count % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] = f32(r[j] + values[start + i + j]);
      }
      let sum = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
      for (; i < count; i++) sum = f32(sum + values[start + i]);
      return sum;
    }
    let half = Math.floor(count / 2);
    half -= half % 8;
    return f32(pairwiseF32(values, start, half) + pairwiseF32(values, start + half, count - half));
  }

  // The same in float64 (numpy's sum of a float64 array).
  function pairwiseF64(values) {
    const count = values.length;
    if (count < 8) {
      let sum = -0;
      for (let i = 0; i < count; i++) sum += values[i];
      return sum;
    }
    if (count <= 128) {
      const r = values.slice(0, 8);
      let i = 8;
      for (; i < count - (count % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] += values[i + j];
      }
      let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < count; i++) sum += values[i];
      return sum;
    }
    let half = Math.floor(count / 2);
    half -= half % 8;
    return pairwiseF64(values.slice(0, half)) + pairwiseF64(values.slice(half));
  }

  function sortedCopy(values) {
    return Float64Array.from(values).sort();
  }

  // numpy.median: the middle value, or the mean of the two middle values in the array's precision.
  function median(values, isFloat32) {
    const s = sortedCopy(values);
    const n = s.length;
    const mid = n >> 1;
    if (n % 2 === 1) return s[mid];
    return isFloat32 ? f32(f32(s[mid - 1] + s[mid]) / 2) : (s[mid - 1] + s[mid]) / 2;
  }

  // numpy.percentile(values, q) with linear interpolation, for a float32 array (result float64).
  function percentile(values, q) {
    const s = sortedCopy(values);
    const index = (s.length - 1) * (q / 100);
    const below = Math.floor(index);
    const above = Math.min(below + 1, s.length - 1);
    const t = index - below;
    const a = s[below], b = s[above];
    const diff = f32(b - a);
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  // ------------------------------------------------------------------ the bilinear resize (OpenCV's)
  // Source indices and 11-bit weights along one axis, as _np_engine._axis_coefficients.
  function axisCoefficients(src, dst, clamp) {
    const scale = 1.0 / (dst / src);
    const first = new Int32Array(dst), second = new Int32Array(dst);
    const w0 = new Int32Array(dst), w1 = new Int32Array(dst);
    for (let i = 0; i < dst; i++) {
      const pos = f32((i + 0.5) * scale - 0.5);
      let index = Math.floor(pos);
      let frac = f32(pos - index);
      const edge = index >= src - 1;
      if (clamp) {
        if (index < 0) { frac = 0; index = 0; }
        if (edge) { frac = 0; index = src - 1; }
      }
      w0[i] = rint(f32(f32(1 - frac) * 2048));
      w1[i] = rint(f32(frac * 2048));
      second[i] = Math.min(Math.max(index + 1, 0), src - 1);
      first[i] = Math.min(Math.max(index, 0), src - 1);
    }
    return { first, second, w0, w1 };
  }

  // (H, W, C) uint8 -> (height, width, C) uint8, bit for bit the resize MindSpore and OpenCV run.
  function resizeBilinearU8(img, height, width) {
    const { height: h, width: w, channels: c, data } = img;
    if (h === height && w === width) return img;
    const xs = axisCoefficients(w, width, true);
    const ys = axisCoefficients(h, height, false);
    const rows = new Int32Array(h * width * c);  // horizontal pass, exact integers
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < width; x++) {
        const a = (y * w + xs.first[x]) * c, b = (y * w + xs.second[x]) * c, o = (y * width + x) * c;
        for (let k = 0; k < c; k++) rows[o + k] = data[a + k] * xs.w0[x] + data[b + k] * xs.w1[x];
      }
    }
    const out = new Uint8Array(height * width * c);
    for (let y = 0; y < height; y++) {
      const r0 = ys.first[y] * width * c, r1 = ys.second[y] * width * c, wa = ys.w0[y], wb = ys.w1[y];
      for (let i = 0; i < width * c; i++) {
        const top = ((rows[r0 + i] >> 4) * wa) >> 16;
        const bottom = ((rows[r1 + i] >> 4) * wb) >> 16;
        const total = Math.min(Math.min(top + bottom, 32767) + 2, 32767) >> 2;
        out[y * width * c + i] = Math.min(total, 255);
      }
    }
    return { height, width, channels: c, data: out };
  }

  // Output (h, w) of `resize`: [h, w] as given, or the shorter side set to an int (floor).
  function resized(height, width, size) {
    if (Array.isArray(size)) return [size[0], size[1]];
    if (height <= width) return [size, Math.max(1, Math.floor(size * width / height))];
    return [Math.max(1, Math.floor(size * height / width)), size];
  }

  function letterboxGeometry(height, width, size) {
    const [outH, outW] = size;
    const ratio = Math.min(outH / height, outW / width);
    const newH = Math.min(outH, Math.max(1, rint(height * ratio)));
    const newW = Math.min(outW, Math.max(1, rint(width * ratio)));
    return [newH, newW, Math.floor((outH - newH) / 2), Math.floor((outW - newW) / 2)];
  }

  // ------------------------------------------------------------------ steps
  function needU8(img, op) {
    if (!(img.data instanceof Uint8Array) || img.chw) {
      throw new Error("op '" + op + "' needs the decoded uint8 image; put it before 'rescale' and 'hwc2chw'");
    }
    return img;
  }

  function crop(img, top, left, height, width) {
    const { width: w, channels: c, data } = img;
    const out = new data.constructor(height * width * c);
    for (let y = 0; y < height; y++) {
      out.set(data.subarray(((top + y) * w + left) * c, ((top + y) * w + left + width) * c), y * width * c);
    }
    return { height, width, channels: c, data: out };
  }

  function pad(img, top, bottom, left, right, fill) {
    const height = img.height + top + bottom, width = img.width + left + right, c = img.channels;
    const out = new img.data.constructor(height * width * c).fill(fill || 0);
    for (let y = 0; y < img.height; y++) {
      out.set(img.data.subarray(y * img.width * c, (y + 1) * img.width * c), ((y + top) * width + left) * c);
    }
    return { height, width, channels: c, data: out };
  }

  const STEPS = {
    frame_digit(img) {
      return frameDigit(needU8(img, "frame_digit"));
    },
    resize(img, p) {
      needU8(img, "resize");
      const [height, width] = resized(img.height, img.width, p.size);
      return resizeBilinearU8(img, height, width);
    },
    letterbox(img, p) {
      needU8(img, "letterbox");
      const [newH, newW, top, left] = letterboxGeometry(img.height, img.width, p.size);
      const inner = resizeBilinearU8(img, newH, newW);
      return pad(inner, top, p.size[0] - newH - top, left, p.size[1] - newW - left, p.fill);
    },
    center_crop(img, p) {
      needU8(img, "center_crop");
      const [height, width] = p.size;
      if (height > img.height || width > img.width) {  // zero padding around a too-small image
        const ph = Math.max(0, height - img.height), pw = Math.max(0, width - img.width);
        img = pad(img, ph >> 1, ph - (ph >> 1), pw >> 1, pw - (pw >> 1), 0);
      }
      return crop(img, (img.height - height) >> 1, (img.width - width) >> 1, height, width);
    },
    rescale(img, p) {
      const scale = f32(p.scale), shift = f32(p.shift);
      const out = new Float32Array(img.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f32(f32(img.data[i] * scale) + shift);
      return { ...img, data: out };
    },
    normalize(img, p) {
      const c = img.chw ? 1 : img.channels;
      if ((p.mean.length !== 1 && p.mean.length !== c) || (p.std.length !== 1 && p.std.length !== c)) {
        throw new Error("normalize has " + p.mean.length + " mean and " + p.std.length + " std values for an " +
                        "image with " + c + " channels; give one value per channel");
      }
      const mean = p.mean.map(f32), std = p.std.map(f32);
      const out = new Float32Array(img.data.length);
      for (let i = 0; i < out.length; i++) {
        const k = i % c;
        out[i] = f32(f32(img.data[i] - mean[mean.length === 1 ? 0 : k]) / std[std.length === 1 ? 0 : k]);
      }
      return { ...img, data: out };
    },
    hwc2chw(img) {
      const { height: h, width: w, channels: c, data } = img;
      const out = new data.constructor(data.length);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = data[(y * w + x) * c + k];
        }
      }
      return { height: h, width: w, channels: c, data: out, chw: true };
    },
  };

  // Run the evaluation steps ([op, {params}] pairs) on a decoded image.
  function run(steps, img) {
    for (const [op, params] of steps) {
      const step = STEPS[op];
      if (!step) throw new Error("this page cannot run the recipe step '" + op + "'");
      img = step(img, params || {});
    }
    return img;
  }

  // The shape run() gives: [C, H, W] after hwc2chw, else [H, W, C].
  function shapeOf(img) {
    return img.chw ? [img.channels, img.height, img.width] : [img.height, img.width, img.channels];
  }

  // ------------------------------------------------------------------ frame_digit (tinyms/vision/_digit.py)
  const FIELD = 28, BOX = 20, CENTRE = 14.0, WORK_SIDE = 512, BG_SIDE = 64, MIN_CONTRAST = 12.0;
  const MIN_STRONG = 16, KEEP_FRACTION = 0.05, MAX_RUNS = 50000, PEN = 2.0, THIN = 1.4;

  // A 2-D plane: {h, w, a} with a a typed array of h * w values.
  function plane(h, w, Type) {
    return { h, w, a: new (Type || Float32Array)(h * w) };
  }

  function border(p) {
    const width = Math.max(1, Math.floor(Math.min(p.h, p.w) / 20));
    const out = [];
    const rows = (from, to) => {
      for (let y = from; y < to; y++) for (let x = 0; x < p.w; x++) out.push(p.a[y * p.w + x]);
    };
    rows(0, Math.min(width, p.h));
    rows(Math.max(0, p.h - width), p.h);
    for (const [x0, x1] of [[0, Math.min(width, p.w)], [Math.max(0, p.w - width), p.w]]) {
      for (let y = width; y < p.h - width; y++) for (let x = x0; x < x1; x++) out.push(p.a[y * p.w + x]);
    }
    return out;
  }

  // PIL's resampling (Resample.c): per output pixel a normalised filter over the input, two passes.
  function resampleCoefficients(inSize, in0, in1, outSize, filter, support) {
    const scale = f32(in1 - in0) / outSize;
    const filterScale = Math.max(scale, 1.0);
    const reach = support * filterScale;
    const bounds = [], weights = [];
    for (let xx = 0; xx < outSize; xx++) {
      const centre = in0 + (xx + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(centre - reach + 0.5));
      const xmax = Math.min(inSize, Math.trunc(centre + reach + 0.5)) - xmin;
      const k = [];
      let total = 0.0;
      for (let x = 0; x < xmax; x++) {
        const v = filter((x + xmin - centre + 0.5) * (1.0 / filterScale));
        k.push(v);
        total += v;
      }
      for (let x = 0; x < xmax; x++) if (total !== 0.0) k[x] /= total;
      bounds.push([xmin, xmax]);
      weights.push(k);
    }
    return { bounds, weights };
  }

  const FILTERS = {
    box: [(x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0), 0.5],
    bilinear: [(x) => { x = Math.abs(x); return x < 1.0 ? 1.0 - x : 0.0; }, 1.0],
  };

  // PIL's resize of a float ('F') or 8-bit ('L') plane to outW x outH, box [x0, y0, x1, y1] of the input.
  function pilResize(p, outW, outH, name, box) {
    const [filter, support] = FILTERS[name];
    box = (box || [0, 0, p.w, p.h]).map(f32);  // PIL passes the box as C floats
    const eight = p.a instanceof Uint8Array;
    const needH = outW !== p.w || box[0] !== 0 || box[2] !== outW;
    const needV = outH !== p.h || box[1] !== 0 || box[3] !== outH;
    const vert = resampleCoefficients(p.h, box[1], box[3], outH, filter, support);
    const pass = (src, coeff, srcLen, outLen, rowsOf, get, set) => {
      const fixed = eight ? coeff.weights.map((k) => k.map((v) => Math.trunc(v < 0 ? -0.5 + v * 4194304 : 0.5 + v * 4194304))) : null;
      for (let o = 0; o < outLen; o++) {
        const [start, count] = coeff.bounds[o];
        for (let r = 0; r < rowsOf; r++) {
          if (eight) {
            let ss = 1 << 21;
            for (let i = 0; i < count; i++) ss += get(r, start + i) * fixed[o][i];
            set(r, o, Math.min(255, Math.max(0, ss >> 22)));
          } else {
            let ss = 0.0;
            for (let i = 0; i < count; i++) ss += get(r, start + i) * coeff.weights[o][i];
            set(r, o, ss);
          }
        }
      }
    };
    // Pillow runs the vertical pass first when the height shrinks by more than twice the width does.
    const verticalFirst = p.h - outH > 0 && p.h - outH > (p.w - outW) * 2;
    const horiz = needH ? resampleCoefficients(p.w, box[0], box[2], outW, filter, support) : null;
    let cur = p;
    const horizontalPass = (src, firstRow, rows) => {
      const tmp = plane(rows, outW, p.a.constructor);
      pass(src, horiz, src.w, outW, rows, (r, i) => src.a[(r + firstRow) * src.w + i], (r, o, v) => { tmp.a[r * outW + o] = v; });
      return tmp;
    };
    const verticalPass = (src, shift) => {
      const out = plane(outH, src.w, p.a.constructor);
      pass(src, vert, src.h, outH, src.w, (c, i) => src.a[(i - shift) * src.w + c], (c, o, v) => { out.a[o * src.w + c] = v; });
      return out;
    };
    if (verticalFirst) {
      if (needV) cur = verticalPass(cur, 0);
      if (needH) cur = horizontalPass(cur, 0, cur.h);
    } else {
      let firstRow = 0;
      if (needH) {  // only the rows the vertical pass reads
        firstRow = vert.bounds[0][0];
        const lastRow = vert.bounds[outH - 1][0] + vert.bounds[outH - 1][1];
        cur = horizontalPass(cur, firstRow, lastRow - firstRow);
      }
      if (needV) cur = verticalPass(cur, needH ? firstRow : 0);
    }
    return cur === p ? { h: p.h, w: p.w, a: p.a.slice() } : cur;
  }

  // PIL's Image.reduce for an 8-bit plane: block averages (Reduce.c), the last partial blocks included.
  function pilReduce(p, fx, fy) {
    const outW = Math.ceil(p.w / fx), outH = Math.ceil(p.h / fy);
    const out = plane(outH, outW, Uint8Array);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const y1 = Math.min(p.h, (y + 1) * fy), x1 = Math.min(p.w, (x + 1) * fx);
        const count = (y1 - y * fy) * (x1 - x * fx);
        let ss = Math.floor(count / 2);
        for (let yy = y * fy; yy < y1; yy++) for (let xx = x * fx; xx < x1; xx++) ss += p.a[yy * p.w + xx];
        const multiplier = Math.trunc(f32(4294967296 / f32(256 * count)));
        out.a[y * outW + x] = Math.floor(ss * multiplier / 16777216) & 0xff;  // < 2 ** 32: exact
      }
    }
    return out;
  }

  // Image.resize(size, BOX, reducing_gap=2.0) of an 8-bit plane.
  function pilResizeReducing(p, outW, outH) {
    const fx = Math.trunc(p.w / outW / 2.0) || 1, fy = Math.trunc(p.h / outH / 2.0) || 1;
    if (fx === 1 && fy === 1) return pilResize(p, outW, outH, "box");
    const reduced = pilReduce(p, fx, fy);
    return pilResize(reduced, outW, outH, "box", [0, 0, p.w / fx, p.h / fy]);
  }

  // ImageFilter.BoxBlur(1) of an 8-bit plane: 3-tap means with the edge pixel repeated, rows then columns.
  function boxBlur1(p) {
    const ww = Math.trunc(f32(16777216 / 3));
    const line = (get, n, set) => {
      for (let i = 0; i < n; i++) {
        const acc = get(Math.max(i - 1, 0)) + get(i) + get(Math.min(i + 1, n - 1));
        set(i, Math.floor((acc * ww + 8388608) / 16777216) & 0xff);
      }
    };
    const mid = plane(p.h, p.w, Uint8Array), out = plane(p.h, p.w, Uint8Array);
    for (let y = 0; y < p.h; y++) line((x) => p.a[y * p.w + x], p.w, (x, v) => { mid.a[y * p.w + x] = v; });
    for (let x = 0; x < p.w; x++) line((y) => mid.a[y * p.w + x], p.h, (y, v) => { out.a[y * p.w + x] = v; });
    return out;
  }

  // _digit._filter: a k x k sliding min, max or mean, edges repeated (rows first, then columns).
  function slidingFilter(p, k, kind) {
    const half = k >> 1;
    let cur = p;
    for (const axis of [0, 1]) {
      const out = plane(cur.h, cur.w, cur.a.constructor);
      const window = new Float64Array(k);
      for (let y = 0; y < cur.h; y++) {
        for (let x = 0; x < cur.w; x++) {
          for (let i = 0; i < k; i++) {
            const yy = axis === 0 ? Math.min(Math.max(y + i - half, 0), cur.h - 1) : y;
            const xx = axis === 1 ? Math.min(Math.max(x + i - half, 0), cur.w - 1) : x;
            window[i] = cur.a[yy * cur.w + xx];
          }
          let v;
          if (kind === "min") v = Math.min(...window);
          else if (kind === "max") v = Math.max(...window);
          else if (axis === 0) {  // numpy adds strided windows one row after the other
            v = window[0];
            for (let i = 1; i < k; i++) v = f32(v + window[i]);
            v = f32(v / k);
          } else {
            v = f32(pairwiseF32(window, 0, k) / k);
          }
          out.a[y * cur.w + x] = v;
        }
      }
      cur = out;
    }
    return cur;
  }

  function reduceWork(grey) {
    if (Math.max(grey.h, grey.w) <= WORK_SIDE) return grey;
    const scale = WORK_SIDE / Math.max(grey.h, grey.w);
    return pilResizeReducing(grey, Math.max(1, rint(grey.w * scale)), Math.max(1, rint(grey.h * scale)));
  }

  function shading(work) {
    const { h: height, w: width } = work;
    if (Math.min(height, width) < 16) return f32(median(border(work), true));
    const scale = Math.min(1.0, BG_SIDE / Math.max(height, width));
    const small = pilResize(work, Math.max(4, rint(width * scale)), Math.max(4, rint(height * scale)), "box");
    const k = Math.max(3, Math.floor(Math.min(small.h, small.w) / 3) | 1);
    const opened = slidingFilter(slidingFilter(small, k, "min"), k, "max");
    const smooth = slidingFilter(opened, k, "mean");
    return pilResize(smooth, width, height, "bilinear");
  }

  function inkUp(grey) {
    const blurred = boxBlur1(grey);
    let low = 255, high = 0;
    for (const v of blurred.a) { if (v < low) low = v; if (v > high) high = v; }
    if (high - low < MIN_CONTRAST) return null;
    const work = plane(grey.h, grey.w);
    const paper = median(border(grey), false);
    const flip = high - paper < paper - low;
    for (let i = 0; i < work.a.length; i++) work.a[i] = flip ? 255 - grey.a[i] : grey.a[i];
    const shade = shading(work);
    const ink = plane(grey.h, grey.w);
    for (let i = 0; i < ink.a.length; i++) ink.a[i] = f32(work.a[i] - (typeof shade === "number" ? shade : shade.a[i]));
    return ink;
  }

  function despeckle(mask) {
    const { h, w } = mask;
    const out = plane(h, w, Uint8Array);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!mask.a[y * w + x]) continue;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if ((dy || dx) && yy >= 0 && yy < h && xx >= 0 && xx < w) n += mask.a[yy * w + xx];
          }
        }
        out.a[y * w + x] = n >= 2 ? 1 : 0;
      }
    }
    return out;
  }

  function threshold(ink, level) {
    const cut = f32(level);  // numpy compares a float32 array with the threshold cast to float32
    const out = plane(ink.h, ink.w, Uint8Array);
    for (let i = 0; i < out.a.length; i++) out.a[i] = ink.a[i] > cut ? 1 : 0;
    return out;
  }

  function runs(mask) {
    const found = [];
    for (let y = 0; y < mask.h; y++) {
      let x = 0;
      while (x < mask.w) {
        if (!mask.a[y * mask.w + x]) { x++; continue; }
        const start = x;
        while (x < mask.w && mask.a[y * mask.w + x]) x++;
        found.push([y, start, x]);
      }
    }
    return found;
  }

  // Blobs (8-connected) smaller than KEEP_FRACTION of the largest removed; a very noisy mask keeps
  // the box of the central 98 % of its pixels instead.
  function keepBlobs(mask) {
    const list = runs(mask);
    if (list.length > MAX_RUNS) return quantileBox(mask);
    const parent = list.map((_, i) => i);
    const rootOf = (i) => {
      while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; }
      return i;
    };
    const byRow = new Map();
    list.forEach(([row], i) => { if (!byRow.has(row)) byRow.set(row, []); byRow.get(row).push(i); });
    for (const [row, current] of byRow) {
      const above = byRow.get(row - 1) || [];
      for (const i of current) {
        const [, start, stop] = list[i];
        for (const j of above) {
          if (list[j][2] >= start && list[j][1] <= stop) parent[rootOf(i)] = rootOf(j);
        }
      }
    }
    const area = new Map();
    list.forEach(([, start, stop], i) => { const r = rootOf(i); area.set(r, (area.get(r) || 0) + stop - start); });
    const largest = Math.max(...area.values());
    const kept = plane(mask.h, mask.w, Uint8Array);
    list.forEach(([row, start, stop], i) => {
      if (area.get(rootOf(i)) >= KEEP_FRACTION * largest) kept.a.fill(1, row * mask.w + start, row * mask.w + stop);
    });
    return kept;
  }

  function quantileBox(mask) {
    const rows = [], cols = [];
    for (let y = 0; y < mask.h; y++) for (let x = 0; x < mask.w; x++) if (mask.a[y * mask.w + x]) { rows.push(y); cols.push(x); }
    const linear = (values, q) => {
      const s = Float64Array.from(values).sort();
      const index = (s.length - 1) * (q / 100), below = Math.floor(index), t = index - below;
      const a = s[below], b = s[Math.min(below + 1, s.length - 1)], diff = b - a;
      return rint(t >= 0.5 ? b - diff * (1 - t) : a + diff * t);
    };
    const top = linear(rows, 1), bottom = linear(rows, 99), left = linear(cols, 1), right = linear(cols, 99);
    const kept = plane(mask.h, mask.w, Uint8Array);
    for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) kept.a[y * mask.w + x] = mask.a[y * mask.w + x];
    return kept;
  }

  function softInk(ink) {
    const paper = f32(median(ink.a, true));
    const deviations = new Float32Array(ink.a.length);
    for (let i = 0; i < ink.a.length; i++) deviations[i] = Math.abs(f32(ink.a[i] - paper));
    const spread = 1.4826 * median(deviations, true);
    const strong = despeckle(threshold(ink, paper + Math.max(4.0 * spread, MIN_CONTRAST)));
    let count = 0;
    for (const v of strong.a) count += v;
    if (count < Math.min(MIN_STRONG, 0.005 * strong.a.length)) return null;
    const strongInk = [];
    for (let i = 0; i < ink.a.length; i++) if (strong.a[i]) strongInk.push(ink.a[i]);
    const contrast = percentile(strongInk, 75) - paper;
    if (contrast < MIN_CONTRAST) return null;
    let mask = despeckle(threshold(ink, paper + contrast / 2));
    if (!mask.a.some((v) => v)) return null;
    mask = keepBlobs(mask);
    const soft = plane(ink.h, ink.w);
    const p32 = f32(paper), quarter = f32(contrast / 4), halfC = f32(contrast / 2);
    for (let i = 0; i < ink.a.length; i++) {
      const v = f32(f32(f32(ink.a[i] - p32) - quarter) / halfC);
      soft.a[i] = Math.min(1, Math.max(0, v));
    }
    return { soft, mask };
  }

  function subPlane(p, top, bottom, left, right) {
    const out = plane(bottom - top, right - left, p.a.constructor);
    for (let y = top; y < bottom; y++) out.a.set(p.a.subarray(y * p.w + left, y * p.w + right), (y - top) * out.w);
    return out;
  }

  function penWidth(cropped, mask, scale) {
    let area = 0, outline = 0;
    for (let y = 0; y < mask.h; y++) {
      for (let x = 0; x < mask.w; x++) {
        const v = mask.a[y * mask.w + x];
        area += v;
        if (y + 1 < mask.h && v !== mask.a[(y + 1) * mask.w + x]) outline++;
        if (x + 1 < mask.w && v !== mask.a[y * mask.w + x + 1]) outline++;
      }
    }
    if (outline === 0) return cropped;
    const stroke = 2.0 * area / outline * scale;
    if (stroke >= THIN) return cropped;
    const k = 2 * rint((PEN - stroke) / scale / 2) + 1;
    return k < 3 ? cropped : slidingFilter(cropped, k, "max");
  }

  function place(soft, mask) {
    let top = mask.h, bottom = -1, left = mask.w, right = -1;
    for (let y = 0; y < mask.h; y++) {
      for (let x = 0; x < mask.w; x++) {
        if (mask.a[y * mask.w + x]) {
          top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    bottom += 1; right += 1;
    const maskCrop = subPlane(mask, top, bottom, left, right);
    const near = slidingFilter(maskCrop, 5, "max");
    let cropped = subPlane(soft, top, bottom, left, right);
    for (let i = 0; i < cropped.a.length; i++) if (!(near.a[i] > 0)) cropped.a[i] = 0;
    const height = cropped.h, width = cropped.w;
    const scale = BOX / Math.max(height, width);
    cropped = penWidth(cropped, maskCrop, scale);
    const sw = Math.max(1, rint(width * scale)), sh = Math.max(1, rint(height * scale));
    const digit = pilResize(cropped, sw, sh, "bilinear");
    for (let i = 0; i < digit.a.length; i++) if (digit.a[i] < 0) digit.a[i] = 0;
    const total = pairwiseF32(digit.a, 0, digit.a.length);
    if (total <= 0) return blankField();
    const rowSums = [], colSums = new Float32Array(sw);
    for (let y = 0; y < sh; y++) rowSums.push(pairwiseF32(digit.a, y * sw, sw) * y);
    for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) colSums[x] = y === 0 ? digit.a[x] : f32(colSums[x] + digit.a[y * sw + x]);
    const centreY = pairwiseF64(rowSums) / total;
    const centreX = pairwiseF64(Array.from(colSums, (v, x) => v * x)) / total;
    const top2 = Math.min(Math.max(rint(CENTRE - centreY), 0), FIELD - sh);
    const left2 = Math.min(Math.max(rint(CENTRE - centreX), 0), FIELD - sw);
    let peak = -Infinity;
    for (const v of digit.a) if (v > peak) peak = v;
    const field = new Uint8Array(FIELD * FIELD);
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        field[(top2 + y) * FIELD + left2 + x] = rint(f32(f32(digit.a[y * sw + x] / peak) * 255.0));
      }
    }
    return { height: FIELD, width: FIELD, channels: 1, data: field };
  }

  function blankField() {
    return { height: FIELD, width: FIELD, channels: 1, data: new Uint8Array(FIELD * FIELD) };
  }

  // A grey photo of a digit -> the 28x28 MNIST framing; an image already framed is returned unchanged.
  function frameDigit(img) {
    if (img.channels !== 1) throw new Error("frame_digit takes a grey image");
    const grey = { h: img.height, w: img.width, a: img.data };
    if (grey.h === FIELD && grey.w === FIELD && median(border(grey), false) < 128) {
      return { height: FIELD, width: FIELD, channels: 1, data: img.data.slice() };
    }
    const ink = inkUp(reduceWork(grey));
    if (!ink) return blankField();
    const found = softInk(ink);
    if (!found) return blankField();
    return place(found.soft, found.mask);
  }

  // ------------------------------------------------------------------ decoding
  // An image file (Blob) -> {height, width, channels, data}: EXIF orientation applied, no colour
  // management (as PIL), grey as PIL's "L" (ITU-R 601 luma in 16-bit fixed point).
  async function decode(blob, channels, maxPixels) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none",
                                               colorSpaceConversion: "none" });
    } catch (err) {
      throw new Error("cannot decode the " + blob.size + " bytes sent as an image (not an image this browser " +
                      "decodes); send the content of a PNG, JPEG or other common image file");
    }
    const { width, height } = bitmap;
    if (width * height > maxPixels) {
      bitmap.close();
      throw new Error("the image is " + width + "x" + height + " pixels, more than the limit of " +
                      maxPixels.toLocaleString("en-US") + "; send a smaller image");
    }
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    return fromRGBA(ctx.getImageData(0, 0, width, height).data, height, width, channels);
  }

  function fromRGBA(rgba, height, width, channels) {
    const n = height * width;
    const data = new Uint8Array(n * channels);
    for (let i = 0; i < n; i++) {
      const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
      if (channels === 1) data[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
      else { data[3 * i] = r; data[3 * i + 1] = g; data[3 * i + 2] = b; }
    }
    return { height, width, channels, data };
  }

  // ------------------------------------------------------------------ answers
  // Softmax of each row and its k best classes, as serving/_preprocess.top_k (stable order on ties).
  function topK(rows, labels, k) {
    return rows.map((logits) => {
      let peak = -Infinity;
      for (const v of logits) peak = Math.max(peak, v);
      const exps = Array.from(logits, (v) => Math.exp(v - peak));
      const total = exps.reduce((a, b) => a + b, 0);
      const probs = exps.map((v) => v / total);
      const order = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a]).slice(0, Math.min(k, probs.length));
      const top = order.map((i) => ({ label: labels[i], score: probs[i], index: i }));
      return { label: top[0].label, score: top[0].score, index: top[0].index, top };
    });
  }

  // How evaluation steps move pixel coordinates of a height x width photo (_np_engine.box_affine).
  function boxAffine(steps, height, width) {
    let sx = 1, sy = 1, tx = 0, ty = 0;
    for (const [op, p] of steps) {
      let a, b, c = 0, d = 0, outH, outW;
      if (op === "resize") {
        [outH, outW] = resized(height, width, p.size);
        a = outW / width; b = outH / height;
      } else if (op === "letterbox") {
        const [newH, newW, top, left] = letterboxGeometry(height, width, p.size);
        a = newW / width; b = newH / height; c = left; d = top;
        [outH, outW] = p.size;
      } else if (KEEPS_BOXES.includes(op)) {
        continue;
      } else {
        throw new Error("the recipe step '" + op + "' cannot map boxes back onto the photo");
      }
      tx = tx * a + c; ty = ty * b + d; sx *= a; sy *= b;
      height = outH; width = outW;
    }
    return [[sx, sy, sx, sy], [tx, ty, tx, ty]];
  }
  const KEEPS_BOXES = ["rescale", "normalize", "hwc2chw", "color_jitter"];

  // Python's round(value, places): half to even on the double's exact decimal expansion.
  function roundTo(value, places) {
    const text = Math.abs(value).toFixed(100);
    const dot = text.indexOf(".");
    const kept = text.slice(0, dot + 1 + places), rest = text.slice(dot + 1 + places);
    let digits = BigInt(kept.replace(".", ""));
    const half = "5" + "0".repeat(rest.length - 1);
    if (rest > half || (rest === half && digits % 2n === 1n)) digits += 1n;
    const sign = value < 0 ? "-" : "";
    const whole = digits.toString().padStart(places + 1, "0");
    return Number(sign + whole.slice(0, whole.length - places) + "." + whole.slice(whole.length - places));
  }

  // _boxes._suppresses in float32: IoU(a, b) > t as inter > t * union; boxes [xmin, ymin, xmax, ymax].
  function suppresses(a, b, t32) {
    const width = f32(Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const height = f32(Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = f32(Math.max(width, 0) * Math.max(height, 0));
    const areaA = f32(f32(a[2] - a[0]) * f32(a[3] - a[1])), areaB = f32(f32(b[2] - b[0]) * f32(b[3] - b[1]));
    return inter > f32(t32 * f32(f32(areaA + areaB) - inter));
  }

  // One image's objects from a detector's outputs (float32 boxes (A, 4) [ymin, xmin, ymax, xmax] in
  // [0, 1] and scores (A, C)), as vision/_detections.objects_on_photos with _boxes.detect_boxes: the
  // (anchor, class) pairs scoring above the threshold, best first (ties in anchor then class order),
  // kept unless a kept box of their class overlaps them more than iou_threshold, at most
  // max_detections (and 1000 candidates per class); boxes in pixels of the photo, rounded to 0.001.
  function detections(boxes, scores, anchors, classes, labels, background, inputSize, steps, photoSize, options) {
    const first = background ? 1 : 0, named = classes - first;
    const cut = f32(options.score_threshold), t32 = f32(options.iou_threshold);
    const candidates = [];
    for (let a = 0; a < anchors; a++) {
      let best = -1;
      if (options.strategy !== "ALL_CLASSES") {  // TOP1_CLASS: each anchor's best object class only
        best = 0;
        for (let c = 1; c < named; c++) if (scores[a * classes + first + c] > scores[a * classes + first + best]) best = c;
      }
      for (let c = 0; c < named; c++) {
        const score = scores[a * classes + first + c];
        if ((best < 0 || c === best) && score > cut) candidates.push({ anchor: a, label: c, score });
      }
    }
    candidates.sort((x, y) => y.score - x.score);  // a stable sort: ties keep their input order
    const kept = [], seen = new Array(named).fill(0);
    for (const cand of candidates) {
      if (kept.length >= options.max_detections) break;
      if (seen[cand.label]++ >= 1000) continue;
      const o = cand.anchor * 4;
      const clip = (v) => Math.min(Math.max(v, 0), 1);
      cand.box = [clip(boxes[o + 1]), clip(boxes[o]), clip(boxes[o + 3]), clip(boxes[o + 2])];
      if (!kept.some((k) => k.label === cand.label && suppresses(cand.box, k.box, t32))) kept.push(cand);
    }
    const [height, width] = inputSize;
    const [photoH, photoW] = photoSize;
    const [scale, shift] = boxAffine(steps, photoH, photoW);
    const onInput = [width, height, width, height], limit = [photoW, photoH, photoW, photoH];
    return kept.map((obj) => ({
      box: obj.box.map((v, i) => roundTo(Math.min(Math.max((v * onInput[i] - shift[i]) / scale[i], 0), limit[i]), 3)),
      label: labels[obj.label], label_id: obj.label, score: obj.score,
    }));
  }

  root.TinyMSRecipe = {
    OPS: Object.keys(STEPS),
    decode, fromRGBA, run, shapeOf, topK, detections, boxAffine, frameDigit, resizeBilinearU8,
    // exposed for the tests that compare each part with TinyMS's Python
    _internals: { roundTo, suppresses, pilResize, pilResizeReducing, pilReduce, boxBlur1, slidingFilter, percentile, median, rint },
  };
})(typeof window !== "undefined" ? window : globalThis);
