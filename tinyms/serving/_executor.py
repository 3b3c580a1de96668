"""The model executor process: one MindSpore servable, one thread of execution.

MindSpore prediction is not thread-safe, a process forked after MindSpore ran an op hangs,
and MindSpore calls slow down badly when other Python threads of the same process are busy.
So each checkpoint or MindIR servable gets its own spawned process that does nothing but run
that model: it checks the weights file against its recorded SHA-256, builds the network and
loads the weights once (checkpoints through ``tinyms.model._checkpoint.load_weights``: exact
names, CRC checked), compiles it, then answers framed requests (a float32 batch, or a text
servable's int32 token ids, in; the float32 outputs back one after the other, their shapes in
the header: a detector has two) from the front-end processes over a Unix socket, one at a time,
on its main thread. Health pings
(``{"ping": n}``) are answered between model calls, so a model call that never returns shows
as a ping without an answer. Batching happens in the front ends; this
process pads each batch to a power of two (at most ``max_batch_size``) so that only a handful
of graph shapes are ever compiled.
"""

import logging
import os
import select
import signal
import socket
import time

import numpy as np

from .._text import first_sentence, has_framework_detail
from ._config import ServableSpec
from ._rows import run_padded, take_rows
from ._tabular import packed_shape, unpack_rows
from ._tasks import input_dtype, model_facts
from ._wire import StatusWriter, recv_message, send_message, watch_lifeline

log = logging.getLogger("tinyms.serving.executor")


def batch_buckets(max_batch_size):
    """The padded batch sizes a MindSpore servable is compiled for: powers of two, then the maximum."""
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    sizes.append(max_batch_size)
    return sizes


class MindSporeRunner:
    """Builds one servable's network on MindSpore and runs batches through it.

    Args:
        spec (ServableSpec): the servable; its ``format`` is "ckpt" or "mindir".
        threads (int): MindSpore CPU op threads (0 keeps MindSpore's default).

    Raises:
        ValueError: the weights cannot be loaded, do not match their recorded SHA-256, or do
            not fit the network; the message says why.
    """

    def __init__(self, spec, threads=1):
        import mindspore as ms
        from mindspore import Tensor, nn

        self._ms, self._tensor = ms, Tensor
        self.spec = spec
        ms.set_context(mode=ms.GRAPH_MODE)
        if threads:
            # The front ends and the load share the cores; one op thread measured faster for
            # small models than a pool whose workers wait for each other.
            ms.device_context.cpu.op_tuning.threads_num(int(threads))
        cfg = None
        spec.verify_weights()
        if spec.format == "ckpt":
            self.net, cfg = checkpoint_network(spec)
        else:
            try:
                self.net = nn.GraphCell(ms.load(spec.path))
            except (RuntimeError, ValueError, TypeError, OSError) as err:
                raise ValueError(f"cannot load MindIR file {spec.path}: {first_sentence(err)}") from None
            cfg = self._zoo_config(spec.model_name)
        self.net.set_train(False)
        self.input_shape = tuple(spec.input_shape or (cfg.input_shape if cfg else ()))
        if not self.input_shape:
            raise ValueError("model.input_shape is needed for this servable, e.g. [1, 32, 32]; "
                             "add it to servable.json")
        self.buckets = batch_buckets(spec.max_batch_size)
        out = self._first_call(1)
        facts = model_facts(spec.task, out, spec.labels, cfg.labels if cfg is not None else None, spec.background)
        self.classes = facts["classes"]
        self.labels = tuple(facts["labels"])
        self.meta = {
            "input_shape": list(self.input_shape),
            **facts,
            "dataset": spec.dataset or (cfg.dataset if cfg else ""),
            "transform": spec.transform or (cfg.transform if cfg else ""),
            "mean": list(spec.mean or (cfg.mean if cfg else ())) or None,
            "std": list(spec.std or (cfg.std if cfg else ())) or None,
            "recipe": spec.recipe or (cfg.recipe.to_dict() if cfg is not None and cfg.recipe else None),
        }
        if spec.warmup:
            for size in self.buckets[1:]:
                self._first_call(size)

    @staticmethod
    def _zoo_config(name):
        if not name:
            return None
        from tinyms.errors import UnknownNameError
        from tinyms.model import model_config
        try:
            return model_config(name)
        except UnknownNameError:
            return None

    def _first_call(self, size):
        """Compile and run the network on ``size`` zero rows (a GRAPH compile error becomes a ValueError)."""
        # a tabular network's rows come packed (N, 2, F): its ids over its values
        shape = packed_shape(self.input_shape[0]) if self.spec.task == "tabular" else self.input_shape
        try:
            return self._call(np.zeros((size,) + shape, input_dtype(self.spec.task)))
        except Exception as err:  # noqa: BLE001 - MindSpore raises RuntimeError, TypeError, ValueError...
            log.debug("servable %r: the first call on %d row(s) failed: %s", self.spec.name, size, err)
            raise ValueError(f"the network cannot run on a {[size, *self.input_shape]} input: "
                             f"{first_sentence(err)}") from None

    def _call(self, batch):
        if self.spec.task == "tabular":
            ids, vals = unpack_rows(batch)
            out = self.net(self._tensor(ids), self._tensor(vals))
        else:
            out = self.net(self._tensor(batch))
        return tuple(o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else (out,)))

    def run(self, batch):
        """Run an (N, *input_shape) batch (float32; int32 token ids for text); returns a tuple of (N, ...) outputs."""
        return run_padded(self._call, batch, self.buckets)


