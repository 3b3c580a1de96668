"""Private numpy helpers for Criteo-format click logs (``tinyms.data.criteo``).

A Criteo line is ``label \\t I1 .. I13 \\t C1 .. C26 \\n``: a 0/1 label, 13 integer fields
(empty when missing, may be negative) and 26 categorical fields (8 lower-case hex digits, empty
when missing). Everything here works on chunks of whole lines as numpy arrays, never on the
whole file and never with a Python object per value:

- :func:`read_chunks` reads ``chunk_lines`` lines at a time from a byte offset;
- :func:`parse_chunk` splits a chunk into arrays and names every malformed line;
- :class:`Stats` accumulates per-field statistics (numeric count / sum / sum of squares of the
  log transform; categorical (value uint32, count uint32) arrays kept sorted) and saves and
  loads itself as one ``.npz``;
- :func:`test_mask` is the seeded, counter-based 90/10 split (a function of the line number);
- :func:`encode` maps parsed lines to ``feat_ids`` / ``feat_vals`` with a feature-spec dict.
"""

import itertools
import json

import numpy as np

__all__ = ["N_INT", "N_CAT", "INT_NAMES", "CAT_NAMES", "read_chunks", "parse_chunk", "Stats",
           "test_mask", "log_transform", "encode", "Encoder"]

N_INT, N_CAT = 13, 26
N_FIELDS = 1 + N_INT + N_CAT
INT_NAMES = tuple(f"I{i + 1}" for i in range(N_INT))
CAT_NAMES = tuple(f"C{i + 1}" for i in range(N_CAT))
_MAX_DIGITS = 18          # an integer field longer than this is malformed (int64 range)
MAX_EXAMPLES = 20         # malformed lines remembered by number (all are counted)

_DIGIT = np.full(256, 255, np.uint8)
_DIGIT[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)


def read_chunks(path, offset=0, first_line=0, chunk_lines=100_000, max_lines=None):
    """Yield ``(first_line, data, end_offset)`` for successive chunks of ``chunk_lines`` lines.

    ``data`` holds whole lines (the last one given a ``\\n`` if the file lacks it);
    ``end_offset`` is the byte offset just after the chunk, where a later call may resume
    (with ``first_line + lines``). Chunk boundaries depend only on where reading started, so
    a run resumed at a chunk boundary reads the same chunks as an uninterrupted one.
    ``max_lines`` stops after that many lines in total (counted from line 0).
    """
    with open(path, "rb", buffering=1 << 22) as f:
        f.seek(offset)
        line = first_line
        while max_lines is None or line < max_lines:
            want = chunk_lines if max_lines is None else min(chunk_lines, max_lines - line)
            lines = list(itertools.islice(f, want))
            if not lines:
                return
            data = b"".join(lines)
            offset += len(data)
            if not data.endswith(b"\n"):
                data += b"\n"
            yield line, data, offset
            line += len(lines)


class Parsed:
    """One parsed chunk: arrays over its well-formed lines, and what was wrong with the others."""

    __slots__ = ("line", "label", "ints", "int_missing", "cats", "cat_missing", "lines", "bad")

    def __init__(self, line, label, ints, int_missing, cats, cat_missing, lines, bad):
        self.line = line                  # int64 (n,): 0-based line numbers in the file
        self.label = label                # uint8 (n,)
        self.ints = ints                  # int64 (n, 13), 0 where missing
        self.int_missing = int_missing    # bool (n, 13)
        self.cats = cats                  # uint32 (n, 26), 0 where missing
        self.cat_missing = cat_missing    # bool (n, 26)
        self.lines = lines                # lines in the chunk, good and bad
        self.bad = bad                    # list of (0-based line number, reason)


def _horner(buf, starts, lengths, table, base, width):
    """Parse digit strings in ``buf`` one position at a time; returns (values int64, all digits valid)."""
    value = np.zeros(starts.shape, np.int64)
    ok = np.ones(starts.shape, bool)
    for j in range(width):
        more = lengths > j
        digit = table[buf[np.where(more, starts + j, 0)]]
        ok &= ~more | (digit != 255)
        value = np.where(more, value * base + digit, value)
    return value, ok


_U = np.uint64
_BYTES_01, _BYTES_0F, _BYTES_30 = _U(0x0101010101010101), _U(0x0F0F0F0F0F0F0F0F), _U(0x3030303030303030)
_BYTES_06, _BYTES_F0 = _U(0x0606060606060606), _U(0xF0F0F0F0F0F0F0F0)


def _words(data):
    """The 8 bytes starting at every offset of ``data`` as little-endian uint64 (zero-padded at the end)."""
    padded = data + bytes(8)
    return np.ndarray((len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))


