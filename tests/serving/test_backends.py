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

    def run(self, batch, timeout=None):
        self.sizes.append(batch.shape[0])
        self.entered.set()
        self.release.wait(10)
        return batch * 2


def _submit_all(batcher, values, results):
    threads = []
    for v in values:
        def call(v=v):
            with batcher.reserve() as submit:
                results[v] = submit(np.full((1, 3), v, np.float32), timeout=10)
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

        def run(self, batch, timeout=None):
            Failing.calls += 1
            if Failing.calls == 1:
                raise RuntimeError("boom")
            return batch

    batcher = Batcher("t", Failing(), max_batch_size=4, max_delay_ms=0)
    with pytest.raises(BackendError) as err:
        batcher.submit(np.zeros((1, 2), np.float32), timeout=5)
    assert err.value.status == 500 and "boom" in err.value.message
    assert batcher.submit(np.ones((1, 2), np.float32), timeout=5).tolist() == [[1.0, 1.0]]


class StuckBackend:
    """The first model call returns when released; every later call hangs until ``unstick``."""

    def __init__(self):
        self.calls = 0
        self.entered = [threading.Event(), threading.Event()]
        self.release_first = threading.Event()
        self.unstick = threading.Event()

    def run(self, batch, timeout=None):
        self.calls += 1
        self.entered[min(self.calls, 2) - 1].set()
        if self.calls == 1:
            self.release_first.wait(30)
        elif not self.unstick.wait(timeout):  # as ExecutorBackend: the call gives up at its timeout
            raise BackendError(504, "the model did not answer")
        return batch


def test_requests_waiting_on_a_stuck_model_call_get_504_not_500():
    """Requests in a model call that never returns (a hung model), or queued behind it, time out with 504."""
    backend = StuckBackend()
    batcher = Batcher("t", backend, max_batch_size=8, max_delay_ms=0)
    leader = threading.Thread(target=lambda: batcher.submit(np.zeros((1, 3), np.float32), timeout=30))
    leader.start()
    assert backend.entered[0].wait(10)
    errors = {}

    def waiting(i, timeout):
        try:
            batcher.submit(np.full((1, 3), i, np.float32), timeout=timeout)
        except BackendError as err:
            errors[i] = err
    # Requests 1 and 3 queue during the first call and share the next one, which hangs:
    # request 1's thread runs it, request 3 waits for its outputs; request 2 queues behind.
    in_call = [threading.Thread(target=waiting, args=(i, t)) for i, t in ((1, 2.0), (3, 0.5))]
    for thread in in_call:
        thread.start()
    while len(batcher._queue) < 2:
        threading.Event().wait(0.01)
    backend.release_first.set()
    assert backend.entered[1].wait(10)
    queued = threading.Thread(target=waiting, args=(2, 0.5))
    queued.start()
    for thread in in_call + [queued, leader]:
        thread.join(10)
    assert {i: e.status for i, e in errors.items()} == {1: 504, 2: 504, 3: 504}
    backend.unstick.set()


def test_a_withdrawn_reservation_does_not_hold_the_batch():
    backend = GatedBackend()
    backend.release.set()
    batcher = Batcher("t", backend, max_batch_size=8, max_delay_ms=1000)
    with pytest.raises(ValueError):
        with batcher.reserve():
            raise ValueError("bad request body")  # parsing failed: nothing is submitted
    with batcher.reserve() as submit:
        assert submit(np.ones((1, 3), np.float32), timeout=0.5).tolist() == [[2.0, 2.0, 2.0]]
