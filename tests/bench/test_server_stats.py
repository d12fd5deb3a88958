"""Server-side deltas from a real Prometheus endpoint: the PyTorch service's own metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from photodup.bench.server_stats import (
    ServerStats,
    fetch_prometheus,
    pytorch_metrics_delta,
    sum_series,
)
from photodup.processes import free_port
from photodup.serving.batching import BatchStats
from photodup.serving.metrics import CONTENT_TYPE, ServiceMetrics


@pytest.fixture
def metrics_server() -> Iterator[tuple[str, ServiceMetrics]]:
    """The service's real metrics registry behind a real HTTP endpoint on loopback."""
    metrics = ServiceMetrics()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = metrics.render()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics", metrics
    finally:
        server.shutdown()
        server.server_close()


def test_pytorch_metrics_delta_covers_only_the_phase(
    metrics_server: tuple[str, ServiceMetrics],
) -> None:
    url, metrics = metrics_server
    metrics.observe_batch(BatchStats(images=5, requests=5, compute_s=9.0, queue_s=(1.0,) * 5))
    before = fetch_prometheus(url)
    # Two executions: 3 requests batched together (one image each), then one request of 4.
    metrics.observe_batch(
        BatchStats(images=3, requests=3, compute_s=0.3, queue_s=(0.01, 0.02, 0.03))
    )
    metrics.observe_batch(BatchStats(images=4, requests=1, compute_s=0.5, queue_s=(0.0,)))
    delta = pytorch_metrics_delta(before, fetch_prometheus(url))
    assert delta["executions"] == 2
    assert delta["inferences"] == 7
    assert delta["requests"] == 4
    assert delta["avg_batch_size"] == pytest.approx(3.5)
    assert delta["compute_infer_ms_per_execution"] == pytest.approx(400.0)
    # Per request, each request carries the duration of the execution it rode in (as Triton).
    assert delta["compute_infer_ms_per_request"] == pytest.approx((3 * 300 + 500) / 4)
    assert delta["queue_ms_per_request"] == pytest.approx(60 / 4)
    assert sum_series(delta["series"], "photodup_images_total") == 7
    assert not any("_created" in key for key in delta["series"])


def test_unreachable_source_becomes_a_note_not_a_crash(
    metrics_server: tuple[str, ServiceMetrics],
) -> None:
    url, _ = metrics_server
    dead = f"http://127.0.0.1:{free_port()}/metrics"  # nothing listens there
    stats = ServerStats(
        {
            "metrics": (lambda: fetch_prometheus(url), pytorch_metrics_delta),
            "gone": (lambda: fetch_prometheus(dead), pytorch_metrics_delta),
        }
    )
    before = stats.snapshot()
    delta = stats.delta(before, stats.snapshot())
    assert delta["gone"] == {"unavailable": True}
    assert delta["metrics"]["executions"] == 0
