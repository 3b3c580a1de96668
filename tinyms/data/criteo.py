"""Criteo's Kaggle display-advertising click logs: statistics, MindRecord conversion, loading.

``download_dataset("kaggle_display_advertising")`` (or ``"criteo"``) fetches the official
archive; :class:`KaggleDisplayAdvertisingDataset` (TinyMS 0.3's name and methods) turns its
``train.txt`` (45,840,617 lines, 11 GB) into a :class:`~tinyms.data.FeatureSpec` and MindRecord
files, streaming the file twice in bounded memory and resuming after a kill.
:func:`write_synthetic_criteo` writes files of the same format for tests and benchmarks.
"""

import glob
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np

from .._fileio import FILE_MODE, TMP_PREFIX, atomic_file, fsync_path, sweep_stale_temps, write_json_atomic
from ..errors import DatasetError
from . import _criteo_stream as cs
from ._features import FeatureSpec

__all__ = ["KaggleDisplayAdvertisingDataset", "write_synthetic_criteo", "CRITEO_TRAIN_LINES"]

#: Lines of the official ``train.txt``.
CRITEO_TRAIN_LINES = 45_840_617
_TRAIN_FILE = "train.txt"
_EXTRACTED = "dac"            # the folder download_dataset extracts the archive into
_STATS_VERSION = 1
_PARTS_VERSION = 1
_COLUMNS = ("feat_ids", "feat_vals", "label")


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise DatasetError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _progress(total, initial, desc, verbose):
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.5, leave=False,
                disable=not verbose or not sys.stderr.isatty())