def checkpoint_network(spec):
    """Build a checkpoint servable's network and load its weights (exact names, CRC checked).

    The network is built by the zoo with the entry's ``model.build_args`` (the builder's
    arguments ``write_servable`` records), else from ``model.class_num`` alone (entries written
    before TinyMS recorded the arguments, and hand-written ones).

    Args:
        spec (ServableSpec): a servable whose ``format`` is "ckpt".

    Returns:
        tuple: ``(network, its default_cfg or None)``; the config's ``input_shape`` is the
        entry's ``model.input_shape`` (the trained size) when it gives one.

    Raises:
        ValueError: the network cannot be built or the weights do not fit it; the message names
            the servable.json fields to check.
    """
    from tinyms.errors import CheckpointError, UnknownNameError
    from tinyms.model import create_model
    from tinyms.model._checkpoint import load_weights
    from tinyms.model.registry import restore_input_shape

    # the builder's recorded arguments (write_servable stores them); an entry without them
    # (older servables, hand-written ones) builds the network from its class count alone
    kwargs = dict(spec.build_args) if spec.build_args is not None else {}
    if spec.class_num:
        kwargs.setdefault("class_num", spec.class_num)
    try:
        net = create_model(spec.model_name, **kwargs)
    except UnknownNameError as err:
        raise ValueError(f"model.name: {err}") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot build zoo network {spec.model_name!r} with {kwargs}: "
                         f"{first_sentence(err)}; check model.build_args") from None
    if spec.input_shape:
        restore_input_shape(net, {"model": spec.model_name, "input_shape": list(spec.input_shape)})
    cfg = getattr(net, "default_cfg", None)
    if spec.generator is not None:  # an image_to_image checkpoint holds one generator of the network
        if not callable(getattr(net, "generator", None)):
            raise ValueError(f"model.generator is {spec.generator!r} but zoo network {spec.model_name!r} has no "
                             "generator() to take it from; check model.name")
        net = net.generator(spec.generator)
    try:
        load_weights(net, spec.path)
    except CheckpointError as err:
        raise ValueError(f"cannot load checkpoint {spec.path} into {spec.model_name!r} built with {kwargs}: "
                         f"{first_sentence(err)}; check model.name, model.class_num and model.build_args") from None
    return net, cfg