def _hex8(words, starts, lengths):
    """8-hex-digit fields (8 bytes at once): (uint32 values, valid: 8 lower-case hex digits or empty)."""
    x = words[np.ascontiguousarray(starts)]
    nib = (x & _BYTES_0F) + ((x >> _U(6)) & _BYTES_01) * _U(9)        # '0'-'9' -> 0-9, 'a'-'f' -> 10-15
    canonical = nib + _BYTES_30 + (((nib + _BYTES_06) >> _U(4)) & _BYTES_01) * _U(0x27)
    ok = (canonical == x) & (((nib + _U(0x7070707070707070)) & _U(0x8080808080808080)) == 0)
    pairs = ((nib << _U(4)) | (nib >> _U(8))) & _U(0x00FF00FF00FF00FF)
    quads = ((pairs << _U(8)) | (pairs >> _U(16))) & _U(0x0000FFFF0000FFFF)
    value = (((quads << _U(16)) | (quads >> _U(32))) & _U(0xFFFFFFFF)).astype(np.uint32)
    eight = lengths == 8
    return np.where(eight, value, np.uint32(0)), np.where(eight, ok, lengths == 0)


def _decimal(words, buf, starts, lengths):
    """Unsigned decimal fields: up to 8 digits 8 bytes at once, longer ones digit by digit."""
    x = words[np.ascontiguousarray(starts)]
    shift = (_U(8) - np.clip(lengths, 1, 8).astype(_U)) * _U(8)       # right-align the digits
    with np.errstate(over="ignore"):
        aligned = (x << shift) | (_BYTES_30 & ((_U(1) << shift) - _U(1)))  # leading '0's
        d = aligned - _BYTES_30
        ok = ((d & _BYTES_F0) == 0) & (((d + _BYTES_06) & _BYTES_F0) == 0)
        d = (d * _U(10) + (d >> _U(8))) & _U(0x00FF00FF00FF00FF)
        d = (d * _U(100) + (d >> _U(16))) & _U(0x0000FFFF0000FFFF)
        d = (d * _U(10000) + (d >> _U(32))) & _U(0xFFFFFFFF)
    value = np.where(lengths > 0, d.astype(np.int64), 0)
    long = lengths > 8
    if long.any():
        value[long], ok[long] = _horner(buf, starts[long], lengths[long], _DIGIT, 10, _MAX_DIGITS)
        ok[long] &= lengths[long] <= _MAX_DIGITS
    return value, ok | (lengths == 0)


def parse_chunk(data, first_line):
    """Parse whole Criteo lines in ``data`` (bytes ending with ``\\n``).

    Malformed lines (not 40 tab-separated fields, a label other than 0/1, an integer field
    that is not an integer, a categorical field that is not 8 lower-case hex digits) are
    left out of the arrays and listed in ``bad`` with their line number and the reason.
    """
    buf = np.frombuffer(data, np.uint8)
    index = np.int32 if len(data) < 2 ** 31 - 16 else np.int64   # positions: half the memory of int64
    ends = np.flatnonzero(buf == 10).astype(index)
    n = len(ends)
    line_start = np.empty(n, index)
    line_start[:1] = 0
    line_start[1:] = ends[:-1] + 1
    seps = np.flatnonzero((buf == 9) | (buf == 10)).astype(index)
    at_end = np.searchsorted(seps, ends)
    fields = np.diff(at_end, prepend=-1)
    numbers = np.arange(first_line, first_line + n, dtype=np.int64)
    bad = [(int(numbers[i]), f"has {int(fields[i])} tab-separated fields instead of {N_FIELDS}")
           for i in np.flatnonzero(fields != N_FIELDS)]
    good = np.flatnonzero(fields == N_FIELDS)
    field_end = seps[at_end[good][:, None] + np.arange(1 - N_FIELDS, 1)]
    field_start = np.empty_like(field_end)
    field_start[:, 0] = line_start[good]
    field_start[:, 1:] = field_end[:, :-1] + 1
    length = field_end - field_start

    label_char = buf[field_start[:, 0]]
    label_ok = (length[:, 0] == 1) & ((label_char == 48) | (label_char == 49))

    words = _words(data)
    s, ln = field_start[:, 1:1 + N_INT], length[:, 1:1 + N_INT]
    negative = (ln > 0) & (buf[s] == 45)
    s, ln = s + negative, ln - negative
    ints, int_ok = _decimal(words, buf, s, ln)
    int_ok &= ~(negative & (ln == 0))
    ints = np.where(negative, -ints, ints)

    cats, cat_ok = _hex8(words, field_start[:, 1 + N_INT:], length[:, 1 + N_INT:])

    line_ok = label_ok & int_ok.all(axis=1) & cat_ok.all(axis=1)
    for i in np.flatnonzero(~line_ok):
        if not label_ok[i]:
            why = "has a label other than 0 or 1"
        elif not int_ok[i].all():
            why = f"has a non-integer value in {INT_NAMES[int(np.argmin(int_ok[i]))]}"
        else:
            why = (f"has a value in {CAT_NAMES[int(np.argmin(cat_ok[i]))]} that is not 8 "
                   f"lower-case hex digits")
        bad.append((int(numbers[good[i]]), why))
    bad.sort()
    keep = np.flatnonzero(line_ok)
    return Parsed(numbers[good[keep]], (label_char[keep] - 48).astype(np.uint8),
                  ints[keep], length[keep, 1:1 + N_INT] == 0,
                  cats[keep], length[keep, 1 + N_INT:] == 0, n, bad)