class KaggleDisplayAdvertisingDataset:
    """Criteo's Kaggle click logs as TinyMS 0.3 read them, streamed in bounded memory.

    The folder ``data_dir`` holds ``train.txt`` (directly, or in the ``dac`` folder that
    ``download_dataset("kaggle_display_advertising")`` extracts); everything written goes into
    ``data_dir``: ``stats_dict/`` (statistics), ``feature_spec.json`` and ``mindrecord/``.

    1. :meth:`stats_data` reads ``train.txt`` once and counts, per field, the log-transformed
       integer values (count, sum, sum of squares, missing) and every categorical value
       (sorted uint32 value and count arrays: 8 bytes per distinct value, about 270 MB for the
       real file's ~33 M, against several GB as a Python dict). It checkpoints every
       ``checkpoint_lines`` lines (atomically, with the byte offset reached), so a killed run
       continues where it stopped and gives exactly the uninterrupted result. The statistics
       become a feature spec saved as ``feature_spec.json``: I1..I13 numeric, transform
       ``"log"`` (sign(v) * log1p(|v|)), standardised with the file's mean and standard
       deviation; C1..C26 categorical with a vocabulary of the values seen more than
       ``threshold`` times (0.3's rule), the others sharing the field's out-of-vocabulary id.
    2. :meth:`convert_to_mindrecord` reads it again, encodes every line with that spec and
       writes MindRecord files in parts of ``part_lines`` lines; each part is written under a
       temporary name, renamed when complete and recorded in ``mindrecord/parts.json``, so a
       killed conversion resumes at the first incomplete part. A line goes to the test split
       when a seeded hash of its line number falls below ``test_size`` (about 10 %).
    3. :meth:`load_mindrecord_dataset` gives batches of ``feat_ids`` (N, 39) int32,
       ``feat_vals`` (N, 39) float32, ``label`` (N, 1) float32.

    Ids (one id space, ``vocab_size = 1 + largest id``), as :meth:`FeatureSpec.encode
    <tinyms.data.FeatureSpec.encode>` gives them, in TinyMS 0.3's layout: I_k has id k-1 with
    its standardised value, and the same id with value 0.0 when missing (as 0.3 encoded it);
    C_k's out-of-vocabulary id is 12 + k; its vocabulary ids follow from 39 on, field after
    field, in increasing hex order; a missing C_k value has its own id after the field's
    vocabulary when more than ``threshold`` lines miss it (0.3 counted the empty string as a
    value), else the out-of-vocabulary id. With the same vocabularies this is 0.3's count of
    ids, so 0.3's scripts, which hard-code ``vocab_size=184965`` (0.3's count on the real file
    at threshold 100), keep fitting; new code passes :attr:`vocab_size` to the network. (Our
    own tables give a missing number an id of its own with value 1.0, which learned better in
    :class:`~tinyms.data.FeatureSpec`'s measurement; on Criteo that would add 13 ids and make
    0.3's hard-coded size too small.)

    Differences from TinyMS 0.3: the statistics are used (0.3 computed them and then mapped
    every categorical value to the out-of-vocabulary id, and scaled integers by their maximum,
    without the log); malformed lines are counted and reported with their line numbers and
    reasons (0.3 saved their numbers to a ``.npy``); a MindRecord row holds 1,000 lines of one
    split (0.3's ``line_per_sample``) and loading re-batches them to any ``batch_size``,
    dropping nothing from the test split; training rows are permuted within each chunk of
    ``chunk_lines`` lines when written, and shuffled again when read (block order and a pool
    of blocks).

    Memory (benchmarks/RESULTS.md, 5 M synthetic lines, 2.8 M distinct values): the statistics
    pass peaked at 440 MiB (one chunk of ``chunk_lines`` lines and its arrays, plus 8 bytes per
    distinct categorical value held so far: about 750 MiB expected on the real file), the
    conversion at 930 MiB (403 MiB of them MindSpore's), flat in the file's length.

    Args:
        data_dir: the folder holding ``train.txt`` (or the download folder).
        num_parallel_workers: MindRecord reader workers (at most the CPU count); default MindSpore's.
        shuffle: shuffle the training split when loading (the test split never is).
        threshold: a categorical value gets its own id when seen more than this many times.
        test_size: the test share of the lines, in (0, 1).
        seed: seed of the split and of the write-time permutation.
        line_count: lines ``train.txt`` should have; when given, a different count is an error
            after the statistics pass (the official file has 45,840,617).
        verbose: progress bars (on a terminal) and printed summaries.
        chunk_lines: lines parsed at a time.
        part_lines: lines per MindRecord part (a multiple of ``chunk_lines``).
        checkpoint_lines: lines between statistics checkpoints (a multiple of ``chunk_lines``).

    Raises:
        DatasetError: a bad argument; ``train.txt`` is missing (when a method needs it).

    Example:
        >>> from tinyms.data import KaggleDisplayAdvertisingDataset, write_synthetic_criteo
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_synthetic_criteo(os.path.join(folder, "train.txt"), 3000, seed=1)
        >>> criteo = KaggleDisplayAdvertisingDataset(folder, threshold=10, verbose=False)
        >>> _ = criteo.stats_data()
        >>> _ = criteo.convert_to_mindrecord()
        >>> train = criteo.load_mindrecord_dataset(usage="train", batch_size=100)
        >>> ids, vals, label = next(train.create_tuple_iterator(output_numpy=True))
        >>> ids.shape, vals.dtype, label.shape
        ((100, 39), dtype('float32'), (100, 1))
    """

    def __init__(self, data_dir, num_parallel_workers=None, shuffle=True, *, threshold=100, test_size=0.1,
                 seed=20191005, line_count=None, verbose=True, chunk_lines=100_000, part_lines=2_000_000,
                 checkpoint_lines=2_000_000):
        if data_dir is None:
            raise DatasetError("KaggleDisplayAdvertisingDataset needs data_dir, the folder holding train.txt; "
                               "get it with download_dataset('kaggle_display_advertising')")
        self.data_dir = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
        if num_parallel_workers is not None:
            workers = _positive_int(num_parallel_workers, "num_parallel_workers")
            if workers > (os.cpu_count() or 1):
                raise DatasetError(f"num_parallel_workers={workers} is more than this machine's "
                                   f"{os.cpu_count()} CPUs; pass at most {os.cpu_count()} or None")
        self.num_parallel_workers = num_parallel_workers
        self.shuffle = bool(shuffle)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 0:
            raise DatasetError(f"threshold must be a count >= 0, got {threshold!r}")
        self.threshold = int(threshold)
        if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
            raise DatasetError(f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}")
        self.test_size = float(test_size)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
            raise DatasetError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.train_line_count = None if line_count is None else _positive_int(line_count, "line_count")
        self.verbose = bool(verbose)
        self.chunk_lines = _positive_int(chunk_lines, "chunk_lines")
        self.part_lines = _positive_int(part_lines, "part_lines")
        self.checkpoint_lines = _positive_int(checkpoint_lines, "checkpoint_lines")
        for name in ("part_lines", "checkpoint_lines"):
            if getattr(self, name) % self.chunk_lines:
                raise DatasetError(f"{name}={getattr(self, name)} must be a multiple of chunk_lines="
                                   f"{self.chunk_lines}")
        # TinyMS 0.3's attributes
        self.dense_dim, self.slot_dim, self.field_size = cs.N_INT, cs.N_CAT, cs.N_INT + cs.N_CAT
        self.line_per_sample = 1000
        self.epochs = 1
        self.stats_dict_dir = os.path.join(self.data_dir, "stats_dict")
        self.mindrecord_dir = os.path.join(self.data_dir, "mindrecord")
        self.spec_path = os.path.join(self.data_dir, "feature_spec.json")

    # ------------------------------------------------------------------ files
    @property
    def train_file(self):
        """Path of ``train.txt`` (in ``data_dir`` or its ``dac`` folder)."""
        candidates = [os.path.join(self.data_dir, _TRAIN_FILE), os.path.join(self.data_dir, _EXTRACTED, _TRAIN_FILE)]
        candidates += sorted(glob.glob(os.path.join(glob.escape(self.data_dir), _EXTRACTED, "*", _TRAIN_FILE)))
        for path in candidates:   # the archive's members may sit in a folder of their own
            if os.path.isfile(path):
                return path
        raise DatasetError(
            f"no {_TRAIN_FILE} in {self.data_dir} (nor in its {_EXTRACTED}/ folder). Fix: pass the folder "
            f"download_dataset('kaggle_display_advertising') returns, or the folder where you extracted "
            f"the official archive")

    def _fingerprint(self):
        st = os.stat(self.train_file)
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "chunk_lines": self.chunk_lines}

    def _say(self, message, verbose):
        if verbose:
            print(message, flush=True)

    # ------------------------------------------------------------------ statistics
    def stats_data(self, verbose=None):
        """Compute (or resume, or reuse) the statistics of ``train.txt``; write ``feature_spec.json``.

        Statistics already complete for the same file (size and modification time) are reused;
        a checkpoint of an interrupted run is continued. Malformed lines are skipped, counted
        and reported (a warning with the count, reasons and first line numbers).

        Args:
            verbose: override the constructor's ``verbose``.

        Returns:
            dict: ``lines``, ``rows`` (well-formed lines), ``clicks``, ``malformed`` (count),
            ``malformed_reasons``, ``malformed_examples`` ((line number, reason), the first 20),
            ``distinct`` (distinct values per categorical field), ``vocab_size``, ``spec_path``.

        Raises:
            DatasetError: ``train.txt`` is missing, holds no well-formed line, or has not
                ``line_count`` lines.
        """
        verbose = self.verbose if verbose is None else bool(verbose)
        stats = self._compute_stats(verbose)
        if stats.rows == 0:
            raise DatasetError(f"{self.train_file} holds no well-formed Criteo line ({stats.lines} lines, "
                               f"{stats.bad_count} malformed: {stats.bad_examples[:3]}). Fix: check the file")
        if self.train_line_count is not None and stats.lines != self.train_line_count:
            raise DatasetError(f"{self.train_file} has {stats.lines:,} lines, expected line_count="
                               f"{self.train_line_count:,}. Fix: download the file again, or pass the right "
                               f"line_count (or None)")
        spec = self._spec_dict(stats)
        self._save_spec(spec)
        summary = {"lines": stats.lines, "rows": stats.rows, "clicks": stats.clicks,
                   "malformed": stats.bad_count, "malformed_reasons": dict(stats.bad_reasons),
                   "malformed_examples": list(stats.bad_examples), "distinct": stats.distinct,
                   "vocab_size": _vocab_size(spec), "spec_path": self.spec_path}
        if stats.bad_count:
            warnings.warn(f"{self.train_file}: {stats.bad_count:,} malformed lines skipped "
                          f"({stats.bad_reasons}); first: {stats.bad_examples[:5]}", stacklevel=2)
        self._say(f"Criteo statistics: {stats.lines:,} lines, {stats.rows:,} used, {stats.bad_count:,} malformed, "
                  f"click rate {stats.clicks / stats.rows:.4f}, {sum(stats.distinct):,} distinct categorical "
                  f"values, vocab_size {summary['vocab_size']:,} (threshold {self.threshold}) -> "
                  f"{self.spec_path}", verbose)
        self.stats_summary = summary
        return summary

    def _compute_stats(self, verbose):
        path = self.train_file
        fingerprint = self._fingerprint()
        final = os.path.join(self.stats_dict_dir, "stats.npz")
        checkpoint = os.path.join(self.stats_dict_dir, "checkpoint.npz")
        for candidate, complete in ((final, True), (checkpoint, False)):
            if not os.path.isfile(candidate):
                continue
            try:
                stats, saved = cs.Stats.load(candidate)
            except (OSError, ValueError, KeyError) as exc:
                self._say(f"ignoring unreadable statistics {candidate} ({exc})", verbose)
                continue
            if saved != fingerprint:
                self._say(f"ignoring {candidate}: made for another train.txt or chunk size", verbose)
                continue
            if complete:
                self._say(f"reusing the statistics in {candidate}", verbose)
                return stats
            self._say(f"resuming the statistics at line {stats.lines:,} (byte {stats.offset:,})", verbose)
            break
        else:
            stats = cs.Stats()
        os.makedirs(self.stats_dict_dir, exist_ok=True)
        sweep_stale_temps(self.stats_dict_dir)
        every = self.checkpoint_lines // self.chunk_lines
        bar = _progress(fingerprint["size"], stats.offset, "Criteo statistics", verbose)
        chunks = 0
        try:
            for first, data, end in cs.read_chunks(path, stats.offset, stats.lines, self.chunk_lines):
                before = stats.offset
                stats.update(cs.parse_chunk(data, first), end)
                bar.update(end - before)
                chunks += 1
                if chunks % every == 0:
                    with atomic_file(checkpoint) as f:
                        stats.save(f, fingerprint)
        finally:
            bar.close()
        with atomic_file(final) as f:
            stats.save(f, fingerprint)
        if os.path.exists(checkpoint):
            os.unlink(checkpoint)
        return stats

    def _spec_dict(self, stats):
        fields = []
        for j, name in enumerate(cs.INT_NAMES):
            mean, scale = stats.numeric(j)
            fields.append({"name": name, "kind": "numeric", "transform": "log", "mean": mean, "scale": scale,
                           "id": j, "missing_id": j, "missing_value": 0.0})
        next_id = cs.N_INT + cs.N_CAT
        for j, name in enumerate(cs.CAT_NAMES):
            keep = stats.counts[j] > self.threshold
            vocab = [f"{int(v):08x}" for v in stats.values[j][keep]]
            oov = cs.N_INT + j
            offset = next_id
            next_id += len(vocab)
            missing = oov
            if int(stats.cat_missing[j]) > self.threshold:
                missing, next_id = next_id, next_id + 1
            fields.append({"name": name, "kind": "categorical", "vocab": vocab, "offset": offset, "oov_id": oov,
                           "missing_id": missing})
        return {"fields": fields, "label": "label", "objective": "binary", "label_classes": [0, 1],
                "label_mean": 0.0, "label_scale": 1.0}

    def _save_spec(self, spec):
        FeatureSpec.from_dict(spec).save(self.spec_path)

    def _load_spec_dict(self):
        if not os.path.isfile(self.spec_path):
            return None
        return FeatureSpec.load(self.spec_path).to_dict()

    @property
    def feature_spec(self):
        """The fitted :class:`~tinyms.data.FeatureSpec` (read from ``feature_spec.json``).

        Raises:
            DatasetError: :meth:`stats_data` has not been run.
        """
        if not os.path.isfile(self.spec_path):
            raise DatasetError(f"no {self.spec_path} yet. Fix: call stats_data() first")
        return FeatureSpec.load(self.spec_path)

    @property
    def vocab_size(self):
        """1 + the largest feature id of the fitted spec (the networks' ``vocab_size``)."""
        spec = self._load_spec_dict()
        if spec is None:
            raise DatasetError(f"no {self.spec_path} yet. Fix: call stats_data() first")
        return _vocab_size(spec)

    # ------------------------------------------------------------------ conversion
    def _parts_marker(self):
        return os.path.join(self.mindrecord_dir, "parts.json")

    def _read_parts(self):
        try:
            with open(self._parts_marker(), encoding="utf-8") as f:
                marker = json.load(f)
            return marker if marker.get("version") == _PARTS_VERSION else None
        except (OSError, ValueError):
            return None

    def _conversion_key(self, spec):
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        return {**self._fingerprint(), "spec_sha256": digest, "seed": self.seed, "test_size": self.test_size,
                "part_lines": self.part_lines, "line_per_sample": self.line_per_sample}

    def convert_to_mindrecord(self, verbose=None):
        """Encode ``train.txt`` with the fitted spec into MindRecord parts under ``mindrecord/``.

        Runs :meth:`stats_data` first when ``feature_spec.json`` is missing. A conversion
        already complete for the same file, spec, seed and split is kept; an interrupted one
        resumes at its first incomplete part; any other is replaced.

        Args:
            verbose: override the constructor's ``verbose``.

        Returns:
            dict: ``{"train": rows, "test": rows}`` (also :attr:`num_rows`).

        Raises:
            DatasetError: ``train.txt`` is missing; the folder cannot be written.
        """
        verbose = self.verbose if verbose is None else bool(verbose)
        spec = self._load_spec_dict()
        if spec is None:
            self.stats_data(verbose=verbose)
            spec = self._load_spec_dict()
        key = self._conversion_key(spec)
        marker = self._read_parts()
        if marker is not None and marker.get("key") != key:
            self._say("replacing the MindRecord files of another conversion", verbose)
            self._remove_parts(marker)
            marker = None
        if marker is None:
            marker = {"version": _PARTS_VERSION, "key": key, "parts": [], "complete": False}
        if marker["complete"]:
            self._say(f"reusing the MindRecord files in {self.mindrecord_dir}: {marker['num_rows']}", verbose)
            return dict(marker["num_rows"])
        os.makedirs(self.mindrecord_dir, exist_ok=True)
        sweep_stale_temps(self.mindrecord_dir, folders=True)
        encoder = cs.Encoder(spec)
        parts = marker["parts"]
        offset = parts[-1]["end_offset"] if parts else 0
        line = parts[-1]["end_line"] if parts else 0
        if parts:
            self._say(f"resuming the conversion at part {len(parts)} (line {line:,})", verbose)
        bar = _progress(key["size"], offset, "Criteo to MindRecord", verbose)
        try:
            while True:
                part = self._write_part(len(parts), offset, line, encoder, bar)
                if part is None:
                    break
                parts.append(part)
                offset, line = part["end_offset"], part["end_line"]
                write_json_atomic(self._parts_marker(), marker)
        finally:
            bar.close()
        marker["num_rows"] = {"train": sum(p["train_rows"] for p in parts),
                              "test": sum(p["test_rows"] for p in parts)}
        marker["malformed"] = sum(p["malformed"] for p in parts)
        marker["complete"] = True
        write_json_atomic(self._parts_marker(), marker)
        self._say(f"Criteo MindRecord: {marker['num_rows']['train']:,} train and {marker['num_rows']['test']:,} "
                  f"test rows in {len(parts)} parts, {marker['malformed']:,} malformed lines skipped -> "
                  f"{self.mindrecord_dir}", verbose)
        return dict(marker["num_rows"])

    def _remove_parts(self, marker):
        for part in marker.get("parts", []):
            for name in part["files"]:
                for file in (name, name + ".db"):
                    try:
                        os.unlink(os.path.join(self.mindrecord_dir, file))
                    except FileNotFoundError:
                        pass
        os.unlink(self._parts_marker())

    def _write_part(self, index, offset, first_line, encoder, bar):
        """Write part ``index`` (lines from ``first_line`` at byte ``offset``); None at the end."""
        try:
            work = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-part-", dir=self.mindrecord_dir)
        except OSError as exc:
            raise DatasetError(f"cannot write to {self.mindrecord_dir} ({exc.strerror or exc}). Fix: make "
                               f"data_dir writable or copy train.txt to a writable folder") from exc
        try:
            writers = {}
            rows = {"train": 0, "test": 0}
            malformed = chunks = 0
            end_offset, end_line = offset, first_line
            for first, data, end in cs.read_chunks(self.train_file, offset, first_line, self.chunk_lines,
                                                   max_lines=first_line + self.part_lines):
                parsed = cs.parse_chunk(data, first)
                bar.update(end - end_offset)
                end_offset, end_line = end, first + parsed.lines
                malformed += len(parsed.bad)
                chunks += 1
                ids, vals = encoder(parsed)
                label = parsed.label.astype(np.float32)[:, None]
                test = cs.test_mask(parsed.line, self.seed, self.test_size)
                for split in ("train", "test"):
                    rows_of = np.flatnonzero(test if split == "test" else ~test)
                    if split == "train":
                        rng = np.random.default_rng([self.seed, first])
                        rows_of = rows_of[rng.permutation(len(rows_of))]
                    if not len(rows_of):
                        continue
                    if split not in writers:
                        writers[split] = self._writer(work, f"{split}_part_{index:05d}.mindrecord", split)
                    writers[split].write_raw_data(
                        [{"feat_ids": ids[r], "feat_vals": vals[r], "label": label[r]}
                         for r in np.array_split(rows_of, math.ceil(len(rows_of) / self.line_per_sample))])
                    rows[split] += len(rows_of)
            if end_line == first_line:
                return None
            files = []
            for split, writer in sorted(writers.items()):
                writer.commit()
                name = f"{split}_part_{index:05d}.mindrecord"
                for file in (name + ".db", name):   # an index before its data file
                    fsync_path(os.path.join(work, file))
                    os.chmod(os.path.join(work, file), FILE_MODE)
                    os.replace(os.path.join(work, file), os.path.join(self.mindrecord_dir, file))
                files.append(name)
            return {"index": index, "first_line": first_line, "end_line": end_line, "end_offset": end_offset,
                    "train_rows": rows["train"], "test_rows": rows["test"], "malformed": malformed,
                    "files": files, "chunks": chunks}
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _writer(self, folder, name, split):
        from mindspore.mindrecord import FileWriter  # noqa: PLC0415 - keep `import tinyms` light

        writer = FileWriter(os.path.join(folder, name), shard_num=1)
        small = self.part_lines * 320 < (8 << 20)
        writer.set_page_size(1 << 20 if small else 1 << 25)
        writer.set_header_size(1 << 16 if small else 1 << 20)
        writer.add_schema({"feat_ids": {"type": "int32", "shape": [-1, self.field_size]},
                           "feat_vals": {"type": "float32", "shape": [-1, self.field_size]},
                           "label": {"type": "float32", "shape": [-1, 1]}}, f"criteo_{split}")
        return writer

    # ------------------------------------------------------------------ loading
    @property
    def num_rows(self):
        """``{"train": rows, "test": rows}`` of the completed conversion.

        Raises:
            DatasetError: :meth:`convert_to_mindrecord` has not completed.
        """
        return dict(self._complete_marker()["num_rows"])

    def _complete_marker(self):
        marker = self._read_parts()
        if marker is None or not marker.get("complete"):
            raise DatasetError(f"no complete MindRecord conversion in {self.mindrecord_dir}. Fix: call "
                               f"stats_data() and convert_to_mindrecord() first")
        return marker

    def load_mindrecord_dataset(self, usage="train", batch_size=1000, *, shuffle=None, drop_remainder=None,
                                num_parallel_workers=None):
        """Batches of one split: ``feat_ids`` (N, 39) int32, ``feat_vals`` (N, 39) float32, ``label`` (N, 1) float32.

        Args:
            usage: ``"train"`` or ``"test"``.
            batch_size: lines per batch (any positive number).
            shuffle: shuffle the training split (block order and a pool of at least 32 blocks);
                default the constructor's ``shuffle``. The test split is never shuffled.
            drop_remainder: drop a last partial batch; default True for train (one shape for
                a compiled graph, as in 0.3), and always False for test (every row counts).
            num_parallel_workers: MindRecord reader workers; default the constructor's.

        Returns:
            a batched MindSpore dataset (``get_dataset_size()`` batches).

        Raises:
            DatasetError: a bad ``usage`` or ``batch_size``; no complete conversion; a part file
                is missing.
        """
        if usage not in ("train", "test"):
            raise DatasetError(f"usage must be 'train' or 'test', got {usage!r}")
        batch_size = _positive_int(batch_size, "batch_size")
        marker = self._complete_marker()
        files = [os.path.join(self.mindrecord_dir, name) for part in marker["parts"] for name in part["files"]
                 if name.startswith(usage + "_")]
        for path in files:
            if not (os.path.isfile(path) and os.path.isfile(path + ".db")):
                raise DatasetError(f"{path} (or its .db index) is missing. Fix: delete {self._parts_marker()} "
                                   f"and call convert_to_mindrecord() again")
        train = usage == "train"
        source = _Batches(files, marker["num_rows"][usage], batch_size,
                          shuffle=(self.shuffle if shuffle is None else bool(shuffle)) and train,
                          drop_remainder=(True if drop_remainder is None else bool(drop_remainder)) and train,
                          workers=num_parallel_workers or self.num_parallel_workers)
        from mindspore.dataset import GeneratorDataset  # noqa: PLC0415

        return GeneratorDataset(source, list(_COLUMNS), shuffle=False, python_multiprocessing=False,
                                num_parallel_workers=1)

    load_mindreocrd_dataset = load_mindrecord_dataset   # TinyMS 0.3's spelling


