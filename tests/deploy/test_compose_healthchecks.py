"""Healthchecks: every long-running service has one, and each probe works against the real server.

The probes are run here exactly as Compose would run them inside the container, with only the
in-container address swapped for the test server's loopback port.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.stack import BASE_FILES, ComposeConfig
from photodup import contract
from photodup.processes import free_port

PROBES = {
    "inference-pytorch": "http://127.0.0.1:8002/ready",
    "triton": f"http://127.0.0.1:8000/v2/models/{contract.TRITON_MODEL_NAME}/ready",
    "ui": "http://127.0.0.1:8000/health",
}


def services(compose_config: ComposeConfig) -> dict[str, Any]:
    return compose_config(BASE_FILES, "bench", "pytorch")["services"]  # type: ignore[no-any-return]


def run_probe(test: list[str], old_base: str, new_base: str) -> int:
    """Run a ``["CMD", python, "-c", code]`` healthcheck with its server address replaced."""
    kind, interpreter, flag, code = test
    assert (kind, flag) == ("CMD", "-c") and interpreter in {"python", "python3"}, test
    assert old_base in code, (old_base, code)
    probe = [sys.executable, "-c", code.replace(old_base, new_base)]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode


def test_long_running_services_have_python_probes(compose_config: ComposeConfig) -> None:
    for name, url in PROBES.items():
        check = services(compose_config)[name]["healthcheck"]
        kind, interpreter, flag, code = check["test"]
        # No curl: the slim image lacks it; Python is in every image we run.
        assert (kind, interpreter, flag) == (
            "CMD",
            "python3" if name == "triton" else "python",
            "-c",
        )
        assert f"urlopen('{url}'" in code, name
        assert check["start_period"] and check["interval"] and check["retries"] >= 2, name


def test_one_shot_jobs_have_no_healthcheck(compose_config: ComposeConfig) -> None:
    for name in ("exporter", "bench"):
        assert "healthcheck" not in services(compose_config)[name], name


def test_probe_fails_when_nothing_listens(compose_config: ComposeConfig) -> None:
    test = services(compose_config)["inference-pytorch"]["healthcheck"]["test"]
    closed = f"http://127.0.0.1:{free_port()}"
    assert run_probe(test, "http://127.0.0.1:8002", closed) != 0


@pytest.mark.slow
def test_pytorch_probe_passes_against_the_real_service(
    compose_config: ComposeConfig, pytorch_service: Any
) -> None:
    test = services(compose_config)["inference-pytorch"]["healthcheck"]["test"]
    assert run_probe(test, "http://127.0.0.1:8002", pytorch_service.url) == 0


@pytest.mark.slow
def test_probe_fails_on_an_error_status(
    compose_config: ComposeConfig, pytorch_service: Any
) -> None:
    # Triton's model path on the PyTorch service answers 404: an error status fails the probe
    # just as /ready's 503 does while the model loads.
    test = services(compose_config)["triton"]["healthcheck"]["test"]
    assert run_probe(test, "http://127.0.0.1:8000", pytorch_service.url) != 0


@pytest.mark.slow
def test_triton_probe_passes_against_a_real_triton(
    compose_config: ComposeConfig, triton_server: Any
) -> None:
    # The local tritonserver serves the same model name from the same contract.
    test = services(compose_config)["triton"]["healthcheck"]["test"]
    assert run_probe(test, "http://127.0.0.1:8000", triton_server.http_url) == 0


def test_serving_app_has_the_probed_routes() -> None:
    from photodup.serving.routes import router

    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    assert {"/ready", "/health"} <= paths


def test_ui_app_has_the_probed_route(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from photodup.ui.app import create_app
    from photodup.ui.settings import UiSettings

    app = create_app(UiSettings(library=tmp_path, host="0.0.0.0"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        reply = client.get("/health")
    assert reply.status_code == 200, "the ui container's healthcheck probes GET /health"