def log_transform(values):
    """sign(v) * log1p(|v|) as float64 (the spec's ``"log"`` transform)."""
    values = np.asarray(values, np.float64)
    return np.sign(values) * np.log1p(np.abs(values))


def _mix64(x):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def test_mask(line_numbers, seed, test_size):
    """True for the lines of the test split: a seeded hash of each line number below ``test_size``.

    A function of (seed, line number) only, so any chunking, resumption or subset of lines
    gives the same split; the test share is ``test_size`` in expectation.
    """
    with np.errstate(over="ignore"):
        key = np.asarray(line_numbers, np.uint64) + _mix64(np.uint64(seed) + np.zeros(1, np.uint64))
        u = (_mix64(key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)).astype(np.float64) / 2.0 ** 53
    return u < test_size


class Stats:
    """Streaming statistics of a Criteo file; bounded by the number of distinct categories.

    Memory: 8 bytes per distinct (field, value) pair (uint32 value + uint32 count), plus one
    copy of the largest field's arrays while new values are merged in.
    """

    VERSION = 1

    def __init__(self):
        self.lines = 0                     # physical lines read (good and bad)
        self.offset = 0                    # byte offset reached
        self.rows = 0                      # well-formed lines
        self.clicks = 0
        self.bad_count = 0
        self.bad_reasons = {}
        self.bad_examples = []             # [(1-based line number, reason)], at most MAX_EXAMPLES
        self.num_count = np.zeros(N_INT, np.int64)
        self.num_sum = np.zeros(N_INT, np.float64)
        self.num_sumsq = np.zeros(N_INT, np.float64)
        self.num_min = np.zeros(N_INT, np.int64)
        self.num_max = np.zeros(N_INT, np.int64)
        self.cat_missing = np.zeros(N_CAT, np.int64)
        self.values = [np.zeros(0, np.uint32) for _ in range(N_CAT)]
        self.counts = [np.zeros(0, np.uint32) for _ in range(N_CAT)]

    def add_bad(self, bad):
        """Count malformed lines ``[(0-based line, reason)]``."""
        for line, why in bad:
            self.bad_count += 1
            key = why.split(" in ")[0] if " in C" in why or " in I" in why else why
            self.bad_reasons[key] = self.bad_reasons.get(key, 0) + 1
            if len(self.bad_examples) < MAX_EXAMPLES:
                self.bad_examples.append((line + 1, why))

    def update(self, parsed, end_offset):
        """Add one parsed chunk read up to byte ``end_offset``."""
        self.lines += parsed.lines
        self.offset = end_offset
        self.add_bad(parsed.bad)
        n = len(parsed.label)
        self.rows += n
        self.clicks += int(parsed.label.sum())
        present = ~parsed.int_missing
        t = np.where(present, log_transform(parsed.ints), 0.0)
        self.num_count += present.sum(axis=0)
        self.num_sum += t.sum(axis=0)
        self.num_sumsq += (t * t).sum(axis=0)
        if n:
            big = np.iinfo(np.int64)
            lo = np.where(present, parsed.ints, big.max).min(axis=0)
            hi = np.where(present, parsed.ints, big.min).max(axis=0)
            first = self.num_count == present.sum(axis=0)   # nothing seen before this chunk
            self.num_min = np.where(present.any(axis=0), np.where(first, lo, np.minimum(self.num_min, lo)),
                                    self.num_min)
            self.num_max = np.where(present.any(axis=0), np.where(first, hi, np.maximum(self.num_max, hi)),
                                    self.num_max)
        self.cat_missing += parsed.cat_missing.sum(axis=0)
        for j in range(N_CAT):
            self._merge(j, parsed.cats[~parsed.cat_missing[:, j], j])

    def _merge(self, j, chunk_values):
        new_values, new_counts = np.unique(chunk_values, return_counts=True)
        values, counts = self.values[j], self.counts[j]
        pos = np.searchsorted(values, new_values)
        found = pos < len(values)
        found[found] = values[pos[found]] == new_values[found]
        counts[pos[found]] += new_counts[found].astype(np.uint32)
        fresh = ~found
        if fresh.any():
            self.values[j] = np.insert(values, pos[fresh], new_values[fresh])
            self.counts[j] = np.insert(counts, pos[fresh], new_counts[fresh].astype(np.uint32))

    @property
    def distinct(self):
        """Distinct categorical values per field."""
        return [len(v) for v in self.values]

    def numeric(self, j):
        """(mean, scale) of the log-transformed field ``j`` (scale 1.0 when constant or unseen)."""
        count = int(self.num_count[j])
        if not count:
            return 0.0, 1.0
        mean = self.num_sum[j] / count
        var = max(self.num_sumsq[j] / count - mean * mean, 0.0)
        return float(mean), float(np.sqrt(var)) if var > 1e-12 else 1.0

    def save(self, path_or_file, fingerprint):
        """Write the state (``np.savez``) with a JSON header holding ``fingerprint``."""
        meta = {"version": self.VERSION, "fingerprint": fingerprint, "lines": self.lines,
                "offset": self.offset, "rows": self.rows, "clicks": self.clicks,
                "bad_count": self.bad_count, "bad_reasons": self.bad_reasons,
                "bad_examples": self.bad_examples}
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
                  "num_count": self.num_count, "num_sum": self.num_sum, "num_sumsq": self.num_sumsq,
                  "num_min": self.num_min, "num_max": self.num_max, "cat_missing": self.cat_missing}
        for j in range(N_CAT):
            arrays[f"values_{j}"] = self.values[j]
            arrays[f"counts_{j}"] = self.counts[j]
        np.savez(path_or_file, **arrays)

    @classmethod
    def load(cls, path):
        """(Stats, fingerprint) from a file written by :meth:`save`; ValueError if unreadable."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("version") != cls.VERSION:
                raise ValueError(f"statistics format {meta.get('version')!r}, expected {cls.VERSION}")
            stats = cls()
            for key in ("lines", "offset", "rows", "clicks", "bad_count", "bad_reasons"):
                setattr(stats, key, meta[key])
            stats.bad_examples = [tuple(e) for e in meta["bad_examples"]]
            for key in ("num_count", "num_sum", "num_sumsq", "num_min", "num_max", "cat_missing"):
                setattr(stats, key, z[key])
            stats.values = [z[f"values_{j}"] for j in range(N_CAT)]
            stats.counts = [z[f"counts_{j}"] for j in range(N_CAT)]
        return stats, meta["fingerprint"]


class Encoder:
    """Vectorised encoding of parsed lines with a Criteo feature-spec dict (its ``fields``)."""

    def __init__(self, spec):
        fields = spec["fields"]
        numeric, categorical = fields[:N_INT], fields[N_INT:]
        self.num_id = np.array([f["id"] for f in numeric], np.int32)
        self.num_missing_id = np.array([f["missing_id"] for f in numeric], np.int32)
        self.num_missing_value = np.array([f.get("missing_value", 1.0) for f in numeric], np.float32)
        self.mean = np.array([f["mean"] for f in numeric], np.float64)
        self.scale = np.array([f["scale"] for f in numeric], np.float64)
        self.vocab = [np.array([int(v, 16) for v in f["vocab"]], np.uint32) for f in categorical]
        for j, v in enumerate(self.vocab):
            if len(v) > 1 and not (np.diff(v.astype(np.int64)) > 0).all():
                raise ValueError(f"{CAT_NAMES[j]}: vocabulary not in increasing hex order")
        self.offset = np.array([f["offset"] for f in categorical], np.int64)
        self.oov_id = np.array([f["oov_id"] for f in categorical], np.int32)
        self.cat_missing_id = np.array([f["missing_id"] for f in categorical], np.int32)

    def __call__(self, parsed):
        """(feat_ids int32 (n, 39), feat_vals float32 (n, 39)) of a :class:`Parsed` chunk."""
        n = len(parsed.label)
        ids = np.empty((n, N_INT + N_CAT), np.int32)
        vals = np.ones((n, N_INT + N_CAT), np.float32)
        miss = parsed.int_missing
        ids[:, :N_INT] = np.where(miss, self.num_missing_id, self.num_id)
        numbers = (log_transform(parsed.ints) - self.mean) / self.scale
        vals[:, :N_INT] = np.where(miss, self.num_missing_value, numbers)
        for j in range(N_CAT):
            vocab = self.vocab[j]
            x = parsed.cats[:, j]
            pos = np.searchsorted(vocab, x)
            hit = pos < len(vocab)
            hit[hit] = vocab[pos[hit]] == x[hit]
            col = np.where(hit, self.offset[j] + pos, self.oov_id[j])
            ids[:, N_INT + j] = np.where(parsed.cat_missing[:, j], self.cat_missing_id[j], col)
        return ids, vals


def encode(spec, parsed):
    """Shortcut for ``Encoder(spec)(parsed)``."""
    return Encoder(spec)(parsed)
