"""Prometheus metrics of one service instance, in a registry of its own.

Queue and compute times follow Triton's per-request accounting so the bench can put the two
backends side by side: every request observes the time it waited before its batch started
(``nv_inference_queue_duration_us``) and the duration of the model execution it rode in
(``nv_inference_compute_infer_duration_us``). Per-execution figures are separate.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from photodup.serving.batching import BatchStats

#: Latency buckets from 1 ms to 60 s: CPU batches of 32 take seconds, GPU ones milliseconds.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BATCH_SIZES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(
            "photodup_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=reg,
        )
        self.errors = Counter(
            "photodup_errors",
            "Refused or failed requests by kind of problem",
            ["kind"],
            registry=reg,
        )
        self.request_seconds = Histogram(
            "photodup_request_duration_seconds",
            "Time to answer a request, by endpoint",
            ["endpoint"],
            buckets=_SECONDS,
            registry=reg,
        )
        self.images = Counter("photodup_images", "Images embedded", registry=reg)
        self.batch_size = Histogram(
            "photodup_batch_size",
            "Images per model execution (achieved batch size)",
            buckets=_BATCH_SIZES,
            registry=reg,
        )
        self.batch_requests = Histogram(
            "photodup_batch_requests",
            "Requests merged into one model execution",
            buckets=_BATCH_SIZES,
            registry=reg,
        )
        self.queue_seconds = Histogram(
            "photodup_queue_duration_seconds",
            "Per request: time queued before its model execution started",
            buckets=_SECONDS,
            registry=reg,
        )
        self.compute_seconds = Histogram(
            "photodup_compute_duration_seconds",
            "Per request: duration of the model execution that computed it",
            buckets=_SECONDS,
            registry=reg,
        )
        self.execution_seconds = Histogram(
            "photodup_execution_duration_seconds",
            "Per model execution: its duration",
            buckets=_SECONDS,
            registry=reg,
        )
        self.preprocess_seconds = Histogram(
            "photodup_preprocess_duration_seconds",
            "Per /embed/base64 request: decoding and preprocessing its images",
            buckets=_SECONDS,
            registry=reg,
        )
        self.load_seconds = Gauge(
            "photodup_model_load_seconds", "Seconds it took to build the model", registry=reg
        )
        self.ready = Gauge("photodup_ready", "1 when the model is loaded and serving", registry=reg)
        self.queued_images = Gauge(
            "photodup_queue_images", "Images waiting for the model", registry=reg
        )

    def observe_batch(self, stats: BatchStats) -> None:
        self.images.inc(stats.images)
        self.batch_size.observe(stats.images)
        self.batch_requests.observe(stats.requests)
        self.execution_seconds.observe(stats.compute_s)
        for waited in stats.queue_s:
            self.queue_seconds.observe(waited)
            self.compute_seconds.observe(stats.compute_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)