def _vocab_size(spec):
    ids = [0]
    for f in spec["fields"]:
        if f["kind"] == "numeric":
            ids += [f["id"], f["missing_id"]]
        else:
            ids += [f["oov_id"], f["missing_id"], f["offset"] + len(f["vocab"]) - 1]
    return 1 + max(ids)


class _Batches:
    """Re-batches the 1,000-line MindRecord rows of one split into ``batch_size`` lines."""

    def __init__(self, files, rows, batch_size, shuffle, drop_remainder, workers):
        self.files, self.rows, self.batch_size = files, rows, batch_size
        self.shuffle, self.drop_remainder, self.workers = shuffle, drop_remainder, workers
        self.epoch = 0

    def __len__(self):
        full, rest = divmod(self.rows, self.batch_size)
        return full + (1 if rest and not self.drop_remainder else 0)

    def __iter__(self):
        from mindspore.dataset import MindDataset, config  # noqa: PLC0415

        self.epoch += 1
        if not self.files:
            return
        rng = np.random.default_rng([config.get_seed(), self.epoch])
        reader = MindDataset(self.files, columns_list=list(_COLUMNS), shuffle=self.shuffle,
                             num_parallel_workers=self.workers)
        pool_lines = max(32_000, 4 * self.batch_size) if self.shuffle else self.batch_size
        pool, held = [], 0
        for block in reader.create_tuple_iterator(output_numpy=True, num_epochs=1):
            pool.append(block)
            held += len(block[0])
            if held >= pool_lines:
                columns = [np.concatenate([b[i] for b in pool]) for i in range(3)]
                if self.shuffle:
                    order = rng.permutation(held)
                    columns = [c[order] for c in columns]
                full = held - held % self.batch_size
                for start in range(0, full, self.batch_size):
                    yield tuple(c[start:start + self.batch_size] for c in columns)
                pool = [tuple(c[full:] for c in columns)] if full < held else []
                held -= full
        if held:
            columns = [np.concatenate([b[i] for b in pool]) for i in range(3)]
            for start in range(0, held, self.batch_size):
                if held - start < self.batch_size and self.drop_remainder:
                    break
                yield tuple(c[start:start + self.batch_size] for c in columns)


