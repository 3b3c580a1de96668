"""Batching: concurrent requests share model calls, results go back to the right caller."""

import threading

import numpy as np
import pytest

from tinyms.serving._backends import BackendError, Batcher


class GatedBackend:
    """Doubles its input; the first call waits until released, and every batch size is recorded."""

    def __init__(self):
        self.sizes = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def run(self, batch):
        self.sizes.append(batch.shape[0])
        self.entered.set()
        self.release.wait(10)
        return batch * 2


def _submit_all(batcher, values, results):
    threads = []
    for v in values:
        def call(v=v):
            batcher.expect()
            results[v] = batcher.submit(np.full((1, 3), v, np.float32), timeout=10)
        threads.append(threading.Thread(target=call))
        threads[-1].start()
    return threads


def test_requests_queued_during_a_model_call_share_the_next_one():
    backend = GatedBackend()
    batcher = Batcher("t", backend, max_batch_size=8, max_delay_ms=0)
    results = {}
    first = _submit_all(batcher, [0], results)
    assert backend.entered.wait(10)  # the first request is inside the model call
    waiting = _submit_all(batcher, range(1, 6), results)
    while len(batcher._queue) < 5:  # wait until all five are queued behind the running call
        threading.Event().wait(0.01)
    backend.release.set()
    for t in first + waiting:
        t.join(10)
    assert backend.sizes == [1, 5]
    assert {v: float(r[0, 0]) for v, r in results.items()} == {v: 2.0 * v for v in range(6)}


def test_batches_never_exceed_max_batch_size():
    backend = GatedBackend()
    batcher = Batcher("t", backend, max_batch_size=2, max_delay_ms=0)
    results = {}
    first = _submit_all(batcher, [0], results)
    assert backend.entered.wait(10)
    rest = _submit_all(batcher, range(1, 6), results)
    while len(batcher._queue) < 5:
        threading.Event().wait(0.01)
    backend.release.set()
    for t in first + rest:
        t.join(10)
    assert backend.sizes == [1, 2, 2, 1] and len(results) == 6


def test_a_failing_call_fails_only_its_batch():
    class Failing:
        calls = 0

        def run(self, batch):
            Failing.calls += 1
            if Failing.calls == 1:
                raise RuntimeError("boom")
            return batch

    batcher = Batcher("t", Failing(), max_batch_size=4, max_delay_ms=0)
    batcher.expect()
    with pytest.raises(BackendError) as err:
        batcher.submit(np.zeros((1, 2), np.float32), timeout=5)
    assert err.value.status == 500 and "boom" in err.value.message
    batcher.expect()
    assert batcher.submit(np.ones((1, 2), np.float32), timeout=5).tolist() == [[1.0, 1.0]]
