"""Prometheus metrics of the serving front ends, with the official ``prometheus_client``.

Several front-end processes may serve one port, so the supervisor points
``PROMETHEUS_MULTIPROC_DIR`` at a private folder before starting them and ``/metrics``
aggregates every process's samples with ``MultiProcessCollector``. Label values come from
fixed sets (route names, status codes, servable names from ``servable.json``), never from
raw request paths, so the number of series stays bounded.
"""

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as _DEFAULT_REGISTRY

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """The counters and histograms one front-end process updates."""

    def __init__(self):
        self.requests = Counter("tinyms_http_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"])
        self.errors = Counter("tinyms_http_errors", "HTTP requests answered with a 4xx or 5xx status.",
                              ["route", "status"])
        self.latency = Histogram("tinyms_http_request_duration_seconds",
                                 "Time from receiving a request to having its answer, by route.",
                                 ["route"], buckets=_LATENCY_BUCKETS)
        self.predictions = Counter("tinyms_predictions", "Input rows predicted, by servable.", ["servable"])
        self.batch_size = Histogram("tinyms_batch_size", "Rows per model call (after batching), by servable.",
                                    ["servable"], buckets=_BATCH_BUCKETS)
        self.inference = Histogram("tinyms_inference_duration_seconds",
                                   "Time of one batched model call, by servable.", ["servable"],
                                   buckets=_LATENCY_BUCKETS)

    def observe_request(self, route, method, status, seconds):
        self.requests.labels(route, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_batch(self, servable, rows, seconds):
        self.predictions.labels(servable).inc(rows)
        self.batch_size.labels(servable).observe(rows)
        self.inference.labels(servable).observe(seconds)

    @staticmethod
    def render():
        """The Prometheus text exposition of every front-end process's metrics."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(_DEFAULT_REGISTRY)