def main(config):
    """Entry point of an executor process (called by ``_boot``)."""
    spec = ServableSpec.from_dict(config["spec"])
    status = StatusWriter(config.get("status_fd"))
    stop = {"now": False}

    def request_stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which stops us in order
    if config.get("lifeline_fd") is not None:
        watch_lifeline(config["lifeline_fd"], request_stop)
    started = time.monotonic()
    try:
        runner = MindSporeRunner(spec, config.get("model_threads", 1))
    except Exception as err:  # noqa: BLE001 - report any load failure, keep other servables up
        # our own ValueErrors say what to fix; anything else is MindSpore's: its first sentence
        reason = str(err) if isinstance(err, ValueError) and not has_framework_detail(err) else first_sentence(err)
        log.debug("servable %r failed to load: %s", spec.name, err)
        log.error("servable %r failed to load: %s", spec.name, reason)
        status("failed", servable=spec.name, reason=reason)
        return 3
    path = config["socket_path"]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    log.info("servable %r loaded on MindSpore in %.1f s (pid %d)", spec.name, time.monotonic() - started, os.getpid())
    status("ready", servable=spec.name, meta=runner.meta)
    observe = _batch_metric(spec.name)
    conns = []
    while not stop["now"]:
        try:
            readable, _, _ = select.select([listener] + conns, [], [], 0.25)
        except InterruptedError:
            continue
        requests = []
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                conns.append(conn)
                continue
            try:
                header, payload = recv_message(sock)
            except (EOFError, OSError, ValueError):
                conns.remove(sock)
                sock.close()
                continue
            if "ping" in header:  # a front end's health probe: answered between model calls
                _reply(sock, {"pong": header["ping"]}, b"", conns)
                continue
            requests.append((sock, header, payload))
        if requests:
            _answer(runner, requests, conns, observe)
    for sock in conns + [listener]:
        sock.close()
    try:
        os.unlink(path)
    except OSError:
        pass
    return 0


_WIRE_DTYPES = {"float32": np.float32, "int32": np.int32}  # what a front end sends: inputs, token ids


def _batch_metric(name):
    """``observe(rows)`` recording the rows of each MindSpore call (shared with the front ends' /metrics)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return lambda rows: None
    from prometheus_client import Histogram

    histogram = Histogram("tinyms_model_batch_size", "Rows per MindSpore call in an executor process, after "
                          "merging the batches of all front ends, by servable.", ["servable"],
                          buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)).labels(name)
    return histogram.observe


def _answer(runner, requests, conns, observe):
    """Run the batches that arrived together (from several front ends) as one model call."""
    replies = []
    try:
        batches = [np.frombuffer(payload, dtype=_WIRE_DTYPES[header.get("dtype", "float32")])
                   .reshape([int(d) for d in header["shape"]]) for _, header, payload in requests]
        out = runner.run(batches[0] if len(batches) == 1 else np.concatenate(batches))
        observe(out[0].shape[0])
        start = 0
        for (sock, header, _), batch in zip(requests, batches):
            parts = take_rows(out, start, start + batch.shape[0])
            start += batch.shape[0]
            payload = b"".join(np.ascontiguousarray(part, np.float32).tobytes() for part in parts)
            replies.append((sock, {"id": header.get("id"), "shapes": [list(part.shape) for part in parts]}, payload))
    except Exception as err:  # noqa: BLE001 - a failed batch must not stop the executor
        log.exception("inference failed for servable %r", runner.spec.name)
        replies = [(sock, {"id": header.get("id"), "error": first_sentence(err)}, b"") for sock, header, _ in requests]
    for sock, reply, data in replies:
        _reply(sock, reply, data, conns)


def _reply(sock, header, data, conns):
    try:
        send_message(sock, header, data)
    except OSError:  # that front end gave up on the answer (timeout) or stopped
        if sock in conns:
            conns.remove(sock)
        sock.close()
