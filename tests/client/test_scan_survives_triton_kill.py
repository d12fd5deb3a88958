"""D10 as the issue reproduced it: kill -9 of tritonserver in the middle of a scan.

The scan used to end with a raw geventhttpclient ``HTTPConnectionClosed`` traceback. Now the
client reports the backend unavailable, the scan waits for it (``backend_wait_s``, i.e.
``PHOTODUP_BACKEND_WAIT_S``) as it does for the PyTorch service, and finishes once Triton is
back, over HTTP and gRPC.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from client.helpers import client_settings
from client.test_triton_faults import _kill_hard
from fixtures.triton import TRITON_STARTUP_TIMEOUT_S, start_triton
from photodup.client import InferenceClient
from photodup.finder.scan import scan_library
from photodup.finder.settings import FinderSettings
from photodup.triton import LocalTriton

VARIANTS = 4


def _library(root: Path, photos: dict[str, Image.Image]) -> int:
    """Distinct photos: each real photo at a few sizes (no two files share content)."""
    count = 0
    for name, img in photos.items():
        for k in range(VARIANTS):
            w, h = img.size
            img.convert("RGB").resize((w - 7 * k, h - 5 * k)).save(root / f"{name}_{k}.jpg")
            count += 1
    return count


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_scan_waits_for_a_killed_triton_and_finishes(
    protocol: str,
    model_repository: Path,
    real_photo_images: dict[str, Image.Image],
    tmp_path: Path,
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    total = _library(library, real_photo_images)
    servers = [start_triton(model_repository, tmp_path)]
    first = servers[0]
    triggered, killed, finished = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def kill_then_restart() -> None:
        try:
            _kill_hard(first)
            killed.set()
            log = tmp_path / "restarted.log"
            restarted = LocalTriton(first.model_repository, first.ports, log_path=log)
            servers.append(restarted)
            restarted.start()
            restarted.wait_ready(TRITON_STARTUP_TIMEOUT_S)
        except BaseException as exc:
            failures.append(exc)
        # The server dies with the thread that started it (PR_SET_PDEATHSIG): keep it alive.
        finished.wait(TRITON_STARTUP_TIMEOUT_S * 2)

    def progress(done: int, _total: int) -> None:
        # Once, after the first committed batch: the scan is mid-flight.
        if done and not triggered.is_set():
            triggered.set()
            threading.Thread(target=kill_then_restart, daemon=True).start()

    url = first.http_url if protocol == "http" else first.grpc_url
    settings = FinderSettings(workers=1, batch_size=4, requests_in_flight=2, backend_wait_s=120)
    client = InferenceClient(url, "triton", protocol=protocol, settings=client_settings())
    try:
        with client:
            summary = scan_library(library, client, settings, progress=progress)
    finally:
        finished.set()
        for server in servers:
            server.stop()
    assert not failures, failures
    assert killed.is_set(), "the scan finished before the kill; give it more photos"
    assert summary.embedded == total
    assert not summary.skipped