# --------------------------------------------------------------------------- synthetic files
# Distinct values per categorical field of the real train.txt (as widely reported), used as the
# synthetic fields' cardinalities (capped); missing shares roughly the real ones.
_REAL_CARDINALITY = (1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27,
                     14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572)
_INT_MISSING = (0.45, 0.0, 0.21, 0.22, 0.03, 0.23, 0.04, 0.0, 0.04, 0.45, 0.04, 0.77, 0.22)
_CAT_MISSING = (0, 0, 0.03, 0.03, 0, 0.12, 0, 0, 0, 0.03, 0, 0.03, 0, 0, 0, 0.03, 0, 0, 0.44, 0.44, 0.03, 0.76,
                0, 0.03, 0.44, 0.44)
_HEX_CHARS = np.frombuffer(b"0123456789abcdef", np.uint8)


def _digits(values):
    """Decimal digits of non-negative int64 ``values`` (1 for 0)."""
    count = np.ones(values.shape, np.int64)
    for power in range(1, 19):
        count += values >= 10 ** power
    return count


def _format_lines(label, ints, int_missing, cats, cat_missing):
    """Criteo text of the given columns, built with numpy (bytes)."""
    n = len(label)
    negative = (ints < 0) & ~int_missing
    absolute = np.abs(ints)
    ndig = _digits(absolute)
    lengths = np.zeros((n, cs.N_INT + cs.N_CAT + 1), np.int64)
    lengths[:, 0] = 1
    lengths[:, 1:1 + cs.N_INT] = np.where(int_missing, 0, ndig + negative)
    lengths[:, 1 + cs.N_INT:] = np.where(cat_missing, 0, 8)
    widths = lengths + 1
    ends = np.cumsum(widths.ravel()).reshape(widths.shape)
    starts = ends - widths
    out = np.empty(int(ends[-1, -1]) if n else 0, np.uint8)
    out[ends[:, :-1].ravel() - 1] = 9
    out[ends[:, -1] - 1] = 10
    out[starts[:, 0]] = 48 + label
    s = starts[:, 1:1 + cs.N_INT]
    out[s[negative]] = 45
    first_digit = s + negative
    for d in range(int(ndig.max(initial=1))):
        take = ~int_missing & (ndig > d)
        digit = (absolute // (10 ** np.maximum(ndig - 1 - d, 0))) % 10
        out[(first_digit + d)[take]] = 48 + digit[take]
    s = starts[:, 1 + cs.N_INT:]
    present = ~cat_missing
    for k in range(8):
        nibble = (cats >> np.uint32(4 * (7 - k))) & np.uint32(15)
        out[(s + k)[present]] = _HEX_CHARS[nibble[present]]
    return out.tobytes()


def write_synthetic_criteo(path, lines, seed=0, *, block_lines=200_000, max_cardinality=2_000_000):
    """Write ``lines`` synthetic lines in Criteo's ``train.txt`` format, from a known click model.

    Each line is ``label \\t I1..I13 \\t C1..C26``. Integer fields are log-normal counts (I2
    also takes -1..-3, as the real I2 does), missing at roughly the real file's rates;
    categorical field k draws from ``min(real cardinality of C_k, max_cardinality)`` values
    with Zipf(1.1) frequencies (a few frequent values, a long tail), written as 8 hex digits
    (a hash of the rank), missing at roughly the real rates. The label is drawn from a logistic
    model: ``logit = -1.2 + sum_k w_k z_k + sum of per-value effects of C1..C8`` where ``z_k`` is
    field k's standardised log1p value (0 when missing) and a value's effect is a seeded
    uniform(-0.8, 0.8) for its 500 most frequent values (0 for rarer ones). The file is
    written under a temporary name and renamed when complete.

    Args:
        path: the file to write (its folder is created).
        lines: number of lines.
        seed: seed of the model and the draws (same seed, same file).
        block_lines: lines generated at a time (memory).
        max_cardinality: cap on a field's number of values.

    Returns:
        dict: ``lines``, ``clicks`` (lines labelled 1), ``bytes`` written and ``weights`` (the
        integer fields' w_k).

    Example:
        >>> from tinyms.data import write_synthetic_criteo
        >>> import os, tempfile
        >>> info = write_synthetic_criteo(os.path.join(tempfile.mkdtemp(), "train.txt"), 1000, seed=3)
        >>> info["lines"], 0.05 < info["clicks"] / info["lines"] < 0.6
        (1000, True)
    """
    lines = _positive_int(lines, "lines")
    rng = np.random.default_rng([seed, 1])
    weights = rng.uniform(-0.3, 0.3, cs.N_INT)
    mu = rng.uniform(0.0, 4.0, cs.N_INT)
    sigma = rng.uniform(0.8, 2.0, cs.N_INT)
    cards = [max(3, min(c, max_cardinality)) for c in _REAL_CARDINALITY]
    cdfs = []
    for card in cards:
        cdf = np.cumsum(np.arange(1, card + 1, dtype=np.float64) ** -1.1)
        cdfs.append(cdf / cdf[-1])
    field_keys = cs._mix64(np.arange(cs.N_CAT, dtype=np.uint64) + np.uint64(seed * 1000 + 17))  # noqa: SLF001
    effects = rng.uniform(-0.8, 0.8, (8, 500))
    # a field's standardisation for the model: the log-normal's own mean/std of log1p (approx.)
    z_mean, z_std = mu + 0.2, sigma
    draw = np.random.default_rng([seed, 2])
    clicks = written = 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path) as f:
        for start in range(0, lines, block_lines):
            n = min(block_lines, lines - start)
            raw = np.floor(np.exp(draw.normal(mu, sigma, (n, cs.N_INT)))).astype(np.int64)
            neg = draw.random(n) < 0.08
            raw[neg, 1] = -draw.integers(1, 4, int(neg.sum()))
            int_missing = draw.random((n, cs.N_INT)) < np.array(_INT_MISSING)
            ranks = np.empty((n, cs.N_CAT), np.int64)
            for j in range(cs.N_CAT):
                ranks[:, j] = np.minimum(np.searchsorted(cdfs[j], draw.random(n)), cards[j] - 1)
            cat_missing = draw.random((n, cs.N_CAT)) < np.array(_CAT_MISSING)
            with np.errstate(over="ignore"):
                cats = (cs._mix64(ranks.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # noqa: SLF001
                                  + field_keys) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
            z = np.where(int_missing, 0.0, (cs.log_transform(raw) - z_mean) / z_std)
            logit = -1.2 + z @ weights
            for j in range(8):
                top = ranks[:, j] < 500
                logit += np.where(top & ~cat_missing[:, j], effects[j, np.minimum(ranks[:, j], 499)], 0.0)
            label = (draw.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.uint8)
            data = _format_lines(label, np.where(int_missing, 0, raw), int_missing,
                                 np.where(cat_missing, 0, cats).astype(np.uint32), cat_missing)
            f.write(data)
            clicks += int(label.sum())
            written += len(data)
    return {"lines": lines, "clicks": clicks, "bytes": written, "weights": weights.tolist()}
